"""Statistics of a workshop comparison: means with intervals, paired differences against the
reference scenario, which differences count as effects, ranks, the precision of the pairing
(SD ratio, minimum detectable difference, replicates needed) and, per parcel, the probability
of being vacant (or a front, or in poor condition) with its paired difference.

What the report may call an effect is decided here, once: a difference is an *effect* only when
its paired 95% interval excludes zero *after rounding to the decimals the report shows* (an
interval "−0.0 to −1.2" touches zero on the page and is not called an effect); only effects are
ranked; an effect per EUR 1 million is given only for an effect whose scenario costs more than
``MIN_COST_FOR_RATIO_EUR``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.kpis import KEY_METRICS
from sim.numbers import decimals_for
from sim.plots.common import metric_kind

# Which direction of change is good, per key KPI (for ranking instruments).
BETTER = {"vacancy_units": "down", "vacancy_floor": "down", "vacancy_units_A1": "down", "vacancy_units_C": "down",
          "longterm_vacancy_1y": "down", "longterm_vacancy_3y": "down", "diversity_shannon": "up",
          "craft_culture_m2": "up", "households": "up", "rent_burden_over_40": "down", "footfall_index": "up",
          "condition_mean": "up", "condition_poor_share": "down", "fronts_active": "down",
          "conversions_total": "up", "owner_value_eur": "up", "net_public_cost_eur": "down"}

# An effect per EUR 1 million of net public cost is shown only above this net cost: below it the
# ratio divides by a cost near zero (a EUR 0.06 million zoning change gave "−384 percentage points
# per EUR 1 million") and says nothing a workshop could use. Assumption: EUR 0.5 million, about five
# municipal staff years, the order of the cheapest instruments that spend money (docs/evidence.md).
MIN_COST_FOR_RATIO_EUR = 0.5e6

# A difference a workshop would act on, per key KPI, for "replicates needed" in the precision table.
# Assumption (not evidence): round numbers of the size the instruments' evidence discusses
# (docs/evidence.md): 1 percentage point of vacancy, 2 fronts, EUR 0.25 million of cost.
RELEVANT_DIFFERENCE = {
    "vacancy_units": 0.01, "vacancy_floor": 0.01, "vacancy_units_A1": 0.02, "vacancy_units_C": 0.02,
    "longterm_vacancy_1y": 0.05, "longterm_vacancy_3y": 0.05, "diversity_shannon": 0.02,
    "craft_culture_m2": 500.0, "households": 50.0, "rent_burden_over_40": 0.01, "footfall_index": 0.02,
    "condition_mean": 0.01, "condition_poor_share": 0.01, "fronts_active": 2.0, "conversions_total": 5.0,
    "owner_value_eur": 5e6, "net_public_cost_eur": 0.25e6}

# Bootstrap of level intervals (shares and counts, bounded below by 0): resamples and a fixed
# generator, so that the same runs always give the same report (no kernel; not model randomness).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261207
def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-based confidence interval of the mean (NaN bounds for fewer than 2 values); for
    paired differences, which may be of either sign."""
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


def bootstrap_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval of the mean (NaN bounds for fewer than 2 values).

    For bounded quantities: the bounds are means of resampled replicates, so they stay within the
    values' own range (a share's interval within [0, 1], a count's at or above 0), which a t
    interval near a bound does not."""
    values = np.asarray(values, dtype=float)
    n = values.size
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = values[rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))].mean(axis=1)
    lo, hi = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
    return mean, float(lo), float(hi)


def level_interval(values: np.ndarray, metric: str) -> tuple[float, float, float]:
    """The interval of a KPI's level: bootstrap for shares and counts (bounded), t otherwise."""
    if metric_kind(metric) in ("share", "count", "m2"):
        return bootstrap_interval(values)
    return mean_interval(values)


def replicates_needed(paired_sd: float, difference: float, level: float = 0.95, power: float = 0.8,
                      most: int = 10_000) -> float:
    """The fewest replicates at which a true ``difference`` would be found (paired t test at ``level``,
    probability ``power``) given the SD of the paired differences: the n that brings
    ``minimum_detectable_difference`` down to ``difference``. NaN when the SD is unknown; more than
    ``most`` is returned as inf."""
    if not (np.isfinite(paired_sd) and difference > 0):
        return float("nan")
    if paired_sd == 0:
        return 2.0
    for n in range(2, most + 1):
        t = stats.t.ppf(0.5 + level / 2, n - 1) + stats.t.ppf(power, n - 1)
        if t * paired_sd / np.sqrt(n) <= difference:
            return float(n)
    return float("inf")


