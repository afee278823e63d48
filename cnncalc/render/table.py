"""The terminal rendering: a table of layers with totals, and a summary of the totals and memory.

The table fits the terminal without ever cutting a number or dropping the layer name: when the
columns do not fit, whole columns are left out in the order of :data:`DROP_ORDER` (least useful
first), and a footer line names them and says how to get them back. Output that is not a terminal
(piped, redirected) is as wide as ``COLUMNS`` says, or, without ``COLUMNS``, as wide as every column
needs. ``--columns`` chooses the columns explicitly; ``--sort`` puts the costly layers first.

Up to ``RICH_ROWS`` rows the table is a rich Table; past that (a generated net of thousands of
layers) the same cells are laid out as plain aligned text, which is a hundred times faster.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..analysis import LayerStats, Report
from . import human, human_bytes, rf_text, shape_text
from .safe import rich_text, term_text

BAR = 10
RICH_ROWS = 2000
NAME_MIN = 14  # a long layer name folds onto more lines rather than shrink below this


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    right: bool
    cell: Callable[[LayerStats, Report], str]
    total: Callable[[Report], str]


def bar(part: int, whole: int) -> str:
    """A share as a bar of BAR cells, in eighths of a cell."""
    if whole <= 0 or part <= 0:
        return ""
    full, rest = divmod(round(8 * BAR * part / whole), 8)
    return ("█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")) or "▏"


def _params(s: LayerStats, r: Report) -> str:
    return human(s.params) + (" ❄" if s.frozen and s.params else "")


COLUMNS: dict[str, Column] = {c.key: c for c in (
    Column("name", "layer", False, lambda s, r: term_text(s.name), lambda r: "total"),
    Column("type", "type", False, lambda s, r: term_text(s.type), lambda r: ""),
    Column("shape", "output", False, lambda s, r: shape_text(s.output_shape),
           lambda r: shape_text(r.layers[-1].output_shape) if r.layers else ""),
    Column("params", "params", True, _params, lambda r: human(r.totals.params)),
    Column("macs", "MACs", True, lambda s, r: human(s.macs) if s.macs else "—", lambda r: human(r.totals.macs)),
    Column("share", "MACs %", False, lambda s, r: bar(s.macs, r.totals.macs), lambda r: ""),
    Column("memory", "memory", True, lambda s, r: human_bytes(s.activation_bytes),
           lambda r: human_bytes(r.totals.activation_bytes)),
    Column("rf", "RF", True, lambda s, r: rf_text(s), lambda r: ""),
)}
DEFAULT = tuple(COLUMNS)
# Left out first when the terminal is too narrow (the layer name never is).
DROP_ORDER = ("rf", "type", "memory", "share", "macs", "params", "shape")
CORE = {"name", "shape", "params", "macs"}  # the name folds before one of these is left out
ALIASES = {"layer": "name", "output": "shape", "bar": "share", "macs%": "share", "activations": "memory"}
SORTS: dict[str, Callable[[LayerStats], int]] = {
    "macs": lambda s: s.macs, "params": lambda s: s.params, "memory": lambda s: s.activation_bytes,
}


def parse_columns(text: str) -> tuple[str, ...]:
    """``name,shape,params`` → column keys, in that order (the name always first). ValueError names
    an unknown column and lists the known ones."""
    keys: list[str] = ["name"]
    for part in text.split(","):
        k = ALIASES.get(part.strip().lower(), part.strip().lower())
        if k not in COLUMNS:
            raise ValueError(f"unknown column {part.strip()!r}; expected some of {', '.join(COLUMNS)}")
        if k not in keys:
            keys.append(k)
    return tuple(keys)


@dataclass(frozen=True)
class Cells:
    keys: tuple[str, ...]
    body: list[list[str]]
    foot: list[str]

    @cached_property
    def widths(self) -> list[int]:
        """Each column's widest cell (header and footer included), measured once."""
        rows = (self.foot, [COLUMNS[k].header for k in self.keys], *self.body)
        return [max(len(v) if v.isascii() else cell_len(v) for v in col) for col in zip(*rows, strict=True)]

    def width(self, i: int) -> int:
        return self.widths[i]


def cells(report: Report, rows: Sequence[LayerStats], keys: Sequence[str]) -> Cells:
    cols = [COLUMNS[k] for k in keys]
    body = [[c.cell(s, report) for c in cols] for s in rows]
    return Cells(tuple(keys), body, [c.total(report) for c in cols])


def table_width(widths: Sequence[int]) -> int:
    """Width of a SIMPLE_HEAD rich table: one space of padding each side of a cell, and one edge or
    divider character between and around the columns."""
    return sum(widths) + 3 * len(widths) + 1


def choose(natural: Mapping[str, int], keys: Sequence[str], width: int | None, drop_order: Sequence[str],
           core: Collection[str], name: str = "name") -> tuple[tuple[str, ...], int | None]:
    """The columns of natural widths ``natural`` that fit ``width``, and the width of the ``name``
    column (None: its natural width). Shared by the summarize and rf tables.

    Columns are left out in ``drop_order`` until the rest fit at their natural widths; only once no
    column but the ``core`` ones is left does the name column fold (down to NAME_MIN) rather than
    lose another column: a table of one line per layer reads better than one with every column.
    """
    kept = list(keys)
    if width is None:
        return tuple(kept), None
    for drop in (None, *drop_order):
        if drop in kept:
            kept.remove(drop)
        need = table_width([natural[k] for k in kept])
        if need <= width:
            return tuple(kept), None
        room = width - (need - natural[name])
        if set(kept) <= set(core) and room >= min(natural[name], NAME_MIN):
            return tuple(kept), room
    return tuple(kept), max(4, width - (table_width([natural[k] for k in kept]) - natural[name]))


def fit(c: Cells, width: int | None) -> tuple[tuple[str, ...], int | None]:
    """The summarize columns that fit ``width`` (see :func:`choose`)."""
    return choose({k: c.width(i) for i, k in enumerate(c.keys)}, c.keys, width, DROP_ORDER, CORE)


def _select(c: Cells, keys: Sequence[str]) -> Cells:
    idx = [c.keys.index(k) for k in keys]
    return Cells(tuple(keys), [[r[i] for i in idx] for r in c.body], [c.foot[i] for i in idx])


def layer_table(c: Cells, name_width: int | None = None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, header_style="bold", footer_style="bold")
    for i, k in enumerate(c.keys):
        col = COLUMNS[k]
        if k == "name":
            table.add_column(col.header, footer=c.foot[i], overflow="fold", width=name_width,
                             min_width=name_width)
        else:
            table.add_column(col.header, footer=c.foot[i], no_wrap=True, justify="right" if col.right else "left",
                             min_width=c.width(i))
    for row in c.body:
        table.add_row(*(
            rich_text(v) if k in ("name", "type") else Text(v, style="cyan") if k == "share" else Text(v)
            for k, v in zip(c.keys, row, strict=True)
        ))
    return table


def plain_table(c: Cells) -> str:
    """The same table as aligned plain text (for very long nets)."""
    headers = [COLUMNS[k].header for k in c.keys]
    widths = [c.width(i) for i in range(len(c.keys))]
    rights = [COLUMNS[k].right for k in c.keys]

    def line(r: Sequence[str]) -> str:
        return "  " + "  ".join(
            v.rjust(w) if right else v + " " * (w - (len(v) if v.isascii() else cell_len(v)))
            for right, v, w in zip(rights, r, widths, strict=True)
        ).rstrip()

    rule = "  " + "─" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line(headers), rule, *map(line, c.body), rule, line(c.foot)])


