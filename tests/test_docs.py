"""The documentation says what the code does: ODD §11 holds the same text as docs/instruments/,
one section for every registered instrument, and no project document cites files users do not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.instruments.base import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
ODD = (ROOT / "docs" / "ODD.md").read_text()


def odd_instrument_sections() -> dict[str, str]:
    sec = ODD[ODD.index("## 11. Instrument submodels"):ODD.index("## 12.")]
    return {part.split()[1]: part.strip() for part in re.split(r"(?m)^(?=### )", sec)[1:]}


def test_every_instrument_has_its_submodel_in_the_odd_and_its_own_doc():
    sections = odd_instrument_sections()
    assert set(sections) == set(REGISTRY), f"ODD §11: {sorted(sections)}; registered: {sorted(REGISTRY)}"
    for kind in REGISTRY:
        assert (ROOT / "docs" / "instruments" / f"{kind}.md").exists(), kind


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_odd_section_is_the_instrument_doc(kind):
    doc = (ROOT / "docs" / "instruments" / f"{kind}.md").read_text().strip()
    assert odd_instrument_sections()[kind] == doc, \
        f"docs/ODD.md §11 {kind} differs from docs/instruments/{kind}.md: update both together"


def test_no_document_cites_files_outside_the_repository():
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "scenarios").rglob("*.yaml")),
             *sorted((ROOT / "experiments").glob("*.yaml"))]
    for path in texts:
        text = path.read_text()
        for bad in ("../shared", "DESIGN.md", "EVIDENCE.md", "DESIGN §", "PITFALLS", "STYLE.md"):
            assert bad not in text, f"{path.relative_to(ROOT)} cites {bad!r}, which users do not have"


def test_the_instrument_listing_cites_no_file_outside_the_repository():
    from sim.instruments.describe import describe_instrument
    for kind, cls in REGISTRY.items():
        text = describe_instrument(cls)
        assert "DESIGN" not in text and "EVIDENCE" not in text and "../shared" not in text, kind


# ------------------------------------------------------------------ docs/api.md
API_DOC = (ROOT / "docs" / "api.md").read_text()


def plain_signature(fn, drop_first: bool = False) -> str:
    """``(a, *, b=1)``: the signature as docs/api.md writes it (no annotations, double quotes)."""
    import inspect
    sig = inspect.signature(fn)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()][drop_first:]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty)).replace("'", '"')


def test_api_doc_describes_every_public_name_with_its_signature():
    import sim
    text = " ".join(API_DOC.split())      # signatures may wrap over lines
    for name in sim.__all__[1:]:          # all but __version__
        assert f"### `{name}`" in API_DOC, f"docs/api.md has no section for {name}"
    for name in ("load_scenario", "variant", "run", "compare", "sweep", "kpi_collector", "CityModel"):
        written = f"regie.{name}{plain_signature(getattr(sim, name))}"
        assert written in text, f"docs/api.md does not show {written}"
    methods = [(sim.RunResult, m) for m in ("wide", "snapshot", "plot_kpis", "plot_metrics", "plot_map")]
    methods.append((sim.CompareResult, "plot_trajectories"))
    for cls, m in methods:
        written = f"{cls.__name__}.{m}{plain_signature(getattr(cls, m), drop_first=True)}"
        assert written in text, f"docs/api.md does not show {written}"


def test_api_doc_names_figure_functions_that_exist():
    import sim.plots
    named = re.findall(r"`(\w+_figure)\(", API_DOC)
    assert len(named) == 6 and all(callable(getattr(sim.plots, n, None)) for n in named), named


def test_api_doc_lists_every_parcel_array_with_its_dtype():
    from dataclasses import fields

    import sim
    section = API_DOC[API_DOC.index("## The parcel arrays"):]
    documented = dict(re.findall(r"(?m)^\| `(\w+)` \| (\w+) \|", section))
    model = sim.CityModel(sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", horizon_years=1,
                                            city={"size_cells": 32}), seed=1)
    model.step()
    par = model.parcels
    actual = {f.name: str(getattr(par, f.name).dtype) for f in fields(par)}
    assert documented == actual
    assert all(getattr(par, f.name).shape == par.land.shape for f in fields(par))


def test_readme_from_python_example_runs(monkeypatch):
    """The README's "From Python" code runs as written, from the repository's root."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## From Python"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("```\n", section.index("```python"))]
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md (From Python)", "exec"), namespace)
    assert namespace["result"].metrics["replicate"].nunique() == 4
    assert namespace["later"].instruments[0].start_year == 2029
