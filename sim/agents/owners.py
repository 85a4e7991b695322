"""Property owners: pricing of vacant units, loans and covenants, conversion, maintenance, sales.

Owner state (kind, cash) lives in ``model.owners``; parcels point at their
owner's slot and carry their own loan (``debt_eur``). An ``Owner`` agent acts
only on the parcels that have an event this step, handed to it by the model's
array screening.

Why vacancy persists (docs/ODD.md §5.3): an owner's appraisal capitalises the
*contract* rent, and its lender's covenants (loan-to-value, interest cover) rest
on the appraisal. Letting at a lower headline rent lowers the appraisal at once
and can breach a covenant; so owners first offer rent-free months, which keep the
headline rent, cut the headline only down to a floor set by the appraisal and the
covenant, and hold out above it. What ends a long spell is the valuer moving the
vacant unit towards the market rent, a covenant breach that forces a sale (the
buyer prices at today's market), or a conversion (Dutch sources:
gebiedsontwikkeling.nu, "Waarom laten ze een winkelpand zo lang leegstaan";
PBL, "Leegstand detailhandel herbezien").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents.businesses import residual_rent_eur_m2
from sim.uses import CONVERSION, MUNICIPALITY, OWNER_CODE, RESIDENTIAL, STREET_CODE, USE_CODE, USE_NAMES, VACANT

if TYPE_CHECKING:
    from sim.model import CityModel

OWNER_FIELDS = {"kind": np.int8, "cash_eur": np.float64}


class Owner(mesa.Agent):
    """A property owner of one kind with a portfolio of parcels, their loans and cash."""

    def __init__(self, model: "CityModel", slot: int):
        super().__init__(model)
        self.slot = slot

    @property
    def kind(self) -> int:
        return int(self.model.owners.kind[self.slot])

    def params(self):
        return self.model.owner_kind_params[self.kind]

    # -- vacant units -------------------------------------------------------
    def review_asking_rents(self, parcels: list[int], book: "Portfolios") -> None:
        """Price each long-enough vacant unit: incentives first, then the headline rent.

        1. Rent-free months are added to the offer (``rent_free_months_per_review``) up to
           ``max_rent_free_months``: they lower what a tenant pays over the lease
           without lowering the headline rent that the appraisal capitalises.
        2. Only when the incentive is at its maximum is the headline cut, by
           ``rent_cut_share``, and never below the higher of two floors: the owner's
           share of the appraisal rent (``rent_floor_share``; a lower headline
           writes the value down) and the covenant floor (the headline below which
           the re-appraised portfolio breaches the lender's loan-to-value covenant).
        """
        m = self.model
        par = m.parcels
        oc = m.spec.agents.owners
        ask = par.flat("asking_rent_eur_m2")
        months = par.flat("rent_free_months")
        for p in parcels:
            par.flat("last_review_step")[p] = m.steps
            if months[p] < oc.max_rent_free_months:
                months[p] = min(oc.max_rent_free_months, months[p] + oc.rent_free_months_per_review)
                continue
            floor = max(self.params().rent_floor_share * par.flat("appraisal_rent_eur_m2")[p],
                        book.covenant_floor_rent(self.slot, p))
            ask[p] = min(ask[p], max(floor, ask[p] * (1.0 - oc.rent_cut_share)))

    def consider_conversion(self, parcels: list[int], residuals: dict[tuple[int, int], float] | None = None) -> None:
        """Convert a long-vacant unit when another use pays more than holding out for a tenant.

        Two ways, whichever gains most (docs/ODD.md §7.12):

        * to housing, where the plan permits homes on the ground floor: the value of the
          converted unit minus conversion cost (minus any subsidy) against the value of
          holding it, discounted by the owner's fading belief that it will let;
        * to another commercial use that the plan allows only with a change-of-use permit
          (``permit_uses``; e.g. a shop on an edge street to horeca): the unit re-let at the
          market rent of that use against holding it, less the permit and refit costs
          (``change_of_use_cost_eur_m2``).

        The owner must bring the equity share of the net cost in cash: small owners often
        cannot, which keeps vacancy long. ``residuals`` may hold the residual rents of the
        (parcel, use) pairs a permit would open, computed for many units at once
        (``permit_residuals``); missing pairs are computed here.
        """
        m = self.model
        par = m.parcels
        oc = m.spec.agents.owners
        for p in parcels:
            options = []   # (gain, target use, cost, subsidy, new dwellings)
            if (par.flat("allowed")[p] >> RESIDENTIAL) & 1:
                hold, converted, cost, new_dwellings = conversion_values(m, p)
                subsidy = m.municipality.conversion_subsidy(p, cost, commit=False)
                options.append((converted - cost + subsidy - hold, RESIDENTIAL, cost, subsidy, new_dwellings))
            options += [(gain, target, cost, 0.0, 0) for target, gain, cost in change_of_use_options(m, p, residuals)]
            # the best option that pays and that the owner can finance (ties: the lower use code)
            chosen = next((o for o in sorted(options, key=lambda o: (-o[0], o[1]))
                           if o[0] > 0 and self._finance(p, o[2] - o[3])), None)
            if chosen is None:
                continue
            _, target, cost, subsidy, new_dwellings = chosen
            if target == RESIDENTIAL:
                m.municipality.conversion_subsidy(p, cost, commit=True)
                lag = max(1, round(oc.conversion_lag_quarters * m.spy / 4)) + m.municipality.conversion_extra_steps(p)
            else:
                lag = max(1, round(oc.change_of_use_lag_quarters * m.spy / 4))
            par.flat("conversion_from")[p] = par.flat("last_use")[p]
            par.flat("conversion_to")[p] = target
            par.flat("conversion_dwellings")[p] = new_dwellings
            par.flat("conversion_done_step")[p] = m.steps + lag
            par.flat("use")[p] = CONVERSION
            par.flat("vacant_since")[p] = -1
            par.flat("asking_rent_eur_m2")[p] = 0.0
            par.flat("rent_free_months")[p] = 0.0

    def consider_upper_floors(self, parcels: list[int]) -> None:
        """Turn unused floor above a shop into dwellings (*wonen boven winkels*) when it pays.

        The ground floor keeps its use and tenant; the new dwellings are let by the
        housing market. Needs housing permitted on the upper floors (Dutch plans
        generally do above shops; the model's zoning bitmask is for the ground
        floor) and the owner's equity for the loan's complement.
        """
        m = self.model
        par = m.parcels
        oc = m.spec.agents.owners
        free = par.flat("upper_floor_free_m2")
        for p in parcels:
            area = free[p]
            new_dwellings = int(area // oc.dwelling_m2)
            if new_dwellings < 1:
                continue
            rent_month = m.new_dwelling_rent_eur_month(p)
            value = (1.0 - oc.opex_share) * new_dwellings * rent_month * 12.0 / oc.residential_cap_rate
            cost = oc.upper_floor_cost_share * m.context["construction_cost_eur_m2"] * area
            if value <= cost or not self._finance(p, cost):
                continue
            free[p] = 0.0
            par.flat("dwellings")[p] += new_dwellings
            m.upper_floor_conversions += 1
            m.upper_floor_dwellings += new_dwellings

    def can_finance(self, net_cost_eur: float) -> bool:
        """Has the owner the cash for its equity share (1 − ``loan_to_value``) of works costing ``net_cost_eur``?"""
        return bool(self.model.owners.cash_eur[self.slot] >= (1.0 - self.params().loan_to_value) * net_cost_eur)

    def _finance(self, parcel: int, net_cost_eur: float) -> bool:
        """Pay for works on ``parcel``: the lender adds ``loan_to_value`` of the cost to the
        parcel's loan and the owner pays the rest from cash; False when the cash is short."""
        m = self.model
        if not self.can_finance(net_cost_eur):
            return False
        ltv = self.params().loan_to_value
        equity = (1.0 - ltv) * net_cost_eur
        m.owners.cash_eur[self.slot] -= equity
        m.parcels.flat("debt_eur")[parcel] += ltv * net_cost_eur
        return True

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

    # -- loans ----------------------------------------------------------------
    def meet_covenants(self, book: "Portfolios") -> None:
        """A yearly covenant test failed: cure it from cash, or the lender forces a sale.

        Dutch lenders first ask for extra repayment; an owner that cannot pay sees
        the collateral sold (the bank's special-asset route) — the sale most
        likely to bring a vacant unit back to market at today's rent. The owner
        repays down to the covenant from cash above zero; if that is not enough,
        its worst parcel (longest vacant, then highest debt) is sold at market
        value less ``forced_sale_discount``.
        """
        m = self.model
        oc = m.spec.agents.owners
        k = self.params()
        need = book.repayment_to_cure(self.slot, k.covenant_ltv_max, k.covenant_icr_min, m.context["interest_rate"])
        cash = max(float(m.owners.cash_eur[self.slot]), 0.0)
        mine = book.parcels_of(self.slot)
        debt = m.parcels.flat("debt_eur")
        total_debt = float(debt[mine].sum())
        if need <= cash and total_debt > 0:
            m.owners.cash_eur[self.slot] -= need
            debt[mine] *= 1.0 - need / total_debt     # repaid pro rata over the loans
            m.events["covenant_cures"] += 1
            return
        worst = book.forced_sale_candidate(self.slot)
        if worst < 0:
            return
        m.events["forced_sales"] += 1
        self.sell([worst], discount=oc.forced_sale_discount)

    # -- sales ------------------------------------------------------------------
    def sell(self, parcels: list[int], discount: float = 0.0) -> None:
        """Sell at market value (less ``discount``); in a pre-emption area the municipality may buy first."""
        m = self.model
        for p in parcels:
            price = market_value_eur(m, p) * (1.0 - discount)
            answer = m.municipality.first_refusal(p, price)
            if answer is None:
                continue              # the municipality negotiates under its pre-emption right: the sale waits
            if answer:
                buyer = m.municipality_owner_slot
            else:
                buyer = m.draw_buyer(p, exclude=self.slot)
                if buyer < 0:
                    continue
            transfer(m, p, self.slot, buyer, price)


class Portfolios:
    """Each owner's debt, appraised value, net income and interest, summed over its parcels.

    Built from the parcel arrays when the owners act (once per step), so that
    covenant tests and floors see the whole portfolio.
    """

    def __init__(self, model: "CityModel"):
        self.model = model
        par = model.parcels
        n = model.owners.n
        owner = par.flat("owner")
        self.owned = np.flatnonzero(owner >= 0)
        o = owner[self.owned]
        self.owner_of = o
        self.debt_eur = np.bincount(o, weights=par.flat("debt_eur")[self.owned], minlength=n)
        self.value_eur = np.bincount(o, weights=par.flat("value_eur")[self.owned], minlength=n)
        net = (1.0 - model.spec.agents.owners.opex_share) * model.rent_roll_eur()[self.owned]
        self.net_income_eur = np.bincount(o, weights=net, minlength=n)
        self._by_owner: dict[int, np.ndarray] | None = None

    def parcels_of(self, slot: int) -> np.ndarray:
        if self._by_owner is None:
            order = np.argsort(self.owner_of, kind="stable")
            cuts = np.searchsorted(self.owner_of[order], np.arange(self.model.owners.n + 1))
            self._by_owner = {s: self.owned[order[cuts[s]:cuts[s + 1]]] for s in range(self.model.owners.n)}
        return self._by_owner[slot]

    def covenant_floor_rent(self, slot: int, parcel: int) -> float:
        """Lowest headline rent (EUR/m2/yr) at which letting ``parcel`` keeps the owner's
        loan-to-value covenant (0 when the owner has no debt)."""
        m = self.model
        debt = self.debt_eur[slot]
        if debt <= 0.0:
            return 0.0
        par = m.parcels
        oc = m.spec.agents.owners
        ltv_max = m.owner_ltv_max[m.owners.kind[slot]]
        if ltv_max <= 0.0:
            return 0.0
        cap = m.cap_rate_of(parcel)
        floor = par.flat("floor_m2")[parcel]
        unit_value = (1.0 - oc.opex_share) * par.flat("appraisal_rent_eur_m2")[parcel] \
            * (1.0 - m.spec.market.vacant_value_discount) * floor / cap
        others = self.value_eur[slot] - unit_value
        return max(0.0, (debt / ltv_max - others) * cap / ((1.0 - oc.opex_share) * floor))

    def breaches(self, ltv_max: np.ndarray, icr_min: np.ndarray, rate: float) -> np.ndarray:
        """Slots of owners with debt whose portfolio fails the LTV or the interest-cover test."""
        interest = rate * self.debt_eur
        has_debt = self.debt_eur > 0.0
        ltv_bad = self.debt_eur > ltv_max * self.value_eur
        icr_bad = self.net_income_eur < icr_min * interest
        return np.flatnonzero(has_debt & (ltv_bad | icr_bad))

    def repayment_to_cure(self, slot: int, ltv_max: float, icr_min: float, rate: float) -> float:
        """Repayment (EUR) that brings the owner's loans back within both covenants."""
        debt = self.debt_eur[slot]
        allowed = ltv_max * self.value_eur[slot]
        if icr_min > 0.0 and rate > 0.0:
            allowed = min(allowed, self.net_income_eur[slot] / (icr_min * rate))
        return float(max(debt - max(allowed, 0.0), 0.0))

    def forced_sale_candidate(self, slot: int) -> int:
        """The parcel a lender sells first: the longest vacant, else the one with the most debt."""
        m = self.model
        mine = self.parcels_of(slot)
        if mine.size == 0:
            return -1
        par = m.parcels
        since = par.flat("vacant_since")[mine]
        vacant = par.flat("use")[mine] == VACANT
        debt = par.flat("debt_eur")[mine]
        # vacant first (earliest start), then by debt; ties by parcel index
        key = np.where(vacant, since.astype(np.float64), np.inf)
        order = np.lexsort((mine, -debt, key))
        return int(mine[order[0]])


def conversion_values(model: "CityModel", parcel: int) -> tuple[float, float, float, int]:
    """What the owner of a vacant unit weighs in ``Owner.consider_conversion``: (value of holding it,
    discounted by the owner's fading belief that it will let; value once converted to housing, its
    dwellings at today's market rent capitalised at the residential cap rate; conversion cost;
    number of new dwellings), all in EUR of 2025 but the last."""
    par = model.parcels
    oc = model.spec.agents.owners
    floor = par.flat("floor_m2")[parcel]
    years_vacant = (model.steps - par.flat("vacant_since")[parcel]) / model.spy
    belief = 0.5 ** (years_vacant / oc.letting_belief_halflife_years)
    hold = (1.0 - oc.opex_share) * par.flat("market_rent_eur_m2")[parcel] * floor * belief \
        / model.cap_rate_of(parcel)
    new_dwellings = max(1, int(floor // oc.dwelling_m2))
    rent_month = model.new_dwelling_rent_eur_month(parcel)
    converted = (1.0 - oc.opex_share) * new_dwellings * rent_month * 12.0 / oc.residential_cap_rate
    cost = model.context["construction_cost_eur_m2"] * floor
    return hold, converted, cost, new_dwellings


def permit_residuals(model: "CityModel", parcels: np.ndarray) -> dict[tuple[int, int], float]:
    """``businesses.residual_rent_eur_m2`` of every (parcel, use) pair a change-of-use permit would open to
    ``parcels``, in one call of the sales kernel."""
    par = model.parcels
    codes = np.array([USE_CODE[name] for name in model.spec.agents.owners.change_of_use_cost_eur_m2], np.int64)
    parcels = np.asarray(parcels, np.int64)
    bits = par.flat("permit_uses")[parcels]
    pair_p = np.repeat(parcels, codes.size)
    pair_s = np.tile(codes, parcels.size)
    keep = ((np.repeat(bits, codes.size) >> pair_s) & 1) == 1
    pair_p, pair_s = pair_p[keep], pair_s[keep]
    if not pair_p.size:
        return {}
    resid = residual_rent_eur_m2(model, pair_s, pair_p)
    return dict(zip(zip(pair_p.tolist(), pair_s.tolist()), resid.tolist()))


def change_of_use_options(model: "CityModel", parcel: int, residuals: dict[tuple[int, int], float] | None = None
                          ) -> list[tuple[int, float, float]]:
    """The uses a change-of-use permit would open to a vacant unit, each with the owner's gain
    (value re-let at that use's market rent, less the value of holding out as in
    ``conversion_values``, less the cost) and the cost (EUR; permit and refit works)."""
    par = model.parcels
    bits = int(par.flat("permit_uses")[parcel])
    if not bits:
        return []
    oc = model.spec.agents.owners
    floor = float(par.flat("floor_m2")[parcel])
    hold = conversion_values(model, parcel)[0]
    cap = model.cap_rate_of(parcel)
    out = []
    for name, cost_m2 in oc.change_of_use_cost_eur_m2.items():
        code = USE_CODE[name]
        if not (bits >> code) & 1:
            continue
        resid = residuals.get((parcel, code)) if residuals else None
        if resid is None:
            resid = float(residual_rent_eur_m2(model, np.array([code]), np.array([parcel]))[0])
        value = (1.0 - oc.opex_share) * max(resid, 0.0) * floor / cap
        cost = cost_m2 * floor
        out.append((code, value - cost - hold, cost))
    return out


def market_value_eur(model: "CityModel", parcel: int) -> float:
    """What a buyer pays: the appraisal, with a vacant unit priced at today's market rent
    (less the void discount) instead of the rent the seller's valuer still carries."""
    par = model.parcels
    value = float(par.flat("value_eur")[parcel])
    if par.flat("use")[parcel] != VACANT:
        return value
    oc = model.spec.agents.owners
    gap = par.flat("appraisal_rent_eur_m2")[parcel] - par.flat("market_rent_eur_m2")[parcel]
    void = 1.0 - model.spec.market.vacant_value_discount
    return max(value - (1.0 - oc.opex_share) * gap * void * par.flat("floor_m2")[parcel] / model.cap_rate_of(parcel), 0.0)


def transfer(model: "CityModel", parcel: int, seller: int, buyer: int, price_eur: float) -> None:
    """Move ownership; the seller repays the parcel's loan from the price, the buyer borrows
    its kind's loan-to-value of the price and pays the rest from cash.

    A seller under water (loan above price) pays the shortfall from cash (Dutch
    commercial loans are full recourse as a rule: assumption). The new owner
    appraises at today's market: a vacant unit's reference, appraisal and asking
    rents reset to the market rent, and no incentive is on offer yet.
    """
    o = model.owners
    par = model.parcels
    debt = par.flat("debt_eur")
    ltv_buyer = model.owner_ltv[o.kind[buyer]]
    o.cash_eur[seller] += price_eur - debt[parcel]
    o.cash_eur[buyer] -= price_eur * (1.0 - ltv_buyer)
    debt[parcel] = price_eur * ltv_buyer
    par.flat("owner")[parcel] = buyer
    if par.flat("use")[parcel] == VACANT:
        market = par.flat("market_rent_eur_m2")[parcel]
        par.flat("reference_rent_eur_m2")[parcel] = market
        par.flat("appraisal_rent_eur_m2")[parcel] = market
        par.flat("asking_rent_eur_m2")[parcel] = market
        par.flat("rent_free_months")[parcel] = 0.0
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


def initial_loans(model: "CityModel") -> None:
    """Each parcel's loan at the start: its owner kind's loan-to-value of the appraisal, scaled
    by a draw in [0.5, 1] (loans of different ages, partly repaid; assumption)."""
    par = model.parcels
    rng = model.streams.generator("owner.loans", 0)
    owned = np.flatnonzero(par.flat("owner") >= 0)
    ltv = model.owner_ltv[model.owners.kind[par.flat("owner")[owned]]]
    par.flat("debt_eur")[owned] = ltv * par.flat("value_eur")[owned] * rng.uniform(0.5, 1.0, owned.size)


def conversion_metric(from_code: int, to_code: int) -> str:
    return f"conversions_{USE_NAMES[from_code]}_to_{USE_NAMES[to_code]}"


__all__ = ["Owner", "Portfolios", "transfer", "market_value_eur", "assign_owners", "initial_loans",
           "conversion_metric"]
