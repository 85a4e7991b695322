"""Maps and KPI charts of a simulation run, in English or Dutch.

Two figures of a run are drawn with matplotlib:

* ``map_figure``: the ground-floor use of every parcel next to the street class
  of the street it fronts, from one snapshot of the grid.
* ``kpis_figure``: a 2x3 grid of KPI time series from the tidy metrics table,
  with a mean line and a 5-95 % band when there are several replicates and
  one line per scenario when there are several scenarios.

and three of a comparison: ``trajectories_figure``, ``diffmap_figure`` and
``effect_per_euro_figure``.

Each ``*_figure`` function returns a ``matplotlib.figure.Figure`` (for a notebook
or a script); its ``plot_*`` twin draws the same figure and writes it as a PNG
atomically (temporary file in the target directory, then ``os.replace``) so a
reader never sees a half-written image. Figures are made without pyplot, so no
backend is chosen here and none is needed to write a PNG: a notebook keeps its
own (``%matplotlib inline`` shows a returned Figure).
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from sim.uses import LAND_PARCEL, LAND_TYPES, N_STREETS, N_USES, STREET_CLASSES, USES

LANGS: tuple[str, ...] = ("en", "nl")
DPI = 110

# KPI metric names -> (English, Dutch). Shares and vacancy rates are
# fractions in the metrics table; the charts show them as percent.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "vacancy_units": ("Vacancy (share of units)", "Leegstand (aandeel panden)"),
    "vacancy_floor": ("Vacancy (share of floor area)", "Leegstand (aandeel vloeroppervlak)"),
    "vacancy_units_A1": ("Vacancy, A1 streets", "Leegstand, A1-straten"),
    "vacancy_units_A2": ("Vacancy, A2 streets", "Leegstand, A2-straten"),
    "vacancy_units_B": ("Vacancy, B streets", "Leegstand, B-straten"),
    "vacancy_units_C": ("Vacancy, C streets", "Leegstand, C-straten (aanloopstraten)"),
    "longterm_vacancy_1y": ("Long-term vacancy (> 1 year)", "Langdurige leegstand (> 1 jaar)"),
    "longterm_vacancy_3y": ("Long-term vacancy (> 3 years)", "Langdurige leegstand (> 3 jaar)"),
    "diversity_shannon": ("Diversity of uses (Shannon index)", "Functiemenging (Shannon-index)"),
    "craft_culture_m2": ("Craft and culture floor area (m²)", "Vloeroppervlak ambacht en cultuur (m²)"),
    "households": ("Households", "Huishoudens"),
    "residents": ("Residents", "Bewoners"),
    "dwellings_occupied": ("Occupied dwellings", "Bewoonde woningen"),
    "rent_burden_over_40": ("Households with housing costs > 40 % of income",
                            "Huishoudens met woonlasten > 40 % van inkomen"),
    "footfall_index": ("Footfall index", "Passantenindex (bezoekersaantallen)"),
    "condition_mean": ("Mean building condition", "Gemiddelde staat van onderhoud"),
    "condition_poor_share": ("Share of buildings in poor condition",
                             "Aandeel panden in slechte staat van onderhoud"),
    "fronts_active": ("Active criminal front businesses", "Actieve ondermijnende dekmantelbedrijven"),
    "fronts_detected": ("Criminal front businesses detected", "Opgespoorde dekmantelbedrijven"),
    "business_entries": ("Business openings", "Nieuwe vestigingen"),
    "business_exits": ("Business closures", "Bedrijfsbeëindigingen"),
    "conversions_total": ("Conversions (total)", "Transformaties (totaal)"),
    "owner_value_eur": ("Property value to owners (EUR)", "Vastgoedwaarde eigenaren (EUR)"),
    "municipal_spend_eur": ("Municipal spending (EUR)", "Gemeentelijke uitgaven (EUR)"),
    "municipal_income_eur": ("Municipal income (EUR)", "Gemeentelijke inkomsten (EUR)"),
    "net_public_cost_eur": ("Net public cost (EUR)", "Netto publieke kosten (EUR)"),
}

# Fixed chart text -> (English, Dutch).
TEXT: dict[str, tuple[str, str]] = {
    "land_use": ("Land use", "Grondgebruik"),
    "street_classes": ("Street classes", "Straattypen"),
    "public_space": ("Public space", "Openbare ruimte"),
    "year": ("Year", "Jaar"),
    "no_data": ("no data", "geen gegevens"),
    "scenario": ("scenario", "scenario"),
    "uses": ("Uses", "Functies"),
    "all_streets": ("All streets", "Alle straten"),
    "band_note": ("mean of {n} replicates, band: 5–95 %", "gemiddelde van {n} replicaties, band: 5–95 %"),
    "panel_vacancy": ("(a) Vacancy by street class", "(a) Leegstand per straattype"),
    "panel_use_mix": ("(b) Use mix of non-residential ground floors", "(b) Functiemix van niet-woonplinten"),
    "panel_footfall": ("(c) Footfall", "(c) Passanten"),
    "panel_condition": ("(d) Building condition", "(d) Staat van onderhoud"),
    "panel_households": ("(e) Households", "(e) Huishoudens"),
    "panel_fronts": ("(f) Criminal front businesses", "(f) Ondermijning: dekmantelbedrijven"),
    "y_vacancy": ("Vacant units (%)", "Leegstaande panden (%)"),
    "y_use_mix": ("Share of ground floors (%)", "Aandeel plinten (%)"),
    "y_footfall": ("Footfall index (–)", "Passantenindex (–)"),
    "y_condition": ("Mean condition (index)", "Gemiddelde staat (index)"),
    "y_households": ("Households (number)", "Huishoudens (aantal)"),
    "y_fronts": ("Businesses (number)", "Bedrijven (aantal)"),
}

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
SCENARIO_COLOURS: tuple[str, ...] = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
SCENARIO_STYLES: tuple[str, ...] = ("-", "--", ":", "-.")
PUBLIC_SPACE_COLOUR = "#efe6cc"  # light sand: distinct from the near-white residential streets


def _lang_index(lang: str) -> int:
    """Return 0 for English and 1 for Dutch.

    Args:
        lang: "en" or "nl".

    Raises:
        ValueError: for any other language code.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return LANGS.index(lang)


