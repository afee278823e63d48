"""Import a PyTorch model as a spec in the core grammar (docs/spec.md "The core"), via torch.fx.

The model is traced with ``torch.fx.symbolic_trace`` and run once on a zero input (``ShapeProp``), so
that every node's output shape is known. Each node then becomes one cnncalc layer (a few become two,
or none), or it is listed as unsupported: nothing is guessed, and a model with any unsupported node
gives no spec at all. Before a spec is returned it is analysed, and every layer's output shape and
every module's parameter count must equal torch's.

>>> imported = import_model("torchvision:resnet18")      # doctest: +SKIP
>>> cnncalc.analyze(imported.spec).totals.params          # doctest: +SKIP
11689512
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from ..analysis import analyze
from ..errors import CnncalcError, SpecError
from ..layers import RULES
from ..spec import INPUT

DEFAULT_INPUT = (3, 224, 224)
TORCHVISION_INPUTS = {"inception_v3": (3, 299, 299)}
TORCHVISION_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}


class ModelError(CnncalcError):
    """The model reference cannot be loaded, traced or run (a usage error: exit status 2)."""


class ImportCheckError(CnncalcError):
    """The spec made from a model disagrees with torch on a shape or a parameter count (a bug)."""


@dataclass(frozen=True)
class Unsupported:
    """One traced node that has no cnncalc layer, and why."""

    op: str  # fx opcode: call_module, call_function, call_method, get_attr, placeholder, output
    target: str  # the module's class, the function's qualified name or the method's name
    node: str  # the fx node's name
    module: str  # the module path it was traced in ("" at the top level)
    reason: str


class UnsupportedOps(CnncalcError):
    """The model uses operations cnncalc cannot express; no spec is made."""

    def __init__(self, model: str, items: Iterable[Unsupported], dependents: int = 0):
        self.model = model
        self.items = tuple(items)
        self.dependents = dependents  # nodes left unconverted because an input of theirs is unsupported
        super().__init__(f"{model}: {len(self.items)} operation(s) have no cnncalc layer")

    def groups(self) -> list[list[Unsupported]]:
        """The items grouped by (op, target, reason), in order of first appearance."""
        out: dict[tuple[str, str, str], list[Unsupported]] = {}
        for u in self.items:
            out.setdefault((u.op, u.target, u.reason), []).append(u)
        return list(out.values())


@dataclass(frozen=True)
class Imported:
    """A spec (the same data as a YAML file) and notes about what the import left out."""

    spec: dict[str, Any]
    warnings: tuple[str, ...]


# ---- loading ---------------------------------------------------------------------------------------
def load_model(ref: str) -> tuple[nn.Module, str, tuple[int, ...]]:
    """``torchvision:NAME`` or ``package.module:factory`` → (model, its name, default input shape)."""
    source, sep, name = ref.partition(":")
    if not sep or not source or not name:
        raise ModelError(f"'{ref}': expected torchvision:NAME (e.g. torchvision:resnet50) or package.module:factory")
    if source == "torchvision":
        return _torchvision_model(name), name, TORCHVISION_INPUTS.get(name, DEFAULT_INPUT)
    try:
        module = importlib.import_module(source)
    except ImportError as e:
        raise ModelError(f"'{ref}': cannot import module '{source}': {e}") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ModelError(f"'{ref}': module '{source}' has no callable '{name}'")
    try:
        model = factory()
    except Exception as e:
        raise ModelError(f"'{ref}': calling {name}() failed: {type(e).__name__}: {e}") from None
    if not isinstance(model, nn.Module):
        raise ModelError(f"'{ref}': {name}() returned {type(model).__name__}, not a torch.nn.Module")
    return model, name, DEFAULT_INPUT


def _torchvision_model(name: str) -> nn.Module:
    try:
        import torchvision
    except ImportError:
        raise ModelError(f"torchvision:{name} needs torchvision: pip install torchvision") from None
    known = torchvision.models.list_models()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see torchvision.models.list_models())"
        raise ModelError(f"torchvision has no model '{name}'{hint}")
    return torchvision.models.get_model(name, weights=None, **TORCHVISION_KWARGS.get(name, {}))


# ---- tracing ---------------------------------------------------------------------------------------
def trace(model: nn.Module, input_shape: tuple[int, ...], name: str) -> fx.GraphModule:
    """Trace ``model`` (in eval mode) and record every node's output in ``node.meta['tensor_meta']``."""
    model = model.eval()
    try:
        gm = fx.symbolic_trace(model)
    except Exception as e:
        raise ModelError(f"{name}: torch.fx cannot trace the model: {_first_line(e)}") from None
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros(1, *input_shape))
    except Exception as e:
        cause = e.__cause__ or e
        shape = list((1, *input_shape))
        raise ModelError(f"{name}: the model does not run on an input of shape {shape}: {_first_line(cause)}") from None
    return gm


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def node_shape(node: fx.Node) -> tuple[int, ...] | None:
    """The output shape torch gave ``node`` (batch included), or None where it is not one tensor."""
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return None if shape is None else tuple(shape)


