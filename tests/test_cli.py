"""Tests for the ``regie`` command line: validate, run, results folder, reproducibility.

The CLI runs in-process through ``sim.cli.main`` (fast); one test starts a real
process to show that bad input ends with exit status 2 and no traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

import sim
from sim.cli import EXIT_BAD_INPUT, main
from sim.outputs import METRIC_COLUMNS
from sim.scenario import Scenario
from sim.uses import USE_NAMES

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

REQUIRED_METRICS = (
    "vacancy_units", "vacancy_floor", "vacancy_units_A1", "vacancy_units_A2", "vacancy_units_B",
    "vacancy_units_C", "longterm_vacancy_1y", "longterm_vacancy_3y", "diversity_shannon",
    "craft_culture_m2", "households", "dwellings_occupied", "rent_burden_over_40", "footfall_index",
    "condition_mean", "condition_poor_share", "fronts_active", "fronts_detected", "business_entries",
    "business_exits", "conversions_total", "owner_value_eur", "municipal_spend_eur",
    "municipal_income_eur", "net_public_cost_eur",
) + tuple(f"share_{use}" for use in USE_NAMES)

BROKEN = {
    "typo.yaml": "nme: x\ncontext:\n  cap_rat: 0.05\n",                    # two problems
    "range.yaml": "horizon_years: 0\n",                                    # one problem
    "syntax.yaml": "name: x\ncity: [a, b\nseed: 3\n",                      # one problem
}
N_PROBLEMS = {"typo.yaml": 2, "range.yaml": 1, "syntax.yaml": 1}


@pytest.fixture
def broken(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = {}
    for name, text in BROKEN.items():
        paths[name] = folder / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


def assert_one_line_problems(err: str, n: int, files: list[Path]) -> list[str]:
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert len(lines) == n, lines
    for line in lines:
        assert any(line.startswith(f"{f}: ") for f in files), line
    return lines


# ---------------------------------------------------------------- validate
def test_validate_good_files(capsys):
    files = [str(BASELINE), str(ROOT / "scenarios" / "baseline_large.yaml")]
    assert main(["validate", *files]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{f}: ok" for f in files]
    assert err == ""


def test_validate_bad_files_one_line_per_problem(broken, capsys):
    files = list(broken.values())
    assert main(["validate", str(BASELINE), *map(str, files)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    lines = assert_one_line_problems(err, 4, files)
    assert sum("cap_rat" in line for line in lines) == 1
    assert any("line 3" in line for line in lines)
    assert "ok" not in out


def test_validate_missing_file(tmp_path, capsys):
    missing = tmp_path / "absent.yaml"
    assert main(["validate", str(missing)]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip() == f"{missing}: file not found"


@pytest.mark.parametrize("content", [b"name: caf\xe9\n", b"name: x\x00\n"], ids=["latin1", "nul-byte"])
def test_validate_undecodable_file_exits_2_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == EXIT_BAD_INPUT
    assert_one_line_problems(capsys.readouterr().err, 1, [path])


def test_validate_in_a_real_process_has_no_traceback(broken):
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(broken["typo.yaml"])],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == EXIT_BAD_INPUT, proc
    assert_one_line_problems(proc.stderr, 2, [broken["typo.yaml"]])
    assert proc.stdout == ""


# ---------------------------------------------------------------- run: bad input
@pytest.mark.parametrize("name", list(BROKEN))
def test_run_broken_file_writes_nothing(broken, tmp_path, capsys, name):
    out = tmp_path / "results" / "r"
    assert main(["run", str(broken[name]), "--out", str(out), "--quiet", "--no-plots"]) == EXIT_BAD_INPUT
    assert_one_line_problems(capsys.readouterr().err, N_PROBLEMS[name], [broken[name]])
    assert not (tmp_path / "results").exists()


def test_run_missing_file(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(tmp_path / "absent.yaml"), "--out", str(out), "--quiet"]) == EXIT_BAD_INPUT
    assert "file not found" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (["--horizon-years", "0"], ["argument --horizon-years", "expected 1..100", "(got 0)"]),
    (["--horizon-years", "-3"], ["argument --horizon-years", "(got -3)"]),
    (["--horizon-years", "101"], ["argument --horizon-years", "expected 1..100"]),
    (["--seed", "-1"], ["argument --seed", "expected 0..", "(got -1)"]),
], ids=["horizon-0", "horizon-negative", "horizon-101", "seed-negative"])
def test_run_refuses_bad_options(tmp_path, capsys, args, words):
    out = tmp_path / "r"
    assert main(["run", str(BASELINE), *args, "--out", str(out), "--quiet", "--no-plots"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if "error:" in x]  # argparse: usage line + one error line
    for w in words:
        assert w in line, line
    assert list(tmp_path.iterdir()) == []


def test_horizon_option_error_names_the_option(tmp_path, capsys):
    # The file says horizon_years: 20; the 0 came from the command line, so say so (as --seed does).
    assert main(["run", str(BASELINE), "--horizon-years", "0", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "--horizon-years" in capsys.readouterr().err


def test_run_refuses_a_seed_too_large_for_int64(tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(["run", str(BASELINE), "--seed", str(2**64), "--horizon-years", "1", "--out", str(out),
               "--quiet", "--no-plots"])
    assert rc == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "argument --seed: expected 0..9223372036854775807" in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, command", [(["run"], "regie run"), (["validate"], "regie validate"),
                                           (["run", str(BASELINE), "--horizon-years", "x"], "regie run"),
                                           (["bogus"], "regie")])
def test_usage_errors_are_one_line_with_where_to_find_help(argv, command, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{command}: error: ") and f"`{command} --help`" in err, err


def test_regie_alone_prints_its_help(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "usage: regie" in err and "validate" in err and "compare" in err


# ---------------------------------------------------------------- run: the results folder
HORIZON = 2


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("run")
    out = parent / "r"
    assert main(["run", str(BASELINE), "--horizon-years", str(HORIZON), "--out", str(out), "--quiet"]) == 0
    return out


def test_run_writes_only_the_results_folder(baseline_run):
    assert sorted(p.name for p in baseline_run.parent.iterdir()) == ["r"], "leftover temp folder next to the output"
    assert {p.name for p in baseline_run.iterdir()} >= {"metrics.parquet", "manifest.json", "snapshots.npz", "plots"}


def test_metrics_are_tidy_with_every_required_metric(baseline_run):
    m = pd.read_parquet(baseline_run / "metrics.parquet")
    assert list(m.columns) == METRIC_COLUMNS
    assert set(METRIC_COLUMNS) >= {"run_id", "scenario", "replicate", "seed", "step", "year", "metric", "value"}
    missing = sorted(set(REQUIRED_METRICS) - set(m["metric"].astype(str)))
    assert not missing, f"metrics missing: {missing}"
    steps = 4 * HORIZON
    assert sorted(m["step"].unique()) == list(range(steps + 1))
    assert m["year"].min() == 2025 and m["year"].max() == 2025 + HORIZON
    assert (m["seed"] == 20250101).all() and (m["scenario"] == "baseline").all() and (m["replicate"] == 0).all()
    assert m["run_id"].nunique() == 1
    assert not m.duplicated(["step", "metric"]).any()
    assert m.groupby("step").size().nunique() == 1, "every step has the same metrics"
    assert np.isfinite(m["value"]).all()


def test_manifest(baseline_run):
    man = json.loads((baseline_run / "manifest.json").read_text())
    scenario = Scenario.from_yaml(BASELINE, overrides={"horizon_years": HORIZON})
    assert man["seed"] == 20250101
    assert man["scenario_sha256"] == scenario.sha256()
    assert man["scenario"] == scenario.to_dict()
    assert man["scenario"]["horizon_years"] == HORIZON
    assert Scenario.from_dict(man["scenario"]).sha256() == man["scenario_sha256"]
    assert man["package_version"] == sim.__version__
    import mesa
    import numba
    assert (man["numpy"], man["numba"], man["mesa"]) == (np.__version__, numba.__version__, mesa.__version__)
    assert man["python"] == sys.version.split()[0]
    assert isinstance(man["wall_seconds"], (int, float)) and man["wall_seconds"] > 0
    m = pd.read_parquet(baseline_run / "metrics.parquet")
    assert man["run_id"] == m["run_id"].iloc[0]


def test_snapshots_one_per_year(baseline_run):
    with np.load(baseline_run / "snapshots.npz") as z:
        snaps = {k: z[k] for k in z.files}
    assert list(snaps["year"]) == list(range(2025, 2025 + HORIZON + 1))
    assert {"use", "land", "street_class"} <= set(snaps)
    for name, arr in snaps.items():
        assert arr.shape[0] == HORIZON + 1, (name, arr.shape)
    assert (snaps["land"] == snaps["land"][0]).all(), "land never changes"


@pytest.mark.parametrize("name", ["map_start.png", "map_end.png", "kpis.png"])
def test_plots_written(baseline_run, name):
    path = baseline_run / "plots" / name
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert imread(path).shape[0] > 100


# ---------------------------------------------------------------- reproducibility
def _metrics(folder: Path, seed: int, years: int = 3) -> pd.DataFrame:
    assert main(["run", str(BASELINE), "--seed", str(seed), "--horizon-years", str(years),
                 "--out", str(folder), "--quiet", "--no-plots"]) == 0
    assert not (folder / "plots").exists()
    return pd.read_parquet(folder / "metrics.parquet")


def test_same_seed_same_metrics_other_seed_other_values(tmp_path):
    a = _metrics(tmp_path / "a", seed=7)
    b = _metrics(tmp_path / "b", seed=7)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = _metrics(tmp_path / "c", seed=8)
    assert (c["seed"] == 8).all() and (a["seed"] == 7).all()
    assert list(c["metric"]) == list(a["metric"])
    assert not np.array_equal(a["value"].to_numpy(), c["value"].to_numpy()), "another seed gave identical values"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]


def test_rerun_into_the_same_folder_replaces_it(tmp_path):
    first = _metrics(tmp_path / "r", seed=3, years=1)
    again = _metrics(tmp_path / "r", seed=3, years=1)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
