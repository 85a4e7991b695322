"""Pre-emption right (voorkeursrecht, Omgevingswet ch. 9): the municipality may buy first when an owner sells.

Mechanics: when the instrument starts, the area is designated (``parcels.preemption``):
a provisional designation by the college for ``provisional_months``, which the
council confirms for ``period_years`` plus ``extension_years`` (or lets lapse).
While it is in force, an owner who has decided to sell a parcel in the area must
offer it to the municipality first (hook ``first_refusal``, asked in
``Owner.sell``); no owner is forced to sell. The municipality decides within
``decision_weeks`` whether it wants the parcel (vacant, decayed, or let to a
sector it wants out) and can reserve the price in the property fund; if not, the
owner sells freely. If it does, the sale waits while they negotiate on the
appraised market value: with chance ``agree_share`` they agree and the purchase
is final after the college's decision with the council's consent; otherwise the
owner withdraws and keeps the parcel (chance ``owner_withdraws_share``: the right
forces no sale) or the municipality asks the civil court to set the price
(Omgevingswet art. 9.16; the price as in expropriation: market value) and buys at
it after ``court_months``. Its units are managed as a municipal estate
(``_municipal_estate.py``): let to the target mix at a discount, converted where
zoning permits when they stay vacant, resold with use conditions after
``resale_after_years``; rents and resale prices return to the fund.

Cost: appraisals and court procedures (budget); purchase prices, transfer tax
and transaction costs, renovations, holding costs and conversions (fund); staff
hours for the designation, each offer assessed, each decision, transaction and
letting (budget). Rent discounts are forgone income (a KPI).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from sim.instruments._municipal_estate import (ESTATE_KPI_KEYS, Estate, EstateInstrument, EstateParams, SectorName,
                                                collect_municipal_rents)
from sim.instruments.base import register
from sim.uses import CONVERSION, USE_CODE, VACANT


class PreemptionConfig(EstateParams):
    kind: Literal["preemption"] = "preemption"
    kpi_keys: ClassVar[tuple[str, ...]] = ESTATE_KPI_KEYS + ("designated", "offers", "offers_declined",
        "offers_unaffordable", "offers_withdrawn", "court_cases", "court_cost_eur")
    fund_eur: Annotated[float, Field(ge=0.0, le=1e9)] = 5_000_000.0
    """Capital the council puts into the revolving property fund at the start (EUR); added to the municipality's one fund (instruments in one scenario share it). Default EUR 5M: assumption for one midsize centre, scaled down from Rotterdam's EUR 9M Fonds Vitale Kerngebieden for 56 shopping areas of a city of 650,000 (gemeente.nu, 2021; vastgoedmarkt.nl, 2024)."""
    provisional_months: Annotated[float, Field(ge=0.0, le=3.0)] = 3.0
    """Months the college's provisional designation is in force before the council decides (months). Default 3: the college's provisional pre-emption right lasts 3 months (Omgevingswet ch. 9)."""
    council_confirms: bool = True
    """Whether the council confirms the designation; if not, it lapses after the provisional months."""
    period_years: Annotated[float, Field(ge=0.0, le=5.0)] = 5.0
    """Years the council's designation runs after the provisional months (years). Default 5: a pre-emption right based on the omgevingsplan lapses after 5 years unless extended once by 5 years (Omgevingswet ch. 9)."""
    extension_years: Annotated[float, Field(ge=0.0, le=5.0)] = 5.0
    """Extension of the designation after ``period_years`` (years; 0: none). Default 5: the one extension of 5 years that the Omgevingswet allows (ch. 9)."""
    buy_vacant: bool = True
    """Buy offered units that are vacant. Assumption (the municipality wants vacant units to steer their next use)."""
    buy_below_condition: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """Buy offered units in worse condition than this (0..1; 0: never for condition). Assumption."""
    buy_sectors: list[SectorName] = []
    """Buy offered units let to one of these sectors (a target-use mismatch: the tenant stays until its lease ends, then the unit is re-let to the target mix). Default none: assumption."""
    max_price_eur: Annotated[float, Field(gt=0.0)] | None = None
    """Highest price the municipality pays for one parcel (EUR; null: no cap beyond the fund). Assumption."""
    staff_hours_designation: Annotated[float, Field(ge=0.0, le=100_000.0)] = 300.0
    """Staff hours to prepare the designation (college and council decisions, Kadaster registration) (h), booked when it starts. Assumption."""
    staff_hours_per_offer: Annotated[float, Field(ge=0.0, le=1_000.0)] = 4.0
    """Staff hours to assess an owner's offer and answer it (h). Assumption."""
    decision_weeks: Annotated[float, Field(ge=0.0, le=26.0)] = 6.0
    """Weeks in which the municipality decides whether it is willing to buy an offered parcel (weeks). Default 6: the term for that decision (Omgevingswet art. 9.13; six weeks as under the Wet voorkeursrecht gemeenten: vbk.nl, "Voorkeursrechten in de Aanvullingswet grondeigendom"); without a decision in time the owner may sell freely for three years (art. 9.14)."""
    negotiation_months: Annotated[float, Field(ge=0.0, le=36.0)] = 3.0
    """Months of negotiation on the price after the municipality said it is willing (months). Assumption (shorter than an acquisition fund's talks: the owner already wants to sell)."""
    agree_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.75
    """Chance that owner and municipality agree on the appraised market value (0..1). Assumption (the owner wanted to sell at market value anyway; some expect more)."""
    owner_withdraws_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """Without agreement: chance that the owner withdraws and keeps the parcel (0..1); otherwise the municipality asks the civil court to set the price. Assumption; the right forces no sale: the owner is not obliged to sell (vbk.nl; overwater-grondbeleid.nl: a passive instrument)."""
    court_months: Annotated[float, Field(ge=0.0, le=60.0)] = 12.0
    """Months until the civil court has set the price (court-appointed experts value as in expropriation: the price in a supposed free sale, i.e. market value; Omgevingswet art. 9.16; tregthuys.nl; vbk.nl) (months). Assumption."""
    court_cost_eur: Annotated[float, Field(ge=0.0, le=1_000_000.0)] = 20_000.0
    """Cost of the court procedure to the municipality: experts, lawyers, the owner's reasonable costs (EUR, from the budget). Assumption."""
    resale_after_years: Annotated[float, Field(ge=0.0, le=50.0)] | None = 10.0
    """Let (or converted) units are resold at market value this many years after purchase, with use conditions (years; null: never). Default 10: assumption (pre-empted positions are held through the redevelopment, longer than an acquisition fund's ~5 years)."""


