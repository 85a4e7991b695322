"""Vacancy ordinance (leegstandverordening, Leegstandwet): report, consult, nominate a user, fine.

Mechanics, every step for the vacant units in the area (one vacancy spell per
unit, from ``vacant_since``):

- after ``report_after_months`` of vacancy the owner reports the unit and the
  municipality holds a consultation with the owner (staff hours; the model
  gives the consultation no effect of its own: its outcome is the nomination);
- from ``nominate_after_months`` the municipality nominates a user from a
  waiting list of target sectors (longest vacancy first, at most
  ``max_nominations_per_year``): ``candidates_per_nomination`` candidates are
  drawn in proportion to the sectors' entry rates; the one with the best margin
  over the reasonable rent (``min(market rent, asking rent)``, less any rent
  support of other instruments) is nominated if its break-even rent covers it;
- the owner accepts when the reasonable rent is at least its rent floor, and
  below the floor complies with a probability by owner kind (institutional
  owners' covenants make them refuse). Accepted: the nominee opens at the
  reasonable rent on a normal lease (an entry). Refused: a fine of ``fine_eur``
  (municipal income, paid from the owner's cash); no candidate who can pay or a
  refusal: a new nomination after ``retry_after_months``.

Cost: staff hours per report, consultation, nomination and fine; fines are income.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import COMMERCIAL_NAMES, MUNICIPALITY, OWNER_CODE, OWNER_KINDS, USE_CODE, VACANT

SectorName = Literal[COMMERCIAL_NAMES]   # the commercial use classes of sim/uses.py
OwnerKind = Literal["institutional", "private", "local", "corporation"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class VacancyOrdinanceConfig(InstrumentParams):
    kind: Literal["vacancy_ordinance"] = "vacancy_ordinance"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("longvacant_units_1y", "longvacant_m2_1y", "reports",
        "nominations", "lettings", "refusals", "no_candidate", "fines_eur")
    sectors: Annotated[list[SectorName], Field(min_length=1)] = ["craft", "culture", "independent"]
    """Sectors on the municipal waiting list of would-be users. Assumption: makers, culture and independent (local) retail, the uses being priced out of Dutch centres."""
    report_after_months: Annotated[float, Field(ge=0.0, le=60.0)] = 6.0
    """Months of vacancy after which the owner reports the unit (mo). Source: Leegstandwet (owners report a building vacant for 6 months; leegstandsloket.nl)."""
    nominate_after_months: Annotated[float, Field(ge=0.0, le=120.0)] = 12.0
    """Months of vacancy after which the municipality nominates a user (mo). Source: Leegstandwet (nomination of a user after 12 months of vacancy; leegstandsloket.nl). The ministry's evaluation, as reported, found nomination not effective in practice (gemeente.nu)."""
    retry_after_months: Annotated[float, Field(gt=0.0, le=60.0)] = 6.0
    """Months until the next nomination after a refusal or when no candidate could pay (mo). Assumption."""
    candidates_per_nomination: Annotated[int, Field(ge=1, le=50)] = 3
    """Waiting-list candidates the municipality considers per nomination. Assumption."""
    max_nominations_per_year: Annotated[int, Field(ge=0)] = 30
    """Nominations the municipality can handle per year (staff capacity, waiting-list length). Assumption."""
    fine_eur: Annotated[float, Field(ge=0.0, le=7_500.0)] = 7_500.0
    """Fine for an owner who refuses the nominated user (EUR). Source: Leegstandwet, at most EUR 7,500 (leegstandsloket.nl); the law sets the fine for breaking the duty to report, so fining a refusal is an assumption."""
    comply_below_floor: dict[OwnerKind, Probability] = {
        "institutional": 0.0, "private": 0.5, "local": 0.7, "corporation": 0.7}
    """Probability that an owner accepts a nominee whose reasonable rent is below its rent floor, by kind (0..1; at or above the floor every owner accepts; the municipality as owner always does). Assumption: institutional owners refuse because a lower contract rent lowers the appraisal and can breach loan covenants (gebiedsontwikkeling.nu, "Waarom laten ze een winkelpand zo lang leegstaan"); private and local owners weigh the fine and the lost rent."""
    staff_hours_report: Annotated[float, Field(ge=0.0)] = 1.0
    """Staff hours to register one vacancy report (h). Assumption."""
    staff_hours_consultation: Annotated[float, Field(ge=0.0)] = 6.0
    """Staff hours of the consultation with the owner (h). Assumption."""
    staff_hours_nomination: Annotated[float, Field(ge=0.0)] = 12.0
    """Staff hours to select and nominate a user from the waiting list (h). Assumption."""
    staff_hours_fine: Annotated[float, Field(ge=0.0)] = 8.0
    """Staff hours to impose one fine (h). Assumption."""


