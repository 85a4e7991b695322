"""zoning: a plan change acts only after its procedure (draft, views, adoption, entry into force;
an appeal delays it or annuls it); contracting the shopping area then lowers vacancy outside the new
core through conversions (CRN); forbidden uses never arrive by a new letting or conversion; permit
lag; planschade net of the normal social risk, none for foreseeable removals, paid from the budget."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crn import load, mean_over, run_pair
from sim.instruments.zoning import ZoningConfig, payable_eur
from sim.model import CityModel
from sim.uses import COMMERCIAL_NAMES, CONVERSION, RESIDENTIAL, USE_CODE

SCENARIO = "scenarios/instruments/zoning.yaml"
ZONED_USES = list(COMMERCIAL_NAMES) + ["residential"]
# default procedure from the first step of its start year (step 5 for 2026, quarterly steps): draft after
# 26 weeks, views 6, adoption 12, entry into force 4 weeks after publication: 48 weeks, 4 steps
START_2026, ACTS_2026 = 5, 5 + 4
# with an appeal: publication + 40 weeks (6 to lodge it, 34 at the Raad van State): 84 weeks, 7 steps
ACTS_2026_APPEALED = 5 + 7


@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_contraction_lowers_vacancy_outside_the_core_through_conversions(pairs):
    # B streets: long-vacant units convert once the plan acts (a year after its start in 2026, or
    # after an appeal, by 2028). The procedure leaves the plans 5-6 of the 8 years to act.
    # Measured with 0.5 (5 seeds, last year): B-street vacancy 8.1% with the zones, 10.3% without;
    # conversions to housing 30.4 against 19.2 (changes of use 18.3 against 19.4: homes take some
    # units that would have changed use).
    b_ref, b_ins = mean_over(pairs, "zoning_area_vacancy_units")
    assert b_ins < b_ref, f"vacancy on B streets, last year: transformation zone {b_ins:.4f}, without {b_ref:.4f}"
    # A2 streets (the second zone) mostly keep their shops: a shop there is worth more than homes,
    # so the permission is used little. Since 0.5 A2 vacancy is higher (8.4% in the last year
    # without the zone) and some long-vacant units there convert: vacancy falls by 0.9 points
    # (seeds -2.5..+0.8), before 0.5 within 0.5 points either way. The test: a small effect, below
    # the B streets' (2.2 points)
    ref, ins = mean_over(pairs, "zoning_1_area_vacancy_units")
    assert abs(ins - ref) < 0.02 and ref - ins < b_ref - b_ins, (
        f"vacancy on A2 streets, last year: transformation zone {ins:.4f}, without {ref:.4f} "
        f"(B streets {b_ins:.4f}, without {b_ref:.4f})")
    # 0.5 counts changes of use among the conversions; the zones permit housing: count those
    ref, ins = mean_over(pairs, "conversions_housing")
    assert ins > ref + 5, f"conversions to housing by the horizon: transformation zones {ins:.1f}, without {ref:.1f}"
    acted_somewhere = False
    for _, ins in pairs:
        acted = ins["zoning_in_force"] == 1.0
        assert not acted.loc[:ACTS_2026 - 1].any(), "the B-street plan acted before its procedure ended"
        # an appealed plan is annulled in 20% of appeals (6% of plans): then it never acts
        # (with 0.5's longer burn-in one of the five seeds draws that)
        annulled = ins["zoning_annulled"].iloc[-1] == 1.0
        assert acted.any() != annulled, "a B-street plan neither acted nor was annulled"
        assert (ins["zoning_permits"].iloc[-1] > 0) == acted.any(), "permits without the plan or no permit with it"
        acted_somewhere |= bool(acted.any())
        assert ins["zoning_compensation_eur"].iloc[-1] == 0.0, "a plan change that only adds uses owes no planschade"
    assert acted_somewhere


def _run(instrument: dict, years: int = 4, seed: int = 2, **overrides) -> tuple[CityModel, list[dict]]:
    scenario = load(SCENARIO, horizon_years=years, instruments=[instrument], **overrides)
    model = CityModel(scenario, seed=seed)
    # the zone's units without a right to housing at the start: since 0.5 the default plan keeps
    # existing use rights, so the homes on B streets (a tenth of their parcels) may stay homes
    zone = model.municipality.instruments[0].area_mask
    shops = zone & ~((model.parcels.allowed >> RESIDENTIAL & 1) == 1)
    assert shops.any()
    states = []
    for _ in range(scenario.n_steps):
        before = model.parcels.use.copy()
        model.step()
        zoning = model.municipality.instruments[0]
        started = (model.parcels.use == CONVERSION) & (before != CONVERSION) & zoning.area_mask
        states.append({"step": model.steps, "phase": zoning.phase, "in_force": zoning.in_force,
                       "housing_allowed": bool((model.parcels.allowed[shops] >> RESIDENTIAL & 1).any()),
                       "conversions_started": int(started.sum())})
    return model, states


B_HOUSING = {"kind": "zoning", "start_year": 2026, "area": {"street_classes": ["B"]}, "allow": ["residential"]}


def test_the_plan_acts_only_after_its_procedure_and_enables_no_conversion_before():
    model, states = _run({**B_HOUSING, "appeal_probability": 0.0}, seed=3)
    before = [s for s in states if s["step"] < ACTS_2026]
    after = [s for s in states if s["step"] >= ACTS_2026]
    assert not any(s["housing_allowed"] or s["in_force"] for s in before), "housing permitted before the plan acted"
    assert sum(s["conversions_started"] for s in before) == 0, "conversions in the zone before the plan acted"
    assert [s["phase"] for s in states if START_2026 <= s["step"] < ACTS_2026] == [0, 0, 1, 2], \
        f"phases while the procedure runs: {[(s['step'], s['phase']) for s in states]}"
    assert all(s["housing_allowed"] and s["in_force"] for s in after)
    assert sum(s["conversions_started"] for s in after) > 0, "the transformation zone enabled no conversion at all"
    assert model.municipality.instruments[0].acted_step == ACTS_2026


def test_an_appeal_delays_the_plan_and_an_annulment_stops_it():
    _, plain = _run({**B_HOUSING, "appeal_probability": 0.0}, seed=3)
    model, appealed = _run({**B_HOUSING, "appeal_probability": 1.0, "annulment_probability": 0.0}, seed=3)
    first = {name: min(s["step"] for s in run if s["in_force"]) for name, run in (("plain", plain), ("appealed", appealed))}
    assert first == {"plain": ACTS_2026, "appealed": ACTS_2026_APPEALED}, f"first step in force: {first}"
    assert sum(s["conversions_started"] for s in appealed if s["step"] < ACTS_2026_APPEALED) == 0
    zoning = model.municipality.instruments[0]
    hours = model.municipality.ledger.staff_hours["zoning"]
    assert hours[ACTS_2026] == zoning.config.appeal_staff_hours, "the appeal's hours are booked at publication"
    annulled, states = _run({**B_HOUSING, "appeal_probability": 1.0, "annulment_probability": 1.0}, seed=3)
    assert not any(s["in_force"] or s["housing_allowed"] for s in states), "an annulled plan acted"
    assert annulled.records[-1]["zoning_annulled"] == 1.0 and annulled.records[-1]["zoning_phase"] == 6.0


def test_the_procedure_books_its_staff_hours_at_each_step():
    model, _ = _run({**B_HOUSING, "appeal_probability": 0.0}, seed=3)
    cfg = model.municipality.instruments[0].config
    hours = model.municipality.ledger.staff_hours["zoning"]
    assert hours[START_2026] == cfg.preparation_staff_hours
    assert hours[START_2026 + 2] == cfg.views_staff_hours and hours[START_2026 + 3] == cfg.adoption_staff_hours
    assert hours.sum() == cfg.preparation_staff_hours + cfg.views_staff_hours + cfg.adoption_staff_hours


def _use_history(scenario, seed: int) -> tuple[CityModel, list[np.ndarray]]:
    model = CityModel(scenario, seed=seed)
    uses = [model.parcels.use.copy()]
    for _ in range(scenario.n_steps):
        model.step()
        uses.append(model.parcels.use.copy())
    return model, uses


def _arrivals_of(uses: list[np.ndarray], zone: np.ndarray, codes: list[int], after_step: int) -> int:
    """Parcels in ``zone`` that changed to one of ``codes`` in a step after ``after_step``, except
    conversions under way at the change (their permit predates it)."""
    exempt = uses[after_step] == CONVERSION
    arrivals = 0
    for t in range(after_step + 1, len(uses)):
        new = (uses[t] != uses[t - 1]) & np.isin(uses[t], codes) & zone & ~exempt
        arrivals += int(new.sum())
    return arrivals


@settings(deadline=None, max_examples=5)
@given(forbid=st.lists(st.sampled_from(ZONED_USES), min_size=1, max_size=4, unique=True),
       street=st.sampled_from(["B", "C", "residential"]), change_year=st.integers(2025, 2026),
       seed=st.integers(0, 10_000))
def test_a_forbidden_use_never_arrives_in_the_zone(forbid, street, change_year, seed):
    scenario = load(SCENARIO, horizon_years=4, instruments=[
        {"kind": "zoning", "start_year": change_year, "area": {"street_classes": [street]}, "allow": [],
         "forbid": forbid, "appeal_probability": 0.0}])
    model, uses = _use_history(scenario, seed)
    zoning = model.municipality.instruments[0]
    codes = [USE_CODE[u] for u in forbid]
    assert zoning.acted_step > 0, "the plan never acted"
    # a change of use under way when the plan acts has its permit (0.5: e.g. horeca on a C street):
    # the unit gains that use's right when the works are done, as a conversion keeps its permit
    under_way = uses[zoning.acted_step - 1] == CONVERSION
    assert not (model.parcels.allowed[zoning.area_mask & ~under_way] & sum(1 << c for c in codes)).any()
    # the plan acts at the start of its step (before lettings and conversions)
    assert _arrivals_of(uses, zoning.area_mask, codes, zoning.acted_step - 1) == 0, f"{forbid} arrived on {street} streets"


def test_the_same_uses_do_arrive_without_the_plan_change():
    """The property above has power: in the reference the forbidden uses keep arriving in the zone."""
    forbid = ["horeca", "services", "residential"]
    scenario = load(SCENARIO, horizon_years=5, instruments=[
        {"kind": "zoning", "area": {"street_classes": ["C", "residential"]}, "allow": [], "forbid": forbid,
         "appeal_probability": 0.0}])
    codes = [USE_CODE[u] for u in forbid]
    model, uses = _use_history(scenario, seed=3)
    ref_model, ref_uses = _use_history(load(SCENARIO, horizon_years=5, instruments=[]), seed=3)
    zoning = model.municipality.instruments[0]
    after = zoning.acted_step - 1
    with_plan, without = _arrivals_of(uses, zoning.area_mask, codes, after), _arrivals_of(ref_uses, zoning.area_mask, codes, after)
    assert with_plan == 0 and without > 10, f"arrivals of {forbid}: with the plan {with_plan}, without {without}"
    assert model.records[-1]["zoning_nonconforming_units"] > 0, "existing non-conforming uses may stay"


def test_extended_procedure_adds_the_permit_weeks_to_conversions_in_the_zone():
    scenario = load(SCENARIO, horizon_years=4, instruments=[
        {"kind": "zoning", "area": {"street_classes": ["C"]}, "allow": ["residential"], "procedure": "extended"}])
    model = CityModel(scenario, seed=7)
    base_lag = scenario.agents.owners.conversion_lag_quarters          # 4 steps a year
    zone = model.municipality.instruments[0].area_mask
    lags = {True: set(), False: set()}
    for _ in range(scenario.n_steps):
        before = model.parcels.use.copy()
        model.step()
        acting = model.municipality.instruments[0].in_force
        # conversions to housing: since 0.5 a change of use to a commercial use by permit is a
        # conversion too (horeca on C streets), with its own lag that no zoning procedure sets
        started = (model.parcels.use == CONVERSION) & (before != CONVERSION) & (model.parcels.conversion_to == RESIDENTIAL)
        for in_zone in (True, False):
            done = model.parcels.conversion_done_step[started & (zone == in_zone) & (acting or not in_zone)]
            lags[in_zone] |= set((done - model.steps).tolist())
    # 26 weeks instead of the 8 in the baseline lag: 18 weeks, two quarters once works wait a whole step
    assert lags[True] == {base_lag + 2}, f"lags in the zone {lags[True]}, expected {base_lag + 2}"
    assert lags[False] <= {base_lag}, f"lags outside the zone {lags[False]}, expected {base_lag}"
    assert model.records[-1]["zoning_permits"] > 0


def test_compensation_is_net_of_the_normal_social_risk():
    """A constructed loss just below the 4% threshold owes nothing, just above it owes the excess."""
    value = 1_000_000.0
    below, above = payable_eur(np.array([39_999.0, 40_001.0]), value, 0.04, 1.0)
    assert below == 0.0 and np.isclose(above, 1.0), f"payable below {below}, above {above}"
    # the same through the plan's assessment, on one unit of a real zone
    model = CityModel(load(SCENARIO, horizon_years=1, instruments=[
        {"kind": "zoning", "area": {"street_classes": ["B"]}, "allow": [], "forbid": ["comparison"]}]), seed=4)
    zoning = model.municipality.instruments[0]
    par = model.parcels
    use = par.flat("use").copy()
    unit = int(np.flatnonzero(zoning.area_mask.reshape(-1) & (use == USE_CODE["comparison"]))[0])
    full_loss = float(zoning.loss_eur(model, np.array([unit]), np.array([1.0]), np.array([0.0]))[0])
    threshold = zoning.config.normal_risk_share * float(par.flat("value_eur")[unit])
    assert full_loss > threshold, "the constructed unit cannot lose more than its threshold"
    for factor, owed in ((0.99, 0.0), (1.01, 0.01 * threshold)):
        zoning.claims = []
        before = np.ones(par.flat("use").size)
        after = before.copy()
        after[unit] = 1.0 - factor * threshold / full_loss        # the unit's loss = factor × threshold
        zoning._assess_claims(model, before, after, use)
        paid = sum(eur for _, _, eur in zoning.claims)
        assert np.isclose(paid, owed, rtol=1e-6, atol=1e-6), f"loss {factor} × threshold: owed {paid:.2f}, expected {owed:.2f}"


def _compensation_runs(share: float, budget_eur: float = 1e9, **settings) -> tuple[dict, "CityModel"]:
    # a budget large enough for every claim: timing and scale, not the budget constraint, are tested here
    scenario = load(SCENARIO, horizon_years=4, agents={"municipality": {"annual_budget_eur": budget_eur}},
                    instruments=[
        {"kind": "zoning", "start_year": 2026, "area": {"street_classes": ["B"]}, "allow": ["residential"],
         "forbid": ["comparison"], "compensation_share": share, "appeal_probability": 0.0, **settings}])
    model = CityModel(scenario, seed=11)
    for _ in range(scenario.n_steps):
        model.step()
    return model.municipality.ledger, model


def test_planschade_is_paid_a_year_after_the_plan_acts_and_scales_with_the_share():
    ledger, model = _compensation_runs(1.0)
    half_ledger, half_model = _compensation_runs(0.5)
    zoning = model.municipality.instruments[0]
    spend = ledger.spend_eur["zoning"] - model.municipality.staff_cost_eur_per_hour * ledger.staff_hours["zoning"]
    due = ACTS_2026 + 4                    # the plan acts, then one year's payment lag
    assert np.flatnonzero(spend > 1e-6).tolist() == [due], f"payouts in steps {np.flatnonzero(spend > 1e-6)}"
    assert ledger.staff_hours["zoning"][START_2026] == zoning.config.preparation_staff_hours
    assert zoning.claims_paid > 0 and np.isclose(spend.sum(), zoning.compensation_eur)
    assert np.isclose(half_model.municipality.instruments[0].compensation_eur, 0.5 * zoning.compensation_eur), (
        f"compensation at share 0.5: {half_model.municipality.instruments[0].compensation_eur:.0f}, "
        f"at share 1: {zoning.compensation_eur:.0f}")
    assert model.records[-1]["net_public_cost_eur"] >= zoning.compensation_eur
    model.municipality.check_ledger()


def test_owners_who_could_foresee_the_removal_get_nothing_for_unused_potential():
    """Passive risk acceptance: announced three years before, the unused potential (units not in a
    forbidden use) is the owners' risk; units still in the forbidden use keep their claim."""
    _, plain = _compensation_runs(1.0)
    _, foreseen = _compensation_runs(1.0, announced_years_before=3.0)
    a, b = plain.municipality.instruments[0], foreseen.municipality.instruments[0]
    assert b.claims_refused_foreseeable > 0 and a.claims_refused_foreseeable == 0
    assert 0.0 < b.compensation_eur < a.compensation_eur, (
        f"compensation with a timely announcement {b.compensation_eur:.0f}, without {a.compensation_eur:.0f}")


