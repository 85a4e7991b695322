"""Business accounts: sales, profit, cash, insolvency and lease ends (docs/ODD.md §3, step 4).

``sales_density`` is also what entrants use to judge a vacant unit, so the
revenue an entrant expects is computed by the same code that later pays it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.checks import in_range, same_shape

CLUSTER_RADIUS = 2      # 5×5 window for clustering: a shopping street's neighbours (assumption)
STREET_COND_RADIUS = 1  # 3×3 window for "condition of the street" (assumption)


def sales_density(sector, parcel, land, use, condition, footfall, resident_field, own_attraction,
                  attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement,
                  cluster_strength, footfall_ref, resident_ref):
    """Annual sales per m2 for (sector, parcel) pairs.

    sales = density × (1 − online) × index^elasticity × clustering × street condition,
    with index = (1 − local)·footfall/footfall_ref + local·residents/resident_ref.

    The footfall of a pair is the unit's footfall as it would be with the unit holding the
    pair's sector: the unit's own draw (``own_attraction`` × the use's attraction) is part of
    its footfall, so a vacant unit is judged by the footfall it will have once it opens, not
    by the near-empty footfall of an empty shop front (docs/ODD.md §7.4).

    Args:
        sector, parcel: int arrays of equal length (use code, flat parcel index).
        land, use: (H, W) int8; condition, footfall, resident_field: (H, W) float64.
        own_attraction: (H, W) float64, the footfall a cell adds to itself per unit of its use's
            attraction (``own_attraction_weight``); attraction_by_use: float64 per use code.
        density_eur_m2, online_share, elasticity, local_share: float64 per use code.
        complement: (U, U) float64, effect of a neighbour's use on a sector's sales (−1..1).
        cluster_strength, footfall_ref, resident_ref: scalars (refs > 0).

    Returns:
        float64 array of sales in EUR per m2 per year.
    """
    if footfall_ref <= 0 or resident_ref <= 0:
        raise ValueError("sales_density: reference footfall and residents must be positive")
    sector = np.asarray(sector, np.int64)
    parcel = np.asarray(parcel, np.int64)
    if sector.shape != parcel.shape:
        raise ValueError("sales_density: sector and parcel arrays differ in length")
    same_shape("sales_density", land=land, use=use, condition=condition, footfall=footfall,
               resident_field=resident_field, own_attraction=own_attraction)
    in_range("sales_density", "parcel", parcel, 0, land.size)
    in_range("sales_density", "sector", sector, 0, len(density_eur_m2))
    in_range("sales_density", "use", use, 0, complement.shape[1])
    if len(attraction_by_use) != complement.shape[1]:
        raise ValueError("sales_density: attraction_by_use needs one weight per use code")
    return _sales_density(sector, parcel, land, use, condition, footfall, resident_field,
                          np.asarray(own_attraction, np.float64), np.asarray(attraction_by_use, np.float64),
                          density_eur_m2, online_share,
                          elasticity, local_share, complement, float(cluster_strength),
                          float(footfall_ref), float(resident_ref))


@njit(cache=True)
def _sales_density(sector, parcel, land, use, condition, footfall, resident, own, attraction, density, online,
                   elasticity, local, complement, cluster_strength, ff_ref, res_ref):
    h, w = use.shape
    n = sector.shape[0]
    out = np.empty(n)
    rc = CLUSTER_RADIUS
    rs = STREET_COND_RADIUS
    window = (2 * rc + 1) * (2 * rc + 1) - 1
    for k in range(n):
        s = sector[k]
        i = parcel[k] // w
        j = parcel[k] % w
        # the unit's footfall with its own draw as the sector's (zero change for a tenant's own sector)
        foot = footfall[i, j] + own[i, j] * (attraction[s] - attraction[use[i, j]])
        index = (1.0 - local[s]) * max(foot, 0.0) / ff_ref + local[s] * resident[i, j] / res_ref
        base = density[s] * (1.0 - online[s]) * index ** elasticity[s]
        comp = 0.0
        for a in range(-rc, rc + 1):
            for b in range(-rc, rc + 1):
                ii = i + a
                jj = j + b
                if (a == 0 and b == 0) or ii < 0 or ii >= h or jj < 0 or jj >= w:
                    continue
                if land[ii, jj] == 0:
                    comp += complement[s, use[ii, jj]]
        cluster = 1.0 + cluster_strength * max(-1.0, min(1.0, comp / window))
        csum = 0.0
        ccount = 0
        for a in range(-rs, rs + 1):
            for b in range(-rs, rs + 1):
                ii = i + a
                jj = j + b
                if ii >= 0 and ii < h and jj >= 0 and jj < w and land[ii, jj] == 0:
                    csum += condition[ii, jj]
                    ccount += 1
        street_cond = csum / ccount if ccount > 0 else condition[i, j]
        out[k] = base * cluster * (0.7 + 0.3 * street_cond)
    return out


def business_accounts(alive, is_front, sector, parcel, floor_m2, cash_eur, rent_eur_m2, lease_end_step,
                      productivity, land, use, condition, footfall, resident_field, own_attraction,
                      attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement,
                      cluster_strength, footfall_ref, resident_ref, gross_margin, fixed_cost_eur_m2,
                      steps_per_year, step):
    """One step of every business's accounts: sales, profit, cash, insolvency, lease ends.

    Sales per m2 are those of ``sales_density`` (same inner function) for each live
    business on its parcel, times the business's own productivity (1 = the sector's
    typical business); revenue = sales × productivity × floor / steps_per_year;
    profit = revenue × margin − (rent + fixed costs) × floor / steps_per_year.
    Fronts launder money: their losses are covered, so they never go insolvent.

    Args:
        alive, is_front: bool per business slot; sector: use code per slot; parcel: flat index per slot.
        floor_m2, cash_eur, rent_eur_m2, productivity: float64 per slot; lease_end_step: int per slot.
        land ... resident_ref: the grid state and sector tables, as for ``sales_density``.
        gross_margin, fixed_cost_eur_m2: float64 per use code.

    Returns:
        (revenue_eur, profit_eur, new_cash_eur, insolvent, lease_ends): per slot, this step;
        insolvent and lease_ends are bool; dead slots get zeros, their old cash and False.
    """
    if steps_per_year <= 0:
        raise ValueError("business_accounts: steps_per_year must be positive")
    if footfall_ref <= 0 or resident_ref <= 0:
        raise ValueError("business_accounts: reference footfall and residents must be positive")
    same_shape("business_accounts", alive=alive, is_front=is_front, sector=sector, parcel=parcel,
               floor_m2=floor_m2, cash_eur=cash_eur, rent_eur_m2=rent_eur_m2, lease_end_step=lease_end_step,
               productivity=productivity)
    same_shape("business_accounts", land=land, use=use, condition=condition, footfall=footfall,
               resident_field=resident_field, own_attraction=own_attraction)
    # sector codes and parcels of live businesses are range-checked inside the kernel's single pass
    return _accounts(alive, is_front, sector, parcel, floor_m2, cash_eur, rent_eur_m2, lease_end_step,
                     np.asarray(productivity, np.float64), land, use, condition, footfall, resident_field,
                     np.asarray(own_attraction, np.float64), np.asarray(attraction_by_use, np.float64),
                     density_eur_m2, online_share, elasticity, local_share, complement, float(cluster_strength),
                     float(footfall_ref), float(resident_ref), gross_margin, fixed_cost_eur_m2,
                     float(steps_per_year), int(step))


@njit(cache=True)
def _accounts(alive, front, sector, parcel, floor, cash, rent, lease_end, prod, land, use, condition, footfall,
              resident, own, attraction, density, online, elasticity, local, complement, cluster_strength,
              ff_ref, res_ref, margin, fixed, spy, step):
    n = alive.shape[0]
    n_codes = margin.shape[0]
    n_cells = land.size
    live = np.flatnonzero(alive)
    for k in live:
        if sector[k] < 0 or sector[k] >= n_codes or parcel[k] < 0 or parcel[k] >= n_cells:
            raise ValueError("business_accounts: sector code or parcel out of range")
    sales_live = _sales_density(sector[live], parcel[live], land, use, condition, footfall, resident, own,
                                attraction, density, online, elasticity, local, complement, cluster_strength, ff_ref, res_ref)
    sales_all = np.zeros(n)
    sales_all[live] = sales_live
    revenue = np.empty(n)
    profit = np.empty(n)
    new_cash = np.empty(n)
    insolvent = np.empty(n, np.bool_)
    lease_ends = np.empty(n, np.bool_)
    for k in range(n):
        if not alive[k]:
            revenue[k] = 0.0
            profit[k] = 0.0
            new_cash[k] = cash[k]
            insolvent[k] = False
            lease_ends[k] = False
            continue
        s = sector[k]
        revenue[k] = sales_all[k] * prod[k] * floor[k] / spy
        p = (revenue[k] * margin[s]) - (rent[k] + fixed[s]) * floor[k] / spy
        if front[k] and p < 0.0:
            p = 0.0
        profit[k] = p
        new_cash[k] = cash[k] + p
        insolvent[k] = (not front[k]) and new_cash[k] < 0.0
        lease_ends[k] = lease_end[k] <= step
    return revenue, profit, new_cash, insolvent, lease_ends
