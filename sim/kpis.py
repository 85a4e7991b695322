"""KPIs of one step (definitions in docs/ODD.md §7.13) from the kernel's grid sums and the agent arrays.

Stocks (vacancy, shares, households, ...) are the state at the end of the step;
flows (entries, exits, municipal spend and income) are this step's; counts of
conversions and detected fronts and the net public cost are cumulative since
the start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.uses import COMMERCIAL_CODES, IS_COMMERCIAL, MUNICIPALITY, RESIDENTIAL, STREET_NAMES, USE_CODE, USE_NAMES, VACANT

# The agent modules (Mesa) and the kernels (numba) are imported inside the functions that compute
# KPIs: `known_metrics`, which `regie validate` uses, needs neither.

# Conversions (with works): to housing, or to another commercial use with a change-of-use permit.
CONVERSION_PAIRS = tuple((int(f), int(t)) for f in (VACANT, *COMMERCIAL_CODES) for t in (*COMMERCIAL_CODES, RESIDENTIAL)
                         if f != t)
# Use changes through letting: a unit that last held one commercial use is let to another.
USE_CHANGE_PAIRS = tuple((int(f), int(t)) for f in COMMERCIAL_CODES for t in COMMERCIAL_CODES if f != t)
# Money of the owners (constant euros of the start year) and what their lenders did.
OWNER_FINANCE_METRICS = ("owner_cash_eur", "owner_debt_eur", "owner_ltv", "owner_under_water_share",
                         "owner_distributions_eur", "covenant_breaches", "covenant_cures", "forced_sales")

if TYPE_CHECKING:
    from sim.model import CityModel

# The keys of a model record (``CityModel.records``) that say when it was taken; every other key is a metric.
RECORD_INDEX = ("step", "year")

# The metrics shown in the terminal summary and the workshop reports.
KEY_METRICS = ("vacancy_units", "vacancy_floor", "vacancy_units_A1", "vacancy_units_C", "longterm_vacancy_1y",
               "longterm_vacancy_3y", "diversity_shannon", "craft_culture_m2", "households",
               "rent_burden_over_40", "footfall_index", "condition_mean", "condition_poor_share",
               "fronts_active", "conversions_total", "owner_value_eur", "net_public_cost_eur")


def _share(a: float, b: float) -> float:
    return float(a / b) if b > 0 else 0.0


def shannon(counts: np.ndarray) -> float:
    """Shannon diversity (natural log) of a count vector; 0 for an empty or one-class mix."""
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())


def grid_kpis(k: np.ndarray, footfall_start: float) -> dict[str, float]:
    """KPIs that follow from the grid sums of ``kpi_reduce``."""
    from sim.kernels import KPI_LAYOUT
    L = KPI_LAYOUT
    count, floor = k[L["use_count"]], k[L["use_floor_m2"]]
    units, vac = k[L["units_by_street"]], k[L["vacant_by_street"]]
    vfloor = k[L["vacant_floor_m2"]][0]
    parcels = k[L["parcels"]][0]
    out = {
        "vacancy_units": _share(vac.sum(), units.sum()),
        "vacancy_floor": _share(vfloor, k[L["unit_floor_m2"]][0]),
        "longterm_vacancy_1y": _share(k[L["vacant_floor_1y_m2"]][0], vfloor),
        "longterm_vacancy_3y": _share(k[L["vacant_floor_3y_m2"]][0], vfloor),
    }
    for i, name in enumerate(STREET_NAMES):
        out[f"vacancy_units_{name}"] = _share(vac[i], units[i])
    for i, name in enumerate(USE_NAMES):
        out[f"share_{name}"] = _share(count[i], parcels)
    out["diversity_shannon"] = shannon(count[COMMERCIAL_CODES])
    out["craft_culture_m2"] = float(floor[USE_CODE["craft"]] + floor[USE_CODE["culture"]])
    out["footfall_index"] = 100.0 * _share(_share(k[L["footfall_shopping_sum"]][0], k[L["shopping_parcels"]][0]),
                                           footfall_start)
    out["condition_mean"] = _share(k[L["condition_sum"]][0], parcels)
    out["condition_poor_share"] = _share(k[L["condition_poor"]][0], parcels)
    return out


def compute_kpis(model: "CityModel") -> dict[str, float]:
    """Every KPI of the model's current state, by metric name (``known_metrics`` lists them)."""
    from sim.agents.households import rent_burden_share
    from sim.kernels import kpi_reduce
    par = model.parcels
    k = kpi_reduce(par.land, par.use, par.street_class, par.floor_m2, par.vacant_since, par.condition,
                   par.footfall, model.steps, model.spy)
    start = getattr(model, "footfall_start", None) or 1.0
    out = grid_kpis(k, start)
    out.update(vacancy_by_sector(par))
    h = model.households
    b = model.businesses
    out["households"] = float(h.alive.sum())
    out["residents"] = float(h.size[h.alive].sum())
    out["dwellings_occupied"] = float(par.dwellings_occupied.sum())
    out["dwellings"] = float(par.dwellings.sum())
    out["rent_burden_over_40"] = rent_burden_share(model)
    out["fronts_active"] = float((b.alive & b.is_front).sum())
    out["fronts_detected"] = float(getattr(model, "fronts_detected", 0))
    out["businesses"] = float(b.alive.sum())
    out["business_entries"] = float(model.events["business_entries"])
    out["business_exits"] = float(model.events["business_exits"])
    out["sales"] = float(model.events["sales"])
    conversions = getattr(model, "conversions", {})
    # every possible pair is always recorded (0 until it happens): the same metric set in every run
    for f, t in CONVERSION_PAIRS:
        out[conversion_metric_name(f, t)] = float(conversions.get((f, t), 0))
    unexpected = set(conversions) - set(CONVERSION_PAIRS)
    assert not unexpected, f"conversion pairs outside CONVERSION_PAIRS: {unexpected}"
    out["conversions_total"] = float(sum(conversions.values()))
    out["conversions_housing"] = float(sum(n for (f, t), n in conversions.items() if t == RESIDENTIAL))
    out["conversions_change_of_use"] = out["conversions_total"] - out["conversions_housing"]
    out["conversions_upper_floor"] = float(getattr(model, "upper_floor_conversions", 0))
    out["dwellings_added_upper_floor"] = float(getattr(model, "upper_floor_dwellings", 0))
    changes = getattr(model, "use_changes", {})
    for f, t in USE_CHANGE_PAIRS:
        out[use_change_metric_name(f, t)] = float(changes.get((f, t), 0))
    out["use_changes_total"] = float(sum(changes.values()))
    out["vacancy_overpriced_share"] = vacancy_overpriced_share(model)
    out.update(rents_by_street(par))
    out.update(owner_finance(model))
    out.update(municipal_kpis(model))
    return out


