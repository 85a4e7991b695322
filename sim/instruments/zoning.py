"""Zoning (omgevingsplan): a plan change that sets the uses a zone permits.

Mechanics: in the first step of ``start_year`` the plan change enters into
force in the instrument's area: the uses in ``allow`` are added to the parcels'
``allowed`` bitmask, the uses in ``forbid`` are removed, and with
``leaves_core`` the zone leaves the core retail area (kernwinkelgebied). A
transformation zone is a zone that allows ``residential`` on shopping streets:
owners of long-vacant units may then convert them to housing. Entrants, fronts
and conversions respect ``allowed`` already; existing uses the plan no longer
permits stay (non-conforming use, overgangsrecht) until the tenant leaves.
Conversion permits in the zone take the plan's procedure: regular (8 weeks,
already part of the owners' conversion lag) or extended (6 months: the extra
weeks are added to the lag through ``conversion_extra_steps``). Owners whose
planning potential the change removes (value of the unit under the uses still
permitted below its value under the old plan) are compensated for the loss
above the normal social risk (planschade / nadeelcompensatie), paid a year
later to the owner at the change.

Cost: staff hours to prepare the plan change, the compensation payouts and
staff hours per claim.
"""

from __future__ import annotations

import functools
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.parcels import use_bit
from sim.uses import COMMERCIAL_NAMES, IS_COMMERCIAL, USE_CODE, VACANT

ZonedUse = Literal[COMMERCIAL_NAMES + ("residential",)]   # the uses a plan can permit or forbid
WEEKS_PER_YEAR = 52.0
# The owners' conversion lag (scenario `agents.owners.conversion_lag_quarters`) already
# contains a permit by the regular procedure: 8 weeks (Omgevingswet art. 16.64).
BASELINE_PERMIT_WEEKS = 8.0


class ZoningConfig(InstrumentParams):
    kind: Literal["zoning"] = "zoning"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("in_force", "nonconforming_units", "permits",
        "claims_paid", "compensation_eur")
    allow: list[ZonedUse] = ["residential"]
    """Uses the plan change permits in the zone (use names). Default: housing on the ground floor, i.e. a transformation zone (assumption: the common Dutch plan change for edge streets)."""
    forbid: list[ZonedUse] = []
    """Uses the plan change no longer permits in the zone for new lettings and conversions; existing ones stay (non-conforming use). Default none (assumption)."""
    leaves_core: bool = False
    """The zone leaves the core retail area (kernwinkelgebied): its parcels lose the core flag. Default false (assumption)."""
    procedure: Literal["regular", "extended"] = "regular"
    """Permit procedure for conversions in the zone: regular where the plan permits the new use, extended where it takes a deviation permit (buitenplanse omgevingsplanactiviteit). Default regular (assumption)."""
    regular_permit_weeks: Annotated[float, Field(ge=0.0, le=52.0)] = 8.0
    """Decision period of the regular procedure (weeks). Default 8 (Omgevingswet art. 16.64; extendable once by 6)."""
    extended_permit_weeks: Annotated[float, Field(ge=0.0, le=104.0)] = 26.0
    """Decision period of the extended procedure (weeks). Default 26, six months (Awb section 3.4, Omgevingswet art. 16.65)."""
    compensation_share: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    """Share of the value loss above the normal social risk that is compensated (0..1). Default 1: damage beyond the normal social risk is compensated in full (Omgevingswet art. 15.1)."""
    normal_risk_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.04
    """Normal social risk the owner bears, as a share of the parcel value before the change (0..1). Default 4%: the Omgevingswet's fixed deduction for loss of property value (art. 15.7), applied to all losses here (assumption)."""
    payment_lag_years: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    """Years from the plan change to the compensation payment (claim, advice, decision). Assumption."""
    plan_staff_hours: Annotated[float, Field(ge=0.0)] = 400.0
    """Staff hours to prepare and adopt the plan change (h), booked when it enters into force. Assumption."""
    staff_hours_per_claim: Annotated[float, Field(ge=0.0)] = 24.0
    """Staff hours to assess and settle one compensation claim, incl. the adviser's report (h). Assumption."""

    @model_validator(mode="after")
    def _coherent(self) -> "ZoningConfig":
        both = sorted(set(self.allow) & set(self.forbid))
        if both:
            raise ValueError(f"uses both allowed and forbidden: {both}")
        if self.end_year is not None:
            raise ValueError("a plan change stays in force: leave end_year empty and add a later zoning entry instead")
        return self


