"""Calibrate the sectors' entry rates so that the start is the model's own steady state.

The would-be entrant rates per sector (``entry_rate_per_1000_units``) are not known
from Dutch data. They are set here so that, under the start year's context held
frozen (``scenarios/checks/frozen.yaml``), the city stays where it starts: every
sector keeps its share of the occupied units (lettings to a sector balance its
exits), and vacancy stays at its level. Would-be entrants are then about as many as
the businesses that leave (docs/ODD.md §7.8): each one takes the best deal on the
listings, and vacancy is what the owners' asking rents leave over. The start mix
(``sim/parcels.py`` ``INITIAL_MIX``) and the vacancy level are the targets; the rates
follow from them.

Run: ``python -m sim.calibration.stationary [--seeds 8] [--years 20] [--rounds 4]
[--vacancy 0.065]``. Each round runs the frozen scenario and compares, over the last two
years, each sector's share of the occupied units with its share at the start, and the
vacancy with the target (default: the start's own vacancy). It multiplies each sector's
rate by (start share / late share)^power and all rates by exp(gain × (late vacancy −
target)). It prints the rates of every round; copy the last into ``sim/scenario.py``
(``_sector_defaults``) and record the run in docs/calibration.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.model import CityModel
from sim.scenario import Scenario
from sim.uses import COMMERCIAL_NAMES

FROZEN = Path(__file__).resolve().parents[2] / "scenarios" / "checks" / "frozen.yaml"


def occupied_mix(record: dict[str, float]) -> np.ndarray:
    """Each commercial sector's share of the occupied commercial units in one record."""
    shares = np.array([record[f"share_{s}"] for s in COMMERCIAL_NAMES])
    return shares / shares.sum()


def drift(scenario: Scenario, seeds: list[int], years: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Mean start and late (last two years) occupied mix, and vacancy at both."""
    start, late, v0, v1 = [], [], [], []
    for seed in seeds:
        m = CityModel(scenario, seed=seed)
        for _ in range(years * m.spy):
            m.step()
        tail = m.records[-2 * m.spy:]
        start.append(occupied_mix(m.records[0]))
        late.append(np.mean([occupied_mix(r) for r in tail], axis=0))
        v0.append(m.records[0]["vacancy_units"])
        v1.append(np.mean([r["vacancy_units"] for r in tail]))
    return np.mean(start, axis=0), np.mean(late, axis=0), float(np.mean(v0)), float(np.mean(v1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=FROZEN, help="frozen-context scenario (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=8, help="replicate seeds per round (default: %(default)s)")
    ap.add_argument("--years", type=int, default=20, help="years per run (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=4, help="calibration rounds (default: %(default)s)")
    ap.add_argument("--power", type=float, default=1.5, help="step exponent of the share ratio (default: %(default)s)")
    ap.add_argument("--vacancy", type=float, default=None,
                    help="vacancy (share of units) to hold (default: the start's own)")
    ap.add_argument("--gain", type=float, default=4.0,
                    help="step of all rates per unit of vacancy off target: exp(gain × gap) (default: %(default)s)")
    args = ap.parse_args(argv)
    base = Scenario.from_yaml(args.scenario)
    rates = {s: p.entry_rate_per_1000_units for s, p in base.agents.businesses.sectors.items()}
    seeds = [base.seed + i for i in range(args.seeds)]
    for r in range(args.rounds + 1):
        over = {"agents": {"businesses": {"sectors": {s: {"entry_rate_per_1000_units": round(v, 2)}
                                                      for s, v in rates.items()}}}}
        sc = Scenario.from_yaml(args.scenario, overrides=over)
        s0, s1, v0, v1 = drift(sc, seeds, args.years)
        target = v0 if args.vacancy is None else args.vacancy
        worst = np.max(np.abs(s1 - s0)) * 100
        print(f"round {r}: vacancy {100 * v0:.1f}% -> {100 * v1:.1f}% (target {100 * target:.1f}%), "
              f"largest drift of an occupied share {worst:.2f} pt")
        for s, a, b in zip(COMMERCIAL_NAMES, s0, s1):
            print(f"    {s:12s} rate {rates[s]:7.2f}  share of occupied units {100 * a:5.1f}% -> {100 * b:5.1f}%")
        if r == args.rounds:
            break
        level = float(np.exp(args.gain * (v1 - target)))
        for s, a, b in zip(COMMERCIAL_NAMES, s0, s1):
            rates[s] = float(np.clip(rates[s] * level * (a / max(b, 1e-4)) ** args.power, 0.1, 1000.0))
    print("rates:", {s: round(v, 1) for s, v in rates.items()})


if __name__ == "__main__":
    main()
