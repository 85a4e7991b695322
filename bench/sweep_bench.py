"""Speed of `regie sweep`: the shipped Morris screening and the parallel efficiency of the pool.

Run from the repo root (``make bench-sweep``)::

    python bench/sweep_bench.py [--workers 2] [--efficiency-runs 20] [--skip-full]

It prints:

1. Parallel efficiency: the first ``--efficiency-runs`` runs of
   ``experiments/morris_screening.yaml`` (20-year midsize runs) on a process
   pool of 1 worker and of ``--workers`` workers, each timed from pool start to
   the last result (pool start and per-worker kernel loading included).
   Efficiency = T(1) / (workers x T(workers)). Target: ≥ 0.8 at 2 workers.
2. The whole shipped Morris screening (its size is in the experiment file; 0.5.0:
   33 parameters, r = 8, 2 replicates: 544 runs) with ``regie sweep`` on
   ``--workers`` processes, analysis and plots included. Target: ≤ 20 minutes on 2 cores.

The bench prints figures and never asserts.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.executors import run_process_pool, warm_kernels  # noqa: E402
from sim.sweeps.sweep import prepare, run_task, sweep  # noqa: E402

EXPERIMENT = ROOT / "experiments" / "morris_screening.yaml"


def pool_seconds(tasks, workers: int) -> float:
    """Wall time of the tasks on a fresh process pool of ``workers`` processes (even for 1)."""
    t0 = time.perf_counter()
    run_process_pool(run_task, tasks, lambda task, result: None, workers=workers)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--efficiency-runs", type=int, default=20)
    ap.add_argument("--skip-full", action="store_true", help="only the efficiency figure")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    warm_kernels()
    with tempfile.TemporaryDirectory() as tmp:
        _, _, tasks, _ = prepare(EXPERIMENT, Path(tmp) / "plan", resume=False)
    subset = tasks[:args.efficiency_runs]
    t1 = pool_seconds(subset, 1)
    tn = pool_seconds(subset, args.workers)
    eff = t1 / (args.workers * tn)
    print(f"\n1. parallel efficiency ({len(subset)} runs of 20-year midsize):")
    print(f"   1 worker  {t1:7.1f} s  ({t1 / len(subset):.2f} s/run)")
    print(f"   {args.workers} workers {tn:7.1f} s  ({tn / len(subset):.2f} s/run)")
    print(f"   efficiency T1/({args.workers}*T{args.workers}) = {eff:.2f}   (target ≥ 0.8)")
    if args.skip_full:
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = sweep(EXPERIMENT, executor="process", workers=args.workers, out=Path(tmp) / "morris",
                       progress=True)
        wall = time.perf_counter() - t0
    print(f"\n2. {EXPERIMENT.name}: {result.runs} runs ({result.failed} failed) on {args.workers} workers "
          f"incl. analysis: {wall:.0f} s = {wall / 60:.1f} min   (target ≤ 20 min)")


if __name__ == "__main__":
    main()
