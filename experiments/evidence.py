"""The model's side of docs/evidence.md: each instrument against itself switched off, paired.

Run from the repo root (``make evidence``)::

    python experiments/evidence.py [--replicates 16] [--workers 2] [--out results/evidence] [--resume]

It runs ``regie compare`` on the ten scenarios of ``scenarios/instruments/`` (midsize,
20 years) and, as the reference of each, the same scenario with its instrument switched off
(present, so that its area KPIs are recorded, but never active: the baseline with the
instrument's area metrics), all for the same replicate seeds (common random numbers). It
writes ``evidence_table.md`` and ``.csv`` to the output folder: per instrument its target KPIs
as the reference's mean, the instrument's mean and the paired difference with its 95%
interval, and the public cost. Stocks (vacancy, floor, condition, fronts) are the mean of the
last two years, so that one quarter's noise does not decide; counts and money are totals over
the 20 years. An interrupted run keeps its finished runs: ``--resume`` continues.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.workshop.statistics import mean_interval  # noqa: E402
from sim.workshop.compare import compare  # noqa: E402
from sim.outputs import atomic_write  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

LAST_YEARS = 2      # stocks: mean of the last two years


@dataclass(frozen=True)
class Row:
    metric: str
    label: str
    how: str = "stock"          # stock: mean of the last LAST_YEARS years; run: mean over the whole run (an effect
                                # that fades, as a subsidy programme's); total: value at the horizon (cumulative)
    scale: float = 1.0          # shown as value × scale (100: percentage points)
    unit: str = ""


SHARE = dict(scale=100.0, unit="pt")
# What each instrument is meant to move (its target KPIs), then what it costs.
TARGETS: dict[str, list[Row]] = {
    "vacancy_ordinance": [
        Row("vacancy_ordinance_area_longterm_vacancy_1y", "share of vacant floor vacant > 1 year (area)", **SHARE),
        Row("vacancy_ordinance_area_vacancy_units", "vacancy, units (area)", **SHARE),
        Row("vacancy_ordinance_fines_eur", "fines (EUR, total)", "total")],
    "transformation_subsidy": [
        Row("conversions_total", "conversions (total)", "total"),
        Row("transformation_subsidy_grants", "grants (total)", "total"),
        Row("vacancy_units", "vacancy, units (centre)", **SHARE)],
    "acquisition_fund": [
        Row("acquisition_fund_purchases", "purchases (total)", "total"),
        Row("acquisition_fund_area_vacancy_units", "vacancy, units (area)", **SHARE),
        Row("fronts_active", "criminal fronts active (centre)"),
        Row("acquisition_fund_area_craft_culture_m2", "craft + culture floor (area, m2)")],
    "preemption": [
        Row("preemption_purchases", "purchases (total)", "total"),
        Row("preemption_area_vacancy_units", "vacancy, units (area)", **SHARE),
        Row("preemption_area_craft_culture_m2", "craft + culture floor (area, m2)")],
    "zoning": [
        Row("conversions_total", "conversions (total)", "total"),
        Row("zoning_area_vacancy_units", "vacancy, units (zone)", **SHARE),
        Row("vacancy_units", "vacancy, units (centre)", **SHARE)],
    "bibob": [
        Row("fronts_active", "criminal fronts active (centre)"),
        Row("fronts_detected", "fronts detected (total)", "total"),
        Row("vacancy_units", "vacancy, units (centre)", **SHARE)],
    "biz": [
        Row("biz_area_footfall_mean", "footfall (zone, mean)"),
        Row("biz_area_vacancy_units", "vacancy, units (zone)", **SHARE),
        Row("biz_area_condition_mean", "building condition (zone, mean)")],
    "facade_subsidy": [
        Row("facade_subsidy_area_condition_mean", "building condition (area, mean)"),
        Row("facade_subsidy_area_condition_mean", "building condition (area, mean over the run)", "run"),
        Row("facade_subsidy_area_vacancy_units", "vacancy, units (area)", **SHARE)],
    "rent_subsidy": [
        Row("rent_subsidy_area_craft_culture_m2", "craft + culture floor (area, m2)"),
        Row("rent_subsidy_area_craft_culture_m2", "craft + culture floor (area, m2, mean over the run)", "run"),
        Row("craft_culture_m2", "craft + culture floor (centre, m2)"),
        Row("rent_subsidy_area_vacancy_units", "vacancy, units (area)", **SHARE)],
    "branchering": [
        Row("branchering_share", "capped sectors' share of units (area)", **SHARE),
        Row("share_horeca", "horeca share of all units, homes included (centre)", **SHARE),
        Row("branchering_area_vacancy_units", "vacancy, units (area)", **SHARE)],
}
COST = [Row("net_public_cost_eur", "net public cost (EUR, total)", "total"),
        Row("net_public_cash_eur", "net public cash (EUR, total)", "total")]


def per_replicate(metrics: pd.DataFrame, row: Row, steps_per_year: int) -> pd.DataFrame:
    """One value per (scenario, replicate) for ``row``: a stock's mean over the last years or a total."""
    m = metrics[metrics["metric"] == row.metric]
    if m.empty:
        return pd.DataFrame(columns=["scenario", "replicate", "value"])
    last = m.groupby(["scenario", "replicate"])["step"].transform("max")
    if row.how == "total":
        m = m[m["step"] == last]
    elif row.how == "stock":
        m = m[m["step"] > last - LAST_YEARS * steps_per_year]
    return m.groupby(["scenario", "replicate"], as_index=False)["value"].mean()


