"""A traced torch.fx graph → spec items: each node becomes one layer (a few two, or none) or is listed.

:func:`trace` traces a model with a tracer that keeps every module of a known class as a leaf (a
subclass too, unless it overrides ``forward``), then runs it once on zeros and records each node's
output shape. :class:`Converter` walks the graph in order; the torch → cnncalc mapping itself lives
in :mod:`.mapping`, derived from the layer rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

from ..spec import INPUT
from ..spec.dump import item
from .load import ModelError, first_line, guarded
from .mapping import Mapped, NoLayer, function_mapped, is_leaf, module_mapped, node_shape

EMBEDDINGS = (nn.Embedding, nn.EmbeddingBag)


@dataclass(frozen=True)
class Unsupported:
    """One traced node that has no cnncalc layer, and why."""

    op: str  # fx opcode: call_module, call_function, call_method, get_attr, placeholder, output
    target: str  # the module's class, the function's qualified name or the method's name
    node: str  # the fx node's name
    module: str  # the module path it was traced in ("" at the top level)
    reason: str


# ---- tracing ---------------------------------------------------------------------------------------
class _Tracer(fx.Tracer):
    """torch.fx's tracer, with every module of a mapped class a leaf (subclasses included)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_leaf(m) or super().is_leaf_module(m, module_qualified_name)


class _Recorder(fx.Interpreter):
    """Runs the graph and keeps each node's output shape and dtype (what ShapeProp does, quietly),
    and the value of each node that computes a plain constant (``x.shape[-2:]``) under ``key``."""

    def __init__(self, gm: fx.GraphModule, key: str = "value"):
        super().__init__(gm)
        self.key = key

    def fetch_args_kwargs_from_env(self, n: fx.Node) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """As fx's, with fx's immutable lists made plain: the model's own code may change them
        (torchvision's Swin3d pads a window-size list in place)."""
        args, kwargs = super().fetch_args_kwargs_from_env(n)
        return _mutable(args), _mutable(kwargs)

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["shape"], n.meta["dtype"] = tuple(result.shape), result.dtype
        elif _plain(result) and n.op not in ("placeholder", "output"):
            n.meta[self.key] = tuple(result) if isinstance(result, torch.Size) else result
        return result


def _mutable(v: Any) -> Any:
    if isinstance(v, list):
        return [_mutable(x) for x in v]
    if isinstance(v, tuple) and type(v) is tuple:
        return tuple(_mutable(x) for x in v)
    if isinstance(v, dict):
        return {k: _mutable(x) for k, x in v.items()}
    return v


def _plain(v: Any) -> bool:
    """An int, float, bool, str or None, or a tuple, list or torch.Size of them."""
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    return v is None or isinstance(v, (int, float, bool, str))


def trace(model: nn.Module, input_shape: tuple[int, ...], name: str) -> fx.GraphModule:
    """Trace ``model`` (in eval mode) and record every node's output shape in ``node.meta['shape']``.

    Nodes that compute plain constants from shapes (``x.shape[-2:]``, ``x.size(1)``) keep their value
    in ``node.meta['value']``, so that a call taking them reads a constant. Where there are any, the
    model is run a second time at batch 2, and a value that changes with the batch is dropped (it
    stays a run-time value, which no layer takes): a spec never hard-codes a batch size.
    """
    model = model.eval()
    try:
        graph = _Tracer().trace(model)
    except BaseException as e:  # the model's own code runs here: SystemExit included
        raise ModelError(f"{name}: torch.fx cannot trace the model: {first_line(e)}") from None
    gm = fx.GraphModule(model, graph, type(model).__name__)
    dtype = torch.long if takes_ids(gm) else torch.float32
    gm.meta["input_dtype"] = str(dtype).removeprefix("torch.")
    _run(gm, name, torch.zeros(1, *input_shape, dtype=dtype), "value")
    folded = [n for n in gm.graph.nodes if "value" in n.meta]
    if folded:
        _run(gm, name, torch.zeros(2, *input_shape, dtype=dtype), "value_at_batch_2")
        for n in folded:
            if n.meta.pop("value_at_batch_2", None) != n.meta["value"]:
                del n.meta["value"]
                n.meta["batch_dependent"] = True
        _run(gm, name, torch.zeros(1, *input_shape, dtype=dtype), "value_at_batch_1")  # shapes at batch 1
    return gm