# ---- node → layer handlers -------------------------------------------------------------------------
class _NoLayer(Exception):
    """Raised by a handler: this node has no cnncalc layer (the message says why)."""


Layer = tuple[str, dict[str, Any]]  # (cnncalc type, arguments)


@dataclass(frozen=True)
class _Mapped:
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
        raise _NoLayer(f"padding_mode='{m.padding_mode}' (cnncalc pads with zeros only)")
    padding = 0 if m.padding == "valid" else m.padding if isinstance(m.padding, str) else _axes(m.padding)
    return "conv", {
        "out": m.out_channels, "kernel": _axes(m.kernel_size), "stride": _axes(m.stride), "padding": padding,
        "dilation": _axes(m.dilation), "groups": m.groups, "bias": m.bias is not None,
    }


def _maxpool(kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, indices: bool) -> Layer:
    if indices:
        raise _NoLayer("return_indices=True (the indices are a second output)")
    stride = kernel if stride is None or stride == [] else stride
    return "maxpool", {
        "kernel": _axes(kernel), "stride": _axes(stride), "padding": _axes(padding),
        "ceil_mode": bool(ceil_mode), "dilation": _axes(dilation),
    }


def _avgpool(kernel: Any, stride: Any, padding: Any, ceil_mode: bool, include_pad: bool, divisor: Any) -> Layer:
    if divisor is not None:
        raise _NoLayer(f"divisor_override={divisor} (not in cnncalc's avgpool)")
    stride = kernel if stride is None or stride == [] else stride
    return "avgpool", {
        "kernel": _axes(kernel), "stride": _axes(stride), "padding": _axes(padding),
        "ceil_mode": bool(ceil_mode), "count_include_pad": bool(include_pad),
    }


def _adaptive(kind: str, out: Any, indices: bool = False) -> Layer:
    if indices:
        raise _NoLayer("return_indices=True (the indices are a second output)")
    return kind, {"out": _axes(out)}


def _batchnorm(m: nn.Module) -> Layer:
    if m.momentum is None:
        raise _NoLayer("momentum=None (a cumulative average; cnncalc's batchnorm takes a number)")
    return "batchnorm", {
        "eps": m.eps, "momentum": m.momentum, "affine": m.affine, "track_running_stats": m.track_running_stats,
    }


def _softmax(dim: Any) -> Layer:
    if dim is None:
        raise _NoLayer("softmax without dim (torch guesses the axis); give dim explicitly")
    return "softmax", {"dim": dim}


def _gelu(approximate: str) -> Layer:
    if approximate != "none":
        raise _NoLayer(f"approximate='{approximate}' (cnncalc's gelu is the exact one)")
    return "gelu", {}


def _flatten(start_dim: int, end_dim: int) -> Layer:
    if start_dim == 0:
        raise _NoLayer("flattens the batch axis (start_dim=0); cnncalc's flatten starts at 1 or later")
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


def module_layer(m: nn.Module) -> Layer:
    """The layer for a leaf module: its class or the nearest base class in :data:`MODULES`."""
    for cls in type(m).__mro__:
        if cls in MODULES:
            return MODULES[cls](m)
    raise _NoLayer("no cnncalc layer for this module")


# Functions and methods: a stub with the torch signature (to bind the traced arguments by name) and
# a maker from the bound arguments to a _Mapped. Tensors are the Nodes among the arguments.
@dataclass(frozen=True)
class _Fn:
    stub: Callable[..., None]
    make: Callable[[Mapping[str, Any]], _Mapped]


