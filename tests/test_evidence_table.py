"""experiments/evidence.py: the paired table of docs/evidence.md from a comparison's metrics."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("evidence", ROOT / "experiments" / "evidence.py")
evidence = importlib.util.module_from_spec(spec)
sys.modules["evidence"] = evidence          # dataclasses look their module up there
spec.loader.exec_module(evidence)

STEPS_PER_YEAR = 4


def metrics(values: dict[tuple[str, int], list[float]], metric: str) -> pd.DataFrame:
    rows = [{"scenario": s, "replicate": r, "step": k + 1, "metric": metric, "value": v}
            for (s, r), series in values.items() for k, v in enumerate(series)]
    return pd.DataFrame(rows)


def test_stocks_are_the_mean_of_the_last_two_years_paired_by_replicate():
    # 3 years of quarters; the last 2 years are steps 5..12
    ref = {("x_off", r): [100.0] * 4 + [0.10 + 0.01 * r] * 8 for r in range(3)}
    arm = {("x", r): [0.0] * 4 + [0.08 + 0.01 * r + 0.001 * (r == 1)] * 8 for r in range(3)}
    m = metrics({**ref, **arm}, "vacancy_units")
    rows = evidence.evidence_rows(m, {"transformation_subsidy": ("x", "x_off")}, STEPS_PER_YEAR)
    row = rows[rows["kpi"].str.startswith("vacancy")].iloc[0]
    assert row["n"] == 3 and row["unit"] == "pt"
    assert row["reference"] == pytest.approx(11.0) and row["instrument_mean"] == pytest.approx(9.0 + 0.1 / 3)
    diffs = np.array([-2.0, -1.9, -2.0])           # in points, paired by replicate: replicate noise cancels
    assert row["diff"] == pytest.approx(diffs.mean()) and row["diff_lo"] < row["diff"] < row["diff_hi"] < 0
    assert bool(row["distinguishable"])


def test_counts_are_totals_at_the_horizon_and_missing_kpis_are_left_out():
    m = metrics({("x_off", 0): [0, 0, 0], ("x_off", 1): [0, 0, 0],
                 ("x", 0): [1, 2, 4], ("x", 1): [0, 3, 6]}, "conversions_total")
    rows = evidence.evidence_rows(m, {"transformation_subsidy": ("x", "x_off")}, STEPS_PER_YEAR)
    assert list(rows["kpi"]) == ["conversions (total)"]       # grants, vacancy and cost not recorded: left out
    assert rows["diff"].iloc[0] == pytest.approx(5.0)
    text = evidence.table_markdown(rows, years=1)
    assert "| transformation_subsidy | conversions (total) | 0 | 5.00 |" in text


def test_the_reference_of_each_instrument_is_itself_switched_off():
    from sim.scenario import Scenario
    s = Scenario.from_yaml(ROOT / "scenarios" / "instruments" / "biz.yaml")
    off = Scenario.from_dict(evidence.switched_off(s))
    assert off.name == "biz_off" and all(i.start_year > s.years[1] for i in off.instruments)
    assert [i.kind for i in off.instruments] == [i.kind for i in s.instruments]
