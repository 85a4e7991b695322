"""Workshop report of a scenario comparison: one self-contained HTML file and its charts.

``write_report`` turns the comparison summary (key KPIs at the horizon, with
differences against the baseline over paired replicates) into a report for a
policy workshop of aldermen, owners and retailers: plain-language summaries,
tables, charts and maps, in English or Dutch. The HTML embeds every chart as a
base64 PNG and uses inline CSS only, so it opens offline from a USB stick or
an e-mail attachment. Every file is written atomically (temporary file in the
target directory, then ``os.replace``: ``sim.outputs.atomic_write``).
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import i18n, plots
from sim.kpis import KEY_METRICS
from sim.numbers import decimals_for, format_number
from sim.outputs import atomic_write
from sim.plots import label, metric_kind
from sim.uses import LAND_PARCEL
from sim.workshop.statistics import (DISTRICT_BLOCKS, DISTRICT_PARCELS, MIN_COST_FOR_RATIO_EUR, RELEVANT_DIFFERENCE,
                                     DistrictDifference, diff_kind, district_difference, parcel_probabilities)

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
# The scenario `regie app` makes of several chosen instruments (sim.app.form.PACKAGE_NAME); its
# description lists them.
CHOSEN_PACKAGE = ("package", ("Chosen package", "Gekozen pakket"))

# Levels of the baseline named in its summary sentence (the tables show all key KPIs).
BASELINE_HEADLINES = ("vacancy_units", "longterm_vacancy_1y", "footfall_index", "fronts_active", "households")

# Report text -> (English, Dutch).
TEXT: dict[str, tuple[str, str]] = {
    "title": ("Policy instruments for the city centre compared", "Beleidsinstrumenten voor de binnenstad vergeleken"),
    "subtitle": ("Workshop report of the Regie simulation: {n} scenarios, {reps} replicates each{horizon}.",
                 "Rapport voor de werksessie, gemaakt met de Regie-simulatie: {n} scenario's, elk {reps} keer "
                 "doorgerekend{horizon}."),
    "horizon": (", results in {year} after {years} years", ", resultaten in {year}, na {years} jaar"),
    "how_to_read": ("How to read this", "Zo leest u dit rapport"),
    "how_to_read_text": (
        "The model simulated every scenario {reps} times (replicates), each time with other chance events: which "
        "owners sell, which businesses open or close, who moves in. Replicate i of every scenario uses the same "
        "random number for the same decision about the same building, business or household at the same moment "
        "(common random numbers). As long as a policy leaves such a decision alone, every scenario takes it the "
        "same way. Once a policy changes what happens (a shop opens that would otherwise have stayed empty), what "
        "follows around it can differ, so chance is reduced, not removed: {pairing} A difference can therefore "
        "still partly be luck. The numbers are averages over the replicates{at_year}. The 95% interval shows how "
        "sure the model is: the narrower, the surer. We only call a difference an <em>effect</em> when the 95% "
        "interval of the difference with doing nothing (replicate by replicate) stays on one side of zero as "
        "printed. Otherwise the report says <em>not distinguishable from doing nothing</em>: the policy may still "
        "have an effect smaller than the <em>smallest detectable difference</em> in the precision table, which the "
        "model cannot tell apart from chance with {reps} replicates. Only effects get a rank, and scenarios whose "
        "effects cannot be told apart share one. Shares are in percent, changes of shares in percentage points "
        "(from 10% to 8% is −2 points). Amounts are in millions of euros; the net public cost is what the "
        "municipality spends minus what it receives over the whole period, plus the interest the money tied up "
        "would have cost, minus what the property it still owns at the end would sell for.",
        "Het model heeft elk scenario {reps} keer doorgerekend (replicaties), steeds met andere toevallige "
        "gebeurtenissen: welke eigenaren verkopen, welke ondernemers beginnen of stoppen, wie er komt wonen. "
        "Replicatie i van elk scenario gebruikt hetzelfde toevalsgetal voor dezelfde beslissing over hetzelfde "
        "pand, bedrijf of huishouden op hetzelfde moment (gemeenschappelijke toevalsgetallen, <em>common random "
        "numbers</em>). Zolang beleid zo'n beslissing niet raakt, valt die in elk scenario hetzelfde uit. Verandert "
        "beleid wat er gebeurt (er opent een winkel die anders leeg was gebleven), dan kan wat daarna in de buurt "
        "gebeurt verschillen. Het toeval wordt dus kleiner, maar verdwijnt niet: {pairing} Een verschil kan daarom "
        "nog deels toeval zijn. De getallen zijn gemiddelden over de replicaties{at_year}. Het 95%-interval laat "
        "zien hoe zeker het model is: hoe smaller, hoe zekerder. We noemen een verschil pas een <em>effect</em> als "
        "het 95%-interval van het verschil met niets doen (per replicatie vergeleken) zoals afgedrukt helemaal aan "
        "één kant van nul ligt. Anders staat er <em>niet te onderscheiden van niets doen</em>: het beleid kan dan "
        "nog een effect hebben dat kleiner is dan het <em>kleinste aantoonbare verschil</em> in de tabel over de "
        "nauwkeurigheid; dat kan het model met {reps} replicaties niet van toeval onderscheiden. Alleen effecten "
        "krijgen een rangnummer; scenario's waarvan de effecten niet van elkaar te onderscheiden zijn, delen een "
        "rangnummer. Aandelen staan in procenten, veranderingen van aandelen in procentpunten (van 10% naar 8% is "
        "−2 procentpunt). Bedragen staan in miljoenen euro's; de netto publieke kosten zijn de uitgaven min de "
        "inkomsten van de gemeente over de hele periode, plus de rente die het vastgelegde geld had gekost, min wat "
        "het vastgoed dat de gemeente aan het eind nog bezit bij verkoop zou opbrengen."),
    "pairing": ("in this comparison the spread of the paired differences was {median} of the spread of one "
                "scenario on its own (median over scenarios and key measures; from {low} to {high}; 1.41 would "
                "mean no common random numbers at all, 0 that chance cancels completely).",
                "in deze vergelijking was de spreiding van de verschillen per replicatie {median} keer de spreiding "
                "van één scenario alleen (mediaan over scenario's en kernindicatoren; van {low} tot {high}; 1,41 "
                "zou betekenen: helemaal geen gemeenschappelijke toevalsgetallen, 0: het toeval valt helemaal weg)."),
    "pairing_unknown": ("with one replicate this cannot be measured.",
                        "met één replicatie is dat niet te meten."),
    "one_replicate": ("Only 1 replicate per scenario: there are no intervals, and no difference can be told apart "
                      "from chance, so nothing below is called an effect or ranked. Run the comparison again with "
                      "--replicates 10 or more (with --resume the finished run is kept).",
                      "Maar 1 replicatie per scenario: er zijn geen intervallen en geen enkel verschil is van toeval "
                      "te onderscheiden, dus hieronder heet niets een effect en krijgt niets een rangnummer. Reken de "
                      "vergelijking opnieuw door met --replicates 10 of meer (met --resume blijft wat klaar is "
                      "bewaard)."),
    "precision": ("Precision of the comparison", "Nauwkeurigheid van de vergelijking"),
    "precision_note": (
        "Per key measure: how much of the chance variation the pairing removes (spread of the paired differences "
        "divided by the spread of one scenario; 1.41 = no common random numbers, lower is better); the smallest "
        "detectable difference: a true effect of this size or more would be found with 95% confidence and 80% "
        "probability with the {reps} replicates used (four times the replicates halve it); and how many "
        "replicates a difference of the size in the next column would need (from the spread of the paired "
        "differences; that size is an assumption of what a workshop would act on, not a target). Medians over "
        "the scenarios.",
        "Per kernindicator: hoeveel van de toevallige variatie de koppeling per replicatie wegneemt (spreiding "
        "van de verschillen per replicatie gedeeld door de spreiding van één scenario; 1,41 = geen "
        "gemeenschappelijke toevalsgetallen, lager is beter); het kleinste aantoonbare verschil: een werkelijk "
        "effect van deze omvang of groter wordt met 95% zekerheid en 80% kans gevonden met de gebruikte {reps} "
        "replicaties (vier keer zoveel replicaties halveert het); en hoeveel replicaties nodig zijn om een verschil "
        "van de omvang in de volgende kolom aan te tonen (uit de spreiding van de verschillen; die omvang is een "
        "aanname over wat een werksessie van belang vindt, geen doel). Medianen over de scenario's."),
    "col_measure": ("Measure", "Indicator"),
    "col_sd_ratio": ("Spread of paired differences / spread of one scenario",
                     "Spreiding verschillen per replicatie / spreiding één scenario"),
    "col_mdd": ("Smallest detectable difference with {reps} replicates",
                "Kleinste aantoonbare verschil met {reps} replicaties"),
    "col_relevant": ("A difference worth detecting (assumption)", "Een verschil dat ertoe doet (aanname)"),
    "col_needed": ("Replicates needed for it", "Replicaties daarvoor nodig"),
    "more_than": ("more than {n}", "meer dan {n}"),
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
                      "op geen enkele kernindicator een effect dat te onderscheiden is van niets doen"),
    "no_effect_on": ("No effect distinguishable from doing nothing on: {names}.",
                     "Geen effect te onderscheiden van niets doen op: {names}."),
    "no_results": ("no results: every run of this scenario failed.",
                   "geen resultaten: alle runs van dit scenario zijn mislukt."),
    "description_en_only": ("(in English)", "(alleen in het Engels beschikbaar)"),
    "and": ("and", "en"),
    "tables": ("Results per key indicator", "Resultaten per kernindicator"),
    "tables_note": (
        "Differences marked <span class=\"tag nd\">not distinguishable</span> are greyed out: the model cannot tell "
        "them apart from doing nothing; they get no rank. Rank 1 is the best scenario for that indicator; "
        "“2=” means that scenarios share rank 2 because their effects cannot be told apart. The effect per EUR 1 "
        "million is given only for an effect of a scenario whose net public cost is above {threshold}: dividing "
        "by a cost near zero gives huge numbers that mean nothing.",
        "Verschillen gemarkeerd met <span class=\"tag nd\">niet te onderscheiden</span> zijn grijs: het model kan "
        "ze niet van niets doen onderscheiden; ze krijgen geen rangnummer. Rang 1 is het beste scenario voor die "
        "indicator; ‘2=’ betekent dat scenario's rang 2 delen omdat hun effecten niet van elkaar te onderscheiden "
        "zijn. Het effect per 1 miljoen euro staat er alleen bij een effect van een scenario met netto publieke "
        "kosten boven {threshold}: delen door kosten van bijna nul geeft enorme getallen die niets zeggen."),
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
    "why_not_distinguishable": ("— (no effect)", "— (geen effect)"),
    "why_cost_below_threshold": ("— (cost below {threshold})", "— (kosten onder {threshold})"),
    "why_one_replicate": ("— (1 replicate)", "— (1 replicatie)"),
    "cost_effect": ("Cost and effect", "Kosten en effect"),
    "fig_cost_effect": (
        "Each scenario's net public cost (across) against its difference with doing nothing (up or down), both "
        "with their 95% intervals. Blue: an improvement, orange: worse, grey and hollow: not distinguishable from "
        "doing nothing. The numbers are listed under the chart.",
        "Netto publieke kosten van elk scenario (horizontaal) tegen het verschil met niets doen (verticaal), "
        "beide met hun 95%-interval. Blauw: verbetering, oranje: verslechtering, grijs en open: niet te "
        "onderscheiden van niets doen. De nummers staan onder de grafiek."),
    "trajectories": ("Over time", "In de loop van de tijd"),
    "fig_trajectory": (
        "{name}: each instrument (colour) against doing nothing (black), year by year; lines are the mean over "
        "the replicates, bands hold the middle 90% of the replicates.",
        "{name}: elk instrument (kleur) tegen niets doen (zwart), jaar voor jaar; lijnen zijn het gemiddelde over "
        "de replicaties, banden bevatten de middelste 90% van de replicaties."),
    "all_zero": ("Not drawn because they are zero in every run of every scenario: {names}.",
                 "Niet getekend omdat ze in elke run van elk scenario nul zijn: {names}."),
    "maps": ("Maps", "Kaarten"),
    "maps_note": (
        "The first map shows the city: the street classes (they do not change) and the land use at the end of "
        "the period in a typical replicate of doing nothing. Then, per scenario, the share of the {reps} "
        "replicates in which each parcel is vacant, vacant for more than a year, home to a criminal front "
        "business, or in poor condition at the end of the period. Below it, the difference with doing nothing per "
        "district of {br} × {bc} blocks (up to {pr} × {pc} parcels, outlined on the map): per replicate the share of "
        "the district's business units that is vacant, vacant for more than a year or a front, or the share of its "
        "parcels in poor condition, compared with the same replicate of doing nothing. A district is coloured only "
        "where that difference is larger than chance: a Wilcoxon signed-rank test over the replicates, with at most "
        "5% of the districts shown expected to be chance. Single parcels are too noisy to tell anything apart. A "
        "blank lower row means no district's difference can be told apart from chance; grey districts have no "
        "business unit and are not tested.",
        "De eerste kaart toont de stad: de straattypen (die veranderen niet) en het grondgebruik aan het eind van "
        "de periode in een typische replicatie van niets doen. Daarna per scenario het aandeel van de {reps} "
        "replicaties waarin een perceel aan het eind van de periode leegstaat, langer dan een jaar leegstaat, een "
        "dekmantelbedrijf huisvest of in slechte staat is. Daaronder het verschil met niets doen per deelgebied "
        "van {br} × {bc} bouwblokken (tot {pr} × {pc} percelen, omlijnd op de kaart): per replicatie het aandeel "
        "van de bedrijfsruimten in het deelgebied dat leegstaat, langer dan een jaar leegstaat of een "
        "dekmantelbedrijf huisvest, of het aandeel van de percelen in slechte staat, vergeleken met dezelfde "
        "replicatie van niets doen. Een deelgebied krijgt alleen een kleur als dat verschil groter is dan toeval: "
        "een Wilcoxon-rangtekentoets over de replicaties, waarbij van de getoonde deelgebieden naar verwachting "
        "hooguit 5% toeval is. Losse percelen zijn te onrustig om iets te onderscheiden. Een lege onderste rij "
        "betekent dat in geen enkel deelgebied een verschil van toeval te onderscheiden is; grijze deelgebieden "
        "hebben geen bedrijfsruimte en zijn niet getoetst."),
    "city_title": ("The city: land use in {year} (doing nothing, typical replicate) and street classes",
                   "De stad: grondgebruik in {year} (niets doen, typische replicatie) en straattypen"),
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
               "Gemaakt met Regie {version}, een agentgebaseerd model van Nederlandse binnensteden. Een model "
               "laat gevolgen van aannames zien, geen voorspellingen."),
    # summary.md
    "md_title": ("Comparison summary", "Samenvatting van de vergelijking"),
    "md_intro": (
        "Mean at the horizon with 95% interval over {reps} replicates; difference with the first scenario "
        "(doing nothing) with a paired 95% interval (≈0: not distinguishable); net public cost; effect per EUR 1 "
        "million of net cost (only for an effect at a net cost above {threshold}); rank among the effects "
        "(1 = best; “=” shared). See report.html for the explanation.",
        "Gemiddelde aan het eind met 95%-interval over {reps} replicaties; verschil met het eerste scenario (niets "
        "doen) met 95%-interval per replicatie vergeleken (≈0: niet te onderscheiden); netto publieke kosten; "
        "effect per 1 miljoen euro netto kosten (alleen bij een effect en netto kosten boven {threshold}); rang "
        "onder de effecten (1 = beste; ‘=’ gedeeld). Uitleg in report.html."),
}

SUMMARY_COLUMNS = ("scenario", "metric", "n", "mean", "lo", "hi", "diff", "diff_lo", "diff_hi",
                   "distinguishable", "net_cost_eur", "per_meur", "rank", "better", "sd_ratio", "mdd")

# The largest report the workshop's e-mail and USB sticks should carry; the figures are sized for
# it (baseline + 10 instruments at 20 replicates: about 1.5 MB).
REPORT_BUDGET_BYTES = 2_000_000


# --------------------------------------------------------------------------- words and numbers


def _i(lang: str) -> int:
    return plots.common._lang_index(lang)   # one check of the language for every figure and text


def _t(key: str, lang: str, **fmt) -> str:
    return i18n.text(TEXT, key, lang, **fmt)


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
    if name == CHOSEN_PACKAGE[0]:
        return CHOSEN_PACKAGE[1][i]
    for kind in sorted(INSTRUMENT_LABELS, key=len, reverse=True):
        if name.startswith(kind):
            return f"{INSTRUMENT_LABELS[kind][i]} ({name})"
    return name


def _threshold(lang: str) -> str:
    return format_number(MIN_COST_FOR_RATIO_EUR, lang, "eur", decimals=1)


def value_with_interval(value, lo, hi, lang: str, kind: str, *, signed: bool, decimals: int | None = None,
                        words: bool = True, verdict: str = "") -> str:
    """"−2.1 points (95% interval −2.8 to −1.4; better)"; the bounds share the value's decimals; without
    bounds (one replicate) the value alone."""
    d = decimals_for([value, lo, hi], kind) if decimals is None else decimals
    text = format_number(value, lang, kind, decimals=d, signed=signed)
    if not (pd.notna(lo) and pd.notna(hi)):
        return f"{text} ({verdict})" if verdict else text
    lo_text = format_number(lo, lang, kind, decimals=d, unit=False)
    hi_text = format_number(hi, lang, kind, decimals=d, unit=False)
    bounds = _t("interval" if words else "range", lang, lo=lo_text, hi=hi_text)
    tail = f"; {verdict}" if verdict else ""
    return f"{text} ({bounds}{tail})"


def _rank_text(summary_rows: pd.DataFrame, rank) -> str:
    """"2", or "2=" when another effect shares the rank; "–" without a rank."""
    if not pd.notna(rank):
        return "–"
    shared = int((summary_rows["rank"] == rank).sum()) > 1
    return f"{int(rank)}{'=' if shared else ''}"


def _per_meur_text(row, lang: str, decimals: int) -> str:
    """The effect per EUR 1 million, or "—" and why not (``per_meur_note`` of the summary)."""
    note = str(row.get("per_meur_note", "") or "")
    if pd.notna(row["per_meur"]) and not note:
        return format_number(row["per_meur"], lang, diff_kind(str(row["metric"])), decimals=decimals, signed=True)
    if note in ("not_distinguishable", "cost_below_threshold", "one_replicate"):
        return _t(f"why_{note}", lang, threshold=_threshold(lang))
    return "–"


# --------------------------------------------------------------------------- the summary table


def _flag(value) -> bool:
    return bool(value) if pd.notna(value) else False


def _improves(row) -> bool:
    return (float(row["diff"]) > 0) == (str(row["better"]) == "up")


def metric_order(summary: pd.DataFrame) -> list[str]:
    present = [str(m) for m in pd.unique(summary["metric"])]
    return [m for m in KEY_METRICS if m in present] + [m for m in present if m not in KEY_METRICS]


def _scenario_order(summary: pd.DataFrame, states: Mapping, failures: Sequence[Mapping], baseline: str) -> list[str]:
    names = [baseline, *map(str, pd.unique(summary["scenario"])), *map(str, states),
             *(str(f["scenario"]) for f in failures)]
    return list(dict.fromkeys(names))


def horizon_of(metrics: pd.DataFrame) -> tuple[int | None, int | None]:
    """(end year, number of years) of the runs, or (None, None) without metrics."""
    if metrics is None or metrics.empty or "year" not in metrics.columns:
        return None, None
    first, last = float(metrics["year"].min()), float(metrics["year"].max())
    return int(round(last)), int(round(last - first))


def difference_decimals(rows: pd.DataFrame, metric: str) -> int:
    """The decimals of a KPI's differences: those the statistics decided effects with."""
    if "diff_decimals" in rows and rows["diff_decimals"].notna().any():
        return int(rows["diff_decimals"].dropna().iloc[0])
    return decimals_for(pd.concat([rows["diff"], rows["diff_lo"], rows["diff_hi"]]), diff_kind(metric))


