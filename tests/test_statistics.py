"""The statistics a workshop reads: what counts as an effect, what is ranked, what gets an effect
per euro, intervals of shares, precision, and per-parcel differences (no model runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.workshop.statistics import (DISTRICT_CELLS, MIN_COST_FOR_RATIO_EUR, bootstrap_interval, district_difference,
                                     district_labels, district_shares, excludes_zero, minimum_detectable_difference,
                                     parcel_difference, replicates_needed, signed_rank_p, summary_table)

N_REP = 20


def metrics_of(values: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """A tidy table with one (horizon) step: values[(scenario, metric)] over the replicates."""
    rows = []
    for (scen, metric), vals in values.items():
        for rep, v in enumerate(vals):
            rows.append({"scenario": scen, "replicate": rep, "step": 80, "year": 2045.0, "metric": metric,
                         "value": float(v)})
    return pd.DataFrame(rows)


def comparison(effects: dict[str, float], costs_eur: dict[str, float], noise: float = 0.002,
               metric: str = "vacancy_units", base: float = 0.10) -> pd.DataFrame:
    """Baseline + scenarios whose ``metric`` differs by ``effects[scen]`` plus paired noise."""
    rng = np.random.default_rng(7)
    common = base + rng.normal(0, 0.02, N_REP)            # the chance all scenarios share
    values = {("baseline", metric): common, ("baseline", "net_public_cost_eur"): np.zeros(N_REP)}
    for scen, effect in effects.items():
        values[(scen, metric)] = common + effect + rng.normal(0, noise, N_REP)
        values[(scen, "net_public_cost_eur")] = costs_eur[scen] * (1 + rng.normal(0, 0.05, N_REP))
    return summary_table(metrics_of(values), ["baseline", *effects])


def test_effect_per_euro_only_for_an_effect_above_the_cost_threshold():
    s = comparison({"strong": -0.03, "cheap": -0.03, "none": 0.0},
                   {"strong": 2e6, "cheap": 0.06e6, "none": 2e6}).set_index(["scenario", "metric"])
    strong, cheap, none = (s.loc[(n, "vacancy_units")] for n in ("strong", "cheap", "none"))
    assert strong["distinguishable"] and strong["per_meur_note"] == ""
    assert strong["per_meur"] == pytest.approx(strong["diff"] / (strong["net_cost_eur"] / 1e6))
    assert cheap["distinguishable"] and np.isnan(cheap["per_meur"]) and cheap["per_meur_note"] == "cost_below_threshold"
    assert cheap["net_cost_eur"] < MIN_COST_FOR_RATIO_EUR
    assert not none["distinguishable"] and np.isnan(none["per_meur"]) and none["per_meur_note"] == "not_distinguishable"


def test_only_effects_are_ranked_and_indistinguishable_effects_share_a_rank():
    s = comparison({"big": -0.05, "big_too": -0.0502, "small": -0.02, "none": 0.0, "worse": +0.03},
                   {k: 1e6 for k in ("big", "big_too", "small", "none", "worse")}, noise=0.001)
    r = s[s["metric"] == "vacancy_units"].set_index("scenario")["rank"]
    assert np.isnan(r["baseline"]) and np.isnan(r["none"])      # the reference and ≈0 are not ranked
    assert r["big"] == r["big_too"] == 1                           # cannot be told apart: a shared rank
    assert r["small"] == 3 and r["worse"] == 4


def test_an_interval_that_touches_zero_after_rounding_is_not_an_effect():
    # −0.0004 rounds to −0.0 points at 1 decimal: the printed interval would read "−1.2 to −0.0"
    assert not excludes_zero(-0.012, -0.0004, 1, "points")
    assert excludes_zero(-0.012, -0.0006, 1, "points")
    assert not excludes_zero(float("nan"), 0.1, 1, "points")
    assert excludes_zero(-2.0, -0.6, 0, "count") and not excludes_zero(-2.0, -0.4, 0, "count")


@pytest.mark.parametrize("values", [np.r_[np.zeros(17), [0.01, 0.02, 0.5]], np.r_[np.ones(18), [0.9, 0.2]]])
def test_share_intervals_stay_within_zero_and_one(values):
    mean, lo, hi = bootstrap_interval(values)
    assert 0.0 <= lo <= mean <= hi <= 1.0
    s = summary_table(metrics_of({("baseline", "condition_poor_share"): values,
                                  ("baseline", "net_public_cost_eur"): np.zeros(values.size)}), ["baseline"])
    row = s[s["metric"] == "condition_poor_share"].iloc[0]
    assert 0.0 <= row["lo"] <= row["hi"] <= 1.0
    # the t interval, used before, left [0, 1] on the same values
    t_half = 2.093 * values.std(ddof=1) / np.sqrt(values.size)
    assert values.mean() - t_half < 0 or values.mean() + t_half > 1


def test_one_replicate_gives_no_interval_no_effect_and_no_rank():
    values = {("baseline", "vacancy_units"): [0.10], ("a", "vacancy_units"): [0.05],
              ("baseline", "net_public_cost_eur"): [0.0], ("a", "net_public_cost_eur"): [2e6]}
    s = summary_table(metrics_of({k: np.array(v) for k, v in values.items()}), ["baseline", "a"])
    row = s[(s["scenario"] == "a") & (s["metric"] == "vacancy_units")].iloc[0]
    assert np.isnan(row["lo"]) and np.isnan(row["diff_lo"]) and not row["distinguishable"]
    assert np.isnan(row["rank"]) and np.isnan(row["per_meur"]) and row["per_meur_note"] == "one_replicate"


def test_replicates_needed_brings_the_detectable_difference_down_to_the_target():
    rng = np.random.default_rng(1)
    paired = rng.normal(0, 0.01, 20)
    sd = paired.std(ddof=1)
    n = replicates_needed(sd, 0.005)
    assert minimum_detectable_difference(_with_sd(int(n), sd)) <= 0.005 + 1e-12
    assert minimum_detectable_difference(_with_sd(int(n) - 1, sd)) > 0.005
    assert replicates_needed(sd, 10.0) == 2 and np.isnan(replicates_needed(float("nan"), 0.01))
    assert replicates_needed(sd, 1e-9) == float("inf")


def _with_sd(n: int, sd: float) -> np.ndarray:
    """n values whose sample SD is exactly ``sd``."""
    x = np.linspace(-1, 1, n)
    return x / x.std(ddof=1) * sd


def test_placebo_parcel_difference_is_blank_and_a_real_change_is_found():
    rng = np.random.default_rng(3)
    reference = rng.random((N_REP, 30, 30)) < 0.15
    where = np.ones((30, 30), dtype=bool)
    diff, shown = parcel_difference(reference.copy(), reference, where)     # a placebo on the same seeds
    assert not shown.any() and not diff.any()
    changed = reference.copy()
    changed[:, :3, :] = True                                                 # 90 parcels vacant in every replicate
    diff, shown = parcel_difference(changed, reference, where)
    assert shown[:3].all() and not shown[3:].any() and (diff[:3] > 0).all()
    # independent noise with the same rate: chance, not an effect (false discovery rate over parcels)
    _, shown = parcel_difference(rng.random((N_REP, 30, 30)) < 0.15, reference, where)
    assert shown.sum() <= 2


# --------------------------------------------------------------------------- per district


def test_district_labels_tile_the_grid_from_the_top_left_and_cut_short_at_the_edge():
    labels, n = district_labels((5, 5), cells=(2, 3))
    assert n == 6                                                  # 3 rows x 2 columns of tiles
    assert labels[0].tolist() == [0, 0, 0, 1, 1] and labels[:, 0].tolist() == [0, 0, 2, 2, 4]
    assert labels[4, 4] == 5                                       # the corner tile: 1 x 2 cells
    # the report's district (12 x 16 cells) on the model's 88-cell grid: 8 rows x 6 columns of tiles
    assert district_labels((88, 88))[1] == 48 and DISTRICT_CELLS == (12, 16)


def test_district_shares_are_layer_cells_over_denominator_cells_per_replicate():
    # a 2 x 4 grid, districts of 2 x 2 cells: left (columns 0-1) and right (columns 2-3)
    labels, n = district_labels((2, 4), cells=(2, 2))
    vacant = np.array([[[1, 0, 1, 1],
                        [0, 0, 0, 0]],
                       [[1, 1, 0, 0],
                        [1, 0, 0, 0]]], dtype=bool)
    unit = np.array([[[1, 1, 1, 0],                                 # replicate 0: 3 units left, 1 right
                      [0, 1, 0, 0]],
                     [[1, 1, 0, 0],                                 # replicate 1: 4 left, none on the right
                      [1, 1, 0, 0]]], dtype=bool)
    shares = district_shares(vacant, unit, labels, n)
    # replicate 0: left 1 vacant of 3 units; right: (0, 2) is a unit and vacant, (0, 3) vacant but no unit
    assert shares[0].tolist() == pytest.approx([1 / 3, 1.0])
    # replicate 1: left 3 of 4; right: no unit, no share
    assert shares[1, 0] == pytest.approx(0.75) and np.isnan(shares[1, 1])


def test_signed_rank_p_is_the_exact_wilcoxon_test():
    from scipy import stats as sps
    rng = np.random.default_rng(5)
    for n in (6, 12, 20):
        x = rng.normal(0.4, 1.0, n)                                # no ties, no zeros: scipy's exact test
        assert signed_rank_p(x) == pytest.approx(sps.wilcoxon(x, method="exact").pvalue)
    assert signed_rank_p(np.full(20, 0.05)) == pytest.approx(2 / 2 ** 20)   # all 20 the same way
    assert signed_rank_p(np.zeros(20)) == 1.0                      # nothing changed
    # 1/3 - 1/6 and 1/6 tie; zeros dropped: ranks 1.5, 1.5, 3 all positive -> 2 of the 8 sign patterns as extreme
    assert signed_rank_p(np.array([1 / 3 - 1 / 6, 1 / 6, 0.5, 0.0])) == pytest.approx(2 * 1 / 8)


def test_signed_rank_p_many_pairs_follows_the_normal_approximation():
    # above SIGNED_RANK_EXACT_MAX pairs (e.g. 200 replicates) the exact distribution would cost n^3:
    # the p is scipy's normal approximation, and it meets the exact one at the cut-off
    from scipy import stats as sps
    from sim.workshop.statistics import SIGNED_RANK_EXACT_MAX
    rng = np.random.default_rng(8)
    x = rng.normal(0.1, 1.0, 200)
    assert signed_rank_p(x) == pytest.approx(sps.wilcoxon(x, method="approx", correction=True).pvalue, rel=1e-9)
    y = rng.normal(0.3, 1.0, SIGNED_RANK_EXACT_MAX + 1)
    assert signed_rank_p(y) == pytest.approx(sps.wilcoxon(y, method="exact").pvalue, abs=2e-3)
    # many ties and zeros: Wilcoxon's rule (zeros dropped) and the tie correction, as scipy
    z = np.round(rng.normal(0.2, 1, 300))
    assert signed_rank_p(z) == pytest.approx(
        sps.wilcoxon(z, method="approx", correction=True, zero_method="wilcox").pvalue, rel=1e-9)


def district_case(shift_parcels: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 24 x 32 grid (2 x 2 districts of 12 x 16 cells), every cell a unit, 15% vacant in the reference;
    the scenario re-draws 10% of the cells (chance under common random numbers) and in district 0 empties
    ``shift_parcels`` other units in every replicate, different ones each time."""
    reference = rng.random((N_REP, 24, 32)) < 0.15
    scenario = reference.copy()
    redraw = rng.random(reference.shape) < 0.10
    scenario[redraw] = rng.random(int(redraw.sum())) < 0.15
    for r in range(N_REP):
        let = np.flatnonzero(~scenario[r, :12, :16].ravel())
        block = scenario[r, :12, :16].ravel()                       # a copy: the slice is not contiguous
        block[rng.choice(let, shift_parcels, replace=False)] = True
        scenario[r, :12, :16] = block.reshape(12, 16)
    return scenario, reference, np.ones((24, 32), dtype=bool)


