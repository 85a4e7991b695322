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
from sim.plots.comparison import (TRAJECTORY_METRICS, cost_effect_figure, is_all_zero, plot_cost_effect,
                                  plot_key_trajectories, plot_trajectory_panels, trajectories_figure,
                                  trajectory_panels_figure)
from sim.plots.kpis import kpis_figure, plot_kpis
from sim.plots.maps import map_figure, plot_map, plot_probability_maps, probability_maps_figure

__all__ = ["LANGS", "METRIC_LABELS", "TRAJECTORY_METRICS", "cost_effect_figure", "is_all_zero", "kpis_figure",
           "label", "map_figure", "metric_kind", "plot_cost_effect", "plot_key_trajectories", "plot_kpis", "plot_map",
           "plot_probability_maps", "plot_trajectory_panels", "probability_maps_figure", "trajectories_figure",
           "trajectory_panels_figure"]
