"""How well do common random numbers hold? The variance reduction of `regie compare`.

Run from the repo root (``make bench-crn``)::

    python bench/crn.py [--replicates 16] [--years 10] [--workers 2] [--out results/bench_crn]

It compares the ten instrument scenarios of ``scenarios/instruments/`` with the baseline
(``--replicates`` replicates, ``--years`` years each, through ``regie compare`` itself) and
prints, per instrument and KPI at the horizon, the ratio

    SD of the paired differences (instrument − baseline, over replicates) / mean SD of the two arms

— about 1.41 when the arms are independent, 0 when chance cancels exactly — and the median
over instruments. Target (issue "common random numbers that hold"): a median of at most 0.5
for vacancy_units, longterm_vacancy_1y, fronts_active and craft_culture_m2. The bench prints
figures and never asserts.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.workshop.compare import compare  # noqa: E402

KPIS = ("vacancy_units", "longterm_vacancy_1y", "fronts_active", "craft_culture_m2")
TARGET = 0.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=16)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep the comparison here (default: a temp folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for source in [ROOT / "scenarios" / "baseline.yaml", *sorted((ROOT / "scenarios" / "instruments").glob("*.yaml"))]:
            path = folder / source.name
            path.write_text(f"base: {source}\nhorizon_years: {args.years}\n")
            paths.append(str(path))
        out = args.out or folder / "compare"
        t0 = time.perf_counter()
        result = compare(paths, replicates=args.replicates, workers=args.workers, out=out, report=False,
                         progress=True, resume=args.out is not None and (out / "compare_plan.json").exists())
        seconds = time.perf_counter() - t0
    s = result.summary
    s = s[s["metric"].isin(KPIS) & s["sd_ratio"].notna()]
    table = s.pivot_table(index="scenario", columns="metric", values="sd_ratio")[list(KPIS)]
    print(f"\nCommon random numbers: SD(paired difference) / mean SD(arm), {args.replicates} replicates, "
          f"{args.years} years, {len(paths) - 1} instruments vs baseline ({seconds:.0f} s on {args.workers} workers; "
          f"{platform.python_version()}, {platform.machine()})\n")
    with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 120):
        print(table.to_string())
        median = table.median()
        print("\nmedian over instruments:")
        for kpi in KPIS:
            flag = "ok" if median[kpi] <= TARGET else "above target"
            print(f"  {kpi:22s} {median[kpi]:.2f}   (target <= {TARGET}: {flag})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
