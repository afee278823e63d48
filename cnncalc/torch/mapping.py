"""The torch → cnncalc mapping: which module classes, functions and tensor methods become which layer.

A handler gets a leaf module (or a call's arguments bound to torch's signature) and returns the
layer(s) it becomes, or raises :class:`NoLayer` with the reason. Nothing is guessed.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn


def node_shape(node: fx.Node) -> tuple[int, ...] | None:
    """The output shape torch gave ``node`` (batch included), or None where it is not one tensor."""
    shape = node.meta.get("shape")
    return None if shape is None else tuple(shape)


class NoLayer(Exception):
    """Raised by a handler: this node has no cnncalc layer (the message says why)."""


Layer = tuple[str, dict[str, Any]]  # (cnncalc type, arguments)


@dataclass(frozen=True)
class Mapped:
    """What one node becomes: layers (the last gives the node's output) or an alias of an input."""

    inputs: tuple[fx.Node, ...]
    layers: tuple[Layer, ...] = ()
    alias: bool = False  # the node's output is its (single) input: no layer


def _axes(value: Any) -> Any:
    """A per-axis tuple with all values equal → that int; otherwise a list (ints pass through)."""
    if isinstance(value, (tuple, list)):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def _conv(m: nn.Module) -> Layer:
    if m.padding_mode != "zeros":
        raise NoLayer(f"padding_mode='{m.padding_mode}' (cnncalc pads with zeros only)")
    padding = 0 if m.padding == "valid" else m.padding if isinstance(m.padding, str) else _axes(m.padding)
    return "conv", {
        "out": m.out_channels, "kernel": _axes(m.kernel_size), "stride": _axes(m.stride), "padding": padding,
        "dilation": _axes(m.dilation), "groups": m.groups, "bias": m.bias is not None,
    }


def _maxpool(kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, indices: bool) -> Layer:
    if indices:
        raise NoLayer("return_indices=True (the indices are a second output)")
    stride = kernel if stride is None or stride == [] else stride
    return "maxpool", {
        "kernel": _axes(kernel), "stride": _axes(stride), "padding": _axes(padding),
        "ceil_mode": bool(ceil_mode), "dilation": _axes(dilation),
    }


def _avgpool(kernel: Any, stride: Any, padding: Any, ceil_mode: bool, include_pad: bool, divisor: Any) -> Layer:
    if divisor is not None:
        raise NoLayer(f"divisor_override={divisor} (not in cnncalc's avgpool)")
    stride = kernel if stride is None or stride == [] else stride
    return "avgpool", {
        "kernel": _axes(kernel), "stride": _axes(stride), "padding": _axes(padding),
        "ceil_mode": bool(ceil_mode), "count_include_pad": bool(include_pad),
    }


def _adaptive(kind: str, out: Any, indices: bool = False) -> Layer:
    if indices:
        raise NoLayer("return_indices=True (the indices are a second output)")
    return kind, {"out": _axes(out)}


def _batchnorm(m: nn.Module) -> Layer:
    if m.momentum is None:
        raise NoLayer("momentum=None (a cumulative average; cnncalc's batchnorm takes a number)")
    return "batchnorm", {
        "eps": m.eps, "momentum": m.momentum, "affine": m.affine, "track_running_stats": m.track_running_stats,
    }


def _softmax(dim: Any) -> Layer:
    if dim is None:
        raise NoLayer("softmax without dim (torch guesses the axis); give dim explicitly")
    return "softmax", {"dim": dim}


def _gelu(approximate: str) -> Layer:
    if approximate != "none":
        raise NoLayer(f"approximate='{approximate}' (cnncalc's gelu is the exact one)")
    return "gelu", {}


def _flatten(start_dim: int, end_dim: int) -> Layer:
    if start_dim == 0:
        raise NoLayer("flattens the batch axis (start_dim=0); cnncalc's flatten starts at 1 or later")
    return "flatten", {"start_dim": start_dim, "end_dim": end_dim}


MODULES: dict[type, Callable[[Any], Layer]] = {
    **dict.fromkeys((nn.Conv1d, nn.Conv2d, nn.Conv3d), _conv),
    **dict.fromkeys(
        (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d),
        lambda m: _maxpool(m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, m.return_indices),
    ),
    **dict.fromkeys(
        (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d),
        lambda m: _avgpool(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                           getattr(m, "divisor_override", None)),
    ),
    **dict.fromkeys(
        (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d),
        lambda m: _adaptive("adaptiveavgpool", m.output_size),
    ),
    **dict.fromkeys(
        (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d),
        lambda m: _adaptive("adaptivemaxpool", m.output_size, m.return_indices),
    ),
    nn.Linear: lambda m: ("linear", {"out": m.out_features, "bias": m.bias is not None}),
    nn.Flatten: lambda m: _flatten(m.start_dim, m.end_dim),
    **dict.fromkeys((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), _batchnorm),
    nn.Dropout: lambda m: ("dropout", {"p": m.p}),
    nn.ReLU: lambda m: ("relu", {}),
    nn.ReLU6: lambda m: ("relu6", {}),
    nn.LeakyReLU: lambda m: ("leakyrelu", {"negative_slope": m.negative_slope}),
    nn.Sigmoid: lambda m: ("sigmoid", {}),
    nn.Tanh: lambda m: ("tanh", {}),
    nn.Softmax: lambda m: _softmax(m.dim),
    nn.GELU: lambda m: _gelu(m.approximate),
    nn.SiLU: lambda m: ("silu", {}),
    nn.Hardswish: lambda m: ("hardswish", {}),
    nn.Hardsigmoid: lambda m: ("hardsigmoid", {}),
    nn.ELU: lambda m: ("elu", {"alpha": m.alpha}),
    nn.Identity: lambda m: ("identity", {}),
}


def module_layer(m: nn.Module) -> Layer | None:
    """The layer for a leaf module: its class or the nearest base class in :data:`MODULES`."""
    for cls in type(m).__mro__:
        if cls in MODULES:
            return MODULES[cls](m)
    raise NoLayer("no cnncalc layer for this module")


# Functions and methods: a stub with the torch signature (to bind the traced arguments by name) and
# a maker from the bound arguments to a Mapped. Tensors are the Nodes among the arguments.
@dataclass(frozen=True)
class Fn:
    stub: Callable[..., None]
    make: Callable[[Mapping[str, Any]], Mapped]

    def bind(self, node: fx.Node) -> Mapped:
        """Bind a call's arguments to the torch signature and make its layers."""
        try:
            bound = inspect.signature(self.stub).bind(*node.args, **node.kwargs)
        except TypeError as e:
            raise NoLayer(f"unexpected arguments: {e}") from None
        bound.apply_defaults()
        mapped = self.make(bound.arguments)
        tensors = set(mapped.inputs)
        for arg in node.all_input_nodes:
            if arg not in tensors:
                raise NoLayer(f"argument '{arg.name}' is computed at run time; cnncalc needs constants")
        return mapped


def _one(b: Mapping[str, Any], layer: Layer) -> Mapped:
    return Mapped((b["input"],), (layer,))


def _binary(kind: str) -> Callable[[Mapping[str, Any]], Mapped]:
    def make(b: Mapping[str, Any]) -> Mapped:
        a, other = b["input"], b["other"]
        for x in (a, other):
            if not isinstance(x, fx.Node) or node_shape(x) is None:
                raise NoLayer(f"{kind} with a constant ({x!r}); cnncalc's {kind} joins two tensors")
        if b.get("alpha", 1) != 1:
            raise NoLayer(f"add with alpha={b['alpha']}")
        if kind == "add" and node_shape(a) != node_shape(other):
            raise NoLayer(f"add of shapes {list(node_shape(a) or ())} and {list(node_shape(other) or ())} "
                           "broadcasts; cnncalc's add needs equal shapes")
        return Mapped((a, other), ((kind, {}),))
    return make


def _cat(b: Mapping[str, Any]) -> Mapped:
    tensors = tuple(b["tensors"])
    dim = b["dim"] if b["axis"] is None else b["axis"]
    if any(not isinstance(t, fx.Node) for t in tensors) or not isinstance(dim, int):
        raise NoLayer("concatenates something other than traced tensors along a constant dim")
    rank = len(node_shape(tensors[0]) or ()) if tensors else 0
    if rank and dim % rank == 0:
        raise NoLayer(f"concatenates along the batch axis (dim={dim})")
    if len(tensors) == 1:
        return Mapped(tensors, alias=True)  # torch.cat([x]) is x (DenseNet's first layer)
    return Mapped(tensors, (("concat", {"dim": dim}),))


def _mean(b: Mapping[str, Any]) -> Mapped:
    """``x.mean([2, 3])`` over every spatial axis is global average pooling (then flatten)."""
    x, dims = b["input"], b.get("dim")
    rank = len(node_shape(x) or ())
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if rank < 3 or sorted(d % rank for d in dims) != list(range(2, rank)) or b.get("dtype") is not None:
        raise NoLayer(f"mean over dims {dims} of a {rank}-d tensor (only a mean over every spatial axis "
                       "maps, to adaptiveavgpool)")
    pool: Layer = ("adaptiveavgpool", {"out": 1})
    return Mapped((x,), (pool,) if b.get("keepdim") else (pool, ("flatten", {})))


def _s_unary(input, inplace=False): ...
def _s_leaky(input, negative_slope=0.01, inplace=False): ...
def _s_elu(input, alpha=1.0, inplace=False): ...
def _s_gelu(input, approximate="none"): ...
def _s_softmax(input, dim=None, _stacklevel=3, dtype=None): ...
def _s_dropout(input, p=0.5, training=True, inplace=False): ...
def _s_flatten(input, start_dim=0, end_dim=-1): ...
def _s_binary(input, other, alpha=1): ...
def _s_cat(tensors, dim=0, axis=None, out=None): ...
def _s_mean(input, dim=None, keepdim=False, dtype=None): ...
def _s_maxpool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False): ...
def _s_avgpool(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None): ...
def _s_adaptive(input, output_size, return_indices=False): ...