def test_an_empty_plan_change_changes_nothing():
    scenario = load(SCENARIO, instruments=[{"kind": "zoning", "area": {"street_classes": ["C"]}, "allow": []}])
    (ref, ins), = run_pair(scenario, seeds=[5])
    keep = [c for c in ref if not c.startswith("zoning")]
    assert np.array_equal(ref[keep].to_numpy(), ins[keep].to_numpy())
    assert ins["zoning_in_force"].iloc[-1] == 1.0 and ref["zoning_in_force"].iloc[-1] == 0.0


def test_a_zone_that_leaves_the_core_loses_the_core_flag_when_the_plan_acts():
    scenario = load(SCENARIO, horizon_years=3, instruments=[
        {"kind": "zoning", "start_year": 2026, "area": {"street_classes": ["A2"]}, "leaves_core": True,
         "appeal_probability": 0.0}])
    model = CityModel(scenario, seed=2)
    zone = model.municipality.instruments[0].area_mask
    a1 = model.parcels.core_area & ~zone
    for _ in range(ACTS_2026 - 1):                 # 2025 and the procedure: the old plan holds
        model.step()
    assert model.parcels.core_area[zone].all() and not (model.parcels.allowed[zone] >> RESIDENTIAL & 1).any()
    model.step()
    assert not model.parcels.core_area[zone].any() and model.parcels.core_area[a1].all() and a1.any()
    assert (model.parcels.allowed[zone] >> RESIDENTIAL & 1).all(), "the zone became a transformation zone"


