"""The terminal rendering: a table of layers with totals, and a summary of the totals and memory.

Up to ``RICH_ROWS`` rows the table is a rich Table; past that (a generated net of thousands of
layers) the same cells are laid out as plain aligned text, which is a hundred times faster.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..analysis import LayerStats, Report
from . import human, human_bytes, rf_text, shape_text

BAR = 10
RICH_ROWS = 2000
HEADERS = ("layer", "type", "output", "params", "MACs", "MACs %", "memory", "RF")
RIGHT = {"params", "MACs", "memory", "RF"}


def bar(part: int, whole: int) -> str:
    """A share as a bar of BAR cells, in eighths of a cell."""
    if whole <= 0 or part <= 0:
        return ""
    full, rest = divmod(round(8 * BAR * part / whole), 8)
    return ("█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")) or "▏"


def cells(report: Report, rows: Sequence[LayerStats], bars: bool) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers, one list of cell texts per row, and the footer (totals)."""
    t = report.totals
    headers = [h for h in HEADERS if bars or h != "MACs %"]
    body = []
    for s in rows:
        row = [
            s.name, s.type, shape_text(s.output_shape), human(s.params) + (" ❄" if s.frozen and s.params else ""),
            human(s.macs) if s.macs else "—",
        ]
        row += [bar(s.macs, t.macs)] if bars else []
        body.append([*row, human_bytes(s.activation_bytes), rf_text(s)])
    foot = ["total", "", shape_text(report.layers[-1].output_shape), human(t.params), human(t.macs)]
    foot += [""] if bars else []
    return headers, body, [*foot, human_bytes(t.activation_bytes), ""]


def layer_table(report: Report, width: int = 200, depth: int | None = None) -> Table:
    rows = report.layers if depth is None else report.grouped(depth)
    headers, body, foot = cells(report, rows, bars=width >= 120)
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, header_style="bold", footer_style="bold")
    longest = max((len(s.name) for s in rows), default=5)
    for i, (h, f) in enumerate(zip(headers, foot, strict=True)):
        if i == 0:
            table.add_column(h, footer=f, overflow="fold", min_width=min(longest, 24))
        else:
            table.add_column(h, footer=f, no_wrap=True, justify="right" if h in RIGHT else "left",
                             min_width=BAR if h == "MACs %" else None)
    for row in body:
        table.add_row(*row[:5], *(Text(c, style="cyan") if h == "MACs %" else c for h, c in zip(headers[5:], row[5:], strict=True)))
    return table


def plain_table(report: Report, rows: Sequence[LayerStats]) -> str:
    """The same table as aligned plain text (for very long nets)."""
    headers, body, foot = cells(report, rows, bars=True)
    widths = [max(len(r[i]) for r in (headers, foot, *body)) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "  " + "  ".join(c.rjust(w) if h in RIGHT else c.ljust(w) for h, c, w in zip(headers, r, widths, strict=True))

    rule = "  " + "─" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line(headers), rule, *map(line, body), rule, line(foot)])


def summary(report: Report) -> Table:
    t, m = report.totals, report.memory
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    grid.add_column(style="dim")
    grid.add_row("parameters", f"{t.params:,}", human(t.params))
    if t.frozen_params:
        grid.add_row("  trainable", f"{t.trainable_params:,}", human(t.trainable_params))
        grid.add_row("  frozen", f"{t.frozen_params:,}", human(t.frozen_params))
    grid.add_row("buffers", f"{t.buffers:,}", "BatchNorm running statistics, not parameters")
    grid.add_row("MACs", f"{t.macs:,}", human(t.macs) + " multiply-accumulates (conv, linear)")
    grid.add_row("FLOPs", f"{t.flops:,}", human(t.flops) + " (2 per MAC + bias, norm, activations, pooling)")
    grid.add_row("parameter memory", human_bytes(m.param_bytes + m.buffer_bytes), f"{m.dtype}, buffers included")
    grid.add_row("inference peak", human_bytes(m.inference_peak_bytes), "weights + largest set of live activations")
    grid.add_row(
        "training estimate", human_bytes(m.training_bytes),
        f"weights + gradients + {m.optimizer} state + all activations kept",
    )
    return grid


def render(report: Report, console: Console | None = None, depth: int | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:  # piped or redirected: never wrap rows
            console = Console(width=200)
    title = f"[bold]{report.name}[/bold]  input {shape_text(report.input_shape)}  ({report.dtype})"
    console.print(title)
    rows = report.layers if depth is None else report.grouped(depth)
    if len(rows) > RICH_ROWS:
        console.print(plain_table(report, rows), markup=False, highlight=False, soft_wrap=True)
        console.print(f"[dim]{len(rows):,} rows; --depth 1 groups them by name, --format csv keeps every row[/dim]")
        console.print(summary(report))
        return
    console.print(Group(layer_table(report, console.width, depth), summary(report)))
