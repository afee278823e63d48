"""What every layer rule is made of: argument kinds, the rule interface, and what a rule returns.

A *rule* is one layer type's whole story: its argument schema, its output shape, its parameters, its
multiply-accumulates, its flops, its receptive-field step and the explanation of its arithmetic.
Rules see validated arguments (see :func:`check_arg`) and per-sample shapes ``(C, *spatial)``; they
raise :class:`ShapeError` for anything the shapes make impossible. They never see YAML or locations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
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


class ArgKind(str, Enum):
    """What an argument's value may be (each kind's words are in :func:`expectation`)."""

    POS = "pos"  # a positive integer
    NONNEG = "nonneg"  # a non-negative integer
    POS_AXES = "pos_axes"  # a positive integer, or a list of them (one per spatial axis)
    NONNEG_AXES = "nonneg_axes"  # the same, non-negative
    PADDING = "padding"  # nonneg_axes, or 'same' or 'valid'
    OUT_AXES = "out_axes"  # a positive integer or a list of positive integers or nulls (adaptive pools)
    BOOL = "bool"  # true or false
    PROB = "prob"  # a number in [0, 1]
    NUMBER = "number"  # any finite number
    INT = "int"  # any integer (negative allowed: dimensions counted from the end)
    INT_LIST = "int_list"  # a list of integers (dims, shapes)
    NONNEG_LIST = "nonneg_list"  # a non-negative integer, or a list of them (pad's per-side list)
    POS_NUMBER_AXES = "pos_number_axes"  # a positive number, or a list of them (one per spatial axis)
    CHOICE = "choice"  # one of the argument's ``choices`` (strings)

    def __str__(self) -> str:
        return self.value


AXES_KINDS = frozenset(
    {ArgKind.POS_AXES, ArgKind.NONNEG_AXES, ArgKind.PADDING, ArgKind.OUT_AXES, ArgKind.POS_NUMBER_AXES}
)
MAX_LIST = 16  # the longest list an int_list or nonneg_list argument takes


@dataclass(frozen=True)
class Arg:
    """One argument of a layer type: its spec name, :class:`ArgKind`, default and description.

    ``kind`` may be given as its string (``"pos"``); it is stored as the :class:`ArgKind`.
    ``choices`` are the allowed strings of a ``choice`` argument.
    """

    name: str
    kind: ArgKind | str
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ArgKind(self.kind))
        if (self.kind is ArgKind.CHOICE) != bool(self.choices):
            raise AssertionError(f"argument {self.name}: choices go with kind 'choice'")  # a rule-table bug

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


_EXPECT = {
    ArgKind.POS: "a positive integer",
    ArgKind.NONNEG: "a non-negative integer",
    ArgKind.POS_AXES: "a positive integer or a list of positive integers (one per spatial axis)",
    ArgKind.NONNEG_AXES: "a non-negative integer or a list of them (one per spatial axis)",
    ArgKind.PADDING: "a non-negative integer, a list of them (one per spatial axis), 'same' or 'valid'",
    ArgKind.OUT_AXES: "a positive integer or a list of positive integers or nulls (one per spatial axis)",
    ArgKind.BOOL: "true or false",
    ArgKind.PROB: "a number between 0 and 1",
    ArgKind.NUMBER: "a finite number",
    ArgKind.INT: "an integer",
    ArgKind.INT_LIST: f"a list of 1 to {MAX_LIST} integers",
    ArgKind.NONNEG_LIST: f"a non-negative integer or a list of 1 to {MAX_LIST} of them",
    ArgKind.POS_NUMBER_AXES: "a positive number or a list of positive numbers (one per spatial axis)",
}


def expectation(kind: Arg | ArgKind | str) -> str:
    """What a value of ``kind`` (or of an :class:`Arg`, which a ``choice`` needs) must look like."""
    if isinstance(kind, Arg):
        if kind.kind is ArgKind.CHOICE:
            return "one of " + ", ".join(kind.choices)
        kind = kind.kind
    return _EXPECT[ArgKind(kind)]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_int(v: Any, lo: int | None) -> int:
    if not _is_int(v) or (lo is not None and v < lo):
        raise ValueError
    return v


def _check_axes(value: Any, check: Any, most: int = 3) -> Any:
    if isinstance(value, (list, tuple)):
        if not 1 <= len(value) <= most:
            raise ValueError
        return tuple(check(v) for v in value)
    return check(value)


def _check_positive(value: Any) -> Any:
    if _check_number(value, ArgKind.NUMBER) <= 0:
        raise ValueError
    return value


def _check_number(value: Any, kind: ArgKind) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError  # .nan and .inf mean nothing to torch, and cannot be written back out
    if kind is ArgKind.PROB and not 0 <= value <= 1:
        raise ValueError
    return value


_INT_FLOOR = {ArgKind.POS: 1, ArgKind.NONNEG: 0, ArgKind.INT: None}


def check_arg(kind: Arg | ArgKind | str, value: Any) -> Any:
    """Validate ``value`` against ``kind`` (or an :class:`Arg`, which a ``choice`` needs) and return
    it normalised (lists become tuples).

    Raises ``ValueError`` when the value does not fit; the caller words the message with
    :func:`expectation` and the location.
    """
    if isinstance(kind, Arg):
        if kind.kind is ArgKind.CHOICE:
            if not isinstance(value, str) or value not in kind.choices:
                raise ValueError
            return value
        kind = kind.kind
    kind = ArgKind(kind)
    if kind in _INT_FLOOR:
        return _check_int(value, _INT_FLOOR[kind])
    if kind is ArgKind.PADDING and value in ("same", "valid"):
        return value
    if kind in (ArgKind.POS_AXES, ArgKind.NONNEG_AXES, ArgKind.PADDING):
        lo = 1 if kind is ArgKind.POS_AXES else 0
        return _check_axes(value, lambda v: _check_int(v, lo))
    if kind is ArgKind.OUT_AXES:
        if isinstance(value, (list, tuple)):
            return _check_axes(value, lambda v: None if v is None else _check_int(v, 1))
        return _check_int(value, 1)
    if kind is ArgKind.INT_LIST:
        if not isinstance(value, (list, tuple)):
            raise ValueError
        return _check_axes(value, lambda v: _check_int(v, None), MAX_LIST)
    if kind is ArgKind.NONNEG_LIST:
        return _check_axes(value, lambda v: _check_int(v, 0), MAX_LIST)
    if kind is ArgKind.POS_NUMBER_AXES:
        return _check_axes(value, _check_positive)
    if kind is ArgKind.BOOL:
        if not isinstance(value, bool):
            raise ValueError
        return value
    if kind is ArgKind.CHOICE:
        raise AssertionError("check a choice argument with its Arg")  # a bug in the caller
    return _check_number(value, kind)


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

    ``kernel`` is the effective (dilated) kernel, ``stride`` the step, ``padding`` the *left* padding,
    all in units of the layer's input. They are ints for conv and pooling; an upsampling layer
    (stride 1/s) and a transposed conv (kernel 1 + D·(F−1)/S, stride 1/S) give
    ``fractions.Fraction`` values, which the same recurrence accepts.
    """

    kernel: tuple[int | Fraction, ...]
    stride: tuple[int | Fraction, ...]
    padding: tuple[int | Fraction, ...]


