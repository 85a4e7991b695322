"""The app's page (Solara components). Left: the choice; right: the comparison.

All state lives inside the components (``use_state``, ``use_memo``, ``use_thread``): each
browser session has its own choice, job and results. The only object shared between sessions
is the warm process pool of ``sim.app.runner``.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import replace

import solara

from sim.app import form, results
from sim.app.runner import Cancelled, Job
from sim.app.texts import area_label, option_label, parameter_label, t
from sim.numbers import format_number
from sim.workshop.report import INSTRUMENT_LABELS

DEFAULT_LANG = os.environ.get("REGIE_APP_LANG", "nl")   # `regie app --lang` (a setting, not session state)
DEFAULT_ARCHETYPE = "midsize"
DEFAULT_YEARS = 20    # scenarios/baseline.yaml's horizon


def _range_text(p: form.Parameter, lang: str) -> str:
    """"0 – 1" / "≥ 0"; numbers in the language's format."""
    def number(x: float) -> str:
        d = 0 if float(x).is_integer() else max(0, min(6, len(repr(float(x)).split(".")[1])))
        return format_number(x, lang, "plain", decimals=d)
    if p.low is not None and p.high is not None:
        return f"{'>' if p.low_open else ''}{number(p.low)} – {'<' if p.high_open else ''}{number(p.high)}"
    if p.low is not None:
        return f"{'>' if p.low_open else '≥'} {number(p.low)}"
    if p.high is not None:
        return f"{'<' if p.high_open else '≤'} {number(p.high)}"
    return ""


def _error_text(message: str, p_range: str, lang: str) -> str:
    """A refusal in the page's language: the schema speaks English; Dutch gets the reason in words."""
    if lang == "en":
        return message
    if "whole number" in message or "valid integer" in message:
        return t("bad_whole", lang)
    if "number" in message or "finite" in message:
        return t("bad_number", lang)
    return t("bad_range", lang, range=p_range) if p_range else message


def _items(pairs: list[tuple[str, str]]) -> list[dict]:
    """Select items for Vuetify 2 (``text``; ipyvuetify 1, Python 3.11) and 3 (``title``)."""
    return [{"value": value, "text": shown, "title": shown} for value, shown in pairs]


NOTE_COLOURS = {"info": ("#e8f1fb", "#0b4f8a"), "warning": ("#fff4e0", "#8a5300"), "error": ("#fde8e8", "#a00000")}


@solara.component
def Note(text: str, kind: str = "info", css: str = ""):
    """A coloured message box (solara.Info and friends pass ``text=True`` to Vuetify 3's Alert,
    which wants a string there: they fail with ipyvuetify 3)."""
    background, colour = NOTE_COLOURS[kind]
    with solara.Column(style={"background": background, "color": colour, "padding": "8px 12px",
                              "border-radius": "4px"}, classes=[f"regie-note-{kind}"] + ([css] if css else [])):
        solara.Text(text)


@solara.component
def NumberField(label: str, text: str, on_text, error: str | None, hint: str, css: str):
    solara.InputText(label, value=text, on_value=on_text, error=error or False, message=hint,
                     continuous_update=False, classes=[css], dense=True)


@solara.component
def InstrumentCard(kind: str, choice: form.InstrumentChoice, set_choice, errors: dict[str, str], lang: str):
    i = 0 if lang == "en" else 1
    solara.Switch(label=INSTRUMENT_LABELS[kind][i], value=choice.on, classes=[f"regie-switch-{kind}"],
                  on_value=lambda on: set_choice(kind, lambda c: replace(c, on=on)))
    if kind in errors:
        solara.Text(_error_text(errors[kind], "", lang), style={"color": "#b00020", "font-size": "13px"})
    if not choice.on:
        return
    with solara.Column(style={"padding-left": "24px", "gap": "2px"}):
        options = form.area_options(kind)
        solara.v.Select(label=t("area", lang), v_model=choice.area, dense=True, class_=f"regie-area-{kind}",
                        items=_items([(a, area_label(a, lang)) for a in options]),
                        on_v_model=lambda a: set_choice(kind, lambda c: replace(c, area=a)))
        for p in form.parameters(kind):
            key = f"{kind}.{p.name}"
            label = parameter_label(kind, p.name, lang)

            def on_text(text, name=p.name):
                set_choice(kind, lambda c: c.with_value(name, text))

            if p.type in ("bool", "choice"):
                values = ["true", "false"] if p.type == "bool" else list(p.options)
                solara.v.Select(label=label, v_model=choice.value(p.name), dense=True,
                                class_=f"regie-field-{kind}-{p.name}",
                                items=_items([(v, option_label(v, lang)) for v in values]),
                                on_v_model=on_text)
            else:
                p_range = _range_text(p, lang)
                error = errors.get(key)
                NumberField(label, choice.value(p.name), on_text,
                            _error_text(error, p_range, lang) if error else None, p_range,
                            f"regie-field-{kind}-{p.name}")


