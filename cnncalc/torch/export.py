"""A spec → standalone PyTorch source (``cnncalc export --to pytorch``), or an ONNX file.

The generated module needs only torch: one ``nn`` attribute per layer in ``__init__`` (named after
the spec's layer names, dots made underscores) and a ``forward`` that calls them one line per layer,
in the spec's order. Merges are written as expressions (``a + b``, ``a * b``, ``torch.cat``).
The classes and arguments are :func:`~cnncalc.torch.calls.module_call`'s, so export and verify
agree. Writing the source does not import torch (only :func:`to_onnx` does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..analysis import Report, analyze
from ..spec import INPUT, NetSpec, parse_spec
from .calls import MERGE_CLASSES, REQUIRED, TORCH_DEFAULTS, Call, module_call, python_names


def class_name(spec_name: str) -> str:
    """``resnet50`` → ``Resnet50``, ``tiny-resnet`` → ``TinyResnet``; always a valid identifier."""
    words = [w for w in re.split(r"\W|_", spec_name) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Net"
    return f"Net{name}" if name[0].isdigit() else name


def render_call(call: Call) -> str:
    """``nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)``: required arguments by position,
    the others by keyword and only where they differ from torch's default."""
    name, kwargs = call
    defaults = TORCH_DEFAULTS[name]
    pos, kw = [], []
    for arg, value in kwargs.items():
        d = defaults[arg]
        if d is REQUIRED:
            pos.append(repr(value))
        elif value != d or type(value) is not type(d):
            kw.append(f"{arg}={value!r}")
    return f"nn.{name}({', '.join(pos + kw)})"


def _merge_expr(call: Call, args: list[str]) -> str:
    name, kwargs = call
    if name == "Add":
        return " + ".join(args)
    if name == "Mul":
        return " * ".join(args)
    return f"torch.cat([{', '.join(args)}], dim={kwargs['dim']})"


def _shape_of(report: Report, spec: NetSpec, name: str) -> tuple[int, ...]:
    return spec.input_shape if name == INPUT else report.layer(name).output_shape[1:]


def to_pytorch_source(
    spec: NetSpec | str | Path | Mapping[str, Any], *, input_shape: tuple[int, ...] | None = None
) -> str:
    """Python source defining an ``nn.Module`` subclass for ``spec`` (SpecError if invalid)."""
    if not isinstance(spec, NetSpec):
        spec = parse_spec(spec)
    report = analyze(spec, input_shape=input_shape)
    shape = report.input_shape[1:]
    keys = python_names([layer.name for layer in spec.layers])
    var = {INPUT: "x", **keys}
    init, body = [], []
    for layer in spec.layers:
        call = module_call(
            layer.type, layer.args, [_shape_of(report, spec, i) for i in layer.inputs]
        )
        args = [var[i] for i in layer.inputs]
        key = keys[layer.name]
        if call[0] in MERGE_CLASSES:
            body.append(f"{key} = {_merge_expr(call, args)}")
            continue
        frozen = ".requires_grad_(False)" if layer.frozen else ""
        init.append(f"self.{key} = {render_call(call)}{frozen}")
        body.append(f"{key} = self.{key}({args[0]})")
    return _module_text(spec, class_name(spec.name), shape, init, body, keys[spec.layers[-1].name])


def _module_text(
    spec: NetSpec, cls: str, shape: tuple[int, ...], init: list[str], body: list[str], out: str
) -> str:
    dims = ", ".join(map(str, shape))
    lines = [
        f'"""{spec.name}: written by `cnncalc export` from {Path(spec.file).name}.',
        "",
        f"Input: a tensor of shape (N, {dims}). Needs only torch.",
        '"""',
        "",
        "import torch",
        "from torch import nn",
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
        f"    print(model(torch.randn(1, {dims})).shape)",
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

    from .build import build

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
