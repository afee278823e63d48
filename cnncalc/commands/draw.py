"""``cnncalc draw``: a static architecture diagram for a paper or slides (SVG; PNG or PDF where
cairosvg or rsvg-convert is installed). Rendering: cnncalc.render.draw."""

from __future__ import annotations

from pathlib import Path

import click

from .common import batch_option, fail, input_option, quiet_option, run_analysis

FORMATS = ("svg", "png", "pdf")


@click.command(name="draw")
@click.argument("spec", metavar="SPEC.yaml")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), required=True,
              help="net.svg, net.png or net.pdf (the suffix picks the format).")
@click.option("--depth", "-d", type=click.IntRange(min=1), default=None,
              help="One box per group of layers sharing the first N parts of their names (layer1.0.conv1 → layer1).")
@click.option("--title/--no-title", default=True, show_default=True, help="The spec's name above the diagram.")
@batch_option
@input_option
@quiet_option
def draw(spec: str, output: str, depth: int | None, title: bool, batch: int, input_shape) -> None:
    """An architecture diagram: a box per layer (or per block with --depth), top to bottom, with
    the tensor shapes on the edges.

    SVG needs nothing more; PNG and PDF need cairosvg (pip install cairosvg) or rsvg-convert.
    SPEC.yaml may be - to read the spec from standard input.
    """
    from ..render.draw import DrawError, convert, to_svg
    from ..render.graph import LayoutTooLarge, build

    target = Path(output)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        fail(f"{output}: unknown format {target.suffix or '(no suffix)'!r}; use .svg, .png or .pdf")
    rep = run_analysis(spec, batch=batch, input_shape=input_shape)
    try:
        svg = to_svg(build(rep, depth), rep.name if title else None)
    except LayoutTooLarge as e:
        fail(f"{e} (--depth N draws one box per block)")
    try:
        data = svg.encode() if fmt == "svg" else convert(svg, fmt)
    except DrawError as e:
        fail(str(e))
    try:
        target.write_bytes(data)
    except OSError as e:
        fail(f"{target}: cannot write: {e}")
