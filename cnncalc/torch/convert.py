"""A traced torch.fx graph → spec items: each node becomes one layer (a few two, or none) or is listed.

:func:`trace` traces a model with a tracer that keeps every module of a known class as a leaf (a
subclass too, unless it overrides ``forward``), then runs it once on zeros and records each node's
output shape. :class:`Converter` walks the graph in order; the torch → cnncalc mapping itself lives
in :mod:`.mapping`, derived from the layer rules.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

from ..layers import RULES
from ..spec import INPUT
from ..spec.dump import item
from .load import ModelError, first_line, guarded
from .mapping import (
    Mapped,
    NoLayer,
    bind,
    checked,
    extras,
    function_mapped,
    function_rule,
    is_leaf,
    module_inputs,
    module_mapped,
    node_shape,
    op_name,
)

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
def _encoder_layer(m: nn.TransformerEncoderLayer, src: Any) -> Any:
    """nn.TransformerEncoderLayer's documented computation without masks (its own forward chooses a
    fused fast path with tests torch.fx cannot trace; in eval mode both give the same output)."""
    if m.norm_first:
        x = src + m._sa_block(m.norm1(src), None, None)
        return x + m._ff_block(m.norm2(x))
    x = m.norm1(src + m._sa_block(src, None, None))
    return m.norm2(x + m._ff_block(x))


def _encoder(m: nn.TransformerEncoder, src: Any) -> Any:
    """nn.TransformerEncoder without masks: its layers in turn, then its norm."""
    x = src
    for layer in m.layers:
        x = layer(x)
    return x if m.norm is None else m.norm(x)


# torch.nn modules whose forward torch.fx cannot trace, and the same computation written plainly;
# used where the module is called on one tensor and no mask (a call with masks stays one node, refused)
PLAIN_FORWARDS: dict[type[nn.Module], Callable[..., Any]] = {
    nn.TransformerEncoderLayer: _encoder_layer,
    nn.TransformerEncoder: _encoder,
}


def _plain_forward(m: nn.Module) -> Callable[..., Any] | None:
    """The plain forward of ``m``'s class, unless a subclass overrides ``forward``."""
    for cls, plain in PLAIN_FORWARDS.items():
        if isinstance(m, cls) and type(m).forward is cls.forward:
            return plain
    return None


