"""What the commands share: error exits, warnings and notes (``--quiet``), the shape option, and
running an analysis. Every line printed here passes through :func:`~cnncalc.render.safe.term_text`."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..errors import SpecError, WarningKind
from ..render.safe import term_text
from ..spec.limits import MAX_INT

if TYPE_CHECKING:
    from ..analysis import Report
    from ..spec import NetSpec

QUIET_KEY = "cnncalc.quiet"
# The largest size --input accepts: the same bound a spec's input is held to.
MAX_INPUT_SIZE = MAX_INT


def fail(message: str, status: int = 2) -> NoReturn:
    """Print one safe line to stderr and exit (2: invalid spec or usage; 1: a check failed)."""
    click.echo(f"error: {term_text(message).strip()}", err=True)
    sys.exit(status)


def emit(chunks: Iterable[str]) -> None:
    """Write text that comes in pieces (streamed JSON) to stdout, and end it with a newline."""
    for chunk in chunks:
        click.echo(chunk, nl=False)
    click.echo()


def _quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(QUIET_KEY))


def warn(message: str) -> None:
    """A ``warning:`` line on stderr (silenced by --quiet)."""
    if not _quiet():
        click.echo(f"warning: {term_text(message)}", err=True)


def note(message: str, prefix: str = "note: ") -> None:
    """A ``note:`` line on stderr (silenced by --quiet)."""
    if not _quiet():
        click.echo(f"{prefix}{term_text(message)}", err=True)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[QUIET_KEY] = True
    return value


quiet_option = click.option(
    "--quiet", "-q", is_flag=True, expose_value=False, callback=_set_quiet, is_eager=True,
    help="Print no warnings or notes: only the output, and errors.",
)


def parse_shape(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """``3,224,224`` (or ``3x224x224``): channels then 0 to 3 spatial sizes, each a plain positive
    integer up to :data:`MAX_INPUT_SIZE` (``1e30``, ``2.5`` and ``+3`` are refused, never rounded)."""
    if value is None:
        return None
    parts = [v.strip() for v in value.replace("x", ",").split(",")]
    if not 1 <= len(parts) <= 4 or not all(v.isascii() and v.isdigit() and len(v) <= 12 for v in parts):
        raise click.BadParameter(
            f"expected channels then 0 to 3 positive whole sizes, e.g. 3,224,224; got {term_text(value)!r}"
        )
    shape = tuple(int(v) for v in parts)
    if any(not 1 <= v <= MAX_INPUT_SIZE for v in shape):
        raise click.BadParameter(f"each size must be between 1 and {MAX_INPUT_SIZE:,}; got {term_text(value)!r}")
    return shape


def spec_source(spec: str) -> str | NetSpec:
    """The spec argument: a path, a shipped spec's name (``vgg16``), or ``-`` for YAML on standard
    input (parsed here). A path that exists wins over a name."""
    if spec != "-":
        from ..zoo import resolve

        return resolve(spec) if isinstance(spec, str) else spec  # a parsed NetSpec passes through
    from ..spec import parse_spec, read_spec_source

    name, text = read_spec_source("-")  # bytes, size-limited, decoded as UTF-8 whatever the locale
    return parse_spec(name, text=text)


def run_analysis(spec: str, **kw: Any) -> Report:
    """Analyse, print warnings to stderr, and turn spec errors into exit status 2."""
    from ..analysis import analyze

    try:
        report = analyze(spec_source(spec), **kw)
    except SpecError as e:
        fail(str(e))
    show_warnings(report)
    return report


def show_warnings(report: Report) -> None:
    """Warnings one per line on stderr; floors that drop only padding summarised in one note."""
    if _quiet():
        return
    notes = [w for w in report.warnings if w.kind == WarningKind.FLOOR_PADDING]
    for w in report.warnings:
        if w.kind != WarningKind.FLOOR_PADDING:
            warn(str(w))
    if notes:
        names = ", ".join(w.layer or "?" for w in notes[:4]) + (", …" if len(notes) > 4 else "")
        one = len(notes) == 1
        note(
            f"{len(notes)} {'layer floors' if one else 'layers floor'} a non-integer output size but "
            f"{'drops' if one else 'drop'} only padding ({names}); `cnncalc explain` shows the arithmetic, "
            "--strict refuses it"
        )


batch_option = click.option(
    "--batch", "-b", type=click.IntRange(min=1, max=MAX_INPUT_SIZE), default=1, show_default=True, help="Batch size N."
)
input_option = click.option(
    "--input", "input_shape", callback=parse_shape, metavar="C,H,W", help="Override the spec's input shape."
)
