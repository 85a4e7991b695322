"""`regie sweep`: run an experiment's sample on an executor and keep every finished run.

The output folder holds ``manifest.json`` (the experiment, sizes, versions),
``experiments.parquet`` (one line per run: row, replicate, seed, parameter
values) and ``runs/`` with one file per finished task, written atomically by
this process as results arrive. A task that raises is recorded with its error
and the sweep goes on; a killed sweep continues with ``--resume``, which skips
finished tasks and retries failed ones. At the end the runs are gathered into
``metrics.parquet`` (yearly values of every KPI) and ``outputs.parquet`` (one
value per run and output), and the analysis runs (``sim.sweeps.analysis``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.sweeps.design import (Experiment, ExperimentError, design_table, load_experiment,
                                    row_scenarios)
from sim.executors import execute
from sim.outputs import atomic_write, read_keyed_parquet, write_keyed_parquet

if TYPE_CHECKING:
    from sim.sweeps.analysis import AnalysisResult

OUTPUT_COLUMNS = ["row", "replicate", "seed", "output", "value", "error"]


@dataclass(frozen=True)
class SweepTask:
    """A batch of runs for one worker call: (row, replicate, seed) each, plus what they need."""

    task_id: int
    runs: tuple[tuple[int, int, int], ...]
    model: str
    outputs: tuple[tuple[str, str, int | None], ...]      # (kpi, reduce, years)
    inputs: dict                                          # row -> scenario dict, or row -> x vector
    test_function: dict = field(default_factory=dict)
    definition: str = ""                                  # the sweep's definition hash (see `definition_sha256`)

    def keys(self) -> dict:
        """Embedded in the task's files: whose results a file holds."""
        return {"task_id": self.task_id, "runs": [list(r) for r in self.runs], "definition": self.definition}


@dataclass
class SweepResult:
    """What a sweep produced: counts, its tables in memory and the folder that holds its files.

    ``design`` is experiments.parquet (one row per run: row, replicate, seed, every parameter's
    value and its unit-space value); ``outputs`` is outputs.parquet (one value per finished run
    and output); ``analysis`` holds the index, noise and convergence tables (None without
    the analysis)."""

    out_dir: Path | None     # None when `sim.sweep` ran it in a temporary folder (out=None)
    runs: int
    failed: int
    new_runs: int
    wall_seconds: float
    analysis: AnalysisResult | None = None
    redone: int = 0          # tasks whose earlier files were incomplete or another task's
    design: pd.DataFrame | None = None
    outputs: pd.DataFrame | None = None

    @property
    def indices(self) -> pd.DataFrame | None:
        """The sensitivity indices (indices.parquet: output, parameter, index, value, lo, hi,
        conf, ...), or None when the sweep was not analysed."""
        return None if self.analysis is None else self.analysis.indices


# ------------------------------------------------------------------ one task (in a worker)
def reduce_series(years: np.ndarray, values: np.ndarray, reduce: str, n_years: int | None) -> float:
    """One number from a KPI's time series: its last value, or its mean over the last ``n_years``
    (the steps after ``horizon - n_years``)."""
    if reduce == "horizon":
        return float(values[-1])
    return float(values[years > years[-1] - n_years].mean())


def _regie_run(scenario_data: dict, seed: int, row: int, replicate: int, outputs) -> tuple[list[float], pd.DataFrame]:
    from sim.outputs import simulate
    from sim.scenario import Scenario

    scenario = Scenario.from_dict(scenario_data)
    metrics = simulate(scenario, seed=seed, replicate=replicate).metrics
    wide = metrics.pivot_table(index="step", columns="metric", values="value", observed=True).sort_index()
    years = scenario.start_year + wide.index.to_numpy() / scenario.steps_per_year
    values = []
    for kpi, reduce, n_years in outputs:
        if kpi not in wide.columns:
            raise KeyError(f"the run has no KPI {kpi!r}")
        values.append(reduce_series(years, wide[kpi].to_numpy(), reduce, n_years))
    yearly = metrics[metrics["step"] % scenario.steps_per_year == 0]
    yearly = yearly[["step", "year", "metric", "value"]].assign(row=np.int64(row), replicate=np.int64(replicate),
                                                                 seed=np.int64(seed))
    return values, yearly


