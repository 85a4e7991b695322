"""`regie compare`: scenarios side by side on common random numbers, for a workshop.

Replicate i runs with the same seed under every scenario (seeds spawned from
the first scenario's seed with ``SeedSequence.spawn``), so a difference between
scenarios is the instruments' effect, not seed noise; intervals on differences
are paired over replicates.

Runs travel back to this process, which alone writes: every finished run is
written at once (atomically, with the scenario hash, replicate and seed embedded
in the file) under ``runs/``; a failing run is recorded with its error and the
comparison goes on; Ctrl-C, a full disk or a killed process keeps what is
finished, and ``--resume`` continues from there with the same result as an
uninterrupted comparison. A run file that is incomplete or another run's is run
again. ``--resume`` with more replicates than the folder holds adds the new
replicates (replicate i keeps its seed, see ``replicate_seeds``).

Each run keeps its end state (the last snapshot) for the report's maps:
``end_states`` stacks it over replicates as per-parcel layers (vacant, vacant a
year or more, criminal front, poor condition) on the KPIs' own definitions.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import time
import traceback
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import sim
from sim.executors import execute
from sim.kernels.kpis import POOR_CONDITION
from sim.outputs import atomic_write, read_keyed_parquet, simulate, write_keyed_parquet
from sim.scenario import Scenario, ScenarioError
from sim.uses import IS_COMMERCIAL, LAND_PARCEL, VACANT
from sim.workshop.statistics import summary_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAP_KEYS = ("use", "land", "street_class")
# The rest of a run's end state kept for the probability maps (``end_states``): 2-D arrays of the
# last snapshot, and the step it was taken at with the steps per year (0-d), to tell how long a
# unit has been vacant. Compact dtypes: condition as float16 (``_condition_float16``).
END_STATE_KEYS = ("condition", "is_front", "vacant_since")
END_STATE_SCALARS = ("step", "steps_per_year")
# The default folder shows the scenario names up to about this many characters (assumption: readable
# in a file browser and a terminal), then "+N more"; a hash of all names tells comparisons apart.
FOLDER_NAME_CHARS = 60
FOLDER_HASH_CHARS = 8   # 32 bits: two of one user's comparisons sharing a folder is out of the question


class CompareError(ValueError):
    """Bad comparison input (one line per problem)."""


# What must agree between scenarios for a comparison to mean anything (the city and the calendar).
COMPARABLE = ("city", "start_year", "horizon_years", "steps_per_year", "burn_in_years")


@dataclass(frozen=True)
class RunTask:
    scenario: str          # scenario name
    replicate: int
    seed: int
    sha256: str = ""       # of the resolved scenario: embedded in the run's file

    def keys(self) -> dict:
        return {"scenario": self.scenario, "scenario_sha256": self.sha256, "replicate": self.replicate,
                "seed": self.seed}


@dataclass
class CompareResult:
    """What a comparison produced: its tables in memory and the folder that holds its files.

    ``summary`` has one row per scenario and key KPI at the horizon (columns as summary.csv,
    ``sim.workshop.statistics.summary_table``: mean, lo, hi, diff, diff_lo, diff_hi,
    distinguishable, net_cost_eur, cost_lo, cost_hi, per_meur, per_meur_note, rank, sd_ratio,
    paired_sd, mdd, replicates_needed; docs/api.md explains each); ``metrics`` is the tidy table
    of every run (``run_id, scenario, replicate, seed, step, year, metric, value``)."""

    out_dir: Path | None       # None when `sim.compare` ran it in a temporary folder (out=None)
    summary: pd.DataFrame
    metrics: pd.DataFrame
    failures: list[dict] = field(default_factory=list)
    missing: list[RunTask] = field(default_factory=list)
    wall_seconds: float = 0.0
    report: Path | None = None  # report.html (report.nl.html in Dutch) when one was written
    new_runs: int = 0          # runs done by this call (the rest came from an earlier, resumed one)
    redone: int = 0            # of those, runs whose earlier file was incomplete or another run's

    @property
    def baseline(self) -> str:
        """The reference scenario's name (the first one compared)."""
        return str(self.summary["scenario"].iloc[0])

    def plot_trajectories(self, metrics: Sequence[str] | None = None, lang: str = "en",
                          title: str = "") -> Figure:
        """One panel per KPI (default: the report's headline KPIs), one line per scenario: the
        mean over replicates with a 5-95 % band; the reference drawn black. Shares in %, euros
        in EUR million."""
        from sim.plots import TRAJECTORY_METRICS, trajectories_figure
        return trajectories_figure(self.metrics, lang, baseline=self.baseline, title=title,
                                   metric_names=tuple(metrics) if metrics is not None else TRAJECTORY_METRICS)


