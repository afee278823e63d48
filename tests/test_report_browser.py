"""The HTML report as a person sees it: headless Chromium opens the file (no network), and the test
asserts one graph node per layer, the charts drawn, and that a real mouse click on a node highlights
that layer's row in the table. A screenshot is saved for people to look at.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages
ending in NUL on file descriptors 3 and 4), so no driver, websocket library or port is needed.
Skipped with "no chromium" where no Chromium is installed (Debian: ``apt-get install chromium``).

``python tests/test_report_browser.py SPEC.yaml OUT.png [HASH]`` takes a screenshot by hand (the
README's docs/img/report.png is made this way).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--remote-debugging-pipe",
)


def chromium() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


class Browser:
    """A headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, exe: str, width: int = 1600, height: int = 1000):
        self.profile = tempfile.mkdtemp(prefix="cnncalc-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def fds() -> None:  # in the child: the protocol's descriptors 3 (commands) and 4 (replies)
            os.dup2(cmd_r, 3)
            os.dup2(resp_w, 4)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, pass_fds=(3, 4), close_fds=True,
        )
        os.close(cmd_r)
        os.close(resp_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._resp_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def open(self, url: str, timeout: float = 60) -> None:
        self.events = []
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._read(deadline))

    def js(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._resp_r)
        shutil.rmtree(self.profile, ignore_errors=True)


def write_report(spec: str, out: Path) -> None:
    subprocess.run([sys.executable, "-m", "cnncalc", "report", "-q", f"specs/{spec}", "-o", str(out)],
                   check=True, timeout=120, capture_output=True, cwd=ROOT)


@pytest.fixture(scope="module")
def browser():
    exe = chromium()
    if exe is None:
        pytest.skip("no chromium: install it to run the browser test (Debian: apt-get install chromium)")
    b = Browser(exe)
    yield b
    b.close()


