"""`regie compare`: common random numbers, paired intervals, failure isolation, resume."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.workshop.compare as cmp
import sim.workshop.statistics as stats_mod
from sim.workshop.compare import CompareError, compare, replicate_seeds
from sim.workshop.statistics import mean_interval, summary_table
from sim.kpis import KEY_METRICS

REPO = Path(__file__).resolve().parent.parent


def small(tmp_path: Path, name: str, base: str) -> str:
    """A short, small-city version of a shipped scenario (fast)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"base: {REPO / base}\nname: {name}\nhorizon_years: 2\ncity: {{size_cells: 48}}\n")
    return str(path)


@pytest.fixture
def files(tmp_path):
    return [small(tmp_path, "baseline", "scenarios/baseline.yaml"),
            small(tmp_path, "vacancy_ordinance", "scenarios/instruments/vacancy_ordinance.yaml")]


def test_seeds_are_spawned_and_equal_across_scenarios(files, tmp_path):
    result = compare(files, replicates=3, workers=1, out=tmp_path / "out", report=False, progress=False)
    seeds = result.metrics.groupby(["replicate", "scenario"])["seed"].first().unstack()
    assert (seeds.nunique(axis=1) == 1).all(), "replicate i must use one seed under every scenario"
    assert list(seeds.iloc[:, 0]) == replicate_seeds(20250101, 3)
    assert len(set(seeds.iloc[:, 0])) == 3, "replicates differ from each other"
    written = pd.read_csv(tmp_path / "out" / "seeds.csv")
    assert list(written["seed"]) == replicate_seeds(20250101, 3)


def test_mean_interval_known_answer():
    mean, lo, hi = mean_interval(np.array([1.0, 2.0, 3.0, 4.0]))
    half = 3.182446305284263 * np.std([1, 2, 3, 4], ddof=1) / 2   # t(0.975, 3) · s / √4
    assert mean == 2.5 and lo == pytest.approx(2.5 - half, rel=1e-12) and hi == pytest.approx(2.5 + half, rel=1e-12)


def _synthetic(diffs: np.ndarray, noise: np.ndarray) -> pd.DataFrame:
    """Tidy metrics at one step: baseline = noise, scenario = noise + diffs (paired by replicate)."""
    rows = []
    for r, (x, d) in enumerate(zip(noise, diffs)):
        for scenario, v in (("base", x), ("policy", x + d)):
            rows += [{"scenario": scenario, "replicate": r, "step": 4, "metric": "vacancy_units", "value": v},
                     {"scenario": scenario, "replicate": r, "step": 4, "metric": "net_public_cost_eur",
                      "value": 2e6 if scenario == "policy" else 0.0}]
    return pd.DataFrame(rows)


def test_paired_interval_known_answer_and_pairing_matters():
    diffs = np.array([-0.010, -0.012, -0.008, -0.011, -0.009])
    noise = np.array([0.05, 0.09, 0.03, 0.12, 0.07])          # large between-replicate spread
    table = summary_table(_synthetic(diffs, noise), ["base", "policy"]).set_index(["scenario", "metric"])
    row = table.loc[("policy", "vacancy_units")]
    d, lo, hi = mean_interval(diffs)
    assert (row["diff"], row["diff_lo"], row["diff_hi"]) == pytest.approx((d, lo, hi), rel=1e-12)
    assert row["distinguishable"], "a consistent paired effect must be distinguishable"
    assert row["per_meur"] == pytest.approx(d / 2.0)
    # unpaired, the noise would hide the effect: the paired interval is what makes it visible
    _, ulo, uhi = mean_interval(noise + diffs)
    assert ulo < row["mean"] < uhi and (hi - lo) < (uhi - ulo) / 5


def test_effect_within_noise_is_not_distinguishable():
    table = summary_table(_synthetic(np.array([0.01, -0.01, 0.005, -0.004]), np.full(4, 0.06)),
                          ["base", "policy"]).set_index(["scenario", "metric"])
    assert not table.loc[("policy", "vacancy_units"), "distinguishable"]


def test_a_failing_run_does_not_stop_the_comparison(files, tmp_path, monkeypatch):
    real = cmp.simulate

    def flaky(scenario, seed=None, replicate=0, progress=False):
        if scenario.name == "vacancy_ordinance" and replicate == 1:
            raise RuntimeError("boom in replicate 1")
        return real(scenario, seed=seed, replicate=replicate)

    monkeypatch.setattr(cmp, "simulate", flaky)
    result = compare(files, replicates=3, workers=1, out=tmp_path / "out", report=False, progress=False)
    assert [(f["scenario"], f["replicate"]) for f in result.failures] == [("vacancy_ordinance", 1)]
    assert "boom in replicate 1" in result.failures[0]["error"]
    n = result.summary.set_index(["scenario", "metric"])["n"]
    assert n[("vacancy_ordinance", "vacancy_units")] == 2 and n[("baseline", "vacancy_units")] == 3
    assert "Missing runs" in (tmp_path / "out" / "summary.md").read_text()


