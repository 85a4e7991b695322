"""Derive the sectors' sales densities and fixed costs from a bid-rent design.

The market rent of a unit is the residual rent of its best permitted use: what the
typical business of that sector can pay after cost of goods, fixed costs and a
normal operating profit (docs/ODD.md §7.2). So each sector's economics fix a
bid-rent curve over the street classes, and the upper envelope of the curves is
the rent gradient of the centre. This module turns a *design* of those curves into
the two numbers per sector that are not known from Dutch data, the sales density
``D`` (EUR per m2 per year at the reference footfall, before online loss) and the
fixed costs ``F`` (EUR per m2 per year):

* the gross margin ``g`` of each sector comes from Dutch cost structures (CBS; the
  horeca board), see ``DESIGN``;
* each sector's residual rent ``M = S·(g − π) − F`` is set at one street class of the
  midsize centre, with the rent's share of sales there (``target`` and ``rent_share``;
  assumptions in the spirit of the Dutch rents of docs/calibration.md §1 and of Locatus
  compositions: chains and horeca bid most on the prime streets, independents on A2,
  services on B, daily goods and offices on the edge, craft and culture on residential
  streets); the slope of each sector's curve over the other street classes follows from
  its gross margin and footfall elasticity. A design entry may instead give the residual
  rent at two street classes (``targets``), which fixes the slope directly;
* ``S`` at a street class is the median sales per m2 of the sector over its units,
  from the sales kernel on the set-up state of the frozen midsize centre; since the
  state depends on the economics (who occupies which unit, footfall, clusters), the
  derivation iterates to a fixed point.

Run ``python -m sim.calibration.economics [--rounds 8]``: it prints the derived
``D`` and ``F`` of every sector (copy them into ``sim/scenario.py``,
``_sector_defaults``), each sector's residual rent per street class, the envelope and
the rent as a share of sales at each sector's best street (Dutch fashion shops pay
10.5-12% of sales: INretail via schoenvisie.nl, 2014; horeca 10-15%: horeca board
2009 via horecatoppanden.nl). docs/calibration.md records the run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sim.model import CityModel
from sim.scenario import Scenario, load_resolved
from sim.uses import COMMERCIAL_NAMES, IS_COMMERCIAL, STREET_CODE, STREET_NAMES, USE_CODE, VACANT

FROZEN = Path(__file__).resolve().parents[2] / "scenarios" / "checks" / "frozen.yaml"

# Per sector: gross margin g (share of sales left after cost of goods) and its source, and the
# design of its bid-rent curve: residual rent (EUR/m2/yr) of the typical business at two street
# classes of the midsize centre (medians over the units of the class; assumption).
DESIGN: dict[str, dict] = {
    "comparison": {"g": 0.42, "g_source": "CBS, clothing shops 1999: cost of goods 58% of sales",
                   "target": ("A1", 1150.0), "rent_share": 0.22},
    "independent": {"g": 0.37, "g_source": "CBS, non-food shops 1999: cost of goods 62.9% of sales",
                    "target": ("A2", 680.0), "rent_share": 0.12},
    "daily": {"g": 0.25, "g_source": "CBS, food shops 1999: cost of goods 75.1% of sales",
              "target": ("C", 250.0), "rent_share": 0.06},
    "horeca": {"g": 0.70, "g_source": "horeca board 2009: purchases 27-32% of sales",
               "target": ("A1", 1050.0), "rent_share": 0.22, "elasticity": 0.4},
    "services": {"g": 0.85, "g_source": "assumption (personal services use few materials)",
                 "target": ("B", 430.0), "rent_share": 0.15},
    "culture": {"g": 0.90, "g_source": "assumption", "target": ("residential", 200.0), "rent_share": 0.15},
    "craft": {"g": 0.60, "g_source": "assumption (makers' materials)", "target": ("residential", 210.0),
              "rent_share": 0.12},
    "office": {"g": 1.00, "g_source": "no cost of goods", "target": ("C", 220.0), "rent_share": 0.10},
}


def sector_sales(model: CityModel) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Commercial units, their street classes and, per sector, its sales per m2 on each unit."""
    par = model.parcels
    use = par.flat("use")
    units = np.flatnonzero((par.flat("land") == 0) & ((use == VACANT) | IS_COMMERCIAL[use]))
    street = par.flat("street_class")[units]
    sales = {s: model.sales_eur_m2(np.full(units.size, USE_CODE[s]), units) for s in COMMERCIAL_NAMES}
    return units, street, sales


