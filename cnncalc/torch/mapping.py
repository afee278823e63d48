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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch._jit_internal import boolean_dispatched
from torch.fx.operator_schemas import get_signature_for_torch_op

from ..layers import torch_classes, torch_functions, torch_methods
from ..layers.base import REQUIRED, NotExpressible, Rule, ShapeError, check_arg, expectation

Layer = tuple[str, dict[str, Any]]  # (cnncalc type, spec arguments)


class NoLayer(Exception):
    """Raised while mapping a node: it has no cnncalc layer (the message says why)."""


@dataclass(frozen=True)
class Mapped:
    """What one node becomes: layers (the last gives the node's output) or an alias of an input."""

    inputs: tuple[fx.Node, ...]
    layers: tuple[Layer, ...] = ()
    alias: bool = False  # the node's output is its (single) input: no layer


def node_shape(node: fx.Node) -> tuple[int, ...] | None:
    """The output shape torch gave ``node`` (batch included), or None where it is not one tensor."""
    shape = node.meta.get("shape")
    return None if shape is None else tuple(shape)


# ---- modules -----------------------------------------------------------------------------------------
def _owned(cls: type, rule: Rule) -> bool:
    """``cls`` is the class the rule names: torch's own, cnncalc's (build's), or a listed alias."""
    module = getattr(cls, "__module__", "")
    return module.startswith(("torch.nn", "cnncalc.")) or cls.__name__ in rule.torch.aliases


def module_rule(m: nn.Module) -> tuple[Rule, type] | None:
    """The rule of a module, by its class or the nearest base class a rule names (and that class)."""
    classes = torch_classes()
    for cls in type(m).__mro__:
        rule = classes.get(cls.__name__)
        if rule is not None and _owned(cls, rule):
            return rule, cls
    return None


def is_leaf(m: nn.Module) -> bool:
    """Trace ``m`` as one node: its class maps to a rule and it keeps that class's ``forward``
    (torchvision's Conv3DSimple subclasses nn.Conv3d for its ``__init__`` only)."""
    found = module_rule(m)
    return found is not None and getattr(type(m), "forward", None) is getattr(found[1], "forward", None)


def module_mapped(m: nn.Module, x: fx.Node) -> Mapped:
    """A leaf module called on ``x``: its rule's layer, from the module's attributes."""
    found = module_rule(m)
    if found is None:
        raise NoLayer("no cnncalc layer for this module")
    rule = found[0]
    values = {p.name: getattr(m, p.name) for p in rule.torch.params if hasattr(m, p.name)}
    return checked(rule, values, (x,))


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
    """The call's arguments by torch's names, defaults applied (the first overload that binds)."""
    args, kwargs = constant(node.args), constant(node.kwargs)
    for sig in signatures(node.op, node.target):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            continue
        bound.apply_defaults()
        return dict(bound.arguments)
    raise NoLayer(f"cannot read the arguments {_shown(args)} against torch's signature")


def _shown(args: Any) -> str:
    return "(" + ", ".join(a.name if isinstance(a, fx.Node) else repr(a) for a in args) + ")"


def _nodes(value: Any) -> Iterator[fx.Node]:
    if isinstance(value, fx.Node):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _nodes(v)


def function_mapped(node: fx.Node) -> Mapped:
    """A call_function or call_method node: a rule's layer, or one of the :data:`IDIOMS`."""
    idiom = IDIOMS.get(str(node.target) if node.op == "call_method" else qualified(node.target))
    if idiom is not None:
        return idiom(bind(node))
    rule = function_rule(node.op, node.target)
    if rule is None:
        raise NoLayer("no cnncalc layer for this operation")
    bound = bind(node)
    tensors = tuple(n for v in bound.values() for n in _nodes(v))
    values = {k: v for k, v in bound.items() if not any(True for _ in _nodes(v))}
    return checked(rule, values, tensors)


# ---- one layer, checked on its own -------------------------------------------------------------------
def checked(rule: Rule, values: Mapping[str, Any], inputs: tuple[fx.Node, ...]) -> Mapped:
    """``rule``'s layer from torch's ``values``, its arguments and its shape inference checked."""
    shapes = [node_shape(n) for n in inputs]
    if any(s is None for s in shapes):
        node = next(n for n, s in zip(inputs, shapes, strict=True) if s is None)
        if node.meta.get("batch_dependent"):
            raise NoLayer(f"argument '{node.name}' depends on the batch size; a spec is written per sample")
        raise NoLayer(f"argument '{node.name}' is computed at run time; cnncalc needs constants")
    top = sys.maxsize if rule.max_inputs is None else rule.max_inputs
    if not rule.min_inputs <= len(inputs) <= top:
        numbers = ", ".join(f"{k}={v!r}" for k, v in values.items() if isinstance(v, (int, float)))
        takes = f"{rule.min_inputs}{'' if top == rule.min_inputs else ' or more'}"
        raise NoLayer(f"{rule.type} of {len(inputs)} tensor(s) and constants ({numbers}); cnncalc's "
                      f"{rule.type} takes {takes} tensors")
    try:
        args = rule.from_torch({k: None if _empty(v) else v for k, v in values.items()})
    except NotExpressible as e:
        raise NoLayer(str(e)) from None
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


# ---- an idiom that no rule owns ----------------------------------------------------------------------
def _mean(b: Mapping[str, Any]) -> Mapped:
    """``x.mean([2, 3])`` over every spatial axis is global average pooling (then flatten)."""
    x, dims = b["input"], b.get("dim")
    rank = len(node_shape(x) or ()) if isinstance(x, fx.Node) else 0
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if rank < 3 or sorted(d % rank for d in dims) != list(range(2, rank)) or b.get("dtype") is not None:
        raise NoLayer(f"mean over dims {dims} of a {rank}-d tensor (only a mean over every spatial axis "
                      "maps, to adaptiveavgpool)")
    pool: Layer = ("adaptiveavgpool", {"out": 1})
    return Mapped((x,), (pool,) if b.get("keepdim") else (pool, ("flatten", {})))


IDIOMS: dict[str, Callable[[Mapping[str, Any]], Mapped]] = {"torch.mean": _mean, "mean": _mean}

