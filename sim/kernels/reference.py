"""Slow twins of the numba kernels: the test oracles and the ``bench/`` baseline.

Every kernel has two twins with its exact signature and return types:

* ``*_numpy``: vectorised numpy; the moving windows are sums of shifted slices
  of a padded grid (how one would write the model without numba);
* ``*_python``: plain Python, one cell (or one item) at a time on nested lists,
  the most literal reading of the equations.

They are written from the model's equations, not by copying the kernels' loops,
so an indexing slip in a kernel shows up as a difference. With the kernels they
share only constants (window radii, the parameter layout ``P`` read by name, the
KPI layout, the use tables) and, for the numpy footfall twin, ``cell_attraction``,
which the kernel itself does not use. They do not validate their inputs: call
them with what the public kernel accepts. Sums run in the kernels' order where
that is natural, so most results agree to the last bit; the rest differ by a few
ulp (numpy's ``power`` and pairwise ``sum``, ``math.fsum``); tests use rtol 1e-12.
"""

from __future__ import annotations

import math

import numpy as np

from sim.kernels.accounts import CLUSTER_RADIUS, STREET_COND_RADIUS
from sim.kernels.footfall import cell_attraction
from sim.kernels.kpis import KPI_LAYOUT, KPI_SIZE, POOR_CONDITION
from sim.kernels.market import P, RENT_VACANCY_RADIUS, SPILLOVER_RADIUS
from sim.uses import CONVERSION, IS_COMMERCIAL, N_STREETS, N_USES, RES_STREET, VACANT

MARKET_OUTPUTS = ("market_rent_eur_m2", "value_eur", "condition", "use", "dwellings",
                  "dwelling_rent_eur_month", "completed")
# Cap-rate spread per street class, in STREET_CLASSES order (A1, A2, B, C, residential).
SPREAD_NAMES = ("spread_A1", "spread_A2", "spread_B", "spread_C", "spread_res")
assert len(SPREAD_NAMES) == N_STREETS


# ====================================================================== numpy helpers
def _offsets(r: int, centre: bool = True):
    """Window offsets (a, b), row by row, optionally without (0, 0)."""
    return [(a, b) for a in range(-r, r + 1) for b in range(-r, r + 1) if centre or (a, b) != (0, 0)]


def _shifted(padded: np.ndarray, r: int, a: int, b: int, shape: tuple[int, int]) -> np.ndarray:
    """View of ``padded`` (grid padded by r on each side) holding grid[i + a, j + b] at (i, j)."""
    h, w = shape
    return padded[r + a: r + a + h, r + b: r + b + w]


def _window_sum(x: np.ndarray, r: int, centre: bool = True) -> np.ndarray:
    """Sum of x over the (2r+1)² window of every cell; cells beyond the edge count as 0."""
    pad = np.pad(x, r)
    out = np.zeros(x.shape, dtype=np.result_type(x.dtype, np.int64))
    for a, b in _offsets(r, centre):
        out += _shifted(pad, r, a, b, x.shape)
    return out


# ====================================================================== footfall
def footfall_field_numpy(use, condition, street_class, anchor, dwellings_occupied, bonus,
                         attraction_by_use, street_weight, resident_attraction, visitor_demand, weights):
    """numpy twin of ``footfall_field`` (test oracle, bench baseline): weighted shifted-slice sums."""
    attraction = cell_attraction(np.asarray(use), np.asarray(condition, np.float64), np.asarray(street_class),
                                 np.asarray(anchor, np.float64), np.asarray(dwellings_occupied, np.float64),
                                 np.asarray(bonus, np.float64), np.asarray(attraction_by_use, np.float64),
                                 np.asarray(street_weight, np.float64), float(resident_attraction),
                                 float(visitor_demand))
    dwell = np.asarray(dwellings_occupied, np.float64)
    weights = np.asarray(weights, np.float64)
    r = weights.shape[0] // 2
    pad_attr, pad_dwell = np.pad(attraction, r), np.pad(dwell, r)
    foot = np.zeros(attraction.shape)
    resid = np.zeros(attraction.shape)
    for a, b in _offsets(r):
        wt = weights[a + r, b + r]
        foot += wt * _shifted(pad_attr, r, a, b, foot.shape)
        resid += wt * _shifted(pad_dwell, r, a, b, foot.shape)
    return foot, resid