# --------------------------------------------------------------------------- plain-language summaries


def _effect_phrase(row, lang: str, decimals: int) -> str:
    metric = str(row["metric"])
    good = _improves(row)
    text = value_with_interval(row["diff"], row["diff_lo"], row["diff_hi"], lang, diff_kind(metric), signed=True,
                               decimals=decimals, verdict=_t("better" if good else "worse", lang))
    name = html.escape(_lower_first(label(metric, lang)))
    return f'<span class="{"good" if good else "bad"}">{name} {html.escape(text)}</span>'


def _cost_phrase(cost_eur, lang: str, years: int | None) -> str:
    if cost_eur is None or not math.isfinite(float(cost_eur)):
        return ""
    eur = format_number(abs(cost_eur), lang, "eur")
    key = "cost_zero" if abs(cost_eur) < 0.5 else "cost_pos" if cost_eur > 0 else "cost_neg"
    over = _t("over_years", lang, years=years) if years else ""
    return _t(key, lang, eur=eur) + over


def _scenario_summary(rows: pd.DataFrame, decimals: dict[str, int], lang: str, years: int | None) -> str:
    """The HTML sentences on one (non-baseline) scenario's effects and cost."""
    if rows.empty:
        return html.escape(_t("no_results", lang))
    effects = rows[rows["metric"] != "net_public_cost_eur"]
    clear = effects[effects["distinguishable"].map(_flag)]
    ordered = sorted(clear.itertuples(index=False), key=lambda r: not _improves(r._asdict()))
    phrases = [_effect_phrase(r._asdict(), lang, decimals[r.metric]) for r in ordered]
    cost = _cost_phrase(rows["net_cost_eur"].iloc[0], lang, years)
    lead = "; ".join(phrases) if phrases else html.escape(_t("no_effect_any", lang) + (", " if cost else ""))
    text = f"{lead} {html.escape(cost)}".rstrip() + "."
    text = text[0].upper() + text[1:] if not phrases else text
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
            value = value_with_interval(r["mean"], r["lo"], r["hi"], lang, metric_kind(metric), signed=False)
            parts.append(f"{_lower_first(label(metric, lang))} {value}")
    when = _t("baseline_in", lang, year=year) if year else _t("baseline_at_horizon", lang)
    text = f"{when} {'; '.join(parts)}."
    return html.escape(text[0].upper() + text[1:])


