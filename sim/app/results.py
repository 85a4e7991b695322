"""What the page shows of a finished job, made by the functions ``regie compare`` and its report
use: the summary table's numbers and formatting (``sim.workshop.report``), the trajectory and
cost-effect charts (``sim.plots.comparison``), the maps (``sim.plots.maps``, one ``imshow`` per
layer). Figures are returned as PNG bytes for ``solara.Image``."""

from __future__ import annotations

import html
import io
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.app.runner import Outcome
from sim.app.texts import t
from sim.numbers import decimals_for, format_number
from sim.plots.common import label, metric_kind
from sim.workshop import report as rep
from sim.workshop.statistics import mean_interval, parcel_probabilities

# matplotlib's font and text caches are not safe for two threads drawing at once (two sessions
# finishing together): one drawing at a time. A lock, not state: it holds nothing of a session.
PLOT_LOCK = threading.Lock()
PNG_DPI = 90   # assumption: sharp on a laptop screen at the page's width, small enough to send at once


@dataclass
class Figures:
    """The charts and maps of a finished job in one language, as PNG bytes."""

    trajectories: bytes
    map_start: bytes | None
    map_end: bytes
    map_probability: bytes


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight")
    return buffer.getvalue()


CSS = """
<style>
.regie-table {border-collapse: collapse; font-size: 14px; width: 100%;}
.regie-table th, .regie-table td {border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left;
  vertical-align: top;}
.regie-table td.num {text-align: right;}
.regie-table .tag {font-size: 12px; padding: 0 4px; border-radius: 3px; white-space: nowrap;}
.regie-table .tag.good {background: #d8f0d8;} .regie-table .tag.bad {background: #f6d6d6;}
.regie-table .tag.nd {background: #eee; color: #555;}
.regie-note {color: #555; font-size: 13px;}
</style>
"""


def comparison_table(outcome: Outcome, lang: str) -> str:
    """One row per key KPI: doing nothing and the package at the horizon (mean, 95% interval),
    their paired difference with its verdict; the numbers and words of the report's tables."""
    summary = outcome.result.summary
    baseline, package = (s.name for s in outcome.scenarios)
    year, _ = rep.horizon_of(outcome.result.metrics)
    rows = []
    for metric in rep.metric_order(summary):
        m_rows = summary[summary["metric"] == metric]
        by_scen = m_rows.set_index("scenario")
        if baseline not in by_scen.index or package not in by_scen.index:
            continue
        level_kind = metric_kind(metric)
        level_d = decimals_for(pd.concat([m_rows["mean"], m_rows["lo"], m_rows["hi"]]), level_kind)
        cells = []
        for scen in (baseline, package):
            r = by_scen.loc[scen]
            cells.append(html.escape(rep.value_with_interval(r["mean"], r["lo"], r["hi"], lang, level_kind,
                                                             signed=False, decimals=level_d, words=False)))
        r = by_scen.loc[package].copy()
        r["metric"] = metric
        css, diff = rep.difference_cell(r, lang, rep.difference_decimals(m_rows, metric))
        rows.append(f'<tr class="{css}" data-metric="{metric}"><th scope="row">{html.escape(label(metric, lang))}</th>'
                    f"<td>{cells[0]}</td><td>{cells[1]}</td><td>{diff}</td></tr>")
    names = rep.scenario_label(package, lang, baseline=baseline)
    head = (f'<tr><th scope="col">{t("col_kpi", lang)}</th><th scope="col">{t("col_nothing", lang)}</th>'
            f'<th scope="col">{html.escape(names if package != "package" else t("col_package", lang))}</th>'
            f'<th scope="col">{t("col_diff", lang)}</th></tr>')
    caption = html.escape(t("at_year", lang, year=year)) if year else ""
    return (f'{CSS}<table class="regie-table" id="regie-comparison"><caption style="text-align:left">{caption}'
            f"</caption><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
            f'<p class="regie-note">{html.escape(t("table_note", lang))}</p>')


def _horizon_rows(metrics: pd.DataFrame, scenario: str) -> pd.DataFrame:
    rows = metrics[metrics["scenario"] == scenario]
    return rows[rows["step"] == rows["step"].max()]


