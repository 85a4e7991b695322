"""The municipality: budget, revolving property fund, enforcement capacity,
the instrument loop and a ledger per instrument.

The hooks (``first_refusal``, ``screen_lease``, ``conversion_subsidy``) are
where the instruments reach into other agents' decisions; without instruments
they answer "no", "accept" and "nothing".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

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
    """One municipality per model."""

    def __init__(self, model: "CityModel"):
        super().__init__(model)
        mc = model.scenario.agents.municipality
        self.ledger = Ledger(model.scenario.n_steps)
        self.budget_eur_per_year = mc.annual_budget_eur
        self.fund_start_eur = mc.property_fund_eur
        self.fund_eur = mc.property_fund_eur
        self.budget_left_eur = 0.0
        self.budget_granted_eur = 0.0
        self.screenings_per_year = mc.screenings_per_year
        self.fund_in_eur = 0.0     # running totals, checked against the ledger
        self.fund_out_eur = 0.0
        self.budget_out_eur = 0.0
        self.other_in_eur = 0.0
        self.instruments = []

    def start_year(self) -> None:
        """A new budget year: unspent budget lapses (Dutch municipal budgets are annual)."""
        self.budget_left_eur = self.budget_eur_per_year
        self.budget_granted_eur += self.budget_eur_per_year

    def apply_instruments(self) -> None:
        """Policy acts first in a step, instruments in the scenario's order (DESIGN §3)."""
        if (self.model.steps - 1) % self.model.spy == 0:
            self.start_year()
        year = self.model.year
        for instrument in self.instruments:
            if instrument.active(year):
                instrument.apply(self.model)

    # -- money --------------------------------------------------------------------
    def spend(self, instrument: str, eur: float, from_fund: bool = False, staff_hours: float = 0.0) -> None:
        if from_fund:
            self.fund_eur -= eur
            self.fund_out_eur += eur
        else:
            self.budget_left_eur -= eur
            self.budget_out_eur += eur
        self.ledger.book(instrument, self.model.steps, spend_eur=eur, staff_hours=staff_hours)

    def receive(self, instrument: str, eur: float, to_fund: bool = False) -> None:
        if to_fund:
            self.fund_eur += eur
            self.fund_in_eur += eur
        else:
            self.other_in_eur += eur
        self.ledger.book(instrument, self.model.steps, income_eur=eur)

    # -- hooks for the instruments --------------------------------------------------
    def first_refusal(self, parcel: int, price_eur: float) -> bool:
        """An owner decided to sell: does the municipality buy first? (pre-emption)"""
        return any(getattr(i, "first_refusal", lambda m, p, x: False)(self.model, parcel, price_eur)
                   for i in self.instruments if i.active(self.model.year))

    def screen_lease(self, parcel: int, sector: int, is_front: bool) -> bool:
        """May this lease go ahead? (integrity screening, use-mix rules, zoning)"""
        return all(getattr(i, "screen_lease", lambda m, p, s, f: True)(self.model, parcel, sector, is_front)
                   for i in self.instruments if i.active(self.model.year))

    def conversion_subsidy(self, parcel: int, cost_eur: float, commit: bool) -> float:
        """Subsidy for converting ``parcel`` (EUR); booked only when ``commit``."""
        return float(sum(getattr(i, "conversion_subsidy", lambda m, p, c, k: 0.0)(self.model, parcel, cost_eur, commit)
                         for i in self.instruments if i.active(self.model.year)))

    def check_ledger(self) -> None:
        """Budgets balance: fund and budget equal their start plus bookings."""
        spend, income = self.ledger.totals()
        assert np.isclose(spend, self.fund_out_eur + self.budget_out_eur, rtol=1e-12, atol=1e-6), "spend off the books"
        assert np.isclose(income, self.fund_in_eur + self.other_in_eur, rtol=1e-12, atol=1e-6), "income off the books"
        assert np.isclose(self.fund_eur, self.fund_start_eur + self.fund_in_eur - self.fund_out_eur,
                          rtol=1e-12, atol=1e-6), "property fund does not balance"
