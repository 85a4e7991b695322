"""Speed and memory figures of the simulator; the speed targets live here, not in the tests.

Run from the repo root (``make bench``)::

    python bench/run_bench.py [--quick] [--json bench/results.json]

It prints, as aligned tables, after a header naming the machine and library versions:

1. Kernels: each numba kernel in ``sim.kernels`` against its numpy twin and its
   per-parcel plain-Python twin (``sim.kernels.reference``) on the model's generated
   city at 64², 128² and 256² cells (~55% parcels, streets elsewhere) with random state:
   median time per call after JIT warm-up, time per item (parcel; business for
   ``business_accounts``; (sector, parcel) pair for ``sales_density``) and the
   ratios numpy/numba and python/numba.
   Targets: numba ≥ 100× the Python twin and ≥ 5× the numpy twin.
2. Full model: the 20-year midsize baseline (``scenarios/baseline.yaml``), median
   of 5 runs after one warm-up run, split into construction (includes the
   burn-in), kernels, agent Python, KPI recording and other step time.
   Target: ≤ 1.3 s median per run on a quiet 2-core machine (version 0.1.0 took
   1.19 s there at 100² cells; 0.3.0's midsize is 88²). On a loaded or slower machine compare with an older checkout run
   right before or after (``PYTHONPATH=<old checkout> python bench/run_bench.py``).
3. The small and large archetypes (``scenarios/baseline_small.yaml``,
   ``scenarios/baseline_large.yaml``), median of 3 runs each: time per parcel against
   midsize. Target: cost linear in parcels, ``large`` time per parcel ≤ 1.1× midsize's.
4. Peak memory (VmHWM, the max RSS) of one 20-year run in a fresh subprocess.
   Target: ≤ 400 MB for midsize; large is reported without a target.

``--quick`` uses small grids and few repeats (a smoke check; its figures are not
comparable with the targets). ``--json PATH`` also writes every figure as JSON.
The bench prints figures and never asserts.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mesa
import numba
import numpy as np

from sim import kernels
from sim.agents.businesses import complement_matrix, sector_table
from sim.kernels import reference as ref
from sim.kernels.market import market_params
from sim.model import CityModel
from sim.outputs import release_model
from sim.parcels import generate_city
from sim.scenario import Scenario
from sim.uses import ATTRACTION, COMMERCIAL_CODES, CONVERSION, IS_COMMERCIAL, LAND_PARCEL, N_USES, RESIDENTIAL, VACANT

REPO = Path(__file__).resolve().parent.parent
MIDSIZE = REPO / "scenarios" / "baseline.yaml"
LARGE = REPO / "scenarios" / "baseline_large.yaml"
SMALL = REPO / "scenarios" / "baseline_small.yaml"

TARGETS = {
    "numba_vs_python_min": 100.0,   # numba kernel at least 100× its per-parcel Python twin
    "numba_vs_numpy_min": 5.0,      # ... and at least 5× its numpy twin
    "midsize_run_max_s": 1.3,       # 20-year midsize baseline, median, quiet 2-core machine (0.1.0: 1.19 s)
    "large_per_parcel_vs_midsize_max": 1.1,   # cost linear in parcels across archetypes
    "midsize_peak_rss_max_mb": 400.0,
}

FULL = dict(sides=(64, 128, 256), fast_repeats=9, python_repeats={64: 5, 128: 3, 256: 2},
            midsize_runs=5, large_runs=3, small_runs=3)
QUICK = dict(sides=(32, 64), fast_repeats=3, python_repeats={}, midsize_runs=2, large_runs=1, small_runs=1)
MIN_BATCH_S = 0.05   # fast calls are timed in batches of at least this long

# Kernel inputs: the model's own city generator at 64²..256² cells (blocks between streets,
# ~55% parcels, street-class rings, the initial use mix), plus random state for what the
# generator leaves to the agents. A purely random grid mispredicts branches and understates
# the window kernels (market_update ran ~1.7x slower on one).
BUSINESS_SHARE = 0.25      # business slots per cell (~80% alive)
CONVERSION_SHARE = 0.02    # share of units under conversion


# ====================================================================== machine
def machine_info() -> dict:
    """CPU model, cores, RAM and library versions."""
    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        names = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "ram_gb": round(ram_gb, 1),
            "python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "mesa": mesa.__version__, "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "platform": platform.platform()}


def print_machine(info: dict) -> None:
    print("Machine")
    for key, value in info.items():
        print(f"  {key:<14} {value}")
    print()


# ====================================================================== tables
def print_table(title: str, headers: list[str], rows: list[list], note: str = "") -> None:
    """Text in the first columns left-aligned, everything else right-aligned."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[k]) for r in cells)) if cells else len(h) for k, h in enumerate(headers)]
    left = {k for k, v in enumerate(rows[0]) if isinstance(v, str) and k < 2} if rows else set()

    def line(values):
        return "  ".join(v.ljust(w) if k in left else v.rjust(w) for k, (v, w) in enumerate(zip(values, widths)))

    print(title)
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print(line(r))
    if note:
        print(note)
    print(flush=True)


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


