"""CityModel: parcels, agents and instruments wired together; ``step()`` follows docs/ODD.md §3."""

from __future__ import annotations

import time
from collections import Counter

import mesa
import numpy as np

from sim import kernels
from sim.agents import businesses as biz
from sim.agents import households as hh
from sim.agents import owners as own
from sim.agents.businesses import Business
from sim.agents.municipality import Municipality
from sim.agents.owners import Owner
from sim.agents.store import SlotStore
from sim.instruments.base import build_instruments
from sim.kernels.market import market_params
from sim.kpis import compute_kpis
from sim.parcels import generate_city
from sim.scenario import OwnerKindParams, Scenario, driver_value
from sim.streams import Streams
from sim.uses import (ATTRACTION, COMMERCIAL_NAMES, IS_COMMERCIAL, MUNICIPALITY, OWNER_CODE, OWNER_KINDS,
                      RESIDENTIAL, STREET_CODE, USE_CODE, VACANT)


MIN_CAP_RATE = 0.005  # floor for a cap-rate trend that runs towards zero (values divide by it)

# The start is drawn from the model's own steady state under the start year's context (measured
# with ``python -m sim.calibration.steady_start``, docs/calibration.md §3), so that the first
# years do not drift towards it:
START_RENT_OVER_MARKET = (0.04, 0.18)   # log-mean, log-sd of sitting tenants' contract rent / market rent
# per street class A1, A2, B, C, residential: the mean age (years) of vacancy spells (exponential
# ages), and the log-mean of the vacant units' effective asking rent over the highest break-even
# rent of a permitted sector's typical business (log-sd VACANT_ASK_LOG_SD)
VACANT_AGE_MEAN_YEARS = np.array([0.35, 0.6, 0.75, 0.6, 0.6])
VACANT_ASK_OVER_BREAKEVEN = np.array([-0.16, -0.15, -0.19, -0.26, -0.30])
VACANT_ASK_LOG_SD = 0.15


