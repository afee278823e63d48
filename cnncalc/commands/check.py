"""``cnncalc check``: mark a student's answers (exit 0 all right, 1 any wrong, 2 a bad file)."""

from __future__ import annotations

import json
import shlex
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..analysis import DTYPES, analyze
from ..errors import Loc, SpecError
from ..homework import UsageError
from ..homework.answers import Mark, Question, mark_all, mark_value, read_answers, read_questions
from ..homework.chain import analyze_chain
from ..render import human_bytes
from ..render.safe import term_text
from ..spec.loader import read_text
from . import apply as apply_mod
from . import calc
from .common import batch_option, fail, show_warnings, spec_source

# The commands a questions file may run, each with the function that gives its JSON data.
RUNNABLE: dict[str, tuple[click.Command, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "conv": (calc.conv, calc.conv_data),
    "pool": (calc.pool, calc.pool_data),
    "solve": (calc.solve, calc.solve_data),
}


@click.command()
@click.argument("spec", metavar="SPEC.yaml")
@click.argument("answers", required=False, metavar="ANSWERS.yaml")
@batch_option
@click.option("--dtype", type=click.Choice(list(DTYPES)), default="float32", show_default=True,
              help="Element type for memory answers.")
@calc.FORMAT
def check(spec: str, answers: str | None, batch: int, dtype: str, fmt: str) -> None:
    """Mark the answers in ANSWERS.yaml against SPEC.yaml: ✓ or ✗ for each, with the right value
    and its arithmetic for every ✗. Exit 0 when all are right, 1 when any is wrong.

    \b
    ANSWERS.yaml maps layer names (or total) to claimed values:
      conv1: {shape: [6, 28, 28], params: 156}
      pool1: {size: 14}
      total: {params: 60k, tolerance: 5%}
    Fields: shape, size, params, macs, flops, rf, memory; a tolerance per
    entry or for the whole file.

    \b
    With one file: a list of calculator questions, each marked by the JSON
    output of its command:
      - run: conv 7 3 --stride 3
        expect: {size: 2, exact: 7/3}
    """
    try:
        if answers is None:
            marks, key = _questions(spec), "question"
        else:
            marks, key = _spec_answers(spec, answers, batch, dtype), "layer"
    except SpecError as e:
        fail(str(e))
    if fmt == "json":
        records = [m.to_dict(key) for m in marks]
        right = sum(m.right for m in marks)
        click.echo(json.dumps({"answers": records, "right": right, "wrong": len(marks) - right},
                              indent=2))  # ASCII: json escapes every unsafe character of the answers
    else:
        for line in mark_lines(marks):
            click.echo(line)
    raise SystemExit(0 if all(m.right for m in marks) else 1)


def _answers_text(path: str) -> str:
    try:
        return read_text(path)
    except SpecError as e:
        raise SpecError(e.message.replace("a YAML spec", "a YAML answers file"), e.loc) from None


def _spec_answers(spec: str, answers: str, batch: int, dtype: str) -> list[Mark]:
    claims = read_answers(_answers_text(answers), answers)
    report = analyze(spec_source(spec), batch, dtype=dtype)
    show_warnings(report)
    return mark_all(report, claims)


def _questions(path: str) -> list[Mark]:
    base = Path(path).parent
    marks: list[Mark] = []
    for q in read_questions(_answers_text(path), path):
        marks += _question(q, base)
    return marks


def _question(q: Question, base: Path) -> list[Mark]:
    try:
        argv = shlex.split(q.run)
    except ValueError as e:
        raise SpecError(f"run: cannot split the command ({e})", q.loc) from None
    if argv[:1] == ["cnncalc"]:
        argv = argv[1:]
    names = [*RUNNABLE, "chain", "apply"]
    if not argv or argv[0] not in names:
        raise SpecError(f"run: expected one of the commands {', '.join(names)}; got {q.run!r:.60}", q.loc)
    if any(a in ("--help", "-h") for a in argv):
        raise SpecError("run: --help is not a question", q.loc)
    try:
        if argv[0] == "chain":
            params = _params(calc.chain, argv, q.loc)
            marks = mark_all(analyze_chain(params["tokens"], strict=params["strict"]), q.layer_claims())
            return [replace(m, claim=replace(m.claim, target=f"{q.run}: {m.claim.target}")) for m in marks]
        if argv[0] == "apply":
            params = _params(apply_mod.apply_cmd, argv, q.loc)
            data = apply_mod.apply_data(params, None, base)
            why = [data["at"]["text"]] if "at" in data else []
        else:
            command, compute = RUNNABLE[argv[0]]
            data = compute(_params(command, argv, q.loc))
            why = [data["formula"]] if "formula" in data else []
    except UsageError as e:
        raise SpecError(f"run: {q.run[:60]}: {e}", q.loc) from None
    return [mark_value(c, data, why) for c in q.value_claims()]


def _params(command: click.Command, argv: Sequence[str], where: Loc) -> dict[str, Any]:
    """Click's parsed parameters of ``argv`` (a bad option is a located error, not an exit)."""
    try:
        with command.make_context(argv[0], list(argv[1:])) as ctx:
            return dict(ctx.params)
    except click.ClickException as e:
        raise SpecError(f"run: {' '.join(argv)[:60]}: {e.format_message()}", where) from None


def shown(v: Any, field: str = "") -> str:
    """A value for people: 156,000; 14×14 for a size or field; bytes with binary units for memory.

    The answers file is untrusted: its text reaches the terminal through ``term_text`` only.
    """
    if isinstance(v, str):
        return term_text(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,} bytes ({human_bytes(v)})" if field == "memory" else f"{v:,}"
    if isinstance(v, list) and v and field in ("size", "rf") and all(isinstance(x, int) for x in v):
        return "×".join(map(str, v))
    return term_text(json.dumps(v, ensure_ascii=False))


def mark_lines(marks: Sequence[Mark]) -> list[str]:
    """✓ or ✗ per answer under its layer (or question); for a ✗ the right value and why."""
    lines: list[str] = []
    target = None
    for m in marks:
        c = m.claim
        if c.target != target:
            target = c.target
            lines.append(term_text(c.target))
        if m.right:
            lines.append(f"  ✓ {term_text(c.field)}  {shown(c.value)}")
            continue
        lines.append(f"  ✗ {term_text(c.field)}  {shown(c.value)}: the right value is {shown(m.value, c.field)}")
        lines += [textwrap.fill(term_text(x), 80, initial_indent="      ", subsequent_indent="        ", break_on_hyphens=False)
                  for x in m.explanation]
    right = sum(m.right for m in marks)
    lines.append(f"{right} of {len(marks)} answer{'s' if len(marks) != 1 else ''} right")
    return lines
