"""The instrument framework: target areas, registry, `regie instruments`, scenario rules."""

import numpy as np
import pytest

from sim.cli import main
from sim.instruments import REGISTRY
from sim.instruments.base import Area, Rect
from sim.parcels import generate_city, named_area
from sim.scenario import Scenario, ScenarioError
from sim.uses import STREET_CODE


@pytest.fixture(scope="module")
def parcels():
    return generate_city(Scenario(), np.random.default_rng(0))


def test_empty_area_is_the_whole_city(parcels):
    assert np.array_equal(Area().mask(parcels), parcels.is_parcel)


def test_area_is_the_union_of_its_parts_and_only_parcels(parcels):
    area = Area(zones=["core"], street_classes=["C"], rectangles=[Rect(row0=0, col0=0, row1=10, col1=10)])
    m = area.mask(parcels)
    expected = named_area(parcels, "core") | (parcels.street_class == STREET_CODE["C"])
    box = np.zeros(parcels.shape, bool)
    box[:10, :10] = True
    expected = (expected | box) & parcels.is_parcel
    assert np.array_equal(m, expected)
    assert not m[~parcels.is_parcel].any()


def test_empty_rectangle_is_refused():
    with pytest.raises(ValueError, match="empty rectangle"):
        Rect(row0=5, col0=5, row1=5, col1=9)


def test_regie_instruments_lists_every_kind_with_its_parameters(capsys):
    assert main(["instruments"]) == 0
    out = capsys.readouterr().out
    for kind, cls in REGISTRY.items():
        assert f"{kind}: " in out, kind
        for name in cls.config_class.model_fields:
            if name != "kind":
                assert f"  {name}: " in out, f"{kind}.{name} missing from `regie instruments`"


def test_regie_instruments_refuses_an_unknown_kind(capsys):
    assert main(["instruments", "no_such_kind"]) == 2
    assert "unknown instrument kind" in capsys.readouterr().err


def _with(instruments):
    return Scenario.from_dict({"instruments": instruments}, source="s.yaml")


def test_two_of_one_kind_need_different_areas():
    kind = next(iter(REGISTRY))
    ok = _with([{"kind": kind, "area": {"zones": ["core"]}}, {"kind": kind, "area": {"zones": ["edge"]}}])
    assert len(ok.instruments) == 2
    with pytest.raises(ScenarioError, match="same area"):
        _with([{"kind": kind, "area": {"zones": ["core"]}}, {"kind": kind, "area": {"zones": ["core"]}}])


def test_end_year_before_start_year_is_refused():
    kind = next(iter(REGISTRY))
    with pytest.raises(ScenarioError, match="before start_year"):
        _with([{"kind": kind, "start_year": 2030, "end_year": 2028}])


def test_unknown_instrument_kind_names_the_known_ones():
    with pytest.raises(ScenarioError) as err:
        _with([{"kind": "no_such_kind"}])
    assert "instruments[0]" in str(err.value)


def test_an_unknown_key_in_an_instrument_names_its_path():
    kind = next(iter(REGISTRY))
    with pytest.raises(ScenarioError) as err:
        _with([{"kind": kind, "no_such_parameter": 1}])
    assert "s.yaml: instruments[0].no_such_parameter: unknown key" in str(err.value)


@pytest.mark.parametrize("package", sorted(__import__("pathlib").Path("scenarios/packages").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_every_package_runs_and_books_each_instrument(package):
    from sim.outputs import simulate
    scenario = Scenario.from_yaml(package, overrides={"horizon_years": 2})
    assert len(scenario.instruments) >= 2, "a package combines instruments"
    metrics = set(simulate(scenario, seed=1).metrics["metric"].astype(str))
    for name in ("spend_eur", "income_eur", "staff_hours"):
        kinds = [i.kind for i in scenario.instruments]
        names = [k if kinds[:j].count(k) == 0 else f"{k}_{kinds[:j].count(k)}" for j, k in enumerate(kinds)]
        for n in names:
            assert f"{name}_{n}" in metrics, f"{package.name}: no {name}_{n} metric"
