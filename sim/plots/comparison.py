"""Charts of a scenario comparison (``regie compare``): key KPI trajectories per scenario and
the cost and effect of each instrument."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from sim.plots.common import (KIND_SCALE, SCENARIO_COLOURS, SCENARIO_STYLES, _kpi_suptitle, _lang_index,
                              _no_data, _number_axis, _save_atomic, _scenarios, _summarise, _t, label,
                              metric_kind)


# Headline KPIs of the trajectory chart, in reading order (the report's tables show all key KPIs).
TRAJECTORY_METRICS: tuple[str, ...] = (
    "vacancy_units", "vacancy_units_C", "longterm_vacancy_1y", "diversity_shannon",
    "craft_culture_m2", "households", "rent_burden_over_40", "footfall_index",
    "condition_mean", "fronts_active", "conversions_total", "net_public_cost_eur",
)


BASELINE_COLOUR = "#000000"


IMPROVES_COLOUR, WORSENS_COLOUR, UNCLEAR_COLOUR = "#1f78b4", "#e6550d", "#cccccc"  # colour-blind safe pair


def _scenario_style(pos: int, scenario: str, baseline: str | None) -> tuple[str, str, float]:
    """(colour, line style, width): the baseline black and thick, the others by position."""
    if scenario == baseline:
        return BASELINE_COLOUR, "-", 2.2
    colour = SCENARIO_COLOURS[pos % len(SCENARIO_COLOURS)]
    return colour, SCENARIO_STYLES[(pos // len(SCENARIO_COLOURS)) % len(SCENARIO_STYLES)], 1.4


def trajectories_figure(metrics: pd.DataFrame, lang: str = "en", *, baseline: str | None = None,
                        scenario_labels: dict[str, str] | None = None,
                        metric_names: tuple[str, ...] = TRAJECTORY_METRICS, title: str = "") -> Figure:
    """Draw one panel per headline KPI with one line per scenario (mean, 5-95 % band).

    Shares are shown in %, euros in EUR million. Panels of metrics missing
    from ``metrics`` are left out; the legend (scenario labels) sits below.

    Args:
        metrics: Tidy table with ``year``, ``metric``, ``value`` and optionally ``scenario``
            and ``replicate``.
        lang: "en" or "nl".
        baseline: The baseline scenario (drawn black and first in the legend).
        scenario_labels: Scenario name -> legend label (default: the name).
        metric_names: The KPIs to draw, in panel order.
        title: Figure title; the replicate band note is appended.

    Returns:
        The figure (4.2 inches wide per column of panels).
    """
    _lang_index(lang)
    summary = _summarise(metrics)
    present = [m for m in metric_names if m in set(summary["metric"])]
    scenarios = _scenarios(metrics)
    if baseline in scenarios:
        scenarios = [baseline] + [s for s in scenarios if s != baseline]
    labels = scenario_labels or {}
    ncols = 4 if len(present) > 6 else max(1, min(3, len(present)))
    nrows = max(1, -(-len(present) // ncols))
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows + 0.35 * len(scenarios) / 2 + 1.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    alpha = 0.18 if len(scenarios) <= 3 else 0.08
    for ax, metric in zip(axes, present):
        kind, scale = metric_kind(metric), KIND_SCALE[metric_kind(metric)]
        for pos, scen in enumerate(scenarios):
            d = summary[(summary["scenario"] == scen) & (summary["metric"] == metric)]
            colour, style, width = _scenario_style(pos, scen, baseline)
            ax.plot(d["year"], d["mean"] * scale, color=colour, linestyle=style, linewidth=width,
                    label=labels.get(scen, scen))
            if not d.empty and d["n"].max() > 1:
                ax.fill_between(d["year"], d["lo"] * scale, d["hi"] * scale, color=colour, alpha=alpha, linewidth=0)
        ax.set_title(label(metric, lang), fontsize=10)
        ax.set_ylabel(_t(f"unit_{kind}", lang), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole years, not 2025.5
        _number_axis(ax.yaxis, lang)
        ax.grid(alpha=0.3)
    for ax in axes[len(present):]:
        ax.set_axis_off()
    if not present:
        _no_data(axes[0], lang)
    else:
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncol=min(3, len(names)), fontsize=9, frameon=False)
    _kpi_suptitle(fig, metrics, title, lang)
    return fig


def plot_key_trajectories(metrics: pd.DataFrame, path, lang: str = "en", *, baseline: str | None = None,
                          scenario_labels: dict[str, str] | None = None,
                          metric_names: tuple[str, ...] = TRAJECTORY_METRICS, title: str = "") -> Path:
    """Write ``trajectories_figure`` (same arguments) as a PNG at ``path``; returns the path written."""
    return _save_atomic(trajectories_figure(metrics, lang, baseline=baseline, scenario_labels=scenario_labels,
                                            metric_names=metric_names, title=title), path)


def split_by_cost(summary: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Split the scenarios of a comparison summary by net public cost.

    Returns:
        (scenarios with a positive net cost, scenarios without), each in order of appearance.
    """
    cost = summary.groupby("scenario", sort=False)["net_cost_eur"].first()
    costly = [str(s) for s, c in cost.items() if pd.notna(c) and c > 0]
    return costly, [str(s) for s in cost.index if str(s) not in costly]


