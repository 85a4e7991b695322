"""Model-level tests: invariants every step, degenerate case, directional checks
on common random numbers (docs/ODD.md §1)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import CityModel
from sim.outputs import simulate
from sim.scenario import Scenario
from sim.uses import IS_COMMERCIAL, USE_NAMES, VACANT

SMALL = {"city": {"size_cells": 60}}
FLAT_CONTEXT = {"context": {
    "online_share": {"comparison": 0.30, "independent": 0.18, "daily": 0.06, "services": 0.03, "craft": 0.05},
    "visitor_demand": 1.0, "housing_demand": 1.0, "cap_rate": 0.055, "crime_pressure": 1.0}}
CRN_SEEDS = [101, 202, 303, 404, 505, 606]   # the same seeds under both variants: common random numbers


def scenario(**over) -> Scenario:
    """The baseline with nested overrides (mappings merge key by key)."""
    return Scenario.from_yaml("scenarios/baseline.yaml", overrides=over)


def check_invariants(model: CityModel) -> None:
    par = model.parcels
    par.check()
    b = model.businesses
    alive = np.flatnonzero(b.alive)
    # one tenant per parcel: live businesses sit on distinct parcels that point back at them
    assert np.unique(b.parcel[alive]).size == alive.size, "two businesses on one parcel"
    assert np.array_equal(par.flat("tenant")[b.parcel[alive]], alive), "parcel does not point at its tenant"
    tenanted = par.flat("tenant") >= 0
    assert tenanted.sum() == alive.size
    # a commercial use is there exactly when a business is
    commercial = IS_COMMERCIAL[par.flat("use")] & (par.flat("land") == 0)
    assert np.array_equal(commercial, tenanted), "use and tenancy disagree"
    assert np.array_equal(par.flat("use")[b.parcel[alive]], b.sector[alive]), "business sector differs from use"
    # hidden fronts are exactly the front businesses
    assert np.array_equal(np.flatnonzero(par.flat("is_front")), np.sort(b.parcel[b.alive & b.is_front]))
    # one owner per parcel, a known one
    owners = par.flat("owner")[par.flat("land") == 0]
    assert owners.min() >= 0 and owners.max() < model.owners.n
    # households ≤ dwellings, and households counted where they live
    h = model.households
    per_parcel = np.bincount(h.parcel[h.alive], minlength=par.land.size)
    assert np.array_equal(per_parcel, par.flat("dwellings_occupied"))
    assert np.all(par.dwellings_occupied <= par.dwellings)
    # vacancy bookkeeping
    vacant = (par.flat("use") == VACANT) & (par.flat("land") == 0)
    assert np.all(par.flat("vacant_since")[vacant] <= model.steps)
    assert np.all(par.flat("vacant_since")[~vacant] == -1)
    # shares sum to 1, ledger balances
    rec = model.records[-1]
    assert sum(rec[f"share_{u}"] for u in USE_NAMES) == pytest.approx(1.0, abs=1e-12)
    model.municipality.check_ledger()


def test_invariants_hold_every_step():
    model = CityModel(scenario(**SMALL, horizon_years=6), seed=7)
    check_invariants(model)
    seen_exit = seen_entry = 0
    for _ in range(model.spec.n_steps):
        model.step()
        check_invariants(model)
        seen_exit += model.events["business_exits"]
        seen_entry += model.events["business_entries"]
    # the run did something: the invariants were tested on a changing city
    assert seen_exit > 0 and seen_entry > 0


def test_degenerate_flat_context_keeps_vacancy_in_a_narrow_band():
    """No trends, no instruments: a single run's vacancy fluctuates around its start level and
    never runs away. (Since version 0.3 long vacancy spells also end by price, and a run
    swings more: a few overpriced units held for years move a 1,100-unit centre by several
    points, so the single-run band is ±5 points; the seed-averaged steady state is held to
    1.5 points in tests/test_steady_state.py.)"""
    for seed in CRN_SEEDS[:3]:
        r = simulate(scenario(**FLAT_CONTEXT, horizon_years=15), seed=seed)
        v = r.metrics.query("metric == 'vacancy_units'")["value"].to_numpy()
        drift = np.abs(v - v[0]).max()
        assert drift < 0.05, f"seed {seed}: vacancy left the ±5 pt band: start {v[0]:.3f}, range {v.min():.3f}-{v.max():.3f}"
        assert abs(v[-20:].mean() - v[0]) < 0.03, f"seed {seed}: vacancy moved away from its start: {v[0]:.3f} -> {v[-20:].mean():.3f}"


def _mean_late(metric: str, over: dict, years: int = 5) -> float:
    vals = []
    for seed in CRN_SEEDS[:4]:     # 4 pairs: keyed streams keep the variants paired
        m = simulate(scenario(**over), seed=seed).metrics
        m = m[m["metric"] == metric]
        vals.append(m[m["year"] > m["year"].max() - years]["value"].mean())
    return float(np.mean(vals))


def _online(per_year: float) -> dict:
    return {"context": {"online_share": {"comparison": {"value": 0.30, "per_year": per_year}}}}


def test_faster_online_growth_raises_comparison_vacancy():
    slow = _mean_late("vacancy_comparison", _online(0.0))
    fast = _mean_late("vacancy_comparison", _online(0.02))
    assert fast > slow, f"comparison-retail vacancy: fast online growth {fast:.4f} vs no growth {slow:.4f}"


def test_higher_visitor_demand_lowers_vacancy():
    low = _mean_late("vacancy_units", {"context": {"visitor_demand": 0.8}})
    high = _mean_late("vacancy_units", {"context": {"visitor_demand": 1.2}})
    assert high < low, f"vacancy: visitor demand 1.2 gives {high:.4f}, 0.8 gives {low:.4f}"


def test_same_seed_same_metrics_other_seed_other_metrics():
    sc = scenario(**SMALL, horizon_years=3)
    a, b, c = simulate(sc, seed=11), simulate(sc, seed=11), simulate(sc, seed=12)
    assert a.metrics.equals(b.metrics)
    for k in a.snapshots:
        assert np.array_equal(a.snapshots[k], b.snapshots[k])
    assert not np.array_equal(a.metrics["value"].to_numpy(), c.metrics["value"].to_numpy())


def test_vacancy_rises_from_a1_to_c_and_starts_near_locatus_levels():
    """Patterns 1-2 (docs/ODD.md §1): about 6-7% of units vacant at the start, lowest on A1.

    Locatus also finds vacancy highest on C (edge) streets. Since version 0.3 (vacancy ended by
    price; housing permitted on the ground floor of edge streets, where long-vacant units now
    convert) the model has B and C streets at about the same level (within half a point over
    the first ten years): docs/calibration.md lists this among the patterns not reproduced, and
    the test holds the model to what it does reproduce, A1 lowest and C not below B by more
    than half a point."""
    starts, a1, b, c = [], [], [], []
    for seed in CRN_SEEDS[:3]:
        m = simulate(scenario(horizon_years=10), seed=seed).metrics
        wide = m.pivot_table(index="step", columns="metric", values="value", observed=True)
        starts.append(wide.loc[0, "vacancy_units"])
        a1.append(wide["vacancy_units_A1"].mean())
        b.append(wide["vacancy_units_B"].mean())
        c.append(wide["vacancy_units_C"].mean())
    shown = f"vacancy A1 {np.mean(a1):.3f}, B {np.mean(b):.3f}, C {np.mean(c):.3f}"
    assert np.mean(a1) < min(np.mean(b), np.mean(c)), shown
    assert np.mean(c) > np.mean(b) - 0.005, shown
    assert 0.05 <= np.mean(starts) <= 0.075, f"start vacancy {np.mean(starts):.3f}: should be about 6-7% (Locatus)"


def test_pattern_table_reports_every_pattern():
    from sim.experiments.patterns import pattern_table
    table = pattern_table(scenario(**SMALL, horizon_years=2), seeds=[1, 2])
    assert len(table) == 30 and table["model mean"].notna().all()
    assert (table["min"] <= table["model mean"]).all() and (table["model mean"] <= table["max"]).all()
    start = table.set_index("pattern").loc["vacancy at start (% of units)"]
    assert 0 < start["model mean"] < 100


# ------------------------------------------------------------------ as a Mesa model
def test_run_model_on_the_baseline_stops_at_the_horizon():
    baseline = Scenario.from_yaml("scenarios/baseline.yaml")
    model = CityModel(baseline)
    assert model.running and model.steps == 0
    model.run_model()
    n = baseline.horizon_years * baseline.steps_per_year
    assert model.steps == n == 80 and not model.running
    assert [r["step"] for r in model.records] == list(range(n + 1))
    assert [r["year"] for r in model.records] == [baseline.start_year + k / 4 for k in range(n + 1)]


def test_running_stays_true_until_the_last_step():
    small = scenario(**SMALL, horizon_years=2)
    model = CityModel(small, seed=3)
    flags = []
    for _ in range(small.n_steps):
        model.step()
        flags.append(model.running)
    assert flags == [True] * (small.n_steps - 1) + [False]
