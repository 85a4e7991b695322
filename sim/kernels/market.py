"""Market and building update: rents, values, condition decay with spillover,
completed conversions, dwelling rents (docs/ODD.md §3, step 6)."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.checks import same_shape

from sim.uses import CONVERSION, IS_COMMERCIAL, VACANT

RENT_VACANCY_RADIUS = 2   # 5×5 window: local vacancy that depresses market rents (assumption)
SPILLOVER_RADIUS = 1      # 3×3 window: neighbours whose vacancy/fronts speed up decay (assumption)


def market_update(land, use, street_class, floor_m2, condition, is_front, footfall, bid_rent_eur_m2,
                  rent_eur_m2, appraisal_rent_eur_m2, dwellings, dwelling_base_eur_month, dwelling_elastic,
                  conversion_done_step, conversion_to, conversion_dwellings, condition_bonus,
                  step, p):
    """Rents, values, condition and conversions for every parcel.

    Market rent is the bid rent (``bid_rent_eur_m2``, from the sales kernel: what the typical
    business of the best permitted use can pay after its costs and a normal profit), less a
    discount for vacancy around it.

    Value is the appraisal: the contract (headline) rent of a let unit capitalised at the
    street's cap rate; for a vacant unit the valuer's rent (``appraisal_rent_eur_m2``: the
    last contract rent converging on the market rent as vacancy lasts, computed by the
    model) less the void discount; dwellings at the residential cap rate.

    Args:
        land, use, street_class: (H, W) int8; floor_m2, condition, footfall, bid_rent_eur_m2, rent_eur_m2,
            appraisal_rent_eur_m2, dwelling_base_eur_month, condition_bonus: (H, W) float64.
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
               rent_eur_m2=rent_eur_m2, appraisal_rent_eur_m2=appraisal_rent_eur_m2, dwellings=dwellings,
               dwelling_base_eur_month=dwelling_base_eur_month, dwelling_elastic=dwelling_elastic,
               conversion_done_step=conversion_done_step, conversion_to=conversion_to,
               conversion_dwellings=conversion_dwellings, condition_bonus=condition_bonus)
    # use and street-class codes are range-checked inside the kernel (one pass, no extra min/max passes)
    out = _market(land, use, street_class, floor_m2, condition, is_front, footfall, bid_rent_eur_m2, rent_eur_m2,
                  appraisal_rent_eur_m2, dwellings, dwelling_base_eur_month, dwelling_elastic,
                  conversion_done_step, conversion_to, conversion_dwellings,
                  condition_bonus, int(step), p, IS_COMMERCIAL)
    names = ("market_rent_eur_m2", "value_eur", "condition", "use", "dwellings",
             "dwelling_rent_eur_month", "completed")
    return dict(zip(names, out))


# Layout of the parameter vector (one place, shared with the twins).
PARAM_NAMES = ("dwelling_ff_ref", "vacancy_sensitivity",
               "cap_rate", "spread_A1", "spread_A2", "spread_B", "spread_C", "spread_res",
               "residential_cap_rate", "vacant_discount", "decay_per_step", "vacant_mult",
               "vacancy_spill", "front_spill", "dwelling_elasticity", "opex_share")
