"""Businesses (tenants): exits, lease renewals, entry and bidding, criminal fronts.

State the kernels need lives in ``model.businesses`` (a SlotStore); a
``Business`` agent is the Mesa handle of one slot and acts only when it has an
event (insolvency, a lease end, an exit draw, detection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import mesa
import numpy as np

from sim.kernels import sales_density
from sim.uses import FRONT_SECTORS, IS_COMMERCIAL, USE_CODE, VACANT, N_USES

if TYPE_CHECKING:
    from sim.model import CityModel

BUSINESS_FIELDS = {
    "alive": np.bool_, "sector": np.int8, "parcel": np.int64, "floor_m2": np.float64,
    "cash_eur": np.float64, "rent_eur_m2": np.float64, "lease_end_step": np.int32,
    "is_front": np.bool_, "entry_step": np.int32,
    "productivity": np.float64,   # sales relative to the sector's typical business on the same unit
}
FRONT_CODES = np.array([USE_CODE[s] for s in FRONT_SECTORS])


class Business(mesa.Agent):
    """A tenant business occupying one parcel."""

    def __init__(self, model: "CityModel", slot: int):
        super().__init__(model)
        self.slot = slot

    @property
    def parcel(self) -> int:
        return int(self.model.businesses.parcel[self.slot])

    def exit(self, reason: str = "exit") -> None:
        """Leave the unit: it becomes vacant; the owner asks the last headline rent (or the
        market rent if that is higher), and the valuer carries the last headline rent."""
        m = self.model
        b = m.businesses
        p = self.parcel
        par = m.parcels
        headline = par.flat("rent_eur_m2")[p]
        par.flat("reference_rent_eur_m2")[p] = headline
        par.flat("appraisal_rent_eur_m2")[p] = max(headline, par.flat("market_rent_eur_m2")[p])
        par.flat("asking_rent_eur_m2")[p] = max(headline, par.flat("market_rent_eur_m2")[p])
        par.flat("rent_free_months")[p] = 0.0
        par.flat("rent_eur_m2")[p] = 0.0
        par.flat("rent_paid_eur_m2")[p] = 0.0
        par.flat("last_use")[p] = par.flat("use")[p]
        par.flat("use")[p] = VACANT
        par.flat("vacant_since")[p] = m.steps
        par.flat("lettable_from_step")[p] = m.steps + marketing_steps(m, np.array([p]))[0]
        par.flat("last_review_step")[p] = m.steps
        par.flat("tenant")[p] = -1
        par.flat("is_front")[p] = False
        b.alive[self.slot] = False
        m.business_agents[self.slot] = None  # the slot stays; the agent object can go
        m.municipality.on_exit(p, self.slot)
        m.events["business_exits"] += 1
        if reason == "detected":
            m.events["fronts_detected"] += 1
        self.remove()

    def review_lease(self, breakeven_rent_eur_m2: float) -> None:
        """At lease end: renew at a reviewed rent when it still pays, else leave.

        The headline rent moves ``renewal_rent_to_market`` of the way to the market rent
        (a rent review against comparable rents, BW 7:303); the renewed lease has no
        rent-free months.

        Args:
            breakeven_rent_eur_m2: the rent at which this business breaks even on its unit.
        """
        m = self.model
        b = m.businesses
        s = self.slot
        p = self.parcel
        par = m.parcels
        market = par.flat("market_rent_eur_m2")[p]
        share = m.spec.agents.businesses.renewal_rent_to_market
        headline = par.flat("rent_eur_m2")[p]
        new_rent = headline + share * (market - headline)
        if not b.is_front[s] and breakeven_rent_eur_m2 < new_rent:
            self.exit("lease_end")
            return
        b.rent_eur_m2[s] = new_rent
        par.flat("rent_eur_m2")[p] = new_rent
        par.flat("rent_paid_eur_m2")[p] = new_rent
        par.flat("reference_rent_eur_m2")[p] = new_rent
        b.lease_end_step[s] = m.steps + m.spec.agents.businesses.lease_years * m.spy

    def screened_out(self) -> None:
        """Closed after detection as a criminal front (police or an instrument)."""
        self.exit("detected")


def open_business(model: "CityModel", sector: int, parcel: int, rent_eur_m2: float,
                  is_front: bool, cash_eur: float, lease_end_step: int,
                  paid_rent_eur_m2: float | None = None, productivity: float = 1.0) -> Business:
    """Create the agent and its slot, and let it occupy ``parcel``.

    ``rent_eur_m2`` is the headline contract rent; ``paid_rent_eur_m2`` what the tenant
    pays on average over the lease (the headline less rent-free months; default: the headline).
    """
    par = model.parcels
    floor = par.flat("floor_m2")[parcel]
    paid = rent_eur_m2 if paid_rent_eur_m2 is None else paid_rent_eur_m2
    last = int(par.flat("last_use")[parcel])
    if IS_COMMERCIAL[last] and last != sector and not is_front:
        model.use_changes[(last, int(sector))] += 1
    slot = model.businesses.add(alive=True, sector=sector, parcel=parcel, floor_m2=floor,
                                cash_eur=cash_eur, rent_eur_m2=paid,
                                lease_end_step=lease_end_step, is_front=is_front,
                                entry_step=model.steps, productivity=productivity)
    agent = Business(model, slot)
    model.business_agents.append(agent)
    par.flat("use")[parcel] = sector
    par.flat("tenant")[parcel] = slot
    par.flat("rent_eur_m2")[parcel] = rent_eur_m2
    par.flat("rent_paid_eur_m2")[parcel] = paid
    par.flat("reference_rent_eur_m2")[parcel] = rent_eur_m2
    par.flat("rent_free_months")[parcel] = 0.0
    par.flat("vacant_since")[parcel] = -1
    par.flat("is_front")[parcel] = is_front
    return agent


def wtp_rent_eur_m2(model: "CityModel", sector: np.ndarray, parcel: np.ndarray,
                    productivity: np.ndarray | float = 1.0) -> np.ndarray:
    """Rent per m2 per year at which a business of ``sector`` (of the given productivity;
    1 = the sector's typical business) breaks even on ``parcel``.

    Uses the same sales kernel that settles accounts, so expectation = experience
    at unchanged surroundings.
    """
    sales = model.sales_eur_m2(sector, parcel)
    sp = model.sector_arrays
    return productivity * sales * sp["gross_margin"][sector] - sp["fixed_cost_eur_m2"][sector]


def residual_rent_eur_m2(model: "CityModel", sector: np.ndarray, parcel: np.ndarray) -> np.ndarray:
    """What the typical business of ``sector`` can pay on ``parcel`` after its costs and a normal
    operating profit (``market.normal_profit_share`` of sales), EUR/m2/yr: the market rent the
    unit would have with that use (``CityModel.bid_rents``, docs/ODD.md §7.2)."""
    sales = model.sales_eur_m2(sector, parcel)
    sp = model.sector_arrays
    return sales * (sp["gross_margin"][sector] - model.spec.market.normal_profit_share) - sp["fixed_cost_eur_m2"][sector]


class Offer(NamedTuple):
    """What one would-be entrant would take: its options and how much each is worth to it.

    An honest entrant's ``margin`` is its expected profit per m2 per year at the asking rent
    (net of incentives and rent support) of each option in ``units``; a front has one option
    and bids ``bid_share`` × the asking rent.
    """
    key: int                 # entity key (``entrant_key``)
    sector: int
    is_front: bool
    productivity: float
    units: np.ndarray        # parcels (int64)
    margin: np.ndarray       # per unit; −inf where the entrant did not see it
    bid_share: float         # bid as a multiple of the asking rent


def entrant_bids(model: "CityModel") -> list[Offer]:
    """Would-be entrants arrive (Poisson per sector), look for units and say what they would take.

    How they look is ``agents.businesses.search``:

    * ``listings`` (default): vacant shops are listed (brokers, listing sites), so an entrant
      sees every lettable unit its sector may use, or each with probability
      ``listings_seen_share`` (keyed per entrant and unit), and keeps them all as options: in
      its turn (``let_units``) it takes the best deal still free. The friction of a letting
      is its time (``letting_time_quarters``).
    * ``walk`` (the search of version 0.4, a structural alternative): search has friction. An
      entrant walks past ``candidates_per_entrant`` units (found in proportion to footfall to
      the power ``search_footfall_weight``) and only the vacant ones among them are options,
      so lettings per step rise with the vacancy rate (a matching function) and visible units
      let first. A vacant unit with visibility share ``w / W`` is among an entrant's K looks
      with probability ``1 − (1 − w/W)^K``, drawn for each (entrant, unit) pair from the
      pair's own key: the same entrant sees the same units in two scenarios unless their
      visibility differs. The entrant bids on the option with the best expected profit if
      that profit is positive.

    An entrant judges a unit by the sales it expects: the typical business's there times
    1 + ``productivity_known_share`` × (its productivity − 1).
    Honest entrants offer the asking rent; fronts bid above asking regardless of footfall.
    Every would-be entrant is keyed by where and when it appears — (step, sector, k), see
    ``entrant_key`` — and draws its count, its search, its productivity and its turn from
    that key alone.
    """
    par = model.parcels
    cfg = model.spec.agents.businesses
    use = par.flat("use")
    units = np.flatnonzero((par.flat("land") == 0) & ((use == VACANT) | IS_COMMERCIAL[use]))
    # units still being marketed (negotiation, fit-out) cannot start a new lease yet
    lettable = (use[units] == VACANT) & (par.flat("lettable_from_step")[units] <= model.steps)
    vacant = units[lettable]
    if vacant.size == 0:
        return []
    streams, t = model.streams, model.clock
    scale = model.n_units_start / 1000.0 / model.spy
    allowed = par.flat("allowed")[vacant]
    walk = cfg.search == "walk"
    if walk:
        visibility = np.maximum(par.flat("footfall")[vacant], 1e-12) ** cfg.search_footfall_weight
    offers: list[Offer] = []
    for sector_name, sp in cfg.sectors.items():
        code = USE_CODE[sector_name]
        # would-be entrants follow market size: visitors for the visitor-facing part of sales
        demand = max(model.context["visitor_demand"], 0.0) ** (1.0 - sp.local_share)
        rate = sp.entry_rate_per_1000_units * cfg.entry_rate_multiplier * model.spec.city.demand_level_value
        n = streams.poisson("entrant.arrivals", t, rate * scale * demand, code)
        ok = (allowed >> code) & 1 == 1
        if n and ok.any():   # a published use-mix rule closes units to the sector: entrants look elsewhere
            ok &= model.municipality.use_permitted(vacant, code)
        if n == 0 or not ok.any():
            continue
        cand = vacant[ok]
        keys = entrant_key(code, np.arange(n))
        if walk:
            # an entrant inspects K of the lettable units its sector may use, found in proportion
            # to visibility (agents list vacant shops; the visible ones are viewed first)
            w = visibility[ok]
            p_seen = 1.0 - (1.0 - w / w.sum()) ** cfg.candidates_per_entrant
            seen = streams.uniform("entrant.search", t, keys.reshape(-1, 1), cand.reshape(1, -1)) < p_seen
        elif cfg.listings_seen_share < 1.0:
            seen = streams.uniform("entrant.search", t, keys.reshape(-1, 1), cand.reshape(1, -1)) < cfg.listings_seen_share
        else:      # the whole listing: nothing to draw
            seen = np.ones((n, cand.size), bool)
        if not seen.any():
            continue
        # businesses differ: an entrant will sell productivity × what the sector's typical business
        # would, but before it opens it knows only ``productivity_known_share`` of its difference
        # from the typical business: it judges units by the sales it expects
        q = productivity_of(cfg, streams.uniform("entrant.productivity", t, keys))
        q_expected = 1.0 + cfg.productivity_known_share * (q - 1.0)
        # the tenant pays the asking rent less the rent-free months on offer and less any
        # share the municipality pays (rent subsidy)
        ask = effective_ask_eur_m2(model, cand) * (1.0 - model.municipality.rent_support_share(cand, code))
        gross = model.sales_eur_m2(np.full(cand.size, code), cand) * model.sector_arrays["gross_margin"][code]
        wtp = q_expected[:, None] * gross[None, :] - model.sector_arrays["fixed_cost_eur_m2"][code]
        margin = np.where(seen, wtp - ask[None, :], -np.inf)
        best = np.argmax(margin, axis=1)
        for e in np.flatnonzero(margin[np.arange(n), best] >= 0.0).tolist():
            if walk:   # one bid: the best unit seen
                k = int(best[e])
                offers.append(Offer(int(keys[e]), code, False, float(q[e]), cand[k:k + 1], margin[e, k:k + 1], 1.0))
            else:      # every option, ranked when its turn comes
                offers.append(Offer(int(keys[e]), code, False, float(q[e]), cand, margin[e], 1.0))
    asking = par.flat("asking_rent_eur_m2")[vacant]
    offers.extend(_front_bids(model, vacant, asking, allowed, model.n_units_start / 1000.0))
    return offers


def marketing_steps(model: "CityModel", parcels: np.ndarray) -> np.ndarray:
    """Steps from the start of a vacancy until a new lease can start: marketing, negotiation,
    permits and fit-out take 1 to ``2 × letting_time_quarters − 1`` quarters (uniform, mean
    ``letting_time_quarters``), keyed by the unit and the step the spell began."""
    cfg = model.spec.agents.businesses
    u = model.streams.uniform("unit.marketing_time", model.clock, np.asarray(parcels, np.int64))
    quarters = 1 + np.floor(u * (2 * cfg.letting_time_quarters - 1)).astype(np.int64)
    return np.maximum(np.rint(quarters * model.spy / 4.0).astype(np.int64), 1)


def effective_ask_eur_m2(model: "CityModel", parcels: np.ndarray) -> np.ndarray:
    """What a tenant of a new lease would pay per m2 per year on average: the headline asking
    rent less the rent-free months on offer, spread over the lease."""
    par = model.parcels
    lease_months = 12.0 * model.spec.agents.businesses.lease_years
    free = np.minimum(par.flat("rent_free_months")[parcels] / lease_months, 1.0)
    return par.flat("asking_rent_eur_m2")[parcels] * (1.0 - free)


def productivity_of(cfg, u: np.ndarray) -> np.ndarray:
    """Productivity from a uniform draw: uniform on 1 ± ``productivity_spread``."""
    return 1.0 + cfg.productivity_spread * (2.0 * np.asarray(u) - 1.0)


FRONT_KEY_CODE = 0xFF   # the "sector" part of a front entrant's key (sim/streams.py entity keys)


def entrant_key(code: int, k: np.ndarray) -> np.ndarray:
    """The entity key of the k-th would-be entrant of sector ``code`` in a step (k < 65,536)."""
    return (np.int64(code) << np.int64(16)) | np.asarray(k, dtype=np.int64)


def _front_bids(model: "CityModel", vacant, asking, allowed, units) -> list[Offer]:
    cfg = model.spec.agents.businesses
    streams, t = model.streams, model.clock
    rate = cfg.front_entry_rate_per_1000_units * model.context["crime_pressure"] * units / model.spy
    n = streams.poisson("front.arrivals", t, max(rate, 0.0))
    if n == 0:
        return []
    par = model.parcels
    vac_years = (model.steps - par.flat("vacant_since")[vacant]) / model.spy
    # cheap, long-vacant units away from the prime streets
    w = (1.0 + vac_years) / np.maximum(asking, 10.0) * (1.0 + par.flat("street_class")[vacant])
    out = []
    for key in entrant_key(FRONT_KEY_CODE, np.arange(n)).tolist():
        sector = int(FRONT_CODES[int(streams.uniform("front.sector", t, key) * FRONT_CODES.size)])
        ok = (allowed >> sector) & 1 == 1
        if not ok.any():
            continue
        k = int(streams.race("front.search", t, key, vacant, w * ok)[0])
        out.append(Offer(key, sector, True, 1.0, vacant[k:k + 1], np.zeros(1), 1.0 + cfg.front_bid_premium))
    return out


def let_units(model: "CityModel", offers: list[Offer]) -> None:
    """Owners let to the best bidders, if the bid meets the asking rent (and screening).

    Offers are served best bid first. Fronts bid a premium above asking, honest entrants
    the asking rent. With ``search: walk`` every offer names one unit and the offers are
    ranked by the rent bid (equal bids in an order keyed by the bidders, so an extra
    bidder does not reorder the others); an offer whose unit is taken lapses. With
    ``search: listings`` fronts come first, then honest entrants in the keyed order, each
    taking its most profitable option still free. A lease the municipality's screening
    refuses leaves the unit free for the next offer, and an entrant who read the listings
    tries its next option (a walking entrant saw only this one). A screening that holds the
    unit for its decision (Bibob) keeps the applicant waiting for it and takes the unit off
    this step's market.
    """
    if not offers:
        return
    par = model.parcels
    cfg = model.spec.agents.businesses
    asking = par.flat("asking_rent_eur_m2")
    tiebreak = model.streams.uniform("letting.tiebreak", model.clock, np.array([o.key for o in offers], dtype=np.int64))
    bid = [float(asking[o.units[0]]) * o.bid_share for o in offers]   # an honest offer's first option is any
    if cfg.search == "walk":
        order = sorted(range(len(offers)), key=lambda i: (-bid[i], tiebreak[i]))
    else:
        order = sorted(range(len(offers)), key=lambda i: (not offers[i].is_front,
                                                          -bid[i] if offers[i].is_front else 0.0, tiebreak[i]))
    use, lettable_from = par.flat("use"), par.flat("lettable_from_step")
    taken: set[int] = set()
    for i in order:
        o = offers[i]
        sector, is_front = o.sector, o.is_front
        free = (use[o.units] == VACANT) & (lettable_from[o.units] <= model.steps)
        if taken:
            free &= ~np.isin(o.units, np.fromiter(taken, np.int64, len(taken)))
        margin = np.where(free, o.margin, -np.inf)
        parcel = -1
        while True:
            best = int(np.argmax(margin))
            if not margin[best] >= 0.0:
                break                               # no option left that the entrant could profit from
            candidate = int(o.units[best])
            if model.municipality.screen_lease(candidate, sector, is_front, productivity=o.productivity):
                parcel = candidate
                break
            if lettable_from[candidate] > model.steps:
                taken.add(candidate)                # held for this applicant's screening: it waits for the decision
                break
            margin[best] = -np.inf                  # refused: a listings entrant tries its next option
        if parcel < 0:
            continue
        taken.add(parcel)
        rent = float(asking[parcel]) * o.bid_share
        floor = par.flat("floor_m2")[parcel]
        fixed = model.sector_arrays["fixed_cost_eur_m2"][sector]
        # honest tenants take the rent-free months on offer; fronts pay their premium in full
        paid = rent if is_front else float(effective_ask_eur_m2(model, np.array([parcel]))[0])
        cash = cfg.cash_buffer_quarters * (paid + fixed) * floor / 4.0
        agent = open_business(model, sector, parcel, rent, is_front, cash,
                              model.steps + cfg.lease_years * model.spy, paid_rent_eur_m2=paid,
                              productivity=o.productivity)
        model.events["business_entries"] += 1
        model.municipality.on_let(parcel, agent.slot, sector, is_front)


def exit_draws(model: "CityModel") -> np.ndarray:
    """Slots of honest businesses leaving for reasons outside the model, and fronts caught by police."""
    b = model.businesses
    cfg = model.spec.agents.businesses
    u = model.streams.uniform("business.exit", model.clock, b.parcel)   # keyed by the unit (a business has one)
    p_exit = 1.0 - (1.0 - cfg.base_exit_per_year) ** (1.0 / model.spy)
    p_caught = 1.0 - (1.0 - cfg.front_detection_per_year) ** (1.0 / model.spy)
    honest_exit = b.alive & ~b.is_front & (u < p_exit)
    caught = b.alive & b.is_front & (u < p_caught)
    return np.flatnonzero(honest_exit), np.flatnonzero(caught)


def sector_table(scenario) -> dict[str, np.ndarray]:
    """Sector economics as float64 arrays indexed by use code (zeros for non-commercial uses)."""
    names = ("sales_density_eur_m2", "gross_margin", "fixed_cost_eur_m2", "footfall_elasticity", "local_share")
    out = {n: np.zeros(N_USES) for n in names}
    for sector, sp in scenario.agents.businesses.sectors.items():
        for n in names:
            out[n][USE_CODE[sector]] = getattr(sp, n)
    # a larger centre sells more per m2 to visitors (its catchment); residents' spending does not scale
    level = scenario.city.sales_level_value
    out["sales_density_eur_m2"] *= out["local_share"] + (1.0 - out["local_share"]) * level
    return out


def complement_matrix() -> np.ndarray:
    """Effect of a neighbour's use on a sector's sales, −1..1 (assumption).

    Comparison shopping clusters (chains and independents help each other and
    horeca), horeca likes shoppers and culture, daily goods compete with each
    other, vacancy hurts everybody.
    """
    c = np.zeros((N_USES, N_USES))
    u = USE_CODE
    pairs = [("comparison", "comparison", 1.0), ("comparison", "independent", 0.8), ("comparison", "horeca", 0.5),
             ("independent", "comparison", 1.0), ("independent", "independent", 0.6), ("independent", "horeca", 0.6),
             ("independent", "culture", 0.4), ("horeca", "comparison", 0.6), ("horeca", "culture", 0.8),
             ("horeca", "horeca", 0.3), ("daily", "daily", -0.8), ("daily", "services", 0.3),
             ("services", "daily", 0.3), ("culture", "horeca", 0.5), ("culture", "craft", 0.5),
             ("craft", "craft", 0.6), ("craft", "culture", 0.6), ("craft", "independent", 0.3)]
    for a, b, v in pairs:
        c[u[a], u[b]] = v
    for s in range(N_USES):
        if IS_COMMERCIAL[s]:
            c[s, VACANT] = -1.0
    return c


__all__ = ["Business", "Offer", "open_business", "entrant_bids", "let_units", "exit_draws", "sector_table",
           "complement_matrix", "wtp_rent_eur_m2", "residual_rent_eur_m2", "sales_density"]
