"""The terminal rendering: a rich table of layers with totals, and a summary panel."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..analysis import Report
from . import human, human_bytes, rf_text, shape_text

BAR = 10


def _bar(part: int, whole: int) -> Text:
    if whole <= 0 or part <= 0:
        return Text("")
    eighths = round(8 * BAR * part / whole)
    full, rest = divmod(eighths, 8)
    text = "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")
    return Text(text or "▏", style="cyan")


def layer_table(report: Report, width: int = 200, depth: int | None = None) -> Table:
    t = report.totals
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, header_style="bold", footer_style="bold")
    longest = max((len(s.name) for s in (report.layers if depth is None else report.grouped(depth))), default=5)
    table.add_column("layer", footer="total", overflow="fold", min_width=min(longest, 24))
    table.add_column("type", no_wrap=True)
    table.add_column("output", no_wrap=True, footer=shape_text(report.layers[-1].output_shape))
    table.add_column("params", justify="right", no_wrap=True, footer=human(t.params))
    table.add_column("MACs", justify="right", no_wrap=True, footer=human(t.macs))
    bars = width >= 120
    if bars:
        table.add_column("MACs %", no_wrap=True, min_width=BAR)
    table.add_column("memory", justify="right", no_wrap=True, footer=human_bytes(t.activation_bytes))
    table.add_column("RF", justify="right", no_wrap=True)
    rows = report.layers if depth is None else report.grouped(depth)
    for s in rows:
        params = human(s.params) + (" ❄" if s.frozen and s.params else "")
        cells = [s.name, s.type, shape_text(s.output_shape), params, human(s.macs) if s.macs else "—"]
        cells += [_bar(s.macs, t.macs)] if bars else []
        table.add_row(*cells, human_bytes(s.activation_bytes), rf_text(s))
    return table


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
    console.print(Group(layer_table(report, console.width, depth), summary(report)))