def replicate_seeds(root_seed: int, replicates: int) -> list[int]:
    """One seed per replicate, the same for every scenario (common random numbers). Replicate i's
    seed does not depend on how many replicates there are (child i of ``spawn`` has spawn key
    (i,)), so a comparison can be extended with more replicates."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(root_seed).spawn(replicates)]


def default_out_dir(names: Sequence[str]) -> Path:
    """``results/compare/<names>_<hash>``: the scenario names joined by ``_vs_`` (after about
    ``FOLDER_NAME_CHARS`` characters the rest as ``+N more``) and a short hash of every name in
    order. Two comparisons of other scenarios never share a folder; the same scenarios always get
    the same one, whatever the number of replicates (so ``--resume`` finds it)."""
    shown: list[str] = []
    for name in names:
        if shown and len("_vs_".join([*shown, name])) > FOLDER_NAME_CHARS:
            break
        shown.append(name)
    label = "_vs_".join(shown)
    if len(shown) < len(names):
        label += f"_+{len(names) - len(shown)}more"
    digest = hashlib.sha256(json.dumps(list(names)).encode()).hexdigest()[:FOLDER_HASH_CHARS]
    return Path("results") / "compare" / f"{label}_{digest}"


def source_of(item: str | Path | Scenario) -> str:
    """How messages name a scenario: its file, or ``<scenario NAME>`` for one made in Python."""
    return f"<scenario {item.name}>" if isinstance(item, Scenario) else str(item)


def load_scenarios(paths: Sequence[str | Path | Scenario]) -> list[Scenario]:
    """Validate every file (a ``Scenario`` is taken as it is); scenario names must differ (they
    name the result folders) and the scenarios must be comparable: the same city and calendar
    as the first (``COMPARABLE``)."""
    problems: list[str] = []
    scenarios: list[Scenario] = []
    for p in paths:
        try:
            scenarios.append(p if isinstance(p, Scenario) else Scenario.from_yaml(p))
        except ScenarioError as e:
            problems.extend(e.problems)
    if problems:
        raise ScenarioError(problems)
    paths = [source_of(p) for p in paths]
    for path, s in zip(paths, scenarios):
        for line in s.warnings(str(path)):
            print(f"warning: {line}", file=sys.stderr)
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CompareError(f"scenario names must differ, these repeat: {dupes} (set `name:` in the files)")
    reference = scenarios[0].to_dict()
    for path, s in zip(paths[1:], scenarios[1:]):
        data = s.to_dict()
        for key in COMPARABLE:
            if data[key] != reference[key]:
                raise CompareError(f"{path}: {key}: {_short(data[key])} differs from {_short(reference[key])} in "
                                   f"the first scenario {paths[0]}; scenarios of one comparison need the same "
                                   "city, start year, horizon, steps per year and burn-in")
    return scenarios


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


# ------------------------------------------------------------------ one run (in a worker)
def _run_file(out: Path, task: RunTask, suffix: str) -> Path:
    return out / "runs" / task.scenario / f"rep{task.replicate:03d}{suffix}"


def _condition_float16(condition: np.ndarray) -> np.ndarray:
    """Condition as float16 (a quarter of the bytes; maps need no more than 3 digits), on the same
    side of ``POOR_CONDITION`` as the float64 value: rounding must not change which parcels count
    as poor (the KPI ``condition_poor_share`` compares the float64 condition)."""
    c16 = condition.astype(np.float16)
    poor = condition < POOR_CONDITION
    t16 = np.float16(POOR_CONDITION)
    below = t16 if t16 < POOR_CONDITION else np.nextafter(t16, np.float16(-np.inf))   # largest float16 < threshold
    at = t16 if t16 >= POOR_CONDITION else np.nextafter(t16, np.float16(np.inf))      # smallest float16 >= threshold
    c16[poor & (c16.astype(np.float64) >= POOR_CONDITION)] = below
    c16[~poor & (c16.astype(np.float64) < POOR_CONDITION)] = at
    return c16


def end_state(snapshots: dict[str, np.ndarray], scenario: Scenario) -> dict[str, np.ndarray]:
    """What a run file keeps of the last yearly snapshot (taken at the horizon, step
    ``n_steps``, the state of the last KPI record): ``MAP_KEYS``, ``END_STATE_KEYS`` and
    ``END_STATE_SCALARS``."""
    last = {k: snapshots[k][-1] for k in (*MAP_KEYS, *END_STATE_KEYS)}
    last["condition"] = _condition_float16(last["condition"])
    last["step"] = np.int32(scenario.n_steps)
    last["steps_per_year"] = np.int32(scenario.steps_per_year)
    return last


def run_task(scenario_data: dict, task: RunTask, keep_start: bool = False) -> dict:
    """Run one (scenario, replicate) in a worker and return its metrics and end state, or its
    error; never raises and never writes (this process writes, see ``store_run``). With
    ``keep_start`` also ``"start"``: the map layers (``MAP_KEYS``) of the first snapshot, the city
    at the start (`regie app` shows it)."""
    try:
        scenario = Scenario.from_dict(scenario_data)
        result = simulate(scenario, seed=task.seed, replicate=task.replicate)
        out = {"metrics": result.metrics, "map": end_state(result.snapshots, scenario), "error": None}
        if keep_start:
            out["start"] = {k: result.snapshots[k][0] for k in MAP_KEYS}
        return out
    except Exception as e:  # noqa: BLE001 - a failing run is recorded, the comparison goes on
        return {"metrics": None, "map": None, "error": f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}"}


def store_run(out_dir: Path, task: RunTask, result: dict) -> bool:
    """Write one run's files (the map first: the metrics file marks the run as finished); True
    when the run failed. An OSError (full disk, read-only folder) leaves no temp file and is raised."""
    if result["error"] is not None:
        atomic_write(_run_file(out_dir, task, ".error.txt"), lambda p: Path(p).write_text(result["error"]))
        return True
    atomic_write(_run_file(out_dir, task, ".npz"), lambda p: np.savez_compressed(p, **result["map"]))
    write_keyed_parquet(_run_file(out_dir, task, ".parquet"), result["metrics"], task.keys())
    _run_file(out_dir, task, ".error.txt").unlink(missing_ok=True)   # an earlier failure, now retried
    return False


def read_run(out_dir: Path, task: RunTask) -> pd.DataFrame | None:
    """The metrics of a finished run, or None when its files are missing, incomplete or another run's."""
    metrics = read_keyed_parquet(_run_file(out_dir, task, ".parquet"), task.keys())
    if metrics is None:
        return None
    try:
        with np.load(_run_file(out_dir, task, ".npz")) as z:
            # a file without the end state (written before it was kept) is run again
            if not (all(k in z.files and z[k].ndim == 2 for k in (*MAP_KEYS, *END_STATE_KEYS))
                    and all(k in z.files and z[k].ndim == 0 for k in END_STATE_SCALARS)):
                return None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):   # missing, truncated or not a zip
        return None
    return metrics


