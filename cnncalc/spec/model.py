"""The parsed spec: frozen records of primitive layers, the network's input, and the names that
refer to them. Everything after the spec reader sees only these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Loc

INPUT = "input"  # the network's input, as 'from' names it
# what a spec's input may hold: real values, or integer ids (for an embedding), as torch's dtypes
INPUT_DTYPES = ("float32", "int64", "int32")


@dataclass(frozen=True)
class LayerSpec:
    """One primitive layer: its unique name, type, full arguments (defaults filled) and inputs."""

    name: str
    type: str
    args: Mapping[str, Any]
    inputs: tuple[str, ...]
    loc: Loc
    frozen: bool = False
    arg_locs: Mapping[str, Loc] = field(default_factory=dict)
    given: tuple[str, ...] = ()  # the argument names written in the spec
    called_at: tuple[int, ...] = ()  # lines of the block calls that produced it (outermost first)


@dataclass(frozen=True)
class NetSpec:
    """A parsed spec: name, per-sample input shape (C, *spatial) and primitive layers in order.

    ``aliases`` maps each block-call, composite and repeat name to the layer whose output it names
    (its last layer): ``inception3a`` → ``inception3a.concat1``.
    """

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    file: str = "<spec>"
    input_loc: Loc = field(default_factory=Loc)
    aliases: Mapping[str, str] = field(default_factory=dict)
    input_dtype: str = "float32"  # "int64" / "int32": the input is integer ids (an embedding reads them)
    budgets: Mapping[str, Any] = field(default_factory=dict)  # top-level `budgets:` (cnncalc.budget)

    @property
    def takes_ids(self) -> bool:
        return self.input_dtype != "float32"
