"""`regie analyze`: sensitivity indices, seed noise and convergence of a finished sweep.

Replicates are averaged per sample row before SALib sees them; the rows are
handed to SALib in the sampler's order (``sobol.analyze`` never reads X and
relies on that order).

Intervals resample replicates *and* rows: each bootstrap draw first resamples,
within every row, its replicates (with replacement) and averages them; then it
resamples the method's independent units (Sobol base rows with their A/B/AB
block, Morris trajectories, Latin-hypercube rows) and recomputes the index.
The interval is the percentile interval of the draws. eFAST's rows form one
periodic curve that cannot be resampled (and SALib marks its own FAST bootstrap
unreliable, SALib issue 649): its intervals cover seed noise only.

The noise share of an output is the mean within-row variance (over replicates)
over the total variance of all runs: the part of the output the parameters do
not explain, whatever the sample size.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.sweeps.design import Experiment, ExperimentError
from sim.sweeps.sweep import gather, outputs_stale
from sim.outputs import atomic_write

MAIN_INDEX = {"morris": "mu_star", "sobol": "ST", "efast": "ST", "delta": "delta", "pawn": "median"}


class AnalysisError(ExperimentError):
    """The folder cannot be analysed as it is (one line, with what to do)."""


@dataclass
class AnalysisResult:
    out_dir: Path | None      # None when `sim.sweep` ran in a temporary folder
    indices: pd.DataFrame
    noise: pd.DataFrame
    convergence: pd.DataFrame
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ method structure
def unit_size(exp: Experiment) -> int | None:
    """Rows per independent unit of the sample (None: the sample cannot be resampled)."""
    k, m = len(exp.parameters), exp.method
    return {"morris": k + 1, "sobol": (2 * k + 2) if m.second_order else (k + 2),
            "delta": 1, "pawn": 1, "efast": None}[m.name]


def point_indices(exp: Experiment, X: np.ndarray, Y: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The method's indices for one sample (rows in sampler order, Y one value per row)."""
    from SALib.analyze import delta, fast, morris, pawn
    problem, m = exp.problem(), exp.method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # constant outputs and FAST's bootstrap notice
        if m.name == "sobol":
            return _sobol_point(Y, len(exp.parameters), m.second_order)
        if m.name == "morris":
            r = morris.analyze(problem, X, Y, num_resamples=2, num_levels=m.levels, seed=seed)
            return {"mu_star": np.asarray(r["mu_star"]), "sigma": np.asarray(r["sigma"]), "mu": np.asarray(r["mu"])}
        if m.name == "efast":
            r = fast.analyze(problem, Y, M=m.M, num_resamples=2, seed=seed)
            return {"S1": np.asarray(r["S1"]), "ST": np.asarray(r["ST"])}
        if m.name == "delta":
            # SALib's delta prints notices per call and resets the warning filters itself
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                r = delta.analyze(problem, X, Y, num_resamples=2, seed=seed, method="all")
            return {"delta": np.asarray(r.get("delta", r.get("delta_raw"))), "S1": np.asarray(r["S1"])}
        r = pawn.analyze(problem, X, Y, S=m.slices, seed=seed)
        return {"median": np.asarray(r["median"]), "maximum": np.asarray(r["maximum"])}


def _sobol_point(Y: np.ndarray, k: int, second_order: bool) -> dict[str, np.ndarray]:
    """Saltelli (2010) estimators as in SALib's sobol.analyze (same normalisation), without its bootstrap."""
    from SALib.analyze.sobol import first_order, second_order as s2, separate_output_values, total_order
    sd = Y.std()
    Y = (Y - Y.mean()) / (sd if sd > 0 else 1.0)
    n = Y.size // ((2 * k + 2) if second_order else (k + 2))
    A, B, AB, BA = separate_output_values(Y, k, n, second_order)
    out = {"S1": np.array([first_order(A, AB[:, j], B) for j in range(k)]),
           "ST": np.array([total_order(A, AB[:, j], B) for j in range(k)])}
    if second_order:
        S2 = np.full((k, k), np.nan)
        for j in range(k):
            for i in range(j + 1, k):
                S2[j, i] = s2(A, AB[:, j], AB[:, i], BA[:, j], B)
        out["S2"] = S2
    return out


