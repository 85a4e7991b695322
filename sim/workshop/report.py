"""Workshop report of a scenario comparison: one self-contained HTML file and its charts.

``write_report`` turns the comparison summary (key KPIs at the horizon, with
differences against the baseline over paired replicates) into a report for a
policy workshop of aldermen, owners and retailers: plain-language summaries,
tables, charts and maps, in English or Dutch. The HTML embeds every chart as a
base64 PNG and uses inline CSS only, so it opens offline from a USB stick or
an e-mail attachment. Every file is written atomically (temporary file in the
target directory, then ``os.replace``).
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

import sim
from sim import plots
from sim.kpis import KEY_METRICS
from sim.numbers import decimals_for, format_number
from sim.plots import label, metric_kind

LANGS = plots.LANGS

# Instrument kinds (and the scenarios named after them) -> (English, Dutch).
INSTRUMENT_LABELS: dict[str, tuple[str, str]] = {
    "preemption": ("Pre-emption right", "Voorkeursrecht"),
    "acquisition_fund": ("Acquisition fund", "Verwervingsfonds"),
    "zoning": ("Smaller shopping area (zoning: transformation zones)",
               "Kleiner kernwinkelgebied (omgevingsplan: transformatiezones)"),
    "transformation_subsidy": ("Transformation subsidy (shops into homes)",
                               "Transformatiesubsidie (winkels naar woningen)"),
    "rent_subsidy": ("Rent subsidy for makers and culture", "Huursubsidie voor makers en cultuur"),
    "facade_subsidy": ("Facade subsidy", "Gevelsubsidie"),
    "vacancy_ordinance": ("Vacancy ordinance", "Leegstandverordening"),
    "bibob": ("Integrity screening (Bibob)", "Bibob-toets"),
    "biz": ("Business improvement district (BIZ)", "Bedrijveninvesteringszone (BIZ)"),
    "branchering": ("Use-mix rules (branchering)", "Branchering"),
}

# Packages -> (English, Dutch, instrument kinds), as in scenarios/packages/*.yaml.
PACKAGE_LABELS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "package_owner_focused": ("Owner-focused package", "Pakket eigenaren",
                              ("preemption", "acquisition_fund", "vacancy_ordinance")),
    "package_transformation": ("Transformation package", "Pakket transformatie",
                               ("zoning", "transformation_subsidy")),
    "package_anti_undermining": ("Anti-undermining package", "Pakket tegen ondermijning",
                                 ("bibob", "branchering", "acquisition_fund")),
}
BASELINE_LABEL = ("Doing nothing (baseline)", "Niets doen (basisscenario)")

# Levels of the baseline named in its summary sentence (the tables show all key KPIs).
BASELINE_HEADLINES = ("vacancy_units", "longterm_vacancy_1y", "footfall_index", "fronts_active", "households")

# Report text -> (English, Dutch).
TEXT: dict[str, tuple[str, str]] = {
    "title": ("Policy instruments for the city centre compared", "Beleidsinstrumenten voor de binnenstad vergeleken"),
    "subtitle": ("Workshop report of the Regie simulation: {n} scenarios, {reps} replicates each{horizon}.",
                 "Werksessierapport van de Regie-simulatie: {n} scenario's, elk {reps} replicaties{horizon}."),
    "horizon": (", results in {year} after {years} years", ", resultaten in {year} na {years} jaar"),
    "how_to_read": ("How to read this", "Zo leest u dit rapport"),
    "how_to_read_text": (
        "The model simulated every scenario {reps} times (replicates), each time with other chance events: which "
        "owners sell, which businesses open or close, who moves in. Replicate i of every scenario uses the same "
        "random number for the same decision about the same building, business or household at the same moment "
        "(common random numbers). As long as a policy leaves such a decision alone, every scenario takes it the "
        "same way. Once a policy changes what happens (a shop opens that would otherwise have stayed empty), what "
        "follows around it can differ, so chance is reduced, not removed: {pairing} A difference can therefore "
        "still partly be luck. The numbers are averages over the replicates{at_year}. The 95% interval shows how "
        "sure the model is: the narrower, the surer. We only call a difference an effect when the 95% interval of "
        "the difference with doing nothing (paired replicate by replicate) does not include zero. Otherwise the "
        "report says <em>not distinguishable from doing nothing</em>: the policy may still have an effect smaller "
        "than the <em>smallest detectable difference</em> in the precision table below, which the model cannot "
        "tell apart from chance with {reps} replicates. Shares are in percent, changes of shares in percentage "
        "points (from 10% to 8% is −2 points). Amounts are in millions of euros; the net public cost is what the "
        "municipality spends minus what it receives over the whole period, plus the interest the money tied up "
        "would have cost, minus what the property it still owns at the end would sell for.",
        "Het model heeft elk scenario {reps} keer doorgerekend (replicaties), steeds met andere toevallige "
        "gebeurtenissen: welke eigenaren verkopen, welke ondernemers beginnen of stoppen, wie er komt wonen. "
        "Replicatie i van elk scenario gebruikt hetzelfde toevalsgetal voor dezelfde beslissing over hetzelfde "
        "pand, bedrijf of huishouden op hetzelfde moment (gemeenschappelijke toevalsgetallen, common random "
        "numbers). Zolang beleid zo'n beslissing niet raakt, valt die in elk scenario hetzelfde uit. Verandert "
        "beleid wat er gebeurt (er opent een winkel die anders leeg was gebleven), dan kan wat daarna in de buurt "
        "gebeurt verschillen; toeval wordt dus kleiner, niet weggenomen: {pairing} Een verschil kan daarom nog "
        "deels toeval zijn. De getallen zijn gemiddelden over de replicaties{at_year}. Het 95%-interval laat zien "
        "hoe zeker het model is: hoe smaller, hoe zekerder. We noemen een verschil pas een effect als het "
        "95%-interval van het verschil met niets doen (per replicatie gepaard) de nul niet bevat. Anders staat er "
        "<em>niet te onderscheiden van niets doen</em>: het beleid kan dan nog een effect hebben dat kleiner is "
        "dan het <em>kleinste aantoonbare verschil</em> in de tabel over de nauwkeurigheid hieronder, dat het "
        "model met {reps} replicaties niet van toeval kan onderscheiden. Aandelen staan in procenten, "
        "veranderingen van aandelen in procentpunten (van 10% naar 8% is −2 procentpunt). Bedragen staan in "
        "miljoenen euro's; de netto publieke kosten zijn de uitgaven min de inkomsten van de gemeente over de "
        "hele periode, plus de rente die het vastgelegde geld had gekost, min wat het vastgoed dat de gemeente aan "
        "het eind nog bezit bij verkoop zou opbrengen."),
    "pairing": ("in this comparison the spread of the paired differences was {median} of the spread of one "
                "scenario on its own (median over scenarios and key measures; from {low} to {high}; 1.41 would "
                "mean no common random numbers at all, 0 that chance cancels completely).",
                "in deze vergelijking was de spreiding van de gepaarde verschillen {median} van de spreiding van "
                "één scenario alleen (mediaan over scenario's en kernindicatoren; van {low} tot {high}; 1,41 zou "
                "betekenen: helemaal geen gemeenschappelijke toevalsgetallen, 0: toeval valt helemaal weg)."),
    "pairing_unknown": ("with one replicate the pairing cannot be measured.",
                        "met één replicatie is de paring niet te meten."),
    "precision": ("Precision of the comparison", "Nauwkeurigheid van de vergelijking"),
    "precision_note": (
        "Per key measure: how much of the chance variation the pairing removes (spread of the paired differences "
        "divided by the spread of one scenario; 1.41 = no common random numbers, lower is better), and the "
        "smallest detectable difference: a true effect of this size or more would be found with 95% confidence "
        "and 80% probability with the {reps} replicates used (medians over the scenarios). Four times the "
        "replicates halve it.",
        "Per kernindicator: hoeveel van de toevallige variatie de paring wegneemt (spreiding van de gepaarde "
        "verschillen gedeeld door de spreiding van één scenario; 1,41 = geen gemeenschappelijke toevalsgetallen, "
        "lager is beter), en het kleinste aantoonbare verschil: een werkelijk effect van deze omvang of groter "
        "wordt met 95% zekerheid en 80% kans gevonden met de gebruikte {reps} replicaties (medianen over de "
        "scenario's). Vier keer zoveel replicaties halveert het."),
    "col_measure": ("Measure", "Indicator"),
    "col_sd_ratio": ("Spread of paired differences / spread of one scenario",
                     "Spreiding gepaarde verschillen / spreiding één scenario"),
    "col_mdd": ("Smallest detectable difference", "Kleinste aantoonbare verschil"),
    "at_year": (" in {year}", " in {year}"),
    "failures_warning": ("Some runs failed; see “Missing runs” at the end.",
                         "Sommige runs zijn mislukt; zie ‘Ontbrekende runs’ aan het eind."),
    "summary": ("Summary per scenario", "Samenvatting per scenario"),
    "baseline_in": ("in {year}", "in {year}"),
    "baseline_at_horizon": ("at the horizon", "aan het eind van de periode"),
    "interval": ("95% interval {lo} to {hi}", "95%-interval {lo} tot {hi}"),
    "range": ("{lo} to {hi}", "{lo} tot {hi}"),
    "better": ("better", "beter"),
    "worse": ("worse", "slechter"),
    "cost_pos": ("at {eur} net", "voor {eur} netto"),
    "cost_zero": ("at no net public cost", "zonder netto publieke kosten"),
    "cost_neg": ("with a net public income of {eur}", "met netto publieke inkomsten van {eur}"),
    "over_years": (" over {years} years", " over {years} jaar"),
    "no_effect_any": ("no effect distinguishable from doing nothing on any key measure",
                      "geen effect te onderscheiden van niets doen op een van de kernindicatoren"),
    "no_effect_on": ("No effect distinguishable from doing nothing on: {names}.",
                     "Geen effect te onderscheiden van niets doen op: {names}."),
    "no_results": ("no results: every run of this scenario failed.",
                   "geen resultaten: alle runs van dit scenario zijn mislukt."),
    "and": ("and", "en"),
    "tables": ("Results per key indicator", "Resultaten per kernindicator"),
    "tables_note": ("Differences marked <span class=\"tag nd\">not distinguishable</span> are greyed out: "
                    "the model cannot tell them apart from doing nothing. Rank 1 is the best scenario for "
                    "that indicator.",
                    "Verschillen gemarkeerd met <span class=\"tag nd\">niet te onderscheiden</span> zijn grijs: "
                    "het model kan ze niet van niets doen onderscheiden. Rang 1 is het beste scenario voor "
                    "die indicator."),
    "higher_better": ("Higher is better.", "Hoger is beter."),
    "lower_better": ("Lower is better.", "Lager is beter."),
    "col_scenario": ("Scenario", "Scenario"),
    "col_level": ("Value{at_year} (95% interval)", "Waarde{at_year} (95%-interval)"),
    "col_diff": ("Difference with doing nothing (95% interval)", "Verschil met niets doen (95%-interval)"),
    "col_cost": ("Net public cost", "Netto publieke kosten"),
    "col_per_meur": ("Effect per EUR 1 million net cost", "Effect per 1 miljoen euro netto kosten"),
    "col_rank": ("Rank (1 = best)", "Rang (1 = beste)"),
    "reference": ("reference", "referentie"),
    "nd": ("not distinguishable", "niet te onderscheiden"),
    "charts": ("Charts", "Grafieken"),
    "fig_trajectories": (
        "Key indicators over time. Lines: average over the replicates; bands: 5–95% of the replicates. "
        "Black: doing nothing.",
        "Kernindicatoren door de tijd. Lijnen: gemiddelde over de replicaties; banden: 5–95% van de replicaties. "
        "Zwart: niets doen."),
    "fig_effect": (
        "Effect per EUR 1 million of net public cost, per key indicator, with each scenario's net cost in "
        "brackets. Blue: improvement, orange: worse, grey: not distinguishable from doing nothing. A scenario "
        "that costs very little gets a very large effect per euro: read it together with its cost.",
        "Effect per 1 miljoen euro netto publieke kosten, per kernindicator, met de netto kosten van elk scenario "
        "tussen haakjes. Blauw: verbetering, oranje: verslechtering, grijs: niet te onderscheiden van niets doen. "
        "Een scenario dat heel weinig kost, krijgt een heel groot effect per euro: lees het samen met de kosten."),
    "skipped_no_cost": ("Not in this chart because they have no positive net public cost: {names}.",
                        "Niet in deze grafiek omdat ze geen positieve netto publieke kosten hebben: {names}."),
    "maps": ("Maps", "Kaarten"),
    "maps_note": ("Land use at the end of the period in a typical replicate (the median one). The difference map "
                  "shows the parcels whose use differs from doing nothing, in the colour of their new use. A "
                  "policy sets off a chain of moves in the market, so not every changed parcel is a direct "
                  "effect of the policy: look at where changes cluster.",
                  "Grondgebruik aan het eind van de periode in een typische replicatie (de mediane). De "
                  "verschilkaart toont de percelen met een andere functie dan bij niets doen, in de kleur van "
                  "hun nieuwe functie. Beleid zet een reeks verhuizingen in de markt in gang, dus niet elk "
                  "gewijzigd perceel is een direct gevolg van het beleid: let op waar veranderingen samenklonteren."),
    "map_title": ("{name}: land use", "{name}: grondgebruik"),
    "diff_title": ("{name}: difference with doing nothing", "{name}: verschil met niets doen"),
    "chart_title_trajectories": ("Key indicators", "Kernindicatoren"),
    "chart_title_effect": ("Effect per EUR 1 million net public cost",
                           "Effect per 1 miljoen euro netto publieke kosten"),
    "failures": ("Missing runs", "Ontbrekende runs"),
    "failures_text": ("{k} of {total} runs failed and are left out; the results of these scenarios rest on fewer "
                      "replicates.",
                      "{k} van de {total} runs zijn mislukt en tellen niet mee; de resultaten van deze scenario's "
                      "berusten op minder replicaties."),
    "col_replicate": ("Replicate", "Replicatie"),
    "col_seed": ("Seed", "Seed"),
    "col_error": ("Error", "Foutmelding"),
    "footer": ("Made with Regie {version}, an agent-based model of Dutch city centres. A model shows "
               "consequences of assumptions, not forecasts.",
               "Gemaakt met Regie {version}, een agent-gebaseerd model van Nederlandse binnensteden. Een model "
               "laat gevolgen van aannames zien, geen voorspellingen."),
}

SUMMARY_COLUMNS = ("scenario", "metric", "n", "mean", "lo", "hi", "diff", "diff_lo", "diff_hi",
                   "distinguishable", "net_cost_eur", "per_meur", "rank", "better", "sd_ratio", "mdd")



# --------------------------------------------------------------------------- words and numbers


def _i(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return LANGS.index(lang)


def _t(key: str, lang: str, **fmt) -> str:
    text = TEXT[key][_i(lang)]
    return text.format(**fmt) if fmt else text


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the word is an acronym ("A1", "BIZ")."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _join(items: Sequence[str], lang: str) -> str:
    """'a, b and c' / 'a, b en c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_t('and', lang)} {items[-1]}"


