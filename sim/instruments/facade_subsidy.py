"""Facade subsidy (gevelsubsidie, gevelfonds): a small fund co-funds owners' renovations.

Mechanics, as Dutch municipal facade schemes run: the council sets aside a fund
(``budget_eur``, the subsidieplafond: Weert EUR 300,000 in total) for a
programme of ``programme_years`` years from the scheme's first active year,
spent at most ``budget_eur_per_year`` a year. Owners of buildings in the area
pay the renovation and get ``share`` of its cost back (Dutch schemes: 50%), at
most ``max_eur_per_parcel`` per building over the whole programme (Hilversum
EUR 10,000), first come, first served: the last applicant gets what is left
(Awb art. 4:25(2): refused "voor zover" the ceiling would be exceeded), later
ones are refused (``refused_fund``: buildings refused at least once, counted
once however often their owners apply again; every owner who can pay its
share applies, so this is the demand at full take-up; refusals because the municipality's annual
budget is out are ``<name>_refused_budget``, as for every instrument).

Applications come two ways. Once a year the scheme is advertised to the
owners of buildings in the area whose condition is below ``eligible_below``
(higher than the owners' own renovation threshold); they apply in a keyed
random order (the order of receipt, not of need) and renovate if they can pay
their own share. Renovations that owners start on their own in the area
(hook ``maintenance_support``) apply the same way. A grant to an owner who
could have paid the whole renovation and whose building is below its own
renovation threshold is deadweight (``deadweight_grants``, ``deadweight_eur``):
the renovation would have happened without it.

Cost: the grants, plus ``staff_hours_per_grant`` per grant, from the annual budget.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register


class FacadeSubsidyConfig(InstrumentParams):
    kind: Literal["facade_subsidy"] = "facade_subsidy"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("grants", "refused_fund", "paid_eur", "budget_left_eur",
                                                          "deadweight_grants", "deadweight_eur", "open")
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    """Share of the renovation cost the scheme pays (0..1). Default 50%, as in Weert (https://www.weert.nl/gevelfonds), Hilversum (http://centrumhilversum.nl/gevelherstelfonds/) and Heerlen (https://parkstadactueel.nl/2017/11/24/heerlen-subsidie-opknappen-gevels/)."""
    max_eur_per_parcel: Annotated[float, Field(ge=0.0, le=1_000_000.0)] = 10_000.0
    """Cap per building over the whole programme (EUR). Default EUR 10,000: Hilversum's gevelherstelfonds (http://centrumhilversum.nl/gevelherstelfonds/); Assen EUR 15,000 (https://www.rtvdrenthe.nl/nieuws/152061/Pot-gevelsubsidie-voor-winkels-in-Assen-bijna-leeg), Weert EUR 20,000 (https://middenlimburgactueel.nl/2018/08/16/subsidieaanvragen-gevelfonds-nog-mogelijk/)."""
    budget_eur: Annotated[float, Field(ge=0.0, le=100_000_000.0)] = 300_000.0
    """The fund: total grants over the programme (subsidieplafond, EUR). Default EUR 300,000, Weert's gevelfonds, spent in full by February 2020 (https://www.weert.nl/gevelfonds); Assen EUR 150,000 (rtvdrenthe.nl, above)."""
    budget_eur_per_year: Annotated[float, Field(ge=0.0, le=100_000_000.0)] = 150_000.0
    """Ceiling on the grants of one calendar year (EUR); what is unspent stays in the fund. Default EUR 150,000: Weert's EUR 300,000 went in about two years (https://www.weert.nl/gevelfonds); assumption."""
    programme_years: Annotated[int, Field(ge=1, le=30)] = 3
    """Years the scheme takes applications, from its first active year (yr). Default 3: Hilversum's fund was set up for 2 years (http://centrumhilversum.nl/gevelherstelfonds/), Weert's ran 2018 to early 2020 (https://www.weert.nl/gevelfonds); assumption within that range."""
    eligible_below: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    """Buildings in worse condition than this (0..1) are invited to apply. Assumption."""
    staff_hours_per_grant: Annotated[float, Field(ge=0.0, le=1_000.0)] = 6.0
    """Municipal staff hours to assess, check and pay one grant (h). Assumption."""


@register
class FacadeSubsidy(Instrument):
    config_class = FacadeSubsidyConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self.fund_left_eur = self.config.budget_eur
        self.year_left_eur = 0.0
        self.paid_eur = 0.0
        self.grants = 0
        self.refused_parcel = np.zeros(model.parcels.flat("condition").size, bool)   # refused at least once
        self.deadweight_grants = 0
        self.deadweight_eur = 0.0
        self.granted_eur = np.zeros(model.parcels.flat("condition").size)   # per building, over the programme
        self._first_year = None
        self._budget_year = None

    # -- the programme -----------------------------------------------------------------
    def is_open(self, model) -> bool:
        """The scheme takes applications in its first ``programme_years`` active years, until the
        fund is spent (then it closes, as Weert's did: https://www.weert.nl/gevelfonds)."""
        return (self._first_year is not None and self.fund_left_eur > 0.0
                and int(model.year) < self._first_year + self.config.programme_years)

    def apply(self, model) -> None:
        year = int(model.year)
        if self._first_year is None:
            self._first_year = year
        if year != self._budget_year:            # a new budget year: its ceiling, and the yearly call
            self._budget_year = year
            self.year_left_eur = self.config.budget_eur_per_year
            if self.is_open(model):
                self._invite(model)

    def _money_left_eur(self) -> float:
        return max(min(self.fund_left_eur, self.year_left_eur), 0.0)

    def _grant_eur(self, parcel: int, cost_eur: float) -> float:
        """The grant for a renovation of ``cost_eur``: the share, capped per building and by the money left."""
        room = max(self.config.max_eur_per_parcel - self.granted_eur[parcel], 0.0)
        return min(self.config.share * cost_eur, room, self._money_left_eur())

    def _full_grant_eur(self, parcel: int, cost_eur: float) -> float:
        """The grant the rules give, were the fund not short: what an applicant asks for."""
        return min(self.config.share * cost_eur, max(self.config.max_eur_per_parcel - self.granted_eur[parcel], 0.0))

    def _invite(self, model) -> None:
        """The yearly call: owners of eligible buildings apply in order of receipt (keyed random)
        and renovate with the grant when they can pay their own share."""
        par = model.parcels
        cost_m2 = model.spec.agents.owners.renovation_cost_eur_m2
        eligible = np.flatnonzero((self.area_mask & (par.condition < self.config.eligible_below)).reshape(-1))
        eligible = eligible[self._full_grant_eur_array(par, eligible, cost_m2) > 0.0]
        for p in eligible[model.streams.order(f"instrument.{self.name}.queue", model.clock, eligible)].tolist():
            owner = int(par.flat("owner")[p])
            cost = (1.0 - par.flat("condition")[p]) * cost_m2 * par.flat("floor_m2")[p]
            if model.owners.cash_eur[owner] < cost - self._full_grant_eur(p, cost):
                continue                         # cannot pay its share even with the full grant: no application
            offered = self._grant_eur(p, cost)
            if offered > 0.0 and model.owners.cash_eur[owner] < cost - offered:
                continue                         # the rest of the fund is too little for this owner: it declines
            grant = self._commit(model, p, cost, owner)
            if grant <= 0.0:
                continue                         # refused: the money is out (counted in _commit)
            model.owners.cash_eur[owner] -= cost - grant
            par.flat("condition")[p] = 1.0

    def _full_grant_eur_array(self, par, parcels: np.ndarray, cost_m2: float) -> np.ndarray:
        cost = (1.0 - par.flat("condition")[parcels]) * cost_m2 * par.flat("floor_m2")[parcels]
        return np.minimum(self.config.share * cost,
                          np.maximum(self.config.max_eur_per_parcel - self.granted_eur[parcels], 0.0))

    def _commit(self, model, parcel: int, cost_eur: float, owner: int) -> float:
        """Grant an application (as far as the money goes) or refuse it; book it. Returns the grant."""
        grant = self._grant_eur(parcel, cost_eur)
        if grant <= 0.0:
            self.refused_parcel[parcel] = True   # the fund or the year's ceiling is spent
            return 0.0
        if not model.municipality.afford(self.name, grant, staff_hours=self.config.staff_hours_per_grant):
            return 0.0                           # the municipality's budget is out (counted as <name>_refused_budget)
        # deadweight: the owner could pay it all and would renovate at its own threshold anyway
        par = model.parcels
        if (model.owners.cash_eur[owner] >= cost_eur
                and par.flat("condition")[parcel] < par.flat("maintenance_threshold")[parcel]):
            self.deadweight_grants += 1
            self.deadweight_eur += grant
        self.fund_left_eur -= grant
        self.year_left_eur -= grant
        self.granted_eur[parcel] += grant
        self.paid_eur += grant
        self.grants += 1
        model.municipality.spend(self.name, grant)
        model.municipality.staff(self.name, self.config.staff_hours_per_grant)
        return grant

    # -- hook: renovations the owners start on their own -------------------------------------
    def maintenance_support(self, model, parcel: int, cost_eur: float, commit: bool) -> float:
        if not self.in_area(parcel) or not self.is_open(model) or self._full_grant_eur(parcel, cost_eur) <= 0.0:
            return 0.0
        if not commit:                           # the owner weighs it: what the scheme would pay now
            ok = model.municipality.can_afford(self._grant_eur(parcel, cost_eur),
                                               staff_hours=self.config.staff_hours_per_grant)
            return self._grant_eur(parcel, cost_eur) if ok else 0.0
        return self._commit(model, parcel, cost_eur, int(model.parcels.flat("owner")[parcel]))

    def kpis(self, model) -> dict[str, float]:
        return {**area_kpis(model, self.area_mask), "grants": float(self.grants),
                "refused_fund": float(self.refused_parcel.sum()),
                "paid_eur": self.paid_eur, "budget_left_eur": max(self.fund_left_eur, 0.0),
                "deadweight_grants": float(self.deadweight_grants), "deadweight_eur": self.deadweight_eur,
                "open": float(self.is_open(model))}
