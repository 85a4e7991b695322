"""Experiment files for `regie sweep`: the strict schema, parameter paths and the sample.

An experiment names a base scenario, the parameters to vary (by dotted path into
the scenario, e.g. ``instruments[kind=preemption].fund_eur``), their
distributions, the outputs (a KPI and how to reduce its time series), the
method and its sample size, replicates per sample row and a root seed.

SALib draws the sample in the unit hypercube; each column is then mapped through
its parameter's distribution (inverse CDF). The analysis works on the unit
sample: Morris effects are then per share of a parameter's range, and delta and
PAWN do not depend on monotone transforms of X.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.scenario import (MAX_SEED, Scenario, ScenarioError, Strict, deep_merge, load_resolved, problem_lines,
                          read_yaml)

if TYPE_CHECKING:   # pandas is imported where a design table is built: `regie validate` of scenarios needs none
    import pandas as pd

METHODS = ("morris", "sobol", "efast", "delta", "pawn")
TEST_FUNCTIONS = ("ishigami", "sobol_g")


class ExperimentError(ScenarioError):
    """Bad experiment input: one line per problem, ``file: key.path: what was expected``."""


# ------------------------------------------------------------------ schema
class ParameterSpec(Strict):
    """One uncertain input: where it sits in the scenario and how it varies."""

    path: str
    """Dotted path into the scenario, e.g. ``context.cap_rate``,
    ``agents.owners.kinds.private.rent_floor_share``, ``instruments[kind=bibob].screenings_per_year``
    (``[key=value]`` picks the one list item with that value; ``[2]`` the third item).
    For the test functions: ``x1``, ``x2``, ..."""
    name: str | None = None
    """Short label in tables and plots (default: derived from the path)."""
    distribution: Literal["uniform", "loguniform", "triangular", "normal", "truncnormal"] = "uniform"
    bounds: Annotated[list[float], Field(min_length=2, max_length=2)] | None = None
    """[low, high]: required for uniform, loguniform, triangular and truncnormal."""
    mode: float | None = None
    """Most likely value (triangular)."""
    mean: float | None = None
    """Mean (normal, truncnormal)."""
    sd: Annotated[float, Field(gt=0)] | None = None
    """Standard deviation (normal, truncnormal)."""

    @field_validator("path")
    @classmethod
    def _readable_path(cls, v: str) -> str:
        try:
            _steps(v)
        except KeyError as e:
            raise ValueError(e.args[0]) from None
        return v

    @model_validator(mode="after")
    def _complete(self) -> "ParameterSpec":
        d, b = self.distribution, self.bounds
        if d != "normal" and b is None:
            raise ValueError(f"a {d} distribution needs bounds: [low, high]")
        if b is not None and not b[0] < b[1]:
            raise ValueError(f"bounds must be [low, high] with low < high (got {list(b)})")
        if d == "loguniform" and b[0] <= 0:
            raise ValueError(f"loguniform bounds must be > 0 (got {list(b)})")
        if d == "triangular" and (self.mode is None or not b[0] <= self.mode <= b[1]):
            raise ValueError(f"triangular needs a mode within the bounds (got mode {self.mode})")
        if d in ("normal", "truncnormal") and (self.mean is None or self.sd is None):
            raise ValueError(f"{d} needs mean and sd")
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        m = re.fullmatch(r"instruments\[kind=(\w+)\]\.(.+)", self.path)
        if m:
            return f"{m.group(1)}.{m.group(2)}"
        parts = [p for p in re.split(r"\.", self.path) if p]
        return ".".join(parts[-2:]) if parts and parts[0] in ("context", "agents", "market") else self.path

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map unit-interval values through this parameter's inverse CDF."""
        from scipy import stats
        d, b = self.distribution, self.bounds
        if d == "uniform":
            return b[0] + u * (b[1] - b[0])
        if d == "loguniform":
            return np.exp(np.log(b[0]) + u * (np.log(b[1]) - np.log(b[0])))
        if d == "triangular":
            c = (self.mode - b[0]) / (b[1] - b[0])
            return stats.triang.ppf(u, c, loc=b[0], scale=b[1] - b[0])
        eps = 1e-9   # unbounded tails: Morris levels and eFAST curves reach 0 and 1 exactly
        if d == "normal":
            return stats.norm.ppf(np.clip(u, eps, 1 - eps), loc=self.mean, scale=self.sd)
        a, z = (b[0] - self.mean) / self.sd, (b[1] - self.mean) / self.sd
        return stats.truncnorm.ppf(u, a, z, loc=self.mean, scale=self.sd)