def _run(gm: fx.GraphModule, name: str, x: torch.Tensor, key: str) -> None:
    shape = list(x.shape)
    with torch.no_grad():
        try:
            guarded(f"{name}: the model on an input of shape {shape}", _Recorder(gm, key).run, x)
        except ModelError as e:
            cause = e.__cause__ or e
            raise ModelError(f"{name}: the model does not run on an input of shape {shape}: {first_line(cause)}") from None


def takes_ids(gm: fx.GraphModule) -> bool:
    """Whether the model's input goes only into embeddings (integer token ids, not floats)."""
    modules = dict(gm.named_modules())
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    users = list(placeholders[0].users) if placeholders else []

    def embeds(u: fx.Node) -> bool:
        if u.op == "call_module":
            return isinstance(modules[str(u.target)], EMBEDDINGS)
        return u.op == "call_function" and u.target is torch.nn.functional.embedding

    return bool(users) and all(embeds(u) for u in users)


# ---- the walk --------------------------------------------------------------------------------------
def target_text(node: fx.Node, modules: dict[str, nn.Module]) -> str:
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


def module_path(node: fx.Node) -> str:
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


class Converter:
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
                if node.op not in ("output", "placeholder", "get_attr"):
                    self.mapped(node)
            except NoLayer as e:
                self.blocked.add(node)
                self.unsupported.append(Unsupported(
                    node.op, target_text(node, self.modules), node.name, module_path(node), str(e)))

    @property
    def dependents(self) -> int:
        """Nodes left unconverted only because an input of theirs is unsupported (less the output)."""
        return max(len(self.blocked) - len(self.unsupported) - 1, 0)

    def visit(self, node: fx.Node, placeholders: list[fx.Node]) -> None:
        if node.op == "placeholder":
            if node is not placeholders[0]:
                raise NoLayer("a second model input; a spec has one input")
            self.names[node] = INPUT
        elif node.op == "output":
            self.check_output(node)
        elif "value" in node.meta or node.meta.get("batch_dependent"):
            return  # a value computed from shapes: a call that uses it reads it as a constant (or refuses)
        elif node.op == "get_attr":
            raise NoLayer("uses a parameter or buffer directly, outside a supported module")
        else:
            mapped = self.mapped(node)
            if not node.users:
                raise NoLayer("its result is never used (an in-place operation the spec cannot follow)")
            self.emit(node, mapped)

    def mapped(self, node: fx.Node) -> Mapped:
        if node.op != "call_module":
            return self.shaped(node, function_mapped(node))
        module = self.modules[str(node.target)]
        if len(node.args) != 1 or node.kwargs or not isinstance(node.args[0], fx.Node):
            raise NoLayer("a module called with more than one input")
        mapped = module_mapped(module, node.args[0])
        if self.calls.get(str(node.target), 0) and any(True for _ in module.parameters()):
            raise NoLayer("a module with parameters called twice shares its weights; a spec cannot")
        return self.shaped(node, mapped)

    @staticmethod
    def shaped(node: fx.Node, mapped: Mapped) -> Mapped:
        if node_shape(node) is None:
            raise NoLayer("its result is not one tensor")
        return mapped

    def emit(self, node: fx.Node, m: Mapped) -> None:
        for arg in m.inputs:
            if arg not in self.names:
                raise NoLayer(f"its input '{arg.name}' has no layer")
        inputs = [self.names[a] for a in m.inputs]
        base = self.base_name(node)
        if m.alias:
            self.names[node] = inputs[0]
            return
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
        path = module_path(node)
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
        out = only_tensor(node.args[0])
        if not isinstance(out, fx.Node):
            raise NoLayer(f"the model returns {type(node.args[0]).__name__}, not one tensor; a spec has one output")
        if not self.items or self.names[out] != self.items[-1]["name"]:
            raise NoLayer("the model's output is not its last layer")


def only_tensor(out: Any) -> Any:
    """The model's output node: itself, or the one value of a dict, tuple or list (segmentation's 'out')."""
    values: Iterable[Any] = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else [out]
    values = list(values)
    return values[0] if len(values) == 1 else out