def excludes_zero(lo: float, hi: float, decimals: int, kind: str) -> bool:
    """True when an interval excludes zero as shown: both bounds, rounded to ``decimals`` in the
    unit shown (percentage points for shares, EUR million for euros), on the same side of zero."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    scale = {"points": 100.0, "share": 100.0, "eur": 1e-6}.get(kind, 1.0)
    lo_r, hi_r = round(lo * scale, decimals), round(hi * scale, decimals)
    return bool(lo_r > 0 or hi_r < 0)


def diff_kind(metric: str) -> str:
    """How a difference of ``metric`` is shown: shares as percentage points."""
    kind = metric_kind(metric)
    return "points" if kind == "share" else kind


def summary_table(metrics: pd.DataFrame, scenario_order: list[str]) -> pd.DataFrame:
    """Per scenario and key KPI at the horizon: the level with its 95% interval; the paired
    difference with the first scenario (the reference) and its 95% interval; whether that is an
    effect (``distinguishable``); net public cost with its interval; the effect per EUR 1 million
    (or why not, ``per_meur_note``); the rank among effects; the precision of the pairing."""
    wide = horizon_values(metrics)
    present = list(dict.fromkeys(wide.index.get_level_values(0)))
    baseline = scenario_order[0]
    keys = [m for m in KEY_METRICS if m in wide.columns]
    rows = []
    for s in scenario_order:
        if s not in present:
            continue
        own = wide.loc[s]
        cost, cost_lo, cost_hi = (mean_interval(own["net_public_cost_eur"].to_numpy())
                                  if "net_public_cost_eur" in own else (0.0, np.nan, np.nan))
        for m in keys:
            mean, lo, hi = level_interval(own[m].to_numpy(), m)
            row = {"scenario": s, "metric": m, "n": int(own[m].size), "mean": mean, "lo": lo, "hi": hi,
                   "diff": np.nan, "diff_lo": np.nan, "diff_hi": np.nan, "distinguishable": False,
                   "net_cost_eur": cost, "cost_lo": cost_lo, "cost_hi": cost_hi, "per_meur": np.nan,
                   "per_meur_note": "reference" if s == baseline else "", "better": BETTER.get(m, "up"),
                   "sd_ratio": np.nan, "paired_sd": np.nan, "mdd": np.nan, "replicates_needed": np.nan}
            if s != baseline and baseline in present:
                ref = wide.loc[baseline][m]
                paired = own[m].sub(ref).dropna()   # replicates present in both
                d, dlo, dhi = mean_interval(paired.to_numpy())
                sd = float(paired.std(ddof=1)) if paired.size > 1 else np.nan
                row.update(diff=d, diff_lo=dlo, diff_hi=dhi, paired_sd=sd,
                           sd_ratio=variance_reduction(paired, own[m], ref),
                           mdd=minimum_detectable_difference(paired.to_numpy()),
                           replicates_needed=replicates_needed(sd, RELEVANT_DIFFERENCE.get(m, np.nan)))
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    _decide_effects(table)
    table["rank"] = _ranks(table, wide)
    return table


def _decide_effects(table: pd.DataFrame) -> None:
    """Fill ``diff_decimals``, ``distinguishable``, ``per_meur`` and ``per_meur_note`` in place.

    A KPI's differences share the decimals the report shows them with (one column of a table)."""
    table["diff_decimals"] = 0
    for m, rows in table.groupby("metric", sort=False):
        kind = diff_kind(m)
        d = decimals_for(pd.concat([rows["diff"], rows["diff_lo"], rows["diff_hi"]]), kind)
        table.loc[rows.index, "diff_decimals"] = d
        for i, r in rows.iterrows():
            if r["per_meur_note"] == "reference":
                continue
            effect = excludes_zero(r["diff_lo"], r["diff_hi"], d, kind)
            table.at[i, "distinguishable"] = effect
            if m == "net_public_cost_eur":
                note = "cost"
            elif not np.isfinite(r["diff_lo"]):
                note = "one_replicate"
            elif not effect:
                note = "not_distinguishable"
            elif not r["net_cost_eur"] > MIN_COST_FOR_RATIO_EUR:
                note = "cost_below_threshold"
            else:
                note = ""
                table.at[i, "per_meur"] = r["diff"] / (r["net_cost_eur"] / 1e6)
            table.at[i, "per_meur_note"] = note


