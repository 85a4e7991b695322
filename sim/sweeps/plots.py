"""Figures of a sensitivity analysis: Morris mu*-sigma, index bars with intervals, convergence.

One PNG per output and figure kind, labels in English or Dutch: the English figures in
``plots/``, the Dutch ones under the same names in ``plots/nl/`` (so an analysis in one
language never overwrites the other's figures). Each ``*_figure`` function returns the
figure (for a notebook or a test); ``plot_all`` writes them. Figures are made without pyplot
(as in ``sim.plots``): writing a PNG needs no backend, and a notebook that runs a sweep keeps
its own.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from sim.i18n import text
from sim.numbers import decimals_for, format_number
from sim.plots import label, metric_kind
from sim.plots.common import _number_axis   # the decimal comma of the other charts

TEXT = {  # key: (en, nl)
    "mu_star": ("mu* (mean absolute elementary effect{unit})", "mu* (gemiddeld absoluut elementair effect{unit})"),
    "sigma": ("sigma (spread: interaction or non-linearity{unit})",
              "sigma (spreiding: interactie of niet-lineariteit{unit})"),
    "unit_eur": (", EUR million", ", miljoen euro"),
    "index": ("sensitivity index", "gevoeligheidsindex"),
    "S1": ("first order S1", "S1 (eerste orde)"),
    "ST": ("total ST", "ST (totaal)"),
    "delta": ("delta (moment-independent)", "delta (momentonafhankelijk)"),
    "median": ("PAWN median", "PAWN-mediaan"),
    "maximum": ("PAWN maximum", "PAWN-maximum"),
    "units": ("sample size (units: trajectories or base rows)", "steekproefomvang (aantal trajecten of basisrijen)"),
    "noise": ("seed noise share", "aandeel toevalsruis"),
    "other_parameters": ("the other {n} parameters", "de andere {n} parameters"),
    "floor": ("noise floor: mu* from seed noise alone", "ruisvloer: de mu* die toevalsruis alleen al geeft"),
    "st_floor": ("noise floor of ST: from seed noise alone", "ruisvloer van ST: wat toevalsruis alleen al geeft"),
    "diagonal": ("sigma = mu*: strongly non-linear or interacting",
                 "sigma = mu*: sterk niet-lineair of met interacties"),
    "interval": ("whiskers: {pct} interval over replicates and rows",
                 "foutbalken: {pct}-interval over replicaties en rijen"),
    "last": ("mean of the last {n} years", "gemiddelde over de laatste {n} jaar"),
    "unlabelled": ("Other points, largest mu* first{unit}:", "Overige punten, van grootste naar kleinste mu*{unit}:"),
    "below_floor": ("below the noise floor:", "onder de ruisvloer:"),
    "of": ("{index} of {parameter}", "{index} van {parameter}"),
    "too_small_one": ("sample too small: {what} lies outside [0, 1] with its whole interval — increase n",
                      "steekproef te klein: {what} ligt met zijn hele interval buiten [0, 1] — vergroot n"),
    "too_small_many": ("sample too small: {what} lie outside [0, 1] with their whole intervals — increase n",
                       "steekproef te klein: {what} liggen met hun hele interval buiten [0, 1] — vergroot n"),
}

MORRIS_DIRECT_LABELS = 8   # names written at their points, at most; more crowd a 7-inch axes (assumption,
                           # checked on the 33-parameter screening). The other points are listed beside it.
LABEL_PT = 7               # font size of the point labels and the side list
LABEL_GAP_PT = 1.6 * LABEL_PT   # height of a point label's box: a line with room (assumption)
NOTE_PT = 8                # font size of the warning on an index figure


def _t(key: str, lang: str, **kw) -> str:
    return text(TEXT, key, lang, **kw)


def _kpi(name: str) -> str:
    """The KPI of an output name (``net_public_cost_eur_last5y`` -> ``net_public_cost_eur``)."""
    m = re.fullmatch(r"(.+)_last(\d+)y", name)
    return m.group(1) if m else name


def output_label(name: str, lang: str) -> str:
    m = re.fullmatch(r"(.+)_last(\d+)y", name)
    if m:
        return f"{label(m.group(1), lang)} ({_t('last', lang, n=m.group(2))})"
    return label(name, lang)


def value_scale(name: str) -> tuple[float, str]:
    """(factor, kind) to show an output's values and its mu* and sigma (same units): euros in
    millions, anything else as it is. kind is a ``sim.numbers`` kind for the side list."""
    return (1e-6, "eur") if metric_kind(_kpi(name)) == "eur" else (1.0, "index")


def _unit(name: str, lang: str) -> str:
    return _t("unit_eur", lang) if value_scale(name)[1] == "eur" else ""


def _noise_row(result, name: str):
    row = result.noise[result.noise["output"] == name]
    return row.iloc[0] if len(row) else None


def _noise_text(result, name: str, lang: str) -> str:
    row = _noise_row(result, name)
    share = float(row["noise_share"]) if row is not None else float("nan")
    return "" if np.isnan(share) else f"{_t('noise', lang)}: {100 * share:.0f}%"


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    tmp.replace(path)


# ------------------------------------------------------------------ Morris
def place_labels(points: np.ndarray, widths: np.ndarray, height: float, others: np.ndarray,
                 others_weight: np.ndarray, reach: int = 30) -> list[tuple[float, float, bool]]:
    """Where to write each point's label, in axes fraction: [(x, y, to the right?)], no two boxes
    overlapping. Deterministic and greedy, in the order given (most important first): each label
    takes the free place that costs least, beside its point (right or left, a gap of 0.02) at its
    own height or moved up or down by whole line heights. A place is free when its box meets no
    label placed before; its cost is the weight of the points it hides (``others_weight``; a
    label's own point excluded), a little per line moved, and a lot for leaving the axes."""
    placed: list[tuple[float, float, float, float]] = []   # x0, x1, y0, y1 of the boxes so far
    out = []
    for i, ((px, py), w) in enumerate(zip(points, widths)):
        best = None
        for k in sorted(range(-reach, reach + 1), key=lambda k: (abs(k), -k)):   # 0, +1, -1, +2, ...
            y = py + k * height
            if not 0.02 <= y <= 0.98:
                continue
            for right in (True, False):
                x0, x1 = (px + 0.02, px + 0.02 + w) if right else (px - 0.02 - w, px - 0.02)
                y0, y1 = y - height / 2, y + height / 2
                if any(x0 < b1 and b0 < x1 and y0 < c1 and c0 < y1 for b0, b1, c0, c1 in placed):
                    continue
                hidden = ((others[:, 0] > x0) & (others[:, 0] < x1) & (others[:, 1] > y0) & (others[:, 1] < y1)
                          & ~np.all(others == (px, py), axis=1))
                cost = (others_weight[hidden].sum() + 0.3 * abs(k) + 0.1 * (not right)
                        + 1000 * (x0 < 0 or x1 > 1))
                if best is None or cost < best[0]:
                    best = (cost, x0, x1, y0, y1, y, right)
        if best is None:   # no free place within reach: stack it above the others (cannot happen with 8 labels)
            y = max((c1 for *_, c1 in placed), default=py) + height
            best = (0.0, px + 0.02, px + 0.02 + w, y - height / 2, y + height / 2, y, True)
        _, x0, x1, y0, y1, y, right = best
        placed.append((x0, x1, y0, y1))
        out.append((px + (0.02 if right else -0.02), y, right))
    return out


def _morris_table(result, name: str):
    t = result.indices[result.indices["output"] == name]
    mu = t[t["index"] == "mu_star"].set_index("parameter")
    sd = t[t["index"] == "sigma"].set_index("parameter").reindex(mu.index)
    scale, _ = value_scale(name)
    row = _noise_row(result, name)
    floor = float(row["mu_star_noise_floor"]) * scale if row is not None else float("nan")
    return mu[["value", "lo", "hi"]] * scale, sd["value"] * scale, floor


def morris_figure(result, name: str, lang: str, conf_level: float) -> Figure:
    """mu* against sigma, horizontal bars = mu* interval. The largest mu* above the noise floor
    (at most ``MORRIS_DIRECT_LABELS``) are named at their points, moved apart where they would
    overlap, with a leader line. Names carry the rank of their mu*; the other points are listed
    beside with their mu* (numbers at points in the cluster near the floor would overlap as the
    names did)."""
    mu, sd, floor = _morris_table(result, name)
    scale, kind = value_scale(name)
    order = list(mu["value"].sort_values(ascending=False, kind="stable").index)
    rank = {p: i + 1 for i, p in enumerate(order)}
    above = [p for p in order if not np.isfinite(floor) or mu.loc[p, "value"] > floor]
    named = above[:MORRIS_DIRECT_LABELS]
    listed = [p for p in order if p not in named]

    height_in = max(5.5, 1.5 + 0.16 * len(listed))   # the side list grows with the unnamed points
    fig = Figure(figsize=(10.5, height_in))
    ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [7, 3.5], "wspace": 0.05})
    err = np.vstack([mu["value"] - mu["lo"], mu["hi"] - mu["value"]]).clip(min=0)
    ax.errorbar(mu["value"], sd.to_numpy(), xerr=err, fmt="o", ms=4, color="tab:blue", ecolor="0.75", capsize=2,
                zorder=2)
    top = float(max(mu["hi"].max(), sd.max(), 1e-12 * scale))
    handles = ax.plot([0, top], [0, top], ls=":", color="0.5", lw=1, label=_t("diagonal", lang))
    if np.isfinite(floor):
        handles.append(ax.axvline(floor, ls="--", color="tab:red", lw=1, label=_t("floor", lang)))
    ax.set_xlim(0, 1.04 * top)
    ax.set_ylim(0, 1.06 * float(max(sd.max(), 1e-12 * scale)))
    unit = _unit(name, lang)
    ax.set_xlabel(_t("mu_star", lang, unit=unit))
    ax.set_ylabel(_t("sigma", lang, unit=unit))
    _number_axis(ax.xaxis, lang)
    _number_axis(ax.yaxis, lang)
    ax.set_title(f"Morris: {output_label(name, lang)}\n{_noise_text(result, name, lang)}", fontsize=10)

    # named points: labels placed where they overlap no other label and hide as few points as they can
    to_axes = ax.transAxes.inverted()
    every = to_axes.transform(ax.transData.transform(np.column_stack([mu["value"], sd.to_numpy()])))
    where = dict(zip(mu.index, every))
    box = ax.get_position()
    width_pt, height_pt = box.width * fig.get_figwidth() * 72, box.height * fig.get_figheight() * 72
    texts = [f"{rank[p]} {p}" for p in named]
    spots = place_labels(np.array([where[p] for p in named]).reshape(-1, 2),
                         np.array([0.6 * LABEL_PT * len(t) / width_pt for t in texts]),   # 0.6 em a character: at most
                         LABEL_GAP_PT / height_pt, every,
                         np.where(np.isin(mu.index, named), 10.0, 1.0))   # hiding a named point is worse
    for p, text, (x, y, right) in zip(named, texts, spots):
        ax.annotate(text, xy=tuple(where[p]), xycoords="axes fraction", xytext=(x, y), textcoords="axes fraction",
                    ha="left" if right else "right", va="center", fontsize=LABEL_PT, gid="morris-label",
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
                    arrowprops={"arrowstyle": "-", "color": "0.45", "lw": 0.6, "shrinkA": 1, "shrinkB": 3})

    side.axis("off")
    lines = []
    if listed:
        d = decimals_for(mu.loc[listed, "value"] / scale, kind)
        lines.append(_t("unlabelled", lang, unit=f" ({unit[2:]})" if unit else ""))
        width = max(len(p) for p in listed)
        marked = False
        for p in listed:
            if np.isfinite(floor) and not marked and mu.loc[p, "value"] <= floor:
                lines.append(f"     {_t('below_floor', lang)}")
                marked = True
            value = format_number(mu.loc[p, "value"] / scale, lang, kind, decimals=d, unit=False)
            lines.append(f"{rank[p]:>3}  {p:<{width}}  {value:>8}")
    side.text(0.02, 1.0, "\n".join(lines), transform=side.transAxes, va="top", ha="left", fontsize=LABEL_PT,
              family="DejaVu Sans Mono", linespacing=1.25, gid="morris-list")
    side.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 0.0), fontsize=8, frameon=False)
    return fig


