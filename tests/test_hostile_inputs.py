"""Hostile input through the real command line: a data-driven battery.

Every case writes its files into a fresh folder, runs ``python -m sim.cli ARGV`` there
in a subprocess (memory capped) and checks: the exit status; that stderr says what the
case expects, one line per problem, each naming the file or option; that no output
anywhere holds a traceback; and that no file was touched, removed or created except
what the case allows (``expect_files_created``: glob patterns, relative to the folder).

To add a case, append a ``Case`` to ``CASES``: files are {relative path: text or bytes};
``setup(folder)`` may make what text cannot (symbolic links, FIFOs); ``names`` are the
strings of which every stderr line must contain one (default: the positional arguments
after the command, i.e. the files named on the command line).
"""

from __future__ import annotations

import fnmatch
import os
import resource
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_INPUT = 2
MEMORY_CAP_BYTES = 1 << 30   # address space of each command: a blow-up fails the case instead of the machine
CASE_SECONDS = 20            # wall-clock ceiling per command (interpreter start included; about 1 s when idle)


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes]
    argv: tuple[str, ...]
    expect_exit: int = EXIT_BAD_INPUT
    expect_in_stderr: str | tuple[str, ...] = ()
    expect_files_created: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None
    names: tuple[str, ...] | None = None
    expect_stderr_empty: bool = False


def scenario(id: str, text: str | bytes | None, *expect: str, exit: int = EXIT_BAD_INPUT, **kw) -> Case:
    """`regie validate s.yaml` on one scenario file (``text=None``: ``setup`` makes s.yaml)."""
    files = {} if text is None else {"s.yaml": text}
    return Case(id, files, ("validate", "s.yaml"), expect_exit=exit, expect_in_stderr=expect, **kw)


def tiny(extra: str = "") -> str:
    """The tiny city (32 cells, 1 year, no burn-in) plus ``extra`` YAML lines."""
    return "city: {size_cells: 32}\nhorizon_years: 1\nburn_in_years: 0\n" + extra


def experiment(id: str, outputs: str, *expect: str, scenario_text: str = tiny(), parameters: str | None = None,
               exit: int = EXIT_BAD_INPUT) -> Case:
    """`regie validate e.yaml` on an experiment over the tiny city."""
    params = parameters or "  - {path: context.cap_rate, bounds: [0.04, 0.06]}\n"
    text = (f"name: hostile\nbase: s.yaml\nparameters:\n{params}outputs:\n{outputs}"
            "method: {name: morris, n: 2}\n")
    return Case(id, {"s.yaml": scenario_text, "e.yaml": text}, ("validate", "e.yaml"), expect_exit=exit,
                expect_in_stderr=expect)


def _symlink_to_nowhere(folder: Path) -> None:
    os.symlink("missing.yaml", folder / "s.yaml")


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "s.yaml")


def _laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def _alias_depth() -> str:
    # each alias nests the previous 10-level structure once more: 6 x 10 = 60 levels once expanded
    lines = ["l0: &l0 " + "[" * 10 + "x" + "]" * 10]
    for i in range(1, 6):
        lines.append(f"l{i}: &l{i} " + "[" * 9 + f"*l{i - 1}" + "]" * 9)
    return "\n".join(lines) + "\n"


ZERO_STREETS = "{A1: 0, A2: 0, B: 0, C: 0, residential: 0}"
ALL_KINDS = ("institutional", "private", "local", "corporation")

