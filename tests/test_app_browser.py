"""`regie app` in a browser: headless Chromium (Debian's ``chromium``, driven by Playwright; no
browser download) against one server started for this module. Screenshots are kept in
tests/artifacts/ for a person to look at.

Fast on purpose: a midsize city over 3 years, 2 replicates (the 20 s figure of the README is
bench/app_bench.py's, not a test's)."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from sim.scenario import Scenario

pytest.importorskip("solara", reason="the app extra is not installed (pip install -e '.[app]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the app extra)")

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 90_000   # first load: the server's workers compile their kernels meanwhile

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install "
                                                         "chromium); the app's browser tests cannot run here")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    log = ARTIFACTS / "app_server.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "app", "--port", str(port), "--lang", "nl",
                                 "--workers", "2"], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"regie app ended: {log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"regie app did not listen on port {port} within 60 s: {log.read_text()}")
        yield f"http://localhost:{port}/"
    finally:
        proc.send_signal(signal.SIGINT)   # Ctrl-C, as a user stops it: its pool is shut down cleanly
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Offline:
    """A browser context that may reach this machine only; every other request is refused and kept."""

    def __init__(self, browser):
        self.outside: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.route("**/*", self._route)

    def _route(self, route):
        if urlparse(route.request.url).hostname in ("localhost", "127.0.0.1"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def page(self, url: str):
        page = self.context.new_page()
        page.goto(url)
        page.wait_for_selector(".regie-run", timeout=TIMEOUT_MS)
        page.wait_for_selector(".regie-switch-acquisition_fund", timeout=TIMEOUT_MS)   # the form's last widget
        return page


def _short_run_choice(page, kind: str = "vacancy_ordinance") -> None:
    page.locator(f".regie-switch-{kind} label").first.click()   # the label: Vuetify 2 hides the input
    for css, value in ((".regie-years input", "3"), (".regie-replicates input", "2")):
        page.locator(css).fill(value)
        page.locator(css).press("Tab")
    page.wait_for_selector(f".regie-area-{kind}")


def _wait_text(page, css: str, text: str) -> None:
    """Until the element's text is ``text`` (case-insensitive: Vuetify upper-cases buttons); the
    widgets of a re-rendered page arrive one message at a time."""
    # ?.: while the page re-renders (a language switch) the element is gone for a moment
    page.wait_for_function("([css, text]) => document.querySelector(css)?.innerText.trim().toLowerCase() === text",
                           arg=[css, text], timeout=30_000)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_loads_offline_and_run_shows_table_and_charts(server, browser):
    ctx = Offline(browser)
    page = ctx.page(server)
    assert page.locator("h2").inner_text() == "Regie: probeer een beleidspakket"
    _short_run_choice(page)
    page.locator(".regie-run").click()
    page.wait_for_selector("#regie-comparison", timeout=TIMEOUT_MS)
    rows = page.locator("#regie-comparison tbody tr")
    assert rows.count() >= 10
    assert page.locator('#regie-comparison tr[data-metric="vacancy_units"] th').inner_text() == \
        "Leegstand (aandeel panden)"
    assert "Leegstandverordening" in page.locator("#regie-comparison thead").inner_text()
    _shot(page, "app_table_nl.png")
    page.locator(".regie-tab-time").click()
    page.wait_for_selector(".regie-trajectories", timeout=TIMEOUT_MS)
    assert page.locator(".regie-trajectories").evaluate("img => img.naturalWidth") > 500
    _shot(page, "app_trajectories_nl.png")
    page.locator(".regie-tab-maps").click()
    page.wait_for_selector(".regie-probability", timeout=TIMEOUT_MS)
    _shot(page, "app_maps_nl.png")
    page.locator(".regie-tab-cost").click()
    assert "Netto publieke kosten van het pakket na 3 jaar" in page.locator("#regie-cost-total").inner_text()
    page.locator(".regie-tab-yaml").click()
    shown_yaml = page.locator(".regie-yaml").inner_text()
    assert "kind: vacancy_ordinance" in shown_yaml
    # the scenario file reruns the same package: it loads, with the chosen years and instrument
    rerun = Scenario.from_dict(yaml.safe_load(shown_yaml))
    assert rerun.horizon_years == 3 and [i.kind for i in rerun.instruments] == ["vacancy_ordinance"]
    # the download is the report `regie compare` writes: one self-contained Dutch HTML file
    page.locator(".regie-make-report").click()
    page.wait_for_selector(".regie-download", timeout=TIMEOUT_MS)
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.locator(".regie-download").click()
    assert download.value.suggested_filename == "report.nl.html"
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Leegstandverordening" in report and "Rapport voor de werksessie" in report
    assert not re.search(r"src=[\"']?https?:", report) and "<link" not in report   # nothing fetched
    assert 'src="data:image/png;base64,' in report
    assert ctx.outside == [], f"the page asked the internet for {ctx.outside}"
    ctx.context.close()


def test_a_second_run_replaces_the_first(server, browser):
    ctx = Offline(browser)
    page = ctx.page(server)
    _short_run_choice(page, "facade_subsidy")
    page.locator(".regie-replicates input").fill("6")       # long enough to be running at the second press
    page.locator(".regie-replicates input").press("Tab")
    page.locator(".regie-run").click()
    page.wait_for_selector(".regie-progress", timeout=TIMEOUT_MS)
    page.locator(".regie-switch-facade_subsidy label").first.click()    # another package ...
    page.locator(".regie-switch-bibob label").first.click()
    page.wait_for_selector(".regie-area-bibob")
    page.locator(".regie-run").click()                                  # ... replaces the running one
    page.wait_for_selector("#regie-comparison", timeout=TIMEOUT_MS)
    page.wait_for_selector(".regie-progress", state="detached", timeout=TIMEOUT_MS)
    head = page.locator("#regie-comparison thead").inner_text()
    assert "Bibob-toets" in head and "Gevelsubsidie" not in head
    assert page.locator(".regie-stale").count() == 0 and page.locator(".regie-failed").count() == 0
    ctx.context.close()


def test_the_language_switch(server, browser):
    ctx = Offline(browser)
    page = ctx.page(server)
    page.locator(".regie-lang").click()
    page.wait_for_function("document.querySelector('h2')?.innerText === 'Regie: try a policy package'")
    _wait_text(page, ".regie-run", "run")
    _wait_text(page, ".regie-switch-facade_subsidy", "facade subsidy")
    _shot(page, "app_form_en.png")
    page.locator(".regie-lang").click()
    page.wait_for_function("document.querySelector('h2')?.innerText === 'Regie: probeer een beleidspakket'")
    _wait_text(page, ".regie-run", "doorrekenen")
    ctx.context.close()


def test_two_sessions_do_not_see_each_other(server, browser):
    one, two = Offline(browser), Offline(browser)
    page_one, page_two = one.page(server), two.page(server)
    _short_run_choice(page_one, "bibob")
    page_one.locator(".regie-run").click()
    page_one.wait_for_selector("#regie-comparison", timeout=TIMEOUT_MS)
    page_two.reload()
    page_two.wait_for_selector(".regie-run", timeout=TIMEOUT_MS)
    assert page_two.locator(".regie-empty").count() == 1          # no results here
    assert page_two.locator("#regie-comparison").count() == 0
    assert not page_two.locator(".regie-switch-bibob input").is_checked()   # nor the other's choice
    assert page_two.locator(".regie-years input").input_value() == "20"
    one.context.close()
    two.context.close()


def test_bad_values_are_refused_in_the_form(server, browser):
    ctx = Offline(browser)
    page = ctx.page(server)
    page.locator(".regie-switch-facade_subsidy label").first.click()   # the label: Vuetify 2 hides the input
    page.wait_for_selector(".regie-field-facade_subsidy-share input", timeout=TIMEOUT_MS)
    field = page.locator(".regie-field-facade_subsidy-share input")
    field.fill("1,5")
    field.press("Tab")
    page.wait_for_function("document.querySelector('.regie-field-facade_subsidy-share')?.innerText"
                           ".includes('toegestaan')", timeout=TIMEOUT_MS)
    page.locator(".regie-run").click()
    page.wait_for_selector(".regie-refused", timeout=TIMEOUT_MS)
    assert page.locator(".regie-progress").count() == 0 and page.locator("#regie-comparison").count() == 0
    assert page.locator(".regie-refused").is_visible()          # below the Run button, not scrolled away
    page.locator(".regie-field-facade_subsidy-share").scroll_into_view_if_needed()
    _shot(page, "app_refused_nl.png")
    ctx.context.close()
