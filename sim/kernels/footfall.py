"""Footfall field: attraction of each parcel spread with distance decay (docs/ODD.md §3, step 3)."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.checks import in_range, same_shape


def decay_weights(radius_cells: int, decay_cells: float) -> np.ndarray:
    """(2r+1)² weights exp(-d/L) for Euclidean distance d ≤ r, 0 beyond."""
    r = int(radius_cells)
    di, dj = np.mgrid[-r:r + 1, -r:r + 1]
    d = np.sqrt(di * di + dj * dj)
    return np.where(d <= r, np.exp(-d / decay_cells), 0.0)


def cell_attraction(use, condition, street_class, anchor, dwellings_occupied, bonus,
                    attraction_by_use, street_weight, resident_attraction, visitor_demand):
    """Attraction per cell (numpy; shared by the kernel's twins).

    Visitors come for uses (weighted by condition and street class), for anchors
    and for public-space bonuses; residents add their own, unscaled by visitor demand.
    """
    sw = np.where(street_class >= 0, street_weight[np.maximum(street_class, 0)], 0.0)
    visitor = attraction_by_use[use] * (0.5 + 0.5 * condition) * sw + anchor
    return visitor_demand * visitor * (1.0 + bonus) + resident_attraction * dwellings_occupied


def own_attraction_weight(condition, street_class, bonus, street_weight, visitor_demand, weights):
    """Footfall a cell adds to its own footfall per unit of its use's attraction (numpy).

    The centre tap of ``weights`` times the cell's visitor scaling (condition, street class,
    visitor demand, bonus), as in ``cell_attraction``: changing a cell's use from ``u`` to ``s``
    changes its own footfall by this × (attraction[s] − attraction[u]). Zero on public space.
    """
    r = weights.shape[0] // 2
    sw = np.where(street_class >= 0, np.asarray(street_weight)[np.maximum(street_class, 0)], 0.0)
    return weights[r, r] * visitor_demand * (0.5 + 0.5 * np.asarray(condition)) * sw * (1.0 + np.asarray(bonus))


def footfall_field(use, condition, street_class, anchor, dwellings_occupied, bonus,
                   attraction_by_use, street_weight, resident_attraction, visitor_demand, weights):
    """Footfall and resident fields on the grid.

    Args:
        use, street_class: (H, W) int8 codes (street_class -1 on public space).
        condition, anchor, bonus: (H, W) float64; bonus is a relative attraction uplift (e.g. BIZ).
        dwellings_occupied: (H, W) int32 households per parcel.
        attraction_by_use: float64 per use code; street_weight: float64 per street class.
        resident_attraction, visitor_demand: scalars.
        weights: (2r+1, 2r+1) decay weights from ``decay_weights``.

    Returns:
        (footfall, resident_field), both (H, W) float64.
    """
    if use.ndim != 2 or weights.ndim != 2 or weights.shape[0] != weights.shape[1] or weights.shape[0] % 2 != 1:
        raise ValueError("footfall_field: 2-D grid and odd square weights expected")
    same_shape("footfall_field", use=use, condition=condition, street_class=street_class, anchor=anchor,
               dwellings_occupied=dwellings_occupied, bonus=bonus)
    in_range("footfall_field", "use", use, 0, len(attraction_by_use))
    in_range("footfall_field", "street_class", street_class, -1, len(street_weight))
    return _footfall(use, np.asarray(condition, np.float64), street_class,
                     np.asarray(anchor, np.float64), dwellings_occupied, np.asarray(bonus, np.float64),
                     np.asarray(attraction_by_use, np.float64), np.asarray(street_weight, np.float64),
                     float(resident_attraction), float(visitor_demand), np.asarray(weights, np.float64))


@njit(cache=True)
def _footfall(use, condition, street_class, anchor, dwell, bonus, attr_use, street_w,
              res_attr, visitor_demand, weights):
    h, w = use.shape
    r = weights.shape[0] // 2
    # zero-padded copies: the stencil loop needs no bounds checks and vectorises over j
    attraction = np.zeros((h + 2 * r, w + 2 * r))
    residents = np.zeros((h + 2 * r, w + 2 * r))
    for i in range(h):
        for j in range(w):
            sc = street_class[i, j]
            sw = street_w[sc] if sc >= 0 else 0.0
            visitor = attr_use[use[i, j]] * (0.5 + 0.5 * condition[i, j]) * sw + anchor[i, j]
            d = float(dwell[i, j])
            attraction[i + r, j + r] = visitor_demand * visitor * (1.0 + bonus[i, j]) + res_attr * d
            residents[i + r, j + r] = d
    foot = np.zeros((h, w))
    resid = np.zeros((h, w))
    # row by row, taps in row-major order: every cell sums its taps in the same order as the twins
    for i in range(h):
        for a in range(2 * r + 1):
            for b in range(2 * r + 1):
                wt = weights[a, b]
                if wt == 0.0:
                    continue  # adding 0·x changes nothing: skipping is exact
                for j in range(w):
                    foot[i, j] += wt * attraction[i + a, j + b]
                    resid[i, j] += wt * residents[i + a, j + b]
    return foot, resid
