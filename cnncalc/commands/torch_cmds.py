"""``cnncalc verify`` and ``cnncalc export`` (issue 3). torch is imported lazily inside commands."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
