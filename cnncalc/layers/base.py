"""What every layer rule is made of: argument kinds, the rule interface, and what a rule returns.

A *rule* is one layer type's whole story: its argument schema, its output shape, its parameters, its
multiply-accumulates, its flops, its receptive-field step and the explanation of its arithmetic.
Rules see validated arguments (see :func:`check_arg`) and per-sample shapes ``(C, *spatial)``; they
raise :class:`ShapeError` for anything the shapes make impossible. They never see YAML or locations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from fractions import Fraction

Shape = tuple[int, ...]
Args = Mapping[str, Any]

REQUIRED: Any = object()


class ShapeError(ValueError):
    """The arguments are well-typed but impossible for the input shapes (message says what)."""

    def __init__(self, message: str, arg: str | None = None):
        super().__init__(message)
        self.arg = arg


@dataclass(frozen=True)
class Arg:
    """One argument of a layer type.

    ``kind`` is one of:
      ``pos``      a positive integer;
      ``nonneg``   a non-negative integer;
      ``pos_axes`` a positive integer, or a list of them (one per spatial axis);
      ``nonneg_axes`` the same, non-negative;
      ``padding``  ``nonneg_axes``, or ``same`` or ``valid``;
      ``out_axes`` a positive integer or a list of positive integers or nulls (adaptive pools);
      ``bool``     true or false;
      ``prob``     a number in [0, 1];
      ``number``   any number;
      ``int``      any integer (negative allowed: dimensions counted from the end).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


_EXPECT = {
    "pos": "a positive integer",
    "nonneg": "a non-negative integer",
    "pos_axes": "a positive integer or a list of positive integers (one per spatial axis)",
    "nonneg_axes": "a non-negative integer or a list of them (one per spatial axis)",
    "padding": "a non-negative integer, a list of them (one per spatial axis), 'same' or 'valid'",
    "out_axes": "a positive integer or a list of positive integers or nulls (one per spatial axis)",
    "bool": "true or false",
    "prob": "a number between 0 and 1",
    "number": "a number",
    "int": "an integer",
}


def expectation(kind: str) -> str:
    """What a value of ``kind`` must look like, in words."""
    return _EXPECT[kind]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_int(v: Any, lo: int | None) -> int:
    if not _is_int(v) or (lo is not None and v < lo):
        raise ValueError
    return v


def check_arg(kind: str, value: Any) -> Any:
    """Validate ``value`` against ``kind`` and return it normalised (lists become tuples).

    Raises ``ValueError`` when the value does not fit; the caller words the message with
    :func:`expectation` and the location.
    """
    if kind in ("pos", "nonneg", "int"):
        return _check_int(value, {"pos": 1, "nonneg": 0, "int": None}[kind])
    if kind in ("pos_axes", "nonneg_axes", "padding"):
        if kind == "padding" and value in ("same", "valid"):
            return value
        lo = 1 if kind == "pos_axes" else 0
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= 3:
                raise ValueError
            return tuple(_check_int(v, lo) for v in value)
        return _check_int(value, lo)
    if kind == "out_axes":
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= 3:
                raise ValueError
            return tuple(None if v is None else _check_int(v, 1) for v in value)
        return _check_int(value, 1)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError
        return value
    if kind in ("prob", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError
        if kind == "prob" and not 0 <= value <= 1:
            raise ValueError
        return value
    raise AssertionError(f"unknown argument kind {kind}")  # a bug in a rule table, not user input


def per_axis(value: Any, nd: int, name: str) -> tuple[Any, ...]:
    """Expand an int (or a per-axis tuple) to one value per spatial axis."""
    if isinstance(value, tuple):
        if len(value) != nd:
            raise ShapeError(
                f"'{name}' has {len(value)} values but the input has {nd} spatial "
                f"{'axis' if nd == 1 else 'axes'}",
                name,
            )
        return value
    return (value,) * nd


@dataclass(frozen=True)
class Window:
    """The receptive-field step of a sliding-window layer, per spatial axis.

    ``kernel`` is the effective (dilated) kernel, ``stride`` the step, ``padding`` the *left* padding.
    Strides and paddings are ints for conv and pooling; an upsampling layer (stride 1/s) gives
    ``fractions.Fraction`` values, which the same recurrence accepts.
    """

    kernel: tuple[int, ...]
    stride: tuple[int | Fraction, ...]
    padding: tuple[int | Fraction, ...]


# The receptive-field step of a layer is a Window, or one of these:
IDENTITY = "identity"  # element-wise: the field passes through unchanged
GLOBAL = "global"  # every output unit sees the whole input (flatten, linear, global pooling)
MERGE = "merge"  # add / concat / mul: the union of the inputs' fields
NONE = "none"  # no spatial meaning (irregular adaptive pooling): not reported


@dataclass(frozen=True)
class Inferred:
    """Everything a rule computes for one layer, per sample (the analysis scales by the batch).

    ``params`` are learnable elements, ``buffers`` non-learnable state (BatchNorm statistics).
    ``macs`` are multiply-accumulates of weights (conv, linear); ``flops`` follow
    docs/conventions.md. ``warnings`` are texts about lossy arithmetic (floored divisions).
    """

    shape: Shape
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    rf: Window | str = IDENTITY
    warnings: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


class Rule:
    """Base of the layer rules. Subclasses set the class attributes and implement :meth:`infer`."""

    type: ClassVar[str]
    doc: ClassVar[str] = ""
    args: ClassVar[tuple[Arg, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    torch_name: ClassVar[str] = ""  # the torch.nn class this rule mirrors (for docs and export)

    def infer(self, args: Args, ins: Sequence[Shape]) -> Inferred:
        raise NotImplementedError

    def explain(self, args: Args, ins: Sequence[Shape]) -> list[str]:
        """Lines of arithmetic behind :meth:`infer`'s numbers (default: shape and counts only)."""
        r = self.infer(args, ins)
        return [f"output shape {list(r.shape)}; params {r.params:,}; MACs {r.macs:,}"]


def spatial_rank(shape: Shape, layer_type: str, lo: int = 1) -> int:
    """The number of spatial axes of ``shape``, which must be at least ``lo`` (and at most 3)."""
    nd = len(shape) - 1
    if not lo <= nd <= 3:
        raise ShapeError(
            f"{layer_type} needs an input of shape (channels, 1 to 3 spatial sizes), "
            f"got {list(shape)}"
        )
    return nd
