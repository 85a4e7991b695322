"""Market and building update: rents, values, condition decay with spillover,
completed conversions, dwelling rents (DESIGN §3, step 6)."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.checks import in_range, same_shape

from sim.uses import CONVERSION, IS_COMMERCIAL, VACANT

RENT_VACANCY_RADIUS = 2   # 5×5 window: local vacancy that depresses market rents (assumption)
SPILLOVER_RADIUS = 1      # 3×3 window: neighbours whose vacancy/fronts speed up decay (assumption)


def market_update(land, use, street_class, floor_m2, condition, is_front, footfall, bid_rent_eur_m2,
                  rent_eur_m2, asking_rent_eur_m2, dwellings, dwelling_base_eur_month, dwelling_elastic,
                  conversion_done_step, conversion_to, conversion_dwellings, condition_bonus,
                  step, p):
    """Rents, values, condition and conversions for every parcel.

    Market rent is bid rent: owners capture a share of the break-even rent that
    competition between permitted sectors sets on the unit (``bid_rent_eur_m2``,
    from the sales kernel), less a discount for vacancy around it.

    Args:
        land, use, street_class: (H, W) int8; floor_m2, condition, footfall, bid_rent_eur_m2, rent_eur_m2,
            asking_rent_eur_m2, dwelling_base_eur_month, condition_bonus: (H, W) float64.
        is_front, dwelling_elastic: (H, W) bool. dwellings, conversion_dwellings,
            conversion_done_step: (H, W) int32; conversion_to: (H, W) int8.
        step: current step.
        p: ``MarketParams`` (float64 vector built by ``market_params``).

    Returns:
        dict of new (H, W) arrays: market_rent_eur_m2, value_eur, condition, use, dwellings,
        dwelling_rent_eur_month, completed (bool: a conversion finished this step).
    """
    if p.shape != (N_PARAMS,):
        raise ValueError(f"market_update: expected {N_PARAMS} parameters, got {p.shape}")
    same_shape("market_update", land=land, use=use, street_class=street_class, floor_m2=floor_m2,
               condition=condition, is_front=is_front, footfall=footfall, bid_rent_eur_m2=bid_rent_eur_m2,
               rent_eur_m2=rent_eur_m2, asking_rent_eur_m2=asking_rent_eur_m2, dwellings=dwellings,
               dwelling_base_eur_month=dwelling_base_eur_month, dwelling_elastic=dwelling_elastic,
               conversion_done_step=conversion_done_step, conversion_to=conversion_to,
               conversion_dwellings=conversion_dwellings, condition_bonus=condition_bonus)
    in_range("market_update", "use", use, 0, len(IS_COMMERCIAL))
    in_range("market_update", "street_class", street_class, -1, N_STREET_SPREADS)
    out = _market(land.astype(np.int64), use.astype(np.int64), street_class.astype(np.int64),
                  floor_m2, condition, is_front.astype(np.bool_), footfall, bid_rent_eur_m2, rent_eur_m2,
                  asking_rent_eur_m2, dwellings.astype(np.int64), dwelling_base_eur_month,
                  dwelling_elastic.astype(np.bool_), conversion_done_step.astype(np.int64),
                  conversion_to.astype(np.int64), conversion_dwellings.astype(np.int64),
                  condition_bonus, int(step), p, IS_COMMERCIAL)
    names = ("market_rent_eur_m2", "value_eur", "condition", "use", "dwellings",
             "dwelling_rent_eur_month", "completed")
    return dict(zip(names, out))


# Layout of the parameter vector (one place, shared with the twins).
PARAM_NAMES = ("dwelling_ff_ref", "rent_capture", "vacancy_sensitivity",
               "cap_rate", "spread_A1", "spread_A2", "spread_B", "spread_C", "spread_res",
               "residential_cap_rate", "vacant_discount", "decay_per_step", "vacant_mult",
               "vacancy_spill", "front_spill", "dwelling_elasticity", "opex_share")
N_PARAMS = len(PARAM_NAMES)
P = {n: i for i, n in enumerate(PARAM_NAMES)}
# positions as module constants: numba freezes them into the kernel
_DWELLING_FF_REF = P["dwelling_ff_ref"]
_RENT_CAPTURE = P["rent_capture"]
_VACANCY_SENSITIVITY = P["vacancy_sensitivity"]
_CAP_RATE = P["cap_rate"]
_RESIDENTIAL_CAP_RATE = P["residential_cap_rate"]
_VACANT_DISCOUNT = P["vacant_discount"]
_DECAY_PER_STEP = P["decay_per_step"]
_VACANT_MULT = P["vacant_mult"]
_VACANCY_SPILL = P["vacancy_spill"]
_FRONT_SPILL = P["front_spill"]
_DWELLING_ELASTICITY = P["dwelling_elasticity"]
_OPEX_SHARE = P["opex_share"]
_SPREAD_A1 = P["spread_A1"]
STREET_SPREADS = ("spread_A1", "spread_A2", "spread_B", "spread_C", "spread_res")
N_STREET_SPREADS = len(STREET_SPREADS)
# the kernel reads the spreads as one slice in street-class order
assert [P[n] for n in STREET_SPREADS] == list(range(_SPREAD_A1, _SPREAD_A1 + N_STREET_SPREADS))


def market_params(**kw) -> np.ndarray:
    """Build the parameter vector; every name in PARAM_NAMES must be given."""
    missing = set(PARAM_NAMES) - set(kw)
    extra = set(kw) - set(PARAM_NAMES)
    if missing or extra:
        raise ValueError(f"market_params: missing {sorted(missing)}, unknown {sorted(extra)}")
    return np.array([float(kw[n]) for n in PARAM_NAMES])


@njit(cache=True)
def _window_counts(land, use, is_commercial, is_front, i, j, r):
    """(vacant, commercial-or-vacant units, fronts) in the (2r+1)² window around (i, j), excluding (i, j)."""
    h, w = use.shape
    vac = 0
    units = 0
    fronts = 0
    for a in range(-r, r + 1):
        for b in range(-r, r + 1):
            ii = i + a
            jj = j + b
            if (a == 0 and b == 0) or ii < 0 or ii >= h or jj < 0 or jj >= w or land[ii, jj] != 0:
                continue
            u = use[ii, jj]
            if u == VACANT:
                vac += 1
                units += 1
            elif is_commercial[u]:
                units += 1
            if is_front[ii, jj]:
                fronts += 1
    return vac, units, fronts


@njit(cache=True)
def _market(land, use, street, floor, cond, front, foot, bid_rent, rent, asking, dwell, dwell_base,
            dwell_elastic, conv_step, conv_to, conv_dw, cond_bonus, step, p, is_commercial):
    # unpack the parameter vector (positions: module constants from PARAM_NAMES)
    dwelling_ff_ref = p[_DWELLING_FF_REF]
    rent_capture = p[_RENT_CAPTURE]
    vacancy_sensitivity = p[_VACANCY_SENSITIVITY]
    cap_rate = p[_CAP_RATE]
    residential_cap_rate = p[_RESIDENTIAL_CAP_RATE]
    vacant_discount = p[_VACANT_DISCOUNT]
    decay_per_step = p[_DECAY_PER_STEP]
    vacant_mult = p[_VACANT_MULT]
    vacancy_spill = p[_VACANCY_SPILL]
    front_spill = p[_FRONT_SPILL]
    dwelling_elasticity = p[_DWELLING_ELASTICITY]
    opex_share = p[_OPEX_SHARE]
    spread = p[_SPREAD_A1:_SPREAD_A1 + N_STREET_SPREADS]
    h, w = use.shape
    m_rent = np.zeros((h, w))
    value = np.zeros((h, w))
    new_cond = cond.copy()
    new_use = use.copy()
    new_dw = dwell.copy()
    dw_rent = np.zeros((h, w))
    completed = np.zeros((h, w), np.bool_)
    for i in range(h):
        for j in range(w):
            if land[i, j] != 0:
                continue
            u = use[i, j]
            # conversions that complete this step
            if u == CONVERSION and conv_step[i, j] <= step:
                u = conv_to[i, j]
                new_use[i, j] = u
                new_dw[i, j] = dwell[i, j] + conv_dw[i, j]
                completed[i, j] = True
            vac5, units5, _ = _window_counts(land, use, is_commercial, front, i, j, 2)
            vac3, units3, fronts3 = _window_counts(land, use, is_commercial, front, i, j, 1)
            local_vac = vac5 / units5 if units5 > 0 else 0.0
            m_rent[i, j] = rent_capture * max(bid_rent[i, j], 0.0) * max(0.0, 1.0 - vacancy_sensitivity * local_vac)
            # condition decay with spillover from vacancy and criminal fronts
            spill_vac = vac3 / units3 if units3 > 0 else 0.0
            own_front = 2.0 if front[i, j] else 0.0
            rate = 1.0 + front_spill * (fronts3 + own_front) + vacancy_spill * spill_vac
            if u == VACANT:
                rate += vacant_mult
            c = cond[i, j] - decay_per_step * rate + cond_bonus[i, j]
            new_cond[i, j] = 1.0 if completed[i, j] else min(1.0, max(0.0, c))  # a conversion renovates
            # dwelling rents: free-sector rents follow local footfall, social rents do not
            if dwell_elastic[i, j]:
                dw_rent[i, j] = dwell_base[i, j] * (foot[i, j] / dwelling_ff_ref) ** dwelling_elasticity * (0.8 + 0.2 * cond[i, j])
            else:
                dw_rent[i, j] = dwell_base[i, j]
            # value: income capitalisation (commercial ground floor + dwellings)
            cap = cap_rate + spread[street[i, j]]
            income = 0.0
            if u == VACANT:
                income = asking[i, j] * (1.0 - vacant_discount) * floor[i, j]
            elif is_commercial[u]:
                income = rent[i, j] * floor[i, j]
            housing = new_dw[i, j] * dw_rent[i, j] * 12.0
            value[i, j] = (1.0 - opex_share) * (income / cap + housing / residential_cap_rate)
    return m_rent, value, new_cond, new_use, new_dw, dw_rent, completed