def _description(descriptions: Mapping, scen: str, lang: str) -> str:
    """The scenario author's description in the report's language; an English one in a Dutch report
    when there is no ``description_nl`` (said so)."""
    desc = descriptions.get(scen)
    if isinstance(desc, str):
        desc = {"en": desc}
    desc = desc or {}
    text = desc.get(lang)
    if text:
        return f'<div class="desc">{html.escape(str(text))}</div>'
    other = desc.get("en")
    if other:
        return f'<div class="desc">{html.escape(str(other))} <em>{_t("description_en_only", lang)}</em></div>'
    return ""


def _summary_section(summary: pd.DataFrame, scenarios: list[str], names: dict[str, str], baseline: str,
                     descriptions: Mapping, lang: str, year: int | None, years: int | None) -> str:
    decimals = {m: difference_decimals(summary[summary["metric"] == m], m) for m in metric_order(summary)}
    items = []
    for scen in scenarios:
        rows = summary[summary["scenario"] == scen]
        body = (_baseline_summary(rows, lang, year) if scen == baseline
                else _scenario_summary(rows, decimals, lang, years))
        items.append(f'<li><strong>{html.escape(names[scen])}</strong> <code>{html.escape(scen)}</code>'
                     f'{_description(descriptions, scen, lang)}<div>{body}</div></li>')
    return f'<h2>{_t("summary", lang)}</h2>\n<ul class="summary">\n' + "\n".join(items) + "\n</ul>"