class _Tracer(fx.Tracer):
    """torch.fx's tracer, with every module of a mapped class a leaf (subclasses included), and the
    modules of :data:`PLAIN_FORWARDS` traced through their plain computation."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if _plain_forward(m) is not None:
            return False
        return is_leaf(m) or super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m: nn.Module, forward: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        plain = _plain_forward(m)
        if plain is not None:
            if len(args) != 1 or any(v is not None for k, v in kwargs.items() if k != "is_causal"):
                raise ModelError(f"{type(m).__name__} is called with masks; cnncalc imports it without")
            forward = functools.partial(plain, m)
        return super().call_module(m, forward, args, kwargs)


class _Recorder(fx.Interpreter):
    """Runs the graph and keeps each node's output shape and dtype (what ShapeProp does, quietly),
    and the value of each node that computes a plain constant (``x.shape[-2:]``) under ``key``."""

    def __init__(self, gm: fx.GraphModule, key: str = "value", suffix: str = ""):
        super().__init__(gm)
        self.key, self.suffix = key, suffix

    def fetch_args_kwargs_from_env(self, n: fx.Node) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """As fx's, with fx's immutable lists made plain: the model's own code may change them
        (torchvision's Swin3d pads a window-size list in place)."""
        args, kwargs = super().fetch_args_kwargs_from_env(n)
        return _mutable(args), _mutable(kwargs)

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["shape" + self.suffix], n.meta["dtype"] = tuple(result.shape), result.dtype
        elif _plain(result) and n.op not in ("placeholder", "output"):
            n.meta[self.key] = tuple(result) if isinstance(result, torch.Size) else result
        elif isinstance(result, (tuple, list)) and any(isinstance(r, torch.Tensor) for r in result):
            n.meta["items" + self.suffix] = tuple(  # nn.LSTM's (output, (h, c)), x.chunk(2)'s pieces
                tuple(r.shape) if isinstance(r, torch.Tensor) else None for r in result)
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
    in ``node.meta['value']``, so that a call taking them reads a constant. The model is run a second
    time at batch 2: a value that changes with the batch is dropped (it stays a run-time value, which
    no layer takes), and each node's shape there is kept in ``node.meta['shape_at_batch_2']``, so that
    an operation that mixes the batch axis with the others (Swin's ``x.view(B * windows, ...)``) is
    seen for what it is: a spec never hard-codes a batch size.
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
    _run(gm, name, torch.zeros(2, *input_shape, dtype=dtype), "value_at_batch_2", "_at_batch_2")
    for n in gm.graph.nodes:
        if "value" in n.meta and n.meta.pop("value_at_batch_2", None) != n.meta["value"]:
            del n.meta["value"]
            n.meta["batch_dependent"] = True
    return gm


def _run(gm: fx.GraphModule, name: str, x: torch.Tensor, key: str, suffix: str = "") -> None:
    shape = list(x.shape)
    with torch.no_grad():
        try:
            guarded(f"{name}: the model on an input of shape {shape}", _Recorder(gm, key, suffix).run, x)
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
        self.learned: dict[fx.Node, str] = {}  # a parameter read directly (get_attr), or expanded → its path
        self.learned_layers: dict[str, str] = {}  # spec name → the parameter it holds (ViT's class token)

    def run(self) -> None:
        placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        for node in self.gm.graph.nodes:
            try:
                if not any(arg in self.blocked for arg in node.all_input_nodes):
                    self.visit(node, placeholders)
                    continue
                self.blocked.add(node)  # its input is unsupported: listed only if it is too
                if node.op not in ("output", "placeholder", "get_attr"):
                    self.listed_if_unsupported(node)
            except NoLayer as e:
                self.blocked.add(node)
                self.unsupported.append(Unsupported(
                    node.op, target_text(node, self.modules), node.name, module_path(node), str(e)))

    def listed_if_unsupported(self, node: fx.Node) -> None:
        """Raise NoLayer (the node is listed) if a node downstream of an unsupported one is itself
        unsupported; any other failure there (its inputs have no shapes to read) is not its own, and
        an item read from an unsupported node (``q, k, v = x.unbind(0)``) is never listed apart."""
        if node.op == "call_function" and node.target is operator.getitem:
            return
        try:
            self.mapped(node)
        except NoLayer:
            raise
        except Exception:
            return

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
            self.learned[node] = self.parameter(node)
        elif any(a in self.learned for a in node.all_input_nodes):
            self.learned_use(node)
        elif not node.users and self.leftover(node):
            return  # ``out, _ = self.lstm(x)``: an item nothing reads
        else:
            mapped = self.mapped(node)
            if not node.users:
                raise NoLayer("its result is never used (an in-place operation the spec cannot follow)")
            self.emit(node, mapped)

    @staticmethod
    def leftover(node: fx.Node) -> bool:
        """An item of a module's tuple or of a split that nothing reads."""
        if node.op != "call_function" or node.target is not operator.getitem:
            return False
        source = node.args[0]
        return isinstance(source, fx.Node) and ("tuple_layer" in source.meta or "pieces" in source.meta)

    def mapped(self, node: fx.Node) -> Mapped:
        try:
            if node.op != "call_module":
                return self.shaped(node, function_mapped(node))
            module = self.modules[str(node.target)]
            mapped = module_mapped(module, node, module_inputs(module, node))
        except NoLayer as e:
            if "batch" not in str(e):
                batch_kept(node)  # a rule that read a batch-mixed shape as a per-sample one: say why
            raise
        if self.calls.get(str(node.target), 0) and any(True for _ in module.parameters()):
            raise NoLayer("a module with parameters called twice shares its weights; a spec cannot")
        return self.shaped(node, mapped)

    @staticmethod
    def shaped(node: fx.Node, mapped: Mapped) -> Mapped:
        if mapped.pieces is not None:
            node.meta["pieces"], node.meta["pieces_of"] = mapped.pieces, mapped.inputs[0]
            return mapped
        if node_shape(node) is None:
            raise NoLayer("its result is not one tensor")
        batch_kept(node)
        return mapped

    # ---- parameters used directly ----------------------------------------------------------------
    def parameter(self, node: fx.Node) -> str:
        """The path of the parameter a get_attr node reads (a buffer or a constant is refused)."""
        path = str(node.target)
        owner, _, attr = path.rpartition(".")
        value = getattr(self.modules.get(owner), attr, None) if owner in self.modules else None
        if not isinstance(value, nn.Parameter):
            raise NoLayer("uses a buffer or a constant tensor directly, outside a supported module")
        return path

    def learned_use(self, node: fx.Node) -> None:
        """A node that takes a parameter directly: ``self.class_token.expand(n, -1, -1)`` (still
        the parameter), or a merge of it with the net's data, which a rule with ``learned`` takes:
        ``x + self.pos_embedding`` (posembedding), ``self.layer_scale * x`` (layerscale),
        ``torch.cat([token, x], dim=1)`` (classtoken)."""
        sources = {self.learned[a] for a in node.all_input_nodes if a in self.learned}
        if len(sources) > 1:
            raise NoLayer(f"combines parameters {', '.join(sorted(sources))} directly")
        path = next(iter(sources))
        if op_name(node) in ("expand", "expand_as", "contiguous") and node.args[0] in self.learned:
            self.learned[node] = path
            return
        merge = function_rule(node.op, node.target)
        rule = next((r for r in RULES.values() if merge is not None and r.torch.learned == merge.type), None)
        if rule is None:
            raise NoLayer(f"uses the parameter '{path}' directly in an operation no layer expresses")
        if path in self.learned_layers.values():
            raise NoLayer(f"uses the parameter '{path}' a second time; a spec cannot share it")
        if node_shape(node) is not None:
            batch_kept(node)
        bound = bind(node)
        operands = [n for v in bound.values() for n in _operands(v)]
        data = tuple(n for n in operands if n not in self.learned)
        values = {k: v for k, v in bound.items() if not any(True for _ in _operands(v))}
        values.update(extras(node, data, _learned=tuple(self.parameter_value(path).shape),
                             _learned_first=operands[0] in self.learned))
        mapped = self.shaped(node, checked(rule, values, data))
        if not node.users:
            raise NoLayer("its result is never used (an in-place operation the spec cannot follow)")
        self.emit(node, mapped, name=path)  # the layer is named after its parameter: class_token
        self.learned_layers[self.names[node]] = path

    def parameter_value(self, path: str) -> nn.Parameter:
        owner, _, attr = path.rpartition(".")
        return getattr(self.modules[owner], attr)

    def emit(self, node: fx.Node, m: Mapped, name: str | None = None) -> None:
        for arg in m.inputs:
            if arg not in self.names:
                raise NoLayer(f"its input '{arg.name}' has no layer")
        inputs = [self.names[a] for a in m.inputs]
        base = name or self.base_name(node)
        if m.alias or m.pieces is not None:
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


def batch_kept(node: fx.Node) -> None:
    """Refuses a node whose batch axis is not its own first axis: batch 1 gives (1, ...) and batch 2
    gives (2, ...) with the same per-sample shape (``x.view(b * c, h, w)`` mixes them)."""
    shape, at_2 = node_shape(node), node.meta.get("shape_at_batch_2")
    if shape is not None and (shape[0] != 1 or (at_2 is not None and tuple(at_2) != (2, *shape[1:]))):
        raise NoLayer(
            f"mixes the batch axis with the others (shape {list(shape)} at batch 1, "
            f"{list(at_2 or ())} at batch 2); a spec is written per sample")


def _operands(value: Any) -> Iterator[fx.Node]:
    """The nodes in a bound argument (a node, or a list of them: ``torch.cat``'s tensors)."""
    if isinstance(value, fx.Node):
        if "value" not in value.meta:
            yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _operands(v)


def only_tensor(out: Any) -> Any:
    """The model's output node: itself, or the one value of a dict, tuple or list (segmentation's 'out')."""
    values: Iterable[Any] = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else [out]
    values = list(values)
    return values[0] if len(values) == 1 else out
