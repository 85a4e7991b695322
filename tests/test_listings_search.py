"""The two searches of would-be entrants: ``listings`` and ``walk``.

``agents.businesses.search: listings`` (the default since 0.5): entrants see the whole offer
and take the best unit still free, so no unit that an arriving entrant could take at a profit
stays vacant for want of being found. ``walk`` is the structural alternative with search
friction (docs/ODD.md §7.6, docs/sensitivity.md): each entrant inspects a few units and bids
on the best one it saw.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim.agents.businesses as biz
from sim.model import CityModel
from sim.scenario import Scenario
from sim.uses import VACANT

SHORT = {"horizon_years": 3, "burn_in_years": 1}


def listings_model(seed: int, **businesses) -> CityModel:
    """Listings search in a centre with a high turnover, so that many units are on the market at once."""
    over = {**SHORT, "agents": {"businesses": {"search": "listings", "base_exit_per_year": 0.6,
                                               "letting_time_quarters": 1, **businesses}}}
    return CityModel(Scenario.from_yaml("scenarios/baseline.yaml", overrides=over), seed=seed)


def step_with_recorded_lettings(model: CityModel, monkeypatch) -> tuple[list[biz.Offer], list[tuple[int, int, float]]]:
    """Run the letting of one step by hand; return the offers and the leases (parcel, sector, productivity)."""
    leases: list[tuple[int, int, float]] = []
    real_open = biz.open_business

    def recording_open(m, sector, parcel, *args, productivity=1.0, **kw):
        leases.append((parcel, sector, productivity))
        return real_open(m, sector, parcel, *args, productivity=productivity, **kw)

    monkeypatch.setattr(biz, "open_business", recording_open)
    model.clock += 1     # the draws of a fresh step
    offers = biz.entrant_bids(model)
    biz.let_units(model, offers)
    return offers, leases


def is_front_lease(offers, sector, productivity) -> bool:
    return any(o.is_front and o.sector == sector and o.productivity == productivity for o in offers)


@pytest.mark.parametrize("seed", [3, 4])
def test_no_entrant_leaves_while_a_unit_it_could_profit_from_is_free(seed, monkeypatch):
    m = listings_model(seed)
    for _ in range(4):
        m.step()
    offers, leases = step_with_recorded_lettings(m, monkeypatch)
    honest = [o for o in offers if not o.is_front]
    assert honest and any(not is_front_lease(offers, s, q) for _, s, q in leases), "the check needs honest lettings"
    let = {(s, q): p for p, s, q in leases}
    assert len({p for p, _, _ in leases}) == len(leases), "a unit was let twice"
    use = m.parcels.flat("use")
    for o in honest:
        assert np.isfinite(o.margin).all(), "with listings_seen_share 1 every listed unit is an option"
        got = let.get((o.sector, o.productivity))
        if got is not None:
            # it took a unit it profits from
            assert o.margin[list(o.units).index(got)] >= 0.0
        else:
            # it left only because every unit it could profit from was taken before its turn
            still_free = use[o.units] == VACANT
            assert not (still_free & (o.margin >= 0.0)).any()


def test_each_entrant_takes_its_best_option_among_those_left(monkeypatch):
    m = listings_model(5)
    for _ in range(4):
        m.step()
    offers, leases = step_with_recorded_lettings(m, monkeypatch)
    taken_before: set[int] = {p for o in offers if o.is_front for p, s, q in leases
                              if s == o.sector and q == o.productivity}
    order_of = {(s, q): i for i, (p, s, q) in enumerate(leases)}
    parcel_of = {(s, q): p for p, s, q in leases}
    checked = 0
    for o in sorted((o for o in offers if not o.is_front and (o.sector, o.productivity) in order_of),
                    key=lambda o: order_of[(o.sector, o.productivity)]):
        rank = order_of[(o.sector, o.productivity)]
        earlier = {p for p, s, q in leases[:rank]} | taken_before
        free = ~np.isin(o.units, list(earlier))
        assert parcel_of[(o.sector, o.productivity)] == o.units[np.argmax(np.where(free, o.margin, -np.inf))]
        checked += 1
    assert checked >= 2


def _first_honest_lease(seed: int, monkeypatch):
    """A model after 4 steps, the next step's offers and leases, and its first honest lease."""
    m = listings_model(seed)
    for _ in range(4):
        m.step()
    offers, leases = step_with_recorded_lettings(m, monkeypatch)
    honest = [(p, s, q) for p, s, q in leases if not is_front_lease(offers, s, q)]
    assert honest, "the check needs an honest letting"
    return honest[0]


