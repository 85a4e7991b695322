"""Vacancy ordinance (leegstandverordening, Leegstandwet): report, consult, find and fine non-reporters;
nomination of a user only as an option.

Mechanics, every step for the vacant units in the area (one file per vacancy
spell of a unit, from ``vacant_since``):

- duty to report (Leegstandwet art. 3): after ``report_after_months`` of vacancy
  the owner reports the unit with probability ``report_probability`` (one draw
  per spell; the municipality as owner always reports); a report is registered
  (staff hours);
- inspection: once a year the municipality checks the vacant units of the area
  against its register (staff hours per unit) and finds each unreported spell
  past the duty with probability ``inspection_find_probability_per_year``;
  found: a letter, after which the owner reports, and with probability
  ``fine_probability_found`` a fine of ``fine_eur`` for not reporting (at most
  EUR 7,500 by law; municipal income, paid from the owner's cash);
- consultation (art. 4, within 3 months of the report): staff hours; with
  probability ``consultation_review_probability`` the owner brings its next
  asking-rent review forward to now (within its own floors: a small effect);
- nomination of a user (art. 5-7), only with ``nominate``: after
  ``nominate_after_months`` the owner has ``own_user_months`` to find its own
  user (the ordinary market); then the municipality nominates the best-paying
  candidate from its waiting list; the owner accepts at or above its rent
  floor, below it with a probability by owner kind. A refusal is NOT fined (the
  law's fine is for not reporting): it is counted, and a new decision may
  follow after ``retry_after_months``.

Cost: staff hours for every step (register, inspection, letter, consultation,
fine, nomination) through the municipality's accounts; fines are income.
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
Hours = Annotated[float, Field(ge=0.0, le=500.0)]

COUNTS = ("reports", "unreported_found", "letters", "fines", "consultations", "rent_reviews", "units_inspected",
          "nominations", "lettings", "nominee_refusals", "no_candidate")


class VacancyOrdinanceConfig(InstrumentParams):
    kind: Literal["vacancy_ordinance"] = "vacancy_ordinance"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("longvacant_units_1y", "longvacant_m2_1y") + COUNTS + (
        "fines_eur",)
    # -- the duty to report and its enforcement ---------------------------------------------------------
    report_after_months: Annotated[float, Field(ge=6.0, le=60.0)] = 6.0
    """Months of vacancy after which the owner must report the unit (mo; the law allows no less than 6). Source: Leegstandwet art. 3(1) ("een in die verordening aangegeven termijn van ten minste zes maanden"; wetten.overheid.nl/BWBR0003403)."""
    report_probability: Probability = 0.65
    """Probability that an owner reports a spell on its own (0..1; the municipality as owner always does). Source: Amsterdam's tightened ordinance (housing), 434 reports against 230 confirmed unreported vacancies found by enforcement, 434/664 = 0.65 (https://www.nhnieuws.nl/nieuws/338757/leegstand-woning-verkort-van-460-naar-157-dagen-door-nieuwe-regels-gemeente-amsterdam); for shops an assumption."""
    inspection_find_probability_per_year: Probability = 0.5
    """Probability per yearly inspection round that the municipality finds an unreported spell past the duty (0..1). Assumption (shop vacancy is visible from the street; establishing it formally takes an inspector's visit)."""
    fine_probability_found: Probability = 0.013
    """Probability that a found non-reporter is fined (0..1; the others report after the letter). Source: Amsterdam wrote to 230 confirmed non-reporters, most then reported, 3 were fined: 3/230 = 0.013 (nhnieuws.nl, as above)."""
    fine_eur: Annotated[float, Field(ge=0.0, le=7_500.0)] = 7_500.0
    """Fine for not reporting the vacancy (EUR; at most EUR 7,500 by law). Source: the Leegstandwet's maximum for breaking the duty to report (https://www.banning.nl/publication/gemeenten-zetten-dwangsom-in-om-eigenaren-van-leegstaande-winkelpanden-aan-te-pakken/, https://www.blenheim.nl/nadere-informatie/bestuursrecht/boete-leegstandswet/); the law's maximum as the amount for a professional owner of commercial space is an assumption (Hilversum fines housing EUR 515-5,150 by lateness and owner, hilversum.nl/wonen/leegstand-melden)."""
    # -- the consultation -------------------------------------------------------------------------------
    consultation_within_months: Annotated[float, Field(ge=0.0, le=3.0)] = 3.0
    """Months after the report at which the consultation is held (mo; the law: within 3 months). Source: Leegstandwet art. 4 (hilversum.nl/wonen/leegstand-melden: "binnen 3 maanden"); using the whole term is an assumption."""
    consultation_review_probability: Probability = 0.25
    """Probability that the consultation makes the owner review its asking rent now instead of at its next scheduled review (0..1; the review keeps the owner's floors). Assumption: the ministry's 2024 evaluation found reporting and consultation useful but measured no effect (https://www.gemeente.nu/ruimte-milieu/wonen/meer-bevoegdheden-gemeenten-voor-terugdringen-leegstand/); Sluis scrapped its ordinance for want of effect (https://binnenlandsbestuur.nl/ruimte-en-milieu/oldambt-bewijst-werking-verguisd-paardenmiddel-tegen-leegstand)."""
    # -- nomination of a user (option) ------------------------------------------------------------------
    nominate: bool = False
    """Whether the ordinance uses the nomination of a user (Leegstandwet art. 5-7). Default off: municipalities made no mandatory nomination in 2010-2015 (RIGO's evaluation, https://www.rigo.nl/van-ontruimen-naar-inruimen/); the 2024 evaluation found nomination "in de praktijk niet effectief" (gemeente.nu, as above) and the pending bill drops it (https://www.dnws.nl/kennis-en-inspiratie/hoe-de-leegstandsverordening-helpt)."""
    sectors: Annotated[list[SectorName], Field(min_length=1)] = ["craft", "culture", "independent"]
    """Sectors on the municipal waiting list of would-be users (only with ``nominate``). Assumption: makers, culture and independent (local) retail, the uses being priced out of Dutch centres."""
    nominate_after_months: Annotated[float, Field(ge=0.0, le=120.0)] = 12.0
    """Months of vacancy after which the municipality takes its decision to nominate (mo). Source: Leegstandwet art. 5 (after 12 months of vacancy; http://antikraak-wet.nl/eigenaren.html)."""
    own_user_months: Annotated[float, Field(ge=0.0, le=24.0)] = 3.0
    """Months the decision gives the owner to find its own user before the municipality nominates one (mo). Source: the owner may first propose its own user (https://facilylaw.com/juridische-tools-tegen-leegstand, Leegstandwet art. 5-6); the length is an assumption."""
    retry_after_months: Annotated[float, Field(gt=0.0, le=60.0)] = 12.0
    """Months until a new decision after a refusal or when no candidate could pay (mo). Assumption."""
    candidates_per_nomination: Annotated[int, Field(ge=1, le=50)] = 3
    """Waiting-list candidates the municipality considers per nomination. Assumption."""
    max_nominations_per_year: Annotated[int, Field(ge=0, le=1_000)] = 4
    """Nominations the municipality can handle per year (each a formal decision open to objection and appeal). Assumption (RIGO found none made in 2010-2015)."""
    comply_below_floor: dict[OwnerKind, Probability] = {
        "institutional": 0.0, "private": 0.2, "local": 0.3, "corporation": 0.3}
    """Probability that an owner lets to a nominee whose reasonable rent is below its rent floor, by kind (0..1; at or above the floor every owner accepts; the municipality as owner always does). Assumption: a refusal carries no fine (the law fines not reporting: banning.nl, as above; enforcing a nomination needs an order subject to penalty, whose power the Leegstandwet does not plainly give: https://vastgoedjournaal.nl/news/3724/column-oplegging-dwangsom-bij-overtreding-meldingsplicht-bij-leegstand-is-onmogelijk), and institutional owners refuse because a lower contract rent lowers the appraisal and can breach loan covenants (gebiedsontwikkeling.nu, "Waarom laten ze een winkelpand zo lang leegstaan")."""
    # -- staff hours ------------------------------------------------------------------------------------
    staff_hours_report: Hours = 1.0
    """Staff hours to register one report in the vacancy register (h). Assumption."""
    staff_hours_inspection_per_unit: Hours = 0.5
    """Staff hours per vacant unit checked against the register in the yearly inspection (h). Assumption."""
    staff_hours_letter: Hours = 2.0
    """Staff hours to establish one unreported vacancy and write to the owner (h). Assumption."""
    staff_hours_consultation: Hours = 6.0
    """Staff hours of the consultation with the owner (h). Assumption."""
    staff_hours_fine: Hours = 8.0
    """Staff hours to impose one fine (intention, hearing, decision) (h). Assumption."""
    staff_hours_nomination: Hours = 24.0
    """Staff hours of one nomination: the decision, the waiting list, the owner's objection (h). Assumption."""


