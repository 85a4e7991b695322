"""Agent state that kernels need, as growable numpy arrays indexed by the agent's slot."""

from __future__ import annotations

import numpy as np


class SlotStore:
    """Named arrays of equal length; ``add`` appends one slot and returns its index.

    Slots are never reused, so an agent's slot is stable for the whole run and
    arrays can be handed to kernels as they are (``view`` trims to the used part).
    """

    def __init__(self, dtypes: dict[str, np.dtype], capacity: int = 256):
        self._dtypes = dict(dtypes)
        self._cap = max(16, int(capacity))
        self._arrays = {k: np.zeros(self._cap, dt) for k, dt in self._dtypes.items()}
        self.n = 0

    def _grow(self, need: int) -> None:
        cap = self._cap
        while cap < need:
            cap *= 2
        for k, arr in self._arrays.items():
            new = np.zeros(cap, arr.dtype)
            new[: self.n] = arr[: self.n]
            self._arrays[k] = new
        self._cap = cap

    def add(self, **values) -> int:
        if self.n + 1 > self._cap:
            self._grow(self.n + 1)
        slot = self.n
        for k, v in values.items():
            self._arrays[k][slot] = v
        self.n += 1
        return slot

    def add_many(self, count: int, **values) -> np.ndarray:
        """Append ``count`` slots; each value is a scalar or an array of length ``count``."""
        if self.n + count > self._cap:
            self._grow(self.n + count)
        slots = np.arange(self.n, self.n + count)
        for k, v in values.items():
            self._arrays[k][self.n: self.n + count] = v
        self.n += count
        return slots

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays")
        if arrays is not None and name in arrays:
            return arrays[name][: self.n]
        raise AttributeError(name)
