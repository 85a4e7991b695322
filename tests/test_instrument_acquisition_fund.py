"""acquisition_fund: long-term vacancy in the area falls vs the baseline (CRN); the fund revolves
(rents and resales booked as income) and never goes negative; negotiations stay within capacity;
known fronts are closed; no fund changes nothing."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair
from sim.outputs import simulate

SCENARIO = "scenarios/instruments/acquisition_fund.yaml"


def _with(**settings):
    """The scenario (3-year horizon) with its acquisition_fund settings changed."""
    inst = {**load(SCENARIO).instruments[0].model_dump(mode="json"), **settings}
    return load(SCENARIO, horizon_years=3, instruments=[inst])


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_acquisition_fund_cuts_longterm_vacancy_in_the_area(pairs):
    ref, ins = mean_over(pairs, "acquisition_fund_area_longterm_vacant_m2")
    assert ins < 0.8 * ref, f"floor vacant > 1 year in the area (m2): with the fund {ins:.0f}, without {ref:.0f}"
    ref, ins = mean_over(pairs, "acquisition_fund_area_longterm_vacancy_1y")
    assert ins < ref, f"share of vacant floor vacant > 1 year in the area: with the fund {ins:.3f}, without {ref:.3f}"


def test_the_fund_revolves_and_never_goes_negative(pairs):
    for ref, ins in pairs:
        last = ins.iloc[-1]
        assert last["acquisition_fund_resales"] > 0, "let units bought in the first years are resold after 5 years"
        income = ins["income_eur_acquisition_fund"].sum()
        back = last["acquisition_fund_rent_income_eur"] + last["acquisition_fund_resale_eur"]
        assert np.isclose(income, back) and income > 0, f"income booked {income:.0f}, rents + resales {back:.0f}"
        assert ins["property_fund_eur"].min() >= 0.0, f"fund went negative: {ins['property_fund_eur'].min():.0f}"
        assert ref["acquisition_fund_purchases"].iloc[-1] == 0


def test_negotiations_stay_within_staff_capacity(pairs):
    capacity = load(SCENARIO).instruments[0].offers_per_year
    for _, ins in pairs:
        offers = ins["acquisition_fund_offers"]
        per_year = offers.loc[::4].diff().dropna()          # steps 0, 4, 8, ...: calendar years
        assert per_year.max() <= capacity + 1, f"{per_year.max():.0f} negotiations in a year, capacity {capacity:.0f}"
        last = ins.iloc[-1]
        accepted = last["acquisition_fund_offers"] - last["acquisition_fund_offers_refused"]
        assert last["acquisition_fund_purchases"] == accepted, "a purchase without an accepted offer"


def test_known_fronts_are_bought_out_and_closed(pairs):
    closed = np.mean([ins["acquisition_fund_fronts_closed"].iloc[-1] for _, ins in pairs])
    assert closed > 0
    ref, ins = mean_over(pairs, "fronts_active")
    assert ins < ref, f"active fronts: with the fund {ins:.1f}, without {ref:.1f}"


def test_a_small_fund_buys_what_it_can_pay_for_and_stays_positive():
    w = simulate(_with(fund_eur=1_000_000.0), seed=22).metrics.pivot_table(
        index="step", columns="metric", values="value", observed=True)
    bought = w["acquisition_fund_purchases"].iloc[-1]
    assert 1 <= bought <= 6, f"a EUR 1M fund bought {bought:.0f} parcels"
    assert w["property_fund_eur"].min() >= 0.0, f"fund went negative: {w['property_fund_eur'].min():.0f}"


def test_acquisition_fund_without_a_fund_changes_nothing():
    (ref, ins), = run_pair(_with(fund_eur=0.0), seeds=[5])
    assert ins["acquisition_fund_offers"].iloc[-1] == 0
    own = [c for c in ref if "acquisition_fund" in c]
    assert np.array_equal(ref.drop(columns=own).to_numpy(), ins.drop(columns=own).to_numpy())
