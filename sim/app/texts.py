"""The app's words, English and Dutch. KPI, instrument and scenario names come from the report's
and the charts' own labels (``sim.workshop.report``, ``sim.plots.common.label``), not from here."""

from __future__ import annotations

from sim.i18n import lang_index, text

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Regie: try a policy package", "Regie: probeer een beleidspakket"),
    "intro": ("Choose instruments, press Run, and see how the package differs from doing nothing: each "
              "scenario runs several times on the same random numbers; the intervals show how sure that is.",
              "Kies instrumenten, druk op Doorrekenen en zie hoe het pakket verschilt van niets doen: elk "
              "scenario wordt meerdere keren doorgerekend met dezelfde toevalsgetallen; de intervallen laten "
              "zien hoe zeker dat verschil is."),
    "language": ("Nederlands", "English"),        # the button shows the OTHER language
    "archetype": ("Type of centre", "Soort binnenstad"),
    "arch_small": ("small (about 250 shops)", "klein (zo'n 250 winkels)"),
    "arch_midsize": ("midsize (about 450 shops)", "middelgroot (zo'n 450 winkels)"),
    "arch_large": ("large (about 1,100 shops)", "groot (zo'n 1.100 winkels)"),
    "years": ("Years", "Jaren"),
    "replicates": ("Replicates", "Replicaties"),
    "replicates_hint": ("runs per scenario", "doorrekeningen per scenario"),
    "instruments": ("Instruments", "Instrumenten"),
    "area": ("Area", "Gebied"),
    "zone_core": ("core retail area (A1 and A2 streets)", "kernwinkelgebied (A1- en A2-straten)"),
    "zone_edge": ("edge streets (C streets)", "aanloopstraten (C-straten)"),
    "zone_shopping": ("shopping area (A1 to C streets)", "winkelgebied (A1- tot en met C-straten)"),
    "zone_residential": ("residential streets", "woonstraten"),
    "zone_all": ("whole centre", "hele binnenstad"),
    "streets": ("{names} streets", "{names}-straten"),
    "and": ("and", "en"),
    "run": ("Run", "Doorrekenen"),
    "running": ("Running: {done} of {total} runs", "Bezig: {done} van {total} doorrekeningen"),
    "starting": ("Starting…", "Bezig met starten…"),
    "fix_first": ("Correct the marked values first.", "Verbeter eerst de gemarkeerde waarden."),
    "none_on": ("Switch at least one instrument on.", "Zet ten minste één instrument aan."),
    "failed": ("The runs failed: {error}", "De doorrekening is mislukt: {error}"),
    "empty": ("Choose a package on the left and press Run.", "Kies links een pakket en druk op Doorrekenen."),
    "done": ("{reps} replicates of {years} years, {total} runs in {seconds} s.",
             "{reps} replicaties van {years} jaar, {total} doorrekeningen in {seconds} s."),
    "stale": ("The choice changed since this result: press Run to update it.",
              "De keuze is veranderd sinds deze uitkomst: druk op Doorrekenen om bij te werken."),
    "tab_table": ("Comparison", "Vergelijking"),
    "tab_time": ("Over time", "In de tijd"),
    "tab_maps": ("Maps", "Kaarten"),
    "tab_cost": ("Public cost", "Publieke kosten"),
    "tab_yaml": ("Scenario file", "Scenariobestand"),
    "col_kpi": ("Indicator", "Indicator"),
    "col_nothing": ("Doing nothing", "Niets doen"),
    "col_package": ("Package", "Pakket"),
    "col_diff": ("Difference (95% interval)", "Verschil (95%-interval)"),
    "at_year": ("in {year}, mean with 95% interval", "in {year}, gemiddelde met 95%-interval"),
    "table_note": ("Each difference compares replicate i of the package with replicate i of doing nothing "
                   "(the same random numbers in both). “Not distinguishable”: the 95% interval, as printed, "
                   "includes zero, so the package may have no effect at all. "
                   "These are the numbers `regie compare` gives for the same choice.",
                   "Elk verschil vergelijkt replicatie i van het pakket met replicatie i van niets doen "
                   "(in beide dezelfde toevalsgetallen). ‘Niet te onderscheiden’: het 95%-interval bevat nul "
                   "zoals het er staat, dus het pakket heeft misschien helemaal geen effect. "
                   "Dit zijn de getallen die `regie compare` voor dezelfde keuze geeft."),
    "download": ("Download the report (HTML)", "Download het rapport (HTML)"),
    "make_report": ("Make the report for download", "Maak het rapport om te downloaden"),
    "making_report": ("Making the report…", "Het rapport wordt gemaakt…"),
    "map_start": ("The city at the start ({year})", "De binnenstad bij de start ({year})"),
    "map_end": ("The city in {year} with the package (typical replicate)",
                "De binnenstad in {year} met het pakket (typische replicatie)"),
    "map_probability": ("Chance per building, and the difference with doing nothing",
                        "Kans per pand, en het verschil met niets doen"),
    "cost_total": ("Net public cost of the package after {years} years: {eur} (95% interval {lo} to {hi}).",
                   "Netto publieke kosten van het pakket na {years} jaar: {eur} (95%-interval {lo} tot {hi})."),
    "col_instrument": ("Instrument", "Instrument"),
    "col_net_cost": ("Net public cost", "Netto publieke kosten"),
    "col_spend": ("Spent", "Uitgaven"),
    "col_income": ("Income", "Inkomsten"),
    "col_staff": ("Staff hours", "Ambtelijke uren"),
    "cost_note": ("Net public cost: spending minus income, with the capital cost of money tied up and the "
                  "value of property still held credited (as in the report); mean over the replicates.",
                  "Netto publieke kosten: uitgaven min inkomsten, met de rentelasten van vastgelegd geld en de "
                  "waarde van vastgoed dat de gemeente nog bezit verrekend (zoals in het rapport); gemiddelde "
                  "over de replicaties."),
    "yaml_note": ("The chosen package as a scenario file: save it as package.yaml and run "
                  "`regie compare scenarios/baseline.yaml package.yaml --replicates {reps}` for the same numbers "
                  "(set `city: archetype` and `horizon_years` in the baseline too when you changed them).",
                  "Het gekozen pakket als scenariobestand: sla het op als package.yaml en voer "
                  "`regie compare scenarios/baseline.yaml package.yaml --replicates {reps}` uit voor dezelfde "
                  "getallen (zet `city: archetype` en `horizon_years` dan ook in het basisscenario als u die "
                  "hebt gewijzigd)."),
    # refusals of the form (the schema's own message in English follows after the colon)
    "bad_number": ("not a number", "geen getal"),
    "bad_whole": ("not a whole number", "geen geheel getal"),
    "bad_range": ("allowed: {range}", "toegestaan: {range}"),
}

