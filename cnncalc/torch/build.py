"""A spec → a real ``torch.nn.Module``: one named submodule per spec layer, run in the spec's order.

Each layer's torch class and constructor arguments come from :func:`.calls.module_call` (the
exporter writes the same calls out as source). The sizes a constructor needs (``in_channels``,
``in_features``, ``num_features``) are read from the tensors torch itself produces: the net is
first built on the meta device and run on a meta tensor layer by layer (no memory, no arithmetic),
then moved to the real device and initialised. So the shapes the module sees are torch's own, never
cnncalc's analysis.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import torch
from torch import nn

from ..errors import CnncalcError
from ..spec import INPUT, NetSpec
from .calls import Call, Shape, module_call, python_names


class BuildError(CnncalcError):
    """torch refused to build or run one layer (the message is torch's)."""

    def __init__(self, layer: str, message: str):
        super().__init__(f"layer '{layer}': {message}")
        self.layer = layer


# ---- the merges, as modules so that every spec layer is one named submodule ----------------------
class Add(nn.Module):
    """Element-wise sum of the inputs (``a + b + ...``)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return reduce(operator.add, xs)


class Mul(nn.Module):
    """Element-wise product of the inputs, broadcasting (``a * b * ...``)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return reduce(operator.mul, xs)


class Concat(nn.Module):
    """``torch.cat`` of the inputs along ``dim`` (batch is dim 0)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


MERGES: dict[str, type[nn.Module]] = {"Add": Add, "Mul": Mul, "Concat": Concat}


def make_module(call: Call) -> nn.Module:
    name, kwargs = call
    cls = MERGES.get(name) or getattr(nn, name)
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
    outputs = {
        INPUT: torch.empty((2, *shape), device="meta")
    }  # batch 2: BatchNorm refuses 1 in training
    modules: dict[str, nn.Module] = {}
    for layer in spec.layers:
        ins = [outputs[i] for i in layer.inputs]
        try:
            with torch.device("meta"):
                module = make_module(
                    module_call(layer.type, layer.args, [tuple(t.shape[1:]) for t in ins])
                )
            outputs[layer.name] = module(*ins)
        except Exception as e:  # torch's refusal, whatever its class, is the answer sought
            raise BuildError(layer.name, f"{type(e).__name__}: {e}") from e
        if layer.frozen:
            module.requires_grad_(False)
        modules[keys[layer.name]] = module
    net = Net(spec.name, modules, _plan(spec, keys), keys)
    net.to_empty(device=device)
    for m in net.modules():
        reset = getattr(m, "reset_parameters", None)
        if reset is not None:
            reset()
    return net
