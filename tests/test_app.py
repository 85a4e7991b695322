"""`regie app` without a browser: the form's scenarios and the runner's numbers.

The browser side (the page loads offline, Run, language, sessions, refused values) is in
tests/test_app_browser.py."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import yaml

pytest.importorskip("solara", reason="the app extra is not installed (pip install -e '.[app]')")

import sim  # noqa: E402
from sim.app import form  # noqa: E402
from sim.app.runner import Job, shutdown_pool, start_pool  # noqa: E402
from sim.scenario import Scenario  # noqa: E402


def _with(choice: form.Choice, kind: str, **values: str) -> form.Choice:
    c = replace(choice.instrument(kind), on=True)
    for name, text in values.items():
        c = c.with_value(name, text)
    return choice.with_instrument(kind, c)


def test_every_instrument_has_two_to_four_main_parameters_with_schema_ranges():
    from sim.instruments import REGISTRY
    assert set(form.MAIN_PARAMETERS) == set(REGISTRY)
    for kind in REGISTRY:
        ps = form.parameters(kind)
        assert 2 <= len(ps) <= 4, kind
    share = form.parameter("facade_subsidy", "share")
    assert (share.type, share.low, share.low_open, share.high) == ("float", 0.0, True, 1.0)
    years = form.parameter("facade_subsidy", "programme_years")
    assert (years.type, years.low, years.high) == ("int", 1, 30)
    start = form.parameter("zoning", "start_year")        # Optional[Annotated[int, ...]]: bounds found inside
    assert (start.type, start.low, start.high, start.optional) == ("int", 1990, 2200, True)
    assert form.parameter("zoning", "procedure").options == ("regular", "extended")


def test_defaults_are_the_shipped_settings():
    choice = form.default_choice()
    facade = choice.instrument("facade_subsidy")
    assert (facade.area, facade.value("budget_eur"), facade.value("max_eur_per_parcel")) == ("edge", "300000", "20000")
    assert choice.instrument("rent_subsidy").area == "streets:A2+B"
    assert choice.chosen() == []


def test_the_package_is_the_baseline_plus_the_chosen_instruments():
    choice = _with(form.default_choice("small", 5, 3), "facade_subsidy", budget_eur="450000")
    choice = choice.with_instrument("facade_subsidy", replace(choice.instrument("facade_subsidy"), area="core"))
    base, package, reps = form.build(choice)
    assert reps == 3 and base.instruments == [] and base.city.archetype == "small" and base.horizon_years == 5
    (inst,) = package.instruments
    assert inst.kind == "facade_subsidy" and inst.budget_eur == 450000 and inst.area.zones == ["core"]
    shipped = form.shipped_instrument("facade_subsidy")
    assert inst.budget_eur_per_year == shipped["budget_eur_per_year"]   # the rest as shipped
    # the YAML shown on the page is the same scenario
    again = Scenario.from_dict(yaml.safe_load(form.scenario_yaml(package)))
    assert again.sha256() == package.sha256()


@pytest.mark.parametrize("kind, name, text", [
    ("facade_subsidy", "share", "1.5"),              # above the schema's maximum
    ("facade_subsidy", "share", "0"),                # the schema's open lower bound
    ("facade_subsidy", "programme_years", "2.5"),    # not whole
    ("vacancy_ordinance", "fine_eur", "abc"),        # not a number
    ("vacancy_ordinance", "report_after_months", "3"),   # the law's minimum is 6
])
def test_bad_values_are_refused_at_their_field(kind, name, text):
    choice = _with(form.default_choice("small", 3, 2), kind, **{name: text})
    with pytest.raises(form.FormError) as err:
        form.build(choice)
    assert list(err.value.problems) == [f"{kind}.{name}"]


def test_page_bounds_and_an_empty_package_are_refused():
    choice = replace(_with(form.default_choice(), "bibob"), horizon_years="0", replicates="1")
    with pytest.raises(form.FormError) as err:
        form.build(choice)
    assert set(err.value.problems) == {"horizon_years", "replicates"}
    with pytest.raises(form.FormError) as err:
        form.build(form.default_choice())
    assert "" in err.value.problems


@pytest.fixture(scope="module")
def pool():
    start_pool(2)
    yield
    shutdown_pool()


def test_the_table_is_the_one_regie_compare_gives(pool):
    """Same scenarios, replicates and seed: the app's summary equals sim.api.compare's."""
    choice = _with(form.default_choice("small", 3, 3), "vacancy_ordinance")
    base, package, reps = form.build(choice)
    job = Job(base, package, reps)
    seen = []
    try:
        outcome = job.run(on_progress=lambda done, total: seen.append((done, total)))
        expected = sim.compare([base, package], replicates=reps, workers=1)
        pd.testing.assert_frame_equal(outcome.result.summary.reset_index(drop=True),
                                      expected.summary.reset_index(drop=True))
        assert seen[-1] == (6, 6) and [d for d, _ in seen] == list(range(1, 7))
        assert set(outcome.states) == {"baseline", "vacancy_ordinance"} and outcome.start is not None
        assert outcome.start["use"].shape == outcome.states["baseline"]["land"].shape
        report = job.report(outcome, "nl")
        assert report.name == "report.nl.html" and "Leegstandverordening" in report.read_text(encoding="utf-8")
    finally:
        job.remove()
    assert not job.folder.exists()


def test_a_cancelled_job_stops_and_says_so(pool):
    from sim.app.runner import Cancelled
    base, package, _ = form.build(_with(form.default_choice("small", 3, 2), "bibob"))
    job = Job(base, package, 16)
    job.cancel()
    try:
        with pytest.raises(Cancelled):
            job.run()
        assert job.done < job.total
    finally:
        job.remove()


def test_the_server_switches_off_telemetry_banner_and_the_cdn_before_solara_reads_them():
    # Solara reads its settings once, at its first import: serve() makes them first, and
    # offline_settings() refuses a Solara imported too early (telemetry to mixpanel.com would be on)
    import subprocess
    import sys
    made_first = ("from sim.app.serve import _solara_environment, offline_settings; "
                  "_solara_environment('nl'); print(offline_settings())")
    out = subprocess.run([sys.executable, "-c", made_first], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'telemetry': False" in out.stdout and "'banner': False" in out.stdout and "127.0.0.1" in out.stdout
    too_late = ("import solara; from sim.app.serve import _solara_environment, offline_settings; "
                "_solara_environment('nl'); offline_settings()")
    out = subprocess.run([sys.executable, "-c", too_late], capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in __import__("os").environ.items() if not k.startswith("SOLARA_")})
    assert out.returncode != 0 and "imported before its settings were made" in out.stderr