class CityModel(mesa.Model):
    """One run of one scenario with one seed, as a Mesa model.

    Construction builds the city, its agents and the instruments and runs the burn-in, so
    the model starts at step 0 (the start year). Each ``step()`` is one step of
    ``1 / steps_per_year`` years; ``running`` turns False at the horizon
    (``horizon_years * steps_per_year`` steps), so Mesa's ``run_model()`` stops there.

    Attributes a researcher reads (docs/api.md describes each):
        spec: the validated scenario (not ``self.scenario``: Mesa 3.5 reserves
            ``Model.scenario`` for its own experiment object, whose setter writes into
            the object, which fails on our frozen schema).
        seed: the root seed of every random stream of the run.
        steps: steps simulated since the start (0 after construction).
        running: True until the horizon is reached.
        records: one dict per recorded step, from step 0: ``step``, ``year`` (calendar time
            at the end of the step, as in metrics.parquet) and every KPI by metric name, so
            ``pandas.DataFrame(model.records)`` is the run's wide KPI table.
        parcels: the parcel arrays (``sim.parcels.Parcels``; names, dtypes and units in
            docs/api.md).
        owners, businesses, households: the agents' arrays (``SlotStore``; ``alive`` marks
            the slots in use).
        municipality: the municipality agent, its instruments and its ledger.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        """Build the city of ``scenario`` and run its burn-in.

        Args:
            scenario: A validated scenario (``Scenario.from_yaml`` or ``sim.load_scenario``).
            seed: Root seed of the run (default: the scenario's ``seed``).
        """
        self.spec = scenario
        self.seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=self.seed)    # Mesa's own generators; the model draws from self.streams
        self.streams = Streams(self.seed)  # keyed draws: (seed, purpose, step, entity), sim/streams.py
        self.clock = 0                     # steps simulated, burn-in included: the step key of every draw
        self._buyer_draws: dict[int, tuple[int, float]] = {}   # this step's sales: parcel -> buyer draws
        self.spy = scenario.steps_per_year
        self.timers = Counter()            # seconds spent in kernels / agents / recording
        self.events = Counter()            # per-step event counts (entries, exits, ...)
        self.burning_in = False            # during burn-in the context stays at the start year
        self.conversions = Counter()       # cumulative completed conversions by (from, to)
        self.use_changes = Counter()       # cumulative lettings to another sector than the unit's last, by (from, to)
        self.upper_floor_conversions = 0   # cumulative: unused upper floors turned into dwellings
        self.upper_floor_dwellings = 0
        self.distributions_eur = 0.0       # this step's payouts to owners' shareholders (leave the model)
        self.lender_actions = Counter()    # cumulative covenant breaches, cures and forced sales
        self.fronts_detected = 0
        self.update_context()
        self.parcels = generate_city(scenario, self.streams.generator("city.generate", 0))
        self._setup_tables()
        self.owners = SlotStore(own.OWNER_FIELDS, 512)
        self.businesses = SlotStore(biz.BUSINESS_FIELDS, 4096)
        self.households = SlotStore(hh.HOUSEHOLD_FIELDS, 16384)
        self.business_agents: list[Business] = []
        self.household_agents: list[hh.Household] = []
        self.municipality = Municipality(self)
        own.assign_owners(self)
        self._populate()
        self._burn_in(scenario.burn_in_years * self.spy)
        self.municipality.instruments = build_instruments(scenario.instruments)
        for instrument in self.municipality.instruments:
            self.municipality.ledger.open(instrument.name)   # its metrics exist from step 0
            instrument.initialize(self)
        self.records: list[dict[str, float]] = [self.kpi_record()]

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One step (a quarter by default), in the order of docs/ODD.md §3."""
        self.clock += 1
        self.events.clear()
        self.distributions_eur = 0.0
        self.update_context()                       # 1. context drivers at time t
        self.municipality.apply_instruments()       # 2. policy acts first
        self.compute_footfall()                     # 3. kernel: footfall field
        self.share_spending()                       #    and each sector's spending over its floor
        accounts = self.settle_accounts()           # 4. kernel: business accounts
        self.agents_with_events_act(accounts)       # 5. exits, owners, entrants, households, sales
        self.update_market()                        # 6. kernel: rents, values, condition, conversions
        self.record_kpis()                          # 7. KPIs
        self.running = self.burning_in or self.steps < self.spec.n_steps   # run_model() stops at the horizon

    def agents_with_events_act(self, accounts: dict) -> None:
        t0 = time.perf_counter()
        self.business_events(accounts)
        self.owner_events()
        biz.let_units(self, biz.entrant_bids(self))
        if not self.burning_in:     # the burn-in settles the commercial market; households start in
            self.household_events()  # their own steady state (households.populate)
        self.sale_events()
        self.collect_rents()
        self.timers["agents"] += time.perf_counter() - t0

    # ------------------------------------------------------------------ 1. context
    @property
    def year(self) -> float:
        """Calendar time at the start of the step being simulated (step k covers [k−1, k) quarters)."""
        return self.spec.start_year + max(self.steps - 1, 0) / self.spy

    def update_context(self) -> None:
        c = self.spec.context
        y0 = self.spec.start_year
        y = y0 if self.burning_in else self.year
        online = np.zeros(len(IS_COMMERCIAL))
        for sector, drv in c.online_share.items():
            online[USE_CODE[sector]] = min(max(driver_value(drv, y, y0), 0.0), 1.0)
        self.context = {name: max(driver_value(getattr(c, name), y, y0), 0.0)
                        for name in ("visitor_demand", "housing_demand", "cap_rate", "interest_rate",
                                     "inflation", "construction_cost_eur_m2", "crime_pressure")}
        # a trend may run below zero over a long horizon: levels stop at zero, cap rates at 0.5%
        self.context["cap_rate"] = max(self.context["cap_rate"], MIN_CAP_RATE)
        self.context["online_share"] = online

    # ------------------------------------------------------------------ 3. footfall
    def compute_footfall(self) -> None:
        t0 = time.perf_counter()
        par = self.parcels
        m = self.spec.market
        par.footfall, par.resident_field = kernels.footfall_field(
            par.use, par.condition, par.street_class, par.anchor, par.dwellings_occupied,
            par.attraction_bonus, ATTRACTION, self.street_weight, m.resident_attraction,
            self.context["visitor_demand"], self.footfall_weights)
        # what a cell's own use adds to its footfall: sales of a (sector, unit) pair are judged
        # with the unit's own draw as the sector's (a vacant unit by the footfall it will have)
        self.own_attraction = kernels.own_attraction_weight(par.condition, par.street_class, par.attraction_bonus,
                                                            self.street_weight, self.context["visitor_demand"],
                                                            self.footfall_weights)
        self.timers["kernels"] += time.perf_counter() - t0

    def sales_eur_m2(self, sector: np.ndarray, parcel: np.ndarray) -> np.ndarray:
        """Annual sales per m2 of (sector, parcel) pairs: the sales kernel on today's state."""
        return kernels.sales_density(sector, parcel, **self._sales_inputs())

    def _sales_inputs(self) -> dict:
        """Grid state and sector tables that sales depend on (shared by the sales and accounts kernels)."""
        par = self.parcels
        st = self.sector_arrays
        return dict(land=par.land, use=par.use, condition=par.condition, footfall=par.footfall,
                    resident_field=par.resident_field, own_attraction=self.own_attraction,
                    attraction_by_use=ATTRACTION, density_eur_m2=st["sales_density_eur_m2"] * self.spending_factor,
                    online_share=self.context["online_share"], elasticity=st["footfall_elasticity"],
                    local_share=st["local_share"], complement=self.complement,
                    cluster_strength=self.spec.agents.businesses.cluster_strength,
                    footfall_ref=self.footfall_ref, resident_ref=self.resident_ref)

    def occupied_floor_m2(self) -> np.ndarray:
        """Floor let to honest businesses, per use code (fronts launder money, they do not compete for spending)."""
        b = self.businesses
        honest = b.alive & ~b.is_front
        return np.bincount(b.sector[honest].astype(np.int64), weights=b.floor_m2[honest],
                           minlength=self.spending_factor.size)

    def share_spending(self) -> None:
        """The centre's spending on a sector does not grow with the floor that competes for it:
        sales per m2 scale with (the sector's occupied floor at the start / now)^``spending_dilution``
        (docs/ODD.md §7.2). At 0 a business's sales do not depend on how many compete."""
        k = self.spec.market.spending_dilution
        if k == 0.0 or self.floor_start_m2 is None:
            return
        now = np.maximum(self.occupied_floor_m2(), 1.0)
        self.spending_factor = np.where(self.floor_start_m2 > 0, (self.floor_start_m2 / now) ** k, 1.0)

    # ------------------------------------------------------------------ 4. accounts
    def settle_accounts(self) -> dict:
        t0 = time.perf_counter()
        b = self.businesses
        revenue, profit, cash, insolvent, lease_ends = kernels.business_accounts(
            b.alive, b.is_front, b.sector, b.parcel, b.floor_m2, b.cash_eur, b.rent_eur_m2, b.lease_end_step,
            b.productivity, **self._sales_inputs(), gross_margin=self.sector_arrays["gross_margin"],
            fixed_cost_eur_m2=self.sector_arrays["fixed_cost_eur_m2"], steps_per_year=self.spy, step=self.steps)
        b.cash_eur[:] = cash
        self.timers["kernels"] += time.perf_counter() - t0
        return {"revenue": revenue, "profit": profit, "insolvent": insolvent, "lease_ends": lease_ends}

    # ------------------------------------------------------------------ 5. events
    def business_events(self, accounts: dict) -> None:
        """Insolvent businesses, outside-model exits and detected fronts leave; leases end."""
        honest_exit, caught = biz.exit_draws(self)
        leaving = np.union1d(np.flatnonzero(accounts["insolvent"]), honest_exit)
        for a in self._businesses_in_keyed_order("business.exit.order", leaving):
            a.exit()
        for a in self._businesses_in_keyed_order("business.caught.order", caught):
            a.screened_out()
        b = self.businesses
        expiring = np.flatnonzero(accounts["lease_ends"] & b.alive)
        # break-even rents of all expiring leases in one kernel call, on the state after the exits
        breakeven = dict(zip(expiring.tolist(), biz.wtp_rent_eur_m2(self, b.sector[expiring], b.parcel[expiring],
                                                                     b.productivity[expiring])))
        for a in self._businesses_in_keyed_order("business.lease_review.order", expiring):
            if self.businesses.alive[a.slot]:
                a.review_lease(breakeven[a.slot])

    def _businesses_in_keyed_order(self, purpose: str, slots: np.ndarray) -> list[Business]:
        """The living businesses of ``slots`` in a random order keyed by their parcels: a business's
        place does not depend on which others act this step (common random numbers)."""
        slots = np.asarray([s for s in np.asarray(slots).tolist() if self.businesses.alive[s]], dtype=np.int64)
        order = self.streams.order(purpose, self.clock, self.businesses.parcel[slots])
        return [self.business_agents[int(s)] for s in slots[order]]

    def _owners_in_keyed_order(self, purpose: str, parcels: np.ndarray) -> list[tuple[Owner, list[int]]]:
        """The owners of ``parcels``, each with its parcels among them, in a random order keyed by
        the owner's slot (owners are fixed for the run)."""
        groups: dict[int, list[int]] = {}
        for p, o in zip(parcels.tolist(), self.parcels.flat("owner")[parcels].tolist()):
            groups.setdefault(o, []).append(p)
        slots = np.fromiter(groups, dtype=np.int64, count=len(groups))
        return [(self.owner_agents[int(o)], groups[int(o)]) for o in slots[self.streams.order(purpose, self.clock, slots)]]

    def owner_events(self) -> None:
        """Owners price vacant units, consider conversions; yearly they face their lenders'
        covenant tests, maintain, look at unused upper floors and pay out."""
        par = self.parcels
        oc = self.spec.agents.owners
        if (self.steps - 1) % self.spy == 0:
            self.covenant_tests(own.Portfolios(self))
        vacant = np.flatnonzero((par.flat("use") == VACANT) & (par.flat("land") == 0))
        kind = self.owners.kind[par.flat("owner")[vacant]]
        patience = self.owner_patience[kind]
        due = vacant[self.steps - par.flat("last_review_step")[vacant] >= patience]
        if due.size:
            book = own.Portfolios(self)        # after the covenant tests: sales and repayments changed the books
            for owner, parcels in self._owners_in_keyed_order("owner.rent_review.order", due):
                owner.review_asking_rents(parcels, book)
        years = (self.steps - par.flat("vacant_since")[vacant]) / self.spy
        convert = vacant[years >= oc.conversion_min_vacant_years]
        # what a change of use would let each of these units for, on the state before this
        # step's conversions (one kernel call instead of one per unit)
        residuals = own.permit_residuals(self, convert)
        for owner, parcels in self._owners_in_keyed_order("owner.conversion.order", convert):
            owner.consider_conversion(parcels, residuals)
        if (self.steps - 1) % self.spy == 0:
            worn = np.flatnonzero(par.is_parcel.reshape(-1) & (par.flat("condition") < par.flat("maintenance_threshold")))
            for owner, parcels in self._owners_in_keyed_order("owner.maintenance.order", worn):
                owner.maintain(parcels)
            # unused upper floors turn into homes only in the recorded years: a flow into the housing
            # stock that the burn-in of the commercial market leaves alone
            free = np.flatnonzero(par.flat("upper_floor_free_m2") > 0) if not self.burning_in else np.zeros(0, np.int64)
            look = free[self.streams.uniform("owner.upper_floor", self.clock, free) < oc.upper_floor_review_per_year]
            for owner, parcels in self._owners_in_keyed_order("owner.upper_floor.order", look):
                owner.consider_upper_floors(parcels)
            self.pay_out()

    def covenant_tests(self, book: "own.Portfolios") -> None:
        """Lenders test every indebted owner's portfolio once a year (LTV and interest cover)."""
        kinds = self.owners.kind
        failing = book.breaches(self.owner_ltv_max[kinds], self.owner_icr_min[kinds], self.context["interest_rate"])
        self.events["covenant_breaches"] += int(failing.size)
        for slot in failing[self.streams.order("owner.covenant.order", self.clock, failing)].tolist():
            self.owner_agents[slot].meet_covenants(book)

    def pay_out(self) -> None:
        """Yearly: owners pay out ``payout_share`` of the cash they hold above their reserve
        (``reserve_years_of_income`` of rent income); the municipality pays nothing out."""
        o = self.owners
        par = self.parcels
        owner = par.flat("owner")
        owned = owner >= 0
        income = np.bincount(owner[owned], weights=self.rent_roll_eur()[owned], minlength=o.n)
        reserve = self.spec.agents.owners.reserve_years_of_income * income
        payout = self.owner_payout[o.kind] * np.maximum(o.cash_eur - reserve, 0.0)
        o.cash_eur[:] -= payout
        self.distributions_eur += float(payout.sum())

    def household_events(self) -> None:
        hood = hh.neighbourhood(self)
        leaving = hh.movers(self, hood)
        keys = self.households.key[leaving]
        for s in leaving[self.streams.order("household.move_out.order", self.clock, keys)].tolist():
            self.household_agents[s].move_out()
        hh.arrivals(self, hood)

    def sale_events(self) -> None:
        """Owners decide to sell (hazard by kind, higher when distressed)."""
        par = self.parcels
        oc = self.spec.agents.owners
        parcels = np.flatnonzero(par.flat("land") == 0)
        owner = par.flat("owner")[parcels]
        hazard = self.owner_sale_hazard[self.owners.kind[owner]]
        vacant_long = (par.flat("use")[parcels] == VACANT) & (
            self.steps - par.flat("vacant_since")[parcels] >= 2 * self.spy)
        distressed = (self.owners.cash_eur[owner] < 0) | vacant_long
        hazard = np.minimum(hazard * np.where(distressed, oc.distress_sale_multiplier, 1.0), 1.0)
        p_step = 1.0 - (1.0 - hazard) ** (1.0 / self.spy)
        selling = parcels[self.streams.uniform("owner.sale", self.clock, parcels) < p_step]
        # the buyers' draws of all sales at once (each keyed by its parcel, as in draw_buyer)
        self._buyer_draws = dict(zip(selling.tolist(), zip(
            self.streams.choice("owner.buyer_kind", self.clock, selling, self.buyer_weights).tolist(),
            self.streams.uniform("owner.buyer", self.clock, selling).tolist())))
        for owner, sold in self._owners_in_keyed_order("owner.sale.order", selling):
            owner.sell(sold)
        self._buyer_draws = {}

    def draw_buyer(self, parcel: int, exclude: int) -> int:
        """The buyer of ``parcel``: a kind by the buyer mix, then an owner of that kind (keyed by the parcel)."""
        kind_index, u = self._buyer_draws.get(parcel) or (
            int(self.streams.choice("owner.buyer_kind", self.clock, parcel, self.buyer_weights)),
            float(self.streams.uniform("owner.buyer", self.clock, parcel)))
        pool = self.owner_slots_by_kind[self.buyer_kinds[kind_index]]
        pool = pool[pool != exclude]
        if not pool.size:
            return -1
        return int(pool[int(u * pool.size)])

    def rent_roll_eur(self) -> np.ndarray:
        """Annual rent each parcel brings in: what tenants pay (the headline rent less the
        rent-free months spread over the lease) plus the rents of its occupied dwellings."""
        par = self.parcels
        h = self.households
        alive = h.alive
        dwelling = np.bincount(h.parcel[alive], weights=h.rent_eur_month[alive], minlength=par.land.size)
        return par.flat("rent_paid_eur_m2") * par.flat("floor_m2") + 12.0 * dwelling

    def collect_rents(self) -> None:
        """Owners' cash: rents in; operating costs, interest and repayment out (array work).

        Loans are nominal: in constant euros their balance also falls by inflation."""
        par = self.parcels
        oc = self.spec.agents.owners
        owner = par.flat("owner")
        isp = owner >= 0
        debt = par.flat("debt_eur")
        interest = debt[isp] * self.context["interest_rate"] / self.spy
        repayment = debt[isp] * oc.amortisation_per_year / self.spy
        net = self.rent_roll_eur()[isp] / self.spy * (1.0 - oc.opex_share) - interest - repayment
        self.owners.cash_eur[:] += np.bincount(owner[isp], weights=net, minlength=self.owners.n)
        debt[isp] = (debt[isp] - repayment) / (1.0 + self.context["inflation"]) ** (1.0 / self.spy)

    # ------------------------------------------------------------------ 6. market
    def update_appraisals(self) -> None:
        """The rent a valuer carries for each vacant unit: the last contract rent, moving towards
        the market rent as vacancy lasts (the gap halves every ``appraisal_reversion_years``);
        never below the market rent."""
        par = self.parcels
        vacant = np.flatnonzero((par.flat("use") == VACANT) & (par.flat("land") == 0))
        market = par.flat("market_rent_eur_m2")[vacant]
        gap = np.maximum(par.flat("reference_rent_eur_m2")[vacant] - market, 0.0)
        years = (self.steps - par.flat("vacant_since")[vacant]) / self.spy
        half = self.spec.agents.owners.appraisal_reversion_years
        par.flat("appraisal_rent_eur_m2")[vacant] = market + gap * 0.5 ** (np.maximum(years, 0.0) / half)

    def cap_rate_of(self, parcel: int) -> float:
        """Cap rate of a parcel's commercial floor: today's prime rate plus its street's spread."""
        spread = self.spec.agents.owners.street_cap_rate_spread.as_tuple()
        return self.context["cap_rate"] + spread[int(self.parcels.flat("street_class")[parcel])]

    def update_market(self) -> None:
        t0 = time.perf_counter()
        par = self.parcels
        self.update_appraisals()
        out = kernels.market_update(
            par.land, par.use, par.street_class, par.floor_m2, par.condition, par.is_front, par.footfall,
            self.bid_rents(), par.rent_eur_m2, par.appraisal_rent_eur_m2, par.dwellings, par.dwelling_base_eur_month,
            par.dwelling_elastic, par.conversion_done_step, par.conversion_to, par.conversion_dwellings,
            par.condition_bonus, self.steps, self.market_params())
        self.timers["kernels"] += time.perf_counter() - t0
        done = np.flatnonzero(out["completed"].reshape(-1))
        for p in done.tolist():
            self.conversions[(int(par.flat("conversion_from")[p]), int(par.flat("conversion_to")[p]))] += 1
        par.market_rent_eur_m2 = out["market_rent_eur_m2"]
        par.value_eur = out["value_eur"]
        par.condition = out["condition"]
        par.use = out["use"].astype(np.int8)
        par.dwellings = out["dwellings"].astype(np.int32)
        par.dwelling_rent_eur_month = out["dwelling_rent_eur_month"]
        par.conversion_done_step.reshape(-1)[done] = -1
        self.open_changed_uses(done[IS_COMMERCIAL[par.flat("conversion_to")[done]]])

    def open_changed_uses(self, parcels: np.ndarray) -> None:
        """Units whose change of use is done: the permit adds the use to the plan of the parcel,
        and the unit comes on the market for it, asked at that use's market rent."""
        par = self.parcels
        for p in parcels.tolist():
            target = int(par.flat("conversion_to")[p])
            par.flat("allowed")[p] |= 1 << target
            par.flat("permit_uses")[p] &= ~(1 << target)
            ask = max(float(biz.residual_rent_eur_m2(self, np.array([target]), np.array([p]))[0]), 0.0)
            par.flat("use")[p] = VACANT
            par.flat("last_use")[p] = target      # refitted for the new use: its first letting is no use change
            par.flat("vacant_since")[p] = self.steps
            par.flat("lettable_from_step")[p] = self.steps   # marketed during the works
            par.flat("last_review_step")[p] = self.steps
            for name in ("asking_rent_eur_m2", "reference_rent_eur_m2", "appraisal_rent_eur_m2", "market_rent_eur_m2"):
                par.flat(name)[p] = ask
            par.flat("rent_free_months")[p] = 0.0
            # the market kernel valued the ground floor this step as let at no rent: value it as a
            # vacant unit asked at its new use's market rent, as the next step will
            oc = self.spec.agents.owners
            par.flat("value_eur")[p] += ((1.0 - oc.opex_share) * ask * (1.0 - self.spec.market.vacant_value_discount)
                                         * par.flat("floor_m2")[p] / self.cap_rate_of(p))

    def bid_rents(self) -> np.ndarray:
        """Bid rent (EUR/m2/yr) of every unit: the residual rent of its best permitted use.

        For each sector zoning permits, the typical business (productivity 1) keeps its sales
        less cost of goods, fixed costs and a normal operating profit
        (``market.normal_profit_share`` of sales); the highest of these residuals is what the
        unit fetches in a market where many businesses of the best use compete for it
        (bid-rent theory: the unit goes to the use that can pay most, and competition within
        that use leaves its typical business a normal profit). docs/ODD.md §7.2."""
        par = self.parcels
        use = par.flat("use")
        units = np.flatnonzero((par.flat("land") == 0) & ((use == VACANT) | IS_COMMERCIAL[use]))
        sectors = self.commercial_codes
        pairs_s = np.repeat(sectors, units.size)
        pairs_p = np.tile(units, sectors.size)
        residual = biz.residual_rent_eur_m2(self, pairs_s, pairs_p).reshape(sectors.size, units.size)
        permitted = (par.flat("allowed")[units][None, :] >> sectors[:, None]) & 1 == 1
        bid = np.zeros(par.land.size)
        bid[units] = np.maximum(np.where(permitted, residual, 0.0).max(axis=0), 0.0)
        return bid.reshape(par.land.shape)

    def market_params(self) -> np.ndarray:
        m = self.spec.market
        oc = self.spec.agents.owners
        sp = oc.street_cap_rate_spread
        return market_params(
            dwelling_ff_ref=self.dwelling_ff_ref,
            vacancy_sensitivity=m.rent_vacancy_sensitivity,
            cap_rate=self.context["cap_rate"], spread_A1=sp.A1, spread_A2=sp.A2, spread_B=sp.B,
            spread_C=sp.C, spread_res=sp.residential, residential_cap_rate=oc.residential_cap_rate,
            vacant_discount=m.vacant_value_discount, decay_per_step=m.condition_decay_per_year / self.spy,
            vacant_mult=m.vacant_decay_multiplier, vacancy_spill=m.vacancy_spillover,
            front_spill=m.front_spillover, dwelling_elasticity=self.spec.agents.households.rent_amenity_elasticity,
            opex_share=oc.opex_share)

    def new_dwelling_rent_eur_month(self, parcel: int) -> float:
        """Rent of a new, renovated dwelling on ``parcel``: social where the parcel's homes are
        social (housing corporation), else the free-sector rent of the market kernel at condition 1."""
        hc = self.spec.agents.households
        if not self.parcels.flat("dwelling_elastic")[parcel]:
            return hc.rent_social_eur_month
        ff = self.parcels.flat("footfall")[parcel] / self.dwelling_ff_ref
        return hc.rent_private_eur_month * max(ff, 1e-9) ** hc.rent_amenity_elasticity

    # ------------------------------------------------------------------ 7. KPIs
    def record_kpis(self) -> None:
        t0 = time.perf_counter()
        self.fronts_detected += self.events["fronts_detected"]
        for k in ("covenant_breaches", "covenant_cures", "forced_sales"):
            self.lender_actions[k] += self.events[k]
        if self.burning_in:
            return
        self.municipality.count_public_cost()
        self.records.append(self.kpi_record())
        self.timers["recording"] += time.perf_counter() - t0

    def kpi_record(self) -> dict[str, float]:
        """The record of this step: ``step``, ``year`` (start year + step / steps per year: the
        end of the step) and every KPI of the current state (``sim.kpis.compute_kpis``)."""
        return {"step": self.steps, "year": self.spec.start_year + self.steps / self.spy, **compute_kpis(self)}

    # ------------------------------------------------------------------ set-up
    def _setup_tables(self) -> None:
        sc = self.spec
        # fixed tiles of a fifth of the map's side (25 in all): the groups of the households' coupled
        # dwelling choice; 25 groups draw fewest numbers for the 200-1,500 parcels with a free
        # dwelling (measured: 0.15-0.36 ms per call against 0.35-0.50 ms with 100 tiles)
        side = self.parcels.land.shape[0]
        tile = -(-side // 5)
        rows, cols = np.indices(self.parcels.land.shape)
        self.tile_of = ((rows // tile) * (-(-side // tile)) + cols // tile).reshape(-1)
        self.sector_arrays = biz.sector_table(sc)
        # each sector's sales per m2 scale with (its floor at the start / its floor now)^dilution
        self.spending_factor = np.ones_like(self.sector_arrays["sales_density_eur_m2"])
        self.floor_start_m2 = None         # occupied floor per use code once tenants are in place
        self.commercial_codes = np.array([USE_CODE[s] for s in COMMERCIAL_NAMES], dtype=np.int64)
        self.complement = biz.complement_matrix()
        self.street_weight = np.asarray(sc.market.street_weight.as_tuple())
        self.footfall_weights = kernels.decay_weights(sc.market.footfall_radius_cells, sc.market.footfall_decay_cells)
        kinds = sc.agents.owners.kinds
        n_kinds = len(OWNER_KINDS)
        self.owner_kind_params = {OWNER_CODE[k]: v for k, v in kinds.items()}
        # the municipality owns parcels only through instruments; as a landlord it is patient and
        # lets at half the last rent if need be, never sells by itself, borrows nothing. Assumption.
        self.owner_kind_params[MUNICIPALITY] = OwnerKindParams(
            count_per_1000_parcels=0.0, parcel_share_core=0.0, parcel_share_edge=0.0, rent_floor_share=0.5,
            patience_quarters=4, sale_per_year=0.0, loan_to_value=0.0, covenant_ltv_max=0.0, covenant_icr_min=0.0,
            payout_share=0.0)
        self.owner_patience = np.full(n_kinds, self.spy, np.int64)   # municipality: a year. Assumption.
        self.owner_sale_hazard = np.zeros(n_kinds)             # the municipality sells through instruments only
        self.owner_ltv = np.zeros(n_kinds)
        self.owner_payout = np.zeros(n_kinds)
        self.owner_ltv_max = np.zeros(n_kinds)   # lenders' covenants by kind (the municipality borrows nothing)
        self.owner_icr_min = np.zeros(n_kinds)
        for k, v in kinds.items():
            self.owner_patience[OWNER_CODE[k]] = v.patience_quarters * self.spy // 4 or 1
            self.owner_sale_hazard[OWNER_CODE[k]] = v.sale_per_year
            self.owner_ltv[OWNER_CODE[k]] = v.loan_to_value
            self.owner_payout[OWNER_CODE[k]] = v.payout_share
            self.owner_ltv_max[OWNER_CODE[k]] = v.covenant_ltv_max
            self.owner_icr_min[OWNER_CODE[k]] = v.covenant_icr_min
        mix = {k: w for k, w in sc.agents.owners.buyer_mix.items() if w > 0}
        self.buyer_kinds = [OWNER_CODE[k] for k in mix]
        w = np.array(list(mix.values()))
        self.buyer_weights = w / w.sum()

    def _populate(self) -> None:
        """Initial footfall, rents, businesses and households, consistent with each other."""
        par = self.parcels
        o = self.owners
        self.owner_slots_by_kind = {k: np.flatnonzero(o.kind == k) for k in range(len(OWNER_KINDS))}
        social = o.kind[np.maximum(par.owner, 0)] == OWNER_CODE["corporation"]
        hc = self.spec.agents.households
        par.dwelling_elastic = par.is_parcel & ~social
        par.dwelling_base_eur_month = np.where(social, hc.rent_social_eur_month, hc.rent_private_eur_month) * par.is_parcel
        par.dwelling_rent_eur_month = par.dwelling_base_eur_month.copy()
        hh.populate(self)              # households first: their spending is part of sales
        self.compute_footfall()
        units = par.is_parcel & ((par.use == VACANT) | IS_COMMERCIAL[par.use])
        a1 = units & (par.street_class == STREET_CODE["A1"])
        self.footfall_ref = float(par.footfall[a1].mean()) if a1.any() else float(par.footfall[units].mean())
        self.resident_ref = float(max(par.resident_field[par.is_parcel].mean(), 1e-9))
        res = par.is_parcel & (par.use == RESIDENTIAL)
        self.dwelling_ff_ref = float(par.footfall[res].mean()) if res.any() else self.footfall_ref
        self.n_units_start = int(units.sum())
        self.update_market()           # market rents at the start
        self._initial_tenants(units)
        self.floor_start_m2 = self.occupied_floor_m2()   # the spending of the start year supports this floor
        self.compute_footfall()
        self.update_market()           # rents, values, dwelling rents with tenants in place
        shopping = par.is_parcel & (par.street_class < STREET_CODE["residential"])
        self.footfall_start = float(par.footfall[shopping].mean())
        owned = par.flat("owner") >= 0
        rent_year = self.rent_roll_eur()
        start_income = np.bincount(par.flat("owner")[owned], weights=rent_year[owned], minlength=o.n)
        o.cash_eur[:] = self.spec.agents.owners.start_cash_years_of_rent * start_income
        own.initial_loans(self)
        self.steps = 0

    def _burn_in(self, n_steps: int) -> None:
        """Run ``n_steps`` under the start year's context, then make that moment step 0.

        Step-indexed state (vacancy starts, reviews, lease ends, conversions due)
        is shifted so that it stays correct relative to the new step 0;
        counters and records of the burn-in are dropped.
        """
        self.records = []
        self.burning_in = True
        for _ in range(n_steps):
            self.step()
        self.burning_in = False
        shift = self.steps
        par = self.parcels
        vacant = par.is_parcel & (par.use == VACANT)
        par.vacant_since[vacant] -= shift
        par.lettable_from_step[vacant] -= shift
        par.last_review_step[vacant] -= shift
        converting = par.conversion_done_step >= 0
        par.conversion_done_step[converting] -= shift
        b = self.businesses
        b.lease_end_step[:] -= shift
        b.entry_step[:] -= shift
        self.steps = 0
        self.update_context()
        self.conversions.clear()
        self.use_changes.clear()
        self.lender_actions.clear()
        self.upper_floor_conversions = 0
        self.upper_floor_dwellings = 0
        self.fronts_detected = 0
        self.events.clear()
        self.compute_footfall()
        shopping = par.is_parcel & (par.street_class < STREET_CODE["residential"])
        self.footfall_start = float(par.footfall[shopping].mean())

    def _initial_fronts(self, rng: np.random.Generator) -> None:
        """Criminal fronts in their steady state from the start: fronts arrive at
        ``front_entry_rate_per_1000_units`` × crime pressure and leave only when caught
        (``front_detection_per_year``), so the stock is arrivals / detection. They take
        occupied units of the risk sectors, weighted as a front entrant chooses (cheap
        units off the prime streets)."""
        cfg = self.spec.agents.businesses
        b = self.businesses
        if cfg.front_detection_per_year <= 0:
            return
        rate = cfg.front_entry_rate_per_1000_units * self.context["crime_pressure"] * self.n_units_start / 1000.0
        cand = np.flatnonzero(b.alive & np.isin(b.sector, biz.FRONT_CODES))
        n = min(int(round(rate / cfg.front_detection_per_year)), cand.size)
        if n == 0:
            return
        par = self.parcels
        p = b.parcel[cand]
        w = (1.0 + par.flat("street_class")[p]) / np.maximum(b.rent_eur_m2[cand], 10.0)
        chosen = cand[rng.choice(cand.size, size=n, replace=False, p=w / w.sum())]
        b.is_front[chosen] = True
        par.flat("is_front")[b.parcel[chosen]] = True

    def _initial_tenants(self, units: np.ndarray) -> None:
        """Occupied units get a sector that can pay there (bid-rent sorting), a rent it can
        afford, a staggered lease end and a cash buffer; vacant units an asking rent."""
        par = self.parcels
        cfg = self.spec.agents.businesses
        rng = self.streams.generator("city.tenants", 0)   # set-up: before any instrument, the same in every scenario
        occupied = np.flatnonzero((units & (par.use != VACANT)).reshape(-1))
        sectors = np.array([USE_CODE[s] for s in COMMERCIAL_NAMES])
        wtp = np.stack([biz.wtp_rent_eur_m2(self, np.full(occupied.size, s), occupied) for s in sectors], axis=1)
        market = par.flat("market_rent_eur_m2")[occupied]
        current = par.flat("use")[occupied]
        # keep the drawn sector where it can pay 70% of market rent, else the best payer
        fits = wtp[np.arange(occupied.size), np.searchsorted(sectors, current)] >= 0.7 * market
        permitted = ((par.flat("allowed")[occupied][:, None] >> sectors[None, :]) & 1) == 1
        best = sectors[np.argmax(np.where(permitted, wtp, -np.inf), axis=1)]
        chosen = np.where(fits, current, best)
        # contract rents spread around the market rent as in the model's steady state (leases
        # were signed at different times, some by more productive tenants); sitting tenants differ
        # in productivity as entrants do, but they are the survivors: their productivity is drawn
        # from the entrants' range above the level at which their rent breaks even
        fixed = self.sector_arrays["fixed_cost_eur_m2"][chosen]
        gross = np.maximum(wtp[np.arange(occupied.size), np.searchsorted(sectors, chosen)] + fixed, 1e-9)
        mu, sd = START_RENT_OVER_MARKET
        rent = market * np.exp(mu + sd * rng.standard_normal(occupied.size))
        lo, hi = 1.0 - cfg.productivity_spread, 1.0 + cfg.productivity_spread
        q_min = np.clip((rent + fixed) / gross, lo, hi)
        q = q_min + (hi - q_min) * rng.random(occupied.size)
        my_wtp = q * gross - fixed
        rent = np.maximum(np.minimum(rent, my_wtp), 0.2 * market)
        lease_end = rng.integers(1, cfg.lease_years * self.spy + 1, size=occupied.size)
        floor = par.flat("floor_m2")[occupied]
        cash = cfg.cash_buffer_quarters * (rent + self.sector_arrays["fixed_cost_eur_m2"][chosen]) * floor / 4.0
        cash *= rng.uniform(0.5, 1.5, size=occupied.size)
        for p, s, r, le, c, qi in zip(occupied.tolist(), chosen.tolist(), rent.tolist(), lease_end.tolist(),
                                      cash.tolist(), q.tolist()):
            biz.open_business(self, s, p, r, False, c, le, productivity=qi)
        self._initial_fronts(rng)
        vacant = np.flatnonzero((units & (par.use == VACANT)).reshape(-1))
        # vacant units: how long they have been vacant, the rent-free months their owners have
        # added since (one step per review, ``patience_quarters`` apart) and what they ask net of
        # those months, as in the model's steady state (most asks sit above the market rent)
        street = par.flat("street_class")[vacant]
        age_steps = np.floor(rng.exponential(VACANT_AGE_MEAN_YEARS[street] * self.spy)).astype(np.int64)
        permitted = (par.flat("allowed")[vacant][None, :] >> sectors[:, None]) & 1 == 1
        breakeven = np.stack([biz.wtp_rent_eur_m2(self, np.full(vacant.size, s), vacant) for s in sectors])
        best = np.maximum(np.where(permitted, breakeven, -np.inf).max(axis=0), 1.0)
        effective = best * np.exp(VACANT_ASK_OVER_BREAKEVEN[street] + VACANT_ASK_LOG_SD * rng.standard_normal(vacant.size))
        oc = self.spec.agents.owners
        patience = self.owner_patience[self.owners.kind[par.flat("owner")[vacant]]]
        reviews = age_steps // patience
        free = np.minimum(oc.max_rent_free_months, reviews * oc.rent_free_months_per_review)
        lease_months = 12.0 * cfg.lease_years
        ask = effective / (1.0 - np.minimum(free / lease_months, 0.99))
        par.flat("asking_rent_eur_m2")[vacant] = ask
        par.flat("rent_free_months")[vacant] = free
        par.flat("reference_rent_eur_m2")[vacant] = ask
        par.flat("appraisal_rent_eur_m2")[vacant] = ask
        par.flat("vacant_since")[vacant] = -age_steps
        par.flat("lettable_from_step")[vacant] = par.flat("vacant_since")[vacant] + biz.marketing_steps(self, vacant)
        par.flat("last_review_step")[vacant] = -(age_steps % patience)
