"""transformation_subsidy (gap funding): a conversion that pays without a grant gets nothing; a grant
never exceeds the appraised gap nor the caps; more conversions than the baseline (CRN); payouts never
exceed the budget; deadweight is measured and costs less than a flat per-m2 grant's; no budget, no effect."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crn import load, mean_over, run_pair
from sim.instruments.transformation_subsidy import TransformationSubsidy
from sim.model import CityModel
from sim.scenario import ScenarioError
from sim.uses import USE_CODE, VACANT

SCENARIO = "scenarios/instruments/transformation_subsidy.yaml"
NAME = "transformation_subsidy"
RETAIL = ("comparison", "independent", "daily")


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_gap_funding_brings_more_conversions(pairs):
    """Since 0.5 the effect is small: a vacant shop on a residential street is let at the residual
    rent of its best use, and the capped grant (33% of the cost, EUR 50,000) closes few gaps.
    Measured on the five seeds: 10 grants (4, 2, 0, 1, 3), conversions to housing 19.6 against
    19.15 (+1, 0, 0, 0, +2), vacancy in the area 9.2% against 9.7% in the last year (lower on four
    seeds, equal on the one without a grant). Before 0.5 the test asked for more than one extra
    conversion (of any kind; 0.5 adds changes of use, which the subsidy does not fund)."""
    for ref, ins in pairs:
        assert ins["conversions_housing"].iloc[-1] >= ref["conversions_housing"].iloc[-1], \
            "the subsidy cost a conversion to housing on a seed"
    ref, ins = mean_over(pairs, "conversions_housing")
    assert ins > ref, f"conversions to housing by the horizon: with the subsidy {ins:.2f}, without {ref:.2f}"
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
        assert ref["net_public_cost_eur"].iloc[-1] == 0    # grants on four of the five seeds since 0.5
        # every grant within its caps: on average at most the per-project cap, and never above the gaps
        grants, granted = ins[f"{NAME}_grants"].iloc[-1], ins[f"{NAME}_granted_eur"].iloc[-1]
        assert granted <= 50_000.0 * grants + 1e-6
        assert granted <= ins[f"{NAME}_gap_appraised_eur"].iloc[-1] + 1e-6
    assert sum(ins[f"{NAME}_grants"].iloc[-1] > 0 for _, ins in pairs) >= 3, "the rules were tested on too few grants"


@settings(deadline=None, max_examples=5)
@given(budget_eur=st.floats(0.0, 800_000.0), share=st.floats(0.0, 1.0), cap=st.floats(0.0, 200_000.0),
       seed=st.integers(0, 10_000))
def test_payouts_never_exceed_the_budget_nor_the_caps(budget_eur, share, cap, seed):
    scenario = load(SCENARIO, horizon_years=5, instruments=[
        {"kind": NAME, "area": {"zones": ["residential"]}, "budget_eur": budget_eur, "max_share_of_cost": share,
         "max_eur_per_project": cap}])
    model = CityModel(scenario, seed=seed)
    inst = model.municipality.instruments[0]
    seen = []
    commit = TransformationSubsidy.conversion_subsidy

    def watch(self, model, parcel, cost_eur, commit_now):
        # the caps at the moment of the application: gap and cost as the appraisal sees them
        gap = self.appraised_gap_eur(model, parcel, cost_eur)
        grant = commit(self, model, parcel, cost_eur, commit_now)
        if commit_now and grant > 0:
            seen.append((grant, gap, cost_eur))
        return grant

    inst.conversion_subsidy = watch.__get__(inst)      # the municipality asks the instance's attribute
    for _ in range(scenario.n_steps):
        model.step()
    ledger = model.municipality.ledger
    paid = (ledger.spend_eur[NAME] - model.municipality.staff_cost_eur_per_hour * ledger.staff_hours[NAME]).sum()
    assert paid <= budget_eur + 1e-6, f"grants {paid:.0f} > budget {budget_eur:.0f}"
    assert np.isclose(paid, inst.granted_eur) and np.isclose(inst.budget_left_eur, budget_eur - paid)
    assert len(seen) == inst.grants
    for grant, gap, cost in seen:
        assert grant <= min(share * cost, cap, gap) + 1e-6, f"grant {grant:.0f}: gap {gap:.0f}, cost {cost:.0f}"
    model.municipality.check_ledger()


def test_a_small_budget_runs_out_first_come_first_served():
    """Since 0.5 few owners on residential streets apply (one or two grants per seed in eight years),
    so a budget of EUR 100,000 is no longer spent in the first years (on this seed: grants in
    steps 11 and 31, no refusal). A budget of one project's cap is: the first grant leaves too
    little for the next application at the cap, which is refused, not paid in part."""
    budget = load(SCENARIO).instruments[0].max_eur_per_project
    scenario = load(SCENARIO, instruments=[{"kind": NAME, "area": {"zones": ["residential"]}, "budget_eur": budget}])
    (ref, ins), = run_pair(scenario, seeds=[22])
    paid = _payouts(ins)
    assert 0 < paid.sum() <= budget, f"grants {paid.sum():.0f}, budget {budget:.0f}"
    first_grant = int(np.flatnonzero(paid > 0)[0])
    # what is left cannot pay a further application in full: refused at the ceiling and counted
    refused = ins[f"{NAME}_refused_ceiling"]
    assert refused.iloc[-1] > 0, "applications after the budget ran out are refused"
    assert refused.loc[:first_grant].max() == 0, "an application was refused before the budget was touched"
    assert ins[f"{NAME}_budget_left_eur"].iloc[-1] < budget

def _retail_unit(model, inst, worth_more_as_housing: bool = False) -> int:
    """A small vacant retail unit in the area (optionally one whose appraised gap at no cost is
    negative: its value as housing exceeds its value as a shop)."""
    par = model.parcels
    vacant = par.flat("use") == VACANT
    retail = np.isin(par.flat("last_use"), [USE_CODE[u] for u in RETAIL])
    in_area = inst.area_mask.reshape(-1)
    units = np.flatnonzero(vacant & in_area & retail & (par.flat("floor_m2") < 150))
    if worth_more_as_housing:
        units = units[[inst.appraised_gap_eur(model, int(p), 0.0) < 0.0 for p in units]]
    return int(units[0])


def test_a_conversion_that_pays_without_a_grant_gets_nothing():
    """Constructed case: the unit is worth nothing as a shop, the works are cheap and the owner has the
    cash: the conversion pays by itself, the appraisal shows no gap, and no grant is offered."""
    model = CityModel(load(SCENARIO, horizon_years=1), seed=1)
    inst = model.municipality.instruments[0]
    par = model.parcels
    p = _retail_unit(model, inst)
    par.flat("market_rent_eur_m2")[p] = 0.0
    par.flat("value_eur")[p] = 0.0
    par.flat("appraisal_rent_eur_m2")[p] = 0.0
    model.owners.cash_eur[par.flat("owner")[p]] = 1e9
    housing = inst.housing_value_eur(model, p)
    cost = 0.5 * housing
    assert inst.appraised_gap_eur(model, p, cost) < 0
    assert inst.would_convert_anyway(model, p, cost), "the owner's own test passes without a grant"
    assert inst.conversion_subsidy(model, p, cost, commit=False) == 0.0
    assert inst.conversion_subsidy(model, p, cost, commit=True) == 0.0
    assert inst.grants == 0 and inst.refused_no_gap == 1 and model.municipality.ledger.spend_eur[NAME].sum() == 0.0


def test_grant_rules():
    model = CityModel(load(SCENARIO, horizon_years=1), seed=1)
    inst = model.municipality.instruments[0]
    cfg = inst.config
    par = model.parcels
    # a unit worth more as housing than as a vacant shop, as gap funding's candidates are (since 0.5
    # some vacant shops on residential streets are worth more as shops, e.g. the first small one here)
    p = _retail_unit(model, inst, worth_more_as_housing=True)
    before = inst.appraised_gap_eur(model, p, 0.0)           # market value now minus value as housing
    # a small gap: the grant is the gap, not the cap
    cost = 1_000.0 - before
    assert inst.appraised_gap_eur(model, p, cost) == pytest.approx(1_000.0)
    assert inst.conversion_subsidy(model, p, cost, commit=False) == pytest.approx(min(1_000.0, cfg.max_share_of_cost * cost))
    # a large gap: the co-funding share or the per-project cap binds
    cost = 2_000_000.0
    assert inst.conversion_subsidy(model, p, cost, commit=False) == pytest.approx(cfg.max_eur_per_project)
    cost = 60_000.0
    gap = inst.appraised_gap_eur(model, p, cost)
    assert inst.conversion_subsidy(model, p, cost, commit=False) == pytest.approx(
        min(cfg.max_share_of_cost * cost, cfg.max_eur_per_project, max(gap, 0.0)))
    # outside the area or not retail: nothing
    vacant = par.flat("use") == VACANT
    in_area = inst.area_mask.reshape(-1)
    retail = np.isin(par.flat("last_use"), [USE_CODE[u] for u in RETAIL])
    outside = int(np.flatnonzero(vacant & ~in_area & retail & par.is_parcel.reshape(-1))[0])
    assert inst.conversion_subsidy(model, outside, 2_000_000.0, commit=False) == 0.0
    other = np.flatnonzero(vacant & in_area & (par.flat("last_use") == USE_CODE["services"]))
    if other.size:
        assert inst.conversion_subsidy(model, int(other[0]), 2_000_000.0, commit=False) == 0.0, "services are not retail"
    # the ceiling refuses, it does not pay part; a commit without an application pays nothing
    inst.budget_left_eur = cfg.max_eur_per_project - 1.0
    assert inst.conversion_subsidy(model, p, 2_000_000.0, commit=False) == 0.0
    assert inst.conversion_subsidy(model, p, 2_000_000.0, commit=True) == 0.0
    assert inst.refused_ceiling == 1 and inst.grants == 0 and model.municipality.ledger.spend_eur[NAME].sum() == 0.0


def test_deadweight_is_measured_and_costs_less_than_a_flat_grant(pairs, monkeypatch):
    """Deadweight: grants to conversions the owner would have made without them. Gap funding still pays
    some (the owner's test discounts holding by its fading belief, the appraisal does not), but it pays
    them less than the old flat grant of EUR 650 per m2 up to EUR 100,000 on the same seeds."""
    dead_eur = np.mean([ins[f"{NAME}_deadweight_eur"].iloc[-1] for _, ins in pairs])
    dead_n = np.mean([ins[f"{NAME}_deadweight_grants"].iloc[-1] for _, ins in pairs])
    grants = np.mean([ins[f"{NAME}_grants"].iloc[-1] for _, ins in pairs])
    assert 0 <= dead_n < grants, f"deadweight grants {dead_n:.1f} of {grants:.1f}"

    def flat(self, model, parcel, cost_eur):
        return min(650.0 * float(model.parcels.flat("floor_m2")[parcel]), 100_000.0, cost_eur), 0.0

    monkeypatch.setattr(TransformationSubsidy, "amount_eur", flat)
    flat_pairs = run_pair(load(SCENARIO), seeds=[11, 22, 33])
    flat_eur = np.mean([ins[f"{NAME}_deadweight_eur"].iloc[-1] for _, ins in flat_pairs])
    gap_eur = np.mean([ins[f"{NAME}_deadweight_eur"].iloc[-1] for _, ins in pairs[:3]])
    assert gap_eur < flat_eur, f"deadweight EUR: gap funding {gap_eur:.0f}, flat per-m2 grant {flat_eur:.0f}"
    share = np.mean([ins[f"{NAME}_deadweight_share"].iloc[-1] for _, ins in pairs])
    assert share < 0.89, f"deadweight share of the granted EUR {share:.2f}"
    assert dead_eur <= np.mean([ins[f"{NAME}_granted_eur"].iloc[-1] for _, ins in pairs])


def test_transformation_subsidy_without_budget_changes_nothing():
    scenario = load(SCENARIO, instruments=[{"kind": NAME, "area": {"zones": ["residential"]}, "budget_eur": 0.0}])
    (ref, ins), = run_pair(scenario, seeds=[5])
    keep = [c for c in ref if NAME not in c]
    assert np.array_equal(ref[keep].to_numpy(), ins[keep].to_numpy())
    assert ins[f"{NAME}_grants"].iloc[-1] == 0


@pytest.mark.parametrize("setting, message", [({"max_share_of_cost": 1.5}, "max_share_of_cost"),
                                              ({"max_eur_per_project": -1.0}, "max_eur_per_project"),
                                              ({"basis": "per_m2"}, "basis"), ({"eur_per_m2": 650}, "eur_per_m2")])
def test_bad_or_removed_settings_give_a_clear_error(setting, message):
    with pytest.raises(ScenarioError, match=message):
        load(SCENARIO, instruments=[{"kind": NAME, "area": {"zones": ["residential"]}, **setting}])
