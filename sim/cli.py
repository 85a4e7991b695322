"""The ``regie`` command line: run and validate scenarios.

Bad input never ends in a traceback: every problem is one line
``file: key.path: what was expected (got …)`` and the exit status is 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from sim.i18n import text
from sim.scenario import MAX_SEED, Scenario, ScenarioError

EXIT_BAD_INPUT = 2


def _int_in(low: int, high: int):
    """argparse type: an integer within [low, high], refused with a one-line message otherwise."""
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high} (got {value})")
        return value
    return check


SCHEDULER_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")


def _scheduler_address(text: str) -> str:
    """argparse type: a Dask scheduler address, ``tcp://host:port`` (a bare host:port gets tcp://)."""
    if "://" not in text:
        text = f"tcp://{text}"
    if not SCHEDULER_ADDRESS.fullmatch(text) or not 0 < int(text.rsplit(":", 1)[1]) < 65536:
        raise argparse.ArgumentTypeError(f"expected tcp://HOST:PORT with a port 1..65535 (got {text!r})")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the error and where to find help), not the usage block."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="regie",
        description="Regie: agent-based simulator of Dutch inner-city transformation "
                    "(parcels, owners, businesses, households, a municipality and its instruments).",
        epilog="Example: regie run scenarios/baseline.yaml --seed 7   |   regie validate scenarios/*.yaml",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario and write its results",
                         description="Run one scenario: a progress bar per step, a KPI summary "
                                     "(start vs horizon), and a results folder with metrics.parquet, "
                                     "manifest.json, snapshots.npz and plots/.")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--seed", type=_int_in(0, MAX_SEED), default=None,
                     help="root seed (default: the scenario's seed)")
    run.add_argument("--out", type=Path, default=None,
                     help="results folder (default: results/<scenario name>/<run id>/)")
    run.add_argument("--horizon-years", type=_int_in(1, 100), default=None,
                     help="override the scenario's horizon (years, 1..100)")
    run.add_argument("--lang", choices=["en", "nl"], default="en",
                     help="language of the console summary and the plots (default: en; Dutch plots are "
                          "written as plots/*.nl.png)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    cmp_ = sub.add_parser("compare", help="compare scenarios side by side (workshop report)",
                          description="Run every scenario for the same replicate seeds (common random numbers), "
                                      "in parallel, then write tidy metrics, summary.csv/.md, plots and a "
                                      "self-contained report.html. The first scenario is the reference "
                                      "(doing nothing). Ctrl-C keeps finished runs; --resume continues.")
    cmp_.add_argument("scenarios", nargs="+", help="scenario YAML files; the first is the baseline")
    cmp_.add_argument("--replicates", type=_int_in(1, 1000), default=20,
                      help="replicates per scenario (default 20; 10 or more to tell effects from chance); with "
                           "--resume, more than the folder holds adds the new replicates")
    cmp_.add_argument("--workers", type=_int_in(1, 256), default=None,
                      help="parallel processes (default: all cores)")
    cmp_.add_argument("--lang", choices=["en", "nl"], default="en", help="report language (default: en)")
    cmp_.add_argument("--out", type=Path, default=None,
                      help="output folder (default: results/compare/<names>_<hash>: the scenario names, "
                           "shortened to +N more when long, and a hash of all names in order; the same "
                           "scenarios always get the same folder, whatever --replicates)")
    cmp_.add_argument("--resume", action="store_true",
                      help="continue the comparison in the output folder: finished runs are kept; with more "
                           "--replicates than it holds, only the new replicates run (replicate i keeps its seed)")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")

    swp = sub.add_parser("sweep", help="sensitivity sweep of an experiment file (SALib; laptop or Dask cluster)",
                         description="Sample the experiment's parameters (Morris, Sobol, eFAST, or delta/PAWN on a "
                                     "Latin hypercube), validate every sampled scenario, run every row and replicate "
                                     "(seed = SeedSequence(seed, spawn_key=(row, replicate))) and analyse. Every "
                                     "finished run is kept; a failing run is recorded and the sweep goes on; "
                                     "Ctrl-C or a kill keeps finished runs and --resume continues.",
                         epilog="Cluster: start `dask scheduler` and `dask worker tcp://HOST:8786 --nthreads 1` on "
                                "machines with this package installed, then "
                                "`regie sweep experiments/x.yaml --scheduler tcp://HOST:8786`.")
    swp.add_argument("experiment", help="experiment YAML file (experiments/*.yaml)")
    swp.add_argument("--executor", choices=["serial", "process", "dask"], default="process",
                     help="serial (this process), process (a pool on this machine, default) or dask "
                          "(a local Dask cluster, or the one at --scheduler)")
    swp.add_argument("--workers", type=_int_in(1, 1024), default=None,
                     help="processes for the process pool or a local Dask cluster (default: all cores)")
    swp.add_argument("--scheduler", type=_scheduler_address, default=None, metavar="tcp://HOST:PORT",
                     help="address of a running Dask scheduler (implies --executor dask)")
    swp.add_argument("--out", type=Path, default=None, help="output folder (default: results/sweeps/<name>/)")
    swp.add_argument("--resume", action="store_true", help="continue the sweep in --out: skip finished runs, "
                                                          "retry failed ones")
    swp.add_argument("--allow-missing", action="store_true", help="analyse even if some runs failed (see analyze)")
    swp.add_argument("--no-analyze", action="store_true", help="only run; analyse later with `regie analyze`")
    swp.add_argument("--lang", choices=["en", "nl"], default="en", help="language of plot labels (default: en)")
    swp.add_argument("--quiet", action="store_true", help="no progress bar")

    ana = sub.add_parser("analyze", help="sensitivity indices of a sweep folder",
                         description="Average replicates per row, compute the method's indices with intervals that "
                                     "resample replicates and rows, the seed-noise share per output and the "
                                     "convergence over growing sample size; write indices.parquet, noise.csv, "
                                     "convergence.parquet, summary.md and plots/. Refuses when runs are missing "
                                     "unless --allow-missing.")
    ana.add_argument("folder", type=Path, help="results folder of `regie sweep`")
    ana.add_argument("--allow-missing", action="store_true",
                     help="analyse without missing runs: average the replicates a row has, drop the trajectories "
                          "or base rows that lack a row entirely (and say so)")
    ana.add_argument("--lang", choices=["en", "nl"], default="en", help="language of plot labels (default: en)")

    ins = sub.add_parser("instruments", help="list the policy instruments and their parameters",
                         description="List every instrument kind with its parameters: type and range, "
                                     "default, unit and source (read from the schema itself).")
    ins.add_argument("kinds", nargs="*", help="only these kinds (default: all)")

    app = sub.add_parser("app", help="the workshop web page: choose instruments, run, see the difference",
                         description="Start a local web page (Dutch or English) where workshop participants choose "
                                     "an archetype and instruments with their main parameters, press Run and see "
                                     "how the package differs from doing nothing: the paired comparison table, "
                                     "KPI trajectories, maps, the public cost and the report to download. Needs "
                                     "the app extra: pip install -e \".[app]\" (or `make app`).")
    app.add_argument("--port", type=_int_in(1, 65535), default=8765, help="port of the page (default 8765)")
    app.add_argument("--lang", choices=["en", "nl"], default="nl", help="language the page opens in (default: nl)")
    app.add_argument("--workers", type=_int_in(1, 256), default=None,
                     help="processes that run the simulations (default: all cores)")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for the network)")

    val = sub.add_parser("validate", help="check scenario and experiment files against the schema",
                         description="Check scenario files (and experiment files: those in experiments/ or with "
                                     "method: and parameters:, including every sampled scenario); print every "
                                     "problem as "
                                     "'file: key.path: what was expected (got …)'. Exit status 2 on any problem.")
    val.add_argument("files", nargs="+", help="scenario or experiment YAML files")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:   # `regie` alone: what it can do
        _parser().print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, one line already printed)
        return int(e.code or 0)
    try:
        if args.command == "validate":
            return _validate(args.files)
        if args.command == "run":
            return _run(args)
        if args.command == "instruments":
            return _instruments(args.kinds)
        if args.command == "compare":
            return _compare(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "analyze":
            return _analyze(args)
        if args.command == "app":
            from sim.app.serve import serve
            return serve(port=args.port, lang=args.lang, workers=args.workers, host=args.host)
    except ScenarioError as e:
        print(str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: nothing was written for the unfinished run", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python quiet at exit
        return 0
    return 1


WRITE_ERROR_HINT = ("every finished run is kept; free space (or choose a writable --out) and run the same "
                    "command with --resume")


def _write_error(e: OSError) -> str:
    where = f"{e.filename}: " if e.filename else ""
    return f"cannot write results: {where}{e.strerror or e}; {WRITE_ERROR_HINT}"


def _compare(args: argparse.Namespace) -> int:
    from sim.workshop.compare import CompareError, compare
    from sim.executors import ExecutorError
    try:
        result = compare([str(p) for p in args.scenarios], replicates=args.replicates, workers=args.workers,
                         out=args.out, lang=args.lang, resume=args.resume, progress=not args.quiet)
    except CompareError as e:
        print(str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ExecutorError as e:
        print(f"{e}; finished runs are kept: run the same command with --resume", file=sys.stderr)
        return 1
    except OSError as e:
        print(_write_error(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_say("interrupted", args.lang), file=sys.stderr)
        return 130
    from sim.numbers import format_number
    n_runs = result.metrics.groupby(["scenario", "replicate"]).ngroups
    print(_say("compared", args.lang, runs=n_runs, new=result.new_runs, path=result.report or result.out_dir,
               seconds=format_number(result.wall_seconds, args.lang, decimals=0)))
    if result.failures:
        print(_say("failed", args.lang, n=len(result.failures)), file=sys.stderr)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from sim.executors import ExecutorError, SchedulerUnreachable
    from sim.sweeps.sweep import sweep
    try:
        result = sweep(args.experiment, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                       out=args.out, resume=args.resume, progress=not args.quiet, analyze=False)
    except SchedulerUnreachable as e:
        print(str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ExecutorError as e:
        print(f"{e}; finished runs are kept: run the same command with --resume", file=sys.stderr)
        return 1
    except OSError as e:
        print(_write_error(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; run the same command with --resume to continue",
              file=sys.stderr)
        return 130
    print(f"{result.runs} runs ({result.new_runs} run now, {result.failed} failed) in {result.wall_seconds:.0f} s: "
          f"{result.out_dir}")
    if result.failed:
        print(f"{result.failed} run(s) failed; see {result.out_dir / 'failures.csv'} "
              "(--resume retries them)", file=sys.stderr)
    if args.no_analyze:
        return 0
    return _analyze(argparse.Namespace(folder=result.out_dir, allow_missing=args.allow_missing, lang=args.lang))


def _analyze(args: argparse.Namespace) -> int:
    from sim.sweeps.analysis import analyze
    try:
        result = analyze(args.folder, allow_missing=args.allow_missing, lang=args.lang)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"cannot write the analysis: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(note, file=sys.stderr)
    print((result.out_dir / "summary.md").read_text())
    from sim.sweeps.plots import plots_folder
    print(f"Indices: {result.out_dir / 'indices.parquet'}; plots: {plots_folder(result.out_dir / 'plots', args.lang)}")
    return 0


def _instruments(kinds: list[str]) -> int:
    from sim.instruments import REGISTRY
    from sim.instruments.describe import describe_instrument

    unknown = sorted(set(kinds) - set(REGISTRY))
    if unknown:
        print(f"unknown instrument kind(s) {unknown}; known: {sorted(REGISTRY)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for kind in kinds or list(REGISTRY):
        print(describe_instrument(REGISTRY[kind]))
        print()
    return 0


def _validate(files: list[str]) -> int:
    from sim.sweeps.design import check_experiment, is_experiment_file
    from sim.scenario import check_files
    problems, warnings = check_files([f for f in files if not is_experiment_file(f)])
    for line in warnings:                       # valid but probably unintended: reported, exit status 0
        print(f"warning: {line}", file=sys.stderr)
    for f in filter(is_experiment_file, files):
        try:
            check_experiment(f)
        except ScenarioError as e:
            problems.extend(e.problems)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return EXIT_BAD_INPUT
    for f in files:
        print(f"{f}: ok")
    return 0


def _run(args: argparse.Namespace) -> int:
    import shutil

    from sim.outputs import OutputFolderError, check_out_folder, make_temp_folder, run_id_for, simulate, write_run

    overrides = {} if args.horizon_years is None else {"horizon_years": args.horizon_years}
    scenario = Scenario.from_yaml(args.scenario, overrides=overrides)
    for line in scenario.warnings(str(args.scenario)):
        print(f"warning: {line}", file=sys.stderr)
    seed = scenario.seed if args.seed is None else args.seed
    run_id = run_id_for(scenario, seed)
    out = args.out or Path("results") / scenario.name / run_id
    try:   # everything about the results folder is checked before the run, not after it
        check_out_folder(out, run_id)
        tmp = make_temp_folder(out)
    except OutputFolderError as e:
        print(f"--out {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"--out {out}: cannot write there: {e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    years, steps = scenario.horizon_years, scenario.n_steps
    print(_say("running", args.lang, name=scenario.name, years=years, steps=steps, seed=seed,
               years_word=_say("year" if years == 1 else "years", args.lang),
               steps_word=_say("step" if steps == 1 else "steps", args.lang)), file=sys.stderr)
    try:
        result = simulate(scenario, seed=seed, progress=not args.quiet)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        path = write_run(result, out, source=str(args.scenario), plots=not args.no_plots, lang=args.lang, tmp=tmp)
    except OutputFolderError as e:
        print(f"--out {e} (it changed while the run ran)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"{out}: cannot write results: {e.strerror or e}; nothing was changed there", file=sys.stderr)
        return 1
    from sim.numbers import format_number
    print(summary_table(result.metrics, lang=args.lang))
    seconds = format_number(result.wall_seconds, args.lang, decimals=1)
    print("\n" + _say("results", args.lang, path=path, seconds=seconds))
    return 0


# Console text of `regie run` and `regie compare` -> (English, Dutch); error messages stay English.
CONSOLE_TEXT: dict[str, tuple[str, str]] = {
    "running": ("Running {name}: {years} {years_word}, {steps} {steps_word}, seed {seed}",
                "Simulatie van {name}: {years} {years_word}, {steps} {steps_word}, seed {seed}"),
    "year": ("year", "jaar"),
    "years": ("years", "jaar"),
    "step": ("step", "stap"),
    "steps": ("steps", "stappen"),
    "results": ("Results: {path}  ({seconds} s)", "Resultaten: {path}  ({seconds} s)"),
    "col_kpi": ("KPI", "Indicator"),
    "col_change": ("change", "verschil"),
    "cumulative": ("cumulative", "cumulatief"),
    "compared": ("{runs} runs ({new} run now) in {seconds} s; report: {path}",
                 "{runs} simulaties ({new} nu uitgevoerd) in {seconds} s; rapport: {path}"),
    "failed": ("{n} run(s) failed; see summary.md and runs/*/*.error.txt",
               "{n} simulatie(s) mislukt; zie summary.md en runs/*/*.error.txt"),
    "interrupted": ("interrupted: finished runs are kept; run the same command with --resume to continue",
                    "onderbroken: afgeronde simulaties blijven bewaard; voer hetzelfde commando opnieuw uit "
                    "met --resume om verder te gaan"),
}


def _say(key: str, lang: str, **values) -> str:
    """The console text ``key`` in ``lang``, with ``values`` filled in."""
    return text(CONSOLE_TEXT, key, lang, **values)


# Metrics counted since the start of the run rather than at each step (sim/kpis.py: conversions,
# detected fronts, the net public cost and cash): the console says so where the label does not.
CUMULATIVE_METRICS = frozenset({"conversions_total", "conversions_housing", "conversions_change_of_use",
                                "fronts_detected", "net_public_cost_eur", "net_public_cash_eur"})


def console_label(metric: str, lang: str = "en") -> str:
    """The KPI's label for the console: without its unit in brackets (the numbers carry it) and
    marked cumulative when the metric is counted since the start and the label does not say so."""
    from sim.plots import label

    text = label(metric, lang)
    for unit in (" (EUR)", " (m²)"):
        text = text.removesuffix(unit)
    text = text.replace(", EUR)", ")")      # "(cumulative since the start, EUR)"
    word = _say("cumulative", lang)
    if metric in CUMULATIVE_METRICS and word not in text.lower():
        text = f"{text}, {word}"
    return text


def summary_table(metrics, lang: str = "en") -> str:
    """Key KPIs at the start and at the horizon, as an aligned text table in ``lang``.

    Levels in the metric's own form (share in %, euros in millions or billions, counts whole),
    the change of a share in percentage points; numbers in the language's style (sim.numbers).
    """
    from sim.kpis import KEY_METRICS
    from sim.numbers import decimals_for, format_number
    from sim.plots import metric_kind

    first, last = metrics["step"].min(), metrics["step"].max()
    wide = metrics[metrics["step"].isin([first, last])].pivot_table(
        index="metric", columns="step", values="value", observed=True)
    y0, y1 = metrics["year"].min(), metrics["year"].max()
    head = (_say("col_kpi", lang), f"{y0:.0f}", f"{y1:.0f}", _say("col_change", lang))
    rows = []
    for m in KEY_METRICS:
        if m not in wide.index:
            continue
        a, b = wide.loc[m, first], wide.loc[m, last]
        kind = metric_kind(m)
        change_kind = "points" if kind == "share" else kind
        if kind == "eur":      # each amount on its own: millions or billions
            d = None
        elif kind == "count":  # one run counts whole things
            d = 0
        else:                  # a row shares its decimals, enough to show the change in the levels too
            d = max(decimals_for([a, b], kind), decimals_for([b - a], change_kind))
        rows.append((console_label(m, lang), format_number(a, lang, kind, decimals=d),
                     format_number(b, lang, kind, decimals=d),
                     format_number(b - a, lang, change_kind, decimals=d, signed=True)))
    w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    line = lambda r: f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}  {r[3]:>{w[3]}}"  # noqa: E731
    return "\n".join([line(head), "  ".join("-" * x for x in w)] + [line(r) for r in rows])


if __name__ == "__main__":
    raise SystemExit(main())
