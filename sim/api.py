"""Regie from Python: load a scenario, vary it, run it, compare scenarios, sweep parameters.

Every function here calls the code the ``regie`` command runs (``Scenario.from_yaml``,
``sim.outputs.simulate``, ``sim.workshop.compare.compare``,
``sim.sweeps.sweep.sweep``): the same scenario and seed give the same numbers from
Python as from the command line. ``import sim`` or ``import regie`` gives these names;
docs/api.md describes each one with its units.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.kpis import RECORD_INDEX
from sim.outputs import Run, simulate
from sim.scenario import MAX_SEED, Scenario, ScenarioError, deep_merge

if TYPE_CHECKING:
    import mesa
    from matplotlib.figure import Figure

    from sim.workshop.compare import CompareResult
    from sim.sweeps.sweep import SweepResult
    from sim.model import CityModel

MAX_REPLICATES = 1000   # as `regie compare --replicates`


# ------------------------------------------------------------------ scenarios
def load_scenario(path: str | Path, /, **overrides: Any) -> Scenario:
    """Read a scenario file, resolve its ``base:`` chain, apply ``overrides`` and validate it.

    Args:
        path: Scenario YAML file (e.g. ``scenarios/baseline.yaml``).
        **overrides: Top-level scenario keys, merged over the file as a child scenario's keys
            are: mappings key by key (``city={"archetype": "small"}`` changes the archetype
            only), anything else replaces. E.g. ``horizon_years=10`` (years), ``seed=7``.

    Returns:
        The validated scenario (frozen: derive changed copies with ``variant``).

    Raises:
        ScenarioError: One line per problem, ``file: key.path: what was expected (got …)``;
            an unknown override key is one of them.
    """
    return Scenario.from_yaml(path, overrides=dict(overrides) or None)


def variant(scenario: Scenario, changes: Mapping[str, Any] | None = None, /, *, name: str | None = None,
            **overrides: Any) -> Scenario:
    """A copy of ``scenario`` with some values changed, validated (scenarios are frozen).

    Args:
        scenario: The scenario to start from.
        changes: Dotted paths into the scenario and their new values, written as the
            parameters of an experiment file: ``{"instruments[kind=vacancy_ordinance].fine_eur":
            2500, "context.cap_rate": 0.06}`` (``[key=value]`` picks the one list item with that
            value, ``[0]`` the first item). Every path must exist in ``scenario``.
        name: Name of the new scenario (scenarios of one comparison need different names);
            default: ``scenario``'s name.
        **overrides: Top-level keys merged as in ``load_scenario``, before ``changes``.

    Returns:
        The new, validated scenario.

    Raises:
        ScenarioError: One line per problem: a path that does not exist, or a value the
            schema refuses (``<variant of NAME>: key.path: what was expected (got …)``).
    """
    from sim.sweeps.design import get_path, set_path

    source = f"<variant of {scenario.name}>"
    data = deep_merge(scenario.to_dict(), overrides)
    for path, value in (changes or {}).items():
        try:
            get_path(data, path)            # a KeyError naming what is missing
            set_path(data, path, value)
        except KeyError as e:
            raise ScenarioError([f"{source}: {e.args[0]}"]) from None
    if name is not None:
        data["name"] = name
    return Scenario.from_dict(data, source=source)


def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    raise TypeError(f"expected a Scenario or a scenario file (got {type(scenario).__name__})")


def _check_count(what: str, value: int | None, low: int, high: int, none_ok: bool = True) -> None:
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{what}: expected a whole number {low}..{high} (got {value!r})")


# ------------------------------------------------------------------ one scenario
@dataclass(repr=False)
class RunResult:
    """One or more replicates of one scenario, in memory (what ``run`` returns).

    Attributes:
        scenario: The scenario that ran.
        runs: One ``sim.outputs.Run`` per replicate, in replicate order (each with its
            ``run_id``, ``seed``, ``metrics``, ``snapshots``, ``timers`` and ``wall_seconds``).
    """

    scenario: Scenario
    runs: list[Run]

    def __repr__(self) -> str:
        return (f"RunResult(scenario={self.scenario.name!r}, replicates={len(self.runs)}, seeds={self.seeds}, "
                f"steps={self.scenario.n_steps}, years={self.scenario.years[0]}..{self.scenario.years[1]})")

    @property
    def seeds(self) -> list[int]:
        """The seed of each replicate."""
        return [r.seed for r in self.runs]

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Every KPI of every step of every replicate, tidy: ``run_id, scenario, replicate, seed,
        step, year, metric, value`` (the columns of metrics.parquet; ``year`` is the calendar
        time at the end of the step; units per metric in docs/api.md)."""
        return pd.concat([r.metrics for r in self.runs], ignore_index=True)

    def wide(self, replicate: int | None = None) -> pd.DataFrame:
        """Step × metric: a ``year`` column, then one column per metric in recording order.

        Args:
            replicate: One replicate (index: ``step``); default: all of them (index ``step``
                for a single run, ``(replicate, step)`` for several).

        Raises:
            ValueError: For a replicate this result does not have.
        """
        m = self.metrics
        if replicate is not None:
            if replicate not in range(len(self.runs)):
                raise ValueError(f"replicate: expected 0..{len(self.runs) - 1} (got {replicate!r})")
            m = m[m["replicate"] == replicate]
        index = ["step"] if replicate is not None or len(self.runs) == 1 else ["replicate", "step"]
        table = m.pivot(index=index, columns="metric", values="value")
        table.columns = table.columns.astype(str).rename(None)
        table.insert(0, "year", m.groupby(index)["year"].first())
        return table

    @cached_property
    def snapshots(self) -> dict[str, np.ndarray]:
        """Yearly parcel grids: ``year`` (n_years,) the calendar year (the state at its start;
        the first is the start year, the last start year + horizon), and per layer an array
        (replicates, n_years, H, W): use, land, street_class, condition, rent_eur_m2,
        asking_rent_eur_m2, value_eur, footfall, owner, dwellings_occupied, is_front,
        vacant_since, last_use (dtypes and units as the ``model.parcels`` arrays, docs/api.md)."""
        first = self.runs[0].snapshots
        out = {k: np.stack([r.snapshots[k] for r in self.runs]) for k in first if k != "year"}
        out["year"] = first["year"]
        return out

    def snapshot(self, year: int | None = None, replicate: int = 0) -> dict[str, np.ndarray]:
        """The parcel grids (H, W) of one replicate at the start of ``year`` (default: the last
        snapshot, the state at the horizon).

        Raises:
            ValueError: For a year without a snapshot or a replicate this result does not have.
        """
        years = [int(y) for y in self.runs[0].snapshots["year"]]
        if replicate not in range(len(self.runs)):
            raise ValueError(f"replicate: expected 0..{len(self.runs) - 1} (got {replicate!r})")
        if year is None:
            year = years[-1]
        if year not in years:
            raise ValueError(f"year: the snapshots are of the years {years[0]}..{years[-1]} (got {year!r})")
        k = years.index(year)
        return {name: a[k] for name, a in self.runs[replicate].snapshots.items() if name != "year"}

    def plot_kpis(self, lang: str = "en", title: str | None = None) -> Figure:
        """The KPI overview (``sim.plots.kpis_figure``): vacancy by street class, use mix,
        footfall, condition, households, criminal fronts; with several replicates each line is
        the mean with a 5-95 % band."""
        from sim.plots import kpis_figure
        return kpis_figure(self.metrics, lang=lang, title=self.scenario.name if title is None else title)

    def plot_metrics(self, metrics: Sequence[str], lang: str = "en", title: str | None = None) -> Figure:
        """One panel per metric (``sim.plots.trajectories_figure``): the mean over replicates
        with a 5-95 % band; shares in %, euros in EUR million."""
        from sim.plots import trajectories_figure
        return trajectories_figure(self.metrics, lang, metric_names=tuple(metrics),
                                   title=self.scenario.name if title is None else title)

    def plot_map(self, year: int | None = None, replicate: int = 0, lang: str = "en",
                 title: str | None = None) -> Figure:
        """Land use and street classes of one replicate at the start of ``year`` (default: the
        horizon), as ``sim.plots.map_figure`` draws them. Raises as ``snapshot``."""
        from sim.plots import map_figure
        snap = self.snapshot(year, replicate)
        shown = int(self.snapshots["year"][-1]) if year is None else year
        return map_figure(snap, f"{self.scenario.name} — {shown}" if title is None else title, lang)


