"""Acquisition fund (vastgoedfonds): the municipality actively buys strategic parcels, renovates, re-lets and resells.

Mechanics: every step the fund approaches owners in the area, within a staff
capacity of ``offers_per_year`` negotiations: first parcels with a criminal
front the municipality knows of (police and RIEC signals reach it at
``front_signals_per_year``), then units vacant for ``min_vacant_years`` or more
(longest first), then decayed buildings (worst first). Each negotiation opens
with an independent appraisal (``appraisal_eur``) and offers market value
(``premium_share`` above it only if set: a public body that pays more than market
value gives the seller state aid). An owner is willing to sell at market value
with chance ``willing_share`` (otherwise its reservation price lies above, up to
``owner_markup_max``); one who refuses is approached again after
``retry_after_years``. A willing owner's deal is pending for ``negotiation_months``
plus ``decision_months`` (the college decides after the council could state its
objections); its price, costs and works are reserved in the fund meanwhile. On
completion (``transfer``) a front tenant is closed (``Business.screened_out``) and
the building is renovated to condition 1. The units are then managed as a
municipal estate (``_municipal_estate.py``): let to the target mix at a discount,
converted where zoning permits if they stay vacant, and resold with use
conditions after ``resale_after_years`` at market value less the conditions'
discount, which may be below what the fund paid (``resale_gain_eur``).

Cost: appraisals (budget); purchase prices, transfer tax and transaction costs,
renovations, holding costs and conversions (fund); staff hours per negotiation,
decision, transaction and letting (budget). Rent discounts are forgone income (a KPI).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments._municipal_estate import (ESTATE_KPI_KEYS, Estate, EstateInstrument, EstateParams,
                                                collect_municipal_rents)
from sim.agents.owners import market_value_eur
from sim.instruments.base import register
from sim.uses import CONVERSION, VACANT


class AcquisitionFundConfig(EstateParams):
    kind: Literal["acquisition_fund"] = "acquisition_fund"
    kpi_keys: ClassVar[tuple[str, ...]] = ESTATE_KPI_KEYS + ("offers", "offers_refused", "offers_accepted",
                                                             "fronts_closed")
    fund_eur: Annotated[float, Field(ge=0.0, le=1e9)] = 5_000_000.0
    """Capital the council puts into the revolving property fund at the start (EUR); added to the municipality's one fund (instruments in one scenario share it). Default EUR 5M: assumption for one midsize centre, scaled down from Rotterdam's EUR 9M Fonds Vitale Kerngebieden for 56 shopping areas of a city of 650,000 (gemeente.nu, 2021; vastgoedmarkt.nl, 2024) and Drenthe's EUR 13M binnenstadfonds for a province (provincie.drenthe.nl)."""
    premium_share: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    """Premium above the appraised market value that the fund offers (share). Default 0: a purchase above market value favours the seller and is state aid unless the price follows an independent valuation (European Commission communication on land and buildings, applied to purchases: europadecentraal.nl; a purchase above market value contested as state aid: Gerechtshof 's-Hertogenbosch, ECLI:NL:GHSHE:2018:5278)."""
    willing_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    """Chance that an approached owner is willing to sell at market value (0..1). Assumption: owners seldom sell when a public buyer asks (evaluations of the Wet voorkeursrecht gemeenten found few owners willing to sell, GEO 2000 on TU Delft studies, dehollandsecirkel.courant.nu), and Rotterdam's fund bought 4 shops in about 2.5 years (NOS, 2024)."""
    owner_markup_max: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3
    """An unwilling owner's reservation price is market value times 1 + U(0, this); it sells only if ``premium_share`` covers that (with no premium: never). Assumption (owners' hope value above appraisal)."""
    offers_per_year: Annotated[float, Field(ge=0.0, le=1_000.0)] = 4.0
    """Negotiations the fund's staff can open per year (capacity, spread over the steps) (1/yr). Assumption (part of one acquisition officer's time; calibrated with ``willing_share`` to Rotterdam's pace of about 1.5-2 purchases a year per EUR 10M)."""
    min_vacant_years: Annotated[float, Field(ge=0.0, le=20.0)] = 1.0
    """Units vacant at least this long are targets (years). Default 1: the long-term vacancy threshold of the KPIs (docs/ODD.md §7.13)."""
    buy_below_condition: Annotated[float, Field(ge=0.0, le=1.0)] = 0.4
    """Buildings in worse condition than this are targets (0..1; 0: none for condition). Assumption (below the owners' own maintenance threshold of 0.6)."""
    front_signals_per_year: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    """Chance per year that signals (police, RIEC) tell the municipality that a business in the area is a criminal front; its building becomes a target (1/yr; 0: fronts are not targeted). Assumption."""
    retry_after_years: Annotated[float, Field(ge=0.0, le=20.0)] = 1.0
    """An owner who refused an offer is approached again after this many years. Assumption."""
    staff_hours_per_offer: Annotated[float, Field(ge=0.0, le=1_000.0)] = 16.0
    """Staff hours per negotiation opened (valuation, contact, offer) (h). Assumption."""