def _one(b: Mapping[str, Any], layer: Layer) -> _Mapped:
    return _Mapped((b["input"],), (layer,))


def _binary(kind: str) -> Callable[[Mapping[str, Any]], _Mapped]:
    def make(b: Mapping[str, Any]) -> _Mapped:
        a, other = b["input"], b["other"]
        for x in (a, other):
            if not isinstance(x, fx.Node) or node_shape(x) is None:
                raise _NoLayer(f"{kind} with a constant ({x!r}); cnncalc's {kind} joins two tensors")
        if b.get("alpha", 1) != 1:
            raise _NoLayer(f"add with alpha={b['alpha']}")
        if kind == "add" and node_shape(a) != node_shape(other):
            raise _NoLayer(f"add of shapes {list(node_shape(a) or ())} and {list(node_shape(other) or ())} "
                           "broadcasts; cnncalc's add needs equal shapes")
        return _Mapped((a, other), ((kind, {}),))
    return make


def _cat(b: Mapping[str, Any]) -> _Mapped:
    tensors = tuple(b["tensors"])
    dim = b["dim"] if b["axis"] is None else b["axis"]
    if any(not isinstance(t, fx.Node) for t in tensors) or not isinstance(dim, int):
        raise _NoLayer("concatenates something other than traced tensors along a constant dim")
    rank = len(node_shape(tensors[0]) or ()) if tensors else 0
    if rank and dim % rank == 0:
        raise _NoLayer(f"concatenates along the batch axis (dim={dim})")
    if len(tensors) == 1:
        return _Mapped(tensors, alias=True)  # torch.cat([x]) is x (DenseNet's first layer)
    return _Mapped(tensors, (("concat", {"dim": dim}),))


def _mean(b: Mapping[str, Any]) -> _Mapped:
    """``x.mean([2, 3])`` over every spatial axis is global average pooling (then flatten)."""
    x, dims = b["input"], b.get("dim")
    rank = len(node_shape(x) or ())
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if rank < 3 or sorted(d % rank for d in dims) != list(range(2, rank)) or b.get("dtype") is not None:
        raise _NoLayer(f"mean over dims {dims} of a {rank}-d tensor (only a mean over every spatial axis "
                       "maps, to adaptiveavgpool)")
    pool: Layer = ("adaptiveavgpool", {"out": 1})
    return _Mapped((x,), (pool,) if b.get("keepdim") else (pool, ("flatten", {})))


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


def _act(kind: str) -> _Fn:
    return _Fn(_s_unary, lambda b: _one(b, (kind, {})))


_MAXPOOL = _Fn(_s_maxpool, lambda b: _one(b, _maxpool(
    b["kernel_size"], b["stride"], b["padding"], b["dilation"], b["ceil_mode"], b["return_indices"])))
_AVGPOOL = _Fn(_s_avgpool, lambda b: _one(b, _avgpool(
    b["kernel_size"], b["stride"], b["padding"], b["ceil_mode"], b["count_include_pad"], b["divisor_override"])))
_ADAPTIVE_AVG = _Fn(_s_adaptive, lambda b: _one(b, _adaptive("adaptiveavgpool", b["output_size"])))
_ADAPTIVE_MAX = _Fn(_s_adaptive, lambda b: _one(b, _adaptive("adaptivemaxpool", b["output_size"], b["return_indices"])))
_ADD = _Fn(_s_binary, _binary("add"))
_MUL = _Fn(_s_binary, _binary("mul"))
_FLATTEN = _Fn(_s_flatten, lambda b: _one(b, _flatten(b["start_dim"], b["end_dim"])))
_SOFTMAX = _Fn(_s_softmax, lambda b: _one(b, _softmax(b["dim"])))
_MEAN = _Fn(_s_mean, _mean)