# ------------------------------------------------------------------ the comparison
def compare(paths: Sequence[str | Path | Scenario], replicates: int = 20, workers: int | None = None,
            out: str | Path | None = None, lang: str = "en", resume: bool = False, progress: bool = True,
            report: bool = True, seed: int | None = None) -> CompareResult:
    """Run every scenario (files, or ``Scenario`` objects) for the same replicate seeds, spawned
    from ``seed`` (default: the first scenario's), summarise and write the report. ``out``
    defaults to ``default_out_dir`` of the scenario names."""
    t0 = time.perf_counter()
    scenarios = load_scenarios(paths)
    paths = [source_of(p) for p in paths]
    if replicates == 1:
        print("warning: 1 replicate: no intervals and no effects can be told apart from chance; "
              "use --replicates 10 or more", file=sys.stderr)
    seeds = replicate_seeds(scenarios[0].seed if seed is None else seed, replicates)
    out_dir = Path(out) if out is not None else default_out_dir([s.name for s in scenarios])
    _prepare_folder(out_dir, scenarios, paths, seeds, resume)
    tasks = [RunTask(s.name, r, run_seed, s.sha256()) for r, run_seed in enumerate(seeds) for s in scenarios]
    todo = [t for t in tasks if read_run(out_dir, t) is None]
    redone = sum(_run_file(out_dir, t, ".parquet").exists() for t in todo)
    if redone:
        print(f"{redone} run(s) of the earlier comparison had an incomplete file or another run's; "
              "they are run again", file=sys.stderr)
    data = {s.name: s.to_dict() for s in scenarios}
    _execute(todo, data, out_dir, workers, progress, total=len(tasks))
    result = summarise(out_dir, scenarios, tasks, lang)
    result.new_runs, result.redone = len(todo), redone
    result.wall_seconds = time.perf_counter() - t0
    if report:
        from sim.workshop.report import write_report
        finished = result.metrics.groupby("scenario", observed=True)["replicate"].unique()
        states = {s.name: {**end_states(out_dir, s.name, sorted(int(r) for r in finished[s.name])),
                           "replicates": sorted(int(r) for r in finished[s.name])}
                  for s in scenarios if s.name in finished.index}
        descriptions = {s.name: {"en": s.description, "nl": s.description_nl} for s in scenarios}
        result.report = write_report(out_dir, result.summary, result.metrics, states, scenarios[0].name, lang=lang,
                                     failures=result.failures, descriptions=descriptions)
    return result


