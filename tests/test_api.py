"""The Python API (docs/api.md), each function through its public name: ``import regie`` and
``import sim`` give the same objects; the API gives the numbers the ``regie`` command gives;
``CityModel`` behaves as a Mesa user expects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import regie
import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SMALL = {"horizon_years": 2, "city": {"size_cells": 40}}


def small_file(folder: Path, name: str = "small", base: str = "baseline.yaml") -> Path:
    """A 2-year, 40×40 version of a shipped scenario (about 0.2 s a run)."""
    path = folder / f"{name}.yaml"
    path.write_text(f"base: {ROOT / 'scenarios' / base}\nname: {name}\nhorizon_years: 2\ncity: {{size_cells: 40}}\n")
    return path


@pytest.fixture(scope="module")
def small() -> regie.Scenario:
    return regie.load_scenario(BASELINE, name="small", **SMALL)


@pytest.fixture(scope="module")
def replicated(small) -> regie.RunResult:
    return regie.run(small, replicates=3)


# ------------------------------------------------------------------ the two import names
def test_regie_and_sim_give_the_same_public_objects():
    assert regie.__all__ == sim.__all__ and regie.__version__ == sim.__version__
    for name in sim.__all__:
        assert getattr(regie, name) is getattr(sim, name), name
    assert dir(regie) == sorted(sim.__all__)
    assert regie.CityModel.__module__ == "sim.model" and regie.Scenario.__module__ == "sim.scenario"
    with pytest.raises(AttributeError, match="no attribute 'simulate'"):
        regie.simulate
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sim.nothing


def test_import_is_light_and_both_packages_are_typed():
    """`import sim` and `import regie` load neither numba nor Mesa nor pandas (the `regie`
    command starts quickly); both packages carry py.typed."""
    code = ("import sys, regie, sim; heavy = [m for m in ('numba', 'mesa', 'pandas') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for package in (sim, regie):
        assert (Path(package.__file__).parent / "py.typed").is_file(), package.__name__


# ------------------------------------------------------------------ scenarios
def test_load_scenario_applies_overrides():
    s = regie.load_scenario(BASELINE, horizon_years=3, seed=7, city={"size_cells": 40})
    assert (s.horizon_years, s.seed, s.city.side_cells, s.n_steps) == (3, 7, 40, 12)
    assert s.context == regie.load_scenario(BASELINE).context      # the rest as in the file


@pytest.mark.parametrize("overrides, expected", [
    ({"horizon_yeers": 3}, "baseline.yaml: horizon_yeers: unknown key (got 3)"),
    ({"horizon_years": 0}, "baseline.yaml: horizon_years: "),
    ({"city": {"size_cells": "big"}}, "baseline.yaml: city.size_cells: "),
])
def test_load_scenario_refuses_bad_overrides_with_one_line(overrides, expected):
    with pytest.raises(regie.ScenarioError) as e:
        regie.load_scenario(BASELINE, **overrides)
    assert len(str(e.value).splitlines()) == 1 and expected in str(e.value)


def test_load_scenario_refuses_a_missing_file(tmp_path):
    with pytest.raises(regie.ScenarioError, match="nothing.yaml: file not found"):
        regie.load_scenario(tmp_path / "nothing.yaml")


def test_variant_changes_a_path_and_leaves_the_original():
    ordinance = regie.load_scenario(ROOT / "scenarios" / "instruments" / "vacancy_ordinance.yaml")
    cheaper = regie.variant(ordinance, {"instruments[kind=vacancy_ordinance].fine_eur": 2500,
                                        "context.cap_rate": 0.06}, name="cheaper", horizon_years=5)
    assert (cheaper.name, cheaper.horizon_years, cheaper.instruments[0].fine_eur) == ("cheaper", 5, 2500)
    assert cheaper.context.cap_rate == 0.06
    assert (ordinance.name, ordinance.horizon_years, ordinance.instruments[0].fine_eur) == ("vacancy_ordinance", 20, 7500)
    assert regie.variant(ordinance) == ordinance


@pytest.mark.parametrize("changes, expected", [
    ({"instruments[kind=zoning].allow": ["residential"]}, "<variant of vacancy_ordinance>: instruments[kind=zoning]: 0 items"),
    ({"context.cap_rat": 0.05}, "<variant of vacancy_ordinance>: context.cap_rat: no such key"),
    ({"instruments[0].fine_eur": -5}, "<variant of vacancy_ordinance>: instruments[0].fine_eur: "),
])
def test_variant_refuses_bad_changes_with_one_line(changes, expected):
    ordinance = regie.load_scenario(ROOT / "scenarios" / "instruments" / "vacancy_ordinance.yaml")
    with pytest.raises(regie.ScenarioError) as e:
        regie.variant(ordinance, changes)
    assert len(str(e.value).splitlines()) == 1 and str(e.value).startswith(expected), str(e.value)


# ------------------------------------------------------------------ run
def test_run_gives_the_metrics_of_regie_run(tmp_path):
    path = small_file(tmp_path)
    assert main(["run", str(path), "--seed", "5", "--out", str(tmp_path / "out"), "--no-plots", "--quiet"]) == 0
    written = pd.read_parquet(tmp_path / "out" / "metrics.parquet")
    result = regie.run(path, seed=5)
    assert result.seeds == [5]
    pd.testing.assert_frame_equal(result.metrics.astype({"metric": str}), written.astype({"metric": str}))


def test_run_without_replicates_uses_the_scenarios_seed(small):
    assert regie.run(small).seeds == [small.seed]


def test_replicates_have_the_seeds_of_a_comparison(small, replicated):
    """Replicate i of `run` is replicate i of `compare` with the scenario first (common random numbers)."""
    other = regie.variant(small, name="other", seed=small.seed)
    compared = regie.compare([small, other], replicates=3)
    assert compared.out_dir is None
    assert len(set(replicated.seeds)) == 3 and small.seed not in replicated.seeds
    ours = compared.metrics[compared.metrics["scenario"] == "small"].reset_index(drop=True)
    pd.testing.assert_frame_equal(replicated.metrics.astype({"metric": str}), ours.astype({"metric": str}))


def test_run_on_two_workers_gives_the_same_result(small, replicated):
    on_two = regie.run(small, replicates=3, workers=2)
    pd.testing.assert_frame_equal(on_two.metrics, replicated.metrics)
    assert np.array_equal(on_two.snapshots["use"], replicated.snapshots["use"])


@pytest.mark.parametrize("options", [{"replicates": 0}, {"replicates": 2.5}, {"workers": 0}, {"seed": -1}])
def test_run_refuses_bad_counts(small, options):
    with pytest.raises(ValueError, match="expected a whole number"):
        regie.run(small, **options)


def test_run_refuses_what_is_not_a_scenario():
    with pytest.raises(TypeError, match="expected a Scenario or a scenario file"):
        regie.run({"name": "x"})


# ------------------------------------------------------------------ RunResult
def test_wide_is_the_models_own_records(small):
    """One run's wide table is `pandas.DataFrame(model.records)` of the same model stepped by hand."""
    model = regie.CityModel(small, seed=11)
    while model.running:
        model.step()
    records = pd.DataFrame(model.records).set_index("step")
    wide = regie.run(small, seed=11).wide()
    pd.testing.assert_frame_equal(wide, records, check_index_type=False)
    assert list(wide.columns[:3]) == ["year", "vacancy_units", "vacancy_floor"]


