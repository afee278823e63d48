"""A spec → standalone PyTorch source (``cnncalc export --to pytorch``), or an ONNX file.

The generated module needs only torch: one ``nn`` attribute per layer in ``__init__`` (named after
the spec's layer names, dots made underscores) and a ``forward`` that calls them one line per layer,
in the spec's order. Merges are written as expressions (``a + b``, ``a * b``, ``torch.cat``).
The classes and arguments are each rule's :meth:`~cnncalc.layers.base.Rule.to_torch`, as for
build, so export and verify agree. Writing the source does not import torch (only :func:`to_onnx` does).
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Mapping
from functools import reduce
from pathlib import Path
from typing import Any

from ..analysis import analyze
from ..layers import RULES
from ..layers.base import REQUIRED, Rule, TorchCall, TorchFunction
from ..spec import INPUT, NetSpec, parse_spec
from .names import ids_below, literal, python_names, source_text


def class_name(spec_name: str) -> str:
    """``resnet50`` → ``Resnet50``, ``tiny-resnet`` → ``TinyResnet``; always a valid identifier
    (the NFKC form, as Python reads it), else ``Net``."""
    text = unicodedata.normalize("NFKC", spec_name)
    words = [w for w in re.split(r"\W|_", text) if w]
    name = unicodedata.normalize("NFKC", "".join(w[:1].upper() + w[1:] for w in words))
    if not name:
        return "Net"
    if not name[0].isidentifier():
        name = f"Net{name}"
    if not name.isidentifier() or keyword.iskeyword(name) or unicodedata.normalize("NFKC", name) != name:
        return "Net"
    return name


def module_source(rule: Rule) -> str:
    """The source of the module class a rule's own file defines inside its ``torch.module`` factory
    (read from the file, so torch is not imported), dedented to stand at the top of a module."""
    factory = rule.torch.module
    assert factory is not None
    text = inspect.getsource(inspect.getmodule(type(rule)))  # type: ignore[arg-type]
    factories = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    for node in (inner for f in factories for inner in ast.walk(f)):
        if isinstance(node, ast.ClassDef) and node.name == rule.torch.cls:
            segment = ast.get_source_segment(text, node)
            assert segment is not None
            return textwrap.dedent(" " * node.col_offset + segment)
    raise AssertionError(f"{factory.__qualname__} defines no class {rule.torch.cls}")  # a rule-file bug


def custom(rule: Rule, call: TorchCall) -> bool:
    """Whether ``call`` makes the module class the rule's own file defines (torch has none)."""
    return rule.torch.module is not None and call[0] == rule.torch.cls


def render_call(call: TorchCall, defaults: Mapping[str, Any], prefix: str = "nn.") -> str:
    """``nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)``: required arguments by position,
    the others by keyword and only where they differ from torch's default (``defaults``, in
    torch's order, from the rule's torch data)."""
    name, kwargs = call
    pos, kw = [], []
    for arg, value in kwargs.items():
        d = defaults[arg]
        if d is REQUIRED:
            pos.append(literal(value))
        elif value != d or type(value) is not type(d):
            kw.append(f"{arg}={literal(value)}")
    return f"{prefix}{name}({', '.join(pos + kw)})"


def function_expr(fn: TorchFunction, kwargs: Mapping[str, Any], args: list[str]) -> str:
    """A merge as an expression: ``a + b``, ``torch.add(a, b)`` or ``torch.cat([a, b], dim=1)``."""
    if fn.fold and fn.infix:
        return f" {fn.infix} ".join(args)
    kw = "".join(f", {k}={literal(v)}" for k, v in kwargs.items())
    if fn.fold:
        return reduce(lambda a, b: f"{fn.name}({a}, {b}{kw})", args)
    return f"{fn.name}([{', '.join(args)}]{kw})"


def _layer_lines(rule: Rule, call: TorchCall, key: str, args: list[str], frozen: bool) -> tuple[str | None, str]:
    """(the ``__init__`` line or None, the ``forward`` line) for one layer."""
    fn = rule.torch.function
    if fn is not None:
        return None, f"{key} = {function_expr(fn, call[1], args)}"
    prefix = "" if custom(rule, call) else "nn."
    init = f"self.{key} = {render_call(call, rule.torch.defaults(), prefix)}{'.requires_grad_(False)' if frozen else ''}"
    return init, f"{key} = self.{key}({', '.join(args)})"


