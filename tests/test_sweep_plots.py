"""Figures of `regie analyze` (sim.sweeps.plots): the warning for indices outside [0, 1], the ST
noise floor, Morris labels that do not overlap, euro axes in millions, and English and Dutch
figures side by side. Built on small synthetic index tables: no model runs, except one tiny
test-function sweep for the files."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from sim.cli import main
from sim.sweeps.analysis import AnalysisResult, out_of_range_notes
from sim.sweeps.plots import bar_figure, morris_figure, place_labels
from sim.sweeps.sweep import sweep

COLUMNS = ["output", "method", "parameter", "parameter2", "index", "value", "lo", "hi"]


def result_of(rows: list[tuple], noise: dict[str, dict]) -> AnalysisResult:
    """An AnalysisResult from (output, method, parameter, index, value, lo, hi) rows."""
    indices = pd.DataFrame([(o, m, p, "", i, v, lo, hi) for o, m, p, i, v, lo, hi in rows], columns=COLUMNS)
    indices["conf"] = (indices["hi"] - indices["lo"]) / 2
    nz = pd.DataFrame([{"output": o, "noise_share": float("nan"), "noise_share_of_row_means": float("nan"),
                        "mu_star_noise_floor": float("nan"), **v} for o, v in noise.items()])
    conv = pd.DataFrame(columns=["output", "parameter", "index", "units", "rows", "value"])
    return AnalysisResult(None, indices, nz, conv)


def sobol_result(cells: dict[tuple[str, str], tuple[float, float, float]], floor: float = 0.2) -> AnalysisResult:
    """Output y, parameters a, b, c: S1 and ST in range unless ``cells`` says otherwise."""
    rows = []
    for p, (s1, st) in {"a": (0.5, 0.6), "b": (0.2, 0.3), "c": (0.0, 0.05)}.items():
        for index, v in (("S1", s1), ("ST", st)):
            value, lo, hi = cells.get((p, index), (v, v - 0.1, v + 0.1))
            rows.append(("y", "sobol", p, index, value, lo, hi))
    return result_of(rows, {"y": {"noise_share": 0.3, "noise_share_of_row_means": floor}})


def drawn(fig):
    """Draw the figure on an Agg canvas (as savefig does) and return the renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def texts(fig, gid: str):
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


def plain(text) -> str:
    """A figure text as one line (it may be wrapped, with no-break spaces)."""
    return text.get_text().replace("\u00a0", " ").replace("\n", " ")


# ------------------------------------------------------------------ Sobol: indices outside [0, 1]
@pytest.mark.parametrize("cells, expected", [
    ({}, None),                                               # all in range
    ({("a", "ST"): (1.05, 0.9, 1.2)}, None),                 # above 1, but its interval reaches into [0, 1]
    ({("c", "S1"): (-0.2, -0.4, 0.02)}, None),               # below 0 within its interval
    ({("a", "ST"): (1.3, 1.1, 1.5)}, "ST of a"),             # the whole interval above 1
    ({("c", "S1"): (-0.4, -0.6, -0.1)}, "S1 of c"),          # the whole interval below 0
])
def test_out_of_range_note_only_when_the_whole_interval_is_outside(cells, expected):
    result = sobol_result(cells)
    notes = out_of_range_notes(result.indices, ["y"])
    for lang, phrase in (("en", "sample too small"), ("nl", "steekproef te klein")):
        fig = bar_figure(result, "y", ["S1", "ST"], lang, 0.95)
        shown = texts(fig, "out-of-range-note")
        if expected is None:
            assert shown == [] and notes == []
        else:
            assert len(shown) == 1 and phrase in plain(shown[0]), [plain(t) for t in shown]
            assert "[0, 1]" in plain(shown[0])
            assert len(notes) == 1 and expected in notes[0] and "increase n" in notes[0], notes
    if expected:
        nl = plain(texts(bar_figure(result, "y", ["S1", "ST"], "nl", 0.95), "out-of-range-note")[0])
        assert expected.replace(" of ", " van ") in nl and "vergroot n" in nl, nl


def test_out_of_range_note_reaches_summary_md(tmp_path, monkeypatch, capsys):
    """analyze() puts the note into its notes: summary.md lists it and `regie analyze` prints it.
    A real sweep small enough for this has intervals too wide to leave [0, 1], so the index
    table of a tiny Sobol sweep is shifted: ST of x3 lies at 1.5 (1.4 to 1.6)."""
    import sim.sweeps.analysis as analysis
    folder = _ishigami_sweep(tmp_path, "{name: sobol, n: 8, bootstrap: 10}")
    real = analysis.index_table

    def shifted(*args, **kw):
        t = real(*args, **kw)
        cell = (t["index"] == "ST") & (t["parameter"] == "x3")
        t.loc[cell, ["value", "lo", "hi"]] = [1.5, 1.4, 1.6]
        return t

    monkeypatch.setattr(analysis, "index_table", shifted)
    assert main(["analyze", str(folder)]) == 0
    expected = "y: sample too small: ST of x3 1.50 (1.40 to 1.60) lies outside [0, 1] with its whole interval"
    assert expected in (folder / "summary.md").read_text()
    assert expected in capsys.readouterr().err
    monkeypatch.setattr(analysis, "index_table", real)
    assert main(["analyze", str(folder)]) == 0
    assert "sample too small" not in (folder / "summary.md").read_text()


