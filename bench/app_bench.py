"""The workshop app's speed: seconds from pressing Run to the comparison table shown.

Starts `regie app` (its warm pool of 2 workers), waits until the workers have compiled, then in
headless Chromium (Debian's chromium, through Playwright) switches one instrument on at the
shipped settings, 8 replicates of a 20-year midsize run (the page's defaults), presses Run and
times until the table is there. Target (issue 15): 20 s or less on a 2-core machine.

    python bench/app_bench.py [--instrument facade_subsidy] [--replicates 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instrument", default="facade_subsidy")
    ap.add_argument("--replicates", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2, help="Run presses timed one after another")
    ap.add_argument("--warm-seconds", type=float, default=20.0, help="wait for the workers to compile first")
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        print("needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "sim.cli", "app", "--port", str(port), "--workers", "2"])
    try:
        time.sleep(args.warm_seconds)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://localhost:{port}/")
            page.wait_for_selector(".regie-switch-acquisition_fund", timeout=90_000)
            # the label: Vuetify 2 hides the input
            page.locator(f".regie-switch-{args.instrument} label").first.click()
            page.locator(".regie-replicates input").fill(str(args.replicates))
            page.locator(".regie-replicates input").press("Tab")
            page.wait_for_selector(f".regie-area-{args.instrument}")
            for i in range(args.repeat):
                if i:   # a changed seed-free choice: toggle the years to force a new Run of the same size
                    page.wait_for_timeout(500)
                t0 = time.perf_counter()
                page.locator(".regie-run").click()
                if i:
                    page.wait_for_selector(".regie-progress", timeout=30_000)
                page.wait_for_selector("#regie-comparison", timeout=300_000)
                page.wait_for_selector(".regie-progress", state="detached", timeout=300_000)
                seconds = time.perf_counter() - t0
                print(f"run {i + 1}: Run pressed -> table shown in {seconds:.1f} s "
                      f"(midsize, 20 years, baseline + {args.instrument}, {args.replicates} replicates, 2 workers)",
                      flush=True)
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)   # Ctrl-C, as a user stops it: the pool is shut down cleanly
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
