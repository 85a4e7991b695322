"""Households (residents): move-out screening, in-movers choosing a dwelling.

Households spend locally: occupied dwellings feed the resident field that the
sales kernel reads for daily goods, services and horeca (``local_share``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.uses import USE_CODE

if TYPE_CHECKING:
    from sim.model import CityModel

HOUSEHOLD_FIELDS = {
    "alive": np.bool_, "parcel": np.int64, "income_class": np.int8, "income_eur_month": np.float64,
    "rent_eur_month": np.float64, "size": np.int8,
    "key": np.int64,     # the household's random-stream key: where and when it appeared (``arrival_keys``)
}
BURDEN_LIMIT = 0.40              # rent burden above 40% of income counts as unaffordable (assumption)
AMENITY_RADIUS = 2               # 5×5 neighbourhood for nuisance and facilities (assumption)
FACILITY_USES = ("daily", "services", "culture")


class Household(mesa.Agent):
    """A household renting one dwelling."""

    def __init__(self, model: "CityModel", slot: int):
        super().__init__(model)
        self.slot = slot

    def move_out(self) -> None:
        m = self.model
        p = int(m.households.parcel[self.slot])
        m.parcels.flat("dwellings_occupied")[p] -= 1
        m.households.alive[self.slot] = False
        m.household_agents[self.slot] = None  # the slot stays; the agent object can go
        m.events["households_out"] += 1
        self.remove()


def move_in(model: "CityModel", parcels: np.ndarray, income_class: np.ndarray, sizes: np.ndarray,
            keys: np.ndarray) -> None:
    """Create households in the given parcels (one dwelling each), with their stream keys."""
    if parcels.size == 0:
        return
    hc = model.spec.agents.households
    incomes = np.asarray(hc.income_eur_month.as_tuple())[income_class]
    rents = model.parcels.flat("dwelling_rent_eur_month")[parcels]
    slots = model.households.add_many(parcels.size, alive=True, parcel=parcels, income_class=income_class,
                                      income_eur_month=incomes, rent_eur_month=rents, size=sizes, key=keys)
    np.add.at(model.parcels.flat("dwellings_occupied"), parcels, 1)
    model.household_agents.extend(Household(model, int(s)) for s in slots)


def box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)² box around each cell, clipped at the edges (summed-area table)."""
    h, w = values.shape
    s = np.zeros((h + 1, w + 1))
    s[1:, 1:] = values.cumsum(0).cumsum(1)
    i0 = np.clip(np.arange(h) - radius, 0, h)
    i1 = np.clip(np.arange(h) + radius + 1, 0, h)
    j0 = np.clip(np.arange(w) - radius, 0, w)
    j1 = np.clip(np.arange(w) + radius + 1, 0, w)
    total = s[i1][:, j1] - s[i0][:, j1] - s[i1][:, j0] + s[i0][:, j0]
    area = (i1 - i0)[:, None] * (j1 - j0)[None, :]
    return total / area


def neighbourhood(model: "CityModel") -> dict[str, np.ndarray]:
    """Per-parcel nuisance (horeca share), facilities share and condition deficit nearby."""
    par = model.parcels
    isp = par.is_parcel.astype(float)
    n = np.maximum(box_mean(isp, AMENITY_RADIUS), 1e-9)
    horeca = box_mean((par.use == USE_CODE["horeca"]) * isp, AMENITY_RADIUS) / n
    fac = box_mean(np.isin(par.use, [USE_CODE[u] for u in FACILITY_USES]) * isp, AMENITY_RADIUS) / n
    deficit = box_mean((1.0 - par.condition) * isp, AMENITY_RADIUS) / n
    return {"nuisance": horeca.reshape(-1), "facilities": fac.reshape(-1), "decay": deficit.reshape(-1)}


def movers(model: "CityModel", hood: dict[str, np.ndarray]) -> np.ndarray:
    """Slots of households that move out this step (array screening of all households)."""
    hh = model.households
    hc = model.spec.agents.households
    alive = np.flatnonzero(hh.alive)
    p = hh.parcel[alive]
    burden = hh.rent_eur_month[alive] / hh.income_eur_month[alive]
    factor = (1.0 + hc.nuisance_move_weight * hood["nuisance"][p] + hc.decay_move_weight * hood["decay"][p]
              - hc.facilities_move_weight * hood["facilities"][p])
    hazard = hc.move_per_year * np.where(burden > BURDEN_LIMIT, hc.burden_move_multiplier, 1.0)
    hazard = np.clip(hazard * np.maximum(factor, 0.0), 0.0, 1.0)
    p_step = 1.0 - (1.0 - hazard) ** (1.0 / model.spy)
    return alive[model.streams.uniform("household.move_out", model.clock, hh.key[alive]) < p_step]


def arrivals(model: "CityModel", hood: dict[str, np.ndarray]) -> None:
    """In-movers arrive with housing demand and choose dwellings by affordability and amenity."""
    par = model.parcels
    hc = model.spec.agents.households
    free = int((par.dwellings - par.dwellings_occupied).sum())
    rate = max(model.context["housing_demand"], 0.0) * hc.fill_per_year / model.spy
    n = min(model.streams.poisson("household.arrivals", model.clock, rate * free), free)
    place_households(model, arrival_keys(model.clock, n), hood, coupled=True)


