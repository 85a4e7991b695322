"""Rent subsidy (huursubsidie voor makers en cultuur): a small scheme pays part of the rent.

Mechanics, as Dutch municipal schemes run: for ``programme_years`` years from
its first active year the scheme takes applications from tenants of the
target sectors (default: makers and culture) who take a unit in the target
area; each gets ``share`` of its contract rent paid for ``duration_years``
from its letting (Rotterdam: 30% of the first twelve months' rent), at most
``max_eur_per_tenancy`` in all, out of a scheme budget ``budget_eur`` (the
subsidieplafond, EUR 100,000-200,000 for a municipal scheme), first come,
first served. Would-be entrants know the scheme: through the hook
``rent_support_share`` they count the grant as a rent reduction spread over
their lease (``lease_years``), as they count rent-free months, so a grant of
one year out of a five-year lease lowers the rent they weigh by a fifth of
``share``. A letting in the area registers a tenancy (hook ``on_let``) and
commits its whole expected grant against the budget; the grant is paid into
the business's cash every step and stops at the end of the duration, at the
cap, or when the business leaves (``on_exit``). When the uncommitted budget
cannot cover a new tenancy, the tenancy is refused (``refused_no_budget``) and
the municipality answers share 0 to new entrants. Criminal fronts are hidden:
a front in a target sector is subsidised like anyone else.

Cost: the payouts, plus ``staff_hours_per_grant`` per tenancy registered.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import COMMERCIAL_NAMES, USE_CODE

SectorName = Literal[COMMERCIAL_NAMES]   # the commercial use classes of sim/uses.py


class RentSubsidyConfig(InstrumentParams):
    kind: Literal["rent_subsidy"] = "rent_subsidy"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("target_units", "target_m2", "tenancies", "grants",
        "front_grants", "refused_no_budget", "paid_eur", "committed_eur", "budget_left_eur", "open")
    sectors: Annotated[list[SectorName], Field(min_length=1)] = ["craft", "culture"]
    """Target sectors whose tenants get the subsidy. Default makers and culture, the target groups of Rotterdam's subsidy for the makers' industry's premises (https://www.ondernemen010.nl/subsidies-voor-ondernemers/bedrijfsruimte-maakindustrie/uitgebreide-informatie-subsidieregeling-bedrijfsruimte-maakindustrie/) and Den Haag's makers' and culture schemes (https://www.denhaag.nl/nl/subsidies/subsidies-cultuur-en-evenementen/subsidie-kunst-en-cultuurprojecten-aanvragen.htm)."""
    share: Annotated[float, Field(gt=0.0, le=0.9)] = 0.3
    """Share of the contract rent the scheme pays (0..0.9). Default 30%: Rotterdam pays 30% of the rent of the first twelve months (ondernemen010.nl, above); Den Haag funds at most 30% of a culture project's costs (denhaag.nl, above); Ridderkerk paid 25% of rent (https://www.ridderkerk.nl/huurcompensatie-ondernemers)."""
    duration_years: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    """Years a tenancy is subsidised from its letting (yr). Default 1: Rotterdam's first twelve months (ondernemen010.nl, above); Ridderkerk at most 6 months (ridderkerk.nl, above)."""
    max_eur_per_tenancy: Annotated[float, Field(ge=0.0, le=10_000_000.0)] = 15_000.0
    """Cap on the whole grant of one tenancy (EUR). Default EUR 15,000 per let object, Ridderkerk's cap (https://www.ridderkerk.nl/huurcompensatie-ondernemers); Rotterdam's EUR 75,000 is for firms of up to 249 staff (ondernemen010.nl, above)."""
    budget_eur: Annotated[float, Field(ge=0.0, le=100_000_000.0)] = 150_000.0
    """Budget of the whole scheme (subsidieplafond, EUR); a tenancy's full expected grant is committed when it is registered. Default EUR 150,000: Assen's relocation-subsidy pot was EUR 150,000 (https://www.rtvdrenthe.nl/nieuws/152061/Pot-gevelsubsidie-voor-winkels-in-Assen-bijna-leeg), Den Haag's makers' scheme about EUR 120,000 a year (https://denhaagfm.nl/2019/07/25/subsidie-voor-beginnende-kunstenaars-en-artiesten/), Breda's EUR 200,000 (https://www.nu.nl/breda/6226761/gemeente-breda-steekt-twee-ton-in-cultuurmakers.html)."""
    programme_years: Annotated[int, Field(ge=1, le=30)] = 3
    """Years the scheme registers new tenancies, from its first active year (yr); grants already promised are paid to their end. Default 3: Den Haag's makers' scheme ran 2019-2022 (denhaagfm.nl, above), Utrecht's studio subsidy 2024-2026 (https://loket.digitaal.utrecht.nl/nl/products/culturele-broedplaatsen-subsidie-aanvragen)."""
    staff_hours_per_grant: Annotated[float, Field(ge=0.0, le=1_000.0)] = 8.0
    """Municipal staff hours to assess one application and manage its payments (h). Assumption."""


@dataclass
class Tenancy:
    """A subsidised tenancy: who, where, until when, and what is still committed to it."""

    parcel: int
    floor_m2: float
    end_step: int
    committed_eur: float


