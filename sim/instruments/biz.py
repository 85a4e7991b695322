"""Business investment zone (bedrijveninvesteringszone, BIZ): a levy the payers voted for, spent on the zone's public space.

Mechanics (Wet op de bedrijveninvesteringszones, "Wet BIZ"):

* A support poll (draagvlakmeting) decides whether the BIZ comes into force, at the
  instrument's first year and again at the end of each term. The voters are the payers
  (bijdrageplichtigen): with ``payer = owners`` the owners of the zone's commercial and
  vacant units, one vote per owner with the values of its units; with ``payer = users``
  the tenants of the occupied units and the owners of the vacant ones (a vacant unit's
  levy falls to its owner). Each voter takes part with probability ``turnout_probability``
  and, if it takes part, votes in favour with probability ``favour_probability`` (keyed
  draws per voter and poll). The poll passes when, as art. 5 Wet BIZ requires, at least
  ``min_turnout_share`` of the payers voted, at least ``min_favour_share`` of the votes
  are in favour and the value of the units of those in favour exceeds that of those
  against (``value_rule``). A failed poll: no BIZ, a new poll ``retry_after_years`` later.
* A passed poll puts the BIZ in force for ``term_years`` (at most five: Wet BIZ); at the
  end of the term the levy stops unless a renewal poll passes.
* While in force, at the first step of each year the municipality levies each liable unit
  ``levy_share_of_value`` of its value, between ``levy_min_eur`` and ``levy_max_eur``,
  from the payer's cash (an owner's or tenant's cost), into the ``biz`` account. It keeps
  ``collection_fee_share`` for its collection work (perceptiekosten) and hands the rest to
  the BIZ, which spends it on public space in equal parts over the year's steps. The
  municipal budget pays nothing.
* Spending builds a public-space stock (EUR per zone parcel) that wears off at
  ``depreciation_per_year``; the stock raises attraction (``attraction_bonus``, read by the
  footfall kernel) and condition (``condition_bonus``, read by the market kernel) of every
  zone parcel in proportion (the conversions are assumptions, kept small: the national
  evaluation measured no footfall effect). The instrument adds its part to the shared
  bonus arrays and takes back its own part when it changes.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import IS_COMMERCIAL, VACANT


class BizConfig(InstrumentParams):
    kind: Literal["biz"] = "biz"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + (
        "zone_footfall_index", "levied_eur", "spent_eur", "public_space_eur", "collection_fee_eur", "owners_paid_eur",
        "users_paid_eur",
        "in_force", "terms", "polls", "poll_turnout", "poll_favour_share", "poll_value_favour_share",
        "stock_eur_per_parcel", "attraction_bonus", "condition_bonus_per_year")
    payer: Literal["owners", "users"] = "owners"
    """Who pays and votes: ``owners`` (eigenaren-BIZ: owners of every commercial or vacant unit) or ``users`` (gebruikers-BIZ: tenants of occupied units; a vacant unit's owner pays and votes for it, as in Kerkrade and Purmerend: https://eloket.kerkrade.nl/vragen/wat_is_een_biz-bijdrage, https://purmerend.nl/subsidies-en-belastingen/gemeentelijke-belastingen/biz-heffing). Both forms exist (Wet BIZ art. 1 lid 4)."""
    levy_share_of_value: Annotated[float, Field(ge=0.0, le=0.01)] = 0.00015
    """Yearly levy as a share of a liable unit's value (1/yr), before the floor and cap. WOZ-based tariffs exist (Zoetermeer: 0.25% of WOZ, at least EUR 250, at most EUR 1,500: https://www.zoetermeer.nl/bedrijveninvesteringszone-biz). The model's unit values are above Dutch WOZ values, so 0.015% is chosen (assumption) to give a mean contribution of about EUR 600 per unit, within Dutch centre tariffs of EUR 250-800 (Veenendaal owners EUR 364, https://www.veenendaal.nl/belasting-en-vergunningen/bedrijven-investeringszone-biz; Waalre EUR 400-800, https://www.waalre.nl/inwoners-en-ondernemers/biz-belasting; Purmerend EUR 520)."""
    levy_min_eur: Annotated[float, Field(ge=0.0, le=100_000.0)] = 250.0
    """Least levy per liable unit a year (EUR). Zoetermeer's floor (https://www.zoetermeer.nl/bedrijveninvesteringszone-biz)."""
    levy_max_eur: Annotated[float, Field(ge=0.0, le=100_000.0)] = 1_500.0
    """Most levy per liable unit a year (EUR). Zoetermeer's cap (https://www.zoetermeer.nl/bedrijveninvesteringszone-biz)."""
    collection_fee_share: Annotated[float, Field(ge=0.0, le=0.5)] = 0.03
    """Share of the levy the municipality keeps for collecting it and paying it out (perceptiekosten, deducted before the BIZ is paid: https://bedrijveninvesteringszone.biz/10-jaar-biz-zen-meer-dan-25-miljoen-ophalen/). The 3% is an assumption (no national figure found); it pays the municipality's collection and poll work, so the budget pays nothing."""
    term_years: Annotated[int, Field(ge=1, le=5)] = 5
    """Length of a BIZ term (years). Wet BIZ: at most five years, then a new poll (https://repub.eur.nl/pub/132847; https://www.cmihva.nl/publicaties/onderzoek-naar-5-jaar-biz-in-nederland/)."""
    min_turnout_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """Least share of the payers that must vote for the poll to count. Art. 5 lid 1 Wet BIZ: at least half (https://www.defryskemarren.nl/actueel/uitslag-van-de-draagvlakmeting-van-de-biz-in-de-midstraat-vastgesteld/)."""
    min_favour_share: Annotated[float, Field(ge=0.0, le=1.0)] = 2.0 / 3.0
    """Least share of the votes cast that must be in favour. Art. 5 lid 1 Wet BIZ: two thirds (https://wettenpocket.overheid.nl/portal/zaanstad/weergevencvdr/335)."""
    value_rule: bool = True
    """The value of the units of those in favour must exceed that of those against (art. 5 lid 1 Wet BIZ, the WOZ test: https://wettenpocket.overheid.nl/portal/zaanstad/weergevencvdr/335)."""
    turnout_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    """Chance that a payer votes. Dutch polls: turnout 51-73% (Zaandam 61%, Wormerveer 51%, Zeewolde 72.5%, Joure 66%, Westvlietweg 66%, Weert 52-61%, Leiderdorp 61%: https://wettenpocket.overheid.nl/portal/zaanstad/weergevencvdr/335, https://zaanstad.nieuws.nl/bedrijvigheid/131104/geen-biz-businesspark-wormerveer-na-meting-draagvlak/, https://www.zeewoldesdagblad.nl/gemeente/voldoende-draagvlak-voor-voortzetting-biz-centrum-zeewolde, https://www.weertdegekste.nl/2019/05/uitslagen-stemming-biz-voor-bedrijventerreinen-weert-bekend/); 0.6 is their middle."""
    favour_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.78
    """Chance that a voter votes in favour. Dutch polls in centres: 69% (Zaandam), 82% (Zeewolde renewal), 93% (Joure); failed polls 46-55% (Wormerveer, Weert Kampershoek, Leiderdorp); 90% of the BIZ due for renewal in 2021-2022 continued (https://bedrijveninvesteringszone.biz/biz-zen-doorstaan-corona-met-glans/). 0.78 is an assumption within that range: with ~100-200 payers most polls pass, a few fail."""
    retry_after_years: Annotated[int, Field(ge=1, le=50)] = 2
    """Years after a failed poll until the next one. Assumption: a new BIZ plan and poll take 6-9 months of preparation (https://haagsretailpunt.nl/biz-infopunt/hoe-komt-een-biz-tot-stand) and initiators first regroup."""
    attraction_per_keur_parcel: Annotated[float, Field(ge=0.0, le=1.0)] = 0.005
    """Relative uplift of visitor attraction of a zone parcel per EUR 1,000 of public-space stock per zone parcel (1/kEUR). Assumption, kept small: the national five-year evaluation (a survey plus cases) measured no footfall effect (https://www.cmihva.nl/publicaties/onderzoek-naar-5-jaar-biz-in-nederland/); at the default levy the stock settles near EUR 3,000 per parcel, an uplift of about 1.5%."""
    condition_per_keur_parcel_year: Annotated[float, Field(ge=0.0, le=0.1)] = 0.001
    """Condition (0..1) added per year to a zone parcel per EUR 1,000 of public-space stock per zone parcel (1/kEUR/yr). Assumption: at a stock of EUR 3,000 per parcel about a seventh of the base decay of 0.02 a year is undone (clean, safe, well-lit streets)."""
    depreciation_per_year: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    """Share of the public-space stock that wears off per year (1/yr). Assumption: street furniture, lighting and greenery last about 5 years; events and marketing less."""
    max_attraction_bonus: Annotated[float, Field(ge=0.0, le=2.0)] = 0.05
    """Cap on the attraction uplift (share). Assumption: with no measured footfall effect (see above) public space may not lift a street by more than 5%."""

    @model_validator(mode="after")
    def _levy_bounds_ordered(self) -> "BizConfig":
        if self.levy_max_eur < self.levy_min_eur:
            raise ValueError(f"levy_max_eur {self.levy_max_eur} is below levy_min_eur {self.levy_min_eur}")
        return self


@register
class Biz(Instrument):
    config_class = BizConfig
    levy_funded = True

    def initialize(self, model) -> None:
        super().initialize(model)
        par = model.parcels
        self.zone = np.flatnonzero(self.area_mask.reshape(-1))
        self.footfall_start = float(par.flat("footfall")[self.zone].mean()) if self.zone.size else 0.0
        self.stock_eur_per_parcel = 0.0
        self.levied_eur = 0.0
        self.spent_eur = 0.0                        # all that left the BIZ account: public space + collection fee
        self.public_space_eur = 0.0                 # handed to the BIZ and spent on public space
        self.collection_fee_eur = 0.0               # kept by the municipality for collecting (perceptiekosten)
        self.paid_eur = {"owners": 0.0, "users": 0.0}   # who bore the levy (their cash)
        self.unspent_eur = 0.0                      # this year's levy not spent yet
        self.in_force = False
        self.term_end_year: int | None = None       # first year no longer covered by the current term
        self.next_poll_year: int | None = None      # None: the first poll comes at the first active year
        self.terms = 0
        self.polls = 0
        self.last_poll = {"turnout": 0.0, "favour": 0.0, "value_favour": 0.0}
        self._attraction_added = 0.0                # this instrument's part of the shared bonus arrays
        self._condition_added = 0.0
        self._year = None

    # -- the step -------------------------------------------------------------------
    def apply(self, model) -> None:
        year = int(model.year)
        if year != self._year:                      # a new year: poll if due, then the levy if in force
            self._year = year
            if self.in_force and year >= self.term_end_year:
                self.in_force = False               # the term is over: the levy stops unless the renewal passes
                self.next_poll_year = year
            if not self.in_force and (self.next_poll_year is None or year >= self.next_poll_year):
                if self._poll(model):
                    self.in_force, self.term_end_year = True, year + self.config.term_years
                    self.terms += 1
                else:
                    self.next_poll_year = year + self.config.retry_after_years
            model.parcels.flat("in_biz")[self.zone] = self.in_force
            if self.in_force:
                self.unspent_eur += self._collect_levy(model)
        self._spend(model)
        self._set_bonus(model)

    def idle(self, model) -> None:
        """Outside the instrument's years no poll, levy or spending: the public-space stock
        wears down and its bonuses fade with it."""
        if self.in_force:
            self.in_force = False
            model.parcels.flat("in_biz")[self.zone] = False
        keep = (1.0 - self.config.depreciation_per_year) ** (1.0 / model.spy)
        self.stock_eur_per_parcel *= keep
        self._set_bonus(model)

    # -- the poll (draagvlakmeting) ---------------------------------------------------
    def _payers(self, model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The zone's liable units and who pays for each: (liable parcels, payer is an owner
        (bool per parcel), payer slot per parcel)."""
        par = model.parcels
        use = par.flat("use")[self.zone]
        occupied = IS_COMMERCIAL[use]
        parcels = self.zone[occupied | (use == VACANT)]
        by_owner = np.ones(parcels.size, bool) if self.config.payer == "owners" else ~IS_COMMERCIAL[par.flat("use")[parcels]]
        slot = np.where(by_owner, par.flat("owner")[parcels], par.flat("tenant")[parcels])
        ok = slot >= 0                              # a unit without a payer (none in practice) is skipped
        return parcels[ok], by_owner[ok], slot[ok]

    def _poll(self, model) -> bool:
        """Hold a support poll among the payers; True if it meets the thresholds of art. 5 Wet BIZ."""
        c = self.config
        self.polls += 1
        parcels, by_owner, slot = self._payers(model)
        values = model.parcels.flat("value_eur")[parcels]
        # one vote per payer (an owner of several units votes once, with their values): key = kind, slot
        key = np.where(by_owner, slot, slot + (1 << 24))
        voters, where = np.unique(key, return_inverse=True)
        value = np.bincount(where, weights=values, minlength=voters.size)
        if not voters.size:
            self.last_poll = {"turnout": 0.0, "favour": 0.0, "value_favour": 0.0}
            return False
        clock = model.clock
        votes = model.streams.uniform(f"instrument.{self.name}.poll_turnout", clock, voters) < c.turnout_probability
        favour = votes & (model.streams.uniform(f"instrument.{self.name}.poll_vote", clock, voters) < c.favour_probability)
        against = votes & ~favour
        turnout = float(votes.mean())
        share = float(favour.sum() / votes.sum()) if votes.any() else 0.0
        v_for, v_against = float(value[favour].sum()), float(value[against].sum())
        self.last_poll = {"turnout": turnout, "favour": share,
                          "value_favour": v_for / (v_for + v_against) if v_for + v_against > 0 else 0.0}
        return bool(votes.any() and turnout >= c.min_turnout_share and share >= c.min_favour_share
                    and (not c.value_rule or v_for > v_against))

    # -- money ------------------------------------------------------------------------
    def levy_per_unit_eur(self, model, parcels: np.ndarray) -> np.ndarray:
        c = self.config
        return np.clip(c.levy_share_of_value * model.parcels.flat("value_eur")[parcels], c.levy_min_eur, c.levy_max_eur)

    def _collect_levy(self, model) -> float:
        """Levy the year's contribution from the payers' cash (their cost), into the BIZ account;
        the municipality keeps its collection fee. Returns what the BIZ may spend (EUR)."""
        parcels, by_owner, slot = self._payers(model)
        levy = self.levy_per_unit_eur(model, parcels)
        np.subtract.at(model.owners.cash_eur, slot[by_owner], levy[by_owner])
        np.subtract.at(model.businesses.cash_eur, slot[~by_owner], levy[~by_owner])
        self.paid_eur["owners"] += float(levy[by_owner].sum())
        self.paid_eur["users"] += float(levy[~by_owner].sum())
        total = float(levy.sum())
        if total <= 0.0:
            return 0.0
        mun = model.municipality
        mun.receive(self.name, total, account="biz")        # the levy-funded BIZ account, not the budget
        fee = self.config.collection_fee_share * total
        if fee > 0.0:
            mun.spend(self.name, fee, account="biz")         # perceptiekosten: pays the collection work
        self.levied_eur += total
        self.collection_fee_eur += fee
        self.spent_eur += fee
        return total - fee

    def _spend(self, model) -> None:
        """Spend the year's levy in equal parts over the steps left in the year, into the public-space stock."""
        steps_left = model.spy - (model.steps - 1) % model.spy
        spend = self.unspent_eur / steps_left
        self.unspent_eur -= spend
        if spend > 0.0:
            model.municipality.spend(self.name, spend, account="biz")
        self.spent_eur += spend
        self.public_space_eur += spend
        keep = (1.0 - self.config.depreciation_per_year) ** (1.0 / model.spy)
        self.stock_eur_per_parcel = self.stock_eur_per_parcel * keep + spend / max(self.zone.size, 1)

    def _set_bonus(self, model) -> None:
        """Replace this instrument's part of the zone's attraction and condition bonuses by today's."""
        c = self.config
        stock_keur = self.stock_eur_per_parcel / 1000.0
        attraction = min(c.attraction_per_keur_parcel * stock_keur, c.max_attraction_bonus)
        condition = c.condition_per_keur_parcel_year * stock_keur / model.spy
        par = model.parcels
        par.flat("attraction_bonus")[self.zone] += attraction - self._attraction_added
        par.flat("condition_bonus")[self.zone] += condition - self._condition_added
        self._attraction_added, self._condition_added = attraction, condition

    def kpis(self, model) -> dict[str, float]:
        ff = float(model.parcels.flat("footfall")[self.zone].mean()) if self.zone.size else 0.0
        return {**area_kpis(model, self.area_mask),
                "zone_footfall_index": 100.0 * ff / self.footfall_start if self.footfall_start > 0 else 0.0,
                "levied_eur": self.levied_eur,
                "spent_eur": self.spent_eur,
                "public_space_eur": self.public_space_eur,
                "collection_fee_eur": self.collection_fee_eur,
                "owners_paid_eur": self.paid_eur["owners"],
                "users_paid_eur": self.paid_eur["users"],
                "in_force": float(self.in_force),
                "terms": float(self.terms),
                "polls": float(self.polls),
                "poll_turnout": self.last_poll["turnout"],
                "poll_favour_share": self.last_poll["favour"],
                "poll_value_favour_share": self.last_poll["value_favour"],
                "stock_eur_per_parcel": self.stock_eur_per_parcel,
                "attraction_bonus": self._attraction_added,
                "condition_bonus_per_year": self._condition_added * model.spy}