def comparison_plan(scenarios: list[Scenario], paths: list[str], seeds: list[int]) -> dict:
    """Everything that defines a comparison's results: the fully resolved scenarios (after
    ``base:``), the seeds and the package version. ``--resume`` refuses any difference but
    more seeds that start with the folder's (more replicates: the comparison is extended)."""
    return {"scenarios": [s.name for s in scenarios], "files": list(map(str, paths)),
            "sha256": [s.sha256() for s in scenarios], "seeds": seeds, "package_version": sim.__version__}


def _plan_difference(old: dict, new: dict) -> str | None:
    """What differs between two comparison plans, in words (None when they agree, or when the
    new plan only adds replicates: its seeds start with the old plan's)."""
    if old.get("package_version") != new["package_version"]:
        return f"it was made by Regie {old.get('package_version')}, this is {new['package_version']}"
    if old.get("scenarios") != new["scenarios"]:
        return f"it compares {old.get('scenarios')}, not {new['scenarios']}"
    old_seeds = old.get("seeds") if isinstance(old.get("seeds"), list) else []
    if not old_seeds or new["seeds"][:len(old_seeds)] != old_seeds[:len(new["seeds"])]:
        return "its replicates have other seeds (another root seed)"
    for name, path, a, b in zip(new["scenarios"], new["files"], old.get("sha256", []), new["sha256"]):
        if a != b:
            return f"scenario {name} ({path}) changed since (its resolved contents, base files included)"
    return None


