"""Running a scenario and writing its results: tidy metrics (Parquet), manifest,
yearly parcel snapshots and plots, all written atomically (temp folder, then rename)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.kpis import RECORD_INDEX
from sim.scenario import Scenario

METRIC_COLUMNS = ["run_id", "scenario", "replicate", "seed", "step", "year", "metric", "value"]


@dataclass
class Run:
    """What one run produced, in memory (``simulate``); ``sim.api.RunResult`` holds one per replicate."""

    run_id: str
    scenario: Scenario
    seed: int
    replicate: int
    metrics: pd.DataFrame
    snapshots: dict[str, np.ndarray]
    timers: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0


def atomic_write(path: Path, write) -> None:
    """``write(tmp)`` into a temp file in the same folder, then rename: a reader (or a resumed
    sweep) never sees half a file. The temp name keeps the suffix (numpy appends .npz otherwise).
    A write that fails (a full disk, a read-only folder) leaves no temp file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


KEYS_METADATA = b"regie.keys"   # Parquet schema metadata: which run a file belongs to


def write_keyed_parquet(path: Path, table: pd.DataFrame, keys: dict) -> None:
    """Write ``table`` atomically with ``keys`` (e.g. scenario hash, replicate, seed) embedded in
    the file, so that a resumed comparison or sweep can tell whose results a file holds."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           KEYS_METADATA: json.dumps(keys, sort_keys=True).encode()})
    atomic_write(path, lambda p: pq.write_table(arrow, p))


def read_keyed_parquet(path: Path, keys: dict) -> pd.DataFrame | None:
    """The table of ``path`` if it is complete and holds the results of ``keys``; None when it is
    missing, empty, truncated, unreadable or another run's (it is then treated as not done)."""
    import pyarrow.parquet as pq
    try:
        arrow = pq.read_table(path)
    except (OSError, ValueError):   # ArrowInvalid (a ValueError) for a truncated file
        return None
    stored = (arrow.schema.metadata or {}).get(KEYS_METADATA)
    try:
        if stored is None or json.loads(stored) != json.loads(json.dumps(keys, sort_keys=True)):
            return None
    except ValueError:
        return None
    return arrow.to_pandas()


def run_id_for(scenario: Scenario, seed: int) -> str:
    """Deterministic id: the same scenario and seed always give the same id (and data)."""
    return f"{scenario.sha256()[:10]}-seed{seed}"


def simulate(scenario: Scenario, seed: int | None = None, replicate: int = 0, progress: bool = False) -> Run:
    """Run ``scenario`` with ``seed`` over its horizon and collect tidy metrics and yearly snapshots."""
    from sim.model import CityModel  # imported here: numba compiles on first use, not on `regie --help`

    t0 = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    model = CityModel(scenario, seed=seed)
    snaps = [model.parcels.snapshot()]
    steps = range(scenario.n_steps)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc=f"{scenario.name} (seed {seed})", unit="step", leave=False)
    for _ in steps:
        model.step()
        if model.steps % model.spy == 0:
            snaps.append(model.parcels.snapshot())
    rid = run_id_for(scenario, seed)
    metrics = tidy_metrics(model.records, rid, scenario, replicate, seed)
    snapshots = {k: np.stack([s[k] for s in snaps]) for k in snaps[0]}
    snapshots["year"] = scenario.start_year + np.arange(len(snaps), dtype=np.int32)
    try:
        model.municipality.check_ledger()
    finally:
        release_model(model)
    return Run(rid, scenario, seed, replicate, metrics, snapshots, dict(model.timers), time.perf_counter() - t0)


def release_model(model) -> None:
    """Mesa 3.3 keeps every model alive through Agent._ids (a class-level registry); drop ours."""
    import mesa
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


def tidy_metrics(records: list[dict[str, float]], run_id: str, scenario: Scenario, replicate: int,
                 seed: int) -> pd.DataFrame:
    """Long form, one row per step and metric. A metric that appears later (a first
    conversion of some kind) is 0 before it appears: all such metrics are counts. The
    records' ``step`` and ``year`` are columns here, not metrics."""
    names = [k for k in dict.fromkeys(k for r in records for k in r) if k not in RECORD_INDEX]
    values = np.array([[r.get(k, 0.0) for k in names] for r in records], dtype=np.float64)
    n_steps, n_metrics = values.shape
    steps = np.repeat(np.arange(n_steps), n_metrics)
    return pd.DataFrame({
        "run_id": run_id,
        "scenario": scenario.name,
        "replicate": np.int32(replicate),
        "seed": np.int64(seed),
        "step": steps.astype(np.int32),
        "year": scenario.start_year + steps / scenario.steps_per_year,
        "metric": pd.Categorical(np.tile(names, n_steps), categories=names),
        "value": values.reshape(-1),
    })[METRIC_COLUMNS]