TABS = ("table", "time", "maps", "cost", "yaml")


@solara.component
def ReportDownload(outcome, job: Job, lang: str):
    """The report `regie compare` writes, made on request (a few seconds of drawing) and offered as
    a link that holds the file (a data: URL, downloaded by the browser itself). solara.FileDownload
    does not do here: its widget is a Vuetify 2 component that never appears under ipyvuetify 3."""
    asked_for, set_asked_for = solara.use_state(None)
    asked = asked_for == (id(outcome), lang)     # a new result or language asks anew

    def make():
        if not asked:
            return None
        with results.PLOT_LOCK:   # the report draws with matplotlib, like the page's figures
            path = job.report(outcome, lang)
        return base64.b64encode(path.read_bytes()).decode("ascii")

    made = solara.use_thread(make, dependencies=[asked, outcome, lang], intrusive_cancel=False)
    if asked and made.state == solara.ResultState.FINISHED and made.value:
        name = "report.html" if lang == "en" else f"report.{lang}.html"
        solara.HTML(tag="div", unsafe_innerHTML=f'<a class="regie-download" download="{name}" '
                    f'href="data:text/html;base64,{made.value}">{html.escape(t("download", lang))}</a>')
    elif asked and made.state == solara.ResultState.ERROR:
        Note(t("failed", lang, error=made.error), "error", "regie-report-failed")
    elif asked:
        solara.Text(t("making_report", lang), classes=["regie-making-report"])
    else:
        solara.Button(t("make_report", lang), on_click=lambda: set_asked_for((id(outcome), lang)),
                      classes=["regie-make-report"], outlined=True)


@solara.component
def Results(outcome, job: Job, lang: str, stale: bool):
    tables = solara.use_memo(lambda: (results.comparison_table(outcome, lang), results.cost_table(outcome, lang)),
                             [outcome, lang])
    figures = solara.use_thread(lambda: results.figures(outcome, lang), dependencies=[outcome, lang],
                                intrusive_cancel=False)
    reps = len(job.seeds)
    years = outcome.scenarios[0].horizon_years
    solara.Text(t("done", lang, reps=reps, years=years, total=job.total,
                  seconds=format_number(outcome.seconds, lang, "plain", decimals=1)), classes=["regie-done"])
    if stale:
        Note(t("stale", lang), "warning", "regie-stale")
    ReportDownload(outcome, job, lang)
    shown = figures.value if figures.state == solara.ResultState.FINISHED else None
    tab, set_tab = solara.use_state("table")
    # own tab buttons: solara.lab.Tabs needs Vuetify 2's TabsSlider, which ipyvuetify 3 lacks
    with solara.Row(style={"flex-wrap": "wrap", "gap": "4px"}):
        for key in TABS:
            solara.Button(t(f"tab_{key}", lang), on_click=lambda key=key: set_tab(key), text=tab != key,
                          color="primary", classes=[f"regie-tab-{key}"])
    if tab == "table":
        solara.HTML(tag="div", unsafe_innerHTML=tables[0], classes=["regie-table-box"])
    elif tab == "time":
        if shown is None:
            solara.ProgressLinear(True)
        else:
            solara.Image(shown.trajectories, width="100%", classes=["regie-trajectories"])
    elif tab == "maps":
        if shown is None:
            solara.ProgressLinear(True)
        else:
            # side by side, each half the width (a flex row would shrink them to thumbnails)
            with solara.Columns([6, 6]):
                if shown.map_start is not None:
                    solara.Image(shown.map_start, width="100%", classes=["regie-map-start"])
                solara.Image(shown.map_end, width="100%", classes=["regie-map-end"])
            solara.HTML(tag="h4", unsafe_innerHTML=html.escape(t("map_probability", lang)))
            solara.Image(shown.map_probability, width="100%", classes=["regie-probability"])
    elif tab == "cost":
        solara.HTML(tag="div", unsafe_innerHTML=tables[1])
    elif tab == "yaml":
        solara.HTML(tag="p", unsafe_innerHTML=html.escape(t("yaml_note", lang, reps=reps)))
        with solara.Column(classes=["regie-yaml"]):
            solara.Preformatted(form.scenario_yaml(outcome.scenarios[1]))