# ------------------------------------------------------------------ Sobol: the ST noise floor
def test_st_noise_floor_is_drawn_dashed_and_in_the_legend():
    fig = bar_figure(sobol_result({}, floor=0.27), "y", ["S1", "ST"], "en", 0.95)
    ax = fig.axes[0]
    floor = [line for line in ax.lines if line.get_gid() == "st-noise-floor"]
    assert len(floor) == 1
    assert np.allclose(floor[0].get_ydata(), 0.27) and floor[0].get_linestyle() == "--"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("noise floor of ST" in t for t in legend), legend
    # methods without a total index, or without replicates, draw none
    no_st = bar_figure(sobol_result({}, floor=0.27), "y", ["S1"], "en", 0.95)
    assert not [line for line in no_st.axes[0].lines if line.get_gid() == "st-noise-floor"]
    no_reps = bar_figure(sobol_result({}, floor=float("nan")), "y", ["S1", "ST"], "en", 0.95)
    assert not [line for line in no_reps.axes[0].lines if line.get_gid() == "st-noise-floor"]


# ------------------------------------------------------------------ Morris: labels that do not overlap
def morris_result(name: str, scale: float = 1.0, k: int = 33, floor: float = 1.0) -> AnalysisResult:
    """k parameters, most in a tight cluster at the noise floor (as in the 33-parameter screening),
    twelve of them just above it at nearly the same place, and two clear effects."""
    rng = np.random.default_rng(4)
    mu = np.r_[6.0, 3.5, 1.6 + 0.02 * rng.random(12), 0.6 + 0.6 * rng.random(k - 14)]
    sigma = np.r_[2.0, 1.0, 1.9 + 0.02 * rng.random(12), 0.8 + 0.7 * rng.random(k - 14)]
    names = [f"group{i % 4}.parameter_with_a_long_name_{i}" for i in range(k)]
    rows = []
    for p, m, s in zip(names, mu, sigma):
        rows += [(name, "morris", p, "mu_star", m * scale, 0.7 * m * scale, 1.3 * m * scale),
                 (name, "morris", p, "sigma", s * scale, s * scale, s * scale)]
    return result_of(rows, {name: {"noise_share": 0.3, "mu_star_noise_floor": floor * scale}})


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_morris_labels_do_not_overlap_with_33_parameters(lang):
    result = morris_result("vacancy_units")
    fig = morris_figure(result, "vacancy_units", lang, 0.95)
    renderer = drawn(fig)
    labels = texts(fig, "morris-label")
    assert len(labels) == 8                                  # the top 8 above the floor are named
    # the text's own box: an Annotation's extent also spans its leader line
    boxes = [Text.get_window_extent(t, renderer) for t in labels]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), (labels[i].get_text(), labels[j].get_text())
    ax = fig.axes[0]
    inside = ax.get_window_extent(renderer)
    assert all(inside.y0 <= b.y0 and b.y1 <= inside.y1 for b in boxes)   # no label pushed off the axes
    # every parameter is named once: at its point or in the list beside the axes
    side = texts(fig, "morris-list")[0].get_text()
    for p in result.indices["parameter"].unique():
        shown = sum(t.get_text().split(" ", 1)[1] == p for t in labels) + sum(
            line.split()[1:2] == [p] for line in side.splitlines())
        assert shown == 1, p
    assert side.splitlines()[0].startswith("Other points" if lang == "en" else "Overige punten")


def test_morris_labels_name_only_points_above_the_noise_floor():
    result = morris_result("y", floor=3.0)                  # only the two clear effects are above
    labels = [t.get_text() for t in texts(morris_figure(result, "y", "en", 0.95), "morris-label")]
    assert labels == ["1 group0.parameter_with_a_long_name_0", "2 group1.parameter_with_a_long_name_1"]


def test_place_labels_keeps_boxes_apart_and_points_visible():
    """Four labels for one spot move apart (other side, or whole lines up or down); a label that would hide another
    named point goes to the other side of its own."""
    same = np.array([[0.5, 0.5]] * 4)
    spots = place_labels(same, np.full(4, 0.2), 0.05, same, np.ones(4))
    boxes = [(x, x + 0.2) if right else (x - 0.2, x) for x, _, right in spots]
    for (i, (a0, a1)), (j, (b0, b1)) in itertools.combinations(enumerate(boxes), 2):
        apart_x = a1 <= b0 or b1 <= a0
        apart_y = abs(spots[i][1] - spots[j][1]) >= 0.05 - 1e-12
        assert apart_x or apart_y, (spots[i], spots[j])
    assert spots[0][1] == 0.5 and spots[0][2]                # the first keeps its place, right of its point
    assert len({(round(y, 9), right) for _, y, right in spots}) == 4
    # point B sits right of A at A's height: A's label goes left, B's stays right
    pts = np.array([[0.4, 0.5], [0.55, 0.5]])
    (xa, ya, right_a), (xb, yb, right_b) = place_labels(pts, np.full(2, 0.2), 0.05, pts, np.full(2, 10.0))
    assert not right_a and xa < 0.4 and ya == 0.5
    assert right_b and yb == 0.5


