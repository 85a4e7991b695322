"""Input checks shared by the kernels' public wrappers.

numba does not bounds-check indexing: a wrongly shaped array would read
garbage or crash the process, so every wrapper checks shapes first.
"""

from __future__ import annotations

import numpy as np


def same_shape(kernel: str, **arrays: np.ndarray) -> tuple[int, ...]:
    """Raise ValueError unless every array has the shape of the first; return that shape."""
    shapes = {name: np.shape(a) for name, a in arrays.items()}
    first = next(iter(shapes.values()))
    bad = {n: s for n, s in shapes.items() if s != first}
    if bad:
        raise ValueError(f"{kernel}: arrays differ in shape: expected {first}, got {bad}")
    return first


def in_range(kernel: str, name: str, values: np.ndarray, low: int, high: int) -> None:
    """Raise ValueError unless low <= values < high."""
    v = np.asarray(values)
    if v.size and (v.min() < low or v.max() >= high):
        raise ValueError(f"{kernel}: {name} outside {low}..{high - 1} (got {v.min()}..{v.max()})")