def to_pytorch_source(
    spec: NetSpec | str | Path | Mapping[str, Any], *, input_shape: tuple[int, ...] | None = None
) -> str:
    """Python source defining an ``nn.Module`` subclass for ``spec`` (SpecError if invalid).

    Every string from the spec reaches the source escaped (:func:`.names.source_text`) or as an
    identifier made by :func:`.names.python_names`; a spec name that differs from its identifier is
    kept in a comment on the layer's line.
    """
    if not isinstance(spec, NetSpec):
        spec = parse_spec(spec)
    report = analyze(spec, input_shape=input_shape)
    shapes = {INPUT: report.input_shape[1:], **{s.name: s.output_shape[1:] for s in report.layers}}
    keys = python_names([layer.name for layer in spec.layers])
    var = {INPUT: "x", **keys}
    init, body = [], []
    classes: dict[str, str] = {}  # module classes the rules define (torch has none), by name
    for layer in spec.layers:
        rule = RULES[layer.type]
        call = rule.to_torch(layer.args, [shapes[i] for i in layer.inputs])
        if custom(rule, call) and call[0] not in classes:
            classes[call[0]] = module_source(rule)
        key = keys[layer.name]
        note = "" if key == layer.name else f'  # "{source_text(layer.name)}"'
        line, fwd = _layer_lines(rule, call, key, [var[i] for i in layer.inputs], layer.frozen)
        if line is not None:
            init.append(line + note)
        body.append(fwd + note)
    return _module_text(
        spec, class_name(spec.name), report.input_shape[1:], init, body, keys[spec.layers[-1].name], classes
    )


def _sample(spec: NetSpec, dims: str) -> str:
    """A sample input for the ``__main__`` block: normal values, or ids where the input is ids."""
    ids = ids_below(spec)
    return f"torch.randn(1, {dims})" if ids is None else f"torch.randint(0, {ids}, (1, {dims}))"


def _module_text(
    spec: NetSpec,
    cls: str,
    shape: tuple[int, ...],
    init: list[str],
    body: list[str],
    out: str,
    classes: Mapping[str, str],
) -> str:
    helpers = [line for source in classes.values() for line in ("", "", *source.rstrip().splitlines())]
    dims = ", ".join(map(str, shape))
    head = source_text(f"{spec.name}: written by `cnncalc export` from {Path(spec.file).name}.")
    lines = [
        f'"""{head}',
        "",
        f"Input: a tensor of shape (N, {dims}). Needs only torch.",
        '"""',
        "",
        *(["import math", ""] if classes else []),
        "import torch",
        "from torch import nn",
        *(["from torch.nn import functional as F"] if classes else []),
        *helpers,
        "",
        "",
        f"class {cls}(nn.Module):",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *(f"        {line}" for line in init),
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        *(f"        {line}" for line in body),
        f"        return {out}",
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {cls}().eval()",
        f"    print(model({_sample(spec, dims)}).shape)",
        "",
    ]
    return "\n".join(lines)


def to_onnx(
    spec: NetSpec | str | Path | Mapping[str, Any],
    path: str | Path,
    *,
    input_shape: tuple[int, ...] | None = None,
) -> None:
    """Write ``spec`` as an ONNX file (batch axis dynamic). Needs torch and the ``onnx`` package.

    Raises ImportError naming the missing package, SpecError when the spec is invalid.
    """
    import onnx  # noqa: F401  (torch's exporter needs it; fail here with its name)
    import torch

    from .builder import build

    if not isinstance(spec, NetSpec):
        spec = parse_spec(spec)
    report = analyze(spec, input_shape=input_shape)
    net = build(spec, input_shape).eval()
    x = torch.zeros(report.input_shape)
    torch.onnx.export(
        net,
        (x,),
        str(path),
        dynamo=False,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )
