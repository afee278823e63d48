"""``cnncalc zoo``: the shipped specs, each usable by name (``cnncalc summarize vgg16``)."""

from __future__ import annotations

import json

import click

from .common import fail


@click.command(name="zoo")
@click.argument("pattern", default="*", metavar="[PATTERN]")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def zoo(pattern: str, fmt: str) -> None:
    """List the shipped specs: name, parameters, MACs (batch 1) and what each is.

    PATTERN filters names with shell wildcards (resnet*). Any command taking a SPEC.yaml also
    takes one of these names: cnncalc summarize vgg16.
    """
    from .. import zoo as zoo_lib
    from ..errors import SpecError

    try:
        entries = zoo_lib.entries(pattern)
    except SpecError as e:
        fail(str(e))
    if not entries and zoo_lib.folder() is None:
        fail("this installation ships no specs (cnncalc/specs is missing)")
    if fmt == "json":
        rows = [
            {"name": e.name, "params": e.params, "macs": e.macs, "description": e.description, "path": str(e.path)}
            for e in entries
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(_table(entries))


def _table(entries: list) -> str:
    from ..render import human
    from ..render.safe import term_text

    head = ("name", "params", "MACs", "description")
    rows = [(e.name, human(e.params), human(e.macs), term_text(e.description)) for e in entries]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    lines = []
    for r in [head, *rows]:
        lines.append(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip())
    return "\n".join(lines)