class OutputSpec(Strict):
    """A KPI and how its time series becomes one number per run."""

    kpi: str
    """A metric name of the run (see `metrics.parquet` of any `regie run`), or ``y`` for a test function."""
    reduce: Literal["horizon", "mean_last_years"] = "horizon"
    """``horizon``: the value at the last step; ``mean_last_years``: the mean over the last ``years``."""
    years: Annotated[int, Field(ge=1, le=100)] | None = None

    @model_validator(mode="after")
    def _years(self) -> "OutputSpec":
        if self.reduce == "mean_last_years" and self.years is None:
            raise ValueError("reduce: mean_last_years needs years: N")
        if self.reduce == "horizon" and self.years is not None:
            raise ValueError("years only goes with reduce: mean_last_years")
        return self

    def label(self) -> str:
        return self.kpi if self.reduce == "horizon" else f"{self.kpi}_last{self.years}y"


class MethodSpec(Strict):
    """The sensitivity method and its sample size."""

    name: Literal["morris", "sobol", "efast", "delta", "pawn"]
    """morris (screening: mu*, sigma), sobol (S1, ST, S2), efast (S1, ST), delta or pawn (on a Latin hypercube)."""
    n: Annotated[int, Field(ge=2, le=1_000_000)]
    """morris: trajectories r; sobol: base sample N (a power of two; N*(k+2) rows, N*(2k+2) with
    second order); efast: rows per parameter (> 4*M^2); delta, pawn: Latin-hypercube rows."""
    levels: Annotated[int, Field(ge=2, le=20)] = 4
    """morris: grid levels (4: Saltelli et al. 2008, ch. 3)."""
    second_order: bool = False
    """sobol: also S2 (sample grows from N*(k+2) to N*(2k+2))."""
    M: Annotated[int, Field(ge=1, le=10)] = 4
    """efast: interference parameter (4: Saltelli et al. 1999)."""
    slices: Annotated[int, Field(ge=2, le=100)] = 10
    """pawn: conditioning slices per parameter (10: Pianosi & Wagener 2018)."""
    bootstrap: Annotated[int, Field(ge=10, le=10_000)] = 200
    """Resamples for the confidence intervals (replicates within rows and rows together).
    Default 200: assumption (percentile intervals need a few hundred draws; more cost analysis time)."""
    conf_level: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    """Level of the intervals (0.95: convention)."""

    @model_validator(mode="after")
    def _sizes(self) -> "MethodSpec":
        if self.name == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"sobol: n must be a power of two, e.g. {2 ** round(math.log2(self.n))} (got {self.n})")
        if self.name == "efast" and self.n <= 4 * self.M ** 2:
            raise ValueError(f"efast: n must exceed 4*M^2 = {4 * self.M ** 2} (got {self.n})")
        return self


class TestFunctionSpec(Strict):
    """Options of the analytic test functions (known-answer checks of the pipeline)."""

    noise_sd: Annotated[float, Field(ge=0)] = 0.0
    """Gaussian noise added per run, drawn from the run's seed (to check the noise share)."""
    a: list[float] = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0]
    """sobol_g: importance coefficients, one per parameter (Saltelli et al. 2010 choice)."""