# --------------------------------------------------------------------------- tables


def difference_cell(row, lang: str, decimals: int) -> tuple[str, str]:
    """(css class, HTML) of the difference cell."""
    metric = str(row["metric"])
    text = html.escape(value_with_interval(row["diff"], row["diff_lo"], row["diff_hi"], lang, diff_kind(metric),
                                           signed=True, decimals=decimals, words=False))
    if not _flag(row["distinguishable"]):
        return "nd", f'{text} <span class="tag nd">{_t("nd", lang)}</span>'
    good = _improves(row)
    css = "good" if good else "bad"
    return css, f'{text} <span class="tag {css}">{_t("better" if good else "worse", lang)}</span>'


def _table(metric: str, rows: pd.DataFrame, scenarios: list[str], names: dict[str, str], baseline: str,
           lang: str, year: int | None) -> str:
    """One KPI's table: a row per scenario."""
    level_kind, d_kind = metric_kind(metric), diff_kind(metric)
    level_d = decimals_for(pd.concat([rows["mean"], rows["lo"], rows["hi"]]), level_kind)
    diff_d = difference_decimals(rows, metric)
    per_d = decimals_for(rows["per_meur"], d_kind)
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
        level = html.escape(value_with_interval(r["mean"], r["lo"], r["hi"], lang, level_kind, signed=False,
                                                decimals=level_d, words=False))
        if scen == baseline:
            css, diff, per, rank = "ref", f'<span class="tag ref">{_t("reference", lang)}</span>', "–", "–"
        else:
            css, diff = difference_cell(r, lang, diff_d)
            per = "–" if metric == "net_public_cost_eur" else _per_meur_text(r, lang, per_d)
            rank = _rank_text(rows, r["rank"])
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
              for m in metric_order(summary)]
    return (f'<h2>{_t("tables", lang)}</h2>\n<p class="note">{_t("tables_note", lang, threshold=_threshold(lang))}'
            "</p>\n" + "\n".join(tables))


