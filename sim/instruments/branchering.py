"""Use-mix rule (branchering): a cap on the share of some sectors among the units of a zone.

Mechanics: when an owner is about to let a unit in the area to a business of a
capped sector (hook ``screen_lease``), the municipality decides on the use:
the entry is refused when it would lift the capped sectors' share of the
area's units (vacant plus commercial ground floors) above ``max_share``, so in
particular whenever the share is already at or above the cap. Businesses
already there stay, renew their leases and may leave; the share falls back
below the cap only through their exits. Other sectors and other areas are not
affected (the refused unit stays open to their bids).

Cost: ``staff_hours_per_decision`` per decision on a capped-sector entry in
the area (allowed or refused), at the municipal hourly rate.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import COMMERCIAL_NAMES, IS_COMMERCIAL, USE_CODE, VACANT

SectorName = Literal[COMMERCIAL_NAMES]   # the commercial use classes of sim/uses.py


class BrancheringConfig(InstrumentParams):
    kind: Literal["branchering"] = "branchering"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("share", "sector_units", "units", "decisions", "refusals",
        "entries", "refusals_total")
    sectors: Annotated[list[SectorName], Field(min_length=1)] = ["horeca"]
    """Sectors under the cap (their combined share counts). Default horeca: Dutch use-mix rules target horeca and tourist shops (Amsterdam stopped new tourist shops in its centre in 2017, upheld by the Raad van State in 2020); the model has no tourist-shop class, so horeca as the default is an assumption."""
    max_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    """Cap on the capped sectors' share of the area's units (vacant plus commercial ground floors) (0..1). Default 25% (e.g. horeca ≤ 25% of units): assumption."""
    staff_hours_per_decision: Annotated[float, Field(ge=0.0, le=1_000.0)] = 4.0
    """Staff hours to check one capped-sector entry against the use-mix rule (h). Assumption."""


@register
class Branchering(Instrument):
    config_class = BrancheringConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self._code_set = frozenset(USE_CODE[s] for s in self.config.sectors)
        self._codes = np.array(sorted(self._code_set), dtype=np.int8)
        self._flow_step = -1
        self._flow = Counter()            # this step's decisions, refusals and entries
        self.refusals_total = 0

    def apply(self, model) -> None:
        """Nothing acts at the start of a step: the rule works through ``screen_lease``."""

    def _flows(self, model) -> Counter:
        """The per-step counters, reset when a new step begins."""
        if self._flow_step != model.steps:
            self._flow_step = model.steps
            self._flow = Counter()
        return self._flow

    def _counts(self, model) -> tuple[int, int]:
        """Units of the capped sectors and all units (vacant or commercial) in the area, now."""
        use = model.parcels.use[self.area_mask]
        units = (use == VACANT) | IS_COMMERCIAL[use]
        return int(np.isin(use, self._codes).sum()), int(units.sum())

    def _capped(self, sector: int, parcel: int) -> bool:
        return sector in self._code_set and self.in_area(parcel)

    # ------------------------------------------------------------------ hooks
    def screen_lease(self, model, parcel: int, sector: int, is_front: bool) -> bool:
        """Refuse a capped-sector entry in the area that would lift the share above the cap."""
        if not self._capped(sector, parcel):
            return True
        flow = self._flows(model)
        flow["decisions"] += 1
        model.municipality.staff(self.name, self.config.staff_hours_per_decision)
        n_sector, n_units = self._counts(model)
        # the unit is vacant now: letting it adds one capped unit and leaves the unit count as it is
        if n_sector + 1 > self.config.max_share * n_units + 1e-9:
            flow["refusals"] += 1
            self.refusals_total += 1
            return False
        return True

    def on_let(self, model, parcel: int, business: int, sector: int, is_front: bool) -> None:
        if self._capped(sector, parcel):
            self._flows(model)["entries"] += 1

    # ------------------------------------------------------------------ KPIs
    def kpis(self, model) -> dict[str, float]:
        flow = self._flow if self._flow_step == model.steps else Counter()
        n_sector, n_units = self._counts(model)
        return {
            **area_kpis(model, self.area_mask),
            "share": n_sector / n_units if n_units else 0.0,
            "sector_units": float(n_sector),
            "units": float(n_units),
            "decisions": float(flow["decisions"]),
            "refusals": float(flow["refusals"]),
            "entries": float(flow["entries"]),
            "refusals_total": float(self.refusals_total),
        }
