"""biz: footfall in the zone rises vs the baseline (CRN); the levy is spent in full, at no public cost."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair, variant
from sim.model import CityModel
from sim.outputs import simulate
from sim.scenario import Scenario
from sim.uses import IS_COMMERCIAL, VACANT

SCENARIO = "scenarios/instruments/biz.yaml"



@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_biz_raises_footfall_in_the_zone(pairs):
    ref, ins = mean_over(pairs, "biz_zone_footfall_index")
    assert ins > ref + 1.0, f"zone footfall index, last year: with BIZ {ins:.2f}, without {ref:.2f}"
    for r, i in pairs:   # every replicate, not only the mean: the uplift is the instrument's, not seed noise
        assert i["biz_zone_footfall_index"].mean() > r["biz_zone_footfall_index"].mean()


def test_biz_spends_its_levy_every_year_at_no_public_cost(pairs):
    for ref, ins in pairs:
        ins = ins.loc[1:]                                   # step 0 is the state before the first step
        years = (ins.index - 1) // 4
        levy = ins["income_eur_biz"].groupby(years).sum()
        spend = ins["spend_eur_biz"].groupby(years).sum()
        assert (levy > 0).all(), "a year without levy"
        assert np.allclose(levy, spend, rtol=1e-12), f"levy {levy.sum():.0f} vs spend {spend.sum():.0f} per year"
        assert ins["staff_hours_biz"].sum() == 0
        assert abs(ins["net_public_cost_eur"].iloc[-1]) < 1e-6 * levy.sum(), "a levy-funded BIZ costs the public"
        assert ref["income_eur_biz"].sum() == 0 and ref["biz_attraction_bonus"].max() == 0


@pytest.mark.parametrize("payer", ["owners", "users"])
def test_biz_levy_is_the_share_of_the_liable_values(payer):
    model = CityModel(load(SCENARIO, horizon_years=1, **variant(SCENARIO, payer=payer)), seed=7)
    inst = model.municipality.instruments[0]
    par = model.parcels
    use = par.flat("use")[inst.zone]
    liable = IS_COMMERCIAL[use] | ((use == VACANT) & (payer == "owners"))
    expected = inst.config.levy_share_of_value * par.flat("value_eur")[inst.zone][liable].sum()
    model.step()
    levied = model.municipality.ledger.income_eur["biz"][1]
    assert np.isclose(levied, expected), f"levy ({payer}) {levied:.2f} vs {expected:.2f} expected"


def test_biz_without_levy_changes_nothing():
    (ref, ins), = run_pair(load(SCENARIO, **variant(SCENARIO, levy_share_of_value=0.0)), seeds=[5])
    own = lambda df: df.drop(columns=[c for c in df if "biz" in c])   # noqa: E731
    assert ins["biz_levied_eur"].iloc[-1] == 0
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
