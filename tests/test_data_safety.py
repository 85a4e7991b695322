"""Nothing the user owns or already computed is lost: results folders, resumed comparisons and
sweeps, incomplete files, a full or read-only disk, a killed parent, a lost Dask scheduler,
a worker that cannot start."""

from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

import sim.workshop.compare as cmp
import sim.sweeps.sweep as sweep_mod
from sim.cli import EXIT_BAD_INPUT, main
from sim.workshop.compare import CompareError, compare
from sim.sweeps.design import ExperimentError
from sim.executors import ExecutorError, run_process_pool
from sim.sweeps.sweep import sweep
from test_compare import small
from test_sweep import _free_port, tiny_regie_yaml

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def tree(folder: Path) -> dict[str, tuple[float, bytes]]:
    """Every file under ``folder`` with its mtime and contents (to show nothing was touched)."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp" in p.name or p.name.endswith(".old")]


def run_cli(*argv: str) -> int:
    return main(["run", *argv, "--horizon-years", "1", "--quiet", "--no-plots"])


# ------------------------------------------------------------------ regie run --out
@pytest.mark.parametrize("case", ["folder_with_files", "a_file", "results_of_other_runs", "cwd", "parent_of_cwd",
                                  "symlink", "under_a_file"])
def test_run_refuses_an_out_it_did_not_write_and_touches_nothing(tmp_path, monkeypatch, capsys, case):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("years of work")
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "results" / "baseline" / "older-run").mkdir(parents=True)
    (tmp_path / "results" / "baseline" / "older-run" / "metrics.parquet").write_bytes(b"earlier result")
    (tmp_path / "link").symlink_to(tmp_path / "mine")
    (tmp_path / "sub").mkdir()
    out = {"folder_with_files": "mine", "a_file": "notes.txt", "results_of_other_runs": "results", "cwd": ".",
           "parent_of_cwd": "..", "symlink": "link", "under_a_file": "notes.txt/run"}[case]
    before = tree(tmp_path)
    assert run_cli(str(BASELINE), "--out", out) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"--out {out}: ") and "\n" not in err, err
    assert tree(tmp_path) == before, "a refused --out must leave every file as it was"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "mine", "notes.txt", "results", "sub"]


def test_run_replaces_only_a_complete_result_of_the_same_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert run_cli(str(BASELINE), "--out", str(out), "--seed", "3") == 0
    first = json.loads((out / "manifest.json").read_text())["run_id"]
    assert run_cli(str(BASELINE), "--out", str(out), "--seed", "3") == 0        # same run: replaced
    assert json.loads((out / "manifest.json").read_text())["run_id"] == first
    before = tree(out)
    capsys.readouterr()
    assert run_cli(str(BASELINE), "--out", str(out), "--seed", "4") == EXIT_BAD_INPUT   # another run
    assert "is not an earlier result of this run" in capsys.readouterr().err
    assert tree(out) == before
    (tmp_path / "empty").mkdir()
    assert run_cli(str(BASELINE), "--out", str(tmp_path / "empty")) == 0        # an empty folder is used
    assert (tmp_path / "empty" / "metrics.parquet").exists()
    assert temp_files(tmp_path) == []


def test_run_that_cannot_write_results_keeps_the_earlier_folder(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r"
    assert run_cli(str(BASELINE), "--out", str(out), "--seed", "3") == 0
    before = tree(out)
    real = pd.DataFrame.to_parquet

    def disk_full(self, path, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    assert run_cli(str(BASELINE), "--out", str(out), "--seed", "3") == 1
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    assert tree(out) == before and temp_files(tmp_path) == []


# ------------------------------------------------------------------ compare: files and resume
@pytest.fixture
def files(tmp_path):
    return [small(tmp_path, "baseline", "scenarios/baseline.yaml"),
            small(tmp_path, "vacancy_ordinance", "scenarios/instruments/vacancy_ordinance.yaml")]


def _quiet_compare(files, out, **kw):
    return compare(files, replicates=kw.pop("replicates", 2), workers=kw.pop("workers", 1), out=out, report=False,
                   progress=False, **kw)


def test_incomplete_or_foreign_run_files_are_redone(files, tmp_path, capsys):
    whole = _quiet_compare(files, tmp_path / "whole", replicates=3)
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "whole", broken)
    runs = broken / "runs"
    data = (runs / "baseline" / "rep000.parquet").read_bytes()
    (runs / "baseline" / "rep000.parquet").write_bytes(data[: len(data) // 2])            # truncated
    (runs / "baseline" / "rep001.parquet").write_bytes(b"")                              # empty
    shutil.copy(runs / "vacancy_ordinance" / "rep002.parquet", runs / "vacancy_ordinance" / "rep000.parquet")
    (runs / "vacancy_ordinance" / "rep001.npz").write_bytes(b"PK\x03\x04 not a zip")    # its map is broken
    capsys.readouterr()
    resumed = _quiet_compare(files, broken, replicates=3, resume=True)
    assert resumed.new_runs == 4 and resumed.redone == 4
    assert "4 run(s) of the earlier comparison had an incomplete file" in capsys.readouterr().err
    pd.testing.assert_frame_equal(resumed.metrics, whole.metrics)
    pd.testing.assert_frame_equal(resumed.summary, whole.summary)


def test_resume_refuses_a_changed_base_file(tmp_path):
    base = tmp_path / "mybase.yaml"
    base.write_text(f"base: {BASELINE}\nhorizon_years: 1\ncity: {{size_cells: 40}}\n")
    a = tmp_path / "a.yaml"
    a.write_text("base: mybase.yaml\nname: a\n")
    b = tmp_path / "b.yaml"
    b.write_text("base: mybase.yaml\nname: b\ncontext: {crime_pressure: 2.0}\n")
    _quiet_compare([str(a), str(b)], tmp_path / "out", replicates=1)
    base.write_text(base.read_text() + "market: {normal_profit_share: 0.06}\n")   # edited between runs
    before = tree(tmp_path / "out")
    with pytest.raises(CompareError, match=r"resume refused: scenario a \(.*a.yaml\) changed since"):
        _quiet_compare([str(a), str(b)], tmp_path / "out", replicates=1, resume=True)
    assert tree(tmp_path / "out") == before


def test_compare_refuses_an_out_that_holds_something_else(files, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x.txt").write_text("x")
    with pytest.raises(CompareError, match="holds no comparison"):
        _quiet_compare(files, tmp_path / "mine")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["x.txt"]


@pytest.mark.parametrize("workers", [1, 2])
def test_full_disk_stops_compare_keeps_finished_runs_and_resume_completes(files, tmp_path, monkeypatch, workers):
    whole = _quiet_compare(files, tmp_path / "whole", replicates=3)
    real, calls = cmp.write_keyed_parquet, []

    def fills_up(path, table, keys):
        calls.append(path)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, table, keys)

    monkeypatch.setattr(cmp, "write_keyed_parquet", fills_up)
    with pytest.raises(OSError, match="No space left"):
        _quiet_compare(files, tmp_path / "full", replicates=3, workers=workers)
    assert len(list((tmp_path / "full" / "runs").rglob("*.parquet"))) == 2, "the finished runs are kept"
    assert temp_files(tmp_path / "full") == []
    monkeypatch.setattr(cmp, "write_keyed_parquet", real)
    resumed = _quiet_compare(files, tmp_path / "full", replicates=3, workers=workers, resume=True)
    assert resumed.new_runs == 4
    pd.testing.assert_frame_equal(resumed.metrics, whole.metrics)


def _can_mount_tmpfs() -> bool:
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=64k none /mnt 2>/dev/null || mount -t tmpfs -o size=64k none /tmp"],
                           capture_output=True, timeout=20) if shutil.which("unshare") else None
    return probe is not None and probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs `unshare` to mount a small tmpfs (the in-process "
                                                    "full-disk tests above cover the same paths)")
def test_compare_on_a_really_full_disk_then_resume_elsewhere(files, tmp_path):
    """A real tmpfs of 300 kB: the comparison stops with one line, keeps its finished runs and no
    temp files; the folder copied to a bigger disk resumes to the uninterrupted result."""
    whole = _quiet_compare(files, tmp_path / "whole", replicates=6)
    pages = sum(-(-p.stat().st_size // 4096) for p in (tmp_path / "whole" / "runs").rglob("rep00[01].*"))
    size_kb = 4 * pages + 8          # room for about four of the twelve runs (a file takes whole pages)
    mnt = tmp_path / "small_disk"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o size={size_kb}k none {mnt} && "
              f"{sys.executable} -m sim.cli compare {' '.join(files)} --replicates 6 --workers 1 --quiet "
              f"--out {mnt}/c; echo rc=$?; cp -r {mnt}/c {tmp_path}/copied")
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert "rc=1" in proc.stdout, (proc.stdout, proc.stderr)
    assert "No space left on device" in proc.stderr and "--resume" in proc.stderr
    assert "Traceback" not in proc.stderr
    copied = tmp_path / "copied"
    kept = list((copied / "runs").rglob("*.parquet"))
    assert 0 < len(kept) < 12 and temp_files(copied) == []
    resumed = _quiet_compare(files, copied, replicates=6, resume=True)
    pd.testing.assert_frame_equal(resumed.metrics, whole.metrics)


# ------------------------------------------------------------------ sweep: files and resume
def test_sweep_redoes_incomplete_or_foreign_task_files(tmp_path, capsys):
    path = tiny_regie_yaml(tmp_path, method="{name: morris, n: 2, bootstrap: 20}")
    whole = sweep(path, executor="serial", out=tmp_path / "whole_regie", progress=False)
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "whole_regie", broken)
    runs = broken / "runs"
    data = (runs / "task000000.outputs.parquet").read_bytes()
    (runs / "task000000.outputs.parquet").write_bytes(data[:100])                        # truncated
    (runs / "task000001.metrics.parquet").write_bytes(b"")                               # empty metrics
    shutil.copy(runs / "task000003.outputs.parquet", runs / "task000002.outputs.parquet")  # another task's
    capsys.readouterr()
    resumed = sweep(path, executor="serial", out=broken, resume=True, progress=False)
    assert resumed.new_runs == 3 and resumed.redone == 3
    assert "3 task(s) of the earlier sweep had an incomplete file" in capsys.readouterr().err
    for name in ("outputs.parquet", "metrics.parquet", "indices.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(broken / name), pd.read_parquet(tmp_path / "whole_regie" / name))
    assert whole.failed == 0


def test_sweep_resume_refuses_an_edited_base_scenario(tmp_path):
    base = tmp_path / "mybase.yaml"
    base.write_text(f"base: {BASELINE}\n")
    path = tiny_regie_yaml(tmp_path)
    path.write_text(path.read_text().replace(f"base: {BASELINE}", f"base: {base}"))
    sweep(path, executor="serial", out=tmp_path / "out", analyze=False, progress=False)
    base.write_text(base.read_text() + "market: {normal_profit_share: 0.06}\n")
    with pytest.raises(ExperimentError, match="resume refused: the base scenario changed"):
        sweep(path, executor="serial", out=tmp_path / "out", resume=True, analyze=False, progress=False)


@pytest.mark.parametrize("executor, workers", [("serial", 1), ("process", 2)])
def test_full_disk_stops_the_sweep_and_resume_completes(tmp_path, monkeypatch, executor, workers):
    path = tiny_regie_yaml(tmp_path)
    real, calls = sweep_mod.write_keyed_parquet, []

    def fills_up(p, table, keys):
        calls.append(p)
        if len(calls) > 4:   # two tasks (metrics + outputs each) fit
            raise OSError(errno.ENOSPC, "No space left on device", str(p))
        real(p, table, keys)

    monkeypatch.setattr(sweep_mod, "write_keyed_parquet", fills_up)
    with pytest.raises(OSError, match="No space left"):
        sweep(path, executor=executor, workers=workers, out=tmp_path / "out", progress=False)
    assert len(list((tmp_path / "out" / "runs").glob("task*.outputs.parquet"))) == 2
    assert temp_files(tmp_path / "out") == []
    monkeypatch.setattr(sweep_mod, "write_keyed_parquet", real)
    resumed = sweep(path, executor=executor, workers=workers, out=tmp_path / "out", resume=True, progress=False)
    full = sweep(path, executor="serial", out=tmp_path / "full", progress=False)
    assert resumed.new_runs == 14
    for name in ("outputs.parquet", "metrics.parquet", "indices.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / name), pd.read_parquet(tmp_path / "full" / name))
    assert full.failed == 0


def test_cli_says_what_to_do_when_the_disk_is_full(tmp_path, monkeypatch, capsys):
    path = tiny_regie_yaml(tmp_path)

    def disk_full(p, table, keys):
        raise OSError(errno.ENOSPC, "No space left on device", str(p))

    monkeypatch.setattr(sweep_mod, "write_keyed_parquet", disk_full)
    assert main(["sweep", str(path), "--executor", "serial", "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("cannot write results: ") and "No space left on device" in err[-1]
    assert "--resume" in err[-1]


# ------------------------------------------------------------------ killed parents, lost schedulers
def _children_after_first_file(proc: subprocess.Popen, folder: Path, pattern: str, timeout: float = 180):
    deadline = time.time() + timeout
    while time.time() < deadline and not list(folder.rglob(pattern)):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert list(folder.rglob(pattern)), "no result appeared in time"
    return psutil.Process(proc.pid).children(recursive=True)


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_workers_stop_and_write_nothing_when_the_parent_is_killed(tmp_path, command):
    out = tmp_path / "out"
    if command == "compare":
        files = [small(tmp_path, "baseline", "scenarios/baseline.yaml"),
                 small(tmp_path, "bibob", "scenarios/instruments/bibob.yaml")]
        argv = ["compare", *files, "--replicates", "40", "--workers", "2", "--out", str(out), "--quiet"]
        pattern = "rep*.parquet"
    else:
        argv = ["sweep", str(tiny_regie_yaml(tmp_path, method="{name: morris, n: 10, bootstrap: 20}")),
                "--workers", "2", "--out", str(out), "--quiet"]
        pattern = "task*.outputs.parquet"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    workers = _children_after_first_file(proc, out, pattern)
    assert workers, "the pool has worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, f"workers still running 5 s after their parent was killed: {alive}"
    before = tree(out)
    time.sleep(1.5)
    assert tree(out) == before, "nothing may be written after the parent is gone"


def test_killed_scheduler_records_lost_runs_and_resume_completes(tmp_path):
    dask_cli = Path(sys.executable).parent / "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    quiet = dict(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = subprocess.Popen([str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)
    worker = None
    path = tiny_regie_yaml(tmp_path, method="{name: morris, n: 6, bootstrap: 20}")   # 48 runs
    out = tmp_path / "out"
    try:
        time.sleep(2)
        worker = subprocess.Popen([str(dask_cli), "worker", address, "--nthreads", "1", "--no-dashboard"], **quiet)
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(path), "--scheduler", address,
                                 "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 180
        while time.time() < deadline and len(list(out.glob("runs/task*.outputs.parquet"))) < 3:
            time.sleep(0.05)
        scheduler.kill()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        for p in (worker, scheduler):
            if p is not None:
                p.kill()
                p.wait(timeout=30)
    assert "Traceback" not in stderr and "CommClosedError" not in stderr, stderr
    failures = pd.read_csv(out / "failures.csv")
    assert len(failures) > 0
    assert failures["error"].str.contains("the connection to the Dask scheduler at").all(), failures["error"]
    assert "--resume retries them" in stderr
    resumed = sweep(path, executor="serial", out=out, resume=True, progress=False)
    assert resumed.failed == 0 and resumed.new_runs == len(failures)
    full = sweep(path, executor="serial", out=tmp_path / "full", progress=False)
    for name in ("outputs.parquet", "metrics.parquet", "indices.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(tmp_path / "full" / name))
    assert full.failed == 0


def test_a_worker_that_cannot_start_gives_one_clear_error():
    got = []
    with pytest.raises(ExecutorError, match="a worker process could not start: ModuleNotFoundError: "
                                            "No module named 'regie_no_such_module'"):
        run_process_pool(abs, [-1, -2, -3], lambda t, r: got.append(r), workers=2,
                         setup=importlib.import_module, setup_args=("regie_no_such_module",))
    assert got == []
