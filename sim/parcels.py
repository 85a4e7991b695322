"""Parcel state (numpy arrays, one per attribute) and the synthetic city generator.

The map is schematic, not to scale: one cell is one parcel (a building or plot)
or public space. Every array is (H, W), shaped like a Mesa ``PropertyLayer``;
agents address a parcel by its flat index ``p = row * W + col`` through the
``flat`` views.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from sim.uses import (COMMERCIAL_NAMES, IS_COMMERCIAL, LAND_CODE, LAND_PARCEL, RESIDENTIAL, STREET_CODE, USE_CODE,
                      USE_NAMES, VACANT, N_USES)

ALL_USES_MASK = (1 << N_USES) - 1


def use_bit(code: int) -> int:
    """Bit of a use code in the ``allowed`` bitmask."""
    return 1 << int(code)


@dataclass
class Parcels:
    """All parcel attributes as (H, W) arrays (docs/ODD.md §2.1)."""

    land: np.ndarray                 # int8, LAND_TYPES code; only parcel cells carry a use
    use: np.ndarray                  # int8, USES code
    street_class: np.ndarray         # int8, STREET_CLASSES code, -1 on public space
    floor_m2: np.ndarray             # float64, ground-floor lettable area
    dwellings: np.ndarray            # int32, homes on the parcel
    dwellings_occupied: np.ndarray   # int32
    rent_eur_m2: np.ndarray          # float64, headline contract rent per m2 per year (0 when vacant): the appraisal's basis
    rent_paid_eur_m2: np.ndarray     # float64, what the tenant pays: the headline less rent-free months spread over the lease
    asking_rent_eur_m2: np.ndarray   # float64, owner's asking rent when vacant
    reference_rent_eur_m2: np.ndarray  # float64, last contract rent: the owner's rent floor is a share of it
    market_rent_eur_m2: np.ndarray   # float64, kernel output
    value_eur: np.ndarray            # float64, income capitalisation
    condition: np.ndarray            # float64, 0..1
    vacant_since: np.ndarray         # int32, step vacancy began, -1 if not vacant
    lettable_from_step: np.ndarray   # int32, first step a new lease can start (marketing, negotiation, fit-out)
    last_use: np.ndarray             # int8, the commercial use a vacant unit had before (vacancy by sector)
    last_review_step: np.ndarray     # int32, step of the last asking-rent review
    owner: np.ndarray                # int32, owner slot, -1 none (public space)
    tenant: np.ndarray               # int32, business slot, -1 none
    allowed: np.ndarray              # int32, bitmask of uses the zoning plan permits
    permit_uses: np.ndarray          # int32, bitmask of ground-floor uses the municipality allows on application (a change-of-use permit)
    footfall: np.ndarray             # float64, kernel output
    resident_field: np.ndarray       # float64, kernel output
    anchor: np.ndarray               # float64, anchor attraction (station, market square)
    attraction_bonus: np.ndarray     # float64, relative footfall uplift from public-space investment (BIZ)
    condition_bonus: np.ndarray      # float64, condition added per step by public-space investment (BIZ)
    is_front: np.ndarray             # bool, a criminal front occupies it (hidden from use statistics)
    monument: np.ndarray             # bool
    preemption: np.ndarray           # bool, designated for municipal pre-emption
    in_biz: np.ndarray               # bool, inside a business investment zone
    core_area: np.ndarray            # bool, core retail area (kernwinkelgebied)
    dwelling_base_eur_month: np.ndarray  # float64, base rent per dwelling
    dwelling_elastic: np.ndarray     # bool, free-sector rent that follows amenity
    dwelling_rent_eur_month: np.ndarray  # float64, current rent of a vacant dwelling (kernel output)
    conversion_done_step: np.ndarray  # int32, step a conversion completes, -1 none
    conversion_to: np.ndarray        # int8, use after conversion
    conversion_from: np.ndarray      # int8, use before conversion
    conversion_dwellings: np.ndarray  # int32, dwellings a conversion adds
    debt_eur: np.ndarray             # float64, the owner's loan on the parcel (constant euros; not re-marked)
    rent_free_months: np.ndarray     # float64, rent-free months offered on a vacant unit's next lease
    appraisal_rent_eur_m2: np.ndarray  # float64, the rent a valuer carries for a vacant unit
    maintenance_threshold: np.ndarray  # float64, condition below which the owner renovates (owners differ)
    upper_floor_free_m2: np.ndarray  # float64, unused upper-floor area above a commercial ground floor
    distance: np.ndarray = field(repr=False, default=None)  # float64, distance to the centre / side

    @property
    def shape(self) -> tuple[int, int]:
        return self.land.shape

    @property
    def is_parcel(self) -> np.ndarray:
        return self.land == LAND_PARCEL

    def flat(self, name: str) -> np.ndarray:
        """Flat view (no copy) of attribute ``name`` (cached until the attribute is replaced)."""
        views = self.__dict__.setdefault("_flat_views", {})
        view = views.get(name)
        if view is None:
            array = getattr(self, name)
            view = array.reshape(-1)
            if np.shares_memory(view, array):    # a copy (non-contiguous array) would go stale
                views[name] = view
        return view

    def __setattr__(self, name: str, value) -> None:
        # a replaced array (the kernels return new ones) must not leave a stale flat view behind
        views = self.__dict__.get("_flat_views")
        if views:
            views.pop(name, None)
        object.__setattr__(self, name, value)

    def __getstate__(self) -> dict:
        # pickled or copied parcels rebuild their views: a pickled view would be a detached copy
        state = dict(self.__dict__)
        state.pop("_flat_views", None)
        return state

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of the attributes worth keeping per year (hidden fronts included for research)."""
        keep = ("use", "land", "street_class", "condition", "rent_eur_m2", "asking_rent_eur_m2",
                "value_eur", "footfall", "owner", "dwellings_occupied", "is_front", "vacant_since", "last_use")
        return {k: getattr(self, k).copy() for k in keep}

    def check(self) -> None:
        """Raise AssertionError when a structural invariant fails."""
        p = self.is_parcel
        assert np.all(self.use[~p] == VACANT), "public space carries a use"
        assert np.all((self.use >= 0) & (self.use < N_USES)), "use code out of range"
        assert np.all(self.dwellings_occupied <= self.dwellings), "more households than dwellings"
        assert np.all(self.dwellings_occupied >= 0)
        assert np.all((self.condition >= 0) & (self.condition <= 1)), "condition outside 0..1"
        assert np.all(self.owner[p] >= 0) and np.all(self.owner[~p] == -1), "parcel without one owner"
        assert np.all(self.tenant[~p] == -1)