class Experiment(Strict):
    """A sensitivity experiment (``experiments/*.yaml``)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    model: Literal["regie", "ishigami", "sobol_g"] = "regie"
    """What each run evaluates: the Regie model, or an analytic test function."""
    base: str | None = None
    """Base scenario file, relative to this file (model regie)."""
    scenario: dict[str, Any] = {}
    """Overrides merged into the base scenario before sampling (e.g. instruments, horizon)."""
    test_function: TestFunctionSpec = TestFunctionSpec()
    parameters: Annotated[list[ParameterSpec], Field(min_length=1)]
    outputs: Annotated[list[OutputSpec], Field(min_length=1)]
    method: MethodSpec
    replicates: Annotated[int, Field(ge=1, le=1000)] = 1
    """Runs per sample row, each with its own seed; the analysis averages them (default 1: the
    test functions need no more; model sweeps should set 2 or more to measure seed noise)."""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 20250101
    """Root seed of the sample and of every run's seed (default: the scenarios' default seed)."""

    @field_validator("parameters")
    @classmethod
    def _unique_names(cls, v: list[ParameterSpec]) -> list[ParameterSpec]:
        labels = [p.label() for p in v]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"parameter names must differ, these repeat: {dupes} (set name:)")
        return v

    @field_validator("outputs")
    @classmethod
    def _unique_outputs(cls, v: list[OutputSpec]) -> list[OutputSpec]:
        labels = [o.label() for o in v]
        if len(set(labels)) < len(labels):
            raise ValueError(f"outputs repeat: {labels}")
        return v

    @model_validator(mode="after")
    def _model_fits(self) -> "Experiment":
        if self.model == "regie" and self.base is None:
            raise ValueError("model regie needs base: <scenario file>")
        if self.model != "regie":
            if self.base is not None or self.scenario:
                raise ValueError(f"model {self.model} takes no base or scenario")
            want = [f"x{i + 1}" for i in range(len(self.parameters))]
            if [p.path for p in self.parameters] != want:
                raise ValueError(f"{self.model}: parameter paths must be {want}")
            if self.model == "ishigami" and len(self.parameters) != 3:
                raise ValueError("ishigami has exactly 3 parameters (x1, x2, x3)")
            if self.model == "sobol_g" and len(self.parameters) != len(self.test_function.a):
                raise ValueError(f"sobol_g: {len(self.parameters)} parameters but "
                                 f"{len(self.test_function.a)} coefficients in test_function.a")
            if [o.kpi for o in self.outputs] != ["y"]:
                raise ValueError(f"{self.model} has one output: kpi y")
        if self.method.name == "morris" and any(p.distribution == "normal" for p in self.parameters):
            raise ValueError("morris needs bounded distributions (its grid reaches 0 and 1): "
                             "use truncnormal instead of normal")
        return self

    @property
    def names(self) -> list[str]:
        return [p.label() for p in self.parameters]

    def problem(self) -> dict:
        """SALib's problem: the unit hypercube (distributions are applied afterwards)."""
        return {"num_vars": len(self.parameters), "names": self.names, "bounds": [[0.0, 1.0]] * len(self.parameters)}

    def sha256(self) -> str:
        """Hash of everything that decides the runs; the analysis settings (bootstrap, conf_level)
        and the description may change between a sweep and its resumption."""
        import hashlib
        import json
        data = self.model_dump(mode="json", exclude={"description": True,
                                                     "method": {"bootstrap": True, "conf_level": True}})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def load_experiment(path: str | Path) -> tuple[Experiment, dict | None]:
    """Read and validate an experiment file and its base scenario.

    Returns the experiment and the resolved base scenario as a dict (None for
    the test functions). Raises ExperimentError with one line per problem."""
    path = Path(path)
    try:
        data = read_yaml(path)
    except ScenarioError as e:
        raise ExperimentError(e.problems) from None
    if not isinstance(data, dict):
        raise ExperimentError([f"{path}: expected a mapping of experiment keys at the top level"])
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as e:
        raise ExperimentError(problem_lines(e, str(path))) from None
    if exp.model != "regie":
        return exp, None
    try:
        base_path = (path.parent / exp.base).resolve()
        found = base_path.exists()
    except (OSError, ValueError) as e:      # a name the file system refuses (too long, a NUL byte, a loop)
        raise ExperimentError([f"{path}: base: cannot use {exp.base!r} as a file name ({e})"]) from None
    if not found:
        raise ExperimentError([f"{path}: base: no such scenario file {base_path}"])
    try:
        merged = deep_merge(load_resolved(base_path), exp.scenario)
        base = Scenario.from_dict(merged, source=f"{path} (base {exp.base} + scenario:)").to_dict()
    except ScenarioError as e:
        raise ExperimentError(e.problems) from None
    problems = []
    for i, p in enumerate(exp.parameters):
        try:
            current = get_path(base, p.path)
        except KeyError as e:
            problems.append(f"{path}: parameters[{i}].path: {e.args[0]}")
            continue
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            problems.append(f"{path}: parameters[{i}].path: {p.path} is {type(current).__name__} "
                            f"{str(current)[:60]} in the base scenario; only numbers can be varied")
    if problems:
        raise ExperimentError(problems)
    return exp, base


# ------------------------------------------------------------------ dotted paths
_SEGMENT = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<sel>[^\]]+)\])?$")