def morris_plot(result, name: str, path: Path, lang: str, conf_level: float) -> None:
    _save(morris_figure(result, name, lang, conf_level), path)


# ------------------------------------------------------------------ index bars
def out_of_range_note(result, name: str, lang: str) -> str:
    """The warning for S1 or ST whose whole interval lies outside [0, 1] ("" if there is none)."""
    from sim.sweeps.analysis import outside_unit_interval
    bad = outside_unit_interval(result.indices, name)
    if bad.empty:
        return ""
    what = ", ".join(_t("of", lang, index=i, parameter=p) for i, p in zip(bad["index"], bad["parameter"]))
    return _t("too_small_one" if len(bad) == 1 else "too_small_many", lang, what=what)


def bar_figure(result, name: str, indices: list[str], lang: str, conf_level: float) -> Figure:
    """Bars per parameter for each index (S1 and ST, or delta, or PAWN) with interval whiskers;
    for ST the noise floor (dashed) and a warning when an index lies outside [0, 1] beyond its interval."""
    t = result.indices[(result.indices["output"] == name) & (result.indices["parameter2"] == "")]
    main = t[t["index"] == indices[-1]].set_index("parameter")["value"].sort_values(ascending=False)
    order = list(main.index)
    x = np.arange(len(order))
    width = 0.8 / len(indices)
    fig = Figure(figsize=(max(6, 0.6 * len(order) + 2), 4.5))
    ax = fig.subplots()
    for i, idx in enumerate(indices):
        s = t[t["index"] == idx].set_index("parameter").reindex(order)
        err = np.vstack([s["value"] - s["lo"], s["hi"] - s["value"]]).clip(min=0)
        ax.bar(x + (i - (len(indices) - 1) / 2) * width, s["value"], width, yerr=err, capsize=2,
               label=_t(idx, lang))
    ax.set_xticks(x, order, rotation=40, ha="right", fontsize=8)
    ax.axhline(0, color="0.3", lw=0.8)
    row = _noise_row(result, name)
    if "ST" in indices and row is not None and np.isfinite(row["noise_share_of_row_means"]):
        # every total index picks up the seed noise left in the row means (docs/sensitivity.md):
        # an input without effect gets ST ≈ that noise share
        ax.axhline(float(row["noise_share_of_row_means"]), ls="--", color="tab:red", lw=1,
                   label=_t("st_floor", lang), gid="st-noise-floor")
    ax.set_ylabel(_t("index", lang))
    _number_axis(ax.yaxis, lang)
    ax.legend(fontsize=8, title=_t("interval", lang, pct=f"{100 * conf_level:.0f}%"), title_fontsize=7,
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    note = out_of_range_note(result, name, lang)
    if note:
        # wrapped to the axes' width (0.6 em per character: an upper bound), "[0, 1]" kept on one line
        # (a no-break space), with room above the bars
        box = ax.get_position()
        width_pt, height_pt = box.width * fig.get_figwidth() * 72, box.height * fig.get_figheight() * 72
        note = textwrap.fill(note.replace("[0, 1]", "[0,\u00a01]"), width=int(width_pt / (0.6 * NOTE_PT)),
                             break_long_words=False, break_on_hyphens=False)
        room = (note.count("\n") + 1) * 1.3 * NOTE_PT + 10
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, lo + (hi - lo) / (1 - room / height_pt))
        ax.text(0.01, 0.985, note, transform=ax.transAxes, va="top", ha="left", fontsize=NOTE_PT, color="darkred",
                bbox={"facecolor": "white", "edgecolor": "darkred", "boxstyle": "round,pad=0.3"},
                gid="out-of-range-note")
    ax.set_title(f"{output_label(name, lang)}\n{_noise_text(result, name, lang)}", fontsize=10)
    return fig


