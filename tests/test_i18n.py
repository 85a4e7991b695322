"""Dutch and English throughout (issue 13): `regie run --lang nl` and `regie compare --lang nl` speak
Dutch on the console, Dutch run plots sit beside the English ones, every shipped scenario has a
Dutch description, and amounts of a billion euros or more read as billions."""

from __future__ import annotations

import contextlib
import io
import json
import string
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import CONSOLE_TEXT, main, summary_table
from sim.kpis import KEY_METRICS
from sim.numbers import format_number
from sim.plots import label
from sim.scenario import Scenario, ScenarioError, check_files

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHIPPED = sorted((ROOT / "scenarios").rglob("*.yaml"))
PLOTS_EN = ["kpis.png", "map_end.png", "map_start.png"]
PLOTS_NL = ["kpis.nl.png", "map_end.nl.png", "map_start.nl.png"]


def _run(out: Path, lang: str, *extra: str) -> None:
    assert main(["run", str(BASELINE), "--horizon-years", "1", "--out", str(out), "--quiet", "--lang", lang,
                 *extra]) == 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One results folder run in Dutch, then in English, then in Dutch again; the console of each
    (captured by hand: capsys cannot serve a module-scoped fixture)."""
    out = tmp_path_factory.mktemp("i18n") / "r"
    consoles, plots = [], []
    for lang in ("nl", "en", "nl"):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            _run(out, lang)
        consoles.append((stdout.getvalue(), stderr.getvalue()))
        plots.append(sorted(p.name for p in (out / "plots").iterdir()))
    return out, consoles, plots


def test_run_in_dutch_prints_a_dutch_table(runs):
    _, consoles, _ = runs
    stdout, stderr = consoles[0]
    header = stdout.splitlines()[0]
    assert header.split()[0] == "Indicator" and header.split()[-1] == "verschil"
    assert "KPI" not in stdout and "change" not in stdout and "points" not in stdout
    assert label("vacancy_units", "nl") in stdout and label("households", "nl") in stdout
    assert label("vacancy_units", "en") not in stdout
    vacancy = next(line for line in stdout.splitlines() if line.startswith(label("vacancy_units", "nl")))
    assert "," in vacancy and "." not in vacancy, f"no decimal comma: {vacancy!r}"   # "6,2%  4,7%  −1,5 ..."
    assert vacancy.rstrip().endswith("procentpunt")
    assert "miljard" in stdout or "miljoen" in stdout
    assert "Netto publieke kosten (cumulatief sinds de start)" in stdout
    assert "Resultaten:" in stdout and "Results:" not in stdout
    assert stderr.startswith("Simulatie van baseline: 1 jaar, 4 stappen, seed 20250101")


def test_run_in_english_stays_english(runs):
    _, consoles, _ = runs
    stdout, stderr = consoles[1]
    assert stdout.splitlines()[0].split()[0] == "KPI"
    assert "points" in stdout and "procentpunt" not in stdout and "Indicator" not in stdout
    assert "Net public cost (cumulative since the start)" in stdout and "Conversions (cumulative since the start)" in stdout
    assert "Results:" in stdout
    assert stderr.startswith("Running baseline: 1 year, 4 steps, seed 20250101")


def test_dutch_plots_do_not_overwrite_english_ones(runs):
    out, _, plots = runs
    assert plots[0] == PLOTS_NL                           # Dutch first: Dutch names only
    assert plots[1] == sorted(PLOTS_EN + PLOTS_NL)        # English rerun keeps the Dutch plots
    assert plots[2] == sorted(PLOTS_EN + PLOTS_NL)
    assert [p.name for p in out.parent.iterdir()] == ["r"], "leftover temporary folder"


def test_plots_of_other_code_are_not_kept(tmp_path):
    """An earlier result drawn by other code (another git commit) may show other data: its plots go."""
    out = tmp_path / "r"
    _run(out, "en")
    man = json.loads((out / "manifest.json").read_text())
    man["git_commit"] = "0" * 40
    (out / "manifest.json").write_text(json.dumps(man))
    _run(out, "nl")
    assert sorted(p.name for p in (out / "plots").iterdir()) == PLOTS_NL


def test_summary_table_formats_every_kind():
    rows = []
    values = {"vacancy_units": (0.062, 0.047), "households": (5726.0, 5777.0),
              "owner_value_eur": (2.41e9, 2.43e9), "net_public_cost_eur": (0.0, 3.2e6),
              "craft_culture_m2": (7446.0, 7906.0)}
    for step, year in ((0, 2025.0), (4, 2026.0)):
        for metric, v in values.items():
            rows.append({"step": step, "year": year, "metric": metric, "value": v[step > 0]})
    table = summary_table(pd.DataFrame(rows), lang="nl")
    lines = {line.split("  ")[0]: " ".join(line.split()) for line in table.splitlines()[2:]}   # one space apart
    assert lines["Leegstand (aandeel panden)"].split()[-4:] == ["6,2%", "4,7%", "−1,5", "procentpunt"]
    assert lines["Huishoudens"].split()[-3:] == ["5.726", "5.777", "+51"]
    assert lines["Vastgoedwaarde eigenaren"].endswith("€ 2,4 miljard € 2,4 miljard +€ 20,0 miljoen")
    assert lines["Netto publieke kosten (cumulatief sinds de start)"].endswith("€ 0,0 miljoen € 3,2 miljoen +€ 3,2 miljoen")
    assert lines["Vloeroppervlak ambacht en cultuur"].split()[-6:] == ["7.446", "m²", "7.906", "m²", "+460", "m²"]
    english = summary_table(pd.DataFrame(rows), lang="en")
    assert "EUR 2.4 billion" in english and "+EUR 20.0 million" in english and "−1.5 points" in english


def test_every_key_metric_has_a_dutch_label():
    missing = [m for m in KEY_METRICS if label(m, "nl") in (m, label(m, "en"))]
    assert not missing


def test_console_texts_exist_in_both_languages_with_the_same_fields():
    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}
    for key, (en, nl) in CONSOLE_TEXT.items():
        assert fields(en) == fields(nl), key
        assert en != nl, key


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("value, en, nl", [
    (2.3e9, "EUR 2.3 billion", "€ 2,3 miljard"),
    (-2.345e9, "−EUR 2.3 billion", "−€ 2,3 miljard"),
    (145e9, "EUR 145 billion", "€ 145 miljard"),
    (999.6e6, "EUR 1.0 billion", "€ 1,0 miljard"),       # not "1,000 million"
    (999.4e6, "EUR 999 million", "€ 999 miljoen"),
    (312_000, "EUR 0.3 million", "€ 0,3 miljoen"),
])
def test_format_number_euros_in_millions_and_billions(value, en, nl):
    assert format_number(value, "en", "eur") == en
    assert format_number(value, "nl", "eur") == nl


def test_a_group_with_shared_decimals_stays_in_millions():
    """A mean and its interval bounds (printed without unit) must share one unit."""
    assert format_number(1.2e9, "en", "eur", decimals=0) == "EUR 1,200 million"
    assert format_number(0.9e9, "en", "eur", decimals=0, unit=False) == "900"


# ---------------------------------------------------------------- scenario descriptions
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT / "scenarios")))
def test_every_shipped_scenario_describes_itself_in_dutch(path):
    scenario = Scenario.from_yaml(path)
    assert scenario.description and scenario.description_nl
    assert scenario.description_nl != scenario.description
    own = path.read_text()
    assert "description_nl:" in own, "its own Dutch text, not one inherited from base:"


def test_dutch_description_is_not_inherited_by_a_file_with_its_own_description(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"base: {BASELINE}\nname: child\ndescription: Something else.\n")
    assert Scenario.from_yaml(child).description_nl == ""
    same = tmp_path / "same.yaml"
    same.write_text(f"base: {BASELINE}\nname: same\nseed: 3\n")
    assert Scenario.from_yaml(same).description_nl == Scenario.from_yaml(BASELINE).description_nl


@pytest.mark.parametrize("text, words", [("descripton_nl: Iets\n", ["descripton_nl", "unknown key"]),
                                         ("description_nl: 3\n", ["description_nl", "string"])])
def test_a_bad_description_key_fails_clearly(tmp_path, text, words):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\n" + text)
    problems, _ = check_files([str(bad)])
    assert len(problems) == 1 and all(w in problems[0] for w in words), problems
    with pytest.raises(ScenarioError):
        Scenario.from_yaml(bad)


# ---------------------------------------------------------------- compare: console lines
def test_compare_console_in_dutch(tmp_path, capsys, monkeypatch):
    from types import SimpleNamespace

    import sim.workshop.compare as compare_module
    metrics = pd.DataFrame({"scenario": ["a", "a", "b"], "replicate": [0, 1, 0]})
    fake = SimpleNamespace(metrics=metrics, new_runs=2, wall_seconds=1234.4, out_dir=tmp_path,
                           failures=["b/1"], report=tmp_path / "report.html")
    monkeypatch.setattr(compare_module, "compare", lambda *a, **k: fake)
    assert main(["compare", str(BASELINE), str(BASELINE), "--lang", "nl", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"3 simulaties (2 nu uitgevoerd) in 1.234 s; rapport: {tmp_path / 'report.html'}"
    assert err.strip() == "1 simulatie(s) mislukt; zie summary.md en runs/*/*.error.txt"

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(compare_module, "compare", interrupted)
    assert main(["compare", str(BASELINE), "--lang", "nl", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err.startswith("onderbroken: afgeronde simulaties blijven bewaard")
    assert main(["compare", str(BASELINE), "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err.startswith("interrupted: finished runs are kept")