def _simulate_task(scenario: Scenario, progress: bool, task: tuple[int, int]) -> Run:
    replicate, seed = task
    return simulate(scenario, seed=seed, replicate=replicate, progress=progress)


def run(scenario: Scenario | str | Path, *, seed: int | None = None, replicates: int | None = None,
        workers: int | None = 1, progress: bool = False) -> RunResult:
    """Run one scenario over its horizon, once or for several replicates.

    Args:
        scenario: A scenario, or a scenario file (read with ``load_scenario``).
        seed: Root seed (default: the scenario's ``seed``).
        replicates: None: one run with ``seed`` itself, as ``regie run --seed``. A number n:
            n runs whose seeds are spawned from ``seed`` (``SeedSequence.spawn``), as
            ``regie compare --replicates n`` does, so replicate i has the same seed as
            replicate i of a comparison with this scenario first.
        workers: Processes for several replicates (1: in this process; None: every core).
            Which process runs a replicate never changes its result. Processes are spawned:
            in a script, call with ``workers != 1`` under ``if __name__ == "__main__":``.
        progress: Show a progress bar.

    Returns:
        The runs, in replicate order.

    Raises:
        ScenarioError: For a scenario file with problems.
        ValueError: For replicates, workers or seed out of range.
    """
    from sim.workshop.compare import replicate_seeds
    from sim.executors import execute

    _check_count("replicates", replicates, 1, MAX_REPLICATES)
    _check_count("workers", workers, 1, 1024)
    _check_count("seed", seed, 0, MAX_SEED)
    scenario = _as_scenario(scenario)
    root = scenario.seed if seed is None else int(seed)
    seeds = [root] if replicates is None else replicate_seeds(root, replicates)
    runs: dict[int, Run] = {}
    bar = None
    if progress and len(seeds) > 1:
        from tqdm import tqdm
        bar = tqdm(total=len(seeds), unit="run", desc=scenario.name)

    def keep(task: tuple[int, int], result: Run) -> None:
        runs[task[0]] = result
        if bar is not None:
            bar.update(1)

    try:
        execute(partial(_simulate_task, scenario, progress and len(seeds) == 1), list(enumerate(seeds)), keep,
                executor="process", workers=workers)
    finally:
        if bar is not None:
            bar.close()
    return RunResult(scenario, [runs[i] for i in range(len(seeds))])