def array_names() -> list[str]:
    return [f.name for f in fields(Parcels)]


# ---------------------------------------------------------------- generator
# Initial ground-floor mix per street class (shares of the occupied units): the model's own
# steady state under the start year's context (python -m sim.calibration.steady_start,
# docs/calibration.md §3), checked against the spirit of Locatus compositions: chains and
# independents dominate A1, horeca and independents A2-B, services and daily goods the edge,
# offices, craft and culture off the prime streets.
INITIAL_MIX: dict[str, dict[str, float]] = {
    "A1": {"comparison": .44, "independent": .33, "daily": .00, "horeca": .20, "services": .03, "culture": .00, "craft": .00, "office": .00},
    "A2": {"comparison": .17, "independent": .36, "daily": .02, "horeca": .36, "services": .08, "culture": .00, "craft": .01, "office": .00},
    "B": {"comparison": .04, "independent": .29, "daily": .09, "horeca": .35, "services": .17, "culture": .01, "craft": .03, "office": .02},
    "C": {"comparison": .01, "independent": .08, "daily": .26, "horeca": .11, "services": .34, "culture": .04, "craft": .08, "office": .08},
    "residential": {"comparison": .0, "independent": .01, "daily": .36, "horeca": .02, "services": .15, "culture": .09, "craft": .08, "office": .29},
}
# Initial vacancy (share of commercial units) per street class: the model's own steady state
# under the start year's context (python -m sim.calibration.steady_start, docs/calibration.md
# §3), at the level the entry rates are calibrated to (about 6%: Locatus, 6.0-7.5% of outlets
# vacant nationally 2011-2024; lowest on A locations).
INITIAL_VACANCY = {"A1": 0.04, "A2": 0.05, "B": 0.065, "C": 0.06, "residential": 0.055}
# Share of parcels on each street class that has a commercial ground floor (rest: housing). Assumption.
COMMERCIAL_SHARE = {"A1": 1.0, "A2": 1.0, "B": 0.9, "C": 0.75, "residential": 0.045}
# Median ground-floor area (m2) per street class; lognormal sigma 0.4. Assumption.
FLOOR_MEDIAN_M2 = {"A1": 220.0, "A2": 160.0, "B": 120.0, "C": 100.0, "residential": 85.0}
# Share of commercial buildings with an unused upper floor (storage or empty) that could hold
# dwellings. Assumption (no Dutch figure found).
UPPER_FLOOR_FREE_SHARE = 0.25
MONUMENT_SHARE = 0.10     # share of parcels in the historic core (d < 0.3) that are monuments. Assumption.


