"""Measure the model's own steady state per street class, for the generated start.

The start of a run should already be the steady state that the start year's context
gives (docs/calibration.md §3): otherwise the first years of every scenario drift
towards it and the drift reads as a trend. This module runs the frozen-context
scenario (``scenarios/checks/frozen.yaml``) for ``--years`` over ``--seeds`` and
prints, over the last ``--window`` years:

* the mix of commercial units per street class (``sim/parcels.py`` ``INITIAL_MIX``)
  and the vacancy per street class (``INITIAL_VACANCY``);
* for vacant units, the distribution of how long they have been vacant and of the
  asking rent (net of incentives) as a multiple of the highest break-even rent of a
  permitted sector's typical business, by age and by street class, which the model's
  set-up draws the vacant units of the start from (``sim/model.py``,
  ``VACANT_AGE_MEAN_YEARS``, ``VACANT_ASK_OVER_BREAKEVEN``, ``VACANT_ASK_LOG_SD``);
* sitting tenants' contract rent over the market rent (``START_RENT_OVER_MARKET``) and
  owners' cash in years of their rent income (``start_cash_years_of_rent``).

Run: ``python -m sim.calibration.steady_start [--seeds 6] [--years 30] [--window 10]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.agents.businesses import effective_ask_eur_m2, wtp_rent_eur_m2
from sim.model import CityModel
from sim.scenario import Scenario
from sim.uses import COMMERCIAL_NAMES, IS_COMMERCIAL, STREET_NAMES, USE_CODE, VACANT

FROZEN = Path(__file__).resolve().parents[2] / "scenarios" / "checks" / "frozen.yaml"


def best_breakeven_eur_m2(model: CityModel, parcels: np.ndarray) -> np.ndarray:
    """The highest break-even rent (no profit) of the typical business of a permitted sector, per unit."""
    sectors = model.commercial_codes
    wtp = wtp_rent_eur_m2(model, np.repeat(sectors, parcels.size), np.tile(parcels, sectors.size))
    permitted = (model.parcels.flat("allowed")[parcels][None, :] >> sectors[:, None]) & 1 == 1
    best = np.where(permitted, wtp.reshape(sectors.size, parcels.size), -np.inf).max(axis=0)
    return np.maximum(best, 1.0)


def measure(scenario: Scenario, seeds: list[int], years: int, window: int) -> dict:
    """Per street class: unit counts by use (summed over the window's yearly samples), and the
    vacant units' ages (years) and effective asks over market rent."""
    counts = np.zeros((len(STREET_NAMES), len(COMMERCIAL_NAMES) + 1))
    ages: list[float] = []
    asks: list[float] = []
    streets: list[int] = []
    rents: list[float] = []
    cash_years: list[float] = []
    for seed in seeds:
        m = CityModel(scenario, seed=seed)
        par = m.parcels
        for t in range(years * m.spy):
            m.step()
            if t < (years - window) * m.spy or (t + 1) % m.spy:
                continue
            use = par.flat("use")
            units = np.flatnonzero((par.flat("land") == 0) & ((use == VACANT) | IS_COMMERCIAL[use]))
            street = par.flat("street_class")[units]
            for c in range(len(STREET_NAMES)):
                here = use[units[street == c]]
                counts[c, 0] += np.sum(here == VACANT)
                for k, s in enumerate(COMMERCIAL_NAMES):
                    counts[c, k + 1] += np.sum(here == USE_CODE[s])
            vacant = units[use[units] == VACANT]
            ages += ((m.steps - par.flat("vacant_since")[vacant]) / m.spy).tolist()
            streets += par.flat("street_class")[vacant].tolist()
            asks += (effective_ask_eur_m2(m, vacant) / best_breakeven_eur_m2(m, vacant)).tolist()
            owned = par.flat("owner") >= 0
            income = float(m.rent_roll_eur()[owned].sum())
            private = m.owners.kind != m.owners.kind[m.municipality_owner_slot]
            cash_years.append(float(m.owners.cash_eur[private].sum()) / max(income, 1.0))
            let = units[use[units] != VACANT]
            let = let[~par.flat("is_front")[let]]
            rents += (par.flat("rent_eur_m2")[let] / np.maximum(par.flat("market_rent_eur_m2")[let], 1.0)).tolist()
    return {"counts": counts, "ages": np.array(ages), "asks": np.array(asks), "rents": np.array(rents),
            "cash_years": np.array(cash_years), "streets": np.array(streets)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=FROZEN, help="frozen-context scenario (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=6, help="replicate seeds (default: %(default)s)")
    ap.add_argument("--years", type=int, default=30, help="years per run (default: %(default)s)")
    ap.add_argument("--window", type=int, default=10, help="last years measured (default: %(default)s)")
    args = ap.parse_args(argv)
    base = Scenario.from_yaml(args.scenario)
    r = measure(base, [base.seed + i for i in range(args.seeds)], args.years, args.window)
    counts = r["counts"]
    print("mix of occupied units per street class (INITIAL_MIX) and vacancy (INITIAL_VACANCY):")
    for c, name in enumerate(STREET_NAMES):
        occupied = counts[c, 1:].sum()
        mix = ", ".join(f'"{s}": {counts[c, k + 1] / max(occupied, 1):.2f}' for k, s in enumerate(COMMERCIAL_NAMES))
        print(f'    "{name}": {{{mix}}},   vacancy {counts[c, 0] / max(counts[c].sum(), 1):.3f}')
    ages, asks = r["ages"], r["asks"]
    print(f"vacant units: {ages.size} samples; age (years) mean {ages.mean():.2f}, "
          f"quantiles 25/50/75/90 {np.round(np.percentile(ages, [25, 50, 75, 90]), 2).tolist()}, "
          f"share > 1 y {np.mean(ages >= 1):.2f}, > 3 y {np.mean(ages >= 3):.2f}")
    print(f"effective ask / best break-even rent: quantiles 10/25/50/75/90 "
          f"{np.round(np.percentile(asks, [10, 25, 50, 75, 90]), 2).tolist()}; "
          f"log-mean {np.mean(np.log(asks)):.3f}, log-sd {np.std(np.log(asks)):.3f}")
    buckets = [(0, 1), (1, 2), (2, 3), (3, 99)]
    parts = []
    for lo, hi in buckets:
        k = (ages >= lo) & (ages < hi)
        if k.any():
            la = np.log(asks[k])
            parts.append(f"{lo}-{hi if hi < 99 else ''} y: n {k.sum()}, log-mean {la.mean():.3f}, log-sd {la.std():.3f}")
    print("effective ask / best break-even rent by age (VACANT_ASK_OVER_BREAKEVEN):\n    " + "\n    ".join(parts))
    st = r["streets"]
    print("by street class: mean age, share vacant >= 1 y, log-mean ask / break-even:")
    for c, name in enumerate(STREET_NAMES):
        k = st == c
        if k.any():
            print(f"    {name}: n {k.sum()}, age {ages[k].mean():.2f}, >= 1 y {np.mean(ages[k] >= 1):.2f}, "
                  f"log ask/break-even {np.mean(np.log(asks[k])):.3f} (sd {np.std(np.log(asks[k])):.3f})")
    rents = r["rents"]
    print(f"contract rent / market rent of let units (honest tenants): quantiles 10/25/50/75/90 "
          f"{np.round(np.percentile(rents, [10, 25, 50, 75, 90]), 2).tolist()}; "
          f"log-mean {np.mean(np.log(rents)):.3f}, log-sd {np.std(np.log(rents)):.3f}")
    print(f"owners' cash in years of their rent income (start_cash_years_of_rent): {r['cash_years'].mean():.2f}")


if __name__ == "__main__":
    main()
