"""preemption: municipal ownership and craft/culture floor in the area rise vs the baseline (CRN);
the fund never goes negative; no owner is forced to sell; the designation lapses; no fund buys nothing."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair
from sim.outputs import simulate

SCENARIO = "scenarios/instruments/preemption.yaml"
SHORT_YEARS = 3                      # horizon of the limit checks: enough for several offers and purchases


def _wide(result):
    return result.metrics.pivot_table(index="step", columns="metric", values="value", observed=True)


def _with(horizon_years=SHORT_YEARS, agents=None, **settings):
    """The scenario with its preemption settings changed (and optionally agent parameters)."""
    inst = {**load(SCENARIO).instruments[0].model_dump(mode="json"), **settings}
    overrides = {"horizon_years": horizon_years, "instruments": [inst]}
    if agents:
        overrides["agents"] = agents
    return load(SCENARIO, **overrides)


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_preemption_raises_municipal_ownership_and_craft_culture_floor(pairs):
    ref, ins = mean_over(pairs, "preemption_area_municipal_parcels")
    assert ref == 0 and ins >= 5, f"municipal parcels in the area: with pre-emption {ins:.1f}, without {ref:.1f}"
    ref, ins = mean_over(pairs, "preemption_area_craft_culture_m2")
    assert ins > ref * 1.02, f"craft+culture floor in the area (m2): with pre-emption {ins:.0f}, without {ref:.0f}"


def test_preemption_buys_only_what_is_offered_and_the_fund_pays_for(pairs):
    fund0 = load(SCENARIO).instruments[0].fund_eur
    for ref, ins in pairs:
        last = ins.iloc[-1]
        assert 0 < last["preemption_purchases"] == last["preemption_offers"] - last["preemption_offers_declined"]
        assert ins["property_fund_eur"].min() >= 0.0, f"fund went negative: {ins['property_fund_eur'].min():.0f}"
        # purchases are paid from the capital plus what came back (rents, resales), never more
        back = last["preemption_rent_income_eur"] + last["preemption_resale_eur"]
        assert last["preemption_purchase_eur"] <= fund0 + back
        assert ins["income_eur_preemption"].sum() > 0, "rents of municipal units should flow back into the fund"
        assert ref["property_fund_eur"].iloc[-1] == fund0


def test_a_small_fund_limits_purchases_and_never_goes_negative():
    w = _wide(simulate(_with(fund_eur=600_000.0), seed=22))
    assert w["preemption_purchases"].iloc[-1] >= 1, "a EUR 0.6M fund should buy something in 3 years"
    assert w["preemption_offers_unaffordable"].iloc[-1] > 0, "the small fund should have had to decline wanted parcels"
    assert w["property_fund_eur"].min() >= 0.0, f"fund went negative: {w['property_fund_eur'].min():.0f}"
    assert w["preemption_purchase_eur"].iloc[-1] <= 600_000.0 + w["income_eur_preemption"].sum()


def test_preemption_forces_no_sale():
    never_sell = {k: {"sale_per_year": 0.0} for k in ("institutional", "private", "local", "corporation")}
    w = _wide(simulate(_with(agents={"owners": {"kinds": never_sell}}), seed=22))
    assert w["sales"].sum() == 0
    assert w["preemption_offers"].iloc[-1] == 0 and w["preemption_purchases"].iloc[-1] == 0
    assert w["preemption_area_municipal_parcels"].iloc[-1] == 0


def test_designation_lapses_after_its_period():
    # provisional quarter + 1 year, no extension: in force in steps 1..5
    w = _wide(simulate(_with(period_years=1.0, extension_years=0.0), seed=22))
    designated = w["preemption_designated"]
    assert designated.loc[1:5].eq(1.0).all() and designated.loc[6:].eq(0.0).all(), designated.to_dict()
    offers = w["preemption_offers"]
    assert offers.loc[5] > 0, "owners should have offered parcels while the designation was in force"
    assert offers.loc[5:].nunique() == 1, "offers after the designation lapsed"
    assert w["preemption_purchases"].loc[5:].nunique() == 1, "purchases after the designation lapsed"


def test_preemption_without_a_fund_buys_nothing_and_changes_nothing_but_staff():
    (ref, ins), = run_pair(_with(fund_eur=0.0), seeds=[5])
    assert ins["preemption_offers"].iloc[-1] > 0 and ins["preemption_purchases"].iloc[-1] == 0
    assert ins["staff_hours_preemption"].sum() > 0   # the designation and the answers to offers still take staff
    own = [c for c in ref if "preemption" in c or c in ("municipal_spend_eur", "net_public_cost_eur", "net_public_cash_eur")]
    assert np.array_equal(ref.drop(columns=own).to_numpy(), ins.drop(columns=own).to_numpy())
