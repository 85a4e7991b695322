"""Pattern-oriented check of the baseline (docs/ODD.md §1): several patterns at once.

Run: ``python -m sim.calibration.patterns [--seeds 5] [--scenario scenarios/baseline.yaml]``.
Prints a markdown table of the measured patterns (mean and range over seeds) next
to the observed Dutch figures they are compared with; ``docs/calibration.md``
holds the table of the last run.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from sim.outputs import simulate
from sim.scenario import Scenario

RETAIL_SHARES = ("share_comparison", "share_independent", "share_daily")


def pattern_table(scenario: Scenario, seeds: list[int]) -> pd.DataFrame:
    """One row per pattern: model mean and min..max over seeds, and the observed reference."""
    rows: dict[str, list[float]] = {}
    for seed in seeds:
        m = simulate(scenario, seed=seed).metrics
        wide = m.pivot_table(index="step", columns="metric", values="value", observed=True)
        first, last = wide.iloc[0], wide.iloc[-1]
        retail0 = sum(first[c] for c in RETAIL_SHARES)
        retail1 = sum(last[c] for c in RETAIL_SHARES)
        commercial0 = 1.0 - first["share_residential"] - first["share_conversion"]
        commercial1 = 1.0 - last["share_residential"] - last["share_conversion"]
        values = {
            "vacancy at start (% of units)": 100 * first["vacancy_units"],
            "vacancy at horizon (% of units)": 100 * last["vacancy_units"],
            "vacancy A1, mean over run (%)": 100 * wide["vacancy_units_A1"].mean(),
            "vacancy A2, mean over run (%)": 100 * wide["vacancy_units_A2"].mean(),
            "vacancy B, mean over run (%)": 100 * wide["vacancy_units_B"].mean(),
            "vacancy C, mean over run (%)": 100 * wide["vacancy_units_C"].mean(),
            "vacancy residential streets, mean over run (%)": 100 * wide["vacancy_units_residential"].mean(),
            **{f"vacancy {s}, start (%)": 100 * wide[f"vacancy_units_{s}"].iloc[:scenario.steps_per_year].mean()
               for s in ("A1", "A2", "B", "C", "residential")},
            **{f"vacancy {s}, last 2 years (%)": 100 * wide[f"vacancy_units_{s}"].iloc[-2 * scenario.steps_per_year:].mean()
               for s in ("A1", "A2", "B", "C", "residential")},
            "vacant floor (% of floor), start": 100 * wide["vacancy_floor"].iloc[:scenario.steps_per_year].mean(),
            "vacant floor vacant > 1 year, start (%)": 100 * wide["longterm_vacancy_1y"].iloc[:scenario.steps_per_year].mean(),
            "vacant floor vacant > 1 year, mean (%)": 100 * wide["longterm_vacancy_1y"].mean(),
            "vacant floor vacant > 3 years, mean (%)": 100 * wide["longterm_vacancy_3y"].mean(),
            "retail share of non-residential ground floors, start (%)": 100 * retail0 / commercial0,
            "retail share of non-residential ground floors, horizon (%)": 100 * retail1 / commercial1,
            "horeca + services share of non-residential ground floors, start (%)":
                100 * (first["share_horeca"] + first["share_services"]) / commercial0,
            "horeca + services share of non-residential ground floors, horizon (%)":
                100 * (last["share_horeca"] + last["share_services"]) / commercial1,
            "conversions to housing per year per 1,000 units":
                1000 * last["conversions_housing"] / (wide.index.max() / scenario.steps_per_year)
                / (first["businesses"] / (1 - first["vacancy_units"])),
            "changes of use by permit per year per 1,000 units":
                1000 * last["conversions_change_of_use"] / (wide.index.max() / scenario.steps_per_year)
                / (first["businesses"] / (1 - first["vacancy_units"])),
            "upper floors turned into dwellings per year per 1,000 units":
                1000 * last["conversions_upper_floor"] / (wide.index.max() / scenario.steps_per_year)
                / (first["businesses"] / (1 - first["vacancy_units"])),
            "lettings to another sector per year per 1,000 units":
                1000 * last["use_changes_total"] / (wide.index.max() / scenario.steps_per_year)
                / (first["businesses"] / (1 - first["vacancy_units"])),
            "vacant floor > 1 year asked above every sector's break-even, start (%)":
                100 * wide["vacancy_overpriced_share"].iloc[:scenario.steps_per_year].mean(),
            "vacant floor > 1 year asked above every sector's break-even, last 5 years (%)":
                100 * wide["vacancy_overpriced_share"].iloc[-5 * scenario.steps_per_year:].mean(),
            **{f"median contract rent {s}, start (EUR/m2/yr)": first[f"rent_median_{s}"] for s in ("A1", "A2", "B", "C")},
            **{f"median contract rent {s}, horizon (EUR/m2/yr)": last[f"rent_median_{s}"] for s in ("A1", "A2", "B", "C")},
            "shops (retail outlets) at the start": first["businesses"] * retail0
                / (commercial0 - first["share_vacant"]),
            "owners' cash, horizon / start": last["owner_cash_eur"] / first["owner_cash_eur"],
            "covenant breaches per year": last["covenant_breaches"] / (wide.index.max() / scenario.steps_per_year),
            "forced sales per year": last["forced_sales"] / (wide.index.max() / scenario.steps_per_year),
            "footfall index at horizon (start = 100)": last["footfall_index"],
        }
        for k, v in values.items():
            rows.setdefault(k, []).append(float(v))
    return pd.DataFrame({
        "pattern": list(rows),
        "model mean": [np.mean(v) for v in rows.values()],
        "min": [np.min(v) for v in rows.values()],
        "max": [np.max(v) for v in rows.values()],
    })


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="scenarios/baseline.yaml")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (replicates)")
    args = p.parse_args(argv)
    scenario = Scenario.from_yaml(args.scenario)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(scenario.seed).spawn(args.seeds)]
    table = pattern_table(scenario, seeds)
    print(f"{scenario.name}, {args.seeds} seeds, {scenario.start_year}-{scenario.start_year + scenario.horizon_years}\n")
    print(table.to_markdown(index=False, floatfmt=".1f") if _has_tabulate() else table.round(1).to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