# ---------------------------------------------------------------- the battery
CASES: list[Case] = [
    # -- degenerate weights and denominators (each crashed a run or gave NaN before it was refused) --
    scenario("income-mix-all-zero", tiny("agents:\n  households:\n    income_mix: {low: 0, middle: 0, high: 0}\n"),
             "agents.households.income_mix", "positive share"),
    scenario("income-zero", tiny("agents:\n  households:\n    income_eur_month: {low: 0, middle: 3500, high: 6000}\n"),
             "agents.households.income_eur_month", "positive income"),
    scenario("rent-beyond-any-income", tiny("agents:\n  households:\n    rent_private_eur_month: 1000000\n"),
             "agents.households.rent_private_eur_month", "lowest income"),
    scenario("owner-core-shares-all-zero", tiny("agents:\n  owners:\n    kinds:\n" + "".join(
        f"      {k}: {{parcel_share_core: 0}}\n" for k in ALL_KINDS)), "agents.owners.kinds", "parcel_share_core"),
    scenario("owner-edge-shares-all-zero", tiny("agents:\n  owners:\n    kinds:\n" + "".join(
        f"      {k}: {{parcel_share_edge: 0}}\n" for k in ALL_KINDS)), "agents.owners.kinds", "parcel_share_edge"),
    scenario("buyer-mix-all-zero", tiny("agents:\n  owners:\n    buyer_mix: {institutional: 0, private: 0, local: 0, "
                                        "corporation: 0}\n"), "agents.owners.buyer_mix", "positive weight"),
    scenario("no-footfall-anywhere", tiny(f"market:\n  street_weight: {ZERO_STREETS}\n  anchor_station: 0\n"
                                          "  anchor_square: 0\n  resident_attraction: 0\n"),
             "market: ", "every source of footfall is 0"),
    scenario("no-visitors-no-residents", tiny("context:\n  visitor_demand: 0\nmarket:\n  resident_attraction: 0\n"),
             "context.visitor_demand", "resident_attraction"),
    scenario("street-weight-negative", tiny("market:\n  street_weight: {A1: -1, A2: 2, B: 1.3, C: 1, residential: 0.4}\n"),
             "market.street_weight.A1", "greater than or equal to 0"),
    scenario("cap-rate-spread-negative", tiny("agents:\n  owners:\n    street_cap_rate_spread: "
                                              "{A1: 0, A2: 0, B: -0.1, C: 0, residential: 0}\n"),
             "agents.owners.street_cap_rate_spread.B", "greater than or equal to 0"),
    scenario("visitor-trend-explodes", tiny("context:\n  visitor_demand: {value: 1.0, per_year: 1000000000}\n"),
             "context.visitor_demand", "at most 10"),
    scenario("crime-pressure-huge", tiny("context:\n  crime_pressure: 1000\n"), "context.crime_pressure", "at most 10"),
    scenario("housing-demand-huge", tiny("context:\n  housing_demand: {series: {2025: 1, 2026: 1.0e+300}}\n"),
             "context.housing_demand", "at most 10"),
    scenario("dwelling-of-no-floor", tiny("agents:\n  owners:\n    dwelling_m2: 0.000000001\n"),
             "agents.owners.dwelling_m2", "greater than or equal to 18"),
    scenario("search-power-overflows", tiny("agents:\n  businesses:\n    search_footfall_weight: 1000\n"),
             "agents.businesses.search_footfall_weight", "less than or equal to 10"),
    scenario("borrowing-rate-usurious", tiny("agents:\n  municipality:\n    allow_borrowing: true\n"
                                            "    borrowing_rate_per_year: 0.5\n"),
             "agents.municipality.borrowing_rate_per_year", "less than or equal to 0.2"),
    scenario("search-mode-unknown", tiny("agents:\n  businesses:\n    search: teleport\n"),
             "agents.businesses.search", "'walk' or 'listings'"),
    scenario("listings-seen-none", tiny("agents:\n  businesses:\n    search: listings\n    listings_seen_share: 0\n"),
             "agents.businesses.listings_seen_share", "greater than 0"),
    scenario("entry-rate-huge", tiny("agents:\n  businesses:\n    sectors:\n      daily: "
                                     "{entry_rate_per_1000_units: 1000000000}\n"),
             "agents.businesses.sectors.daily.entry_rate_per_1000_units", "less than or equal to 1000"),
    scenario("estate-target-mix-all-zero", tiny("instruments:\n  - kind: acquisition_fund\n"
                                                "    target_mix: {craft: 0, culture: 0}\n"),
             "instruments[0]", "target_mix"),
    scenario("zero-entrants-is-legitimate", tiny("agents:\n  businesses:\n    sectors:\n" + "".join(
        f"      {s}: {{entry_rate_per_1000_units: 0}}\n" for s in ("comparison", "independent", "daily", "horeca",
                                                                     "services", "culture", "craft", "office"))),
             exit=0, expect_stderr_empty=True),
    # -- instrument areas against the grid --
    scenario("rect-partly-outside", tiny("instruments:\n  - kind: bibob\n    area:\n      rectangles:\n"
                                         "        - {row0: 0, col0: 0, row1: 10, col1: 10}\n"
                                         "        - {row0: 20, col0: 0, row1: 40, col1: 10}\n"),
             "instruments[0].area.rectangles[1]: rows 20..40 lie partly outside the 32×32 grid",
             "rows and columns run 0..32"),
    scenario("rect-wholly-outside", tiny("instruments:\n  - kind: facade_subsidy\n    area:\n      rectangles:\n"
                                         "        - {row0: 90, col0: 90, row1: 140, col1: 95}\n"),
             "instruments[0].area.rectangles[0]: rows 90..140 and columns 90..95 lie outside the 32×32 grid"),
    scenario("rect-absurd-index", "instruments:\n  - kind: biz\n    area:\n      rectangles:\n"
             "        - {row0: 0, col0: 0, row1: 10, col1: 100000000000000000000}\n",
             "instruments[0].area.rectangles[0]: columns 0..100000000000000000000", "88×88 grid"),
    # -- instruments that never act: a warning, exit 0 --
    scenario("instrument-after-horizon", tiny("instruments:\n  - kind: bibob\n    start_year: 2040\n"
                                              "    end_year: 2045\n"),
             "warning: s.yaml: instruments[0]: active 2040..2045 but the scenario simulates 2025..2025: "
             "it will never act", exit=0),
    scenario("instrument-before-start", "horizon_years: 10\ninstruments:\n  - kind: facade_subsidy\n"
             "    end_year: 2020\n",
             "warning: s.yaml: instruments[0]: active until 2020 but the scenario simulates 2025..2034", exit=0),
    # -- experiment files: KPI names exactly as `regie sweep` checks them --
    experiment("kpi-unknown", "  - {kpi: vacancy_unit}\n", "outputs[0].kpi: unknown KPI 'vacancy_unit'; known: ",
               "vacancy_units"),
    # the hint names the housing target and the 0.5 total of conversions to housing, although each
    # origin has nine conversion targets since 0.5 (change of use to a commercial use, too)
    experiment("kpi-conversions-typo", "  - {kpi: conversions_vacant_to_housing}\n",
               "outputs[0].kpi: unknown KPI 'conversions_vacant_to_housing'", "conversions_vacant_to_residential",
               "conversions_housing"),
    experiment("kpi-of-absent-instrument", "  - {kpi: bibob_screenings}\n", "outputs[0].kpi: unknown KPI"),
    experiment("kpi-of-instrument-and-conversion-ok",
               "  - {kpi: bibob_screenings}\n  - {kpi: conversions_craft_to_residential}\n"
               "  - {kpi: spend_eur_bibob}\n",
               scenario_text=tiny("instruments:\n  - kind: bibob\n"), exit=0),
    experiment("mean-longer-than-horizon", "  - {kpi: vacancy_units, reduce: mean_last_years, years: 5}\n",
               "outputs[0].years", "horizon of at least 5 years"),
    experiment("parameter-path-empty", "  - {kpi: vacancy_units}\n", "parameters[0].path",
               parameters="  - {path: '', bounds: [0, 1]}\n"),
    # -- YAML hazards: a one-line error within a second and bounded memory, or correct handling --
    scenario("billion-laughs", _laughs(), "document too large", "100,000 values"),
    scenario("nested-lists-10000", "name: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested more than 50 levels"),
    scenario("nested-block-maps", "".join("  " * i + "a:\n" for i in range(200)) + "  " * 200 + "b: 1\n",
             "nested more than 50 levels"),
    scenario("nested-through-aliases", _alias_depth(), "nested more than 50 levels deep once aliases are expanded"),
    scenario("recursive-alias", "name: &a [*a]\n", "recursive document"),
    scenario("too-many-values", "name: [" + ",".join(["1"] * 20_000) + "]\n", "document too large", "10,000 values"),
    scenario("unhashable-key-complex", "? [a, b]\n: 1\n", "a list cannot be a key"),
    scenario("unhashable-key-flow", "{[1]: 2}\n", "a list cannot be a key"),
    scenario("series-null-year", tiny("context:\n  cap_rate:\n    series: {~: 1.0}\n"), "context.cap_rate.series",
             "~ (null) is not one"),
    scenario("series-boolean-year", tiny("context:\n  cap_rate:\n    series: {true: 0.05}\n"),
             "context.cap_rate.series", "True is not one"),
    scenario("integer-5000-digits", "seed: " + "9" * 5000 + "\n", "an integer of 5000 digits is too large"),
    scenario("infinity", tiny("market:\n  anchor_square: .inf\n"), "market.anchor_square", "finite number"),
    scenario("not-a-number-in-series", tiny("context:\n  cap_rate:\n    series: {2025: .nan}\n"),
             "context.cap_rate.series", "finite number"),
    scenario("tab-indent", "name: x\n\tseed: 3\n", "line 2", "YAML error"),
    scenario("byte-order-mark-is-fine", b"\xef\xbb\xbf" + tiny().encode(), exit=0, expect_stderr_empty=True),
    scenario("empty-file", "", "file is empty"),
    scenario("only-comments", "# nothing here\n# at all\n", "file is empty"),
    scenario("list-at-top", "- a\n- b\n", "expected a mapping", "list"),
    scenario("binary-garbage", bytes(range(256)) * 4, "not valid UTF-8"),
    scenario("file-too-large", "# " + "x" * 300_000 + "\n", "too large", "256,000"),
    scenario("merge-keys-work", tiny("agents:\n  businesses:\n    sectors:\n"
                                     "      daily: &shop {gross_margin: 0.3, local_share: 0.5}\n"
                                     "      independent:\n        <<: *shop\n        local_share: 0.2\n"),
             exit=0, expect_stderr_empty=True),
    scenario("merge-key-not-a-mapping", "context:\n  <<: 3\n", "merge key (<<) takes a mapping"),
    scenario("duplicate-key-beside-merge", "agents:\n  businesses:\n    sectors:\n      daily: &a {gross_margin: 0.3}\n"
             "      independent:\n        <<: *a\n        local_share: 0.2\n        local_share: 0.3\n",
             "duplicate key 'local_share'", "line 8"),
    scenario("folder-not-file", None, "is a folder", setup=lambda d: (d / "s.yaml").mkdir()),
    scenario("broken-symlink", None, "broken symbolic link", setup=_symlink_to_nowhere),
    scenario("fifo", None, "not a regular file", setup=_fifo),
    Case("device-file", {}, ("validate", "/dev/zero"), expect_in_stderr="not a regular file"),
    Case("base-chain-too-long", {f"c{i}.yaml": f"base: c{i + 1}.yaml\n" for i in range(25)} | {"c25.yaml": tiny()},
         ("validate", "c0.yaml"), expect_in_stderr=("base:", "more than 20 files"),
         names=tuple(f"c{i}.yaml" for i in range(26))),
]