def footfall_field_python(use, condition, street_class, anchor, dwellings_occupied, bonus,
                          attraction_by_use, street_weight, resident_attraction, visitor_demand, weights):
    """Per-cell plain-Python twin of ``footfall_field`` (test oracle, bench baseline)."""
    use_l, sc_l = np.asarray(use).tolist(), np.asarray(street_class).tolist()
    cond_l = np.asarray(condition, float).tolist()
    anchor_l, bonus_l = np.asarray(anchor, float).tolist(), np.asarray(bonus, float).tolist()
    dwell_l = np.asarray(dwellings_occupied, float).tolist()
    attr_use, street_w = np.asarray(attraction_by_use, float).tolist(), np.asarray(street_weight, float).tolist()
    wts = np.asarray(weights, float).tolist()
    res_attr, demand = float(resident_attraction), float(visitor_demand)
    h, w = len(use_l), len(use_l[0])
    r = len(wts) // 2

    attraction = [[0.0] * w for _ in range(h)]
    for i in range(h):
        for j in range(w):
            sc = sc_l[i][j]
            street_factor = street_w[sc] if sc >= 0 else 0.0   # public space fronts no street
            visitor = attr_use[use_l[i][j]] * (0.5 + 0.5 * cond_l[i][j]) * street_factor + anchor_l[i][j]
            attraction[i][j] = demand * visitor * (1.0 + bonus_l[i][j]) + res_attr * dwell_l[i][j]

    foot = np.zeros((h, w))
    resid = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            f = rf = 0.0
            for ii in range(max(0, i - r), min(h, i + r + 1)):
                for jj in range(max(0, j - r), min(w, j + r + 1)):
                    wt = wts[ii - i + r][jj - j + r]
                    f += wt * attraction[ii][jj]
                    rf += wt * dwell_l[ii][jj]
            foot[i, j] = f
            resid[i, j] = rf
    return foot, resid


# ====================================================================== sales density
def sales_density_numpy(sector, parcel, land, use, condition, footfall, resident_field, own_attraction,
                        attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement,
                        cluster_strength, footfall_ref, resident_ref):
    """numpy twin of ``sales_density`` (test oracle, bench baseline).

    Neighbourhood terms are computed on the whole grid with shifted slices (the
    complement sum once per sector present) and then read at each item's parcel.
    """
    sector = np.asarray(sector, np.int64)
    parcel = np.asarray(parcel, np.int64)
    land, use = np.asarray(land), np.asarray(use, np.int64)
    condition = np.asarray(condition, np.float64)
    complement = np.asarray(complement, np.float64)
    h, w = use.shape
    i, j = parcel // w, parcel % w
    is_parcel = land == 0

    local = np.asarray(local_share)[sector]
    attraction = np.asarray(attraction_by_use, np.float64)
    # the unit's footfall with its own draw as the pair's sector's
    foot = np.asarray(footfall)[i, j] + np.asarray(own_attraction)[i, j] * (attraction[sector] - attraction[use[i, j]])
    index = ((1.0 - local) * np.maximum(foot, 0.0) / footfall_ref
             + local * np.asarray(resident_field)[i, j] / resident_ref)
    base = (np.asarray(density_eur_m2)[sector] * (1.0 - np.asarray(online_share)[sector])
            * np.power(index, np.asarray(elasticity)[sector]))

    # clustering: mean complement of the neighbouring parcels' uses over the window minus the centre
    rc = CLUSTER_RADIUS
    window = (2 * rc + 1) ** 2 - 1
    pad_use, pad_parcel = np.pad(use, rc), np.pad(is_parcel, rc)
    comp = np.zeros(sector.shape)
    for s in np.unique(sector):
        grid = np.zeros((h, w))
        for a, b in _offsets(rc, centre=False):
            neighbour = _shifted(pad_use, rc, a, b, (h, w))
            grid += np.where(_shifted(pad_parcel, rc, a, b, (h, w)), complement[s, neighbour], 0.0)
        mine = sector == s
        comp[mine] = grid[i[mine], j[mine]]
    cluster = 1.0 + cluster_strength * np.clip(comp / window, -1.0, 1.0)

    # street condition: mean condition of the parcels in the 3×3 window, own condition if none
    rs = STREET_COND_RADIUS
    csum = _window_sum(np.where(is_parcel, condition, 0.0), rs)[i, j]
    ccount = _window_sum(is_parcel.astype(np.int64), rs)[i, j]
    street_cond = np.where(ccount > 0, csum / np.maximum(ccount, 1), condition[i, j])
    return base * cluster * (0.7 + 0.3 * street_cond)


