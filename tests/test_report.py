"""``cnncalc report`` (the HTML page, read without a browser) and ``cnncalc draw`` (the SVG diagram).

The page is parsed with the standard library's HTML parser; the references are the spec's own layer
list and hand-built hostile names. tests/test_report_browser.py looks at the page in Chromium.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest
from _support import ROOT, SPECS

import cnncalc
from cnncalc.render import draw as D
from cnncalc.render.html import bench_times, html_text, needs_bench_keys, render_html, script_json

HOSTILE = {
    "name": "net</title><script>alert(1)</script>",
    "input": [3, 16, 16],
    "layers": [
        {"conv": {"out": 4, "kernel": 3}, "name": "c1\"><img src=x onerror=alert(1)>"},
        {"relu": None, "name": "r</script><script>alert(2)</script>\u2028\x1b[31m"},
        {"conv": {"out": 2, "kernel": 1}, "name": "c3&amp;<!--"},
    ],
}


class Page(HTMLParser):
    """Tags, attributes, text and script bodies of a page, as a browser's tokenizer sees them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def googlenet():
    return cnncalc.analyze(SPECS / "googlenet.yaml")


@pytest.fixture(scope="module")
def page(googlenet):
    return Page(render_html(googlenet))


def test_self_contained(page) -> None:
    tags = [t for t, _ in page.tags]
    assert "link" not in tags and "img" not in tags and "iframe" not in tags
    assert all(not a.get("src") and not a.get("href") for _, a in page.tags)  # nothing fetched
    assert [a.get("type") for t, a in page.tags if t == "script"] == ["application/json", None]
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp.startswith("default-src 'none'")  # the browser refuses any request the page might make


def test_one_node_per_layer_at_the_finest_level(page, googlenet) -> None:
    svgs = [i for i, (t, a) in enumerate(page.tags) if t == "svg"]
    last = page.tags[svgs[-1]:]
    nodes = [a for t, a in last if t == "g" and "node" in (a.get("class") or "")]
    assert len(nodes) == len(googlenet.layers) + 1
    members = sorted(int(m) for a in nodes for m in (a["data-m"] or "").split(",") if m)
    assert members == list(range(len(googlenet.layers)))  # every layer in exactly one node
    assert len([1 for t, a in last if t == "path" and a.get("class") == "edge"]) == sum(
        len(s.inputs) for s in googlenet.layers)


def test_fold_levels_sum_to_the_totals(page, googlenet) -> None:
    starts = [i for i, (t, _) in enumerate(page.tags) if t == "svg"] + [len(page.tags)]
    assert len(starts) - 1 == 4  # depth 1, 2, 3 and every layer
    for a, b in pairwise(starts):
        nodes = [x for t, x in page.tags[a:b] if t == "g" and "node" in (x.get("class") or "")]
        assert sum(int(x["data-macs"] or 0) for x in nodes) == googlenet.totals.macs
        assert sum(int(x["data-params"] or 0) for x in nodes) == googlenet.totals.params


def test_data_block_matches_the_analysis(page, googlenet) -> None:
    data = json.loads(page.scripts[0])
    assert [row["name"] for row in data["layers"]] == [s.name for s in googlenet.layers]
    conv3 = next(r for r in data["layers"] if r["name"] == "conv3.conv")
    # 192 filters × 64 channels × 3×3, on a 56×56 output (the paper's table 1: 112K params, 360M ops)
    assert conv3["params"] == 192 * 64 * 9 and conv3["macs"] == 192 * 64 * 9 * 56 * 56
    assert data["totalMacs"] == 1_498_376_192 and data["totalParams"] == 6_624_904  # torchvision's published


def test_hostile_names_are_escaped() -> None:
    text = render_html(cnncalc.analyze(HOSTILE))
    p = Page(text)
    assert [t for t, _ in p.tags].count("script") == 2 and "img" not in [t for t, _ in p.tags]
    assert not any(k.startswith("on") for _, a in p.tags for k in a)
    data = json.loads(p.scripts[0])  # the JSON block survives whole, and holds the names as written
    assert [r["name"] for r in data["layers"]] == [
        'c1"><img src=x onerror=alert(1)>', "r</script><script>alert(2)</script>\\u2028\\x1b[31m", "c3&amp;<!--"]
    assert "</" not in p.scripts[0] and "\u2028" not in p.scripts[0] and "<!--" not in p.scripts[0]
    assert "\x1b" not in text
    assert "net</title><script>alert(1)</script>" in "".join(p.text)  # shown as text, not run


def test_escape_functions() -> None:
    assert html_text('<a href="x">&\x07') == "&lt;a href=&quot;x&quot;&gt;&amp;\\x07"
    assert script_json({"k": "</script>\u2029&"}) == '{"k":"\\u003c/script\\u003e\\u2029\\u0026"}'


BENCH = {
    "schema": "cnncalc.bench/1",
    "device": {"type": "cpu", "name": "Test CPU"},
    "results": [
        {"batch": 4, "dtype": "float32", "latency_ms": {"median": 99.0}},
        {"batch": 1, "dtype": "float32", "latency_ms": {"median": 12.5, "iqr": 0.3}, "layers": [
            {"name": "conv1.conv", "type": "conv", "latency_ms": {"median": 1.25}},
            {"name": "fc", "latency_ms": {"median": 0.5}},
            {"name": "not.in.spec", "latency_ms": {"median": 3.0}},
            {"name": "conv2.conv", "latency_ms": {"median": "fast"}},  # malformed: ignored
            "garbage",
        ]},
    ],
}