def _t(key: str, lang: str) -> str:
    """Return the fixed chart text ``key`` in language ``lang``."""
    return TEXT[key][_lang_index(lang)]


def label(key: str, lang: str = "en") -> str:
    """Return a human-readable label for a use, street class or KPI metric name.

    Lookup order: KPI metrics (``METRIC_LABELS``), ``share_<use>`` metrics,
    use classes, street classes. The name "residential" is both a use and a
    street class; it resolves to the use ("Residential" / "Wonen").

    Args:
        key: A use name (e.g. "craft"), street class name (e.g. "A1"), or
            metric name (e.g. "vacancy_units", "share_craft").
        lang: "en" for English, "nl" for Dutch.

    Returns:
        The label, or ``key`` itself when the key is unknown.

    Raises:
        ValueError: if ``lang`` is not "en" or "nl".
    """
    i = _lang_index(lang)
    if key in METRIC_LABELS:
        return METRIC_LABELS[key][i]
    if key.startswith("share_"):
        use = key[len("share_"):]
        for u in USES:
            if u.name == use:
                prefix = ("Share", "Aandeel")[i]
                return f"{prefix}: {(u.label_en, u.label_nl)[i]}"
    for u in USES:
        if u.name == key:
            return (u.label_en, u.label_nl)[i]
    for s in STREET_CLASSES:
        if s.name == key:
            return (s.label_en, s.label_nl)[i]
    return key


