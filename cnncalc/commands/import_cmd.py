"""``cnncalc import`` (issue 3): a PyTorch model → a spec. torch is imported lazily inside."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