@solara.component
def Page():
    lang, set_lang = solara.use_state(DEFAULT_LANG)
    initial = solara.use_memo(lambda: form.default_choice(DEFAULT_ARCHETYPE, DEFAULT_YEARS), [])
    choice, set_choice = solara.use_state(initial)
    submitted, set_submitted = solara.use_state(None)      # (scenarios, replicates, choice) of the last Run
    run_id, set_run_id = solara.use_state(0)
    progress, set_progress = solara.use_state((0, 0))
    refused, set_refused = solara.use_state(False)

    def check():
        try:
            return form.build(choice), {}
        except form.FormError as e:
            return None, e.problems
    built, errors = solara.use_memo(check, [choice])

    def set_instrument(kind, update):
        set_choice(lambda c: c.with_instrument(kind, update(c.instrument(kind))))

    def on_run():
        if built is None:
            set_refused(True)
            return
        set_refused(False)
        set_submitted((built, choice))
        set_progress((0, 2 * built[2]))
        set_run_id(lambda n: n + 1)

    def work(cancel):
        if submitted is None:
            return None
        (base, package, reps), _ = submitted
        job = Job(base, package, reps)
        try:
            outcome = job.run(on_progress=lambda done, total: set_progress((done, total)), lang=lang,
                              stop=cancel.is_set)
        except Cancelled:
            job.remove()
            return None
        return outcome, job

    run = solara.use_thread(work, dependencies=[run_id], intrusive_cancel=False)

    def cleanup_previous():
        value = run.value

        def remove():   # the job's folder goes when a newer result replaces it or the session ends
            if value is not None:
                value[1].remove()
        return remove
    solara.use_effect(cleanup_previous, [run.value])

    running = run.state in (solara.ResultState.STARTING, solara.ResultState.RUNNING, solara.ResultState.WAITING)
    solara.Title(t("title", lang))
    with solara.Row(style={"align-items": "center", "justify-content": "space-between"}):
        solara.HTML(tag="h2", unsafe_innerHTML=html.escape(t("title", lang)))
        solara.Button(t("language", lang), on_click=lambda: set_lang("en" if lang == "nl" else "nl"),
                      classes=["regie-lang"], text=True)
    solara.HTML(tag="p", unsafe_innerHTML=html.escape(t("intro", lang)))
    with solara.Columns([4, 8]):
        with solara.Column():
            # the inputs scroll; the Run button and why it refuses stay in view below them
            with solara.Card(style={"max-height": "70vh", "overflow-y": "auto"}):
                solara.v.Select(label=t("archetype", lang), v_model=choice.archetype, dense=True,
                                class_="regie-archetype",
                                items=_items([(a, t(f"arch_{a}", lang)) for a in form.ARCHETYPES]),
                                on_v_model=lambda a: set_choice(lambda c: replace(c, archetype=a)))
                with solara.Row():
                    NumberField(t("years", lang), choice.horizon_years,
                                lambda v: set_choice(lambda c: replace(c, horizon_years=v)),
                                _error_text(errors["horizon_years"], "%d – %d" % form.HORIZON_YEARS, lang)
                                if "horizon_years" in errors else None, "%d – %d" % form.HORIZON_YEARS, "regie-years")
                    NumberField(t("replicates", lang), choice.replicates,
                                lambda v: set_choice(lambda c: replace(c, replicates=v)),
                                _error_text(errors["replicates"], "%d – %d" % form.REPLICATES, lang)
                                if "replicates" in errors else None,
                                f"{t('replicates_hint', lang)}, " + "%d – %d" % form.REPLICATES, "regie-replicates")
                solara.HTML(tag="h4", unsafe_innerHTML=html.escape(t("instruments", lang)))
                for kind, c in choice.instruments:
                    InstrumentCard(kind, c, set_instrument, errors, lang)
            solara.Button(t("run", lang), on_click=on_run, color="primary", classes=["regie-run"], block=True)
            if refused and built is None:
                only_empty = set(errors) == {""}
                Note(t("none_on" if only_empty else "fix_first", lang), "error", "regie-refused")
        with solara.Column():
            if running:
                done, total = progress
                solara.Text(t("running", lang, done=done, total=total) if total else t("starting", lang),
                            classes=["regie-progress"])
                solara.ProgressLinear(100 * done / total if total else True)
            if run.state == solara.ResultState.ERROR:
                Note(t("failed", lang, error=run.error), "error", "regie-failed")
            if run.value is not None:
                outcome, job = run.value
                stale = submitted is not None and submitted[1] != choice
                Results(outcome, job, lang, stale)
            elif not running:
                Note(t("empty", lang), "info", "regie-empty")