def _test_function_run(x: list[float], seed: int, model: str, options: dict) -> float:
    from sim.sweeps.testfunctions import ishigami, sobol_g
    y = float(ishigami(np.array(x))[0] if model == "ishigami" else sobol_g(np.array(x), options["a"])[0])
    if options.get("noise_sd", 0.0) > 0:
        y += options["noise_sd"] * float(np.random.default_rng(seed).standard_normal())
    return y


def run_task(task: SweepTask) -> dict:
    """Run every run of the task; never raises: a failing run is recorded with its error."""
    out_rows, frames = [], []
    for row, replicate, seed in task.runs:
        try:
            if task.model == "regie":
                values, yearly = _regie_run(task.inputs[row], seed, row, replicate, task.outputs)
                frames.append(yearly)
            else:
                y = _test_function_run(task.inputs[row], seed, task.model, task.test_function)
                values = [y]
            out_rows += [(row, replicate, seed, _label(o), v, None) for o, v in zip(task.outputs, values)]
        except Exception as e:  # noqa: BLE001 - recorded; the sweep goes on
            message = f"{type(e).__name__}: {e}"
            out_rows.append((row, replicate, seed, None, np.nan, message + "\n" + traceback.format_exc(limit=-3)))
    metrics = pd.concat(frames, ignore_index=True) if frames else None
    return {"outputs": pd.DataFrame(out_rows, columns=OUTPUT_COLUMNS), "metrics": metrics}


def _label(o: tuple) -> str:
    kpi, reduce, years = o
    return kpi if reduce == "horizon" else f"{kpi}_last{years}y"


# ------------------------------------------------------------------ files
def _task_file(out_dir: Path, task_id: int, kind: str) -> Path:
    return out_dir / "runs" / f"task{task_id:06d}.{kind}.parquet"


def _write_task(out_dir: Path, task: SweepTask, result: dict) -> int:
    """Store one task's results; the outputs file marks the task as done, so it goes last.
    An OSError (full disk, read-only folder) leaves no temp file and is raised."""
    if result["metrics"] is not None:
        write_keyed_parquet(_task_file(out_dir, task.task_id, "metrics"), result["metrics"], task.keys())
    else:
        _task_file(out_dir, task.task_id, "metrics").unlink(missing_ok=True)
    write_keyed_parquet(_task_file(out_dir, task.task_id, "outputs"), result["outputs"], task.keys())
    return int(result["outputs"]["error"].notna().sum())


def read_task(out_dir: Path, task: SweepTask) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
    """A task's outputs and metrics (None for test functions), or None when its files are missing,
    truncated, unreadable or another task's (checked against the keys embedded in them)."""
    outputs = read_keyed_parquet(_task_file(out_dir, task.task_id, "outputs"), task.keys())
    if outputs is None:
        return None
    if task.model != "regie" or outputs["error"].notna().all():
        return outputs, None
    metrics = read_keyed_parquet(_task_file(out_dir, task.task_id, "metrics"), task.keys())
    return (outputs, metrics) if metrics is not None else None


def _task_state(out_dir: Path, task: SweepTask) -> str:
    """'done', 'failed' (some run raised: retried on resume), 'bad' (a file that is incomplete or
    another task's: run again) or 'todo'."""
    stored = read_task(out_dir, task)
    if stored is None:
        return "bad" if _task_file(out_dir, task.task_id, "outputs").exists() else "todo"
    return "failed" if stored[0]["error"].notna().any() else "done"


def _versions() -> dict:
    from importlib.metadata import version

    import sim
    from sim.outputs import git_commit
    libs = {name: version(name) for name in ("numpy", "numba", "mesa", "pandas", "pyarrow", "SALib", "scipy")}
    try:
        libs["distributed"] = version("distributed")
    except Exception:  # noqa: BLE001 - optional at run time
        pass
    return {"package": "regie", "package_version": sim.__version__, "git_commit": git_commit(),
            "python": sys.version.split()[0], "libraries": libs}


# ------------------------------------------------------------------ the sweep
def runs_per_task(exp: Experiment) -> int:
    """Model runs take about a second: one per task. Test-function runs take microseconds: batch
    them (512: assumption, enough to make task overhead negligible, small enough to resume often)."""
    return 1 if exp.model == "regie" else 512