def scenario_label(name: str, lang: str = "en", *, baseline: str | None = None, long: bool = False) -> str:
    """Plain-language name of a scenario, from its instrument kind or package.

    Args:
        name: The scenario name (``name:`` in its YAML).
        lang: "en" or "nl".
        baseline: The baseline scenario's name; it is called "Doing nothing".
        long: For a package, also list its instruments (for running text;
            charts use the short form).

    Returns:
        The label; a name that starts with a known kind ("vacancy_ordinance_strict")
        gets the kind's label and the name in brackets; other names are returned as is.
    """
    i = _i(lang)
    if name == baseline:
        return BASELINE_LABEL[i] if name == "baseline" else f"{name} ({BASELINE_LABEL[i]})"
    if name in PACKAGE_LABELS:
        short = PACKAGE_LABELS[name][i]
        if not long:
            return short
        kinds = [_lower_first(INSTRUMENT_LABELS[k][i]) for k in PACKAGE_LABELS[name][2]]
        return f"{short} ({_join(kinds, lang)})"
    if name in INSTRUMENT_LABELS:
        return INSTRUMENT_LABELS[name][i]
    for kind in sorted(INSTRUMENT_LABELS, key=len, reverse=True):
        if name.startswith(kind):
            return f"{INSTRUMENT_LABELS[kind][i]} ({name})"
    return name


