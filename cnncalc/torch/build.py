"""A spec → a real ``torch.nn.Module``: one named submodule per spec layer, run in the spec's order.

Each layer's torch class and constructor arguments come from :func:`module_call` (the exporter
writes the same calls out as source). The sizes a constructor needs (``in_channels``,
``in_features``, ``num_features``) are read from the tensors torch itself produces: the net is
first built on the meta device and run on a meta tensor layer by layer (no memory, no arithmetic),
then moved to the real device and initialised. So the shapes the module sees are torch's own, never
cnncalc's analysis.
"""

from __future__ import annotations

import keyword
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import torch
from torch import nn

from ..errors import CnncalcError
from ..spec import INPUT, NetSpec

Shape = tuple[int, ...]
Call = tuple[
    str, dict[str, Any]
]  # a torch.nn class name (or Add/Mul/Concat) and its keyword arguments


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


# ---- layer type → torch class and arguments -----------------------------------------------------
def _rank(x: Shape, layer_type: str) -> int:
    """Spatial axes of a per-sample shape; torch has no class for 0 or more than 3."""
    nd = len(x) - 1
    if not 1 <= nd <= 3:
        raise ValueError(f"{layer_type} needs 1 to 3 spatial axes, the input {list(x)} has {nd}")
    return nd


def _conv(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    x = ins[0]
    return f"Conv{_rank(x, 'conv')}d", {
        "in_channels": x[0],
        "out_channels": a["out"],
        "kernel_size": a["kernel"],
        "stride": a["stride"],
        "padding": a["padding"],
        "dilation": a["dilation"],
        "groups": a["groups"],
        "bias": a["bias"],
    }


def _maxpool(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return f"MaxPool{_rank(ins[0], 'maxpool')}d", {
        "kernel_size": a["kernel"],
        "stride": a["stride"],
        "padding": a["padding"],
        "dilation": a["dilation"],
        "ceil_mode": a["ceil_mode"],
    }


def _avgpool(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return f"AvgPool{_rank(ins[0], 'avgpool')}d", {
        "kernel_size": a["kernel"],
        "stride": a["stride"],
        "padding": a["padding"],
        "ceil_mode": a["ceil_mode"],
        "count_include_pad": a["count_include_pad"],
    }


def _adaptive(kind: str) -> Callable[[Mapping[str, Any], Sequence[Shape]], Call]:
    def call(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
        x = ins[0]
        nd = _rank(x, f"adaptive{kind.lower()}pool")
        out = a["out"]
        if nd == 1 and isinstance(out, tuple):  # the 1-d classes refuse None: it keeps the length
            out = tuple(x[1] if o is None else o for o in out)
        return f"Adaptive{kind}Pool{nd}d", {"output_size": out}

    return call


def _linear(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return "Linear", {"in_features": ins[0][-1], "out_features": a["out"], "bias": a["bias"]}


def _flatten(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return "Flatten", {"start_dim": a["start_dim"], "end_dim": a["end_dim"]}


def _batchnorm(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    x = ins[0]  # (C,) and (C, L) are BatchNorm1d, (C, H, W) 2d, (C, D, H, W) 3d
    return f"BatchNorm{max(1, len(x) - 1)}d", {
        "num_features": x[0],
        "eps": a["eps"],
        "momentum": a["momentum"],
        "affine": a["affine"],
        "track_running_stats": a["track_running_stats"],
    }


def _same_name(torch_name: str) -> Callable[[Mapping[str, Any], Sequence[Shape]], Call]:
    """Element-wise layers: the spec's argument names are the torch class's."""
    return lambda a, ins: (torch_name, dict(a))


ELEMENTWISE = {
    "dropout": "Dropout",
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leakyrelu": "LeakyReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softmax": "Softmax",
    "gelu": "GELU",
    "silu": "SiLU",
    "hardswish": "Hardswish",
    "hardsigmoid": "Hardsigmoid",
    "elu": "ELU",
    "identity": "Identity",
}

CALLS: dict[str, Callable[[Mapping[str, Any], Sequence[Shape]], Call]] = {
    "conv": _conv,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "adaptiveavgpool": _adaptive("Avg"),
    "adaptivemaxpool": _adaptive("Max"),
    "linear": _linear,
    "flatten": _flatten,
    "batchnorm": _batchnorm,
    **{t: _same_name(n) for t, n in ELEMENTWISE.items()},
    "add": lambda a, ins: ("Add", {}),
    "mul": lambda a, ins: ("Mul", {}),
    "concat": lambda a, ins: ("Concat", {"dim": a["dim"]}),
}


def module_call(layer_type: str, args: Mapping[str, Any], in_shapes: Sequence[Shape]) -> Call:
    """The torch class name and keyword arguments of one layer, given its per-sample input shapes.

    Raises ``ValueError`` where torch has no class for the input's rank (a conv on a flat vector).
    """
    return CALLS[layer_type](args, in_shapes)


def make_module(call: Call) -> nn.Module:
    name, kwargs = call
    cls = MERGES.get(name) or getattr(nn, name)
    return cls(**kwargs)


# ---- names --------------------------------------------------------------------------------------
RESERVED = frozenset(dir(nn.ModuleDict())) | {"x", "self", "torch", "nn", INPUT}


def python_names(names: Sequence[str]) -> dict[str, str]:
    """Spec layer name → a distinct Python identifier (``layer1.0.conv1`` → ``layer1_0_conv1``).

    Identifiers avoid keywords and ``nn.Module``'s own attributes, so they serve as ModuleDict keys,
    attribute names and local variables alike.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = re.sub(r"\W", "_", name) or "layer"
        if base[0].isdigit():
            base = f"layer_{base}"
        if keyword.iskeyword(base) or base in RESERVED:
            base += "_"
        key, n = base, 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        taken.add(key)
        out[name] = key
    return out


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
