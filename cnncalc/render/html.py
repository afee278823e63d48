"""``cnncalc report``: one self-contained HTML file (CSS and JS inline, no network) that shows the
network graph, per-layer charts, the sortable layer table, the totals and the conventions.

The graph is laid out here, in Python (:func:`cnncalc.render.graph.layout`), once per fold level
(depth 1, 2, … and every layer), and written as inline SVG; the page's script only switches levels,
recolours the nodes by the chosen cost, draws the charts and links nodes, bars and rows. Nothing is
fetched, so the file opens offline, in a mail attachment or on a CI artifact page.

Every string a spec wrote passes through :func:`html_text` (HTML and SVG text and attributes) or
:func:`script_json` (the data the script reads); nothing else reaches the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from .. import __version__
from ..analysis import LayerStats, Report
from ..layers.base import GLOBAL
from . import human, human_bytes, int_text, rf_text, shape_text
from .graph import (
    FOLD_MARK_W,
    INPUT,
    NODE_H,
    Graph,
    Layout,
    LayoutTooLarge,
    build,
    fold_levels,
    layout,
    node_label,
    path_d,
)
from .safe import data_text

MAX_DEFAULT_NODES = 80  # the first view: the finest fold level with at most this many nodes
MAX_GRAPH_NODES = 4000  # a fold level with more nodes is not drawn (the table still has every layer)
MAX_LAYERS = 20_000  # a larger net is refused: the page would be too large to open


def html_text(s: str) -> str:
    """Text or a quoted attribute value in HTML or inline SVG: control characters shown visibly
    (``\\x1b``), then ``& < > " '`` escaped."""
    return html.escape(data_text(s), quote=True)


def script_json(value: Any) -> str:
    """JSON to put inside ``<script type="application/json">``: ASCII only (so U+2028/U+2029 and
    every control character are ``\\u`` escapes), and ``<``, ``>``, ``&`` escaped too, so that no
    ``</script>`` or ``<!--`` can end or confuse the element."""
    text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("cnncalc.render").joinpath("assets").joinpath(name).read_text(encoding="utf-8")


# ---- data for the script ------------------------------------------------------------------------

def _rf_size(s: LayerStats) -> float | None:
    d = s.rf_dict()
    return None if d is None else float(max(d["size"]))


def layer_rows(report: Report) -> list[dict[str, Any]]:
    return [{
        "name": data_text(s.name), "type": data_text(s.type), "shape": shape_text(s.output_shape),
        "params": s.params, "macs": s.macs, "flops": s.flops, "mem": s.activation_bytes,
        "paramsText": human(s.params), "macsText": human(s.macs) if s.macs else "—", "flopsText": human(s.flops),
        "memText": human_bytes(s.activation_bytes), "rf": rf_text(s), "rfSize": _rf_size(s),
        "global": s.receptive_field == GLOBAL, "exact": f"{int_text(s.params)} params, {int_text(s.macs)} MACs",
    } for s in report.layers]


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and v >= 0 else None


def bench_times(bench: Mapping[str, Any] | None, report: Report) -> dict[str, Any] | None:
    """What a ``cnncalc bench --format json`` file says about these layers, read defensively: the
    result whose batch matches the report (else the first with per-layer times). None if it has none."""
    if not isinstance(bench, Mapping):
        return None
    results = [r for r in bench.get("results") or [] if isinstance(r, Mapping)]
    with_layers = [r for r in results if isinstance(r.get("layers"), list)]
    pick = next((r for r in with_layers if r.get("batch") == report.batch), with_layers[0] if with_layers else None)
    chosen = pick or (results[0] if results else None)
    if chosen is None:
        return None
    times: dict[str, float] = {}
    for t in (pick or {}).get("layers") or []:
        lat = t.get("latency_ms") if isinstance(t, Mapping) else None
        med = _num(lat.get("median")) if isinstance(lat, Mapping) else None
        if isinstance(t, Mapping) and isinstance(t.get("name"), str) and med is not None:
            times[t["name"]] = med
    device = bench.get("device")
    lat = chosen.get("latency_ms")
    return {
        "layers": [times.get(s.name) for s in report.layers],
        "matched": sum(s.name in times for s in report.layers),
        "unmatched": len(set(times) - {s.name for s in report.layers}),
        "total": _num(lat.get("median")) if isinstance(lat, Mapping) else None,
        "batch": chosen.get("batch") if isinstance(chosen.get("batch"), int) else None,
        "device": data_text(str(device.get("name") or device.get("type") or "")) if isinstance(device, Mapping) else "",
        "dtype": data_text(str(chosen.get("dtype", ""))),
    }