@register
class AcquisitionFund(EstateInstrument):
    config_class = AcquisitionFundConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self.estate = Estate(self.name, self.config, model)
        self.known_fronts: set[int] = set()      # parcels where the municipality knows a front operates
        self.refused_step: dict[int, int] = {}   # parcel -> step its owner last refused
        self.offer_credit = 0.0                  # negotiations the staff can still open (capacity carried over a step)
        self.offers = 0
        self.refusals = 0
        self.accepted = 0
        self.fronts_closed = 0

    def apply(self, model) -> None:
        collect_municipal_rents(model)
        self._close_due(model)
        if model.municipality.fund_eur > 0.0:    # an empty fund buys nothing: no signals, no negotiations
            self._learn_fronts(model)
            self._make_offers(model)
        self.estate.manage(model)

    def idle(self, model) -> None:
        if self.estate.pending:                  # deals agreed before the end year are still completed
            self._close_due(model)

    # ------------------------------------------------------------------ targets
    def _learn_fronts(self, model) -> None:
        """Signals reach the municipality about some of the fronts operating in the area."""
        par = model.parcels
        front = par.flat("is_front") & self.area_mask.reshape(-1)
        self.known_fronts &= set(np.flatnonzero(front).tolist())        # closed or gone: forget
        unknown = np.array(sorted(set(np.flatnonzero(front).tolist()) - self.known_fronts), dtype=np.int64)
        if unknown.size and self.config.front_signals_per_year > 0.0:
            p_step = 1.0 - (1.0 - self.config.front_signals_per_year) ** (1.0 / model.spy)
            u = model.streams.uniform(f"instrument.{self.name}.front_signal", model.clock, unknown)
            self.known_fronts |= set(unknown[u < p_step].tolist())

    def _targets(self, model) -> list[int]:
        """Parcels to approach, in priority order: known fronts, long-vacant units, decayed buildings."""
        c = self.config
        par = model.parcels
        ok = self.area_mask.reshape(-1) & (par.flat("owner") != model.municipality_owner_slot)
        ok &= par.flat("use") != CONVERSION
        ok[list(self.estate.pending)] = False    # already under negotiation
        retry = model.steps - c.retry_after_years * model.spy
        ok &= ~np.isin(np.arange(ok.size), [p for p, s in self.refused_step.items() if s > retry])
        years_vacant = (model.steps - par.flat("vacant_since")) / model.spy
        vacant = np.flatnonzero(ok & (par.flat("use") == VACANT) & (years_vacant >= c.min_vacant_years))
        decayed = np.flatnonzero(ok & (par.flat("condition") < c.buy_below_condition))
        fronts = [p for p in sorted(self.known_fronts) if ok[p]]
        ordered = (fronts + vacant[np.argsort(-years_vacant[vacant], kind="stable")].tolist()
                   + decayed[np.argsort(par.flat("condition")[decayed], kind="stable")].tolist())
        return list(dict.fromkeys(ordered))     # a parcel in two groups keeps its first place

    # ------------------------------------------------------------------ negotiations
    def _make_offers(self, model) -> None:
        """Open negotiations within this step's capacity, for targets the fund can pay for (price, costs, works)."""
        per_step = self.config.offers_per_year / model.spy
        self.offer_credit = min(self.offer_credit + per_step, per_step + 1.0)   # unused capacity is not banked
        for p in self._targets(model):
            if self.offer_credit < 1.0:
                break
            # the appraised market value (what a buyer pays: a vacant unit at today's market rent)
            price = market_value_eur(model, p) * (1.0 + self.config.premium_share)
            cost = self.estate.purchase_cost_eur(price) + self.estate.renovation_cost_eur(model, p)
            if not self.estate.can_pay(model, cost):
                continue                         # the free (unreserved) fund cannot pay this one
            if not model.municipality.afford(self.name, eur=self.config.appraisal_eur,
                                             staff_hours=self.config.staff_hours_per_offer):
                break                            # no money for the negotiation this year
            self.offer_credit -= 1.0
            self._offer(model, p, price)

    def _offer(self, model, parcel: int, price_eur: float) -> None:
        """Open one negotiation: appraisal and talks; a willing owner's deal is pending until decided."""
        c = self.config
        self.offers += 1
        model.municipality.staff(self.name, c.staff_hours_per_offer)
        self.estate.appraise(model)
        u = model.streams.uniform(f"instrument.{self.name}.owner_markup", model.clock, parcel)
        # willing at market value with chance w; the others' reservation markup is uniform above it
        markup = 0.0 if u < c.willing_share else (u - c.willing_share) / (1.0 - c.willing_share) * c.owner_markup_max
        if markup > c.premium_share:
            self.refusals += 1
            self.refused_step[parcel] = model.steps
            return
        self.accepted += 1
        self.refused_step.pop(parcel, None)
        steps = self.estate.months_to_steps(model, c.negotiation_months + c.decision_months)
        self.estate.reserve(model, parcel, int(model.parcels.flat("owner")[parcel]), price_eur, model.steps + steps)

    def _close_due(self, model) -> None:
        for parcel, deal in self.estate.due(model):
            if self.estate.close(model, parcel, deal):
                self._take_over(model, parcel)

    def _take_over(self, model, parcel: int) -> None:
        """The municipality owns the building now: a known front loses its lease; renovate; ask the discounted rent."""
        par = model.parcels
        tenant = int(par.flat("tenant")[parcel])
        if tenant >= 0 and model.businesses.is_front[tenant]:
            # the new landlord ends the lease of a known front (Bibob clause); counts as a detected front
            model.business_agents[tenant].screened_out()
            self.known_fronts.discard(parcel)
            self.fronts_closed += 1
        self.estate.renovate(model, parcel)
        if par.flat("use")[parcel] == VACANT:
            self.estate.set_asking(model, parcel)

    # ------------------------------------------------------------------ hooks
    # ------------------------------------------------------------------ KPIs
    def holdings_value_eur(self, model) -> float:
        return self.estate.holdings_market_value_eur(model)

    def kpis(self, model) -> dict[str, float]:
        return {**self.estate_kpis(model),
                "offers": float(self.offers),
                "offers_refused": float(self.refusals),
                "offers_accepted": float(self.accepted),
                "fronts_closed": float(self.fronts_closed)}
