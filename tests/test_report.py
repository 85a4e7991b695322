"""Tests for sim.workshop.report: the workshop report of a scenario comparison (no model runs)."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from sim.numbers import format_number
from sim.workshop.report import map_differences, scenario_label, summary_markdown, write_report
from sim.kpis import KEY_METRICS
from sim.plots import label
from sim.uses import LAND_CODE, LAND_PARCEL, N_STREETS, USE_CODE

BASELINE = "baseline"
SCENARIOS = (BASELINE, "vacancy_ordinance", "package_owner_focused")
N_REP, N_STEPS = 3, 10
DOWN = {"vacancy_units", "vacancy_floor", "vacancy_units_A1", "vacancy_units_C", "longterm_vacancy_1y",
        "longterm_vacancy_3y", "rent_burden_over_40", "condition_poor_share", "fronts_active", "net_public_cost_eur"}
COST_EUR = {BASELINE: 0.0, "vacancy_ordinance": 312_000.0, "package_owner_focused": -50_000.0}
# (scenario, metric) -> (diff, lo, hi) of the effects that are distinguishable; every other diff straddles zero.
EFFECTS = {
    ("vacancy_ordinance", "longterm_vacancy_1y"): (-0.021, -0.028, -0.014),
    ("vacancy_ordinance", "footfall_index"): (1.5, 0.4, 2.6),
    ("package_owner_focused", "vacancy_units_C"): (0.012, 0.004, 0.020),  # worse: vacancy up
}
SD_RATIO = {"vacancy_ordinance": 0.31, "package_owner_focused": 0.57}   # paired SD / arm SD
FAILURES = [{"scenario": "package_owner_focused", "replicate": 2, "seed": 987654321,
             "error": "ValueError: fund below zero"}]


def make_metrics() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for scen in SCENARIOS:
        for rep in range(N_REP):
            for step in range(N_STEPS):
                for metric in KEY_METRICS:
                    rows.append({"run_id": f"{scen}-{rep}", "scenario": scen, "replicate": rep, "seed": 100 + rep,
                                 "step": step, "year": 2025 + step / 4, "metric": metric,
                                 "value": rng.uniform(0.0, 1.0)})
    return pd.DataFrame(rows)


def make_summary() -> pd.DataFrame:
    rows = []
    for scen in SCENARIOS:
        cost = COST_EUR[scen]
        for metric in KEY_METRICS:
            base = {"scenario": scen, "metric": metric, "n": N_REP, "mean": 0.25, "lo": 0.2, "hi": 0.3,
                    "net_cost_eur": cost, "better": "down" if metric in DOWN else "up"}
            if scen == BASELINE:
                base.update(diff=np.nan, diff_lo=np.nan, diff_hi=np.nan, distinguishable=False, per_meur=np.nan,
                            per_meur_note="reference", rank=np.nan, sd_ratio=np.nan, mdd=np.nan,
                            replicates_needed=np.nan)
            else:
                diff, lo, hi = EFFECTS.get((scen, metric), (0.001, -0.004, 0.006))
                effect = (scen, metric) in EFFECTS
                # the rules of sim.workshop.statistics: a ratio only for an effect above EUR 0.5 million
                # (the ordinance's EUR 0.3 million is below), a rank only for an effect
                base.update(diff=diff, diff_lo=lo, diff_hi=hi, distinguishable=effect, per_meur=np.nan,
                            per_meur_note=("not_distinguishable" if not effect else "cost_below_threshold"),
                            rank=1.0 if effect else np.nan, sd_ratio=SD_RATIO[scen], mdd=0.01,
                            replicates_needed=40.0)
            rows.append(base)
    return pd.DataFrame(rows)


def make_snapshot(n: int = 24) -> dict:
    rng = np.random.default_rng(0)
    land = np.full((n, n), LAND_PARCEL, dtype=np.int8)
    land[::6, :] = LAND_CODE["street"]
    land[:, ::6] = LAND_CODE["street"]
    land[8:11, 8:11] = LAND_CODE["square"]
    use = rng.integers(0, 9, size=(n, n)).astype(np.int8)
    street = rng.integers(0, N_STREETS, size=(n, n)).astype(np.int8)
    street[land != LAND_PARCEL] = -1
    return {"use": use, "land": land, "street_class": street}


def make_states(n: int = 24, reps: int = 20) -> dict:
    """End states over ``reps`` replicates (enough for a district's signed-rank test) as
    ``sim.workshop.compare.end_states`` gives them: the
    ordinance empties a block of units in every replicate; the package is a placebo (the baseline's
    states, replicate by replicate)."""
    rng = np.random.default_rng(1)
    snap = make_snapshot(n)
    unit = snap["land"] == LAND_PARCEL
    stack = lambda p: (rng.random((reps, n, n)) < p) & unit  # noqa: E731
    base = {"vacant": stack(0.1), "longterm_vacant": stack(0.05), "front": stack(0.02), "poor": stack(0.1),
            "use": np.repeat(snap["use"][None], reps, axis=0), "land": snap["land"],
            "street_class": snap["street_class"], "unit": unit, "replicates": list(range(reps))}
    ordinance = {**base, "vacant": base["vacant"].copy()}
    ordinance["vacant"][:, 1:5, 1:5] = unit[1:5, 1:5]
    return {BASELINE: base, "vacancy_ordinance": ordinance,
            "package_owner_focused": {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in base.items()}}


@pytest.fixture(scope="module", params=["en", "nl"])
def report(request, tmp_path_factory):
    """(lang, out_dir, html text) of a report with failures."""
    lang = request.param
    out = tmp_path_factory.mktemp(f"report_{lang}")
    path = write_report(out, make_summary(), make_metrics(), make_states(), BASELINE, lang=lang, failures=FAILURES,
                        descriptions={"vacancy_ordinance": {"en": "Baseline plus a vacancy ordinance.",
                                                            "nl": "Basisscenario met een leegstandsverordening."}})
    assert path == out / ("report.html" if lang == "en" else "report.nl.html")
    return lang, out, path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- numbers and names


def test_format_number_shares_points_euros_and_area():
    assert format_number(0.123, "en", "share") == "12.3%"
    assert format_number(0.123, "nl", "share") == "12,3%"
    assert format_number(-0.021, "en", "points", signed=True) == "−2.1 points"
    assert format_number(-0.021, "nl", "points", signed=True) == "−2,1 procentpunt"
    assert format_number(0.021, "en", "points", signed=True) == "+2.1 points"
    assert format_number(312_000, "en", "eur") == "EUR 0.3 million"
    assert format_number(312_000, "nl", "eur") == "€ 0,3 miljoen"
    assert format_number(12_345, "en", "m2") == "12,345 m²"
    assert format_number(12_345.5, "nl", "m2", decimals=1) == "12.345,5 m²"
    assert format_number(-1.4, "nl", "points", unit=False, decimals=1) == "−140,0"


def test_format_number_edge_cases():
    assert format_number(float("nan"), "nl", "share") == "–"
    assert format_number(None, "en") == "–"
    assert format_number(-0.0001, "en", "points", signed=True, decimals=1) == "0.0 points"  # no "−0.0"
    with pytest.raises(ValueError):
        format_number(1.0, "de")
    with pytest.raises(ValueError):
        format_number(1.0, "en", "furlongs")


def test_scenario_labels_translate_kinds_and_packages():
    assert scenario_label("vacancy_ordinance", "nl") == "Leegstandverordening"
    assert scenario_label("vacancy_ordinance", "en") == "Vacancy ordinance"
    assert scenario_label("preemption", "nl") == "Voorkeursrecht"
    long_nl = scenario_label("package_owner_focused", "nl", long=True)
    assert long_nl == "Pakket eigenaren (voorkeursrecht, verwervingsfonds en leegstandverordening)"
    assert scenario_label("baseline", "nl", baseline="baseline").startswith("Niets doen")
    assert scenario_label("vacancy_ordinance_strict", "en") == "Vacancy ordinance (vacancy_ordinance_strict)"
    assert scenario_label("my_own_idea", "nl") == "my_own_idea"
    # several instruments chosen in `regie app` make the scenario "package"
    assert (scenario_label("package", "en"), scenario_label("package", "nl")) == ("Chosen package", "Gekozen pakket")


# --------------------------------------------------------------------------- the report


def test_report_is_one_self_contained_file(report):
    lang, out, text = report
    suffix = "" if lang == "en" else ".nl"
    pngs = sorted(p.name for p in (out / "plots").glob(f"*{suffix}.png") if lang != "en" or ".nl." not in p.name)
    expected = sorted([f"cost_effect{suffix}.png", f"map_city{suffix}.png",
                       *(f"maps_{s}{suffix}.png" for s in SCENARIOS),
                       *(f"trajectory_{m}{suffix}.png" for m in KEY_METRICS)])
    assert pngs == expected
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text and "<link" not in text and "@import" not in text
    sources = re.findall(r'src="([^"]*)"', text)
    assert len(sources) == len(pngs)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # atomic writes leave no temp files
    assert f'<html lang="{lang}">' in text


def test_report_lists_every_scenario_and_key_kpi(report):
    lang, _, text = report
    for scen in SCENARIOS:
        assert html.escape(scenario_label(scen, lang, baseline=BASELINE)) in text
    for metric in KEY_METRICS:
        assert f"<h3>{html.escape(label(metric, lang))}</h3>" in text, metric


def test_report_language(report):
    lang, _, text = report
    if lang == "nl":
        assert "leegstand" in text and "Leegstandverordening" in text and "Pakket eigenaren" in text
        assert "Vacancy" not in text and "Long-term" not in text and "How to read" not in text
        assert "procentpunt" in text
    else:
        assert "Vacancy ordinance" in text and "Long-term vacancy" in text and "How to read" in text
        assert "Leegstandverordening" not in text


def test_summary_sentence_and_decimal_comma(report):
    lang, _, text = report
    if lang == "nl":
        assert "−2,1 procentpunt (95%-interval −2,8 tot −1,4; beter)" in text
        assert "voor € 0,3 miljoen netto over 2 jaar" in text
        assert "−2.1" not in text
    else:
        assert "−2.1 points (95% interval −2.8 to −1.4; better)" in text
        assert "at EUR 0.3 million net over 2 years" in text


def test_non_distinguishable_effects_are_marked(report):
    lang, _, text = report
    summary = make_summary()
    n_unclear = int(((summary["scenario"] != BASELINE) & ~summary["distinguishable"]).sum())
    assert text.count('<tr class="nd">') == n_unclear
    assert text.count('<tr class="good">') == 2 and text.count('<tr class="bad">') == 1
    phrase = "niet te onderscheiden van niets doen" if lang == "nl" else "not distinguishable from doing nothing"
    assert phrase in text.lower()


def test_no_effect_per_euro_and_no_rank_for_what_is_not_distinguishable(report):
    lang, _, text = report
    cost_table = text.index(f"<h3>{html.escape(label('net_public_cost_eur', lang))}</h3>")
    tables = text[text.index("<h3>"):cost_table]               # every KPI's table but the cost's own
    nd_rows = re.findall(r'<tr class="nd">(.*?)</tr>', tables)
    assert len(nd_rows) > 20
    no_effect = "— (geen effect)" if lang == "nl" else "— (no effect)"
    for row in nd_rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells[3] == html.escape(no_effect), cells          # effect per EUR 1 million: none, and why
        assert cells[4] == "–", cells                               # rank: none
    # an effect of a scenario below the cost threshold gets no ratio either, and says why
    below = "kosten onder € 0,5 miljoen" if lang == "nl" else "cost below EUR 0.5 million"
    assert below in text


def test_placebo_probability_difference_map_is_blank():
    states = make_states()
    placebo = map_differences(states["package_owner_focused"], states[BASELINE])
    assert set(placebo) == {"vacant", "longterm_vacant", "front", "poor"}
    assert all(found.tested.all() and not found.shown.any() and not found.difference.any()
               for found in placebo.values())
    # the ordinance empties the units of rows and columns 1-4 in every replicate: all in the first district
    # (12 x 16 cells of the 24 x 24 grid: 2 x 2 districts, the right-hand ones cut short by the edge)
    ordinance = map_differences(states["vacancy_ordinance"], states[BASELINE])
    found = ordinance["vacant"]
    assert found.shown.tolist() == [True, False, False, False] and found.difference[0] > 0
    assert (found.labels[:12, :16] == 0).all()
    assert not ordinance["front"].shown.any()


def test_the_maps_note_says_what_a_district_is_and_how_it_is_tested(report):
    lang, _, text = report
    words = {"en": ["per district of 4 × 2 blocks (up to 8 × 14 parcels", "Wilcoxon signed-rank test"],
             "nl": ["per deelgebied van 4 × 2 bouwblokken (tot 8 × 14 percelen", "Wilcoxon-rangtekentoets"]}[lang]
    assert all(w in text for w in words), words


@pytest.mark.parametrize("lang, words", [("en", ["Mean at the horizon", "EUR 0.3 million", "≈0"]),
                                         ("nl", ["Gemiddelde aan het eind", "€ 0,3 miljoen", "Leegstandverordening"])])
def test_summary_markdown_follows_the_language(lang, words):
    text = summary_markdown(make_summary(), FAILURES, lang, baseline=BASELINE)
    for w in words:
        assert w in text
    assert ("Vacancy ordinance" in text) == (lang == "en")


def test_failures_section_names_scenario_and_replicate(report):
    lang, _, text = report
    assert 'id="failures"' in text
    section = text[text.index('id="failures"'):]
    assert "package_owner_focused" in section and "fund below zero" in section
    assert '<td class="num">2</td>' in section and "987654321" in section


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_no_failures_no_section(tmp_path, lang):
    text = write_report(tmp_path, make_summary(), make_metrics(), make_states(), BASELINE, lang=lang).read_text()
    assert 'id="failures"' not in text
    assert ("Ontbrekende runs" if lang == "nl" else "Missing runs") not in text


def test_report_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        write_report(tmp_path, make_summary(), make_metrics(), make_states(), BASELINE, lang="de")
    with pytest.raises(ValueError, match="per_meur"):
        write_report(tmp_path, make_summary().drop(columns="per_meur"), make_metrics(), make_states(), BASELINE)


def test_scenario_without_results_and_without_costly_scenarios(tmp_path):
    """Every run of one scenario failed, no scenario costs money, no metrics, no baseline map: still a report."""
    summary = make_summary()
    summary = summary[summary["scenario"] != "package_owner_focused"].assign(net_cost_eur=0.0, per_meur=np.nan)
    states = {"vacancy_ordinance": make_states()["vacancy_ordinance"]}
    failures = [{"scenario": "package_owner_focused", "replicate": r, "seed": r, "error": "boom"} for r in range(3)]
    text = write_report(tmp_path, summary, make_metrics().iloc[0:0], states, BASELINE, lang="nl",
                        failures=failures).read_text()
    assert "alle runs van dit scenario zijn mislukt" in text
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "cost_effect.nl.png", "map_city.nl.png", "maps_vacancy_ordinance.nl.png"]
    assert text.count("data:image/png;base64,") == 3


@pytest.mark.parametrize("lang, words", [
    ("en", ["reduced, not removed", "0.44 of the spread", "from 0.31 to 0.57", "can therefore still partly be luck",
            "Precision of the comparison", "Smallest detectable difference", "Replicates needed for it"]),
    ("nl", ["kleiner, maar verdwijnt niet", "0,44 keer de spreiding", "van 0,31 tot 0,57", "nog deels toeval",
            "Nauwkeurigheid van de vergelijking", "Kleinste aantoonbare verschil", "Replicaties daarvoor nodig"])])
def test_report_says_what_common_random_numbers_do_with_the_measured_figures(tmp_path, lang, words):
    page = write_report(tmp_path, make_summary(), make_metrics(), make_states(), BASELINE, lang=lang).read_text()
    for w in words:
        assert w in page, f"{lang}: {w!r} missing"
    for claim in ("not from luck", "niet door toeval"):   # the old promise that a difference cannot be luck
        assert claim not in page
