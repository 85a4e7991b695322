"""facade_subsidy: a Weert-sized fund raises the area's condition a little vs the baseline (CRN); the fund,
the yearly ceiling, the cap per building and the programme's years are never exceeded; refusals are counted."""

import numpy as np
import pytest
from pydantic import ValidationError

from crn import load, mean_over, run_pair, variant
from sim.instruments.facade_subsidy import FacadeSubsidyConfig
from sim.model import CityModel
from sim.outputs import release_model

SCENARIO = "scenarios/instruments/facade_subsidy.yaml"
STAFF_EUR_PER_HOUR = 80.0   # the baseline's staff_cost_eur_per_hour


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def grants_per_step(ins):
    return ins["spend_eur_facade_subsidy"] - STAFF_EUR_PER_HOUR * ins["staff_hours_facade_subsidy"]


def test_facade_subsidy_raises_condition_in_the_area_but_little(pairs):
    """Direction: renovated buildings are at condition 1. Size: EUR 300,000 renovates about 30 of the
    area's buildings, so the area's mean condition moves by hundredths at most."""
    ref, ins = mean_over(pairs, "facade_subsidy_area_condition_mean", reduce=lambda s: s.iloc[4:16].mean())
    assert ins > ref, f"area condition in the programme's years: with the fund {ins:.4f}, without {ref:.4f}"
    assert ins - ref < 0.03, f"a EUR 300,000 fund moved the area's condition from {ref:.4f} to {ins:.4f}"


def test_facade_subsidy_keeps_to_its_fund_ceiling_and_programme(pairs):
    cfg = load(SCENARIO).instruments[0]
    for ref, ins in pairs:
        grants = grants_per_step(ins)
        assert grants.sum() <= cfg.budget_eur + 1e-6, f"grants {grants.sum():.0f} > fund {cfg.budget_eur:.0f}"
        assert np.isclose(grants.sum(), ins["facade_subsidy_paid_eur"].iloc[-1]), "grants off the ledger"
        per_year = grants.groupby((ins.index - 1) // 4).sum()
        assert (per_year <= cfg.budget_eur_per_year + 1e-6).all(), \
            f"grants in a year {per_year.max():.0f} > ceiling {cfg.budget_eur_per_year:.0f}"
        # no grant after the programme's years (steps 1..4·programme_years)
        late = grants.loc[grants.index > 4 * cfg.programme_years]
        assert (late.abs() < 1e-9).all(), f"grants after the programme: {late.sum():.0f}"
        assert ins["facade_subsidy_open"].iloc[-1] == 0.0
        # the Weert-sized fund is over-subscribed: it is spent and later applicants are refused
        assert ins["facade_subsidy_paid_eur"].iloc[-1] > 0.95 * cfg.budget_eur
        assert ins["facade_subsidy_refused_fund"].iloc[-1] > 0, "a spent fund refused no application"
        assert ins["facade_subsidy_deadweight_grants"].iloc[-1] <= ins["facade_subsidy_grants"].iloc[-1]
        assert ins["facade_subsidy_deadweight_eur"].iloc[-1] <= ins["facade_subsidy_paid_eur"].iloc[-1] + 1e-6
        assert ins["net_public_cost_eur"].iloc[-1] > 0 and ref["net_public_cost_eur"].iloc[-1] == 0


def test_facade_subsidy_caps_each_building():
    """With a large fund the cap per building binds: no building gets more than it over the programme."""
    cap = 2_000.0
    model = CityModel(load(SCENARIO, horizon_years=4, **variant(SCENARIO, max_eur_per_parcel=cap, budget_eur=5e6,
                                                                budget_eur_per_year=5e6)), seed=7)
    try:
        for _ in range(model.spec.n_steps):
            model.step()
        inst = model.municipality.instruments[0]
        assert inst.grants > 0
        assert inst.granted_eur.max() <= cap + 1e-6, f"a building got {inst.granted_eur.max():.0f} > cap {cap:.0f}"
        assert np.isclose(inst.granted_eur.sum(), inst.paid_eur)
        outside = ~inst.area_mask.reshape(-1)
        assert inst.granted_eur[outside].sum() == 0.0, "grants outside the area"
    finally:
        release_model(model)


def test_facade_subsidy_without_budget_changes_nothing():
    (ref, ins), = run_pair(load(SCENARIO, **variant(SCENARIO, budget_eur=0.0)), seeds=[5])
    own = lambda df: df.drop(columns=[c for c in df if "facade" in c])   # noqa: E731
    assert np.array_equal(own(ref).to_numpy(), own(ins).to_numpy())
    assert ins["facade_subsidy_grants"].iloc[-1] == 0


@pytest.mark.parametrize("field, value", [("programme_years", 0), ("max_eur_per_parcel", -1.0),
                                          ("budget_eur", -5.0), ("share", 1.5)])
def test_facade_subsidy_rejects_bad_settings(field, value):
    with pytest.raises(ValidationError, match=field):
        FacadeSubsidyConfig(**{field: value})
