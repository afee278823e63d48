"""docs/peer-numbers.md is exactly the rendering of the committed measurements, and cites only
files that are in the repository."""

from __future__ import annotations

import importlib.util
import json
import re

from _support import ROOT

DATA = ROOT / "benchmarks" / "data" / "peer_numbers.json"
DOC = ROOT / "docs" / "peer-numbers.md"


def renderer():
    spec = importlib.util.spec_from_file_location("render_peer_numbers", ROOT / "benchmarks" / "render_peer_numbers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_doc_is_the_rendering_of_the_committed_json():
    text = renderer().render(json.loads(DATA.read_text(encoding="utf-8")))
    assert DOC.read_text(encoding="utf-8") == text, "run: python benchmarks/render_peer_numbers.py"


def test_the_doc_cites_only_files_in_the_repo():
    for path in re.findall(r"`((?:benchmarks|docs|tests|specs|cnncalc)/[^`\s]+)`", DOC.read_text(encoding="utf-8")):
        assert (ROOT / path).exists(), path


def test_no_claim_without_the_data():
    """The headings that claim something hold only when the residuals say so."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    residuals = [v for d in (data.get("decomposition") or {}).values() for v in d["residual"].values()]
    text = DOC.read_text(encoding="utf-8")
    claims_exact = "every residual is 0" in text
    assert claims_exact == (bool(residuals) and all(v == 0 for v in residuals))
    assert "verified" not in text.lower() or claims_exact
