"""Tests for the workshop comparison charts: small multiples of one KPI against doing nothing
(``trajectory_panels_figure``) and net public cost against effect (``cost_effect_figure``).
Synthetic tables only (no model runs)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.legend import Legend

from sim.plots import comparison as c

N_SCEN = 10       # instrument scenarios besides doing nothing (the brief's "up to ~10")
N_REP = 20
YEARS = np.arange(2025.0, 2045.01, 0.25)   # quarterly rows: the horizon is 2045.0
NAMES = ["baseline"] + [f"instrument_{k}" for k in range(1, N_SCEN + 1)]
LABELS = {s: f"Instrument number {k}" for k, s in enumerate(NAMES)}


def make_metrics(effect_per_scenario: float = 0.003, n_rep: int = N_REP, years=YEARS) -> pd.DataFrame:
    """Tidy metrics: vacancy (share) around 9%, diversity (index), households (count), costs,
    fronts (0 everywhere); scenario k shifts the trend by k × ``effect_per_scenario``."""
    rng = np.random.default_rng(7)
    t = (years - years[0]) / (years[-1] - years[0])
    frames = []
    for k, scen in enumerate(NAMES):
        for rep in range(n_rep):
            noise = rng.normal(0.0, 0.001, len(years)).cumsum()
            series = {"vacancy_units": 0.09 + k * effect_per_scenario * t + noise,
                      "diversity_shannon": 1.8 + k * effect_per_scenario * t + noise,
                      "households": 3000 + 100 * t + k * 10 * t + 100 * noise,
                      "net_public_cost_eur": k * 1e5 * t,
                      "fronts_active": 0.0 * t}
            for metric, value in series.items():
                frames.append(pd.DataFrame({"scenario": scen, "replicate": rep, "step": np.arange(len(years)),
                                            "year": years, "metric": metric, "value": value}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return make_metrics()


def panels(fig) -> list:
    """The axes that draw a scenario (hidden grid cells left out)."""
    return [ax for ax in fig.axes if ax.axison and ax.has_data()]


# --------------------------------------------------------------------------- trajectory panels


def test_one_panel_per_scenario_besides_doing_nothing(metrics):
    fig = c.trajectory_panels_figure(metrics, "vacancy_units", baseline="baseline", scenario_labels=LABELS)
    axes = panels(fig)
    assert len(axes) == len(NAMES) - 1
    assert [ax.get_title(loc="left") for ax in axes] == [LABELS[s] for s in NAMES[1:]]
    # three scenarios: three panels in one row
    few = metrics[metrics["scenario"].isin(NAMES[:4])]
    assert len(panels(c.trajectory_panels_figure(few, "vacancy_units", baseline="baseline"))) == 3


def test_x_axis_runs_from_first_year_to_horizon(metrics):
    fig = c.trajectory_panels_figure(metrics, "households", baseline="baseline")
    for ax in panels(fig):
        assert ax.get_xlim() == (2025.0, 2045.0)
    # a horizon off the whole years (last row in 2044.75) still ends the axis
    short = metrics[metrics["year"] <= 2044.75]
    assert panels(c.trajectory_panels_figure(short, "households", baseline="baseline"))[0].get_xlim()[1] == 2044.75


def test_tiny_change_keeps_the_minimum_y_span():
    tiny = make_metrics(effect_per_scenario=1e-4, n_rep=3)
    vacancy = c.trajectory_panels_figure(tiny, "vacancy_units", baseline="baseline")
    spans = {ax.get_ylim() for ax in panels(vacancy)}
    assert len(spans) == 1                                     # shared by all panels
    lo, hi = spans.pop()
    assert hi - lo >= c.MIN_Y_SPAN_SHARE_PP                   # percentage points, not a zoom on 0.1 pp
    assert lo <= 9.0 <= hi                                     # and it shows the level (9%)
    index = panels(c.trajectory_panels_figure(tiny, "diversity_shannon", baseline="baseline"))[0].get_ylim()
    assert index[1] - index[0] >= c.MIN_Y_SPAN_INDEX
    count = panels(c.trajectory_panels_figure(tiny, "households", baseline="baseline"))[0].get_ylim()
    assert count[1] - count[0] >= c.MIN_Y_SPAN_REL_LEVEL * 3000
    assert count[0] >= 0.0                                     # a count axis does not go below 0


def test_y_range_stated_and_band_labelled_once(metrics):
    for lang, band, note in (("en", "band: 5–95% of the 20 replicates", "Same y axis in every panel: "),
                             ("nl", "band: 5–95% van de 20 replicaties", "Alle panelen hebben dezelfde y-as: ")):
        fig = c.trajectory_panels_figure(metrics, "vacancy_units", lang, baseline="baseline")
        legend = fig.legends[0]
        texts = [t.get_text() for t in legend.get_texts()]
        assert texts.count(band) == 1, texts
        lo, hi = panels(fig)[0].get_ylim()
        title = legend.get_title().get_text()
        assert title.startswith(note)
        sep = "," if lang == "nl" else "."
        assert title.endswith(f"{lo:.0f}–{hi:.0f}%".replace(".", sep)), (title, lo, hi)
        assert not any(ax.get_legend() for ax in fig.axes)    # no legend repeated in the panels


def test_euro_range_in_dutch_has_decimal_comma(metrics):
    fig = c.trajectory_panels_figure(metrics, "net_public_cost_eur", "nl", baseline="baseline")
    title = fig.legends[0].get_title().get_text()
    assert "€ " in title and "miljoen" in title and "," in title, title
    assert panels(fig)[0].get_ylabel() == "miljoen euro"
    FigureCanvasAgg(fig).draw()
    ticks = [t.get_text() for t in panels(fig)[0].get_yticklabels() if t.get_text()]
    assert any("," in t for t in ticks) and not any("." in t for t in ticks), ticks


def test_all_zero_kpi_is_flagged_not_drawn(metrics, tmp_path):
    assert c.is_all_zero(metrics, "fronts_active")
    assert not c.is_all_zero(metrics, "vacancy_units")
    assert not c.is_all_zero(metrics, "no_such_metric")       # missing is not "zero"
    assert c.trajectory_panels_figure(metrics, "fronts_active", baseline="baseline") is None
    assert c.plot_trajectory_panels(metrics, tmp_path / "f.png", "fronts_active", baseline="baseline") is None
    assert not (tmp_path / "f.png").exists()
    with pytest.raises(ValueError):
        c.trajectory_panels_figure(metrics, "no_such_metric", baseline="baseline")
    with pytest.raises(ValueError):
        c.trajectory_panels_figure(metrics, "vacancy_units", baseline="nobody")


def test_scenario_keeps_colour_and_style_in_every_kpi(metrics):
    styles = {}
    for metric in ("vacancy_units", "households"):
        fig = c.trajectory_panels_figure(metrics, metric, baseline="baseline")
        for scen, ax in zip(NAMES[1:], panels(fig)):
            line = ax.get_lines()[-1]                          # the scenario's mean, drawn last
            styles.setdefault(scen, set()).add((line.get_color(), str(line.get_linestyle())))
    assert all(len(v) == 1 for v in styles.values())
    pairs = [v.pop() for v in styles.values()]
    assert len(set(pairs)) == len(pairs)                       # ten scenarios: ten distinct looks


def test_trajectory_png_is_small(metrics, tmp_path):
    path = c.plot_trajectory_panels(metrics, tmp_path / "vacancy.png", "vacancy_units", baseline="baseline",
                                    scenario_labels=LABELS)
    size_kb = path.stat().st_size / 1024
    assert size_kb <= 70, size_kb


# --------------------------------------------------------------------------- cost and effect


def make_summary(n_scen: int = N_SCEN, spread: bool = True) -> pd.DataFrame:
    """A comparison summary: per scenario vacancy (share) and households (count) at the horizon,
    and the net public cost rows. With ``spread`` the points lie on a diagonal a label apart;
    scenarios 3 and 7 coincide (same cost and effect)."""
    rows = []
    names = ["baseline"] + [f"instrument_{k}" for k in range(1, n_scen + 1)]
    for k, scen in enumerate(names):
        cost = 0.0 if k == 0 else 0.15e6 * k
        effect = 0.0 if k == 0 else 0.002 * (k - 5)
        if k == 7:
            cost, effect = 0.15e6 * 3, 0.002 * (3 - 5)
        for metric, better, scale in (("vacancy_units", "down", 1.0), ("households", "up", -1e4)):
            d = effect * scale if spread else 0.0
            half = abs(0.003 * scale)
            rows.append({"scenario": scen, "metric": metric, "n": 20, "mean": 0.1 + d, "lo": 0.09, "hi": 0.11,
                         "diff": np.nan if k == 0 else d, "diff_lo": np.nan if k == 0 else d - half,
                         "diff_hi": np.nan if k == 0 else d + half,
                         "distinguishable": bool(k and abs(d) > half), "better": better, "net_cost_eur": cost})
        rows.append({"scenario": scen, "metric": "net_public_cost_eur", "n": 20, "mean": cost, "lo": cost - 2e4,
                     "hi": cost + 2e4, "diff": np.nan if k == 0 else cost, "diff_lo": np.nan, "diff_hi": np.nan,
                     "distinguishable": bool(k), "better": "down", "net_cost_eur": cost})
    return pd.DataFrame(rows)


def number_labels(ax) -> list:
    return [t for t in ax.texts if t.get_gid() == "scenario_number"]


def test_cost_effect_panels_and_axis_labels():
    summary = make_summary()
    for lang, x_label, y_label in (
            ("en", "Net public cost (EUR million)", "Difference from doing nothing\n(percentage points)"),
            ("nl", "Netto publieke kosten (miljoen euro)", "Verschil met niets doen\n(procentpunt)")):
        fig = c.cost_effect_figure(summary, lang, baseline="baseline")
        axes = panels(fig)
        assert len(axes) == 2                                  # the cost itself is no panel
        assert axes[0].get_xlabel() == x_label
        assert axes[0].get_ylabel() == y_label


def test_not_distinguishable_markers_are_hollow_grey_and_colours_follow_direction():
    summary = make_summary()
    fig = c.cost_effect_figure(summary, baseline="baseline", metrics=["vacancy_units"])
    markers = {line.get_gid()[len("scenario:"):]: line for line in panels(fig)[0].get_lines()
               if (line.get_gid() or "").startswith("scenario:")}
    rows = summary[summary["metric"] == "vacancy_units"].set_index("scenario")
    assert set(markers) == set(rows.index) - {"baseline"}
    for scen, line in markers.items():
        face, edge = to_rgba(line.get_markerfacecolor()), to_rgba(line.get_markeredgecolor())
        if not rows.at[scen, "distinguishable"]:
            assert face == to_rgba("white") and edge[0] == edge[1] == edge[2], scen   # hollow, grey
        elif rows.at[scen, "diff"] < 0:                        # less vacancy: better
            assert face == to_rgba(c.IMPROVES_COLOUR), scen
        else:
            assert face == to_rgba(c.WORSENS_COLOUR), scen
    assert any(not v for v in rows["distinguishable"][1:]) and any(rows["distinguishable"][1:])


def drawn_number_labels(fig):
    """Per panel of a drawn cost-effect figure: (panel, its number labels, their boxes, its frame)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in panels(fig):
        texts = number_labels(ax)
        yield ax, texts, [t.get_window_extent(renderer) for t in texts], ax.get_window_extent(renderer)


