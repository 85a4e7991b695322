"""Where runs execute: in this process, on a process pool, or on a Dask cluster.

Every executor takes the same three things: a function ``fn(task) -> result``
that never raises for a failing run (it records the error in its result), the
tasks, and ``on_result(task, result)``, called in *this* process in the order
runs finish. Results travel back to this process, which alone writes files,
so Dask workers on other machines need no shared disk. Which worker ran a task
never changes its result: the task carries its seed.

Ctrl-C: every result that has arrived is kept. On the process pool, runs
already running finish and are kept too; on Dask, running and queued tasks are
cancelled. Then KeyboardInterrupt is raised (``--resume`` continues).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXECUTORS = ("serial", "process", "dask")


class ExecutorError(RuntimeError):
    """The executor itself failed (no scheduler at that address, workers died)."""


# ------------------------------------------------------------------ worker set-up
@contextmanager
def _machine_lock(name: str):
    """An exclusive lock shared by all processes of this machine (PITFALLS: concurrent first
    compiles into one numba cache can crash workers). Windows has no fcntl: no lock there."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(Path(tempfile.gettempdir()) / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warm_kernels() -> None:
    """Compile (or load from numba's cache) every kernel by stepping a tiny city once.

    One process of the machine at a time: the first compiles and writes the cache,
    the others then only load it. Called once per worker, never per run."""
    with _machine_lock("regie-numba-warm"):
        from sim.model import CityModel
        from sim.outputs import release_model
        from sim.scenario import Scenario

        tiny = Scenario.from_dict({"name": "warm-up", "horizon_years": 1, "city": {"size_cells": 32}})
        model = CityModel(tiny, seed=0)
        model.step()
        release_model(model)


def worker_setup(warm: bool = True, ignore_sigint: bool = True) -> None:
    """Per worker: Ctrl-C is the parent's business, one numba thread (parallelism is across
    runs, PITFALLS), kernels loaded once."""
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["NUMBA_NUM_THREADS"] = "1"
    if warm:
        warm_kernels()


# ------------------------------------------------------------------ executors
def run_serial(fn: Callable, tasks: Iterable, on_result: Callable[[Any, Any], None]) -> None:
    """One task after another in this process (debugging, tests, 1-core machines)."""
    for task in tasks:
        on_result(task, fn(task))


def run_process_pool(fn: Callable, tasks: Sequence, on_result: Callable[[Any, Any], None], workers: int,
                     warm: bool = True) -> None:
    """A pool of ``workers`` spawned processes (mesa forces spawn anyway, PITFALLS).

    Ctrl-C sets a flag rather than raising inside the executor's waiting (which can
    deadlock it): running tasks finish and are kept, queued ones are cancelled."""
    interrupted: list[bool] = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=worker_setup,
                                 initargs=(warm,)) as pool:
            pending = {pool.submit(fn, t): t for t in tasks}
            while pending:
                if interrupted:
                    for fut in pending:
                        fut.cancel()
                    pending = {f: t for f, t in pending.items() if not f.cancelled()}
                done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = pending.pop(fut)
                    on_result(task, fut.result())
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


def _dask_plugin(warm: bool):
    from distributed import WorkerPlugin

    class RegieWorkerSetup(WorkerPlugin):
        """Runs once in every worker, also in workers that join later."""
        name = "regie-worker-setup"

        def setup(self, worker):
            worker_setup(warm=warm, ignore_sigint=False)

    return RegieWorkerSetup()


def run_dask(fn: Callable, tasks: Sequence, on_result: Callable[[Any, Any], None], workers: int,
             scheduler: str | None = None, warm: bool = True, on_failure: Callable | None = None) -> None:
    """On Dask distributed: a local cluster of ``workers`` one-thread processes, or the
    cluster behind ``scheduler`` (``tcp://host:port``), whose workers need this package
    installed (the scheduler too: it unpickles the tasks, PITFALLS).

    A task whose worker died is handed to ``on_failure(task, message)``."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as e:  # pragma: no cover - distributed is a dependency
        raise ExecutorError(f"the dask executor needs `distributed` installed ({e})") from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as e:
        raise ExecutorError(f"cannot reach the Dask scheduler at {scheduler or 'a local cluster'}: {e}") from None
    try:
        client.register_plugin(_dask_plugin(warm))
        futures = {client.submit(fn, t, pure=False): t for t in tasks}
        try:
            for fut in as_completed(list(futures)):
                task = futures[fut]
                if fut.status == "finished":
                    on_result(task, fut.result())
                elif on_failure is not None:
                    on_failure(task, f"dask: {fut.exception()!r}")
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def execute(fn: Callable, tasks: Sequence, on_result: Callable, executor: str = "process",
            workers: int | None = None, scheduler: str | None = None, warm: bool = True,
            on_failure: Callable | None = None) -> None:
    """Run ``fn`` over ``tasks`` on the chosen executor (see the module docstring)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS} (got {executor!r})")
    if not tasks:
        return
    workers = workers or os.cpu_count() or 1
    if executor == "dask" or scheduler:
        run_dask(fn, tasks, on_result, workers, scheduler=scheduler, warm=warm, on_failure=on_failure)
    elif executor == "serial" or (executor == "process" and (workers == 1 or len(tasks) <= 1)):
        run_serial(fn, tasks, on_result)
    else:
        run_process_pool(fn, tasks, on_result, workers, warm=warm)