def summary(report: Report) -> Table:
    t, m = report.totals, report.memory
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)  # labels and numbers are never cut or folded
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(style="dim")
    grid.add_row("parameters", f"{t.params:,}", human(t.params))
    if t.frozen_params:
        grid.add_row("  trainable", f"{t.trainable_params:,}", human(t.trainable_params))
        grid.add_row("  frozen", f"{t.frozen_params:,}", human(t.frozen_params))
    if t.buffers:  # a net without BatchNorm has none to mention
        holders = ", ".join(dict.fromkeys(s.type for s in report.layers if s.buffers))
        what = "BatchNorm running statistics" if holders == "batchnorm" else f"non-learned state of {holders}"
        grid.add_row("buffers", f"{t.buffers:,}", f"{what}, not parameters")
    weighted = ", ".join(dict.fromkeys(s.type for s in report.layers if s.macs))  # the types that have MACs
    grid.add_row("MACs", f"{t.macs:,}", human(t.macs) + f" multiply-accumulates ({weighted or 'none'})")
    grid.add_row("FLOPs", f"{t.flops:,}", human(t.flops) + " (2 per MAC + bias, norm, activations, pooling)")
    buffers = ", buffers included" if m.buffer_bytes else ""
    grid.add_row("parameter memory", human_bytes(m.param_bytes + m.buffer_bytes), f"{m.dtype}{buffers}")
    grid.add_row("inference peak", human_bytes(m.inference_peak_bytes), "weights + largest set of live activations")
    grid.add_row(
        "training estimate", human_bytes(m.training_bytes),
        f"weights + gradients + {m.optimizer} state + all activations kept",
    )
    return grid


def hidden_note(hidden: Sequence[str], width: int) -> str:
    names = ", ".join(COLUMNS[k].header for k in hidden)
    return (f"hidden to fit {width} columns: {names}. Choose columns with --columns (e.g. --columns "
            f"name,shape,{','.join(hidden)}); --format csv has every field.")


def terminal_width(console: Console) -> int | None:
    """The width to fit: the terminal's, else COLUMNS, else None (every column at its natural width)."""
    if console.is_terminal:
        return console.width
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) > 0 else None


def rows_of(report: Report, depth: int | None, sort: str | None) -> list[LayerStats]:
    rows = list(report.layers if depth is None else report.grouped(depth))
    if sort:
        rows.sort(key=SORTS[sort], reverse=True)  # stable: equal costs keep the network's order
    return rows


def render(report: Report, console: Console | None = None, depth: int | None = None,
           columns: Sequence[str] | None = None, sort: str | None = None) -> None:
    """Print the title, the layer table and the summary. ``columns``: keys of :data:`COLUMNS`
    (shown even if they do not fit); default: every column that fits."""
    console = console or Console(highlight=False)
    width = terminal_width(console)
    rows = rows_of(report, depth, sort)
    explicit = columns is not None
    c = cells(report, rows, columns or DEFAULT)
    keys, name_width = fit(c, None if explicit else width)
    shown = _select(c, keys)
    need = table_width([name_width or shown.width(0), *(shown.width(i) for i in range(1, len(keys)))])
    totals = summary(report)
    if width is None:  # piped, no COLUMNS: wide enough for the totals' lines too, which are never cut
        need = max(need, Measurement.get(console, console.options.update(max_width=1000), totals).maximum)
    out = console if width is not None and need <= width else Console(
        width=max(need, width or 0), file=console.file, highlight=False, force_terminal=console.is_terminal,
        color_system=console.color_system, no_color=console.no_color)  # type: ignore[arg-type]
    title = Text.assemble(rich_text(report.name, "bold"), f"  input {shape_text(report.input_shape)}  ({report.dtype})")
    if sort:
        title.append(f"  sorted by {sort}", style="dim")
    out.print(title)
    if len(rows) > RICH_ROWS:
        out.file.write(plain_table(shown) + "\n")  # already plain, escaped text: rich would only slow it down
        out.print(f"[dim]{len(rows):,} rows; --depth 1 groups them by name, --format csv keeps every row[/dim]")
    else:
        out.print(layer_table(shown, name_width))
    hidden = [k for k in c.keys if k not in keys]
    if hidden and width is not None:
        out.print(hidden_note(hidden, width), style="dim", markup=False)
    out.print(totals)