# ------------------------------------------------------------------ loading
def load_folder(folder: Path) -> tuple[Experiment, dict, pd.DataFrame, pd.DataFrame]:
    manifest_file = folder / "manifest.json"
    if not manifest_file.exists():
        raise AnalysisError([f"{folder}: not a sweep folder (no manifest.json); run `regie sweep` first"])
    manifest = json.loads(manifest_file.read_text())
    exp = Experiment.model_validate(manifest["experiment"])
    design = pd.read_parquet(folder / "experiments.parquet")
    if outputs_stale(folder):   # the task files are the truth: a killed sweep left no outputs.parquet
        gather(folder)
    outputs = pd.read_parquet(folder / "outputs.parquet")
    return exp, manifest, design, outputs


def run_matrix(exp: Experiment, design: pd.DataFrame, outputs: pd.DataFrame, name: str) -> np.ndarray:
    """Values of one output as a (rows, replicates) array, NaN where a run is missing."""
    n_rows = int(design["row"].max()) + 1
    M = np.full((n_rows, exp.replicates), np.nan)
    own = outputs[outputs["output"] == name]
    M[own["row"].to_numpy(int), own["replicate"].to_numpy(int)] = own["value"].to_numpy(float)
    return M


def usable_rows(exp: Experiment, present: np.ndarray, folder: Path, allow_missing: bool, notes: list[str]) -> np.ndarray:
    """Indices of the rows to analyse, in sampler order; refuses missing rows unless allowed."""
    n_rows = present.shape[0]
    runs_missing = int((~present).sum())
    rows_empty = np.flatnonzero(~present.any(axis=1))
    if runs_missing == 0:
        return np.arange(n_rows)
    where = f"{runs_missing} of {present.size} runs have no result ({rows_empty.size} sample rows have none at all)"
    if not allow_missing:
        raise AnalysisError([f"{folder}: {where}; finish them with `regie sweep <experiment> --resume --out "
                             f"{folder}` (failed runs: failures.csv) or analyse without them: "
                             f"`regie analyze {folder} --allow-missing`"])
    size = unit_size(exp)
    if rows_empty.size and size is None:
        raise AnalysisError([f"{folder}: {where}; eFAST needs every sample row (its rows form one curve), "
                             "so --allow-missing cannot help: finish the sweep with --resume"])
    notes.append(f"--allow-missing: {where}. Rows with some replicates were averaged over the replicates they have.")
    if not rows_empty.size:
        return np.arange(n_rows)
    units = np.arange(n_rows) // size
    dropped = np.unique(units[rows_empty])
    keep = ~np.isin(units, dropped)
    what = {"morris": "trajectories", "sobol": "base rows (with their A/B/AB block)"}.get(exp.method.name, "rows")
    notes.append(f"--allow-missing: dropped {dropped.size} of {units.max() + 1} {what} that hold a row without any "
                 f"run ({(~keep).sum()} sample rows); the indices use the remaining {keep.sum()} rows.")
    if exp.method.name == "morris" and keep.sum() // size < 2:
        raise AnalysisError([f"{folder}: fewer than 2 complete Morris trajectories are left; finish the sweep"])
    return np.flatnonzero(keep)


# ------------------------------------------------------------------ statistics
def noise_share(M: np.ndarray) -> tuple[float, float]:
    """(noise share of single runs, noise share left in the row means). NaN with one replicate."""
    counts = (~np.isnan(M)).sum(axis=1)
    ok = counts >= 2
    if not ok.any():
        return float("nan"), float("nan")
    within = float(np.nanmean(np.nanvar(M[ok], axis=1, ddof=1)))
    total = float(np.nanvar(M, ddof=1))
    means = np.nanmean(M, axis=1)
    row_var = float(np.nanvar(means, ddof=1))
    mean_count = float(counts[ok].mean())
    share = min(within / total, 1.0) if total > 0 else 0.0   # sampling error can push the ratio past 1
    share_means = (within / mean_count) / row_var if row_var > 0 else 0.0
    return share, min(share_means, 1.0)


