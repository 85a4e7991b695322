"""Bibob integrity screening (Wet Bibob) of the permits that new businesses in horeca and in
designated risk sectors need.

Mechanics: every lease an owner is about to accept for a horeca business (its
exploitation permit and alcohol licence always carry the Bibob questionnaire)
or for a business of a designated risk sector (``sectors``) on a parcel in the
area is an application that is screened (hook ``screen_lease``) while the
year's screening capacity lasts. The screening takes time: the questionnaire
and the municipality's own investigation (``screening_weeks``), plus
``lbb_weeks`` when the case goes to the Landelijk Bureau Bibob. Meanwhile the
unit is held for the applicant and the applicant waits; an honest applicant
may give up while waiting (``withdrawal_rate_per_year``). The own investigation
raises serious doubts about a criminal front with ``detection_probability`` and
about an honest applicant with ``false_positive_probability``; a case with
doubts goes to the LBB with ``lbb_share_of_doubts`` and is refused with
``refusal_share_of_doubts``, else granted with conditions. A granted applicant
opens its business when the decision comes. Once the year's capacity is used
up, applications pass unscreened. Each step the municipality also checks its
share of ``checks_per_year`` existing businesses in scope, within the same
capacity; signals (police, RIEC) make a front ``check_signal_ratio`` times as
likely to be picked as an honest business; a detected front loses its permit
(revocation: ``Business.screened_out``).

The model's refusal, conditions and revocation rates (per decision) are KPIs,
to be compared with the national Bibob monitor (2014: of ~6,000 decisions 91%
granted, ~2% refused, 3% granted with conditions, 3% revoked).

Cost: ``staff_hours_per_screening`` per screening, ``staff_hours_per_lbb_request``
per LBB request and ``staff_hours_per_check`` per check, at the municipal hourly rate.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from sim.instruments.area import AREA_KPI_KEYS, area_kpis
from sim.instruments.base import Instrument, InstrumentParams, register
from sim.uses import COMMERCIAL_NAMES, USE_CODE, VACANT

SectorName = Literal[COMMERCIAL_NAMES]   # the commercial use classes of sim/uses.py
WEEKS_PER_YEAR = 52.0
HORECA = USE_CODE["horeca"]


class BibobConfig(InstrumentParams):
    kind: Literal["bibob"] = "bibob"
    kpi_keys: ClassVar[tuple[str, ...]] = AREA_KPI_KEYS + ("lease_screenings", "checks", "screenings",
        "capacity_left", "pending", "decisions_total", "refused_total", "conditions_total", "revoked_total",
        "withdrawn_total", "lbb_requests_total", "refusal_rate", "conditions_rate", "revocation_rate",
        "fronts_applied_total", "fronts_refused_total", "fronts_closed_total", "fronts_missed_total",
        "false_positives_total", "honest_delayed_total", "unscreened_total", "area_fronts_active")
    screen_horeca: bool = True
    """Screen every horeca entry: the exploitation permit (APV) and the alcohol licence (Alcoholwet art. 3) of every new horeca business carry the Bibob questionnaire. Default true (t-diel.nl/wet-bibob, winterswijk.nl Bibob_onderzoek: screening is mostly triggered by horeca and exploitation permits)."""
    sectors: list[SectorName] = ["services", "independent", "daily"]
    """Designated risk sectors whose new businesses in the area need a screened permit (an APV permit duty for risk branches). Default services, independent retail and daily goods: the model's sectors of the risk branches of undermining (barbershops, nail/massage/tanning salons, money transfer; souvenir and phone shops; mini-markets); the mapping is an assumption."""
    screenings_per_year: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = 80.0
    """Screening capacity (applications plus checks per calendar year); unused capacity lapses. Null: the municipality's `screenings_per_year`. Default 80: assumption for a midsize city (a few FTE of Bibob officers; about the applications in scope of the baseline city plus the checks)."""
    screening_weeks: Annotated[float, Field(ge=0.0, le=52.0)] = 4.0
    """Weeks a screened application waits for its decision beyond the letting time, which already holds the permit's regular 8-week decision period (harlingen.nl/wet-bibob): the questionnaire's documents and the own investigation. Default 4. Assumption."""
    lbb_weeks: Annotated[float, Field(ge=0.0, le=52.0)] = 12.0
    """Extra weeks when the Landelijk Bureau Bibob is asked for advice: 8 weeks, extendable by 4, during which the permit's decision period is suspended (justis.nl, onderzoek van het bureau). Default 12."""
    withdrawal_rate_per_year: Annotated[float, Field(ge=0.0, le=10.0)] = 0.5
    """Rate at which an honest applicant gives up while its application waits (per year of waiting: 1 − exp(−rate × weeks / 52) of them). Default 0.5: about 4% of those waiting 4 weeks, 14% of those waiting 16. Assumption."""
    detection_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """Chance that the screening of a criminal front raises serious doubts (0..1). Default 0.5. Assumption, calibrated with the other outcome shares so that the model's refusal and conditions rates land near the national monitor's."""
    false_positive_probability: Annotated[float, Field(ge=0.0, le=0.2)] = 0.02
    """Chance that the screening of an honest applicant raises doubts (0..0.2): its case then waits longer and may be refused. Default 0.02. Assumption, calibrated with the others to the monitor's rates."""
    refusal_share_of_doubts: Annotated[float, Field(ge=0.0, le=1.0)] = 0.4
    """Share of the cases with serious doubts that are refused; the rest is granted with conditions. Default 0.4: refused ~2% and granted with conditions 3% of decisions in the national monitor (academiebw.nl/rapport-monitor-toepassing-wet-bibob-2)."""
    lbb_share_of_doubts: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6
    """Share of the cases with doubts that go to the Landelijk Bureau Bibob for advice. Default 0.6: about 200 LBB advices a year (tweedekamer.nl, 2025D20705) against ~6,000 decisions (~3%), out of ~5% with doubts; the mix of years is an assumption."""
    checks_per_year: Annotated[float, Field(ge=0.0, le=10_000.0)] = 20.0
    """Checks of existing businesses in scope per year, spread evenly over the steps, within capacity; a front found loses its permit (revocation). Assumption."""
    check_signal_ratio: Annotated[float, Field(ge=1.0, le=100.0)] = 5.0
    """How many times more likely a front is picked for a check than an honest business (signals from police and RIEC); 1 = random checks. Assumption."""
    staff_hours_per_screening: Annotated[float, Field(ge=0.0, le=1_000.0)] = 8.0
    """Staff hours per application screened (questionnaire, register checks, decision) (h). Assumption."""
    staff_hours_per_lbb_request: Annotated[float, Field(ge=0.0, le=1_000.0)] = 16.0
    """Staff hours to prepare an LBB request and weigh its advice (h); the LBB itself charges the municipality nothing. Assumption."""
    staff_hours_per_check: Annotated[float, Field(ge=0.0, le=1_000.0)] = 12.0
    """Staff hours per check of an existing business (file work plus a site visit) (h). Assumption."""

    @model_validator(mode="after")
    def _in_scope(self) -> "BibobConfig":
        if not (self.screen_horeca or self.sectors):
            raise ValueError("bibob screens nothing: set screen_horeca or list at least one risk sector")
        return self


