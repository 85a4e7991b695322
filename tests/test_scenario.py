"""Tests for sim.scenario: shipped files validate, broken files fail clearly,
``base:`` inheritance, drivers, hashing and immutability."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from sim.scenario import Scenario, ScenarioError, Series, Trend, driver_value, validate_files
from sim.uses import COMMERCIAL_NAMES

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_FILES = sorted((ROOT / "scenarios").rglob("*.yaml")) + sorted((ROOT / "scenarios").rglob("*.yml"))
EXPERIMENT_FILES = sorted((ROOT / "experiments").rglob("*.yaml")) + sorted((ROOT / "experiments").rglob("*.yml"))


# ---------------------------------------------------------------- helpers
def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    """The ScenarioError problems of loading ``path`` (fails the test if it loads)."""
    with pytest.raises(ScenarioError) as info:
        Scenario.from_yaml(path)
    problems = info.value.problems
    assert problems, "ScenarioError without problems"
    assert str(info.value) == "\n".join(problems)
    for line in problems:
        assert "\n" not in line, f"problem spans several lines: {line!r}"
    return problems


def one_problem(folder: Path, text: str, name: str = "broken.yaml") -> str:
    """Write ``text`` to ``folder/name``, load it, and return its problem line; it names the file."""
    path = write(folder, name, text)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}: ") for p in problems), f"no problem names {path}: {problems}"
    return "\n".join(problems)


def assert_message(msg: str, key_path: str, *expected: str) -> None:
    assert f": {key_path}: " in msg, f"key path {key_path!r} not in {msg!r}"
    for word in expected:
        assert word in msg, f"{word!r} not in {msg!r}"


# ---------------------------------------------------------------- shipped files
def test_there_are_scenario_files():
    assert SCENARIO_FILES, f"no scenario files under {ROOT / 'scenarios'}"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_file_validates(path):
    assert validate_files([str(path)]) == []
    Scenario.from_yaml(path)


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_experiment_validates_with_every_sampled_scenario(path):
    from sim.sweeps.design import check_experiment
    exp, design = check_experiment(path)
    assert len(design) == design["row"].nunique() * exp.replicates


def test_baseline_large_inherits_baseline():
    base = Scenario.from_yaml(ROOT / "scenarios" / "baseline.yaml")
    large = Scenario.from_yaml(ROOT / "scenarios" / "baseline_large.yaml")
    assert large.city.archetype == "large" and large.name == "baseline_large"
    assert large.context == base.context and large.agents == base.agents and large.market == base.market
    assert (large.seed, large.horizon_years) == (base.seed, base.horizon_years)


# ---------------------------------------------------------------- broken input
def test_unknown_top_level_key(tmp_path):
    assert_message(one_problem(tmp_path, "nme: typo\n"), "nme", "unknown key")


def test_unknown_nested_key(tmp_path):
    assert_message(one_problem(tmp_path, "context:\n  cap_rat: 0.05\n"), "context.cap_rat", "unknown key")


def test_unknown_key_deep_inside_a_sector(tmp_path):
    msg = one_problem(tmp_path, "agents:\n  businesses:\n    sectors:\n      daily:\n        gross_marign: 0.3\n")
    assert_message(msg, "agents.businesses.sectors.daily.gross_marign", "unknown key")


@pytest.mark.parametrize("text, key_path, word", [
    ("agents:\n  households:\n    size_mean: [1.6]\n", "agents.households.size_mean", "number"),
    ("city:\n  archetype: metropolis\n", "city.archetype", "'small', 'midsize' or 'large'"),
    ("city: 5\n", "city", "dictionary"),
    ("instruments: 3\n", "instruments", "list"),
    ("name: 5\n", "name", "string"),
    ("seed: 1.5\n", "seed", "integer"),
    ("seed: true\n", "seed", "integer"),
], ids=["list-for-number", "bad-literal", "number-for-mapping", "number-for-list", "number-for-string",
        "float-for-int", "bool-for-int"])
def test_wrong_type(tmp_path, text, key_path, word):
    assert_message(one_problem(tmp_path, text), key_path, word)


@pytest.mark.parametrize("text, key_path, word", [
    ("agents:\n  businesses:\n    renewal_rent_to_market: 1.5\n",
     "agents.businesses.renewal_rent_to_market", "less than or equal to 1"),
    ("agents:\n  businesses:\n    sectors:\n      daily:\n        gross_margin: 1.5\n",
     "agents.businesses.sectors.daily.gross_margin", "less than or equal to 1"),
    ("horizon_years: 0\n", "horizon_years", "greater than or equal to 1"),
    ("horizon_years: 101\n", "horizon_years", "less than or equal to 100"),
    ("steps_per_year: 0\n", "steps_per_year", "greater than or equal to 1"),
    ("city:\n  size_cells: 8\n", "city.size_cells", "greater than or equal to 32"),
    ("agents:\n  households:\n    size_mean: 0\n", "agents.households.size_mean", "greater than 0"),
], ids=["share-1.5", "sector-share-1.5", "horizon-0", "horizon-101", "steps-0", "tiny-city", "zero-positive"])
def test_value_out_of_range(tmp_path, text, key_path, word):
    assert_message(one_problem(tmp_path, text), key_path, word)


def test_online_share_above_one_is_refused(tmp_path):
    # Documented as "share of the sector's spending that goes online (0..1)".
    msg = one_problem(tmp_path, "context:\n  online_share:\n    daily: 1.5\n")
    assert "context.online_share.daily" in msg, msg


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_refused(tmp_path, value):
    msg = one_problem(tmp_path, f"agents:\n  households:\n    size_mean: {value}\n")
    assert_message(msg, "agents.households.size_mean")


def test_negative_count(tmp_path):
    msg = one_problem(tmp_path, "agents:\n  owners:\n    kinds:\n      private:\n        count_per_1000_parcels: -1\n")
    assert_message(msg, "agents.owners.kinds.private.count_per_1000_parcels", "greater than or equal to 0", "-1")


def test_negative_seed_in_file(tmp_path):
    assert_message(one_problem(tmp_path, "seed: -1\n"), "seed", "greater than or equal to 0")


def test_seed_too_large_for_the_outputs_is_refused(tmp_path):
    # metrics.parquet stores the seed as int64; a larger seed must fail at load time, not mid-run.
    assert_message(one_problem(tmp_path, "seed: 99999999999999999999\n"), "seed")


@pytest.mark.parametrize("text, key_path", [
    ('seed: "abc"\n', "seed"),
    ('horizon_years: "20"\n', "horizon_years"),
    ('seed: "7"\n', "seed"),
    ('city:\n  size_cells: "64"\n', "city.size_cells"),
], ids=["seed-abc", "horizon-20", "seed-7", "size-64"])
def test_string_for_integer(tmp_path, text, key_path):
    assert_message(one_problem(tmp_path, text), key_path, "integer")


@pytest.mark.parametrize("text, key_path, word", [
    ('agents:\n  households:\n    size_mean: "1.6"\n', "agents.households.size_mean", "number"),
    ('context:\n  cap_rate: "0.05"\n', "context.cap_rate", "expected a number"),
    ('context:\n  cap_rate: {value: "0.05"}\n', "context.cap_rate.value", "number"),
    ('context:\n  online_share:\n    daily: "0.3"\n', "context.online_share.daily", "expected a number"),
], ids=["float-field", "driver", "trend-value", "online-share"])
def test_string_for_number(tmp_path, text, key_path, word):
    assert_message(one_problem(tmp_path, text), key_path, word)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    problems = problems_of(path)
    assert problems == [f"{path}: file not found"]


def test_folder_instead_of_file(tmp_path):
    assert problems_of(tmp_path) == [f"{tmp_path}: is a folder, expected a YAML file"]


@pytest.mark.parametrize("text, line", [
    ("name: x\ncity: [a, b\nseed: 3\n", 3),
    ("name: x\n  seed: 3\n", 2),
    ("name: x\nseed: 1\n\tstart_year: 2025\n", 3),
], ids=["unclosed-list", "bad-indent", "tab"])
def test_yaml_syntax_error_has_line_number(tmp_path, text, line):
    msg = one_problem(tmp_path, text)
    assert f"line {line}" in msg and "YAML error" in msg, msg


def test_control_character_gives_one_line(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"name: x\x00\n")
    (msg,) = problems_of(path)
    assert msg.startswith(f"{path}: ") and "YAML" in msg


def test_file_not_utf8_is_a_scenario_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    (msg,) = problems_of(path)
    assert msg.startswith(f"{path}: ") and "UTF-8" in msg.upper(), msg


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"], ids=["empty", "comment", "document-marker"])
def test_empty_file(tmp_path, text):
    assert "empty" in one_problem(tmp_path, text)


@pytest.mark.parametrize("text, got", [("- a\n- b\n", "list"), ("just a string\n", "str"), ("42\n", "int")])
def test_top_level_not_a_mapping(tmp_path, text, got):
    msg = one_problem(tmp_path, text)
    assert "mapping" in msg and got in msg, msg


def test_duplicate_key_refused(tmp_path):
    msg = one_problem(tmp_path, "seed: 1\nname: x\nseed: 2\n")
    assert "duplicate key 'seed'" in msg and "line 3" in msg, msg


def test_duplicate_nested_key_refused(tmp_path):
    msg = one_problem(tmp_path, "context:\n  cap_rate: 0.05\n  cap_rate: 0.06\n")
    assert "duplicate key 'cap_rate'" in msg and "line 3" in msg, msg


def test_bad_base_reference(tmp_path):
    msg = one_problem(tmp_path, "base: nope.yaml\nseed: 3\n")
    assert_message(msg, "base", "not found", "nope.yaml")


def test_base_not_a_string(tmp_path):
    assert_message(one_problem(tmp_path, "base: 3\n"), "base", "file name")


def test_base_file_itself_broken(tmp_path):
    base = write(tmp_path, "parent.yaml", "context:\n  cap_rat: 0.05\n")
    child = write(tmp_path, "child.yaml", "base: parent.yaml\n")
    problems = problems_of(child)
    assert any("context.cap_rat" in p and "unknown key" in p for p in problems), problems
    assert any(str(child) in p or str(base) in p for p in problems), problems


def test_circular_base_self(tmp_path):
    assert_message(one_problem(tmp_path, "base: broken.yaml\n"), "base", "circular", "broken.yaml")


def test_circular_base_chain(tmp_path):
    write(tmp_path, "a.yaml", "base: b.yaml\nseed: 1\n")
    write(tmp_path, "b.yaml", "base: c.yaml\nseed: 2\n")
    write(tmp_path, "c.yaml", "base: a.yaml\nseed: 3\n")
    (msg,) = problems_of(tmp_path / "a.yaml")
    assert ": base: circular" in msg and any(f in msg for f in ("a.yaml", "b.yaml", "c.yaml")), msg


@pytest.mark.parametrize("series", ["{2030: 0.05, 2025: 0.06}", "[[2030, 0.05], [2025, 0.06]]"],
                         ids=["mapping", "pairs"])
def test_series_unsorted_years(tmp_path, series):
    msg = one_problem(tmp_path, f"context:\n  cap_rate:\n    series: {series}\n")
    assert_message(msg, "context.cap_rate.series", "increasing", "2030, 2025")


def test_series_duplicate_years_pairs(tmp_path):
    msg = one_problem(tmp_path, "context:\n  cap_rate:\n    series: [[2025, 0.05], [2025, 0.06]]\n")
    assert_message(msg, "context.cap_rate.series", "duplicate", "2025")


def test_series_duplicate_years_mapping(tmp_path):
    msg = one_problem(tmp_path, "context:\n  cap_rate:\n    series:\n      2025: 0.05\n      2025: 0.06\n")
    assert "duplicate key 2025" in msg and "line 5" in msg, msg


@pytest.mark.parametrize("series, word", [
    ("{}", "at least one year"),
    ("[1, 2, 3]", "list of [year, value] pairs"),
], ids=["empty", "not-pairs"])
def test_series_malformed(tmp_path, series, word):
    assert_message(one_problem(tmp_path, f"context:\n  cap_rate:\n    series: {series}\n"), "context.cap_rate.series", word)


@pytest.mark.parametrize("series, key_path", [
    ("{2030: 0.05, 2025: 0.06}", "context.cap_rate.series"),
    ('{2025: "x"}', "context.cap_rate.series"),
    ('{"2025": 0.05}', "context.cap_rate.series"),
], ids=["unsorted", "string-value", "string-year"])
def test_series_error_path_names_the_series_key(tmp_path, series, key_path):
    # The user wrote `series:`; the path must lead there (and carry no "[key]" noise).
    msg = one_problem(tmp_path, f"context:\n  cap_rate:\n    series: {series}\n")
    assert key_path in msg and "[key]" not in msg, msg


def test_unknown_instrument_kind(tmp_path):
    msg = one_problem(tmp_path, "instruments:\n  - kind: magic_wand\n")
    assert_message(msg, "instruments[0]", "unknown instrument kind", "magic_wand")


def test_instrument_without_kind(tmp_path):
    assert_message(one_problem(tmp_path, "instruments:\n  - {}\n"), "instruments[0]", "kind")


def test_unknown_sector_in_online_share(tmp_path):
    msg = one_problem(tmp_path, "context:\n  online_share:\n    jewellery: 0.3\n")
    assert_message(msg, "context.online_share", "unknown sector", "jewellery", *COMMERCIAL_NAMES)


@pytest.mark.parametrize("entry", ["{gross_margin: 0.3}", (
    "{sales_density_eur_m2: 1, gross_margin: 0.3, fixed_cost_eur_m2: 1, footfall_elasticity: 1, "
    "local_share: 0.1, entry_rate_per_1000_units: 1}")], ids=["partial", "complete"])
def test_unknown_business_sector_is_one_clear_problem(tmp_path, entry):
    path = write(tmp_path, "broken.yaml", f"agents:\n  businesses:\n    sectors:\n      jewellery: {entry}\n")
    problems = problems_of(path)
    assert len(problems) == 1, problems  # a typo in a sector name is one problem, not a list of "Field required"
    msg = problems[0]
    assert_message(msg, "agents.businesses.sectors", "unknown sector", "jewellery")
    assert "(top level)" not in msg, msg


def test_unknown_owner_kind_is_one_clear_problem(tmp_path):
    path = write(tmp_path, "broken.yaml", "agents:\n  owners:\n    kinds:\n      pension: {count_per_1000_parcels: 1}\n")
    problems = problems_of(path)
    assert len(problems) == 1, problems
    msg = problems[0]
    assert "agents.owners.kinds" in msg and "pension" in msg and "institutional" in msg, msg
    assert "[key]" not in msg, msg


def test_every_problem_is_reported(tmp_path):
    path = write(tmp_path, "broken.yaml", "nme: x\nhorizon_years: 0\ncontext:\n  cap_rat: 1\n")
    problems = problems_of(path)
    assert len(problems) == 3, problems
    assert validate_files([str(path), str(path)]) == problems + problems


# ---------------------------------------------------------------- base: inheritance
BASE = """\
name: parent
seed: 11
horizon_years: 7
context:
  cap_rate: 0.06
  visitor_demand: {value: 1.0, per_year: -0.01}
