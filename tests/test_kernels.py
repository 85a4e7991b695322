"""Kernels against their numpy and plain-Python twins, kernel properties, input validation.

Run once more with ``NUMBA_DISABLE_JIT=1`` to cover the kernel code as Python.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import kernels
from sim.kernels import reference as ref
from sim.kernels.footfall import decay_weights
from sim.kernels.kpis import KPI_LAYOUT, KPI_SIZE, POOR_CONDITION
from sim.kernels.market import N_PARAMS, PARAM_NAMES, market_params
from sim.uses import (ATTRACTION, COMMERCIAL_CODES, CONVERSION, IS_COMMERCIAL, LAND_CODE, LAND_PARCEL,
                      LAND_TYPES, N_STREETS, N_USES, USES, VACANT)

GRIDS = [(12, 15, 1), (20, 20, 2), (12, 15, 3)]   # (rows, cols, seed): the twin comparisons
STEP, SPY = 40, 4
PROPERTY = settings(deadline=None, max_examples=30)   # deadline=None: numba compiles on first call


# ====================================================================== random state
def random_state(seed: int, h: int, w: int, step: int = STEP, spy: int = SPY) -> dict:
    """A random but well-formed parcel grid, business table and parameter set.

    Public cells (land != 0) have street_class -1 and use 0. Every use code
    occurs when the grid has room; conditions include 0, 1 and the poor
    threshold; some conversions are due and some not; vacancy ages straddle
    the 1- and 3-year marks; stale conversion steps sit on non-conversion parcels.
    """
    rng = np.random.default_rng(seed)
    land = np.where(rng.random((h, w)) < 0.2, rng.integers(1, len(LAND_TYPES), (h, w)), LAND_PARCEL).astype(np.int8)
    if h >= 4 and w >= 4:   # a square: cells whose 3×3 window holds no parcel
        land[h // 2 - 2: h // 2 + 2, :4] = LAND_CODE["square"]
    is_parcel = land == LAND_PARCEL
    cells = np.flatnonzero(is_parcel)
    n = cells.size

    def on_parcels(values, fill=0):
        out = np.full((h, w), fill, dtype=np.asarray(values).dtype)
        out.reshape(-1)[cells] = values
        return out

    codes = rng.integers(0, N_USES, n)
    forced = np.array(list(range(N_USES)) + [CONVERSION, VACANT, VACANT, VACANT])[:n]
    codes[:forced.size] = forced
    rng.shuffle(codes)
    use = on_parcels(codes.astype(np.int8))
    street = on_parcels(rng.integers(0, N_STREETS, n).astype(np.int8), fill=-1)

    cond = rng.uniform(0.0, 1.0, n)
    cond[: min(n, 3)] = [0.0, 1.0, POOR_CONDITION][: min(n, 3)]
    rng.shuffle(cond)
    condition = on_parcels(cond)
    footfall = on_parcels(rng.gamma(2.0, 50.0, n) * (rng.random(n) > 0.1))
    dwellings = on_parcels(rng.integers(0, 9, n).astype(np.int32))
    occupied = (rng.random((h, w)) * (dwellings + 1)).astype(np.int32)

    vacant = is_parcel & (use == VACANT)
    vacant_since = np.where(vacant, step - rng.integers(0, 5 * spy, (h, w)), -1).astype(np.int32)
    ages = np.array([0, spy - 1, spy, 3 * spy - 1, 3 * spy])
    vac_cells = np.flatnonzero(vacant)
    vacant_since.reshape(-1)[vac_cells[: ages.size]] = step - ages[: vac_cells.size]

    conv = use == CONVERSION
    conv_step = np.where(conv, step + rng.integers(-4, 5, (h, w)), -1)
    conv_cells = np.flatnonzero(conv)
    conv_step.reshape(-1)[conv_cells[:2]] = [step, step + 1][: conv_cells.size]   # one due, one not
    stale = is_parcel & ~conv & (rng.random((h, w)) < 0.2)
    conv_step[stale] = step - 1
    targets = np.array([c for c in range(N_USES) if c != CONVERSION])

    commercial_use = IS_COMMERCIAL[use] & is_parcel
    return {
        "h": h, "w": w, "step": step, "spy": spy,
        "land": land, "use": use, "street_class": street, "condition": condition,
        "floor_m2": on_parcels(rng.uniform(20.0, 500.0, n)),
        "footfall": footfall,
        "resident_field": on_parcels(rng.gamma(2.0, 3.0, n)),
        # the footfall a cell adds to itself per unit of its use's attraction (a vacant unit is
        # judged with a tenant's draw); large enough that some pairs' footfall would go negative
        "own_attraction": on_parcels(rng.uniform(0.0, 200.0, n)),
        "anchor": np.where(is_parcel, 0.0, rng.uniform(0.0, 8.0, (h, w))),
        "bonus": np.where(rng.random((h, w)) < 0.2, rng.uniform(0.0, 0.3, (h, w)), 0.0),
        "dwellings": dwellings, "dwellings_occupied": occupied,
        "is_front": commercial_use & (rng.random((h, w)) < 0.15),
        "vacant_since": vacant_since,
        # bid rents can be negative where no sector breaks even
        "bid_rent_eur_m2": on_parcels(rng.uniform(-200.0, 1500.0, n)),
        "rent_eur_m2": np.where(commercial_use, rng.uniform(50.0, 900.0, (h, w)), 0.0),
        "appraisal_rent_eur_m2": np.where(vacant, rng.uniform(50.0, 900.0, (h, w)), 0.0),
        "dwelling_base_eur_month": on_parcels(rng.uniform(500.0, 1500.0, n)),
        "dwelling_elastic": is_parcel & (rng.random((h, w)) < 0.5),
        "conversion_done_step": conv_step.astype(np.int32),
        "conversion_to": on_parcels(rng.choice(targets, n).astype(np.int8)),
        "conversion_dwellings": on_parcels(rng.integers(0, 12, n).astype(np.int32)),
        "condition_bonus": np.where(rng.random((h, w)) < 0.1, 0.05, 0.0),
        "street_weight": rng.uniform(0.3, 3.0, N_STREETS),
        "weights": decay_weights(int(rng.integers(1, 5)), float(rng.uniform(1.0, 3.0))),
        "visitor_demand": float(rng.uniform(0.5, 1.5)),
        # sector economics over every use code; complement beyond ±1 so the cluster clamp is exercised
        "density": rng.uniform(500.0, 6000.0, N_USES), "online": rng.uniform(0.0, 0.5, N_USES),
        "elasticity": rng.uniform(0.1, 1.0, N_USES), "local": rng.uniform(0.0, 1.0, N_USES),
        "complement": rng.uniform(-3.0, 3.0, (N_USES, N_USES)),
        "margin": rng.uniform(0.2, 1.0, N_USES), "fixed": rng.uniform(100.0, 900.0, N_USES),
        "p": market_params(
            dwelling_ff_ref=80.0, vacancy_sensitivity=rng.uniform(0.0, 2.0),
            cap_rate=0.05, spread_A1=0.0, spread_A2=0.005, spread_B=0.01, spread_C=0.02, spread_res=0.03,
            residential_cap_rate=0.04, vacant_discount=0.2,
            decay_per_step=0.02 / spy, vacant_mult=1.5, vacancy_spill=1.0, front_spill=0.5,
            dwelling_elasticity=rng.uniform(0.0, 0.5), opex_share=0.25),
        "businesses": random_businesses(rng, cells, step),
        "pairs": (rng.integers(0, N_USES, h * w), np.arange(h * w)),   # every cell, public ones too
    }


def random_businesses(rng: np.random.Generator, cells: np.ndarray, step: int, n: int = 60) -> dict:
    """Business slots: dead and alive, fronts, cash near zero so some go insolvent."""
    return {
        "alive": rng.random(n) < 0.8, "is_front": rng.random(n) < 0.2,
        "sector": rng.choice(COMMERCIAL_CODES, n).astype(np.int8),
        "parcel": rng.choice(cells, n) if cells.size else np.zeros(n, np.int64),
        "floor_m2": rng.uniform(20.0, 500.0, n), "cash_eur": rng.normal(0.0, 5000.0, n),
        "rent_eur_m2": rng.uniform(50.0, 900.0, n), "productivity": rng.uniform(0.7, 1.3, n), "lease_end_step": step + rng.integers(-3, 4, n),
    }


# ====================================================================== kernel arguments
def footfall_kwargs(s: dict) -> dict:
    return dict(use=s["use"], condition=s["condition"], street_class=s["street_class"], anchor=s["anchor"],
                dwellings_occupied=s["dwellings_occupied"], bonus=s["bonus"], attraction_by_use=ATTRACTION,
                street_weight=s["street_weight"], resident_attraction=0.05, visitor_demand=s["visitor_demand"],
                weights=s["weights"])


def sales_kwargs(s: dict) -> dict:
    return dict(sector=s["pairs"][0], parcel=s["pairs"][1], land=s["land"], use=s["use"],
                condition=s["condition"], footfall=s["footfall"], resident_field=s["resident_field"],
                own_attraction=s["own_attraction"], attraction_by_use=ATTRACTION, density_eur_m2=s["density"], online_share=s["online"], elasticity=s["elasticity"],
                local_share=s["local"], complement=s["complement"], cluster_strength=0.3,
                footfall_ref=100.0, resident_ref=5.0)


def accounts_kwargs(s: dict) -> dict:
    b = s["businesses"]
    grid = {k: v for k, v in sales_kwargs(s).items() if k not in ("sector", "parcel")}
    return dict(alive=b["alive"], is_front=b["is_front"], sector=b["sector"], parcel=b["parcel"],
                floor_m2=b["floor_m2"], cash_eur=b["cash_eur"], rent_eur_m2=b["rent_eur_m2"],
                productivity=b["productivity"],
                lease_end_step=b["lease_end_step"], **grid, gross_margin=s["margin"],
                fixed_cost_eur_m2=s["fixed"], steps_per_year=s["spy"], step=s["step"])


def market_kwargs(s: dict) -> dict:
    names = ("land", "use", "street_class", "floor_m2", "condition", "is_front", "footfall", "bid_rent_eur_m2",
             "rent_eur_m2", "appraisal_rent_eur_m2", "dwellings", "dwelling_base_eur_month", "dwelling_elastic",
             "conversion_done_step", "conversion_to", "conversion_dwellings", "condition_bonus")
    return {**{k: s[k] for k in names}, "step": s["step"], "p": s["p"]}


def kpi_kwargs(s: dict) -> dict:
    names = ("land", "use", "street_class", "floor_m2", "vacant_since", "condition", "footfall")
    return {**{k: s[k] for k in names}, "step": s["step"], "steps_per_year": s["spy"]}


KERNELS = {   # name: (kernel, numpy twin, python twin, kwargs from a state)
    "footfall_field": (kernels.footfall_field, ref.footfall_field_numpy, ref.footfall_field_python, footfall_kwargs),
    "sales_density": (kernels.sales_density, ref.sales_density_numpy, ref.sales_density_python, sales_kwargs),
    "business_accounts": (kernels.business_accounts, ref.business_accounts_numpy, ref.business_accounts_python,
                          accounts_kwargs),
    "market_update": (kernels.market_update, ref.market_update_numpy, ref.market_update_python, market_kwargs),
    "kpi_reduce": (kernels.kpi_reduce, ref.kpi_reduce_numpy, ref.kpi_reduce_python, kpi_kwargs),
}


def assert_same(got, want, what: str) -> None:
    """Same structure, shapes and dtypes; ints and bools exact, floats to rtol 1e-12."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{what}: keys {list(got)} != {list(want)}"
        for k in want:
            assert_same(got[k], want[k], f"{what}[{k!r}]")
    elif isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{what}: {len(got)} outputs, want {len(want)}"
        for k, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{what}[{k}]")
    else:
        assert isinstance(got, np.ndarray), f"{what}: {type(got).__name__}, not an ndarray"
        assert got.shape == want.shape and got.dtype == want.dtype, \
            f"{what}: {got.dtype}{got.shape} != {want.dtype}{want.shape}"
        if np.issubdtype(want.dtype, np.floating):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=what)
        else:
            np.testing.assert_array_equal(got, want, err_msg=what)


