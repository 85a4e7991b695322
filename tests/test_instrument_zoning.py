"""zoning: contracting the shopping area lowers vacancy outside the new core through conversions
(CRN); forbidden uses never arrive by a new letting or conversion; permit lag and planschade."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crn import load, mean_over, run_pair
from sim.model import CityModel
from sim.uses import COMMERCIAL_NAMES, CONVERSION, RESIDENTIAL, USE_CODE

SCENARIO = "scenarios/instruments/zoning.yaml"
ZONED_USES = list(COMMERCIAL_NAMES) + ["residential"]


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_contraction_lowers_vacancy_outside_the_core_through_conversions(pairs):
    # B streets: long-vacant units convert. A2 streets (the second zone) keep their shops: a
    # shop there is worth more than homes, so the permission is rarely used and their vacancy is
    # not tested (measured: within 0.5 points of the reference, either way, version 0.3)
    ref, ins = mean_over(pairs, "zoning_area_vacancy_units")
    assert ins < ref, f"vacancy on B streets, last year: transformation zone {ins:.4f}, without {ref:.4f}"
    ref, ins = mean_over(pairs, "zoning_1_area_vacancy_units")
    assert abs(ins - ref) < 0.01, f"vacancy on A2 streets, last year: transformation zone {ins:.4f}, without {ref:.4f}"
    ref, ins = mean_over(pairs, "conversions_total")
    assert ins > ref + 5, f"conversions by the horizon: transformation zones {ins:.1f}, without {ref:.1f}"
    for _, ins in pairs:
        assert ins["zoning_permits"].iloc[-1] > 0 and ins["zoning_1_permits"].iloc[-1] > 0
        assert ins["zoning_compensation_eur"].iloc[-1] == 0.0, "a plan change that only adds uses owes no planschade"


def _use_history(scenario, seed: int) -> tuple[CityModel, list[np.ndarray]]:
    model = CityModel(scenario, seed=seed)
    uses = [model.parcels.use.copy()]
    for _ in range(scenario.n_steps):
        model.step()
        uses.append(model.parcels.use.copy())
    return model, uses


def _arrivals_of(uses: list[np.ndarray], zone: np.ndarray, codes: list[int], after_step: int) -> int:
    """Parcels in ``zone`` that changed to one of ``codes`` in a step after ``after_step``, except
    conversions under way at the change (their permit predates it)."""
    exempt = uses[after_step] == CONVERSION
    arrivals = 0
    for t in range(after_step + 1, len(uses)):
        new = (uses[t] != uses[t - 1]) & np.isin(uses[t], codes) & zone & ~exempt
        arrivals += int(new.sum())
    return arrivals


@settings(deadline=None, max_examples=5)
@given(forbid=st.lists(st.sampled_from(ZONED_USES), min_size=1, max_size=4, unique=True),
       street=st.sampled_from(["B", "C", "residential"]), change_year=st.integers(2025, 2027),
       seed=st.integers(0, 10_000))
def test_a_forbidden_use_never_arrives_in_the_zone(forbid, street, change_year, seed):
    scenario = load(SCENARIO, horizon_years=4, instruments=[
        {"kind": "zoning", "start_year": change_year, "area": {"street_classes": [street]}, "allow": [],
         "forbid": forbid}])
    model, uses = _use_history(scenario, seed)
    zoning = model.municipality.instruments[0]
    after = (change_year - scenario.start_year) * scenario.steps_per_year   # the change acts in the next step
    codes = [USE_CODE[u] for u in forbid]
    assert not (model.parcels.allowed[zoning.area_mask] & sum(1 << c for c in codes)).any()
    assert _arrivals_of(uses, zoning.area_mask, codes, after) == 0, f"{forbid} arrived on {street} streets"


def test_the_same_uses_do_arrive_without_the_plan_change():
    """The property above has power: in the reference the forbidden uses keep arriving in the zone."""
    forbid = ["horeca", "services", "residential"]
    scenario = load(SCENARIO, horizon_years=5, instruments=[
        {"kind": "zoning", "area": {"street_classes": ["C", "residential"]}, "allow": [], "forbid": forbid}])
    codes = [USE_CODE[u] for u in forbid]
    model, uses = _use_history(scenario, seed=3)
    ref_model, ref_uses = _use_history(load(SCENARIO, horizon_years=5, instruments=[]), seed=3)
    zone = model.municipality.instruments[0].area_mask
    with_plan, without = _arrivals_of(uses, zone, codes, 0), _arrivals_of(ref_uses, zone, codes, 0)
    assert with_plan == 0 and without > 10, f"arrivals of {forbid}: with the plan {with_plan}, without {without}"
    assert model.records[-1]["zoning_nonconforming_units"] > 0, "existing non-conforming uses may stay"


def test_extended_procedure_adds_the_permit_weeks_to_conversions_in_the_zone():
    scenario = load(SCENARIO, horizon_years=4, instruments=[
        {"kind": "zoning", "area": {"street_classes": ["C"]}, "allow": ["residential"], "procedure": "extended"}])
    model = CityModel(scenario, seed=7)
    base_lag = scenario.agents.owners.conversion_lag_quarters          # 4 steps a year
    zone = model.municipality.instruments[0].area_mask
    lags = {True: set(), False: set()}
    for _ in range(scenario.n_steps):
        before = model.parcels.use.copy()
        model.step()
        started = (model.parcels.use == CONVERSION) & (before != CONVERSION)
        for in_zone in (True, False):
            done = model.parcels.conversion_done_step[started & (zone == in_zone)]
            lags[in_zone] |= set((done - model.steps).tolist())
    # 26 weeks instead of the 8 in the baseline lag: 18 weeks, two quarters once works wait a whole step
    assert lags[True] == {base_lag + 2}, f"lags in the zone {lags[True]}, expected {base_lag + 2}"
    assert lags[False] <= {base_lag}, f"lags outside the zone {lags[False]}, expected {base_lag}"
    assert model.records[-1]["zoning_permits"] > 0


def _compensation_runs(share: float, budget_eur: float = 1e9) -> tuple[dict, "CityModel"]:
    # a budget large enough for every claim: timing and scale, not the budget constraint, are tested here
    scenario = load(SCENARIO, horizon_years=3, agents={"municipality": {"annual_budget_eur": budget_eur}},
                    instruments=[
        {"kind": "zoning", "start_year": 2026, "area": {"street_classes": ["B"]}, "allow": ["residential"],
         "forbid": ["comparison"], "compensation_share": share}])
    model = CityModel(scenario, seed=11)
    for _ in range(scenario.n_steps):
        model.step()
    return model.municipality.ledger, model


def test_planschade_is_paid_a_year_after_the_change_and_scales_with_the_share():
    ledger, model = _compensation_runs(1.0)
    half_ledger, half_model = _compensation_runs(0.5)
    zoning = model.municipality.instruments[0]
    spend = ledger.spend_eur["zoning"] - model.municipality.staff_cost_eur_per_hour * ledger.staff_hours["zoning"]
    change, due = 4 + 1, 4 + 1 + 4                   # first step of 2026, then one year's payment lag
    assert np.flatnonzero(spend > 0).tolist() == [due], f"payouts in steps {np.flatnonzero(spend > 0)}"
    assert ledger.staff_hours["zoning"][change] == zoning.config.plan_staff_hours
    assert zoning.claims_paid > 0 and np.isclose(spend.sum(), zoning.compensation_eur)
    assert np.isclose(half_model.municipality.instruments[0].compensation_eur, 0.5 * zoning.compensation_eur), (
        f"compensation at share 0.5: {half_model.municipality.instruments[0].compensation_eur:.0f}, "
        f"at share 1: {zoning.compensation_eur:.0f}")
    assert model.records[-1]["net_public_cost_eur"] >= zoning.compensation_eur
    model.municipality.check_ledger()


def test_an_empty_plan_change_changes_nothing():
    scenario = load(SCENARIO, instruments=[{"kind": "zoning", "area": {"street_classes": ["C"]}, "allow": []}])
    (ref, ins), = run_pair(scenario, seeds=[5])
    keep = [c for c in ref if not c.startswith("zoning")]
    assert np.array_equal(ref[keep].to_numpy(), ins[keep].to_numpy())
    assert ins["zoning_in_force"].iloc[-1] == 1.0 and ref["zoning_in_force"].iloc[-1] == 0.0


def test_a_zone_that_leaves_the_core_loses_the_core_flag_from_its_start_year():
    scenario = load(SCENARIO, horizon_years=2, instruments=[
        {"kind": "zoning", "start_year": 2026, "area": {"street_classes": ["A2"]}, "leaves_core": True}])
    model = CityModel(scenario, seed=2)
    zone = model.municipality.instruments[0].area_mask
    a1 = model.parcels.core_area & ~zone
    for _ in range(4):                                       # 2025: the old plan holds
        model.step()
    assert model.parcels.core_area[zone].all() and not (model.parcels.allowed[zone] >> RESIDENTIAL & 1).any()
    model.step()
    assert not model.parcels.core_area[zone].any() and model.parcels.core_area[a1].all() and a1.any()
    assert (model.parcels.allowed[zone] >> RESIDENTIAL & 1).all(), "the zone became a transformation zone"


def test_planschade_beyond_the_budget_waits_and_reaches_the_owners_later():
    """A legal claim cannot be refused: what the year's budget cannot pay waits as arrears, the
    budget never goes below zero, and the owners receive the rest when the next budget comes."""
    claims = [{"kind": "zoning", "start_year": 2026, "area": {"street_classes": ["B"]}, "allow": ["residential"],
               "forbid": ["comparison"], "compensation_share": 1.0}]
    totals = {}
    for budget_eur in (2_000_000.0, 1e9):
        scenario = load(SCENARIO, horizon_years=4, agents={"municipality": {"annual_budget_eur": budget_eur}},
                        instruments=claims)
        model = CityModel(scenario, seed=11)
        budget_left = []
        for _ in range(scenario.n_steps):
            model.step()
            budget_left.append(model.municipality.budget_left_eur)
        model.municipality.check_ledger()
        assert min(budget_left) >= -1e-6, f"the budget went below zero: {min(budget_left):.0f}"
        totals[budget_eur] = (model, [r["zoning_arrears_eur"] for r in model.records])
    small, arrears = totals[2_000_000.0]
    large, no_arrears = totals[1e9]
    due, next_year = 4 + 1 + 4, 4 + 1 + 8
    assert max(no_arrears) == 0.0
    assert arrears[due] > 0.0, "claims beyond the year's budget must wait"
    assert arrears[next_year] < arrears[due], "the next year's budget pays what waited"
    paid, owed = small.municipality.instruments[0].compensation_eur, large.municipality.instruments[0].compensation_eur
    assert paid < owed and paid + small.municipality.arrears_eur("zoning") >= owed - 1e-6
