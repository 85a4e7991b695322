"""Every shipped instrument and package scenario stays within the municipality's budget (issue 12):
over its 20 years, on its own seed, no action is refused for want of money, nothing is left
unpaid, and no account goes below zero. A shipped scenario that needs more than its budget is
not realistic for its archetype; the budget tests (tests/test_budget_constraint.py) show what
happens when a scenario asks too much on purpose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model import CityModel
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios" / "instruments").glob("*.yaml")) + \
    sorted((ROOT / "scenarios" / "packages").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_shipped_scenario_stays_within_its_budget(path):
    scenario = Scenario.from_yaml(path)
    model = CityModel(scenario, seed=scenario.seed)
    lowest = np.inf
    for _ in range(scenario.n_steps):
        model.step()
        m = model.municipality
        lowest = min(lowest, m.budget_left_eur, m.fund_eur, m.biz_eur)
    model.municipality.check_ledger()
    last = model.records[-1]
    names = [i.name for i in model.municipality.instruments]
    refused = {n: last[f"{n}_refused_budget"] for n in names if last[f"{n}_refused_budget"] > 0}
    arrears = {n: last[f"{n}_arrears_eur"] for n in names if last[f"{n}_arrears_eur"] > 0}
    assert not refused, f"{path.name}: refused for want of money over 20 years: {refused}"
    assert not arrears, f"{path.name}: left unpaid at the horizon (EUR): {arrears}"
    assert lowest >= -1e-6, f"{path.name}: an account went below zero ({lowest:,.0f} EUR)"
