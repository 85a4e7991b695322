"""`regie compare` folders: a default folder per comparison, --resume with more replicates, and the
runs' end states for the report's probability maps (on the KPIs' own definitions)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.workshop.compare as cmp
from sim.kernels.kpis import POOR_CONDITION
from sim.scenario import Scenario
from sim.workshop.compare import CompareError, compare, default_out_dir, end_states, replicate_seeds

from test_compare import small

ROOT_SEED = 20250101   # the shipped baseline's seed: the root of the replicate seeds


def _quiet(files, out, replicates, **kw):
    return compare(files, replicates=replicates, workers=1, out=out, report=False, progress=False, **kw)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scenarios")
    return [small(tmp, "baseline", "scenarios/baseline.yaml"),
            small(tmp, "vacancy_ordinance", "scenarios/instruments/vacancy_ordinance.yaml")]


@pytest.fixture(scope="module")
def fresh3(files, tmp_path_factory):
    """An uninterrupted comparison of 3 replicates: what every extended one must equal."""
    return _quiet(files, tmp_path_factory.mktemp("fresh") / "out", replicates=3)


# ------------------------------------------------------------------ the default folder
def test_replicate_seeds_do_not_depend_on_the_count():
    for root in (0, 7, ROOT_SEED):
        assert replicate_seeds(root, 10)[:3] == replicate_seeds(root, 3)
    assert replicate_seeds(1, 3) != replicate_seeds(2, 3)


def test_default_folder_identifies_the_whole_comparison():
    many = ["baseline", "preemption", "vacancy_ordinance", "biz", "zoning", "bibob", "rent_subsidy"]
    a = default_out_dir(many)
    assert a == default_out_dir(list(many)), "the same comparison always gets the same folder"
    assert a.parent == Path("results") / "compare"
    # sharing the first three names (or all names, in another order) is not the same comparison
    assert a != default_out_dir(many[:3] + ["facade_subsidy"] + many[4:])
    assert a != default_out_dir(many[:3])
    assert a != default_out_dir(many[::-1])
    assert a.name.startswith("baseline_vs_preemption_vs_vacancy_ordinance_vs_biz")
    assert "_+" in a.name and a.name.count("_vs_") < len(many) - 1, "a long list is shortened"
    assert len(a.name) <= cmp.FOLDER_NAME_CHARS + len("_+99more_") + cmp.FOLDER_HASH_CHARS
    short = default_out_dir(["baseline", "biz"])
    assert short.name.startswith("baseline_vs_biz_") and "more" not in short.name


def test_default_folder_is_found_again_by_resume(files, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    first = _quiet(files, None, replicates=1)
    assert first.out_dir == default_out_dir(["baseline", "vacancy_ordinance"])
    assert (tmp_path / first.out_dir / "compare_plan.json").exists()
    assert ("warning: 1 replicate: no intervals and no effects can be told apart from chance; "
            "use --replicates 10 or more") in capsys.readouterr().err
    more = _quiet(files, None, replicates=2, resume=True)
    assert more.out_dir == first.out_dir and more.new_runs == 2
    assert "warning: 1 replicate" not in capsys.readouterr().err


# ------------------------------------------------------------------ more replicates
def test_resume_with_more_replicates_runs_only_the_new_ones(files, fresh3, tmp_path):
    out = tmp_path / "out"
    _quiet(files, out, replicates=2)
    kept = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("rep00[01].*")}
    assert len(kept) == 8, "2 scenarios x 2 replicates x (parquet, npz)"
    extended = _quiet(files, out, replicates=3, resume=True)
    assert extended.new_runs == 2 and extended.redone == 0, "only replicate 2 of each scenario runs"
    assert {p: p.stat().st_mtime_ns for p in kept} == kept, "the earlier runs' files are untouched"
    assert json.loads((out / "compare_plan.json").read_text())["seeds"] == replicate_seeds(ROOT_SEED, 3)
    pd.testing.assert_frame_equal(extended.metrics, fresh3.metrics)
    pd.testing.assert_frame_equal(extended.summary, fresh3.summary)


def test_interrupted_extension_resumes(files, fresh3, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _quiet(files, out, replicates=1)
    real, calls = cmp.run_task, []

    def interrupt_after_one(data, task):
        if calls:
            raise KeyboardInterrupt
        calls.append(task)
        return real(data, task)

    monkeypatch.setattr(cmp, "run_task", interrupt_after_one)
    with pytest.raises(KeyboardInterrupt):
        _quiet(files, out, replicates=3, resume=True)
    monkeypatch.setattr(cmp, "run_task", real)
    assert len(list((out / "runs").rglob("*.parquet"))) == 3, "the 2 earlier runs and 1 new one are kept"
    resumed = _quiet(files, out, replicates=3, resume=True)
    assert resumed.new_runs == 3 and resumed.redone == 0
    pd.testing.assert_frame_equal(resumed.metrics, fresh3.metrics)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "metrics.parquet"),
                                  pd.read_parquet(fresh3.out_dir / "metrics.parquet"))


def test_fewer_replicates_are_refused_with_what_to_do(files, fresh3, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(fresh3.out_dir, out)
    plan = (out / "compare_plan.json").read_text()
    with pytest.raises(CompareError) as e:
        _quiet(files, out, replicates=2, resume=True)
    assert str(e.value) == (f"--replicates 2: the comparison in {out} has 3 replicates; "
                            "use --replicates 3 (or more) with --resume, or another --out")
    assert (out / "compare_plan.json").read_text() == plan, "a refusal changes nothing"
    # other refusals stay: other scenarios
    with pytest.raises(CompareError, match="resume refused: it compares"):
        _quiet(files[:1], out, replicates=3, resume=True)


# ------------------------------------------------------------------ end states
def test_end_states_shapes_and_dtypes(fresh3):
    states = end_states(fresh3.out_dir, "vacancy_ordinance", [0, 1, 2])
    for key in ("unit", "vacant", "longterm_vacant", "front", "poor"):
        assert states[key].shape == (3, 48, 48) and states[key].dtype == np.bool_, key
    assert states["condition"].shape == (3, 48, 48) and states["condition"].dtype == np.float32
    assert states["use"].shape == (3, 48, 48) and states["use"].dtype == np.int8
    assert states["land"].shape == states["street_class"].shape == (48, 48)
    assert not (states["vacant"] & ~states["unit"]).any() and not (states["longterm_vacant"] & ~states["vacant"]).any()
    assert end_states(fresh3.out_dir, "vacancy_ordinance", [2])["use"][0].tolist() == states["use"][2].tolist()
    with pytest.raises(CompareError, match="no end state of this run"):
        end_states(fresh3.out_dir, "vacancy_ordinance", [3])


def test_end_states_follow_the_kpi_definitions(files, fresh3):
    """The layers count the parcels the KPIs count: vacancy_units = vacant / units,
    condition_poor_share = poor / parcels, fronts_active = fronts, and longterm_vacancy_1y is
    the floor of the long-term vacant units over the vacant floor (floor from a rerun of the model)."""
    from sim.model import CityModel
    from sim.outputs import release_model
    horizon = fresh3.metrics[fresh3.metrics["step"] == fresh3.metrics["step"].max()]
    kpi = horizon.pivot_table(index=["scenario", "replicate"], columns="metric", values="value")
    for name in ("baseline", "vacancy_ordinance"):
        states = end_states(fresh3.out_dir, name, [0, 1, 2])
        parcels = (states["land"] == 0).sum()
        for r in range(3):
            k = kpi.loc[(name, r)]
            assert states["vacant"][r].sum() / states["unit"][r].sum() == pytest.approx(k["vacancy_units"], rel=1e-12)
            assert states["poor"][r].sum() / parcels == pytest.approx(k["condition_poor_share"], abs=1e-12)
            assert states["front"][r].sum() == k["fronts_active"]
    # long-term vacancy is a share of vacant floor: rerun replicate 0 of the baseline for the floor areas
    states = end_states(fresh3.out_dir, "baseline", [0])
    scenario = Scenario.from_yaml(files[0])
    model = CityModel(scenario, seed=replicate_seeds(ROOT_SEED, 1)[0])
    for _ in range(scenario.n_steps):
        model.step()
    floor, use = model.parcels.floor_m2, model.parcels.use.copy()
    release_model(model)
    assert (use == states["use"][0]).all(), "the rerun is the stored run"
    share = floor[states["longterm_vacant"][0]].sum() / floor[states["vacant"][0]].sum()
    expected = kpi.loc[("baseline", 0), "longterm_vacancy_1y"]
    assert 0 < expected < 1, "the check needs both short and long-term vacancy"
    assert share == pytest.approx(expected, rel=1e-12)


def test_condition_storage_keeps_the_poor_parcels():
    c = np.array([0.0, 0.2999, 0.29999, 0.2999999999, 0.3, 0.3000000001, 0.30001, 0.3001, 1.0])
    stored = cmp._condition_float16(c)
    assert stored.dtype == np.float16
    assert ((stored.astype(np.float64) < POOR_CONDITION) == (c < POOR_CONDITION)).all()
    assert np.abs(stored.astype(np.float64) - c).max() < 1e-3


def test_a_run_file_without_end_state_is_run_again(files, fresh3, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(fresh3.out_dir, out)
    old_style = out / "runs" / "baseline" / "rep001.npz"
    with np.load(old_style) as z:
        np.savez_compressed(old_style, **{k: z[k] for k in cmp.MAP_KEYS})   # as written before end states
    task = cmp.RunTask("baseline", 1, replicate_seeds(ROOT_SEED, 3)[1], Scenario.from_yaml(files[0]).sha256())
    assert cmp.read_run(out, task) is None
    resumed = _quiet(files, out, replicates=3, resume=True)
    assert resumed.new_runs == 1 and resumed.redone == 1
    pd.testing.assert_frame_equal(resumed.metrics, fresh3.metrics)
    assert end_states(out, "baseline", [1])["use"].shape == (1, 48, 48)


def test_end_states_match_the_kpi_kernel_on_a_varied_state(files, fresh3, tmp_path):
    """A stored run's state with conditions scattered around the poor threshold (a short run has
    no poor parcels) and random floor areas: stored and read back, its layers give the grid KPIs
    that the KPI kernel computes from the float64 state."""
    from sim.kernels import kpi_reduce
    from sim.kpis import grid_kpis
    scenario = Scenario.from_yaml(files[0])
    with np.load(cmp._run_file(fresh3.out_dir, cmp.RunTask("baseline", 0, 0), ".npz")) as z:
        state = {k: z[k] for k in (*cmp.MAP_KEYS, "is_front", "vacant_since")}
    rng = np.random.default_rng(5)
    state["condition"] = rng.uniform(POOR_CONDITION - 0.01, POOR_CONDITION + 0.01, state["use"].shape)
    floor = rng.lognormal(np.log(120.0), 0.4, state["use"].shape)
    stored = cmp.end_state({k: v[None] for k, v in state.items()}, scenario)
    path = cmp._run_file(tmp_path, cmp.RunTask("x", 0, 0), ".npz")
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, **stored)
    layers = {k: v[0] for k, v in end_states(tmp_path, "x", [0]).items() if v.ndim == 3}
    k = grid_kpis(kpi_reduce(state["land"], state["use"], state["street_class"], floor, state["vacant_since"],
                             state["condition"], np.ones(floor.shape), scenario.n_steps, scenario.steps_per_year), 1.0)
    parcels = (state["land"] == 0).sum()
    assert 0.2 < layers["poor"].sum() / parcels < 0.8, "conditions on both sides of the threshold"
    assert layers["poor"].sum() / parcels == pytest.approx(k["condition_poor_share"], rel=1e-12)
    assert layers["vacant"].sum() / layers["unit"].sum() == pytest.approx(k["vacancy_units"], rel=1e-12)
    assert (floor[layers["vacant"]].sum() / floor[layers["unit"]].sum()
            == pytest.approx(k["vacancy_floor"], rel=1e-12))
    assert (floor[layers["longterm_vacant"]].sum() / floor[layers["vacant"]].sum()
            == pytest.approx(k["longterm_vacancy_1y"], rel=1e-12))