def _diff_kind(metric: str) -> str:
    kind = metric_kind(metric)
    return "points" if kind == "share" else kind


def _value_with_interval(value, lo, hi, lang: str, kind: str, *, signed: bool, decimals: int | None = None,
                         words: bool = True, verdict: str = "") -> str:
    """"−2.1 points (95% interval −2.8 to −1.4; better)"; the bounds share the value's decimals."""
    d = decimals_for([value, lo, hi], kind) if decimals is None else decimals
    lo_text = format_number(lo, lang, kind, decimals=d, unit=False)
    hi_text = format_number(hi, lang, kind, decimals=d, unit=False)
    bounds = _t("interval" if words else "range", lang, lo=lo_text, hi=hi_text)
    tail = f"; {verdict}" if verdict else ""
    return f"{format_number(value, lang, kind, decimals=d, signed=signed)} ({bounds}{tail})"


# --------------------------------------------------------------------------- the summary table


def _flag(value) -> bool:
    return bool(value) if pd.notna(value) else False


def _improves(row) -> bool:
    return (float(row["diff"]) > 0) == (str(row["better"]) == "up")


def _metric_order(summary: pd.DataFrame) -> list[str]:
    present = [str(m) for m in pd.unique(summary["metric"])]
    return [m for m in KEY_METRICS if m in present] + [m for m in present if m not in KEY_METRICS]


