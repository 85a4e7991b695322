"""Shared test set-up.

The suite runs on every core (pytest-xdist, see the Makefile). On a fresh machine numba's
cache is empty, and concurrent first compiles into one cache directory can crash a process,
so every test process first compiles (or loads) the kernels under a machine-wide lock:
the first compiles and writes the cache, the others load it.

Figures are drawn with the Agg backend (no display). Regie itself chooses no backend; the
notebook test's kernel is another process and keeps its own (inline).
"""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session", autouse=True)
def _kernels_compiled_once_per_machine():
    from sim.executors import warm_kernels
    warm_kernels()