def bar_plot(result, name: str, indices: list[str], path: Path, lang: str, conf_level: float) -> None:
    _save(bar_figure(result, name, indices, lang, conf_level), path)


# ------------------------------------------------------------------ convergence
CONVERGENCE_COLOURED = 10   # lines with a colour of their own (tab10): more cannot be told apart


def convergence_figure(result, name: str, index: str, lang: str) -> Figure | None:
    """The main index of every parameter over a growing sample (log2 axis); None with one sample size."""
    c = result.convergence
    c = c[(c["output"] == name) & (c["index"] == index)]
    if c.empty or c["units"].nunique() < 2:
        return None
    scale = value_scale(name)[0] if index == "mu_star" else 1.0   # mu* has the output's units
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    # The CONVERGENCE_COLOURED parameters largest at the biggest sample each get a colour of their
    # own; the rest are thin grey lines under one legend entry (33 colours cannot be told apart).
    at_largest = c[c["units"] == c["units"].max()].set_index("parameter")["value"]
    order = at_largest.abs().sort_values(ascending=False, kind="stable").index.tolist()
    coloured = order[:CONVERGENCE_COLOURED]
    colours = matplotlib.colormaps["tab10"].colors
    rest = [p for p in c["parameter"].unique() if p not in coloured]
    for i, p in enumerate(coloured):
        g = c[c["parameter"] == p]
        ax.plot(g["units"], g["value"] * scale, marker="o", ms=3, label=p, color=colours[i], zorder=3)
    for j, p in enumerate(rest):
        g = c[c["parameter"] == p]
        ax.plot(g["units"], g["value"] * scale, color="0.7", linewidth=0.8, zorder=2,
                label=_t("other_parameters", lang, n=len(rest)) if j == 0 else None)
    ax.set_xscale("log", base=2)
    ax.set_xlabel(_t("units", lang))
    ax.set_ylabel(_t(index, lang, unit=_unit(name, lang) if index == "mu_star" else ""))
    _number_axis(ax.yaxis, lang)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(output_label(name, lang), fontsize=10)
    return fig