def sales_density_python(sector, parcel, land, use, condition, footfall, resident_field, own_attraction,
                         attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement,
                         cluster_strength, footfall_ref, resident_ref):
    """Per-item plain-Python twin of ``sales_density`` (test oracle, bench baseline)."""
    land_l, use_l = np.asarray(land).tolist(), np.asarray(use).tolist()
    cond_l, foot_l = np.asarray(condition, float).tolist(), np.asarray(footfall, float).tolist()
    res_l = np.asarray(resident_field, float).tolist()
    own_l, attr_l = np.asarray(own_attraction, float).tolist(), np.asarray(attraction_by_use, float).tolist()
    dens, onl = np.asarray(density_eur_m2, float).tolist(), np.asarray(online_share, float).tolist()
    elas, loc = np.asarray(elasticity, float).tolist(), np.asarray(local_share, float).tolist()
    comp_m = np.asarray(complement, float).tolist()
    h, w = len(use_l), len(use_l[0])
    rc, rs = CLUSTER_RADIUS, STREET_COND_RADIUS
    n_neighbours = (2 * rc + 1) ** 2 - 1

    def parcels_near(i, j, r):
        """Parcel cells (ii, jj) in the window of radius r around (i, j), row by row."""
        return [(ii, jj) for ii in range(max(0, i - r), min(h, i + r + 1))
                for jj in range(max(0, j - r), min(w, j + r + 1)) if land_l[ii][jj] == 0]

    out = []
    for s, p in zip(np.asarray(sector).tolist(), np.asarray(parcel).tolist()):
        i, j = divmod(p, w)
        foot = foot_l[i][j] + own_l[i][j] * (attr_l[s] - attr_l[use_l[i][j]])
        index = (1.0 - loc[s]) * max(foot, 0.0) / footfall_ref + loc[s] * res_l[i][j] / resident_ref
        base = dens[s] * (1.0 - onl[s]) * index ** elas[s]
        comp = 0.0
        for ii, jj in parcels_near(i, j, rc):
            if (ii, jj) != (i, j):
                comp += comp_m[s][use_l[ii][jj]]
        cluster = 1.0 + cluster_strength * max(-1.0, min(1.0, comp / n_neighbours))
        street = [cond_l[ii][jj] for ii, jj in parcels_near(i, j, rs)]
        street_cond = math.fsum(street) / len(street) if street else cond_l[i][j]
        out.append(base * cluster * (0.7 + 0.3 * street_cond))
    return np.array(out, dtype=np.float64)


