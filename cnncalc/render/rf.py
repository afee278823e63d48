"""Renderings of a receptive-field :class:`~cnncalc.rf_trace.Trace` (``cnncalc rf``): JSON and a table.

Names a spec wrote pass through :mod:`cnncalc.render.safe` (rich ``Text`` in the table).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..layers.base import GLOBAL
from ..layers.conv import AXES
from ..rf import Field, Q, num, plain
from . import json_chunks as render_json_chunks
from . import plain_int
from .safe import rich_text, term_text

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from ..rf_support import Support
    from ..rf_trace import Growth, Region, Trace

BAR = 10
RICH_ROWS = 2000  # past this many layers the table is plain aligned text (rich's layout is too slow)
COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("layer", "left"), ("type", "left"), ("output", "left"), ("size", "right"), ("stride", "right"),
    ("padding", "right"), ("centre", "right"), ("covers", "right"), ("", "left"),
)


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


def _row_dict(g: Growth, field: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": g.name,
        "type": g.type,
        "output": list(g.spatial),
        "receptive_field": _field_dict(g.field) if field is None else field,
        "global": g.field == GLOBAL,
        "coverage": None if g.coverage is None else [round(c, 6) for c in g.coverage],
        "larger_than_input": bool(g.larger),
        "aligned": g.aligned,
    }


def _json_rows(rows: Sequence[Growth]) -> Iterator[dict[str, Any]]:
    """:func:`_row_dict` of each row; a run of rows sharing one field shares its dict (linear, cheap)."""
    last: tuple[object, dict[str, Any] | None] = (None, None)
    for g in rows:
        if g.field is not last[0]:
            last = (g.field, _field_dict(g.field))
        yield _row_dict(g, last[1])


def _region_dict(r: Region, exact: Support | None = None) -> dict[str, Any]:
    return {
        "layer": r.layer,
        "unit": list(r.unit),
        "region": None if r.seen is None else [[plain(a), plain(b)] for a, b in r.seen],
        "clipped": None if r.clipped is None else [list(ab) for ab in r.clipped],
        "exact": None if exact is None else _exact_dict(exact),
    }


def _exact_dict(e: Support) -> dict[str, Any]:
    """The unit's region by index arithmetic (cnncalc.rf_support): its hull inside the input (null: it
    reads padding only), the positions read per axis as [first, last] runs, the first layer (from the
    unit back) that mixes every position, and whether it is exact (false: an upper bound)."""
    return {
        "region": None if e.region is None else [list(ab) for ab in e.region],
        "positions": None if e.positions is None else [[list(ab) for ab in runs] for runs in e.positions],
        "mixes": e.mixes,
        "exact": e.exact,
    }


def to_dict(t: Trace) -> dict[str, Any]:
    return {
        "name": t.name,
        "input": list(t.input),
        "layers": [_row_dict(g) for g in t.rows],
        "unit": _region_dict(t.region, t.exact),
        "notes": list(t.notes),
    }


def json_chunks(t: Trace) -> Iterator[str]:
    """:func:`to_dict` as JSON in pieces, one layer per line (see :func:`cnncalc.render.json_chunks`)."""
    doc = {"name": t.name, "input": list(t.input), "layers": [], "unit": _region_dict(t.region, t.exact),
           "notes": list(t.notes)}
    return render_json_chunks(doc, {"layers": _json_rows(t.rows)})


def to_json(t: Trace) -> str:
    return "".join(json_chunks(t))


# ---- table -------------------------------------------------------------------------------------

def _num(x: Q) -> str:
    return num(x)


def _axes(values: Sequence[Q]) -> str:
    first = values[0]
    if all(v == first for v in values):
        return _num(first)
    return "×".join(map(_num, values))


def _bar(share: float) -> str:
    eighths = round(8 * BAR * share)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


@lru_cache(maxsize=1024)
def _field_cells(f: Field | str | None, aligned: bool) -> tuple[str, str, str, str]:
    """size, stride, padding and centre (cached: a long run of equal fields costs one)."""
    if isinstance(f, Field):
        return ("" if aligned else "~") + _axes(f.size), _axes(f.stride), _axes(f.padding), _axes(f.centre())
    return ("global", "", "", "") if f == GLOBAL else ("—", "", "", "")


@lru_cache(maxsize=1024)
def _cover_cells(coverage: tuple[float, ...] | None, larger: bool) -> tuple[str, str]:
    """covers and the bar (cached like :func:`_field_cells`)."""
    if coverage is None:
        return "", ""
    share = 1.0
    for c in coverage:
        share *= c
    pct = "×".join(dict.fromkeys(f"{100 * c:.0f}%" for c in coverage))
    return pct + ("+" if larger else ""), _bar(share)


def cells(g: Growth) -> list[str]:
    """A row's cells after layer, type and output: size, stride, padding, centre, covers, bar."""
    return [*_field_cells(g.field, g.aligned), *_cover_cells(g.coverage, bool(g.larger))]


def _interval(a: Any, b: Any) -> str:
    return f"{_num(Fraction(a))}..{_num(Fraction(b))}"


def _dims(sizes: Sequence[int]) -> str:
    return "×".join(map(plain_int, sizes))


