"""The municipality: budget, revolving property fund, enforcement capacity,
the instrument loop and a ledger per instrument.

The hooks (``first_refusal``, ``screen_lease``, ``conversion_subsidy``, ...;
the table is in ``sim/instruments/base.py``) are where the instruments reach
into other agents' decisions; without instruments they answer neutrally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections import Counter

import mesa
import numpy as np

from sim.kpis import BORROWING

if TYPE_CHECKING:
    from sim.model import CityModel


class Ledger:
    """Every euro spent or received and every staff hour, per instrument and step."""

    def __init__(self, n_steps: int):
        self.n_steps = n_steps
        self.spend_eur: dict[str, np.ndarray] = {}
        self.income_eur: dict[str, np.ndarray] = {}
        self.staff_hours: dict[str, np.ndarray] = {}

    def open(self, name: str) -> None:
        for book in (self.spend_eur, self.income_eur, self.staff_hours):
            book.setdefault(name, np.zeros(self.n_steps + 1))

    def book(self, name: str, step: int, spend_eur: float = 0.0, income_eur: float = 0.0,
             staff_hours: float = 0.0) -> None:
        if min(spend_eur, income_eur, staff_hours) < 0:
            raise ValueError("ledger entries are non-negative; book income and spend separately")
        self.open(name)
        self.spend_eur[name][step] += spend_eur
        self.income_eur[name][step] += income_eur
        self.staff_hours[name][step] += staff_hours

    def step_totals(self, step: int) -> tuple[float, float]:
        spend = sum(a[step] for a in self.spend_eur.values())
        income = sum(a[step] for a in self.income_eur.values())
        return float(spend), float(income)

    def totals(self) -> tuple[float, float]:
        return (float(sum(a.sum() for a in self.spend_eur.values())),
                float(sum(a.sum() for a in self.income_eur.values())))


class Municipality(mesa.Agent):
    """One municipality per model.

    Three accounts: the annual budget (unspent money lapses at the year's end), the
    property fund (its own capital, revolving: sales flow back into it) and the BIZ
    account (the levy, spent only on the BIZ zone). No spend takes an account below zero
    unless the scenario allows borrowing (``agents.municipality.allow_borrowing``: then
    the budget may run a deficit, which carries into the next year and bears interest at
    ``borrowing_rate_per_year``). A discretionary action (a grant, a purchase, a
    screening, a nomination, a plan procedure) asks ``afford`` first and is refused when
    the money is not there (``refused_budget``, per instrument); an obligation (a claim for
    planning compensation, a committed subsidy, holding costs, staff on a legal duty) is
    paid as far as the account allows and waits as arrears for the rest, paid first when
    money comes in (``arrears_eur``).
    """

    def __init__(self, model: "CityModel"):
        super().__init__(model)
        mc = model.spec.agents.municipality
        self.ledger = Ledger(model.spec.n_steps)
        self.budget_eur_per_year = mc.annual_budget_eur
        self.fund_start_eur = mc.property_fund_eur
        self.fund_eur = mc.property_fund_eur
        self.biz_eur = 0.0
        self.budget_left_eur = 0.0
        self.budget_granted_eur = 0.0
        self.allow_borrowing = mc.allow_borrowing
        self.borrowing_rate_per_year = mc.borrowing_rate_per_year
        self.screenings_per_year = mc.screenings_per_year
        self.applicant_productivity = 1.0   # of the lease applicant being screened (screen_lease)
        self.staff_cost_eur_per_hour = mc.staff_cost_eur_per_hour
        self.fund_in_eur = 0.0     # running totals, checked against the ledger
        self.fund_out_eur = 0.0
        self.budget_out_eur = 0.0
        self.biz_in_eur = 0.0
        self.biz_out_eur = 0.0
        self.other_in_eur = 0.0
        self.refused_budget: Counter = Counter()   # per instrument: actions refused for want of money
        self.arrears: list[list] = []       # obligations not yet paid: [instrument, account, EUR, payee or None]
        if self.allow_borrowing:
            self.ledger.open(BORROWING)
        self.net_cash_eur: dict[str, float] = {}       # per ledger name: spend − income so far
        self.capital_cost_eur: dict[str, float] = {}   # per ledger name: cost of the capital that cash tied up
        self.instruments = []

    def start_year(self) -> None:
        """A new budget year: unspent budget lapses (Dutch municipal budgets are annual); a
        deficit (only with borrowing) carries over."""
        carried = min(self.budget_left_eur, 0.0)
        self.budget_left_eur = self.budget_eur_per_year + carried
        self.budget_granted_eur += self.budget_eur_per_year

    def apply_instruments(self) -> None:
        """Policy acts first in a step, instruments in the scenario's order (docs/ODD.md §3, §7.2)."""
        if (self.model.steps - 1) % self.model.spy == 0:
            self.start_year()
        self.charge_interest()
        self.pay_arrears()
        year = self.model.year
        for instrument in self.instruments:
            if instrument.active(year):
                instrument.apply(self.model)
            else:
                instrument.idle(self.model)   # commitments that outlive the active period

    # -- money --------------------------------------------------------------------
    def balance_eur(self, account: str) -> float:
        return {"budget": self.budget_left_eur, "fund": self.fund_eur, "biz": self.biz_eur}[account]

    def can_afford(self, eur: float = 0.0, account: str = "budget", staff_hours: float = 0.0) -> bool:
        """Can ``account`` pay ``eur`` now, and the budget ``staff_hours`` (after what waits as arrears)?"""
        need = {account: eur}
        need["budget"] = need.get("budget", 0.0) + staff_hours * self.staff_cost_eur_per_hour
        for _, waiting_account, owed, _ in self.arrears:     # what already waits is paid first
            need[waiting_account] = need.get(waiting_account, 0.0) + owed
        return all((a == "budget" and self.allow_borrowing) or v <= self.balance_eur(a) + 1e-6
                   for a, v in need.items() if v > 0.0)

    def afford(self, instrument: str, eur: float = 0.0, account: str = "budget", staff_hours: float = 0.0) -> bool:
        """May a discretionary action of ``instrument`` that costs ``eur`` from ``account`` (plus
        ``staff_hours``, paid from the budget) go ahead? If not, the refusal is counted."""
        ok = self.can_afford(eur, account, staff_hours)
        if not ok:
            self.refused_budget[instrument] += 1
        return ok

    def spend(self, instrument: str, eur: float, from_fund: bool = False, staff_hours: float = 0.0,
              account: str | None = None, payee=None) -> None:
        """Pay an obligation of ``eur`` from the account (default: the budget; ``from_fund``: the
        property fund) as far as its balance allows; the rest waits as arrears. ``payee(eur)``,
        if given, receives each part when it is paid. ``staff_hours`` are booked as worked now."""
        account = account or ("fund" if from_fund else "budget")
        if staff_hours:
            self.ledger.book(instrument, self.model.steps, staff_hours=staff_hours)
        self._pay(instrument, account, eur, payee)

    def staff(self, instrument: str, hours: float) -> None:
        """Book staff hours, paid from the annual budget at the municipal hourly rate."""
        self.spend(instrument, hours * self.staff_cost_eur_per_hour, staff_hours=hours)

    def receive(self, instrument: str, eur: float, to_fund: bool = False, account: str | None = None) -> None:
        account = account or ("fund" if to_fund else "other")
        if account == "fund":
            self.fund_eur += eur
            self.fund_in_eur += eur
        elif account == "biz":
            self.biz_eur += eur
            self.biz_in_eur += eur
        else:
            self.other_in_eur += eur
        self.ledger.book(instrument, self.model.steps, income_eur=eur)

    def arrears_eur(self, instrument: str) -> float:
        return float(sum(owed for name, _, owed, _ in self.arrears if name == instrument))

    def _pay(self, instrument: str, account: str, eur: float, payee=None) -> None:
        if eur <= 0.0:
            return
        paid = eur if (account == "budget" and self.allow_borrowing) else min(eur, max(self.balance_eur(account), 0.0))
        if paid > 0.0:
            self._debit(account, paid)
            self.ledger.book(instrument, self.model.steps, spend_eur=paid)
            if payee is not None:
                payee(paid)
        if eur - paid > 1e-9:
            self.arrears.append([instrument, account, eur - paid, payee])

    def _debit(self, account: str, eur: float) -> None:
        if account == "fund":
            self.fund_eur -= eur
            self.fund_out_eur += eur
        elif account == "biz":
            self.biz_eur -= eur
            self.biz_out_eur += eur
        else:
            self.budget_left_eur -= eur
            self.budget_out_eur += eur

    def pay_arrears(self) -> None:
        """Obligations that waited are paid first, in the order they arose, as far as the money goes."""
        waiting, self.arrears = self.arrears, []
        for instrument, account, owed, payee in waiting:
            self._pay(instrument, account, owed, payee)

    def charge_interest(self) -> None:
        """With borrowing allowed, a budget deficit bears interest each step."""
        if self.allow_borrowing and self.budget_left_eur < 0.0:
            interest = -self.budget_left_eur * self.borrowing_rate_per_year / self.model.spy
            self._debit("budget", interest)
            self.ledger.book(BORROWING, self.model.steps, spend_eur=interest)

    # -- hooks for the instruments (see sim/instruments/base.py) ----------------------
    def _active(self, hook: str):
        year = self.model.year
        return [getattr(i, hook) for i in self.instruments if hasattr(i, hook) and i.active(year)]

    def first_refusal(self, parcel: int, price_eur: float) -> bool | None:
        """An owner decided to sell: does the municipality buy first? (pre-emption)

        Instruments are asked in scenario order; a True answer means that instrument
        bought and paid, None that it negotiates to buy (the sale waits: the owner neither
        sells to a third party now nor is made to sell); either way nobody after it is asked.
        False: the owner sells freely.
        """
        for h in self._active("first_refusal"):
            answer = h(self.model, parcel, price_eur)
            if answer is None or answer:
                return answer
        return False

    def screen_lease(self, parcel: int, sector: int, is_front: bool, productivity: float = 1.0) -> bool:
        """May this lease go ahead? (integrity screening, use-mix rules, municipal letting policy)
        ``productivity`` is the applicant's (``applicant_productivity`` while the hooks are asked), for
        a screening that holds the lease until its decision and lets it then (bibob)."""
        self.applicant_productivity = productivity
        return all(h(self.model, parcel, sector, is_front) for h in self._active("screen_lease"))

    def use_permitted(self, parcels: np.ndarray, sector: int) -> np.ndarray:
        """May a new business of ``sector`` take each of the vacant ``parcels`` under the published plan
        rules (use-mix rules)? Entrants search only where it may; ``screen_lease`` still decides."""
        ok = np.ones(len(parcels), bool)
        for h in self._active("use_permitted"):
            ok &= h(self.model, parcels, sector)
        return ok

    def conversion_subsidy(self, parcel: int, cost_eur: float, commit: bool) -> float:
        """Subsidy for converting ``parcel`` (EUR); booked only when ``commit``."""
        return float(sum(h(self.model, parcel, cost_eur, commit) for h in self._active("conversion_subsidy")))

    def conversion_extra_steps(self, parcel: int) -> int:
        """Extra steps a conversion of ``parcel`` waits for its permit (zoning procedure)."""
        return max([int(h(self.model, parcel)) for h in self._active("conversion_extra_steps")], default=0)

    def rent_support_share(self, parcels: np.ndarray, sector: int) -> np.ndarray:
        """Share of the rent the municipality would pay for a ``sector`` tenant on each of ``parcels``."""
        share = np.zeros(len(parcels))
        for h in self._active("rent_support_share"):
            share += h(self.model, parcels, sector)
        return np.clip(share, 0.0, 1.0)

    def maintenance_support(self, parcel: int, cost_eur: float, commit: bool) -> float:
        """Municipal co-funding of a renovation (EUR); booked only when ``commit``."""
        support = sum(h(self.model, parcel, cost_eur, commit) for h in self._active("maintenance_support"))
        return float(min(support, cost_eur))

    def on_let(self, parcel: int, business: int, sector: int, is_front: bool) -> None:
        for h in self._active("on_let"):
            h(self.model, parcel, business, sector, is_front)

    def on_exit(self, parcel: int, business: int) -> None:
        for h in self._active("on_exit"):
            h(self.model, parcel, business)

    # -- public cost -----------------------------------------------------------------
    def count_public_cost(self) -> None:
        """At the end of a step: each ledger name's net cash, and the cost of the capital its net
        cash of the previous steps tied up, at ``borrowing_rate_per_year`` (an income earns it)."""
        step = self.model.steps
        rate = self.borrowing_rate_per_year / self.model.spy
        # a levy-funded account (the BIZ) passes the payers' money through: no municipal capital in it
        levy_funded = {i.name for i in self.instruments if i.levy_funded}
        for name in self.ledger.spend_eur:
            before = self.net_cash_eur.get(name, 0.0)
            if name not in levy_funded:
                self.capital_cost_eur[name] = self.capital_cost_eur.get(name, 0.0) + before * rate
            self.net_cash_eur[name] = before + self.ledger.spend_eur[name][step] - self.ledger.income_eur[name][step]

    def net_public_cost_eur(self, instrument) -> float:
        """What an instrument has cost the public purse so far, as a public finance officer counts it:
        cash out minus cash in (grants, purchases with their costs, staff hours at their hourly cost),
        plus the cost of the capital tied up, minus the market value of the property it holds now."""
        name = instrument.name
        return (self.net_cash_eur.get(name, 0.0) + self.capital_cost_eur.get(name, 0.0)
                - instrument.holdings_value_eur(self.model))

    def check_ledger(self) -> None:
        """Budgets balance: fund and budget equal their start plus bookings."""
        spend, income = self.ledger.totals()
        assert np.isclose(spend, self.fund_out_eur + self.budget_out_eur + self.biz_out_eur,
                          rtol=1e-12, atol=1e-6), "spend off the books"
        assert np.isclose(income, self.fund_in_eur + self.other_in_eur + self.biz_in_eur,
                          rtol=1e-12, atol=1e-6), "income off the books"
        assert self.fund_eur >= -1e-6 and self.biz_eur >= -1e-6, "an account went below zero"
        assert self.allow_borrowing or self.budget_left_eur >= -1e-6, "the budget went below zero without borrowing"
        assert np.isclose(self.fund_eur, self.fund_start_eur + self.fund_in_eur - self.fund_out_eur,
                          rtol=1e-12, atol=1e-6), "property fund does not balance"
