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

from sim.i18n import text
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
        ax.set_title(textwrap.fill(label(metric, lang), 38), fontsize=10)   # long Dutch labels would run into the next panel
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


# =========================================================================== small multiples and cost-effect
#
# The workshop report's charts for a non-modeller: one figure per KPI with one small panel per
# instrument scenario against doing nothing (``trajectory_panels_figure``), and one cost-effect
# chart (``cost_effect_figure``) that shows net public cost and effect side by side instead of
# dividing one by the other.

TEXT_COMPARISON: dict[str, tuple[str, str]] = {
    "doing_nothing_mean": ("doing nothing (mean)", "niets doen (gemiddelde)"),
    "scenario_mean": ("the panel's scenario (mean)", "scenario van het paneel (gemiddelde)"),
    "band_replicates": ("band: 5–95% of the {n} replicates", "band: 5–95% van de {n} replicaties"),
    "band_one_run": ("one run per scenario (no band)", "één run per scenario (geen band)"),
    "y_range_note": ("Same y axis in every panel: {range}", "Alle panelen hebben dezelfde y-as: {range}"),
    "cost_axis": ("Net public cost (EUR million)", "Netto publieke kosten (miljoen euro)"),
    "diff_axis": ("Difference from doing nothing", "Verschil met niets doen"),
    "unit_points": ("percentage points", "procentpunt"),
    "unit_eur_diff": ("EUR million", "miljoen euro"),
    "unit_m2_diff": ("m²", "m²"),
    "unit_count_diff": ("number", "aantal"),
    "unit_index_diff": ("index", "index"),
    "interval_note": ("Each point is a scenario at the end of the run; the lines through it show the 95% "
                      "confidence interval.",
                      "Elk punt is een scenario aan het eind van de simulatie; de lijnen erdoorheen tonen het "
                      "95%-betrouwbaarheidsinterval."),
    "scenario_numbers": ("Scenarios", "Scenario's"),
    "no_scenarios": ("No scenario besides doing nothing", "Geen scenario naast niets doen"),
}


def _tc(key: str, lang: str) -> str:
    """Fixed text of the comparison charts (``TEXT_COMPARISON``) in language ``lang``."""
    return text(TEXT_COMPARISON, key, lang)


# Paul Tol's "muted" scheme (https://personal.sron.nl/~pault/, colour-blind safe, designed for
# lines), its two lightest colours (sand #DDCC77, cyan #88CCEE) last: thin lines of those are hard
# to see on white. With more than nine scenarios the colours repeat, the line style does not.
PANEL_COLOURS: tuple[str, ...] = ("#332288", "#CC6677", "#117733", "#AA4499", "#44AA99", "#882255",
                                  "#999933", "#88CCEE", "#DDCC77")
# Line style by position too (with colour: two cues, and the line reads in grey print).
PANEL_STYLES: tuple = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (5, 1.5, 1, 1.5)))
DOING_NOTHING_COLOUR = "#222222"
DOING_NOTHING_BAND = "#9a9a9a"

# Minimum span of the shared y axis (in shown units), so that a small change does not look large.
# Assumption (no standard exists): a share axis spans at least 10 percentage points, an index at
# least 0.2 (±0.1 around the data), anything else at least 20% of the mean level shown.
MIN_Y_SPAN_SHARE_PP = 10.0
MIN_Y_SPAN_INDEX = 0.2
MIN_Y_SPAN_REL_LEVEL = 0.2

# Panel size of the small multiples in inches (assumption: five across fit a report page of ~1,300
# pixels at the report DPI; a panel is still readable at 7–8 pt labels).
PANEL_W_IN, PANEL_H_IN, PANEL_COLS_MAX = 2.45, 1.7, 5


def scenario_style(position: int) -> tuple[str, object]:
    """(colour, line style) of the scenario at ``position`` (0-based, baseline excluded) in the
    comparison's scenario order: the same scenario looks the same in every KPI figure."""
    return (PANEL_COLOURS[position % len(PANEL_COLOURS)], PANEL_STYLES[position % len(PANEL_STYLES)])