def cost_table(outcome: Outcome, lang: str) -> str:
    """The package's net public cost at the horizon, and its parts per instrument: net cost,
    spending and income summed over the steps, staff hours; means over the replicates."""
    metrics = outcome.result.metrics
    package = outcome.scenarios[1]
    from sim.instruments import build_instruments
    names = [i.name for i in build_instruments(package.instruments)]
    end = _horizon_rows(metrics, package.name).pivot(index="replicate", columns="metric", values="value")
    rows_all = metrics[metrics["scenario"] == package.name]
    sums = rows_all.groupby(["metric", "replicate"])["value"].sum().unstack("metric")
    mean, lo, hi = mean_interval(end["net_public_cost_eur"].to_numpy())
    years = package.horizon_years
    total = t("cost_total", lang, years=years, eur=format_number(mean, lang, "eur"),
              lo=format_number(lo, lang, "eur", unit=False) if np.isfinite(lo) else "–",
              hi=format_number(hi, lang, "eur", unit=False) if np.isfinite(hi) else "–")
    body = []
    for name in names:
        kind = name.rsplit("_", 1)[0] if name not in rep.INSTRUMENT_LABELS else name
        shown = rep.INSTRUMENT_LABELS.get(kind, (name, name))[0 if lang == "en" else 1]

        def col(frame: pd.DataFrame, metric: str) -> float:
            return float(frame[metric].mean()) if metric in frame else float("nan")

        cells = [format_number(col(end, f"{name}_net_public_cost_eur"), lang, "eur"),
                 format_number(col(sums, f"spend_eur_{name}"), lang, "eur"),
                 format_number(col(sums, f"income_eur_{name}"), lang, "eur"),
                 format_number(col(sums, f"staff_hours_{name}"), lang, "count", decimals=0)]
        body.append(f"<tr><th scope='row'>{html.escape(shown)}</th>"
                    + "".join(f'<td class="num">{html.escape(c)}</td>' for c in cells) + "</tr>")
    head = "".join(f'<th scope="col">{t(k, lang)}</th>' for k in
                   ("col_instrument", "col_net_cost", "col_spend", "col_income", "col_staff"))
    return (f'{CSS}<p id="regie-cost-total">{html.escape(total)}</p><table class="regie-table" id="regie-cost">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f'<p class="regie-note">{html.escape(t("cost_note", lang))}</p>')


def figures(outcome: Outcome, lang: str) -> Figures:
    """The KPI trajectories (package and doing nothing, mean and 5-95% band: one panel per headline
    KPI) and the maps: the city at the start, at the horizon with the package (its typical
    replicate), and per building the chance of vacancy, long-term vacancy, a front and poor
    condition with its difference from doing nothing. About 2 s for a midsize city."""
    from sim.plots import TRAJECTORY_METRICS
    from sim.plots.comparison import trajectories_figure
    from sim.plots.maps import map_figure, probability_maps_figure

    metrics = outcome.result.metrics
    baseline, package = (s.name for s in outcome.scenarios)
    short = {baseline: t("col_nothing", lang),
             package: t("col_package", lang) if package == "package" else rep.scenario_label(package, lang)}
    year, _ = rep.horizon_of(metrics)
    with PLOT_LOCK:
        trajectories = png(trajectories_figure(metrics, lang, baseline=baseline, scenario_labels=short,
                                               metric_names=TRAJECTORY_METRICS))
        reference, state = outcome.states[baseline], outcome.states[package]
        start = None
        if outcome.start is not None:
            start = png(map_figure(outcome.start, t("map_start", lang, year=outcome.scenarios[0].start_year), lang))
        typical = rep.typical_replicate(state)
        end_city = {"use": np.asarray(state["use"])[typical], "land": state["land"],
                    "street_class": state["street_class"]}
        end = png(map_figure(end_city, t("map_end", lang, year=year), lang))
        probability = png(probability_maps_figure(parcel_probabilities(state), np.asarray(state["land"]),
                                                  rep.layer_masks(state), len(np.asarray(state["vacant"])), lang,
                                                  differences=rep.map_differences(state, reference),
                                                  title=short[package]))
    return Figures(trajectories, start, end, probability)