@register
class Zoning(Instrument):
    config_class = ZoningConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self.in_force = False
        self.claims: list[tuple[int, int, float]] = []   # (due step, owner slot, EUR) not yet paid
        self.claims_paid = 0
        self.compensation_eur = 0.0
        self.permits = 0
        cfg = self.config
        self._allow_bits = sum(use_bit(USE_CODE[u]) for u in cfg.allow)
        self._forbid_bits = sum(use_bit(USE_CODE[u]) for u in cfg.forbid)
        weeks = cfg.extended_permit_weeks if cfg.procedure == "extended" else cfg.regular_permit_weeks
        # works start in the step after the permit: a started step of waiting is a whole step
        weeks_per_step = WEEKS_PER_YEAR / model.spy
        self._extra_steps = int(np.ceil(max(weeks - BASELINE_PERMIT_WEEKS, 0.0) / weeks_per_step - 1e-9))

    def apply(self, model) -> None:
        """The plan change enters into force in the first active step; claims are paid when due."""
        if not self.in_force:
            self._enter_into_force(model)
        self._pay_due_claims(model)

    def _enter_into_force(self, model) -> None:
        """Change the zone's permitted uses; assess the owners' losses against the old plan. The
        procedure needs its staff hours paid: without the money it waits for the next step."""
        if not model.municipality.afford(self.name, staff_hours=self.config.plan_staff_hours):
            return
        self.in_force = True
        if not (self._allow_bits or self._forbid_bits or self.config.leaves_core):
            return                                    # an empty plan change is no plan change
        par = model.parcels
        bid_before = model.bid_rents() if self._forbid_bits else None
        par.allowed[self.area_mask] |= self._allow_bits
        par.allowed[self.area_mask] &= ~self._forbid_bits
        if self.config.leaves_core:
            par.core_area[self.area_mask] = False
        model.municipality.staff(self.name, self.config.plan_staff_hours)
        if bid_before is not None:
            self._assess_claims(model, bid_before, model.bid_rents())

    def _assess_claims(self, model, bid_before: np.ndarray, bid_after: np.ndarray) -> None:
        """Planschade: the loss of value of each unit whose best permitted uses the change removed.

        The unit's commercial value is its capitalised market rent; the market rent
        is a bid rent among the permitted sectors, so the loss is that value times
        the relative fall of the bid rent. The owner bears ``normal_risk_share`` of
        the parcel value; ``compensation_share`` of the rest is paid.
        """
        par = model.parcels
        oc = model.spec.agents.owners
        use = par.flat("use")
        zone = np.flatnonzero(self.area_mask.reshape(-1) & ((use == VACANT) | IS_COMMERCIAL[use]))
        before = bid_before.reshape(-1)[zone]
        after = bid_after.reshape(-1)[zone]
        drop = np.where(before > 0.0, np.clip(1.0 - after / np.where(before > 0.0, before, 1.0), 0.0, 1.0), 0.0)
        spread = np.asarray(oc.street_cap_rate_spread.as_tuple())[par.flat("street_class")[zone]]
        rent_eur = par.flat("market_rent_eur_m2")[zone] * par.flat("floor_m2")[zone]
        commercial_value_eur = (1.0 - oc.opex_share) * rent_eur / (model.context["cap_rate"] + spread)
        loss_eur = commercial_value_eur * drop
        payable_eur = self.config.compensation_share * np.maximum(
            loss_eur - self.config.normal_risk_share * par.flat("value_eur")[zone], 0.0)
        due = model.steps + int(round(self.config.payment_lag_years * model.spy))
        for p, eur in zip(zone.tolist(), payable_eur.tolist()):
            if eur > 0.0:
                self.claims.append((due, int(par.flat("owner")[p]), float(eur)))

    def _pay_due_claims(self, model) -> None:
        """Pay the claims that are due to the owners at the change (a sale does not move the claim)."""
        due = [c for c in self.claims if c[0] <= model.steps]
        if not due:
            return
        self.claims = [c for c in self.claims if c[0] > model.steps]
        for _, owner, eur in due:
            # a legal claim: paid as far as the budget goes, the rest waits as arrears and reaches the
            # owner when it is paid
            model.municipality.spend(self.name, eur, payee=functools.partial(self._credit, model, owner))
            model.municipality.staff(self.name, self.config.staff_hours_per_claim)
            self.claims_paid += 1

    def _credit(self, model, owner: int, eur: float) -> None:
        model.owners.cash_eur[owner] += eur
        self.compensation_eur += eur

    def conversion_extra_steps(self, model, parcel: int) -> int:
        """Permit lag beyond the regular procedure for a conversion that starts in the zone."""
        if not self.in_area(parcel):
            return 0
        self.permits += 1          # asked exactly once per conversion that starts: the permit is granted
        return self._extra_steps

    def nonconforming_units(self, model) -> int:
        """Occupied units in the zone whose use the plan no longer permits (they may stay)."""
        par = model.parcels
        use = par.use[self.area_mask]
        occupied = IS_COMMERCIAL[use]
        permitted = (par.allowed[self.area_mask] >> use.astype(np.int32)) & 1 == 1
        return int((occupied & ~permitted).sum())

    def kpis(self, model) -> dict[str, float]:
        return {**area_kpis(model, self.area_mask), "in_force": float(self.in_force),
                "nonconforming_units": float(self.nonconforming_units(model)), "permits": float(self.permits),
                "claims_paid": float(self.claims_paid), "compensation_eur": self.compensation_eur}