# Rough cost of a run for the time estimate: seconds per simulated year (burn-in included) of a
# 100×100 city on one core. From `make bench` on the 2-core development machine (20 years of
# midsize plus 3 of burn-in: 1.2-2.5 s, i.e. 0.05-0.11 s a year); the slower figure is used.
SECONDS_PER_YEAR_PER_10K_CELLS = 0.11


def size_and_time(exp: Experiment, design: pd.DataFrame, tasks: list[SweepTask], runs_todo: int,
                  workers: int | None) -> str:
    """One line: the sweep's size and a rough estimate of its time on ``workers`` processes."""
    rows, reps = int(design["row"].nunique()), exp.replicates
    n = workers or os.cpu_count() or 1
    head = f"sweep {exp.name}: {len(design)} runs ({rows} sample rows × {reps} replicate(s)), {runs_todo} to run"
    if exp.model != "regie":
        return head + f" (test function {exp.model}: seconds)"
    from sim.scenario import Scenario
    first = Scenario.from_dict(next(iter(tasks[0].inputs.values())))   # rows differ in parameters only
    years = first.horizon_years + first.burn_in_years
    per_run = SECONDS_PER_YEAR_PER_10K_CELLS * years * first.city.side_cells ** 2 / 1e4
    minutes = runs_todo * per_run / n / 60
    when = f"about {minutes:.0f} min" if minutes >= 1 else "under a minute"
    return (head + f" of {first.horizon_years}-year {first.city.side_cells}×{first.city.side_cells} cities; "
            f"{when} on {n} worker(s) (rough: {per_run:.1f} s a run on one core)")


def definition_sha256(exp: Experiment, base: dict | None) -> str:
    """Hash of everything that defines a sweep's results: the experiment (without its analysis
    settings), the fully resolved base scenario (its ``base:`` files and the experiment's
    ``scenario:`` overrides applied) and the package version. ``--resume`` refuses any change."""
    import hashlib

    import sim
    data = {"experiment": exp.sha256(), "base": base, "package_version": sim.__version__}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def plan_tasks(exp: Experiment, design: pd.DataFrame, inputs: dict[int, object], definition: str = "") -> list[SweepTask]:
    size = runs_per_task(exp)
    runs = list(zip(design["row"].astype(int), design["replicate"].astype(int), design["seed"].astype(int)))
    outputs = tuple((o.kpi, o.reduce, o.years) for o in exp.outputs)
    options = exp.test_function.model_dump()
    tasks = []
    for task_id, start in enumerate(range(0, len(runs), size)):
        chunk = tuple(runs[start:start + size])
        rows = sorted({r for r, _, _ in chunk})
        tasks.append(SweepTask(task_id, chunk, exp.model, outputs, {r: inputs[r] for r in rows}, options,
                               definition))
    return tasks


def _check_outputs(exp: Experiment, first_scenario: dict, source: str) -> None:
    """Unknown KPI names fail now, not after hours of runs: the same check as `regie validate`
    (``design.check_outputs``, from the metric names the code records)."""
    from sim.sweeps.design import check_outputs

    check_outputs(exp, first_scenario, source)