def _save_atomic(fig: Figure, path) -> Path:
    """Save ``fig`` as PNG to ``path`` via a temp file and ``os.replace``.

    Args:
        fig: The figure to save.
        path: Target file path; its directory is created when missing.

    Returns:
        The target path as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a chart is for everyone who may read the folder
    try:
        with os.fdopen(fd, "wb") as fh:
            # "tight" keeps legends placed outside the axes inside the image.
            fig.savefig(fh, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.15)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


# --------------------------------------------------------------------------- maps


def _check_snapshot(snapshot: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ``use``, ``land`` and ``street_class`` arrays, validated.

    Raises:
        ValueError: if an array is missing, not 2-D, shapes differ, or a
            parcel has a use code or a cell a land code outside the tables.
    """
    arrays = []
    for key in ("use", "land", "street_class"):
        if key not in snapshot:
            raise ValueError(f"snapshot lacks the array {key!r}")
        arrays.append(np.asarray(snapshot[key]).astype(np.int64))
    use, land, street = arrays
    if use.ndim != 2 or use.shape != land.shape or use.shape != street.shape:
        raise ValueError(f"use, land, street_class must be 2-D of one shape, got "
                         f"{use.shape}, {land.shape}, {street.shape}")
    if land.min() < 0 or land.max() >= len(LAND_TYPES):
        raise ValueError("land code outside LAND_TYPES")
    parcel_use = use[land == LAND_PARCEL]
    if parcel_use.size and (parcel_use.min() < 0 or parcel_use.max() >= N_USES):
        raise ValueError("parcel use code outside USES")
    return use, land, street


def _public_space_patches(land: np.ndarray, lang: str) -> list[Patch]:
    """Return legend patches for the public-space land types present in ``land``."""
    i = _lang_index(lang)
    present = set(np.unique(land).tolist())
    return [Patch(facecolor=t.colour, edgecolor="0.4", label=(t.label_en, t.label_nl)[i])
            for code, t in enumerate(LAND_TYPES) if code != LAND_PARCEL and code in present]


def _draw_land_use(ax, use: np.ndarray, land: np.ndarray, lang: str) -> None:
    """Draw parcels in their use colour and public space in its land-type colour.

    Codes 0..N_USES-1 are uses; N_USES + k is public land type k.
    """
    i = _lang_index(lang)
    img = np.where(land == LAND_PARCEL, use, N_USES + land)
    colours = [u.colour for u in USES] + [t.colour for t in LAND_TYPES]
    cmap = ListedColormap(colours)
    ax.imshow(img, cmap=cmap, vmin=-0.5, vmax=len(colours) - 0.5, interpolation="nearest")
    handles = [Patch(facecolor=u.colour, edgecolor="0.4", label=(u.label_en, u.label_nl)[i]) for u in USES]
    handles += _public_space_patches(land, lang)
    _finish_map_axes(ax, _t("land_use", lang), handles)


def _draw_street_classes(ax, street: np.ndarray, land: np.ndarray, lang: str) -> None:
    """Draw parcels in the colour of their street class and public space light.

    Codes 0..N_STREETS-1 are street classes; N_STREETS is public space (and
    any parcel without a street class).
    """
    i = _lang_index(lang)
    is_classed = (land == LAND_PARCEL) & (street >= 0) & (street < N_STREETS)
    img = np.where(is_classed, street, N_STREETS)
    colours = [s.colour for s in STREET_CLASSES] + [PUBLIC_SPACE_COLOUR]
    cmap = ListedColormap(colours)
    ax.imshow(img, cmap=cmap, vmin=-0.5, vmax=len(colours) - 0.5, interpolation="nearest")
    handles = [Patch(facecolor=s.colour, edgecolor="0.4", label=(s.label_en, s.label_nl)[i])
               for s in STREET_CLASSES]
    handles.append(Patch(facecolor=PUBLIC_SPACE_COLOUR, edgecolor="0.4", label=_t("public_space", lang)))
    _finish_map_axes(ax, _t("street_classes", lang), handles)


def _finish_map_axes(ax, title: str, handles: list[Patch]) -> None:
    """Set the panel title, hide ticks and put the legend below the map."""
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02),
              ncol=3, fontsize=8, frameon=False, handlelength=1.2, columnspacing=1.0)


def map_figure(snapshot: dict, title: str = "", lang: str = "en") -> Figure:
    """Draw the land-use map and the street-class map side by side.

    Args:
        snapshot: Dict with 2-D integer arrays of one shape: ``use`` (index
            into ``USES``, meaningful on parcels only), ``land`` (index into
            ``LAND_TYPES``; 0 = parcel) and ``street_class`` (index into
            ``STREET_CLASSES``, -1 for public space).
        title: Figure title; empty for none.
        lang: "en" or "nl" for titles and legends.

    Returns:
        The figure (12 × 7.6 inches).

    Raises:
        ValueError: on missing or inconsistent arrays, or an unknown ``lang``.
    """
    _lang_index(lang)
    use, land, street = _check_snapshot(snapshot)
    fig = Figure(figsize=(12.0, 7.6), layout="constrained")
    ax_use, ax_street = fig.subplots(1, 2)
    _draw_land_use(ax_use, use, land, lang)
    _draw_street_classes(ax_street, street, land, lang)
    if title:
        fig.suptitle(title)
    return fig


def plot_map(snapshot: dict, path, title: str = "", lang: str = "en") -> Path:
    """Write ``map_figure(snapshot, title, lang)`` as a PNG at ``path`` (parent folders are
    created); returns the path written. Raises as ``map_figure``."""
    return _save_atomic(map_figure(snapshot, title, lang), path)


# --------------------------------------------------------------------------- KPIs


