"""``cnncalc rf``: receptive fields layer by layer, and the input region one output unit sees.

The numbers come from :func:`cnncalc.rf.trace`; this module only parses options and renders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import click

from ..layers.conv import AXES
from ..rf import Field, Growth, Q, Region, RFError, Trace, plain, trace
from .common import batch_option, fail, input_option, run_analysis

if TYPE_CHECKING:
    from rich.console import JustifyMethod

BAR = 10
COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("layer", "left"), ("type", "left"), ("output", "left"), ("size", "right"), ("stride", "right"),
    ("padding", "right"), ("centre", "right"), ("covers", "right"), ("", "left"),
)


def parse_unit(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        unit = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated indices, e.g. 3,3; got {value!r}") from None
    if not 1 <= len(unit) <= 3:
        raise click.BadParameter(f"expected 1 to 3 indices, got {len(unit)}")
    return unit


@click.command(name="rf")
@click.argument("spec", metavar="SPEC.yaml")
@click.option("--layer", "-l", help="The layer whose unit to locate (default: the last spatial layer).")
@click.option("--unit", "-u", callback=parse_unit, metavar="I,J", help="Output unit index (default: the centre).")
@batch_option
@input_option
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rf(spec: str, layer: str | None, unit: tuple[int, ...] | None, batch: int, input_shape, fmt: str) -> None:
    """How the receptive field grows layer by layer, and the input region a unit sees.

    SPEC.yaml may be - to read the spec from standard input.
    """
    report = run_analysis(spec, batch=batch, input_shape=input_shape)
    try:
        t = trace(report, layer, unit)
    except RFError as e:
        fail(str(e))
    if fmt == "json":
        click.echo(json.dumps(to_dict(t), indent=2))
    else:
        render(t)
    for note in t.notes:
        click.echo(f"note: {note}", err=True)




# ---- JSON --------------------------------------------------------------------------------------

def _field_dict(f: Field | str | None) -> dict[str, Any] | None:
    if not isinstance(f, Field):
        return None
    return {
        "size": [plain(v) for v in f.size],
        "stride": [plain(v) for v in f.stride],
        "padding": [plain(v) for v in f.padding],
        "centre": [plain(v) for v in f.centre()],
        "paths": None if f.aligned else [
            [{"size": plain(r), "stride": plain(s), "padding": plain(p)} for r, s, p in f.classes(a)]
            for a in range(f.rank)
        ],
    }


def _row_dict(g: Growth) -> dict[str, Any]:
    return {
        "name": g.name,
        "type": g.type,
        "output": list(g.spatial),
        "receptive_field": _field_dict(g.field),
        "global": g.field == "global",
        "coverage": None if g.coverage is None else [round(c, 6) for c in g.coverage],
        "larger_than_input": bool(g.larger),
        "aligned": g.aligned,
    }


def _region_dict(r: Region) -> dict[str, Any]:
    return {
        "layer": r.layer,
        "unit": list(r.unit),
        "region": None if r.seen is None else [[plain(a), plain(b)] for a, b in r.seen],
        "clipped": None if r.clipped is None else [list(ab) for ab in r.clipped],
    }


def to_dict(t: Trace) -> dict[str, Any]:
    return {
        "name": t.name,
        "input": list(t.input),
        "layers": [_row_dict(g) for g in t.rows],
        "unit": _region_dict(t.region),
        "notes": list(t.notes),
    }


# ---- table -------------------------------------------------------------------------------------

def _num(x: Q) -> str:
    v = plain(x)
    return f"{v:g}" if isinstance(v, float) else str(v)


def _axes(values: Sequence[Q]) -> str:
    texts = [_num(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "×".join(texts)


def _bar(share: float) -> str:
    eighths = round(8 * BAR * share)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


def _cells(g: Growth) -> list[str]:
    dim = "" if g.aligned else "~"
    if isinstance(g.field, Field):
        f = g.field
        field = [dim + _axes(f.size), _axes(f.stride), _axes(f.padding), _axes(f.centre())]
    elif g.field == "global":
        field = ["global", "", "", ""]
    else:
        field = ["—", "", "", ""]
    if g.coverage is None:
        return [*field, "", ""]
    share = 1.0
    for c in g.coverage:
        share *= c
    pct = "×".join(dict.fromkeys(f"{100 * c:.0f}%" for c in g.coverage))
    return [*field, pct + ("+" if g.larger else ""), _bar(share)]


def _interval(a: Any, b: Any) -> str:
    return f"{_num(Fraction(a))}..{_num(Fraction(b))}"


def region_lines(t: Trace) -> list[str]:
    r, g = t.region, t.chosen
    names = AXES.get(len(t.input), ())
    where = ", ".join(map(str, r.unit))
    head = f"unit ({where}) of layer '{g.name}'" if r.unit else f"every unit of layer '{g.name}'"
    if r.seen is None:
        return [f"{head} sees the whole input (a global field)"]
    seen = ", ".join(f"{n} {_interval(a, b)}" for n, (a, b) in zip(names, r.seen, strict=True))
    lines = [f"{head} (output {'×'.join(map(str, g.spatial))}) sees input {seen} (unclipped)"]
    if r.clipped is None:
        lines.append("  inside the image: nothing (the unit sees zero padding only)")
    else:
        inside = ", ".join(f"{n} {a}..{b}" for n, (a, b) in zip(names, r.clipped, strict=True))
        sizes = "×".join(str(b - a + 1) for a, b in r.clipped)
        lines.append(f"  clipped to the {'×'.join(map(str, t.input))} input: {inside} ({sizes} pixels)")
    return lines


def render(t: Trace) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    for name, justify in COLUMNS:
        table.add_column(name, justify=justify, no_wrap=name != "layer", overflow="fold")
    for g in t.rows:
        table.add_row(g.name, g.type, "×".join(map(str, g.spatial)) or "—", *_cells(g))
    console.print(f"[bold]{t.name}[/bold]  input {'×'.join(map(str, t.input))}  receptive fields")
    console.print(table)
    console.print(
        "size r, effective stride S and padding P per axis, in input pixels; centre = input coordinate "
        "of the first unit's centre; covers = min(r, N)/N ('+': r > N); '~': misaligned branches",
        style="dim",
    )
    for line in region_lines(t):
        console.print(line, highlight=False)
