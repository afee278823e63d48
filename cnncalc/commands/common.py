"""What the commands share: error exits, the shape option, and running an analysis."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from ..analysis import Report, analyze
from ..errors import SpecError
from ..spec import NetSpec, parse_spec


def fail(message: str, status: int = 2) -> NoReturn:
    """Print one line to stderr and exit (2: invalid spec or usage; 1: a check failed)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


def parse_shape(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        shape = tuple(int(v) for v in value.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not 1 <= len(shape) <= 4 or any(v <= 0 for v in shape):
        raise click.BadParameter("expected channels then 0 to 3 positive spatial sizes, e.g. 3,224,224")
    return shape


def spec_source(spec: str) -> str | NetSpec:
    """The spec argument: a path, or ``-`` for YAML on standard input (parsed here)."""
    if spec != "-":
        return spec
    return parse_spec("<stdin>", text=sys.stdin.read())


def run_analysis(spec: str, **kw: Any) -> Report:
    """Analyse, print warnings to stderr, and turn spec errors into exit status 2."""
    try:
        report = analyze(spec_source(spec), **kw)
    except SpecError as e:
        fail(str(e))
    show_warnings(report)
    return report


def show_warnings(report: Report) -> None:
    """Warnings one per line on stderr; floors that drop only padding summarised in one note."""
    notes = [w for w in report.warnings if w.kind == "floor-padding"]
    for w in report.warnings:
        if w.kind != "floor-padding":
            click.echo(f"warning: {w}", err=True)
    if notes:
        names = ", ".join(w.layer or "?" for w in notes[:4]) + (", …" if len(notes) > 4 else "")
        click.echo(
            f"note: {len(notes)} layer{'s' if len(notes) > 1 else ''} floor a non-integer output size but "
            f"drop only padding ({names}); `cnncalc explain` shows the arithmetic, --strict refuses it",
            err=True,
        )


batch_option = click.option(
    "--batch", "-b", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size N."
)
input_option = click.option(
    "--input", "input_shape", callback=parse_shape, metavar="C,H,W", help="Override the spec's input shape."
)