def _steps(path: str) -> list[tuple[str, str | None]]:
    steps = []
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if not m:
            raise KeyError(f"{path}: cannot read {part!r} (expected name, name[key=value] or name[index])")
        steps.append((m.group("key"), m.group("sel")))
    return steps


def _select(items: Any, sel: str, where: str) -> Any:
    if not isinstance(items, list):
        raise KeyError(f"{where} is not a list, so [{sel}] does not apply")
    if sel.isdigit():
        if int(sel) >= len(items):
            raise KeyError(f"{where}[{sel}]: the base scenario has {len(items)} item(s)")
        return items[int(sel)]
    key, _, value = sel.partition("=")
    hits = [x for x in items if isinstance(x, dict) and str(x.get(key)) == value]
    if len(hits) != 1:
        found = sorted({str(x.get(key)) for x in items if isinstance(x, dict)})
        raise KeyError(f"{where}[{sel}]: {len(hits)} items match in the base scenario "
                       f"(there: {key} in {found}){'; use an index, e.g. [0]' if hits else ''}")
    return hits[0]


def get_path(data: dict, path: str) -> Any:
    """The value at ``path`` in a scenario dict; KeyError naming what is missing."""
    node: Any = data
    where = ""
    for key, sel in _steps(path):
        where = f"{where}.{key}" if where else key
        if not isinstance(node, dict) or key not in node:
            known = sorted(node) if isinstance(node, dict) else []
            raise KeyError(f"{where}: no such key in the base scenario" + (f" (known: {known})" if known else ""))
        node = node[key]
        if sel is not None:
            node = _select(node, sel, where)
            where = f"{where}[{sel}]"
    if isinstance(node, dict):
        raise KeyError(f"{path} is a mapping in the base scenario; name one of its keys: {sorted(node)}")
    return node


def set_path(data: dict, path: str, value: Any) -> None:
    """Set the value at ``path`` in place (the path must exist: see ``get_path``)."""
    steps = _steps(path)
    node: Any = data
    for i, (key, sel) in enumerate(steps):
        last = i == len(steps) - 1
        if last and sel is None:
            node[key] = value
            return
        node = node[key] if sel is None else _select(node[key], sel, key)
    raise KeyError(f"{path} ends in a list item; name one of its keys")


# ------------------------------------------------------------------ the sample
def sample_unit(exp: Experiment) -> np.ndarray:
    """The method's sample in the unit hypercube, rows in SALib's order (the analysis relies on it)."""
    from SALib.sample import fast_sampler, latin, morris, sobol
    problem, m = exp.problem(), exp.method
    if m.name == "morris":
        return morris.sample(problem, m.n, num_levels=m.levels, seed=exp.seed)
    if m.name == "sobol":
        return sobol.sample(problem, m.n, calc_second_order=m.second_order, scramble=True, seed=exp.seed)
    if m.name == "efast":
        return fast_sampler.sample(problem, m.n, M=m.M, seed=exp.seed)
    return latin.sample(problem, m.n, seed=exp.seed)


def run_seed(root_seed: int, row: int, replicate: int) -> int:
    """The seed of one run: ``SeedSequence(root, spawn_key=(row, replicate))``, 63 bits."""
    state = np.random.SeedSequence(root_seed, spawn_key=(row, replicate)).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def design_table(exp: Experiment, base: dict | None) -> pd.DataFrame:
    """One line per run: row, replicate, seed, each parameter's value and its unit-space value.

    Integer settings in the base scenario stay integers (rounded)."""
    import pandas as pd
    unit = sample_unit(exp)
    values = {}
    for j, p in enumerate(exp.parameters):
        v = p.from_unit(unit[:, j])
        if base is not None and isinstance(get_path(base, p.path), int):
            v = np.round(v)
        values[p.label()] = v
    n_rows, reps = unit.shape[0], exp.replicates
    rows = np.repeat(np.arange(n_rows), reps)
    replicates = np.tile(np.arange(reps), n_rows)
    table = {"row": rows.astype(np.int64), "replicate": replicates.astype(np.int64),
             "seed": np.array([run_seed(exp.seed, r, k) for r, k in zip(rows, replicates)], dtype=np.int64)}
    table.update({name: values[name][rows] for name in exp.names})
    table.update({f"{name}__unit": unit[rows, j] for j, name in enumerate(exp.names)})
    return pd.DataFrame(table)