class Step(str, Enum):
    """A layer's receptive-field step when it is not a :class:`Window`."""

    IDENTITY = "identity"  # element-wise: the field passes through unchanged
    GLOBAL = "global"  # every output unit sees the whole input (flatten, linear, global pooling)
    MERGE = "merge"  # add / concat / mul: the union of the inputs' fields
    NONE = "none"  # no spatial meaning (irregular adaptive pooling): not reported

    def __str__(self) -> str:
        return self.value


IDENTITY, GLOBAL, MERGE, NONE = Step.IDENTITY, Step.GLOBAL, Step.MERGE, Step.NONE


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
    rf: Window | Step = IDENTITY
    warnings: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


# ---- the torch side of a rule (pure data: no torch import) ------------------------------------------
class FromShape(str, Enum):
    """A torch constructor argument read from the input's per-sample shape, not from the spec."""

    CHANNELS = "channels"  # x[0]: in_channels, num_features
    FEATURES = "features"  # x[-1]: in_features (linear acts on the last axis)

    def __str__(self) -> str:
        return self.value


class NotExpressible(ValueError):
    """A torch module or call that this rule cannot express (the message says which value, why)."""


@dataclass(frozen=True)
class TorchParam:
    """One parameter of torch's constructor, in torch's order, with torch's default.

    Where its value comes from: a spec argument (``arg``, or the same name), the input's shape
    (``shape``), or nowhere (``fixed``: cnncalc expresses only torch's default, and ``fixed`` says
    why; an import refuses any other value; export and build never pass it).
    """

    name: str
    default: Any = REQUIRED  # REQUIRED: torch has no default (written by position)
    arg: str | None = None
    shape: FromShape | None = None
    fixed: str | None = None

    @property
    def spec_arg(self) -> str | None:
        """The spec argument this parameter carries, or None (from the shape, or fixed)."""
        if self.shape is not None or self.fixed is not None:
            return None
        return self.arg or self.name


