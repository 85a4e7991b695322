"""`make bench` runs on the installed Mesa and prints its figures (the speed targets live
in bench/, not here: this only checks that the benchmark itself works, e.g. on Mesa 3.5,
which has no ``Agent._ids``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_benchmark_runs_and_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run_bench.py"), "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert {k["kernel"] for k in figures["kernels"]} == {"footfall_field", "sales_density", "business_accounts",
                                                         "market_update", "kpi_reduce"}
    assert all(k["numba_s"] > 0 and k["python_s"] > 0 for k in figures["kernels"])
    assert figures["model"]["midsize"]["total_s"] > 0 and figures["model"]["large_per_parcel_over_midsize"] > 0
    assert all(m["peak_mb"] >= m["after_import_mb"] > 0 for m in figures["memory"])
    assert "midsize target" in done.stdout