def copy_arrays(kw: dict) -> dict:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kw.items()}


# ====================================================================== kernel == twins
@pytest.mark.parametrize("name", KERNELS)
def test_twins_share_the_kernel_signature(name):
    kernel, numpy_twin, python_twin, _ = KERNELS[name]
    want = list(inspect.signature(kernel).parameters)
    assert list(inspect.signature(numpy_twin).parameters) == want
    assert list(inspect.signature(python_twin).parameters) == want


@pytest.mark.parametrize("h,w,seed", GRIDS)
@pytest.mark.parametrize("name", KERNELS)
def test_kernel_equals_twins(name, h, w, seed):
    kernel, numpy_twin, python_twin, kwargs = KERNELS[name]
    kw = kwargs(random_state(seed, h, w))
    before = copy_arrays(kw)
    want = kernel(**kw)
    assert_same(numpy_twin(**kw), want, f"{name} numpy twin vs kernel")
    assert_same(python_twin(**kw), want, f"{name} python twin vs kernel")
    for k, v in before.items():   # nobody writes into its inputs
        np.testing.assert_array_equal(kw[k], v, err_msg=f"{name} changed its input {k}")


def test_random_state_covers_the_cases():
    """The builder really produces what the comparisons rely on."""
    s = random_state(1, 12, 15)
    parcel = s["land"] == LAND_PARCEL
    assert set(np.unique(s["use"][parcel])) == set(range(len(USES)))
    assert np.all(s["street_class"][~parcel] == -1) and np.all(s["use"][~parcel] == 0)
    conv = parcel & (s["use"] == CONVERSION)
    due = s["conversion_done_step"] <= s["step"]
    assert np.any(conv & due) and np.any(conv & ~due) and np.any(~conv & parcel & due)
    age = s["step"] - s["vacant_since"][parcel & (s["use"] == VACANT)]
    assert {SPY - 1, SPY, 3 * SPY - 1, 3 * SPY} <= set(age.tolist())
    out = kernels.market_update(**market_kwargs(s))
    assert 0 < out["completed"].sum() < conv.sum()
    accounts = kernels.business_accounts(**accounts_kwargs(s))
    assert accounts[3].any() and accounts[4].any()   # some insolvent, some leases end


