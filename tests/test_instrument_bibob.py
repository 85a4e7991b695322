"""bibob: fewer active fronts vs the baseline (CRN); screening stops at capacity; false positives occur."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair

SCENARIO = "scenarios/instruments/bibob.yaml"


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def _instrument(**settings) -> dict:
    """The scenario's bibob settings with some replaced."""
    return {**load(SCENARIO).instruments[0].model_dump(), **settings}


def _per_year(series):
    """Sum of a per-step flow per simulated year (step k belongs to year (k − 1) // 4; step 0 is the start)."""
    return series.iloc[1:].groupby((series.index[1:] - 1) // 4).sum()


def test_bibob_lowers_active_fronts(pairs):
    ref, ins = mean_over(pairs, "fronts_active")
    assert ins < 0.7 * ref, f"active fronts in the last year: with bibob {ins:.2f}, without {ref:.2f}"
    ref_d, ins_d = mean_over(pairs, "fronts_detected")
    assert ins_d > ref_d, f"detected fronts by the end: with bibob {ins_d:.2f}, without {ref_d:.2f}"


def test_bibob_screens_within_capacity_and_books_staff_hours(pairs):
    cfg = load(SCENARIO).instruments[0]
    for _, ins in pairs:
        per_year = _per_year(ins["bibob_screenings"])
        assert (per_year <= cfg.screenings_per_year).all(), \
            f"screenings per year {per_year.max():.0f} > capacity {cfg.screenings_per_year:.0f}"
        hours = cfg.staff_hours_per_screening * ins["bibob_lease_screenings"] + cfg.staff_hours_per_check * ins["bibob_checks"]
        assert np.allclose(ins["staff_hours_bibob"], hours), "staff hours differ from screenings × hours"
        assert ins["net_public_cost_eur"].iloc[-1] > 0


def test_bibob_false_positives_are_measurable(pairs):
    per_run = [ins["bibob_false_positives_total"].iloc[-1] for _, ins in pairs]
    assert sum(per_run) > 0, f"no false positives at a rate of 2% in any replicate: {per_run}"
    assert all(ref["bibob_false_positives_total"].iloc[-1] == 0 for ref, _ in pairs)


@pytest.mark.parametrize("how", ["instrument", "municipality"])
def test_bibob_stops_screening_at_capacity(how):
    """Capacity 10 a year (set on the instrument, or null = the municipality's): 10 screenings a year, then leases pass."""
    if how == "instrument":
        scenario = load(SCENARIO, instruments=[_instrument(screenings_per_year=10.0)])
    else:
        scenario = load(SCENARIO, instruments=[_instrument(screenings_per_year=None)],
                        agents={"municipality": {"screenings_per_year": 10.0}})
    (_, ins), = run_pair(scenario, seeds=[5])
    per_year = _per_year(ins["bibob_screenings"])
    assert (per_year == 10).all(), f"screenings per year {per_year.tolist()}, capacity 10 (binding)"
    assert ins["bibob_unscreened_total"].iloc[-1] > 0, "no lease passed unscreened although capacity ran out"


def test_bibob_without_capacity_changes_nothing():
    scenario = load(SCENARIO, instruments=[_instrument(screenings_per_year=0.0)])
    (ref, ins), = run_pair(scenario, seeds=[5])
    assert ins["bibob_unscreened_total"].iloc[-1] > 0       # leases came by and went unscreened
    keep = [c for c in ref if "bibob" not in c]
    assert np.array_equal(ref[keep].to_numpy(), ins[keep].to_numpy())
