"""biz: no levy without a passing support poll (art. 5 Wet BIZ); five-year terms renewed only by a new poll;
the levy is the payers' cost and the BIZ account's income, never the budget's; its effect on footfall and
vacancy is small (the national evaluation measured none)."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair, variant
from sim.model import CityModel
from sim.outputs import simulate
from sim.scenario import Scenario, ScenarioError
from sim.uses import IS_COMMERCIAL, VACANT

SCENARIO = "scenarios/instruments/biz.yaml"
own = lambda df: df.drop(columns=[c for c in df if "biz" in c])   # noqa: E731  (metrics that are not the BIZ's)


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_the_effect_on_footfall_and_vacancy_is_small(pairs):
    """The national five-year evaluation found no measured footfall effect: over 8 years the BIZ may move
    the zone's footfall index by less than 3 points and its vacancy by less than 2 percentage points."""
    for _, ins in pairs:
        assert ins["biz_levied_eur"].iloc[-1] > 0 and ins["biz_in_force"].iloc[-4:].min() == 1, "the BIZ never ran"
    ref, ins = mean_over(pairs, "biz_zone_footfall_index")
    assert abs(ins - ref) < 3.0, f"zone footfall index, last year: with BIZ {ins:.2f}, without {ref:.2f}"
    ref_v, ins_v = mean_over(pairs, "biz_area_vacancy_units")
    assert abs(ins_v - ref_v) < 0.02, f"zone vacancy, last year: with BIZ {ins_v:.4f}, without {ref_v:.4f}"
    bonus = max(i["biz_attraction_bonus"].max() for _, i in pairs)
    assert 0 < bonus <= 0.02, f"attraction uplift {bonus:.4f}: should be positive and at most 2%"


def test_the_levy_is_spent_in_full_from_the_biz_account_at_no_public_cost(pairs):
    for ref, ins in pairs:
        ins = ins.loc[1:]                                   # step 0 is the state before the first step
        years = (ins.index - 1) // 4
        levy = ins["income_eur_biz"].groupby(years).sum()
        spend = ins["spend_eur_biz"].groupby(years).sum()
        assert (levy > 0).all(), "a year in force without levy"
        assert np.allclose(levy, spend, rtol=1e-12), f"levy {levy.sum():.0f} vs spend {spend.sum():.0f} per year"
        assert np.isclose(ins["biz_owners_paid_eur"].iloc[-1], levy.sum()), "the owners did not bear the levy"
        fee = ins["biz_collection_fee_eur"].iloc[-1]
        assert np.isclose(fee, 0.03 * levy.sum()), f"collection fee {fee:.0f} of a levy of {levy.sum():.0f}"
        assert np.isclose(ins["biz_public_space_eur"].iloc[-1] + fee, levy.sum()), "levy not spent on public space"
        assert ins["staff_hours_biz"].sum() == 0
        assert abs(ins["net_public_cost_eur"].iloc[-1]) < 1e-6 * levy.sum(), "a levy-funded BIZ costs the public"
        assert ref["income_eur_biz"].sum() == 0 and ref["biz_attraction_bonus"].max() == 0


@pytest.mark.parametrize("payer", ["owners", "users"])
def test_the_levy_is_the_payers_cost_and_the_biz_accounts_income(payer):
    """Each liable unit pays clip(rate x value, floor, cap) from its payer's cash (owners: every unit;
    users: the tenant, or the owner of a vacant unit); all of it enters the BIZ account, none the budget."""
    model = CityModel(load(SCENARIO, horizon_years=1, **variant(SCENARIO, payer=payer)), seed=7)
    inst = model.municipality.instruments[0]
    seen = {}
    collect = inst._collect_levy

    def watched(m):
        owners, tenants = m.owners.cash_eur.copy(), m.businesses.cash_eur.copy()
        par = m.parcels
        use = par.flat("use")[inst.zone]
        liable = inst.zone[IS_COMMERCIAL[use] | (use == VACANT)]
        levy = np.clip(inst.config.levy_share_of_value * par.flat("value_eur")[liable],
                       inst.config.levy_min_eur, inst.config.levy_max_eur)
        by_owner = np.ones(liable.size, bool) if payer == "owners" else par.flat("use")[liable] == VACANT
        expected_owners = np.bincount(par.flat("owner")[liable][by_owner], weights=levy[by_owner], minlength=owners.size)
        expected_tenants = np.bincount(par.flat("tenant")[liable][~by_owner], weights=levy[~by_owner],
                                       minlength=tenants.size)
        out = collect(m)
        seen.update(levy=float(levy.sum()),
                    owners_ok=np.allclose(owners - m.owners.cash_eur, expected_owners, atol=1e-6),
                    tenants_ok=np.allclose(tenants - m.businesses.cash_eur, expected_tenants, atol=1e-6))
        return out

    inst._collect_levy = watched
    for _ in range(model.spy):
        model.step()
    mun = model.municipality
    assert seen["owners_ok"] and seen["tenants_ok"], f"payers' cash did not fall by their levy ({payer})"
    assert np.isclose(mun.ledger.income_eur["biz"].sum(), seen["levy"]), "levy income off the payers' payments"
    assert np.isclose(mun.biz_in_eur, seen["levy"]) and np.isclose(mun.biz_out_eur, seen["levy"]), \
        f"BIZ account in {mun.biz_in_eur:.0f}, out {mun.biz_out_eur:.0f}, levy {seen['levy']:.0f}"
    assert mun.budget_out_eur == 0.0 and mun.other_in_eur == 0.0, "the municipal budget took part in the BIZ"
    paid = inst.paid_eur["owners"] + inst.paid_eur["users"]
    assert np.isclose(paid, seen["levy"]) and (inst.paid_eur["users"] > 0) == (payer == "users")