# ====================================================================== kernel inputs
@functools.lru_cache(maxsize=None)
def kernel_city(side: int, seed: int = 0) -> dict:
    """State for every kernel on a generated ``side``² city; pairs as in ``CityModel.bid_rents``."""
    rng = np.random.default_rng(seed)
    scenario = Scenario.from_yaml(MIDSIZE, overrides={"city": {"size_cells": side}})
    par = generate_city(scenario, rng)
    shape, step = par.land.shape, 40
    parcel = par.is_parcel
    use = par.use.copy()
    unit = parcel & ((use == VACANT) | IS_COMMERCIAL[use])
    converting = unit & (rng.random(shape) < CONVERSION_SHARE)
    use[converting] = CONVERSION
    vacant = parcel & (use == VACANT)
    occupied = unit & ~vacant & ~converting
    s = {
        "land": par.land, "use": use, "street_class": par.street_class, "floor_m2": par.floor_m2,
        "condition": par.condition, "anchor": par.anchor, "dwellings": par.dwellings,
        "step": step, "spy": scenario.steps_per_year,
        "dwellings_occupied": (par.dwellings * (rng.random(shape) < 0.95)).astype(np.int32),
        "footfall": np.where(parcel, rng.gamma(2.0, 1.2, shape), 0.0),
        "resident_field": np.where(parcel, rng.gamma(2.0, 3.0, shape), 0.0),
        "own_attraction": np.where(parcel, rng.uniform(0.0, 3.0, shape), 0.0),
        "bonus": np.zeros(shape), "condition_bonus": np.zeros(shape),
        "is_front": occupied & (rng.random(shape) < 0.01),
        "vacant_since": np.where(vacant, step - rng.integers(0, 20, shape), -1).astype(np.int32),
        "bid_rent_eur_m2": np.where(unit, rng.uniform(-50.0, 600.0, shape), 0.0),
        "rent_eur_m2": np.where(occupied, rng.uniform(50.0, 600.0, shape), 0.0),
        "appraisal_rent_eur_m2": np.where(vacant, rng.uniform(50.0, 600.0, shape), 0.0),
        "dwelling_base_eur_month": np.where(parcel, rng.choice([650.0, 1100.0], shape), 0.0),
        "dwelling_elastic": parcel & (rng.random(shape) < 0.6),
        "conversion_done_step": np.where(converting, step + rng.integers(-1, 8, shape), -1).astype(np.int32),
        "conversion_to": np.where(converting, RESIDENTIAL, 0).astype(np.int8),
        "conversion_dwellings": np.where(converting, rng.integers(1, 6, shape), 0).astype(np.int32),
    }
    units = np.flatnonzero(unit)
    s["businesses"] = random_businesses(rng, units, int(BUSINESS_SHARE * side * side), step)
    s["pairs"] = (np.repeat(COMMERCIAL_CODES, units.size), np.tile(units, COMMERCIAL_CODES.size))
    s.update(economics(scenario, rng))
    return s


def random_businesses(rng: np.random.Generator, units: np.ndarray, n: int, step: int) -> dict:
    """``n`` business slots on ``units``: most alive, a few fronts, some leases ending."""
    return {
        "alive": rng.random(n) < 0.8, "is_front": rng.random(n) < 0.01,
        "sector": rng.choice(COMMERCIAL_CODES, n).astype(np.int8), "parcel": rng.choice(units, n),
        "floor_m2": rng.lognormal(4.6, 0.4, n), "cash_eur": rng.normal(20000.0, 15000.0, n),
        "rent_eur_m2": rng.uniform(50.0, 600.0, n), "productivity": rng.uniform(0.7, 1.3, n), "lease_end_step": step + rng.integers(-2, 40, n),
    }


