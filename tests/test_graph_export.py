"""The layer graph (folded by name), its layout, and the DOT and Mermaid exports.

References are independent of the code: GoogLeNet's top-level structure as the paper draws it, edge
counts read off the spec's ``from`` lists, and the DOT/Mermaid grammars written out as regular
expressions that every emitted line must match, with hostile names that try to break out.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import pytest
from _support import ROOT, SPECS

import cnncalc
from cnncalc.render import graph as G

GOOGLENET_TOP = [
    "input", "conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
    "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4", "inception5a",
    "inception5b", "avgpool", "flatten", "dropout", "fc",
]
HOSTILE = {
    "name": 'evil"net\\',
    "input": [3, 8, 8],
    "layers": [
        {"conv": {"out": 4, "kernel": 3}, "name": 'a"];\n  x -> y [label="pwn'},
        {"relu": None, "name": "b<script>alert(1)</script>`#%%"},
        {"conv": {"out": 2, "kernel": 1}, "name": "c\x1b[2J|]"},
    ],
}


@pytest.fixture(scope="module")
def googlenet():
    return cnncalc.analyze(SPECS / "googlenet.yaml")


def test_every_layer_is_a_node_and_every_input_an_edge(googlenet) -> None:
    g = G.build(googlenet)
    assert [n.id for n in g.nodes] == ["input", *(s.name for s in googlenet.layers)]
    pairs = {(i, s.name) for s in googlenet.layers for i in s.inputs}
    assert {(e.src, e.dst) for e in g.edges} == pairs
    # an Inception module: one input fans out to 4 branches, and 4 branch ends meet in one concat
    assert len([e for e in g.edges if e.src == "maxpool2"]) == 4
    assert len([e for e in g.edges if e.dst == "inception3a.concat1"]) == 4


def test_depth_one_is_googlenet_as_the_paper_draws_it(googlenet) -> None:
    g = G.build(googlenet, depth=1)
    assert [n.id for n in g.nodes] == GOOGLENET_TOP
    assert [(e.src, e.dst) for e in g.edges] == list(itertools.pairwise(GOOGLENET_TOP))
    block = next(n for n in g.nodes if n.id == "inception3a")
    assert len(block.members) == 20 and block.folded  # 4 branches: 3+6+6+4 layers, and the concat
    assert block.shape == (1, 256, 28, 28)  # 64 + 128 + 32 + 32 channels (the paper's table 1)
    assert sum(n.params for n in g.nodes) == googlenet.totals.params
    assert sum(n.macs for n in g.nodes) == googlenet.totals.macs


def test_edges_carry_the_tensor_that_flows(googlenet) -> None:
    g = G.build(googlenet, depth=1)
    shapes = {(e.src, e.dst): e.shape for e in g.edges}
    assert shapes[("maxpool2", "inception3a")] == (1, 192, 28, 28)
    assert shapes[("inception4e", "maxpool4")] == (1, 832, 14, 14)


def test_layout_is_layered_and_boxes_do_not_overlap(googlenet) -> None:
    for depth in G.fold_levels(googlenet):
        lay = G.layout(G.build(googlenet, depth))
        for e, pts in lay.routes:  # every edge goes down
            a, b = lay.boxes[e.src], lay.boxes[e.dst]
            assert b.y > a.y and pts[0][1] == a.y + a.h and pts[-1][1] == b.y
        rows: dict[float, list[G.Placed]] = {}
        for p in lay.boxes.values():
            rows.setdefault(p.y, []).append(p)
        for row in rows.values():
            row.sort(key=lambda p: p.x)
            for a, b in itertools.pairwise(row):
                assert a.x + a.w / 2 < b.x - b.w / 2, (a.id, b.id)
        assert lay.crossings == 0
    full = G.layout(G.build(googlenet))
    branches = [full.boxes[f"inception3a.branch{i}.conv" if i == 1 else f"inception3a.branch{i}.0.conv"]
                for i in (1, 2, 3)]
    assert len({b.y for b in branches}) == 1  # branches side by side


def test_densenet_stays_narrow() -> None:
    """DenseNet-121 (427 layers, a skip edge around every dense layer) lays out as a column with a
    bypass, not a wide fan: readable when scrolled."""
    lay = G.layout(G.build(cnncalc.analyze(SPECS / "densenet121.yaml")))
    assert len(lay.boxes) == 428
    assert lay.width < 3 * max(p.w for p in lay.boxes.values())


DOT_LINE = re.compile(
    r'  "(?:[^"\\\n]|\\.)*" \[label="(?:[^"\\\n]|\\.)*"\];'
    r'|  "(?:[^"\\\n]|\\.)*" -> "(?:[^"\\\n]|\\.)*" \[label="(?:[^"\\\n]|\\.)*"\];'
)


def dot_statements(text: str) -> list[str]:
    lines = text.splitlines()
    assert lines[0].startswith("// ") and lines[1].startswith("digraph ") and lines[-1] == "}"
    assert "\n" not in lines[0][3:]
    return [line for line in lines[2:-1] if not re.fullmatch(r"  (rankdir|node|edge)\b.*;", line)]


def test_dot_grammar_and_escaping() -> None:
    g = G.build(cnncalc.analyze(HOSTILE))
    text = G.to_dot(g)
    for line in dot_statements(text):
        assert DOT_LINE.fullmatch(line), line
    assert text.splitlines()[1] == 'digraph "evil\\"net\\\\" {'
    assert '  "a\\"];\\\\n  x -> y [label=\\"pwn" [label="a\\"];\\\\n  x -> y [label=\\"pwn\\nconv · 4×6×6' in text
    assert "\x1b" not in text and "\\\\x1b[2J" in text
    assert len(dot_statements(text)) == 4 + 3  # input + 3 layers, 3 edges


def test_dot_of_googlenet_counts() -> None:
    report = cnncalc.analyze(SPECS / "googlenet.yaml")
    statements = dot_statements(G.to_dot(G.build(report)))
    assert all(DOT_LINE.fullmatch(s) for s in statements)
    assert sum(" -> " in s for s in statements) == sum(len(s.inputs) for s in report.layers) == 224
    assert '  "maxpool2" -> "inception3a.branch1.conv" [label="1×192×28×28"];' in statements


MERMAID_NODE = re.compile(r'  n\d+\["[^"<>`]*<br/>[^"<>`]*"\]')
MERMAID_EDGE = re.compile(r'  n\d+ -->\|"[^"<>`|]*"\| n\d+')


def test_mermaid_grammar_and_escaping() -> None:
    text = G.to_mermaid(G.build(cnncalc.analyze(HOSTILE)))
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    for line in lines[1:]:
        assert MERMAID_NODE.fullmatch(line) or MERMAID_EDGE.fullmatch(line), line
    assert "b#60;script#62;alert(1)#60;/script#62;#96;#35;#37;#37;" in text
    assert "\x1b" not in text and "%%" not in text
    assert sum("-->" in line for line in lines) == 3


def test_cli_formats_and_depth() -> None:
    def run(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "cnncalc", "summarize", *args], capture_output=True,
                              text=True, check=True, cwd=ROOT, timeout=120).stdout

    mermaid = run("specs/googlenet.yaml", "--format", "mermaid", "--depth", "1")
    assert mermaid.count("-->") == 20 and 'n6["inception3a<br/>20 layers · 256×28×28"]' in mermaid
    dot = run("specs/resnet18.yaml", "-f", "dot")
    assert dot.count(" -> ") == sum(len(s.inputs) for s in cnncalc.analyze(SPECS / "resnet18.yaml").layers)


def brute_crossings(order: list[list[str]], down: dict[str, list[str]]) -> int:
    total = 0
    for upper, lower in itertools.pairwise(order):
        pos = {v: i for i, v in enumerate(lower)}
        edges = [(i, pos[t]) for i, v in enumerate(upper) for t in down.get(v, ()) if t in pos]
        total += sum(1 for a in edges for b in edges if a[0] < b[0] and a[1] > b[1])
    return total


@pytest.mark.parametrize("seed", range(20))
def test_crossing_count_matches_brute_force(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    order = [[f"{r}.{i}" for i in range(rnd.randint(1, 7))] for r in range(5)]
    down: dict[str, list[str]] = {}
    for upper, lower in itertools.pairwise(order):
        for v in upper:
            down[v] = rnd.sample(lower, rnd.randint(0, len(lower)))
    assert G._crossings(order, down) == brute_crossings(order, down)


def test_a_graph_too_large_to_draw_is_refused_quickly() -> None:
    """400 layers in a chain, all concatenated at the end: 79,800 bends (400·399/2) for the long
    edges. The layout refuses before it allocates them; the report leaves that level out and says so."""
    from cnncalc.render.html import render_html

    spec = {"name": "skips", "input": [4, 8, 8], "layers": [
        *({"relu": None, "name": f"r{i}"} for i in range(400)),
        {"concat": None, "from": [f"r{i}" for i in range(400)], "name": "cat"},
    ]}
    report = cnncalc.analyze(spec)
    with pytest.raises(G.LayoutTooLarge, match="402 nodes and 79,800 edge bends are too many"):
        G.layout(G.build(report))
    assert "all (401): not drawn, 402 nodes and 79,800 edge bends" in render_html(report)
