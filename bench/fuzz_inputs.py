"""Fuzz the scenario schema: does every configuration it accepts run without a crash or a NaN?

Every numeric field of the scenario (and of every instrument's config, one instrument at a
time over the whole city) is set in turn to 0, to its lower bound and to its upper bound
(open sides: -1 and --big, default 1e9), every weight vector to all zeros and a few
combinations that zero a denominator (all footfall sources, visitors and residents), on the
tiny city (32 cells, 1 year, no burn-in). A configuration the schema refuses is fine
("refused"); one it accepts must run one year without an exception, with the parcel and
ledger invariants and finite metrics ("ok"), else it is listed ("CRASH" / "NaN"). One process,
memory capped at 6 GB, 60 s per run; about a minute and a half on one core (617 cases).

    .venv/bin/python bench/fuzz_inputs.py [--only PREFIX] [--seeds 2] [--big 1e300] [--show-ok]

Exit status 1 when any accepted configuration crashed or gave a non-finite metric.
"""

from __future__ import annotations

import argparse
import copy
import math
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel, ValidationError  # noqa: E402

from sim.instruments import REGISTRY  # noqa: E402
from sim.scenario import Scenario, ScenarioError, Series, Trend  # noqa: E402

TINY = {"city": {"size_cells": 32}, "horizon_years": 1, "burn_in_years": 0}
BIG = 1e9          # the "upper bound" of a side without one
TIMEOUT_S = 60     # one run of the tiny city takes well under a second


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout(f"no result within {TIMEOUT_S} s")


def _bounds(meta: list) -> tuple[float | None, bool, float | None, bool]:
    """(low, low_inclusive, high, high_inclusive) from pydantic/annotated-types metadata."""
    lo = hi = None
    lo_inc = hi_inc = True
    for m in meta:
        for attr, inc in (("ge", True), ("gt", False)):
            if getattr(m, attr, None) is not None:
                lo, lo_inc = getattr(m, attr), inc
        for attr, inc in (("le", True), ("lt", False)):
            if getattr(m, attr, None) is not None:
                hi, hi_inc = getattr(m, attr), inc
    return lo, lo_inc, hi, hi_inc


def _metadata(annotation: Any) -> list:
    """Constraint metadata of an annotation (through Annotated and Optional)."""
    out = []
    if get_origin(annotation) is Annotated:
        args = get_args(annotation)
        for a in args[1:]:
            out.extend(getattr(a, "metadata", None) or [a])   # Field(...) inside Annotated holds Ge/Le
        out.extend(_metadata(args[0]))
    elif get_origin(annotation) in (Union, UnionType):
        for a in get_args(annotation):
            out.extend(_metadata(a))
    return out


def candidates(value: Any, meta: list) -> list:
    """0, the lower bound and the upper bound (or -1 / BIG where a side is open)."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    lo, lo_inc, hi, hi_inc = _bounds(meta)
    eps = 1 if is_int else 1e-9
    out = [0]
    out.append((lo if lo_inc else lo + eps) if lo is not None else -1)
    out.append((hi if hi_inc else hi - eps) if hi is not None else (10**9 if is_int else BIG))
    seen, vals = set(), []
    for v in out:
        v = int(v) if is_int else float(v)
        if v not in seen:
            seen.add(v)
            vals.append(v)
    return vals


def numeric_leaves(model_cls: type[BaseModel], data: dict, prefix: tuple = ()) -> list[tuple[tuple, Any, list]]:
    """(path, current value, constraint metadata) of every number below a model's dumped ``data``."""
    leaves = []
    for name, field in model_cls.model_fields.items():
        if name not in data or name == "kind":
            continue
        value, ann = data[name], field.annotation
        meta = list(field.metadata) + _metadata(ann)
        leaves.extend(_leaves_of(ann, value, meta, prefix + (name,)))
    return leaves


def _leaves_of(ann: Any, value: Any, meta: list, path: tuple) -> list:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [(path, value, meta)]
    vt = _dict_value_type(ann)
    if isinstance(value, dict) and vt is not None and _model_in(vt) is not None:   # dict of models
        return [leaf for k, v in value.items() for leaf in numeric_leaves(_model_in(vt), v, path + (k,))]
    sub = _model_in(ann)
    if isinstance(value, dict) and sub is not None:
        return numeric_leaves(sub, value, path)
    if isinstance(value, dict) and "series" in value:
        return [(path + ("series", y), v, meta) for y, v in value["series"].items()]
    if isinstance(value, dict) and set(value) <= {"value", "per_year"}:
        return [(path + (k,), v, meta if k == "value" else []) for k, v in value.items()]
    if isinstance(value, dict):
        vt = _dict_value_type(ann)
        out = []
        for k, v in value.items():
            out.extend(_leaves_of(vt, v, _metadata(vt) if vt is not None else meta, path + (k,)))
        return out
    return []


