"""The municipal estate: parcels an instrument bought with the revolving property
fund, and what the municipality does with them. Not an instrument: importing this
module registers nothing; ``preemption`` and ``acquisition_fund`` build on it.

An ``Estate`` holds one instrument's parcels. Every step (``manage``) it pays the
holding costs of units without rent, keeps buildings up once a year, lets vacant
units to the target mix at a discount (asking rent below market, a waiting list
of target tenants, and ``screen_lease`` refusing other sectors and, with some
chance, criminal fronts), converts units that stay vacant where zoning permits
housing, and resells let units after a holding period with use conditions
(kettingbeding) that keep the target mix. ``collect_municipal_rents`` moves the
rents the municipality earned as owner into the fund, so the fund revolves.

Deals take time. A purchase is agreed in a negotiation that runs for months
(an independent appraisal first, then talks, then the college's decision with
the council's consent); while it is pending, its price, costs and the works on
purchase are reserved in the fund (``reserve``), so the fund cannot promise the
same euro twice: every other payment from the fund sees only the money not
reserved. ``due`` hands over the deals whose time has come and ``close`` completes a purchase.

Money: purchases, transaction costs, renovations and conversions are paid from
the fund and only when its free (unreserved) money can pay; holding costs are
paid from the free money and, beyond it, from the annual budget; rents and
resale prices return to the fund. The fund never goes negative, and never below
what pending deals reserved. Each parcel keeps its cost basis (price with tax
and costs, works, conversion, its holding costs); a resale books its gain or
loss against it (``resale_gain_eur``: negative when the fund sold for less than
it put in).
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams
from sim.parcels import use_bit
from sim.uses import COMMERCIAL_NAMES, CONVERSION, IS_COMMERCIAL, RESIDENTIAL, USE_CODE, VACANT

SectorName = Literal[COMMERCIAL_NAMES]   # the commercial use classes of sim/uses.py


ESTATE_KPI_KEYS = AREA_KPI_KEYS + (
    "area_longterm_vacant_m2", "purchases", "purchase_eur", "transfer_tax_eur", "renovations", "renovation_eur", "holding_cost_eur",
    "conversions", "conversion_eur", "lettings", "waiting_list_lettings", "fronts_refused", "rent_discount_eur",
    "rent_income_eur", "resales", "resale_eur", "resale_gain_eur", "resales_at_loss", "appraisal_eur",
    "deals_pending", "reserved_eur", "deals_fallen_through", "parcels_held", "holdings_value_eur", "parcels_bound",
    "fund_eur")
"""The keys of ``EstateInstrument.estate_kpis``."""


class EstateParams(InstrumentParams):
    """Fund and estate-management parameters shared by the instruments that buy parcels."""

    kpi_keys: ClassVar[tuple[str, ...]] = ESTATE_KPI_KEYS

    fund_eur: Annotated[float, Field(ge=0.0, le=1e9)] = 10_000_000.0
    """Capital the council puts into the revolving property fund at the start (EUR); added to the municipality's one fund (instruments in one scenario share it). Default EUR 10M: assumption, near Rotterdam's EUR 9M fund for buying shop premises (2021; NOS, 2024); both instruments set their own default (EUR 5M for one midsize centre)."""
    target_mix: dict[SectorName, Annotated[float, Field(ge=0.0)]] = {"craft": 0.4, "culture": 0.3, "independent": 0.3}
    """Sectors the municipality lets its units to, with relative weights for the waiting list (the desired mix); other sectors are refused on its units. Default: makers, culture and independent retail (the uses priced out of Dutch centres); weights are an assumption."""
    rent_discount_share: Annotated[float, Field(ge=0.0, le=0.9)] = 0.3
    """Asking rent of a vacant municipal unit below the market rent (share, 0..0.9). Assumption (municipal rents for makers and culture, e.g. broedplaatsen, are typically 20-50% below market)."""
    lettings_per_year: Annotated[float, Field(ge=0.0, le=12.0)] = 2.0
    """Rate (1/yr) at which the municipal letting desk finds a waiting-list tenant of the target mix for a vacant municipal unit (it lets if that tenant breaks even at the asking rent); on top of ordinary entrants. Default 2/yr (about half a year): assumption (waiting lists of makers and cultural users are long)."""
    front_detection_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """Chance that the municipality's integrity check (Wet Bibob applies to municipal property transactions) refuses a criminal front bidding for a municipal unit (0..1). Assumption."""
    vacant_holding_cost_share_per_year: Annotated[float, Field(ge=0.0, le=0.1)] = 0.01
    """Holding cost of a municipal unit that earns no rent (vacant or under conversion): property tax, insurance, security, upkeep, as a share of its value per year (1/yr). Let units carry their operating costs in the owners' opex share. Assumption."""
    maintain_below: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    """Once a year the municipality renovates its buildings in worse condition than this (0..1) to condition 1, while the fund can pay. Default: the private owners' maintenance threshold (0.6, assumption)."""
    convert_after_years: Annotated[float, Field(ge=0.0, le=50.0)] | None = 3.0
    """A municipal unit still vacant this many years after purchase is converted to housing where zoning permits housing on the ground floor, paid from the fund (years; null: never). Assumption."""
    resale_after_years: Annotated[float, Field(ge=0.0, le=50.0)] | None = 5.0
    """Let (or converted) municipal units are resold at market value this many years after purchase, with use conditions (years; null: never resell). Vacant units are kept until let. Default 5: Rotterdam's Fonds Vitale Kerngebieden aims to resell within 5 years (gemeente.nu, 2024)."""
    use_condition_years: Annotated[float, Field(ge=0.0, le=50.0)] = 10.0
    """Years after a resale during which new leases of the unit must be in the target mix (kettingbeding in the deed, checked at every letting while the instrument is active). Assumption."""
    transaction_cost_share: Annotated[float, Field(ge=0.0, le=0.2)] = 0.02
    """Notary, appraisal and legal costs of a purchase, as a share of the price, paid from the fund. Assumption."""
    transfer_tax_share: Annotated[float, Field(ge=0.0, le=0.2)] = 0.104
    """Transfer tax (overdrachtsbelasting) on a purchase, as a share of the price, paid from the fund: 10.4% since 2023 for all property other than an owner-occupied home, unless the supply is subject to VAT (pvdnotaris.nl, "Meer over overdrachtsbelasting"; eamakelaar.nl, 2023). 0 models a VAT-taxed supply or an exemption."""
    staff_hours_per_transaction: Annotated[float, Field(ge=0.0, le=10_000.0)] = 40.0
    """Staff hours per purchase or resale (appraisal, negotiation, deed) (h). Assumption."""
    staff_hours_per_letting: Annotated[float, Field(ge=0.0, le=1_000.0)] = 8.0
    """Staff hours per letting of a municipal unit (matching, screening, lease) (h). Assumption."""
    appraisal_eur: Annotated[float, Field(ge=0.0, le=100_000.0)] = 3_000.0
    """Fee of the independent appraiser who values a parcel before the municipality negotiates (EUR, from the annual budget). A price set by an independent valuation before the negotiations is how a public body shows it pays market value and no state aid (European Commission communication on land and buildings, as applied to purchases: europadecentraal.nl, "Grondprijs voor maatschappelijke doelen en staatssteun"; vastgoedjournaal.nl). Amount: assumption (a commercial valuation report)."""
    negotiation_months: Annotated[float, Field(ge=0.0, le=36.0)] = 6.0
    """Months from the opening of a negotiation (appraisal, offer, talks, due diligence) to the agreement in principle (months). Assumption, within the 6-12 months of a municipal purchase of let commercial property; Rotterdam's fund (2021) needed until 2024 for its first four shops (NOS, 8 May 2024)."""
    decision_months: Annotated[float, Field(ge=0.0, le=12.0)] = 2.0
    """Months for the decision that makes the purchase final: a college decision after the council could state its wishes and objections (Gemeentewet art. 169 lid 4; art. 160) (months). Assumption (one council cycle)."""
    staff_hours_per_decision: Annotated[float, Field(ge=0.0, le=1_000.0)] = 16.0
    """Staff hours for the college proposal and the council information per purchase (h). Assumption."""
    use_condition_value_discount: Annotated[float, Field(ge=0.0, le=0.5)] = 0.05
    """Discount on the market value at resale for the use conditions (kettingbeding) the buyer accepts (share). Assumption (conditions narrow the tenants a buyer may take)."""

    @model_validator(mode="after")
    def _some_target(self) -> "EstateParams":
        if not any(w > 0 for w in self.target_mix.values()):
            raise ValueError("target_mix needs at least one sector with a positive weight")
        return self


