"""Facade subsidy (gevelsubsidie): the municipality co-funds owners' renovations.

Mechanics: once a year the scheme invites the owners of buildings in the area
whose condition is below ``eligible_below`` (higher than the owners' own
renovation threshold): the municipality pays ``share`` of the renovation cost
(at most ``max_eur_per_parcel``), worst buildings first, while the year's
budget lasts; an owner renovates if it can pay its own share. Renovations that
owners start on their own in the area are co-funded the same way (deadweight:
they would have happened anyway). Buildings are renovated earlier and more
often, so the area's mean condition rises.

Cost: the payouts, plus ``staff_hours_per_grant`` per grant.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register


class FacadeSubsidyConfig(InstrumentParams):
    kind: Literal["facade_subsidy"] = "facade_subsidy"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("grants",)
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    """Share of the renovation cost the municipality pays (0..1). Default 50%: typical Dutch facade schemes co-fund about half (assumption)."""
    max_eur_per_parcel: Annotated[float, Field(ge=0.0)] = 25_000.0
    """Cap per grant (EUR). Assumption (facade schemes cap grants at EUR 10,000-50,000)."""
    budget_eur_per_year: Annotated[float, Field(ge=0.0)] = 500_000.0
    """Annual budget of the scheme (EUR); unspent budget lapses. Assumption."""
    eligible_below: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    """Buildings in worse condition than this (0..1) are invited to apply. Assumption."""
    staff_hours_per_grant: Annotated[float, Field(ge=0.0)] = 6.0
    """Municipal staff hours to assess and pay one grant (h). Assumption."""


@register
class FacadeSubsidy(Instrument):
    config_class = FacadeSubsidyConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self.budget_left_eur = 0.0
        self.grants = 0
        self._budget_year = None

    def apply(self, model) -> None:
        year = int(model.year)
        if year != self._budget_year:            # a new budget year: new budget, new call for applications
            self._budget_year = year
            self.budget_left_eur = self.config.budget_eur_per_year
            self._invite(model)

    def _invite(self, model) -> None:
        """Owners of eligible buildings renovate with the grant when they can pay their share."""
        par = model.parcels
        cost_m2 = model.spec.agents.owners.renovation_cost_eur_m2
        eligible = np.flatnonzero((self.area_mask & (par.condition < self.config.eligible_below)).reshape(-1))
        for p in eligible[np.argsort(par.flat("condition")[eligible], kind="stable")].tolist():
            if self.budget_left_eur <= 0.0:
                break
            owner = int(par.flat("owner")[p])
            cost = (1.0 - par.flat("condition")[p]) * cost_m2 * par.flat("floor_m2")[p]
            if not model.municipality.afford(self.name, self._grant_eur(cost),
                                             staff_hours=self.config.staff_hours_per_grant):
                break                            # the municipality's money for the year is gone
            grant = self.maintenance_support(model, p, cost, commit=False)
            if model.owners.cash_eur[owner] < cost - grant:
                continue
            grant = self.maintenance_support(model, p, cost, commit=True)
            model.owners.cash_eur[owner] -= cost - grant
            par.flat("condition")[p] = 1.0

    def maintenance_support(self, model, parcel: int, cost_eur: float, commit: bool) -> float:
        if not self.in_area(parcel):
            return 0.0
        grant = self._grant_eur(cost_eur)
        if grant <= 0.0:
            return 0.0
        if not model.municipality.afford(self.name, grant, staff_hours=self.config.staff_hours_per_grant):
            return 0.0                           # the municipality's money for the year is gone
        if commit:
            self.budget_left_eur -= grant
            self.grants += 1
            model.municipality.spend(self.name, grant)
            model.municipality.staff(self.name, self.config.staff_hours_per_grant)
        return grant

    def _grant_eur(self, cost_eur: float) -> float:
        """The grant for a renovation of ``cost_eur``: the share, capped per parcel and by the budget left."""
        return min(self.config.share * cost_eur, self.config.max_eur_per_parcel, self.budget_left_eur)

    def kpis(self, model) -> dict[str, float]:
        return {**area_kpis(model, self.area_mask), "grants": float(self.grants)}
