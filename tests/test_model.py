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
    """No trends, no instruments: a single run's vacancy wanders but never runs away.

    Since version 0.5 (thin demand: would-be entrants about as many as leavers, vacancy what
    owners' asks leave over; the start is one state of a 10-year burn-in) a single 1,100-unit
    centre's vacancy is a slowly mean-reverting walk, and its start is one point of that walk
    (3.3-10.4% over 30 seeds), so a band around the start no longer describes it: over 30 seeds
    and 15 frozen years quarterly vacancy ranged 2.6-11.8%, up to 6.3 points from the start,
    and the last five years' mean stayed within -2.4..+4.0 points of the first five years'
    (mean +0.2). The test holds each run to a band around the Locatus level (1.5-14%) and its
    late level to within 5 points of its early level; the decline baseline breaks both on
    these seeds (up to 17.6%, +9.2 points). The seed-averaged steady state is held to 1.5
    points in tests/test_steady_state.py."""
    for seed in CRN_SEEDS[:3]:
        r = simulate(scenario(**FLAT_CONTEXT, horizon_years=15), seed=seed)
        v = r.metrics.query("metric == 'vacancy_units'")["value"].to_numpy()
        assert 0.015 < v.min() and v.max() < 0.14, \
            f"seed {seed}: vacancy left the 1.5-14% band: start {v[0]:.3f}, range {v.min():.3f}-{v.max():.3f}"
        early, late = v[1:21].mean(), v[-20:].mean()
        assert abs(late - early) < 0.05, f"seed {seed}: vacancy ran away: first five years {early:.3f}, last five {late:.3f}"


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

    Locatus also finds vacancy highest on C (edge) streets; docs/calibration.md lists this
    among the patterns not reproduced. Since version 0.5 the default plan gives a long-vacant
    unit on a C street two ways out of the shop stock (housing by right, horeca by a
    change-of-use permit) while one on a B street, where every commercial use is permitted
    and housing is not, has only its price: B now has the highest vacancy and C lies below it.
    Measured on the decline baseline over its first ten years, 24 seeds: A1 6.1%, A2 8.0%,
    B 9.6%, C 7.2%, residential 7.6%; C below B on 22 of the 24 seeds; the start 6.5%
    (seed SD 1.7 points: the start is one state of a 10-year burn-in). On the three seeds
    here: A1 6.1%, A2 8.1%, B 8.5%, C 7.5%, start 5.0%. The test holds the model to what it
    reproduces, A1 lowest and a start near the Locatus level (3.5-9% on three seeds), and
    guards the pattern it misses from getting worse: C not below B by more than 4 points."""
    starts, a1, a2, b, c = [], [], [], [], []
    for seed in CRN_SEEDS[:3]:
        m = simulate(scenario(horizon_years=10), seed=seed).metrics
        wide = m.pivot_table(index="step", columns="metric", values="value", observed=True)
        starts.append(wide.loc[0, "vacancy_units"])
        a1.append(wide["vacancy_units_A1"].mean())
        a2.append(wide["vacancy_units_A2"].mean())
        b.append(wide["vacancy_units_B"].mean())
        c.append(wide["vacancy_units_C"].mean())
    shown = (f"vacancy A1 {np.mean(a1):.3f}, A2 {np.mean(a2):.3f}, B {np.mean(b):.3f}, C {np.mean(c):.3f}, "
             f"start {np.mean(starts):.3f}")
    assert np.mean(a1) < min(np.mean(a2), np.mean(b), np.mean(c)), shown
    assert 0.035 < np.mean(starts) < 0.09, shown
    assert np.mean(c) > np.mean(b) - 0.04, shown