def test_planschade_beyond_the_budget_waits_and_reaches_the_owners_later():
    """A legal claim cannot be refused: what the year's budget cannot pay waits as arrears, the
    budget never goes below zero, and the owners receive the rest when the next budget comes."""
    claims = [{"kind": "zoning", "start_year": 2026, "area": {"street_classes": ["B"]}, "allow": ["residential"],
               "forbid": ["comparison"], "compensation_share": 1.0, "appeal_probability": 0.0}]
    totals = {}
    # the claims of seed 11 come to EUR 0.23M (4 claims): since 0.5 the market rent is the residual
    # of the best use, and chain retail is rarely the best use on B streets, so forbidding it costs
    # far less than when the rent was the runner-up's (the budget here was EUR 2M); EUR 0.1M a year
    # cannot pay them in the year they are due
    small_budget = 100_000.0
    for budget_eur in (small_budget, 1e9):
        scenario = load(SCENARIO, horizon_years=5, agents={"municipality": {"annual_budget_eur": budget_eur}},
                        instruments=claims)
        model = CityModel(scenario, seed=11)
        budget_left = []
        for _ in range(scenario.n_steps):
            model.step()
            budget_left.append(model.municipality.budget_left_eur)
        model.municipality.check_ledger()
        assert min(budget_left) >= -1e-6, f"the budget went below zero: {min(budget_left):.0f}"
        totals[budget_eur] = (model, [r["zoning_arrears_eur"] for r in model.records])
    small, arrears = totals[small_budget]
    large, no_arrears = totals[1e9]
    due, next_year = ACTS_2026 + 4, ACTS_2026 + 8
    assert max(no_arrears) == 0.0
    assert arrears[due] > 0.0, "claims beyond the year's budget must wait"
    assert arrears[next_year] < arrears[due], "the next year's budget pays what waited"
    paid, owed = small.municipality.instruments[0].compensation_eur, large.municipality.instruments[0].compensation_eur
    assert paid < owed and paid + small.municipality.arrears_eur("zoning") >= owed - 1e-6


@pytest.mark.parametrize("field,value", [("appeal_probability", 1.5), ("views_weeks", -1.0),
                                         ("annulment_probability", -0.1), ("passive_risk_years", 99.0)])
def test_a_bad_procedure_setting_gives_a_clear_error(field, value):
    with pytest.raises(ValidationError, match=field):
        ZoningConfig(**{field: value})
