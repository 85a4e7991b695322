"""Keyed random streams (sim/streams.py): Philox4x32-10 known answers, and draws fixed by
(seed, purpose, step, entity, k) alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.streams import Streams, philox4x32

# Random123's published known-answer vectors for Philox4x32-10 (its tests/kat_vectors).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_philox_reproduces_the_random123_known_answers(counter, key, expected):
    assert tuple(int(w) for w in philox4x32(*counter, *key)) == expected


def test_vectorised_philox_equals_one_counter_at_a_time():
    c = np.arange(50, dtype=np.uint64) * np.uint64(2654435761)
    whole = philox4x32(7, c, c ^ np.uint64(5), 3, 11, 13)
    for i in range(50):
        one = philox4x32(7, c[i], c[i] ^ np.uint64(5), 3, 11, 13)
        assert all(int(a[i]) == int(b) for a, b in zip(whole, one))


def test_a_draw_depends_on_its_key_only_not_on_what_else_is_drawn():
    s = Streams(2025)
    alone = s.uniform("business.exit", 12, [417])
    among = s.uniform("business.exit", 12, np.arange(1000))
    s.uniform("instrument.bibob.screening", 12, np.arange(50))    # another purpose drawing in between
    again = Streams(2025).uniform("business.exit", 12, np.arange(2000))
    assert alone[0] == among[417] == again[417]
    assert np.array_equal(among, again[:1000])


def test_seeds_purposes_steps_entities_and_k_give_different_numbers():
    base = Streams(1).uniform("a", 0, np.arange(1000))
    for other in (Streams(2).uniform("a", 0, np.arange(1000)), Streams(1).uniform("b", 0, np.arange(1000)),
                  Streams(1).uniform("a", 1, np.arange(1000)), Streams(1).uniform("a", -1, np.arange(1000)),
                  Streams(1).uniform("a", 0, np.arange(1000), k=1), Streams(1).uniform("a", 0, np.arange(1, 1001))):
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.1
        assert not np.any(base == other)


def test_uniforms_are_uniform_and_independent():
    u = Streams(9).uniforms("household.move_out", 5, np.arange(20_000), 3)
    assert u.shape == (20_000, 3) and u.min() >= 0.0 and u.max() < 1.0
    for j in range(3):
        assert stats.kstest(u[:, j], "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.03
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.03      # neighbouring entities


def test_order_of_the_others_is_kept_when_one_entity_joins():
    s = Streams(4)
    slots = np.array([3, 8, 15, 16, 23, 42])
    before = slots[s.order("owner.order", 7, slots)]
    with_new = np.append(slots, 99)
    after = with_new[s.order("owner.order", 7, with_new)]
    assert list(after[after != 99]) == list(before)


def test_choice_follows_the_weights_and_never_picks_a_zero_weight():
    w = np.array([0.0, 1.0, 3.0, 0.0, 6.0])
    picks = Streams(3).choice("entrant.search", 2, np.arange(50_000), w)
    counts = np.bincount(picks, minlength=5)
    assert counts[0] == counts[3] == 0
    assert stats.chisquare(counts[[1, 2, 4]], 50_000 * np.array([0.1, 0.3, 0.6])).pvalue > 1e-3


def test_generators_are_keyed_and_reproducible():
    a = Streams(5).generator("entrant.arrivals.horeca", 10, 0).poisson(3.0, 100)
    b = Streams(5).generator("entrant.arrivals.horeca", 10, 0).poisson(3.0, 100)
    c = Streams(5).generator("entrant.arrivals.horeca", 11, 0).poisson(3.0, 100)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_compiled_uniforms_equal_the_numpy_twin_bit_for_bit():
    s = Streams(77)
    entities = np.concatenate([np.arange(-5, 3000), [2**31, 2**32 - 1, 2**40 + 7]])
    for step in (-12, 0, 1, 999):
        for k in (0, 3):
            assert np.array_equal(s.uniform("x.y", step, entities, k), s.uniform_numpy("x.y", step, entities, k))
    grid = s.uniform("x.y", 4, entities[:50].reshape(-1, 1), np.arange(7).reshape(1, -1))
    assert np.array_equal(grid, s.uniform_numpy("x.y", 4, entities[:50].reshape(-1, 1), np.arange(7).reshape(1, -1)))
    assert all(s.uniform("x.y", 4, int(e), 2) == s.uniform_numpy("x.y", 4, e, 2) for e in entities[:20])


def test_compiled_race_equals_the_numpy_twin_and_follows_the_weights():
    s = Streams(8)
    cand = np.array([3, 17, 4, 99, 1000])
    w = np.array([1.0, 0.0, 2.0, 5.0, 2.0])
    who = np.arange(20_000)
    picks = s.race("household.dwelling", 3, who, cand, w)
    assert np.array_equal(picks, s.race_numpy("household.dwelling", 3, who, cand, w))
    counts = np.bincount(picks, minlength=5)
    assert counts[1] == 0
    assert stats.chisquare(counts[[0, 2, 3, 4]], 20_000 * np.array([1, 2, 5, 2]) / 10).pvalue > 1e-3


def test_race_changes_few_picks_when_one_candidate_changes():
    """The coupling common random numbers need: dropping one candidate moves only the entities that
    had picked it (an inverse CDF over the list would move almost all of them)."""
    s = Streams(9)
    cand = np.arange(100, 400)
    w = np.linspace(1.0, 3.0, cand.size)
    who = np.arange(5000)
    before = cand[s.race("p", 1, who, cand, w)]
    after = cand[1:][s.race("p", 1, who, cand[1:], w[1:])]
    moved = before != after
    assert np.array_equal(moved, before == cand[0])
    inverse_cdf = cand[s.choice("p", 1, who, w)] != cand[1:][s.choice("p", 1, who, w[1:])]
    assert moved.mean() < 0.01 and inverse_cdf.mean() > 20 * moved.mean()


def test_grouped_race_equals_its_twin_and_the_weights():
    s = Streams(12)
    cand = np.arange(40) * 7
    groups = np.arange(40) // 6 % 5          # static groups (tiles), not sorted
    w = 1.0 + (np.arange(40) % 4)
    w[5] = 0.0
    who = np.arange(300)
    picks = s.race_grouped("household.dwelling", 2, who, cand, groups, w)
    assert np.array_equal(picks, s.race_grouped_numpy("household.dwelling", 2, who, cand, groups, w))
    many = np.bincount(s.race_grouped("household.dwelling", 2, np.arange(40_000), cand, groups, w), minlength=40)
    assert many[5] == 0
    keep = w > 0
    assert stats.chisquare(many[keep], 40_000 * w[keep] / w.sum()).pvalue > 1e-3


@pytest.mark.parametrize("lam", [0.0, 0.3, 3.0, 29.9, 30.0, 250.0])
def test_poisson_by_inversion_is_the_poisson_quantile_on_every_path(lam):
    """The scalar fast path, the one-rate table and the per-entity rates (scipy) give the same
    count, the Poisson quantile of the uniform, and the counts have the Poisson mean."""
    from scipy.stats import poisson
    from sim.streams import poisson_inverse
    u = np.linspace(0.0005, 0.9995, 400)
    table = poisson_inverse(u, lam)
    scalar = np.array([poisson_inverse(float(x), lam) for x in u])
    per_entity = poisson_inverse(u, np.full(u.size, lam))
    expected = poisson.ppf(u, lam) if lam > 0 else np.zeros(u.size)
    assert np.array_equal(table, scalar) and np.array_equal(table, per_entity)
    assert np.array_equal(table, expected.astype(np.int64))
    counts = Streams(9).poisson("x.count", 1, lam, np.arange(20_000))
    assert abs(counts.mean() - lam) <= 4 * np.sqrt(max(lam, 1e-9) / 20_000) + 1e-12


def test_a_higher_rate_never_gives_fewer_events_for_the_same_key():
    s = Streams(4)
    low, high = s.poisson("x.count", 2, 2.0, np.arange(5000)), s.poisson("x.count", 2, 2.5, np.arange(5000))
    assert (high >= low).all() and (high > low).any()
