"""Use-mix rule (branchering): a cap on the share of some sectors among the units of a zone.

In Dutch practice this is a plan rule (bestemmingsplan, now the omgevingsplan)
that the council adopts for a zone, usually first frozen by a
voorbereidingsbesluit: Amsterdam stopped new tourist shops in its centre from
6 October 2017 (https://www.nrc.nl/nieuws/2017/10/05/geen-extra-toeristenwinkels-in-amsterdamse-binnenstad-a1576064),
adopted the plan "Winkeldiversiteit Centrum" in July 2018 and the Raad van
State upheld it in April 2020 (https://www.raadvanstate.nl/uitspraken/@120814/201807155-1-r1/).
The rule bites on new uses only: the about 280 tourist shops already there
stayed (overgangsrecht); a second decision in 2021 took the tourist permission
from 167 premises where it was unused
(https://fashionunited.nl/nieuws/retail/gemeente-amsterdam-heeft-toeristische-bestemming-geschrapt-van-167-panden-in-de-binnenstad/2021122752144).
The plan procedure comes before the rule: the scenario's ``start_year`` is the
year it takes effect.

Mechanics: the rule is published, so while the capped sectors are at the cap
the zone's vacant units are closed to their entrants, who search elsewhere
(hook ``use_permitted``). When an owner is about to let a unit in the area to
a business of a capped sector (hook ``screen_lease``), the municipality decides on the use:
the entry is refused when it would lift the capped sectors' share of the
area's units (vacant plus commercial ground floors) above ``max_share``, so in
particular whenever the share is already at or above it (``max_share`` at
today's share freezes the sector, as Amsterdam did). Businesses already there
stay, renew their leases and may leave; the share falls back below the cap
only through their exits. Other sectors and other areas are not affected (the
refused unit stays open to their bids).

Cost, all staff hours at the municipal hourly rate: ``plan_staff_hours`` once,
in the first active step (the plan change and its defence on appeal);
``enforcement_staff_hours_per_year`` every year (checking the zone's uses
against the plan); ``staff_hours_per_decision`` per decision on a
capped-sector entry in the area (allowed or refused).
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
    plan_staff_hours: Annotated[float, Field(ge=0.0, le=100_000.0)] = 400.0
    """Staff hours, once, for the plan rule: the inventory of the zone's uses, the voorbereidingsbesluit and the plan change, and its defence on appeal (Amsterdam's went to the Raad van State: https://www.raadvanstate.nl/uitspraken/@120814/201807155-1-r1/) (h). Assumption (about a quarter of a staff year)."""
    enforcement_staff_hours_per_year: Annotated[float, Field(ge=0.0, le=100_000.0)] = 40.0
    """Staff hours a year to check the zone's uses against the rule and act on breaches (handhaving: Amsterdam ordered a tourist shop on the Damrak closed, https://www.raadvanstate.nl/uitspraken/@112050/201800734-1-a1/) (h/yr). Assumption."""


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
        self._planned = False

    def apply(self, model) -> None:
        """The plan's one-off cost in the first active step, enforcement at each year's start;
        the rule itself works through ``screen_lease``."""
        if not self._planned:
            self._planned = True
            model.municipality.staff(self.name, self.config.plan_staff_hours)
        if (model.steps - 1) % model.spy == 0:
            model.municipality.staff(self.name, self.config.enforcement_staff_hours_per_year)

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

    def use_permitted(self, model, parcels: np.ndarray, sector: int) -> np.ndarray:
        """The rule is published: while a capped sector is at its cap, the zone's vacant units are
        closed to it and its entrants look elsewhere (no application, no decision)."""
        parcels = np.asarray(parcels, dtype=np.int64)
        if sector not in self._code_set:
            return np.ones(parcels.size, bool)
        n_sector, n_units = self._counts(model)
        if n_sector + 1 <= self.config.max_share * n_units + 1e-9:
            return np.ones(parcels.size, bool)
        return ~self.area_mask.reshape(-1)[parcels]

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