class Application(NamedTuple):
    """A permit application waiting for its decision; the unit is held for it."""
    due_step: int
    sector: int
    is_front: bool
    refused: bool
    doubts: bool
    withdraws: bool
    productivity: float   # the applicant's, as it bid (sim/agents/businesses.py Offer)


@register
class Bibob(Instrument):
    config_class = BibobConfig

    def initialize(self, model) -> None:
        super().initialize(model)
        cfg = self.config
        self._sector_codes = frozenset(USE_CODE[s] for s in cfg.sectors) | ({HORECA} if cfg.screen_horeca else set())
        self.capacity_left = 0.0
        self._year = None
        self._flow_step = -1
        self._flow = Counter()            # this step's screenings and checks
        self.totals = Counter()           # cumulative outcomes since the start
        self.pending: dict[int, Application] = {}     # parcel -> application waiting
        self._granting = -1               # the parcel whose granted lease is being let now
        self._weeks_per_step = WEEKS_PER_YEAR / model.spy

    # ------------------------------------------------------------------ every step
    def apply(self, model) -> None:
        self._new_year(model)
        self._decide_due(model)
        self._periodic_checks(model)

    def idle(self, model) -> None:
        """Applications screened while the duty held are still decided after it ends."""
        self._decide_due(model)

    def _new_year(self, model) -> None:
        """A new calendar year: fresh screening capacity (unused capacity lapses)."""
        year = int(model.year)
        if year != self._year:
            self._year = year
            cap = self.config.screenings_per_year
            self.capacity_left = float(model.municipality.screenings_per_year if cap is None else cap)

    def _flows(self, model) -> Counter:
        """The per-step counters, reset when a new step begins."""
        if self._flow_step != model.steps:
            self._flow_step = model.steps
            self._flow = Counter()
        return self._flow

    def _use_capacity(self, model, what: str, hours: float) -> None:
        self.capacity_left -= 1.0
        self._flows(model)[what] += 1
        model.municipality.staff(self.name, hours)

    # ------------------------------------------------------------------ intake screening
    def screen_lease(self, model, parcel: int, sector: int, is_front: bool) -> bool:
        """An application in scope is screened (capacity left): the lease waits for the decision
        (False now), or, with no waiting time, is decided at once. A unit held for an application
        takes no other lease."""
        if parcel == self._granting:
            return True                           # the decision on this unit's application: granted
        if parcel in self.pending:
            return False
        if sector not in self._sector_codes or not self.in_area(parcel):
            return True
        self._new_year(model)
        cfg = self.config
        if self.capacity_left < 1.0 or not model.municipality.afford(self.name, staff_hours=cfg.staff_hours_per_screening):
            self.totals["unscreened"] += 1       # capacity or money used up: the lease passes unscreened
            return True
        self._use_capacity(model, "lease_screenings", cfg.staff_hours_per_screening)
        # one set of draws per application, keyed by the unit and the step
        u_doubt, u_lbb, u_refuse, u_withdraw = model.streams.uniforms(
            f"instrument.{self.name}.screening", model.clock, parcel, 4)[0]
        doubts = u_doubt < (cfg.detection_probability if is_front else cfg.false_positive_probability)
        lbb = doubts and u_lbb < cfg.lbb_share_of_doubts
        if lbb:
            self.totals["lbb_requests"] += 1
            model.municipality.staff(self.name, cfg.staff_hours_per_lbb_request)
        weeks = cfg.screening_weeks + (cfg.lbb_weeks if lbb else 0.0)
        refused = bool(doubts and u_refuse < cfg.refusal_share_of_doubts)
        # an honest applicant may give up while it waits; a front needs the unit and waits
        withdraws = (not is_front and not refused
                     and u_withdraw < 1.0 - np.exp(-cfg.withdrawal_rate_per_year * weeks / WEEKS_PER_YEAR))
        self.totals["fronts_applied"] += int(is_front)
        steps = int(np.ceil(weeks / self._weeks_per_step - 1e-9))
        app = Application(model.steps + steps, int(sector), bool(is_front), refused, bool(doubts), bool(withdraws),
                          float(model.municipality.applicant_productivity))
        if steps == 0:
            return self._decide(model, parcel, app, letting_now=True)
        self.pending[parcel] = app
        self.totals["honest_delayed"] += int(not is_front)
        # the unit is held for the applicant: no other lease starts before the decision
        model.parcels.flat("lettable_from_step")[parcel] = app.due_step
        return False

    def _decide_due(self, model) -> None:
        """Decide the applications whose screening ends this step (in the order they were made)."""
        due = [p for p, a in self.pending.items() if a.due_step <= model.steps]
        for parcel in due:
            app = self.pending.pop(parcel)
            par = model.parcels
            if par.flat("use")[parcel] != VACANT:
                self.totals["lapsed"] += 1        # the unit changed meanwhile (a conversion): nothing to let
                continue
            par.flat("lettable_from_step")[parcel] = model.steps
            if self._decide(model, parcel, app, letting_now=False):
                self._open(model, parcel, app)

    def _decide(self, model, parcel: int, app: Application, letting_now: bool) -> bool:
        """Count the decision (or the withdrawal); True: the lease may go ahead."""
        if app.withdraws:
            self.totals["withdrawn"] += 1        # an honest applicant gave up: no decision
            return False
        self.totals["decisions"] += 1
        if app.refused:
            self.totals["refused"] += 1
            if app.is_front:
                self.totals["fronts_refused"] += 1
                model.events["fronts_detected"] += 1   # counted by the core KPI fronts_detected
            else:
                self.totals["false_positives"] += 1    # an honest applicant refused
            return False
        if app.doubts:
            self.totals["conditions"] += 1       # granted with conditions (no further effect in the model)
        if app.is_front:
            self.totals["fronts_missed"] += 1
        return True

    def _open(self, model, parcel: int, app: Application) -> None:
        """The granted applicant signs the lease now, as ``let_units`` would have (other screening
        rules, e.g. a use-mix cap, are asked again); it opens with the productivity it bid with."""
        from sim.agents.businesses import effective_ask_eur_m2, open_business
        self._granting = parcel
        try:
            if not model.municipality.screen_lease(parcel, app.sector, app.is_front, productivity=app.productivity):
                return
        finally:
            self._granting = -1
        cfg = model.spec.agents.businesses
        par = model.parcels
        rent = float(par.flat("asking_rent_eur_m2")[parcel]) * ((1.0 + cfg.front_bid_premium) if app.is_front else 1.0)
        paid = rent if app.is_front else float(effective_ask_eur_m2(model, np.array([parcel]))[0])
        floor = par.flat("floor_m2")[parcel]
        cash = cfg.cash_buffer_quarters * (paid + model.sector_arrays["fixed_cost_eur_m2"][app.sector]) * floor / 4.0
        agent = open_business(model, app.sector, parcel, rent, app.is_front, cash,
                              model.steps + cfg.lease_years * model.spy, paid_rent_eur_m2=paid,
                              productivity=app.productivity)
        model.events["business_entries"] += 1
        model.municipality.on_let(parcel, agent.slot, app.sector, app.is_front)

    # ------------------------------------------------------------------ checks of existing businesses
    def _checks_due(self, model) -> int:
        """This step's share of the annual checks (integer, exact over a year), within capacity."""
        q = (model.steps - 1) % model.spy
        per_year = self.config.checks_per_year
        due = int(np.floor(per_year * (q + 1) / model.spy) - np.floor(per_year * q / model.spy))
        return min(due, int(self.capacity_left))

    def _periodic_checks(self, model) -> None:
        """Check existing businesses in scope in the area; revoke the permits of the fronts found."""
        n = self._checks_due(model)
        if n <= 0:
            return
        b = model.businesses
        in_scope = b.alive & np.isin(b.sector, list(self._sector_codes)) & self.area_mask.reshape(-1)[b.parcel]
        slots = np.flatnonzero(in_scope)
        if slots.size == 0:
            return
        # intelligence-led selection: signals point at fronts more often than at honest firms
        weight = np.where(b.is_front[slots], self.config.check_signal_ratio, 1.0)
        where = b.parcel[slots]        # businesses are keyed by their parcel (sim/streams.py)
        picked = slots[model.streams.weighted_sample(f"instrument.{self.name}.check_selection", model.clock, where,
                                                     weight, n)]
        found = (model.streams.uniform(f"instrument.{self.name}.check", model.clock, b.parcel[picked])
                 < self.config.detection_probability)
        for slot, hit in zip(picked.tolist(), found.tolist()):
            if not model.municipality.afford(self.name, staff_hours=self.config.staff_hours_per_check):
                break                            # the year's money is gone: the other checks wait
            self._use_capacity(model, "checks", self.config.staff_hours_per_check)
            if hit and b.is_front[slot]:
                self.totals["fronts_closed"] += 1
                model.business_agents[slot].screened_out()   # permit revoked; counts as a detected front

    # ------------------------------------------------------------------ KPIs
    def kpis(self, model) -> dict[str, float]:
        flow = self._flow if self._flow_step == model.steps else Counter()
        b = model.businesses
        t = self.totals
        fronts_in_area = b.alive & b.is_front & self.area_mask.reshape(-1)[b.parcel]
        per_decision = 1.0 / t["decisions"] if t["decisions"] else 0.0
        return {
            **area_kpis(model, self.area_mask),
            "lease_screenings": float(flow["lease_screenings"]),
            "checks": float(flow["checks"]),
            "screenings": float(flow["lease_screenings"] + flow["checks"]),
            "capacity_left": float(self.capacity_left),
            "pending": float(len(self.pending)),
            "decisions_total": float(t["decisions"]),
            "refused_total": float(t["refused"]),
            "conditions_total": float(t["conditions"]),
            "revoked_total": float(t["fronts_closed"]),
            "withdrawn_total": float(t["withdrawn"]),
            "lbb_requests_total": float(t["lbb_requests"]),
            "refusal_rate": t["refused"] * per_decision,
            "conditions_rate": t["conditions"] * per_decision,
            "revocation_rate": t["fronts_closed"] * per_decision,
            "fronts_applied_total": float(t["fronts_applied"]),
            "fronts_refused_total": float(t["fronts_refused"]),
            "fronts_closed_total": float(t["fronts_closed"]),
            "fronts_missed_total": float(t["fronts_missed"]),
            "false_positives_total": float(t["false_positives"]),
            "honest_delayed_total": float(t["honest_delayed"]),
            "unscreened_total": float(t["unscreened"]),
            "area_fronts_active": float(fronts_in_area.sum()),
        }