_ACTIVATIONS: dict[str, _Fn] = {
    "relu": _act("relu"), "relu6": _act("relu6"), "sigmoid": _act("sigmoid"), "tanh": _act("tanh"),
    "silu": _act("silu"), "hardswish": _act("hardswish"), "hardsigmoid": _act("hardsigmoid"),
    "leakyrelu": _Fn(_s_leaky, lambda b: _one(b, ("leakyrelu", {"negative_slope": b["negative_slope"]}))),
    "elu": _Fn(_s_elu, lambda b: _one(b, ("elu", {"alpha": b["alpha"]}))),
    "gelu": _Fn(_s_gelu, lambda b: _one(b, _gelu(b["approximate"]))),
    "softmax": _SOFTMAX,
}

FUNCTIONS: dict[Any, _Fn] = {
    torch.flatten: _FLATTEN,
    operator.add: _ADD, operator.iadd: _ADD, torch.add: _ADD,
    operator.mul: _MUL, operator.imul: _MUL, torch.mul: _MUL,
    **dict.fromkeys((torch.cat, torch.concat, torch.concatenate), _Fn(_s_cat, _cat)),
    torch.mean: _MEAN,
    F.relu: _ACTIVATIONS["relu"], F.relu_: _ACTIVATIONS["relu"], torch.relu: _ACTIVATIONS["relu"],
    torch.relu_: _ACTIVATIONS["relu"], F.relu6: _ACTIVATIONS["relu6"],
    F.leaky_relu: _ACTIVATIONS["leakyrelu"], F.elu: _ACTIVATIONS["elu"], F.gelu: _ACTIVATIONS["gelu"],
    F.sigmoid: _ACTIVATIONS["sigmoid"], torch.sigmoid: _ACTIVATIONS["sigmoid"],
    F.tanh: _ACTIVATIONS["tanh"], torch.tanh: _ACTIVATIONS["tanh"],
    F.silu: _ACTIVATIONS["silu"], F.hardswish: _ACTIVATIONS["hardswish"],
    F.hardsigmoid: _ACTIVATIONS["hardsigmoid"], F.softmax: _SOFTMAX, torch.softmax: _SOFTMAX,
    F.dropout: _Fn(_s_dropout, lambda b: _one(b, ("dropout", {"p": b["p"]}))),
    **dict.fromkeys((F.max_pool1d, F.max_pool2d, F.max_pool3d), _MAXPOOL),
    **dict.fromkeys((F.avg_pool1d, F.avg_pool2d, F.avg_pool3d), _AVGPOOL),
    **dict.fromkeys((F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d), _ADAPTIVE_AVG),
    **dict.fromkeys((F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d), _ADAPTIVE_MAX),
}

METHODS: dict[str, _Fn] = {
    "flatten": _FLATTEN, "add": _ADD, "add_": _ADD, "mul": _MUL, "mul_": _MUL, "mean": _MEAN,
    "relu": _ACTIVATIONS["relu"], "relu_": _ACTIVATIONS["relu"], "sigmoid": _ACTIVATIONS["sigmoid"],
    "tanh": _ACTIVATIONS["tanh"], "softmax": _SOFTMAX,
}


def function_mapped(fn: _Fn, node: fx.Node) -> _Mapped:
    """Bind a call's arguments to the torch signature and make its layers."""
    try:
        bound = inspect.signature(fn.stub).bind(*node.args, **node.kwargs)
    except TypeError as e:
        raise _NoLayer(f"unexpected arguments: {e}") from None
    bound.apply_defaults()
    mapped = fn.make(bound.arguments)
    tensors = set(mapped.inputs)
    for arg in node.all_input_nodes:
        if arg not in tensors:
            raise _NoLayer(f"argument '{arg.name}' is computed at run time; cnncalc needs constants")
    return mapped


# ---- the walk --------------------------------------------------------------------------------------
def _target_text(node: fx.Node, modules: Mapping[str, nn.Module]) -> str:
    """What a node calls: a module's class, a function's qualified name, or a method's name."""
    t = node.target
    if node.op == "call_module":
        cls = type(modules[str(t)])  # a call_module target is the module's path
        return f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(t, str):
        return t.rsplit(".", 1)[-1]  # a method, or get_attr's attribute (its path is in the node name)
    module = {"_operator": "operator", "builtins": ""}.get(t.__module__, t.__module__) if hasattr(t, "__module__") else ""
    name = getattr(t, "__name__", repr(t))
    return f"{module}.{name}" if module else name


def _module_path(node: fx.Node) -> str:
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