def evidence_rows(metrics: pd.DataFrame, pairs: dict[str, tuple[str, str]], steps_per_year: int) -> pd.DataFrame:
    """Per instrument (kind → its scenario's name and its reference's) and target KPI: reference and
    instrument means and the paired difference (instrument − reference, same replicate) with its 95%
    interval. A KPI the instrument does not record is left out."""
    out = []
    for kind, (scenario, reference) in pairs.items():
        for row in TARGETS.get(kind, []) + COST:
            values = per_replicate(metrics, row, steps_per_year)
            arm = values[values["scenario"] == scenario].set_index("replicate")["value"]
            ref = values[values["scenario"] == reference].set_index("replicate")["value"]
            paired = (arm - ref).dropna()
            if paired.empty:
                continue
            d, lo, hi = mean_interval(paired.to_numpy() * row.scale)
            out.append({"instrument": kind, "kpi": row.label, "unit": row.unit, "n": int(paired.size),
                        "reference": float(ref.mean() * row.scale), "instrument_mean": float(arm.mean() * row.scale),
                        "diff": d, "diff_lo": lo, "diff_hi": hi,
                        "distinguishable": bool(np.isfinite(lo) and (lo > 0 or hi < 0))})
    return pd.DataFrame(out)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    if abs(x) < 1e-6:
        return "0"               # rounding noise of a ledger that balances
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def table_markdown(rows: pd.DataFrame, years: int) -> str:
    """The table of docs/evidence.md: one block per instrument, ≈0 where the interval contains 0."""
    n = int(rows["n"].min()) if not rows.empty else 0
    lines = [f"Midsize centre, {years} years, {n} replicates on common random numbers; stocks are the mean of "
             f"the last {LAST_YEARS} years (or of the whole run where it says so), counts and money totals over "
             f"the {years} years; shares in percentage points (pt). Difference = instrument − the same scenario "
             "with the instrument switched off, paired by replicate, with its 95% interval; ≈0: the interval "
             "contains zero.", "",
             "| instrument | KPI | switched off | with instrument | difference (95% interval) |",
             "|---|---|---|---|---|"]
    for r in rows.itertuples():
        unit = f" {r.unit}" if r.unit else ""
        biggest = max(abs(r.diff), abs(r.diff_lo), abs(r.diff_hi))
        if biggest < 1e-6:
            diff = "0 (no difference in any replicate)"
        else:   # three significant digits of the largest of the three, the same decimals for all
            dec = int(min(4, max(0, 2 - np.floor(np.log10(biggest)))))
            diff = f"{r.diff:+,.{dec}f}{unit} ({r.diff_lo:+,.{dec}f} to {r.diff_hi:+,.{dec}f})"
        lines.append(f"| {r.instrument} | {r.kpi} | {_fmt(r.reference)} | {_fmt(r.instrument_mean)} | "
                     f"{diff}{'' if r.distinguishable else ' ≈0'} |")
    return "\n".join(lines) + "\n"


def switched_off(scenario: Scenario) -> dict:
    """The scenario with its instruments present but never active (the reference of its pair)."""
    data = scenario.to_dict()
    for inst in data["instruments"]:
        inst["start_year"], inst["end_year"] = 2200, None
    data["name"] = f"{scenario.name}_off"
    data["description"] = f"{scenario.name} with its instrument switched off (reference)"
    return data


def scenario_files(out: Path, years: int | None = None) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The comparison's files, written resolved to ``out/scenarios`` (what ran, with ``years`` as the
    horizon if given): each switched-off twin before its instrument scenario; and the pairs,
    kind → (scenario, reference)."""
    paths, pairs = [], {}
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "scenarios" / "instruments").glob("*.yaml")):
        scenario = Scenario.from_yaml(path)
        on = scenario.to_dict()
        off = switched_off(scenario)
        for data in (off, on):
            if years is not None:
                data["horizon_years"] = years
            file = out / "scenarios" / f"{data['name']}.yaml"
            atomic_write(file, lambda p, d=data: Path(p).write_text(yaml.safe_dump(d, sort_keys=False)))
            paths.append(str(file))
        pairs[scenario.instruments[0].kind] = (scenario.name, off["name"])
    return paths, pairs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=16, help="replicates per scenario (default 16)")
    ap.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    ap.add_argument("--out", default="results/evidence", help="output folder (default results/evidence)")
    ap.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    ap.add_argument("--years", type=int, default=None, help="horizon in years (default: the scenarios' own, 20)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.replicates < 2:
        ap.error("--replicates: at least 2 (a paired interval needs two replicates)")
    out = Path(args.out)
    paths, pairs = scenario_files(out, args.years)
    print("(the *_off references warn that their instrument never acts: that is what they are for)",
          file=sys.stderr)
    result = compare(paths, replicates=args.replicates, workers=args.workers, out=out / "runs",
                     resume=args.resume, progress=not args.quiet, report=False)
    first = Scenario.from_yaml(paths[0])
    rows = evidence_rows(result.metrics, pairs, first.steps_per_year)
    text = table_markdown(rows, first.horizon_years)
    atomic_write(out / "evidence_table.md", lambda p: Path(p).write_text(text))
    atomic_write(out / "evidence_table.csv", lambda p: rows.to_csv(p, index=False))
    print(text)
    print(f"written: {out / 'evidence_table.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