# ------------------------------------------------------------------ Mesa
def _latest_record(key: str, model: CityModel) -> float:
    """One key of the model's latest record (no recomputation). A DataCollector model reporter
    as ``partial(_latest_record, key)``: Mesa calls lambdas and partials with the model."""
    return model.records[-1][key]


def kpi_collector(model: CityModel, metrics: Iterable[str] | None = None) -> mesa.DataCollector:
    """A Mesa ``DataCollector`` with a model reporter for ``step``, ``year`` and each KPI.

    The reporters read what the model recorded in its last step (``model.records[-1]``), so
    collecting computes nothing anew and gives the values of metrics.parquet. The model does
    not collect by itself (``model.records`` already holds every KPI of every step): call
    ``collect(model)`` once after construction (step 0) and after every step.

    Args:
        model: The model whose KPIs are collected (its metric names are checked).
        metrics: Metric names (default: every metric the model records, in recording order).

    Returns:
        The collector; ``get_model_vars_dataframe()`` gives one row per ``collect``.

    Raises:
        ValueError: For a name the model does not record.
    """
    import difflib

    import mesa

    recorded = [k for k in model.records[-1] if k not in RECORD_INDEX]
    names = recorded if metrics is None else list(metrics)
    unknown = [m for m in names if m not in recorded]
    if unknown:
        close = difflib.get_close_matches(unknown[0], recorded, n=3)
        raise ValueError(f"metrics: {unknown[0]!r} is not a metric of this model"
                         + (f" (close: {', '.join(close)})" if close else "")
                         + f"; it records {len(recorded)} (sim.kpis.known_metrics)")
    return mesa.DataCollector(model_reporters={k: partial(_latest_record, k) for k in (*RECORD_INDEX, *names)})


