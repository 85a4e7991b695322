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

from typing import NamedTuple

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

# False discovery rate of the difference maps: of the parcels (districts) shown as changed, at most
# this share is expected to be chance (Benjamini-Hochberg over the parcels or districts of a map).
# Assumption: 5%, the level of the report's intervals.
MAP_FDR = 0.05

# A city block in cells of the grid, its street included: a street every 3rd row and every 8th
# column, so a block is 2 parcel rows x 7 parcels (``sim/parcels.py::_street_classes``).
BLOCK_CELLS = (3, 8)
# The unit of the difference maps: a district of 4 x 2 blocks (rows x columns), 12 x 16 cells, up
# to 8 x 14 = 112 parcels, tiled from the grid's top-left corner. Single parcels are too noisy: with
# 20 replicates no parcel was ever distinguishable, not even for zoning (-3.0 points of city-wide
# vacancy). Fixed once, for every layer and scenario, after trying districts of 1 x 1, 2 x 1, 2 x 2,
# 3 x 2, 3 x 3, 4 x 2 and 4 x 4 blocks with this test on a real comparison (baseline + 10
# instruments, 20 replicates): single blocks showed nothing, 2 x 1 blocks zoning in 3 districts,
# 2 x 2 blocks zoning in 4; 3 x 2, 3 x 3, 4 x 2 and 4 x 4 blocks zoning's vacancy in 9 or 10 and
# Bibob's fronts in 1 to 4. Of these, 4 x 2 blocks is the near-square one (12 x 16 cells on the
# map) with enough districts (48 on the 88-cell grid) to show where in the centre a change falls.
DISTRICT_BLOCKS = (4, 2)
DISTRICT_CELLS = (DISTRICT_BLOCKS[0] * BLOCK_CELLS[0], DISTRICT_BLOCKS[1] * BLOCK_CELLS[1])
# parcels of a whole district (a block's cells less its street row and column): 8 x 14
DISTRICT_PARCELS = (DISTRICT_BLOCKS[0] * (BLOCK_CELLS[0] - 1), DISTRICT_BLOCKS[1] * (BLOCK_CELLS[1] - 1))


def parcel_probabilities(states: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per parcel, the share of replicates in which it is in each layer's state (``MAP_LAYERS``
    present in ``states``, each a (replicate, row, column) stack)."""
    return {k: np.asarray(states[k], dtype=float).mean(axis=0) for k in MAP_LAYERS if k in states}


def benjamini_hochberg(p_values: np.ndarray, fdr: float = MAP_FDR) -> np.ndarray:
    """Boolean mask of the hypotheses rejected by the Benjamini-Hochberg step-up procedure: the
    largest k with the k-th smallest p at or below fdr * k / m, and all smaller p."""
    p = np.asarray(p_values, dtype=float).ravel()
    rejected = np.zeros(p.size, dtype=bool)
    if p.size == 0:
        return rejected
    order = np.argsort(p, kind="stable")
    passed = np.flatnonzero(p[order] <= fdr * np.arange(1, p.size + 1) / p.size)
    if passed.size:
        rejected[order[: passed[-1] + 1]] = True
    return rejected


def parcel_difference(scenario: np.ndarray, reference: np.ndarray, where: np.ndarray,
                      fdr: float = MAP_FDR) -> tuple[np.ndarray, np.ndarray]:
    """Paired difference of a layer's probability per parcel and where it is distinguishable.

    No longer drawn by the report (single parcels are too noisy, see ``DISTRICT_BLOCKS``); kept as
    the per-parcel counterpart of ``district_difference``.

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
    shown[candidates] = benjamini_hochberg(p.ravel()[candidates], fdr)
    shown = shown.reshape(up.shape)
    return np.where(shown, d.mean(axis=0), 0.0), shown


# ------------------------------------------------------------------ per district, over all replicates