@dataclass
class Spell:
    """The ordinance's file on one vacancy spell of one unit."""

    vacant_since: int
    reported: bool = False
    next_nomination_step: int = -1


@register
class VacancyOrdinance(Instrument):
    config_class = VacancyOrdinanceConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        c = self.config
        self.sector_codes = np.array([USE_CODE[s] for s in c.sectors])
        rates = np.array([model.spec.agents.businesses.sectors[s].entry_rate_per_1000_units for s in c.sectors])
        # the waiting list mirrors who looks for space: candidates in proportion to entry rates
        self.sector_weights = rates / rates.sum() if rates.sum() > 0 else np.full(rates.size, 1.0 / rates.size)
        self.comply = np.ones(len(OWNER_KINDS))            # the municipality (as owner) always complies
        for kind, p in c.comply_below_floor.items():
            self.comply[OWNER_CODE[kind]] = p
        self.files: dict[int, Spell] = {}
        self.counts = dict(reports=0, nominations=0, lettings=0, refusals=0, no_candidate=0)
        self.fines_eur = 0.0
        self._year = None
        self._nominations_left = 0

    def _steps(self, months: float, model) -> int:
        return int(round(months * model.spy / 12.0))

    def apply(self, model) -> None:
        if int(model.year) != self._year:           # a new year: the nomination capacity renews
            self._year = int(model.year)
            self._nominations_left = self.config.max_nominations_per_year
        due = self._update_files(model)
        for p in due:
            if self._nominations_left <= 0 or not self._nominate(model, p):
                break                                # capacity or the year's money used up

    def _update_files(self, model) -> list[int]:
        """Open, report and close vacancy files; return the units due for a nomination, longest vacant first."""
        par = model.parcels
        vacant = np.flatnonzero(self.area_mask.reshape(-1) & (par.flat("use") == VACANT))
        since = par.flat("vacant_since")[vacant]
        self.files = {p: f for p, f in self.files.items() if f.vacant_since == par.flat("vacant_since")[p]
                      and par.flat("use")[p] == VACANT}      # a let or a conversion closes the file
        c = self.config
        report_steps = self._steps(c.report_after_months, model)
        nominate_steps = self._steps(c.nominate_after_months, model)
        due = []
        for p, s in sorted(zip(vacant.tolist(), since.tolist()), key=lambda ps: (ps[1], ps[0])):
            f = self.files.setdefault(p, Spell(vacant_since=s))
            age = model.steps - s
            if not f.reported and age >= report_steps:
                f.reported = True
                self.counts["reports"] += 1
                model.municipality.staff(self.name, c.staff_hours_report + c.staff_hours_consultation)
            if f.reported and age >= nominate_steps and model.steps >= f.next_nomination_step:
                due.append(p)
        return due

    def _nominate(self, model, parcel: int) -> bool:
        """Nominate the best-paying waiting-list candidate; the owner accepts, or refuses and is fined.
        False: no money for the procedure (refused, counted); the file waits."""
        if not model.municipality.afford(self.name, staff_hours=self.config.staff_hours_nomination):
            return False
        par = model.parcels
        f = self.files[parcel]
        f.next_nomination_step = model.steps + self._steps(self.config.retry_after_months, model)
        self._nominations_left -= 1
        self.counts["nominations"] += 1
        model.municipality.staff(self.name, self.config.staff_hours_nomination)
        rent = min(par.flat("market_rent_eur_m2")[parcel], par.flat("asking_rent_eur_m2")[parcel])
        sector = self._best_candidate(model, parcel, rent)
        if sector < 0:
            self.counts["no_candidate"] += 1
            return True
        if self._owner_accepts(model, parcel, rent):
            self._let(model, parcel, sector, rent)
        else:
            self._fine(model, parcel)
        return True

    def _best_candidate(self, model, parcel: int, rent_eur_m2: float) -> int:
        """Sector of the candidate with the best margin over the rent it would pay, or -1 if none can pay."""
        from sim.agents.businesses import wtp_rent_eur_m2   # here: the schema (regie validate) needs no mesa/numba
        if rent_eur_m2 <= 0.0:
            return -1                               # no reasonable rent: nothing to nominate for
        k = np.arange(self.config.candidates_per_nomination)     # candidates from the waiting list, keyed by the unit
        picks = model.streams.choice(f"instrument.{self.name}.candidates", model.clock, parcel, self.sector_weights, k)
        drawn = np.unique(np.asarray(self.sector_codes)[picks])
        allowed = model.parcels.flat("allowed")[parcel]
        drawn = drawn[((allowed >> drawn) & 1) == 1]
        if drawn.size == 0:
            return -1
        support = np.array([model.municipality.rent_support_share(np.array([parcel]), int(s))[0] for s in drawn])
        margin = wtp_rent_eur_m2(model, drawn, np.full(drawn.size, parcel)) - rent_eur_m2 * (1.0 - support)
        best = int(np.argmax(margin))
        if margin[best] < 0.0 or not model.municipality.screen_lease(parcel, int(drawn[best]), False):
            return -1
        return int(drawn[best])

    def _owner_accepts(self, model, parcel: int, rent_eur_m2: float) -> bool:
        """At or above its rent floor an owner accepts; below, it complies with its kind's probability."""
        par = model.parcels
        kind = int(model.owners.kind[par.flat("owner")[parcel]])
        # the owner's own floor for the headline rent: its share of the appraisal rent (owners' pricing, docs/ODD.md §7.7)
        floor = model.owner_kind_params[kind].rent_floor_share * par.flat("appraisal_rent_eur_m2")[parcel]
        if rent_eur_m2 >= floor or kind == MUNICIPALITY:
            return True
        return bool(model.streams.uniform(f"instrument.{self.name}.compliance", model.clock, parcel) < self.comply[kind])

    def _let(self, model, parcel: int, sector: int, rent_eur_m2: float) -> None:
        """The nominee opens on a normal lease at the reasonable rent, with an entrant's cash buffer."""
        from sim.agents.businesses import open_business
        cfg = model.spec.agents.businesses
        floor = model.parcels.flat("floor_m2")[parcel]
        cash = cfg.cash_buffer_quarters * (rent_eur_m2 + model.sector_arrays["fixed_cost_eur_m2"][sector]) * floor / 4.0
        agent = open_business(model, sector, parcel, float(rent_eur_m2), False, float(cash),
                              model.steps + cfg.lease_years * model.spy)
        model.events["business_entries"] += 1
        model.municipality.on_let(parcel, agent.slot, sector, False)
        self.files.pop(parcel, None)
        self.counts["lettings"] += 1

    def _fine(self, model, parcel: int) -> None:
        if not model.municipality.afford(self.name, staff_hours=self.config.staff_hours_fine):
            self.counts["refusals"] += 1         # the refusal stands, but no money to enforce it
            return
        owner = int(model.parcels.flat("owner")[parcel])
        model.owners.cash_eur[owner] -= self.config.fine_eur
        self.fines_eur += self.config.fine_eur
        self.counts["refusals"] += 1
        if self.config.fine_eur > 0.0:
            model.municipality.receive(self.name, self.config.fine_eur)
        model.municipality.staff(self.name, self.config.staff_hours_fine)

    def kpis(self, model) -> dict[str, float]:
        par = model.parcels
        long_vacant = self.area_mask & (par.use == VACANT) & (model.steps - par.vacant_since >= model.spy)
        return {**area_kpis(model, self.area_mask),
                "longvacant_units_1y": float(long_vacant.sum()),
                "longvacant_m2_1y": float(par.floor_m2[long_vacant].sum()),
                **{k: float(v) for k, v in self.counts.items()},
                "fines_eur": self.fines_eur}