ARRIVAL_KEY_BASE = 1 << 24    # keys of the initial households are their placement numbers, below this


def arrival_keys(clock: int, n: int) -> np.ndarray:
    """Stream keys of the ``n`` in-movers of step ``clock``: (step, k), k < 65,536."""
    return ARRIVAL_KEY_BASE + (np.int64(clock) << np.int64(16)) + np.arange(n, dtype=np.int64)


def place_households(model: "CityModel", keys: np.ndarray, hood: dict[str, np.ndarray], coupled: bool = False) -> int:
    """New households, one per stream key (income class from the in-mover mix), pick free dwellings.

    Weights: free dwellings × amenity × affordability (rent burden above 30%
    is penalised). Two picks of the last dwelling of a parcel: the later one
    does not move in. Returns the number that moved in.

    ``coupled`` (in-movers during the run): the pick is a keyed two-level race (a fixed tile of
    the map by its total weight, then a parcel in it, ``Streams.race_grouped``), so that an
    in-mover keeps its pick in another scenario unless the weights of what it picked or of
    its winner differ; at set-up (the same in every scenario) a cheaper inverse CDF serves.
    """
    par = model.parcels
    hc = model.spec.agents.households
    free = par.flat("dwellings") - par.flat("dwellings_occupied")
    cand = np.flatnonzero(free > 0)
    n = keys.size
    if cand.size == 0 or n <= 0:
        return 0
    streams, t = model.streams, model.clock
    income_class = streams.choice("household.income", t, keys, np.asarray(hc.income_mix.as_tuple())).astype(np.int8)
    sizes = 1 + streams.poisson("household.size", t, max(hc.size_mean - 1.0, 0.0), keys)
    incomes = np.asarray(hc.income_eur_month.as_tuple())
    rent = par.flat("dwelling_rent_eur_month")[cand]
    amenity = np.maximum(1.0 + hood["facilities"][cand] - hood["nuisance"][cand] - hood["decay"][cand], 0.05)
    chosen = np.empty(n, np.int64)
    for c in range(3):
        idx = np.flatnonzero(income_class == c)
        if idx.size == 0:
            continue
        burden = rent / incomes[c]
        w = free[cand] * amenity * np.exp(-10.0 * np.maximum(burden - 0.30, 0.0))  # affordability, assumption
        if coupled:
            pick = streams.race_grouped("household.dwelling", t, keys[idx], cand, model.tile_of[cand], w)
        else:
            pick = streams.choice("household.dwelling.setup", t, keys[idx], w)
        chosen[idx] = cand[pick]
    order = np.argsort(chosen, kind="stable")
    sorted_p = chosen[order]
    rank = np.arange(n) - np.searchsorted(sorted_p, sorted_p, side="left")
    keep = np.zeros(n, bool)
    keep[order] = rank < free[sorted_p]
    move_in(model, chosen[keep], income_class[keep], sizes[keep], keys[keep])
    return int(keep.sum())


def populate(model: "CityModel", occupancy: float = 0.97, rounds: int = 1) -> None:
    """Initial households: in-movers placed by the same choice rule until ``occupancy``
    of dwellings is reached (97%: assumption, tight Dutch housing market).

    The households living somewhere are not a sample of those moving in: households with a
    rent burden above 40% move out ``burden_move_multiplier`` times as often, so in a steady
    state they are that much rarer among residents than among in-movers. Each round keeps
    a placed household with a high burden with probability 1 / multiplier (a set-up draw)
    and fills the freed dwellings again, so the start has the residents' mix, not the
    in-movers' (without it the share with a high burden fell by 2 points in a frozen context).
    """
    hood = neighbourhood(model)
    hc = model.spec.agents.households
    target = int(occupancy * model.parcels.dwellings.sum())
    rng = model.streams.generator("household.setup_thinning", 0)
    tried = 0
    for r in range(rounds + 1):
        for _ in range(20):
            missing = target - int(model.parcels.dwellings_occupied.sum())
            if missing <= 0:
                break
            place_households(model, np.arange(tried, tried + missing, dtype=np.int64), hood)
            tried += missing
        if r == rounds:
            break
        hh = model.households
        alive = np.flatnonzero(hh.alive)
        high = hh.rent_eur_month[alive] / hh.income_eur_month[alive] > BURDEN_LIMIT
        leave = alive[high & (rng.random(alive.size) >= 1.0 / hc.burden_move_multiplier)]
        for s in leave.tolist():
            model.household_agents[s].move_out()
    model.events.clear()


def rent_burden_share(model: "CityModel") -> float:
    hh = model.households
    alive = hh.alive
    if not alive.any():
        return 0.0
    return float(np.mean(hh.rent_eur_month[alive] / hh.income_eur_month[alive] > BURDEN_LIMIT))
