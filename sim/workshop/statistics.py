"""Statistics of a workshop comparison: means with intervals, paired differences against the
reference scenario, the precision of the pairing (SD ratio, minimum detectable difference) and
the summary table that ``regie compare`` writes and the report reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.kpis import KEY_METRICS

# Which direction of change is good, per key KPI (for ranking instruments).
BETTER = {"vacancy_units": "down", "vacancy_floor": "down", "vacancy_units_A1": "down", "vacancy_units_C": "down",
          "longterm_vacancy_1y": "down", "longterm_vacancy_3y": "down", "diversity_shannon": "up",
          "craft_culture_m2": "up", "households": "up", "rent_burden_over_40": "down", "footfall_index": "up",
          "condition_mean": "up", "condition_poor_share": "down", "fronts_active": "down",
          "conversions_total": "up", "owner_value_eur": "up", "net_public_cost_eur": "down"}
def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-based confidence interval of the mean (NaN bounds for fewer than 2 values)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def variance_reduction(paired: pd.Series, arm: pd.Series, reference: pd.Series) -> float:
    """SD of the paired differences over the mean SD of the two arms (replicates present in both).

    About 1.41 when the arms are independent (no common random numbers at all), 0 when the chance
    events cancel exactly; below 1 the pairing removes noise. NaN when it cannot be measured: fewer
    than two replicates, or an arm without spread (a KPI the reference never moves, such as an
    instrument's cost, gives 2 whatever the pairing, and a KPI constant in both arms says nothing)."""
    both = paired.index
    if both.size < 2:
        return float("nan")
    sd_arm, sd_ref = float(arm.loc[both].std(ddof=1)), float(reference.loc[both].std(ddof=1))
    if not (sd_arm > 0 and sd_ref > 0):
        return float("nan")
    return float(paired.std(ddof=1)) / ((sd_arm + sd_ref) / 2.0)


def minimum_detectable_difference(paired: np.ndarray, level: float = 0.95, power: float = 0.8) -> float:
    """The smallest true difference that the paired comparison would find (two-sided test at
    ``level``) with probability ``power``: (t_(1+level)/2 + t_power) · SD / sqrt(n), on n − 1
    degrees of freedom (the usual paired-t sample-size formula)."""
    paired = np.asarray(paired, dtype=float)
    n = paired.size
    if n < 2:
        return float("nan")
    t = stats.t.ppf(0.5 + level / 2, n - 1) + stats.t.ppf(power, n - 1)
    return float(t * paired.std(ddof=1) / np.sqrt(n))


def horizon_values(metrics: pd.DataFrame) -> pd.DataFrame:
    """Wide table (scenario, replicate) × metric of the values at the last step."""
    last = metrics[metrics["step"] == metrics.groupby(["scenario", "replicate"])["step"].transform("max")]
    return last.pivot_table(index=["scenario", "replicate"], columns="metric", values="value", observed=True)


def summary_table(metrics: pd.DataFrame, scenario_order: list[str]) -> pd.DataFrame:
    """Per scenario and key KPI at the horizon: mean and 95% interval, paired difference vs
    the first scenario with its 95% interval, net public cost, effect per EUR million, rank."""
    wide = horizon_values(metrics)
    baseline = scenario_order[0]
    keys = [m for m in KEY_METRICS if m in wide.columns]
    rows = []
    for s in scenario_order:
        if s not in wide.index.get_level_values(0):
            continue
        own = wide.loc[s]
        cost = float(own["net_public_cost_eur"].mean()) if "net_public_cost_eur" in own else 0.0
        for m in keys:
            mean, lo, hi = mean_interval(own[m].to_numpy())
            row = {"scenario": s, "metric": m, "n": int(own[m].size), "mean": mean, "lo": lo, "hi": hi,
                   "diff": np.nan, "diff_lo": np.nan, "diff_hi": np.nan, "distinguishable": False,
                   "net_cost_eur": cost, "per_meur": np.nan, "better": BETTER.get(m, "up"),
                   "sd_ratio": np.nan, "mdd": np.nan}
            if s != baseline and baseline in wide.index.get_level_values(0):
                ref = wide.loc[baseline][m]
                paired = own[m].sub(ref).dropna()   # replicates present in both
                d, dlo, dhi = mean_interval(paired.to_numpy())
                row.update(diff=d, diff_lo=dlo, diff_hi=dhi,
                           distinguishable=bool(np.isfinite(dlo) and (dlo > 0 or dhi < 0)),
                           per_meur=d / (cost / 1e6) if cost > 0 else np.nan,
                           sd_ratio=variance_reduction(paired, own[m], ref),
                           mdd=minimum_detectable_difference(paired.to_numpy()))
            rows.append(row)
    table = pd.DataFrame(rows)
    good = np.where(table["better"] == "down", -table["diff"], table["diff"])
    table["rank"] = pd.Series(good).groupby(table["metric"]).rank(ascending=False, method="min")
    return table


def summary_markdown(summary: pd.DataFrame, failures: list[dict]) -> str:
    """The summary as markdown tables, one per KPI; effects not distinguishable from zero are marked ≈0."""
    lines = ["# Comparison summary", "",
             "Mean at the horizon with 95% interval over replicates; difference vs the first scenario with a "
             "paired 95% interval (≈0: not distinguishable from doing nothing); net public cost in EUR; "
             "effect per EUR million of net cost; rank per KPI (1 = best). Precision of the pairing: "
             "SD ratio = SD of the paired differences / mean SD of the two arms (1.41: no common random numbers at "
             "all; lower is better), MDD = the smallest difference the replicates used would detect (95% "
             "confidence, 80% power).", ""]
    for m, rows in summary.groupby("metric", sort=False):
        lines += [f"## {m}", "", "| scenario | mean (95% interval) | difference (paired 95% interval) | net cost EUR | "
                  "per EUR M | rank | SD ratio | MDD |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows.itertuples():
            diff = "" if np.isnan(r.diff) else (f"{r.diff:+.4g} ({r.diff_lo:+.4g} to {r.diff_hi:+.4g})"
                                                + ("" if r.distinguishable else " ≈0"))
            per = "" if np.isnan(r.per_meur) else f"{r.per_meur:+.4g}"
            rank = "" if np.isnan(r.rank) else f"{int(r.rank)}"
            ratio = "" if np.isnan(r.sd_ratio) else f"{r.sd_ratio:.2f}"
            mdd = "" if np.isnan(r.mdd) else f"{r.mdd:.3g}"
            lines.append(f"| {r.scenario} | {r.mean:.4g} ({r.lo:.4g} to {r.hi:.4g}) | {diff} | "
                         f"{r.net_cost_eur:,.0f} | {per} | {rank} | {ratio} | {mdd} |")
        lines.append("")
    if failures:
        lines += ["## Missing runs", ""] + [f"- {f['scenario']} replicate {f['replicate']} (seed {f['seed']}): "
                                            f"{f['error']}" for f in failures]
    return "\n".join(lines) + "\n"


