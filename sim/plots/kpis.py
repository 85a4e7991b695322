"""The KPI overview of a run (``regie run``): a 2x3 grid of time series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.uses import USES
from sim.plots.common import (SCENARIO_COLOURS, SCENARIO_STYLES, _kpi_suptitle, _lang_index, _no_data, _number_axis,
                              _save_atomic, _scenarios, _summarise, _t, label)


# Line panels: (panel title key, y-label key, metrics, scale to display units).
# The use-mix panel (b) is drawn separately as a stacked area.
LINE_PANELS: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    ("panel_vacancy", "y_vacancy",
     ("vacancy_units", "vacancy_units_A1", "vacancy_units_A2", "vacancy_units_B", "vacancy_units_C"), 100.0),
    ("panel_footfall", "y_footfall", ("footfall_index",), 1.0),
    ("panel_condition", "y_condition", ("condition_mean",), 1.0),
    ("panel_households", "y_households", ("households",), 1.0),
    ("panel_fronts", "y_fronts", ("fronts_active", "fronts_detected"), 1.0),
)


# Line colours in multi-metric panels (one colour per metric, one line style
# per scenario). Single-metric panels colour by scenario instead.
SERIES_COLOURS: dict[str, str] = {
    "vacancy_units": "#000000",
    "vacancy_units_A1": "#08306b",
    "vacancy_units_A2": "#2b8cbe",
    "vacancy_units_B": "#31a354",
    "vacancy_units_C": "#e6550d",
    "fronts_active": "#d62728",
    "fronts_detected": "#1f77b4",
}


def _series_style(metric_pos: int, metric: str, n_metrics: int, scen_pos: int) -> tuple[str, str]:
    """Return (colour, line style) for one metric of one scenario.

    Multi-metric panels colour by metric and vary the line style by scenario;
    single-metric panels colour by scenario.
    """
    if n_metrics > 1:
        colour = SERIES_COLOURS.get(metric, SCENARIO_COLOURS[metric_pos % len(SCENARIO_COLOURS)])
        return colour, SCENARIO_STYLES[scen_pos % len(SCENARIO_STYLES)]
    return SCENARIO_COLOURS[scen_pos % len(SCENARIO_COLOURS)], "-"


def _series_label(metric: str, n_metrics: int, scenario: str, n_scen: int, lang: str) -> str:
    """Return the legend label: metric (street class for vacancy) and/or scenario."""
    if metric == "vacancy_units":
        name = _t("all_streets", lang)
    elif metric.startswith("vacancy_units_"):
        name = label(metric[len("vacancy_units_"):], lang)
    else:
        name = label(metric, lang)
    if n_scen <= 1:
        return name
    return f"{name} – {scenario}" if n_metrics > 1 else scenario


def _draw_line_panel(ax, summary: pd.DataFrame, scenarios: list[str], metrics: tuple[str, ...],
                     scale: float, lang: str) -> bool:
    """Draw mean lines (and 5-95 % bands) of ``metrics`` for every scenario.

    Returns:
        True if at least one series had data.
    """
    drawn = 0
    for s_pos, scen in enumerate(scenarios):
        for m_pos, metric in enumerate(metrics):
            d = summary[(summary["scenario"] == scen) & (summary["metric"] == metric)]
            if d.empty:
                continue
            colour, style = _series_style(m_pos, metric, len(metrics), s_pos)
            ax.plot(d["year"], d["mean"] * scale, color=colour, linestyle=style, linewidth=1.5,
                    label=_series_label(metric, len(metrics), scen, len(scenarios), lang))
            if d["n"].max() > 1:
                ax.fill_between(d["year"], d["lo"] * scale, d["hi"] * scale, color=colour, alpha=0.15,
                                linewidth=0)
            drawn += 1
    if drawn > 1:
        ax.legend(fontsize=7, framealpha=0.8)
    _number_axis(ax.yaxis, lang)
    return drawn > 0


def _draw_use_mix(ax, summary: pd.DataFrame, scenarios: list[str], lang: str) -> list[Patch]:
    """Draw the stacked-area use mix (percent) of the first scenario.

    Homes are left out and the rest renormalised to 100%: the panel shows the
    mix of non-residential ground floors, which is what use-mix policy is about.

    Returns:
        Legend patches for the uses drawn (empty when there is no data).
    """
    i = _lang_index(lang)
    d = summary[summary["scenario"] == scenarios[0]]
    years = np.sort(d["year"].unique())
    layers, colours, handles = [], [], []
    for u in USES:
        if u.name == "residential":
            continue
        m = d[d["metric"] == f"share_{u.name}"].set_index("year")["mean"]
        if m.empty:
            continue
        layers.append(m.reindex(years).fillna(0.0).to_numpy() * 100.0)
        colours.append(u.colour)
        handles.append(Patch(facecolor=u.colour, edgecolor="0.4", label=(u.label_en, u.label_nl)[i]))
    if layers:
        stack = np.vstack(layers)
        stack = 100.0 * stack / np.maximum(stack.sum(axis=0), 1e-12)
        ax.stackplot(years, stack, colors=colours, linewidth=0)
        ax.set_ylim(0, 100.0)
    return handles


def kpis_figure(metrics: pd.DataFrame, lang: str = "en", title: str = "") -> Figure:
    """Draw a 2x3 grid of KPI time series.

    Panels: (a) vacancy share of units overall and per street class (%),
    (b) stacked use mix from ``share_<use>`` (%), (c) footfall index,
    (d) mean condition, (e) households, (f) active and detected criminal
    fronts. With several replicates each line is the mean with a 5-95 %
    band; with several scenarios there is one line per scenario (the use-mix
    panel shows the first scenario only and says so). Panels whose metrics
    are missing show "no data".

    Args:
        metrics: Tidy table with columns ``year`` (float), ``metric`` (str),
            ``value`` (float), optionally ``replicate`` and ``scenario``.
            Vacancy and ``share_*`` values are fractions (0-1).
        lang: "en" or "nl" for titles, labels and legends.
        title: Figure title; empty for none.

    Returns:
        The figure (15 × 8.5 inches).

    Raises:
        ValueError: if ``year``, ``metric`` or ``value`` is missing, or ``lang`` is unknown.
    """
    _lang_index(lang)
    summary = _summarise(metrics)
    scenarios = _scenarios(metrics)
    fig = Figure(figsize=(15.0, 8.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    line_axes = [axes[0], *axes[2:]]
    for ax, (title_key, ylabel_key, names, scale) in zip(line_axes, LINE_PANELS):
        ax.set_title(_t(title_key, lang), fontsize=10)
        if _draw_line_panel(ax, summary, scenarios, names, scale, lang):
            ax.set_xlabel(_t("year", lang))
            ax.set_ylabel(_t(ylabel_key, lang))
        else:
            _no_data(ax, lang)
    _use_mix_panel(fig, axes[1], summary, scenarios, lang)
    _kpi_suptitle(fig, metrics, title, lang)
    return fig


def plot_kpis(metrics: pd.DataFrame, path, lang: str = "en", title: str = "") -> Path:
    """Write ``kpis_figure(metrics, lang, title)`` as a PNG at ``path`` (parent folders are
    created); returns the path written. Raises as ``kpis_figure``."""
    return _save_atomic(kpis_figure(metrics, lang, title), path)


def _use_mix_panel(fig: Figure, ax, summary: pd.DataFrame, scenarios: list[str], lang: str) -> None:
    """Fill panel (b) and put its legend outside, right of the figure."""
    panel_title = _t("panel_use_mix", lang)
    if len(scenarios) > 1:
        panel_title += f" ({_t('scenario', lang)}: {scenarios[0]})"
    ax.set_title(panel_title, fontsize=10)
    handles = _draw_use_mix(ax, summary, scenarios, lang)
    if not handles:
        _no_data(ax, lang)
        return
    ax.set_xlabel(_t("year", lang))
    ax.set_ylabel(_t("y_use_mix", lang))
    fig.legend(handles=handles[::-1], loc="outside right upper", fontsize=8, frameon=False,
               title=_t("uses", lang), title_fontsize=9)

