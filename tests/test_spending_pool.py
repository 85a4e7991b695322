"""Spending shared by floor (``market.spending_dilution``, docs/ODD.md §7.4).

At dilution δ a sector's sales per m2 scale with (its let floor at the start / now)^δ:
more floor competing for the centre's spending on a sector does not bring more spending.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import CityModel
from sim.scenario import Scenario
from sim.uses import COMMERCIAL_NAMES, USE_CODE

SHORT = {"horizon_years": 3, "burn_in_years": 0}


def model(dilution: float, seed: int = 7, **extra) -> CityModel:
    over = {**SHORT, "market": {"spending_dilution": dilution}, **extra}
    return CityModel(Scenario.from_yaml("scenarios/baseline.yaml", overrides=over), seed=seed)


def test_without_dilution_sales_ignore_competing_floor():
    m = model(0.0)
    for _ in range(6):
        m.step()
    assert np.array_equal(m.spending_factor, np.ones_like(m.spending_factor))


@pytest.mark.parametrize("dilution", [0.5, 1.0])
def test_sales_scale_with_the_floor_a_sector_had_at_the_start(dilution):
    # a shock to comparison retail: online sales jump, shops close, the survivors share the rest
    m = model(dilution, context={"online_share": {"comparison": {"series": {2025: 0.30, 2026: 0.60}}}})
    for _ in range(8):
        m.step()
    start, now = m.floor_start_m2, np.maximum(m.occupied_floor_m2(), 1.0)
    comparison = USE_CODE["comparison"]
    assert now[comparison] < start[comparison], "the shock should close comparison shops"
    m.share_spending()
    expected = np.where(start > 0, (start / now) ** dilution, 1.0)
    np.testing.assert_allclose(m.spending_factor, expected, rtol=1e-12)
    assert m.spending_factor[comparison] > 1.0
    # the factor is what the sales kernel sees: sales of a sector on a unit scale by it
    parcel = np.array([int(m.businesses.parcel[np.flatnonzero(m.businesses.alive)[0]])])
    codes = [USE_CODE[s] for s in COMMERCIAL_NAMES]
    with_pool = np.array([m.sales_eur_m2(np.array([c]), parcel)[0] for c in codes])
    m.spending_factor = np.ones_like(m.spending_factor)
    without = np.array([m.sales_eur_m2(np.array([c]), parcel)[0] for c in codes])
    np.testing.assert_allclose(with_pool / without, expected[codes], rtol=1e-12)


def test_a_fixed_pool_cushions_the_survivors_of_a_decline():
    shock = {"context": {"online_share": {"comparison": {"series": {2025: 0.30, 2026: 0.60}}}}}
    shops = {}
    for dilution in (0.0, 1.0):
        runs = []
        for seed in (7, 8):
            m = model(dilution, seed=seed, **shock)
            for _ in range(12):
                m.step()
            runs.append(m.occupied_floor_m2()[USE_CODE["comparison"]])
        shops[dilution] = np.mean(runs)
    # with spending shared, fewer shops close: the ones left sell what the closed ones sold
    assert shops[1.0] > shops[0.0] * 1.05, shops