@register
class RentSubsidy(Instrument):
    config_class = RentSubsidyConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        self.sector_codes = np.array([USE_CODE[s] for s in self.config.sectors])
        self.tenancies: dict[int, Tenancy] = {}     # business slot → tenancy
        self.paid_eur = 0.0
        self.committed_eur = 0.0                    # promised to live tenancies, not yet paid
        self.grants = 0
        self.front_grants = 0                       # hidden: fronts among the subsidised (research only)
        self.refused_no_budget = 0
        self._first_year = None

    def is_open(self, model) -> bool:
        """New tenancies are registered in the scheme's first ``programme_years`` active years."""
        if self._first_year is None and self.active(model.year):
            self._first_year = int(model.year)   # the scheme opens in its first active year
        return self._first_year is not None and int(model.year) < self._first_year + self.config.programme_years

    @property
    def uncommitted_eur(self) -> float:
        return max(self.config.budget_eur - self.paid_eur - self.committed_eur, 0.0)

    def _grant_eur(self, rent_eur_m2, floor_m2, model):
        """Whole expected grant of a tenancy at this rent: share of the rent for the duration, capped."""
        whole = self.config.share * rent_eur_m2 * floor_m2 * self._duration_steps(model) / model.spy
        return np.minimum(whole, self.config.max_eur_per_tenancy)

    def _duration_steps(self, model) -> int:
        return max(1, round(self.config.duration_years * model.spy))

    # -- hooks ------------------------------------------------------------------
    def rent_support_share(self, model, parcels: np.ndarray, sector: int) -> np.ndarray:
        """The grant as a share of the lease's rent (spread over ``lease_years``, as rent-free months
        are) on target-area units whose grant the uncommitted budget still covers, else 0."""
        parcels = np.asarray(parcels, dtype=np.int64)
        if sector not in self.sector_codes or not self.is_open(model):
            return np.zeros(parcels.size)
        par = model.parcels
        rent, floor = par.flat("asking_rent_eur_m2")[parcels], par.flat("floor_m2")[parcels]
        grant = self._grant_eur(rent, floor, model)
        budget_eur = self.uncommitted_eur
        if not model.municipality.can_afford(staff_hours=self.config.staff_hours_per_grant):
            budget_eur = 0.0                     # the municipality's money for the year is gone
        eligible = self.area_mask.reshape(-1)[parcels] & (grant <= budget_eur) & (budget_eur > 0.0)
        lease_rent = rent * floor * model.spec.agents.businesses.lease_years
        share = np.divide(grant, lease_rent, out=np.zeros(parcels.size), where=lease_rent > 0.0)
        return np.where(eligible, np.minimum(share, self.config.share), 0.0)

    def on_let(self, model, parcel: int, business: int, sector: int, is_front: bool) -> None:
        """Register a target-sector tenancy in the area and commit its grant (fronts look like anyone)."""
        if sector not in self.sector_codes or not self.in_area(parcel) or not self.is_open(model):
            return
        floor = float(model.parcels.flat("floor_m2")[parcel])
        grant = float(self._grant_eur(model.businesses.rent_eur_m2[business], floor, model))
        if grant <= 0.0:
            return
        if grant > self.uncommitted_eur:
            self.refused_no_budget += 1
            return
        first_year = min(grant, self.config.share * float(model.businesses.rent_eur_m2[business]) * floor)
        if not model.municipality.afford(self.name, first_year, staff_hours=self.config.staff_hours_per_grant):
            return                               # the municipality's money for this year is gone
        self.tenancies[business] = Tenancy(parcel, floor, model.steps + self._duration_steps(model), grant)
        self.committed_eur += grant
        self.grants += 1
        self.front_grants += int(is_front)
        model.municipality.staff(self.name, self.config.staff_hours_per_grant)

    def on_exit(self, model, parcel: int, business: int) -> None:
        """The tenant left: its grant stops and the rest of its commitment returns to the budget."""
        tenancy = self.tenancies.pop(business, None)
        if tenancy is not None:
            self.committed_eur -= tenancy.committed_eur

    # -- payments ------------------------------------------------------------------
    def apply(self, model) -> None:
        """Pay this step's grant into each subsidised business's cash; end tenancies that are due."""
        self.is_open(model)                      # opens the programme in the first active year
        b = model.businesses
        for slot, t in list(self.tenancies.items()):
            if not b.alive[slot] or b.parcel[slot] != t.parcel:     # left while the scheme was not asked
                self.on_exit(model, t.parcel, slot)
                continue
            per_year = self.config.share * b.rent_eur_m2[slot] * t.floor_m2
            pay = min(per_year / model.spy, t.committed_eur)     # the commitment holds the cap per tenancy
            if pay > 0.0:
                t.committed_eur -= pay
                self.committed_eur -= pay
                # a committed grant: paid as far as the budget goes, the rest when money comes in
                model.municipality.spend(self.name, pay, payee=functools.partial(self._credit, model, slot))
            if model.steps >= t.end_step or t.committed_eur <= 1e-9:   # this was the last payment
                self.on_exit(model, t.parcel, slot)

    def _credit(self, model, slot: int, eur: float) -> None:
        model.businesses.cash_eur[slot] += eur
        self.paid_eur += eur

    def idle(self, model) -> None:
        """Outside the scheme's years no new grants are made, but promised ones are still paid."""
        self.apply(model)

    def kpis(self, model) -> dict[str, float]:
        par = model.parcels
        target = self.area_mask & np.isin(par.use, self.sector_codes)
        return {**area_kpis(model, self.area_mask),
                "target_units": float(target.sum()),
                "target_m2": float(par.floor_m2[target].sum()),
                "tenancies": float(len(self.tenancies)),
                "grants": float(self.grants),
                "front_grants": float(self.front_grants),
                "refused_no_budget": float(self.refused_no_budget),
                "paid_eur": self.paid_eur,
                "committed_eur": self.committed_eur,
                "budget_left_eur": self.uncommitted_eur,
                "open": float(self.is_open(model))}