# ------------------------------------------------------------------ several scenarios
def compare(scenarios: Sequence[Scenario | str | Path], *, replicates: int = 20, seed: int | None = None,
            workers: int | None = 1, out: str | Path | None = None, resume: bool = False,
            report: bool = False, lang: str = "en", progress: bool = False) -> CompareResult:
    """Run scenarios side by side on common random numbers, as ``regie compare`` does.

    Replicate i runs with the same seed under every scenario (spawned from ``seed``); the
    summary holds, per scenario and key KPI at the horizon, the mean with its 95 % interval
    and the paired difference against the first scenario (the reference) with its interval.

    Args:
        scenarios: Scenarios or scenario files; the first is the reference. Names must differ
            and all must share the city and the calendar (start year, horizon, steps, burn-in).
        replicates: Runs per scenario (1..1000).
        seed: Root seed of the replicate seeds (default: the first scenario's ``seed``).
        workers: Processes (1: in this process; None: every core, as ``regie compare``).
            Which process runs a replicate never changes its result.
        out: Folder for the comparison's files (runs/, metrics.parquet, summary.csv, ...; the
            report with ``report=True``). None: a temporary folder, removed afterwards, and
            the result's ``out_dir`` is None.
        resume: Continue an earlier comparison in ``out`` (the same scenarios and seed). With
            more ``replicates`` than it holds, the comparison is extended (replicate i keeps its
            seed; finished runs are kept); fewer are refused (CompareError).
        report: Write report.html (report.nl.html with ``lang="nl"``) and plots/ into ``out``.
        lang: Language of the report, "en" or "nl".
        progress: Show a progress bar.

    Returns:
        ``summary`` and ``metrics`` tables, failed and missing runs (see ``CompareResult``).

    Raises:
        ScenarioError: For a scenario file with problems.
        CompareError: For scenarios that cannot be compared, or an ``out`` that holds
            something else (a ValueError).
        ValueError: For ``replicates``, ``workers`` or ``seed`` out of range, or
            ``report``/``resume`` without ``out``.
    """
    from sim.workshop.compare import compare as compare_runs

    _check_count("replicates", replicates, 1, MAX_REPLICATES, none_ok=False)
    _check_count("workers", workers, 1, 1024)
    _check_count("seed", seed, 0, MAX_SEED)
    compare_in = partial(compare_runs, list(scenarios), replicates=replicates, workers=workers, lang=lang,
                         resume=resume, progress=progress, report=report, seed=seed)
    if out is not None:
        return compare_in(out=out)
    if report or resume:
        raise ValueError("report and resume need out=: the folder that keeps the report and the runs")
    with tempfile.TemporaryDirectory(prefix="regie-compare-") as tmp:
        result = compare_in(out=Path(tmp) / "compare")
    result.out_dir = None
    return result


def sweep(experiment: str | Path, *, executor: str = "process", workers: int | None = None,
          scheduler: str | None = None, out: str | Path | None = None, resume: bool = False,
          analyze: bool = True, allow_missing: bool = False, lang: str = "en", progress: bool = False) -> SweepResult:
    """Run an experiment file's sensitivity sweep and analyse it, as ``regie sweep`` does.

    Args:
        experiment: Experiment YAML file (``experiments/*.yaml``).
        executor: "serial" (this process), "process" (a pool on this machine) or "dask".
        workers: Processes of the pool or of a local Dask cluster (None: every core).
        scheduler: Address of a running Dask scheduler, ``tcp://HOST:PORT`` (implies dask).
        out: Folder for the sweep's files (manifest, runs/, outputs.parquet, indices.parquet,
            plots/, ...). None: a temporary folder, removed afterwards (``out_dir`` is None).
            Give a folder for anything that takes long: it keeps every finished run.
        resume: Continue the sweep in ``out``: finished runs are kept, failed ones retried.
        analyze: Compute the sensitivity indices when the runs are done.
        allow_missing: Analyse even if some runs failed (the analysis says what it dropped).
        lang: Language of the plots, "en" or "nl".
        progress: Show the size, a time estimate and a progress bar.

    Returns:
        Counts, the ``design`` and ``outputs`` tables and the ``analysis`` (``indices``,
        ``noise``, ``convergence``) (see ``SweepResult``).

    Raises:
        ExperimentError: For an experiment file with problems, or an ``out`` that holds
            something else (a ScenarioError: one line per problem).
        ValueError: For ``resume`` without ``out``.
    """
    from sim.sweeps.sweep import sweep as sweep_runs

    _check_count("workers", workers, 1, 1024)
    sweep_in = partial(sweep_runs, experiment, executor=executor, workers=workers, scheduler=scheduler,
                       resume=resume, progress=progress, analyze=analyze, allow_missing=allow_missing, lang=lang)
    if out is not None:
        return sweep_in(out=out)
    if resume:
        raise ValueError("resume needs out=: the folder that keeps the sweep's runs")
    with tempfile.TemporaryDirectory(prefix="regie-sweep-") as tmp:
        result = sweep_in(out=Path(tmp) / "sweep")
    result.out_dir = None
    if result.analysis is not None:
        result.analysis.out_dir = None
    return result