def _scenario_order(summary: pd.DataFrame, maps: Mapping, failures: Sequence[Mapping], baseline: str) -> list[str]:
    names = [baseline, *map(str, pd.unique(summary["scenario"])), *map(str, maps),
             *(str(f["scenario"]) for f in failures)]
    return list(dict.fromkeys(names))


def _horizon(metrics: pd.DataFrame) -> tuple[int | None, int | None]:
    """(end year, number of years) of the runs, or (None, None) without metrics."""
    if metrics is None or metrics.empty or "year" not in metrics.columns:
        return None, None
    first, last = float(metrics["year"].min()), float(metrics["year"].max())
    return int(round(last)), int(round(last - first))


# --------------------------------------------------------------------------- plain-language summaries


def _effect_phrase(row, lang: str) -> str:
    metric = str(row["metric"])
    good = _improves(row)
    text = _value_with_interval(row["diff"], row["diff_lo"], row["diff_hi"], lang, _diff_kind(metric), signed=True,
                                verdict=_t("better" if good else "worse", lang))
    name = html.escape(_lower_first(label(metric, lang)))
    return f'<span class="{"good" if good else "bad"}">{name} {html.escape(text)}</span>'


def _cost_phrase(cost_eur, lang: str, years: int | None) -> str:
    if cost_eur is None or not math.isfinite(float(cost_eur)):
        return ""
    eur = format_number(abs(cost_eur), lang, "eur")
    key = "cost_zero" if abs(cost_eur) < 0.5 else "cost_pos" if cost_eur > 0 else "cost_neg"
    over = _t("over_years", lang, years=years) if years else ""
    return _t(key, lang, eur=eur) + over


