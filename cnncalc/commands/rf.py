"""``cnncalc rf``: receptive fields layer by layer, and the input region one output unit sees.

The numbers come from :func:`cnncalc.rf_trace.trace`, the rendering from :mod:`cnncalc.render.rf`;
this module only parses options.
"""

from __future__ import annotations

import click

from .common import batch_option, emit, fail, input_option, note, quiet_option, run_analysis


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
@quiet_option
def rf(spec: str, layer: str | None, unit: tuple[int, ...] | None, batch: int, input_shape, fmt: str) -> None:
    """How the receptive field grows layer by layer, and the input region a unit sees.

    SPEC.yaml may be - to read the spec from standard input.
    """
    from ..errors import CnncalcError
    from ..render import rf as render_rf
    from ..rf_trace import trace

    report = run_analysis(spec, batch=batch, input_shape=input_shape)
    try:
        t = trace(report, layer, unit)
    except CnncalcError as e:  # an unknown layer, a layer without a field, a unit outside it
        fail(str(e))
    if fmt == "json":
        emit(render_rf.json_chunks(t))
    else:
        render_rf.render(t)
    for text in t.notes:
        note(text)
