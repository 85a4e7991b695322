"""Tests for sim.plots: labels, the map figure and the KPI figure."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from sim import plots
from sim.plots import METRIC_LABELS, label, plot_kpis, plot_map
from sim.uses import LAND_CODE, LAND_PARCEL, N_STREETS, N_USES, USES, USE_CODE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

REQUIRED_METRICS = (
    "vacancy_units", "vacancy_floor", "vacancy_units_A1", "vacancy_units_A2", "vacancy_units_B",
    "vacancy_units_C", "longterm_vacancy_1y", "longterm_vacancy_3y", "diversity_shannon",
    "craft_culture_m2", "households", "residents", "dwellings_occupied", "rent_burden_over_40",
    "footfall_index", "condition_mean", "condition_poor_share", "fronts_active", "fronts_detected",
    "business_entries", "business_exits", "conversions_total", "owner_value_eur",
    "municipal_spend_eur", "municipal_income_eur", "net_public_cost_eur",
)


def make_snapshot(n: int = 30, seed: int = 0) -> dict:
    """A grid with a street every 6th row/column, a square, water, random uses."""
    rng = np.random.default_rng(seed)
    land = np.full((n, n), LAND_PARCEL, dtype=np.int8)
    land[::6, :] = LAND_CODE["street"]
    land[:, ::6] = LAND_CODE["street"]
    land[7:11, 7:11] = LAND_CODE["square"]
    land[:, -2:] = LAND_CODE["water"]
    use = rng.integers(0, N_USES, size=(n, n)).astype(np.int8)
    street = rng.integers(0, N_STREETS, size=(n, n)).astype(np.int8)
    street[land != LAND_PARCEL] = -1
    return {"use": use, "land": land, "street_class": street}


def make_metrics(n_rep: int = 2, n_steps: int = 20, scenarios: tuple[str, ...] = ()) -> pd.DataFrame:
    """A tidy metrics frame: every required metric plus share_<use> for all uses."""
    rng = np.random.default_rng(1)
    names = list(REQUIRED_METRICS) + [f"share_{u.name}" for u in USES]
    rows = []
    for scen in scenarios or (None,):
        for rep in range(n_rep):
            shares = rng.dirichlet(np.ones(N_USES), size=n_steps)
            for step in range(n_steps):
                for name in names:
                    if name.startswith("share_"):
                        value = shares[step, USE_CODE[name[len("share_"):]]]
                    else:
                        value = rng.uniform(0.0, 1.0)
                    row = {"year": step * 0.25, "metric": name, "value": value, "replicate": rep}
                    if scen is not None:
                        row["scenario"] = scen
                    rows.append(row)
    return pd.DataFrame(rows)


def assert_png(path, min_width: int, min_height: int) -> np.ndarray:
    """Assert ``path`` is a PNG of at least the given size and return its pixels."""
    assert path.exists()
    assert path.read_bytes()[:8] == PNG_MAGIC
    img = imread(path)
    height, width = img.shape[:2]
    assert width >= min_width and height >= min_height
    assert width <= 5 * min_width and height <= 5 * min_height
    return img


# --------------------------------------------------------------------------- labels


def test_vacancy_label_dutch_differs_and_says_leegstand():
    en, nl = label("vacancy_units", "en"), label("vacancy_units", "nl")
    assert en != nl
    assert "eegstand" in nl
    assert "eegstand" not in en


def test_share_label_uses_use_table():
    craft = USES[USE_CODE["craft"]]
    assert craft.label_nl in label("share_craft", "nl")
    assert label("share_craft", "nl").startswith("Aandeel")
    assert label("share_craft", "en") == f"Share: {craft.label_en}"


def test_use_and_street_labels_come_from_tables():
    assert label("horeca", "nl") == "Horeca"
    assert label("independent", "nl") == USES[USE_CODE["independent"]].label_nl
    assert label("C", "en") == "C (edge street)"
    assert label("C", "nl") == "C (aanloopstraat)"


def test_every_required_metric_has_distinct_labels():
    for name in REQUIRED_METRICS:
        assert name in METRIC_LABELS
        assert label(name, "en") != name
        assert label(name, "nl") != name
    assert len({label(n, "nl") for n in REQUIRED_METRICS}) == len(REQUIRED_METRICS)


def test_dutch_domain_terms():
    assert "dekmantel" in label("fronts_active", "nl")
    assert "onderhoud" in label("condition_mean", "nl")
    assert label("households", "nl") == "Huishoudens"
    assert "eegstand" in label("longterm_vacancy_3y", "nl")


def test_unknown_key_falls_back_and_bad_lang_raises():
    assert label("no_such_metric", "nl") == "no_such_metric"
    assert label("share_no_such_use", "en") == "share_no_such_use"
    with pytest.raises(ValueError):
        label("vacancy_units", "de")


# --------------------------------------------------------------------------- map


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_plot_map_writes_png(tmp_path, lang):
    out = plot_map(make_snapshot(), tmp_path / f"map_{lang}.png", title="Test", lang=lang)
    assert out == tmp_path / f"map_{lang}.png"
    img = assert_png(out, 1000, 600)
    assert img[..., :3].std() > 0.05  # not a blank canvas
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp file left behind


def test_plot_map_shows_use_colours(tmp_path):
    """A map that is all horeca must contain the horeca colour somewhere."""
    snap = make_snapshot()
    snap["use"][:] = USE_CODE["horeca"]
    out = plot_map(snap, tmp_path / "map.png")
    img = imread(out)[..., :3]
    horeca = np.array([0xE3, 0x1A, 0x1C]) / 255.0
    assert (np.abs(img - horeca).max(axis=-1) < 0.02).sum() > 1000


def test_plot_map_large_grid_and_nested_dir(tmp_path):
    out = plot_map(make_snapshot(n=200), tmp_path / "sub" / "map.png", lang="nl")
    assert_png(out, 1000, 600)


def test_plot_map_rejects_inconsistent_snapshot(tmp_path):
    snap = make_snapshot()
    snap["land"] = snap["land"][:-1]
    with pytest.raises(ValueError):
        plot_map(snap, tmp_path / "map.png")
    snap = make_snapshot()
    del snap["street_class"]
    with pytest.raises(ValueError):
        plot_map(snap, tmp_path / "map.png")
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- KPIs


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_plot_kpis_writes_png(tmp_path, lang):
    out = plot_kpis(make_metrics(), tmp_path / f"kpi_{lang}.png", lang=lang, title="Test")
    assert out == tmp_path / f"kpi_{lang}.png"
    img = assert_png(out, 1400, 800)
    assert img[..., :3].std() > 0.05
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_plot_kpis_missing_metrics_do_not_raise(tmp_path):
    metrics = make_metrics()
    keep = ~metrics["metric"].isin(["footfall_index", "households", "vacancy_units_B"])
    keep &= ~metrics["metric"].str.startswith("share_")
    out = plot_kpis(metrics[keep], tmp_path / "kpi.png", lang="nl")
    assert_png(out, 1400, 800)


def test_plot_kpis_empty_and_minimal_frames(tmp_path):
    empty = pd.DataFrame({"year": pd.Series(dtype=float), "metric": pd.Series(dtype=str),
                          "value": pd.Series(dtype=float)})
    assert_png(plot_kpis(empty, tmp_path / "empty.png"), 1400, 800)
    empty_scen = empty.assign(scenario=pd.Series(dtype=str), replicate=pd.Series(dtype=int))
    assert_png(plot_kpis(empty_scen, tmp_path / "empty_scen.png", lang="nl"), 1400, 800)
    single = pd.DataFrame({"year": [0.0, 1.0], "metric": ["households"] * 2, "value": [10.0, 12.0]})
    assert_png(plot_kpis(single, tmp_path / "single.png"), 1400, 800)


def test_plot_kpis_several_scenarios(tmp_path):
    metrics = make_metrics(n_rep=2, n_steps=10, scenarios=("baseline", "regie"))
    assert_png(plot_kpis(metrics, tmp_path / "kpi.png"), 1400, 800)


def test_plot_kpis_requires_columns(tmp_path):
    with pytest.raises(ValueError):
        plot_kpis(pd.DataFrame({"year": [0.0], "value": [1.0]}), tmp_path / "kpi.png")


def test_summary_band_spans_replicates():
    metrics = pd.DataFrame({"year": [0.0] * 3, "metric": ["households"] * 3,
                            "value": [0.0, 10.0, 20.0], "replicate": [0, 1, 2]})
    row = plots.common._summarise(metrics).iloc[0]
    assert row["mean"] == pytest.approx(10.0)
    assert row["lo"] == pytest.approx(1.0)
    assert row["hi"] == pytest.approx(19.0)
    assert row["n"] == 3


# --------------------------------------------------------------------------- figures for notebooks


def test_figure_functions_return_figures_in_either_language():
    snap = make_snapshot()
    metrics = make_metrics(n_rep=2, n_steps=8, scenarios=("baseline", "regie"))
    for lang in ("en", "nl"):
        figures = {
            "map": plots.map_figure(snap, title="T", lang=lang),
            "kpis": plots.kpis_figure(metrics, lang=lang),
            "trajectories": plots.trajectories_figure(metrics, lang, baseline="baseline",
                                                      metric_names=("vacancy_units", "households")),
        }
        axes = {name: sum(ax.has_data() for ax in fig.axes) for name, fig in figures.items()}
        assert axes == {"map": 2, "kpis": 6, "trajectories": 2}, (lang, axes)
        assert figures["kpis"].axes[0].get_title() == {"en": "(a) Vacancy by street class",
                                                        "nl": "(a) Leegstand per straattype"}[lang]


def test_plotting_leaves_the_backend_to_the_notebook():
    """Importing Regie's plotting chooses no matplotlib backend (a notebook keeps its inline one)."""
    code = ("import matplotlib, sim.plots, sim.sweeps.plots, sim.workshop.report; "
            "from matplotlib import rcsetup; "
            "print(dict.__getitem__(matplotlib.rcParams, 'backend') is rcsetup._auto_backend_sentinel)")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize("lang, big, fraction", [("en", "12,000", "1.5"), ("nl", "12.000", "1,5")])
def test_tick_labels_group_thousands_and_use_the_decimal_mark(lang, big, fraction):
    from matplotlib.figure import Figure
    from sim.plots.common import _number_axis
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 16000])
    _number_axis(ax.yaxis, lang)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert big in labels
    ax.set_ylim(-2, 2)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert fraction in labels and "\u22121" + fraction[1:] in labels   # −1.5 / −1,5 keeps its minus sign