def morris_noise_floor(M: np.ndarray, levels: int) -> float:
    """mu* that seed noise alone gives a parameter without effect: E|e1 - e2| / delta for two
    row means with independent noise, delta = levels / (2 (levels - 1)) as in SALib's Morris.
    NaN with one replicate (the noise cannot be estimated)."""
    counts = (~np.isnan(M)).sum(axis=1)
    ok = counts >= 2
    if not ok.any():
        return float("nan")
    var_row_mean = float(np.nanmean(np.nanvar(M[ok], axis=1, ddof=1) / counts[ok]))
    delta = levels / (2 * (levels - 1))
    return float(np.sqrt(2 * var_row_mean) * np.sqrt(2 / np.pi) / delta)


def _resample_replicates(M: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row means after drawing, within each row, as many replicates as it has, with replacement
    (a row's missing runs are never drawn)."""
    present = ~np.isnan(M)
    order = np.argsort(~present, axis=1, kind="stable")        # present values first in every row
    packed = np.take_along_axis(M, order, axis=1)
    counts = present.sum(axis=1)
    pick = (rng.random(M.shape) * counts[:, None]).astype(np.int64)
    drawn = np.take_along_axis(packed, pick, axis=1)
    drawn[np.arange(M.shape[1])[None, :] >= counts[:, None]] = np.nan   # draw `count` values per row
    return np.nanmean(drawn, axis=1)


def bootstrap_indices(exp: Experiment, X: np.ndarray, M: np.ndarray, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Index values of every draw: {index: (draws, k) or (draws, k, k)}."""
    rng = np.random.default_rng(seed)
    size = unit_size(exp)
    n_rows = M.shape[0]
    collected: dict[str, list] = {}
    for _ in range(draws):
        y = _resample_replicates(M, rng)
        if size is None:
            Xb, yb = X, y
        else:
            n_units = n_rows // size
            pick = rng.integers(n_units, size=n_units)
            rows = (pick[:, None] * size + np.arange(size)[None, :]).reshape(-1)
            Xb, yb = X[rows], y[rows]
        for name, v in point_indices(exp, Xb, yb, seed=int(rng.integers(2**31))).items():
            collected.setdefault(name, []).append(v)
    return {k: np.array(v) for k, v in collected.items()}


def index_table(exp: Experiment, name: str, X: np.ndarray, M: np.ndarray, seed: int) -> pd.DataFrame:
    """Indices of one output with percentile intervals (replicates and rows resampled)."""
    m = exp.method
    point = point_indices(exp, X, np.nanmean(M, axis=1), seed=seed)
    boot = bootstrap_indices(exp, X, M, m.bootstrap, seed)
    lo_q, hi_q = 50 * (1 - m.conf_level), 100 - 50 * (1 - m.conf_level)
    names, recs = exp.names, []
    for index, value in point.items():
        draws = boot[index]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # S2's lower triangle is all NaN by design
            lo, hi = np.nanpercentile(draws, lo_q, axis=0), np.nanpercentile(draws, hi_q, axis=0)
        if value.ndim == 1:
            for j, p in enumerate(names):
                recs.append((name, m.name, p, "", index, value[j], lo[j], hi[j]))
        else:   # S2: upper triangle
            for j in range(len(names)):
                for i in range(j + 1, len(names)):
                    recs.append((name, m.name, names[j], names[i], index, value[j, i], lo[j, i], hi[j, i]))
    table = pd.DataFrame(recs, columns=["output", "method", "parameter", "parameter2", "index", "value", "lo", "hi"])
    table["conf"] = (table["hi"] - table["lo"]) / 2
    return table


def convergence_table(exp: Experiment, name: str, X: np.ndarray, y: np.ndarray, seed: int) -> pd.DataFrame:
    """Point indices on growing leading parts of the sample (doubling the number of units)."""
    size = unit_size(exp)
    if size is None:
        return pd.DataFrame()
    n_units = y.size // size
    smallest = {"morris": 2, "sobol": 8, "delta": 50, "pawn": 50}[exp.method.name]
    sizes = []
    n = smallest
    while n < n_units:
        sizes.append(n)
        n *= 2
    sizes.append(n_units)
    recs = []
    for n in sizes:
        rows = np.arange(n * size)
        for index, value in point_indices(exp, X[rows], y[rows], seed=seed).items():
            if value.ndim == 1:
                recs += [(name, p, index, n, n * size, value[j]) for j, p in enumerate(exp.names)]
    return pd.DataFrame(recs, columns=["output", "parameter", "index", "units", "rows", "value"])


def outside_unit_interval(indices: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows of S1 and ST of output ``name`` whose whole interval lies outside [0, 1].

    A variance share cannot be below 0 or above 1; an estimate that is, beyond its interval,
    says the sample is too small for the estimator (Saltelli 2010 estimators scatter widely at
    small N), not that the input matters more than everything."""
    t = indices[(indices["output"] == name) & indices["index"].isin(["S1", "ST"]) & (indices["parameter2"] == "")]
    return t[(t["lo"] > 1) | (t["hi"] < 0)]


def out_of_range_notes(indices: pd.DataFrame, names: list[str]) -> list[str]:
    """One note per output with an index outside [0, 1] beyond its interval (for summary.md and the console)."""
    notes = []
    for name in names:
        bad = outside_unit_interval(indices, name)
        if bad.empty:
            continue
        cells = "; ".join(f"{i} of {p} {v:.2f} ({lo:.2f} to {hi:.2f})" for i, p, v, lo, hi in
                          zip(bad["index"], bad["parameter"], bad["value"], bad["lo"], bad["hi"]))
        notes.append(f"{name}: sample too small: {cells} {'lies' if len(bad) == 1 else 'lie'} outside [0, 1] "
                     f"with {'its whole interval' if len(bad) == 1 else 'their whole intervals'} — increase n.")
    return notes


# ------------------------------------------------------------------ the analysis
def analyze(folder: str | Path, allow_missing: bool = False, lang: str = "en", plots: bool = True) -> AnalysisResult:
    """Indices, noise shares and convergence for every output; writes indices.parquet,
    noise.csv, convergence.parquet, summary.md (in English) and the figures into ``folder``:
    English figures in plots/, Dutch ones (``lang="nl"``) under the same names in plots/nl/."""
    folder = Path(folder)
    exp, manifest, design, outputs = load_folder(folder)
    firsts = design[design["replicate"] == 0].sort_values("row")
    X_all = firsts[[f"{n}__unit" for n in exp.names]].to_numpy(float)
    notes: list[str] = []
    present = np.zeros((len(firsts), exp.replicates), dtype=bool)
    ok = outputs.drop_duplicates(["row", "replicate"])
    present[ok["row"].to_numpy(int), ok["replicate"].to_numpy(int)] = True
    rows = usable_rows(exp, present, folder, allow_missing, notes)
    X = X_all[rows]
    tables, noise, conv = [], [], []
    for i, o in enumerate(exp.outputs):
        name = o.label()
        M = run_matrix(exp, design, outputs, name)[rows]
        seed = exp.seed + i
        tables.append(index_table(exp, name, X, M, seed))
        share, share_means = noise_share(M)
        floor = morris_noise_floor(M, exp.method.levels) if exp.method.name == "morris" else float("nan")
        noise.append({"output": name, "noise_share": share, "noise_share_of_row_means": share_means,
                      "mu_star_noise_floor": floor,
                      "replicates": exp.replicates, "rows": int(rows.size),
                      "mean": float(np.nanmean(M)), "sd": float(np.nanstd(M, ddof=1))})
        conv.append(convergence_table(exp, name, X, np.nanmean(M, axis=1), seed))
    indices = pd.concat(tables, ignore_index=True)
    indices["n_rows"] = int(rows.size)
    indices["replicates"] = exp.replicates
    noise_df = pd.DataFrame(noise)
    convergence = pd.concat(conv, ignore_index=True) if any(len(c) for c in conv) else pd.DataFrame(
        columns=["output", "parameter", "index", "units", "rows", "value"])
    atomic_write(folder / "indices.parquet", lambda p: indices.to_parquet(p, index=False))
    atomic_write(folder / "convergence.parquet", lambda p: convergence.to_parquet(p, index=False))
    atomic_write(folder / "noise.csv", lambda p: noise_df.to_csv(p, index=False))
    if exp.method.name == "efast":
        notes.append("eFAST intervals cover seed noise only (its sample cannot be resampled by rows).")
    notes += out_of_range_notes(indices, [o.label() for o in exp.outputs])
    result = AnalysisResult(folder, indices, noise_df, convergence, notes)
    atomic_write(folder / "summary.md", lambda p: Path(p).write_text(summary_markdown(exp, result)))
    if plots:
        from sim.sweeps.plots import plot_all
        plot_all(exp, result, folder / "plots", lang=lang)
    return result


def summary_markdown(exp: Experiment, result: AnalysisResult) -> str:
    """Indices per output, most influential first, with intervals and the noise share."""
    m = exp.method
    main = MAIN_INDEX[m.name]
    pct = f"{100 * m.conf_level:.0f}%"
    lines = [f"# Sensitivity: {exp.name} ({m.name})", ""] + ([exp.description.strip(), ""] if exp.description else []) + [
             f"{result.indices['n_rows'].iloc[0]} sample rows x {exp.replicates} replicate(s); "
             f"{pct} intervals from {m.bootstrap} bootstrap draws over replicates and rows.", ""]
    lines += [f"- {n}" for n in result.notes] + ([""] if result.notes else [])
    for o in exp.outputs:
        name = o.label()
        t = result.indices[(result.indices["output"] == name) & (result.indices["parameter2"] == "")]
        wide = {idx: g.set_index("parameter") for idx, g in t.groupby("index")}
        nz = result.noise[result.noise["output"] == name].iloc[0]
        noise_txt = ("n/a (1 replicate)" if np.isnan(nz["noise_share"]) else
                     f"{100 * nz['noise_share']:.0f}% of the variance of single runs is seed noise "
                     f"({100 * nz['noise_share_of_row_means']:.0f}% of the variance of the row means)")
        shown = [i for i in ("mu_star", "sigma", "S1", "ST", "delta", "median") if i in wide]
        if m.name in ("sobol", "efast") and not np.isnan(nz["noise_share_of_row_means"]):
            noise_txt += (f"; noise alone gives a parameter without effect ST ≈ "
                          f"{nz['noise_share_of_row_means']:.2f} (noise floor) and lowers S1")
        if m.name == "morris" and not np.isnan(nz["mu_star_noise_floor"]):
            noise_txt += (f"; seed noise alone gives a parameter without effect mu* = "
                          f"{nz['mu_star_noise_floor']:.3g} (noise floor)")
        lines += [f"## {name}", "", f"Seed noise: {noise_txt}.", "",
                  "| parameter | " + " | ".join(f"{i} ({pct})" for i in shown) + " |",
                  "|---|" + "---|" * len(shown)]
        order = wide[main]["value"].sort_values(ascending=False).index
        for p in order:
            cells = [f"{wide[i].loc[p, 'value']:.3f} ({wide[i].loc[p, 'lo']:.3f} to {wide[i].loc[p, 'hi']:.3f})"
                     for i in shown]
            lines.append(f"| {p} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"
