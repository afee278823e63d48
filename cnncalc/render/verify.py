"""Renderings of a :class:`~cnncalc.torch.verification.Verification` (``cnncalc verify``): text and JSON.

Imports no torch. Names a spec wrote pass through :func:`~cnncalc.render.safe.term_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import int_text, json_document, plain_int
from .safe import term_text

if TYPE_CHECKING:
    from ..torch.verification import Row, Verification

FIELDS = ("shape", "params", "buffers", "macs")
HEAD = ("layer", "type", "shape", "params", "buffers", "MACs", "")
RIGHT = {3, 4, 5}


def _value(field: str, v: Any) -> str:
    return "x".join(map(plain_int, v)) if field == "shape" else int_text(v)


def _cells(r: Row) -> tuple[str, ...]:
    """A row's cells: the analysis's value, and torch's after '≠' where they differ."""
    bad = set(r.mismatches)
    vals = []
    for f in FIELDS:
        e, m = getattr(r.expected, f), getattr(r.measured, f)
        vals.append(_value(f, e) + (f" ≠ {_value(f, m)}" if f in bad else ""))
    return (term_text(r.name), term_text(r.type), *vals, "MISMATCH" if bad else "ok")


def table_lines(rows: Sequence[Row]) -> list[str]:
    """One aligned line per layer, under a header."""
    cells = [HEAD, *map(_cells, rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]
    return [
        "  ".join(
            c.rjust(w) if i in RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


def totals_line(v: Verification) -> str:
    e, m = v.expected, v.measured
    if m is None:
        return "totals: not measured (torch stopped)"
    parts = []
    for f, label in (("params", "params"), ("trainable_params", "trainable"), ("buffers", "buffers"), ("macs", "MACs")):
        a, b = getattr(e, f), getattr(m, f)
        parts.append(f"{label} {int_text(a)}" + ("" if a == b else f" ≠ torch {int_text(b)}"))
    return "totals: " + ", ".join(parts)


def text_lines(v: Verification, show_all: bool = False) -> list[str]:
    """The mismatched layers (every layer with ``show_all``), the totals and the verdict."""
    rows = list(v.rows if show_all else v.mismatched)
    lines = table_lines(rows) if rows else []
    if v.error:
        lines.append(f"torch refused a layer the analysis accepts: {term_text(v.error)}")
    lines.append(totals_line(v))
    if v.ok:
        verdict = f"all {len(v.rows)} layers agree with torch (shape, params, buffers, MACs)"
    else:
        verdict = f"{len(v.mismatched)} of {len(v.rows)} layers disagree" + ("" if v.totals_agree else "; totals disagree")
    lines.append(f"{term_text(v.name)} ({term_text(v.file)}), batch {v.batch}, {v.device}: {verdict}")
    return lines


def to_json(v: Verification) -> str:
    """``Verification.to_dict()`` as JSON, one layer per line."""
    doc = v.to_dict()
    return json_document(doc, {"layers": doc["layers"]})
