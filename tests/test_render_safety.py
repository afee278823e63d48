"""Terminal, markup, CSV, Markdown and JSON safety of everything a spec writes (issue 8).

The expected texts are written by hand from the rules in cnncalc/render/safe.py: every control,
format or surrogate character appears as a visible escape, whitespace runs become one space, and
rich never interprets a name as markup or emoji.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from _support import ROOT
from click.testing import CliRunner
from rich.console import Console

from cnncalc.cli import cli
from cnncalc.render.safe import data_text, md_text, rich_text, term_text

HOSTILE = [
    "a\x1b[2Jb",  # clear screen
    "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "x\u202egnp.exe",  # right-to-left override
    "\x9b31mred",  # C1 CSI
    "del\x7f",
    "bell\x07",
    "zero\u200bwidth",
    "line\u2028sep",
]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("x\u202egnp.exe", "x\\u202egnp.exe"),
        ("\x9b31m", "\\x9b31m"),
        ("del\x7f", "del\\x7f"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("a\n\tb   c", "a b c"),
        ("line\u2028sep", "line sep"),
        ("\x1c", "\\x1c"),  # a control character that str.split counts as whitespace
        ("conv1.0", "conv1.0"),
        ("é ünïcode 名前", "é ünïcode 名前"),
    ],
)
def test_term_text(raw, shown):
    assert term_text(raw) == shown


def test_data_text_keeps_whitespace_visible_and_apart():
    assert data_text("a\nb") == "a\\nb"
    assert data_text("a b") == "a b"
    assert data_text("a\tb\x1b") == "a\\tb\\x1b"


def test_md_text_escapes_table_and_link_syntax():
    assert md_text("a|b") == "a\\|b"
    assert md_text("[x](http://evil)") == "\\[x\\]\\(http://evil\\)"
    assert md_text("<script>") == "\\<script\\>"


@pytest.mark.parametrize("name", ["[/bold]x", "[link=http://evil]click[/link]", ":thumbs_up:", "x\\", "[bold]"])
def test_rich_text_is_shown_literally(name):
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(rich_text(name))
    assert console.file.getvalue() == name + "\n"


def _write(tmp_path, name, extra=""):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\ninput: [3, 8, 8]\nlayers:\n"
        f"  - {{conv: {{out: 4, kernel: 3}}, name: {json.dumps(name)}}}\n"
        f"  - {{relu: null, name: {json.dumps(name + '2')}}}\n{extra}",
        encoding="utf-8",
    )
    return str(path)


def _run(*args):
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("name", ["[/bold]x", "[link=http://evil]click[/link]", ":thumbs_up:"])
@pytest.mark.parametrize("command", [["summarize"], ["rf"], ["explain"]])
def test_markup_in_names_is_shown_literally(tmp_path, name, command):
    code, out, err = _run(*command, _write(tmp_path, name))
    assert code == 0, err
    assert name in out


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize(
    "command", [["summarize"], ["summarize", "-f", "markdown"], ["summarize", "-f", "csv"], ["rf"], ["explain"]]
)
def test_no_raw_control_characters_reach_the_terminal(tmp_path, name, command):
    code, out, err = _run(*command, _write(tmp_path, name))
    assert code == 0, err
    for text in (out, err):
        bad = [c for c in text if c not in "\n" and (not c.isprintable())]
        assert not bad, (command, name, bad)
    assert any(f(name) in out for f in (term_text, data_text, md_text))


@pytest.mark.parametrize("name", HOSTILE)
def test_json_escapes_everything_and_round_trips(tmp_path, name):
    code, out, err = _run("summarize", "-f", "json", _write(tmp_path, name))
    assert code == 0, err
    assert all(c.isprintable() or c == "\n" for c in out)
    assert json.loads(out)["layers"][0]["name"] == name


def test_warnings_and_error_lines_are_one_safe_line(tmp_path):
    # a floored size gives a warning naming the layer; an unknown --layer gives an error naming it
    path = tmp_path / "w.yaml"
    path.write_text(
        'name: t\ninput: [3, 8, 8]\nlayers:\n  - {conv: {out: 4, kernel: 3, stride: 2}, name: "a\\nb\\x1b[31m"}\n'
    )
    code, _, err = _run("summarize", str(path))
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "a b\\x1b[31m" in lines[0]
    code, _, err = _run("rf", str(path), "--layer", "zz\x1b[2J")
    assert code == 2
    last = err.splitlines()[-1]
    assert last.startswith("error: ") and "\x1b" not in err and "zz\\x1b[2J" in last


def test_csv_inputs_keep_names_with_spaces_apart(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: t\ninput: [3, 8, 8]\nlayers:\n  - {relu: null, name: a b}\n  - {relu: null, name: c, from: input}\n"
        '  - {add: null, from: ["a b", c], name: "d,\\"e"}\n'
    )
    code, out, _ = _run("summarize", "-f", "csv", str(path))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert json.loads(rows[2]["inputs"]) == ["a b", "c"]
    assert rows[2]["name"] == 'd,"e'


def test_output_is_safe_in_the_c_locale(tmp_path):
    path = _write(tmp_path, "é\u202e")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": ""}
    env.pop("PYTHONUTF8", None)
    for args in (["summarize"], ["summarize", "-f", "csv"], ["rf"], ["explain"], ["summarize", "--layer-x"]):
        r = subprocess.run(
            [sys.executable, "-X", "utf8=0", "-m", "cnncalc", *args, path], capture_output=True, env=env, cwd=ROOT
        )
        assert b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")
        assert r.returncode in (0, 2)
        if r.returncode == 0:
            assert b"\\xe9" in r.stdout or b"\\u00e9" in r.stdout or b"\\u202e" in r.stdout
