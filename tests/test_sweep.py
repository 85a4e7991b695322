"""`regie sweep` and `regie analyze`: experiment files, seeds, executors, storage, resume,
failures, the analysis and the known answers of the analytic test functions."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.sweeps.sweep as sweep_mod
from sim.cli import main
from sim.sweeps.analysis import AnalysisError, analyze, noise_share
from sim.sweeps.design import ExperimentError, get_path, load_experiment, run_seed, set_path
from sim.sweeps.sweep import sweep
from sim.sweeps.testfunctions import ishigami_indices, sobol_g_indices

ROOT = Path(__file__).resolve().parent.parent
PI = math.pi


def ishigami_yaml(folder: Path, n: int = 1024, replicates: int = 1, noise_sd: float = 0.0, name: str = "ish",
                  method: str = "{name: sobol, n: %d}") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"""name: {name}
model: ishigami
test_function: {{noise_sd: {noise_sd}}}
parameters:
  - {{path: x1, bounds: [{-PI}, {PI}]}}
  - {{path: x2, bounds: [{-PI}, {PI}]}}
  - {{path: x3, bounds: [{-PI}, {PI}]}}
outputs: [{{kpi: y}}]
method: {method % n if '%d' in method else method}
replicates: {replicates}
seed: 7
""")
    return path


def tiny_regie_yaml(folder: Path, name: str = "tiny", method: str = "{name: morris, n: 2, bootstrap: 20}") -> Path:
    """A 2-year sweep of a 40x40 city: about 0.1 s per run."""
    path = folder / f"{name}.yaml"
    path.write_text(f"""name: {name}
base: {ROOT / 'scenarios' / 'baseline.yaml'}
scenario:
  horizon_years: 2
  city: {{size_cells: 40}}
  instruments: [{{kind: bibob, sectors: [services], screenings_per_year: 20}}]
parameters:
  - {{path: "instruments[kind=bibob].screenings_per_year", bounds: [0, 100]}}
  - {{path: context.cap_rate, bounds: [0.045, 0.07]}}
  - {{path: context.crime_pressure, distribution: triangular, bounds: [0.5, 2.0], mode: 1.0}}
outputs:
  - {{kpi: vacancy_units}}
  - {{kpi: fronts_active, reduce: mean_last_years, years: 1}}
