"""bibob: horeca and risk-sector entries are screened; a screened applicant waits for the decision
(honest ones too: delayed, some give up, refused only when wrongly doubted); refusal, conditions and
revocation rates land near the national monitor's; fewer active fronts vs the baseline (CRN), by a
moderate margin; screening stops at capacity."""

import numpy as np
import pytest
from pydantic import ValidationError

from crn import load, mean_over, run_pair
from sim.instruments.bibob import BibobConfig
from sim.model import CityModel
from sim.uses import USE_CODE

SCENARIO = "scenarios/instruments/bibob.yaml"
# national Bibob monitor 2014 (academiebw.nl/rapport-monitor-toepassing-wet-bibob-2): shares of ~6,000 decisions
MONITOR = {"refusal_rate": 0.02, "conditions_rate": 0.03, "revocation_rate": 0.03}


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def _instrument(**settings) -> dict:
    """The scenario's bibob settings with some replaced."""
    return {**load(SCENARIO).instruments[0].model_dump(), **settings}


def _per_year(series):
    """Sum of a per-step flow per simulated year (step k belongs to year (k − 1) // 4; step 0 is the start)."""
    return series.iloc[1:].groupby((series.index[1:] - 1) // 4).sum()


def test_bibob_lowers_active_fronts_by_a_moderate_margin(pairs):
    # refusals (~2% of decisions) and revocations are rare, as in the national monitor: Bibob
    # thins the fronts out but does not clear them (measured on these seeds with 0.5: 17.1 -> 10.1,
    # -41%; before 0.5 about -40%)
    ref, ins = mean_over(pairs, "fronts_active")
    assert 0.3 * ref < ins < 0.85 * ref, f"active fronts in the last year: with bibob {ins:.2f}, without {ref:.2f}"
    ref_d, ins_d = mean_over(pairs, "fronts_detected")
    assert ins_d > ref_d, f"detected fronts by the end: with bibob {ins_d:.2f}, without {ref_d:.2f}"


# Since 0.5 the honest entrants are about as many as the leavers ("thin demand"): the midsize city
# decides about 43 applications a year on these seeds, 4.5% of the applicants fronts (78 of 1,733
# decisions over the five replicates). Measured: refusals 1.6%, conditions 1.8%, revocations 2.3%
# against the monitor's 2%, 3% and 3%. Each pooled rate rests on about 30 events, whose Poisson
# count alone has a 95% interval of about +-35%: the bounds allow half to 1.7 times the monitor.
# (Before the fix of listings entrants lost to a unit held for a screening, the model decided only
# ~15 applications a year and conditions and revocations per decision were twice the monitor's.)
BELOW_MONITOR = 0.5
ABOVE_MONITOR = {"refusal_rate": 1.7, "conditions_rate": 1.7, "revocation_rate": 1.7}


def test_refusal_conditions_and_revocation_rates_land_in_the_monitors_range(pairs):
    """Pooled over the replicates (a midsize city decides ~43 applications a year): each rate at
    least ``BELOW_MONITOR`` times the monitor's share and at most ``ABOVE_MONITOR`` times it."""
    decisions = sum(ins["bibob_decisions_total"].iloc[-1] for _, ins in pairs)
    counts = {"refusal_rate": "bibob_refused_total", "conditions_rate": "bibob_conditions_total",
              "revocation_rate": "bibob_revoked_total"}
    for rate, total in counts.items():
        model_rate = sum(ins[total].iloc[-1] for _, ins in pairs) / decisions
        target = MONITOR[rate]
        assert BELOW_MONITOR * target <= model_rate <= ABOVE_MONITOR[rate] * target, (
            f"{rate}: model {model_rate:.3f} over {decisions:.0f} decisions, monitor {target:.3f}")
        per_run = [ins[f"bibob_{rate}"].iloc[-1] for _, ins in pairs]
        assert all(0.0 <= r <= 0.1 for r in per_run), f"{rate} per replicate {per_run}"


def test_bibob_screens_within_capacity_and_books_staff_hours(pairs):
    cfg = load(SCENARIO).instruments[0]
    for _, ins in pairs:
        per_year = _per_year(ins["bibob_screenings"])
        assert (per_year <= cfg.screenings_per_year).all(), \
            f"screenings per year {per_year.max():.0f} > capacity {cfg.screenings_per_year:.0f}"
        lbb = ins["bibob_lbb_requests_total"].diff().fillna(ins["bibob_lbb_requests_total"])
        hours = (cfg.staff_hours_per_screening * ins["bibob_lease_screenings"] + cfg.staff_hours_per_check * ins["bibob_checks"]
                 + cfg.staff_hours_per_lbb_request * lbb)
        assert np.allclose(ins["staff_hours_bibob"], hours), "staff hours differ from screenings × hours"
        assert ins["net_public_cost_eur"].iloc[-1] > 0


def test_every_horeca_entry_is_screened_and_other_sectors_are_not():
    scenario = load(SCENARIO, horizon_years=4, instruments=[_instrument(sectors=[], screenings_per_year=1000.0,
                                                                        checks_per_year=0.0)])
    model = CityModel(scenario, seed=5)
    for _ in range(scenario.n_steps):
        model.step()
    b, last = model.businesses, model.records[-1]
    entered = b.entry_step[:b.n] > 0
    horeca = int((entered & (b.sector[:b.n] == USE_CODE["horeca"])).sum())
    services = int((entered & (b.sector[:b.n] == USE_CODE["services"])).sum())
    granted = last["bibob_decisions_total"] - last["bibob_refused_total"]
    assert last["bibob_unscreened_total"] == 0 and horeca > 5 and services > 5
    assert horeca == granted, f"horeca entries {horeca}, granted screenings {granted:.0f}: an entry bypassed the screening"


def test_honest_applicants_wait_for_the_decision_and_are_refused_only_when_wrongly_doubted():
    # a higher withdrawal rate than the scenario's 0.5 a year (14% of those waiting 4 weeks, not 4%):
    # with 0.5's thin entry the three years see ~45 delayed honest applicants (before 0.5 about twice
    # as many), of whom fewer than two would give up at the default rate (none on this seed)
    scenario = load(SCENARIO, horizon_years=3, instruments=[_instrument(false_positive_probability=0.0,
                                                                        checks_per_year=0.0,
                                                                        withdrawal_rate_per_year=2.0)])
    model = CityModel(scenario, seed=7)
    bibob = model.municipality.instruments[0]
    applied = {}                                      # parcel -> (step applied, application)
    for _ in range(scenario.n_steps):
        model.step()
        for parcel, app in bibob.pending.items():
            applied.setdefault((parcel, app.due_step), (model.steps, app))
    b = model.businesses
    waits = []
    for (parcel, due), (step, app) in applied.items():
        if app.is_front or app.withdraws or due > model.steps:
            continue
        opened = np.flatnonzero((b.parcel[:b.n] == parcel) & (b.entry_step[:b.n] == due) & (b.sector[:b.n] == app.sector))
        if opened.size:
            waits.append(due - step)
    # 4 weeks of screening beyond the letting time: the entry waits one quarter (two with an LBB advice)
    assert len(waits) > 10 and set(waits) <= {1, 2} and 1 in waits, f"waits of honest entrants (steps): {sorted(set(waits))}"
    last = model.records[-1]
    assert last["bibob_false_positives_total"] == 0, "an honest applicant was refused without a false doubt"
    assert last["bibob_honest_delayed_total"] > 10 and last["bibob_withdrawn_total"] > 0, \
        "honest applicants must wait and some give up"


def test_bibob_false_positives_are_measurable(pairs):
    per_run = [ins["bibob_false_positives_total"].iloc[-1] for _, ins in pairs]
    assert sum(per_run) > 0, f"no honest applicant refused in any replicate: {per_run}"
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


@pytest.mark.parametrize("settings,field", [({"withdrawal_rate_per_year": -1.0}, "withdrawal_rate_per_year"),
                                            ({"lbb_weeks": 100.0}, "lbb_weeks"),
                                            ({"refusal_share_of_doubts": 1.2}, "refusal_share_of_doubts"),
                                            ({"screen_horeca": False, "sectors": []}, "screens nothing")])
def test_a_bad_setting_gives_a_clear_error(settings, field):
    with pytest.raises(ValidationError, match=field):
        BibobConfig(**settings)
