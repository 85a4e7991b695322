"""Calibrate the sectors' entry rates so that the start is the model's own steady state.

The would-be entrant rates per sector (``entry_rate_per_1000_units``) are not known
from Dutch data. They are set here so that, under the start year's context held
frozen (``scenarios/checks/frozen.yaml``), every sector keeps its start share of the
commercial units: lettings to a sector balance its exits. The start mix itself
(``sim/parcels.py`` ``INITIAL_MIX``) is the assumption; the rates follow from it.

Run: ``python -m sim.experiments.stationary [--seeds 3] [--years 10] [--rounds 6]``.
Each round runs the frozen scenario, compares each sector's share of units over
the last two years with its share at the start, and multiplies the sector's rate
by (start share / late share)^1.5. It prints the rates of every round; copy the
last into ``sim/scenario.py`` (``_sector_defaults``) and record the run in
docs/calibration.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.model import CityModel
from sim.scenario import Scenario
from sim.uses import COMMERCIAL_NAMES

FROZEN = Path(__file__).resolve().parents[2] / "scenarios" / "checks" / "frozen.yaml"


def unit_shares(record: dict[str, float]) -> np.ndarray:
    """Each commercial sector's share of the commercial units (vacant included) in one record."""
    shares = np.array([record[f"share_{s}"] for s in COMMERCIAL_NAMES])
    units = shares.sum() + record["share_vacant"]
    return shares / units


def drift(scenario: Scenario, seeds: list[int], years: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Mean start and late (last two years) unit shares per sector, and vacancy at both."""
    start, late, v0, v1 = [], [], [], []
    for seed in seeds:
        m = CityModel(scenario, seed=seed)
        for _ in range(years * m.spy):
            m.step()
        tail = m.records[-2 * m.spy:]
        start.append(unit_shares(m.records[0]))
        late.append(np.mean([unit_shares(r) for r in tail], axis=0))
        v0.append(m.records[0]["vacancy_units"])
        v1.append(np.mean([r["vacancy_units"] for r in tail]))
    return np.mean(start, axis=0), np.mean(late, axis=0), float(np.mean(v0)), float(np.mean(v1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=FROZEN, help="frozen-context scenario (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=3, help="replicate seeds per round (default: %(default)s)")
    ap.add_argument("--years", type=int, default=10, help="years per run (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=6, help="calibration rounds (default: %(default)s)")
    ap.add_argument("--power", type=float, default=1.5, help="step exponent of the share ratio (default: %(default)s)")
    args = ap.parse_args(argv)
    base = Scenario.from_yaml(args.scenario)
    rates = {s: p.entry_rate_per_1000_units for s, p in base.agents.businesses.sectors.items()}
    seeds = [base.seed + i for i in range(args.seeds)]
    for r in range(args.rounds + 1):
        over = {"agents": {"businesses": {"sectors": {s: {"entry_rate_per_1000_units": round(v, 2)}
                                                      for s, v in rates.items()}}}}
        sc = Scenario.from_yaml(args.scenario, overrides=over)
        s0, s1, v0, v1 = drift(sc, seeds, args.years)
        worst = np.max(np.abs(s1 - s0)) * 100
        print(f"round {r}: vacancy {100 * v0:.1f}% -> {100 * v1:.1f}%, largest share drift {worst:.2f} pt")
        for s, a, b in zip(COMMERCIAL_NAMES, s0, s1):
            print(f"    {s:12s} rate {rates[s]:7.2f}  share {100 * a:5.1f}% -> {100 * b:5.1f}%")
        if r == args.rounds:
            break
        for s, a, b in zip(COMMERCIAL_NAMES, s0, s1):
            rates[s] = float(np.clip(rates[s] * (a / max(b, 1e-4)) ** args.power, 0.5, 1000.0))
    print("rates:", {s: round(v, 1) for s, v in rates.items()})


if __name__ == "__main__":
    main()