def is_all_zero(metrics: pd.DataFrame, metric: str) -> bool:
    """True when ``metric`` has values and every one of them (all scenarios, replicates and years) is 0.

    Such a KPI (e.g. no criminal fronts in this city) has nothing to draw; the report says so in a
    sentence instead. A metric without rows is not "all zero" (it is missing).
    """
    values = metrics.loc[metrics["metric"].astype(str) == metric, "value"].astype(float).dropna()
    return bool(len(values) > 0 and (values == 0.0).all())


def _nice_step(lo: float, hi: float) -> float:
    """A round step (1, 2, 5 × 10^k) of about a tenth of [lo, hi]: the y limits are multiples of it
    (a tick step would be too coarse: a cost from −0.02 would start the axis at −0.5)."""
    ticks = MaxNLocator(nbins=10, steps=[1, 2, 5, 10]).tick_values(lo, hi)
    return float(ticks[1] - ticks[0])


def _y_limits(data_lo: float, data_hi: float, level: float, kind: str) -> tuple[float, float, float]:
    """Shared y limits (shown units) covering [data_lo, data_hi] with at least the minimum span.

    Returns:
        (y_min, y_max, tick step); the limits are multiples of the step.
    """
    if kind == "share":
        min_span = MIN_Y_SPAN_SHARE_PP
    elif kind == "index":
        min_span = MIN_Y_SPAN_INDEX
    else:
        min_span = MIN_Y_SPAN_REL_LEVEL * abs(level)
    span = max(1.1 * (data_hi - data_lo), min_span)   # 10% room around the data (assumption)
    if span <= 0.0:
        span = 1.0                                      # a constant non-zero level: one unit
    mid = 0.5 * (data_lo + data_hi)
    y_min, y_max = mid - span / 2, mid + span / 2
    if data_lo >= 0.0 and y_min < 0.0:                  # a share, count or cost that is never negative
        y_min, y_max = 0.0, y_max - y_min
    if kind == "share" and data_hi <= 100.0 and y_max > 100.0:
        y_min, y_max = max(0.0, y_min - (y_max - 100.0)), 100.0
    step = _nice_step(y_min, y_max)
    y_min, y_max = np.floor(y_min / step + 1e-9) * step, np.ceil(y_max / step - 1e-9) * step
    return float(round(y_min, 12)), float(round(y_max, 12)), step


def _range_text(y_min: float, y_max: float, step: float, kind: str, lang: str) -> str:
    """'5–15%', '€ 0,5–2,0 miljoen', '1,6–2,0': the shared y range in words of ``lang``."""
    from sim.numbers import format_number   # the report's number style (decimal comma in Dutch)
    decimals = max(0, -int(np.floor(np.log10(step) + 1e-9)))
    lo, hi = (format_number(v, lang, "plain", decimals=decimals, unit=False) for v in (y_min, y_max))
    if kind == "share":
        return f"{lo}–{hi}%"
    if kind == "eur":
        return f"EUR {lo}–{hi} million" if lang == "en" else f"€ {lo}–{hi} miljoen"
    if kind == "m2":
        return f"{lo}–{hi} m²"
    return f"{lo}–{hi}"