class _Converter:
    """Walks the traced graph in order and collects layers (spec items) and unsupported nodes."""

    def __init__(self, gm: fx.GraphModule):
        self.gm = gm
        self.modules = dict(gm.named_modules())
        self.names: dict[fx.Node, str] = {}  # node → the spec name that holds its output
        self.used: set[str] = {INPUT}
        self.calls: dict[str, int] = {}  # module path → times called so far
        self.items: list[dict[str, Any]] = []
        self.layer_nodes: dict[str, fx.Node] = {}  # spec name → the node whose output it is
        self.unsupported: list[Unsupported] = []
        self.blocked: set[fx.Node] = set()  # unsupported nodes and everything computed from them

    def run(self) -> None:
        placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        for node in self.gm.graph.nodes:
            try:
                if not any(arg in self.blocked for arg in node.all_input_nodes):
                    self.visit(node, placeholders)
                    continue
                self.blocked.add(node)  # its input is unsupported: listed only if it is too
                if node.op != "output":
                    self.mapped(node)
            except _NoLayer as e:
                self.blocked.add(node)
                self.unsupported.append(Unsupported(
                    node.op, _target_text(node, self.modules), node.name, _module_path(node), str(e)))

    def visit(self, node: fx.Node, placeholders: list[fx.Node]) -> None:
        if node.op == "placeholder":
            if node is not placeholders[0]:
                raise _NoLayer("a second model input; a spec has one input")
            self.names[node] = INPUT
        elif node.op == "output":
            self.check_output(node)
        elif node.op == "get_attr":
            raise _NoLayer("uses a parameter or buffer directly, outside a supported module")
        else:
            mapped = self.mapped(node)
            if not node.users:
                raise _NoLayer("its result is never used (an in-place operation the spec cannot follow)")
            self.emit(node, mapped)

    def mapped(self, node: fx.Node) -> _Mapped:
        if node.op == "call_module":
            module = self.modules[str(node.target)]
            if len(node.args) != 1 or node.kwargs or not isinstance(node.args[0], fx.Node):
                raise _NoLayer("a module called with more than one input")
            layer = module_layer(module)
            if node_shape(node) is None:
                raise _NoLayer("its result is not one tensor")
            calls = self.calls.get(str(node.target), 0)
            if calls and any(True for _ in module.parameters()):
                raise _NoLayer("a module with parameters called twice shares its weights; a spec cannot")
            return _Mapped((node.args[0],), (layer,))
        table: Mapping[Any, _Fn] = FUNCTIONS if node.op == "call_function" else METHODS
        try:
            fn = table.get(node.target)
        except TypeError:  # an unhashable target
            fn = None
        if fn is None:
            raise _NoLayer("no cnncalc layer for this operation")
        if node_shape(node) is None:
            raise _NoLayer("its result is not one tensor")
        return function_mapped(fn, node)  # a method's tensor binds to the stub's first parameter

    def emit(self, node: fx.Node, m: _Mapped) -> None:
        for arg in m.inputs:
            if arg not in self.names:
                raise _NoLayer(f"its input '{arg.name}' has no layer")
        inputs = [self.names[a] for a in m.inputs]
        if m.alias:
            self.names[node] = inputs[0]
            return
        base = self.base_name(node)
        for i, (kind, args) in enumerate(m.layers):
            last = i == len(m.layers) - 1
            name = self.unique(base if last else f"{base}.{kind}")
            self.items.append(item(kind, args, name, inputs, self.previous()))
            inputs = [name]
        self.names[node] = inputs[0]
        self.layer_nodes[inputs[0]] = node

    def previous(self) -> str:
        return self.items[-1]["name"] if self.items else INPUT

    def base_name(self, node: fx.Node) -> str:
        """The module path; for a function, the enclosing module's path and the function's name."""
        if node.op == "call_module":
            path = str(node.target)
            self.calls[path] = self.calls.get(path, 0) + 1
            return path
        op = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", node.name)
        path = _module_path(node)
        return f"{path}.{op}" if path else op

    def unique(self, name: str) -> str:
        """``name``, or ``name_1``, ``name_2``, … when it is taken (a module called again)."""
        out, k = name, 0
        while out in self.used:
            k += 1
            out = f"{name}_{k}"
        self.used.add(out)
        return out

    def check_output(self, node: fx.Node) -> None:
        out = node.args[0]
        if not isinstance(out, fx.Node):
            raise _NoLayer(f"the model returns {type(out).__name__}, not one tensor; a spec has one output")
        if not self.items or self.names[out] != self.items[-1]["name"]:
            raise _NoLayer("the model's output is not its last layer")