def _model_in(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel) and ann not in (Trend, Series):
        return ann
    for a in get_args(ann):
        m = _model_in(a)
        if m is not None:
            return m
    return None


def _dict_value_type(ann: Any) -> Any:
    if get_origin(ann) is Annotated:
        return _dict_value_type(get_args(ann)[0])
    if get_origin(ann) is dict:
        return get_args(ann)[1]
    return None


def set_in(data: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(data)
    node = out
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return out


def run_once(data: dict, seeds: int) -> tuple[str, str]:
    """('refused' | 'ok' | 'CRASH' | 'NaN', detail)."""
    from sim.model import CityModel
    from sim.outputs import release_model
    try:
        scenario = Scenario.from_dict(data, source="fuzz")
    except ScenarioError as e:
        return "refused", e.problems[0]
    except Exception as e:  # noqa: BLE001 - a validator that raises anything else is a bug too
        return "CRASH", f"validation raised {type(e).__name__}: {e}"
    for seed in range(seeds):
        signal.alarm(TIMEOUT_S)
        try:
            model = CityModel(scenario, seed=seed)
            for _ in range(scenario.n_steps):
                model.step()
            model.parcels.check()
            model.municipality.check_ledger()
            bad = sorted({k for r in model.records for k, v in r.items() if not math.isfinite(v)})
            release_model(model)
        except Exception as e:  # noqa: BLE001
            tb = traceback.extract_tb(e.__traceback__)[-1]
            return "CRASH", f"seed {seed}: {type(e).__name__}: {str(e)[:150]} ({Path(tb.filename).name}:{tb.lineno})"
        finally:
            signal.alarm(0)
        if bad:
            return "NaN", f"seed {seed}: non-finite {bad[:6]}"
    return "ok", ""


def cases(base: dict) -> list[tuple[str, dict]]:
    """(label, scenario dict) of every fuzz case."""
    full = Scenario.from_dict(base).to_dict()
    out = []
    for path, value, meta in numeric_leaves(Scenario, full):
        if path[0] == "instruments":
            continue
        for v in candidates(value, meta):
            out.append((f"{'.'.join(map(str, path))}={v}", set_in(full, path, v)))
    # weight vectors all zero, alone and together
    agents = full["agents"]
    zero = {
        "agents.households.income_mix=0": [("agents", "households", "income_mix", k) for k in agents["households"]["income_mix"]],
        "agents.owners.buyer_mix=0": [("agents", "owners", "buyer_mix", k) for k in agents["owners"]["buyer_mix"]],
        "agents.owners.kinds.*.parcel_share_core=0": [("agents", "owners", "kinds", k, "parcel_share_core") for k in agents["owners"]["kinds"]],
        "agents.owners.kinds.*.parcel_share_edge=0": [("agents", "owners", "kinds", k, "parcel_share_edge") for k in agents["owners"]["kinds"]],
        "agents.owners.kinds.*.count_per_1000_parcels=0": [("agents", "owners", "kinds", k, "count_per_1000_parcels") for k in agents["owners"]["kinds"]],
        "agents.businesses.sectors.*.entry_rate_per_1000_units=0": [("agents", "businesses", "sectors", k, "entry_rate_per_1000_units") for k in agents["businesses"]["sectors"]],
        "agents.businesses.sectors.*.sales_density_eur_m2=0": [("agents", "businesses", "sectors", k, "sales_density_eur_m2") for k in agents["businesses"]["sectors"]],
        "agents.businesses.sectors.*.gross_margin=0": [("agents", "businesses", "sectors", k, "gross_margin") for k in agents["businesses"]["sectors"]],
        "agents.businesses.sectors.*.footfall_elasticity=0": [("agents", "businesses", "sectors", k, "footfall_elasticity") for k in agents["businesses"]["sectors"]],
        "agents.businesses.sectors.*.local_share=1": [("agents", "businesses", "sectors", k, "local_share") for k in agents["businesses"]["sectors"]],
        "market.street_weight=0": [("market", "street_weight", k) for k in full["market"]["street_weight"]],
        "market.street_weight=0+anchors=0": [("market", "street_weight", k) for k in full["market"]["street_weight"]]
        + [("market", "anchor_station"), ("market", "anchor_square")],
        "market.street_weight=0+anchors=0+resident_attraction=0": [("market", "street_weight", k) for k in full["market"]["street_weight"]]
        + [("market", "anchor_station"), ("market", "anchor_square"), ("market", "resident_attraction")],
        "market.street_weight.A1=0+resident_attraction=0": [("market", "street_weight", "A1"), ("market", "resident_attraction")],
        "market.street_weight.residential=0+resident_attraction=0": [("market", "street_weight", "residential"), ("market", "resident_attraction")],
        "context.visitor_demand=0+resident_attraction=0": [("context", "visitor_demand"), ("market", "resident_attraction")],
        "context.visitor_demand=0+upper_floor_dwellings_mean=0": [("context", "visitor_demand"), ("agents", "households", "upper_floor_dwellings_mean")],
        "market.street_weight=0+resident_attraction=0": [("market", "street_weight", k) for k in full["market"]["street_weight"]]
        + [("market", "resident_attraction")],
        "market.street_weight=0+anchors=0+upper_floor_dwellings_mean=0+footfall_radius_cells=1":
        [("market", "street_weight", k) for k in full["market"]["street_weight"]]
        + [("market", "anchor_station"), ("market", "anchor_square"),
           ("agents", "households", "upper_floor_dwellings_mean"), ("market", "footfall_radius_cells")],
        "market.street_weight.A1=0+resident_attraction=0+footfall_radius_cells=1":
        [("market", "street_weight", "A1"), ("market", "resident_attraction"), ("market", "footfall_radius_cells")],
        "market.street_weight.(A1,A2,B,C)=0+anchors=0+resident_attraction=0+footfall_radius_cells=1":
        [("market", "street_weight", k) for k in ("A1", "A2", "B", "C")]
        + [("market", "anchor_station"), ("market", "anchor_square"), ("market", "resident_attraction"),
           ("market", "footfall_radius_cells")],
        "market.street_weight.(A2,B,C,residential)=0+anchors=0+resident_attraction=0+footfall_radius_cells=1":
        [("market", "street_weight", k) for k in ("A2", "B", "C", "residential")]
        + [("market", "anchor_station"), ("market", "anchor_square"), ("market", "resident_attraction"),
           ("market", "footfall_radius_cells")],
        "households.income_eur_month=0": [("agents", "households", "income_eur_month", k) for k in ("low", "middle", "high")],
    }
    for label, paths in zero.items():
        data = full
        for p in paths:
            one = label.endswith("=1") or p[-1] == "footfall_radius_cells"
            data = set_in(data, p, (1 if p[-1] == "footfall_radius_cells" else 1.0) if one else 0.0)
        out.append((label, data))
    out.append(("context.visitor_demand=0 (trend)", set_in(full, ("context", "visitor_demand"), {"value": 0.0, "per_year": 0.0})))
    out.append(("rents=1e6", set_in(set_in(full, ("agents", "households", "rent_private_eur_month"), 1e6),
                                    ("agents", "households", "rent_social_eur_month"), 1e6)))
    # one instrument at a time over the whole city
    for kind, cls in sorted(REGISTRY.items()):
        inst = cls.config_class(kind=kind).model_dump(mode="json")
        inst.pop("area")
        base_i = {**full, "instruments": [inst]}
        out.append((f"instruments[{kind}] defaults", base_i))
        for path, value, meta in numeric_leaves(cls.config_class, inst):
            for v in candidates(value, meta):
                out.append((f"instruments[{kind}].{'.'.join(map(str, path))}={v}",
                            set_in(base_i, ("instruments", 0) + path, v)))
        for field in ("target_mix", "comply_below_floor"):
            if field in inst:
                zeros = {k: 0.0 for k in inst[field]}
                out.append((f"instruments[{kind}].{field}=0", set_in(base_i, ("instruments", 0, field), zeros)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="only cases whose label starts with this")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per accepted case (default 2)")
    ap.add_argument("--show-ok", action="store_true", help="also list the cases that ran fine")
    ap.add_argument("--big", type=float, default=BIG, help=f"value for open upper bounds (default {BIG:g})")
    args = ap.parse_args()
    globals()["BIG"] = args.big
    resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))   # a blow-up is a MemoryError, not a dead machine
    signal.signal(signal.SIGALRM, _alarm)
    from sim.executors import warm_kernels
    warm_kernels()
    todo = [(label, data) for label, data in cases(TINY) if label.startswith(args.only)]
    counts: dict[str, int] = {}
    bad = 0
    t0 = time.perf_counter()
    for label, data in todo:
        status, detail = run_once(data, args.seeds)
        counts[status] = counts.get(status, 0) + 1
        if status in ("CRASH", "NaN"):
            bad += 1
        if status in ("CRASH", "NaN") or args.show_ok or (status == "refused" and args.only):
            print(f"{status:8s} {label}  {detail}", flush=True)
    print(f"{len(todo)} cases in {time.perf_counter() - t0:.0f} s: {counts}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