# ---------------------------------------------------------------- command-line options and data safety
GOOD = {"s.yaml": tiny("name: good\n")}
EXPERIMENT = {"s.yaml": tiny(), "e.yaml": "name: hostile\nbase: s.yaml\nparameters:\n"
              "  - {path: context.cap_rate, bounds: [0.04, 0.06]}\noutputs:\n  - {kpi: vacancy_units}\n"
              "method: {name: morris, n: 2}\n"}
USER_FILES = {"mine/thesis.txt": "years of work", "notes.txt": "keep me",
              "results/good/older-run/metrics.parquet": "an earlier result"}


def run_out(id: str, out: str, *expect: str, **kw) -> Case:
    """`regie run s.yaml --out OUT` where OUT is something Regie did not write: refused before the run."""
    return Case(id, GOOD | USER_FILES, ("run", "s.yaml", "--out", out, "--quiet", "--no-plots"),
                expect_in_stderr=expect, names=("--out",), **kw)


def option(id: str, files: dict, argv: tuple[str, ...], *expect: str) -> Case:
    """A usage error: one line, ``regie <command>: error: argument --x: ... (see `regie <command> --help`)``."""
    return Case(id, files, argv, expect_in_stderr=expect + ("--help",), names=("error: ",))


def _link_to_mine(folder: Path) -> None:
    os.symlink("mine", folder / "link")


