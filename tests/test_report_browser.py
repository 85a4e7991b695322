"""The workshop report as a browser shows it: headless Chromium (Debian's ``chromium``) renders
report.html offline and the screenshot is kept for a person to look at (tests/artifacts/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from test_report import BASELINE, make_metrics, make_states, make_summary
from sim.workshop.report import write_report

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium); "
                                             "the report's screenshots cannot be taken here")
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_report_renders_offline_in_chromium(tmp_path, lang):
    report = write_report(tmp_path, make_summary(), make_metrics(), make_states(), BASELINE, lang=lang)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"report_{lang}.png"
    shot.unlink(missing_ok=True)
    # no network: a report that needed the internet would render with holes, not hang
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--proxy-server=127.0.0.1:9", "--window-size=1280,4000", f"--screenshot={shot}",
                    report.as_uri()], check=True, capture_output=True, timeout=120)
    from PIL import Image
    with Image.open(shot) as img:
        assert img.size == (1280, 4000)
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50, "the screenshot is (almost) blank"