def test_bench_times_read_defensively(googlenet) -> None:
    t = bench_times(BENCH, googlenet)
    assert t is not None
    by_name = dict(zip([s.name for s in googlenet.layers], t["layers"], strict=True))
    assert by_name["conv1.conv"] == 1.25 and by_name["fc"] == 0.5 and by_name["conv2.conv"] is None
    assert (t["matched"], t["unmatched"], t["total"], t["batch"], t["device"]) == (2, 1, 12.5, 1, "Test CPU")
    assert bench_times({"schema": "cnncalc.bench/1", "results": []}, googlenet) is None
    assert needs_bench_keys([]) == "not a JSON object"
    assert "expected 'cnncalc.bench/1'" in (needs_bench_keys({"schema": "other"}) or "")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_report_cli_with_bench(tmp_path) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(BENCH))
    out = tmp_path / "g.html"
    r = run("report", "specs/googlenet.yaml", "-o", str(out), "--bench", str(bench), "-q")
    assert r.returncode == 0, r.stderr
    p = Page(out.read_text(encoding="utf-8"))
    assert json.loads(p.scripts[0])["bench"]["matched"] == 2
    assert "Measured: 2 layers timed on Test CPU, batch 1, whole net 12.5 ms; 1 timed layers not in this spec." in "".join(p.text)


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not JSON"),
    ('{"schema": "x", "results": []}', "not a cnncalc bench result"),
    ('{"schema": "cnncalc.bench/1"}', "no 'results' list"),
])
def test_report_cli_refuses_a_bad_bench_file(tmp_path, content: str, message: str) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(content)
    r = run("report", "specs/lenet5.yaml", "-o", str(tmp_path / "x.html"), "--bench", str(bench))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.html").exists()


def test_report_cli_default_name(tmp_path) -> None:
    r = run("report", str(SPECS / "lenet5.yaml"), cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "lenet5.html").exists()


# ---- draw ----------------------------------------------------------------------------------------

def test_draw_svg_is_xml_with_a_box_per_node(tmp_path) -> None:
    out = tmp_path / "g.svg"
    r = run("draw", "specs/googlenet.yaml", "--depth", "1", "-o", str(out))
    assert r.returncode == 0, r.stderr
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    rects = [e for e in root.iter(f"{ns}rect") if e.get("rx")]
    assert len(rects) == 21  # input + GoogLeNet's 20 top-level stages
    texts = [e.text for e in root.iter(f"{ns}text")]
    assert "inception4e" in texts and "192×28×28" in texts  # the tensor maxpool2 sends, on its edge


def test_draw_escapes_names() -> None:
    svg = D.to_svg(__import__("cnncalc.render.graph", fromlist=["build"]).build(cnncalc.analyze(HOSTILE)), HOSTILE["name"])
    root = ET.fromstring(svg)  # well-formed XML: no control character, no stray markup
    assert not [e for e in root.iter() if e.tag.endswith("script") or e.tag.endswith("img")]
    assert "c3&amp;<!--" in [e.text for e in root.iter("{http://www.w3.org/2000/svg}text")]


def test_draw_png_without_a_converter_says_how_to_get_one(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # import fails
    monkeypatch.setattr(D.shutil, "which", lambda name: None)
    with pytest.raises(D.DrawError, match=r"pip install cairosvg.*rsvg-convert.*\.svg"):
        D.convert("<svg/>", "png")


def test_draw_png_through_rsvg_convert(monkeypatch, tmp_path) -> None:
    """The converter is called with the format and the scale, the SVG on its standard input."""
    fake = tmp_path / "rsvg-convert"
    fake.write_text('#!/bin/sh\necho "$@"; cat\n')
    fake.chmod(0o755)
    monkeypatch.setitem(sys.modules, "cairosvg", None)
    monkeypatch.setattr(D.shutil, "which", lambda name: str(fake))
    assert D.convert("<svg/>", "png") == b"-f png -z 2.0\n<svg/>"
    assert D.convert("<svg/>", "pdf") == b"-f pdf\n<svg/>"


def test_draw_refuses_an_unknown_suffix(tmp_path) -> None:
    r = run("draw", "specs/lenet5.yaml", "-o", str(tmp_path / "net.gif"))
    assert r.returncode == 2 and "use .svg, .png or .pdf" in r.stderr


def test_draw_labels_read_like_the_papers_tables() -> None:
    """GoogLeNet's table 1 writes 'convolution 7×7/2' (64 filters) and 'max pool 3×3/2'."""
    from cnncalc.render.graph import build

    g = build(cnncalc.analyze(SPECS / "googlenet.yaml"))
    nodes = {n.id: n for n in g.nodes}
    assert D.brief(nodes["conv1.conv"]) == "conv 7×7/2, 64"
    assert D.brief(nodes["maxpool1"]) == "maxpool 3×3/2"
    assert D.brief(nodes["inception3a.branch2.1.conv"]) == "conv 3×3, 128"
    assert D.brief(nodes["fc"]) == "linear, 1000"
    # MobileNetV2's features.3: expand (conv, bn, relu6), depthwise (the same), project (conv, bn), add
    folded = {n.id: n for n in build(cnncalc.analyze(SPECS / "mobilenetv2.yaml"), 3).nodes}
    assert D.draw_label(folded["features.3.conv"]) == ("features.3.conv", "conv+bn+relu6 (8)")
    assert D.draw_label(build(cnncalc.analyze(SPECS / "mobilenetv2.yaml"), 2).nodes[4]) == ("features.3", "9 layers")
