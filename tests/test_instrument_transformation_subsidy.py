"""transformation_subsidy: more conversions than the baseline (CRN); payouts never exceed the
budget; grants follow the rules (area, eligible uses, cap, ceiling); no budget, no effect."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crn import load, mean_over, run_pair
from sim.model import CityModel
from sim.uses import USE_CODE, VACANT

SCENARIO = "scenarios/instruments/transformation_subsidy.yaml"
NAME = "transformation_subsidy"


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_transformation_subsidy_brings_more_conversions(pairs):
    ref, ins = mean_over(pairs, "conversions_total")
    assert ins > ref + 2, f"conversions by the horizon: with the subsidy {ins:.1f}, without {ref:.1f}"
    ref, ins = mean_over(pairs, f"{NAME}_area_vacancy_units")
    assert ins < ref, f"vacancy in the area in the last year: with the subsidy {ins:.4f}, without {ref:.4f}"


def _payouts(metrics, staff_cost_eur_per_hour: float = 80.0):
    """Grants booked per step: the instrument's spend minus its staff cost."""
    return metrics[f"spend_eur_{NAME}"] - staff_cost_eur_per_hour * metrics[f"staff_hours_{NAME}"]


def test_payouts_stay_within_the_budget_and_match_the_ledger(pairs):
    budget = load(SCENARIO).instruments[0].budget_eur
    for ref, ins in pairs:
        paid = _payouts(ins).sum()
        assert paid <= budget + 1e-6, f"grants {paid:.0f} > budget {budget:.0f}"
        assert np.isclose(paid, ins[f"{NAME}_granted_eur"].iloc[-1])
        assert np.isclose(ins[f"{NAME}_budget_left_eur"].iloc[-1], budget - paid)
        assert ins[f"{NAME}_grants"].iloc[-1] > 0 and ref["net_public_cost_eur"].iloc[-1] == 0


@settings(deadline=None, max_examples=5)
@given(budget_eur=st.floats(0.0, 800_000.0), eur_per_m2=st.floats(100.0, 1500.0),
       basis=st.sampled_from(["per_m2", "cost_share"]), seed=st.integers(0, 10_000))
def test_payouts_never_exceed_the_budget(budget_eur, eur_per_m2, basis, seed):
    scenario = load(SCENARIO, horizon_years=5, instruments=[
        {"kind": NAME, "area": {"zones": ["residential"]}, "budget_eur": budget_eur, "eur_per_m2": eur_per_m2,
         "basis": basis, "cost_share": 0.4}])
    model = CityModel(scenario, seed=seed)
    for _ in range(scenario.n_steps):
        model.step()
    inst = model.municipality.instruments[0]
    ledger = model.municipality.ledger
    paid = (ledger.spend_eur[NAME] - model.municipality.staff_cost_eur_per_hour * ledger.staff_hours[NAME]).sum()
    assert paid <= budget_eur + 1e-6, f"grants {paid:.0f} > budget {budget_eur:.0f}"
    assert np.isclose(paid, inst.granted_eur) and np.isclose(inst.budget_left_eur, budget_eur - paid)
    model.municipality.check_ledger()


def test_a_small_budget_runs_out_first_come_first_served():
    budget = 150_000.0
    scenario = load(SCENARIO, instruments=[{"kind": NAME, "area": {"zones": ["residential"]}, "budget_eur": budget}])
    (ref, ins), = run_pair(scenario, seeds=[22])
    paid = _payouts(ins)
    assert 0 < paid.sum() <= budget, f"grants {paid.sum():.0f}, budget {budget:.0f}"
    last_grant = int(np.flatnonzero(paid > 0)[-1])
    assert last_grant < len(paid) - 8, "the budget should be spent within the first years"
    # a remaining budget below the typical grant refuses further applications (subsidy ceiling)
    assert ins[f"{NAME}_budget_left_eur"].iloc[-1] < 650.0 * 200


def test_grant_rules():
    scenario = load(SCENARIO, horizon_years=1)
    model = CityModel(scenario, seed=1)
    inst = model.municipality.instruments[0]
    par = model.parcels
    last_use = par.flat("last_use")
    vacant = par.flat("use") == VACANT
    in_area = inst.area_mask.reshape(-1)
    retail = np.isin(last_use, [USE_CODE[u] for u in ("comparison", "independent", "daily")])
    p = int(np.flatnonzero(vacant & in_area & retail & (par.flat("floor_m2") < 150))[0])
    floor = float(par.flat("floor_m2")[p])
    cost = 1400.0 * floor
    assert inst.conversion_subsidy(model, p, cost, commit=False) == pytest.approx(650.0 * floor)
    assert inst.conversion_subsidy(model, p, 100.0, commit=False) == pytest.approx(100.0), "never above the cost"
    outside = int(np.flatnonzero(vacant & ~in_area & retail & par.is_parcel.reshape(-1))[0])
    assert inst.conversion_subsidy(model, outside, cost, commit=False) == 0.0
    other = np.flatnonzero(vacant & in_area & (last_use == USE_CODE["services"]))
    if other.size:
        assert inst.conversion_subsidy(model, int(other[0]), cost, commit=False) == 0.0, "services are not retail"
    inst.budget_left_eur = 650.0 * floor - 1.0
    assert inst.conversion_subsidy(model, p, cost, commit=True) == 0.0, "the ceiling refuses, it does not pay part"
    assert inst.grants == 0 and model.municipality.ledger.spend_eur[NAME].sum() == 0.0


def test_transformation_subsidy_without_budget_changes_nothing():
    scenario = load(SCENARIO, instruments=[{"kind": NAME, "area": {"zones": ["residential"]}, "budget_eur": 0.0}])
    (ref, ins), = run_pair(scenario, seeds=[5])
    keep = [c for c in ref if NAME not in c]
    assert np.array_equal(ref[keep].to_numpy(), ins[keep].to_numpy())
    assert ins[f"{NAME}_grants"].iloc[-1] == 0
