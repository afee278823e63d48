"""A progress bar for long commands (bench, verify): rich, on stderr, and only when stderr is a terminal,
so that logs and pipes stay clean."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

Update = Callable[[str, int, int], None]  # (what is running, done, total)


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Update | None]:
    """Yield an update callback driving a transient bar, or None when off or stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .safe import term_text

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=term_text(what)[:40], completed=done, total=total)

        yield update
