"""Business investment zone (bedrijveninvesteringszone, BIZ): a levy spent on the zone's public space.

Mechanics: at the first step of each year the municipality levies
``levy_share_of_value`` of the market value (``value_eur``) of the zone's
non-residential parcels (payer ``owners``: every commercial or vacant unit,
from the owner's cash; ``users``: occupied units only, from the tenant's
cash) and books it as income. The levy is spent in the same year, in equal
parts per step, on public space in the zone (booked as spend), so levy income
equals spend. Spending builds a public-space stock (EUR per zone parcel) that
wears off at ``depreciation_per_year``; the stock raises the attraction of
every zone parcel (``attraction_bonus``, read by the footfall kernel) and adds
condition every step (``condition_bonus``, read by the market kernel), both in
proportion to the stock (the conversions are assumptions). The instrument adds
its part to the shared bonus arrays and takes back its own part when it
changes, so other instruments may use the same arrays.

Cost: none to the municipality (levy-funded; collection costs are taken to be
part of what the levy pays for).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import IS_COMMERCIAL, VACANT


class BizConfig(InstrumentParams):
    kind: Literal["biz"] = "biz"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("zone_footfall_index", "levied_eur", "spent_eur",
        "stock_eur_per_parcel", "attraction_bonus", "condition_bonus_per_year")
    levy_share_of_value: Annotated[float, Field(ge=0.0, le=0.01)] = 0.0005
    """Yearly levy as a share of the property value (1/yr). Assumption: 0.05% of value gives about EUR 1,000 a year for an average core property, the order of Dutch BIZ contributions (a few hundred to a few thousand euros per establishment)."""
    payer: Literal["owners", "users"] = "owners"
    """Who pays: ``owners`` (eigenaren-BIZ: every non-residential unit, vacant ones included) or ``users`` (gebruikers-BIZ: occupied units, paid by the tenant). Both forms exist in Dutch practice."""
    attraction_per_keur_parcel: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01
    """Relative uplift of visitor attraction of a zone parcel per EUR 1,000 of public-space stock per zone parcel (1/kEUR). Assumption: a typical BIZ budget (about EUR 1,000 per parcel a year) lifts attraction by a few percent after some years."""
    condition_per_keur_parcel_year: Annotated[float, Field(ge=0.0, le=0.1)] = 0.001
    """Condition (0..1) added per year to a zone parcel per EUR 1,000 of public-space stock per zone parcel (1/kEUR/yr). Assumption: at a stock of EUR 5,000 per parcel a quarter of the base decay of 0.02 a year is undone (clean, safe, well-lit streets)."""
    depreciation_per_year: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    """Share of the public-space stock that wears off per year (1/yr). Assumption: street furniture, lighting and greenery last about 5 years; events and marketing less."""
    max_attraction_bonus: Annotated[float, Field(ge=0.0, le=2.0)] = 0.25
    """Cap on the attraction uplift (share). Assumption: public space cannot make a street more than a quarter more attractive."""


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
        self.spent_eur = 0.0
        self.unspent_eur = 0.0                      # this year's levy not spent yet
        self._attraction_added = 0.0                # this instrument's part of the shared bonus arrays
        self._condition_added = 0.0
        self._year = None

    def apply(self, model) -> None:
        model.parcels.flat("in_biz")[self.zone] = True
        if int(model.year) != self._year:           # a new BIZ year: assess and collect the levy
            self._year = int(model.year)
            self.unspent_eur += self._collect_levy(model)
        self._spend(model)
        self._set_bonus(model)

    def idle(self, model) -> None:
        """Outside the BIZ period no levy and no spending: the public-space stock wears down
        and its bonuses fade with it."""
        keep = (1.0 - self.config.depreciation_per_year) ** (1.0 / model.spy)
        self.stock_eur_per_parcel *= keep
        self._set_bonus(model)

    def _collect_levy(self, model) -> float:
        """Levy the year's contribution from the payers of the zone's non-residential units (EUR)."""
        par = model.parcels
        use = par.flat("use")[self.zone]
        occupied = IS_COMMERCIAL[use]
        liable = occupied | (use == VACANT) if self.config.payer == "owners" else occupied
        parcels = self.zone[liable]
        levy = self.config.levy_share_of_value * par.flat("value_eur")[parcels]
        if self.config.payer == "owners":
            np.subtract.at(model.owners.cash_eur, par.flat("owner")[parcels], levy)
        else:
            np.subtract.at(model.businesses.cash_eur, par.flat("tenant")[parcels], levy)
        total = float(levy.sum())
        if total > 0.0:
            model.municipality.receive(self.name, total, account="biz")   # the levy-funded BIZ account
        self.levied_eur += total
        return total

    def _spend(self, model) -> None:
        """Spend the year's levy in equal parts over the steps left in the year, into the public-space stock."""
        steps_left = model.spy - (model.steps - 1) % model.spy
        spend = self.unspent_eur / steps_left
        self.unspent_eur -= spend
        if spend > 0.0:
            model.municipality.spend(self.name, spend, account="biz")
        self.spent_eur += spend
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
                "stock_eur_per_parcel": self.stock_eur_per_parcel,
                "attraction_bonus": self._attraction_added,
                "condition_bonus_per_year": self._condition_added * model.spy}
