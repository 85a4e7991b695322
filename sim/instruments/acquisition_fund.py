"""Acquisition fund (vastgoedfonds): the municipality actively buys strategic parcels, renovates, re-lets and resells.

Mechanics: every step the fund approaches owners in the area, within a staff
capacity of ``offers_per_year`` negotiations: first parcels with a criminal
front the municipality knows of (police and RIEC signals reach it at
``front_signals_per_year``), then units vacant for ``min_vacant_years`` or more
(longest first), then decayed buildings (worst first). It offers market value
plus ``premium_share``; an owner accepts when the offer beats its reservation
price (market value times a markup drawn up to ``owner_markup_max``), and an
owner who refused is approached again after ``retry_after_years``. On purchase
(``transfer``) a front tenant is closed (``Business.screened_out``) and the
building is renovated to condition 1. The units are then managed as a municipal
estate (``_municipal_estate.py``): let to the target mix at a discount,
converted where zoning permits if they stay vacant, and resold with use
conditions after ``resale_after_years``; rents and resale prices return to the
fund, which revolves.

Cost: purchase prices with premium and transaction costs, renovations, holding
costs and conversions (fund); staff hours per negotiation, transaction and
letting (budget). Rent discounts are forgone income (a KPI).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments._municipal_estate import (ESTATE_KPI_KEYS, Estate, EstateInstrument, EstateParams,
                                                collect_municipal_rents)
from sim.instruments.base import register
from sim.uses import CONVERSION, VACANT


class AcquisitionFundConfig(EstateParams):
    kind: Literal["acquisition_fund"] = "acquisition_fund"
    kpi_keys: ClassVar[tuple[str, ...]] = ESTATE_KPI_KEYS + ("offers", "offers_refused", "fronts_closed")
    fund_eur: Annotated[float, Field(ge=0.0, le=1e9)] = 15_000_000.0
    """Capital the council puts into the revolving property fund at the start (EUR); added to the municipality's one fund (instruments in one scenario share it). Default EUR 15M: assumption, of the order of Rotterdam's EUR 9M fund for buying shop premises (2021; NOS, 2024) and Drenthe's EUR 13M binnenstadfonds."""
    premium_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15
    """Premium above market value that the fund offers (share). Assumption (the fund offers market value plus this premium to get owners to sell)."""
    owner_markup_max: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3
    """An owner's reservation price is market value times 1 + U(0, this): an offer with premium π is accepted with probability min(1, π / this). Assumption (owners' hope value above appraisal)."""
    offers_per_year: Annotated[float, Field(ge=0.0, le=1_000.0)] = 12.0
    """Negotiations the fund's staff can open per year (capacity, spread over the steps) (1/yr). Assumption (one or two acquisition officers)."""
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
        self.fronts_closed = 0

    def apply(self, model) -> None:
        collect_municipal_rents(model)
        if model.municipality.fund_eur > 0.0:    # an empty fund buys nothing: no signals, no negotiations
            self._learn_fronts(model)
            self._make_offers(model)
        self.estate.manage(model)

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
            price = float(model.parcels.flat("value_eur")[p]) * (1.0 + self.config.premium_share)
            cost = self.estate.purchase_cost_eur(price) + self.estate.renovation_cost_eur(model, p)
            if not self.estate.can_pay(model, cost):
                continue
            if not model.municipality.afford(self.name, staff_hours=self.config.staff_hours_per_offer):
                break                            # no money for the negotiation this year
            self.offer_credit -= 1.0
            self._offer(model, p, price)

    def _offer(self, model, parcel: int, price_eur: float) -> None:
        """One negotiation: the owner sells if the offer beats its reservation price; then close, renovate, re-let."""
        from sim.agents.owners import transfer
        self.offers += 1
        model.municipality.staff(self.name, self.config.staff_hours_per_offer)
        u = model.streams.uniform(f"instrument.{self.name}.owner_markup", model.clock, parcel)
        if u * self.config.owner_markup_max > self.config.premium_share:
            self.refusals += 1
            self.refused_step[parcel] = model.steps
            return
        par = model.parcels
        seller = int(par.flat("owner")[parcel])
        self.estate.pay_purchase(model, parcel, price_eur)
        transfer(model, parcel, seller, model.municipality_owner_slot, price_eur)
        self.refused_step.pop(parcel, None)
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
                "fronts_closed": float(self.fronts_closed)}
