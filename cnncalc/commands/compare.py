"""``cnncalc compare A B`` (issue 10): two specs, two ``summarize`` reports or two ``bench`` runs side by
side. Torch-free. Exit status 0 (a difference is not a failure); 2 for an unreadable side."""

from __future__ import annotations

import json

import click

from ..errors import SpecError
from .common import batch_option, fail, note, quiet_option


@click.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@batch_option
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--all", "show_all", is_flag=True, help="List every layer, not only those that differ.")
@quiet_option
def compare(a: str, b: str, batch: int, fmt: str, show_all: bool) -> None:
    """Compare two nets or two runs: totals with their deltas in percent, and the layers that differ.

    \b
    A and B are both specs (.yaml, analysed at --batch) or `summarize --format json` reports,
    or both `bench --format json` runs (results matched by batch, dtype, mode and layout).
    Deltas are (B − A) / A.
    """
    from ..compare import CompareError
    from ..compare import compare as run

    try:
        c = run(a, b, batch)
    except (CompareError, SpecError) as e:
        fail(str(e))
    if fmt == "json":
        click.echo(json.dumps(c.to_dict(), indent=2))
    else:
        from ..render.compare import render

        render(c, show_all)
    for line in c.notes:
        note(line)