def _summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Aggregate replicates: mean, 5 % and 95 % quantile per scenario, metric, year.

    Args:
        metrics: Tidy table with ``year``, ``metric``, ``value`` and
            optionally ``scenario`` and ``replicate``.

    Returns:
        Columns ``scenario`` (str, "" when absent), ``metric``, ``year``,
        ``mean``, ``lo``, ``hi``, ``n``.
    """
    missing = {"year", "metric", "value"} - set(metrics.columns)
    if missing:
        raise ValueError(f"metrics lacks columns {sorted(missing)}")
    df = pd.DataFrame({
        "scenario": metrics["scenario"].astype(str) if "scenario" in metrics.columns else "",
        "metric": metrics["metric"].astype(str),
        "year": metrics["year"].astype(float),
        "value": metrics["value"].astype(float),
    })
    grouped = df.groupby(["scenario", "metric", "year"], sort=True)["value"]
    out = pd.DataFrame({"mean": grouped.mean(), "lo": grouped.quantile(0.05),
                        "hi": grouped.quantile(0.95), "n": grouped.count()})
    return out.reset_index()


def _scenarios(metrics: pd.DataFrame) -> list[str]:
    """Return the scenario names in order of first appearance ([""] if none)."""
    if "scenario" not in metrics.columns or metrics.empty:
        return [""]
    return [str(s) for s in pd.unique(metrics["scenario"].astype(str))]


def _no_data(ax, lang: str) -> None:
    """Mark an empty panel with a centred "no data" note."""
    ax.text(0.5, 0.5, _t("no_data", lang), transform=ax.transAxes,
            ha="center", va="center", fontsize=11, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


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


def _kpi_suptitle(fig: Figure, metrics: pd.DataFrame, title: str, lang: str) -> None:
    """Set the figure title, noting the replicate count and band when relevant."""
    n_rep = int(metrics["replicate"].nunique()) if "replicate" in metrics.columns else 1
    parts = [title] if title else []
    if n_rep > 1:
        parts.append(_t("band_note", lang).format(n=n_rep))
    if parts:
        fig.suptitle("\n".join(parts))


# --------------------------------------------------------------------------- comparison report charts
#
# Charts of the scenario comparison (``sim/experiments/report.py``): key KPI
# trajectories per scenario, difference maps against the baseline, and effect
# per EUR million of net public cost.

TEXT.update({
    "unit_share": ("%", "%"),
    "unit_eur": ("EUR million", "miljoen euro"),
    "unit_m2": ("m²", "m²"),
    "unit_count": ("number", "aantal"),
    "unit_index": ("index", "index"),
    "per_meur_share": ("percentage points per EUR 1 million", "procentpunt per 1 miljoen euro"),
    "per_meur_eur": ("EUR million per EUR 1 million", "miljoen euro per 1 miljoen euro"),
    "per_meur_m2": ("m² per EUR 1 million", "m² per 1 miljoen euro"),
    "per_meur_count": ("number per EUR 1 million", "aantal per 1 miljoen euro"),
    "per_meur_index": ("index points per EUR 1 million", "indexpunten per 1 miljoen euro"),
    "unchanged": ("Unchanged", "Ongewijzigd"),
    "new_use": ("New use", "Nieuwe functie"),
    "diff_count": ("{n} of {total} parcels have another use than when doing nothing (outlined)",
                   "{n} van {total} percelen hebben een andere functie dan bij niets doen (omlijnd)"),
    "improves": ("improvement", "verbetering"),
    "worsens": ("worse", "verslechtering"),
    "not_distinguishable": ("not distinguishable from doing nothing", "niet te onderscheiden van niets doen"),
    "skipped_no_cost": ("Not shown (no positive net public cost): {names}",
                        "Niet getoond (geen positieve netto publieke kosten): {names}"),
    "no_costly_scenario": ("No scenario has a positive net public cost",
                           "Geen scenario heeft positieve netto publieke kosten"),
})

# Headline KPIs of the trajectory chart, in reading order (the report's tables show all key KPIs).
TRAJECTORY_METRICS: tuple[str, ...] = (
    "vacancy_units", "vacancy_units_C", "longterm_vacancy_1y", "diversity_shannon",
    "craft_culture_m2", "households", "rent_burden_over_40", "footfall_index",
    "condition_mean", "fronts_active", "conversions_total", "net_public_cost_eur",
)
COUNT_METRICS = frozenset({"households", "residents", "dwellings", "dwellings_occupied", "businesses",
                           "fronts_active", "fronts_detected", "business_entries", "business_exits",
                           "conversions_total", "sales"})
BASELINE_COLOUR = "#000000"
UNCHANGED_COLOUR = "#e2e2e2"  # light grey; changed cells also get an outline, so "became vacant" stays visible
IMPROVES_COLOUR, WORSENS_COLOUR, UNCLEAR_COLOUR = "#1f78b4", "#e6550d", "#cccccc"  # colour-blind safe pair
KIND_SCALE: dict[str, float] = {"share": 100.0, "eur": 1e-6, "m2": 1.0, "count": 1.0, "index": 1.0}


class _DutchFormatter(ScalarFormatter):
    """Tick labels with a decimal comma (1,5 instead of 1.5)."""

    def __call__(self, x, pos=None):
        return super().__call__(x, pos).translate(str.maketrans(",.", ".,"))


def _number_axis(axis, lang: str) -> None:
    """Give a numeric axis the decimal mark of ``lang``."""
    if lang == "nl":
        axis.set_major_formatter(_DutchFormatter())


def metric_kind(metric: str) -> str:
    """Return how a metric is shown: "share" (fraction, shown as %), "eur" (shown in EUR million),
    "m2", "count" or "index" (anything else)."""
    if metric.endswith("_eur"):
        return "eur"
    if metric.endswith("_m2"):
        return "m2"
    if (metric.startswith(("vacancy", "longterm_vacancy", "share_")) or metric.endswith("_share")
            or metric == "rent_burden_over_40"):
        return "share"
    return "count" if metric in COUNT_METRICS else "index"


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


def use_changes(snapshot: dict, baseline_snapshot: dict) -> np.ndarray:
    """Return a boolean grid: parcels whose use differs from the baseline snapshot.

    Raises:
        ValueError: if a snapshot is inconsistent or the two grids (shape or land) differ.
    """
    use, land, _ = _check_snapshot(snapshot)
    base_use, base_land, _ = _check_snapshot(baseline_snapshot)
    if use.shape != base_use.shape or not np.array_equal(land, base_land):
        raise ValueError("the scenario and baseline snapshots are not the same city (grid or land differs)")
    return (land == LAND_PARCEL) & (use != base_use)


def _outline_segments(mask: np.ndarray) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Line segments (imshow pixel coordinates) along the border of the True cells of ``mask``."""
    padded = np.pad(mask, 1, constant_values=False)
    segments = []
    rows, cols = np.nonzero(padded[1:-1, 1:] != padded[1:-1, :-1])  # vertical edges left of column ``cols``
    segments += [((c - 0.5, r - 0.5), (c - 0.5, r + 0.5)) for r, c in zip(rows, cols)]
    rows, cols = np.nonzero(padded[1:, 1:-1] != padded[:-1, 1:-1])  # horizontal edges above row ``rows``
    segments += [((c - 0.5, r - 0.5), (c + 0.5, r - 0.5)) for r, c in zip(rows, cols)]
    return segments


