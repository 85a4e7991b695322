"""docs/examples/quickstart.ipynb runs from top to bottom, so the example cannot rot.

The kernel is this environment's own Python: a kernelspec written for the test (found first
through JUPYTER_PATH, before any user's or system kernel of the same name) starts
``sys.executable -m ipykernel_launcher``, so a fresh virtual environment needs nothing
registered. The notebook runs in its own folder, as Jupyter starts it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "examples" / "quickstart.ipynb"
KERNEL = "regie-test-kernel"

# Run after the notebook, in its kernel: what the notebook should have produced.
CHECKS = """
import sys
assert model.steps == baseline.horizon_years * baseline.steps_per_year and not model.running, model.steps
assert result.metrics["replicate"].nunique() == 4 and len(set(result.seeds)) == 4
assert list(comparison.summary["scenario"].unique()) == ["baseline", "zoning", "zoning_B_from_2029"]
assert later.instruments[0].start_year == 2029 and zoning.instruments[0].start_year == 2026
print(sys.executable)
"""


def test_quickstart_notebook_runs_in_this_python(tmp_path, monkeypatch):
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Regie test kernel", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "the notebook is stored without outputs (they would go stale): clear them before committing"
    n_cells = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(CHECKS))
    NotebookClient(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for c in nb.cells[:n_cells] if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert len(figures) == 3, "plot_metrics, plot_map and plot_trajectories each show a figure"
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert printed.strip() == sys.executable, f"the kernel ran {printed.strip()!r}, not this Python"