def _other(extra: str, name: str = "other") -> str:
    return tiny(f"name: {name}\n" + extra)


CASES += [
    # regie run --out: never delete or move what Regie did not write
    run_out("run-out-folder-of-the-user", "mine", "is not an earlier result of this run"),
    run_out("run-out-a-file", "notes.txt", "exists and is not a folder"),
    run_out("run-out-current-folder", ".", "is the current folder"),
    run_out("run-out-parent-folder", "..", "is the current folder or one of its parents"),
    run_out("run-out-results-of-other-runs", "results", "is not an earlier result of this run"),
    run_out("run-out-a-symlink", "link", "is a symbolic link", setup=_link_to_mine),
    run_out("run-out-under-a-file", "notes.txt/run", "is a file, not a folder"),
    scenario("name-escapes-results", tiny("name: ../../x\n"), "name:", "simple file name"),
    scenario("name-absolute", tiny("name: /tmp/x\n"), "name:", "simple file name"),
    scenario("name-hidden", tiny("name: .x\n"), "name:", "simple file name"),
    # odd values of every option
    option("run-seed-negative", GOOD, ("run", "s.yaml", "--seed", "-1"), "argument --seed", "(got -1)"),
    option("run-seed-huge", GOOD, ("run", "s.yaml", "--seed", str(2 ** 64)), "argument --seed", "expected 0.."),
    option("run-seed-not-a-number", GOOD, ("run", "s.yaml", "--seed", "seven"), "argument --seed", "whole number"),
    option("run-horizon-zero", GOOD, ("run", "s.yaml", "--horizon-years", "0"), "argument --horizon-years"),
    option("run-horizon-negative", GOOD, ("run", "s.yaml", "--horizon-years", "-5"), "argument --horizon-years"),
    option("run-lang-unknown", GOOD, ("run", "s.yaml", "--lang", "fr"), "argument --lang", "invalid choice"),
    option("run-unknown-option", GOOD, ("run", "s.yaml", "--bogus"), "unrecognized arguments: --bogus"),
    option("compare-replicates-zero", GOOD, ("compare", "s.yaml", "--replicates", "0"), "argument --replicates"),
    option("compare-workers-zero", GOOD, ("compare", "s.yaml", "--workers", "0"), "argument --workers"),
    option("compare-workers-negative", GOOD, ("compare", "s.yaml", "--workers", "-2"), "argument --workers"),
    option("compare-workers-huge", GOOD, ("compare", "s.yaml", "--workers", "100000"), "argument --workers"),
    option("sweep-workers-zero", EXPERIMENT, ("sweep", "e.yaml", "--workers", "0"), "argument --workers"),
    option("sweep-executor-unknown", EXPERIMENT, ("sweep", "e.yaml", "--executor", "gpu"), "argument --executor"),
    option("sweep-scheduler-malformed", EXPERIMENT, ("sweep", "e.yaml", "--scheduler", "host:port"),
           "argument --scheduler", "tcp://HOST:PORT"),
    option("sweep-scheduler-port-out-of-range", EXPERIMENT, ("sweep", "e.yaml", "--scheduler", "tcp://h:70000"),
           "argument --scheduler"),
    Case("sweep-scheduler-unreachable", EXPERIMENT, ("sweep", "e.yaml", "--scheduler", "tcp://127.0.0.1:9",
                                                    "--quiet"),
         expect_in_stderr="no Dask scheduler answers there", names=("--scheduler",)),
    Case("analyze-not-a-sweep", {"plain/x.txt": "x"}, ("analyze", "plain"), expect_in_stderr="not a sweep folder"),
    Case("analyze-missing-folder", {}, ("analyze", "nowhere"), expect_in_stderr="not a sweep folder"),
    # comparisons that cannot be compared, and output folders that hold something else
    Case("compare-other-city", GOOD | {"b.yaml": "name: other\ncity: {size_cells: 40}\nhorizon_years: 1\nburn_in_years: 0\n"},
         ("compare", "s.yaml", "b.yaml", "--quiet"), expect_in_stderr=("b.yaml: city:", "differs")),
    Case("compare-other-horizon", GOOD | {"b.yaml": "name: other\ncity: {size_cells: 32}\nhorizon_years: 2\nburn_in_years: 0\n"},
         ("compare", "s.yaml", "b.yaml", "--quiet"), expect_in_stderr=("b.yaml: horizon_years:", "differs")),
    Case("compare-other-steps-per-year", GOOD | {"b.yaml": _other("steps_per_year: 12\n")},
         ("compare", "s.yaml", "b.yaml", "--quiet"), expect_in_stderr=("b.yaml: steps_per_year:",)),
    Case("compare-other-start-year", GOOD | {"b.yaml": _other("start_year: 2030\n")},
         ("compare", "s.yaml", "b.yaml", "--quiet"), expect_in_stderr=("b.yaml: start_year:",)),
    Case("compare-same-names", GOOD | {"b.yaml": tiny("name: good\n")}, ("compare", "s.yaml", "b.yaml", "--quiet"),
         expect_in_stderr="names must differ", names=("scenario names",)),
    Case("compare-out-a-file", GOOD | USER_FILES, ("compare", "s.yaml", "--out", "notes.txt", "--quiet"),
         expect_in_stderr="exists and is not a folder", names=("--out",)),
    Case("compare-out-folder-of-the-user", GOOD | USER_FILES, ("compare", "s.yaml", "--out", "mine", "--quiet"),
         expect_in_stderr="holds no comparison", names=("--out",)),
    Case("sweep-out-folder-of-the-user", EXPERIMENT | USER_FILES,
         ("sweep", "e.yaml", "--out", "mine", "--executor", "serial", "--quiet"),
         expect_in_stderr="holds no sweep", names=("--out",)),
]


