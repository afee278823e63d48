"""docs/homework.md and the README's "For students" section show real output: every example there
that runs on files in the repository is run again and must print exactly what the page shows.
(A golden test of the rendering; the numbers themselves are tested in test_homework.py.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def examples(page: Path) -> list[tuple[str, str]]:
    """(command, output) for each `$ cnncalc …` in the page's console blocks."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(), re.S):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            if not chunk.startswith("$ cnncalc "):
                continue
            command, _, text = chunk.partition("\n")
            out.append((command[len("$ cnncalc "):], text))
    return out


def runnable(command: str) -> bool:
    """Commands whose files are all in the repository (not a reader's homework.yaml)."""
    words = shlex.split(command)
    files = [w for w in words if w.endswith((".yaml", ".csv"))]
    return all((ROOT / f).is_file() for f in files)


CASES = [
    pytest.param(cmd, text, id=f"{page.name}:{cmd[:50]}")
    for page in (ROOT / "docs" / "homework.md", ROOT / "README.md")
    for cmd, text in examples(page)
    if cmd.split()[0] in ("conv", "pool", "solve", "chain", "apply", "check") and runnable(cmd)
]


def test_the_pages_have_examples() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize(("command", "shown"), CASES)
def test_page_shows_real_output(command: str, shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    res = CliRunner().invoke(cli, shlex.split(command))
    lines = shown.rstrip("\n").splitlines()
    if any(line.strip() == "…" for line in lines):  # shortened on the page: the lines shown appear in order
        got = iter(res.output.splitlines())
        assert all(any(line == g for g in got) for line in lines if line.strip() != "…"), res.output
    else:
        assert res.output.rstrip("\n").splitlines() == lines
