"""Maps and KPI charts of a simulation run, in English or Dutch.

Two figures are drawn with matplotlib (Agg backend, no display needed):

* ``plot_map``: the ground-floor use of every parcel next to the street class
  of the street it fronts, from one snapshot of the grid.
* ``plot_kpis``: a 2x3 grid of KPI time series from the tidy metrics table,
  with a mean line and a 5-95 % band when there are several replicates and
  one line per scenario when there are several scenarios.

Both write a PNG atomically (temporary file in the target directory, then
``os.replace``) so a reader never sees a half-written image.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.uses import LAND_PARCEL, LAND_TYPES, N_STREETS, N_USES, STREET_CLASSES, USES  # noqa: E402

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


def plot_map(snapshot: dict, path, title: str = "", lang: str = "en") -> Path:
    """Draw the land-use map and the street-class map side by side as a PNG.

    Args:
        snapshot: Dict with 2-D integer arrays of one shape: ``use`` (index
            into ``USES``, meaningful on parcels only), ``land`` (index into
            ``LAND_TYPES``; 0 = parcel) and ``street_class`` (index into
            ``STREET_CLASSES``, -1 for public space).
        path: Output PNG path (parent directories are created).
        title: Figure title; empty for none.
        lang: "en" or "nl" for titles and legends.

    Returns:
        The path written, as a ``Path``.

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
    return _save_atomic(fig, path)


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


def plot_kpis(metrics: pd.DataFrame, path, lang: str = "en", title: str = "") -> Path:
    """Draw a 2x3 grid of KPI time series as a PNG.

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
        path: Output PNG path (parent directories are created).
        lang: "en" or "nl" for titles, labels and legends.
        title: Figure title; empty for none.

    Returns:
        The path written, as a ``Path``.

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
    return _save_atomic(fig, path)


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
