"""A spec → a real ``torch.nn.Module``: one named submodule per spec layer, run in the spec's order.

Each layer's torch class and constructor arguments come from its rule's
:meth:`~cnncalc.layers.base.Rule.to_torch` (the exporter writes the same calls out as source). The sizes a constructor needs (``in_channels``,
``in_features``, ``num_features``) are read from the tensors torch itself produces: the net is
first built on the meta device and run on a meta tensor layer by layer (no memory, no arithmetic),
then moved to the real device and initialised. So the shapes the module sees are torch's own, never
cnncalc's analysis.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import torch
from torch import nn

from ..errors import CnncalcError
from ..layers import RULES
from ..layers.base import Rule, Shape, TorchCall, TorchFunction
from ..spec import INPUT, NetSpec
from .names import ids_below, python_names


class BuildError(CnncalcError):
    """torch refused to build or run one layer (the message is torch's)."""

    def __init__(self, layer: str, message: str):
        super().__init__(f"layer '{layer}': {message}")
        self.layer = layer


# ---- layers torch has no class for (the merges): one small module per rule, made from its data ------
class Function(nn.Module):
    """A :class:`~cnncalc.layers.base.TorchFunction` as a module: ``fn`` folded over the inputs
    (``torch.add(torch.add(a, b), c)``) or applied to their list (``torch.cat([a, b], dim=1)``)."""

    fn: Callable[..., torch.Tensor]
    fold: bool

    def __init__(self, **kwargs: Any):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.fold:
            return reduce(lambda a, b: self.fn(a, b, **self.kwargs), xs)
        return self.fn(list(xs), **self.kwargs)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())


def resolve(path: str) -> Any:
    """``torch.cat`` → the object it names (a function path from a rule's torch data)."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@functools.cache
def function_module(cls: str, fn: TorchFunction) -> type[Function]:
    """The module class for one rule's function (named as the rule's torch data names it: ``Add``)."""
    return type(cls, (Function,), {"fn": staticmethod(resolve(fn.name)), "fold": fn.fold})


def make_module(rule: Rule, call: TorchCall) -> nn.Module:
    name, kwargs = call
    fn = rule.torch.function
    if rule.torch.module is not None and name == rule.torch.cls:
        cls = rule.torch.module()  # a class the rule's own file defines (torch has none)
    else:
        cls = function_module(name, fn) if fn is not None else getattr(nn, name)
    return cls(**kwargs)


# ---- the module ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """Run ``layers[key]`` on the outputs named ``inputs``, then drop the outputs named ``free``."""

    key: str
    inputs: tuple[str, ...]
    free: tuple[str, ...]


class Net(nn.Module):
    """The spec's layers as ``self.layers[key]``, run in the spec's order.

    ``names`` maps each spec layer name to its key (spec names may contain dots, keys cannot).
    Every intermediate output is dropped after its last use, as the analysis's memory model assumes.
    """

    def __init__(
        self,
        name: str,
        layers: Mapping[str, nn.Module],
        plan: Sequence[Step],
        names: Mapping[str, str],
    ):
        super().__init__()
        self.name = name
        self.layers = nn.ModuleDict(layers)
        self.plan = tuple(plan)
        self.names = dict(names)
        self.ids: int | None = None  # for an input of integer ids: how many ids every reader accepts

    def sample_input(
        self, shape: Sequence[int], device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """A random input of ``shape`` (batch first): normal values, or random ids below ``ids``."""
        if self.ids is not None:
            return torch.randint(0, self.ids, tuple(shape), device=device)
        return torch.randn(tuple(shape), device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {INPUT: x}
        out = x
        for step in self.plan:
            out = self.layers[step.key](*(values[i] for i in step.inputs))
            values[step.key] = out
            for k in step.free:
                del values[k]
        return out

    def layer(self, spec_name: str) -> nn.Module:
        return self.layers[self.names[spec_name]]


def _plan(spec: NetSpec, keys: Mapping[str, str]) -> list[Step]:
    last_use = {INPUT: -1}
    for i, layer in enumerate(spec.layers):
        last_use[layer.name] = i  # an output nobody reads is dropped at once
        for n in layer.inputs:
            last_use[n] = i
    last_use[spec.layers[-1].name] = len(spec.layers)  # the net's output is kept
    frees: dict[int, list[str]] = {}
    for name, i in last_use.items():
        frees.setdefault(i, []).append(INPUT if name == INPUT else keys[name])
    return [
        Step(
            keys[layer.name],
            tuple(INPUT if n == INPUT else keys[n] for n in layer.inputs),
            tuple(frees.get(i, ())),
        )
        for i, layer in enumerate(spec.layers)
    ]


def build(
    spec: NetSpec, input_shape: Shape | None = None, device: str | torch.device = "cpu"
) -> Net:
    """Build ``spec`` as a :class:`Net` on ``device``, initialised as torch initialises each class.

    Raises :class:`BuildError` naming the first layer torch refuses (its constructor, or its forward
    on a meta tensor). Frozen layers get ``requires_grad=False``. The net comes in training mode.
    """
    shape = tuple(input_shape or spec.input_shape)
    keys = python_names([layer.name for layer in spec.layers])
    dtype = getattr(torch, spec.input_dtype)  # float32, or int64 / int32 ids
    outputs = {
        INPUT: torch.empty((2, *shape), device="meta", dtype=dtype)
    }  # batch 2: BatchNorm refuses 1 in training
    modules: dict[str, nn.Module] = {}
    for layer in spec.layers:
        ins = [outputs[i] for i in layer.inputs]
        try:
            rule = RULES[layer.type]
            with torch.device("meta"):
                module = make_module(rule, rule.to_torch(layer.args, [tuple(t.shape[1:]) for t in ins]))
            outputs[layer.name] = module(*ins)
        except Exception as e:  # torch's refusal, whatever its class, is the answer sought
            raise BuildError(layer.name, f"{type(e).__name__}: {e}") from e
        if layer.frozen:
            module.requires_grad_(False)
        modules[keys[layer.name]] = module
    net = Net(spec.name, modules, _plan(spec, keys), keys)
    net.ids = ids_below(spec)  # ids must index every embedding that reads the input
    net.to_empty(device=device)
    for m in net.modules():
        reset = getattr(m, "reset_parameters", None)
        if reset is not None:
            reset()
    return net
