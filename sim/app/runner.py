"""The app's runs: one warm process pool for the whole server, one comparison job per Run press.

The pool is the only thing browser sessions share. It is started (and its workers' numba kernels
compiled, ``sim.executors.worker_setup``) once, when the app starts, and kept: a pool per Run
would pay ~3 s of start-up and compilation per worker every time. Sharing it leaks nothing
between sessions: a run is a pure function of its scenario and seed.

A ``Job`` is what ``regie compare`` does for doing nothing and one package: the same replicate
seeds (``replicate_seeds``), each finished run written into the job's own temporary folder as
``compare`` writes it (``store_run``), then ``summarise`` and ``end_states``; so the table is the one
``regie compare`` gives for the same scenarios, replicates and seed, and the report is written by
``write_report`` from that folder. A second Run cancels the first job: its runs not yet started
are cancelled, the ones running finish in their worker and are ignored.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.outputs import atomic_write
from sim.scenario import Scenario
from sim.workshop.compare import (CompareResult, RunTask, comparison_plan, end_states, replicate_seeds, run_task,
                                  store_run, summarise)

WAIT_SECONDS = 0.2   # how often a job looks for finished runs and for its cancellation (assumption: feels instant)

_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_pool_lock = threading.Lock()


class Cancelled(Exception):
    """The job was cancelled (a newer Run of the same session replaced it)."""


# ------------------------------------------------------------------ the shared pool
def _warm_probe(seconds: float) -> int:
    """A task that keeps its worker busy a moment, so that every worker of a fresh pool gets
    one, starts and compiles its kernels (the pool's initializer) before the first Run."""
    time.sleep(seconds)
    return os.getpid()


def start_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The server's pool of ``workers`` spawned processes (default: every core), started once;
    returns at once: workers warm up in the background."""
    global _pool, _pool_workers
    import multiprocessing

    from sim.executors import start_worker, worker_setup

    with _pool_lock:
        if _pool is None:
            _pool_workers = workers or os.cpu_count() or 1
            # start_worker: a worker ends when this server process is gone, and a set-up error is
            # reported through every task rather than breaking the pool (sim.executors)
            _pool = ProcessPoolExecutor(max_workers=_pool_workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=start_worker, initargs=(os.getpid(), worker_setup, (True,)))
            for _ in range(_pool_workers):
                _pool.submit(_warm_probe, 0.5)
        return _pool


def pool_workers() -> int:
    return _pool_workers


def _restart_pool() -> None:
    """After a worker died (killed, out of memory): a new pool for the next Run."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=False, cancel_futures=True)
    start_pool(_pool_workers or None)


def shutdown_pool() -> None:
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------ a job
@dataclass
class Outcome:
    """A finished job: ``result`` as ``sim.workshop.compare.summarise`` returns it, the end
    states per scenario (``end_states`` plus ``replicates``), and the start map of replicate 0."""

    result: CompareResult
    states: dict[str, dict]
    start: dict[str, np.ndarray] | None
    scenarios: list[Scenario]
    seconds: float


class Job:
    """Doing nothing and a package, ``replicates`` times each on common random numbers."""

    def __init__(self, baseline: Scenario, package: Scenario, replicates: int, seed: int | None = None):
        self.scenarios = [baseline, package]
        self.seeds = replicate_seeds(baseline.seed if seed is None else int(seed), replicates)
        # the order of `compare`: replicate by replicate, every scenario
        self.tasks = [RunTask(s.name, r, run_seed, s.sha256()) for r, run_seed in enumerate(self.seeds)
                      for s in self.scenarios]
        self.folder = Path(tempfile.mkdtemp(prefix="regie-app-"))
        self.out_dir = self.folder / "compare"
        self.done = 0
        self._cancel = threading.Event()
        self._futures: list[Future] = []
        self.start: dict[str, np.ndarray] | None = None

    @property
    def total(self) -> int:
        return len(self.tasks)

    def cancel(self) -> None:
        """Cancel the runs not yet started; ``run`` raises Cancelled at its next look."""
        self._cancel.set()
        for fut in self._futures:
            fut.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def remove(self) -> None:
        """Delete the job's folder (its runs and report)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, on_progress: Callable[[int, int], None] | None = None, lang: str = "en",
            stop: Callable[[], bool] | None = None) -> Outcome:
        """Run every task on the shared pool, store each as it arrives, then summarise (blocks:
        call it from a background thread). Raises Cancelled when cancelled meanwhile, or when
        ``stop()`` turns true (the page's thread was cancelled: a newer Run, or the tab closed)."""
        t0 = time.perf_counter()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        plan = comparison_plan(self.scenarios, [f"<scenario {s.name}>" for s in self.scenarios], self.seeds)
        atomic_write(self.out_dir / "compare_plan.json", lambda p: Path(p).write_text(json.dumps(plan, indent=2)))
        pool = start_pool()
        data = {s.name: s.to_dict() for s in self.scenarios}
        first = self.tasks[0]
        pending = {pool.submit(run_task, data[t.scenario], t, t == first): t for t in self.tasks}
        self._futures = list(pending)
        if self.cancelled:   # cancelled while submitting
            self.cancel()
        try:
            while pending:
                if stop is not None and stop():
                    self.cancel()
                if self.cancelled:
                    raise Cancelled()
                done, _ = wait(pending, timeout=WAIT_SECONDS, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = pending.pop(fut)
                    result = fut.result()
                    if result.get("start") is not None:
                        self.start = result["start"]
                    store_run(self.out_dir, task, result)
                    self.done += 1
                    if on_progress is not None:
                        on_progress(self.done, self.total)
        except BrokenProcessPool:
            _restart_pool()
            raise RuntimeError("a worker process died (out of memory?); the pool was restarted, press Run again")
        finally:
            for fut in pending:
                fut.cancel()
        if self.cancelled:
            raise Cancelled()
        result = summarise(self.out_dir, self.scenarios, self.tasks, lang)
        finished = result.metrics.groupby("scenario", observed=True)["replicate"].unique()
        states = {}
        for s in self.scenarios:
            if s.name in finished.index:
                reps = sorted(int(r) for r in finished[s.name])
                states[s.name] = {**end_states(self.out_dir, s.name, reps), "replicates": reps}
        return Outcome(result, states, self.start, self.scenarios, time.perf_counter() - t0)

    def report(self, outcome: Outcome, lang: str) -> Path:
        """The report ``regie compare`` writes, from this job's folder (report.html or report.nl.html)."""
        from sim.workshop.report import write_report

        descriptions = {s.name: {"en": s.description, "nl": s.description_nl} for s in self.scenarios}
        return write_report(self.out_dir, outcome.result.summary, outcome.result.metrics, outcome.states,
                            self.scenarios[0].name, lang=lang, failures=outcome.result.failures,
                            descriptions=descriptions)