def test_wide_of_replicates(replicated, small):
    wide = replicated.wide()
    assert wide.index.names == ["replicate", "step"] and len(wide) == 3 * (small.n_steps + 1)
    one = replicated.wide(replicate=2)
    assert one.index.name == "step"
    pd.testing.assert_frame_equal(one, wide.loc[2])
    with pytest.raises(ValueError, match="replicate: expected 0..2"):
        replicated.wide(replicate=3)


def test_metrics_are_tidy_without_step_or_year_metrics(replicated, small):
    m = replicated.metrics
    assert list(m.columns) == ["run_id", "scenario", "replicate", "seed", "step", "year", "metric", "value"]
    assert not {"step", "year"} & set(m["metric"].astype(str))
    assert sorted(m["replicate"].unique()) == [0, 1, 2]
    assert m["year"].max() == small.start_year + small.horizon_years


def test_snapshots_and_one_snapshot(replicated, small):
    snaps = replicated.snapshots
    years = list(range(small.start_year, small.start_year + small.horizon_years + 1))
    assert list(snaps["year"]) == years
    assert snaps["use"].shape == (3, len(years), 40, 40) and snaps["use"].dtype == np.int8
    last = replicated.snapshot(replicate=1)
    assert np.array_equal(last["use"], snaps["use"][1, -1])
    assert np.array_equal(replicated.snapshot(years[0])["use"], snaps["use"][0, 0])
    with pytest.raises(ValueError, match=f"the snapshots are of the years {years[0]}..{years[-1]}"):
        replicated.snapshot(1999)
    with pytest.raises(ValueError, match="replicate: expected 0..2"):
        replicated.snapshot(replicate=5)