def label_numbers(texts) -> list[int]:
    return sorted(n for t in texts for n in map(int, t.get_text().split(",")))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_number_labels_do_not_overlap(lang):
    fig = c.cost_effect_figure(make_summary(), lang, baseline="baseline")
    for ax, texts, boxes, frame in drawn_number_labels(fig):
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (ax.get_title(), a, b)
        assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)
        # every scenario is numbered once; the two coinciding points share "3,7"
        assert label_numbers(texts) == list(range(1, N_SCEN + 1))
        assert "3,7" in [t.get_text() for t in texts]


def crowded_summary(seed: int) -> pd.DataFrame:
    """Ten scenarios scattered at random over a small part of the panel (one costly outlier
    stretches the cost axis): number labels beside their points would collide."""
    rng = np.random.default_rng(seed)
    summary = make_summary()
    for k in range(1, N_SCEN + 1):
        scen = f"instrument_{k}"
        cost = 1.5e6 if k == N_SCEN else rng.uniform(0.0, 0.3e6)
        is_scen = summary["scenario"] == scen
        summary.loc[is_scen, "net_cost_eur"] = cost
        cost_row = is_scen & (summary["metric"] == "net_public_cost_eur")
        summary.loc[cost_row, ["mean", "lo", "hi"]] = [cost, cost - 1e4, cost + 1e4]
        d = rng.uniform(-0.002, 0.002)
        for metric in ("vacancy_units", "households"):
            row = is_scen & (summary["metric"] == metric)
            summary.loc[row, ["diff", "diff_lo", "diff_hi", "distinguishable"]] = [d, d - 0.001, d + 0.001, True]
    return summary