def region_lines(t: Trace) -> list[str]:
    """The unit's region in words (names made safe for a terminal)."""
    r, g = t.region, t.chosen
    names = AXES.get(len(t.input), ())
    where = ", ".join(map(plain_int, r.unit))
    layer = term_text(g.name)
    head = f"unit ({where}) of layer '{layer}'" if r.unit else f"every unit of layer '{layer}'"
    if g.field is None:
        return [f"{head} (output {_dims(g.spatial)}): no affine field (past an upsample, a pixel shuffle or a strided slice)",
                *_exact_lines(t, names)]
    if r.seen is None:
        return [f"{head} sees the whole input (a global field)", *_exact_lines(t, names)]
    seen = ", ".join(f"{n} {_interval(a, b)}" for n, (a, b) in zip(names, r.seen, strict=True))
    lines = [f"{head} (output {_dims(g.spatial)}) sees input {seen} (unclipped)"]
    if r.clipped is None:
        lines.append("  inside the image: nothing (the unit sees zero padding only)")
    else:
        inside = ", ".join(f"{n} {plain_int(a)}..{plain_int(b)}" for n, (a, b) in zip(names, r.clipped, strict=True))
        sizes = "×".join(plain_int(b - a + 1) for a, b in r.clipped)
        lines.append(f"  clipped to the {_dims(t.input)} input: {inside} ({sizes} pixels)")
    return [*lines, *_exact_lines(t, names)]


def _exact_lines(t: Trace, names: Sequence[str]) -> list[str]:
    """The unit's region by index arithmetic (cnncalc.rf_support), when there is one."""
    return [] if t.exact is None else [f"  exact, by index arithmetic: {_exact_text(t.exact, names)}"]


def _exact_text(e: Support, names: Sequence[str]) -> str:
    if e.region is None or e.positions is None:
        return "no input position (the unit reads zero padding only)"
    inside = ", ".join(f"{n} {plain_int(a)}..{plain_int(b)}" for n, (a, b) in zip(names, e.region, strict=True))
    sizes = "×".join(plain_int(b - a + 1) for a, b in e.region)
    read = "×".join(plain_int(sum(b - a + 1 for a, b in runs)) for runs in e.positions)
    text = f"{inside} ({sizes} pixels" + (f"; with gaps: {read} of them are read)" if e.gaps else ")")
    return text + ("" if e.exact else " at most (many branches merged)")


def _header(t: Trace) -> str:
    return f"{term_text(t.name)}  input {_dims(t.input)}  receptive fields"


LEGEND = (
    "size r, effective stride S and padding P per axis, in input pixels; centre = input coordinate "
    "of the first unit's centre; covers = min(r, N)/N ('+': r > N); '~': misaligned branches"
)


def plain_lines(t: Trace) -> Iterator[str]:
    """The table as plain aligned text, for very long nets (linear, and fast)."""
    body = [[term_text(g.name), term_text(g.type), _dims(g.spatial) or "—", *cells(g)] for g in t.rows]
    head = [name for name, _ in COLUMNS]
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    fmt = "  " + "  ".join(
        f"{{:{'>' if justify == 'right' else '<'}{w}}}" for (_, justify), w in zip(COLUMNS, widths, strict=True)
    )
    yield _header(t)
    yield fmt.format(*head).rstrip()
    yield "  " + "─" * (sum(widths) + 2 * (len(widths) - 1))
    for r in body:
        yield fmt.format(*r).rstrip()
    yield LEGEND
    yield from region_lines(t)


RF_DROP = ("", "centre", "type", "padding", "covers", "stride", "output")  # left out first when narrow
RF_CORE = ("layer", "output", "size", "stride")  # the layer name folds before one of these goes


def render(t: Trace, console: Console | None = None) -> None:
    """The table fitted to the terminal as summarize's is (:func:`cnncalc.render.table.choose`):
    whole columns left out in RF_DROP order and named under the table, never the layer name, never
    a number cut; piped output as wide as COLUMNS, else as wide as every column needs."""
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .table import choose, table_width, terminal_width

    if len(t.rows) > RICH_ROWS and console is None:
        import click

        click.echo("\n".join(plain_lines(t)))
        return
    console = console or Console(highlight=False)
    width = terminal_width(console)
    names = [name for name, _ in COLUMNS]
    body = [[term_text(g.name), term_text(g.type), _dims(g.spatial) or "—", *cells(g)] for g in t.rows]
    natural = {n: max(cell_len(r[i]) for r in (names, *body)) for i, n in enumerate(names)}
    keys, name_width = choose(natural, names, width, RF_DROP, RF_CORE, name="layer")
    need = table_width([name_width or natural["layer"], *(natural[k] for k in keys[1:])])
    if width is None or need > width:
        console = Console(width=max(need, width or 0), file=console.file, highlight=False,
                          force_terminal=console.is_terminal, color_system=console.color_system,  # type: ignore[arg-type]
                          no_color=console.no_color)
    justify = dict(COLUMNS)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    for k in keys:
        if k == "layer":
            table.add_column(k, overflow="fold", width=name_width, min_width=name_width)
        else:
            table.add_column(k, justify=justify[k], no_wrap=True, min_width=natural[k])
    index = [names.index(k) for k in keys]
    for r in body:
        table.add_row(*(Text(r[i]) for i in index))
    console.print(Text.assemble(rich_text(t.name, "bold"), f"  input {_dims(t.input)}  receptive fields"))
    console.print(table)
    hidden = [k or "coverage bar" for k in names if k not in keys]
    if hidden and width is not None:
        console.print(f"hidden to fit {width} columns: {', '.join(hidden)}; --format json has every field",
                      style="dim", markup=False, highlight=False)
    console.print(LEGEND, style="dim", markup=False, highlight=False)
    for line in region_lines(t):
        console.print(line, markup=False, highlight=False, emoji=False)
