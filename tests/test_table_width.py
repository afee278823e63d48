"""The summarize table at 60, 80, 120 and 200 columns: golden files of the rendered text (as torchinfo
keeps), and the promises checked directly: no line wider than the terminal, every layer name there
(folded, never dropped), no number cut, and a footer naming the columns left out.

Regenerate the golden files after an intended change with ``CNNCALC_UPDATE_GOLDEN=1 pytest
tests/test_table_width.py`` and read the diff.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import cnncalc
from cnncalc.render import human, shape_text
from cnncalc.render.table import COLUMNS, parse_columns, render

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
WIDTHS = (60, 80, 120, 200)
CASES = {  # golden name: (spec, options)
    "googlenet": ("googlenet", {}),
    "vgg16": ("vgg16", {}),
    "resnet18_depth1": ("resnet18", {"depth": 1}),
    "resnet50_depth2_sort_macs": ("resnet50", {"depth": 2, "sort": "macs"}),
}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# rich reads these to decide whether output is a terminal and how wide it is: the tests set their own
RICH_ENV = ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM")


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in RICH_ENV}, **extra}


def rendered(spec: str, width: int, **kw) -> str:
    buf = io.StringIO()
    console = Console(width=width, file=buf, force_terminal=True, color_system=None, legacy_windows=False)
    render(cnncalc.analyze(ROOT / "specs" / f"{spec}.yaml"), console=console, **kw)
    return tidy(buf.getvalue())


def tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in ANSI.sub("", text).splitlines()) + "\n"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("CNNCALC_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with CNNCALC_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, width: int) -> None:
    spec, kw = CASES[case]
    check_golden(f"summarize_{case}_{width}", rendered(spec, width, **kw))


def body_rows(text: str) -> list[str]:
    """The table's body lines (between the rule under the header and the blank line before the total)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"}) + 1
    end = lines.index("", start)
    return lines[start:end]


@pytest.mark.parametrize(("spec", "width"), [*(("googlenet", w) for w in WIDTHS), ("densenet121", 60)])
def test_fits_and_keeps_names_and_numbers(spec: str, width: int) -> None:
    report = cnncalc.analyze(ROOT / "specs" / f"{spec}.yaml")
    text = rendered(spec, width)
    assert max(len(line) for line in text.splitlines()) <= width
    header = text.splitlines()[2]
    rows = iter(body_rows(text))
    for s in report.layers:  # each layer's first line holds the start of its name and every number whole
        line = next(rows)
        name_cell = line[2:].split("  ")[0]
        assert s.name.startswith(name_cell) and name_cell, (s.name, line)
        assert f" {shape_text(s.output_shape)} " in line + " "
        assert f" {human(s.params)} " in line + " "
        if "MACs" in header:
            assert f" {human(s.macs) if s.macs else '—'} " in line + " "
        rest = s.name[len(name_cell):]
        while rest:  # the folded remainder of a long name, on the next lines
            line = next(rows)
            part = line[2:].split("  ")[0]
            assert part and rest.startswith(part), (s.name, line)
            rest = rest[len(part):]
    assert next(rows, None) is None


def test_narrow_terminal_says_what_is_hidden() -> None:
    text = rendered("googlenet", 80)
    assert "hidden to fit 80 columns: type, memory, RF." in text
    assert "--columns" in text and "--format csv" in text
    assert "hidden" not in rendered("googlenet", 200)


def test_explicit_columns_in_order_even_past_the_width() -> None:
    text = rendered("vgg16", 60, columns=parse_columns("rf,params,type"))
    header = text.splitlines()[2].split()
    assert header == ["layer", "RF", "params", "type"]
    assert "hidden" not in text
    assert "  fc8 " in text and "global" in text


def test_unknown_column_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="unknown column 'flops'; expected some of name, type"):
        parse_columns("name,flops")
    assert parse_columns("output,layer,macs%") == ("name", "shape", "share")
    assert set(COLUMNS) == {"name", "type", "shape", "params", "macs", "share", "memory", "rf"}