# ====================================================================== properties
grid_dims = st.tuples(st.integers(1, 20), st.integers(1, 20))
seeds = st.integers(0, 2**32 - 1)


@PROPERTY
@given(seed=seeds, dims=grid_dims)
def test_footfall_is_non_negative(seed, dims):
    foot, resid = kernels.footfall_field(**footfall_kwargs(random_state(seed, *dims)))
    assert foot.min() >= 0.0 and resid.min() >= 0.0


@PROPERTY
@given(seed=seeds, dims=grid_dims)
def test_zero_attraction_gives_zero_footfall(seed, dims):
    kw = footfall_kwargs(random_state(seed, *dims))
    kw.update(attraction_by_use=np.zeros(N_USES), anchor=np.zeros(dims), resident_attraction=0.0)
    foot, _ = kernels.footfall_field(**kw)
    assert np.all(foot == 0.0)


@PROPERTY
@given(seed=seeds, dims=grid_dims, step=st.integers(0, 80),
       decay=st.floats(0.0, 0.2), bonus=st.floats(0.0, 0.5), spill=st.floats(0.0, 5.0))
def test_market_update_properties(seed, dims, step, decay, bonus, spill):
    s = random_state(seed, *dims, step=STEP)
    s["step"] = step
    s["condition_bonus"] = s["condition_bonus"] * bonus / 0.05
    p = s["p"].copy()
    p[PARAM_NAMES.index("decay_per_step")] = decay
    p[PARAM_NAMES.index("vacancy_spill")] = spill
    s["p"] = p
    public = s["land"] != LAND_PARCEL
    s["use"][public] = CONVERSION   # junk on public cells must not complete
    s["conversion_done_step"][public] = 0
    kw = market_kwargs(s)
    before = copy_arrays(kw)
    out = kernels.market_update(**kw)

    use, new_use = before["use"], out["use"]
    assert new_use.min() >= 0 and new_use.max() < N_USES
    due = ~public & (use == CONVERSION) & (before["conversion_done_step"] <= step)
    np.testing.assert_array_equal(out["completed"], due)
    np.testing.assert_array_equal(new_use[due], before["conversion_to"][due])
    np.testing.assert_array_equal(new_use[~due], use[~due])
    np.testing.assert_array_equal(out["dwellings"],
                                  before["dwellings"] + np.where(due, before["conversion_dwellings"], 0))
    np.testing.assert_array_equal(out["condition"][public], before["condition"][public])
    for k in ("market_rent_eur_m2", "value_eur", "dwelling_rent_eur_month"):
        assert np.all(out[k][public] == 0.0), k
    assert out["condition"].min() >= 0.0 and out["condition"].max() <= 1.0
    assert np.count_nonzero(kw["land"] == LAND_PARCEL) == np.count_nonzero(~public)   # parcels conserved
    for k, v in before.items():
        np.testing.assert_array_equal(kw[k], v, err_msg=f"market_update changed its input {k}")


