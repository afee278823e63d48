"""Every worked example in examples/ passes ``cnncalc check``: each spec ``NAME.yaml`` with its
``NAME.answers.yaml``, and each ``*.questions.yaml`` of calculator commands. The answers are the
lecture notes' numbers and formulas worked by hand (see the comments in each file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ANSWERS = sorted(EXAMPLES.glob("*/*.answers.yaml"))
QUESTIONS = sorted(EXAMPLES.glob("*/*.questions.yaml"))


def test_the_examples_are_there() -> None:
    assert len(ANSWERS) >= 8 and len(QUESTIONS) >= 2
    specs = [p for p in EXAMPLES.glob("*/*.yaml") if not p.name.endswith((".answers.yaml", ".questions.yaml"))]
    assert sorted(p.with_suffix(".answers.yaml") for p in specs) == ANSWERS  # every spec has answers


@pytest.mark.parametrize("answers", ANSWERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_spec_example_passes_check(answers: Path) -> None:
    spec = answers.with_name(answers.name.replace(".answers.yaml", ".yaml"))
    res = CliRunner().invoke(cli, ["check", str(spec), str(answers)])
    assert res.exit_code == 0, res.output
    assert "✗" not in res.stdout


@pytest.mark.parametrize("questions", QUESTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_questions_example_passes_check(questions: Path) -> None:
    res = CliRunner().invoke(cli, ["check", str(questions)])
    assert res.exit_code == 0, res.output
    assert "✗" not in res.stdout