def test_sort_puts_the_costliest_first() -> None:
    report = cnncalc.analyze(ROOT / "specs" / "vgg16.yaml")
    text = rendered("vgg16", 200, sort="params")
    names = [line.split()[0] for line in body_rows(text)]
    by_params = sorted(report.layers, key=lambda s: -s.params)
    assert names[:3] == ["fc6", "fc7", "fc8"]  # 102.76 M, 16.78 M, 4.10 M (VGG-16's classifier)
    assert [report.layer(n).params for n in names] == [s.params for s in by_params]


def cli(args: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True, env=clean_env(**env),
        timeout=120, cwd=ROOT, check=True,
    )
    return tidy(out.stdout)


def test_piped_output_honours_columns() -> None:
    assert cli(["summarize", "specs/googlenet.yaml"], {"COLUMNS": "80"}) == rendered("googlenet", 80)


def test_piped_output_without_columns_has_every_column() -> None:
    env = clean_env()
    out = subprocess.run(
        [sys.executable, "-m", "cnncalc", "summarize", "specs/googlenet.yaml"], capture_output=True, text=True,
        env=env, timeout=120, cwd=ROOT, check=True,
    ).stdout
    assert tidy(out) == rendered("googlenet", 200)


def test_real_pseudo_terminal_60_columns() -> None:
    """The command on a pseudo-terminal of 60 columns prints what the golden file holds."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 60, 0, 0))
    env = clean_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", "summarize", "specs/googlenet.yaml"], stdout=slave,
        stderr=subprocess.DEVNULL, cwd=ROOT, env={**env, "TERM": "xterm"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    text = tidy(b"".join(chunks).decode().replace("\r\n", "\n"))
    assert text == (GOLDEN / "summarize_googlenet_60.txt").read_text(encoding="utf-8")


# ---- the rf table ---------------------------------------------------------------------------------

def rf_rendered(spec: str, width: int) -> str:
    from cnncalc.render.rf import render as render_rf
    from cnncalc.rf_trace import trace

    buf = io.StringIO()
    console = Console(width=width, file=buf, force_terminal=True, color_system=None, legacy_windows=False)
    render_rf(trace(cnncalc.analyze(ROOT / "specs" / f"{spec}.yaml")), console=console)
    return tidy(buf.getvalue())


@pytest.mark.parametrize("width", WIDTHS)
def test_rf_golden(width: int) -> None:
    check_golden(f"rf_googlenet_{width}", rf_rendered("googlenet", width))


@pytest.mark.parametrize("width", [60, 80])
def test_rf_keeps_names_and_whole_values(width: int) -> None:
    """The rf table in a narrow terminal: the layer column stays, 112×112 is never cut to '112×11',
    and the columns left out are named."""
    from cnncalc.render.rf import cells
    from cnncalc.rf_trace import trace

    text = rf_rendered("vgg16", width)
    assert max(len(line) for line in text.splitlines()) <= width
    rows = body_rows(text)
    t = trace(cnncalc.analyze(ROOT / "specs" / "vgg16.yaml"))
    assert len(rows) == len(t.rows)
    for g, line in zip(t.rows, rows, strict=True):
        words = line.split()
        assert words[0] == g.name
        assert ("×".join(map(str, g.spatial)) or "—") in words  # the output size whole (112×112, 7×7)
        assert cells(g)[0] in words  # the field size whole (212, global)
    assert "hidden to fit" in text and "--format json" in text


def test_cli_columns_and_sort() -> None:
    out = cli(["summarize", "specs/vgg16.yaml", "--columns", "params,macs", "--sort", "macs"], {"COLUMNS": "60"})
    lines = out.splitlines()
    assert lines[0].endswith("sorted by macs") and lines[2].split() == ["layer", "params", "MACs"]
    # 64·64·9·224² = 1.85 G MACs, tied with conv2_2, conv3_2, … (128·128·9·112², …): ties keep the net's order
    assert lines[4].split()[0] == "conv1_2"
    bad = subprocess.run([sys.executable, "-m", "cnncalc", "summarize", "specs/vgg16.yaml", "--columns", "name,flops"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "unknown column 'flops'" in bad.stderr