def economics(scenario: Scenario, rng: np.random.Generator) -> dict:
    """Sector tables, footfall weights and street weights of the scenario; plausible market parameters."""
    m = scenario.market
    return {
        **sector_table(scenario), "complement": complement_matrix(),
        "online": np.where(IS_COMMERCIAL, rng.uniform(0.05, 0.3, N_USES), 0.0),
        "street_weight": np.asarray(m.street_weight.as_tuple()), "resident_attraction": m.resident_attraction,
        "weights": kernels.decay_weights(m.footfall_radius_cells, m.footfall_decay_cells),
        "p": market_params(
            dwelling_ff_ref=2.0, vacancy_sensitivity=m.rent_vacancy_sensitivity,
            cap_rate=0.055, spread_A1=0.0, spread_A2=0.005, spread_B=0.01, spread_C=0.02, spread_res=0.03,
            residential_cap_rate=0.04, vacant_discount=m.vacant_value_discount, decay_per_step=0.005,
            vacant_mult=m.vacant_decay_multiplier, vacancy_spill=m.vacancy_spillover,
            front_spill=m.front_spillover, dwelling_elasticity=0.2, opex_share=0.25),
    }


# ====================================================================== kernel arguments
def footfall_args(s: dict) -> dict:
    return dict(use=s["use"], condition=s["condition"], street_class=s["street_class"], anchor=s["anchor"],
                dwellings_occupied=s["dwellings_occupied"], bonus=s["bonus"], attraction_by_use=ATTRACTION,
                street_weight=s["street_weight"], resident_attraction=s["resident_attraction"], visitor_demand=1.0,
                weights=s["weights"])


def sales_args(s: dict) -> dict:
    return dict(sector=s["pairs"][0], parcel=s["pairs"][1], land=s["land"], use=s["use"],
                condition=s["condition"], footfall=s["footfall"], resident_field=s["resident_field"],
                own_attraction=s["own_attraction"], attraction_by_use=ATTRACTION, density_eur_m2=s["sales_density_eur_m2"], online_share=s["online"],
                elasticity=s["footfall_elasticity"], local_share=s["local_share"], complement=s["complement"],
                cluster_strength=0.3, footfall_ref=2.4, resident_ref=6.0)   # refs: means of the random fields


def accounts_args(s: dict) -> dict:
    b = s["businesses"]
    grid = {k: v for k, v in sales_args(s).items() if k not in ("sector", "parcel")}
    return dict(alive=b["alive"], is_front=b["is_front"], sector=b["sector"], parcel=b["parcel"],
                floor_m2=b["floor_m2"], cash_eur=b["cash_eur"], rent_eur_m2=b["rent_eur_m2"],
                productivity=b["productivity"],
                lease_end_step=b["lease_end_step"], **grid, gross_margin=s["gross_margin"],
                fixed_cost_eur_m2=s["fixed_cost_eur_m2"], steps_per_year=s["spy"], step=s["step"])


def market_args(s: dict) -> dict:
    names = ("land", "use", "street_class", "floor_m2", "condition", "is_front", "footfall", "bid_rent_eur_m2",
             "rent_eur_m2", "appraisal_rent_eur_m2", "dwellings", "dwelling_base_eur_month", "dwelling_elastic",
             "conversion_done_step", "conversion_to", "conversion_dwellings", "condition_bonus")
    return {**{k: s[k] for k in names}, "step": s["step"], "p": s["p"]}


def kpi_args(s: dict) -> dict:
    names = ("land", "use", "street_class", "floor_m2", "vacant_since", "condition", "footfall")
    return {**{k: s[k] for k in names}, "step": s["step"], "steps_per_year": s["spy"]}


def n_parcels(s: dict) -> tuple[int, str]:
    return int(np.count_nonzero(s["land"] == LAND_PARCEL)), "parcel"


KERNELS = {   # name: (kernel, numpy twin, python twin, arguments from a city, (item count, item name))
    "footfall_field": (kernels.footfall_field, ref.footfall_field_numpy, ref.footfall_field_python,
                       footfall_args, n_parcels),
    "sales_density": (kernels.sales_density, ref.sales_density_numpy, ref.sales_density_python,
                      sales_args, lambda s: (s["pairs"][0].size, "pair")),
    "business_accounts": (kernels.business_accounts, ref.business_accounts_numpy, ref.business_accounts_python,
                          accounts_args, lambda s: (s["businesses"]["alive"].size, "business")),
    "market_update": (kernels.market_update, ref.market_update_numpy, ref.market_update_python,
                      market_args, n_parcels),
    "kpi_reduce": (kernels.kpi_reduce, ref.kpi_reduce_numpy, ref.kpi_reduce_python, kpi_args, n_parcels),
}


