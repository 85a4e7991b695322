"""Philox4x32-10 as a kernel: the keyed uniforms of ``sim.streams`` for large arrays.

This is not a random number generator with a state: it is the same pure function of
(key, purpose, step, entity, k) that ``sim.streams.philox4x32`` computes in numpy (its twin,
tested bit for bit), compiled because the model draws tens of thousands of keyed numbers a
step. The randomness stays owned by ``sim.streams.Streams``, which passes every key in.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MASK = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _block(c0, c1, c2, c3, k0, k1):
    m0 = np.uint64(0xD2511F53)
    m1 = np.uint64(0xCD9E8D57)
    w0 = np.uint64(0x9E3779B9)
    w1 = np.uint64(0xBB67AE85)
    mask = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    for r in range(10):
        if r > 0:
            k0 = (k0 + w0) & mask
            k1 = (k1 + w1) & mask
        p0 = m0 * c0
        p1 = m1 * c2
        n0 = (p1 >> s32) ^ c1 ^ k0
        n1 = p1 & mask
        n2 = (p0 >> s32) ^ c3 ^ k1
        n3 = p0 & mask
        c0, c1, c2, c3 = n0, n1, n2, n3
    return c0, c1


@njit(cache=True, inline="always")
def _uniform(word, step, entity, k, k0, k1):
    w0, w1 = _block(word, step, entity, k, k0, k1)
    return ((w0 >> np.uint64(5)) * 67108864.0 + (w1 >> np.uint64(6))) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _uniforms(word, step, entities, ks, k0, k1):
    out = np.empty(entities.size, np.float64)
    mask = np.uint64(0xFFFFFFFF)
    for i in range(entities.size):
        out[i] = _uniform(word, step, np.uint64(entities[i]) & mask, np.uint64(ks[i]) & mask, k0, k1)
    return out


@njit(cache=True)
def _race(word, step, entities, candidates, weights, k0, k1):
    out = np.zeros(entities.size, np.int64)
    mask = np.uint64(0xFFFFFFFF)
    for i in range(entities.size):
        e = np.uint64(entities[i]) & mask
        best = np.inf
        for j in range(candidates.size):
            w = weights[j]
            if w <= 0.0:
                continue
            u = _uniform(word, step, e, np.uint64(candidates[j]) & mask, k0, k1)
            key = -np.log1p(-u) / w
            if key < best:
                best = key
                out[i] = j
    return out


def keyed_uniforms(word: int, step: int, entities: np.ndarray, ks: np.ndarray, k0: int, k1: int) -> np.ndarray:
    """U[0, 1) for each (entity, k) pair (flat int64 arrays of equal length) under one purpose word,
    step and key; equal bit for bit to ``sim.streams`` in numpy."""
    entities = np.ascontiguousarray(entities, dtype=np.int64)
    ks = np.ascontiguousarray(ks, dtype=np.int64)
    if entities.shape != ks.shape or entities.ndim != 1:
        raise ValueError(f"entities and ks must be flat arrays of one length (got {entities.shape}, {ks.shape})")
    return _uniforms(np.uint64(word & 0xFFFFFFFF), np.uint64(step & 0xFFFFFFFF), entities, ks,
                     np.uint64(k0), np.uint64(k1))


def keyed_race(word: int, step: int, entities: np.ndarray, candidates: np.ndarray, weights: np.ndarray,
               k0: int, k1: int) -> np.ndarray:
    """For each entity, the index of the candidate with the smallest keyed Exp(weight) (zero weights
    never win; an entity whose candidates all weigh zero gets index 0)."""
    entities = np.ascontiguousarray(entities, dtype=np.int64).ravel()
    candidates = np.ascontiguousarray(candidates, dtype=np.int64).ravel()
    weights = np.ascontiguousarray(weights, dtype=np.float64).ravel()
    if candidates.shape != weights.shape:
        raise ValueError(f"one weight per candidate (got {candidates.shape}, {weights.shape})")
    return _race(np.uint64(word & 0xFFFFFFFF), np.uint64(step & 0xFFFFFFFF), entities, candidates, weights,
                 np.uint64(k0), np.uint64(k1))


@njit(cache=True)
def _race_grouped(word_group, word_item, step, entities, candidates, group_start, group_weight, weights, k0, k1):
    """Two-level race: a group by its total weight, then a candidate within the group (candidates
    sorted by group; ``group_start[g]:group_start[g+1]`` are group g's)."""
    out = np.zeros(entities.size, np.int64)
    mask = np.uint64(0xFFFFFFFF)
    n_groups = group_weight.size
    for i in range(entities.size):
        e = np.uint64(entities[i]) & mask
        best, g_best = np.inf, -1
        for g in range(n_groups):
            w = group_weight[g]
            if w <= 0.0:
                continue
            key = -np.log1p(-_uniform(word_group, step, e, np.uint64(g), k0, k1)) / w
            if key < best:
                best, g_best = key, g
        if g_best < 0:
            continue
        best = np.inf
        for j in range(group_start[g_best], group_start[g_best + 1]):
            w = weights[j]
            if w <= 0.0:
                continue
            key = -np.log1p(-_uniform(word_item, step, e, np.uint64(candidates[j]) & mask, k0, k1)) / w
            if key < best:
                best = key
                out[i] = j
    return out


def keyed_race_grouped(word_group: int, word_item: int, step: int, entities: np.ndarray, candidates: np.ndarray,
                       groups: np.ndarray, weights: np.ndarray, k0: int, k1: int) -> np.ndarray:
    """``keyed_race`` in two levels: first a group (e.g. a fixed tile of the map) with probability
    proportional to its total weight, then a candidate within it; the pick has the same
    distribution, and costs (groups + candidates per group) draws per entity instead of candidates.
    Returns indices into ``candidates``."""
    entities = np.ascontiguousarray(entities, dtype=np.int64).ravel()
    candidates = np.ascontiguousarray(candidates, dtype=np.int64).ravel()
    groups = np.ascontiguousarray(groups, dtype=np.int64).ravel()
    weights = np.ascontiguousarray(weights, dtype=np.float64).ravel()
    if not candidates.shape == groups.shape == weights.shape:
        raise ValueError(f"one group and weight per candidate (got {candidates.shape}, {groups.shape}, {weights.shape})")
    order = np.argsort(groups, kind="stable")
    n_groups = int(groups.max()) + 1 if groups.size else 0
    group_start = np.zeros(n_groups + 1, np.int64)
    np.cumsum(np.bincount(groups, minlength=n_groups), out=group_start[1:])
    group_weight = np.bincount(groups, weights=np.maximum(weights, 0.0), minlength=n_groups)
    picked = _race_grouped(np.uint64(word_group & 0xFFFFFFFF), np.uint64(word_item & 0xFFFFFFFF),
                           np.uint64(step & 0xFFFFFFFF), entities, candidates[order], group_start, group_weight,
                           weights[order], np.uint64(k0), np.uint64(k1))
    return order[picked]
