"""The municipality: budget, revolving property fund, enforcement capacity,
the instrument loop and a ledger per instrument.

The hooks (``first_refusal``, ``screen_lease``, ``conversion_subsidy``, ...;
the table is in ``sim/instruments/base.py``) are where the instruments reach
into other agents' decisions; without instruments they answer neutrally.
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
        mc = model.spec.agents.municipality
        self.ledger = Ledger(model.spec.n_steps)
        self.budget_eur_per_year = mc.annual_budget_eur
        self.fund_start_eur = mc.property_fund_eur
        self.fund_eur = mc.property_fund_eur
        self.budget_left_eur = 0.0
        self.budget_granted_eur = 0.0
        self.screenings_per_year = mc.screenings_per_year
        self.staff_cost_eur_per_hour = mc.staff_cost_eur_per_hour
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
        """Policy acts first in a step, instruments in the scenario's order (docs/ODD.md §3, §7.2)."""
        if (self.model.steps - 1) % self.model.spy == 0:
            self.start_year()
        year = self.model.year
        for instrument in self.instruments:
            if instrument.active(year):
                instrument.apply(self.model)
            else:
                instrument.idle(self.model)   # commitments that outlive the active period

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

    def staff(self, instrument: str, hours: float) -> None:
        """Book staff hours, paid from the annual budget at the municipal hourly rate."""
        self.spend(instrument, hours * self.staff_cost_eur_per_hour, staff_hours=hours)

    # -- hooks for the instruments (see sim/instruments/base.py) ----------------------
    def _active(self, hook: str):
        year = self.model.year
        return [getattr(i, hook) for i in self.instruments if hasattr(i, hook) and i.active(year)]

    def first_refusal(self, parcel: int, price_eur: float) -> bool:
        """An owner decided to sell: does the municipality buy first? (pre-emption)

        Instruments are asked in scenario order; a True answer means that instrument
        bought and paid, so nobody after it is asked (``any`` stops at the first True).
        """
        return any(h(self.model, parcel, price_eur) for h in self._active("first_refusal"))

    def screen_lease(self, parcel: int, sector: int, is_front: bool) -> bool:
        """May this lease go ahead? (integrity screening, use-mix rules, municipal letting policy)"""
        return all(h(self.model, parcel, sector, is_front) for h in self._active("screen_lease"))

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

    def check_ledger(self) -> None:
        """Budgets balance: fund and budget equal their start plus bookings."""
        spend, income = self.ledger.totals()
        assert np.isclose(spend, self.fund_out_eur + self.budget_out_eur, rtol=1e-12, atol=1e-6), "spend off the books"
        assert np.isclose(income, self.fund_in_eur + self.other_in_eur, rtol=1e-12, atol=1e-6), "income off the books"
        assert np.isclose(self.fund_eur, self.fund_start_eur + self.fund_in_eur - self.fund_out_eur,
                          rtol=1e-12, atol=1e-6), "property fund does not balance"