method: {method}
replicates: 2
seed: 5
""")
    return path


def quiet(**kw):
    return dict(progress=False, **kw)


# ------------------------------------------------------------------ known answers
@pytest.mark.parametrize("model", ["ishigami", "sobol_g"])
def test_pipeline_reproduces_analytic_sobol_indices(model, tmp_path):
    """Experiment YAML -> sampler -> executor -> storage -> analysis, at N = 1024."""
    if model == "ishigami":
        path, truth = ishigami_yaml(tmp_path), ishigami_indices()
    else:
        a = [0, 1, 4.5, 9, 99, 99, 99, 99]
        params = "\n".join(f"  - {{path: x{i + 1}, bounds: [0, 1]}}" for i in range(len(a)))
        path = tmp_path / "g.yaml"
        path.write_text(f"name: g\nmodel: sobol_g\ntest_function: {{a: {a}}}\nparameters:\n{params}\n"
                        "outputs: [{kpi: y}]\nmethod: {name: sobol, n: 1024}\nseed: 3\n")
        truth = sobol_g_indices(a)
    result = sweep(path, executor="serial", out=tmp_path / "out", **quiet())
    stored = pd.read_parquet(tmp_path / "out" / "indices.parquet")
    for index in ("S1", "ST"):
        got = stored[stored["index"] == index].sort_values("parameter", key=lambda s: s.str[1:].astype(int))
        err = np.abs(got["value"].to_numpy() - truth[index])
        assert err.max() <= 0.03, f"{model} {index}: estimated {got['value'].round(3).tolist()}, " \
                                  f"analytic {np.round(truth[index], 3).tolist()}"
        # the analytic value lies in (or within 0.03 of) the interval
        assert np.all(got["lo"].to_numpy() - 0.03 <= truth[index]), got
        assert np.all(got["hi"].to_numpy() + 0.03 >= truth[index]), got
    assert result.failed == 0 and result.runs == len(pd.read_parquet(tmp_path / "out" / "experiments.parquet"))


def test_noise_share_recovers_the_noise_variance(tmp_path):
    """Ishigami variance is 13.84; noise sd 2 gives a noise share of 4 / 17.84 = 0.22."""
    path = ishigami_yaml(tmp_path, n=128, replicates=4, noise_sd=2.0)
    result = sweep(path, executor="serial", out=tmp_path / "out", **quiet())
    share = float(result.analysis.noise["noise_share"].iloc[0])
    assert abs(share - 4 / (13.845 + 4)) < 0.05, share
    # a noiseless function has no noise
    M = np.tile(np.arange(10.0)[:, None], (1, 3))
    assert noise_share(M)[0] == 0.0


# ------------------------------------------------------------------ seeds and executors
def test_run_seeds_follow_seedsequence_spawn_keys(tmp_path):
    exp, _ = load_experiment(ishigami_yaml(tmp_path, n=8, replicates=3))
    from sim.sweeps.design import design_table
    design = design_table(exp, None)
    for rec in design.sample(5, random_state=1).itertuples():
        ss = np.random.SeedSequence(7, spawn_key=(rec.row, rec.replicate))
        assert rec.seed == int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    assert design["seed"].is_unique
    assert run_seed(7, 0, 1) != run_seed(7, 1, 0)


def test_every_executor_gives_identical_indices(tmp_path):
    path = ishigami_yaml(tmp_path, n=64, replicates=3, noise_sd=0.5)
    tables = {}
    for executor in ("serial", "process", "dask"):
        sweep(path, executor=executor, workers=2, out=tmp_path / executor, **quiet())
        tables[executor] = pd.read_parquet(tmp_path / executor / "indices.parquet")
    pd.testing.assert_frame_equal(tables["serial"], tables["process"])
    pd.testing.assert_frame_equal(tables["serial"], tables["dask"])


def test_model_runs_match_between_serial_and_process_pool(tmp_path):
    path = tiny_regie_yaml(tmp_path)
    sweep(path, executor="serial", out=tmp_path / "serial", **quiet())
    sweep(path, executor="process", workers=2, out=tmp_path / "pool", **quiet())
    for name in ("outputs.parquet", "metrics.parquet", "indices.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "serial" / name),
                                      pd.read_parquet(tmp_path / "pool" / name))
    design = pd.read_parquet(tmp_path / "serial" / "experiments.parquet")
    assert {"row", "replicate", "seed", "bibob.screenings_per_year", "context.cap_rate"} <= set(design.columns)
    metrics = pd.read_parquet(tmp_path / "serial" / "metrics.parquet")
    assert set(metrics["year"]) == {2025.0, 2026.0, 2027.0}      # yearly values of the 2-year runs
    assert (tmp_path / "serial" / "plots" / "morris_vacancy_units.png").exists()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_dask_cluster_gives_the_process_pool_result(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1, reached through --scheduler."""
    dask_cli = Path(sys.executable).parent / "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(subprocess.Popen([str(dask_cli), "worker", address, "--nthreads", "1", "--no-dashboard"],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        path = tiny_regie_yaml(tmp_path)
        assert main(["sweep", str(path), "--scheduler", address, "--out", str(tmp_path / "cluster"), "--quiet"]) == 0
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    sweep(path, executor="process", workers=2, out=tmp_path / "pool", **quiet())
    for name in ("outputs.parquet", "metrics.parquet", "indices.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cluster" / name),
                                      pd.read_parquet(tmp_path / "pool" / name))


# ------------------------------------------------------------------ nothing lost
def test_failing_run_is_recorded_and_analysis_refuses_missing_rows(tmp_path, monkeypatch):
    path = ishigami_yaml(tmp_path, n=32, method="{name: morris, n: 8, bootstrap: 20}")
    real = sweep_mod._test_function_run

    def flaky(x, seed, model, options):
        if abs(x[0] - (-PI)) < 1e-12 and x[1] > 0:   # some rows raise
            raise RuntimeError("boom")
        return real(x, seed, model, options)

    monkeypatch.setattr(sweep_mod, "_test_function_run", flaky)
    result = sweep(path, executor="serial", out=tmp_path / "out", analyze=False, **quiet())
    failures = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert result.failed == len(failures) > 0
    assert failures["error"].str.contains("RuntimeError: boom").all()
    with pytest.raises(AnalysisError, match="--allow-missing"):
        analyze(tmp_path / "out", plots=False)
    partial = analyze(tmp_path / "out", allow_missing=True, plots=False)
    assert any("dropped" in n and "trajectories" in n for n in partial.notes), partial.notes
    # the failures were transient: --resume retries only them and gives the full result
    monkeypatch.setattr(sweep_mod, "_test_function_run", real)
    resumed = sweep(path, executor="serial", out=tmp_path / "out", resume=True, **quiet())
    assert resumed.failed == 0 and not (tmp_path / "out" / "failures.csv").exists()
    clean = sweep(path, executor="serial", out=tmp_path / "clean", **quiet())
    pd.testing.assert_frame_equal(resumed.analysis.indices, clean.analysis.indices)


