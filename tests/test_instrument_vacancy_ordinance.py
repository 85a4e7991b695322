"""vacancy_ordinance: less vacancy over a year in the area vs the baseline (CRN); fines and capacity as set."""

import numpy as np
import pytest
from pydantic import ValidationError

from crn import load, mean_over, run_pair, variant
from sim.instruments.vacancy_ordinance import VacancyOrdinanceConfig

SCENARIO = "scenarios/instruments/vacancy_ordinance.yaml"
STAFF_EUR_PER_HOUR = 80.0   # the baseline's staff_cost_eur_per_hour



@pytest.fixture(scope="module")
def pairs():
    return run_pair(load(SCENARIO))


def test_vacancy_ordinance_cuts_vacancy_over_one_year(pairs):
    ref, ins = mean_over(pairs, "vacancy_ordinance_longvacant_units_1y", reduce=lambda s: s.mean())
    assert ins < 0.8 * ref, f"units vacant > 1 year in the area: with ordinance {ins:.1f}, without {ref:.1f}"
    ref_s, ins_s = mean_over(pairs, "vacancy_ordinance_area_longterm_vacancy_1y")
    assert ins_s < ref_s, f"share of vacant floor vacant > 1 year, last year: with {ins_s:.3f}, without {ref_s:.3f}"


def test_vacancy_ordinance_nominees_are_entries(pairs):
    ref, ins = mean_over(pairs, "business_entries", reduce=lambda s: s.sum())
    lettings = np.mean([i["vacancy_ordinance_lettings"].iloc[-1] for _, i in pairs])
    assert lettings > 0 and ins > ref, f"entries: with ordinance {ins:.1f} ({lettings:.1f} nominees), without {ref:.1f}"


def test_vacancy_ordinance_fines_and_capacity(pairs):
    cfg = load(SCENARIO).instruments[0]
    for ref, ins in pairs:
        refusals = ins["vacancy_ordinance_refusals"].iloc[-1]
        income = ins["income_eur_vacancy_ordinance"].sum()
        assert refusals > 0 and np.isclose(income, refusals * cfg.fine_eur), \
            f"fine income {income:.0f} vs {refusals:.0f} refusals × EUR {cfg.fine_eur:.0f}"
        nominations = ins["vacancy_ordinance_nominations"].diff().fillna(ins["vacancy_ordinance_nominations"])
        per_year = nominations.groupby((ins.index - 1) // 4).sum()
        assert (per_year <= cfg.max_nominations_per_year).all(), f"{per_year.max():.0f} nominations in a year"
        # the ordinance costs staff only: spend is staff hours at the hourly rate
        spend = ins["spend_eur_vacancy_ordinance"].sum()
        assert np.isclose(spend, STAFF_EUR_PER_HOUR * ins["staff_hours_vacancy_ordinance"].sum()) and spend > 0
        assert ref["spend_eur_vacancy_ordinance"].sum() == 0


def test_vacancy_ordinance_fine_is_capped_by_law():
    with pytest.raises(ValidationError):
        VacancyOrdinanceConfig(fine_eur=10_000.0)


def test_vacancy_ordinance_without_nominations_changes_nothing_but_staff():
    (ref, ins), = run_pair(load(SCENARIO, **variant(SCENARIO, max_nominations_per_year=0)), seeds=[5])
    assert ins["vacancy_ordinance_reports"].iloc[-1] > 0 and ins["vacancy_ordinance_nominations"].iloc[-1] == 0
    ledger = ("vacancy_ordinance", "municipal_", "net_public_cost", "net_public_cash")
    own = lambda df: df.drop(columns=[c for c in df if any(k in c for k in ledger)])   # noqa: E731
    assert np.array_equal(own(ref).to_numpy(), own(ins).to_numpy())