def _scenario_summary(rows: pd.DataFrame, lang: str, years: int | None) -> str:
    """The HTML sentences on one (non-baseline) scenario's effects and cost."""
    if rows.empty:
        return html.escape(_t("no_results", lang))
    effects = rows[rows["metric"] != "net_public_cost_eur"]
    clear = effects[effects["distinguishable"].map(_flag)]
    ordered = sorted(clear.itertuples(index=False), key=lambda r: not _improves(r._asdict()))
    phrases = [_effect_phrase(r._asdict(), lang) for r in ordered]
    cost = _cost_phrase(rows["net_cost_eur"].iloc[0], lang, years)
    lead = "; ".join(phrases) if phrases else html.escape(_t("no_effect_any", lang) + (", " if cost else ""))
    text = f"{lead} {html.escape(cost)}".rstrip() + "."
    unclear = effects[~effects["distinguishable"].map(_flag)]
    if phrases and not unclear.empty:
        names = "; ".join(_lower_first(label(str(m), lang)) for m in unclear["metric"])  # labels hold commas
        text += f' <span class="nd">{html.escape(_t("no_effect_on", lang, names=names))}</span>'
    return text


def _baseline_summary(rows: pd.DataFrame, lang: str, year: int | None) -> str:
    if rows.empty:
        return html.escape(_t("no_results", lang))
    by_metric = rows.set_index("metric")
    parts = []
    for metric in BASELINE_HEADLINES:
        if metric in by_metric.index:
            r = by_metric.loc[metric]
            value = _value_with_interval(r["mean"], r["lo"], r["hi"], lang, metric_kind(metric), signed=False)
            parts.append(f"{_lower_first(label(metric, lang))} {value}")
    when = _t("baseline_in", lang, year=year) if year else _t("baseline_at_horizon", lang)
    return html.escape(f"{when} {'; '.join(parts)}.")


def _summary_section(summary: pd.DataFrame, scenarios: list[str], names: dict[str, str], baseline: str,
                     descriptions: Mapping[str, str], lang: str, year: int | None, years: int | None) -> str:
    items = []
    for scen in scenarios:
        rows = summary[summary["scenario"] == scen]
        body = (_baseline_summary(rows, lang, year) if scen == baseline else _scenario_summary(rows, lang, years))
        desc = descriptions.get(scen)
        extra = f'<div class="desc">{html.escape(str(desc))}</div>' if desc else ""
        items.append(f'<li><strong>{html.escape(names[scen])}</strong> <code>{html.escape(scen)}</code>: '
                     f"{body}{extra}</li>")
    return f'<h2>{_t("summary", lang)}</h2>\n<ul class="summary">\n' + "\n".join(items) + "\n</ul>"


# --------------------------------------------------------------------------- tables


def _diff_cell(row, lang: str, decimals: int) -> tuple[str, str]:
    """(css class, HTML) of the difference cell."""
    metric = str(row["metric"])
    text = html.escape(_value_with_interval(row["diff"], row["diff_lo"], row["diff_hi"], lang, _diff_kind(metric),
                                            signed=True, decimals=decimals, words=False))
    if not _flag(row["distinguishable"]):
        return "nd", f'{text} <span class="tag nd">{_t("nd", lang)}</span>'
    good = _improves(row)
    css = "good" if good else "bad"
    return css, f'{text} <span class="tag {css}">{_t("better" if good else "worse", lang)}</span>'


