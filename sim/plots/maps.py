"""Maps of the parcel grid: land use and street classes of one snapshot; per parcel, the
probability over replicates of being vacant (long-term vacant, a front, in poor condition), and
per district of blocks the difference of that share between scenarios.

The maps are schematic, not to scale: one cell is one parcel (a building or plot), streets and
squares are cells of their own (``sim/parcels.py``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.i18n import text
from sim.uses import LAND_PARCEL, LAND_TYPES, N_STREETS, N_USES, STREET_CLASSES, USES
from sim.plots.common import _lang_index, _save_atomic, _t


PUBLIC_SPACE_COLOUR = "#efe6cc"  # light sand: distinct from the near-white residential streets


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




# --------------------------------------------------------------------------- probability maps

# Probability classes of the maps (share of replicates): few classes read better than a continuous
# scale and compress to small PNGs (the report must stay under ~2 MB).
PROBABILITY_BOUNDS = (0.0, 0.001, 0.10, 0.25, 0.50, 0.75, 1.0001)
PROBABILITY_COLOURS = ("#fbf3e4", "#fdd49e", "#fc8d59", "#e34a33", "#b30000", "#4d0000")
# a lower (blue) and higher (orange-brown) share than the reference, smallest difference nearest the
# middle; pale sand: no distinguishable difference
# (the smallest classes are a clear blue and orange, not pastel: a district shown must stand out from
# the pale ones that are not)
DIFFERENCE_COLOURS = ("#08306b", "#2171b5", "#4292c6", "#9ecae1", "#f4efe6", "#fdae6b", "#fd8d3c",
                      "#d94801", "#7f2704")
# Classes of a district's difference in share (percentage points, by size; sign by colour): a
# district's share moves by a few points (zoning: 3 to 9 points lower vacancy in the centre), so
# the classes of the per-parcel probabilities (10, 25, 50) would put nearly all in one.
DISTRICT_STEPS = (0.0, 0.02, 0.05, 0.10)
NO_UNIT_COLOUR = "#bdbdbd"     # parcels the layer does not apply to (homes): mid grey, not confused with 0
STREET_COLOUR = "#ffffff"      # public space white: the grey of homes and the colours of units stand out

MAP_TEXT = {  # key: (en, nl)
    "vacant": ("Vacant", "Leeg"),
    "longterm_vacant": ("Vacant for more than a year", "Langer dan een jaar leeg"),
    "front": ("Criminal front business", "Dekmantelbedrijf"),
    "poor": ("Building in poor condition", "Pand in slechte staat"),
    "probability": ("Share of the {n} replicates in which the parcel is so (%)",
                    "Aandeel van de {n} replicaties waarin het perceel zo is (%)"),
    "difference": ("Difference in the share with doing nothing per district of {br} × {bc} blocks (up to "
                   "{pr} × {pc} parcels, outlined), percentage points, where distinguishable",
                   "Verschil in het aandeel met niets doen per deelgebied van {br} × {bc} bouwblokken (tot "
                   "{pr} × {pc} percelen, omlijnd), in procentpunten, waar te onderscheiden"),
    "n_shown": ("{k} of the {m} districts distinguishable", "{k} van de {m} deelgebieden te onderscheiden"),
    "none_shown": ("none of the {m} districts distinguishable", "geen van de {m} deelgebieden te onderscheiden"),
    "not_distinguishable": ("not distinguishable", "niet te onderscheiden"),
    "less": ("lower share", "lager aandeel"),
    "more": ("higher share", "hoger aandeel"),
    "not_tested": ("no business unit in the district: not tested",
                   "geen bedrijfsruimte in het deelgebied: niet getoetst"),
    "no_unit": ("not a business unit (homes) / not applicable", "geen bedrijfsruimte (wonen) / n.v.t."),
    "scale": ("Schematic map, not to scale: one cell is one parcel.",
              "Schematische kaart, niet op schaal: één vakje is één perceel."),
}


def _mt(key: str, lang: str, **fmt) -> str:
    return text(MAP_TEXT, key, lang, **fmt)


def _layer_image(ax, values: np.ndarray, land: np.ndarray, applies: np.ndarray, bounds, colours) -> None:
    """Classes of ``values`` on the parcels where the layer applies, grey elsewhere on parcels,
    public space white."""
    classes = np.digitize(values, bounds[1:-1])                  # 0 .. len(colours) - 1
    img = np.where(land != LAND_PARCEL, len(colours), np.where(applies, classes, len(colours) + 1))
    cmap = ListedColormap([*colours, STREET_COLOUR, NO_UNIT_COLOUR])
    ax.imshow(img, cmap=cmap, norm=BoundaryNorm(np.arange(len(colours) + 3) - 0.5, len(colours) + 2),
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _class_labels(bounds) -> list[str]:
    """Legend labels of the classes between ``bounds`` in percent: "0", "0 – 10", "10 – 25"."""
    def pct(v: float) -> str:
        p = round(100 * max(-1.0, min(1.0, v))) if abs(v) > 0.0011 else 0
        return "0" if p == 0 else f"{p:d}"
    return ["0" if abs(lo) <= 0.0011 and abs(hi) <= 0.0011 else f"{pct(lo)} – {pct(hi)}"
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def _district_image(ax, difference, land: np.ndarray) -> None:
    """The difference per district on its parcels: blue lower, orange higher (by size, classes of
    ``DISTRICT_STEPS``), pale where not distinguishable, grey where not tested; public space white;
    the districts outlined."""
    labels = np.asarray(difference.labels)
    diff, shown, tested = (np.asarray(a) for a in (difference.difference, difference.shown, difference.tested))
    neutral, street, grey = len(DISTRICT_STEPS), len(DIFFERENCE_COLOURS), len(DIFFERENCE_COLOURS) + 1
    size = np.digitize(np.abs(diff), DISTRICT_STEPS[1:])           # 0 .. 3, smallest to largest
    per_district = np.where(~tested, grey, neutral)
    per_district = np.where(shown & (diff < 0), neutral - 1 - size, per_district)
    per_district = np.where(shown & (diff > 0), neutral + 1 + size, per_district)
    img = np.where(land != LAND_PARCEL, street, per_district[labels])
    cmap = ListedColormap([*DIFFERENCE_COLOURS, STREET_COLOUR, NO_UNIT_COLOUR])
    ax.imshow(img, cmap=cmap, norm=BoundaryNorm(np.arange(grey + 2) - 0.5, grey + 1), interpolation="nearest")
    # outlines where the district changes (the districts are tiles: one row and one column tell all)
    for j in np.flatnonzero(labels[0, 1:] != labels[0, :-1]):
        ax.axvline(j + 0.5, color="0.35", lw=0.6)
    for i in np.flatnonzero(labels[1:, 0] != labels[:-1, 0]):
        ax.axhline(i + 0.5, color="0.35", lw=0.6)
    ax.set_xticks([])
    ax.set_yticks([])


def _district_labels_text(lang: str) -> list[str]:
    """Legend labels of the district classes, most negative first: "≤ −10", "−10 – −5", ...,
    "not distinguishable", ..., "≥ +10"."""
    pts = [round(100 * v) for v in DISTRICT_STEPS]
    minus = "\u2212"
    below = [f"≤ {minus}{pts[-1]}"] + [f"{minus}{pts[k + 1]} – " + (f"{minus}{pts[k]}" if pts[k] else "0")
                                       for k in range(len(pts) - 2, -1, -1)]
    above = [("0" if not pts[k] else f"+{pts[k]}") + f" – +{pts[k + 1]}" for k in range(len(pts) - 1)]
    above.append(f"≥ +{pts[-1]}")
    below[0] += f" ({_mt('less', lang)})"
    above[-1] += f" ({_mt('more', lang)})"
    return [*below, _mt("not_distinguishable", lang), *above]


def probability_maps_figure(probabilities: dict[str, np.ndarray], land: np.ndarray, applies: dict[str, np.ndarray],
                            n_replicates: int, lang: str = "en", *, differences: dict | None = None,
                            district: tuple[int, int, int, int] = (4, 2, 8, 14), title: str = "") -> Figure:
    """Per layer (vacant, long-term vacant, front, poor condition) the share of replicates in which
    each parcel is so; with ``differences`` a second row: per district, the difference in the
    layer's share with the reference, coloured only where distinguishable
    (``sim.workshop.statistics.district_difference``), with the number of such districts.

    Args:
        probabilities: layer -> (row, column) share of replicates (layers of ``MAP_TEXT`` present).
        land: (row, column) land codes (``LAND_TYPES``).
        applies: layer -> boolean (row, column): parcels the layer applies to (units for vacancy
            and fronts, all parcels for condition); grey elsewhere.
        n_replicates: How many replicates the shares rest on (said in the legend).
        lang: "en" or "nl".
        differences: layer -> a ``DistrictDifference`` (``difference``, ``shown`` and ``tested``
            per district, ``labels`` the district of each cell), or None for the reference.
        district: What a district is, for the legend: blocks down, blocks across, parcels down,
            parcels across (``DISTRICT_BLOCKS`` and ``DISTRICT_PARCELS`` of the statistics).
        title: Figure title.

    Returns:
        The figure: one row of panels (two with ``differences``), a legend per row and the scale note.
    """
    _lang_index(lang)
    layers = [k for k in ("vacant", "longterm_vacant", "front", "poor") if k in probabilities]
    rows = 2 if differences else 1
    panel_w = 2.45                                   # inches; the height follows the grid's aspect
    panel_h = panel_w * land.shape[0] / land.shape[1]
    fig = Figure(figsize=(panel_w * len(layers) + 2.3, (panel_h + 0.35) * rows + 0.7), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, len(layers), squeeze=False))
    for col, layer in enumerate(layers):
        ax = axes[0, col]
        _layer_image(ax, probabilities[layer], land, applies[layer], PROBABILITY_BOUNDS, PROBABILITY_COLOURS)
        ax.set_title(_mt(layer, lang), fontsize=9)
        if differences:
            found = differences[layer]
            ax = axes[1, col]
            _district_image(ax, found, land)
            k, m = int(np.sum(found.shown)), int(np.sum(found.tested))
            # two lines: one ("10 van de 48 deelgebieden te onderscheiden") is wider than the panel
            text = _mt("n_shown", lang, k=k, m=m) if k else _mt("none_shown", lang, m=m)
            ax.set_title(textwrap.fill(text, 30), fontsize=8, color="0.25")
    grey = Patch(facecolor=NO_UNIT_COLOUR, edgecolor="0.5", label=_mt("no_unit", lang))
    handles = [Patch(facecolor=c, edgecolor="0.5", label=t)
               for c, t in zip(PROBABILITY_COLOURS, _class_labels(PROBABILITY_BOUNDS))] + [grey]
    axes[0, -1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.03, 0.5), fontsize=7, frameon=False,
                       title=textwrap.fill(_mt("probability", lang, n=n_replicates), 26), title_fontsize=7)
    if differences:
        handles = [Patch(facecolor=c, edgecolor="0.5", label=t)
                   for c, t in zip(DIFFERENCE_COLOURS, _district_labels_text(lang))]
        handles.append(Patch(facecolor=NO_UNIT_COLOUR, edgecolor="0.5",
                             label=textwrap.fill(_mt("not_tested", lang), 30)))
        br, bc, pr, pc = district
        axes[1, -1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.03, 0.5), fontsize=7, frameon=False,
                           title=textwrap.fill(_mt("difference", lang, br=br, bc=bc, pr=pr, pc=pc), 30),
                           title_fontsize=7)
    fig.text(0.0, 0.0, _mt("scale", lang), fontsize=7, color="0.35", ha="left", va="bottom")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_probability_maps(probabilities: dict[str, np.ndarray], land: np.ndarray, applies: dict[str, np.ndarray],
                          n_replicates: int, path, lang: str = "en", *,
                          differences: dict | None = None, district: tuple[int, int, int, int] = (4, 2, 8, 14),
                          title: str = "") -> Path:
    """Write ``probability_maps_figure`` (same arguments) as a palette PNG at ``path``; returns the path."""
    fig = probability_maps_figure(probabilities, land, applies, n_replicates, lang, differences=differences,
                                  district=district, title=title)
    return _save_atomic(fig, path, palette=True)
