"""The torch → cnncalc mapping, derived from the layer rules (:data:`cnncalc.layers.RULES`).

Each rule's :class:`~cnncalc.layers.base.Torch` names the module classes (``Conv{nd}d``, aliases),
the functions (``torch.nn.functional.relu``) and the tensor methods (``relu_``) that import as it,
and its ``from_torch`` turns torch's values (a module's attributes, or a call's arguments bound to
torch's own signature) into spec arguments. A new rule with its torch story is picked up here with
no change. The one idiom no rule owns is below (:data:`IDIOMS`): ``x.mean([2, 3])``, which is global
average pooling.

Every mapped node is also checked on its own: its arguments against the rule's schema, and the
rule's shape inference on the node's input shapes (a broadcasting ``add`` or a ``cat`` over the
batch axis is refused here, with the rule's reason). Nothing is guessed.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch._jit_internal import boolean_dispatched
from torch.fx.operator_schemas import get_signature_for_torch_op

from ..layers import RULES, torch_classes, torch_functions, torch_methods
from ..layers.base import REQUIRED, NotExpressible, Rule, ShapeError, check_arg, expectation

Layer = tuple[str, dict[str, Any]]  # (cnncalc type, spec arguments)


class NoLayer(Exception):
    """Raised while mapping a node: it has no cnncalc layer (the message says why)."""


@dataclass(frozen=True)
class Mapped:
    """What one node becomes: layers (the last gives the node's output), an alias of its input, or
    pieces (``x.chunk(2, dim=1)``: no layer of its own; each ``pieces[k]`` is made where item ``k``
    is read)."""

    inputs: tuple[fx.Node, ...]
    layers: tuple[Layer, ...] = ()
    alias: bool = False  # the node's output is its (single) input: no layer
    pieces: tuple[tuple[Layer, ...], ...] | None = None


def node_shape(node: fx.Node) -> tuple[int, ...] | None:
    """The output shape torch gave ``node`` (batch included), or None where it is not one tensor."""
    shape = node.meta.get("shape")
    return None if shape is None else tuple(shape)


def is_tensor(value: Any) -> bool:
    """A node that computes a tensor (not a constant, nor a value read at run time)."""
    return isinstance(value, fx.Node) and node_shape(value) is not None


def sample_shapes(nodes: Iterable[fx.Node]) -> list[tuple[int, ...]]:
    """The per-sample shapes (batch axis dropped) of tensor nodes."""
    return [s[1:] for s in (node_shape(n) for n in nodes) if s is not None]


def extras(node: fx.Node, inputs: Iterable[fx.Node], **more: Any) -> dict[str, Any]:
    """The values the importer adds to torch's own for ``from_torch`` (see :class:`Torch`)."""
    out = node_shape(node)
    return {"_in": sample_shapes(inputs), "_out": None if out is None else out[1:], **more}


# ---- modules -----------------------------------------------------------------------------------------
def _qualname(cls: type) -> str:
    return f"{getattr(cls, '__module__', '')}.{cls.__qualname__}"


def _owned(cls: type, rule: Rule) -> bool:
    """``cls`` is the class the rule names: torch's own, cnncalc's (build's), or a listed alias (a
    plain class name, or a qualified one: ``torchvision.models.video.mvit.PositionalEncoding``)."""
    module = getattr(cls, "__module__", "")
    aliases = rule.torch.aliases
    return module.startswith(("torch.nn", "cnncalc.")) or cls.__name__ in aliases or _qualname(cls) in aliases


def module_rule(m: nn.Module) -> tuple[Rule, type] | None:
    """The rule of a module, by its class or the nearest base class a rule names (and that class)."""
    classes = torch_classes()
    for cls in type(m).__mro__:
        rule = classes.get(cls.__name__) or classes.get(_qualname(cls))
        if rule is not None and _owned(cls, rule):
            return rule, cls
    return None


def is_leaf(m: nn.Module) -> bool:
    """Trace ``m`` as one node: its class maps to a rule and it keeps that class's ``forward``
    (torchvision's Conv3DSimple subclasses nn.Conv3d for its ``__init__`` only)."""
    found = module_rule(m)
    return found is not None and getattr(type(m), "forward", None) is getattr(found[1], "forward", None)


def module_inputs(m: nn.Module, node: fx.Node) -> tuple[fx.Node, ...]:
    """The tensors a module call takes, in order, each once: ``attn(x, x, x)`` is self-attention on
    ``x``. Its other arguments are options (``need_weights=False``) that leave the output alone."""
    try:
        bound = inspect.signature(m.forward).bind(*node.args, **node.kwargs)
    except (TypeError, ValueError):
        raise NoLayer(f"cannot read the arguments {_shown(node.args)} against the module's forward") from None
    found = [n for v in bound.arguments.values() for n in _nodes(v)]
    runtime = [n for n in found if not is_tensor(n) and "value" not in n.meta]
    if runtime:
        raise NoLayer(f"argument '{runtime[0].name}' is computed at run time; cnncalc needs constants")
    tensors = [n for n in found if is_tensor(n) or n.meta.get("tuple_layer")]
    return tuple(dict.fromkeys(tensors))


def module_mapped(m: nn.Module, node: fx.Node, inputs: tuple[fx.Node, ...]) -> Mapped:
    """A leaf module called on ``inputs``: its rule's layer, from the module's attributes."""
    found = module_rule(m)
    if found is None:
        raise NoLayer("no cnncalc layer for this module")
    rule, cls = found
    items = node.meta.get("items")
    if rule.torch.tuple_output and node_shape(node) is None and items and items[0] is not None:
        node.meta["shape"] = items[0]  # nn.LSTM's (output, (h, c)): the layer is the output
        node.meta["shape_at_batch_2"] = (node.meta.get("items_at_batch_2") or (None,))[0]
        node.meta["tuple_layer"] = True
    values = {p.name: getattr(m, p.name) for p in rule.torch.params if hasattr(m, p.name)}
    more = extras(node, inputs, _class=cls.__name__, _module=m, _call=call_constants(m, node))
    return checked(rule, {**values, **more}, inputs)


def call_constants(m: nn.Module, node: fx.Node) -> dict[str, Any]:
    """The call's arguments that are not tensors, by the forward's names, as constants: MViT's
    ``block(x, thw)`` gives ``{"thw": (8, 56, 56)}`` (:func:`module_inputs` has refused run-time values)."""
    with contextlib.suppress(TypeError, ValueError):
        bound = inspect.signature(m.forward).bind(*node.args, **node.kwargs).arguments
        return {k: constant(v) for k, v in bound.items()
                if not any(is_tensor(n) or n.meta.get("tuple_layer") for n in _nodes(v))}
    return {}


# ---- functions and methods ---------------------------------------------------------------------------
def _resolve(path: str) -> Any:
    """The object a dotted path names, or None (a package not imported yet is not imported here)."""
    module, _, name = path.rpartition(".")
    if module.split(".")[0] not in sys.modules:
        return None
    try:
        return getattr(importlib.import_module(module), name, None)
    except Exception:
        return None


@functools.cache
def _function_objects() -> dict[int, Rule]:
    """id(function object) → rule, for each path a rule names that resolves here."""
    out: dict[int, Rule] = {}
    for path, rule in torch_functions().items():
        obj = _resolve(path)
        if obj is not None:
            out.setdefault(id(obj), rule)
    return out


def qualified(target: Any) -> str:
    """``torch.mean``, ``operator.add``: the module and the name (torch's builtins have a class in
    their ``__qualname__``, ``_VariableFunctionsClass.mean``)."""
    module = {"_operator": "operator"}.get(getattr(target, "__module__", ""), getattr(target, "__module__", ""))
    if module == "torch":
        return f"torch.{getattr(target, '__name__', '')}"
    return f"{module}.{getattr(target, '__qualname__', getattr(target, '__name__', ''))}"


def function_rule(op: str, target: Any) -> Rule | None:
    """The rule of a call_function (by identity, or its qualified name) or call_method node."""
    if op == "call_method":
        return torch_methods().get(target) if isinstance(target, str) else None
    if op != "call_function":
        return None
    return _function_objects().get(id(target)) or torch_functions().get(qualified(target))


def signatures(op: str, target: Any) -> list[inspect.Signature]:
    """torch's signatures for a call (several for overloaded builtins), first parameter the input."""
    if op == "call_method":  # x.relu_() binds as torch.relu_(x); x.add_(y) as torch.add(x, y)
        target = getattr(torch, target, None) or getattr(torch, str(target).rstrip("_"), None)
        if target is None:
            return []
    with contextlib.suppress(KeyError, TypeError):  # F.max_pool2d: two functions, one signature
        target = boolean_dispatched[target]["if_false"]
    try:
        return [inspect.signature(target)]
    except (TypeError, ValueError):
        return list(get_signature_for_torch_op(target) or [])


def constant(value: Any) -> Any:
    """``value`` with each node that computed a constant (``x.shape[-2:]``) replaced by its value."""
    if isinstance(value, fx.Node):
        return value.meta.get("value", value) if "value" in value.meta else value
    if isinstance(value, (list, tuple)):
        return type(value)(constant(v) for v in value)
    if isinstance(value, dict):
        return {k: constant(v) for k, v in value.items()}
    return value


def bind(node: fx.Node) -> dict[str, Any]:
    """The call's arguments by torch's names, defaults applied (the first overload that binds).

    A method may take its sizes as separate arguments (``x.permute(0, 2, 1)`` for
    ``torch.permute(x, [0, 2, 1])``); a method torch has no function for (``x.view(n, -1)``) binds
    as ``input`` and ``args``.
    """
    args, kwargs = constant(node.args), constant(node.kwargs)
    sigs = signatures(node.op, node.target)
    tries = [args]
    if node.op == "call_method" and len(args) > 2:
        tries.append((args[0], list(args[1:])))
    for sig in sigs:
        for a in tries:
            try:
                bound = sig.bind(*a, **kwargs)
            except TypeError:
                continue
            bound.apply_defaults()
            return dict(bound.arguments)
    if node.op == "call_method" and not sigs and args:
        return {"input": args[0], "args": list(args[1:]), **kwargs}
    raise NoLayer(f"cannot read the arguments {_shown(args)} against torch's signature")


def _shown(args: Any) -> str:
    return "(" + ", ".join(a.name if isinstance(a, fx.Node) else repr(a) for a in args) + ")"


def _nodes(value: Any) -> Iterator[fx.Node]:
    if isinstance(value, fx.Node):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _nodes(v)


def op_name(node: fx.Node) -> str:
    """The key of a call in :data:`IDIOMS`: a method's name, or a function's qualified name."""
    return str(node.target) if node.op == "call_method" else qualified(node.target)


def function_mapped(node: fx.Node) -> Mapped:
    """A call_function or call_method node: a rule's layer, or one of the :data:`IDIOMS`."""
    idiom = IDIOMS.get(op_name(node))
    if idiom is not None:
        return idiom(node, bind(node))
    rule = function_rule(node.op, node.target)
    if rule is None:
        raise NoLayer("no cnncalc layer for this operation")
    bound = bind(node)
    tensors = tuple(n for v in bound.values() for n in _nodes(v) if is_tensor(n))
    values = {k: v for k, v in bound.items() if not any(is_tensor(n) for n in _nodes(v))}
    more: dict[str, Any] = {}
    if rule.torch.constant is not None:
        more["_divides"] = True  # the rule's own functions (``scale``'s ``x / c``)
    elif len(tensors) < rule.min_inputs:  # ``x * 0.125``: a merge with a number
        rule = next((r for r in RULES.values() if r.torch.constant == rule.type), rule)
    return checked(rule, {**values, **extras(node, tensors, **more)}, tensors)


# ---- one layer, checked on its own -------------------------------------------------------------------
def checked(rule: Rule, values: Mapping[str, Any], inputs: tuple[fx.Node, ...]) -> Mapped:
    """``rule``'s layer from torch's ``values``, its arguments and its shape inference checked."""
    shapes = [node_shape(n) for n in inputs]
    if any(s is None for s in shapes):
        node = next(n for n, s in zip(inputs, shapes, strict=True) if s is None)
        raise NoLayer(f"argument '{node.name}' is not one tensor")
    top = sys.maxsize if rule.max_inputs is None else rule.max_inputs
    if not rule.min_inputs <= len(inputs) <= top:
        numbers = ", ".join(f"{k}={v!r}" for k, v in values.items() if isinstance(v, (int, float)))
        takes = f"{rule.min_inputs}{'' if top == rule.min_inputs else ' or more'}"
        raise NoLayer(f"{rule.type} of {len(inputs)} tensor(s) and constants ({numbers}); cnncalc's "
                      f"{rule.type} takes {takes} tensors")
    try:
        args = rule.from_torch({k: None if _empty(v) and not k.startswith("_") else v for k, v in values.items()})
    except NotExpressible as e:
        raise NoLayer(str(e)) from None
    runtime = next((n for v in args.values() for n in _nodes(v)), None)
    if runtime is not None:
        if runtime.meta.get("batch_dependent"):
            raise NoLayer(f"argument '{runtime.name}' depends on the batch size; a spec is written per sample")
        raise NoLayer(f"argument '{runtime.name}' is computed at run time; cnncalc needs constants")
    normal = _normalised(rule, args)
    try:
        rule.infer(normal, [s[1:] for s in shapes if s is not None])
    except ShapeError as e:
        raise NoLayer(f"{rule.type}: {e}") from None
    return Mapped(inputs, ((rule.type, args),))


def _empty(v: Any) -> bool:
    """An empty list: the builtins' spelling of "not given" (``avg_pool2d(stride=[])``)."""
    return isinstance(v, (list, tuple)) and not v


def _normalised(rule: Rule, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as the parser gives them to a rule: checked, defaults filled."""
    out: dict[str, Any] = {}
    for a in rule.args:
        if a.name not in args or (args[a.name] is None and a.default is None):
            if a.default is REQUIRED:
                raise NoLayer(f"{rule.type} needs '{a.name}', which torch's call does not give")
            out[a.name] = a.default
            continue
        try:
            out[a.name] = check_arg(a, args[a.name])
        except ValueError:
            raise NoLayer(f"{a.name}={args[a.name]!r}: cnncalc's {rule.type} takes {expectation(a)}") from None
    return out


# ---- idioms that no rule owns ------------------------------------------------------------------------
def _mean(node: fx.Node, b: Mapping[str, Any]) -> Mapped:
    """``x.mean([2, 3])`` over every spatial axis is global average pooling (then flatten)."""
    x, dims = b["input"], b.get("dim")
    rank = len(node_shape(x) or ()) if isinstance(x, fx.Node) else 0
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if rank < 3 or sorted(d % rank for d in dims) != list(range(2, rank)) or b.get("dtype") is not None:
        values = {k: v for k, v in b.items() if k != "input"}  # any other mean: the mean layer
        return checked(RULES["mean"], {**values, **extras(node, (x,))}, (x,))
    pool: Layer = ("adaptiveavgpool", {"out": 1})
    return Mapped((x,), (pool,) if b.get("keepdim") else (pool, ("flatten", {})))


def _same(node: fx.Node, b: Mapping[str, Any]) -> Mapped:
    """``x.contiguous()``, ``x.clone()``: the same values, no layer."""
    x = next(iter(b.values()), None)
    if not isinstance(x, fx.Node) or not is_tensor(x):
        raise NoLayer("not a tensor's method")
    return Mapped((x,), alias=True)


def _pieces(node: fx.Node, b: Mapping[str, Any]) -> Mapped:
    """``x.chunk(2, dim=1)``, ``torch.split(x, 16, 1)``, ``x.unbind(1)``: a tuple of pieces, each a
    ``slice`` (``select`` for unbind) made where it is read (``x1, x2 = x.chunk(2, dim=1)``)."""
    x, items = next(iter(b.values())), node.meta.get("items")  # torch.split names it ``tensor``
    shape = node_shape(x) if isinstance(x, fx.Node) else None
    if shape is None or not items or any(s is None for s in items):
        raise NoLayer("pieces of something that is not one tensor")
    d = b.get("dim", 0) % len(shape)
    if d == 0:
        raise NoLayer("splits the batch axis; a spec is written per sample")
    if str(node.target).endswith("unbind"):
        return Mapped((x,), pieces=tuple((("select", {"dim": d, "index": k}),) for k in range(len(items))))
    out, start = [], 0
    for s in items:
        out.append((("slice", {"dim": d, "start": start, "end": start + s[d]}),))
        start += s[d]
    return Mapped((x,), pieces=tuple(out))


def _mvit_unsqueeze(node: fx.Node, b: Mapping[str, Any]) -> Mapped:
    """torchvision's MViT ``_unsqueeze(x, target_dim, expand_dim)`` → ``(x, x.dim())``, called on an
    input that already has ``target_dim`` dims: the input itself, as item 0 of a tuple (its item 1,
    the rank, is a constant)."""
    args = list(constant(node.args)) + [None] * 3
    x, items = args[0], node.meta.get("items")
    shape = node_shape(x) if isinstance(x, fx.Node) else None
    if shape is None or not items or items[0] != shape or len(shape) != args[1]:
        raise NoLayer("_unsqueeze that adds an axis (cnncalc maps only the call that leaves its input alone)")
    node.meta["shape"], node.meta["tuple_layer"] = items[0], True
    node.meta["shape_at_batch_2"] = (node.meta.get("items_at_batch_2") or (None,))[0]
    return Mapped((x,), alias=True)


def _getitem(node: fx.Node, b: Mapping[str, Any]) -> Mapped:
    """``x[:, 0]``, ``x[..., 0::2, :]``: ``slice`` and ``select`` layers; item ``k`` of a module's
    tuple (``out, _ = self.lstm(x)``) or of a split (``x.chunk(2, dim=1)[k]``)."""
    x, index = b["a"], b["b"]
    if not isinstance(x, fx.Node):
        raise NoLayer("indexes a constant")
    if x.meta.get("tuple_layer"):
        if index != 0:
            raise NoLayer(f"reads item {index!r} of the module's output (its extra results, such as "
                          "the hidden state or the attention weights, have no layer)")
        return Mapped((x,), alias=True)
    pieces = x.meta.get("pieces")
    if pieces is not None:
        if not isinstance(index, int) or not -len(pieces) <= index < len(pieces):
            raise NoLayer(f"reads item {index!r} of {len(pieces)} pieces")
        return Mapped((x.meta["pieces_of"],), pieces[index])
    shape = node_shape(x)
    if shape is None:
        raise NoLayer("indexes something that is not one tensor")
    return Mapped((x,), _index_layers(shape, index))


def _index_layers(shape: tuple[int, ...], index: Any) -> tuple[Layer, ...]:
    """Basic indexing of a tensor of ``shape`` as ``slice`` layers, then ``select`` layers from the
    last axis back (a select removes its axis)."""
    index = index if isinstance(index, tuple) else (index,)
    if sum(i is Ellipsis for i in index) > 1 or any(not isinstance(i, (int, slice)) and i is not Ellipsis for i in index):
        raise NoLayer(f"indexing with {index!r} (only integers, slices and ... map, to select and slice)")
    if Ellipsis in index:
        k = index.index(Ellipsis)
        index = index[:k] + (slice(None),) * (len(shape) - len(index) + 1) + index[k + 1:]
    if len(index) > len(shape):
        raise NoLayer(f"too many indices for a tensor of {len(shape)} dims")
    if index and index[0] != slice(None):
        raise NoLayer("indexes the batch axis; a spec is written per sample")
    slices: list[Layer] = []
    selects: list[Layer] = []
    for d, i in enumerate(index[1:], 1):
        if isinstance(i, int):
            selects.insert(0, ("select", {"dim": d, "index": i}))
        elif i != slice(None):
            start, stop, step = i.indices(shape[d])
            if step < 1 or not len(range(start, stop, step)):
                raise NoLayer(f"slice {i!r} of an axis of {shape[d]} (empty, or a negative step)")
            args = {"dim": d, "start": start, "step": step}
            if stop < shape[d]:
                args["end"] = stop
            slices.append(("slice", args))
    return (*slices, *selects)


IDIOMS: dict[str, Callable[[fx.Node, Mapping[str, Any]], Mapped]] = {
    "torch.mean": _mean,
    "mean": _mean,
    "contiguous": _same,
    "clone": _same,
    "torch.clone": _same,
    "chunk": _pieces,
    "torch.chunk": _pieces,
    "split": _pieces,
    "torch.split": _pieces,
    "torch.functional.split": _pieces,
    "unbind": _pieces,
    "torch.unbind": _pieces,
    "operator.getitem": _getitem,
    "torchvision.models.video.mvit._unsqueeze": _mvit_unsqueeze,
}