def test_interrupted_then_resumed_equals_uninterrupted(files, tmp_path, monkeypatch):
    whole = compare(files, replicates=2, workers=1, out=tmp_path / "whole", report=False, progress=False)
    real, calls = cmp.run_task, []

    def interrupt_after_two(data, task):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(task)
        return real(data, task)

    monkeypatch.setattr(cmp, "run_task", interrupt_after_two)
    with pytest.raises(KeyboardInterrupt):
        compare(files, replicates=2, workers=1, out=tmp_path / "split", report=False, progress=False)
    kept = sorted((tmp_path / "split" / "runs").rglob("*.parquet"))
    assert len(kept) == 2, "the finished runs are kept"
    monkeypatch.setattr(cmp, "run_task", real)
    with pytest.raises(CompareError, match="--resume"):
        compare(files, replicates=2, workers=1, out=tmp_path / "split", report=False, progress=False)
    resumed = compare(files, replicates=2, workers=1, out=tmp_path / "split", resume=True, report=False,
                      progress=False)
    pd.testing.assert_frame_equal(resumed.summary, whole.summary)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "split" / "metrics.parquet"),
                                  pd.read_parquet(tmp_path / "whole" / "metrics.parquet"))


def test_resume_with_other_seeds_is_refused(files, tmp_path):
    """Another root seed gives other replicates: no resume (more or fewer replicates: test_compare_folder.py)."""
    compare(files, replicates=1, workers=1, out=tmp_path / "out", report=False, progress=False, seed=1)
    with pytest.raises(CompareError, match="resume refused: its replicates have other seeds"):
        compare(files, replicates=2, workers=1, out=tmp_path / "out", resume=True, report=False, progress=False,
                seed=2)


def test_summary_covers_every_scenario_and_key_kpi(files, tmp_path):
    result = compare(files, replicates=2, workers=1, out=tmp_path / "out", report=False, progress=False)
    s = result.summary
    assert set(s["scenario"]) == {"baseline", "vacancy_ordinance"}
    assert set(s["metric"]) == set(KEY_METRICS)
    assert s.loc[s["scenario"] == "baseline", "diff"].isna().all()
    assert s.loc[s["scenario"] == "vacancy_ordinance", "diff"].notna().all()
    assert (tmp_path / "out" / "summary.csv").exists() and (tmp_path / "out" / "summary.md").exists()


@pytest.mark.parametrize("lang, words", [("en", ["Vacancy ordinance", "Doing nothing"]),
                                         ("nl", ["Leegstandverordening", "leegstand"])])
def test_compare_writes_the_workshop_report(files, tmp_path, lang, words):
    result = compare(files, replicates=2, workers=1, out=tmp_path / "out", lang=lang, progress=False)
    suffix = "" if lang == "en" else ".nl"
    assert result.report == tmp_path / "out" / f"report{suffix}.html"
    html = result.report.read_text()
    for w in words:
        assert w in html, f"{lang} report lacks {w!r}"
    assert "https://" not in html and "http://" not in html
    assert html.count("data:image/png;base64,") >= 4
    for name in ("cost_effect", "map_city", "maps_baseline", "maps_vacancy_ordinance", "trajectory_vacancy_units"):
        assert (tmp_path / "out" / "plots" / f"{name}{suffix}.png").exists(), name
    summary_md = (tmp_path / "out" / "summary.md").read_text()
    assert ("Samenvatting van de vergelijking" in summary_md) == (lang == "nl")


def test_process_pool_gives_the_serial_result(files, tmp_path):
    """Same scenario + seed = identical results, whatever executor runs it."""
    serial = compare(files, replicates=2, workers=1, out=tmp_path / "serial", report=False, progress=False)
    pooled = compare(files, replicates=2, workers=2, out=tmp_path / "pool", report=False, progress=False)
    pd.testing.assert_frame_equal(pooled.metrics, serial.metrics)
    pd.testing.assert_frame_equal(pooled.summary, serial.summary)


def test_sd_ratio_measures_the_pairing_only_where_both_arms_vary():
    rng = np.random.default_rng(3)
    idx = pd.RangeIndex(400)
    a, b = pd.Series(rng.normal(size=400), idx), pd.Series(rng.normal(size=400), idx)
    independent = stats_mod.variance_reduction(a - b, a, b)
    assert 1.3 < independent < 1.5, f"independent arms give {independent:.2f}, expected about 1.41"
    assert stats_mod.variance_reduction(a - a, a, a) == 0.0          # identical arms: chance cancels exactly
    shifted = stats_mod.variance_reduction((a + 1) - a, a + 1, a)
    assert shifted < 1e-9, "a constant effect on the same draws leaves no paired noise"
    zero = pd.Series(np.zeros(400), idx)
    # a KPI the reference never moves (an instrument's cost) says nothing about the pairing
    assert np.isnan(stats_mod.variance_reduction(a - zero, a, zero))
    assert np.isnan(stats_mod.variance_reduction(zero - zero, zero, zero))
