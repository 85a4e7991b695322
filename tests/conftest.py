"""Shared test set-up.

The suite runs on every core (pytest-xdist, see the Makefile). On a fresh machine numba's
cache is empty, and concurrent first compiles into one cache directory can crash a process,
so every test process first compiles (or loads) the kernels under a machine-wide lock:
the first compiles and writes the cache, the others load it.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernels_compiled_once_per_machine():
    from sim.experiments.executors import warm_kernels
    warm_kernels()