@pytest.fixture(scope="module")
def googlenet_page(browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "googlenet.html"
    write_report("googlenet.yaml", out)
    browser.open(out.as_uri())
    return browser


def test_one_graph_node_per_layer(googlenet_page) -> None:
    b = googlenet_page
    layers = b.js("JSON.parse(document.getElementById('data').textContent).layers.map(l => l.name)")
    assert len(layers) == 197
    b.js("document.querySelector('#levels button:last-child').click()")
    shown = b.js("Array.from(document.querySelectorAll('svg.graph.on g.node')).map(g => g.querySelector('.nm').textContent)")
    assert shown == ["input", *layers]  # one node per layer, and the input
    assert b.js("document.querySelectorAll('svg.graph.on path.edge').length") == 224  # the spec's inputs
    box = b.js("(() => { const r = document.querySelector('svg.graph.on').getBoundingClientRect(); return [r.width, r.height]; })()")
    assert box[0] > 300 and box[1] > 3000  # drawn, not collapsed to nothing


def test_charts_are_drawn(googlenet_page) -> None:
    b = googlenet_page
    titles = b.js("Array.from(document.querySelectorAll('.chart h3')).map(h => h.firstChild.textContent.trim())")
    assert titles == ["MACs", "parameters", "activation memory", "receptive field"]
    bars = b.js("Array.from(document.querySelectorAll('.chart svg')).map(s => s.querySelectorAll('rect.bar').length)")
    assert bars == [197, 197, 197, 0]
    heights = b.js("Array.from(document.querySelectorAll('.chart')[0].querySelectorAll('rect.bar')).map(r => +r.getAttribute('height'))")
    assert max(heights) > 50 and heights.count(0) > 50  # conv3.conv is the tallest; relus, norms have no MACs
    assert b.js("document.querySelector('.chart polyline.rfline').getAttribute('points').split(' ').length") > 150


def test_clicking_a_node_highlights_its_row(googlenet_page) -> None:
    b = googlenet_page
    b.js("document.querySelectorAll('#levels button')[2].click()")  # depth 3: conv+bn+relu as blocks
    target = "inception4a.branch2.1"
    xy = b.js(f"""(() => {{
        const g = Array.from(document.querySelectorAll('svg.graph.on g.node'))
            .find(g => g.querySelector('.nm').textContent === {json.dumps(target)});
        g.scrollIntoView({{block: 'center'}});
        const r = g.querySelector('rect').getBoundingClientRect();
        return [r.left + r.width / 3, r.top + r.height / 2];
    }})()""")
    b.click(*xy)
    selected = b.js("Array.from(document.querySelectorAll('#layers tbody tr.sel')).map(tr => tr.children[1].textContent)")
    assert selected == [f"{target}.conv", f"{target}.bn", f"{target}.relu"]
    assert b.js("document.querySelectorAll('svg.graph.on g.node.sel').length") == 1
    visible = b.js("""(() => { const w = document.querySelector('.table-wrap').getBoundingClientRect();
        const r = document.querySelector('#layers tbody tr.sel').getBoundingClientRect();
        return r.top >= w.top && r.bottom <= w.bottom; })()""")
    assert visible  # scrolled into view in the table


def node_centre(b: Browser, name: str, part: str = "rect") -> list[float]:
    return b.js(f"""(() => {{
        const g = Array.from(document.querySelectorAll('svg.graph.on g.node'))
            .find(g => g.querySelector('.nm').textContent === {json.dumps(name)});
        g.scrollIntoView({{block: 'center'}});
        const r = g.querySelector({json.dumps(part)}).getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];
    }})()""")


def test_unfold_and_fold_a_block(googlenet_page) -> None:
    b = googlenet_page
    b.js("document.querySelectorAll('#levels button')[0].click()")  # depth 1: inception modules folded
    b.click(*node_centre(b, "inception4b", ".unfold"))
    assert b.js("window.cnncalcReport.level()") == 1  # depth 2: its branches are nodes now
    selected = b.js("window.cnncalcReport.selected()")
    names = b.js("JSON.parse(document.getElementById('data').textContent).layers.map(l => l.name)")
    assert [names[i] for i in selected] == [n for n in names if n.startswith("inception4b.")]  # its 20 layers
    x, y = node_centre(b, "inception4b.branch3")
    b.call("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", clickCount=2)
    b.call("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", clickCount=2)
    assert b.js("window.cnncalcReport.level()") == 0  # double-click folds back to depth 1


def test_sorting_and_colour_switch(googlenet_page) -> None:
    b = googlenet_page
    b.js("Array.from(document.querySelectorAll('#layers th')).find(th => th.textContent === 'params').click()")
    top = b.js("Array.from(document.querySelectorAll('#layers tbody tr')).slice(0, 2).map(tr => tr.children[1].textContent)")
    assert top == ["fc", "inception5b.branch2.1.conv"]  # 1,025,000 and 384·192·9 = 663,552 parameters
    before = b.js("document.querySelector('svg.graph.on g.node:not(.input) rect').style.fill")
    b.js("document.querySelector('#metric button[data-metric=params]').click()")
    assert b.js("document.querySelector('#legend').textContent").startswith("params: 0")
    assert b.js("document.querySelector('svg.graph.on g.node:not(.input) rect').style.fill") != before


def test_screenshot_of_densenet(browser, tmp_path) -> None:
    out = tmp_path / "densenet121.html"
    write_report("densenet121.yaml", out)
    browser.open(out.as_uri())
    assert browser.js("document.querySelectorAll('tbody tr').length") == 427
    assert browser.js("document.querySelectorAll('svg.graph.on g.node').length") <= 81  # a readable first view
    png = tmp_path / "densenet121.png"
    browser.screenshot(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000


if __name__ == "__main__":  # python tests/test_report_browser.py SPEC.yaml OUT.png [HASH] [WxH]
    spec, png = sys.argv[1], Path(sys.argv[2])
    frag = sys.argv[3] if len(sys.argv) > 3 else ""
    w, h = map(int, (sys.argv[4] if len(sys.argv) > 4 else "1600x1000").split("x"))
    exe = chromium()
    if exe is None:
        sys.exit("no chromium")
    with tempfile.TemporaryDirectory() as d:
        page = Path(d) / "report.html"
        write_report(spec, page)
        br = Browser(exe, w, h)
        try:
            br.open(page.as_uri() + (f"#{frag}" if frag else ""))
            time.sleep(0.5)
            br.screenshot(png)
        finally:
            br.close()
