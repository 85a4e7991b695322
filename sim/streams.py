"""Keyed random numbers: every draw is fixed by (run seed, purpose, step, entity, k).

A draw never depends on how many draws came before it, so an instrument that draws
(or an agent that appears) changes nothing that anything else draws: common random
numbers hold between scenarios for as long as the same decision is taken about the
same entity at the same step. The model of this is ActivitySim's random "channels"
(per household/person offsets, so that one agent's draws never depend on another's)
and the common-random-numbers practice of microsimulation (Stout & Goldie 2008,
"Keeping the noise down: common random numbers for disease simulation modeling",
Health Care Management Science 11: 399-406).

The generator is Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random
numbers: as easy as 1, 2, 3", SC'11), a counter-based generator: a keyed bijection
of a 128-bit counter. Here the key comes from the run seed and the counter is
(purpose, step, entity, k), vectorised over entities with numpy, so that a whole
array of draws for one purpose is one call. It passes BigCrush (the paper) and the
implementation reproduces Random123's published known-answer vectors (tested).

Entities are stable keys: a parcel index, an owner / business / household slot, or
for what does not exist yet (entrants, in-movers) a number made of where and when it
appears (e.g. ``sector * 2**16 + k`` at a step). Purposes are dotted names
(``business.exit``, ``entrant.arrivals.horeca``, ``instrument.bibob.screening``, ...).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from sim.kernels.philox import keyed_race, keyed_race_grouped, keyed_uniforms   # compiled twins of philox4x32 (same bits)

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)     # Philox4x32 multipliers (Salmon et al. 2011)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)     # Weyl key increments (golden ratio, sqrt 3)
_MASK32 = np.uint64(0xFFFFFFFF)
_ROUNDS = 10


def philox4x32(c0, c1, c2, c3, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Philox4x32-10 of the counters (four arrays of 32-bit words, broadcast together) under
    the key (k0, k1): four arrays of 32-bit output words (as uint64)."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & _MASK32 for c in (c0, c1, c2, c3))
    c0, c1, c2, c3 = np.broadcast_arrays(c0, c1, c2, c3)
    key0, key1 = np.uint64(k0) & _MASK32, np.uint64(k1) & _MASK32
    for r in range(_ROUNDS):
        if r:
            key0, key1 = (key0 + _W0) & _MASK32, (key1 + _W1) & _MASK32
        p0 = _M0 * c0           # 32 x 32 -> 64 bits: fits uint64
        p1 = _M1 * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ key0, p1 & _MASK32,
                          (p0 >> np.uint64(32)) ^ c3 ^ key1, p0 & _MASK32)
    return c0, c1, c2, c3


def _philox4x32_scalar(c0: int, c1: int, c2: int, c3: int, k0: int, k1: int) -> tuple[int, int, int, int]:
    """``philox4x32`` of one counter in plain Python integers (numpy's per-call overhead would
    dominate the one-number draws: a Poisson count per step and purpose)."""
    for r in range(_ROUNDS):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & 0xFFFFFFFF, (k1 + 0xBB67AE85) & 0xFFFFFFFF
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & 0xFFFFFFFF, (p0 >> 32) ^ c3 ^ k1, p0 & 0xFFFFFFFF
    return c0, c1, c2, c3


def purpose_word(purpose: str) -> int:
    """A stable 32-bit number for a purpose name (BLAKE2b: the same on every machine and run)."""
    return int.from_bytes(hashlib.blake2b(purpose.encode(), digest_size=4).digest(), "little")


class Streams:
    """The keyed random numbers of one run (one root seed)."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        k0, k1 = np.random.SeedSequence(self.seed).generate_state(2, dtype=np.uint32)
        self._key = (int(k0), int(k1))
        self._purposes: dict[int, str] = {}
        self._words: dict[str, int] = {}

    def _word(self, purpose: str) -> int:
        word = self._words.get(purpose)
        if word is None:
            word = purpose_word(purpose)
            known = self._purposes.setdefault(word, purpose)
            if known != purpose:   # 32-bit names: a clash is astronomically unlikely, but never silent
                raise ValueError(f"random purposes {known!r} and {purpose!r} share a key; rename one")
            self._words[purpose] = word
        return word

    def uniform(self, purpose: str, step: int, entities, k=0) -> np.ndarray:
        """One U[0, 1) number per entity (53-bit resolution), fixed by (seed, purpose, step, entity, k).

        ``entities`` and ``k`` are integers or arrays (broadcast together); entities and k are
        taken modulo 2**32, ``step`` may be negative (burn-in)."""
        if np.ndim(entities) == 0 and np.ndim(k) == 0:
            m = 0xFFFFFFFF
            w0, w1, _, _ = _philox4x32_scalar(self._word(purpose), int(step) & m, int(entities) & m, int(k) & m,
                                              *self._key)
            return np.float64(((w0 >> 5) * 67108864 + (w1 >> 6)) * (1.0 / 9007199254740992.0))
        e, kk = np.broadcast_arrays(np.asarray(entities, dtype=np.int64), np.asarray(k, dtype=np.int64))
        u = keyed_uniforms(self._word(purpose), int(step), e.ravel(), kk.ravel(), *self._key)
        return u.reshape(e.shape)

    def uniform_numpy(self, purpose: str, step: int, entities, k=0) -> np.ndarray:
        """``uniform`` computed with the numpy ``philox4x32`` (the test oracle of the compiled one)."""
        w0, w1, _, _ = philox4x32(self._word(purpose), np.int64(step).astype(np.uint64),
                                  np.asarray(entities, dtype=np.int64).astype(np.uint64),
                                  np.asarray(k, dtype=np.int64).astype(np.uint64), *self._key)
        return ((w0 >> np.uint64(5)) * 67108864.0 + (w1 >> np.uint64(6))) * (1.0 / 9007199254740992.0)

    def uniforms(self, purpose: str, step: int, entities, n: int) -> np.ndarray:
        """``n`` numbers per entity: shape (len(entities), n), column j = ``uniform(..., k=j)``."""
        entities = np.asarray(entities, dtype=np.int64).reshape(-1, 1)
        return self.uniform(purpose, step, entities, np.arange(n, dtype=np.int64).reshape(1, -1))

    def generator(self, purpose: str, step: int, entity: int = 0) -> np.random.Generator:
        """A numpy Generator of its own for one (purpose, step, entity): for the few draws whose
        number is not known in advance (a Poisson count, a permutation of a short list). Cheap
        enough per step and sector; never use it per agent in a hot loop (use ``uniform``)."""
        words = philox4x32(self._word(purpose), np.int64(step).astype(np.uint64), np.uint64(entity & 0xFFFFFFFF),
                           np.uint64(0xFFFFFFFF), *self._key)
        key = [int(w) for w in words]
        return np.random.Generator(np.random.Philox(key=np.array([key[0] | key[1] << 32, key[2] | key[3] << 32],
                                                                 dtype=np.uint64)))

    def order(self, purpose: str, step: int, entities) -> np.ndarray:
        """A keyed random order of ``entities`` (indices into it): each entity's place comes from
        its own number, so adding or removing one entity does not reorder the others."""
        entities = np.asarray(entities, dtype=np.int64)
        return np.argsort(self.uniform(purpose, step, entities), kind="stable")

    def choice(self, purpose: str, step: int, entities, weights: np.ndarray, k=0) -> np.ndarray:
        """One index into ``weights`` per entity, with probability proportional to the weights
        (inverse CDF of a keyed uniform); ``weights`` must have a positive sum."""
        cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
        u = self.uniform(purpose, step, entities, k) * cdf[-1]
        return np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)

    def race(self, purpose: str, step: int, entities, candidates, weights) -> np.ndarray:
        """For each entity, the index of the candidate it picks with probability proportional to
        ``weights``: the smallest exponential of rate w, keyed by (entity, candidate) — the
        "exponential race" (Gumbel-max) form of a categorical draw. Unlike an inverse CDF over a
        list, a change of one candidate's weight, or a candidate joining or leaving, changes an
        entity's pick only where that candidate wins or loses the race: the coupling common
        random numbers need when two scenarios' candidate sets differ a little."""
        return keyed_race(self._word(purpose), int(step), np.asarray(entities, dtype=np.int64).ravel(),
                          candidates, weights, *self._key)

    def race_grouped(self, purpose: str, step: int, entities, candidates, groups, weights) -> np.ndarray:
        """``race`` in two levels — a group (a fixed tile of the map, say) by its total weight, then
        a candidate within it — with the same distribution and coupling at a fraction of the draws
        (groups + candidates per group per entity). ``groups``: a static group id per candidate."""
        return keyed_race_grouped(self._word(purpose + ".group"), self._word(purpose), int(step),
                                  np.asarray(entities, dtype=np.int64).ravel(), candidates, groups, weights,
                                  *self._key)

    def race_grouped_numpy(self, purpose: str, step: int, entities, candidates, groups, weights) -> np.ndarray:
        """``race_grouped`` composed of two numpy races (the test oracle)."""
        candidates, groups = np.asarray(candidates, dtype=np.int64), np.asarray(groups, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        ids = np.unique(groups)
        totals = np.array([weights[groups == g].sum() for g in ids])
        out = []
        for e in np.asarray(entities, dtype=np.int64).ravel():
            g = ids[self.race_numpy(purpose + ".group", step, [e], ids, totals)[0]]
            inside = np.flatnonzero(groups == g)
            out.append(inside[self.race_numpy(purpose, step, [e], candidates[inside], weights[inside])[0]])
        return np.array(out, dtype=np.int64)

    def race_numpy(self, purpose: str, step: int, entities, candidates, weights) -> np.ndarray:
        """``race`` in numpy over the whole (entity × candidate) matrix (the test oracle)."""
        u = self.uniform_numpy(purpose, step, np.asarray(entities, dtype=np.int64).reshape(-1, 1),
                               np.asarray(candidates, dtype=np.int64).reshape(1, -1))
        with np.errstate(divide="ignore"):
            key = -np.log1p(-u) / np.asarray(weights, dtype=np.float64).reshape(1, -1)
        return np.argmin(key, axis=1)

    def poisson(self, purpose: str, step: int, lam, entities=0) -> np.ndarray | int:
        """Poisson counts by inversion of keyed uniforms: a larger rate never gives fewer events
        for the same key (monotone coupling, which keeps two scenarios' counts close)."""
        return poisson_inverse(self.uniform(purpose, step, entities), lam)

    def weighted_sample(self, purpose: str, step: int, entities, weights, n: int) -> np.ndarray:
        """``n`` distinct indices into ``entities`` drawn without replacement with probability
        proportional to ``weights`` (Efraimidis & Spirakis 2006: the n smallest keyed
        exponentials of rate w); an entity's key does not depend on the others."""
        entities = np.asarray(entities, dtype=np.int64)
        w = np.asarray(weights, dtype=np.float64)
        u = self.uniform(purpose, step, entities)
        with np.errstate(divide="ignore"):
            key = -np.log1p(-u) / w          # Exp(w): zero weights give +inf (never before a positive one)
        return np.argsort(key, kind="stable")[: min(n, entities.size)]


def poisson_inverse(u, lam) -> np.ndarray | int:
    """The Poisson(lam) quantile of ``u`` (inverse CDF); 0 where lam <= 0. A scalar ``u`` and
    ``lam`` (the usual case: one count per step and purpose) take a fast path without scipy."""
    if np.ndim(u) == 0 and np.ndim(lam) == 0:
        return _poisson_quantile(float(u), float(lam))
    u = np.asarray(u, dtype=np.float64)
    if np.ndim(lam) == 0:        # one rate for all: invert one CDF table
        lam = float(lam)
        if lam <= 0.0:
            return np.zeros(u.shape, np.int64)
        cdf = _poisson_cdf(lam)
        return np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1).astype(np.int64)
    from scipy.stats import poisson
    lam = np.asarray(lam, dtype=np.float64)
    safe = np.maximum(lam, 1e-300)
    return np.where(lam > 0, np.maximum(poisson.ppf(u, safe), 0.0), 0.0).astype(np.int64)


def _poisson_quantile(u: float, lam: float) -> int:
    """Smallest k with P(X <= k) > u for X ~ Poisson(lam)."""
    if lam <= 0.0:
        return 0
    if lam < 30.0:      # sum the pmf upwards: a few dozen terms at most
        p = math.exp(-lam)
        cdf, k = p, 0
        while u >= cdf and k < 10_000:
            k += 1
            p *= lam / k
            cdf += p
        return k
    cdf = _poisson_cdf(lam)
    return int(min(np.searchsorted(cdf, u, side="right"), cdf.size - 1))


def _poisson_cdf(lam: float) -> np.ndarray:
    """The Poisson(lam) CDF at 0, 1, ..., up to lam + 12 sqrt(lam) + 20 (12 standard deviations: the mass beyond is negligible)."""
    from scipy.special import gammaln
    ks = np.arange(int(lam + 12.0 * math.sqrt(lam) + 20.0))
    return np.cumsum(np.exp(ks * math.log(lam) - lam - gammaln(ks + 1.0)))