def _street_classes(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land types and the street class of each street cell (−1 elsewhere), plus distance to centre."""
    land = np.zeros((n, n), np.int8)
    rows, cols = np.mgrid[0:n, 0:n]
    street_rows = rows % 3 == 0          # every parcel row fronts a street
    street_cols = cols % 8 == 0          # cross streets cut blocks into 7-cell-long rows
    land[street_rows | street_cols] = LAND_CODE["street"]
    c = (n - 1) / 2.0
    # a little noise so the rings of street classes are not perfect circles
    wobble = 1.0 + 0.08 * np.sin(np.arctan2(rows - c, cols - c) * 3 + rng.uniform(0, 2 * np.pi))
    dist = np.hypot(rows - c, cols - c) / n * wobble
    # canal ring around the historic core, with bridges where streets cross
    ring = (np.abs(np.hypot(rows - c, cols - c) / n - 0.40) < 0.007) & ~street_rows & ~street_cols
    land[ring] = LAND_CODE["water"]
    # the shopping axes: the central east-west and north-south streets and one parallel
    axis_row = int(round(c / 3)) * 3
    axis_col = int(round(c / 8)) * 8
    axis = np.zeros((n, n), bool)
    axis[axis_row, :] = True
    axis[axis_row + 6, :] = True
    axis[:, axis_col] = True
    # market square west of the crossing, station south of the core on the axis
    sq = slice(axis_row + 1, axis_row + 6), slice(axis_col - 7, axis_col - 1)
    land[sq] = LAND_CODE["square"]
    st_r = min(n - 4, int(round(c + 0.36 * n)))
    land[st_r:st_r + 3, axis_col - 3:axis_col + 4] = LAND_CODE["station"]
    axis[: st_r, axis_col] = True
    street_class = np.full((n, n), -1, np.int8)
    is_street = land == LAND_CODE["street"]
    axis_class = np.select([dist < 0.13, dist < 0.21, dist < 0.30, dist < 0.40],
                           [STREET_CODE["A1"], STREET_CODE["A2"], STREET_CODE["B"], STREET_CODE["C"]],
                           STREET_CODE["residential"])
    other_class = np.select([dist < 0.07, dist < 0.17, dist < 0.27],
                            [STREET_CODE["A2"], STREET_CODE["B"], STREET_CODE["C"]],
                            STREET_CODE["residential"])
    street_class[is_street & axis] = axis_class[is_street & axis]
    street_class[is_street & ~axis] = other_class[is_street & ~axis]
    return land, street_class, dist


def _parcel_street_class(land: np.ndarray, street_cls: np.ndarray) -> np.ndarray:
    """A parcel takes the best (lowest code) class among the streets it touches."""
    best = np.full(land.shape, 99, np.int16)
    sc = np.where(street_cls >= 0, street_cls, 99).astype(np.int16)
    for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        shifted = np.full(land.shape, 99, np.int16)
        src = sc[max(di, 0): land.shape[0] + min(di, 0), max(dj, 0): land.shape[1] + min(dj, 0)]
        shifted[max(-di, 0): land.shape[0] + min(-di, 0), max(-dj, 0): land.shape[1] + min(-dj, 0)] = src
        best = np.minimum(best, shifted)
    out = np.where(best == 99, STREET_CODE["residential"], best).astype(np.int8)
    out[land != LAND_PARCEL] = -1
    return out


def _initial_uses(street: np.ndarray, parcel: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ground-floor use per parcel and, for vacant units, the use they had before."""
    use = np.full(street.shape, VACANT, np.int8)
    last = np.full(street.shape, VACANT, np.int8)
    for name, code in STREET_CODE.items():
        cells = np.flatnonzero(parcel & (street == code))
        u = rng.random(cells.size)
        mix = INITIAL_MIX[name]
        sectors = np.array([USE_CODE[s] for s in COMMERCIAL_NAMES])
        probs = np.array([mix[s] for s in COMMERCIAL_NAMES])
        chosen = sectors[rng.choice(len(sectors), size=cells.size, p=probs / probs.sum())]
        commercial = u < COMMERCIAL_SHARE[name]
        # exactly the target share of commercial units starts vacant (less seed noise in the start state)
        com_idx = np.flatnonzero(commercial)
        vac = np.zeros(cells.size, bool)
        vac[rng.permutation(com_idx)[: int(round(INITIAL_VACANCY[name] * com_idx.size))]] = True
        values = np.where(commercial, np.where(vac, VACANT, chosen), RESIDENTIAL)
        use.reshape(-1)[cells] = values
        last.reshape(-1)[cells] = np.where(values == VACANT, chosen, VACANT)
    return use, last


def default_plan(parcel: np.ndarray, street: np.ndarray, use: np.ndarray, last_use: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The zoning plan of the start (docs/ODD.md §5.1): what each parcel's ground floor may be used
    for by right (``allowed``) and on application (``permit_uses``), as bitmasks of use codes.

    Modelled on Dutch centre plans: on the core shopping streets (A1, A2) the ground floor is for
    retail, services, culture and civic uses, craft and horeca, not for offices (Breda's plan
    "Binnenstad", zone Centrum-1: retail, services, culture, civic uses and light horeca on the
    ground floor, homes above; ruimtelijkeplannen.nl, NL.IMRO.0758.BP2010001001); offices come
    there only with a change-of-use permit. On B streets every commercial use is permitted. On
    the edge (C) and residential streets housing is permitted on the ground floor too, where
    Dutch conversions concentrate (itnijs.frl, "Minder leechstân troch dat winkels yn wenten
    feroarje", 2022), and horeca needs a permit (Dutch plans keep horeca to designated streets;
    many municipalities grant shops a horeca use to fight vacancy: zin.nl, "Starten in de horeca");
    on residential streets horeca is not permitted. Turning a shop front on A1-B into a home needs
    a plan change (the zoning instrument). A unit keeps the right to the use it has (or had, when
    vacant) at the start.
    """
    allowed = np.zeros(parcel.shape, np.int32)
    permit = np.zeros(parcel.shape, np.int32)
    commercial = 0
    for code in range(N_USES):
        if IS_COMMERCIAL[code]:
            commercial |= use_bit(code)
    horeca, office, housing = use_bit(USE_CODE["horeca"]), use_bit(USE_CODE["office"]), use_bit(RESIDENTIAL)
    core = parcel & (street <= STREET_CODE["A2"])
    allowed[core] = commercial & ~office
    permit[core] = office
    allowed[parcel & (street == STREET_CODE["B"])] = commercial
    edge = parcel & (street == STREET_CODE["C"])
    allowed[edge] = (commercial & ~horeca) | housing
    permit[edge] = horeca
    homes = parcel & (street == STREET_CODE["residential"])
    allowed[homes] = (commercial & ~horeca) | housing
    # existing use rights: the use a unit holds, or held before it fell vacant
    held = np.where(use == VACANT, last_use, use)
    rights = parcel & IS_COMMERCIAL[held]
    allowed[rights] |= (1 << held[rights].astype(np.int32))
    allowed[parcel & (use == RESIDENTIAL)] |= housing
    permit &= ~allowed
    return allowed, permit


def generate_city(scenario, rng: np.random.Generator) -> Parcels:
    """Build the synthetic city of ``scenario.city`` from ``rng`` (deterministic for a seed).

    Rents, owners and households are filled in by the model afterwards: they
    need the footfall field and the agents.
    """
    n = scenario.city.side_cells
    land, street_cls, dist = _street_classes(n, rng)
    parcel = land == LAND_PARCEL
    street = _parcel_street_class(land, street_cls)
    use, last_use = _initial_uses(street, parcel, rng)
    floor = np.zeros((n, n))
    for name, code in STREET_CODE.items():
        m = parcel & (street == code)
        floor[m] = FLOOR_MEDIAN_M2[name] * np.exp(0.4 * rng.standard_normal(m.sum()))
    floor = np.round(np.clip(floor, 25.0, 2000.0))
    dwellings = np.zeros((n, n), np.int32)
    upper_mean = scenario.agents.households.upper_floor_dwellings_mean
    res = parcel & (use == RESIDENTIAL)
    dwellings[res] = 1 + rng.poisson(0.5, res.sum())          # ground floor + upper floors. Assumption.
    com = parcel & (use != RESIDENTIAL)
    dwellings[com] = rng.poisson(upper_mean, com.sum())
    # Upper floors above shops left unused or used as storage: the room of "wonen boven winkels".
    # The share of commercial buildings with such a floor and its size: assumption (see
    # UPPER_FLOOR_FREE_SHARE).
    upper_free = np.zeros((n, n))
    has_free = com & (rng.random((n, n)) < UPPER_FLOOR_FREE_SHARE)
    upper_free[has_free] = np.round(0.8 * floor[has_free])
    # Owners renovate when condition falls below their own threshold (owners differ: the
    # threshold is spread ±25% around the scenario's, an assumption) and restore it to 1; with
    # a common decay rate a building's condition then cycles between its threshold and 1, and
    # the steady state of such cycles is uniform on [threshold, 1]: the start draws from it, so
    # that condition_mean does not swing with the phase of one synchronised cycle.
    threshold = scenario.agents.owners.maintenance_threshold * rng.uniform(0.75, 1.25, (n, n))
    threshold = np.clip(threshold, 0.0, 0.95)
    condition = threshold + (1.0 - threshold) * rng.random((n, n))
    condition[~parcel] = 1.0
    monument = parcel & (dist < 0.3) & (rng.random((n, n)) < MONUMENT_SHARE)
    anchor = np.zeros((n, n))
    anchor[land == LAND_CODE["station"]] = scenario.market.anchor_station
    anchor[land == LAND_CODE["square"]] = scenario.market.anchor_square
    core = parcel & np.isin(street, [STREET_CODE["A1"], STREET_CODE["A2"]])
    allowed, permit_uses = default_plan(parcel, street, use, last_use)
    z_f = lambda dt: np.zeros((n, n), dt)  # noqa: E731
    return Parcels(
        land=land, use=use, street_class=street, floor_m2=floor, dwellings=dwellings,
        dwellings_occupied=z_f(np.int32), rent_eur_m2=z_f(np.float64), rent_paid_eur_m2=z_f(np.float64),
        asking_rent_eur_m2=z_f(np.float64),
        reference_rent_eur_m2=z_f(np.float64), market_rent_eur_m2=z_f(np.float64), value_eur=z_f(np.float64),
        condition=condition, vacant_since=np.full((n, n), -1, np.int32),
        lettable_from_step=np.full((n, n), -1, np.int32), last_use=last_use, last_review_step=np.full((n, n), -1, np.int32),
        owner=np.full((n, n), -1, np.int32), tenant=np.full((n, n), -1, np.int32), allowed=allowed,
        permit_uses=permit_uses,
        footfall=z_f(np.float64), resident_field=z_f(np.float64), anchor=anchor,
        attraction_bonus=z_f(np.float64), condition_bonus=z_f(np.float64), is_front=z_f(np.bool_),
        monument=monument, preemption=z_f(np.bool_), in_biz=z_f(np.bool_), core_area=core,
        dwelling_base_eur_month=z_f(np.float64), dwelling_elastic=z_f(np.bool_),
        dwelling_rent_eur_month=z_f(np.float64), conversion_done_step=np.full((n, n), -1, np.int32),
        conversion_to=z_f(np.int8), conversion_from=z_f(np.int8), conversion_dwellings=z_f(np.int32),
        debt_eur=z_f(np.float64), rent_free_months=z_f(np.float64), appraisal_rent_eur_m2=z_f(np.float64),
        maintenance_threshold=np.where(parcel, threshold, 0.0), upper_floor_free_m2=upper_free,
        distance=dist,
    )


def named_area(parcels: Parcels, name: str) -> np.ndarray:
    """Boolean mask of a named area of the generated city (for instruments)."""
    areas = {
        "core": parcels.core_area,
        "edge": parcels.street_class == STREET_CODE["C"],
        "shopping": parcels.is_parcel & (parcels.street_class < STREET_CODE["residential"]),
        "residential": parcels.is_parcel & (parcels.street_class == STREET_CODE["residential"]),
        "all": parcels.is_parcel,
    }
    if name not in areas:
        raise KeyError(f"unknown area {name!r}; expected one of {sorted(areas)}")
    return areas[name]


__all__ = ["Parcels", "generate_city", "named_area", "use_bit", "ALL_USES_MASK", "USE_NAMES"]
