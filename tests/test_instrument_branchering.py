"""branchering: lowers the capped sector's share in the zone vs the baseline (CRN); no entry above the cap."""

import numpy as np
import pytest

from crn import load, mean_over, run_pair

SCENARIO = "scenarios/instruments/branchering.yaml"


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


@pytest.fixture(scope="module")
def below_today():
    """The cap set at 15%, below the core's horeca share at the start (about 20%)."""
    settings = {**load(SCENARIO).instruments[0].model_dump(), "max_share": 0.15}
    return run_pair(load(SCENARIO, instruments=[settings]), seeds=[5, 6])


def test_branchering_lowers_the_capped_share_in_the_zone(pairs):
    ref, ins = mean_over(pairs, "branchering_share")
    assert ins < ref - 0.02, f"horeca share of core units in the last year: with the cap {ins:.3f}, without {ref:.3f}"


def test_branchering_no_entry_while_the_share_is_above_the_cap(pairs, below_today):
    for cap, runs in ((0.18, pairs), (0.15, below_today)):
        for _, ins in runs:
            above = ins["branchering_share"] > cap + 1e-12
            assert (ins.loc[above, "branchering_entries"] == 0).all(), \
                f"new capped-sector lettings in steps with share above the cap {cap}"
            # entries stop at the cap: the share never passes it through new entries
            rise = ins["branchering_sector_units"].diff().fillna(0) > 0
            assert (ins.loc[rise, "branchering_share"] <= cap + 1e-12).all(), \
                f"share rose above the cap {cap}: max {ins['branchering_share'].max():.3f}"
    assert sum(ins["branchering_entries"].sum() for _, ins in pairs) > 0, "no horeca entries below the cap either"


def test_branchering_cap_below_today_share_stops_the_rise(below_today):
    """Above the cap nothing enters; exits lower the share, entries refill it only up to the cap."""
    for _, ins in below_today:
        share = ins["branchering_share"]
        assert share.iloc[0] > 0.15, f"start share {share.iloc[0]:.3f} is not above the cap 0.15"
        assert share.max() <= share.iloc[0] + 1e-12, f"share rose from {share.iloc[0]:.3f} to {share.max():.3f}"
        assert share.iloc[-1] < share.iloc[0], f"share {share.iloc[0]:.3f} -> {share.iloc[-1]:.3f} did not fall"
        assert ins["branchering_refusals"].sum() > 0, "no entry refused although the share was above the cap"


def test_branchering_books_staff_hours_per_decision(pairs):
    hours = load(SCENARIO).instruments[0].staff_hours_per_decision
    for ref, ins in pairs:
        assert np.allclose(ins["staff_hours_branchering"], hours * ins["branchering_decisions"])
        assert ins["branchering_decisions"].sum() == ins["branchering_entries"].sum() + ins["branchering_refusals"].sum()
        assert ins["net_public_cost_eur"].iloc[-1] > 0 and ref["net_public_cost_eur"].iloc[-1] == 0


def test_branchering_without_a_binding_cap_changes_nothing():
    settings = {**load(SCENARIO).instruments[0].model_dump(), "max_share": 1.0, "staff_hours_per_decision": 0.0}
    (ref, ins), = run_pair(load(SCENARIO, instruments=[settings]), seeds=[5])
    assert ins["branchering_decisions"].sum() > 0 and ins["branchering_refusals"].sum() == 0
    keep = [c for c in ref if "branchering" not in c]
    assert np.array_equal(ref[keep].to_numpy(), ins[keep].to_numpy())
