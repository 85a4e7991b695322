"""Pre-emption right (voorkeursrecht, Omgevingswet ch. 9): the municipality may buy first when an owner sells.

Mechanics: when the instrument starts, the area is designated (``parcels.preemption``):
a provisional designation by the college for ``provisional_months``, which the
council confirms for ``period_years`` plus ``extension_years`` (or lets lapse).
While it is in force, an owner who has decided to sell a parcel in the area must
offer it to the municipality first (hook ``first_refusal``, asked in
``Owner.sell``); no owner is forced to sell. The municipality buys at market
value (``value_eur``) when it wants the parcel (vacant, decayed, or let to a
sector it wants out) and the property fund can pay; otherwise the owner sells
freely. Its units are managed as a municipal estate (``_municipal_estate.py``):
let to the target mix at a discount, converted where zoning permits when they
stay vacant, resold with use conditions after ``resale_after_years``; rents and
resale prices return to the fund.

Cost: purchase prices and transaction costs, renovations, holding costs and
conversions (fund); staff hours for the designation, each offer assessed, each
transaction and letting (budget). Rent discounts are forgone income (a KPI).
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
        "offers_unaffordable")
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

    def apply(self, model) -> None:
        self._designate(model)
        collect_municipal_rents(model)
        self.estate.manage(model)

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
    def first_refusal(self, model, parcel: int, price_eur: float) -> bool:
        """An owner in the area decided to sell: buy at market value if wanted and the fund can pay."""
        if not (self.in_force(model) and self.in_area(parcel)):
            return False
        self.offers += 1
        model.municipality.staff(self.name, self.config.staff_hours_per_offer)
        cap = self.config.max_price_eur
        if not self._wants(model, parcel) or (cap is not None and price_eur > cap):
            self.declined += 1                 # the owner sells freely
            return False
        if not self.estate.can_pay(model, self.estate.purchase_cost_eur(price_eur)):
            self.declined += 1
            self.unaffordable += 1             # wanted, but the fund cannot pay: the owner sells freely
            return False
        self.estate.pay_purchase(model, parcel, price_eur)   # Owner.sell transfers the parcel to us
        return True

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
                "offers_unaffordable": float(self.unaffordable)}
