"""preemption: municipal ownership and craft/culture floor in the area rise vs the baseline (CRN);
a purchase waits for the decision, the negotiation and the council (months); without agreement the
owner withdraws or the court sets the price; pending deals reserve the fund, which never goes negative;
no owner is forced to sell; the designation lapses; no fund buys nothing."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair
from sim.outputs import simulate
from sim.scenario import ScenarioError

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
    # Since 0.5 the effect is small (+1.7% over the 5 seeds): 1-5 units let to makers, culture and
    # independents in 8 years, some displacing a maker who would have come anyway. Asserted as a rise.
    ref, ins = mean_over(pairs, "preemption_area_craft_culture_m2")
    assert ins > ref, f"craft+culture floor in the area (m2): with pre-emption {ins:.0f}, without {ref:.0f}"
    assert all(i["preemption_lettings"].iloc[-1] >= 1 for _, i in pairs), "every seed should let a bought unit"


def test_preemption_buys_only_what_is_offered_and_the_fund_pays_for(pairs):
    fund0 = load(SCENARIO).instruments[0].fund_eur
    for ref, ins in pairs:
        last = ins.iloc[-1]
        wanted = last["preemption_offers"] - last["preemption_offers_declined"]
        settled = (last["preemption_purchases"] + last["preemption_offers_withdrawn"]
                   + last["preemption_deals_pending"] + last["preemption_deals_fallen_through"])
        assert 0 < last["preemption_purchases"] and settled == wanted, f"wanted {wanted:.0f}, accounted for {settled:.0f}"
        free = ins["property_fund_eur"] - ins["preemption_reserved_eur"]
        assert free.min() >= -1e-6, f"the fund fell below what pending deals reserved: {free.min():.0f}"
        # purchases are paid from the capital plus what came back (rents, resales), never more
        back = last["preemption_rent_income_eur"] + last["preemption_resale_eur"]
        assert last["preemption_purchase_eur"] <= fund0 + back
        assert ins["income_eur_preemption"].sum() > 0, "rents of municipal units should flow back into the fund"
        assert ref["property_fund_eur"].iloc[-1] == fund0


def _lag_steps(c, court=False) -> int:
    months = 12 * c.decision_weeks / 52 + c.negotiation_months + c.decision_months + (c.court_months if court else 0)
    return round(months / 12 * 4)


def test_a_purchase_waits_for_the_decision_negotiation_and_council(pairs):
    lag = _lag_steps(load(SCENARIO).instruments[0])
    assert lag >= 2
    for _, ins in pairs:
        bought = ins["preemption_purchases"].to_numpy()
        wanted = (ins["preemption_offers"] - ins["preemption_offers_declined"]).to_numpy()
        early = bought[lag:] - wanted[:-lag]
        assert early.max() <= 0, f"purchases ahead of the offers wanted {lag} steps earlier: {early.max():.0f}"
        assert bought[:lag + 1].max() == 0, "a purchase within the first steps after the designation"


def test_without_agreement_the_owner_withdraws_or_the_court_sets_the_price():
    w = _wide(simulate(_with(agree_share=0.0, owner_withdraws_share=1.0), seed=22))
    assert w["preemption_offers_withdrawn"].iloc[-1] > 0
    assert w["preemption_purchases"].iloc[-1] == 0, "an owner who withdrew was made to sell"
    assert w["preemption_area_municipal_parcels"].iloc[-1] == 0
    c = load(SCENARIO).instruments[0]
    w = _wide(simulate(_with(horizon_years=4, agree_share=0.0, owner_withdraws_share=0.0), seed=22))
    cases = w["preemption_court_cases"]
    assert cases.iloc[-1] > 0 and w["preemption_court_cost_eur"].iloc[-1] == cases.iloc[-1] * c.court_cost_eur
    bought = w["preemption_purchases"].to_numpy()
    lag = _lag_steps(c, court=True)
    assert bought[lag:].max() > 0, "the court's price should lead to purchases"
    early = bought[lag:] - cases.to_numpy()[:-lag]
    assert early.max() <= 0 and bought[:lag + 1].max() == 0, f"a purchase before the court ruled (lag {lag} steps)"


def test_bad_settings_give_a_clear_error():
    for key, bad in (("agree_share", 1.2), ("court_months", -3.0), ("decision_weeks", 60.0)):
        with pytest.raises(ScenarioError, match=key):
            _with(**{key: bad})


def test_a_small_fund_limits_purchases_and_never_goes_negative():
    # five years, not three: since 0.5 few of the parcels offered in the area are wanted (vacant or in
    # poor condition): on this seed 2 of 88 offers in three years, one owner withdrew and one deal fell
    # through, so no purchase; in five years one (EUR 0.30M) and 7 wanted parcels declined as unaffordable
    w = _wide(simulate(_with(horizon_years=5, fund_eur=600_000.0), seed=22))
    assert w["preemption_purchases"].iloc[-1] >= 1, "a EUR 0.6M fund should buy something in 5 years"
    assert w["preemption_offers_unaffordable"].iloc[-1] > 0, "the small fund should have had to decline wanted parcels"
    assert w["property_fund_eur"].min() >= 0.0, f"fund went negative: {w['property_fund_eur'].min():.0f}"
    free = w["property_fund_eur"] - w["preemption_reserved_eur"]
    assert free.min() >= -1e-6, f"reserved more than the fund holds: free money {free.min():.0f}"
    assert w["preemption_arrears_eur"].max() == 0, "a purchase was left unpaid"
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
    # negotiations opened while it was in force run their course (at most the court route), none after
    last_close = 5 + _lag_steps(load(SCENARIO).instruments[0], court=True)
    assert w["preemption_purchases"].loc[last_close:].nunique() == 1, "purchases of offers made after the lapse"


def test_preemption_without_a_fund_buys_nothing_and_changes_nothing_but_staff():
    (ref, ins), = run_pair(_with(fund_eur=0.0), seeds=[5])
    assert ins["preemption_offers"].iloc[-1] > 0 and ins["preemption_purchases"].iloc[-1] == 0
    assert ins["staff_hours_preemption"].sum() > 0   # the designation and the answers to offers still take staff
    own = [c for c in ref if "preemption" in c or c in ("municipal_spend_eur", "net_public_cost_eur", "net_public_cash_eur")]
    assert np.array_equal(ref.drop(columns=own).to_numpy(), ins.drop(columns=own).to_numpy())