@PROPERTY
@given(seed=seeds, dims=grid_dims, step=st.integers(0, 80))
def test_kpi_reduce_properties(seed, dims, step):
    s = random_state(seed, *dims)
    s["step"] = step
    k = kernels.kpi_reduce(**kpi_kwargs(s))
    assert k.shape == (KPI_SIZE,)
    n_parcels = np.count_nonzero(s["land"] == LAND_PARCEL)
    assert k[KPI_LAYOUT["use_count"]].sum() == k[KPI_LAYOUT["parcels"]][0] == n_parcels
    assert np.all(k[KPI_LAYOUT["vacant_by_street"]] <= k[KPI_LAYOUT["units_by_street"]])
    v = [k[KPI_LAYOUT[b]][0] for b in ("vacant_floor_3y_m2", "vacant_floor_1y_m2", "vacant_floor_m2", "unit_floor_m2")]
    assert v == sorted(v)
    assert k[KPI_LAYOUT["condition_poor"]][0] <= n_parcels


@PROPERTY
@given(seed=seeds, n=st.integers(0, 80), step=st.integers(0, 80))
def test_business_accounts_properties(seed, n, step):
    rng = np.random.default_rng(seed)
    s = random_state(seed, 6, 6, step=step)
    s["businesses"] = random_businesses(rng, np.arange(36), step, n)
    kw = accounts_kwargs(s)
    b = {k: v.copy() for k, v in s["businesses"].items()}
    revenue, profit, cash, insolvent, lease_ends = kernels.business_accounts(**kw)
    dead, front = ~b["alive"], b["is_front"]
    assert np.all(revenue[dead] == 0.0) and np.all(profit[dead] == 0.0)
    np.testing.assert_array_equal(cash[dead], b["cash_eur"][dead])
    assert not insolvent[dead].any() and not lease_ends[dead].any()
    assert not insolvent[front].any()
    assert np.all(profit[front & b["alive"]] >= 0.0)
    np.testing.assert_array_equal(cash, b["cash_eur"] + profit)   # cash identity, exact
    np.testing.assert_array_equal(insolvent, b["alive"] & ~front & (cash < 0.0))
    np.testing.assert_array_equal(lease_ends, b["alive"] & (b["lease_end_step"] <= step))