def _ranks(table: pd.DataFrame, wide: pd.DataFrame) -> pd.Series:
    """Rank per KPI among the effects only: 1 + the number of effects that are distinguishably
    better (their paired difference with this scenario, replicate by replicate, has a 95% interval
    that excludes zero as shown). Effects that cannot be told apart share a rank; a result not
    distinguishable from the reference gets none (NaN)."""
    rank = pd.Series(np.nan, index=table.index)
    for m, rows in table[table["distinguishable"].astype(bool)].groupby("metric", sort=False):
        sign = -1.0 if BETTER.get(m, "up") == "down" else 1.0
        kind, d = diff_kind(m), int(rows["diff_decimals"].iloc[0])
        for i, r in rows.iterrows():
            better = 0
            for j, other in rows.iterrows():
                if i == j:
                    continue
                gap = (wide.loc[other["scenario"]][m] - wide.loc[r["scenario"]][m]).dropna() * sign
                _, lo, hi = mean_interval(gap.to_numpy())
                better += bool(lo > 0 and excludes_zero(lo, hi, d, kind))   # the other is better, as shown
            rank[i] = 1 + better
    return rank


# ------------------------------------------------------------------ per parcel, over all replicates
# The layers of the report's maps (``sim.workshop.compare.end_states`` gives each as a stack of
# replicates): a commercial unit vacant, vacant for more than a year, a criminal front, a building
# in poor condition.
MAP_LAYERS = ("vacant", "longterm_vacant", "front", "poor")

# False discovery rate of the difference maps: of the parcels shown as changed, at most this share
# is expected to be chance (Benjamini-Hochberg over the parcels of a map). Assumption: 5%, the
# level of the report's intervals.
MAP_FDR = 0.05


def parcel_probabilities(states: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per parcel, the share of replicates in which it is in each layer's state (``MAP_LAYERS``
    present in ``states``, each a (replicate, row, column) stack)."""
    return {k: np.asarray(states[k], dtype=float).mean(axis=0) for k in MAP_LAYERS if k in states}


def parcel_difference(scenario: np.ndarray, reference: np.ndarray, where: np.ndarray,
                      fdr: float = MAP_FDR) -> tuple[np.ndarray, np.ndarray]:
    """Paired difference of a layer's probability per parcel and where it is distinguishable.

    ``scenario`` and ``reference`` are (replicate, row, column) stacks of 0/1 of the same replicates
    (replicate i of both ran on the same seed). Per parcel an exact sign test on the replicates that
    disagree (McNemar's test): with common random numbers most agree, and a parcel changed by
    chance as often one way as the other is not an effect; Benjamini-Hochberg over the parcels in
    ``where`` keeps the expected share of chance among the parcels shown at ``fdr``. Returns (the
    difference in probability, zero where not distinguishable; the boolean mask of distinguishable
    parcels). Identical runs (a placebo) give no parcel at all."""
    a, b = np.asarray(scenario, dtype=np.int8), np.asarray(reference, dtype=np.int8)
    if a.shape != b.shape:
        raise ValueError(f"the scenario's and the reference's stacks differ in shape: {a.shape} vs {b.shape}")
    d = a - b
    up, down = (d > 0).sum(axis=0), (d < 0).sum(axis=0)
    disagree = up + down
    p = np.ones(up.shape)
    some = disagree > 0
    p[some] = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(up, down)[some], disagree[some], 0.5))
    candidates = np.flatnonzero(where.ravel())
    shown = np.zeros(up.size, dtype=bool)
    if candidates.size:
        order = candidates[np.argsort(p.ravel()[candidates], kind="stable")]
        limits = fdr * np.arange(1, order.size + 1) / order.size
        passed = np.flatnonzero(p.ravel()[order] <= limits)
        if passed.size:
            shown[order[: passed[-1] + 1]] = True
    shown = shown.reshape(up.shape)
    return np.where(shown, d.mean(axis=0), 0.0), shown