def vacancy_overpriced_share(model: "CityModel", normal_profit: bool = True) -> float:
    """Share of the floor vacant for a year or more whose asking rent (net of the rent-free months
    on offer) is above the break-even rent of every sector permitted there.

    Break-even in the economist's sense (``normal_profit``, the KPI): the rent at which the
    typical business (productivity 1) of the sector still earns the normal operating profit of
    its trade (``market.normal_profit_share``; zero economic profit). Above it a newcomer does
    better elsewhere, so only a lower price, a more productive newcomer or another use ends the
    vacancy, not a better search. With ``normal_profit=False`` the accounting break-even (no
    profit at all): the share that not even a business content with no profit would take
    (a diagnostic of docs/calibration.md).
    """
    from sim.agents.businesses import effective_ask_eur_m2, residual_rent_eur_m2, wtp_rent_eur_m2
    par = model.parcels
    vacant = np.flatnonzero((par.flat("use") == VACANT) & (par.flat("land") == 0))
    long = vacant[model.steps - par.flat("vacant_since")[vacant] >= model.spy]
    if long.size == 0:
        return 0.0
    sectors = model.commercial_codes
    pairs_s, pairs_p = np.repeat(sectors, long.size), np.tile(long, sectors.size)
    rent_of = residual_rent_eur_m2 if normal_profit else wtp_rent_eur_m2
    breakeven = rent_of(model, pairs_s, pairs_p)
    permitted = (par.flat("allowed")[long][None, :] >> sectors[:, None]) & 1 == 1
    best = np.where(permitted, breakeven.reshape(sectors.size, long.size), -np.inf).max(axis=0)
    over = effective_ask_eur_m2(model, long) > best
    floor = par.flat("floor_m2")[long]
    return _share(float(floor[over].sum()), float(floor.sum()))