def test_a_district_shift_too_small_for_any_parcel_is_found_per_district():
    rng = np.random.default_rng(11)
    scenario, reference, unit = district_case(12, rng)             # +12 of 192 units: about +6 points
    _, parcels = parcel_difference(scenario, reference, unit)
    assert not parcels.any()                                       # a parcel is emptied in ~1 of 20 replicates
    found = district_difference(scenario, reference, unit, unit)
    assert found.tested.all() and found.shown.tolist() == [True, False, False, False]
    assert 0.04 < found.difference[0] < 0.08 and (found.difference[1:] == 0).all()
    assert (found.labels[:12, :16] == 0).all() and (found.labels[12:, 16:] == 3).all()


def test_placebo_district_difference_is_blank_and_districts_without_units_are_not_tested():
    rng = np.random.default_rng(12)
    scenario, reference, unit = district_case(12, rng)
    placebo = district_difference(reference.copy(), reference, unit, unit)
    assert placebo.tested.all() and not placebo.shown.any() and not placebo.difference.any()
    # no unit in the right-hand districts (columns 16-31): not tested, not shown
    unit = unit.copy()
    unit[:, 16:] = False
    found = district_difference(scenario, reference, unit, unit)
    assert found.tested.tolist() == [True, False, True, False]
    assert found.shown.tolist() == [True, False, False, False]
    # independent replicates at the same rate (no common random numbers, no effect): chance, not shown
    noise = district_difference(rng.random(reference.shape) < 0.15, reference, unit, unit)
    assert not noise.shown.any()


def test_districts_are_whole_blocks_of_the_model_grid():
    # the tiles' first row and first column are streets in the generated city (sim/parcels.py), so a
    # district boundary runs along a street and never cuts a block
    from sim.parcels import _street_classes
    from sim.uses import LAND_PARCEL
    from sim.workshop.statistics import BLOCK_CELLS, DISTRICT_PARCELS
    land, _, _ = _street_classes(88, np.random.default_rng(0))
    rows, cols = np.mgrid[0:88, 0:88]
    assert not (land[(rows % BLOCK_CELLS[0] == 0) | (cols % BLOCK_CELLS[1] == 0)] == LAND_PARCEL).any()
    assert (land[1:3, 1:8] == LAND_PARCEL).all()                   # a block: 2 x 7 parcels
    labels, _ = district_labels((88, 88))
    assert (labels[1:DISTRICT_CELLS[0], 1:DISTRICT_CELLS[1]] == 0).all()
    assert int((land[labels == 0] == LAND_PARCEL).sum()) == DISTRICT_PARCELS[0] * DISTRICT_PARCELS[1] == 112