def prepare(path: str | Path, out: str | Path | None, resume: bool,
            scheduler: str | None = None) -> tuple[Experiment, pd.DataFrame, list[SweepTask], Path]:
    """Validate the experiment and every sampled scenario, check that the scheduler answers,
    and set up (or check) the folder: nothing is written before the input is known to be good."""
    exp, base = load_experiment(path)
    design = design_table(exp, base)
    if exp.model == "regie":
        inputs = row_scenarios(exp, base, design, str(path))
        _check_outputs(exp, inputs[0], str(path))
    else:
        firsts = design[design["replicate"] == 0]
        inputs = {int(r): [float(firsts.iloc[i][n]) for n in exp.names] for i, r in enumerate(firsts["row"])}
    if scheduler:
        from sim.executors import check_scheduler
        check_scheduler(scheduler)
    definition = definition_sha256(exp, base)
    tasks = plan_tasks(exp, design, inputs, definition)
    out_dir = Path(out or Path("results") / "sweeps" / exp.name)
    manifest = out_dir / "manifest.json"
    if out_dir.exists() and not out_dir.is_dir():
        raise ExperimentError([f"--out {out_dir}: exists and is not a folder; choose another --out"])
    if manifest.exists():
        try:
            earlier = json.loads(manifest.read_text())
        except (OSError, ValueError):
            raise ExperimentError([f"{manifest}: unreadable; choose another --out"]) from None
        if not resume:
            raise ExperimentError([f"{out_dir}: holds an earlier sweep; add --resume to continue it or choose another --out"])
        why = _definition_difference(earlier, exp, definition)
        if why:
            raise ExperimentError([f"{out_dir}: --resume refused: {why}; choose another --out"])
        for stale in (out_dir / "runs").glob(".*.tmp*"):   # half-written files of a killed sweep
            stale.unlink()
        earlier["experiment"] = exp.model_dump(mode="json")   # the analysis settings may have changed
        atomic_write(manifest, lambda p: Path(p).write_text(json.dumps(earlier, indent=2)))
        return exp, design, tasks, out_dir
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise ExperimentError([f"--out {out_dir}: exists and holds no sweep; choose a new or empty folder"])
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "experiments.parquet", lambda p: design.to_parquet(p, index=False))
    atomic_write(manifest, lambda p: Path(p).write_text(json.dumps({
        "experiment_name": exp.name, "experiment_file": str(path), "experiment_sha256": exp.sha256(),
        "definition_sha256": definition,
        "experiment": exp.model_dump(mode="json"), "base_scenario": base,
        "method": exp.method.name, "rows": int(design["row"].nunique()), "replicates": exp.replicates,
        "runs": len(design), "runs_per_task": runs_per_task(exp), "tasks": len(tasks),
        "seeds": "SeedSequence(seed, spawn_key=(row, replicate)), 63 bits", **_versions(),
        "created_utc": pd.Timestamp.now("UTC").isoformat(timespec="seconds")}, indent=2)))
    return exp, design, tasks, out_dir


def _definition_difference(earlier: dict, exp: Experiment, definition: str) -> str | None:
    """Why a sweep folder's results are not those of this experiment, in words (None: they are)."""
    import sim
    if earlier.get("definition_sha256") == definition:
        return None
    if earlier.get("package_version") != sim.__version__:
        return f"it was made by Regie {earlier.get('package_version')}, this is {sim.__version__}"
    if earlier.get("experiment_sha256") != exp.sha256():
        return f"the experiment differs from the one there ({earlier.get('experiment_file')})"
    return ("the base scenario changed since (its resolved contents: its own file, its base: files or "
            "the experiment's scenario: overrides)")


