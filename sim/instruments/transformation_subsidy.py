"""Transformation subsidy: the municipality co-funds conversions of shop units to housing.

Mechanics: an owner in the area who weighs converting a long-vacant unit whose
last use is eligible (retail by default, as in the Impulsaanpak Winkelgebieden)
is offered a grant of ``eur_per_m2`` per m2 of commercial floor removed (or
``cost_share`` of the conversion cost), at most ``max_eur_per_parcel`` and never
more than the cost. The grant lowers the net cost in the owner's NPV test and
the equity the owner must bring, so conversions that did not pay or could not
be financed go ahead. The scheme's account managers also approach the owners
of eligible units vacant ``outreach_after_vacant_years`` (earlier than owners
look at conversion by themselves): from that contact on they weigh conversion
with the grant every step. Grants are committed and paid when the conversion
starts, first come first served, until the scheme's budget is spent; an
application the remaining budget cannot cover in full is refused (subsidy
ceiling). Owners convert only where zoning permits housing: with the default
plan on residential streets, on shopping streets only together with a zoning
transformation zone.

Cost: the grants, ``staff_hours_per_grant`` per grant and
``staff_hours_per_contact`` per owner approached.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import COMMERCIAL_NAMES, N_USES, USE_CODE, VACANT

CommercialUse = Literal[COMMERCIAL_NAMES]


class TransformationSubsidyConfig(InstrumentParams):
    kind: Literal["transformation_subsidy"] = "transformation_subsidy"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("grants", "granted_eur", "budget_left_eur",
        "floor_removed_m2", "contacts")
    basis: Literal["per_m2", "cost_share"] = "per_m2"
    """How a grant is sized: EUR per m2 of commercial floor removed, or a share of the conversion cost. Default per m2 (Impulsaanpak Winkelgebieden)."""
    eur_per_m2: Annotated[float, Field(ge=0.0, le=5_000.0)] = 650.0
    """Grant per m2 of commercial floor converted (EUR/m2), basis per_m2. Default 650: assumption, of the order of the Impulsaanpak Winkelgebieden (about EUR 100M of state money over 42 municipalities for ~135,000 m2 of retail to be removed; RVO, results of the Impulsaanpak)."""
    cost_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    """Share of the conversion cost granted (0..1), basis cost_share. Assumption (municipal transformation funds cover a part of the unprofitable top)."""
    max_eur_per_parcel: Annotated[float, Field(ge=0.0)] = 100_000.0
    """Cap per grant (EUR). Assumption."""
    budget_eur: Annotated[float, Field(ge=0.0)] = 2_500_000.0
    """Budget of the whole scheme (EUR), first come first served until spent. Default 2.5M: Impulsaanpak awards were EUR 1-5M per municipality, about 2.9M on average in 2023."""
    eligible_uses: list[CommercialUse] = ["comparison", "independent", "daily"]
    """Last ground-floor uses of the units that qualify (use names). Default retail: the Impulsaanpak subsidises retail floor removed."""
    outreach_after_vacant_years: Annotated[float, Field(ge=0.0, le=10.0)] | None = 1.0
    """Owners of eligible units vacant this long (years) are approached and from then on weigh conversion with the grant, before they would by themselves (null: no outreach). Assumption (area approach of the Impulsaanpak: the municipality works with the owners)."""
    staff_hours_per_contact: Annotated[float, Field(ge=0.0)] = 4.0
    """Staff hours to approach the owner of one vacant unit (h), once per vacancy spell. Assumption."""
    staff_hours_per_grant: Annotated[float, Field(ge=0.0)] = 16.0
    """Staff hours to assess, grant and settle one application (h). Assumption."""


@register
class TransformationSubsidy(Instrument):
    config_class = TransformationSubsidyConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self.budget_left_eur = self.config.budget_eur
        self.grants = 0
        self.granted_eur = 0.0
        self.floor_removed_m2 = 0.0
        self.contacts = 0
        self._contacted: dict[int, int] = {}      # parcel -> vacancy spell (its vacant_since) approached
        self._eligible = np.zeros(N_USES, bool)
        self._eligible[[USE_CODE[u] for u in self.config.eligible_uses]] = True

    def apply(self, model) -> None:
        """Outreach: owners of eligible units vacant long enough weigh conversion with the grant now."""
        if self.config.outreach_after_vacant_years is None or self.budget_left_eur <= 0.0:
            return
        par = model.parcels
        cost_eur_m2 = model.context["construction_cost_eur_m2"]
        for p in self._outreach_units(model).tolist():
            if self.grant_eur(model, p, cost_eur_m2 * par.flat("floor_m2")[p], count_refusal=False) <= 0.0:
                continue                    # nothing to offer (budget left too small for this unit)
            self._contact(model, p)
            model.owner_agents[int(par.flat("owner")[p])].consider_conversion([p])

    def _outreach_units(self, model) -> np.ndarray:
        """Eligible vacant units in the area, vacant from the outreach threshold until owners look
        at conversion by themselves (``conversion_min_vacant_years``), longest vacant first."""
        par = model.parcels
        years = (model.steps - par.flat("vacant_since")) / model.spy
        due = (self.area_mask.reshape(-1) & (par.flat("use") == VACANT) & self._eligible[par.flat("last_use")]
               & (years >= self.config.outreach_after_vacant_years)
               & (years < model.spec.agents.owners.conversion_min_vacant_years))
        units = np.flatnonzero(due)
        return units[np.argsort(-years[units], kind="stable")]

    def _contact(self, model, parcel: int) -> None:
        """Book the first contact with the owner in this vacancy spell."""
        spell = int(model.parcels.flat("vacant_since")[parcel])
        if self._contacted.get(parcel) != spell:
            self._contacted[parcel] = spell
            self.contacts += 1
            model.municipality.staff(self.name, self.config.staff_hours_per_contact)

    def grant_eur(self, model, parcel: int, cost_eur: float, count_refusal: bool = True) -> float:
        """The grant an application for ``parcel`` would get now (0 when it does not qualify, or when
        the municipality's money for the year cannot pay it: a refusal, counted unless ``count_refusal`` is False)."""
        par = model.parcels
        if not self.in_area(parcel) or not self._eligible[par.flat("last_use")[parcel]]:
            return 0.0
        cfg = self.config
        if cfg.basis == "per_m2":
            amount = cfg.eur_per_m2 * float(par.flat("floor_m2")[parcel])
        else:
            amount = cfg.cost_share * cost_eur
        amount = min(amount, cfg.max_eur_per_parcel, cost_eur)
        # subsidy ceiling: an application the remaining budget cannot cover in full is refused
        if not 0.0 < amount <= self.budget_left_eur:
            return 0.0
        if count_refusal:
            ok = model.municipality.afford(self.name, amount, staff_hours=cfg.staff_hours_per_grant)
        else:
            ok = model.municipality.can_afford(amount, staff_hours=cfg.staff_hours_per_grant)
        return amount if ok else 0.0

    def conversion_subsidy(self, model, parcel: int, cost_eur: float, commit: bool) -> float:
        """Answer an owner weighing a conversion (commit=False), or grant and pay as it starts (commit=True)."""
        grant = self.grant_eur(model, parcel, cost_eur)
        if commit and grant > 0.0:
            self.budget_left_eur -= grant
            self.grants += 1
            self.granted_eur += grant
            self.floor_removed_m2 += float(model.parcels.flat("floor_m2")[parcel])
            model.municipality.spend(self.name, grant)
            model.municipality.staff(self.name, self.config.staff_hours_per_grant)
        return grant

    def kpis(self, model) -> dict[str, float]:
        return {**area_kpis(model, self.area_mask), "grants": float(self.grants), "granted_eur": self.granted_eur,
                "budget_left_eur": self.budget_left_eur, "floor_removed_m2": self.floor_removed_m2,
                "contacts": float(self.contacts)}
