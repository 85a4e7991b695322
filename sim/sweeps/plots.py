"""Figures of a sensitivity analysis: Morris mu*-sigma, index bars with intervals, convergence.

One PNG per output and figure kind in ``plots/``, labels in English or Dutch. Figures are
made without pyplot (as in ``sim.plots``): writing a PNG needs no backend, and a notebook
that runs a sweep keeps its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from sim.plots import label

TEXT = {  # key: (en, nl)
    "mu_star": ("mu* (mean absolute elementary effect)", "mu* (gemiddeld absoluut elementair effect)"),
    "sigma": ("sigma (spread: interaction or non-linearity)", "sigma (spreiding: interactie of niet-lineair)"),
    "index": ("sensitivity index", "gevoeligheidsindex"),
    "S1": ("first order S1", "eerste orde S1"),
    "ST": ("total ST", "totaal ST"),
    "delta": ("delta (moment-independent)", "delta (momentonafhankelijk)"),
    "median": ("PAWN median", "PAWN mediaan"),
    "maximum": ("PAWN maximum", "PAWN maximum"),
    "units": ("sample size (units: trajectories or base rows)", "steekproefomvang (trajecten of basisrijen)"),
    "noise": ("seed noise share", "aandeel toevalsruis"),
    "floor": ("noise floor: mu* from seed noise alone", "ruisvloer: mu* door toevalsruis alleen"),
    "interval": ("bars: {pct} interval over replicates and rows", "balken: {pct}-interval over replicaties en rijen"),
    "last": ("mean of the last {n} years", "gemiddelde laatste {n} jaar"),
}


def _t(key: str, lang: str, **kw) -> str:
    return TEXT[key][0 if lang == "en" else 1].format(**kw)


def output_label(name: str, lang: str) -> str:
    m = re.fullmatch(r"(.+)_last(\d+)y", name)
    if m:
        return f"{label(m.group(1), lang)} ({_t('last', lang, n=m.group(2))})"
    return label(name, lang)


def _noise_text(result, name: str, lang: str) -> str:
    row = result.noise[result.noise["output"] == name]
    share = float(row["noise_share"].iloc[0]) if len(row) else float("nan")
    return "" if np.isnan(share) else f"{_t('noise', lang)}: {100 * share:.0f}%"


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    tmp.replace(path)


def morris_plot(result, name: str, path: Path, lang: str, conf_level: float) -> None:
    """mu* against sigma, one labelled point per parameter, horizontal bars = mu* interval."""
    t = result.indices[result.indices["output"] == name]
    mu = t[t["index"] == "mu_star"].set_index("parameter")
    sd = t[t["index"] == "sigma"].set_index("parameter").reindex(mu.index)
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    err = np.vstack([mu["value"] - mu["lo"], mu["hi"] - mu["value"]]).clip(min=0)
    ax.errorbar(mu["value"], sd["value"], xerr=err, fmt="o", color="tab:blue", ecolor="0.6", capsize=2)
    for p in mu["value"].nlargest(8).index:   # more labels overlap in the cluster near zero; summary.md has all
        ax.annotate(p, (mu.loc[p, "value"], sd.loc[p, "value"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    top = float(max(mu["hi"].max(), sd["value"].max(), 1e-12))
    ax.plot([0, top], [0, top], ls=":", color="0.5", lw=1)   # sigma = mu*: strongly non-linear or interacting
    floor = result.noise.loc[result.noise["output"] == name, "mu_star_noise_floor"]
    if len(floor) and np.isfinite(floor.iloc[0]):
        ax.axvline(float(floor.iloc[0]), ls="--", color="tab:red", lw=1, label=_t("floor", lang))
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_t("mu_star", lang))
    ax.set_ylabel(_t("sigma", lang))
    ax.set_title(f"Morris: {output_label(name, lang)}\n{_noise_text(result, name, lang)}", fontsize=10)
    _save(fig, path)


def bar_plot(result, name: str, indices: list[str], path: Path, lang: str, conf_level: float) -> None:
    """Bars per parameter for each index (S1 and ST, or delta, or PAWN) with interval whiskers."""
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
    ax.set_ylabel(_t("index", lang))
    ax.legend(fontsize=8, title=_t("interval", lang, pct=f"{100 * conf_level:.0f}%"), title_fontsize=7)
    ax.set_title(f"{output_label(name, lang)}\n{_noise_text(result, name, lang)}", fontsize=10)
    _save(fig, path)


def convergence_plot(result, name: str, index: str, path: Path, lang: str) -> None:
    """The main index of every parameter over a growing sample (log2 axis)."""
    c = result.convergence
    c = c[(c["output"] == name) & (c["index"] == index)]
    if c.empty or c["units"].nunique() < 2:
        return
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    n = c["parameter"].nunique()
    colours = matplotlib.colormaps["tab10" if n <= 10 else "tab20"].colors   # up to 20 parameters, each its own colour
    for i, (p, g) in enumerate(c.groupby("parameter", sort=False)):
        ax.plot(g["units"], g["value"], marker="o", ms=3, label=p, color=colours[i % len(colours)])
    ax.set_xscale("log", base=2)
    ax.set_xlabel(_t("units", lang))
    ax.set_ylabel(_t(index, lang))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(output_label(name, lang), fontsize=10)
    _save(fig, path)


def plot_all(exp, result, folder: Path, lang: str = "en") -> list[Path]:
    """Every figure of the analysis; returns the files written."""
    from sim.sweeps.analysis import MAIN_INDEX
    method, conf = exp.method.name, exp.method.conf_level
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