# ====================================================================== validation
@pytest.fixture(scope="module")
def state():
    return random_state(5, 8, 9)


def test_footfall_field_validates(state):
    kw = footfall_kwargs(state)
    with pytest.raises(ValueError, match="footfall_field"):
        kernels.footfall_field(**{**kw, "use": kw["use"].reshape(-1)})
    for shape in ((4, 4), (3, 5)):
        with pytest.raises(ValueError, match="odd square weights"):
            kernels.footfall_field(**{**kw, "weights": np.ones(shape)})


def test_sales_density_validates(state):
    kw = sales_kwargs(state)
    with pytest.raises(ValueError, match="differ in length"):
        kernels.sales_density(**{**kw, "parcel": kw["parcel"][:-1]})
    for ref_name in ("footfall_ref", "resident_ref"):
        for bad in (0.0, -1.0):
            with pytest.raises(ValueError, match="must be positive"):
                kernels.sales_density(**{**kw, ref_name: bad})


def test_business_accounts_validates(state):
    with pytest.raises(ValueError, match="steps_per_year"):
        kernels.business_accounts(**{**accounts_kwargs(state), "steps_per_year": 0})


def test_market_update_validates(state):
    kw = market_kwargs(state)
    for p in (kw["p"][:-1], np.append(kw["p"], 1.0), kw["p"].reshape(1, -1)):
        with pytest.raises(ValueError, match=f"expected {N_PARAMS} parameters"):
            kernels.market_update(**{**kw, "p": p})
    good = dict(zip(PARAM_NAMES, kw["p"]))
    with pytest.raises(ValueError, match="missing"):
        market_params(**{k: v for k, v in good.items() if k != "cap_rate"})
    with pytest.raises(ValueError, match="unknown"):
        market_params(**good, cap_rat=0.05)
    np.testing.assert_array_equal(market_params(**good), kw["p"])


