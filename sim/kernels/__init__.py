"""numba kernels: arrays in, arrays out, no Mesa objects, no random numbers.

Each public function validates its inputs and calls a private ``@njit``
function; ``reference.py`` holds a numpy twin and a per-parcel Python twin of
each, used as test oracles and in ``bench/``.
"""

from sim.kernels.footfall import footfall_field, decay_weights, own_attraction_weight
from sim.kernels.accounts import sales_density, business_accounts
from sim.kernels.market import market_update
from sim.kernels.kpis import kpi_reduce, KPI_LAYOUT

__all__ = ["footfall_field", "decay_weights", "own_attraction_weight", "sales_density", "business_accounts",
           "market_update", "kpi_reduce", "KPI_LAYOUT"]