def _prepare_folder(out_dir: Path, scenarios: list[Scenario], paths: list[str], seeds: list[int],
                    resume: bool) -> None:
    """Refuse to mix comparisons: a folder holds runs of one set of scenarios and seeds."""
    plan = comparison_plan(scenarios, paths, seeds)
    plan_file = out_dir / "compare_plan.json"
    if out_dir.exists() and not out_dir.is_dir():
        raise CompareError(f"--out {out_dir}: exists and is not a folder; choose another --out")
    if plan_file.exists():
        if not resume:
            raise CompareError(f"{out_dir}: holds an earlier comparison; add --resume to continue it "
                               "or choose another --out")
        try:
            earlier = json.loads(plan_file.read_text())
        except (OSError, ValueError):
            raise CompareError(f"{plan_file}: unreadable; choose another --out") from None
        earlier = earlier if isinstance(earlier, dict) else {}
        why = _plan_difference(earlier, plan)
        if why:
            raise CompareError(f"{out_dir}: --resume refused: {why}; choose another --out")
        held, wanted = len(earlier["seeds"]), len(seeds)
        if wanted < held:
            # the folder's summary and report cover all its replicates: a smaller comparison needs its own folder
            raise CompareError(f"--replicates {wanted}: the comparison in {out_dir} has {held} replicates; "
                               f"use --replicates {held} (or more) with --resume, or another --out")
        for stale in (out_dir / "runs").glob("*/.*.tmp*"):   # half-written files of interrupted runs
            stale.unlink()
        if wanted > held:
            # the plan is rewritten first: an interrupted extension resumes with the same --replicates
            print(f"{out_dir}: extending the comparison from {held} to {wanted} replicates; "
                  "its finished runs are kept", file=sys.stderr)
            atomic_write(plan_file, lambda p: Path(p).write_text(json.dumps(plan, indent=2)))
        return
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise CompareError(f"--out {out_dir}: exists and holds no comparison; choose a new or empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(plan_file, lambda p: Path(p).write_text(json.dumps(plan, indent=2)))


def _run_named(data: dict, task: RunTask) -> dict:
    return run_task(data[task.scenario], task)


def _execute(todo: list[RunTask], data: dict, out_dir: Path, workers: int | None, progress: bool,
             total: int) -> None:
    """Run the tasks, serially (workers=1) or on a process pool, and store each result as it
    arrives; Ctrl-C or a write error keeps finished runs."""
    from tqdm import tqdm
    bar = tqdm(total=total, initial=total - len(todo), unit="run", desc="compare", disable=not progress)
    failed = [0]

    def on_result(task: RunTask, result: dict) -> None:
        failed[0] += store_run(out_dir, task, result)
        bar.update(1)
        bar.set_postfix(failed=failed[0])

    try:
        execute(functools.partial(_run_named, data), todo, on_result, executor="process", workers=workers)
    finally:
        bar.close()


def summarise(out_dir: Path, scenarios: list[Scenario], tasks: list[RunTask], lang: str = "en") -> CompareResult:
    """Collect the runs, write metrics.parquet, seeds.csv, summary.csv and summary.md."""
    frames, failures, missing = [], [], []
    for t in tasks:
        error_file = _run_file(out_dir, t, ".error.txt")
        metrics = read_run(out_dir, t)
        if metrics is not None:
            frames.append(metrics)
        elif error_file.exists():
            failures.append({"scenario": t.scenario, "replicate": t.replicate, "seed": t.seed,
                             "error": error_file.read_text().splitlines()[0]})
        else:
            missing.append(t)
    if not frames:
        raise CompareError(f"{out_dir}: no run finished; see runs/*/*.error.txt")
    metrics = pd.concat(frames, ignore_index=True)
    metrics["metric"] = metrics["metric"].astype(str)
    atomic_write(out_dir / "metrics.parquet", lambda p: metrics.to_parquet(p, index=False))
    seeds = sorted({(t.replicate, t.seed) for t in tasks})
    atomic_write(out_dir / "seeds.csv",
                 lambda p: pd.DataFrame(seeds, columns=["replicate", "seed"]).to_csv(p, index=False))
    summary = summary_table(metrics, [s.name for s in scenarios])
    atomic_write(out_dir / "summary.csv", lambda p: summary.to_csv(p, index=False))
    from sim.workshop.report import summary_markdown
    text = summary_markdown(summary, failures, lang, baseline=scenarios[0].name)
    atomic_write(out_dir / "summary.md", lambda p: Path(p).write_text(text, encoding="utf-8"))
    return CompareResult(out_dir, summary, metrics, failures, missing)


def end_states(out_dir: Path, scenario_name: str, replicates: Sequence[int]) -> dict[str, np.ndarray]:
    """The end state (at the horizon) of the given replicates of one scenario, as layers for
    probability maps: the mean over axis 0 of a boolean layer is, per parcel, the share of
    replicates in which it holds.

    Returns, stacked over ``replicates`` (shape ``(n, H, W)``), on the KPIs' definitions
    (``sim.kernels.kpis.kpi_reduce``):

    - ``unit`` (bool): a commercial unit, let or vacant: the parcels that count in the vacancy
      KPIs (``vacancy_units`` = vacant / unit); it changes with conversions to housing.
    - ``vacant`` (bool): a vacant commercial unit.
    - ``longterm_vacant`` (bool): vacant for a year or more (the units whose floor makes up
      ``longterm_vacancy_1y``, a share of the vacant floor).
    - ``front`` (bool): a criminal front occupies it (hidden from the use statistics: such a
      unit counts as let).
    - ``poor`` (bool): a parcel in condition below ``POOR_CONDITION`` (``condition_poor_share`` =
      poor / parcels).
    - ``condition`` (float32, 0..1, stored at float16 precision) and ``use`` (int8, use codes).

    and ``land`` and ``street_class`` (2-D, int8) of the first replicate. ``land`` is the same in
    every replicate; ``street_class`` differs a little (the rings of street classes wobble with
    the seed: 30-35 of 2,304 cells between replicates of a 48-cell city), and which parcels are
    commercial units differs between replicates (``unit``).

    Raises:
        CompareError: for a run without an end-state file (missing, or written before end
            states were kept), or no replicates.
    """
    if len(replicates) == 0:
        raise CompareError(f"{scenario_name}: no replicates to read end states from")
    layers: dict[str, list[np.ndarray]] = {k: [] for k in
                                           ("unit", "vacant", "longterm_vacant", "front", "poor", "condition", "use")}
    first: dict[str, np.ndarray] = {}
    for rep in replicates:
        path = _run_file(Path(out_dir), RunTask(scenario_name, int(rep), 0), ".npz")
        try:
            with np.load(path) as z:
                run = {k: z[k] for k in (*MAP_KEYS, *END_STATE_KEYS, *END_STATE_SCALARS)}
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
            raise CompareError(f"{path}: no end state of this run (missing, incomplete or written by an "
                               "older Regie); run the comparison again with --resume") from None
        parcel = run["land"] == LAND_PARCEL
        use = run["use"]
        vacant = parcel & (use == VACANT)
        layers["unit"].append(parcel & (vacant | IS_COMMERCIAL[use]))
        layers["vacant"].append(vacant)
        # whole steps vacant against whole years, as the KPI: (step - since) / spy >= 1
        layers["longterm_vacant"].append(vacant & (int(run["step"]) - run["vacant_since"].astype(np.int64)
                                                   >= int(run["steps_per_year"])))
        layers["front"].append(parcel & run["is_front"])
        # compared in float64, as the KPI (float16 storage keeps each parcel's side of the threshold)
        layers["poor"].append(parcel & (run["condition"].astype(np.float64) < POOR_CONDITION))
        layers["condition"].append(run["condition"].astype(np.float32))
        layers["use"].append(use)
        first = first or {"land": run["land"], "street_class": run["street_class"]}
    return {**{k: np.stack(v) for k, v in layers.items()}, **first}
