"""Layers that join branches: ``add`` (element-wise sum), ``mul`` (product, broadcasting) and
``concat`` (along channels). Their receptive field is the union of their inputs' fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

from .base import MERGE, Arg, Args, Inferred, NotExpressible, Rule, Shape, ShapeError, Torch, TorchFunction
from .base import ArgKind as K


def _shapes(ins: Sequence[Shape]) -> str:
    return ", ".join(str(list(s)) for s in ins)


class Add(Rule):
    type = "add"
    doc = "Element-wise sum of two or more inputs of the same shape (a residual connection)."
    min_inputs, max_inputs = 2, None
    torch = Torch(
        "Add",
        functions=("torch.add", "operator.add", "operator.iadd"),
        methods=("add", "add_"),
        function=TorchFunction("torch.add", fold=True, infix="+"),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if values.get("alpha", 1) != 1:
            raise NotExpressible(f"add with alpha={values['alpha']}")
        return {}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        if any(s != ins[0] for s in ins):
            raise ShapeError(f"add needs inputs of one shape, got {_shapes(ins)}")
        return Inferred(shape=ins[0], flops=(len(ins) - 1) * prod(ins[0]), rf=MERGE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        return [f"{len(ins)} inputs of shape {list(ins[0])}: {len(ins) - 1} addition{'s' if len(ins) > 2 else ''} per element; no MACs"]


def broadcast(ins: Sequence[Shape]) -> Shape:
    """torch's broadcasting, for per-sample shapes of one rank (the batch axis lines up)."""
    rank = len(ins[0])
    if any(len(s) != rank for s in ins):
        raise ShapeError(f"mul needs inputs with the same number of axes, got {_shapes(ins)}")
    out = []
    for i in range(rank):
        sizes = {s[i] for s in ins} - {1}
        if len(sizes) > 1:
            raise ShapeError(f"mul cannot broadcast shapes {_shapes(ins)}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


class Mul(Rule):
    type = "mul"
    doc = "Element-wise product with broadcasting (squeeze-and-excitation gates)."
    min_inputs, max_inputs = 2, None
    torch = Torch(
        "Mul",
        functions=("torch.mul", "operator.mul", "operator.imul"),
        methods=("mul", "mul_"),
        function=TorchFunction("torch.mul", fold=True, infix="*"),
    )

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        shape = broadcast(ins)
        return Inferred(shape=shape, flops=(len(ins) - 1) * prod(shape), rf=MERGE)


class Concat(Rule):
    type = "concat"
    doc = (
        "Concatenation along channels (or another dim; batch is dim 0). One input is the identity, "
        "as torch.cat([x]) is."
    )
    min_inputs, max_inputs = 1, None
    args = (Arg("dim", K.INT, 1, "axis to join along (batch is 0; default: channels)"),)
    torch = Torch(
        "Concat",
        functions=("torch.cat", "torch.concat", "torch.concatenate"),
        function=TorchFunction("torch.cat", kwargs=("dim",)),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``torch.cat(tensors, dim)``, or numpy's spelling ``axis``."""
        dim = values.get("axis")
        return {"dim": values.get("dim", 0) if dim is None else dim}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        rank = len(ins[0])
        d = a["dim"] + rank + 1 if a["dim"] < 0 else a["dim"]
        if not 1 <= d <= rank:
            raise ShapeError(f"dim={a['dim']} is not a non-batch axis of {list(ins[0])}", "dim")
        i = d - 1
        rest = [s[:i] + s[i + 1 :] for s in ins]
        if any(len(s) != rank for s in ins) or any(r != rest[0] for r in rest):
            raise ShapeError(
                f"concat along dim {d} needs inputs that agree on every other axis, got {_shapes(ins)}"
            )
        shape = (*ins[0][:i], sum(s[i] for s in ins), *ins[0][i + 1 :])
        return Inferred(shape=shape, rf=MERGE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        r = self.infer(a, ins)
        return [f"concat {_shapes(ins)} → {list(r.shape)}; no parameters; no MACs"]