def item(kind: str, args: Mapping[str, Any], name: str, inputs: list[str], previous: str) -> dict[str, Any]:
    """One spec item: the type with only its non-default arguments, the name, and ``from`` if needed."""
    out: dict[str, Any] = {kind: non_defaults(kind, args) or None, "name": name}
    if inputs != [previous]:
        out["from"] = inputs[0] if len(inputs) == 1 else list(inputs)
    return out


def non_defaults(kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` in the rule's order, less those equal to cnncalc's defaults (pool stride: the kernel)."""
    kept = {}
    for a in RULES[kind].args:
        if a.name not in args:
            continue
        value = args[a.name]
        default = args.get("kernel") if kind in ("maxpool", "avgpool") and a.name == "stride" else a.default
        if a.required or not _same(value, default):
            kept[a.name] = value
    return kept


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


# ---- the import ------------------------------------------------------------------------------------
def import_model(
    model: nn.Module | str, input_shape: tuple[int, ...] | None = None, name: str | None = None
) -> Imported:
    """A model (or a reference such as ``torchvision:resnet50``) → a checked spec as a Python dict.

    Raises :class:`ModelError` (cannot load, trace or run), :class:`UnsupportedOps` (some nodes have
    no layer; no spec) or :class:`ImportCheckError` (the spec disagrees with torch: a bug).
    """
    if isinstance(model, str):
        model, ref_name, default = load_model(model)
        name = name or ref_name
        input_shape = input_shape or default
    name = name or type(model).__name__
    shape = tuple(input_shape or DEFAULT_INPUT)
    gm = trace(model, shape, name)
    conv = _Converter(gm)
    conv.run()
    if conv.unsupported:
        dependents = len(conv.blocked) - len(conv.unsupported) - 1  # less the output node
        raise UnsupportedOps(name, conv.unsupported, max(dependents, 0))
    spec = {"name": name, "input": list(shape), "layers": conv.items}
    check(spec, conv)
    return Imported(spec, tuple(unused_warnings(model, conv)))


def check(spec: dict[str, Any], conv: _Converter) -> None:
    """The analysis of ``spec`` must give each layer torch's shape and each module its parameters."""
    try:
        report = analyze(spec)
    except SpecError as e:
        raise ImportCheckError(f"the imported spec does not analyse: {e}") from None
    for stats in report.layers:
        node = conv.layer_nodes.get(stats.name)
        if node is None:
            continue
        if stats.output_shape != node_shape(node):
            raise ImportCheckError(
                f"layer '{stats.name}': cnncalc gives shape {list(stats.output_shape)}, "
                f"torch {list(node_shape(node) or ())}")
        if node.op == "call_module":
            numel = sum(p.numel() for p in conv.modules[node.target].parameters())
            if stats.params != numel:
                raise ImportCheckError(
                    f"layer '{stats.name}': cnncalc counts {stats.params:,} parameters, torch {numel:,}")


def unused_warnings(model: nn.Module, conv: _Converter) -> list[str]:
    """A note when some parameters belong to modules that the traced forward pass never calls."""
    called = set(conv.calls)
    unused = sum(
        p.numel() for n, p in model.named_parameters()
        if not any(n.startswith(f"{m}.") for m in called)
    )
    if not unused:
        return []
    return [f"{unused:,} parameters belong to modules the forward pass never calls; the spec leaves them out"]


# ---- YAML ------------------------------------------------------------------------------------------
def to_yaml(spec: Mapping[str, Any], source: str | None = None) -> str:
    """The spec as readable YAML: one layer per line, in flow style."""
    def flow(value: Any) -> str:
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30).strip()

    lines = [f"# imported from {source} by cnncalc import"] if source else []
    lines += [flow({key: spec[key]})[1:-1] for key in ("name", "input")]
    lines += ["layers:"]
    lines += [f"  - {flow(layer)}" for layer in spec["layers"]]
    return "\n".join(lines) + "\n"
