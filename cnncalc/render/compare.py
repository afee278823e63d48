"""Rendering of ``cnncalc compare``: each section's totals with deltas, then the layers that differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..compare import Comparison, LayerDiff, Section, Total
from .safe import term_text

STYLES = {"added": "green", "removed": "red", "changed": "yellow", "same": "dim"}


def number(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
    return f"{int(v):,}"


def percent(p: float | None) -> str:
    return "—" if p is None else f"{p:+.1f}%"


def total_row(t: Total) -> list[str]:
    return [t.label, number(t.a), number(t.b), "—" if t.delta is None else ("+" if t.delta > 0 else "") + number(t.delta),
            percent(t.percent)]


def _cell(side: Mapping[str, Any] | None, field: str) -> str:
    if side is None:
        return ""
    v = side.get(field)
    if field == "output_shape" and isinstance(v, list):
        return "×".join(map(str, v))
    if field == "share" and isinstance(v, int | float):
        return f"{100 * v:.1f}%"
    return term_text(str(v)) if isinstance(v, str) else number(v)


def layer_cells(d: LayerDiff) -> list[str]:
    cells = [term_text(d.name), d.status]
    for f in d.fields:
        a, b = _cell(d.a, f), _cell(d.b, f)
        cells.append(a if a == b or d.b is None else b if d.a is None else f"{a} → {b}")
    return cells


def _section(console: Any, s: Section, show_all: bool, a: str, b: str) -> None:
    from rich import box
    from rich.table import Table

    totals = Table(box=box.SIMPLE_HEAD, header_style="bold", title=term_text(s.title), title_justify="left")
    for i, name in enumerate(("", "a", "b", "Δ", "Δ%")):
        totals.add_column(name, justify="left" if i == 0 else "right")
    for t in s.totals:
        changed = t.a != t.b
        totals.add_row(*total_row(t), style="yellow" if changed else None)
    console.print(totals)
    rows = [d for d in s.layers if show_all or d.status != "same"]
    if not s.layers:
        return
    if not rows:
        console.print(f"all {len(s.layers)} layers are the same", style="dim")
        return
    fields = s.layers[0].fields
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    for i, name in enumerate(("layer", "", *fields)):
        table.add_column(name, justify="left" if i < 3 or name == "output_shape" else "right", overflow="fold")
    for d in rows:
        table.add_row(*layer_cells(d), style=STYLES[d.status])
    console.print(table)
    same = len(s.layers) - len([d for d in s.layers if d.status != "same"])
    if not show_all and same:
        console.print(f"{same} layer{'s' if same != 1 else ''} the same, not shown (--all shows them)", style="dim")


def render(c: Comparison, show_all: bool = False) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(width=160, highlight=False)
    console.print(f"a: {term_text(c.a)}\nb: {term_text(c.b)}", markup=False)
    for s in c.sections:
        _section(console, s, show_all, c.a, c.b)