def effect_per_euro_figure(summary: pd.DataFrame, lang: str = "en", *, baseline: str | None = None,
                           scenario_labels: dict[str, str] | None = None, title: str = "") -> Figure:
    """Draw, per key KPI, horizontal bars of the effect per EUR million net public cost per scenario.

    Bars are blue for an improvement, orange for a worsening and grey when the
    effect is not distinguishable from doing nothing. Scenarios without a
    positive net cost are left out and named in a note. The net cost itself is
    not a panel.

    Args:
        summary: Comparison summary with ``scenario``, ``metric``, ``per_meur``, ``distinguishable``,
            ``better`` ("up"/"down"), ``net_cost_eur``.
        lang: "en" or "nl".
        baseline: The baseline scenario (never drawn).
        scenario_labels: Scenario name -> bar label (default: the name).
        title: Figure title; empty for none.

    Returns:
        The figure.
    """
    _lang_index(lang)
    labels = scenario_labels or {}
    costly, free = split_by_cost(summary)
    costly = [s for s in costly if s != baseline]
    free = [s for s in free if s != baseline]
    metrics = [m for m in pd.unique(summary["metric"]) if m != "net_public_cost_eur"]
    panels = metrics if costly else []
    ncols = 3 if len(panels) > 4 else max(1, len(panels))
    nrows = max(1, -(-len(panels) // ncols))
    panel_h = 0.3 * len(costly) + 1.1
    fig = Figure(figsize=(4.0 * ncols + 2.5, panel_h * nrows + 1.8), layout="constrained")
    # A last, axis-less row holds the colour key and the note: constrained layout keeps it clear of the panels.
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[panel_h] * nrows + [0.8])
    axes = []
    for k in range(nrows * ncols):
        # one shared scenario axis: the labels are written once, left of each row
        ax = fig.add_subplot(grid[k // ncols, k % ncols], sharey=axes[0] if axes else None)
        if k % ncols:
            ax.tick_params(labelleft=False)
        axes.append(ax)
    for ax, metric in zip(axes, panels):
        _draw_effect_panel(ax, summary[summary["metric"] == metric], costly, labels, metric, lang)
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    key = fig.add_subplot(grid[nrows, :])
    key.set_axis_off()
    if not costly:
        axes[0].text(0.5, 0.5, _t("no_costly_scenario", lang), ha="center", va="center", fontsize=11, color="0.4",
                     transform=axes[0].transAxes)
    else:
        key.legend(handles=[Patch(facecolor=c, edgecolor="0.3", label=_t(k, lang)) for c, k in (
            (IMPROVES_COLOUR, "improves"), (WORSENS_COLOUR, "worsens"), (UNCLEAR_COLOUR, "not_distinguishable"))],
            loc="upper center", ncol=3, fontsize=9, frameon=False)
    if free:
        names = ", ".join(labels.get(s, s) for s in free)
        key.text(0.5, 0.15, _t("skipped_no_cost", lang).format(names=names), fontsize=9, color="0.3",
                 ha="center", va="center", wrap=True, transform=key.transAxes)
    if title:
        fig.suptitle(title)
    return fig


def plot_effect_per_euro(summary: pd.DataFrame, path, lang: str = "en", *, baseline: str | None = None,
                         scenario_labels: dict[str, str] | None = None, title: str = "") -> Path:
    """Write ``effect_per_euro_figure`` (same arguments) as a PNG at ``path``; returns the path written."""
    return _save_atomic(effect_per_euro_figure(summary, lang, baseline=baseline, scenario_labels=scenario_labels,
                                               title=title), path)


def _draw_effect_panel(ax, rows: pd.DataFrame, scenarios: list[str], labels: dict[str, str], metric: str,
                       lang: str) -> None:
    """One KPI: a horizontal bar per scenario (top to bottom in ``scenarios`` order)."""
    kind = metric_kind(metric)
    by_scen = rows.set_index("scenario")
    values, colours = [], []
    for scen in scenarios:
        row = by_scen.loc[scen] if scen in by_scen.index else None
        value = float(row["per_meur"]) * KIND_SCALE[kind] if row is not None and pd.notna(row["per_meur"]) else 0.0
        values.append(value)
        if row is None or not bool(row["distinguishable"]):
            colours.append(UNCLEAR_COLOUR)
        else:
            good = (value > 0) == (str(row["better"]) == "up")
            colours.append(IMPROVES_COLOUR if good else WORSENS_COLOUR)
    y = np.arange(len(scenarios))[::-1]  # first scenario on top (no invert_yaxis: the y axis is shared)
    ax.barh(y, values, color=colours, edgecolor="0.3", linewidth=0.5)
    ax.axvline(0.0, color="0.2", linewidth=0.8)
    ticks = ["\n".join(textwrap.fill(line, 34) for line in labels.get(s, s).split("\n")) for s in scenarios]
    ax.set_yticks(y, ticks, fontsize=8)
    ax.set_ylim(-0.6, len(scenarios) - 0.4)
    ax.set_title(label(metric, lang), fontsize=10)
    ax.set_xlabel(_t(f"per_meur_{kind}", lang), fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    _number_axis(ax.xaxis, lang)
    ax.grid(axis="x", alpha=0.3)