def _table(metric: str, rows: pd.DataFrame, scenarios: list[str], names: dict[str, str], baseline: str,
           lang: str, year: int | None) -> str:
    """One KPI's table: a row per scenario."""
    level_kind, diff_kind = metric_kind(metric), _diff_kind(metric)
    level_d = decimals_for(pd.concat([rows["mean"], rows["lo"], rows["hi"]]), level_kind)
    diff_d = decimals_for(pd.concat([rows["diff"], rows["diff_lo"], rows["diff_hi"]]), diff_kind)
    per_d = decimals_for(rows["per_meur"], diff_kind)
    at_year = _t("at_year", lang, year=year) if year else ""
    heads = [_t("col_scenario", lang), _t("col_level", lang, at_year=at_year), _t("col_diff", lang),
             _t("col_cost", lang), _t("col_per_meur", lang), _t("col_rank", lang)]
    body = []
    by_scen = rows.set_index("scenario")
    for scen in scenarios:
        if scen not in by_scen.index:
            continue
        r = by_scen.loc[scen].copy()
        r["metric"] = metric
        level = html.escape(_value_with_interval(r["mean"], r["lo"], r["hi"], lang, level_kind, signed=False,
                                                 decimals=level_d, words=False))
        if scen == baseline:
            css, diff, per, rank = "ref", f'<span class="tag ref">{_t("reference", lang)}</span>', "–", "–"
        else:
            css, diff = _diff_cell(r, lang, diff_d)
            per = "–" if metric == "net_public_cost_eur" else format_number(r["per_meur"], lang, diff_kind,
                                                                              decimals=per_d, signed=True)
            rank = str(int(r["rank"])) if pd.notna(r["rank"]) else "–"
        cost = format_number(r["net_cost_eur"], lang, "eur")
        body.append(f'<tr class="{css}"><th scope="row">{html.escape(names[scen])}</th><td>{level}</td>'
                    f'<td class="diff">{diff}</td><td>{html.escape(cost)}</td><td>{html.escape(per)}</td>'
                    f'<td class="num">{rank}</td></tr>')
    direction = ""
    if not rows.empty:
        direction = _t("higher_better" if str(rows["better"].iloc[0]) == "up" else "lower_better", lang)
    head = "".join(f'<th scope="col">{h}</th>' for h in heads)
    return (f'<h3>{html.escape(label(metric, lang))}</h3>\n<p class="dir">{direction}</p>\n'
            f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>")


def _tables_section(summary: pd.DataFrame, scenarios: list[str], names: dict[str, str], baseline: str,
                    lang: str, year: int | None) -> str:
    tables = [_table(m, summary[summary["metric"] == m], scenarios, names, baseline, lang, year)
              for m in _metric_order(summary)]
    return (f'<h2>{_t("tables", lang)}</h2>\n<p class="note">{_t("tables_note", lang)}</p>\n'
            + "\n".join(tables))


# --------------------------------------------------------------------------- charts and maps


def _safe_name(name: str) -> str:
    """A scenario name fit for a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "scenario"


def _write_charts(plots_dir: Path, summary: pd.DataFrame, metrics: pd.DataFrame, baseline: str,
                  short: dict[str, str], lang: str) -> list[tuple[str, Path, str]]:
    """Trajectories and effect per EUR million: (caption, path, note) each."""
    trajectories = plots.plot_key_trajectories(
        metrics, plots_dir / "trajectories.png", lang, baseline=baseline, scenario_labels=short,
        title=_t("chart_title_trajectories", lang))
    costly, free = plots.split_by_cost(summary)
    cost = summary.groupby("scenario", sort=False)["net_cost_eur"].first()
    # the cost next to each bar's name: a tiny cost explains a huge effect per euro
    with_cost = {**short, **{s: f"{short[s]}\n({format_number(cost[s], lang, 'eur')})" for s in costly}}
    effect = plots.plot_effect_per_euro(
        summary, plots_dir / "effect_per_euro.png", lang, baseline=baseline, scenario_labels=with_cost,
        title=_t("chart_title_effect", lang))
    free = [short[s] for s in free if s != baseline]
    note = _t("skipped_no_cost", lang, names=", ".join(free)) if free else ""
    return [(_t("fig_trajectories", lang), trajectories, ""), (_t("fig_effect", lang), effect, note)]


def _write_maps(plots_dir: Path, maps: Mapping[str, dict], scenarios: list[str], baseline: str,
                short: dict[str, str], lang: str, year: int | None) -> list[tuple[str, Path, str]]:
    """The end-state map of each scenario and, for the others, its difference map against the baseline."""
    figures = []
    suffix = f" — {year}" if year else ""
    for scen in scenarios:
        if scen not in maps:
            continue
        title = _t("map_title", lang, name=short[scen]) + suffix
        figures.append((title, plots.plot_map(maps[scen], plots_dir / f"map_{_safe_name(scen)}.png",
                                              title=title, lang=lang), ""))
        if scen != baseline and baseline in maps:
            title = _t("diff_title", lang, name=short[scen]) + suffix
            figures.append((title, plots.plot_diffmap(maps[scen], maps[baseline],
                                                      plots_dir / f"diffmap_{_safe_name(scen)}.png",
                                                      title=title, lang=lang), ""))
    return figures


def _figure_html(caption: str, path: Path, note: str, lang: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption>{note_html}</figure>")


# --------------------------------------------------------------------------- failures


def _failures_section(failures: Sequence[Mapping], summary: pd.DataFrame, names: dict[str, str], lang: str) -> str:
    ok_runs = int(summary.groupby("scenario")["n"].max().sum()) if not summary.empty else 0
    rows = []
    for f in failures:
        scen = str(f.get("scenario", ""))
        error = str(f.get("error", ""))
        error = error if len(error) <= 2000 else error[:2000] + " …"
        rows.append(f'<tr><th scope="row">{html.escape(names.get(scen, scen))} <code>{html.escape(scen)}</code></th>'
                    f'<td class="num">{html.escape(str(f.get("replicate", "")))}</td>'
                    f'<td class="num">{html.escape(str(f.get("seed", "")))}</td>'
                    f'<td><pre>{html.escape(error)}</pre></td></tr>')
    head = "".join(f'<th scope="col">{_t(k, lang)}</th>' for k in ("col_scenario", "col_replicate", "col_seed",
                                                                   "col_error"))
    text = _t("failures_text", lang, k=len(failures), total=ok_runs + len(failures))
    return (f'<h2 id="failures">{_t("failures", lang)}</h2>\n<p>{html.escape(text)}</p>\n'
            f'<table class="failures"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(rows)
            + "\n</tbody></table>")


# --------------------------------------------------------------------------- the page


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;
 max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{margin-top:2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h3{margin:1.6em 0 .2em} .sub,.note,.dir,.desc,figcaption{color:#555} .dir{margin:0 0 .4em}
.desc{font-size:.9em;margin-top:.2em} code{font-size:.8em;color:#777}
.howto{background:#f5f7fa;border-left:4px solid #1f78b4;padding:.6em 1em}
.warn{background:#fff4e5;border-left:4px solid #e6550d;padding:.4em 1em}
ul.summary li{margin-bottom:.9em} .good{color:#08519c} .bad{color:#a63603} .nd{color:#777}
table{border-collapse:collapse;width:100%;font-size:.9em;margin-bottom:.5em}
th,td{border-bottom:1px solid #e3e3e3;padding:.3em .5em;text-align:left;vertical-align:top}
thead th{background:#f0f0f0} td.num{text-align:right}
tr.nd td,tr.nd th{color:#888} tr.ref td,tr.ref th{background:#fafafa}
.tag{display:inline-block;font-size:.75em;padding:0 .4em;border-radius:3px;margin-left:.3em;white-space:nowrap}
.tag.nd{background:#eee;color:#555;border:1px dashed #999} .tag.good{background:#deebf7;color:#08519c}
.tag.bad{background:#fee6ce;color:#a63603} .tag.ref{background:#eee;color:#333}
figure{margin:1.5em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
pre{white-space:pre-wrap;margin:0;font-size:.85em} footer{margin-top:3em;color:#777;font-size:.85em}
@media print{body{max-width:none} figure,table,li{break-inside:avoid}}
"""


def _page(lang: str, head: str, sections: list[str]) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(_t('title', lang))}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{head}\n"
            + "\n".join(sections)
            + f"\n<footer>{html.escape(_t('footer', lang, version=sim.__version__))}</footer>\n</body>\n</html>\n")


