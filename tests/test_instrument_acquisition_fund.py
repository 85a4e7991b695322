"""acquisition_fund: purchases at market value after a negotiation of months and the council's decision;
the money of pending deals is reserved (the fund never overcommits or goes negative); the pace per EUR 10M
lands in the evidence range (Rotterdam: 4 shops in ~2.5 years with EUR 9M); resales can lose money;
it re-lets its units, long-term vacancy in the area moves little (since 0.5: thin demand) and known fronts are
closed (CRN); no fund changes nothing."""

import numpy as np
import pytest

from crn import HORIZON_YEARS, load, mean_over, run_pair
from sim.model import CityModel
from sim.outputs import simulate
from sim.scenario import ScenarioError
from sim.uses import CONVERSION, VACANT

SCENARIO = "scenarios/instruments/acquisition_fund.yaml"
PACE_RANGE = (1.0, 4.0)   # purchases a year per EUR 10M of fund: Rotterdam's start ~1.8, at most ~4 (docs)


def _with(horizon_years=3, **settings):
    """The scenario with its acquisition_fund settings changed."""
    inst = {**load(SCENARIO).instruments[0].model_dump(mode="json"), **settings}
    return load(SCENARIO, horizon_years=horizon_years, instruments=[inst])


def _wide(result):
    return result.metrics.pivot_table(index="step", columns="metric", values="value", observed=True)


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_acquisition_fund_relets_its_units_but_moves_longterm_vacancy_in_the_area_little(pairs):
    """At the evidence-true pace (about one purchase a year) the fund holds a handful of units, and since
    0.5 it no longer cuts long-term vacancy in the area: two thirds of its purchases close known fronts
    (21 of 33 on these seeds), and with thin demand (would-be entrants about as many as leavers) the
    tenants of its discounted units are tenants other vacant units in the area do not get. Measured
    in the last year: floor vacant > 1 year 1,027 m2 with the fund, 982 without (+4.6%; over 20 seeds
    +35 +- 43 m2, +2.8%), vacancy in the area 7.2% either way (+0.08 +- 0.13 points over 20 seeds).
    Before 0.5 it fell a little (the test asked for 0-30% less). The test: the fund re-lets what it
    buys on every seed, and the area's long-term vacant floor and vacancy move little either way."""
    for _, ins in pairs:
        assert ins["acquisition_fund_lettings"].iloc[-1] > 0, "the fund let none of its units"
    ref, ins = mean_over(pairs, "acquisition_fund_area_longterm_vacant_m2")
    assert abs(ins - ref) < 0.25 * ref, f"floor vacant > 1 year in the area (m2): with the fund {ins:.0f}, without {ref:.0f}"
    ref, ins = mean_over(pairs, "acquisition_fund_area_vacancy_units")
    assert abs(ins - ref) < 0.01, f"vacancy in the area, last year: with the fund {ins:.4f}, without {ref:.4f}"


def test_pace_per_ten_million_lands_in_the_evidence_range(pairs):
    cfg = load(SCENARIO).instruments[0]
    per_10m = cfg.fund_eur / 1e7
    spy = 4
    whole = np.mean([ins["acquisition_fund_purchases"].iloc[-1] for _, ins in pairs]) / HORIZON_YEARS / per_10m
    start = np.mean([ins["acquisition_fund_purchases"].loc[3 * spy] for _, ins in pairs]) / 3 / per_10m
    lo, hi = PACE_RANGE
    assert lo <= whole <= hi, f"{whole:.2f} purchases a year per EUR 10M over {HORIZON_YEARS} years, range {PACE_RANGE}"
    assert lo <= start <= hi, f"{start:.2f} purchases a year per EUR 10M in the first 3 years, range {PACE_RANGE}"


def test_a_purchase_takes_its_negotiation_and_decision_time(pairs):
    cfg = load(SCENARIO).instruments[0]
    lag = round((cfg.negotiation_months + cfg.decision_months) / 12 * 4)
    assert lag >= 2
    for _, ins in pairs:
        bought = ins["acquisition_fund_purchases"]
        agreed = ins["acquisition_fund_offers_accepted"]
        # what is bought by step k was agreed by step k - lag at the latest
        early = bought.to_numpy()[lag:] - agreed.to_numpy()[:-lag]
        assert early.max() <= 0, f"purchases ahead of agreements {lag} steps earlier: {early.max():.0f}"
        assert bought.loc[:lag].max() == 0, "a purchase within the first steps after the first offer"
        last = ins.iloc[-1]
        assert (last["acquisition_fund_purchases"] + last["acquisition_fund_deals_pending"]
                + last["acquisition_fund_deals_fallen_through"] == last["acquisition_fund_offers_accepted"])


def test_the_fund_revolves_and_never_goes_negative(pairs):
    for ref, ins in pairs:
        last = ins.iloc[-1]
        income = ins["income_eur_acquisition_fund"].sum()
        back = last["acquisition_fund_rent_income_eur"] + last["acquisition_fund_resale_eur"]
        assert np.isclose(income, back) and income > 0, f"income booked {income:.0f}, rents + resales {back:.0f}"
        free = ins["property_fund_eur"] - ins["acquisition_fund_reserved_eur"]
        assert free.min() >= -1e-6, f"the fund fell below what pending deals reserved: {free.min():.0f}"
        assert ref["acquisition_fund_purchases"].iloc[-1] == 0


def test_pending_deals_reserve_the_money_so_the_fund_cannot_overcommit():
    # every approached owner willing, capacity far above the money: the reservations bind, not the staff
    w = _wide(simulate(_with(fund_eur=1_000_000.0, willing_share=1.0, offers_per_year=40.0), seed=22))
    assert w["acquisition_fund_deals_pending"].max() >= 1
    free = w["property_fund_eur"] - w["acquisition_fund_reserved_eur"]
    assert free.min() >= -1e-6, f"reserved more than the fund holds: free money {free.min():.0f}"
    assert w["acquisition_fund_arrears_eur"].max() == 0, "a purchase was left unpaid"
    bought = w["acquisition_fund_purchases"].iloc[-1]
    assert 1 <= bought <= 6, f"a EUR 1M fund bought {bought:.0f} parcels"
    spent = w["acquisition_fund_purchase_eur"].iloc[-1] * 1.124
    assert spent <= 1_000_000.0 + w["income_eur_acquisition_fund"].sum() + 1e-6


def test_a_resale_books_a_loss_when_the_market_value_fell_and_a_gain_when_it_rose():
    model = CityModel(_with(horizon_years=4, resale_after_years=50.0, willing_share=1.0, offers_per_year=12.0), seed=22)
    fund = model.municipality.instruments[0]
    est = fund.estate
    let = []
    for _ in range(model.spec.n_steps):
        model.step()
        use = model.parcels.flat("use")
        let = [p for p in est.held if int(use[p]) not in (VACANT, CONVERSION)]
        if len(let) >= 2:
            break
    assert len(let) >= 2, "the fund should have let at least two of its units"
    value = model.parcels.flat("value_eur")
    disc = 1.0 - fund.config.use_condition_value_discount
    fell, rose = let[:2]
    value[fell] = 0.6 * est.basis[fell] / disc        # the market fell: the resale fetches 60% of what went in
    value[rose] = 1.5 * est.basis[rose] / disc        # the market rose: 150%
    for p in (fell, rose):
        est.held[p] = -10_000                         # bought long ago: due for resale (after 50 years)
    before = dict(est.totals)
    basis = {p: est.basis[p] for p in (fell, rose)}
    est._resell(model)
    sold = [p for p in (fell, rose) if p not in est.held]
    assert sold == [fell, rose], f"both units should have found a buyer, sold {sold}"
    gain = est.totals["resale_gain_eur"] - before.get("resale_gain_eur", 0.0)
    expected = -0.4 * basis[fell] + 0.5 * basis[rose]
    assert np.isclose(gain, expected), f"gain booked {gain:.0f}, expected {expected:.0f}"
    assert est.totals["resales_at_loss"] - before.get("resales_at_loss", 0) == 1, "one of the two resales lost money"


def test_known_fronts_are_bought_out_and_closed(pairs):
    closed = np.mean([ins["acquisition_fund_fronts_closed"].iloc[-1] for _, ins in pairs])
    assert closed > 0
    ref, ins = mean_over(pairs, "fronts_active")
    assert ins < ref, f"active fronts: with the fund {ins:.1f}, without {ref:.1f}"


def test_bad_settings_give_a_clear_error():
    for key, bad in (("willing_share", 1.5), ("negotiation_months", -1.0), ("premium_share", 0.9)):
        with pytest.raises(ScenarioError, match=key):
            _with(**{key: bad})


def test_acquisition_fund_without_a_fund_changes_nothing():
    (ref, ins), = run_pair(_with(fund_eur=0.0), seeds=[5])
    assert ins["acquisition_fund_offers"].iloc[-1] == 0
    own = [c for c in ref if "acquisition_fund" in c]
    assert np.array_equal(ref.drop(columns=own).to_numpy(), ins.drop(columns=own).to_numpy())