def derive(sectors: dict[str, dict], normal_profit: float, seed: int, scenario_path: Path) -> dict[str, dict]:
    """One round: set up the frozen centre with ``sectors`` and solve each sector's D and F so
    that its residual rent hits its two targets on this state."""
    data = load_resolved(scenario_path)
    data.setdefault("agents", {}).setdefault("businesses", {})["sectors"] = sectors
    model = CityModel(Scenario.from_dict(data), seed=seed)
    _, street, sales = sector_sales(model)

    out = {}
    for s, d in DESIGN.items():
        # median sales per unit of density at a class: sales are linear in the density
        per_d = sales[s] / sectors[s]["sales_density_eur_m2"]
        k = d["g"] - normal_profit
        if "targets" in d:
            (a, m_a), (b, m_b) = d["targets"]
            pa = float(np.median(per_d[street == STREET_CODE[a]]))
            pb = float(np.median(per_d[street == STREET_CODE[b]]))
            density = (m_a - m_b) / ((pa - pb) * k)
        else:          # M = r·S at the class: S = M / r
            (a, m_a), r = d["target"], d["rent_share"]
            pa = float(np.median(per_d[street == STREET_CODE[a]]))
            b, pb = a, 0.0
            density = m_a / r / pa
        fixed = density * k * pa - m_a
        if not (pa > pb and density > 0 and fixed >= 0):
            raise ValueError(f"{s}: the design's two targets cannot be met (sales per density {pa:.3g} at {a}, "
                             f"{pb:.3g} at {b}; density {density:.0f}, fixed cost {fixed:.0f})")
        out[s] = {**sectors[s], "sales_density_eur_m2": density, "gross_margin": d["g"], "fixed_cost_eur_m2": fixed}
    return out


def report(sectors: dict[str, dict], normal_profit: float, seed: int, scenario_path: Path) -> None:
    """Each sector's median residual rent per street class, the envelope, and rent shares of sales."""
    data = load_resolved(scenario_path)
    data.setdefault("agents", {}).setdefault("businesses", {})["sectors"] = sectors
    model = CityModel(Scenario.from_dict(data), seed=seed)
    units, street, sales = sector_sales(model)
    resid = {s: sales[s] * (sectors[s]["gross_margin"] - normal_profit) - sectors[s]["fixed_cost_eur_m2"]
             for s in COMMERCIAL_NAMES}
    envelope = np.max(np.stack(list(resid.values())), axis=0)
    print("residual rent of the typical business (median EUR/m2/yr) by street class")
    print(f"{'sector':12s}" + "".join(f"{n:>13s}" for n in STREET_NAMES) + "   rent/sales at best street")
    for s in COMMERCIAL_NAMES:
        med = [float(np.median(resid[s][street == c])) for c in range(len(STREET_NAMES))]
        best = int(np.argmax(med))
        share = med[best] / float(np.median(sales[s][street == best]))
        print(f"{s:12s}" + "".join(f"{v:13.0f}" for v in med) + f"   {100 * share:.1f}% ({STREET_NAMES[best]})")
    print(f"{'envelope':12s}" + "".join(f"{np.median(envelope[street == c]):13.0f}" for c in range(len(STREET_NAMES))))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=8, help="fixed-point rounds (default: %(default)s)")
    ap.add_argument("--scenario", type=Path, default=FROZEN, help="frozen midsize scenario (default: %(default)s)")
    args = ap.parse_args(argv)
    base = Scenario.from_yaml(args.scenario)
    pi = base.market.normal_profit_share
    sectors = {s: p.model_dump() for s, p in base.agents.businesses.sectors.items()}
    import os
    if os.environ.get("DESIGN_JSON"):
        for s, d in json.loads(open(os.environ["DESIGN_JSON"]).read()).items():
            DESIGN[s].update(d)
    for s, d in DESIGN.items():      # the design's footfall elasticity and local share, where it sets them
        sectors[s]["footfall_elasticity"] = d.get("elasticity", sectors[s]["footfall_elasticity"])
        sectors[s]["local_share"] = d.get("local_share", sectors[s]["local_share"])
    for r in range(args.rounds):
        new = derive(sectors, pi, base.seed, args.scenario)
        # damped update: the state moves with the economics
        sectors = {s: {**new[s], **{k: 0.5 * new[s][k] + 0.5 * sectors[s][k]
                                    for k in ("sales_density_eur_m2", "fixed_cost_eur_m2")}} for s in new}
        print(f"round {r}: " + ", ".join(f"{s} D {v['sales_density_eur_m2']:.0f} F {v['fixed_cost_eur_m2']:.0f}"
                                          for s, v in sectors.items()))
    report(sectors, pi, base.seed, args.scenario)
    print(json.dumps({s: {k: round(v[k], -1) if k in ("sales_density_eur_m2", "fixed_cost_eur_m2") else v[k]
                          for k in ("sales_density_eur_m2", "gross_margin", "fixed_cost_eur_m2",
                                    "footfall_elasticity", "local_share")}
                      for s, v in sectors.items()}))


if __name__ == "__main__":
    main()