def test_kpi_reduce_validates(state):
    for spy in (0, -4):
        with pytest.raises(ValueError, match="steps_per_year"):
            kernels.kpi_reduce(**{**kpi_kwargs(state), "steps_per_year": spy})


# numba does not bounds-check: the wrappers must refuse mis-shaped input before the kernel runs
@pytest.mark.parametrize("kernel, kwargs, key", [
    ("footfall_field", footfall_kwargs, "condition"),
    ("sales_density", sales_kwargs, "footfall"),
    ("market_update", market_kwargs, "floor_m2"),
    ("kpi_reduce", kpi_kwargs, "condition"),
])
def test_grid_kernels_refuse_arrays_of_another_shape(state, kernel, kwargs, key):
    kw = kwargs(state)
    with pytest.raises(ValueError, match="differ in shape"):
        getattr(kernels, kernel)(**{**kw, key: kw[key][:-2]})


def test_business_accounts_refuses_unequal_lengths(state):
    kw = accounts_kwargs(state)
    with pytest.raises(ValueError, match="differ in shape"):
        kernels.business_accounts(**{**kw, "floor_m2": kw["floor_m2"][:-3]})


def test_sales_density_refuses_parcels_off_the_grid(state):
    kw = sales_kwargs(state)
    for bad in (-1, kw["land"].size):
        parcel = kw["parcel"].copy()
        parcel[0] = bad
        with pytest.raises(ValueError, match="parcel outside"):
            kernels.sales_density(**{**kw, "parcel": parcel})


def test_kpi_reduce_refuses_codes_out_of_range(state):
    kw = kpi_kwargs(state)
    parcel = np.argwhere(kw["land"] == 0)[0]
    for key, bad in (("use", 99), ("street_class", 7)):
        arr = kw[key].copy()
        arr[tuple(parcel)] = bad
        with pytest.raises(ValueError, match="out of range"):
            kernels.kpi_reduce(**{**kw, key: arr})


def test_business_accounts_refuses_sector_codes_out_of_range(state):
    kw = accounts_kwargs(state)
    sector = kw["sector"].copy()
    sector[np.flatnonzero(kw["alive"])[0]] = 99
    with pytest.raises(ValueError, match="out of range"):
        kernels.business_accounts(**{**kw, "sector": sector})


def test_market_update_refuses_codes_out_of_range(state):
    kw = market_kwargs(state)
    parcel = np.argwhere(kw["land"] == 0)[0]
    for key, bad in (("use", 99), ("street_class", 7)):
        arr = kw[key].copy()
        arr[tuple(parcel)] = bad
        with pytest.raises(ValueError, match="out of range"):
            kernels.market_update(**{**kw, key: arr})