def sweep(path: str | Path, executor: str = "process", workers: int | None = None, scheduler: str | None = None,
          out: str | Path | None = None, resume: bool = False, progress: bool = True, analyze: bool = True,
          allow_missing: bool = False, lang: str = "en") -> SweepResult:
    """Run (or continue) the sweep of ``path`` and analyse it. See the module docstring."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    exp, design, tasks, out_dir = prepare(path, out, resume, scheduler)
    states = {t.task_id: _task_state(out_dir, t) for t in tasks}
    todo = [t for t in tasks if states[t.task_id] != "done"]
    redone = sum(state == "bad" for state in states.values())
    if redone:
        print(f"{redone} task(s) of the earlier sweep had an incomplete file or another task's; "
              "they are run again", file=sys.stderr)
    if progress and todo:
        print(size_and_time(exp, design, tasks, sum(len(t.runs) for t in todo), workers), file=sys.stderr)
    total, already = len(design), sum(len(t.runs) for t in tasks if states[t.task_id] == "done")
    bar = tqdm(total=total, initial=already, unit="run", desc=f"sweep {exp.name}", disable=not progress,
               smoothing=0.05)
    failed = [0]

    def on_result(task: SweepTask, result: dict) -> None:
        failed[0] += _write_task(out_dir, task, result)
        bar.update(len(task.runs))
        bar.set_postfix(failed=failed[0])

    def on_failure(task: SweepTask, message: str) -> None:   # the worker itself died (Dask)
        rows = [(r, k, s, None, np.nan, message) for r, k, s in task.runs]
        on_result(task, {"outputs": pd.DataFrame(rows, columns=OUTPUT_COLUMNS), "metrics": None})

    n_workers = workers or os.cpu_count() or 1
    warm = exp.model == "regie"
    if warm and todo and (executor == "dask" or scheduler or (executor == "process" and n_workers > 1)):
        from sim.executors import warm_kernels
        warm_kernels()   # compile once here, so that the workers only load numba's cache
    try:
        execute(run_task, todo, on_result, executor=executor, workers=n_workers, scheduler=scheduler, warm=warm,
                on_failure=on_failure)
    finally:
        bar.close()
    n_failed = gather(out_dir, tasks)
    result = SweepResult(out_dir, total, n_failed, sum(len(t.runs) for t in todo), time.perf_counter() - t0,
                         redone=redone, design=design, outputs=pd.read_parquet(out_dir / "outputs.parquet"))
    _note_run(out_dir, executor if not scheduler else f"dask ({scheduler})", n_workers, result)
    if analyze:
        from sim.sweeps.analysis import analyze as run_analysis
        result.analysis = run_analysis(out_dir, allow_missing=allow_missing, lang=lang)
    return result


def outputs_stale(out_dir: Path) -> bool:
    """True when outputs.parquet is missing or older than a task file (so `gather` must run again)."""
    gathered = out_dir / "outputs.parquet"
    if not gathered.exists():
        return True
    newest = max((f.stat().st_mtime for f in (out_dir / "runs").glob("task*.outputs.parquet")), default=0.0)
    return newest > gathered.stat().st_mtime


def gather(out_dir: Path, tasks: list[SweepTask] | None = None) -> int:
    """Collect the task files into outputs.parquet, metrics.parquet and failures.csv; return failures.

    With ``tasks`` only files that hold those tasks' results count (see ``read_task``);
    without (``regie analyze``), every task file that can be read."""
    outs, metrics = [], []
    if tasks is not None:
        for task in tasks:
            stored = read_task(out_dir, task)
            if stored is not None:
                outs.append(stored[0])
                if stored[1] is not None:
                    metrics.append(stored[1])
    else:
        for f in sorted((out_dir / "runs").glob("task*.outputs.parquet")):
            try:
                outs.append(pd.read_parquet(f))
                m = f.with_name(f.name.replace(".outputs.", ".metrics."))
                if m.exists():
                    metrics.append(pd.read_parquet(m))
            except (OSError, ValueError):   # truncated or unreadable: that task counts as missing
                continue
    outputs = pd.concat(outs, ignore_index=True) if outs else pd.DataFrame(columns=OUTPUT_COLUMNS)
    failures = outputs[outputs["error"].notna()]
    ok = outputs[outputs["error"].isna()].drop(columns="error").sort_values(["row", "replicate", "output"])
    atomic_write(out_dir / "outputs.parquet", lambda p: ok.to_parquet(p, index=False))
    if metrics:
        table = pd.concat(metrics, ignore_index=True)
        table = table[["row", "replicate", "seed", "step", "year", "metric", "value"]].sort_values(
            ["row", "replicate", "step"], kind="stable")
        atomic_write(out_dir / "metrics.parquet", lambda p: table.to_parquet(p, index=False))
    fail_file = out_dir / "failures.csv"
    if len(failures):
        table = failures[["row", "replicate", "seed", "error"]].assign(
            error=failures["error"].str.split("\n").str[0])
        atomic_write(fail_file, lambda p: table.to_csv(p, index=False))
    else:
        fail_file.unlink(missing_ok=True)
    return int(len(failures))


def _note_run(out_dir: Path, executor: str, workers: int, result: SweepResult) -> None:
    """Append this call to the manifest's history (a sweep may be resumed several times)."""
    path = out_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.setdefault("history", []).append({
        "finished_utc": pd.Timestamp.now("UTC").isoformat(timespec="seconds"), "executor": executor,
        "workers": workers, "runs_now": result.new_runs, "failed_runs": result.failed,
        "wall_seconds": round(result.wall_seconds, 1)})
    atomic_write(path, lambda p: Path(p).write_text(json.dumps(manifest, indent=2)))

