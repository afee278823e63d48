"""``cnncalc rf``: receptive fields layer by layer (issue 4). Owned by the receptive-field work."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