def _act(kind: str) -> Fn:
    return Fn(_s_unary, lambda b: _one(b, (kind, {})))


_MAXPOOL = Fn(_s_maxpool, lambda b: _one(b, _maxpool(
    b["kernel_size"], b["stride"], b["padding"], b["dilation"], b["ceil_mode"], b["return_indices"])))
_AVGPOOL = Fn(_s_avgpool, lambda b: _one(b, _avgpool(
    b["kernel_size"], b["stride"], b["padding"], b["ceil_mode"], b["count_include_pad"], b["divisor_override"])))
_ADAPTIVE_AVG = Fn(_s_adaptive, lambda b: _one(b, _adaptive("adaptiveavgpool", b["output_size"])))
_ADAPTIVE_MAX = Fn(_s_adaptive, lambda b: _one(b, _adaptive("adaptivemaxpool", b["output_size"], b["return_indices"])))
_ADD = Fn(_s_binary, _binary("add"))
_MUL = Fn(_s_binary, _binary("mul"))
_FLATTEN = Fn(_s_flatten, lambda b: _one(b, _flatten(b["start_dim"], b["end_dim"])))
_SOFTMAX = Fn(_s_softmax, lambda b: _one(b, _softmax(b["dim"])))
_MEAN = Fn(_s_mean, _mean)

