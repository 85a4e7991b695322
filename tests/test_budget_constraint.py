"""The municipality's money (docs/ODD.md §7.2): an annual budget that lapses, a property fund with
its own capital and a levy-funded BIZ account; no spend takes an account below zero unless the
scenario allows borrowing. Discretionary actions the money cannot pay are refused and counted
(``<instrument>_refused_budget``); obligations wait as arrears (``<instrument>_arrears_eur``)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import CityModel
from sim.scenario import Scenario

# more than a municipality of this size spends: every money instrument at once, on a small budget
OVER_AMBITIOUS = [
    {"kind": "facade_subsidy", "area": {"zones": ["shopping"]}, "share": 0.5, "budget_eur_per_year": 2_000_000,
     "budget_eur": 20_000_000, "max_eur_per_parcel": 50_000, "programme_years": 10, "eligible_below": 0.95},
    {"kind": "transformation_subsidy", "area": {"zones": ["edge", "residential"]},
     "budget_eur": 20_000_000},
    {"kind": "rent_subsidy", "area": {"zones": ["shopping"]}, "sectors": ["craft", "culture", "independent"],
     "share": 0.5, "budget_eur": 10_000_000},
    {"kind": "bibob", "sectors": ["services", "independent", "daily", "horeca"], "screenings_per_year": 400},
    {"kind": "vacancy_ordinance", "area": {"zones": ["shopping"]}, "max_nominations_per_year": 100},
    {"kind": "acquisition_fund", "area": {"zones": ["edge"]}, "fund_eur": 2_000_000},
]


def run(budget_eur: float, instruments=OVER_AMBITIOUS, years: int = 4, **municipality):
    over = {"horizon_years": years, "instruments": instruments,
            "agents": {"municipality": {"annual_budget_eur": budget_eur, **municipality}}}
    model = CityModel(Scenario.from_yaml("scenarios/baseline.yaml", overrides=over), seed=5)
    balances = []
    for _ in range(model.spec.n_steps):
        model.step()
        m = model.municipality
        balances.append((m.budget_left_eur, m.fund_eur, m.biz_eur))
    model.municipality.check_ledger()
    return model, np.array(balances)


@pytest.fixture(scope="module")
def tight():
    return run(300_000.0)


def test_an_over_ambitious_package_is_refused_not_overspent(tight):
    model, balances = tight
    assert balances.min() >= -1e-6, "an account went below zero"
    last = model.records[-1]
    refused = {i.name: last[f"{i.name}_refused_budget"] for i in model.municipality.instruments}
    assert sum(refused.values()) > 0, f"no refusals at all on a tight budget: {refused}"
    # what the municipality spent from its budget in a year is at most that year's budget
    spy = model.spy
    spent = np.array([model.records[k]["municipal_spend_eur"] for k in range(1, len(model.records))])
    funded = {"acquisition_fund"}   # purchases come from the fund, not from the budget
    fund_spend = sum(model.municipality.ledger.spend_eur[n][1:] for n in funded)
    per_year = (spent - fund_spend).reshape(-1, spy).sum(axis=1)
    assert per_year.max() <= 300_000.0 + 1e-3, per_year


def test_the_same_package_on_a_large_budget_is_not_refused(tight):
    model, _ = run(1e9)
    last = model.records[-1]
    assert all(last[f"{i.name}_refused_budget"] == 0.0 for i in model.municipality.instruments)
    tight_model = tight[0]
    assert all(last[f"{i.name}_arrears_eur"] == 0.0 for i in model.municipality.instruments)
    # and the tight budget bought less: fewer grants where money decides
    assert (tight_model.records[-1]["facade_subsidy_grants"] <= last["facade_subsidy_grants"])


def test_borrowing_lets_the_budget_run_a_deficit_that_bears_interest():
    model, balances = run(300_000.0, allow_borrowing=True, borrowing_rate_per_year=0.05)
    ledger = model.municipality.ledger
    assert balances[:, 0].min() < 0.0, "with borrowing the over-ambitious package should run a deficit"
    assert balances[:, 1:].min() >= -1e-6, "the fund and the BIZ account never borrow"
    interest = ledger.spend_eur["municipal_borrowing"]
    assert interest.sum() > 0.0
    # interest is charged on the deficit at the start of each step (after a new year's budget)
    spy = model.spy
    for k in np.flatnonzero(interest > 0).tolist():
        balance = balances[k - 2, 0] + (model.municipality.budget_eur_per_year if (k - 1) % spy == 0 else 0.0)
        assert np.isclose(interest[k], -balance * 0.05 / spy, rtol=1e-9), k
    assert "spend_eur_municipal_borrowing" in model.records[-1]


def test_the_biz_spends_its_levy_whatever_the_budget():
    biz = [{"kind": "biz", "area": {"zones": ["core"]}, "levy_share_of_value": 0.0005, "payer": "owners"}]
    model, balances = run(0.0, instruments=biz, years=2)
    inst = model.municipality.instruments[0]
    assert inst.levied_eur > 0 and inst.spent_eur > 0.0
    assert model.records[-1]["biz_refused_budget"] == 0.0
    assert np.isclose(model.municipality.biz_eur, inst.levied_eur - inst.spent_eur, atol=1e-6)
    assert balances[:, 2].min() >= -1e-6


# ---------------------------------------------------------------- public cost as a finance officer counts it
FUND = [{"kind": "acquisition_fund", "area": {"zones": ["edge"]}, "fund_eur": 10_000_000}]


@pytest.mark.parametrize("rate", [0.0, 0.03])
def test_net_public_cost_credits_the_property_held_and_charges_the_capital(rate):
    model, _ = run(2_000_000.0, instruments=FUND, years=5, borrowing_rate_per_year=rate)
    mun = model.municipality
    fund = mun.instruments[0]
    last = model.records[-1]
    held = fund.holdings_value_eur(model)
    assert fund.estate.held and held > 0, "the fund should hold property at the horizon"
    ledger = mun.ledger
    cash = float(ledger.spend_eur[fund.name].sum() - ledger.income_eur[fund.name].sum())
    assert np.isclose(last["net_public_cash_eur"], cash)          # the cash-only figure, under its own name
    # capital cost: the rate per step on the net cash of the steps before
    cum = np.cumsum(ledger.spend_eur[fund.name] - ledger.income_eur[fund.name])
    capital = float(cum[:-1].sum() * rate / model.spy)
    assert np.isclose(last["acquisition_fund_net_public_cost_eur"], cash + capital - held, rtol=1e-9)
    assert np.isclose(last["net_public_cost_eur"], cash + capital - held, rtol=1e-9)
    # property held at market value: what a sale would fetch, so a loss of value shows
    from sim.agents.owners import market_value_eur
    assert np.isclose(held, sum(market_value_eur(model, p) for p in fund.estate.held))
    if rate > 0:
        assert capital > 0


def test_a_levy_funded_biz_has_no_capital_cost():
    biz = [{"kind": "biz", "area": {"zones": ["core"]}, "levy_share_of_value": 0.0005, "payer": "owners"}]
    model, _ = run(2_000_000.0, instruments=biz, years=2, borrowing_rate_per_year=0.05)
    assert model.municipality.capital_cost_eur.get("biz", 0.0) == 0.0
    assert abs(model.records[-1]["net_public_cost_eur"]) < 1e-6 * model.municipality.instruments[0].levied_eur