N_PARAMS = len(PARAM_NAMES)
P = {n: i for i, n in enumerate(PARAM_NAMES)}
# positions as module constants: numba freezes them into the kernel
_DWELLING_FF_REF = P["dwelling_ff_ref"]
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
def _integral_counts(land, use, street, is_commercial, is_front):
    """Summed-area tables (H+1, W+1) of units, vacant units and fronts among parcels.

    Also the kernel's range check of use and street-class codes (one pass, no extra min/max passes).
    """
    h, w = use.shape
    units = np.zeros((h + 1, w + 1), np.int64)
    vacant = np.zeros((h + 1, w + 1), np.int64)
    fronts = np.zeros((h + 1, w + 1), np.int64)
    for i in range(h):
        for j in range(w):
            is_parcel = land[i, j] == 0
            u = use[i, j] if is_parcel else 0  # public cells carry no use
            if is_parcel and (u < 0 or u >= is_commercial.shape[0] or street[i, j] < 0
                              or street[i, j] >= N_STREET_SPREADS):
                raise ValueError("market_update: use or street_class code out of range on a parcel")
            vac = 1 if is_parcel and u == VACANT else 0
            unit = 1 if is_parcel and (u == VACANT or is_commercial[u]) else 0
            fr = 1 if is_parcel and is_front[i, j] else 0
            units[i + 1, j + 1] = units[i, j + 1] + units[i + 1, j] - units[i, j] + unit
            vacant[i + 1, j + 1] = vacant[i, j + 1] + vacant[i + 1, j] - vacant[i, j] + vac
            fronts[i + 1, j + 1] = fronts[i, j + 1] + fronts[i + 1, j] - fronts[i, j] + fr
    return units, vacant, fronts


@njit(cache=True)
def _box(table, i, j, r, h, w):
    """Sum over the (2r+1)² window around (i, j), clipped at the grid edge (counts are exact)."""
    i0, i1 = max(i - r, 0), min(i + r + 1, h)
    j0, j1 = max(j - r, 0), min(j + r + 1, w)
    return table[i1, j1] - table[i0, j1] - table[i1, j0] + table[i0, j0]


@njit(cache=True)
def _market(land, use, street, floor, cond, front, foot, bid_rent, rent, appraisal, dwell, dwell_base,
            dwell_elastic, conv_step, conv_to, conv_dw, cond_bonus, step, p, is_commercial):
    # unpack the parameter vector (positions: module constants from PARAM_NAMES)
    dwelling_ff_ref = p[_DWELLING_FF_REF]
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
    new_use = use.astype(np.int64)
    new_dw = dwell.astype(np.int64)
    units_t, vacant_t, fronts_t = _integral_counts(land, use, street, is_commercial, front)
    dw_rent = np.zeros((h, w))
    completed = np.zeros((h, w), np.bool_)
    for i in range(h):
        for j in range(w):
            if land[i, j] != 0:
                continue
            u0 = use[i, j]
            u = u0
            # conversions that complete this step
            if u == CONVERSION and conv_step[i, j] <= step:
                u = conv_to[i, j]
                new_use[i, j] = u
                new_dw[i, j] = dwell[i, j] + conv_dw[i, j]
                completed[i, j] = True
            # neighbours exclude the parcel itself
            own_vac = 1 if u0 == VACANT else 0
            own_unit = 1 if (u0 == VACANT or is_commercial[u0]) else 0
            own_fr = 1 if front[i, j] else 0
            vac5 = _box(vacant_t, i, j, RENT_VACANCY_RADIUS, h, w) - own_vac
            units5 = _box(units_t, i, j, RENT_VACANCY_RADIUS, h, w) - own_unit
            vac3 = _box(vacant_t, i, j, SPILLOVER_RADIUS, h, w) - own_vac
            units3 = _box(units_t, i, j, SPILLOVER_RADIUS, h, w) - own_unit
            fronts3 = _box(fronts_t, i, j, SPILLOVER_RADIUS, h, w) - own_fr
            local_vac = vac5 / units5 if units5 > 0 else 0.0
            m_rent[i, j] = max(bid_rent[i, j], 0.0) * max(0.0, 1.0 - vacancy_sensitivity * local_vac)
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
                income = appraisal[i, j] * (1.0 - vacant_discount) * floor[i, j]
            elif is_commercial[u]:
                income = rent[i, j] * floor[i, j]
            housing = new_dw[i, j] * dw_rent[i, j] * 12.0
            value[i, j] = (1.0 - opex_share) * (income / cap + housing / residential_cap_rate)
    return m_rent, value, new_cond, new_use, new_dw, dw_rent, completed