# ====================================================================== kernel timing
def _batch_seconds(fn, kw: dict, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn(**kw)
    return (time.perf_counter() - t0) / number


def seconds_per_call(fn, kw: dict, repeats: int, warm_up: bool = True) -> float:
    """Median seconds per call over ``repeats`` batches; fast calls are batched to ≥ MIN_BATCH_S.

    ``warm_up`` makes one untimed call first (JIT compile or cache load); the slow
    Python twins skip it and their first call counts as a repeat.
    """
    if warm_up:
        fn(**kw)
    first = _batch_seconds(fn, kw, 1)
    number = max(1, math.ceil(MIN_BATCH_S / max(first, 1e-9)))
    if number == 1:
        return statistics.median([first] + [_batch_seconds(fn, kw, 1) for _ in range(repeats - 1)])
    return statistics.median([_batch_seconds(fn, kw, number) for _ in range(repeats)])


def time_kernel(name: str, side: int, cfg: dict) -> dict:
    kernel, numpy_twin, python_twin, make_args, count = KERNELS[name]
    city = kernel_city(side, seed=side)
    kw = make_args(city)
    n_items, item = count(city)
    numba_s = seconds_per_call(kernel, kw, cfg["fast_repeats"])
    numpy_s = seconds_per_call(numpy_twin, kw, cfg["fast_repeats"])
    python_s = seconds_per_call(python_twin, kw, cfg["python_repeats"].get(side, 1), warm_up=False)
    return {"kernel": name, "side": side, "items": n_items, "item": item, "numba_s": numba_s,
            "numpy_s": numpy_s, "python_s": python_s,
            "numpy_over_numba": numpy_s / numba_s, "python_over_numba": python_s / numba_s}


def python_calls(cfg: dict) -> str:
    """How often the Python twin runs per grid, e.g. '3 calls at 64², 1 at 256²'."""
    return ", ".join(f"{cfg['python_repeats'].get(side, 1)} call(s) at {side}²" for side in cfg["sides"])


def bench_kernels(cfg: dict) -> list[dict]:
    rows = [time_kernel(name, side, cfg) for name in KERNELS for side in cfg["sides"]]
    table = [[r["kernel"], f"{r['side']}²", r["items"], r["item"], r["numba_s"] * 1e3, r["numba_s"] / r["items"] * 1e9,
              r["numpy_s"] * 1e3, r["python_s"] * 1e3, r["numpy_over_numba"],
              verdict(r["numpy_over_numba"] >= TARGETS["numba_vs_numpy_min"]), r["python_over_numba"],
              verdict(r["python_over_numba"] >= TARGETS["numba_vs_python_min"])] for r in rows]
    headers = ["kernel", "grid", "items", "per", "numba ms", "numba ns/item", "numpy ms", "python ms",
               "numpy/numba", "≥5×", "python/numba", "≥100×"]
    print_table("1. Kernels (median time per call after JIT warm-up)", headers, table,
                f"   items: parcels; business slots (25% of cells); (sector, parcel) pairs = commercial sectors × "
                f"units, as in CityModel.bid_rents\n"
                f"   numba and numpy: median of {cfg['fast_repeats']} batches of ≥{MIN_BATCH_S * 1e3:.0f} ms; "
                f"python twin: {python_calls(cfg)}")
    return rows


# ====================================================================== full model
def run_model(scenario: Scenario) -> dict:
    """One run (construct, then ``n_steps`` steps); seconds by phase."""
    t0 = time.perf_counter()
    model = CityModel(scenario)
    t1 = time.perf_counter()
    at_start = dict(model.timers)
    for _ in range(scenario.n_steps):
        model.step()
    t2 = time.perf_counter()
    phases = {k: model.timers[k] - at_start.get(k, 0.0) for k in ("kernels", "agents", "recording")}
    out = {"construct_s": t1 - t0, **{f"{k}_s": v for k, v in phases.items()},
           "other_s": (t2 - t1) - sum(phases.values()), "total_s": t2 - t0,
           "parcels": int(np.count_nonzero(model.parcels.is_parcel))}
    release_model(model)   # mesa 3.3 keeps every model alive through Agent._ids; 3.5 has no _ids
    return out


def median_runs(path: Path, runs: int, warm_up: bool) -> dict:
    scenario = Scenario.from_yaml(path)
    if warm_up:
        run_model(scenario)   # JIT compile / cache load, first-touch allocations
    samples = [run_model(scenario) for _ in range(runs)]
    med = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
    totals = [s["total_s"] for s in samples]
    return {**med, "runs": runs, "min_total_s": min(totals), "max_total_s": max(totals),
            "scenario": path.name, "n_steps": scenario.n_steps}


PHASES = ["construct_s", "kernels_s", "agents_s", "recording_s", "other_s", "total_s"]


def model_row(label: str, r: dict) -> list:
    return [label, r["parcels"], r["runs"], *(r[k] for k in PHASES), r["min_total_s"], r["max_total_s"]]


def bench_model(cfg: dict) -> dict:
    mid = median_runs(MIDSIZE, cfg["midsize_runs"], warm_up=True)
    small = median_runs(SMALL, cfg["small_runs"], warm_up=False)   # kernels already compiled
    large = median_runs(LARGE, cfg["large_runs"], warm_up=False)
    headers = ["scenario", "parcels", "runs", "construct s", "kernels s", "agents s", "recording s",
               "other s", "total s", "min s", "max s"]
    print_table("2. Full model, 20 years (medians; construct includes the burn-in; "
                "kernels/agents/recording/other are step time)", headers,
                [model_row(r["scenario"], r) for r in (small, mid, large)],
                f"   midsize target ≤ {TARGETS['midsize_run_max_s']:.1f} s: {mid['total_s']:.2f} s "
                f"{verdict(mid['total_s'] <= TARGETS['midsize_run_max_s'])}")
    per_parcel = {name: r["total_s"] / r["parcels"] for name, r in (("small", small), ("midsize", mid), ("large", large))}
    limit = TARGETS["large_per_parcel_vs_midsize_max"]
    rows = [[name, r["parcels"], 1e6 * per_parcel[name], per_parcel[name] / per_parcel["midsize"],
             f"≤ {limit}×" if name == "large" else "",
             verdict(per_parcel[name] / per_parcel["midsize"] <= limit) if name == "large" else ""]
            for name, r in (("small", small), ("midsize", mid), ("large", large))]
    print_table("3. Cost per parcel across the archetypes", ["archetype", "parcels", "µs per parcel-run",
                                                              "× midsize", "target", "status"], rows)
    ratio = large["total_s"] / mid["total_s"]
    return {"midsize": mid, "small": small, "large": large, "large_over_midsize": ratio,
            "parcel_ratio": large["parcels"] / mid["parcels"],
            "large_per_parcel_over_midsize": per_parcel["large"] / per_parcel["midsize"]}


# ====================================================================== peak memory
# Peak RSS: VmHWM of the child's own address space. Not ru_maxrss: Linux carries the parent's
# high-water mark across fork+exec into the child's ru_maxrss (and the parent's RUSAGE_CHILDREN),
# so a child of this ~300 MB bench process would report at least ~300 MB whatever it does.
CHILD = """
import json, os, resource, sys
import psutil
from sim.model import CityModel
from sim.scenario import Scenario

def peak_mb():
    if os.path.exists("/proc/self/status"):
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM")) / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # bytes on macOS, KiB elsewhere
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024

scenario = Scenario.from_yaml(sys.argv[1])
after_import_mb = psutil.Process().memory_info().rss / 2**20
model = CityModel(scenario)
for _ in range(scenario.n_steps):
    model.step()
print(json.dumps({"after_import_mb": after_import_mb, "peak_mb": peak_mb()}))
"""


def peak_memory(path: Path) -> dict:
    """Peak RSS of one run in a fresh interpreter (imports, JIT cache load, construction, steps)."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    return {"scenario": path.name, **json.loads(done.stdout.strip().splitlines()[-1])}


def bench_memory() -> list[dict]:
    rows = [peak_memory(MIDSIZE), peak_memory(LARGE)]
    limit = TARGETS["midsize_peak_rss_max_mb"]
    table = [[rows[0]["scenario"], rows[0]["after_import_mb"], rows[0]["peak_mb"], f"≤ {limit:.0f}",
              verdict(rows[0]["peak_mb"] <= limit)],
             [rows[1]["scenario"], rows[1]["after_import_mb"], rows[1]["peak_mb"], "", ""]]
    print_table("4. Peak memory of one 20-year run in a fresh process",
                ["scenario", "RSS after import MB", "peak RSS MB", "target MB", "status"], table)
    return rows


# ====================================================================== main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grids, few repeats (smoke check)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    results = {"quick": args.quick, "machine": machine_info(), "targets": TARGETS}
    print_machine(results["machine"])
    results["kernels"] = bench_kernels(cfg)
    results["model"] = bench_model(cfg)
    results["memory"] = bench_memory()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
