"""Errors and warnings that carry a location in the spec.

Every problem a user can cause is a :class:`SpecError`. It names the file, the line and column
(1-based, where known) and the layer, and says what was expected. The CLI prints ``str(error)``
and exits with status 2; nothing else is ever shown to the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Loc:
    """A place in a spec: file, 1-based line and column (0 where unknown)."""

    file: str = "<spec>"
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


class CnncalcError(Exception):
    """Base class of every error cnncalc raises on purpose."""


class SpecError(CnncalcError):
    """An invalid spec: a message, where it is, and which layer it concerns."""

    def __init__(self, message: str, loc: Loc | None = None, layer: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc or Loc()
        self.layer = layer

    def at(self, loc: Loc | None = None, layer: str | None = None) -> SpecError:
        """The same error, with a location or layer filled in where it had none."""
        return SpecError(
            self.message,
            self.loc if self.loc.line or loc is None else loc,
            self.layer or layer,
        )

    def __str__(self) -> str:
        where = str(self.loc)
        who = f" layer '{shorten(self.layer, 120)}':" if self.layer else ""
        return " ".join(f"{where}:{who} {shorten(self.message, 2000)}".split())  # always one line


def shorten(text: str, most: int) -> str:
    """``text``, or its start and end around '…' when it is longer than ``most`` characters."""
    if len(text) <= most:
        return text
    half = (most - 1) // 2
    return text[:half] + "…" + text[-half:]


class WarningKind(str, Enum):
    """What a :class:`SpecWarning` is about (its value is what JSON output shows)."""

    def __str__(self) -> str:
        return str(self.value)

    WARNING = "warning"  # anything else
    FLOOR = "floor"  # an output size floored, dropping input rows (``--strict`` refuses it)
    FLOOR_PADDING = "floor-padding"  # a floor that drops only padding (one note; ``--strict`` refuses it)
    RF = "rf"  # branches whose receptive fields are not aligned
    CHANNELS_LAST = "channels-last"  # an input shape that looks like (H, W, C)


class UnknownLayerError(SpecError):
    """A layer name given by the user (``--layer``, ``-l``) that the spec does not define."""


@dataclass(frozen=True)
class SpecWarning:
    """A problem that does not stop the analysis (``--strict`` turns it into an error)."""

    message: str
    loc: Loc
    layer: str | None = None
    kind: WarningKind = WarningKind.WARNING

    def __str__(self) -> str:
        who = f" layer '{self.layer}':" if self.layer else ""
        return f"{self.loc}:{who} {self.message}"