@register
class Preemption(EstateInstrument):
    config_class = PreemptionConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self.estate = Estate(self.name, self.config, model)
        self._buy_codes = frozenset(USE_CODE[s] for s in self.config.buy_sectors)
        self.designated_step: int | None = None    # first step in force
        self.lapse_step: int | None = None         # first step no longer in force
        self.offers = 0
        self.declined = 0
        self.unaffordable = 0
        self.withdrawn = 0
        self.court_cases = 0

    def apply(self, model) -> None:
        self._designate(model)
        collect_municipal_rents(model)
        self._close_due(model)
        self.estate.manage(model)

    def idle(self, model) -> None:
        if self.estate.pending:                  # negotiations opened before the end year run their course
            self._close_due(model)

    def _close_due(self, model) -> None:
        for parcel, deal in self.estate.due(model):
            if deal["outcome"] == "withdraw":
                self.withdrawn += 1              # the owner keeps the parcel: no sale at all
            else:
                self.estate.close(model, parcel, deal)

    # ------------------------------------------------------------------ designation
    def _designate(self, model) -> None:
        """Designate the area at the first active step; clear the flag when the designation lapses."""
        c = self.config
        par = model.parcels
        if self.designated_step is None:
            if not model.municipality.afford(self.name, staff_hours=c.staff_hours_designation):
                return                           # the decision waits for the money to prepare it
            self.designated_step = model.steps
            years = c.period_years + c.extension_years if c.council_confirms else 0.0
            months = c.provisional_months + 12.0 * years
            self.lapse_step = model.steps + int(round(months / 12.0 * model.spy))
            par.preemption |= self.area_mask
            model.municipality.staff(self.name, c.staff_hours_designation)
        elif model.steps >= self.lapse_step:
            par.preemption[self.area_mask] = False

    def in_force(self, model) -> bool:
        return self.designated_step is not None and self.designated_step <= model.steps < self.lapse_step

    # ------------------------------------------------------------------ hooks
    def first_refusal(self, model, parcel: int, price_eur: float) -> bool | None:
        """An owner in the area decided to sell at ``price_eur`` (market value). None: the municipality wants it
        and negotiates (the sale waits); False: it declines and the owner sells freely."""
        if parcel in self.estate.pending:
            return None                        # the negotiation under way continues
        if not (self.in_force(model) and self.in_area(parcel)):
            return False
        c = self.config
        self.offers += 1
        model.municipality.staff(self.name, c.staff_hours_per_offer)
        cap = c.max_price_eur
        if not self._wants(model, parcel) or (cap is not None and price_eur > cap):
            self.declined += 1                 # the owner sells freely
            return False
        cost = self.estate.purchase_cost_eur(price_eur) + self.estate.renovation_cost_eur(model, parcel)
        if not self.estate.can_pay(model, cost):
            self.declined += 1
            self.unaffordable += 1             # wanted, but the free fund cannot pay: the owner sells freely
            return False
        if not self.estate.appraise(model):
            self.declined += 1                 # no budget for the appraisal: not willing within the term
            return False
        u = model.streams.uniform(f"instrument.{self.name}.price_agreement", model.clock, parcel)
        months = 12.0 * c.decision_weeks / 52.0 + c.negotiation_months
        if u < c.agree_share:
            outcome, months = "agree", months + c.decision_months
        elif (u - c.agree_share) / (1.0 - c.agree_share) < c.owner_withdraws_share:
            outcome = "withdraw"
        else:
            outcome, months = "court", months + c.court_months + c.decision_months
            self.court_cases += 1
            model.municipality.spend(self.name, c.court_cost_eur)   # an obligation once the request is filed
            self.estate.totals["court_cost_eur"] += c.court_cost_eur
        seller = int(model.parcels.flat("owner")[parcel])
        self.estate.reserve(model, parcel, seller, price_eur, model.steps + self.estate.months_to_steps(model, months),
                            outcome=outcome)
        return None

    def _wants(self, model, parcel: int) -> bool:
        par = model.parcels
        use = int(par.flat("use")[parcel])
        if use == CONVERSION:
            return False                       # the owner's own transformation is under way
        return ((self.config.buy_vacant and use == VACANT)
                or par.flat("condition")[parcel] < self.config.buy_below_condition
                or use in self._buy_codes)

    # ------------------------------------------------------------------ KPIs
    def holdings_value_eur(self, model) -> float:
        return self.estate.holdings_market_value_eur(model)

    def kpis(self, model) -> dict[str, float]:
        return {**self.estate_kpis(model),
                "designated": float(self.in_force(model)),
                "offers": float(self.offers),
                "offers_declined": float(self.declined),
                "offers_unaffordable": float(self.unaffordable),
                "offers_withdrawn": float(self.withdrawn),
                "court_cases": float(self.court_cases),
                "court_cost_eur": float(self.estate.totals["court_cost_eur"])}