def convergence_plot(result, name: str, index: str, path: Path, lang: str) -> None:
    fig = convergence_figure(result, name, index, lang)
    if fig is not None:
        _save(fig, path)


def plots_folder(folder: Path, lang: str) -> Path:
    """Where the figures of ``lang`` go: English in ``folder`` (the names links point to), Dutch in ``folder/nl``."""
    return folder if lang == "en" else folder / lang


def plot_all(exp, result, folder: Path, lang: str = "en") -> list[Path]:
    """Every figure of the analysis; returns the files written."""
    from sim.sweeps.analysis import MAIN_INDEX
    method, conf = exp.method.name, exp.method.conf_level
    folder = plots_folder(Path(folder), lang)
    written = []
    for o in exp.outputs:
        name = o.label()
        if method == "morris":
            path = folder / f"morris_{name}.png"
            morris_plot(result, name, path, lang, conf)
        else:
            bars = {"sobol": ["S1", "ST"], "efast": ["S1", "ST"], "delta": ["S1", "delta"],
                    "pawn": ["maximum", "median"]}[method]
            path = folder / f"{method}_{name}.png"
            bar_plot(result, name, bars, path, lang, conf)
        written.append(path)
        conv = folder / f"convergence_{name}.png"
        convergence_plot(result, name, MAIN_INDEX[method], conv, lang)
        if conv.exists():
            written.append(conv)
    return written
