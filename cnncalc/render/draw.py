"""A static architecture diagram (``cnncalc draw``): SVG in the style of a paper's figure, and PNG or
PDF through cairosvg or rsvg-convert where one of them is installed.

Boxes per layer (or per block with ``depth``), coloured by the kind of layer, with the tensor's shape
written on each edge. The layout is :func:`cnncalc.render.graph.layout`.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from typing import Any

from . import human, shape_text
from .graph import INPUT, NODE_H, Graph, Layout, Node, layout, node_label, path_d
from .safe import data_text

# fill, stroke per kind of layer
PALETTE = {
    "conv": ("#dbe8fb", "#4a78c2"),
    "pool": ("#dff3e4", "#3d9a5b"),
    "norm": ("#eeeeee", "#8a8a8a"),
    "act": ("#fff4d6", "#c99a1b"),
    "dense": ("#ece3fa", "#7e57c2"),
    "merge": ("#fde4d6", "#d2691e"),
    "input": ("#ffffff", "#333333"),
    "block": ("#e8eef7", "#44546a"),
    "other": ("#f5f5f5", "#777777"),
}
MERGES = {"add", "concat", "mul", "cat", "sum", "multiply"}
ACTIVATIONS = {"relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "leakyrelu",
               "elu", "softmax", "prelu", "mish", "swish", "dropout", "identity"}
PNG_SCALE = 2.0


class DrawError(Exception):
    """A format that needs a converter that is not installed."""


def svg_text(s: str) -> str:
    """Text or an attribute value in SVG/XML: control characters shown visibly (XML forbids them even
    as references), then ``& < > " '`` escaped."""
    return html.escape(data_text(s), quote=True)


def kind(n: Node) -> str:
    t = n.type
    if n.id == INPUT:
        return "input"
    if "+" in t or t.endswith(" layers"):
        return "conv" if t.startswith("conv") else "block"
    if "conv" in t:
        return "conv"
    if "pool" in t:
        return "pool"
    if "norm" in t:
        return "norm"
    if t in ("linear", "dense", "fc"):
        return "dense"
    if t in MERGES:
        return "merge"
    if t in ACTIVATIONS or t.endswith("relu"):
        return "act"
    return "other"


def _size(v: Any, rank: int) -> str:
    return "×".join(map(str, v)) if isinstance(v, (tuple, list)) else "×".join([str(v)] * max(rank, 1))


def brief(n: Node) -> str:
    """A paper's shorthand for one layer: 'conv 7×7/2, 64', 'maxpool 3×3/2', 'linear, 1000'."""
    a, rank = n.args, max(len(n.shape) - 2, 1)
    text = n.type
    if "kernel" in a:
        text += " " + _size(a["kernel"], rank)
        stride = a.get("stride", 1)
        if stride not in (1, None) and set(stride if isinstance(stride, (tuple, list)) else [stride]) != {1}:
            text += "/" + (_size(stride, 1) if not isinstance(stride, (tuple, list)) else _size(stride, rank))
    if isinstance(a.get("out"), int) and not isinstance(a.get("out"), bool) and "pool" not in n.type:
        text += f", {a['out']}"
    if isinstance(a.get("groups"), int) and a["groups"] > 1:
        text += f", groups {a['groups']}"
    return text


def draw_label(n: Node) -> tuple[str, str]:
    name, sub = node_label(n, shape=False)
    return name, sub if n.id == INPUT or n.folded else brief(n)


def _node(n: Node, x: float, y: float, w: float) -> str:
    fill, stroke = PALETTE[kind(n)]
    name, sub = draw_label(n)
    title = svg_text(f"{n.id}: {n.type} → {shape_text(n.shape)}, {human(n.params)} params, {human(n.macs)} MACs")
    return (
        f'<g><title>{title}</title>'
        f'<rect x="{x - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" height="{NODE_H:.0f}" rx="5" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>'
        f'<text x="{x:.1f}" y="{y + 15:.1f}" class="n">{svg_text(name)}</text>'
        f'<text x="{x:.1f}" y="{y + 29:.1f}" class="t">{svg_text(sub)}</text></g>'
    )


def to_svg(g: Graph, title: str | None = None) -> str:
    """The diagram as a standalone SVG document."""
    lay: Layout = layout(g, rank_gap=34.0, label=draw_label)
    pad, head = 16.0, 28.0 if title else 0.0
    w, h = lay.width + 2 * pad + 60, lay.height + 2 * pad + head
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
        'font-family="Helvetica, Arial, sans-serif">',
        "<style>.n{font-size:11px;font-weight:bold;text-anchor:middle;fill:#1a1a1a}"
        ".t{font-size:10px;text-anchor:middle;fill:#444}.e{font-size:9px;fill:#666}"
        ".h{font-size:14px;font-weight:bold;fill:#1a1a1a}</style>",
        f'<rect width="{w:.0f}" height="{h:.0f}" fill="#ffffff"/>',
        '<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#777"/></marker></defs>',
    ]
    if title:
        out.append(f'<text x="{pad:.0f}" y="{pad + 12:.0f}" class="h">{svg_text(title)}</text>')
    out.append(f'<g transform="translate({pad:.0f},{pad + head:.0f})">')
    labelled: set[str] = set()
    for e, pts in lay.routes:
        out.append(f'<path d="{path_d(pts)}" fill="none" stroke="#888" stroke-width="1.1" marker-end="url(#a)"/>')
        if e.src not in labelled:  # the tensor a node sends, once, just below it
            labelled.add(e.src)
            x0, y0 = pts[0]
            out.append(f'<text x="{x0 + 6:.1f}" y="{y0 + 13:.1f}" class="e">{svg_text(shape_text(e.shape[1:]))}</text>')
    for n in g.nodes:
        b = lay.boxes[n.id]
        out.append(_node(n, b.x, b.y, b.w))
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def convert(svg: str, fmt: str) -> bytes:
    """PNG or PDF bytes of ``svg`` with cairosvg (Python) or rsvg-convert (librsvg), whichever exists."""
    try:
        import cairosvg  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except (ImportError, OSError):
        cairosvg = None
    if cairosvg is not None:
        fn = cairosvg.svg2png if fmt == "png" else cairosvg.svg2pdf
        kw = {"scale": PNG_SCALE} if fmt == "png" else {}
        data: bytes = fn(bytestring=svg.encode(), **kw)
        return data
    tool = shutil.which("rsvg-convert")
    if tool:
        args = [tool, "-f", fmt] + (["-z", str(PNG_SCALE)] if fmt == "png" else [])
        return subprocess.run(args, input=svg.encode(), capture_output=True, check=True, timeout=120).stdout
    raise DrawError(
        f"{fmt.upper()} output needs cairosvg (pip install cairosvg; it uses the cairo library) or "
        "rsvg-convert (apt-get install librsvg2-bin); or write .svg, which needs nothing"
    )
