"""The layer graph of a report, folded by name, laid out top to bottom; and its DOT and Mermaid texts.

The layout is a layered (Sugiyama-style) drawing computed here in pure Python, so that the HTML
report, ``cnncalc draw`` and the tests share one deterministic picture and need no Graphviz:

1. ranks: each node one rank below the lowest of its inputs (the longest path from the input);
2. an edge that spans several ranks runs through one virtual point per rank, so that it can bend
   around the nodes in between;
3. order within a rank: median/barycentre sweeps down and up, keeping the order with the fewest
   crossings;
4. x coordinates: each rank placed as close as it can get to its neighbours' centres, with the
   nodes' widths kept apart (a least-squares fit under order constraints: pool adjacent violators).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ..analysis import LayerStats, Report
from . import human, human_bytes, shape_text
from .safe import data_text, term_text

INPUT = "input"
CHAR_W = 7.0  # px per character of the 11 px bold name (generous, so that text fits)
SUB_W = 6.0  # px per character of the 10 px line under it
NODE_H = 38.0
RANK_GAP = 26.0
NODE_GAP = 18.0
DUMMY_W = 8.0
FOLD_MARK_W = 14.0  # room for the unfold mark of a folded node
MAX_POINTS = 30_000  # nodes + virtual points one layout may hold (a picture past this is unreadable)
SHORT = {"batchnorm": "bn", "adaptiveavgpool": "adaptive avgpool"}  # in a folded block's 'conv+bn+relu'


class LayoutTooLarge(ValueError):
    """A graph whose drawing would need more than MAX_POINTS nodes and bends."""


@dataclass(frozen=True)
class Node:
    """A layer, a folded group of layers, or the input. ``members`` are the layer names inside."""

    id: str
    type: str
    shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int
    members: tuple[str, ...]
    args: Mapping[str, Any] = field(default_factory=dict)  # a single layer's arguments

    @property
    def folded(self) -> bool:
        return len(self.members) > 1 or (len(self.members) == 1 and self.members[0] != self.id)


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    shape: tuple[int, ...]  # the tensor that flows along it


@dataclass(frozen=True)
class Graph:
    name: str
    depth: int | None
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def group_key(name: str, depth: int | None) -> str:
    return name if depth is None else ".".join(name.split(".")[:depth])


def build(report: Report, depth: int | None = None) -> Graph:
    """The graph of ``report``; with ``depth``, runs of consecutive layers sharing their first
    ``depth`` name parts become one node (as ``summarize --depth``)."""
    owner: dict[str, str] = {INPUT: INPUT}
    runs: list[tuple[str, str, list[LayerStats]]] = []  # (key, node id, members)
    seen: dict[str, int] = {}
    for s in report.layers:
        key = group_key(s.name, depth)
        if depth is not None and runs and runs[-1][0] == key:
            runs[-1][2].append(s)
        else:
            seen[key] = seen.get(key, 0) + 1
            runs.append((key, key if seen[key] == 1 else f"{key}#{seen[key]}", [s]))
        owner[s.name] = runs[-1][1]
    input_shape = report.input_shape
    nodes = [Node(INPUT, "input", input_shape, 0, 0, 0, ())]
    for _, nid, members in runs:
        last = members[-1]
        nodes.append(Node(
            nid, _kind(members), last.output_shape,
            sum(m.params for m in members), sum(m.macs for m in members),
            sum(m.activation_bytes for m in members), tuple(m.name for m in members),
            members[0].args if len(members) == 1 else {},
        ))
    shapes = {INPUT: input_shape, **{s.name: s.output_shape for s in report.layers}}
    edges: dict[tuple[str, str], Edge] = {}
    for s in report.layers:
        for i in s.inputs:
            a, b = owner[i], owner[s.name]
            if a != b and (a, b) not in edges:
                edges[(a, b)] = Edge(a, b, shapes[i])
    return Graph(report.name, depth, tuple(nodes), tuple(edges.values()))


def _kind(members: Sequence[LayerStats]) -> str:
    """'conv', 'conv+bn+relu' (up to three kinds, in order; '(8)' when there are more layers than
    kinds), or '20 layers'."""
    kinds = list(dict.fromkeys(m.type for m in members))
    if len(members) == 1:
        return kinds[0]
    if len(kinds) > 3:
        return f"{len(members)} layers"
    joined = "+".join(SHORT.get(k, k) for k in kinds)
    return joined if len(members) == len(kinds) else f"{joined} ({len(members)})"


def max_depth(report: Report) -> int:
    return max((s.name.count(".") + 1 for s in report.layers), default=1)


def fold_levels(report: Report, limit: int = 6) -> list[int | None]:
    """The depths that give distinct graphs, coarsest first, ending with every layer (None)."""
    levels: list[int | None] = []
    counts: set[int] = set()
    for d in range(1, min(max_depth(report), limit + 1)):
        n = len(build(report, d).nodes)
        if n not in counts and n < len(report.layers) + 1:
            levels.append(d)
            counts.add(n)
    return [*levels, None]


# ---- layout -------------------------------------------------------------------------------------

@dataclass
class Placed:
    id: str
    x: float  # centre
    y: float  # top
    w: float
    h: float
    dummy: bool = False


@dataclass
class Layout:
    graph: Graph
    boxes: dict[str, Placed]
    routes: list[tuple[Edge, list[tuple[float, float]]]]  # polyline from src bottom to dst top
    width: float
    height: float
    ranks: int = 0
    crossings: int = field(default=0)


def node_label(n: Node, shape: bool = True) -> tuple[str, str]:
    """Two lines: the name, then the type and (with ``shape``) the output shape without the batch axis."""
    text = shape_text(n.shape[1:]) if len(n.shape) > 1 else shape_text(n.shape)
    if n.id == INPUT:
        return "input", text
    return n.id, f"{n.type} · {text}" if shape else n.type


Labeller = Callable[[Node], Sequence[str]]


def node_width(n: Node, label: Labeller = node_label) -> float:
    """Wide enough for the bold name (CHAR_W a character) and the smaller lines under it."""
    name, *rest = label(n)
    text = max([CHAR_W * len(name), *(SUB_W * len(t) for t in rest)])
    return max(64.0, text + 16 + (FOLD_MARK_W if n.folded else 0))


def _ranks(g: Graph) -> dict[str, int]:
    preds: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    for e in g.edges:
        preds[e.dst].append(e.src)
    rank: dict[str, int] = {}
    for n in g.nodes:  # nodes are in a topological order (the spec's)
        rank[n.id] = 1 + max((rank[p] for p in preds[n.id]), default=-1)
    return rank


def _crossings(order: list[list[str]], down: dict[str, list[str]]) -> int:
    """Edge crossings between consecutive ranks: inversions of the lower ends taken in the order of
    the upper ends, counted with a Fenwick tree (E log V per pair of ranks)."""
    total = 0
    for upper, lower in pairwise(order):
        pos = {v: i for i, v in enumerate(lower)}
        tree = [0] * (len(lower) + 1)
        seen = 0
        for v in upper:
            ends = sorted(pos[t] for t in down.get(v, ()) if t in pos)
            for e in ends:  # ends already counted that lie to the right of e cross this edge
                i, below = e + 1, 0
                while i > 0:
                    below += tree[i]
                    i -= i & -i
                total += seen - below
            for e in ends:
                i = e + 1
                while i < len(tree):
                    tree[i] += 1
                    i += i & -i
                seen += 1
    return total


def _sweep(order: list[list[str]], adj: dict[str, list[str]], ranks: range) -> None:
    for r in ranks:
        prev = {v: i for i, v in enumerate(order[r - 1] if ranks.step > 0 else order[r + 1])}
        keyed = []
        for i, v in enumerate(order[r]):
            ps = sorted(prev[u] for u in adj.get(v, ()) if u in prev)
            keyed.append((ps[len(ps) // 2] * 1.0 if len(ps) % 2 else (sum(ps[len(ps) // 2 - 1:len(ps) // 2 + 1]) / 2 if ps else i), i, v))
        order[r] = [v for _, _, v in sorted(keyed)]


def _order(layers: list[list[str]], up: dict[str, list[str]], down: dict[str, list[str]]) -> list[list[str]]:
    best = [list(r) for r in layers]
    best_c = _crossings(best, down)
    order = [list(r) for r in layers]
    for _ in range(6 if best_c else 0):
        _sweep(order, up, range(1, len(order)))
        _sweep(order, down, range(len(order) - 2, -1, -1))
        c = _crossings(order, down)
        if c < best_c:
            best, best_c = [list(r) for r in order], c
        if best_c == 0:
            break
    return best


def _pav(desired: list[float], weights: list[float]) -> list[float]:
    """Least squares fit of a non-decreasing sequence (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for d, w in zip(desired, weights, strict=True):
        blocks.append([d, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for m, _, c in blocks:
        out += [m] * int(c)
    return out


def _place_rank(row: list[Placed], desired: list[float], weights: list[float]) -> None:
    offsets = [0.0]
    for a, b in pairwise(row):
        offsets.append(offsets[-1] + (a.w + b.w) / 2 + NODE_GAP)
    fitted = _pav([d - o for d, o in zip(desired, offsets, strict=True)], weights)
    for p, f, o in zip(row, fitted, offsets, strict=True):
        p.x = f + o


def _coordinates(order: list[list[str]], boxes: dict[str, Placed], up: dict[str, list[str]],
                 down: dict[str, list[str]], origin: dict[str, str], target: dict[str, str]) -> None:
    for row in order:  # packed from the left, centred on 0
        x = 0.0
        for v in row:
            boxes[v].x = x + boxes[v].w / 2
            x += boxes[v].w + NODE_GAP
        for v in row:
            boxes[v].x -= x / 2

    def settle(rows: Sequence[int], adj: dict[str, list[str]]) -> None:
        ends = origin if adj is up else target
        for r in rows:
            row = [boxes[v] for v in order[r]]
            desired, weights = [], []
            for p in row:
                # a real node is pulled by the real nodes at the far ends of its edges (a long edge's
                # virtual points step aside), so a main path stays straight and a skip connection
                # bends around it; virtual points follow their neighbours and give way to nodes
                ns = [boxes[u].x if p.dummy else boxes[ends[u]].x for u in adj.get(p.id, ())]
                desired.append(sum(ns) / len(ns) if ns else p.x)
                weights.append((0.02 if p.dummy else 1.0) * (1.0 if ns else 0.05))
            _place_rank(row, desired, weights)

    for _ in range(4):
        settle(range(1, len(order)), up)
        settle(range(len(order) - 2, -1, -1), down)
    settle(range(1, len(order)), up)


def layout(g: Graph, rank_gap: float = RANK_GAP, label: Labeller = node_label) -> Layout:
    """Boxes (sized to the lines ``label`` gives) and edge routes of ``g``, top to bottom."""
    rank = _ranks(g)
    points = len(g.nodes) + sum(max(0, rank[e.dst] - rank[e.src] - 1) for e in g.edges)
    if points > MAX_POINTS:
        raise LayoutTooLarge(
            f"{len(g.nodes):,} nodes and {points - len(g.nodes):,} edge bends are too many to draw "
            f"(at most {MAX_POINTS:,}); fold the graph by name depth"
        )
    boxes = {n.id: Placed(n.id, 0.0, 0.0, node_width(n, label), NODE_H) for n in g.nodes}
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    chains: list[tuple[Edge, list[str]]] = []
    for k, e in enumerate(g.edges):
        path = [e.src]
        for r in range(rank[e.src] + 1, rank[e.dst]):
            d = f"\x00{k}.{r}"
            boxes[d] = Placed(d, 0.0, 0.0, DUMMY_W, NODE_H, dummy=True)
            rank[d] = r
            path.append(d)
        path.append(e.dst)
        for a, b in pairwise(path):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
        chains.append((e, path))
    n_ranks = max(rank.values(), default=0) + 1
    layers: list[list[str]] = [[] for _ in range(n_ranks)]
    for v in boxes:  # nodes first in spec order, then the virtual points edge by edge
        layers[rank[v]].append(v)
    order = _order(layers, up, down)
    origin = {v: v for v in boxes} | {d: e.src for e, path in chains for d in path[1:-1]}
    target = {v: v for v in boxes} | {d: e.dst for e, path in chains for d in path[1:-1]}
    _coordinates(order, boxes, up, down, origin, target)
    left = min(p.x - p.w / 2 for p in boxes.values())
    for p in boxes.values():
        p.x -= left
        p.y = rank[p.id] * (NODE_H + rank_gap)
    routes = []
    for e, path in chains:
        top, end = boxes[path[0]], boxes[path[-1]]
        pts = [(top.x, top.y + top.h), *((boxes[d].x, boxes[d].y + NODE_H / 2) for d in path[1:-1]), (end.x, end.y)]
        routes.append((e, pts))
    width = max((p.x + p.w / 2 for p in boxes.values()), default=0.0)
    height = n_ranks * (NODE_H + rank_gap) - rank_gap
    real = {k: v for k, v in boxes.items() if not v.dummy}
    return Layout(g, real, routes, width, height, n_ranks, _crossings(order, down))


def path_d(pts: Sequence[tuple[float, float]]) -> str:
    """An SVG path through the points: vertical cubic curves between consecutive points."""
    (x0, y0), rest = pts[0], pts[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    px, py = x0, y0
    for x, y in rest:
        my = (py + y) / 2
        d.append(f"C{px:.1f},{my:.1f} {x:.1f},{my:.1f} {x:.1f},{y:.1f}")
        px, py = x, y
    return "".join(d)


# ---- DOT and Mermaid ----------------------------------------------------------------------------

def dot_id(s: str) -> str:
    """A DOT double-quoted string of one spec string: control characters and line breaks shown
    visibly (``\\x1b``, ``\\n`` as text), then backslash and quote escaped."""
    return '"' + _dot_escape(s) + '"'


def _dot_escape(s: str) -> str:
    return data_text(s).replace("\\", "\\\\").replace('"', '\\"')


def dot_label(lines: Sequence[str]) -> str:
    """Several strings as one DOT label, each escaped, on lines of their own (DOT's ``\\n``)."""
    return '"' + "\\n".join(map(_dot_escape, lines)) + '"'


_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,:+\-×·/@=()?!'~]")


def mermaid_text(s: str) -> str:
    """Text for a Mermaid label in double quotes: every character outside a small safe set is
    written as a Mermaid entity code (``#35;`` for ``#``), so quotes, brackets, backticks, HTML
    and control characters cannot end the label or reach the page as markup."""
    return "".join(ch if _MERMAID_SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in data_text(s))


def _stats(n: Node) -> str:
    return f"{human(n.params)} params, {human(n.macs)} MACs, {human_bytes(n.activation_bytes)}"


def to_dot(g: Graph) -> str:
    lines = [
        f"// {term_text(g.name)}: generated by cnncalc summarize --format dot",
        f"digraph {dot_id(g.name)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#667085"];',
    ]
    for n in g.nodes:
        text = [*node_label(n), *([] if n.id == INPUT else [_stats(n)])]
        lines.append(f"  {dot_id(n.id)} [label={dot_label(text)}];")
    for e in g.edges:
        lines.append(f"  {dot_id(e.src)} -> {dot_id(e.dst)} [label={dot_id(shape_text(e.shape))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(g: Graph) -> str:
    ids: dict[str, str] = {n.id: f"n{i}" for i, n in enumerate(g.nodes)}
    lines = ["flowchart TB"]
    for n in g.nodes:
        name, sub = node_label(n)
        label = f"{mermaid_text(name)}<br/>{mermaid_text(sub)}"
        lines.append(f'  {ids[n.id]}["{label}"]')
    for e in g.edges:
        lines.append(f'  {ids[e.src]} -->|"{mermaid_text(shape_text(e.shape))}"| {ids[e.dst]}')
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[Graph], str]] = {"dot": to_dot, "mermaid": to_mermaid}
