"""Import a PyTorch model as a spec in the core grammar (docs/spec.md "The core"), via torch.fx.

The work is split in three: :mod:`.load` turns a reference (``torchvision:NAME`` or
``package.module:factory``) into a model, safely; :mod:`.convert` traces it, runs it once on zeros so
that every node's output shape is known, and turns each node into one cnncalc layer (a few into two,
or none) or lists it as unsupported; :mod:`cnncalc.spec.dump` writes the spec (no torch). Nothing is
guessed, and a model with any unsupported node gives no spec at all. Before a spec is returned it is
analysed, and every layer's output shape and every module's parameter count must equal torch's.

>>> imported = import_model("torchvision:resnet18")      # doctest: +SKIP
>>> cnncalc.analyze(imported.spec).totals.params          # doctest: +SKIP
11689512
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..analysis import analyze
from ..errors import CnncalcError, SpecError
from ..spec.dump import item, non_defaults, to_yaml
from .convert import Converter, Unsupported, trace
from .load import DEFAULT_INPUT, ModelError, load_model
from .mapping import node_shape

__all__ = [
    "DEFAULT_INPUT",
    "ImportCheckError",
    "Imported",
    "ModelError",
    "Unsupported",
    "UnsupportedOps",
    "import_model",
    "item",
    "load_model",
    "non_defaults",
    "to_yaml",
]


class ImportCheckError(CnncalcError):
    """The spec made from a model disagrees with torch on a shape or a parameter count (a bug)."""


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
    conv = Converter(gm)
    conv.run()
    if conv.unsupported:
        raise UnsupportedOps(name, conv.unsupported, conv.dependents)
    dtype = gm.meta.get("input_dtype", "float32")
    given: Any = list(shape) if dtype == "float32" else {"shape": list(shape), "dtype": dtype}
    spec = {"name": name, "input": given, "layers": conv.items}
    check(spec, conv)
    return Imported(spec, tuple(unused_warnings(model, conv)))


def check(spec: dict[str, Any], conv: Converter) -> None:
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
        if stats.name in conv.learned_layers:
            numel = conv.parameter_value(conv.learned_layers[stats.name]).numel()
            if stats.params != numel:
                raise ImportCheckError(
                    f"layer '{stats.name}': cnncalc counts {stats.params:,} parameters, torch's "
                    f"'{conv.learned_layers[stats.name]}' has {numel:,}")
        elif node.op == "call_module":
            numel = sum(p.numel() for p in conv.modules[str(node.target)].parameters())
            if stats.params != numel:
                raise ImportCheckError(
                    f"layer '{stats.name}': cnncalc counts {stats.params:,} parameters, torch {numel:,}")


def unused_warnings(model: nn.Module, conv: Converter) -> list[str]:
    """A note when some parameters belong to modules that the traced forward pass never calls."""
    called = set(conv.calls)
    direct = set(conv.learned_layers.values())  # read directly: ViT's class token
    unused = sum(
        p.numel() for n, p in model.named_parameters()
        if n not in direct and not any(n.startswith(f"{m}.") for m in called)
    )
    if not unused:
        return []
    return [f"{unused:,} parameters belong to modules the forward pass never calls; the spec leaves them out"]