@pytest.mark.parametrize("seed", range(4))
def test_number_labels_do_not_overlap_when_points_crowd(seed):
    fig = c.cost_effect_figure(crowded_summary(seed), baseline="baseline")
    for _, texts, boxes, _ in drawn_number_labels(fig):
        assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
        assert label_numbers(texts) == list(range(1, N_SCEN + 1))


def test_key_lists_every_scenario_once():
    labels = {f"instrument_{k}": f"Instrument {k}" for k in range(1, N_SCEN + 1)}
    labels["instrument_1"] = "Pre-emption right"
    fig = c.cost_effect_figure(make_summary(), "nl", baseline="baseline", scenario_labels=labels)
    entries = [t.get_text() for leg in fig.findobj(Legend) for t in leg.get_texts()]
    expected = [f"{k} = {labels[f'instrument_{k}']}" for k in range(1, N_SCEN + 1)]
    assert [e for e in entries if " = " in e] == expected
    assert "niet te onderscheiden van niets doen" in entries
    assert not any("baseline" in e for e in entries)


def test_cost_effect_dutch_ticks_have_decimal_comma():
    fig = c.cost_effect_figure(make_summary(), "nl", baseline="baseline", metrics=["vacancy_units"])
    FigureCanvasAgg(fig).draw()
    ax = panels(fig)[0]
    x_ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any("," in t for t in x_ticks) and not any("." in t for t in x_ticks), x_ticks


def test_cost_effect_rejects_unknown_metric_and_writes_png(tmp_path):
    with pytest.raises(ValueError):
        c.cost_effect_figure(make_summary(), baseline="baseline", metrics=["no_such_metric"])
    path = c.plot_cost_effect(make_summary(), tmp_path / "ce.png", baseline="baseline")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size / 1024 <= 70