def diffmap_figure(snapshot: dict, baseline_snapshot: dict, title: str = "", lang: str = "en") -> Figure:
    """Draw where a scenario's end-state land use differs from the baseline's.

    Changed parcels take the colour of their new use and are outlined;
    unchanged parcels are light grey; public space is coloured as in ``plot_map``.

    Args:
        snapshot: The scenario's snapshot (``use``, ``land``, ``street_class``).
        baseline_snapshot: The baseline's snapshot of the same city.
        title: Figure title; empty for none.
        lang: "en" or "nl".

    Returns:
        The figure (8.5 × 8.8 inches).

    Raises:
        ValueError: as ``use_changes``, or for an unknown ``lang``.
    """
    i = _lang_index(lang)
    changed = use_changes(snapshot, baseline_snapshot)
    use, land, _ = _check_snapshot(snapshot)
    unchanged_code = N_USES
    img = np.where(land == LAND_PARCEL, np.where(changed, use, unchanged_code), N_USES + 1 + land)
    colours = [u.colour for u in USES] + [UNCHANGED_COLOUR] + [t.colour for t in LAND_TYPES]
    fig = Figure(figsize=(8.5, 8.8), layout="constrained")
    ax = fig.subplots()
    ax.imshow(img, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(colours) - 0.5, interpolation="nearest")
    ax.add_collection(LineCollection(_outline_segments(changed), colors="#222222", linewidths=0.7))
    new_uses = sorted(set(use[changed].tolist()))
    handles = [Patch(facecolor=USES[c].colour, edgecolor="#222222", label=(USES[c].label_en, USES[c].label_nl)[i])
               for c in new_uses]
    handles.append(Patch(facecolor=UNCHANGED_COLOUR, edgecolor="0.6", label=_t("unchanged", lang)))
    handles += _public_space_patches(land, lang)
    n_parcels = int((land == LAND_PARCEL).sum())
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(_t("diff_count", lang).format(n=int(changed.sum()), total=n_parcels), fontsize=9)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=8,
              frameon=False, handlelength=1.2, columnspacing=1.0,
              title=_t("new_use", lang), title_fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def plot_diffmap(snapshot: dict, baseline_snapshot: dict, path, title: str = "", lang: str = "en") -> Path:
    """Write ``diffmap_figure(snapshot, baseline_snapshot, title, lang)`` as a PNG at ``path``;
    returns the path written. Raises as ``diffmap_figure``."""
    return _save_atomic(diffmap_figure(snapshot, baseline_snapshot, title, lang), path)


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
