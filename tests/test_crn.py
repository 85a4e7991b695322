"""Common random numbers that hold: an instrument that changes nothing but draws random numbers
leaves every metric of the city exactly as it is without the instrument, at every step."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.outputs import simulate
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
YEARS, SEED = 6, 31
# money follows the instrument's staff hours; everything else must not move
MONEY = {"municipal_spend_eur", "municipal_income_eur", "net_public_cost_eur", "net_public_cash_eur", "property_fund_eur"}

# Instruments configured to act and draw (screen, check, negotiate, nominate) but to change nothing.
PLACEBOS = {
    "bibob": {"kind": "bibob", "sectors": ["services", "independent", "daily", "horeca"], "screenings_per_year": 200,
              "detection_probability": 0.0, "false_positive_probability": 0.0, "checks_per_year": 40,
              "screening_weeks": 0.0},   # a screening that takes no time and doubts nobody
    "acquisition_fund": {"kind": "acquisition_fund", "area": {"zones": ["all"]}, "premium_share": 0.0,
                         "willing_share": 0.0, "owner_markup_max": 0.3, "offers_per_year": 24, "front_signals_per_year": 0.5},
    "vacancy_ordinance": {"kind": "vacancy_ordinance", "area": {"zones": ["core"]}, "sectors": ["office"],
                          "fine_eur": 0.0, "candidates_per_nomination": 5, "nominate": True,
                          "consultation_review_probability": 0.0,
                          "comply_below_floor": {"institutional": 0.0, "private": 0.0, "local": 0.0,
                                                 "corporation": 0.0}},
    "preemption": {"kind": "preemption", "area": {"zones": ["all"]}, "fund_eur": 0.0},
}
# what shows that the placebo acted (and, for all but pre-emption, drew): metric -> minimum at the horizon
ACTED = {"bibob": "bibob_lease_screenings", "acquisition_fund": "acquisition_fund_offers",
         "vacancy_ordinance": "vacancy_ordinance_nominations", "preemption": "staff_hours_preemption"}


def _wide(extra: dict | None) -> pd.DataFrame:
    data = {"horizon_years": YEARS, "instruments": [extra] if extra else []}
    scenario = Scenario.from_yaml(BASELINE, overrides=data)
    metrics = simulate(scenario, seed=SEED).metrics
    return metrics.pivot_table(index="step", columns="metric", values="value", observed=True)


@pytest.fixture(scope="module")
def baseline() -> pd.DataFrame:
    return _wide(None)


@pytest.mark.parametrize("kind", list(PLACEBOS))
def test_a_placebo_instrument_changes_nothing_at_any_step(baseline, kind):
    placebo = _wide(PLACEBOS[kind])
    acted = ACTED[kind]
    if kind != "preemption":
        assert placebo[acted].sum() > 0, f"the placebo {kind} never acted ({acted}): the test would show nothing"
    shared = [m for m in baseline.columns if m not in MONEY]
    diff = (placebo[shared] - baseline[shared]).abs()
    moved = diff.columns[(diff > 0).any()].tolist()
    assert not moved, (f"placebo {kind} moved {moved[:6]}; first step {int((diff[moved] > 0).any(axis=1).idxmax())}: "
                       "its draws changed what the rest of the model drew")


def test_the_model_draws_only_from_keyed_streams():
    """No code of the model draws from a sequential generator (Mesa's model.rng / model.random, numpy's
    global state): a draw would then depend on how many draws came before it."""
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        if {"sweeps", "workshop"} & set(path.parts):
            continue          # analysis code (sampling designs, bootstrap intervals) is not the model
        text = path.read_text()
        for pattern in (r"\bmodel\.rng\b", r"\bself\.rng\b", r"\bm\.rng\b", r"\.random\.(random|choice|shuffle)\(",
                        r"\bnp\.random\.(rand|random|choice|poisson|seed|default_rng)\b", r"shuffle_do"):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == [], offenders


def test_replicate_seeds_give_different_cities_and_the_same_seed_the_same_city():
    s = Scenario.from_yaml(BASELINE, overrides={"horizon_years": 1})
    a, b, c = (simulate(s, seed=k).snapshots for k in (5, 5, 6))
    assert np.array_equal(a["use"], b["use"]) and np.array_equal(a["condition"], b["condition"])
    assert not np.array_equal(a["condition"], c["condition"])
