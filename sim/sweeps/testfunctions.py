"""Analytic test functions with known Sobol indices: known-answer checks of the sweep pipeline.

Ishigami (Ishigami & Homma 1990) with a = 7, b = 0.1 on [-pi, pi]^3, and the
Sobol G function (Sobol 1993; Saltelli et al. 2010) on [0, 1]^k. The formulas of
the indices are the textbook ones (Saltelli et al. 2008, Global Sensitivity
Analysis: The Primer, ch. 4; SALib's own tests use the same values).
"""

from __future__ import annotations

import numpy as np

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def ishigami(x: np.ndarray, a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> np.ndarray:
    """y = sin x1 + a sin^2 x2 + b x3^4 sin x1, row-wise."""
    x = np.atleast_2d(x)
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, np.ndarray]:
    """Analytic first-order and total indices of the Ishigami function."""
    v1 = 0.5 * (1 + b * np.pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * np.pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": np.array([v1, v2, 0.0]) / v, "ST": np.array([v1 + v13, v2, v13]) / v}


def sobol_g(x: np.ndarray, a) -> np.ndarray:
    """y = prod_i (|4 x_i - 2| + a_i) / (1 + a_i), row-wise."""
    x, a = np.atleast_2d(x), np.asarray(a, dtype=float)
    return np.prod((np.abs(4 * x - 2) + a) / (1 + a), axis=1)


def sobol_g_indices(a) -> dict[str, np.ndarray]:
    """Analytic first-order and total indices of the Sobol G function."""
    vi = 1 / (3 * (1 + np.asarray(a, dtype=float)) ** 2)
    v = np.prod(1 + vi) - 1
    total = np.array([vi[i] * np.prod(np.delete(1 + vi, i)) for i in range(vi.size)]) / v
    return {"S1": vi / v, "ST": total}