# ====================================================================== business accounts
def business_accounts_numpy(alive, is_front, sector, parcel, floor_m2, cash_eur, rent_eur_m2, lease_end_step,
                            productivity, land, use, condition, footfall, resident_field, own_attraction,
                            attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement,
                            cluster_strength, footfall_ref, resident_ref, gross_margin, fixed_cost_eur_m2,
                            steps_per_year, step):
    """numpy twin of ``business_accounts`` (test oracle, bench baseline): sales from the numpy
    sales twin for the live businesses, then the accounts as array arithmetic."""
    alive = np.asarray(alive, np.bool_)
    live = np.flatnonzero(alive)
    sales_eur_m2 = np.zeros(alive.size)
    sales_eur_m2[live] = sales_density_numpy(
        np.asarray(sector)[live], np.asarray(parcel)[live], land, use, condition, footfall, resident_field,
        own_attraction, attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement, cluster_strength,
        footfall_ref, resident_ref)
    front = np.asarray(is_front, np.bool_)
    s = np.where(alive, np.asarray(sector, np.int64), 0)   # dead slots may hold any code
    floor, cash = np.asarray(floor_m2, np.float64), np.asarray(cash_eur, np.float64)
    spy = float(steps_per_year)
    revenue = np.where(alive, np.asarray(sales_eur_m2, np.float64) * np.asarray(productivity, np.float64) * floor / spy, 0.0)
    profit = (revenue * np.asarray(gross_margin)[s]
              - (np.asarray(rent_eur_m2) + np.asarray(fixed_cost_eur_m2)[s]) * floor / spy)
    profit = np.where(front, np.maximum(profit, 0.0), profit)   # fronts' losses are covered
    profit = np.where(alive, profit, 0.0)
    new_cash = np.where(alive, cash + profit, cash)
    insolvent = alive & ~front & (new_cash < 0.0)
    lease_ends = alive & (np.asarray(lease_end_step, np.int64) <= int(step))
    return revenue, profit, new_cash, insolvent, lease_ends


def business_accounts_python(alive, is_front, sector, parcel, floor_m2, cash_eur, rent_eur_m2, lease_end_step,
                             productivity, land, use, condition, footfall, resident_field, own_attraction,
                             attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement,
                             cluster_strength, footfall_ref, resident_ref, gross_margin, fixed_cost_eur_m2,
                             steps_per_year, step):
    """Per-business plain-Python twin of ``business_accounts`` (test oracle, bench baseline):
    sales from the per-pair Python sales twin for the live businesses, then a loop."""
    live = [k for k, a in enumerate(np.asarray(alive, bool).tolist()) if a]
    sales_live = sales_density_python(
        np.asarray(sector)[live], np.asarray(parcel)[live], land, use, condition, footfall, resident_field,
        own_attraction, attraction_by_use, density_eur_m2, online_share, elasticity, local_share, complement, cluster_strength,
        footfall_ref, resident_ref).tolist()
    sales_eur_m2 = [0.0] * len(np.asarray(alive))
    for k, v in zip(live, sales_live):
        sales_eur_m2[k] = v
    margin = np.asarray(gross_margin, float).tolist()
    fixed = np.asarray(fixed_cost_eur_m2, float).tolist()
    spy = float(steps_per_year)
    rows = zip(np.asarray(alive, bool).tolist(), np.asarray(is_front, bool).tolist(),
               np.asarray(sector).tolist(), np.asarray(floor_m2, float).tolist(),
               np.asarray(cash_eur, float).tolist(), np.asarray(rent_eur_m2, float).tolist(),
               np.asarray(lease_end_step).tolist(), sales_eur_m2, np.asarray(productivity, float).tolist())
    results = []   # (revenue, profit, new cash, insolvent, lease ends) per slot
    for live, front, s, floor, cash, rent, lease_end, sales, prod in rows:
        if not live:   # a dead slot keeps its cash and reports nothing
            results.append((0.0, 0.0, cash, False, False))
            continue
        revenue = sales * prod * floor / spy
        profit = revenue * margin[s] - (rent + fixed[s]) * floor / spy
        if front:      # a front's losses are covered by laundered money
            profit = max(profit, 0.0)
        results.append((revenue, profit, cash + profit, not front and cash + profit < 0.0, lease_end <= step))
    columns = list(zip(*results)) if results else [()] * 5
    dtypes = (np.float64, np.float64, np.float64, np.bool_, np.bool_)
    return tuple(np.array(col, dtype=dt) for col, dt in zip(columns, dtypes))