def git_commit() -> str | None:
    """Commit of the source tree the package runs from, if it is a git checkout."""
    here = Path(sim.__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def manifest(result: Run, source: str | None = None) -> dict:
    """Provenance of one run: versions, commit, scenario hash and the resolved scenario."""
    import mesa
    import numba
    import pyarrow
    return {
        "run_id": result.run_id,
        "scenario_name": result.scenario.name,
        "scenario_file": source,
        "scenario_sha256": result.scenario.sha256(),
        "scenario": result.scenario.to_dict(),
        "seed": result.seed,
        "replicate": result.replicate,
        "steps": result.scenario.n_steps,
        "package": "regie",
        "package_version": sim.__version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "wall_seconds": round(result.wall_seconds, 3),
        "timers_seconds": {k: round(v, 4) for k, v in result.timers.items()},
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


class OutputFolderError(ValueError):
    """A results folder that Regie will not write into (one line: the folder and why)."""


def check_out_folder(out_dir: Path, run_id: str) -> None:
    """Refuse, before anything runs, a results folder whose writing could lose the user's files.

    Regie replaces an existing folder only when it is a complete earlier result of the same run
    (its manifest has the same run id, and its metrics are there); an empty folder is used as it
    is. Anything else — a file, a symlink, a folder with other contents such as ``results/``
    itself, the current folder or one of its parents — is refused."""
    out_dir = Path(out_dir)
    here = Path.cwd().resolve()
    target = out_dir.resolve()
    if target == here or target in here.parents:
        raise OutputFolderError(f"{out_dir}: is the current folder or one of its parents; "
                                "give a new folder for the results, e.g. --out results/my_run")
    if out_dir.is_symlink():
        raise OutputFolderError(f"{out_dir}: is a symbolic link; give a new folder for the results")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir}: exists and is not a folder; give a new folder for the results")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_complete_run(out_dir, run_id):
        raise OutputFolderError(f"{out_dir}: exists and is not an earlier result of this run "
                                f"(run id {run_id}); nothing was changed; give a new folder for the results")
    for parent in (out_dir.parent, *out_dir.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise OutputFolderError(f"{out_dir}: {parent} is a file, not a folder")
            break


def is_complete_run(folder: Path, run_id: str) -> bool:
    """True when ``folder`` holds a complete result of run ``run_id`` (manifest and metrics)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("run_id") == run_id and (folder / "metrics.parquet").is_file()


def make_temp_folder(out_dir: Path) -> Path:
    """The temporary sibling folder a run is written into (made now, so that a folder that cannot
    be written is found before the simulation, not after it)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; results are for everyone who may read the folder
    return tmp


def write_run(result: Run, out_dir: Path, source: str | None = None, plots: bool = True,
              lang: str = "en", tmp: Path | None = None) -> Path:
    """Write metrics, manifest, snapshots and plots into ``out_dir`` atomically.

    Everything goes to a temporary sibling folder first (``tmp``, from ``make_temp_folder``),
    which is renamed into place at the end, so an interrupted run leaves no half-written
    results. ``out_dir`` must pass ``check_out_folder`` (checked again here, just before the
    rename): an earlier folder of the same run (same scenario and seed: same data) is replaced,
    nothing else ever is; its plots in other languages than ``lang`` are kept when the same code
    drew them. Plots are ``plots/map_start.png``, ``map_end.png`` and ``kpis.png`` in English,
    ``plots/*.nl.png`` in Dutch (``plot_file_name``).
    """
    out_dir = Path(out_dir)
    check_out_folder(out_dir, result.run_id)
    tmp = tmp or make_temp_folder(out_dir)
    try:
        result.metrics.to_parquet(tmp / "metrics.parquet", index=False)
        np.savez_compressed(tmp / "snapshots.npz", **result.snapshots)
        if plots:
            _plots(result, tmp / "plots", lang)
        man = manifest(result, source)
        (tmp / "manifest.json").write_text(json.dumps(man, indent=2))
        check_out_folder(out_dir, result.run_id)   # nothing else appeared there while we ran
        if out_dir.is_dir() and any(out_dir.iterdir()):
            _keep_other_language_plots(out_dir, tmp, lang, man)
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
            os.replace(out_dir, old / "run")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if out_dir.is_dir():
                out_dir.rmdir()   # empty: nothing is lost
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def plot_file_name(stem: str, lang: str = "en") -> str:
    """File name of a run plot in ``lang``: English ``kpis.png``, Dutch ``kpis.nl.png``, so that
    a run drawn in both languages keeps both."""
    return f"{stem}.png" if lang == "en" else f"{stem}.{lang}.png"


def plot_language(file_name: str) -> str:
    """The language of a run plot from its file name (``plot_file_name`` reversed)."""
    from sim.plots import LANGS
    parts = file_name.split(".")
    return parts[-2] if len(parts) >= 3 and parts[-2] in LANGS else "en"


def _keep_other_language_plots(earlier: Path, tmp: Path, lang: str, man: dict) -> None:
    """Copy into ``tmp`` the plots in other languages than ``lang`` of the earlier result in
    ``earlier`` that ``tmp`` replaces, so that a Dutch rerun keeps the English plots and the
    other way round. The earlier result is of the same run (``check_out_folder``: same scenario
    and seed); only plots drawn by the same code (package version and git commit in its
    manifest) are kept, since other code may have drawn other data."""
    try:
        before = json.loads((earlier / "manifest.json").read_text())
    except (OSError, ValueError):
        return
    if any(before.get(k) != man[k] for k in ("run_id", "package_version", "git_commit")):
        return
    keep = [p for p in sorted((earlier / "plots").glob("*.png")) if plot_language(p.name) != lang]
    if keep:
        (tmp / "plots").mkdir(exist_ok=True)
    for p in keep:
        if not (tmp / "plots" / p.name).exists():
            shutil.copy2(p, tmp / "plots" / p.name)


def _plots(result: Run, folder: Path, lang: str) -> None:
    from sim import plots
    folder.mkdir(parents=True, exist_ok=True)
    s = result.snapshots
    years = s["year"]
    for idx, name in ((0, "map_start"), (-1, "map_end")):
        snap = {k: s[k][idx] for k in ("use", "land", "street_class")}
        plots.plot_map(snap, folder / plot_file_name(name, lang), title=f"{result.scenario.name} — {int(years[idx])}",
                       lang=lang)
    plots.plot_kpis(result.metrics, folder / plot_file_name("kpis", lang), lang=lang, title=result.scenario.name)


def read_snapshots(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