agents:
  households:
    size_mean: 1.8
    move_per_year: 0.12
  businesses:
    sectors:
      daily: {gross_margin: 0.3}
  owners:
    kinds:
      private: {rent_floor_share: 0.5}
market:
  street_weight: {A1: 4.0, A2: 2.0, B: 1.3, C: 1.0, residential: 0.4}
"""


@pytest.fixture
def parent(tmp_path) -> Path:
    return write(tmp_path, "parent.yaml", BASE)


def test_base_nested_override_keeps_siblings(tmp_path, parent):
    child = Scenario.from_yaml(write(tmp_path, "child.yaml",
                                     "base: parent.yaml\nname: child\nagents:\n  households:\n    move_per_year: 0.2\n"))
    defaults = Scenario()
    hh = child.agents.households
    assert hh.move_per_year == 0.2                      # the child's value
    assert hh.size_mean == 1.8                          # the base's value
    assert hh.fill_per_year == defaults.agents.households.fill_per_year  # a default
    assert (child.name, child.seed, child.horizon_years) == ("child", 11, 7)
    assert child.context.cap_rate == 0.06
    assert child.context.visitor_demand == Trend(value=1.0, per_year=-0.01)
    assert child.context.housing_demand == defaults.context.housing_demand
    assert child.market.street_weight.A1 == 4.0


def test_partial_sector_override_keeps_other_fields(tmp_path, parent):
    defaults = Scenario().agents.businesses.sectors
    flat = Scenario.from_yaml(parent).agents.businesses.sectors
    assert flat["daily"] == defaults["daily"].model_copy(update={"gross_margin": 0.3})
    assert {k: v for k, v in flat.items() if k != "daily"} == {k: v for k, v in defaults.items() if k != "daily"}
    assert set(flat) == set(COMMERCIAL_NAMES)

    child = Scenario.from_yaml(write(tmp_path, "child.yaml", (
        "base: parent.yaml\nagents:\n  businesses:\n    sectors:\n      daily: {local_share: 0.9}\n"
        "      craft: {fixed_cost_eur_m2: 150}\n")))
    sectors = child.agents.businesses.sectors
    assert sectors["daily"] == defaults["daily"].model_copy(update={"gross_margin": 0.3, "local_share": 0.9})
    assert sectors["craft"] == defaults["craft"].model_copy(update={"fixed_cost_eur_m2": 150.0})
    assert sectors["comparison"] == defaults["comparison"]


def test_partial_owner_kind_override_keeps_other_fields(tmp_path, parent):
    defaults = Scenario().agents.owners.kinds
    child = Scenario.from_yaml(write(tmp_path, "child.yaml",
                                     "base: parent.yaml\nagents:\n  owners:\n    kinds:\n      private: {patience_quarters: 6}\n"))
    kinds = child.agents.owners.kinds
    assert kinds["private"] == defaults["private"].model_copy(update={"rent_floor_share": 0.5, "patience_quarters": 6})
    assert kinds["institutional"] == defaults["institutional"]
    assert set(kinds) == set(defaults)


def test_partial_online_share_keeps_other_sectors():
    s = Scenario.model_validate({"context": {"online_share": {"daily": 0.1}}})
    defaults = Scenario().context.online_share
    assert s.context.online_share["daily"] == 0.1
    assert {k: v for k, v in s.context.online_share.items() if k != "daily"} == \
        {k: v for k, v in defaults.items() if k != "daily"}


def test_lists_replace(tmp_path):
    write(tmp_path, "parent.yaml", "context:\n  cap_rate:\n    series: [[2025, 0.05], [2030, 0.06], [2035, 0.07]]\n")
    child = Scenario.from_yaml(write(tmp_path, "child.yaml",
                                     "base: parent.yaml\ncontext:\n  cap_rate:\n    series: [[2040, 0.08]]\n"))
    assert child.context.cap_rate == Series(series={2040: 0.08})


def test_child_can_change_a_driver_from_trend_to_series(tmp_path, parent):
    child = Scenario.from_yaml(write(tmp_path, "child.yaml",
                                     "base: parent.yaml\ncontext:\n  visitor_demand:\n    series: {2025: 1.0, 2035: 0.8}\n"))
    assert child.context.visitor_demand == Series(series={2025: 1.0, 2035: 0.8})


def test_child_can_change_a_driver_from_series_to_trend(tmp_path):
    write(tmp_path, "parent.yaml", "context:\n  cap_rate:\n    series: {2025: 0.05, 2035: 0.06}\n")
    child = Scenario.from_yaml(write(tmp_path, "child.yaml",
                                     "base: parent.yaml\ncontext:\n  cap_rate: {value: 0.05, per_year: 0.001}\n"))
    assert child.context.cap_rate == Trend(value=0.05, per_year=0.001)


def test_child_series_with_an_earlier_year(tmp_path):
    write(tmp_path, "parent.yaml", "context:\n  cap_rate:\n    series: {2025: 0.05, 2035: 0.06}\n")
    child = Scenario.from_yaml(write(tmp_path, "child.yaml",
                                     "base: parent.yaml\ncontext:\n  cap_rate:\n    series: {2020: 0.04}\n"))
    assert driver_value(child.context.cap_rate, 2020, 2025) == 0.04


def test_base_in_another_folder(tmp_path, parent):
    sub = tmp_path / "workshop"
    sub.mkdir()
    child = Scenario.from_yaml(write(sub, "child.yaml", "base: ../parent.yaml\nseed: 5\n"))
    assert (child.seed, child.horizon_years) == (5, 7)


def test_overrides_argument_merges_like_a_child(parent):
    s = Scenario.from_yaml(parent, overrides={"horizon_years": 2, "agents": {"households": {"size_mean": 2.0}}})
    assert (s.horizon_years, s.agents.households.size_mean, s.agents.households.move_per_year) == (2, 2.0, 0.12)


# ---------------------------------------------------------------- hashing
def test_sha256_equal_for_equal_content(tmp_path, parent):
    # The same resolved content, written flat, with other comments and key order.
    flat = write(tmp_path, "flat.yaml", "# the parent, copied, with a comment\n" + BASE)
    child = write(tmp_path, "child.yaml", "base: parent.yaml\n")
    reordered = write(tmp_path, "reordered.yaml", BASE.replace("name: parent\nseed: 11\n", "seed: 11\nname: parent\n"))
    hashes = {Scenario.from_yaml(p).sha256() for p in (parent, flat, child, reordered)}
    assert len(hashes) == 1
    # Writing a default explicitly does not change the scenario either.
    explicit = write(tmp_path, "explicit.yaml", BASE + "steps_per_year: 4\n")
    assert Scenario.from_yaml(explicit).sha256() == Scenario.from_yaml(parent).sha256()


def test_sha256_differs_when_a_value_differs(tmp_path, parent):
    h0 = Scenario.from_yaml(parent).sha256()
    other = write(tmp_path, "other.yaml", "base: parent.yaml\nagents:\n  owners:\n    kinds:\n      private: {rent_floor_share: 0.51}\n")
    assert Scenario.from_yaml(other).sha256() != h0
    assert Scenario.from_yaml(parent, overrides={"seed": 12}).sha256() != h0
    assert len(h0) == 64 and int(h0, 16) >= 0


def test_sha256_ignores_the_descriptions(tmp_path, parent):
    # a reworded description (either language) simulates the same thing: same run ids, --resume allowed
    h0 = Scenario.from_yaml(parent).sha256()
    reworded = Scenario.from_yaml(parent, overrides={"description": "other words", "description_nl": "andere woorden"})
    assert reworded.description == "other words"
    assert reworded.sha256() == h0


# ---------------------------------------------------------------- drivers
def test_driver_constant():
    assert driver_value(0.3, 2040.5, 2025) == 0.3
    assert driver_value(2, 2025, 2025) == 2.0


def test_driver_trend():
    t = Trend(value=1.0, per_year=-0.1)
    assert driver_value(t, 2025, 2025) == pytest.approx(1.0)
    assert driver_value(t, 2027, 2025) == pytest.approx(0.8)
    assert driver_value(t, 2025.5, 2025) == pytest.approx(0.95)
    assert driver_value(Trend(value=0.4), 2060, 2025) == 0.4


def test_driver_series_interpolates_inside_and_is_flat_outside():
    s = Series(series={2025: 1.0, 2035: 2.0, 2045: 0.0})
    assert driver_value(s, 2025, 2025) == 1.0
    assert driver_value(s, 2030, 2025) == pytest.approx(1.5)
    assert driver_value(s, 2027.5, 2025) == pytest.approx(1.25)
    assert driver_value(s, 2035, 2025) == pytest.approx(2.0)
    assert driver_value(s, 2040, 2025) == pytest.approx(1.0)
    assert driver_value(s, 2000, 2025) == 1.0   # flat before the first year
    assert driver_value(s, 2100, 2025) == 0.0   # flat after the last year
    assert driver_value(Series(series={2030: 0.7}), 2010, 2025) == 0.7


def test_driver_forms_from_yaml(tmp_path):
    s = Scenario.from_yaml(write(tmp_path, "drivers.yaml", (
        "context:\n"
        "  cap_rate: 0.05\n"
        "  interest_rate: {value: 0.04, per_year: 0.001}\n"
        "  housing_demand: {series: [[2025, 1.0], [2035, 1.2]]}\n"
        "  crime_pressure:\n    series: {2025: 1.0, 2030: 2.0}\n")))
    c = s.context
    assert driver_value(c.cap_rate, 2030, 2025) == 0.05
    assert driver_value(c.interest_rate, 2035, 2025) == pytest.approx(0.05)
    assert driver_value(c.housing_demand, 2030, 2025) == pytest.approx(1.1)
    assert driver_value(c.crime_pressure, 2027.5, 2025) == pytest.approx(1.5)
    assert isinstance(c.housing_demand, Series) and isinstance(c.interest_rate, Trend)


# ---------------------------------------------------------------- immutability
def test_scenario_is_frozen():
    s = Scenario.from_yaml(ROOT / "scenarios" / "baseline.yaml")
    with pytest.raises(pydantic.ValidationError):
        s.seed = 1
    with pytest.raises(pydantic.ValidationError):
        s.context.cap_rate = 0.1
    with pytest.raises(pydantic.ValidationError):
        s.agents.households.size_mean = 3.0
    with pytest.raises(pydantic.ValidationError):
        s.agents.businesses.sectors["daily"].gross_margin = 0.9
    assert s.seed == 20250101


# ---------------------------------------------------------------- degenerate weights and denominators
TINY = "city: {size_cells: 32}\nhorizon_years: 1\nburn_in_years: 0\n"
ZERO_STREETS = "{A1: 0, A2: 0, B: 0, C: 0, residential: 0}"


@pytest.mark.parametrize("text, key_path, word", [
    ("agents:\n  households:\n    income_mix: {low: 0, middle: 0, high: 0}\n",
     "agents.households.income_mix", "positive share"),
    ("agents:\n  households:\n    income_eur_month: {low: 2000, middle: 0, high: 6000}\n",
     "agents.households.income_eur_month", "positive income"),
    ("agents:\n  households:\n    rent_social_eur_month: 30000\n",
     "agents.households.rent_social_eur_month", "lowest income"),
    ("agents:\n  owners:\n    kinds:\n" + "".join(f"      {k}: {{parcel_share_edge: 0}}\n" for k in
                                                 ("institutional", "private", "local", "corporation")),
     "agents.owners.kinds", "parcel_share_edge"),
    (f"market:\n  street_weight: {ZERO_STREETS}\n  anchor_station: 0\n  anchor_square: 0\n  resident_attraction: 0\n",
     "market", "every source of footfall is 0"),
    ("context:\n  visitor_demand: {series: {2025: 0, 2030: 1}}\nmarket:\n  resident_attraction: 0\n",
     "context.visitor_demand", "start year 2025"),
    ("context:\n  visitor_demand: {value: 1.0, per_year: 20.0}\n", "context.visitor_demand", "at most 10"),
    ("context:\n  crime_pressure: {series: {2025: 1, 2026: 50}}\n", "context.crime_pressure", "at most 10"),
    ("agents:\n  owners:\n    street_cap_rate_spread: {A1: -0.06, A2: 0, B: 0, C: 0, residential: 0}\n",
     "agents.owners.street_cap_rate_spread.A1", "greater than or equal to 0"),
], ids=["income-mix", "income-zero", "rent-vs-income", "edge-shares", "footfall", "visitor-0-at-start",
        "visitor-trend", "crime-series", "spread"])
def test_degenerate_configuration_is_one_clear_problem(tmp_path, text, key_path, word):
    msg = one_problem(tmp_path, TINY + text)
    assert_message(msg, key_path, word)
    assert "(top level)" not in msg and len(msg.splitlines()) == 1, msg


def test_trend_ceiling_counts_the_simulated_period_only():
    # 1 + 0.4 * 20 = 9 in the last year of a 20-year run: allowed; a 30-year run reaches 12.6: refused
    ok = {"context": {"visitor_demand": {"value": 1.0, "per_year": 0.4}}, "horizon_years": 20}
    Scenario.from_dict(ok)
    with pytest.raises(ScenarioError, match=r"context.visitor_demand: .*2025\.\.2054 \(got 12\.\d+ in 2054\)"):
        Scenario.from_dict({**ok, "horizon_years": 30})


def test_legitimate_zeros_are_accepted():
    # one source of footfall is enough; zero entrants and zero sales of a sector are a scenario, not an error
    Scenario.from_dict({"market": {"street_weight": dict.fromkeys(("A1", "A2", "B", "C", "residential"), 0.0),
                                   "anchor_station": 0.0, "anchor_square": 0.0}})
    Scenario.from_dict({"agents": {"businesses": {"sectors": {"craft": {"entry_rate_per_1000_units": 0,
                                                                        "sales_density_eur_m2": 0}}}}})
    Scenario.from_dict({"context": {"visitor_demand": 0.0}})


# ---------------------------------------------------------------- instrument areas and years
@pytest.mark.parametrize("rect, words", [
    ("{row0: 80, col0: 0, row1: 140, col1: 10}", ("rows 80..140 lie partly outside the 88×88 grid",
                                                  "(rows and columns run 0..88)")),
    ("{row0: 88, col0: 0, row1: 89, col1: 10}", ("rows 88..89 lie outside the 88×88 grid",)),
    ("{row0: 0, col0: 85, row1: 5, col1: 1000000}", ("columns 85..1000000 lie partly outside",)),
], ids=["partly", "wholly", "absurd"])
def test_rectangle_outside_the_grid(tmp_path, rect, words):
    text = f"instruments:\n  - kind: bibob\n    area:\n      rectangles:\n        - {{row0: 0, col0: 0, row1: 1, col1: 1}}\n        - {rect}\n"
    msg = one_problem(tmp_path, text)
    assert_message(msg, "instruments[0].area.rectangles[1]", *words)


def test_rectangle_up_to_the_edge_and_the_grid_size_of_the_city():
    edge = {"instruments": [{"kind": "bibob", "area": {"rectangles": [{"row0": 0, "col0": 0, "row1": 88, "col1": 88}]}}]}
    Scenario.from_dict(edge)                                   # the whole midsize grid
    with pytest.raises(ScenarioError, match=r"64×64 grid"):
        Scenario.from_dict({**edge, "city": {"size_cells": 64}})
    Scenario.from_dict({**edge, "city": {"archetype": "large"}})


def test_problems_of_the_whole_scenario_are_at_their_own_key_path(tmp_path):
    msg = one_problem(tmp_path, "instruments:\n  - kind: bibob\n  - kind: bibob\n")
    assert_message(msg, "instruments[1]", "a second 'bibob'")
    assert "(top level)" not in msg and "(got" not in msg, msg


def test_warnings_for_instruments_that_never_act():
    s = Scenario.from_dict({"horizon_years": 10, "instruments": [
        {"kind": "bibob", "start_year": 2040, "end_year": 2045},
        {"kind": "facade_subsidy", "end_year": 2024},
        {"kind": "biz", "start_year": 2034},                   # acts in the last simulated year
        {"kind": "rent_subsidy", "end_year": 2025}]})          # acts in the first
    assert s.warnings("s.yaml") == [
        "s.yaml: instruments[0]: active 2040..2045 but the scenario simulates 2025..2034: it will never act",
        "s.yaml: instruments[1]: active until 2024 but the scenario simulates 2025..2034: it will never act"]


def test_shipped_scenarios_have_no_warnings():
    from sim.scenario import check_files
    assert check_files([str(p) for p in SCENARIO_FILES]) == ([], [])


# ---------------------------------------------------------------- YAML hazards (in process; the CLI battery is in test_hostile_inputs)
def test_merge_keys_merge_and_own_keys_win(tmp_path):
    s = Scenario.from_yaml(write(tmp_path, "m.yaml", (
        "agents:\n  businesses:\n    sectors:\n"
        "      daily: &a {gross_margin: 0.3, local_share: 0.5}\n"
        "      craft: &b {gross_margin: 0.4, fixed_cost_eur_m2: 100}\n"
        "      independent:\n        <<: [*a, *b]\n        local_share: 0.2\n")))
    ind = s.agents.businesses.sectors["independent"]
    assert (ind.gross_margin, ind.local_share, ind.fixed_cost_eur_m2) == (0.3, 0.2, 100.0)   # first listed wins


@pytest.mark.parametrize("text, word", [
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh")), "100,000 values"),
    ("name: " + "[" * 60 + "]" * 60 + "\n", "nested more than 50 levels"),
    ("name: &r {x: *r}\n", "recursive document"),
    ("{[1]: 2}\n", "a list cannot be a key"),
    ("seed: " + "1" * 200 + "\n", "200 digits"),
], ids=["laughs", "deep", "recursive", "unhashable", "long-int"])
def test_yaml_hazard_is_one_line(tmp_path, text, word):
    import time
    t0 = time.perf_counter()
    msg = one_problem(tmp_path, text)
    assert word in msg and "YAML error" in msg, msg
    assert time.perf_counter() - t0 < 5, "took too long"


def test_special_files_are_refused_without_reading(tmp_path):
    import os
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)                                              # reading it would block forever
    assert problems_of(fifo) == [f"{fifo}: is not a regular file (a pipe, socket or device), expected a YAML file"]
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    assert problems_of(link) == [f"{link}: is a broken symbolic link (its target does not exist)"]


@pytest.mark.parametrize("series, shown", [("{~: 1.0}", "~ (null)"), ("{x: 1.0}", "'x'"), ("{2025.5: 1.0}", "2025.5"),
                                           ("{false: 1.0}", "False"), ("[[~, 1.0]]", "~ (null)"),
                                           ('[["2025", 1.0]]', "'2025'")],
                         ids=["null", "text", "fraction", "boolean", "pair-null", "pair-text"])
def test_odd_series_years(tmp_path, series, shown):
    msg = one_problem(tmp_path, f"context:\n  cap_rate:\n    series: {series}\n")
    assert_message(msg, "context.cap_rate.series", f"{shown} is not one")


@pytest.mark.parametrize("content, word", [
    ("name: x\n".encode("utf-16"), "UTF-16"),
    (b"name: a\n---\nname: b\n", "another document"),
    (b"context:\n  cap_rate:\n    series: {99999999999999999999999: 0.05}\n", "1900..2300"),
    (b"horizon_years: 99999999999999999999\n", "less than or equal to 100"),
    (b"market:\n  anchor_square: " + b"9" * 99 + b"\n", None),          # a large integer is a number
], ids=["utf16", "two-documents", "huge-series-year", "huge-int-for-a-count", "large-int-is-a-number"])
def test_more_hostile_yaml(tmp_path, content, word):
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    if word is None:
        assert Scenario.from_yaml(path).market.anchor_square == float("9" * 99)
        return
    (msg,) = problems_of(path)
    assert msg.startswith(f"{path}: ") and word in msg, msg


def test_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    (msg,) = problems_of(loop)
    assert msg.startswith(f"{loop}: "), msg


@pytest.mark.parametrize("text, key_path, word", [
    ("agents:\n  households:\n    size_mean: 1000\n", "agents.households.size_mean", "less than or equal to 10"),
    ("agents:\n  households:\n    rent_amenity_elasticity: 1000\n", "agents.households.rent_amenity_elasticity", "2"),
    ("agents:\n  households:\n    upper_floor_dwellings_mean: 1.0e+9\n", "agents.households.upper_floor_dwellings_mean", "20"),
    ("agents:\n  households:\n    fill_per_year: 1.0e+300\n", "agents.households.fill_per_year", "365"),
    ("agents:\n  businesses:\n    front_entry_rate_per_1000_units: 1.0e+9\n",
     "agents.businesses.front_entry_rate_per_1000_units", "1000"),
    ("agents:\n  owners:\n    kinds:\n      local: {count_per_1000_parcels: 1.0e+9}\n",
     "agents.owners.kinds.local.count_per_1000_parcels", "1000"),
], ids=["household-size", "rent-elasticity", "dwellings-per-floor", "fill-rate", "front-rate", "owner-count"])
def test_bounds_where_runs_crashed_or_overflowed(tmp_path, text, key_path, word):
    # found by bench/fuzz_inputs.py: each value ran out of memory, hung, overflowed or gave NaN before
    assert_message(one_problem(tmp_path, text), key_path, word)
