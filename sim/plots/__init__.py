"""Maps and charts, in English or Dutch, split by what they draw:

* ``sim.plots.common``: labels of KPIs, uses and street classes; how a metric is shown; PNG writing.
* ``sim.plots.maps``: the parcel grid (land use, street classes) and what differs between scenarios.
* ``sim.plots.kpis``: the KPI overview of one run (``regie run``).
* ``sim.plots.comparison``: the charts of a scenario comparison (``regie compare``).

Each ``*_figure`` function returns a ``matplotlib.figure.Figure`` (for a notebook or a script);
its ``plot_*`` twin draws the same figure and writes it as a PNG atomically (temporary file in
the target directory, then ``os.replace``). Figures are made without pyplot, so no backend is
chosen here and none is needed to write a PNG: a notebook keeps its own.
"""

from sim.plots.common import LANGS, METRIC_LABELS, label, metric_kind
from sim.plots.comparison import (TRAJECTORY_METRICS, effect_per_euro_figure, plot_effect_per_euro,
                                  plot_key_trajectories, split_by_cost, trajectories_figure)
from sim.plots.kpis import kpis_figure, plot_kpis
from sim.plots.maps import diffmap_figure, map_figure, plot_diffmap, plot_map, use_changes

__all__ = ["LANGS", "METRIC_LABELS", "TRAJECTORY_METRICS", "diffmap_figure", "effect_per_euro_figure",
           "kpis_figure", "label", "map_figure", "metric_kind", "plot_diffmap", "plot_effect_per_euro",
           "plot_key_trajectories", "plot_kpis", "plot_map", "split_by_cost", "trajectories_figure", "use_changes"]