# ------------------------------------------------------------------ euros in millions
@pytest.mark.parametrize("name", ["net_public_cost_eur", "owner_value_eur_last5y"])
@pytest.mark.parametrize("lang, unit", [("en", "EUR million"), ("nl", "miljoen euro")])
def test_euro_axes_are_in_millions(name, lang, unit):
    result = morris_result(name, scale=1e6)                  # mu* of 0.6 to 7.8 million euros
    fig = morris_figure(result, name, lang, 0.95)
    drawn(fig)
    ax = fig.axes[0]
    for axis, text in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
        assert unit in text, text
        assert axis.get_offset_text().get_text() == ""      # no "1e6" above the axis
        ticks = [float(t.get_text().replace("\u2212", "-").replace(",", ".")) for t in axis.get_ticklabels()
                 if t.get_text()]
        assert ticks and max(ticks) <= 10, ticks             # 0 .. 8, not 0 .. 8e6
    side = texts(fig, "morris-list")[0].get_text()
    assert "(EUR million)" in side or "(miljoen euro)" in side
    assert "e+06" not in side and "000" not in side


def test_other_outputs_keep_their_units():
    fig = morris_figure(morris_result("craft_culture_m2", scale=1000), "craft_culture_m2", "en", 0.95)
    drawn(fig)
    assert "EUR" not in fig.axes[0].get_xlabel()
    assert max(float(t.get_text().replace("\u2212", "-").replace(",", "")) for t in
               fig.axes[0].xaxis.get_ticklabels() if t.get_text()) >= 1000


# ------------------------------------------------------------------ English and Dutch figures side by side
def _ishigami_sweep(tmp_path: Path, method: str, noise_sd: float = 0.5) -> Path:
    path = tmp_path / "ish.yaml"
    pi = np.pi
    path.write_text(f"""name: ish
model: ishigami
test_function: {{noise_sd: {noise_sd}}}
parameters:
  - {{path: x1, bounds: [{-pi}, {pi}]}}
  - {{path: x2, bounds: [{-pi}, {pi}]}}
  - {{path: x3, bounds: [{-pi}, {pi}]}}
outputs: [{{kpi: y}}]
method: {method}
replicates: 2
seed: 7
""")
    sweep(path, executor="serial", out=tmp_path / "out", analyze=False, progress=False)
    return tmp_path / "out"


def test_analyze_in_dutch_keeps_the_english_figures(tmp_path, capsys):
    folder = _ishigami_sweep(tmp_path, "{name: morris, n: 8, bootstrap: 10}")
    assert main(["analyze", str(folder)]) == 0
    assert f"plots: {folder / 'plots'}\n" in capsys.readouterr().out
    english = {p.name: p.read_bytes() for p in (folder / "plots").glob("*.png")}
    assert {"morris_y.png", "convergence_y.png"} <= set(english)
    assert main(["analyze", str(folder), "--lang", "nl"]) == 0
    assert f"plots: {folder / 'plots' / 'nl'}\n" in capsys.readouterr().out   # the console names where they went
    assert {p.name: p.read_bytes() for p in (folder / "plots").glob("*.png")} == english   # untouched
    dutch = {p.name: p.read_bytes() for p in (folder / "plots" / "nl").glob("*.png")}
    assert set(dutch) == set(english)                       # the same names, in plots/nl/
    assert all(dutch[n] != english[n] for n in english)     # and really other figures


def test_convergence_colours_the_ten_largest_and_greys_the_rest():
    # 33 parameters (as the shipped instrument sweep): colours would repeat; the ten largest at the
    # biggest sample get distinct colours, the others one grey legend entry
    from sim.sweeps.plots import convergence_figure
    params = [f"p{i:02d}" for i in range(33)]
    conv = pd.DataFrame([{"output": "y", "parameter": p, "index": "ST", "units": u, "value": (i + 1) / 40 * u / 64}
                         for i, p in enumerate(params) for u in (16, 32, 64)])
    result = AnalysisResult(None, pd.DataFrame(), pd.DataFrame(), conv)
    fig = convergence_figure(result, "y", "ST", "en")
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    assert labels[:10] == params[::-1][:10]                        # the largest first
    assert labels[10:] == ["the other 23 parameters"]
    colours = [tuple(h.get_color()) if not isinstance(h.get_color(), str) else h.get_color() for h in handles[:10]]
    assert len(set(colours)) == 10
    assert len(ax.get_lines()) == 33
    nl = convergence_figure(result, "y", "ST", "nl").axes[0].get_legend_handles_labels()[1]
    assert nl[-1] == "de andere 23 parameters"
