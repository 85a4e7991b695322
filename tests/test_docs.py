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
