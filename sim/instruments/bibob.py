"""Bibob integrity screening (Wet Bibob): a permit duty for risk sectors in an area.

Mechanics: every lease an owner is about to accept for a business of a risk
sector (default: the front sectors of ``sim.uses.FRONT_SECTORS``) on a parcel
in the area is screened (hook ``screen_lease``) while the year's screening
capacity lasts. A criminal front is detected with ``detection_probability``:
its lease is refused and it counts as a detected front. An honest applicant is
wrongly flagged with ``false_positive_probability``: its lease is refused this
step (a false positive; the unit waits for the next bidder). Once the year's
capacity is used up, leases pass unscreened. Each step the municipality also
checks its share of ``checks_per_year`` existing risk-sector businesses in the
area, within the same capacity; signals (police, RIEC) make a front
``check_signal_ratio`` times as likely to be picked as an honest business; a
detected front is closed (``Business.screened_out``).

Cost: ``staff_hours_per_screening`` per lease screening and
``staff_hours_per_check`` per check, at the municipal hourly rate.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import COMMERCIAL_NAMES, FRONT_SECTORS, USE_CODE

SectorName = Literal[COMMERCIAL_NAMES]   # the commercial use classes of sim/uses.py


class BibobConfig(InstrumentParams):
    kind: Literal["bibob"] = "bibob"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("lease_screenings", "checks", "screenings",
        "capacity_left", "fronts_refused_total", "fronts_closed_total", "fronts_missed_total",
        "false_positives_total", "unscreened_total", "area_fronts_active")
    sectors: Annotated[list[SectorName], Field(min_length=1)] = list(FRONT_SECTORS)
    """Risk sectors whose new leases in the area need a screened permit. Default: the front sectors of `sim.uses.FRONT_SECTORS` (services, independent, daily: barbershops, nail salons, phone and mini-market shops: the risk sectors named in Dutch anti-undermining practice; their mapping onto the model's sectors is an assumption). List every sector for an area-wide permit duty."""
    screenings_per_year: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = 60.0
    """Screening capacity (lease screenings plus checks per calendar year); unused capacity lapses. Null: the municipality's `screenings_per_year`. Default 60: assumption for a midsize city (a few FTE of Bibob officers; about 1.5 times the risk-sector lettings of the baseline city)."""
    detection_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    """Chance that a screening (at a lease or a check) finds a criminal front (0..1). Assumption (Bibob finds a 'serious risk' in a minority of cases; we assume most fronts that apply leave traces in the registers consulted)."""
    false_positive_probability: Annotated[float, Field(ge=0.0, le=0.2)] = 0.02
    """Chance that an honest lease applicant is wrongly flagged and refused this step (0..1). Assumption."""
    checks_per_year: Annotated[float, Field(ge=0.0, le=10_000.0)] = 20.0
    """Checks of existing risk-sector businesses in the area per year, spread evenly over the steps, within capacity. Assumption."""
    check_signal_ratio: Annotated[float, Field(ge=1.0, le=100.0)] = 5.0
    """How many times more likely a front is picked for a check than an honest business (signals from police and RIEC); 1 = random checks. Assumption."""
    staff_hours_per_screening: Annotated[float, Field(ge=0.0, le=1_000.0)] = 8.0
    """Staff hours per lease screening (questionnaire, register checks, advice) (h). Assumption."""
    staff_hours_per_check: Annotated[float, Field(ge=0.0, le=1_000.0)] = 12.0
    """Staff hours per check of an existing business (file work plus a site visit) (h). Assumption."""


@register
class Bibob(Instrument):
    config_class = BibobConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self._sector_codes = frozenset(USE_CODE[s] for s in self.config.sectors)
        self.capacity_left = 0.0
        self._year = None
        self._flow_step = -1
        self._flow = Counter()            # this step's screenings and checks
        self.totals = Counter()           # cumulative outcomes since the start

    # ------------------------------------------------------------------ every step
    def apply(self, model) -> None:
        self._new_year(model)
        self._periodic_checks(model)

    def _new_year(self, model) -> None:
        """A new calendar year: fresh screening capacity (unused capacity lapses)."""
        year = int(model.year)
        if year != self._year:
            self._year = year
            cap = self.config.screenings_per_year
            self.capacity_left = float(model.municipality.screenings_per_year if cap is None else cap)

    def _flows(self, model) -> Counter:
        """The per-step counters, reset when a new step begins."""
        if self._flow_step != model.steps:
            self._flow_step = model.steps
            self._flow = Counter()
        return self._flow

    def _use_capacity(self, model, what: str, hours: float) -> None:
        self.capacity_left -= 1.0
        self._flows(model)[what] += 1
        model.municipality.staff(self.name, hours)

    # ------------------------------------------------------------------ intake screening
    def screen_lease(self, model, parcel: int, sector: int, is_front: bool) -> bool:
        """Screen the lease if it needs a permit and capacity is left; False refuses it."""
        if sector not in self._sector_codes or not self.in_area(parcel):
            return True
        self._new_year(model)
        if self.capacity_left < 1.0 or not model.municipality.afford(
                self.name, staff_hours=self.config.staff_hours_per_screening):
            self.totals["unscreened"] += 1       # capacity or money used up: the lease passes unscreened
            return True
        self._use_capacity(model, "lease_screenings", self.config.staff_hours_per_screening)
        u = model.streams.uniform(f"instrument.{self.name}.screening", model.clock, parcel)   # keyed by the unit
        if is_front:
            if u < self.config.detection_probability:
                self.totals["fronts_refused"] += 1
                model.events["fronts_detected"] += 1   # counted by the core KPI fronts_detected
                return False
            self.totals["fronts_missed"] += 1
            return True
        if u < self.config.false_positive_probability:
            self.totals["false_positives"] += 1  # an honest tenant delayed: refused this step
            return False
        return True

    # ------------------------------------------------------------------ checks of existing businesses
    def _checks_due(self, model) -> int:
        """This step's share of the annual checks (integer, exact over a year), within capacity."""
        q = (model.steps - 1) % model.spy
        per_year = self.config.checks_per_year
        due = int(np.floor(per_year * (q + 1) / model.spy) - np.floor(per_year * q / model.spy))
        return min(due, int(self.capacity_left))

    def _periodic_checks(self, model) -> None:
        """Check existing risk-sector businesses in the area; close the fronts found."""
        n = self._checks_due(model)
        if n <= 0:
            return
        b = model.businesses
        in_scope = b.alive & np.isin(b.sector, list(self._sector_codes)) & self.area_mask.reshape(-1)[b.parcel]
        slots = np.flatnonzero(in_scope)
        if slots.size == 0:
            return
        # intelligence-led selection: signals point at fronts more often than at honest firms
        weight = np.where(b.is_front[slots], self.config.check_signal_ratio, 1.0)
        where = b.parcel[slots]        # businesses are keyed by their parcel (sim/streams.py)
        picked = slots[model.streams.weighted_sample(f"instrument.{self.name}.check_selection", model.clock, where,
                                                     weight, n)]
        found = (model.streams.uniform(f"instrument.{self.name}.check", model.clock, b.parcel[picked])
                 < self.config.detection_probability)
        for slot, hit in zip(picked.tolist(), found.tolist()):
            if not model.municipality.afford(self.name, staff_hours=self.config.staff_hours_per_check):
                break                            # the year's money is gone: the other checks wait
            self._use_capacity(model, "checks", self.config.staff_hours_per_check)
            if hit and b.is_front[slot]:
                self.totals["fronts_closed"] += 1
                model.business_agents[slot].screened_out()   # counts as a detected front

    # ------------------------------------------------------------------ KPIs
    def kpis(self, model) -> dict[str, float]:
        flow = self._flow if self._flow_step == model.steps else Counter()
        b = model.businesses
        fronts_in_area = b.alive & b.is_front & self.area_mask.reshape(-1)[b.parcel]
        return {
            **area_kpis(model, self.area_mask),
            "lease_screenings": float(flow["lease_screenings"]),
            "checks": float(flow["checks"]),
            "screenings": float(flow["lease_screenings"] + flow["checks"]),
            "capacity_left": float(self.capacity_left),
            "fronts_refused_total": float(self.totals["fronts_refused"]),
            "fronts_closed_total": float(self.totals["fronts_closed"]),
            "fronts_missed_total": float(self.totals["fronts_missed"]),
            "false_positives_total": float(self.totals["false_positives"]),
            "unscreened_total": float(self.totals["unscreened"]),
            "area_fronts_active": float(fronts_in_area.sum()),
        }
