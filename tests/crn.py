"""Common-random-number comparisons for instrument tests.

The reference run is the same scenario with every instrument switched off by a
start year beyond the horizon: the instrument objects exist (so their area
metrics are recorded) but never act, and replicate i uses the same seed in both
runs. Any difference is the instrument's effect, not seed noise.
"""

from __future__ import annotations

import numpy as np

from sim.outputs import simulate
from sim.scenario import Scenario, deep_merge

CRN_SEEDS = [11, 22, 33, 44, 55]   # 5 replicates, the same under both variants (keyed streams keep them paired)
HORIZON_YEARS = 8                               # short horizon: enough for the effects, fast


def load(path: str, **overrides) -> Scenario:
    return Scenario.from_yaml(path, overrides=deep_merge({"horizon_years": HORIZON_YEARS}, overrides))


def switched_off(scenario: Scenario) -> Scenario:
    """The scenario with its instruments present but never active."""
    data = scenario.to_dict()
    for inst in data["instruments"]:
        inst["start_year"] = 2200
        inst["end_year"] = None
    return Scenario.from_dict(data)


def run_pair(scenario: Scenario, seeds=CRN_SEEDS):
    """Metrics (wide: step × metric) of the reference and the instrument run, per seed."""
    out = []
    for seed in seeds:
        ref = simulate(switched_off(scenario), seed=seed).metrics
        ins = simulate(scenario, seed=seed).metrics
        wide = [m.pivot_table(index="step", columns="metric", values="value", observed=True) for m in (ref, ins)]
        out.append(tuple(wide))
    return out


def mean_over(pairs, metric: str, reduce=lambda s: s.iloc[-4:].mean()) -> tuple[float, float]:
    """Mean over seeds of ``reduce(series)`` (default: the last year) for reference and instrument."""
    ref = np.mean([reduce(r[metric]) for r, _ in pairs])
    ins = np.mean([reduce(i[metric]) for _, i in pairs])
    return float(ref), float(ins)


def variant(path: str, **settings) -> dict:
    """Overrides that change settings of the scenario's (single) instrument."""
    inst = load(path).instruments[0].model_dump(mode="json")
    return {"instruments": [{**inst, **settings}]}