def district_labels(shape: tuple[int, int], cells: tuple[int, int] = DISTRICT_CELLS) -> tuple[np.ndarray, int]:
    """The district of each cell of a (row, column) grid: tiles of ``cells`` (rows, columns) from
    the top-left corner, numbered row by row (the last row and column of tiles may be cut short by
    the grid's edge). Returns (the (row, column) array of district numbers, the number of districts)."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    per_row = -(-shape[1] // cells[1])
    n = -(-shape[0] // cells[0]) * per_row
    return (rows // cells[0]) * per_row + cols // cells[1], int(n)


def district_shares(layer: np.ndarray, denominator: np.ndarray, labels: np.ndarray,
                    n_districts: int) -> np.ndarray:
    """Per replicate and district, the share of the ``denominator`` cells (business units, or
    parcels) that are in the ``layer``'s state: (replicate, district), NaN where the district has
    no denominator cell in that replicate. ``layer`` and ``denominator`` are (replicate, row,
    column) stacks of 0/1; a layer cell outside the denominator does not count."""
    layer = np.asarray(layer, dtype=bool)
    denominator = np.broadcast_to(np.asarray(denominator, dtype=bool), layer.shape)
    flat = np.asarray(labels).ravel()
    count = np.stack([np.bincount(flat, weights=(layer[r] & denominator[r]).ravel(), minlength=n_districts)
                      for r in range(layer.shape[0])])
    total = np.stack([np.bincount(flat, weights=denominator[r].ravel(), minlength=n_districts)
                      for r in range(layer.shape[0])])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, count / total, np.nan)


def signed_rank_p(differences: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test of paired ``differences`` (median zero), exact.

    Zero differences are dropped (Wilcoxon's rule: a pair that did not change says nothing about the
    direction); ties share their mean rank, and the null distribution is the exact one of those
    ranks with random signs (each of the 2^n sign patterns equally likely), so the p is exact with
    ties too, the same on every scipy version, and 1 when nothing changed (a placebo)."""
    d = np.asarray(differences, dtype=float)
    d = np.round(d[np.isfinite(d)], 12)          # 1/3 - 1/6 and 1/6 must tie: ranks of float noise are not ranks
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    if d.size > SIGNED_RANK_EXACT_MAX:
        return _signed_rank_p_normal(d)
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(int)   # mean ranks are halves: integers when doubled
    w_plus = int(doubled[d > 0].sum())
    # the number of sign patterns giving each sum of positive (doubled) ranks
    ways = np.zeros(int(doubled.sum()) + 1)
    ways[0] = 1.0
    for r in doubled:                                # r >= 2: a doubled rank
        with_r = np.zeros_like(ways)
        with_r[r:] = ways[:-r]                       # the patterns in which this rank is positive
        ways = ways + with_r
    cdf = np.cumsum(ways) / ways.sum()
    low = cdf[w_plus]                                # P(W+ <= observed)
    high = 1.0 - (cdf[w_plus - 1] if w_plus > 0 else 0.0)   # P(W+ >= observed)
    return float(min(1.0, 2.0 * min(low, high)))


# Above this many non-zero pairs the signed-rank p comes from the normal approximation (with the
# tie correction): the exact distribution's cost grows with n^3, and at 50 pairs the two agree
# to about 0.001 (the cut-off scipy uses for its own exact test).
SIGNED_RANK_EXACT_MAX = 50


def _signed_rank_p_normal(d: np.ndarray) -> float:
    """Two-sided signed-rank p from the normal approximation with tie and continuity correction."""
    n = d.size
    ranks = stats.rankdata(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    _, tie_sizes = np.unique(np.abs(d), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float((tie_sizes ** 3 - tie_sizes).sum()) / 48.0
    excess = max(abs(w_plus - n * (n + 1) / 4.0) - 0.5, 0.0)
    return float(min(1.0, 2.0 * stats.norm.sf(excess / np.sqrt(var)))) if var > 0 else 1.0


class DistrictDifference(NamedTuple):
    """A layer's difference with the reference per district (``district_difference``)."""
    difference: np.ndarray     # (district,) mean paired difference of the share; 0 where not shown
    shown: np.ndarray          # (district,) bool: distinguishable from chance
    tested: np.ndarray         # (district,) bool: the layer applies (some denominator cell), tested
    labels: np.ndarray         # (row, column) district of each cell (``district_labels``)


def district_difference(scenario: np.ndarray, reference: np.ndarray, scenario_denominator: np.ndarray,
                        reference_denominator: np.ndarray, cells: tuple[int, int] = DISTRICT_CELLS,
                        fdr: float = MAP_FDR) -> DistrictDifference:
    """Paired difference of a layer's share per district (``DISTRICT_CELLS``) and where it is
    distinguishable from chance.

    ``scenario`` and ``reference`` are (replicate, row, column) stacks of 0/1 of the same
    replicates (replicate i of both ran on the same seed); the denominators say which cells count
    (business units, which conversions change per replicate, or all parcels), each a stack or one
    (row, column) mask. Per district and replicate the share (``district_shares``); per district the
    paired differences over the replicates where both shares exist, tested with the Wilcoxon
    signed-rank test (``signed_rank_p``): it uses how large each replicate's change is, not only
    its direction (the sign test needs nearly all 20 replicates to move the same way), and needs no
    normal shares (a district's share moves in steps of one unit and is often zero). Districts where
    the layer applies in no replicate are not tested; Benjamini-Hochberg over the tested ones keeps
    the expected share of chance among the districts shown at ``fdr``. Identical runs (a placebo)
    give no district at all."""
    scenario, reference = np.asarray(scenario), np.asarray(reference)
    if scenario.shape != reference.shape:
        raise ValueError(f"the scenario's and the reference's stacks differ in shape: "
                         f"{scenario.shape} vs {reference.shape}")
    labels, n = district_labels(scenario.shape[1:], cells)
    paired = (district_shares(scenario, scenario_denominator, labels, n)
              - district_shares(reference, reference_denominator, labels, n))   # (replicate, district)
    tested = np.isfinite(paired).any(axis=0)
    p = np.array([signed_rank_p(paired[:, k]) if tested[k] else 1.0 for k in range(n)])
    shown = np.zeros(n, dtype=bool)
    shown[tested] = benjamini_hochberg(p[tested], fdr)
    # the mean over the replicates where both shares exist (the other pairs are left out, not zeros)
    valid = np.isfinite(paired).sum(axis=0)
    mean = np.where(valid > 0, np.nansum(paired, axis=0) / np.maximum(valid, 1), 0.0)
    return DistrictDifference(np.where(shown, mean, 0.0), shown, tested, labels)
