"""Transformation subsidy: the municipality funds the appraised funding gap of shop-to-housing conversions.

Mechanics (gap funding, as the Dutch schemes do it): an owner in the area who
weighs converting a long-vacant unit whose last use is eligible (retail by
default) applies; the unit is appraised as an independent valuer would, from
market figures, and the grant is at most the *onrendabele top* (funding gap):

    gap   = market value now (current use) + conversion cost - market value as housing
    grant = min(max_share_of_cost * cost, max_eur_per_project, max(0, gap))

(Regeling specifieke uitkering impulsaanpak winkelgebieden, art. 1, defines the
onrendabele top this way, both values set by an independent valuation:
https://zoek.officielebekendmakingen.nl/stcrt-2022-11435-n1.html; Drenthe's
transformatiesubsidie paid owners the onrendabele top of a transformation,
https://www.bro.nl/publicaties/compact-centrum-transformeren-doe-het-zoals-drenthe.)
A conversion whose appraisal shows no gap gets nothing. The grant lowers the
net cost in the owner's NPV test and the equity it must bring. The owner's own
test differs from the appraisal (it discounts holding by its fading belief that
the unit will let), so some grants still go to conversions the owner would have
made without them: these are counted as deadweight.

Per project inside an area (the instrument's ``area`` and budget play the area
plan): the Impulsaanpak funds a municipality's plan for a contiguous area, and
municipalities pass the money to owners' projects per building (Drenthe: Assen's
transformation subsidy, at most EUR 50,000 per case). The scheme's account
managers approach owners of eligible units vacant ``outreach_after_vacant_years``
(before owners look at conversion by themselves): from that contact on they
weigh conversion with the grant every step. Grants are committed and paid when
the conversion starts, first come first served, until the scheme's budget is
spent; an application the remaining budget cannot cover in full is refused
(subsidy ceiling; counted once per unit and vacancy spell). Owners convert only
where zoning permits housing.

Cost: the grants, ``staff_hours_per_grant`` per grant and
``staff_hours_per_contact`` per owner approached.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.agents.owners import conversion_values, market_value_eur
from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import COMMERCIAL_NAMES, N_USES, USE_CODE, VACANT

CommercialUse = Literal[COMMERCIAL_NAMES]


class TransformationSubsidyConfig(InstrumentParams):
    kind: Literal["transformation_subsidy"] = "transformation_subsidy"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("grants", "granted_eur", "budget_left_eur",
        "floor_removed_m2", "contacts", "gap_appraised_eur", "deadweight_grants", "deadweight_eur",
        "deadweight_share", "refused_ceiling", "refused_no_gap")
    max_share_of_cost: Annotated[float, Field(ge=0.0, le=1.0)] = 0.33
    """Co-funding cap: the grant is at most this share of the conversion cost (0..1). Default 0.33: Drenthe's Binnenstadfonds paid at most 33.33% of the eligible costs, the municipality at least as much again (https://www.provincie.drenthe.nl/loket/subsidieloket/alle-subsidies/@125726/binnenstadsfonds/)."""
    max_eur_per_project: Annotated[float, Field(ge=0.0, le=5_000_000.0)] = 50_000.0
    """Cap per grant (EUR). Default 50,000: Assen's transformation subsidy, at most EUR 50,000 per case (https://www.rtvdrenthe.nl/nieuws/152061/Pot-gevelsubsidie-voor-winkels-in-Assen-bijna-leeg); the upper bound is the Impulsaanpak's EUR 5M per project (https://stadszaken.nl/artikel/4280/rijksubsidie-voor-investeringen-winkelgebieden-beschikbaar)."""
    budget_eur: Annotated[float, Field(ge=0.0, le=100_000_000.0)] = 2_500_000.0
    """Budget of the whole scheme (EUR, any state or provincial contribution included), first come first served until spent. Default 2.5M: Impulsaanpak awards were about EUR 2.9M per municipality on average in 2023 (https://www.gemeente.nu/ruimte-milieu/geld-voor-9-gemeenten-om-winkelgebied-aan-te-pakken/); Drenthe gave EUR 0.75-3M per centre (provincie.drenthe.nl, above). Upper bound: the whole national programme, EUR 100M."""
    eligible_uses: list[CommercialUse] = ["comparison", "independent", "daily"]
    """Last ground-floor uses of the units that qualify (use names). Default retail: the Impulsaanpak restructures retail areas and removes retail floor (https://fashionunited.nl/nieuws/retail/laatste-ronde-impuls-winkelgebieden-13-gemeenten-verdelen-in-totaal-22-miljoen-euro/2024121062936)."""
    outreach_after_vacant_years: Annotated[float, Field(ge=0.0, le=10.0)] | None = 1.0
    """Owners of eligible units vacant this long (years) are approached and from then on weigh conversion with the grant, before they would by themselves (null: no outreach). The area approach is the scheme's (the Impulsaanpak requires a plan for a contiguous area with private partners, https://www.rvo.nl/subsidies-financiering/impulsaanpak-winkelgebieden/voorwaarden); the one year is an assumption."""
    staff_hours_per_contact: Annotated[float, Field(ge=0.0, le=200.0)] = 4.0
    """Staff hours to approach the owner of one vacant unit (h), once per vacancy spell. Assumption."""
    staff_hours_per_grant: Annotated[float, Field(ge=0.0, le=1000.0)] = 16.0
    """Staff hours to assess (with the appraisal), grant and settle one application (h). Assumption."""


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
        self.gap_appraised_eur = 0.0         # sum of the appraised gaps of the granted conversions
        self.deadweight_grants = 0
        self.deadweight_eur = 0.0
        self.refused_ceiling = 0
        self.refused_no_gap = 0
        self._contacted: dict[int, int] = {}      # parcel -> vacancy spell (its vacant_since) approached
        self._refused: dict[int, int] = {}        # parcel -> vacancy spell refused at the ceiling
        self._no_gap: dict[int, int] = {}         # parcel -> vacancy spell appraised without a gap
        self._asked: tuple | None = None          # (step, parcel, grant, gap, anyway) of the last application
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
                continue                    # nothing to offer: no appraised gap, or the budget cannot pay it
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

    # -- the appraisal (an independent valuer, market figures) ----------------------------------
    @staticmethod
    def housing_value_eur(model, parcel: int) -> float:
        """Market value of the unit once converted: its new dwellings at today's market rent,
        capitalised at the residential cap rate (the valuation ``Owner.consider_conversion`` uses)."""
        return conversion_values(model, parcel)[1]

    @staticmethod
    def dwellings_value_eur(model, parcel: int) -> float:
        """Market value of the dwellings the parcel already has (upper floors), as the market
        update values them: they are in its value before the conversion and stay after it."""
        par = model.parcels
        oc = model.spec.agents.owners
        rent_year = float(par.flat("dwellings")[parcel]) * float(par.flat("dwelling_rent_eur_month")[parcel]) * 12.0
        return (1.0 - oc.opex_share) * rent_year / oc.residential_cap_rate

    def appraised_gap_eur(self, model, parcel: int, cost_eur: float) -> float:
        """Onrendabele top: market value in the current use (a vacant unit at today's market rent,
        less the void discount: what a buyer pays) plus the conversion cost, minus the market value
        after the conversion. Both values are of the whole parcel, so the dwellings it already has
        count on both sides (they stay). Negative when the conversion pays at market values."""
        after = self.dwellings_value_eur(model, parcel) + self.housing_value_eur(model, parcel)
        return market_value_eur(model, parcel) + cost_eur - after

    def amount_eur(self, model, parcel: int, cost_eur: float) -> tuple[float, float]:
        """(grant before the budget checks, appraised gap) for a conversion of ``parcel`` costing ``cost_eur``."""
        gap = self.appraised_gap_eur(model, parcel, cost_eur)
        cfg = self.config
        return min(cfg.max_share_of_cost * cost_eur, cfg.max_eur_per_project, max(0.0, gap)), gap

    def would_convert_anyway(self, model, parcel: int, cost_eur: float) -> bool:
        """Would the owner make this conversion with no grant? Its own NPV test (the converted value
        minus the cost against holding, discounted by its fading belief that the unit will let) and
        its equity for the loan's complement, as in ``Owner.consider_conversion`` with subsidy 0."""
        hold, converted, _, _ = conversion_values(model, parcel)
        if converted - cost_eur <= hold:
            return False
        return model.owner_agents[int(model.parcels.flat("owner")[parcel])].can_finance(cost_eur)

    # -- applications -------------------------------------------------------------------------
    def grant_eur(self, model, parcel: int, cost_eur: float, count_refusal: bool = True) -> float:
        """The grant an application for ``parcel`` would get now (0 when it does not qualify, shows
        no appraised gap, or the money cannot pay it: refusals counted unless ``count_refusal`` is False)."""
        par = model.parcels
        if not self.in_area(parcel) or not self._eligible[par.flat("last_use")[parcel]]:
            return 0.0
        amount, _ = self.amount_eur(model, parcel, cost_eur)
        spell = int(par.flat("vacant_since")[parcel])
        if amount <= 0.0:                   # no appraised gap (or a zero cap): nothing to fund
            if count_refusal and self._no_gap.get(parcel) != spell:
                self._no_gap[parcel] = spell
                self.refused_no_gap += 1
            return 0.0
        # subsidy ceiling: an application the remaining budget cannot cover in full is refused
        if amount > self.budget_left_eur:
            if count_refusal and self._refused.get(parcel) != spell:
                self._refused[parcel] = spell
                self.refused_ceiling += 1
            return 0.0
        cfg = self.config
        if count_refusal:
            ok = model.municipality.afford(self.name, amount, staff_hours=cfg.staff_hours_per_grant)
        else:
            ok = model.municipality.can_afford(amount, staff_hours=cfg.staff_hours_per_grant)
        return amount if ok else 0.0

    def conversion_subsidy(self, model, parcel: int, cost_eur: float, commit: bool) -> float:
        """Answer an owner weighing a conversion (commit=False), or grant and pay as it starts (commit=True)."""
        if not commit:
            grant = self.grant_eur(model, parcel, cost_eur)
            # judged before the owner's decision moves its cash: would it have converted without us?
            anyway = grant > 0.0 and self.would_convert_anyway(model, parcel, cost_eur)
            gap = self.amount_eur(model, parcel, cost_eur)[1] if grant > 0.0 else 0.0
            self._asked = (model.steps, parcel, grant, gap, anyway)
            return grant
        asked = self._asked
        self._asked = None
        if asked is None or asked[:2] != (model.steps, parcel) or asked[2] <= 0.0:
            return 0.0
        _, _, grant, gap, anyway = asked
        self.budget_left_eur -= grant
        self.grants += 1
        self.granted_eur += grant
        self.gap_appraised_eur += gap
        self.floor_removed_m2 += float(model.parcels.flat("floor_m2")[parcel])
        if anyway:
            self.deadweight_grants += 1
            self.deadweight_eur += grant
        model.municipality.spend(self.name, grant)
        model.municipality.staff(self.name, self.config.staff_hours_per_grant)
        return grant

    def kpis(self, model) -> dict[str, float]:
        return {**area_kpis(model, self.area_mask), "grants": float(self.grants), "granted_eur": self.granted_eur,
                "budget_left_eur": self.budget_left_eur, "floor_removed_m2": self.floor_removed_m2,
                "contacts": float(self.contacts), "gap_appraised_eur": self.gap_appraised_eur,
                "deadweight_grants": float(self.deadweight_grants), "deadweight_eur": self.deadweight_eur,
                "deadweight_share": self.deadweight_eur / self.granted_eur if self.granted_eur > 0 else 0.0,
                "refused_ceiling": float(self.refused_ceiling), "refused_no_gap": float(self.refused_no_gap)}
