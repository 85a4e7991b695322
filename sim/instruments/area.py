"""KPIs of a target area, shared by the instruments' ``kpis()`` (not an instrument)."""

from __future__ import annotations

import numpy as np

from sim.uses import IS_COMMERCIAL, MUNICIPALITY, USE_CODE, VACANT


AREA_KPI_KEYS = ("area_vacancy_units", "area_longterm_vacancy_1y", "area_craft_culture_m2", "area_condition_mean",
                 "area_footfall_mean", "area_municipal_parcels", "area_parcels")
"""The keys ``area_kpis`` returns (instrument configs list them in ``kpi_keys``)."""


def area_kpis(model, mask: np.ndarray) -> dict[str, float]:
    """Vacancy, long-term vacancy, craft/culture floor, condition, footfall and
    municipal ownership among the parcels of ``mask`` (a boolean grid)."""
    par = model.parcels
    use = par.use[mask]
    floor = par.floor_m2[mask]
    units = (use == VACANT) | IS_COMMERCIAL[use]
    vacant = use == VACANT
    years = (model.steps - par.vacant_since[mask]) / model.spy
    vac_floor = floor[vacant].sum()
    craft_culture = np.isin(use, [USE_CODE["craft"], USE_CODE["culture"]])
    municipal = model.owners.kind[np.maximum(par.owner[mask], 0)] == MUNICIPALITY
    n = max(int(mask.sum()), 1)
    return {
        "area_vacancy_units": float(vacant.sum() / max(units.sum(), 1)),
        "area_longterm_vacancy_1y": float(floor[vacant & (years >= 1.0)].sum() / vac_floor) if vac_floor > 0 else 0.0,
        "area_craft_culture_m2": float(floor[craft_culture].sum()),
        "area_condition_mean": float(par.condition[mask].mean()) if mask.any() else 0.0,
        "area_footfall_mean": float(par.footfall[mask].mean()) if mask.any() else 0.0,
        "area_municipal_parcels": float(municipal.sum()),
        "area_parcels": float(n),
    }