@pytest.mark.parametrize("failing", [{"min_turnout_share": 1.0}, {"favour_probability": 0.0}])
def test_no_levy_without_a_passing_poll(failing):
    """A poll nobody can pass (everyone must vote; or nobody votes in favour): no BIZ, no levy, no effect;
    a new poll every retry_after_years."""
    (ref, ins), = run_pair(load(SCENARIO, **variant(SCENARIO, **failing)), seeds=[5])
    assert ins["biz_levied_eur"].iloc[-1] == 0 and ins["income_eur_biz"].sum() == 0
    assert ins["biz_in_force"].max() == 0 and ins["biz_terms"].iloc[-1] == 0
    assert ins["biz_polls"].iloc[-1] == 4, f"{ins['biz_polls'].iloc[-1]:.0f} polls in 8 years, 4 expected (every 2 years)"
    assert np.array_equal(own(ref).to_numpy(), own(ins).to_numpy()), "a BIZ that never came into force changed the city"


@pytest.mark.parametrize("renewal_passes", [True, False])
def test_the_term_ends_after_five_years_and_renews_only_by_a_new_poll(renewal_passes):
    model = CityModel(load(SCENARIO, horizon_years=7, **variant(SCENARIO, turnout_probability=1.0,
                                                                 favour_probability=1.0)), seed=3)
    inst = model.municipality.instruments[0]
    for _ in range(5 * model.spy):                          # the first term: years 1-5
        model.step()
    assert inst.terms == 1 and inst.polls == 1 and inst.in_force
    if not renewal_passes:
        inst.config = inst.config.model_copy(update={"favour_probability": 0.0})
    for _ in range(2 * model.spy):
        model.step()
    levy = model.municipality.ledger.income_eur["biz"][1:].reshape(-1, model.spy).sum(axis=1)
    assert (levy[:5] > 0).all(), f"levy per year in the first term: {levy[:5]}"
    assert inst.polls == 2, "no renewal poll at the end of the term"
    if renewal_passes:
        assert inst.terms == 2 and inst.in_force and (levy[5:] > 0).all(), f"renewed, levy per year {levy}"
    else:
        assert inst.terms == 1 and not inst.in_force and (levy[5:] == 0).all(), f"not renewed, levy per year {levy}"
        assert not model.parcels.flat("in_biz")[inst.zone].any()


def test_biz_without_levy_changes_nothing():
    (ref, ins), = run_pair(load(SCENARIO, **variant(SCENARIO, levy_share_of_value=0.0, levy_min_eur=0.0)), seeds=[5])
    assert ins["biz_levied_eur"].iloc[-1] == 0 and ins["biz_in_force"].iloc[-1] == 1
    assert np.array_equal(own(ref).to_numpy(), own(ins).to_numpy())


def test_after_the_biz_ends_its_bonuses_fade():
    scenario = load(SCENARIO)
    data = scenario.to_dict()
    data["instruments"][0]["end_year"] = scenario.start_year + 3
    wide = simulate(Scenario.from_dict(data), seed=3).metrics.pivot_table(
        index="step", columns="metric", values="value", observed=True)
    bonus = wide["biz_attraction_bonus"]
    at_end = bonus.loc[4 * 4]
    assert at_end > 0 and bonus.iloc[-1] < at_end, f"bonus at the end of the BIZ {at_end:.4f}, at the horizon {bonus.iloc[-1]:.4f}"
    spend_after = wide["spend_eur_biz"].loc[4 * 4 + 1:].sum()
    assert spend_after == 0.0, f"the BIZ spent EUR {spend_after:.0f} after it ended"


@pytest.mark.parametrize("bad, message", [
    ({"term_years": 6}, "term_years"),                                  # Wet BIZ: at most five years
    ({"levy_min_eur": 2000.0, "levy_max_eur": 1000.0}, "levy_max_eur 1000.0 is below levy_min_eur 2000.0"),
    ({"min_favour_share": 1.5}, "min_favour_share"),
    ({"retry_after_years": 0}, "retry_after_years"),
])
def test_bad_values_are_refused(bad, message):
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict({"instruments": [{"kind": "biz", **bad}]})


@pytest.mark.parametrize("value_rule", [True, False])
def test_a_count_majority_with_less_value_than_those_against_fails(value_rule):
    """Art. 5 Wet BIZ also weighs value: the smallest 70% of the owners in favour (a count majority above
    two thirds) and the largest 30% against fails the poll when their units hold more value."""
    model = CityModel(load(SCENARIO, horizon_years=1, **variant(SCENARIO, turnout_probability=1.0,
                                                                 value_rule=value_rule)), seed=7)
    inst = model.municipality.instruments[0]
    parcels, by_owner, slot = inst._payers(model)
    voters, where = np.unique(slot, return_inverse=True)
    value = np.bincount(where, weights=model.parcels.flat("value_eur")[parcels])
    small = value <= np.quantile(value, 0.7)               # these vote in favour
    assert small.mean() >= 2 / 3 and value[~small].sum() > value[small].sum(), "precondition of the construction"
    uniform = model.streams.uniform

    def crafted(purpose, step, entities, k=0):
        if purpose.endswith("poll_vote"):                   # in favour exactly when small (entities = voters, sorted)
            assert np.array_equal(entities, voters)
            return np.where(small, 0.0, 1.0)
        return uniform(purpose, step, entities, k)

    model.streams.uniform = crafted
    model.step()
    assert np.isclose(inst.last_poll["favour"], small.mean())
    assert inst.in_force == (not value_rule), f"value rule {value_rule}: in force {inst.in_force}, " \
        f"value in favour {inst.last_poll['value_favour']:.2f}"