def _pairing_sentence(summary: pd.DataFrame, lang: str) -> str:
    """The measured effect of common random numbers, in one sentence (median and range of the SD ratios)."""
    ratios = summary["sd_ratio"].dropna() if "sd_ratio" in summary else pd.Series(dtype=float)
    if ratios.empty:
        return _t("pairing_unknown", lang)
    fmt = lambda v: format_number(v, lang, "plain", decimals=2)  # noqa: E731
    return _t("pairing", lang, median=fmt(ratios.median()), low=fmt(ratios.min()), high=fmt(ratios.max()))


def _precision_section(summary: pd.DataFrame, reps: int, lang: str) -> str:
    """Per key measure: the median SD ratio and the median smallest detectable difference."""
    rows = []
    for metric in _metric_order(summary):
        d = summary[(summary["metric"] == metric)].dropna(subset=["sd_ratio", "mdd"])
        if d.empty:
            continue
        kind = _diff_kind(metric)
        mdd = format_number(float(d["mdd"].median()), lang, kind, decimals=decimals_for(d["mdd"], kind))
        ratio = format_number(float(d["sd_ratio"].median()), lang, "plain", decimals=2)
        rows.append(f'<tr><th scope="row">{html.escape(label(metric, lang))}</th><td class="num">{ratio}</td>'
                    f"<td>{html.escape(mdd)}</td></tr>")
    if not rows:
        return ""
    head = "".join(f'<th scope="col">{_t(k, lang)}</th>' for k in ("col_measure", "col_sd_ratio", "col_mdd"))
    return (f'<h2>{_t("precision", lang)}</h2>\n<p class="note">{_t("precision_note", lang, reps=reps)}</p>\n'
            f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def _header(n_scenarios: int, reps: int, year: int | None, years: int | None, failures: Sequence, lang: str,
            pairing: str = "") -> str:
    horizon = _t("horizon", lang, year=year, years=years) if year and years else ""
    at_year = _t("at_year", lang, year=year) if year else ""
    parts = [f"<h1>{html.escape(_t('title', lang))}</h1>",
             f'<p class="sub">{html.escape(_t("subtitle", lang, n=n_scenarios, reps=reps, horizon=horizon))}</p>',
             f'<h2>{_t("how_to_read", lang)}</h2>',
             f'<p class="howto">{_t("how_to_read_text", lang, reps=reps, at_year=at_year, pairing=pairing)}</p>']
    if failures:
        parts.append(f'<p class="warn"><a href="#failures">{html.escape(_t("failures_warning", lang))}</a></p>')
    return "\n".join(parts)


def _write_text_atomic(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_report(out_dir, summary: pd.DataFrame, metrics: pd.DataFrame, maps: Mapping[str, dict], baseline: str,
                 lang: str = "en", failures: Sequence[Mapping] = (),
                 scenario_labels: Mapping[str, str] | None = None) -> Path:
    """Write the workshop report of a scenario comparison into ``out_dir``.

    Writes ``plots/trajectories.png``, ``plots/effect_per_euro.png``,
    ``plots/map_<scenario>.png`` for every scenario in ``maps``,
    ``plots/diffmap_<scenario>.png`` for every other scenario (when the
    baseline has a map) and ``report.html``, which embeds all of them.

    Args:
        out_dir: Output folder (created when missing).
        summary: One row per (scenario, metric) at the horizon; columns
            ``SUMMARY_COLUMNS`` (see ``sim.workshop.compare``).
        metrics: Tidy metrics of all runs (``scenario, replicate, year, metric, value``, ...).
        maps: Scenario -> end-state snapshot (``use``, ``land``, ``street_class``) of
            its median replicate.
        baseline: The baseline scenario's name.
        lang: "en" or "nl": the language of the whole report.
        failures: Failed runs, dicts with ``scenario, replicate, seed, error``.
        scenario_labels: Scenario -> description, shown verbatim under its
            summary (the plain-language names come from ``scenario_label``).

    Returns:
        The path of ``report.html``.

    Raises:
        ValueError: for an unknown ``lang`` or missing summary columns.
    """
    _i(lang)
    missing = set(SUMMARY_COLUMNS) - set(summary.columns)
    if missing:
        raise ValueError(f"summary lacks columns {sorted(missing)}")
    out, failures = Path(out_dir), list(failures)
    plots_dir = out / "plots"
    scenarios = _scenario_order(summary, maps, failures, baseline)
    short = {s: scenario_label(s, lang, baseline=baseline) for s in scenarios}
    long = {s: scenario_label(s, lang, baseline=baseline, long=True) for s in scenarios}
    year, years = _horizon(metrics)
    reps = int(summary["n"].max()) if not summary.empty else 0
    figures = _write_charts(plots_dir, summary, metrics, baseline, short, lang)
    map_figures = _write_maps(plots_dir, maps, scenarios, baseline, short, lang, year)
    sections = [
        _summary_section(summary, scenarios, long, baseline, scenario_labels or {}, lang, year, years),
        _tables_section(summary, scenarios, short, baseline, lang, year),
        _precision_section(summary, reps, lang),
        f'<h2>{_t("charts", lang)}</h2>\n' + "\n".join(_figure_html(*f, lang) for f in figures),
        f'<h2>{_t("maps", lang)}</h2>\n<p class="note">{html.escape(_t("maps_note", lang))}</p>\n'
        + "\n".join(_figure_html(*f, lang) for f in map_figures),
    ]
    if failures:
        sections.append(_failures_section(failures, summary, short, lang))
    head = _header(len(scenarios), reps, year, years, failures, lang, pairing=_pairing_sentence(summary, lang))
    return _write_text_atomic(_page(lang, head, sections), out / "report.html")