def test_killed_sweep_resumes_and_equals_an_uninterrupted_one(tmp_path):
    path = tiny_regie_yaml(tmp_path, method="{name: morris, n: 4, bootstrap: 20}")
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(path), "--executor", "serial",
                             "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "runs").glob("task*.outputs.parquet"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((out / "runs").glob("task*.outputs.parquet")))
    assert 5 <= done_before < 32, "the sweep was not killed half-way"
    with pytest.raises(AnalysisError, match="have no result"):
        analyze(out, plots=False)
    with pytest.raises(ExperimentError, match="--resume"):
        sweep(path, executor="serial", out=out, **quiet())
    resumed = sweep(path, executor="serial", out=out, resume=True, **quiet())
    assert resumed.new_runs == 32 - done_before
    sweep(path, executor="serial", out=tmp_path / "full", **quiet())
    for name in ("outputs.parquet", "metrics.parquet", "indices.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(tmp_path / "full" / name))


def test_resume_with_another_experiment_is_refused(tmp_path):
    path = ishigami_yaml(tmp_path, n=16)
    sweep(path, executor="serial", out=tmp_path / "out", analyze=False, **quiet())
    other = ishigami_yaml(tmp_path, n=32)
    with pytest.raises(ExperimentError, match="resume refused: the experiment differs"):
        sweep(other, executor="serial", out=tmp_path / "out", resume=True, **quiet())
    # analysis settings may change: nothing reruns, the new settings are used
    wider = ishigami_yaml(tmp_path, n=16, method="{name: sobol, n: %d, bootstrap: 30, conf_level: 0.9}")
    resumed = sweep(wider, executor="serial", out=tmp_path / "out", resume=True, **quiet())
    assert resumed.new_runs == 0
    assert "90% intervals from 30 bootstrap draws" in (tmp_path / "out" / "summary.md").read_text()


# ------------------------------------------------------------------ experiment files
def test_paths_select_list_items_by_key_or_index():
    data = {"instruments": [{"kind": "zoning", "start_year": 2026}, {"kind": "bibob", "fund_eur": 1.0},
                            {"kind": "zoning", "start_year": 2029}],
            "context": {"online_share": {"comparison": {"value": 0.3, "per_year": 0.008}}}}
    assert get_path(data, "instruments[kind=bibob].fund_eur") == 1.0
    assert get_path(data, "instruments[2].start_year") == 2029
    assert get_path(data, "context.online_share.comparison.per_year") == 0.008
    set_path(data, "instruments[kind=bibob].fund_eur", 5.0)
    set_path(data, "context.online_share.comparison.per_year", 0.01)
    assert data["instruments"][1]["fund_eur"] == 5.0
    assert data["context"]["online_share"]["comparison"]["per_year"] == 0.01
    with pytest.raises(KeyError, match="2 items match.*use an index"):
        get_path(data, "instruments[kind=zoning].start_year")
    with pytest.raises(KeyError, match="name one of its keys"):
        get_path(data, "context.online_share.comparison")
    with pytest.raises(KeyError, match="no such key"):
        get_path(data, "context.online_shares")


BAD_EXPERIMENTS = [   # (text in the good file, replacement, expected message)
    ("method: {name: morris, n: 2, bootstrap: 20}", "method: {name: sobol, n: 1000}",
     "method: sobol: n must be a power of two"),
    ("seed: 5", "seed: 5\nbogus: 1", "bogus: unknown key"),
    ("name: morris", "name: spearman", "method.name"),
    ("{kpi: vacancy_units}", "{kpi: vacancy_untis}", "outputs[0].kpi: unknown KPI 'vacancy_untis'"),
    ("replicates: 2", "replicates: 0", "replicates: Input should be greater than or equal to 1"),
    ("years: 1}", "}", "outputs[1]: reduce: mean_last_years needs years"),
    ("mode: 1.0", "mode: 3.0", "triangular needs a mode within the bounds"),
    (f"base: {ROOT / 'scenarios' / 'baseline.yaml'}", "base: nowhere.yaml", "base: no such scenario file"),
    ("{kpi: vacancy_units}", "{kpi: conversions_vacant_to_housing}",     # no longer exempt from the check
     "outputs[0].kpi: unknown KPI 'conversions_vacant_to_housing'; known: conversions_vacant_to_"),
    ("{kpi: vacancy_units}", "{kpi: preemption_purchases}", "outputs[0].kpi: unknown KPI 'preemption_purchases'"),
    ("years: 1}", "years: 3}", "outputs[1].years: the mean over the last 3 years needs a horizon of at least 3"),
]


@pytest.mark.parametrize("old, new, message", BAD_EXPERIMENTS)
def test_bad_experiment_gives_one_clear_line(tmp_path, old, new, message, capsys):
    text = tiny_regie_yaml(tmp_path).read_text()
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new))
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err, err
    assert not (tmp_path / "o").exists()