@dataclass(frozen=True)
class TorchFunction:
    """A layer torch has no ``nn`` class for, computed by a function of its inputs (the merges).

    ``name`` is the function's dotted path (``torch.cat``). With ``fold`` it is applied pairwise
    along the inputs (``torch.add(torch.add(a, b), c)``); otherwise it takes the list of inputs.
    ``infix`` is the Python operator that writes the fold (``+``). ``kwargs`` are the spec arguments
    passed by keyword, under the same names (concat's ``dim``).
    """

    name: str
    fold: bool = False
    infix: str = ""
    kwargs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Torch:
    """A rule's whole torch story, for build, export, verify, import and the docs.

    ``cls`` is the class build makes, with ``{nd}`` for the spatial rank where torch has one class
    per rank (``Conv{nd}d``; the rank is :meth:`Rule.torch_rank`). It is a ``torch.nn`` class unless
    ``module`` or ``function`` says otherwise:

    * ``module``: a factory defined in the rule's own file that imports torch when called and
      returns the module class named ``cls``, for layers torch has no class for (build calls it;
      export copies the class's source out of that file, without importing torch). A module may
      have a ``counted`` method computing the same output with plain matmuls, for the layers whose
      kernels FlopCounterMode cannot see (LSTM, attention): verify measures MACs on it;
    * ``function``: a :class:`TorchFunction` (the merges); ``cls`` names the small module build makes.

    ``params`` is the constructor, in order. For the importer: ``aliases`` are other class names that
    import as this rule (``UpsamplingNearest2d``, timm's ``DropPath``); ``functions`` the dotted paths
    of functions (``torch.nn.functional.relu``, ``torch.relu``, ``operator.add``); ``methods`` the
    tensor methods (``relu``, ``relu_``); ``tuple_output`` says that the module returns a tuple whose
    first item is the layer's output (``nn.LSTM``'s ``(output, (h, c))``); ``learned`` names the
    merge (``add``, ``mul``, ``concat``) that, with one operand a parameter of the model itself
    (ViT's ``x + self.pos_embedding``), imports as this rule; ``constant`` the merge that, with one
    operand a number (``x * 0.125``), imports as this rule. An alias may be a qualified class name
    (``torchvision.models.video.mvit.PositionalEncoding``), for a class whose plain name is too common.

    Besides torch's own names, ``from_torch`` sees values the importer adds: ``_class`` (the
    name of the module's class, and ``_module``, the module itself, whose attributes a rule may read
    without importing torch), ``_in`` (the per-sample shapes of the tensor inputs)
    and ``_out`` (the per-sample shape torch computed), and for a module ``_call`` (the call's constant
    arguments other than tensors, by the forward's names: MViT's ``block(x, thw)`` gives ``thw``); for a
    ``learned`` rule, ``_learned`` (the
    parameter's shape) and ``_learned_first`` (whether it is the first operand); for a rule with
    ``constant`` that also names functions of its own (``scale``: ``x / c``), ``_divides`` says that
    the call was one of those.
    """

    cls: str
    params: tuple[TorchParam, ...] = ()
    functions: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    function: TorchFunction | None = None
    module: Callable[[], type] | None = None
    aliases: tuple[str, ...] = ()
    tuple_output: bool = False
    learned: str | None = None
    constant: str | None = None

    @property
    def per_rank(self) -> bool:
        return "{nd}" in self.cls

    def own_classes(self) -> tuple[str, ...]:
        """``cls`` for each rank it takes (``Conv1d``, ``Conv2d``, ``Conv3d``)."""
        return tuple(self.cls.format(nd=nd) for nd in (1, 2, 3)) if self.per_rank else (self.cls,)

    def nn_classes(self) -> tuple[str, ...]:
        """The ``torch.nn`` classes build makes (whose constructor ``params`` mirrors); none for a
        ``module`` or ``function`` layer."""
        return () if self.module is not None or self.function is not None else self.own_classes()

    def classes(self) -> tuple[str, ...]:
        """The class names that import as this rule: its own (none for a function) and aliases."""
        return (*(() if self.function is not None else self.own_classes()), *self.aliases)

    def defaults(self) -> dict[str, Any]:
        """The constructor parameters that build and export may pass, in order, with defaults."""
        return {p.name: p.default for p in self.params if p.fixed is None}