# ---- the graph as SVG ---------------------------------------------------------------------------

def graph_svg(g: Graph, lay: Layout, index: Mapping[str, int], level: int) -> str:
    pad = 12.0
    w, h = lay.width + 2 * pad, lay.height + 2 * pad
    out = [
        f'<svg class="graph" data-level="{level}" data-w="{w:.0f}" data-h="{h:.0f}" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="network graph">',
        f'<g transform="translate({pad:.0f},{pad:.0f})">',
    ]
    for _, pts in lay.routes:
        out.append(f'<path class="edge" d="{path_d(pts)}"/>')
    for n in g.nodes:
        b = lay.boxes[n.id]
        name, sub = node_label(n)
        members = ",".join(str(index[m]) for m in n.members)
        cls = "node input" if n.id == INPUT else "node folded" if n.folded else "node"
        title = f"{n.id} — {sub}" if n.id == INPUT else (
            f"{n.id}\n{sub}\n{human(n.params)} params · {human(n.macs)} MACs · {human_bytes(n.activation_bytes)}"
            + (f"\n{len(n.members)} layers: click to select, ⊕ to unfold" if n.folded else "")
            + ("\ndouble-click to fold" if level else ""))
        tx = b.x - (FOLD_MARK_W / 2 if n.folded else 0)  # clear of the unfold mark
        out.append(
            f'<g class="{cls}" data-m="{members}" data-params="{n.params}" data-macs="{n.macs}" '
            f'data-mem="{n.activation_bytes}"><title>{html_text(title)}</title>'
            f'<rect x="{b.x - b.w / 2:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{NODE_H:.0f}" rx="6"/>'
            f'<text class="nm" x="{tx:.1f}" y="{b.y + 15:.1f}">{html_text(name)}</text>'
            f'<text class="sub" x="{tx:.1f}" y="{b.y + 30:.1f}">{html_text(sub)}</text>'
            + (f'<text class="unfold" x="{b.x + b.w / 2 - 9:.1f}" y="{b.y + 13:.1f}">⊕</text>' if n.folded else "")
            + "</g>"
        )
    out.append("</g></svg>")
    return "".join(out)


def _level_name(depth: int | None, n_nodes: int) -> str:
    return f"{'all' if depth is None else depth} ({n_nodes - 1})"


def graphs(report: Report) -> tuple[list[str], list[str], int, list[str]]:
    """The SVG of every fold level that can be drawn, their button labels, the level shown first,
    and notes on the levels left out (too many nodes to draw readably)."""
    index = {s.name: i for i, s in enumerate(report.layers)}
    svgs: list[str] = []
    labels, counts, notes = [], [], []
    for depth in fold_levels(report):
        g = build(report, depth)
        try:
            if len(g.nodes) > MAX_GRAPH_NODES:
                raise LayoutTooLarge(f"{len(g.nodes) - 1:,} nodes (at most {MAX_GRAPH_NODES:,} are drawn)")
            lay = layout(g)
        except LayoutTooLarge as e:
            notes.append(f"{_level_name(depth, len(g.nodes))}: not drawn, {e}")
            continue
        svgs.append(graph_svg(g, lay, index, len(svgs)))
        labels.append(_level_name(depth, len(g.nodes)))
        counts.append(len(g.nodes))
    fitting = [k for k, c in enumerate(counts) if c <= MAX_DEFAULT_NODES + 1]
    return svgs, labels, fitting[-1] if fitting else 0, notes


# ---- the page -----------------------------------------------------------------------------------

def _cards(report: Report) -> str:
    t, m = report.totals, report.memory
    cards = [
        ("parameters", human(t.params), f"{int_text(t.params)} ({human(t.trainable_params)} trainable)"),
        ("MACs", human(t.macs), f"{int_text(t.macs)} multiply-accumulates"),
        ("FLOPs", human(t.flops), "2 per MAC + bias, norm, activations, pooling"),
        ("parameter memory", human_bytes(m.param_bytes + m.buffer_bytes), f"{m.dtype}, buffers included"),
        ("inference peak", human_bytes(m.inference_peak_bytes), "weights + largest set of live activations"),
        ("training estimate", human_bytes(m.training_bytes), f"weights, gradients, {m.optimizer} state, activations"),
        ("layers", f"{len(report.layers):,}", f"{sum(1 for s in report.layers if s.params):,} with weights"),
    ]
    return "".join(
        f'<div class="card"><div class="k">{html_text(k)}</div><div class="v">{html_text(v)}</div>'
        f'<div class="d">{html_text(d)}</div></div>' for k, v, d in cards
    )