def test_bad_paths_and_invalid_samples_are_refused_before_any_run(tmp_path, capsys):
    text = tiny_regie_yaml(tmp_path).read_text()
    bad_path = tmp_path / "path.yaml"
    bad_path.write_text(text.replace("instruments[kind=bibob]", "instruments[kind=preemption]"))
    assert main(["validate", str(bad_path)]) == 2
    assert "parameters[0].path: instruments[kind=preemption]: 0 items match" in capsys.readouterr().err
    bad_range = tmp_path / "range.yaml"
    bad_range.write_text(text.replace("bounds: [0.045, 0.07]", "bounds: [-0.05, 0.07]"))
    assert main(["sweep", str(bad_range), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "context.cap_rate" in err and "sampled scenarios, e.g. row" in err, err
    assert not (tmp_path / "o").exists()


def test_analyze_of_a_folder_that_is_no_sweep(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


@pytest.mark.parametrize("method, figure", [("{name: efast, n: 65, bootstrap: 20}", "efast_y.png"),
                                            ("{name: delta, n: 200, bootstrap: 10}", "delta_y.png"),
                                            ("{name: pawn, n: 200, bootstrap: 10}", "pawn_y.png")])
def test_other_methods_run_and_rank_ishigami(tmp_path, method, figure):
    """x3 alone does nothing (S1 = 0; it acts only with x1): x2 ranks above it."""
    path = ishigami_yaml(tmp_path, method=method, replicates=2, noise_sd=0.1)
    result = sweep(path, executor="serial", out=tmp_path / "out", **quiet())
    main_index = {"efast": "S1", "delta": "S1", "pawn": "median"}[figure.split("_")[0]]
    t = result.analysis.indices
    t = t[t["index"] == main_index].set_index("parameter")["value"]
    assert t["x2"] > t["x3"], t
    assert (tmp_path / "out" / "plots" / figure).exists()


def test_morris_noise_floor_matches_parameters_without_effect(tmp_path):
    """Sobol-G with a = 99 makes x2 and x3 (almost) inert: their mu* is the seed-noise floor."""
    path = tmp_path / "g.yaml"
    path.write_text("name: g\nmodel: sobol_g\ntest_function: {a: [0, 99, 99], noise_sd: 0.3}\nparameters:\n"
                    "  - {path: x1, bounds: [0, 1]}\n  - {path: x2, bounds: [0, 1]}\n  - {path: x3, bounds: [0, 1]}\n"
                    "outputs: [{kpi: y}]\nmethod: {name: morris, n: 60, bootstrap: 50}\nreplicates: 3\nseed: 11\n")
    result = sweep(path, executor="serial", out=tmp_path / "out", **quiet())
    floor = float(result.analysis.noise["mu_star_noise_floor"].iloc[0])
    expected = np.sqrt(2 * 0.3 ** 2 / 3) * np.sqrt(2 / np.pi) / (4 / 6)
    assert abs(floor - expected) / expected < 0.15, (floor, expected)
    mu = result.analysis.indices.query("index == 'mu_star'").set_index("parameter")["value"]
    assert mu["x1"] > 3 * floor
    for inert in ("x2", "x3"):
        assert 0.6 * floor < mu[inert] < 1.4 * floor, (inert, mu[inert], floor)
    assert "noise floor" in (tmp_path / "out" / "summary.md").read_text()


def test_second_order_indices_of_ishigami(tmp_path):
    """Ishigami's only interaction is x1-x3: S2(x1, x3) = 0.244, the others 0."""
    path = ishigami_yaml(tmp_path, n=1024, method="{name: sobol, n: %d, second_order: true, bootstrap: 50}")
    result = sweep(path, executor="serial", out=tmp_path / "out", **quiet())
    s2 = result.analysis.indices.query("index == 'S2'").set_index(["parameter", "parameter2"])["value"]
    assert abs(s2[("x1", "x3")] - 0.2437) < 0.06, s2
    assert abs(s2[("x1", "x2")]) < 0.06 and abs(s2[("x2", "x3")]) < 0.06, s2


def test_reductions_take_the_horizon_or_the_last_years():
    from sim.sweeps.sweep import reduce_series
    years = 2025 + np.arange(0, 41) / 4          # 10 years of quarters, 2025.0 .. 2035.0
    values = np.arange(41, dtype=float)          # value = step
    assert reduce_series(years, values, "horizon", None) == 40.0
    # the last 2 years are the 8 steps after 2033.0: steps 33..40
    assert reduce_series(years, values, "mean_last_years", 2) == np.mean(np.arange(33, 41))


# ------------------------------------------------------------------ the metric names validate and sweep check against
def _short_run_metrics(data: dict) -> tuple[set[str], set[str]]:
    from sim.model import CityModel
    from sim.outputs import release_model
    from sim.kpis import RECORD_INDEX, known_metrics
    from sim.scenario import Scenario

    scenario = Scenario.from_dict({"city": {"size_cells": 32}, "horizon_years": 1, "burn_in_years": 0, **data})
    model = CityModel(scenario, seed=3)
    for _ in range(scenario.n_steps):
        model.step()
    recorded = [set(r) - set(RECORD_INDEX) for r in model.records]   # step and year say when, not what
    release_model(model)
    assert all(r == recorded[0] for r in recorded), "the metric set changed between steps"
    return recorded[0], known_metrics(scenario)


@pytest.mark.parametrize("instruments", [
    [],
    [{"kind": k} for k in ("acquisition_fund", "bibob", "biz", "branchering", "facade_subsidy", "preemption",
                           "rent_subsidy", "transformation_subsidy", "vacancy_ordinance", "zoning")],
    [{"kind": "bibob", "area": {"zones": ["core"]}}, {"kind": "bibob", "area": {"zones": ["edge"]}},
     {"kind": "zoning", "start_year": 2025, "area": {"street_classes": ["C"]}}],
], ids=["none", "every-kind", "two-of-a-kind"])
def test_known_metrics_are_exactly_the_metrics_a_run_records(instruments):
    recorded, known = _short_run_metrics({"instruments": instruments})
    assert recorded - known == set(), f"recorded but not known (check `kpi_keys` of the instrument config): {recorded - known}"
    assert known - recorded == set(), f"known but never recorded: {known - recorded}"


def test_every_instrument_kind_declares_its_kpi_keys():
    from sim.instruments import REGISTRY
    for kind, cls in REGISTRY.items():
        keys = cls.config_class.kpi_keys
        assert keys and len(set(keys)) == len(keys), kind


def test_conversion_metric_names_match_the_owners_module():
    from sim.agents.owners import conversion_metric
    from sim.kpis import CONVERSION_PAIRS, conversion_metric_name
    assert all(conversion_metric(f, t) == conversion_metric_name(f, t) for f, t in CONVERSION_PAIRS)


def test_validate_and_sweep_accept_the_same_instrument_kpis(tmp_path, capsys):
    text = tiny_regie_yaml(tmp_path).read_text().replace("{kpi: vacancy_units}", "{kpi: bibob_screenings}")
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    from sim.sweeps.sweep import prepare
    prepare(path, tmp_path / "o", resume=False)        # the sweep's own check passes too