class Estate:
    """The parcels one instrument holds for the municipality and their management."""

    def __init__(self, name: str, config: EstateParams, model):
        self.name = name
        self.config = config
        mix = {USE_CODE[s]: w for s, w in config.target_mix.items() if w > 0}
        self.codes = np.array(sorted(mix), dtype=np.int64)
        self.weights = np.array([mix[c] for c in self.codes])
        self.target_codes = frozenset(int(c) for c in self.codes)
        self.held: dict[int, int] = {}          # parcel -> step of purchase
        self.bound_until: dict[int, int] = {}   # resold parcel -> last step its use condition binds
        self.totals: Counter = Counter()        # cumulative counts and euros (see kpis)
        self.pending: dict[int, dict] = {}      # parcel -> deal under negotiation (see ``reserve``)
        self.basis: dict[int, float] = {}       # held parcel -> what the fund put into it so far (EUR)
        # the council's capital joins the one municipal fund; the start value keeps check_ledger balanced
        model.municipality.fund_eur += config.fund_eur
        model.municipality.fund_start_eur += config.fund_eur

    # ------------------------------------------------------------------ money
    def reserved_eur(self) -> float:
        return float(sum(d["reserved_eur"] for d in self.pending.values()))

    def free_fund_eur(self, model) -> float:
        """The fund less what the pending deals of every estate in the scenario reserved (they share one fund)."""
        reserved = sum(i.estate.reserved_eur() for i in model.municipality.instruments
                       if isinstance(getattr(i, "estate", None), Estate))
        return model.municipality.fund_eur - reserved

    def can_pay(self, model, eur: float) -> bool:
        return self.free_fund_eur(model) >= eur

    def pay(self, model, eur: float, what: str, parcels=None) -> None:
        """Pay from the fund's free money; what it cannot cover comes from the annual budget (the fund
        never goes negative and reserved money stays reserved). ``parcels`` (with their shares) carry the cost
        in their cost basis."""
        if eur <= 0.0:
            return
        m = model.municipality
        from_fund = min(eur, max(self.free_fund_eur(model), 0.0))
        if from_fund > 0.0:
            m.spend(self.name, from_fund, from_fund=True)
        if eur - from_fund > 0.0:
            m.spend(self.name, eur - from_fund)
        self.totals[what] += eur
        for p, share in (parcels or {}).items():
            self.basis[p] = self.basis.get(p, 0.0) + eur * share

    # ------------------------------------------------------------------ deals
    def months_to_steps(self, model, months: float) -> int:
        return int(round(months / 12.0 * model.spy))

    def appraise(self, model) -> bool:
        """Commission the independent appraisal that opens a deal (budget); False if the budget cannot pay it."""
        if not model.municipality.afford(self.name, eur=self.config.appraisal_eur):
            return False
        model.municipality.spend(self.name, self.config.appraisal_eur)
        self.totals["appraisal_eur"] += self.config.appraisal_eur
        return True

    def reserve(self, model, parcel: int, seller: int, price_eur: float, close_step: int, **terms) -> dict:
        """Open a pending deal: its price with tax and costs and the works on purchase are reserved in the fund."""
        reserved = self.purchase_cost_eur(price_eur) + self.renovation_cost_eur(model, parcel)
        deal = {"seller": seller, "price_eur": price_eur, "reserved_eur": reserved, "close_step": close_step, **terms}
        self.pending[parcel] = deal
        return deal

    def due(self, model) -> list[tuple[int, dict]]:
        """Deals whose time has come, in the order they were opened; they leave ``pending`` (the money is free again)."""
        out = [(p, d) for p, d in self.pending.items() if d["close_step"] <= model.steps]
        for p, _ in out:
            del self.pending[p]
        return out

    def close(self, model, parcel: int, deal: dict) -> bool:
        """Complete a purchase agreed in a deal: the council's decision (staff), the fund pays, the parcel transfers.
        Falls through (False) if the seller no longer owns the parcel or it is under conversion."""
        from sim.agents.owners import transfer
        par = model.parcels
        seller = deal["seller"]
        if int(par.flat("owner")[parcel]) != seller or par.flat("use")[parcel] == CONVERSION:
            self.totals["deals_fallen_through"] += 1
            return False
        model.municipality.staff(self.name, self.config.staff_hours_per_decision)
        self.pay_purchase(model, parcel, deal["price_eur"])
        transfer(model, parcel, seller, model.municipality_owner_slot, deal["price_eur"])
        return True

    def purchase_cost_eur(self, price_eur: float) -> float:
        """Price plus transaction costs and transfer tax."""
        return price_eur * (1.0 + self.config.transaction_cost_share + self.config.transfer_tax_share)

    def pay_purchase(self, model, parcel: int, price_eur: float) -> None:
        """The fund pays price and transaction costs; the caller (or ``Owner.sell``) then transfers.

        ``transfer`` debits the buyer's owner account by the price (the municipality
        borrows nothing): the fund credits that account first, so it nets to zero.
        """
        model.municipality.spend(self.name, self.purchase_cost_eur(price_eur), from_fund=True)
        model.owners.cash_eur[model.municipality_owner_slot] += price_eur
        model.municipality.staff(self.name, self.config.staff_hours_per_transaction)
        self.held[parcel] = model.steps
        self.basis[parcel] = self.purchase_cost_eur(price_eur)
        self.bound_until.pop(parcel, None)
        self.totals["purchases"] += 1
        self.totals["purchase_eur"] += price_eur
        self.totals["transfer_tax_eur"] += price_eur * self.config.transfer_tax_share

    def renovation_cost_eur(self, model, parcel: int) -> float:
        par = model.parcels
        cost_m2 = model.spec.agents.owners.renovation_cost_eur_m2
        return (1.0 - par.flat("condition")[parcel]) * cost_m2 * par.flat("floor_m2")[parcel]

    def renovate(self, model, parcel: int) -> None:
        """Restore condition to 1, paid from the fund (skipped when the fund cannot pay)."""
        cost = self.renovation_cost_eur(model, parcel)
        if cost <= 0.0 or not self.can_pay(model, cost):
            return
        self.pay(model, cost, "renovation_eur", {parcel: 1.0})
        model.parcels.flat("condition")[parcel] = 1.0
        self.totals["renovations"] += 1

    # ------------------------------------------------------------------ every step
    def manage(self, model) -> None:
        """The municipality's turn as landlord, in this order (see docs/instruments/*.md)."""
        self._forget_lost(model)
        self._count_discount(model)
        self._pay_holding_costs(model)
        if (model.steps - 1) % model.spy == 0:      # yearly upkeep, like the owners' (not of units being converted)
            for p in self._held_where(model, lambda par, ps: (par.flat("condition")[ps] < self.config.maintain_below)
                                      & (par.flat("use")[ps] != CONVERSION)):
                self.renovate(model, p)
        self._convert(model)
        self._resell(model)
        vacant = self._held_where(model, lambda par, ps: par.flat("use")[ps] == VACANT)
        for p in vacant:
            self.set_asking(model, p)
        self._nominate(model, vacant)

    def _held_where(self, model, test) -> list[int]:
        """Held parcels (in purchase order) where ``test(parcels, array_of_parcels)`` is true."""
        if not self.held:
            return []
        ps = np.fromiter(self.held, dtype=np.int64, count=len(self.held))
        return ps[test(model.parcels, ps)].tolist()

    def _forget_lost(self, model) -> None:
        # defensive: a parcel that left municipal hands other than by our resale is no longer ours
        owner = model.parcels.flat("owner")
        for p in [p for p in self.held if owner[p] != model.municipality_owner_slot]:
            del self.held[p]
            self.basis.pop(p, None)

    def _count_discount(self, model) -> None:
        """Rent forgone on let units: contract rent below market (no cash flow; a KPI, not a ledger entry)."""
        par = model.parcels
        let = self._held_where(model, lambda par, ps: IS_COMMERCIAL[par.flat("use")[ps]])
        if let:
            gap = par.flat("market_rent_eur_m2")[let] - par.flat("rent_eur_m2")[let]
            forgone = np.maximum(gap, 0.0) * par.flat("floor_m2")[let]
            self.totals["rent_discount_eur"] += float(forgone.sum() / model.spy)

    def _pay_holding_costs(self, model) -> None:
        """Units without rent cost taxes, insurance and security; let units carry theirs in the opex share."""
        idle = self._held_where(model, lambda par, ps: np.isin(par.flat("use")[ps], (VACANT, CONVERSION)))
        if idle:
            values = model.parcels.flat("value_eur")[idle]
            value = values.sum()
            shares = dict(zip(idle, (values / value).tolist())) if value > 0.0 else {}
            self.pay(model, self.config.vacant_holding_cost_share_per_year * value / model.spy, "holding_cost_eur", shares)

    def set_asking(self, model, parcel: int) -> None:
        """The municipality asks the discounted market rent; it, not the owners' review routine, sets this rent."""
        par = model.parcels
        market = par.flat("market_rent_eur_m2")[parcel]
        par.flat("asking_rent_eur_m2")[parcel] = (1.0 - self.config.rent_discount_share) * market
        par.flat("last_review_step")[parcel] = model.steps

    # ------------------------------------------------------------------ letting
    def _nominate(self, model, vacant: list[int]) -> None:
        """The letting desk proposes a waiting-list tenant of the target mix for some vacant units."""
        rate = self.config.lettings_per_year
        if not vacant or rate <= 0.0:
            return
        p_step = 1.0 - np.exp(-rate / model.spy)
        vacant = np.asarray(vacant, dtype=np.int64)
        hits = vacant[model.streams.uniform(f"instrument.{self.name}.nomination", model.clock, vacant) < p_step]
        for p in hits.tolist():
            self._let_to_target(model, p)

    def _let_to_target(self, model, parcel: int) -> None:
        """Open a target-sector business drawn by the mix weights among those that break even at the asking rent."""
        from sim.agents.businesses import open_business, wtp_rent_eur_m2
        par = model.parcels
        permitted = (par.flat("allowed")[parcel] >> self.codes) & 1 == 1
        ask = float(par.flat("asking_rent_eur_m2")[parcel])
        codes = self.codes[permitted]
        viable = wtp_rent_eur_m2(model, codes, np.full(codes.size, parcel)) >= ask
        if not viable.any():
            return
        w = self.weights[permitted][viable]
        sector = int(codes[viable][model.streams.choice(f"instrument.{self.name}.tenant_sector", model.clock, parcel, w)])
        cfg = model.spec.agents.businesses
        fixed = model.sector_arrays["fixed_cost_eur_m2"][sector]
        cash = cfg.cash_buffer_quarters * (ask + fixed) * par.flat("floor_m2")[parcel] / 4.0   # as ordinary entrants
        agent = open_business(model, sector, parcel, ask, False, cash, model.steps + cfg.lease_years * model.spy)
        model.events["business_entries"] += 1
        self.totals["waiting_list_lettings"] += 1
        model.municipality.on_let(parcel, agent.slot, sector, False)

    def screen_lease(self, model, parcel: int, sector: int, is_front: bool) -> bool:
        """Municipal units and resold units under use conditions let only to the target mix; fronts risk refusal."""
        if parcel in self.held:
            if sector not in self.target_codes:
                return False
            # integrity check of every applicant (one draw each); only a front can be caught
            u = model.streams.uniform(f"instrument.{self.name}.integrity_check", model.clock, parcel)
            if u < self.config.front_detection_share and is_front:
                self.totals["fronts_refused"] += 1
                model.events["fronts_detected"] += 1
                return False
            return True
        until = self.bound_until.get(parcel)
        if until is not None and model.steps <= until:
            return sector in self.target_codes
        return True

    def on_let(self, model, parcel: int) -> None:
        if parcel in self.held:
            self.totals["lettings"] += 1
            model.municipality.staff(self.name, self.config.staff_hours_per_letting)

    def on_exit(self, model, parcel: int) -> None:
        if parcel in self.held:                  # re-let at the discounted rent from this step on
            self.set_asking(model, parcel)

    # ------------------------------------------------------------------ conversion and resale
    def _convert(self, model) -> None:
        """Units vacant long after purchase become housing where zoning permits it (works paid from the fund)."""
        years = self.config.convert_after_years
        if years is None:
            return
        par = model.parcels
        due_step = model.steps - years * model.spy
        for p in self._held_where(model, lambda par, ps: (par.flat("use")[ps] == VACANT)
                                  & (par.flat("allowed")[ps] & use_bit(RESIDENTIAL) != 0)):
            cost = model.context["construction_cost_eur_m2"] * par.flat("floor_m2")[p]
            if self.held[p] > due_step or not self.can_pay(model, cost):
                continue
            self.pay(model, cost, "conversion_eur", {p: 1.0})
            self._start_conversion(model, p)

    def _start_conversion(self, model, parcel: int) -> None:
        # the same state change as an owner's conversion (sim/agents/owners.py), including the permit lag
        par = model.parcels
        oc = model.spec.agents.owners
        par.flat("conversion_from")[parcel] = par.flat("last_use")[parcel]
        par.flat("conversion_to")[parcel] = RESIDENTIAL
        par.flat("conversion_dwellings")[parcel] = max(1, int(par.flat("floor_m2")[parcel] // oc.dwelling_m2))
        lag = max(1, round(oc.conversion_lag_quarters * model.spy / 4))
        lag += model.municipality.conversion_extra_steps(parcel)
        par.flat("conversion_done_step")[parcel] = model.steps + lag
        par.flat("use")[parcel] = CONVERSION
        par.flat("vacant_since")[parcel] = -1
        par.flat("asking_rent_eur_m2")[parcel] = 0.0
        self.totals["conversions"] += 1

    def _resell(self, model) -> None:
        """Let or converted units held long enough go to a drawn buyer at market value less the value of the use
        conditions; the gain or loss against what the fund put in is booked (``resale_gain_eur``)."""
        from sim.agents.owners import transfer
        years = self.config.resale_after_years
        if years is None:
            return
        due_step = model.steps - years * model.spy
        slot = model.municipality_owner_slot
        for p in self._held_where(model, lambda par, ps: ~np.isin(par.flat("use")[ps], (VACANT, CONVERSION))):
            if self.held[p] > due_step:
                continue
            buyer = model.draw_buyer(p, exclude=slot)
            if buyer < 0:
                continue
            price = float(model.parcels.flat("value_eur")[p]) * (1.0 - self.config.use_condition_value_discount)
            transfer(model, p, slot, buyer, price)
            model.owners.cash_eur[slot] -= price      # transfer paid the seller's account: the price goes to the fund
            model.municipality.receive(self.name, price, to_fund=True)
            model.municipality.staff(self.name, self.config.staff_hours_per_transaction)
            del self.held[p]
            self.bound_until[p] = model.steps + int(round(self.config.use_condition_years * model.spy))
            self.totals["resales"] += 1
            self.totals["resale_eur"] += price
            gain = price - self.basis.pop(p, 0.0)
            self.totals["resale_gain_eur"] += gain
            self.totals["resales_at_loss"] += gain < 0.0

    # ------------------------------------------------------------------ KPIs
    def holdings_market_value_eur(self, model) -> float:
        """What the parcels held would fetch if sold now (``market_value_eur``: a vacant unit at
        today's market rent), so a fund whose buildings lost value shows it."""
        from sim.agents.owners import market_value_eur
        return float(sum(market_value_eur(model, p) for p in self.held))

    def kpis(self, model) -> dict[str, float]:
        t = self.totals
        keys = ("purchases", "purchase_eur", "transfer_tax_eur", "renovations", "renovation_eur", "holding_cost_eur", "conversions",
                "conversion_eur", "lettings", "waiting_list_lettings", "fronts_refused", "rent_discount_eur",
                "rent_income_eur", "resales", "resale_eur", "resale_gain_eur", "resales_at_loss", "appraisal_eur",
                "deals_fallen_through")
        out = {k: float(t[k]) for k in keys}
        out["deals_pending"] = float(len(self.pending))
        out["reserved_eur"] = self.reserved_eur()
        out["parcels_held"] = float(len(self.held))
        held = np.fromiter(self.held, dtype=np.int64, count=len(self.held))
        # market value of the parcels held: what the fund's capital is tied up in
        out["holdings_value_eur"] = float(model.parcels.flat("value_eur")[held].sum())
        out["parcels_bound"] = float(sum(until >= model.steps for until in self.bound_until.values()))
        out["fund_eur"] = float(model.municipality.fund_eur)
        return out


def _rent_roll_eur(model) -> np.ndarray:
    """Annual rent per parcel (commercial contract rent plus dwelling rents), as ``collect_rents`` counts it."""
    return model.rent_roll_eur()


def collect_municipal_rents(model) -> None:
    """Move the rents the municipality earned as owner into the fund, as income of the estates holding the parcels.

    ``collect_rents`` pays net rents into the municipality's owner account; each
    estate takes the share of its parcels in the municipal rent roll (parcels
    held outside any estate keep theirs in that account). Called by every estate
    instrument at the start of its ``apply``: the first call of a step empties the account.
    """
    slot = model.municipality_owner_slot
    cash = float(model.owners.cash_eur[slot])
    estates = [i.estate for i in model.municipality.instruments if isinstance(getattr(i, "estate", None), Estate)]
    municipal = np.flatnonzero(model.parcels.flat("owner") == slot)
    if cash <= 0.0 or not estates or municipal.size == 0:
        return
    roll = _rent_roll_eur(model)
    total = float(roll[municipal].sum())
    for estate in estates:
        mine = np.fromiter(estate.held, dtype=np.int64, count=len(estate.held))
        share = float(roll[mine].sum()) / total if total > 0.0 else mine.size / municipal.size
        eur = cash * share
        if eur > 0.0:
            model.owners.cash_eur[slot] -= eur
            model.municipality.receive(estate.name, eur, to_fund=True)
            estate.totals["rent_income_eur"] += eur


def area_longterm_vacant_m2(model, mask: np.ndarray, years: float = 1.0) -> float:
    """Floor area (m2) in ``mask`` vacant for at least ``years``."""
    par = model.parcels
    vacant = mask & (par.use == VACANT)
    long = (model.steps - par.vacant_since) >= years * model.spy
    return float(par.floor_m2[vacant & long].sum())


class EstateInstrument(Instrument):
    """Base of the instruments that own municipal property (not registered itself):
    the estate decides who may rent municipal units and tracks lettings and exits."""

    estate: Estate

    def screen_lease(self, model, parcel: int, sector: int, is_front: bool) -> bool:
        return self.estate.screen_lease(model, parcel, sector, is_front)

    def on_let(self, model, parcel: int, business: int, sector: int, is_front: bool) -> None:
        self.estate.on_let(model, parcel)

    def on_exit(self, model, parcel: int, business: int) -> None:
        self.estate.on_exit(model, parcel)

    def estate_kpis(self, model) -> dict[str, float]:
        """Area KPIs, long-term vacant floor and the estate's own figures."""
        return {**area_kpis(model, self.area_mask),
                "area_longterm_vacant_m2": area_longterm_vacant_m2(model, self.area_mask),
                **self.estate.kpis(model)}