CONVENTIONS = """
<ul>
<li><b>MACs</b>: multiply-accumulates of convolutions and linear layers (what torchvision's docs and
the ResNet paper call FLOPs; torch.utils.flop_counter counts 2 per MAC). <b>FLOPs</b>: 2 per MAC plus
bias additions, normalisation, activations and pooling.</li>
<li><b>params</b>: what <code>sum(p.numel() for p in model.parameters())</code> counts; BatchNorm's
running statistics (and Swin's or MaxViT's position index tables) are buffers, counted apart.</li>
<li><b>memory</b> (per layer): the layer's output activations for the whole batch, at the element
size of the dtype. Inference peak: weights + the largest set of activations alive at once when the
layers run in order; training estimate: weights + gradients + optimizer state + every activation.</li>
<li><b>RF</b>: the receptive field of one output unit, in input pixels (largest axis); 'global' after
global pooling or flatten.</li>
<li>Shapes include the batch axis in the table; graph nodes show one sample's shape.</li>
</ul>"""


def render_html(report: Report, bench: Mapping[str, Any] | None = None) -> str:
    """The whole report page."""
    svgs, labels, first, left_out = graphs(report)
    times = bench_times(bench, report)
    data = {
        "name": data_text(report.name), "layers": layer_rows(report), "totalMacs": report.totals.macs,
        "totalParams": report.totals.params, "totalMem": report.totals.activation_bytes,
        "input": list(report.input_shape[2:]), "bench": times, "first": first,
    }
    buttons = "".join(
        f'<button type="button" data-level="{k}"{" class=on" if k == first else ""}>{html_text(label)}</button>'
        for k, label in enumerate(labels)
    )
    bench_note = "" if times is None else (
        f'<p class="note">Measured: {html_text(str(times["matched"]))} layers timed'
        f'{" on " + html_text(times["device"]) if times["device"] else ""}'
        f'{", batch " + str(times["batch"]) if times["batch"] else ""}'
        f'{", whole net " + format(times["total"], ".3g") + " ms" if times["total"] else ""}'
        f'{"; " + str(times["unmatched"]) + " timed layers not in this spec" if times["unmatched"] else ""}.</p>'
    )
    title = f"{report.name} — cnncalc report"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{html_text(title)}</title>
<style>{_asset("report.css")}</style>
</head><body>
<header>
<h1>{html_text(report.name)}</h1>
<div class="meta">input {html_text(shape_text(report.input_shape))} · batch {report.batch} · {html_text(report.dtype)} ·
<span class="file">{html_text(report.file)}</span></div>
<div class="cards">{_cards(report)}</div>
</header>
<main>
<section class="graph-pane">
<div class="toolbar">
<span class="lbl">colour</span>
<span class="seg" id="metric"><button type="button" data-metric="macs" class="on">MACs</button><button type="button" data-metric="params">params</button><button type="button" data-metric="mem">memory</button></span>
<span class="lbl" title="one node per group of layers sharing the first N parts of their names (the number of nodes in brackets)">fold to depth</span><span class="seg" id="levels">{buttons}</span>
<span class="lbl">zoom</span><span class="seg" id="zoom"><button type="button" data-z="0.8">−</button><button type="button" data-z="fit" id="zoomval">fit</button><button type="button" data-z="1.25">+</button></span>
</div>
<div class="legend" id="legend"></div>
<div class="graph-scroll" id="graph">{"".join(svgs)}{"".join(f'<p class="note">{html_text(n)}</p>' for n in left_out)}</div>
</section>
<section class="side">
<div class="charts" id="charts"></div>
{bench_note}
<div class="table-wrap"><table id="layers"><thead></thead><tbody></tbody></table></div>
<details class="conventions"><summary>Conventions</summary>{CONVENTIONS}</details>
</section>
</main>
<footer>cnncalc {html_text(__version__)} · analytic counts from the spec, no model code run{"; times measured by cnncalc bench" if times else ""}</footer>
<script type="application/json" id="data">{script_json(data)}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""


def needs_bench_keys(run: Any) -> str | None:
    """Why a parsed ``--bench`` file cannot be used, or None."""
    if not isinstance(run, Mapping):
        return "not a JSON object"
    schema = run.get("schema")
    if not (isinstance(schema, str) and schema.startswith("cnncalc.bench/")):
        return f"not a cnncalc bench result (schema {schema!r}, expected 'cnncalc.bench/1')"
    if not isinstance(run.get("results"), list):
        return "no 'results' list"
    return None


__all__: Sequence[str] = ("bench_times", "html_text", "layer_rows", "needs_bench_keys", "render_html", "script_json")