# ====================================================================== market
def market_update_numpy(land, use, street_class, floor_m2, condition, is_front, footfall, bid_rent_eur_m2,
                        rent_eur_m2, appraisal_rent_eur_m2, dwellings, dwelling_base_eur_month, dwelling_elastic,
                        conversion_done_step, conversion_to, conversion_dwellings, condition_bonus,
                        step, p):
    """numpy twin of ``market_update`` (test oracle, bench baseline).

    Window counts of vacant units, units and fronts are shifted-slice sums over
    the parcels around each cell (the cell itself excluded), on the uses before
    this step's conversions complete.
    """
    g = {name: float(p[k]) for name, k in P.items()}
    spread = np.array([g[n] for n in SPREAD_NAMES])
    use = np.asarray(use, np.int64)
    dwellings = np.asarray(dwellings, np.int64)
    cond = np.asarray(condition, np.float64)
    foot = np.asarray(footfall, np.float64)
    front = np.asarray(is_front, np.bool_)
    parcel = np.asarray(land) == 0

    vacant = parcel & (use == VACANT)
    unit = parcel & (vacant | IS_COMMERCIAL[use])
    fronts = parcel & front
    vac5 = _window_sum(vacant.astype(np.int64), RENT_VACANCY_RADIUS, centre=False)
    units5 = _window_sum(unit.astype(np.int64), RENT_VACANCY_RADIUS, centre=False)
    vac3 = _window_sum(vacant.astype(np.int64), SPILLOVER_RADIUS, centre=False)
    units3 = _window_sum(unit.astype(np.int64), SPILLOVER_RADIUS, centre=False)
    fronts3 = _window_sum(fronts.astype(np.int64), SPILLOVER_RADIUS, centre=False)

    completed = parcel & (use == CONVERSION) & (np.asarray(conversion_done_step) <= int(step))
    new_use = np.where(completed, np.asarray(conversion_to, np.int64), use)
    new_dw = np.where(completed, dwellings + np.asarray(conversion_dwellings, np.int64), dwellings)

    local_vac = np.where(units5 > 0, vac5 / np.maximum(units5, 1), 0.0)
    # the (non-negative) bid rent, less a discount for local vacancy
    m_rent = (np.maximum(np.asarray(bid_rent_eur_m2, np.float64), 0.0)
              * np.maximum(0.0, 1.0 - g["vacancy_sensitivity"] * local_vac))

    spill_vac = np.where(units3 > 0, vac3 / np.maximum(units3, 1), 0.0)
    own_front = np.where(front, 2.0, 0.0)
    rate = 1.0 + g["front_spill"] * (fronts3 + own_front) + g["vacancy_spill"] * spill_vac
    rate = np.where(new_use == VACANT, rate + g["vacant_mult"], rate)
    decayed = np.clip(cond - g["decay_per_step"] * rate + np.asarray(condition_bonus), 0.0, 1.0)
    decayed = np.where(completed, 1.0, decayed)  # a completed conversion is a renovated building

    elastic = np.asarray(dwelling_elastic, np.bool_)
    base = np.asarray(dwelling_base_eur_month, np.float64)
    dw_rent = np.where(elastic, base * np.power(foot / g["dwelling_ff_ref"], g["dwelling_elasticity"])
                       * (0.8 + 0.2 * cond), base)

    cap = g["cap_rate"] + spread[np.where(parcel, street_class, 0)]
    new_vacant = new_use == VACANT
    income = np.where(new_vacant, np.asarray(appraisal_rent_eur_m2) * (1.0 - g["vacant_discount"]) * floor_m2,
                      np.where(IS_COMMERCIAL[new_use], np.asarray(rent_eur_m2) * floor_m2, 0.0))
    housing = new_dw * dw_rent * 12.0
    value = (1.0 - g["opex_share"]) * (income / cap + housing / g["residential_cap_rate"])

    out = (np.where(parcel, m_rent, 0.0), np.where(parcel, value, 0.0), np.where(parcel, decayed, cond),
           new_use, new_dw, np.where(parcel, dw_rent, 0.0), completed)
    return dict(zip(MARKET_OUTPUTS, out))