def rents_by_street(par) -> dict[str, float]:
    """Median headline contract rent of let commercial units per street class (EUR/m2/yr)."""
    let = par.is_parcel & IS_COMMERCIAL[par.use] & (par.rent_eur_m2 > 0)
    out = {}
    for i, name in enumerate(STREET_NAMES):
        r = par.rent_eur_m2[let & (par.street_class == i)]
        out[f"rent_median_{name}"] = float(np.median(r)) if r.size else 0.0
    return out


def owner_finance(model: "CityModel") -> dict[str, float]:
    """Owners' (the municipality excluded) appraised value, cash, debt, loan-to-value and how many
    parcels are under water (debt above value), the step's payouts and the lenders' actions
    since the start (cumulative)."""
    par = model.parcels
    o = model.owners
    private = o.kind != MUNICIPALITY
    owned = par.owner >= 0
    owned &= model.owners.kind[np.maximum(par.owner, 0)] != MUNICIPALITY
    debt = par.debt_eur[owned]
    value = par.value_eur[owned]
    indebted = debt > 0
    lenders = getattr(model, "lender_actions", {})
    return {
        "owner_cash_eur": float(o.cash_eur[private].sum()),
        "owner_debt_eur": float(debt.sum()),
        "owner_ltv": _share(float(debt.sum()), float(value.sum())),
        "owner_under_water_share": _share(float((debt > value)[indebted].sum()), float(indebted.sum())),
        "owner_distributions_eur": float(getattr(model, "distributions_eur", 0.0)),
        "covenant_breaches": float(lenders.get("covenant_breaches", 0)),
        "covenant_cures": float(lenders.get("covenant_cures", 0)),
        "forced_sales": float(lenders.get("forced_sales", 0)),
        "owner_value_eur": float(value.sum()),
    }


SECTOR_VACANCY = ("comparison", "independent", "daily")   # retail sectors with a vacancy rate of their own


def vacancy_by_sector(par) -> dict[str, float]:
    """Vacancy per retail sector: vacant units that last held the sector over those plus its occupied units."""
    isp = par.is_parcel
    vacant = isp & (par.use == USE_CODE["vacant"])
    out = {}
    for name in SECTOR_VACANCY:
        code = USE_CODE[name]
        v = int((vacant & (par.last_use == code)).sum())
        out[f"vacancy_{name}"] = _share(v, v + int((isp & (par.use == code)).sum()))
    return out


def municipal_kpis(model: "CityModel") -> dict[str, float]:
    ledger = model.municipality.ledger
    step = model.steps
    out = {}
    for name in ledger.spend_eur:
        out[f"spend_eur_{name}"] = float(ledger.spend_eur[name][step])
        out[f"income_eur_{name}"] = float(ledger.income_eur[name][step])
        out[f"staff_hours_{name}"] = float(ledger.staff_hours[name][step])
    mun = model.municipality
    for instrument in mun.instruments:
        for key, value in instrument.kpis(model).items():
            out[f"{instrument.name}_{key}"] = float(value)
        # the budget constraint: actions refused for want of money (cumulative), obligations waiting
        out[f"{instrument.name}_refused_budget"] = float(mun.refused_budget[instrument.name])
        out[f"{instrument.name}_arrears_eur"] = mun.arrears_eur(instrument.name)
        out[f"{instrument.name}_net_public_cost_eur"] = mun.net_public_cost_eur(instrument)
    spend, income = ledger.step_totals(step)
    out["municipal_spend_eur"] = spend
    out["municipal_income_eur"] = income
    # the cost as a public finance officer counts it (capital cost, property held credited); the
    # financing of a deficit is in it once, as capital cost, so the interest paid is in the cash figure only
    out["net_public_cost_eur"] = float(sum(out[f"{i.name}_net_public_cost_eur"] for i in mun.instruments))
    out["net_public_cash_eur"] = float(sum(mun.net_cash_eur.values()))     # spend − income so far
    out["property_fund_eur"] = float(model.municipality.fund_eur)
    return out