@pytest.mark.parametrize("held", [False, True])
def test_a_refused_entrant_tries_its_next_option_and_a_held_unit_takes_nobody_else(held, monkeypatch):
    """The municipality's screening refuses (or, like a Bibob screening, holds for its decision)
    the unit that an honest entrant would take. Refused: the entrant takes its next option, and
    the unit stays free for others. Held: the applicant waits for the decision (no other lease)
    and no later entrant is lost on that unit (it is asked about once)."""
    unit, sector, productivity = _first_honest_lease(7, monkeypatch)
    monkeypatch.undo()
    m = listings_model(7)                      # the same city and step again, now with the screening
    for _ in range(4):
        m.step()
    asked: list[int] = []
    real_screen = m.municipality.screen_lease

    def screen(parcel, s, is_front, productivity=1.0):
        if parcel != unit:
            return real_screen(parcel, s, is_front, productivity=productivity)
        asked.append(s)
        if held:
            m.parcels.flat("lettable_from_step")[parcel] = m.steps + 2     # held until the decision
        return False

    monkeypatch.setattr(m.municipality, "screen_lease", screen)
    offers, leases = step_with_recorded_lettings(m, monkeypatch)
    assert unit not in {p for p, _, _ in leases}
    mine = [p for p, s, q in leases if (s, q) == (sector, productivity)]
    entrant = next(o for o in offers if not o.is_front and (o.sector, o.productivity) == (sector, productivity))
    if held:
        assert mine == [] and len(asked) == 1, f"held unit asked {len(asked)} times; the applicant leased {mine}"
    else:
        assert len(mine) == 1 and mine[0] != unit, "the refused entrant should take its next option"
        assert entrant.margin[list(entrant.units).index(mine[0])] >= 0.0


def test_a_partial_view_of_the_listings_hides_units_by_keyed_draws():
    m = listings_model(6, listings_seen_share=0.3)
    for _ in range(3):
        m.step()
    m.clock += 1
    offers = [o for o in biz.entrant_bids(m) if not o.is_front]
    seen = np.concatenate([np.isfinite(o.margin) for o in offers])
    assert offers and 0.15 < seen.mean() < 0.45, seen.mean()
    # the same entrant sees the same units when drawn again
    again = [o for o in biz.entrant_bids(m) if not o.is_front]
    assert [o.key for o in again] == [o.key for o in offers]
    assert all(np.array_equal(np.isfinite(a.margin), np.isfinite(b.margin)) for a, b in zip(offers, again))


def test_listings_is_the_default_and_the_walk_search_bids_on_one_unit():
    # 0.5 made ``listings`` the default (full information: vacancy is what owners' asks leave
    # over, not what entrants fail to find); ``walk`` stays an option and must still work
    assert Scenario.from_yaml("scenarios/baseline.yaml").agents.businesses.search == "listings"
    walk = {**SHORT, "agents": {"businesses": {"search": "walk"}}}
    m = CityModel(Scenario.from_yaml("scenarios/baseline.yaml", overrides=walk), seed=3)
    for _ in range(3):
        m.step()
    m.clock += 1
    offers = biz.entrant_bids(m)
    assert offers and all(o.units.size == 1 for o in offers)
    # the default's entrants see every listed unit their sector may use, not one
    d = CityModel(Scenario.from_yaml("scenarios/baseline.yaml", overrides=SHORT), seed=3)
    for _ in range(3):
        d.step()
    d.clock += 1
    honest = [o for o in biz.entrant_bids(d) if not o.is_front]
    assert honest and max(o.units.size for o in honest) > 1


def test_the_listings_search_is_reproducible_and_differs_from_the_walk():
    def records(**businesses):
        over = {**SHORT, "agents": {"businesses": businesses}}
        m = CityModel(Scenario.from_yaml("scenarios/baseline.yaml", overrides=over), seed=9)
        for _ in range(6):
            m.step()
        return m.records
    listings = records(search="listings")
    assert listings == records()       # the default is listings
    walk = records(search="walk")
    assert walk == records(search="walk")
    assert walk[-1]["vacancy_units"] != listings[-1]["vacancy_units"]