def is_experiment_file(path: str | Path) -> bool:
    """Experiment files have ``method:`` and ``parameters:`` at the top level (scenarios never do)."""
    path = Path(path)
    try:
        data = read_yaml(path)
    except ScenarioError:
        return False
    return "method" in data and "parameters" in data


def check_experiment(path: str | Path) -> tuple[Experiment, pd.DataFrame]:
    """Everything `regie sweep` checks before it runs: the file, the base scenario, the paths,
    every sampled scenario and the outputs (KPI names, years). Raises ExperimentError."""
    exp, base = load_experiment(path)
    if base is not None:
        check_outputs(exp, base, str(path))      # before sampling: cheap, and the likeliest mistake
    design = design_table(exp, base)
    if base is not None:
        rows = row_scenarios(exp, base, design, str(path))
        if any(p.path == "horizon_years" for p in exp.parameters):
            check_outputs(exp, list(rows.values()), str(path))   # the sampled horizons may be shorter
    return exp, design


def check_outputs(exp: Experiment, scenarios: dict | list[dict], source: str) -> None:
    """Outputs name metrics that runs of these scenarios record (``sim.kpis.known_metrics``: the same
    list for `regie validate` and `regie sweep`), and ``mean_last_years`` fits in their horizon.

    Args:
        scenarios: one scenario dict or several (the sampled rows; the shortest horizon counts).
    Raises ExperimentError, one line per problem."""
    import difflib

    from sim.kpis import known_metrics

    if exp.model != "regie":
        return
    scenarios = [scenarios] if isinstance(scenarios, dict) else scenarios
    first = Scenario.from_dict(scenarios[0], source=source)
    known = known_metrics(first)     # instruments (and so metric names) are the same in every row
    horizons = [int(s["horizon_years"]) for s in scenarios]
    horizon, row = min((h, i) for i, h in enumerate(horizons))
    problems = []
    for i, o in enumerate(exp.outputs):
        if o.kpi not in known:
            # eight hints: since 0.5 a conversion has nine targets per origin, and a typo in the
            # target ('..._to_housing') ranks every commercial target above '..._to_residential'
            close = difflib.get_close_matches(o.kpi, sorted(known), n=8, cutoff=0.0)
            problems.append(f"{source}: outputs[{i}].kpi: unknown KPI {o.kpi!r}; known: {', '.join(close)}, ... "
                            f"({len(known)} metrics; the metric column of any run's metrics.parquet)")
        if o.reduce == "mean_last_years" and o.years > horizon:
            where = "" if len(set(horizons)) == 1 else f" (sampled row {row})"
            problems.append(f"{source}: outputs[{i}].years: the mean over the last {o.years} years needs a horizon "
                            f"of at least {o.years} years, but the scenario simulates {horizon}{where}")
    if problems:
        raise ExperimentError(problems)


def row_scenario(exp: Experiment, base: dict, row_values: dict[str, float], row: int) -> dict:
    """The base scenario with one row's parameter values set (a fresh dict)."""
    import copy
    data = copy.deepcopy(base)
    for p in exp.parameters:
        v = row_values[p.label()]
        is_int = isinstance(get_path(base, p.path), int) and math.isfinite(v)   # NaN goes to validation as it is
        set_path(data, p.path, int(v) if is_int else float(v))
    data["name"] = f"{exp.name}-row{row}"
    return data


def row_scenarios(exp: Experiment, base: dict, design: pd.DataFrame, source: str) -> dict[int, dict]:
    """Every sampled scenario, validated through the scenario schema before anything runs.

    A problem is reported once, with how many rows have it and one row's values."""
    firsts = design[design["replicate"] == 0]
    out: dict[int, dict] = {}
    rows_with: dict[str, list[dict]] = {}
    for rec in firsts.to_dict("records"):
        row = int(rec["row"])
        try:
            out[row] = Scenario.from_dict(row_scenario(exp, base, rec, row), source=source).to_dict()
        except ScenarioError as e:
            for line in e.problems:
                rows_with.setdefault(line, []).append(rec)
    if rows_with:
        problems = []
        for line, recs in rows_with.items():
            values = ", ".join(f"{n}={recs[0][n]:.6g}" for n in exp.names)
            problems.append(f"{line} -- in {len(recs)} of {len(firsts)} sampled scenarios, "
                            f"e.g. row {int(recs[0]['row'])}: {values}")
        raise ExperimentError(problems + [f"{source}: narrow the parameter bounds so that every sampled "
                                          "scenario is valid"])
    return out
