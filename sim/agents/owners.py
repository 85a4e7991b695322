"""Property owners: asking rents of vacant units, conversion, maintenance, sales.

Owner state (kind, cash) lives in ``model.owners``; parcels point at their
owner's slot. An ``Owner`` agent acts only on the parcels that have an event
this step, handed to it by the model's array screening.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.uses import CONVERSION, MUNICIPALITY, OWNER_CODE, RESIDENTIAL, STREET_CODE, VACANT, USE_NAMES

if TYPE_CHECKING:
    from sim.model import CityModel

OWNER_FIELDS = {"kind": np.int8, "cash_eur": np.float64}


class Owner(mesa.Agent):
    """A property owner of one kind with a portfolio of parcels and cash."""

    def __init__(self, model: "CityModel", slot: int):
        super().__init__(model)
        self.slot = slot

    @property
    def kind(self) -> int:
        return int(self.model.owners.kind[self.slot])

    def params(self):
        return self.model.owner_kind_params[self.kind]

    # -- vacant units -------------------------------------------------------
    def review_asking_rents(self, parcels: list[int]) -> None:
        """Cut the asking rent of long-enough vacant units by a step, never below the floor.

        The floor is a share of the last contract rent: institutional owners keep it
        high because a lower contract rent lowers the appraisal and can breach loan covenants
        (gebiedsontwikkeling.nu, "Waarom laten ze een winkelpand zo lang leegstaan").
        """
        m = self.model
        par = m.parcels
        cut = m.spec.agents.owners.rent_cut_share
        floor_share = self.params().rent_floor_share
        for p in parcels:
            floor = floor_share * par.flat("reference_rent_eur_m2")[p]
            par.flat("asking_rent_eur_m2")[p] = max(floor, par.flat("asking_rent_eur_m2")[p] * (1.0 - cut))
            par.flat("last_review_step")[p] = m.steps

    def consider_conversion(self, parcels: list[int]) -> None:
        """Convert a long-vacant unit to housing when zoning permits and it pays.

        Compares the value of the converted unit minus conversion cost (minus any
        subsidy) with the value of holding it, discounted by the owner's fading
        belief that it will let. The owner must bring the equity share of the net
        cost in cash: small owners often cannot, which keeps vacancy long.
        """
        m = self.model
        par = m.parcels
        oc = m.spec.agents.owners
        for p in parcels:
            if not (par.flat("allowed")[p] >> RESIDENTIAL) & 1:
                continue
            floor = par.flat("floor_m2")[p]
            years_vacant = (m.steps - par.flat("vacant_since")[p]) / m.spy
            belief = 0.5 ** (years_vacant / oc.letting_belief_halflife_years)
            cap = m.context["cap_rate"] + oc.street_cap_rate_spread.as_tuple()[par.flat("street_class")[p]]
            hold = (1.0 - oc.opex_share) * par.flat("market_rent_eur_m2")[p] * floor * belief / cap
            new_dwellings = max(1, int(floor // oc.dwelling_m2))
            rent_month = m.new_dwelling_rent_eur_month(p)
            converted = (1.0 - oc.opex_share) * new_dwellings * rent_month * 12.0 / oc.residential_cap_rate
            cost = m.context["construction_cost_eur_m2"] * floor
            subsidy = m.municipality.conversion_subsidy(p, cost, commit=False)
            if converted - cost + subsidy <= hold:
                continue
            # the bank lends loan_to_value of the net cost; the owner brings the rest in cash
            equity = (1.0 - self.params().loan_to_value) * (cost - subsidy)
            if m.owners.cash_eur[self.slot] < equity:
                continue
            subsidy = m.municipality.conversion_subsidy(p, cost, commit=True)
            m.owners.cash_eur[self.slot] -= equity  # the loan share is carried as debt (interest on LTV × value)
            par.flat("conversion_from")[p] = par.flat("last_use")[p]
            par.flat("conversion_to")[p] = RESIDENTIAL
            par.flat("conversion_dwellings")[p] = new_dwellings
            lag = max(1, round(oc.conversion_lag_quarters * m.spy / 4)) + m.municipality.conversion_extra_steps(p)
            par.flat("conversion_done_step")[p] = m.steps + lag
            par.flat("use")[p] = CONVERSION
            par.flat("vacant_since")[p] = -1
            par.flat("asking_rent_eur_m2")[p] = 0.0

    # -- buildings ------------------------------------------------------------
    def maintain(self, parcels: list[int]) -> None:
        """Renovate worn parcels, worst first, while cash allows."""
        m = self.model
        par = m.parcels
        cost_m2 = m.spec.agents.owners.renovation_cost_eur_m2
        for p in sorted(parcels, key=lambda q: (par.flat("condition")[q], q)):
            cost = (1.0 - par.flat("condition")[p]) * cost_m2 * par.flat("floor_m2")[p]
            own_share = cost - m.municipality.maintenance_support(p, cost, commit=False)  # facade subsidy
            if m.owners.cash_eur[self.slot] < own_share:
                continue
            own_share = cost - m.municipality.maintenance_support(p, cost, commit=True)
            m.owners.cash_eur[self.slot] -= own_share
            par.flat("condition")[p] = 1.0

    # -- sales ------------------------------------------------------------------
    def sell(self, parcels: list[int]) -> None:
        """Sell at market value; in a pre-emption area the municipality may buy first."""
        m = self.model
        for p in parcels:
            price = float(m.parcels.flat("value_eur")[p])
            if m.municipality.first_refusal(p, price):
                buyer = m.municipality_owner_slot
            else:
                buyer = m.draw_buyer(p, exclude=self.slot)
                if buyer < 0:
                    continue
            transfer(m, p, self.slot, buyer, price)


def transfer(model: "CityModel", parcel: int, seller: int, buyer: int, price_eur: float) -> None:
    """Move ownership; the seller repays its loan share, the buyer pays its equity share.

    The new owner appraises at today's market: a vacant unit's reference and
    asking rents reset to the market rent.
    """
    o = model.owners
    ltv_seller = model.owner_ltv[o.kind[seller]]
    ltv_buyer = model.owner_ltv[o.kind[buyer]]
    o.cash_eur[seller] += price_eur * (1.0 - ltv_seller)
    o.cash_eur[buyer] -= price_eur * (1.0 - ltv_buyer)
    par = model.parcels
    par.flat("owner")[parcel] = buyer
    if par.flat("use")[parcel] == VACANT:
        market = par.flat("market_rent_eur_m2")[parcel]
        par.flat("reference_rent_eur_m2")[parcel] = market
        par.flat("asking_rent_eur_m2")[parcel] = market
        par.flat("last_review_step")[parcel] = model.steps
    model.events["sales"] += 1


def assign_owners(model: "CityModel") -> None:
    """Create owner agents and give every parcel one owner (kinds and shares: docs/ODD.md §5.2)."""
    par = model.parcels
    oc = model.spec.agents.owners
    rng = model.streams.generator("owner.assign", 0)   # set-up: the same owners in every scenario of a city
    n_parcels = int(par.is_parcel.sum())
    kinds = [k for k in oc.kinds]
    slots_by_kind: dict[int, np.ndarray] = {}
    for k in kinds:
        count = max(1, int(round(oc.kinds[k].count_per_1000_parcels * n_parcels / 1000.0)))
        slots_by_kind[OWNER_CODE[k]] = model.owners.add_many(count, kind=OWNER_CODE[k], cash_eur=0.0)
    # the municipality is an owner too, of nothing yet (instruments buy)
    model.municipality_owner_slot = int(model.owners.add(kind=MUNICIPALITY, cash_eur=0.0))
    core = par.is_parcel & (par.street_class <= STREET_CODE["B"])
    for mask, field in ((core, "parcel_share_core"), (par.is_parcel & ~core, "parcel_share_edge")):
        cells = np.flatnonzero(mask)
        w = np.array([getattr(oc.kinds[k], field) for k in kinds])
        kind_idx = rng.choice(len(kinds), size=cells.size, p=w / w.sum())
        for i, k in enumerate(kinds):
            these = cells[kind_idx == i]
            pool = slots_by_kind[OWNER_CODE[k]]
            par.flat("owner")[these] = pool[rng.integers(pool.size, size=these.size)]
    model.owner_agents = [Owner(model, s) for s in range(model.owners.n)]


def conversion_metric(from_code: int, to_code: int) -> str:
    return f"conversions_{USE_NAMES[from_code]}_to_{USE_NAMES[to_code]}"
