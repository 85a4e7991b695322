"""Regie: agent-based simulator of Dutch inner-city transformation.

The public Python API (docs/api.md) is importable from here and, under the distribution's
name, from ``regie`` (the same objects)::

    import sim                                    # or: import regie
    baseline = sim.load_scenario("scenarios/baseline.yaml", horizon_years=10)
    result = sim.run(baseline, replicates=4)      # result.metrics, result.wide(), result.plot_kpis()

The names are imported on first use, so that ``import sim`` (and the ``regie`` command)
stays quick: numba, Mesa and pandas load only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.5.0"

# public name -> the module that defines it
_PUBLIC: dict[str, str] = {
    "load_scenario": "sim.api",
    "variant": "sim.api",
    "run": "sim.api",
    "compare": "sim.api",
    "sweep": "sim.api",
    "kpi_collector": "sim.api",
    "RunResult": "sim.api",
    "CompareResult": "sim.workshop.compare",
    "SweepResult": "sim.sweeps.sweep",
    "CityModel": "sim.model",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
}
__all__ = ["__version__", "load_scenario", "variant", "run", "compare", "sweep", "kpi_collector", "RunResult",
           "CompareResult", "SweepResult", "CityModel", "Scenario", "ScenarioError"]   # = _PUBLIC (tested)


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


if TYPE_CHECKING:   # what type checkers and IDEs see (sim/py.typed)
    from sim.api import RunResult, compare, kpi_collector, load_scenario, run, sweep, variant
    from sim.workshop.compare import CompareResult
    from sim.sweeps.sweep import SweepResult
    from sim.model import CityModel
    from sim.scenario import Scenario, ScenarioError