def market_update_python(land, use, street_class, floor_m2, condition, is_front, footfall, bid_rent_eur_m2,
                         rent_eur_m2, appraisal_rent_eur_m2, dwellings, dwelling_base_eur_month, dwelling_elastic,
                         conversion_done_step, conversion_to, conversion_dwellings, condition_bonus,
                         step, p):
    """Per-parcel plain-Python twin of ``market_update`` (test oracle, bench baseline)."""
    g = {name: float(p[k]) for name, k in P.items()}
    spread = [g[n] for n in SPREAD_NAMES]
    commercial = IS_COMMERCIAL.tolist()
    arrays = dict(land=land, use=use, street=street_class, floor=floor_m2, cond=condition, front=is_front,
                  foot=footfall, bid=bid_rent_eur_m2, rent=rent_eur_m2, appraisal=appraisal_rent_eur_m2,
                  dw=dwellings, dw_base=dwelling_base_eur_month, elastic=dwelling_elastic,
                  conv_step=conversion_done_step, conv_to=conversion_to, conv_dw=conversion_dwellings,
                  bonus=condition_bonus)
    grid = {k: np.asarray(v).tolist() for k, v in arrays.items()}   # nested lists of Python scalars
    h, w = len(grid["use"]), len(grid["use"][0])

    def neighbours(i, j, r):
        """Parcels around (i, j) within radius r, (i, j) itself excluded."""
        return [(ii, jj) for ii in range(max(0, i - r), min(h, i + r + 1))
                for jj in range(max(0, j - r), min(w, j + r + 1))
                if (ii, jj) != (i, j) and grid["land"][ii][jj] == 0]

    def vacancy_share(cells):
        uses = [grid["use"][ii][jj] for ii, jj in cells]
        units = sum(1 for u in uses if u == VACANT or commercial[u])
        return uses.count(VACANT) / units if units else 0.0

    m_rent, value, dw_rent = np.zeros((h, w)), np.zeros((h, w)), np.zeros((h, w))
    new_cond = np.array(condition, dtype=np.float64)
    new_use = np.array(use, dtype=np.int64)
    new_dw = np.array(dwellings, dtype=np.int64)
    completed = np.zeros((h, w), np.bool_)
    for i in range(h):
        for j in range(w):
            if grid["land"][i][j] != 0:
                continue
            u, dw, c, ff = grid["use"][i][j], grid["dw"][i][j], grid["cond"][i][j], grid["foot"][i][j]
            if u == CONVERSION and grid["conv_step"][i][j] <= step:
                u, dw = grid["conv_to"][i][j], dw + grid["conv_dw"][i][j]
                new_use[i, j], new_dw[i, j], completed[i, j] = u, dw, True

            near5, near3 = neighbours(i, j, RENT_VACANCY_RADIUS), neighbours(i, j, SPILLOVER_RADIUS)
            m_rent[i, j] = (max(grid["bid"][i][j], 0.0)
                            * max(0.0, 1.0 - g["vacancy_sensitivity"] * vacancy_share(near5)))

            fronts_near = sum(1 for ii, jj in near3 if grid["front"][ii][jj]) + (2.0 if grid["front"][i][j] else 0.0)
            rate = 1.0 + g["front_spill"] * fronts_near + g["vacancy_spill"] * vacancy_share(near3)
            if u == VACANT:
                rate += g["vacant_mult"]
            new_cond[i, j] = min(1.0, max(0.0, c - g["decay_per_step"] * rate + grid["bonus"][i][j]))
            if completed[i, j]:
                new_cond[i, j] = 1.0

            base = grid["dw_base"][i][j]
            if grid["elastic"][i][j]:
                dw_rent[i, j] = base * (ff / g["dwelling_ff_ref"]) ** g["dwelling_elasticity"] * (0.8 + 0.2 * c)
            else:
                dw_rent[i, j] = base

            if u == VACANT:
                income = grid["appraisal"][i][j] * (1.0 - g["vacant_discount"]) * grid["floor"][i][j]
            elif commercial[u]:
                income = grid["rent"][i][j] * grid["floor"][i][j]
            else:
                income = 0.0
            cap = g["cap_rate"] + spread[grid["street"][i][j]]
            housing = dw * dw_rent[i, j] * 12.0
            value[i, j] = (1.0 - g["opex_share"]) * (income / cap + housing / g["residential_cap_rate"])
    return dict(zip(MARKET_OUTPUTS, (m_rent, value, new_cond, new_use, new_dw, dw_rent, completed)))


