"""The rendering of ``cnncalc explain``: each layer's name and type in bold, then its arithmetic,
indented. Text a spec wrote passes through :func:`~cnncalc.render.safe.term_text`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

BATCH = 1000  # layers per chunk of text


def _layer(name: str, kind: str, lines: list[str]) -> str:
    import click

    from .safe import term_text

    head = click.style(term_text(f"{name} ({kind})"), bold=True)  # click drops the style off a terminal
    return "\n".join([head, *(f"  {term_text(line)}" for line in lines)])


def explain_chunks(items: Iterable[tuple[str, str, list[str]]]) -> Iterator[str]:
    """The text of :func:`cnncalc.explain.explain_layers`'s items, :data:`BATCH` layers a chunk, each
    chunk but the first starting with a newline (so that joining them gives the whole text)."""
    it = iter(items)
    first = True
    while batch := list(islice(it, BATCH)):
        text = "\n".join(_layer(*item) for item in batch)
        yield text if first else "\n" + text
        first = False