@dataclass
class Spell:
    """The ordinance's file on one vacancy spell of one unit."""

    vacant_since: int
    duty_step: int = -1          # the step the duty to report began (-1: not yet)
    reported: bool = False       # reported (by the owner, or after the municipality found it)
    consult_step: int = -1       # the step the consultation is due (-1: none scheduled)
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
        self.counts = dict.fromkeys(COUNTS, 0)
        self.fines_eur = 0.0
        self._year = None
        self._nominations_left = 0

    def _steps(self, months: float, model) -> int:
        return int(round(months * model.spy / 12.0))

    def apply(self, model) -> None:
        new_year = int(model.year) != self._year
        if new_year:                                 # a new year: the nomination capacity renews
            self._year = int(model.year)
            self._nominations_left = self.config.max_nominations_per_year
        self._update_files(model)
        if new_year:
            self._inspect(model)
        self._consult(model)
        if self.config.nominate:
            for p in self._due_for_nomination(model):
                if self._nominations_left <= 0 or not self._nominate(model, p):
                    break                            # capacity or the year's money used up

    # -- the duty to report ----------------------------------------------------------------------------
    def _update_files(self, model) -> None:
        """Open and close files; at the duty's start the owner reports or does not (one draw per spell)."""
        par = model.parcels
        vacant = np.flatnonzero(self.area_mask.reshape(-1) & (par.flat("use") == VACANT))
        since = par.flat("vacant_since")
        self.files = {p: f for p, f in self.files.items() if f.vacant_since == since[p]
                      and par.flat("use")[p] == VACANT}      # a let or a conversion closes the file
        report_steps = self._steps(self.config.report_after_months, model)
        for p in sorted(vacant.tolist(), key=lambda q: (since[q], q)):
            f = self.files.setdefault(p, Spell(vacant_since=int(since[p])))
            if f.duty_step < 0 and model.steps - f.vacant_since >= report_steps:
                f.duty_step = model.steps
                kind = int(model.owners.kind[par.flat("owner")[p]])
                u = model.streams.uniform(f"instrument.{self.name}.report", model.clock, p)
                if kind == MUNICIPALITY or u < self.config.report_probability:
                    self._register(model, f)
                    self.counts["reports"] += 1

    def _register(self, model, f: Spell) -> None:
        """A report enters the register; the consultation is due within the law's term (a duty: staff)."""
        f.reported = True
        f.consult_step = model.steps + self._steps(self.config.consultation_within_months, model)
        model.municipality.staff(self.name, self.config.staff_hours_report)

    def _inspect(self, model) -> None:
        """The yearly round: check the area's vacant units against the register; find unreported spells."""
        c = self.config
        if not self.files or not model.municipality.afford(
                self.name, staff_hours=c.staff_hours_inspection_per_unit * len(self.files)):
            return
        model.municipality.staff(self.name, c.staff_hours_inspection_per_unit * len(self.files))
        self.counts["units_inspected"] += len(self.files)
        for p, f in sorted(self.files.items()):
            if f.reported or f.duty_step < 0:
                continue
            if model.streams.uniform(f"instrument.{self.name}.inspection", model.clock, p) >= \
                    c.inspection_find_probability_per_year:
                continue
            if not model.municipality.afford(self.name, staff_hours=c.staff_hours_letter):
                return                                   # no money left this round
            model.municipality.staff(self.name, c.staff_hours_letter)
            self.counts["unreported_found"] += 1
            self.counts["letters"] += 1
            self._register(model, f)                     # after the letter the owner reports
            if model.streams.uniform(f"instrument.{self.name}.fine", model.clock, p) < c.fine_probability_found:
                self._fine(model, p)

    def _fine(self, model, parcel: int) -> None:
        """The fine for not reporting: from the owner's cash to the municipality (other income)."""
        if not model.municipality.afford(self.name, staff_hours=self.config.staff_hours_fine):
            return
        model.municipality.staff(self.name, self.config.staff_hours_fine)
        eur = self.config.fine_eur
        self.counts["fines"] += 1
        if eur > 0.0:
            model.owners.cash_eur[int(model.parcels.flat("owner")[parcel])] -= eur
            model.municipality.receive(self.name, eur)
            self.fines_eur += eur

    # -- the consultation ------------------------------------------------------------------------------
    def _consult(self, model) -> None:
        """Consultations due now (a duty of the municipality: staff); the owner may review its rent now."""
        par = model.parcels
        for p, f in sorted(self.files.items()):
            if f.consult_step < 0 or model.steps < f.consult_step:
                continue
            f.consult_step = -1
            model.municipality.staff(self.name, self.config.staff_hours_consultation)
            self.counts["consultations"] += 1
            if model.streams.uniform(f"instrument.{self.name}.consultation", model.clock, p) < \
                    self.config.consultation_review_probability:
                kind = int(model.owners.kind[par.flat("owner")[p]])
                # the owner's review falls due now (owner_events, later in this step), not at its schedule
                par.flat("last_review_step")[p] = min(par.flat("last_review_step")[p],
                                                      model.steps - int(model.owner_patience[kind]))
                self.counts["rent_reviews"] += 1

    # -- nomination (option) ---------------------------------------------------------------------------
    def _due_for_nomination(self, model) -> list[int]:
        """Reported files past the decision and the owner's own-user term, longest vacant first."""
        wait = self._steps(self.config.nominate_after_months + self.config.own_user_months, model)
        due = [(f.vacant_since, p) for p, f in self.files.items()
               if f.reported and model.steps - f.vacant_since >= wait and model.steps >= f.next_nomination_step]
        return [p for _, p in sorted(due)]

    def _nominate(self, model, parcel: int) -> bool:
        """Nominate the best-paying waiting-list candidate; the owner accepts or refuses (no fine).
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
        elif self._owner_accepts(model, parcel, rent):
            self._let(model, parcel, sector, rent)
        else:
            self.counts["nominee_refusals"] += 1     # no fine: the law fines not reporting, not refusing
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

    def kpis(self, model) -> dict[str, float]:
        par = model.parcels
        long_vacant = self.area_mask & (par.use == VACANT) & (model.steps - par.vacant_since >= model.spy)
        return {**area_kpis(model, self.area_mask),
                "longvacant_units_1y": float(long_vacant.sum()),
                "longvacant_m2_1y": float(par.floor_m2[long_vacant].sum()),
                **{k: float(v) for k, v in self.counts.items()},
                "fines_eur": self.fines_eur}