# ====================================================================== KPIs
def kpi_reduce_numpy(land, use, street_class, floor_m2, vacant_since, condition, footfall, step, steps_per_year):
    """numpy twin of ``kpi_reduce`` (test oracle, bench baseline): masked sums and bincounts."""
    parcel = np.asarray(land) == 0
    u = np.asarray(use, np.int64)[parcel]
    st = np.asarray(street_class, np.int64)[parcel]
    floor = np.asarray(floor_m2, np.float64)[parcel]
    cond = np.asarray(condition, np.float64)[parcel]
    foot = np.asarray(footfall, np.float64)[parcel]
    years = (int(step) - np.asarray(vacant_since, np.int64)[parcel]) / int(steps_per_year)
    vacant = u == VACANT
    unit = vacant | IS_COMMERCIAL[u]
    shopping = st < RES_STREET

    out = np.zeros(KPI_SIZE)
    out[KPI_LAYOUT["use_count"]] = np.bincount(u, minlength=N_USES)
    out[KPI_LAYOUT["use_floor_m2"]] = np.bincount(u, weights=floor, minlength=N_USES)
    out[KPI_LAYOUT["units_by_street"]] = np.bincount(st[unit], minlength=N_STREETS)
    out[KPI_LAYOUT["vacant_by_street"]] = np.bincount(st[vacant], minlength=N_STREETS)
    out[KPI_LAYOUT["vacant_floor_m2"]] = floor[vacant].sum()
    out[KPI_LAYOUT["vacant_floor_1y_m2"]] = floor[vacant & (years >= 1.0)].sum()
    out[KPI_LAYOUT["vacant_floor_3y_m2"]] = floor[vacant & (years >= 3.0)].sum()
    out[KPI_LAYOUT["unit_floor_m2"]] = floor[unit].sum()
    out[KPI_LAYOUT["condition_sum"]] = cond.sum()
    out[KPI_LAYOUT["condition_poor"]] = np.count_nonzero(cond < POOR_CONDITION)
    out[KPI_LAYOUT["parcels"]] = u.size
    out[KPI_LAYOUT["shopping_parcels"]] = np.count_nonzero(shopping)
    out[KPI_LAYOUT["footfall_shopping_sum"]] = foot[shopping].sum()
    return out


def kpi_reduce_python(land, use, street_class, floor_m2, vacant_since, condition, footfall, step, steps_per_year):
    """Per-parcel plain-Python twin of ``kpi_reduce`` (test oracle, bench baseline)."""
    out = [0.0] * KPI_SIZE

    def add(block, value, offset=0):
        out[KPI_LAYOUT[block].start + offset] += value

    commercial = IS_COMMERCIAL.tolist()
    cells = zip(*(np.asarray(a).ravel().tolist() for a in
                  (land, use, street_class, floor_m2, vacant_since, condition, footfall)))
    for land_code, u, st, floor, since, cond, foot in cells:
        if land_code != 0:
            continue
        add("parcels", 1.0)
        add("use_count", 1.0, u)
        add("use_floor_m2", floor, u)
        add("condition_sum", cond)
        if cond < POOR_CONDITION:
            add("condition_poor", 1.0)
        if st < RES_STREET:
            add("shopping_parcels", 1.0)
            add("footfall_shopping_sum", foot)
        if u == VACANT or commercial[u]:
            add("units_by_street", 1.0, st)
            add("unit_floor_m2", floor)
        if u == VACANT:
            add("vacant_by_street", 1.0, st)
            add("vacant_floor_m2", floor)
            # whole steps vacant against whole years: exact in integers
            if step - since >= steps_per_year:
                add("vacant_floor_1y_m2", floor)
            if step - since >= 3 * steps_per_year:
                add("vacant_floor_3y_m2", floor)
    return np.array(out, dtype=np.float64)


__all__ = [f"{k}_{kind}" for k in ("footfall_field", "sales_density", "business_accounts",
                                    "market_update", "kpi_reduce") for kind in ("numpy", "python")]