# The main parameters' labels (sim.app.form.MAIN_PARAMETERS); "<kind>.<name>" where one name
# means different things in different instruments.
PARAMETER_LABELS: dict[str, tuple[str, str]] = {
    "report_after_months": ("Report vacancy after (months)", "Leegstand melden na (maanden)"),
    "fine_eur": ("Fine for not reporting (EUR)", "Boete bij niet melden (€)"),
    "nominate": ("Nominate users", "Gebruikers voordragen"),
    "budget_eur": ("Budget (EUR)", "Budget (€)"),
    "facade_subsidy.share": ("Share of the cost paid", "Deel van de kosten dat de gemeente betaalt"),
    "rent_subsidy.share": ("Share of the rent paid", "Deel van de huur dat de gemeente betaalt"),
    "max_eur_per_parcel": ("At most per building (EUR)", "Ten hoogste per pand (€)"),
    "max_eur_per_tenancy": ("At most per tenancy (EUR)", "Ten hoogste per huurovereenkomst (€)"),
    "max_eur_per_project": ("At most per building (EUR)", "Ten hoogste per pand (€)"),
    "programme_years": ("Years the scheme is open", "Looptijd van de regeling (jaren)"),
    "max_share_of_cost": ("At most this share of the conversion cost", "Ten hoogste dit deel van de ombouwkosten"),
    "start_year": ("From the year", "Vanaf het jaar"),
    "procedure": ("Permit procedure", "Vergunningsprocedure"),
    "max_share": ("Most horeca allowed (share of units)", "Maximaal aandeel horeca (van de panden)"),
    "levy_share_of_value": ("Levy (share of the property value a year)",
                            "Heffing (deel van de waarde van het pand per jaar)"),
    "levy_min_eur": ("Least levy per unit a year (EUR)", "Minimale heffing per pand per jaar (€)"),
    "levy_max_eur": ("Most levy per unit a year (EUR)", "Maximale heffing per pand per jaar (€)"),
    "payer": ("Who pays", "Wie betaalt"),
    "screenings_per_year": ("Screenings a year", "Toetsen per jaar"),
    "checks_per_year": ("Checks of existing businesses a year", "Controles van bestaande bedrijven per jaar"),
    "screen_horeca": ("Screen every new horeca business", "Elke nieuwe horecazaak toetsen"),
    "fund_eur": ("Fund (EUR)", "Fonds (€)"),
    "agree_share": ("Chance of agreeing on the price", "Kans dat eigenaar en gemeente het eens worden over de prijs"),
    "rent_discount_share": ("Rent discount (share of the market rent)", "Huurkorting (deel van de markthuur)"),
    "period_years": ("Years the right runs", "Looptijd van het voorkeursrecht (jaren)"),
    "willing_share": ("Chance an owner will sell", "Kans dat een eigenaar wil verkopen"),
    "offers_per_year": ("Negotiations a year", "Onderhandelingen per jaar"),
}

OPTION_LABELS: dict[str, tuple[str, str]] = {
    "owners": ("owners", "eigenaren"),
    "users": ("users", "gebruikers"),
    "regular": ("regular (8 weeks)", "regulier (8 weken)"),
    "extended": ("extended (6 months)", "uitgebreid (6 maanden)"),
    "true": ("yes", "ja"),
    "false": ("no", "nee"),
}


def t(key: str, lang: str, **fmt) -> str:
    return text(TEXT, key, lang, **fmt)


def parameter_label(kind: str, name: str, lang: str) -> str:
    labels = PARAMETER_LABELS.get(f"{kind}.{name}") or PARAMETER_LABELS.get(name) or (name, name)
    return labels[lang_index(lang)]


def option_label(value: str, lang: str) -> str:
    return OPTION_LABELS.get(value, (value, value))[lang_index(lang)]


def area_label(key: str, lang: str) -> str:
    """A zone name, or ``streets:A2+B`` -> "A2 and B streets" / "A2- en B-straten"."""
    if key.startswith("streets:"):
        names = key.split(":", 1)[1].split("+")
        if lang == "nl":   # "A1-, A2- en B-straten": the hyphen of the shared word on every name but the last
            names = [f"{n}-" for n in names[:-1]] + names[-1:]
        joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {t('and', lang)} {names[-1]}"
        return t("streets", lang, names=joined)
    return t(f"zone_{key}", lang)