def _yearly(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows at whole years and at the horizon (the last year) when the table has per-step rows.

    A workshop reads trends over years; quarterly wiggles add ink and file size (a PNG of
    per-quarter bands is about twice as large) but no message.
    """
    year = rows["year"].astype(float)
    keep = np.isclose(year, np.round(year)) | (year == year.max())
    return rows[keep] if year[keep].nunique() >= 2 else rows


def trajectory_panels_figure(metrics: pd.DataFrame, metric: str, lang: str = "en", *, baseline: str,
                             scenario_labels: dict[str, str] | None = None, title: str = "") -> Figure | None:
    """Small multiples of one KPI: a panel per scenario, each against doing nothing.

    Each panel shows the mean over replicates of its scenario (colour and line style by the
    scenario's position in the scenario order, so the same in every KPI figure) and of doing
    nothing (dark grey), each with a band of 5–95% of the replicates. All panels share the y axis,
    which spans at least ``MIN_Y_SPAN_*`` (a small change does not fill the panel) and is named in
    the legend title; the x axis runs from the first year to the horizon (the last year).

    Args:
        metrics: Tidy table with ``scenario``, ``replicate``, ``year``, ``metric``, ``value``.
        metric: The KPI to draw (shares shown in %, euros in EUR million).
        lang: "en" or "nl".
        baseline: The doing-nothing scenario.
        scenario_labels: Scenario name -> panel title (default: the name).
        title: Figure title (default: the KPI's label).

    Returns:
        The figure, or None when the KPI is 0 everywhere (``is_all_zero``): the caller says so in words.

    Raises:
        ValueError: for an unknown ``lang``, a metric without rows, or a baseline missing from ``metrics``.
    """
    _lang_index(lang)
    if is_all_zero(metrics, metric):
        return None
    rows = metrics[metrics["metric"].astype(str) == metric]
    if rows.empty:
        raise ValueError(f"metrics has no rows of {metric!r}")
    scenarios = _scenarios(metrics)
    if baseline not in scenarios:
        raise ValueError(f"baseline {baseline!r} is not a scenario of metrics ({scenarios})")
    others = [s for s in scenarios if s != baseline]
    labels = scenario_labels or {}
    kind, scale = metric_kind(metric), KIND_SCALE[metric_kind(metric)]
    summary = _summarise(_yearly(rows))
    summary[["mean", "lo", "hi"]] *= scale
    by_scen = {s: d.sort_values("year") for s, d in summary.groupby("scenario", sort=False)}
    n_rep = int(rows["replicate"].nunique()) if "replicate" in rows.columns else 1
    year_first, year_last = float(summary["year"].min()), float(summary["year"].max())
    y_min, y_max, step = _y_limits(float(summary["lo"].min()), float(summary["hi"].max()),
                                   float(summary["mean"].abs().mean()), kind)

    n_panels = max(1, len(others))
    ncols = min(PANEL_COLS_MAX, n_panels)
    nrows = -(-n_panels // ncols)
    fig = Figure(figsize=(PANEL_W_IN * ncols + 0.6, PANEL_H_IN * nrows + 1.3), layout="constrained")
    fig.get_layout_engine().set(wspace=0.06)   # room between one panel's "2045" and the next one's "2025"
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
    base = by_scen.get(baseline)
    for pos, (ax, scen) in enumerate(zip(axes, others)):
        colour, style = scenario_style(pos)
        own = by_scen.get(scen)
        for d, c, ls, width, alpha in ((base, DOING_NOTHING_COLOUR, "-", 1.3, 0.28), (own, colour, style, 1.8, 0.25)):
            if d is None:
                continue
            if n_rep > 1:
                ax.fill_between(d["year"], d["lo"], d["hi"], color=DOING_NOTHING_BAND if c == DOING_NOTHING_COLOUR
                                else c, alpha=alpha, linewidth=0)
            ax.plot(d["year"], d["mean"], color=c, linestyle=ls, linewidth=width)
        if own is None:
            ax.text(0.5, 0.5, _t("no_data", lang), transform=ax.transAxes, ha="center", va="center",
                    fontsize=8, color="0.4")
        name = labels.get(scen, scen)
        ax.set_title(textwrap.fill(name, 30), fontsize=8.5, loc="left")   # black: sand on white is unreadable
        ax.tick_params(labelsize=7.5, length=2.5)
        ax.grid(alpha=0.25, linewidth=0.6)
    for ax in axes[len(others):]:
        ax.set_axis_off()
    for ax in axes[:len(others)] if others else axes[:1]:
        _number_axis(ax.yaxis, lang)
    axes[0].set_xlim(year_first, year_last)   # starts at the first year, ends exactly at the horizon
    axes[0].set_ylim(y_min, y_max)
    axes[0].yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    axes[0].xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))   # whole years, not 2025.5
    for r in range(nrows):
        axes[r * ncols].set_ylabel(_t(f"unit_{kind}", lang), fontsize=8)
    if not others:
        _no_data(axes[0], lang)

    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=DOING_NOTHING_COLOUR, linewidth=1.3),
               Line2D([], [], color=scenario_style(0)[0], linewidth=1.8)]
    names = [_tc("doing_nothing_mean", lang), _tc("scenario_mean", lang)]
    if n_rep > 1:
        handles.append(Patch(facecolor=DOING_NOTHING_BAND, alpha=0.4, linewidth=0))
        names.append(_tc("band_replicates", lang).format(n=n_rep))
    else:
        handles.append(Line2D([], [], linestyle="none"))
        names.append(_tc("band_one_run", lang))
    note = _tc("y_range_note", lang).format(range=_range_text(y_min, y_max, step, kind, lang))
    fig.legend(handles, names, loc="outside lower center", ncol=3, fontsize=8, frameon=False,
               title=note, title_fontsize=8)
    fig.suptitle(title or _kpi_title(metric, lang), fontsize=11)
    return fig


def _kpi_title(metric: str, lang: str) -> str:
    """The KPI's label without a trailing "(EUR)": the axis says "EUR million"."""
    text = label(metric, lang)
    return text[:-len(" (EUR)")] if text.endswith(" (EUR)") else text


def plot_trajectory_panels(metrics: pd.DataFrame, path, metric: str, lang: str = "en", *, baseline: str,
                           scenario_labels: dict[str, str] | None = None, title: str = "") -> Path | None:
    """Write ``trajectory_panels_figure`` (same arguments) as a PNG at ``path``.

    Returns:
        The path written, or None (nothing written) when the KPI is 0 everywhere.
    """
    fig = trajectory_panels_figure(metrics, metric, lang, baseline=baseline, scenario_labels=scenario_labels,
                                   title=title)
    return None if fig is None else _save_atomic(fig, path, palette=True)


NOT_DISTINGUISHABLE_EDGE = "#8c8c8c"   # hollow marker: UNCLEAR_COLOUR (#cccccc) is too light for a thin ring
MARKER_SIZE_PT = 7.0                   # marker diameter in points
LABEL_FONT_PT = 8.0
# Offsets tried for a number label, as (x, y) directions from its marker; rings of growing distance.
_LABEL_DIRECTIONS = ((1, 0), (0, 1), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))
_LABEL_RINGS = 6


def _diff_unit(kind: str) -> str:
    """TEXT_COMPARISON key of the unit of a difference: shares in percentage points."""
    return "unit_points" if kind == "share" else f"unit_{kind}_diff"


def _scenario_costs_meur(summary: pd.DataFrame, scenarios: list[str]) -> dict[str, tuple[float, float, float]]:
    """Net public cost per scenario in EUR million: (mean, lo, hi) of the 95% interval.

    From the rows of ``net_public_cost_eur``; a scenario without such a row takes ``net_cost_eur``
    (a mean without interval: lo and hi NaN).
    """
    rows = summary[summary["metric"].astype(str) == "net_public_cost_eur"].drop_duplicates("scenario")
    rows = rows.set_index(rows["scenario"].astype(str))
    out = {}
    for s in scenarios:
        if s in rows.index:
            out[s] = tuple(float(rows.at[s, c]) * 1e-6 for c in ("mean", "lo", "hi"))
        else:
            cost = summary.loc[summary["scenario"].astype(str) == s, "net_cost_eur"]
            out[s] = (float(cost.iloc[0]) * 1e-6 if len(cost) else np.nan, np.nan, np.nan)
    return out


def _limits_with_room(values: list[float], room: float = 0.14) -> tuple[float, float]:
    """Limits covering ``values`` and 0 with ``room`` (a share of the span, assumption: space for the
    number labels) on each side."""
    finite = [v for v in values if np.isfinite(v)] + [0.0]
    lo, hi = min(finite), max(finite)
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - room * span, hi + room * span


def cost_effect_figure(summary: pd.DataFrame, lang: str = "en", *, baseline: str,
                       scenario_labels: dict[str, str] | None = None, metrics: list[str] | None = None,
                       title: str = "") -> Figure:
    """Net public cost against effect, one panel per key KPI, each scenario a numbered point.

    x is the scenario's net public cost (EUR million) with its 95% interval, y its difference from
    doing nothing at the horizon (shares in percentage points) with its 95% interval. A point is
    blue for an improvement, orange for a worsening, and a hollow grey ring when the difference is
    not distinguishable from doing nothing. Scenarios are numbered 1, 2, … in summary order (the
    baseline left out); the key below the panels names them. Number labels are placed beside their
    point where they overlap no other label or point (a deterministic search, measured with the
    renderer); points that coincide share one label ("3,7").

    Args:
        summary: Comparison summary: ``scenario, metric, mean, lo, hi, diff, diff_lo, diff_hi,
            distinguishable, better, net_cost_eur``; the rows of ``net_public_cost_eur`` give the cost.
        lang: "en" or "nl".
        baseline: The doing-nothing scenario (not drawn).
        scenario_labels: Scenario name -> name in the key (default: the name).
        metrics: KPIs to draw, in panel order (default: every metric of ``summary`` except
            ``net_public_cost_eur``, in summary order).
        title: Figure title; empty for none.

    Returns:
        The figure.

    Raises:
        ValueError: for an unknown ``lang`` or a metric of ``metrics`` missing from ``summary``.
    """
    _lang_index(lang)
    labels = scenario_labels or {}
    names = [str(s) for s in pd.unique(summary["scenario"].astype(str)) if str(s) != baseline]
    number = {s: i + 1 for i, s in enumerate(names)}
    present = [str(m) for m in pd.unique(summary["metric"].astype(str))]
    if metrics is None:
        metrics = [m for m in present if m != "net_public_cost_eur"]
    missing = [m for m in metrics if m not in present]
    if missing:
        raise ValueError(f"summary has no rows of {missing}")
    costs = _scenario_costs_meur(summary, names)
    x_lim = _limits_with_room([v for c in costs.values() for v in c])

    n_panels = max(1, len(metrics))
    ncols = min(3, n_panels)
    nrows = -(-n_panels // ncols)
    panel_w, panel_h = 3.7, 2.9
    key_rows = -(-len(names) // 2) if names else 0     # two columns of "1 = name"
    fig_w = max(panel_w * ncols, 2 * panel_w)   # at least two panels: the colour key is one line of ~7 inches
    # the note wrapped to the figure (about 13 characters of 8.5 pt per inch, measured)
    interval_note = textwrap.fill(_tc("interval_note", lang), int(13 * fig_w))
    colour_key_h = 0.47 + 0.15 * interval_note.count("\n") + 0.15   # inches: note lines and the colour key
    key_h = colour_key_h + 0.2 * (key_rows + 1) + 0.1
    fig = Figure(figsize=(fig_w, panel_h * nrows + key_h + 0.4), layout="constrained")
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[panel_h] * nrows + [key_h])
    axes = [fig.add_subplot(grid[k // ncols, k % ncols]) for k in range(nrows * ncols)]
    drawn = []
    for ax, metric in zip(axes, metrics):
        points = _draw_cost_effect_panel(ax, summary[summary["metric"].astype(str) == metric], names, costs,
                                         metric, lang)
        ax.set_xlim(*x_lim)
        drawn.append((ax, points))
    for ax in axes[len(metrics):]:
        ax.set_axis_off()
    if not names:
        axes[0].text(0.5, 0.5, _tc("no_scenarios", lang), transform=axes[0].transAxes, ha="center",
                     va="center", fontsize=11, color="0.4")

    key = fig.add_subplot(grid[nrows, :])
    key.set_axis_off()
    from matplotlib.lines import Line2D
    colour_key = key.legend(
        handles=[Line2D([], [], linestyle="none", marker="o", markersize=MARKER_SIZE_PT, color=c,
                        markerfacecolor=f, markeredgecolor=c) for c, f in (
            (IMPROVES_COLOUR, IMPROVES_COLOUR), (WORSENS_COLOUR, WORSENS_COLOUR),
            (NOT_DISTINGUISHABLE_EDGE, "white"))],
        labels=[_t("improves", lang), _t("worsens", lang), _t("not_distinguishable", lang)],
        loc="upper center", ncol=3, fontsize=8.5, frameon=False, title=interval_note,
        title_fontsize=8.5)
    key.add_artist(colour_key)
    if names:
        blank = [Line2D([], [], linestyle="none")] * len(names)
        entries = [f"{number[s]} = {labels.get(s, s)}" for s in names]
        # column-major order of a two-column legend: 1..k left, k+1.. right
        key.legend(blank, entries, loc="upper center", bbox_to_anchor=(0.5, 1.0 - colour_key_h / key_h), ncol=2 if len(names) > 1 else 1, fontsize=8.5,
                   frameon=False, handlelength=0, handletextpad=0, columnspacing=3.0,
                   title=_tc("scenario_numbers", lang), title_fontsize=8.5, alignment="left")
    if title:
        fig.suptitle(title)
    _place_number_labels(fig, drawn, number)
    return fig


def _draw_cost_effect_panel(ax, rows: pd.DataFrame, names: list[str],
                            costs: dict[str, tuple[float, float, float]], metric: str,
                            lang: str) -> list[tuple[str, float, float]]:
    """One KPI: a point with two error bars per scenario. Returns (scenario, x, y) of the drawn points."""
    kind = metric_kind(metric)
    scale = KIND_SCALE[kind]
    by_scen = rows.drop_duplicates("scenario").set_index(rows.drop_duplicates("scenario")["scenario"].astype(str))
    points, y_values = [], []
    for scen in names:
        if scen not in by_scen.index:
            continue
        row = by_scen.loc[scen]
        y, y_lo, y_hi = (float(row[c]) * scale for c in ("diff", "diff_lo", "diff_hi"))
        x, x_lo, x_hi = costs[scen]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        if bool(row["distinguishable"]):
            good = (y > 0) == (str(row["better"]) == "up")
            edge = face = IMPROVES_COLOUR if good else WORSENS_COLOUR
        else:
            edge, face = NOT_DISTINGUISHABLE_EDGE, "white"
        bar_colour = edge if face != "white" else "#b0b0b0"
        xerr = [[x - x_lo], [x_hi - x]] if np.isfinite(x_lo) and np.isfinite(x_hi) else None
        yerr = [[y - y_lo], [y_hi - y]] if np.isfinite(y_lo) and np.isfinite(y_hi) else None
        ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="none", ecolor=bar_colour, elinewidth=0.9, zorder=2)
        ax.plot([x], [y], linestyle="none", marker="o", markersize=MARKER_SIZE_PT, markerfacecolor=face,
                markeredgecolor=edge, markeredgewidth=1.2, zorder=3, gid=f"scenario:{scen}")
        points.append((scen, x, y))
        y_values += [y, y_lo, y_hi]
    ax.axhline(0.0, color="0.25", linewidth=0.8, zorder=1)
    ax.set_ylim(*_limits_with_room(y_values))
    ax.set_title(textwrap.fill(_kpi_title(metric, lang), 42), fontsize=9.5)
    ax.set_ylabel(f"{_tc('diff_axis', lang)}\n({_tc(_diff_unit(kind), lang)})", fontsize=8)
    ax.set_xlabel(_tc("cost_axis", lang), fontsize=8)
    ax.tick_params(labelsize=7.5)
    _number_axis(ax.xaxis, lang)
    _number_axis(ax.yaxis, lang)
    ax.grid(alpha=0.25, linewidth=0.6)
    return points


def _place_number_labels(fig: Figure, drawn: list, number: dict[str, int]) -> None:
    """Write each point's scenario number beside it where it overlaps no other label, no point and
    stays inside the panel.

    The layout is computed first (a draw with an Agg renderer, which chooses no backend), then for
    each panel the points are grouped (points closer than a marker diameter share one label,
    "3,7") and each label tries offsets in ``_LABEL_DIRECTIONS`` on rings of growing distance, the
    first free one wins (deterministic). The labels take no part in the layout, so the final draw
    puts the panels where this one did.
    """
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import Bbox

    if not any(points for _, points in drawn):
        return
    renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), fig.dpi)
    fig.draw(renderer)
    px_per_pt = fig.dpi / 72.0
    marker_r = MARKER_SIZE_PT / 2 * px_per_pt
    font = FontProperties(size=LABEL_FONT_PT)
    for ax, points in drawn:
        frame = ax.get_window_extent(renderer)
        xy = {s: ax.transData.transform((x, y)) for s, x, y in points}
        groups: list[list[str]] = []
        for s, _, _ in points:   # single-link grouping of coinciding markers, in scenario order
            near = [g for g in groups if any(np.hypot(*(xy[s] - xy[o])) < 2 * marker_r for o in g)]
            merged = [s] + [o for g in near for o in g]
            groups = [g for g in groups if g not in near] + [sorted(merged, key=number.get)]
        groups.sort(key=lambda g: number[g[0]])
        obstacles = [Bbox.from_extents(*(p - marker_r - 1), *(p + marker_r + 1)) for p in xy.values()]
        placed: list[Bbox] = []
        for group in groups:
            text = ",".join(str(number[s]) for s in group)
            w, h, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
            centre = np.mean([xy[s] for s in group], axis=0)
            best = None
            for ring in range(1, _LABEL_RINGS + 1):
                gap = marker_r + (2 + 4 * (ring - 1)) * px_per_pt
                for dx, dy in _LABEL_DIRECTIONS:
                    c = centre + (dx * (gap + w / 2), dy * (gap + h / 2))
                    box = Bbox.from_extents(c[0] - w / 2 - 1, c[1] - h / 2 - 1, c[0] + w / 2 + 1, c[1] + h / 2 + 1)
                    inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                              and box.y1 <= frame.y1)
                    if best is None and inside:
                        best = (c, box)   # fallback: the nearest spot inside the panel
                    if inside and not any(box.overlaps(o) for o in placed + obstacles):
                        best = (c, box)
                        break
                else:
                    continue
                break
            if best is None:
                c = centre + (gap + w / 2, 0)
                best = (c, Bbox.from_extents(c[0] - w / 2, c[1] - h / 2, c[0] + w / 2, c[1] + h / 2))
            c, box = best
            placed.append(box)
            offset_pt = (c - centre) / px_per_pt
            anchor = ax.transData.inverted().transform(centre)
            note = ax.annotate(text, xy=anchor, xytext=tuple(offset_pt), textcoords="offset points",
                               ha="center", va="center", fontsize=LABEL_FONT_PT, color="0.1",
                               annotation_clip=False, gid="scenario_number")
            note.set_in_layout(False)   # the layout stays the one the positions were computed in


def plot_cost_effect(summary: pd.DataFrame, path, lang: str = "en", *, baseline: str,
                     scenario_labels: dict[str, str] | None = None, metrics: list[str] | None = None,
                     title: str = "") -> Path:
    """Write ``cost_effect_figure`` (same arguments) as a PNG at ``path``; returns the path written."""
    fig = cost_effect_figure(summary, lang, baseline=baseline, scenario_labels=scenario_labels, metrics=metrics,
                             title=title)
    return _save_atomic(fig, path, palette=True)