# ---------------------------------------------------------------- the runner
def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder``: (kind, mtime, content) for files, the target for links; FIFOs are not opened."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            rel = str(path.relative_to(folder))
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                out[rel] = ("file", info.st_mtime_ns, path.read_bytes())
            else:
                out[rel] = ("dir" if stat.S_ISDIR(info.st_mode) else "special", info.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def child_env() -> dict[str, str]:
    """The commands' environment: this package importable, its compiled modules cached as usual
    (each command is a fresh interpreter: with PYTHONDONTWRITEBYTECODE set, compiling every module
    anew costs a third of it), and one BLAS thread (starting a pool at `import numpy` costs a quarter)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return env


def run_case(case: Case, folder: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    for rel, content in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.setup is not None:
        case.setup(folder)
    before = snapshot(folder)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sim.cli", *case.argv], cwd=folder, capture_output=True,
                          text=True, errors="replace", timeout=CASE_SECONDS * 3, env=env or dict(os.environ), preexec_fn=_limit_memory)
    elapsed = time.perf_counter() - t0
    after = snapshot(folder)
    out = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr, out
    assert proc.returncode == case.expect_exit, f"exit {proc.returncode}, expected {case.expect_exit}\n{out}"
    assert elapsed < CASE_SECONDS, f"took {elapsed:.1f} s\n{out}"
    expected = (case.expect_in_stderr,) if isinstance(case.expect_in_stderr, str) else case.expect_in_stderr
    for text in expected:
        assert text in proc.stderr, f"{text!r} not in stderr\n{out}"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    if case.expect_stderr_empty:
        assert not lines, out
    if case.expect_exit != 0:
        assert lines, f"bad input without a message\n{out}"
    names = case.names if case.names is not None else tuple(a for a in case.argv[1:] if not a.startswith("-"))
    for line in lines:       # one line per problem: each names the file or option (no continuation lines)
        assert any(n in line for n in names), f"line names none of {names}: {line!r}\n{out}"
    for rel, entry in before.items():
        assert after.get(rel) == entry, f"{rel} was changed or removed\n{out}"
    created = sorted(set(after) - set(before))
    allowed = case.expect_files_created if case.expect_exit == 0 else ()     # bad input: nothing at all
    stray = [rel for rel in created if not any(fnmatch.fnmatch(rel, pat) for pat in allowed)]
    assert not stray, f"files created: {stray}\n{out}"
    return proc


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path, child_env):
    run_case(case, tmp_path, child_env)