def test_plots_return_figures(replicated, small):
    kpis = replicated.plot_kpis()
    assert isinstance(kpis, Figure) and len(kpis.axes) == 6
    assert "mean of 3 replicates" in kpis.get_suptitle()
    streets = replicated.plot_metrics(["vacancy_units_A1", "vacancy_units_C"])
    assert [ax.get_title() for ax in streets.axes if ax.get_title()] == ["Vacancy, A1 streets", "Vacancy, C streets"]
    assert all(len(ax.collections) == 1 for ax in streets.axes[:2])   # the 5-95 % band of the replicates
    year = small.start_year + 1
    world = replicated.plot_map(year, lang="nl")
    assert isinstance(world, Figure) and world.get_suptitle() == f"small — {year}"
    with pytest.raises(ValueError, match="year"):
        replicated.plot_map(1990)


# ------------------------------------------------------------------ Mesa's DataCollector
def test_kpi_collector_collects_the_recorded_kpis(small):
    model = regie.CityModel(small, seed=4)
    collector = regie.kpi_collector(model, ["vacancy_units", "households"])
    collector.collect(model)
    while model.running:
        model.step()
        collector.collect(model)
    table = collector.get_model_vars_dataframe()
    assert list(table.columns) == ["step", "year", "vacancy_units", "households"]
    expected = pd.DataFrame(model.records)[["step", "year", "vacancy_units", "households"]]
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected, check_dtype=False)
    everything = regie.kpi_collector(model)
    assert len(everything.model_reporters) == len(model.records[-1])


def test_kpi_collector_refuses_an_unknown_metric(small):
    model = regie.CityModel(small, seed=4)
    with pytest.raises(ValueError, match="'vacancy_unit' is not a metric of this model .close: vacancy_units"):
        regie.kpi_collector(model, ["vacancy_unit"])


# ------------------------------------------------------------------ compare and sweep
def test_compare_writes_its_folder_when_asked(tmp_path):
    files = [small_file(tmp_path, "base"), small_file(tmp_path, "ordinance", "instruments/vacancy_ordinance.yaml")]
    out = tmp_path / "cmp"
    result = regie.compare(files, replicates=2, out=out, report=True)
    assert isinstance(result, regie.CompareResult) and result.out_dir == out
    assert (out / "summary.csv").is_file() and (out / "report.html").is_file()
    assert list(result.summary["scenario"].unique()) == ["base", "ordinance"]
    figure = result.plot_trajectories(["vacancy_units", "net_public_cost_eur"])
    assert isinstance(figure, Figure) and sum(bool(ax.get_title()) for ax in figure.axes) == 2


def test_compare_refuses_bad_input(small):
    with pytest.raises(ValueError, match="report and resume need out="):
        regie.compare([small, small], replicates=2, report=True)
    with pytest.raises(ValueError, match="replicates: expected a whole number 1..1000"):
        regie.compare([small], replicates=0)
    with pytest.raises(sim.workshop.compare.CompareError, match="scenario names must differ"):
        regie.compare([small, small], replicates=1)


def tiny_experiment(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(f"""name: tiny
base: {BASELINE}
scenario: {{horizon_years: 1, city: {{size_cells: 32}}}}
parameters:
  - {{path: context.cap_rate, bounds: [0.045, 0.07]}}
  - {{path: context.crime_pressure, bounds: [0.5, 2.0]}}
outputs: [{{kpi: vacancy_units}}]
method: {{name: morris, n: 2, bootstrap: 20}}
seed: 3
""")
    return path


def test_sweep_gives_the_indices_of_regie_sweep(tmp_path):
    path = tiny_experiment(tmp_path)
    result = regie.sweep(path, executor="serial")
    assert isinstance(result, regie.SweepResult) and result.out_dir is None and result.failed == 0
    assert len(result.design) == result.runs == 6 and len(result.outputs) == 6
    assert set(result.indices["parameter"]) == {"context.cap_rate", "context.crime_pressure"}
    assert main(["sweep", str(path), "--executor", "serial", "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    written = pd.read_parquet(tmp_path / "cli" / "indices.parquet")
    pd.testing.assert_frame_equal(result.indices.reset_index(drop=True), written)


def test_sweep_refuses_resume_without_a_folder(tmp_path):
    with pytest.raises(ValueError, match="resume needs out="):
        regie.sweep(tiny_experiment(tmp_path), resume=True)