# ---------------------------------------------------------------- the metric names of a run
GRID_METRICS = ("vacancy_units", "vacancy_floor", "longterm_vacancy_1y", "longterm_vacancy_3y",
                "diversity_shannon", "craft_culture_m2", "footfall_index", "condition_mean", "condition_poor_share")
AGENT_METRICS = ("households", "residents", "dwellings_occupied", "dwellings", "rent_burden_over_40",
                 "fronts_active", "fronts_detected", "businesses", "business_entries", "business_exits", "sales",
                 "conversions_total", "conversions_housing", "conversions_change_of_use", "owner_value_eur",
                 "conversions_upper_floor", "dwellings_added_upper_floor",
                 "use_changes_total", "vacancy_overpriced_share") + OWNER_FINANCE_METRICS
MUNICIPAL_METRICS = ("municipal_spend_eur", "municipal_income_eur", "net_public_cost_eur", "net_public_cash_eur",
                     "property_fund_eur")
LEDGER_METRICS = ("spend_eur", "income_eur", "staff_hours")   # per instrument: <book>_<instrument name>
BUDGET_KEYS = ("refused_budget", "arrears_eur", "net_public_cost_eur")   # per instrument: <instrument name>_<key>
BORROWING = "municipal_borrowing"   # ledger name of the interest on a budget deficit (allow_borrowing)


def known_metrics(scenario) -> set[str]:
    """Every metric name a run of ``scenario`` records (all of them at every step, from step 0).

    Read from the same tables as ``compute_kpis``: grid KPIs per street class and use,
    vacancy of the retail sectors, every conversion pair, the ledger books and the
    ``<name>_<key>`` metrics of each instrument (its config's ``kpi_keys``, under the
    ledger name ``build_instruments`` gives it). Needs neither Mesa nor numba.
    """
    from sim.instruments import build_instruments

    names = set(GRID_METRICS) | set(AGENT_METRICS) | set(MUNICIPAL_METRICS)
    names |= {f"vacancy_units_{s}" for s in STREET_NAMES}
    names |= {f"share_{u}" for u in USE_NAMES}
    names |= {f"vacancy_{s}" for s in SECTOR_VACANCY}
    names |= {conversion_metric_name(f, t) for f, t in CONVERSION_PAIRS}
    names |= {use_change_metric_name(f, t) for f, t in USE_CHANGE_PAIRS}
    names |= {f"rent_median_{s}" for s in STREET_NAMES}
    for instrument in build_instruments(scenario.instruments):
        names |= {f"{book}_{instrument.name}" for book in LEDGER_METRICS}
        names |= {f"{instrument.name}_{key}" for key in instrument.config_class.kpi_keys + BUDGET_KEYS}
    if scenario.agents.municipality.allow_borrowing:
        names |= {f"{book}_{BORROWING}" for book in LEDGER_METRICS}
    return names


def conversion_metric_name(from_code: int, to_code: int) -> str:
    """``conversions_<from>_to_<to>``: the name ``sim.agents.owners.conversion_metric`` records."""
    return f"conversions_{USE_NAMES[from_code]}_to_{USE_NAMES[to_code]}"


def use_change_metric_name(from_code: int, to_code: int) -> str:
    """``use_changes_<from>_to_<to>``: lettings of a unit that last held ``from`` to a ``to`` tenant."""
    return f"use_changes_{USE_NAMES[from_code]}_to_{USE_NAMES[to_code]}"
