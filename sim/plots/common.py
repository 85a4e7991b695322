"""What every figure shares: English and Dutch labels of KPIs, uses and street classes, how a
metric is shown (share, euros, count), number formats and atomic PNG writing."""

from __future__ import annotations

import io
from pathlib import Path
import pandas as pd

from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from sim.i18n import LANGS, lang_index, text
from sim.outputs import atomic_write
from sim.uses import STREET_CLASSES, USES


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
    # a share of the VACANT floor (not of all floor): CBS' definition, so it can rise while vacancy falls
    "longterm_vacancy_1y": ("Long-term vacancy (> 1 year, share of vacant floor area)",
                            "Langdurige leegstand (> 1 jaar, aandeel van het leegstaande vloeroppervlak)"),
    "longterm_vacancy_3y": ("Long-term vacancy (> 3 years, share of vacant floor area)",
                            "Langdurige leegstand (> 3 jaar, aandeel van het leegstaande vloeroppervlak)"),
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
    "fronts_active": ("Active criminal front businesses", "Actieve dekmantelbedrijven (ondermijning)"),
    "fronts_detected": ("Criminal front businesses detected (cumulative since the start)",
                        "Opgespoorde dekmantelbedrijven (cumulatief sinds de start)"),
    "business_entries": ("Business openings", "Nieuwe vestigingen"),
    "business_exits": ("Business closures", "Bedrijfsbeëindigingen"),
    "conversions_total": ("Conversions (cumulative since the start)", "Transformaties (cumulatief sinds de start)"),
    "owner_value_eur": ("Property value to owners (EUR)", "Vastgoedwaarde eigenaren (EUR)"),
    "municipal_spend_eur": ("Municipal spending in the step (EUR)", "Gemeentelijke uitgaven in de stap (EUR)"),
    "municipal_income_eur": ("Municipal income in the step (EUR)", "Gemeentelijke inkomsten in de stap (EUR)"),
    "net_public_cost_eur": ("Net public cost (cumulative since the start, EUR)",
                            "Netto publieke kosten (cumulatief sinds de start, EUR)"),
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


SCENARIO_COLOURS: tuple[str, ...] = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


SCENARIO_STYLES: tuple[str, ...] = ("-", "--", ":", "-.")


_lang_index = lang_index   # the one check of a language code (sim.i18n)


def _t(key: str, lang: str) -> str:
    """Return the fixed chart text ``key`` in language ``lang``."""
    return text(TEXT, key, lang)


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


def _save_atomic(fig: Figure, path, palette: bool = False) -> Path:
    """Save ``fig`` as PNG to ``path`` atomically (``sim.outputs.atomic_write``).

    Args:
        fig: The figure to save.
        path: Target file path; its directory is created when missing.
        palette: Write a 256-colour palette PNG (Pillow, a dependency of matplotlib). A chart has
            few colours, but antialiased text and lines give it thousands: a palette PNG of a
            10-panel figure is ~35 KB instead of ~110 KB and looks the same, which keeps the
            comparison report (one file, every figure embedded) under 2 MB.

    Returns:
        The target path as a ``Path``.
    """
    path = Path(path)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            # "tight" keeps legends placed outside the axes inside the image.
            if not palette:
                fig.savefig(fh, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.15)
                return
            from PIL import Image
            full = io.BytesIO()
            fig.savefig(full, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.15)
            with Image.open(full) as im:   # the background is opaque white: no alpha lost
                im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(fh, format="PNG", optimize=True)

    atomic_write(path, write)
    return path


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


def _kpi_suptitle(fig: Figure, metrics: pd.DataFrame, title: str, lang: str) -> None:
    """Set the figure title, noting the replicate count and band when relevant."""
    n_rep = int(metrics["replicate"].nunique()) if "replicate" in metrics.columns else 1
    parts = [title] if title else []
    if n_rep > 1:
        parts.append(_t("band_note", lang).format(n=n_rep))
    if parts:
        fig.suptitle("\n".join(parts))


TEXT.update({
    "unit_share": ("%", "%"),
    "unit_eur": ("EUR million", "miljoen euro"),
    "unit_m2": ("m²", "m²"),
    "unit_count": ("number", "aantal"),
    "unit_index": ("index", "index"),
    "improves": ("improvement", "verbetering"),
    "worsens": ("worse", "verslechtering"),
    "not_distinguishable": ("not distinguishable from doing nothing", "niet te onderscheiden van niets doen"),
})


COUNT_METRICS = frozenset({"households", "residents", "dwellings", "dwellings_occupied", "businesses",
                           "fronts_active", "fronts_detected", "business_entries", "business_exits",
                           "conversions_total", "sales"})


KIND_SCALE: dict[str, float] = {"share": 100.0, "eur": 1e-6, "m2": 1.0, "count": 1.0, "index": 1.0}


class _NumberFormatter(ScalarFormatter):
    """Tick labels in the style of a language: thousands grouped and its decimal mark (English
    12,000 and 1.5; Dutch 12.000 and 1,5). Not for year axes (2030 is no "2,030")."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def __call__(self, x, pos=None):
        text = super().__call__(x, pos)
        plain = text.replace("\u2212", "-")
        try:
            value = float(plain)
        except ValueError:          # an empty label or a mathtext one: left as matplotlib made it
            return text
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        grouped = f"{value:,.{decimals}f}".replace("-", "\u2212")
        return grouped.translate(str.maketrans(",.", ".,")) if self.lang == "nl" else grouped


def _number_axis(axis, lang: str) -> None:
    """Give a numeric axis (not a year axis) the thousands separator and decimal mark of ``lang``."""
    _lang_index(lang)
    axis.set_major_formatter(_NumberFormatter(lang))


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