_ACTIVATIONS: dict[str, Fn] = {
    "relu": _act("relu"), "relu6": _act("relu6"), "sigmoid": _act("sigmoid"), "tanh": _act("tanh"),
    "silu": _act("silu"), "hardswish": _act("hardswish"), "hardsigmoid": _act("hardsigmoid"),
    "leakyrelu": Fn(_s_leaky, lambda b: _one(b, ("leakyrelu", {"negative_slope": b["negative_slope"]}))),
    "elu": Fn(_s_elu, lambda b: _one(b, ("elu", {"alpha": b["alpha"]}))),
    "gelu": Fn(_s_gelu, lambda b: _one(b, _gelu(b["approximate"]))),
    "softmax": _SOFTMAX,
}

FUNCTIONS: dict[Any, Fn] = {
    torch.flatten: _FLATTEN,
    operator.add: _ADD, operator.iadd: _ADD, torch.add: _ADD,
    operator.mul: _MUL, operator.imul: _MUL, torch.mul: _MUL,
    **dict.fromkeys((torch.cat, torch.concat, torch.concatenate), Fn(_s_cat, _cat)),
    torch.mean: _MEAN,
    F.relu: _ACTIVATIONS["relu"], F.relu_: _ACTIVATIONS["relu"], torch.relu: _ACTIVATIONS["relu"],
    torch.relu_: _ACTIVATIONS["relu"], F.relu6: _ACTIVATIONS["relu6"],
    F.leaky_relu: _ACTIVATIONS["leakyrelu"], F.elu: _ACTIVATIONS["elu"], F.gelu: _ACTIVATIONS["gelu"],
    F.sigmoid: _ACTIVATIONS["sigmoid"], torch.sigmoid: _ACTIVATIONS["sigmoid"],
    F.tanh: _ACTIVATIONS["tanh"], torch.tanh: _ACTIVATIONS["tanh"],
    F.silu: _ACTIVATIONS["silu"], F.hardswish: _ACTIVATIONS["hardswish"],
    F.hardsigmoid: _ACTIVATIONS["hardsigmoid"], F.softmax: _SOFTMAX, torch.softmax: _SOFTMAX,
    F.dropout: Fn(_s_dropout, lambda b: _one(b, ("dropout", {"p": b["p"]}))),
    **dict.fromkeys((F.max_pool1d, F.max_pool2d, F.max_pool3d), _MAXPOOL),
    **dict.fromkeys((F.avg_pool1d, F.avg_pool2d, F.avg_pool3d), _AVGPOOL),
    **dict.fromkeys((F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d), _ADAPTIVE_AVG),
    **dict.fromkeys((F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d), _ADAPTIVE_MAX),
}

