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
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXECUTORS = ("serial", "process", "dask")


class ExecutorError(RuntimeError):
    """The executor itself failed (no scheduler at that address, a worker that cannot start, workers died)."""


class WorkerStartError(RuntimeError):
    """Raised in a worker whose set-up failed (an import or kernel compile error): every task it is
    given fails with the set-up's message, and the parent stops the pool with one clear line."""


PARENT_POLL_SECONDS = 0.5   # how often a worker checks that its parent is alive (assumption: fast enough)
_worker_state: dict = {"setup_error": None}


# ------------------------------------------------------------------ worker set-up
@contextmanager
def _machine_lock(name: str):
    """An exclusive lock shared by all processes of this machine (concurrent first
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
    runs), kernels loaded once."""
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["NUMBA_NUM_THREADS"] = "1"
    if warm:
        warm_kernels()


def _exit_with_parent(parent_pid: int) -> None:
    """A daemon thread that ends this worker when its parent is gone (killed with SIGKILL, say):
    a worker then stops within a second and never delivers or writes anything more."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(3)
    threading.Thread(target=watch, name="regie-parent-watch", daemon=True).start()


def start_worker(parent_pid: int, setup: Callable, setup_args: tuple) -> None:
    """Pool initializer: watch the parent, then set up; a set-up error is kept, not raised (a
    raising initializer breaks the pool with a bare BrokenProcessPool and prints a traceback)."""
    _exit_with_parent(parent_pid)
    try:
        setup(*setup_args)
    except BaseException as e:  # noqa: BLE001 - reported to the parent through every task
        _worker_state["setup_error"] = f"{type(e).__name__}: {e}"


def _call(fn: Callable, task: Any) -> Any:
    error = _worker_state["setup_error"]
    if error is not None:
        raise WorkerStartError(error)
    return fn(task)


# ------------------------------------------------------------------ executors
def run_serial(fn: Callable, tasks: Iterable, on_result: Callable[[Any, Any], None]) -> None:
    """One task after another in this process (debugging, tests, 1-core machines)."""
    for task in tasks:
        on_result(task, fn(task))


def run_process_pool(fn: Callable, tasks: Sequence, on_result: Callable[[Any, Any], None], workers: int,
                     warm: bool = True, setup: Callable = worker_setup, setup_args: tuple | None = None) -> None:
    """A pool of ``workers`` spawned processes (mesa forces spawn anyway).

    Ctrl-C sets a flag rather than raising inside the executor's waiting (which can
    deadlock it): running tasks finish and are kept, queued ones are cancelled. An error in
    ``on_result`` (a full disk) cancels the queue too and is raised. A worker that cannot start,
    or that dies, stops the pool with an ExecutorError; results that arrived are kept."""
    interrupted: list[bool] = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    ctx = multiprocessing.get_context("spawn")
    setup_args = (warm,) if setup_args is None else setup_args
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=start_worker,
                                 initargs=(os.getpid(), setup, setup_args)) as pool:
            pending = {pool.submit(_call, fn, t): t for t in tasks}
            try:
                while pending:
                    if interrupted:
                        for fut in pending:
                            fut.cancel()
                        pending = {f: t for f, t in pending.items() if not f.cancelled()}
                    done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task = pending.pop(fut)
                        on_result(task, fut.result())
            except WorkerStartError as e:
                raise ExecutorError(f"a worker process could not start: {e}") from None
            except BrokenProcessPool:
                raise ExecutorError("a worker process died unexpectedly (killed, or out of memory? or, from a "
                                    "Python script, a pool started outside `if __name__ == \"__main__\":`); "
                                    "finished runs are kept") from None
            finally:
                for fut in pending:   # on any error: nothing more starts; running tasks end
                    fut.cancel()
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


def _dask_plugin(warm: bool):
    from distributed import WorkerPlugin

    class RegieWorkerSetup(WorkerPlugin):
        """Runs once in every worker, also in workers that join later. A set-up error is kept
        and fails every task of that worker with its message (see ``_call``)."""
        name = "regie-worker-setup"

        def setup(self, worker):
            try:
                worker_setup(warm=warm, ignore_sigint=False)
            except BaseException as e:  # noqa: BLE001 - reported through the tasks
                _worker_state["setup_error"] = f"{type(e).__name__}: {e}"

    return RegieWorkerSetup()


@contextmanager
def _quiet_dask_logs():
    """distributed logs whole tracebacks when it loses its scheduler; we say it in one line."""
    import logging
    names = ["distributed"] + [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    loggers = [logging.getLogger(n) for n in names]   # distributed sets levels per module logger
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


class SchedulerUnreachable(ExecutorError):
    """No Dask scheduler answers at the given address (found before anything is written)."""


def check_scheduler(address: str, timeout_seconds: float = 10.0) -> None:
    """Connect to the Dask scheduler at ``address`` once, so that a wrong address is reported
    before a sweep folder is made; raises SchedulerUnreachable."""
    from distributed import Client
    with _quiet_dask_logs():
        try:
            client = Client(address, timeout=f"{timeout_seconds}s")
        except (OSError, TimeoutError, ValueError) as e:
            raise SchedulerUnreachable(f"--scheduler {address}: no Dask scheduler answers there "
                                       f"({' '.join(str(e).split()) or type(e).__name__})") from None
        _close(client, None)


def run_dask(fn: Callable, tasks: Sequence, on_result: Callable[[Any, Any], None], workers: int,
             scheduler: str | None = None, warm: bool = True, on_failure: Callable | None = None) -> None:
    """On Dask distributed: a local cluster of ``workers`` one-thread processes, or the
    cluster behind ``scheduler`` (``tcp://host:port``), whose workers need this package
    installed (the scheduler too: it unpickles the tasks).

    A task whose worker died, or that was lost with the scheduler, is handed to
    ``on_failure(task, message)``; a worker that cannot start stops everything with an
    ExecutorError. Workers of a local cluster end with this process (distributed's nanny
    processes end their workers when their parent goes)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as e:  # pragma: no cover - distributed is a dependency
        raise ExecutorError(f"the dask executor needs `distributed` installed ({e})") from None
    where = f"the Dask scheduler at {scheduler}" if scheduler else "the local Dask cluster"
    cluster = client = None
    with _quiet_dask_logs():
        try:
            if scheduler:
                client = Client(scheduler, timeout="20s")
            else:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
            client.register_plugin(_dask_plugin(warm))
        except (OSError, TimeoutError, ValueError) as e:
            _close(client, cluster)
            raise ExecutorError(f"cannot reach {where}: {' '.join(str(e).split()) or type(e).__name__}") from None
        futures = {client.submit(_call, fn, t, pure=False): t for t in tasks}
        try:
            for fut in as_completed(list(futures)):
                task = futures[fut]
                if fut.status == "finished":
                    on_result(task, fut.result())
                    continue
                error = None if fut.status == "cancelled" else fut.exception()
                if isinstance(error, WorkerStartError):
                    raise ExecutorError(f"a Dask worker could not start: {error}")
                if on_failure is None:
                    continue
                if error is None:
                    on_failure(task, f"dask: the run was lost: the connection to {where} broke "
                                     "(scheduler stopped?); --resume runs it again")
                else:
                    on_failure(task, f"dask: {type(error).__name__}: {error}")
        except BaseException:
            try:
                client.cancel(list(futures))
            except Exception:  # noqa: BLE001 - the scheduler may be gone already
                pass
            raise
        finally:
            _close(client, cluster)


def _close(client, cluster) -> None:
    """Close the client and a local cluster; a scheduler that went away is not an error here."""
    for thing in (client, cluster):
        if thing is None:
            continue
        try:
            thing.close(timeout=10) if thing is client else thing.close()
        except Exception:  # noqa: BLE001 - closing after a lost scheduler may time out
            pass


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