TorchCall = tuple[str, dict[str, Any]]  # a torch.nn class name (or Torch.cls) and keyword arguments


def same_value(a: Any, b: Any) -> bool:
    """Equal, with booleans told apart from 0 and 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def from_torch_value(value: Any, kind: ArgKind | str) -> Any:
    """A torch value as a spec argument: per-axis tuples with all values equal → that value,
    other tuples → lists; everything else unchanged."""
    if ArgKind(kind) in AXES_KINDS and isinstance(value, (tuple, list)):
        values = list(value)
        if values and len(set(values)) == 1 and values[0] is not None:
            return values[0]
        return values
    return value


def bias_flag(value: Any) -> bool:
    """torch's ``bias``: a bool to a constructor, a tensor or None on a module."""
    return value if isinstance(value, bool) else value is not None


class Rule:
    """Base of the layer rules. Subclasses set the class attributes and implement :meth:`infer`.

    The torch side is the :class:`Torch` in ``torch``: :meth:`to_torch` and :meth:`from_torch`
    derive from it, and a rule with odd cases overrides them in its own file.
    """

    type: ClassVar[str]
    doc: ClassVar[str] = ""
    args: ClassVar[tuple[Arg, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    torch: ClassVar[Torch]

    def infer(self, args: Args, ins: Sequence[Shape]) -> Inferred:
        raise NotImplementedError

    def explain(self, args: Args, ins: Sequence[Shape]) -> list[str]:
        """Lines of arithmetic behind :meth:`infer`'s numbers (default: shape and counts only)."""
        r = self.infer(args, ins)
        return [f"output shape {list(r.shape)}; params {r.params:,}; MACs {r.macs:,}"]

    # ---- torch ----
    def torch_rank(self, ins: Sequence[Shape]) -> int:
        """The ``{nd}`` of the torch class: the input's spatial rank (1 to 3)."""
        return spatial_rank(ins[0], self.type)

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """The torch class name and its keyword arguments (in torch's order) for one layer.

        Raises :class:`ShapeError` where torch has no class for the input's rank.
        """
        t = self.torch
        name = t.cls.format(nd=self.torch_rank(ins)) if t.per_rank else t.cls
        kwargs: dict[str, Any] = {}
        for p in t.params:
            if p.shape is not None:
                kwargs[p.name] = ins[0][0] if p.shape is FromShape.CHANNELS else ins[0][-1]
            elif p.spec_arg is not None:
                kwargs[p.name] = args[p.spec_arg]
        if t.function is not None:
            kwargs.update({k: args[k] for k in t.function.kwargs})
        return name, kwargs

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """torch's values by torch's names (a module's attributes, or a call's bound arguments) →
        this rule's spec arguments. Names torch has that the rule does not know are ignored.

        Raises :class:`NotExpressible` for a value cnncalc cannot express (a ``fixed`` parameter
        away from torch's default).
        """
        kinds = {a.name: a.kind for a in self.args}
        defaults = {a.name: a.default for a in self.args}
        out: dict[str, Any] = {}
        for p in self.torch.params:
            if p.name not in values:
                continue
            value = values[p.name]
            if p.fixed is not None:
                if not same_value(value, p.default):
                    raise NotExpressible(f"{p.name}={value!r} ({p.fixed})")
            elif p.spec_arg is not None and not (value is None and defaults[p.spec_arg] is None):
                out[p.spec_arg] = from_torch_value(value, kinds[p.spec_arg])  # None: the default, unwritten
        if self.torch.function is not None:
            out.update({k: values[k] for k in self.torch.function.kwargs if k in values})
        return out


def spatial_rank(shape: Shape, layer_type: str, lo: int = 1) -> int:
    """The number of spatial axes of ``shape``, which must be at least ``lo`` (and at most 3)."""
    nd = len(shape) - 1
    if not lo <= nd <= 3:
        raise ShapeError(
            f"{layer_type} needs an input of shape (channels, 1 to 3 spatial sizes), "
            f"got {list(shape)}"
        )
    return nd
