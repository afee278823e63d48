"""``cnncalc apply conv|maxpool|avgpool``: a filter or pool on a small matrix, exactly (numpy)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..homework import UsageError, matrix
from .calc import FORMAT, guarded

BOUNDARIES = {"shrink": "no padding: the output shrinks", "zero": "zero padding: the output keeps the size"}


def _ints(text: str | None, what: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    parts = text.replace("x", ",").replace("×", ",").split(",")
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() and len(p.strip()) <= 6 for p in parts):
        raise UsageError(f"{what}: expected one to three numbers (i or i,j or c,i,j), got {text!r:.40}")
    return tuple(int(p) for p in parts)


def _one_or_axes(v: tuple[int, ...] | None, nd: int, what: str) -> tuple[int, ...] | None:
    if v is None:
        return None
    if len(v) == 1:
        return v * nd
    if len(v) != nd:
        raise UsageError(f"{what} has {len(v)} values for a {nd}-D input")
    return v


def applied(p: dict[str, Any], stdin: str | None = None, base: Path | None = None) -> tuple[matrix.Applied, str]:
    """Parse the matrices and options, and apply. Returns the result and the kernel's name (or '')."""
    x = matrix.load(p["input"], "--input", stdin, base)
    nd = min(x.ndim, 2)  # spatial axes: a 3-D input is C×H×W
    kernel, window, name = None, None, ""
    if p["op"] == "conv":
        named = matrix.named_kernel(p["kernel"], nd)
        if named is not None:
            name = p["kernel"].strip().lower()
        kernel = named if named is not None else matrix.load(p["kernel"], "--kernel", stdin, base)
        size = kernel.shape[-nd:]
    else:
        window = _one_or_axes(_ints(p["kernel"], "--kernel (the window)"), nd, "--kernel")
        assert window is not None
        size = window
    stride = _one_or_axes(_ints(p["stride"], "--stride"), nd, "--stride")
    padding = _one_or_axes(_ints(p["padding"], "--padding"), nd, "--padding")
    if p["boundary"] is not None:
        if padding is not None:
            raise UsageError("give --padding or --boundary, not both")
        if p["boundary"] == "zero" and any(k % 2 == 0 for k in size):
            raise UsageError("--boundary zero keeps the size only for an odd kernel; give --padding instead")
        padding = tuple((k - 1) // 2 for k in size) if p["boundary"] == "zero" else (0,) * nd
    bias = matrix.number(p["bias"], "--bias") if p["bias"] is not None else 0
    if bias and p["op"] != "conv":
        raise UsageError("--bias is for conv; pools have no weights")
    result = matrix.apply(p["op"], x, kernel, window, stride, padding or 0, p["flip"], bias)
    return result, name


def apply_data(p: dict[str, Any], stdin: str | None = None, base: Path | None = None) -> dict[str, Any]:
    a, name = applied(p, stdin, base)
    d: dict[str, Any] = {
        "op": a.op, "mode": a.mode, "exact": a.exact, "input_shape": list(a.x.shape),
        "window": list(a.spatial(a.window)), "stride": list(a.spatial(a.stride)),
        "padding": list(a.spatial(a.padding)), "bias": matrix.json_value(a.bias),
        "output": matrix.to_lists(a.output), "notes": list(a.notes),
    }
    if a.kernel is not None:
        d["kernel"] = matrix.to_lists(a.kernel)
        if name:
            d["kernel_name"] = name
    at = _ints(p["at"], "--at")
    if at is not None:
        text = matrix.cell(a, at)
        d["at"] = {"cell": list(at), "value": matrix.json_value(a.output[tuple(at)]), "text": text}
    return d


def grid(a: np.ndarray) -> list[str]:
    """A matrix as right-aligned columns (a 1-D signal as one row; channels one after another)."""
    if a.ndim == 3:
        return [line for c, m in enumerate(a) for line in [f" channel {c}:", *grid(m)]]
    rows = [a] if a.ndim == 1 else list(a)
    cells = [[matrix.show(v).replace("−", "-") for v in row] for row in rows]
    width = max(len(c) for row in cells for c in row)
    return ["  " + " ".join(c.rjust(width) for c in row) for row in cells]


@click.command(name="apply")
@click.argument("op", type=click.Choice(["conv", "maxpool", "avgpool"]))
@click.option("--input", "-i", "input", required=True, metavar="M",
              help="The matrix: '[[1,2],[3,4]]', '[4, 3, 2]', '1 2; 3 4', a CSV/YAML file, or - (stdin).")
@click.option("--kernel", "-k", required=True, metavar="K",
              help=f"conv: a matrix like --input, or a name: {matrix.KERNEL_NAMES}. Pools: the window, 2 or 2x2.")
@click.option("--stride", "-s", metavar="S", help="Stride (one number, or i,j). Conv: 1; pools: the window.")
@click.option("--padding", "-p", metavar="P", help="Zero padding on each side (one number, or i,j).")
@click.option("--boundary", type=click.Choice(list(BOUNDARIES)), help="shrink: no padding; zero: pad to keep the size.")
@click.option("--at", metavar="i,j", help="Write out the arithmetic of this output cell (counted from 0).")
@click.option("--flip", is_flag=True, help="Flip the kernel: the signal-processing convolution.")
@click.option("--bias", "-b", metavar="B", help="conv: add this bias to every output (a number, 1/2, 0.5).")
@FORMAT
def apply_cmd(**p: Any) -> None:
    """Apply a filter (conv) or a pool to a small matrix and print the output, exactly.

    Conv is the deep-learning one, cross-correlation as torch's conv2d; --flip gives the true
    convolution. Integers and fractions stay exact (a box filter gives 10/3); floats stay floats.

    \b
    cnncalc apply conv --input '[4, 3, 2, -5, 3, 5, 2, 5, 5, 6]' --kernel box3
    cnncalc apply conv --input image.csv --kernel sharpen --at 2,2
    cnncalc apply maxpool --input '3 1 3 5; 6 0 7 9; 3 2 1 4; 0 2 4 3' --kernel 2
    """
    stdin = sys.stdin.read(matrix.MAX_TEXT + 1) if "-" in (p["input"], p["kernel"]) else None
    a, name = guarded(lambda: applied(p, stdin))
    at = guarded(lambda: _ints(p["at"], "--at"))
    cell_text = guarded(lambda: matrix.cell(a, at)) if at is not None else ""  # a bad --at fails before any output
    if p["fmt"] == "json":
        click.echo(json.dumps(guarded(lambda: apply_data(p, stdin)), ensure_ascii=False))
        return
    shape = lambda v: "×".join(map(str, v))  # noqa: E731
    step = lambda v: str(v[0]) if len(set(v)) == 1 else shape(v)  # noqa: E731
    win = a.window if a.op == "conv" else a.spatial(a.window)
    what = f"kernel {shape(win)}" + (f" ({name})" if name else "") if a.op == "conv" else f"window {shape(win)}"
    bias = f", bias {matrix.show(a.bias)}" if a.bias else ""
    click.echo(f"{a.op}: {a.mode}")
    click.echo(f"input {shape(a.x.shape)}, {what}, stride {step(a.spatial(a.stride))}, "
               f"padding {step(a.spatial(a.padding))}{bias} → output {shape(a.output.shape)}")
    if a.op == "conv" and a.kernel is not None and (name or p["flip"] or a.channels):
        click.echo("kernel" + (" (flipped)" if p["flip"] else "") + ":")
        for line in grid(a.kernel):
            click.echo(line)
        click.echo("output:")
    for line in grid(a.output):
        click.echo(line)
    for note in a.notes:
        click.echo(f"note: {note}")
    if at is not None:
        cell = ", ".join(map(str, at))
        text = f"cell ({cell}) = {cell_text}"
        click.echo(textwrap.fill(text, 80, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False))