def summary_markdown(summary: pd.DataFrame, failures: Sequence[Mapping] = (), lang: str = "en",
                     baseline: str | None = None) -> str:
    """``summary.md``: the summary as markdown tables, one per KPI, in ``lang`` (numbers in the
    language's format; effects not distinguishable from doing nothing marked ≈0)."""
    _i(lang)
    baseline = baseline if baseline is not None else (str(summary["scenario"].iloc[0]) if not summary.empty else "")
    reps = int(summary["n"].max()) if not summary.empty else 0
    lines = [f"# {_t('md_title', lang)}", "", _t("md_intro", lang, reps=reps, threshold=_threshold(lang)), ""]
    heads = [_t(k, lang) for k in ("col_scenario", "col_level", "col_diff", "col_cost", "col_per_meur", "col_rank")]
    heads[1] = _t("col_level", lang, at_year="")
    for m in metric_order(summary):
        rows = summary[summary["metric"] == m]
        level_kind, d_kind = metric_kind(m), diff_kind(m)
        level_d = decimals_for(pd.concat([rows["mean"], rows["lo"], rows["hi"]]), level_kind)
        diff_d, per_d = difference_decimals(rows, m), decimals_for(rows["per_meur"], d_kind)
        lines += [f"## {label(m, lang)} (`{m}`)", "", "| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
        for _, r in rows.iterrows():
            r = r.copy()
            level = value_with_interval(r["mean"], r["lo"], r["hi"], lang, level_kind, signed=False,
                                        decimals=level_d, words=False)
            if r["scenario"] == baseline:
                diff, per, rank = _t("reference", lang), "–", "–"
            else:
                diff = value_with_interval(r["diff"], r["diff_lo"], r["diff_hi"], lang, d_kind, signed=True,
                                           decimals=diff_d, words=False)
                diff += "" if _flag(r["distinguishable"]) else " ≈0"
                per = "–" if m == "net_public_cost_eur" else _per_meur_text(r, lang, per_d)
                rank = _rank_text(rows, r["rank"])
            name = scenario_label(str(r["scenario"]), lang, baseline=baseline)
            lines.append(f"| {name} | {level} | {diff} | {format_number(r['net_cost_eur'], lang, 'eur')} | {per} | "
                         f"{rank} |")
        lines.append("")
    if failures:
        lines += [f"## {_t('failures', lang)}", ""] + [
            f"- {f['scenario']} {_t('col_replicate', lang).lower()} {f['replicate']} (seed {f['seed']}): {f['error']}"
            for f in failures]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- charts and maps


def _safe_name(name: str) -> str:
    """A scenario name fit for a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "scenario"


def _png(fig, path: Path) -> Path:
    """A palette PNG (a third of the size, no visible loss): the report stays under 2 MB."""
    return plots.common._save_atomic(fig, path, palette=True)


def _cost_effect_chart(plots_dir: Path, summary: pd.DataFrame, baseline: str, short: dict[str, str], lang: str,
                       suffix: str) -> list[tuple[str, Path, str]]:
    from sim.plots.comparison import cost_effect_figure
    if summary[summary["scenario"] != baseline].empty:
        return []
    # a KPI at 0 in every run would be a row of grey rings at 0: the trajectories section names it
    shown = [m for m in metric_order(summary) if m != "net_public_cost_eur"
             and not (summary.loc[summary["metric"] == m, ["mean", "lo", "hi"]].fillna(0) == 0).all().all()]
    if not shown:
        return []
    fig = cost_effect_figure(summary, lang, baseline=baseline, scenario_labels=short, metrics=shown)
    return [(_t("fig_cost_effect", lang), _png(fig, plots_dir / f"cost_effect{suffix}.png"), "")]


def _trajectory_charts(plots_dir: Path, summary: pd.DataFrame, metrics: pd.DataFrame, baseline: str,
                       short: dict[str, str], lang: str, suffix: str) -> tuple[list[tuple[str, Path, str]], str]:
    """One small-multiples chart per key KPI; the note names the KPIs left out for being zero everywhere."""
    from sim.plots.comparison import is_all_zero, trajectory_panels_figure
    figures, zero = [], []
    if metrics is None or metrics.empty or len(short) < 2:
        return figures, ""
    for metric in metric_order(summary):
        if is_all_zero(metrics, metric):
            zero.append(_lower_first(label(metric, lang)))
            continue
        fig = trajectory_panels_figure(metrics, metric, lang, baseline=baseline, scenario_labels=short,
                                       title=label(metric, lang))
        if fig is None:
            continue
        path = _png(fig, plots_dir / f"trajectory_{metric}{suffix}.png")
        figures.append((_t("fig_trajectory", lang, name=label(metric, lang)), path, ""))
    return figures, (_t("all_zero", lang, names="; ".join(zero)) if zero else "")


def layer_masks(state: Mapping) -> dict[str, np.ndarray]:
    """Where each map layer applies: business units for vacancy and fronts, every parcel for condition."""
    land = np.asarray(state["land"])
    unit = np.asarray(state.get("unit", land == LAND_PARCEL))
    unit = unit.any(axis=0) if unit.ndim == 3 else unit
    return {"vacant": unit, "longterm_vacant": unit, "front": unit, "poor": land == LAND_PARCEL}


def typical_replicate(state: Mapping) -> int:
    """The replicate (position in the stack) whose vacancy is closest to the median one."""
    unit = layer_masks(state)["vacant"]
    share = np.asarray(state["vacant"])[:, unit].mean(axis=1)
    return int(np.argsort(np.abs(share - np.median(share)), kind="stable")[0])


def _stack(state: Mapping, key: str, n: int) -> np.ndarray:
    """A (replicate, row, column) stack of ``key``; a single (row, column) mask repeated."""
    values = np.asarray(state[key])
    return values if values.ndim == 3 else np.broadcast_to(values, (n, *values.shape))


def _aligned(state: Mapping, reference: Mapping, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The two stacks of ``key`` on the replicates both have (replicate i on the same seed)."""
    a_reps = list(state.get("replicates", range(len(state["vacant"]))))
    b_reps = list(reference.get("replicates", range(len(reference["vacant"]))))
    both = [r for r in a_reps if r in b_reps]
    return (_stack(state, key, len(a_reps))[[a_reps.index(r) for r in both]],
            _stack(reference, key, len(b_reps))[[b_reps.index(r) for r in both]])


def _denominator_key(layer: str) -> str:
    """What a layer's share is of: business units (``unit``, changed by conversions) for vacancy and
    fronts, as in the vacancy KPIs; every parcel for condition."""
    return "parcel" if layer == "poor" else "unit"


def map_differences(state: Mapping, reference: Mapping) -> dict[str, DistrictDifference]:
    """Per map layer, the paired difference of the layer's share with the reference per district of
    ``DISTRICT_BLOCKS`` blocks and where it is distinguishable (``district_difference`` on the
    replicates both have): the share of business units vacant, vacant for more than a year or
    a front, and the share of parcels in poor condition."""
    def with_parcels(s: Mapping) -> dict:
        land = np.asarray(s["land"])
        return {**s, "parcel": land == LAND_PARCEL, "unit": s.get("unit", land == LAND_PARCEL)}
    state, reference = with_parcels(state), with_parcels(reference)
    out = {}
    for layer in parcel_probabilities(state):
        a, b = _aligned(state, reference, layer)
        a_den, b_den = _aligned(state, reference, _denominator_key(layer))
        out[layer] = district_difference(a, b, a_den, b_den)
    return out


def _write_maps(plots_dir: Path, states: Mapping[str, Mapping], scenarios: list[str], baseline: str,
                short: dict[str, str], lang: str, year: int | None, suffix: str) -> list[tuple[str, Path, str]]:
    """The city once (street classes, land use of a typical replicate of doing nothing), then per
    scenario the probability maps over all replicates and their difference with doing nothing."""
    from sim.plots.maps import map_figure, probability_maps_figure
    figures = []
    if not states:
        return figures
    reference = states.get(baseline)
    first = reference if reference is not None else next(iter(states.values()))
    typical = typical_replicate(first)
    city = {"use": np.asarray(first["use"])[typical], "land": first["land"], "street_class": first["street_class"]}
    title = _t("city_title", lang, year=year or "")
    figures.append((title, _png(map_figure(city, lang=lang), plots_dir / f"map_city{suffix}.png"), ""))
    for scen in scenarios:
        state = states.get(scen)
        if state is None:
            continue
        masks = layer_masks(state)
        probabilities = parcel_probabilities(state)
        differences = (map_differences(state, reference) if scen != baseline and reference is not None else None)
        n = len(np.asarray(state["vacant"]))
        fig = probability_maps_figure(probabilities, np.asarray(state["land"]), masks, n, lang,
                                      differences=differences, district=(*DISTRICT_BLOCKS, *DISTRICT_PARCELS),
                                      title=short[scen])
        figures.append((short[scen], _png(fig, plots_dir / f"maps_{_safe_name(scen)}{suffix}.png"), ""))
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
    """Per key measure: the median SD ratio, the smallest detectable difference with the replicates
    used, a difference worth detecting (``RELEVANT_DIFFERENCE``) and the replicates it needs."""
    rows = []
    for metric in metric_order(summary):
        d = summary[(summary["metric"] == metric)].dropna(subset=["mdd"])
        if d.empty:
            continue
        kind = diff_kind(metric)
        mdd = format_number(float(d["mdd"].median()), lang, kind, decimals=decimals_for(d["mdd"], kind))
        ratio = format_number(float(d["sd_ratio"].median()), lang, "plain", decimals=2)
        relevant = RELEVANT_DIFFERENCE.get(metric, float("nan"))
        needed = d["replicates_needed"].median() if "replicates_needed" in d else float("nan")
        needed_text = ("–" if not pd.notna(needed) else _t("more_than", lang, n=format_number(10_000, lang, "count"))
                       if not math.isfinite(needed) else format_number(math.ceil(needed), lang, "count"))
        rows.append(f'<tr><th scope="row">{html.escape(label(metric, lang))}</th><td class="num">{ratio}</td>'
                    f"<td>{html.escape(mdd)}</td><td>{html.escape(format_number(relevant, lang, kind))}</td>"
                    f'<td class="num">{html.escape(needed_text)}</td></tr>')
    if not rows:
        return ""
    head = "".join(f'<th scope="col">{_t(k, lang, reps=reps)}</th>'
                   for k in ("col_measure", "col_sd_ratio", "col_mdd", "col_relevant", "col_needed"))
    return (f'<h2>{_t("precision", lang)}</h2>\n<p class="note">{_t("precision_note", lang, reps=reps)}</p>\n'
            f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def _header(n_scenarios: int, reps: int, year: int | None, years: int | None, failures: Sequence, lang: str,
            pairing: str = "") -> str:
    horizon = _t("horizon", lang, year=year, years=years) if year and years else ""
    at_year = _t("at_year", lang, year=year) if year else ""
    parts = [f"<h1>{html.escape(_t('title', lang))}</h1>",
             f'<p class="sub">{html.escape(_t("subtitle", lang, n=n_scenarios, reps=reps, horizon=horizon))}</p>']
    if reps == 1:
        parts.append(f'<p class="warn">{html.escape(_t("one_replicate", lang))}</p>')
    parts += [f'<h2>{_t("how_to_read", lang)}</h2>',
              f'<p class="howto">{_t("how_to_read_text", lang, reps=reps, at_year=at_year, pairing=pairing)}</p>']
    if failures:
        parts.append(f'<p class="warn"><a href="#failures">{html.escape(_t("failures_warning", lang))}</a></p>')
    return "\n".join(parts)


def write_report(out_dir, summary: pd.DataFrame, metrics: pd.DataFrame, states: Mapping[str, Mapping], baseline: str,
                 lang: str = "en", failures: Sequence[Mapping] = (),
                 descriptions: Mapping[str, Mapping[str, str] | str] | None = None) -> Path:
    """Write the workshop report of a scenario comparison into ``out_dir``.

    Writes into ``plots/`` (Dutch files end in ``.nl.png``, so a Dutch report leaves the English
    one's charts alone) ``cost_effect.png``, ``trajectory_<KPI>.png`` per key KPI that is not zero
    everywhere, ``map_city.png`` and ``maps_<scenario>.png`` per scenario in ``states``; then
    ``report.html`` (``report.nl.html`` in Dutch), which embeds all of them.

    Args:
        out_dir: Output folder (created when missing).
        summary: One row per (scenario, metric) at the horizon, as
            ``sim.workshop.statistics.summary_table`` makes it (at least ``SUMMARY_COLUMNS``).
        metrics: Tidy metrics of all runs (``scenario, replicate, year, metric, value``, ...).
        states: Scenario -> its end states over the replicates (``sim.workshop.compare.end_states``:
            ``vacant``, ``longterm_vacant``, ``front``, ``poor`` and ``use`` as (replicate, row,
            column) stacks, ``land``, ``street_class`` and ``unit`` as (row, column), optionally
            ``replicates``, the replicate numbers of the stack).
        baseline: The reference scenario's name ("doing nothing").
        lang: "en" or "nl": the language of the whole report.
        failures: Failed runs, dicts with ``scenario, replicate, seed, error``.
        descriptions: Scenario -> its description, ``{"en": ..., "nl": ...}`` (or an English string).

    Returns:
        The path of the report.

    Raises:
        ValueError: for an unknown ``lang`` or missing summary columns.
    """
    _i(lang)
    missing = set(SUMMARY_COLUMNS) - set(summary.columns)
    if missing:
        raise ValueError(f"summary lacks columns {sorted(missing)}")
    out, failures = Path(out_dir), list(failures)
    plots_dir, suffix = out / "plots", "" if lang == "en" else f".{lang}"
    scenarios = _scenario_order(summary, states, failures, baseline)
    short = {s: scenario_label(s, lang, baseline=baseline) for s in scenarios}
    long = {s: scenario_label(s, lang, baseline=baseline, long=True) for s in scenarios}
    year, years = horizon_of(metrics)
    reps = int(summary["n"].max()) if not summary.empty else 0
    cost_effect = _cost_effect_chart(plots_dir, summary, baseline, short, lang, suffix)
    trajectories, zero_note = _trajectory_charts(plots_dir, summary, metrics, baseline, short, lang, suffix)
    map_figures = _write_maps(plots_dir, states, scenarios, baseline, short, lang, year, suffix)
    maps_note = _t("maps_note", lang, reps=reps, br=DISTRICT_BLOCKS[0], bc=DISTRICT_BLOCKS[1],
                   pr=DISTRICT_PARCELS[0], pc=DISTRICT_PARCELS[1])
    sections = [
        _summary_section(summary, scenarios, long, baseline, descriptions or {}, lang, year, years),
        f'<h2>{_t("cost_effect", lang)}</h2>\n' + "\n".join(_figure_html(*f, lang) for f in cost_effect),
        _tables_section(summary, scenarios, short, baseline, lang, year),
        _precision_section(summary, reps, lang),
        f'<h2>{_t("trajectories", lang)}</h2>\n' + (f'<p class="note">{html.escape(zero_note)}</p>\n' if zero_note
                                                    else "") + "\n".join(_figure_html(*f, lang) for f in trajectories),
        f'<h2>{_t("maps", lang)}</h2>\n<p class="note">{html.escape(maps_note)}</p>\n'
        + "\n".join(_figure_html(*f, lang) for f in map_figures),
    ]
    if failures:
        sections.append(_failures_section(failures, summary, short, lang))
    head = _header(len(scenarios), reps, year, years, failures, lang, pairing=_pairing_sentence(summary, lang))
    page = _page(lang, head, sections).encode("utf-8")
    path = out / f"report{suffix}.html"
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(page))
    return path
