"""Zoning (omgevingsplan): a plan change that sets the uses a zone permits.

Mechanics: from ``start_year`` the municipality runs the procedure of an
omgevingsplan change (uniform public preparation procedure, Awb section 3.4):
preparation of the draft, the draft open for views (ter inzage, 6 weeks, Awb
art. 3:16), adoption by the council and entry into force four weeks after
publication (Omgevingswet art. 16.78). With ``appeal_probability`` an
interested party appeals to the Raad van State (6 weeks to lodge it, Awb art.
6:7); the plan then acts only when the court has ruled, and with
``annulment_probability`` the court annuls it (the plan never acts). Only when
the plan acts are the uses in ``allow`` added to the parcels' ``allowed``
bitmask, the uses in ``forbid`` removed, and with ``leaves_core`` the zone
leaves the core retail area (kernwinkelgebied). Entrants, fronts and
conversions respect ``allowed`` already; existing uses the plan no longer
permits stay (non-conforming use, overgangsrecht) until the tenant leaves.
Conversion permits in the zone take the plan's procedure: regular (8 weeks,
already part of the owners' conversion lag) or extended (6 months: the extra
weeks are added to the lag through ``conversion_extra_steps``).

Planning compensation (nadeelcompensatie, Omgevingswet section 15.1): a rule
that removes planning potential (``forbid``) is direct damage assessed for the
plan itself at its entry into force; the owner bears ``normal_risk_share`` of
the parcel value and gets ``compensation_share`` of the rest, a year later,
from the budget (a legal claim: arrears when the money is short). Unused
potential whose removal was announced at least ``passive_risk_years`` before
the plan acts is not compensated (passive risk acceptance). A plan's new
permitted activities (``allow``) can cause only indirect damage to others,
assessed when each activity is permitted (Omgevingswet art. 15.1 lid 2), net
of the fixed 4% (art. 15.7): the model has no loss of value next to a
conversion, so ``allow`` owes nothing.

Cost: staff hours at each step of the procedure, for an appeal, and per claim,
plus the compensation payouts.
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
# phases of the procedure, in order (``phase`` KPI: their index; 5 = acting, 6 = annulled)
PHASES = ("preparation", "views", "adoption", "publication", "appeal", "in_force", "annulled")


def payable_eur(loss_eur, value_eur, normal_risk_share: float, compensation_share: float):
    """Compensation for a loss of value: the owner bears the normal social risk (a share of the
    value before the change), ``compensation_share`` of the rest is paid (0 below the threshold)."""
    return compensation_share * np.maximum(np.asarray(loss_eur) - normal_risk_share * np.asarray(value_eur), 0.0)


class ZoningConfig(InstrumentParams):
    kind: Literal["zoning"] = "zoning"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("in_force", "phase", "appealed", "annulled",
        "nonconforming_units", "permits", "claims_paid", "claims_refused_foreseeable", "compensation_eur")
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
    preparation_weeks: Annotated[float, Field(ge=0.0, le=260.0)] = 26.0
    """Weeks from the start of the procedure to the published draft (research, participation, consultation of partners). Default 26. Assumption (the law sets no period; ruimtelijkeprocedures.nl/procedure-toelichting/omgevingsplan describes the rounds)."""
    views_weeks: Annotated[float, Field(ge=0.0, le=52.0)] = 6.0
    """Weeks the draft lies open for views (ter inzage, zienswijzen). Default 6 (Awb art. 3:16 lid 1)."""
    adoption_weeks: Annotated[float, Field(ge=0.0, le=104.0)] = 12.0
    """Weeks from the end of the views period to adoption by the council. Default 12. Assumption (the Omgevingswet sets no period; the Wro's was 12 weeks, art. 3.8)."""
    publication_weeks: Annotated[float, Field(ge=0.0, le=26.0)] = 4.0
    """Weeks from publication of the adopted change to its entry into force. Default 4 (Omgevingswet art. 16.78 lid 1)."""
    appeal_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    """Chance that the adopted change is appealed to the Raad van State (0..1). Default 0.3. Assumption (about 1,000 spatial-planning appeals a year reach the Raad van State, recht.nl/nieuws/staatsrecht/184938, against some thousands of plan decisions)."""
    appeal_weeks: Annotated[float, Field(ge=0.0, le=260.0)] = 40.0
    """Weeks from publication to the ruling on an appeal: 6 weeks to lodge it (Awb art. 6:7) plus the court's average 34 weeks (Raad van State, jaarverslag 2024: raadvanstate.nl/jaarverslag2024/bestuursrechter/productie-en-doorlooptijden). Default 40."""
    annulment_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    """Chance that the court annuls an appealed change, which then never acts (0..1). Default 0.2. Assumption (many appeals end in a repair, bestuurlijke lus, rather than an annulment)."""
    compensation_share: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    """Share of the value loss above the normal social risk that is compensated (0..1). Default 1: damage beyond the normal social risk is compensated in full (Omgevingswet art. 15.1, Awb art. 4:126)."""
    normal_risk_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.04
    """Normal social risk the owner bears on the removal of planning potential, as a share of the parcel value before the change (0..1). Default 4%: the Omgevingswet fixes 4% only for indirect damage by loss of value of real estate (art. 15.7 lid 1; saoz.nl, bosselaar.nl); for this direct damage it is judged case by case (Awb art. 4:126, case law 2-5%, bosselaar.nl): using 4% here is an assumption."""
    announced_years_before: Annotated[float, Field(ge=0.0, le=50.0)] = 0.0
    """Years before the procedure starts that the municipality announced the removal in public (an omgevingsvisie, a policy decision). Default 0: no earlier announcement (assumption)."""
    passive_risk_years: Annotated[float, Field(ge=0.0, le=50.0)] = 3.0
    """Years after a public announcement within which an owner should have used a planning potential; an owner who did not is held to have accepted the risk of its removal (passive risk acceptance) and gets nothing for it. Default 3 (case law of the Raad van State on passieve risicoaanvaarding; Awb art. 4:126 lid 2 weighs foreseeability)."""
    payment_lag_years: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    """Years from the plan acting to the compensation payment (application, adviser's report, decision). Assumption."""
    preparation_staff_hours: Annotated[float, Field(ge=0.0)] = 300.0
    """Staff hours to prepare the draft (h), booked when the procedure starts; without the money the start waits. Assumption."""
    views_staff_hours: Annotated[float, Field(ge=0.0)] = 60.0
    """Staff hours to publish the draft and answer the views (h). Assumption."""
    adoption_staff_hours: Annotated[float, Field(ge=0.0)] = 40.0
    """Staff hours for the council's adoption and publication (h). Assumption."""
    appeal_staff_hours: Annotated[float, Field(ge=0.0)] = 80.0
    """Staff hours to defend an appeal (statement of defence, hearing) (h). Assumption."""
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
        self.acted_step = -1            # the step the plan started to act (-1: not yet)
        self.started_step = -1          # the step the procedure started (-1: not yet)
        self.phase = -1                 # index into PHASES (-1: not started)
        self.appealed = False
        self.annulled = False
        self.claims: list[tuple[int, int, float]] = []   # (due step, owner slot, EUR) not yet paid
        self.claims_paid = 0
        self.claims_refused_foreseeable = 0
        self.compensation_eur = 0.0
        self.permits = 0
        cfg = self.config
        self._allow_bits = sum(use_bit(USE_CODE[u]) for u in cfg.allow)
        self._forbid_bits = sum(use_bit(USE_CODE[u]) for u in cfg.forbid)
        weeks = cfg.extended_permit_weeks if cfg.procedure == "extended" else cfg.regular_permit_weeks
        # works start in the step after the permit: a started step of waiting is a whole step
        self._weeks_per_step = WEEKS_PER_YEAR / model.spy
        self._extra_steps = int(np.ceil(max(weeks - BASELINE_PERMIT_WEEKS, 0.0) / self._weeks_per_step - 1e-9))
        self._milestones: dict[str, int] = {}

    def _steps(self, weeks: float) -> int:
        """Steps from the start of the procedure to a milestone ``weeks`` later: a milestone inside a
        step takes effect at the next step's start."""
        return int(np.ceil(weeks / self._weeks_per_step - 1e-9))

    def _plan_milestones(self, model) -> None:
        """The procedure's calendar (steps from its start), the appeal drawn once, keyed by the plan."""
        cfg = self.config
        views = cfg.preparation_weeks
        adoption = views + cfg.views_weeks
        published = adoption + cfg.adoption_weeks
        key = int(np.flatnonzero(self.area_mask.reshape(-1))[:1].sum())    # the zone's first parcel
        u_appeal, u_annul = model.streams.uniforms(f"instrument.{self.name}.appeal", model.clock, key, 2)[0]
        self.appealed = bool(u_appeal < cfg.appeal_probability)
        self._annul = self.appealed and bool(u_annul < cfg.annulment_probability)
        acts = published + (cfg.appeal_weeks if self.appealed else cfg.publication_weeks)
        s = self.started_step
        self._milestones = {"views": s + self._steps(views), "adoption": s + self._steps(adoption),
                            "publication": s + self._steps(published), "acts": s + self._steps(acts)}

    def apply(self, model) -> None:
        """Run the procedure step by step; the plan acts when it is in force (and final if appealed);
        claims are paid when due."""
        self._advance(model)
        self._pay_due_claims(model)

    def _advance(self, model) -> None:
        cfg = self.config
        if self.phase < 0 and not (self._allow_bits or self._forbid_bits or cfg.leaves_core):
            self.phase, self.in_force, self.acted_step = 5, True, model.steps   # an empty change: no procedure
            return
        if self.phase < 0:
            # starting the procedure is discretionary: without the money for its hours it waits
            if not model.municipality.afford(self.name, staff_hours=cfg.preparation_staff_hours):
                return
            model.municipality.staff(self.name, cfg.preparation_staff_hours)
            self.started_step = model.steps
            self.phase = 0
            self._plan_milestones(model)
        ms, k = self._milestones, model.steps
        # a procedure once started is a legal duty: its later hours are booked, not asked
        if self.phase == 0 and k >= ms["views"]:
            self.phase = 1
            model.municipality.staff(self.name, cfg.views_staff_hours)
        if self.phase == 1 and k >= ms["adoption"]:
            self.phase = 2
            model.municipality.staff(self.name, cfg.adoption_staff_hours)
        if self.phase == 2 and k >= ms["publication"]:
            self.phase = 4 if self.appealed else 3
            if self.appealed:
                model.municipality.staff(self.name, cfg.appeal_staff_hours)
        if self.phase in (3, 4) and k >= ms["acts"]:
            if self._annul:
                self.phase, self.annulled = 6, True
            else:
                self.phase = 5
                self._take_effect(model)

    def _take_effect(self, model) -> None:
        """Change the zone's permitted uses; assess the owners' losses against the old plan."""
        self.in_force = True
        self.acted_step = model.steps
        par = model.parcels
        bid_before = model.bid_rents() if self._forbid_bits else None
        use_before = par.flat("use").copy()
        par.allowed[self.area_mask] |= self._allow_bits
        par.allowed[self.area_mask] &= ~self._forbid_bits
        # a use the plan now permits by right needs no permit; one it forbids gets none
        par.permit_uses[self.area_mask] &= ~(self._allow_bits | self._forbid_bits)
        if self.config.leaves_core:
            par.core_area[self.area_mask] = False
        if bid_before is not None:
            self._assess_claims(model, bid_before.reshape(-1), model.bid_rents().reshape(-1), use_before)

    def _foreseen(self, model) -> bool:
        """Was the removal announced long enough before the plan acted for owners to have used it?"""
        cfg = self.config
        years = cfg.announced_years_before + (model.steps - self.started_step) / model.spy
        return cfg.announced_years_before > 0.0 and years >= cfg.passive_risk_years

    def _assess_claims(self, model, bid_before: np.ndarray, bid_after: np.ndarray, use: np.ndarray) -> None:
        """Planschade: the loss of value of each unit whose best permitted uses the change removed.

        The unit's commercial value is its capitalised market rent; the market rent
        is a bid rent among the permitted sectors, so the loss is that value times
        the relative fall of the bid rent. The owner bears ``normal_risk_share`` of
        the parcel value; ``compensation_share`` of the rest is paid. A unit whose
        current use the plan does not forbid lost only unused potential: with a
        timely announcement that is the owner's risk (passive risk acceptance).
        """
        par = model.parcels
        zone = np.flatnonzero(self.area_mask.reshape(-1) & ((use == VACANT) | IS_COMMERCIAL[use]))
        loss_eur = self.loss_eur(model, zone, bid_before[zone], bid_after[zone])
        payable = payable_eur(loss_eur, par.flat("value_eur")[zone], self.config.normal_risk_share,
                              self.config.compensation_share)
        if self._foreseen(model):
            unused = ((self._forbid_bits >> use[zone].astype(np.int64)) & 1) == 0
            self.claims_refused_foreseeable += int(((payable > 0.0) & unused).sum())
            payable = np.where(unused, 0.0, payable)
        due = model.steps + int(round(self.config.payment_lag_years * model.spy))
        for p, eur in zip(zone.tolist(), payable.tolist()):
            if eur > 0.0:
                self.claims.append((due, int(par.flat("owner")[p]), float(eur)))

    @staticmethod
    def loss_eur(model, units: np.ndarray, bid_before: np.ndarray, bid_after: np.ndarray) -> np.ndarray:
        """Loss of commercial value of ``units`` when their bid rent falls from ``bid_before`` to ``bid_after``."""
        par = model.parcels
        oc = model.spec.agents.owners
        drop = np.where(bid_before > 0.0,
                        np.clip(1.0 - bid_after / np.where(bid_before > 0.0, bid_before, 1.0), 0.0, 1.0), 0.0)
        spread = np.asarray(oc.street_cap_rate_spread.as_tuple())[par.flat("street_class")[units]]
        rent_eur = par.flat("market_rent_eur_m2")[units] * par.flat("floor_m2")[units]
        commercial_value_eur = (1.0 - oc.opex_share) * rent_eur / (model.context["cap_rate"] + spread)
        return commercial_value_eur * drop

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
        if not (self.in_force and self.in_area(parcel)):
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
        return {**area_kpis(model, self.area_mask), "in_force": float(self.in_force), "phase": float(self.phase),
                "appealed": float(self.appealed), "annulled": float(self.annulled),
                "nonconforming_units": float(self.nonconforming_units(model)), "permits": float(self.permits),
                "claims_paid": float(self.claims_paid),
                "claims_refused_foreseeable": float(self.claims_refused_foreseeable),
                "compensation_eur": self.compensation_eur}
