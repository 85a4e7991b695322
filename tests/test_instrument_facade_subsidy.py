"""facade_subsidy: raises the area's condition vs the baseline (CRN), stays within its budget."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair

SCENARIO = "scenarios/instruments/facade_subsidy.yaml"


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_facade_subsidy_raises_condition_in_the_area(pairs):
    ref, ins = mean_over(pairs, "facade_subsidy_area_condition_mean", reduce=lambda s: s.mean())
    assert ins > ref, f"area condition: with facade subsidy {ins:.4f}, without {ref:.4f}"


def test_facade_subsidy_spends_within_its_annual_budget(pairs):
    budget = load(SCENARIO).instruments[0].budget_eur_per_year
    for ref, ins in pairs:
        spend = ins["spend_eur_facade_subsidy"] - 80.0 * ins["staff_hours_facade_subsidy"]   # grants only
        years = (ins.index - 1) // 4
        per_year = spend.groupby(years).sum()
        assert (per_year <= budget + 1e-6).all(), f"grants per year {per_year.max():.0f} > budget {budget:.0f}"
        assert ins["net_public_cost_eur"].iloc[-1] > 0 and ref["net_public_cost_eur"].iloc[-1] == 0
        assert ins["facade_subsidy_grants"].iloc[-1] > 0


def test_facade_subsidy_without_budget_changes_nothing():
    scenario = load(SCENARIO, instruments=[{"kind": "facade_subsidy", "area": {"zones": ["edge"]},
                                           "budget_eur_per_year": 0.0}])
    (ref, ins), = run_pair(scenario, seeds=[5])
    assert np.array_equal(ref.drop(columns=[c for c in ref if "facade" in c]).to_numpy(),
                          ins.drop(columns=[c for c in ins if "facade" in c]).to_numpy())