METHODS: dict[str, Fn] = {
    "flatten": _FLATTEN, "add": _ADD, "add_": _ADD, "mul": _MUL, "mul_": _MUL, "mean": _MEAN,
    "relu": _ACTIVATIONS["relu"], "relu_": _ACTIVATIONS["relu"], "sigmoid": _ACTIVATIONS["sigmoid"],
    "tanh": _ACTIVATIONS["tanh"], "softmax": _SOFTMAX,
}


def _stochastic_depth(input, p, mode, training=True): ...


def _identity_at_inference(b: Mapping[str, Any]) -> Mapped:
    if b.get("training"):
        raise NoLayer("called with training=True (random at inference)")
    return Mapped((b["input"],), alias=True)


FUNCTION_NAMES: dict[str, Fn] = {
    # torchvision.ops.StochasticDepth: the identity at inference (EfficientNet, ConvNeXt)
    "torchvision.ops.stochastic_depth.stochastic_depth": Fn(_stochastic_depth, _identity_at_inference),
}


def qualified(target: Any) -> str:
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"


def function_for(op: str, target: Any) -> Fn | None:
    """The handler of a call_function or call_method node, or None."""
    if op == "call_method":
        return METHODS.get(target) if isinstance(target, str) else None
    if op != "call_function":
        return None
    try:
        fn = FUNCTIONS.get(target)
    except TypeError:  # an unhashable target
        return None
    return fn or FUNCTION_NAMES.get(qualified(target))


def known_module_classes() -> tuple[type, ...]:
    """The module classes that map to a layer: traced as leaves, subclasses included."""
    return tuple(MODULES)
