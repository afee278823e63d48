"""The layer tables in docs/spec.md and docs/import.md are what cnncalc.layers.doc_tables generates
from the rules, and the generated text says what the rules say (checked against the rule objects'
own fields, and against torch's class names)."""

from __future__ import annotations

import pytest
from _support import ROOT

from cnncalc.layers import RULES
from cnncalc.layers.doc_tables import DOCS, END, START, import_table, main, replace_table, spec_table, stale


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_committed_tables_are_the_generated_ones(doc: str):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert text.count(START) == text.count(END) == 1
    assert replace_table(text, DOCS[doc](), doc) == text, f"run python -m cnncalc.layers.doc_tables --write ({doc})"


def test_check_mode_reports_a_stale_table(tmp_path):
    for rel in DOCS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((ROOT / rel).read_text(encoding="utf-8"), encoding="utf-8")
    assert stale(tmp_path) == [] and main(["--root", str(tmp_path), "--check"]) == 0
    spec = tmp_path / "docs/spec.md"
    spec.write_text(spec.read_text(encoding="utf-8").replace("| `conv` |", "| `konv` |"), encoding="utf-8")
    assert stale(tmp_path) == ["docs/spec.md"] and main(["--root", str(tmp_path), "--check"]) == 1
    assert main(["--root", str(tmp_path), "--write"]) == 0 and stale(tmp_path) == []


def test_spec_table_has_one_row_per_rule_with_every_argument():
    rows = spec_table().splitlines()[2:]
    assert [r.split(" | ")[0].strip("| `") for r in rows] == list(RULES)
    for row, rule in zip(rows, RULES.values(), strict=True):
        for a in rule.args:
            assert f"`{a.name}`" in row
        fn = rule.torch.function
        assert (fn.infix or fn.name if fn else rule.torch.cls.replace("{nd}", "1")) in row


def test_import_table_names_torchs_classes():
    table = import_table()
    assert "| `nn.Conv1d/2d/3d` | `conv` (out, kernel, stride, padding, dilation, groups, bias) |" in table
    assert "`nn.ConvTranspose1d/2d/3d` | `convtranspose`" in table
    assert "`F.max_pool1d/2d/3d`" in table and "`x.relu_`" in table


def test_missing_markers_are_an_error():
    with pytest.raises(ValueError, match="markers"):
        replace_table("no table here", "x")
