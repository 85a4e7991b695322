"""rent_subsidy: more craft and culture in the area vs the baseline (CRN); payouts stay within the budget."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair, variant
from sim.model import CityModel
from sim.outputs import simulate
from sim.uses import USE_CODE

SCENARIO = "scenarios/instruments/rent_subsidy.yaml"
STAFF_EUR_PER_HOUR = 80.0   # the baseline's staff_cost_eur_per_hour



@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_rent_subsidy_brings_more_target_sectors_into_the_area(pairs):
    ref, ins = mean_over(pairs, "rent_subsidy_target_m2", reduce=lambda s: s.mean())
    assert ins > 1.1 * ref, f"craft+culture floor in the area (m2): with rent subsidy {ins:.0f}, without {ref:.0f}"
    ref_u, ins_u = mean_over(pairs, "rent_subsidy_target_units")
    assert ins_u > ref_u, f"craft+culture units in the area, last year: with {ins_u:.1f}, without {ref_u:.1f}"


def test_rent_subsidy_pays_within_budget_and_duration(pairs):
    cfg = load(SCENARIO).instruments[0]
    for ref, ins in pairs:
        payouts = ins["spend_eur_rent_subsidy"] - STAFF_EUR_PER_HOUR * ins["staff_hours_rent_subsidy"]
        assert payouts.sum() <= cfg.budget_eur + 1e-6, f"payouts {payouts.sum():.0f} > budget {cfg.budget_eur:.0f}"
        assert np.isclose(payouts.sum(), ins["rent_subsidy_paid_eur"].iloc[-1]), "payouts off the ledger"
        grants = ins["rent_subsidy_grants"].iloc[-1]
        assert grants > 0 and ref["rent_subsidy_grants"].iloc[-1] == 0
        # no tenancy is paid longer or more than its cap allows
        cap = grants * cfg.max_eur_per_tenancy_year * cfg.duration_years
        assert payouts.sum() <= cap, f"payouts {payouts.sum():.0f} > {grants:.0f} grants × cap × duration {cap:.0f}"
        assert (ins["rent_subsidy_tenancies"] <= ins["rent_subsidy_grants"]).all()


def test_rent_subsidy_stops_when_the_budget_is_spent():
    budget = 60_000.0
    metrics = simulate(load(SCENARIO, **variant(SCENARIO, budget_eur=budget)), seed=22).metrics
    ins = metrics.pivot_table(index="step", columns="metric", values="value", observed=True)
    payouts = ins["spend_eur_rent_subsidy"] - STAFF_EUR_PER_HOUR * ins["staff_hours_rent_subsidy"]
    assert payouts.sum() <= budget + 1e-6, f"payouts {payouts.sum():.0f} > budget {budget:.0f}"
    assert ins["rent_subsidy_refused_no_budget"].iloc[-1] > 0, "a small budget never ran short"
    assert ins["rent_subsidy_grants"].iloc[-1] > 0


def test_rent_subsidy_share_answers_only_target_sectors_in_the_area_while_budget_lasts():
    model = CityModel(load(SCENARIO, horizon_years=1), seed=3)
    inst = model.municipality.instruments[0]
    mask = inst.area_mask.reshape(-1)
    outside = ~mask & model.parcels.is_parcel.reshape(-1)
    parcels = np.concatenate([np.flatnonzero(mask)[:50], np.flatnonzero(outside)[:50]])
    craft = inst.rent_support_share(model, parcels, USE_CODE["craft"])
    assert np.all(craft[:50] == 0.4) and np.all(craft[50:] == 0.0), "share outside the area or wrong in it"
    assert np.all(inst.rent_support_share(model, parcels, USE_CODE["horeca"]) == 0.0), "non-target sector supported"
    inst.committed_eur = inst.config.budget_eur     # budget fully committed
    assert np.all(inst.rent_support_share(model, parcels, USE_CODE["craft"]) == 0.0), "share answered without budget"


def test_rent_subsidy_without_budget_changes_nothing():
    (ref, ins), = run_pair(load(SCENARIO, **variant(SCENARIO, budget_eur=0.0)), seeds=[5])
    own = lambda df: df.drop(columns=[c for c in df if "rent_subsidy" in c])   # noqa: E731
    assert ins["rent_subsidy_grants"].iloc[-1] == 0
    assert np.array_equal(own(ref).to_numpy(), own(ins).to_numpy())
