"""KPI reductions over the parcel grid (definitions in docs/ODD.md §7.13): one pass, one flat vector out."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.checks import same_shape

from sim.uses import IS_COMMERCIAL, N_STREETS, N_USES, RES_STREET, VACANT


def _layout() -> dict[str, slice]:
    """Positions of each block in the output vector (shared with the twins)."""
    sizes = [("use_count", N_USES), ("use_floor_m2", N_USES), ("units_by_street", N_STREETS),
             ("vacant_by_street", N_STREETS), ("vacant_floor_m2", 1), ("vacant_floor_1y_m2", 1),
             ("vacant_floor_3y_m2", 1), ("unit_floor_m2", 1), ("condition_sum", 1),
             ("condition_poor", 1), ("parcels", 1), ("shopping_parcels", 1), ("footfall_shopping_sum", 1)]
    out, start = {}, 0
    for name, n in sizes:
        out[name] = slice(start, start + n)
        start += n
    return out


KPI_LAYOUT = _layout()
KPI_SIZE = max(s.stop for s in KPI_LAYOUT.values())
POOR_CONDITION = 0.3  # KPI: share of parcels in condition below 0.3 (threshold: assumption)


def kpi_reduce(land, use, street_class, floor_m2, vacant_since, condition, footfall, step, steps_per_year):
    """Sums over parcels from which every grid KPI follows.

    Units are parcels with a commercial use or vacant (Locatus counts outlets plus
    vacant outlets); long-term vacancy counts vacant floor vacant ≥ 1 and ≥ 3 years.
    Footfall is summed over the parcels of shopping streets (A1-C), a fixed set,
    so conversions do not move the index by changing what is averaged.

    Returns:
        float64 vector; ``KPI_LAYOUT`` names its blocks.
    """
    if steps_per_year <= 0:
        raise ValueError("kpi_reduce: steps_per_year must be positive")
    same_shape("kpi_reduce", land=land, use=use, street_class=street_class, floor_m2=floor_m2,
               vacant_since=vacant_since, condition=condition, footfall=footfall)
    # use and street-class codes are range-checked inside the kernel's single pass (cheaper than
    # separate min/max passes; this kernel runs every step)
    return _kpi(land, use, street_class, floor_m2, vacant_since, condition, footfall, int(step),
                int(steps_per_year), IS_COMMERCIAL, KPI_SIZE)


# Offsets of each block, frozen as constants into the kernel.
_UCOUNT = KPI_LAYOUT["use_count"].start
_UFLOOR = KPI_LAYOUT["use_floor_m2"].start
_UNITS = KPI_LAYOUT["units_by_street"].start
_VAC = KPI_LAYOUT["vacant_by_street"].start
_VFLOOR = KPI_LAYOUT["vacant_floor_m2"].start
_V1Y = KPI_LAYOUT["vacant_floor_1y_m2"].start
_V3Y = KPI_LAYOUT["vacant_floor_3y_m2"].start
_UNIT_FLOOR = KPI_LAYOUT["unit_floor_m2"].start
_COND_SUM = KPI_LAYOUT["condition_sum"].start
_COND_POOR = KPI_LAYOUT["condition_poor"].start
_PARCELS = KPI_LAYOUT["parcels"].start
_SHOP = KPI_LAYOUT["shopping_parcels"].start
_FOOT = KPI_LAYOUT["footfall_shopping_sum"].start


@njit(cache=True)
def _kpi(land, use, street, floor, vacant_since, cond, foot, step, spy, is_commercial, size):
    out = np.zeros(size)
    h, w = use.shape
    for i in range(h):
        for j in range(w):
            if land[i, j] != 0:
                continue
            u = use[i, j]
            if u < 0 or u >= N_USES or street[i, j] < 0 or street[i, j] >= N_STREETS:
                raise ValueError("kpi_reduce: use or street_class code out of range on a parcel")
            out[_UCOUNT + u] += 1.0
            out[_UFLOOR + u] += floor[i, j]
            out[_COND_SUM] += cond[i, j]
            if cond[i, j] < POOR_CONDITION:
                out[_COND_POOR] += 1.0
            out[_PARCELS] += 1.0
            if street[i, j] < RES_STREET:
                out[_SHOP] += 1.0
                out[_FOOT] += foot[i, j]
            if u == VACANT or is_commercial[u]:
                out[_UNITS + street[i, j]] += 1.0
                out[_UNIT_FLOOR] += floor[i, j]
            if u == VACANT:
                out[_VAC + street[i, j]] += 1.0
                out[_VFLOOR] += floor[i, j]
                years = (step - vacant_since[i, j]) / spy
                if years >= 1.0:
                    out[_V1Y] += floor[i, j]
                if years >= 3.0:
                    out[_V3Y] += floor[i, j]
    return out
