"""Operations hand-written nets use between their layers: ``matmul`` of two activations (attention
written out, ``q @ k.transpose(-2, -1)``), ``dotattention`` (``F.scaled_dot_product_attention``),
``scale`` (``x * 0.125``, ``x / math.sqrt(d)``) and ``mean`` over chosen dims (mean pooling over
tokens). Shapes are per sample; dims are torch's, where the batch is dim 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod, sqrt
from typing import Any

from .base import (
    GLOBAL,
    IDENTITY,
    NONE,
    Arg,
    Args,
    Inferred,
    NotExpressible,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchFunction,
    TorchParam,
)


def _shapes(ins: Sequence[Shape]) -> str:
    return ", ".join(str(list(s)) for s in ins)


def _batch_dims(a: Shape, b: Shape, what: str) -> Shape:
    """torch's broadcasting of the leading (batch-like) dims of two operands of one rank."""
    out = []
    for x, y in zip(a, b, strict=True):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"{what} cannot broadcast the leading dims of {list(a)} and {list(b)}")
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(out)


class Matmul(Rule):
    type = "matmul"
    doc = (
        "The matrix product of two inputs [..., n, k] @ [..., k, m] → [..., n, m], leading dims "
        "broadcast (attention written out: q @ k.transpose(-2, -1), then @ v): ∏leading·n·k·m MACs."
    )
    min_inputs, max_inputs = 2, 2
    torch = Torch(
        "Matmul",
        functions=("torch.matmul", "torch.bmm", "operator.matmul"),
        methods=("matmul", "bmm"),
        function=TorchFunction("torch.matmul", fold=True, infix="@"),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def sizes(self, ins: Sequence[Shape]) -> tuple[Shape, int, int, int]:
        """(the broadcast leading dims, n, k, m)."""
        a, b = ins
        if len(a) < 2 or len(a) != len(b):
            raise ShapeError(
                f"matmul needs two inputs of the same rank, at least [n, k] per sample, got {_shapes(ins)} "
                "(the batch axis must line up)"
            )
        if a[-1] != b[-2]:
            raise ShapeError(f"matmul of {list(a)} and {list(b)}: {a[-1]} columns against {b[-2]} rows")
        return _batch_dims(a[:-2], b[:-2], "matmul"), a[-2], a[-1], b[-1]

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        lead, n, k, m = self.sizes(ins)
        macs = prod(lead) * n * k * m
        return Inferred(shape=(*lead, n, m), macs=macs, flops=2 * macs, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        lead, n, k, m = self.sizes(ins)
        times = f"{prod(lead):,} × " if lead else ""
        return [
            f"{_shapes(ins)} → {[*lead, n, m]}",
            f"MACs = {times}{n}·{k}·{m} = {prod(lead) * n * k * m:,}; no parameters",
        ]


class DotAttention(Rule):
    type = "dotattention"
    doc = (
        "Scaled dot-product attention of query [..., L, E], key [..., S, E] and value [..., S, Ev] "
        "(F.scaled_dot_product_attention): softmax(q·kᵀ·scale)·v → [..., L, Ev]; ∏leading·L·S·(E + Ev) MACs."
    )
    min_inputs, max_inputs = 3, 3
    args = (
        Arg("scale", "number", None, "the factor on q·kᵀ (default 1/√E)"),
        Arg("causal", "bool", False, "mask out keys after each query (is_causal)"),
    )
    torch = Torch(
        "DotAttention",
        (
            TorchParam("attn_mask", None, fixed="a mask tensor is an input cnncalc does not model"),
            TorchParam("dropout_p", 0.0, fixed="dropout on the attention weights is applied even in eval"),
            TorchParam("is_causal", False, arg="causal"),
            TorchParam("scale", None),
            TorchParam("enable_gqa", False, fixed="grouped-query attention is not modelled"),
        ),
        functions=("torch.nn.functional.scaled_dot_product_attention", "torch._C._nn.scaled_dot_product_attention"),
        module=lambda: dotattention_module(),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def sizes(self, ins: Sequence[Shape]) -> tuple[Shape, int, int, int, int]:
        """(leading dims, L, S, E, Ev)."""
        q, k, v = ins
        if len(q) < 2 or not len(q) == len(k) == len(v):
            raise ShapeError(
                f"dotattention needs query, key and value of one rank, at least [L, E] per sample, got {_shapes(ins)}"
            )
        if q[-1] != k[-1] or k[-2] != v[-2]:
            raise ShapeError(f"dotattention of {_shapes(ins)}: query and key need one E, key and value one S")
        lead = _batch_dims(_batch_dims(q[:-2], k[:-2], "dotattention"), v[:-2], "dotattention")
        return lead, q[-2], k[-2], q[-1], v[-1]

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        lead, L, S, e, ev = self.sizes(ins)
        b = prod(lead)
        macs = b * L * S * (e + ev)
        flops = 2 * macs + b * L * S * 4  # scale, exp, sum and divide per score
        return Inferred(shape=(*lead, L, ev), macs=macs, flops=flops, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        lead, L, S, e, ev = self.sizes(ins)
        b = prod(lead)
        scale = a["scale"] if a["scale"] is not None else 1 / sqrt(e)
        return [
            f"{b:,} × (q·kᵀ: {L}·{S}·{e}) + {b:,} × (weights·v: {L}·{S}·{ev}) = {b * L * S * (e + ev):,} MACs",
            f"scale {scale:.6g}{' (1/√E)' if a['scale'] is None else ''}; {'causal; ' if a['causal'] else ''}"
            "no parameters",
        ]


class Scale(Rule):
    type = "scale"
    doc = "Multiplies by a constant (x * 0.125, x / √d): no parameters, one flop per element."
    args = (Arg("factor", "number", doc="the constant"),)
    torch = Torch("Scale", (TorchParam("factor"),), constant="mul", functions=("operator.truediv", "torch.div",
                  "torch.true_divide"), methods=("div", "div_", "true_divide"), module=lambda: scale_module())

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``x * c`` or ``c * x`` (a ``mul`` with a number), ``x / c``; the Scale module's ``factor``."""
        if "factor" in values:
            return {"factor": values["factor"]}
        if values.get("rounding_mode") is not None:
            raise NotExpressible(f"division with rounding_mode={values['rounding_mode']!r}")
        numbers = {k: v for k, v in values.items() if not k.startswith("_") and _number(v)}
        if len(numbers) != 1:
            raise NotExpressible("an operation of a tensor and constants that is not one product")
        (name, c), = numbers.items()
        if not values.get("_divides"):
            return {"factor": c}
        if name in ("a", "input", "self"):
            raise NotExpressible(f"{c!r} divided by a tensor (a reciprocal, not a scale)")
        if c == 0:
            raise NotExpressible("division by zero")
        return {"factor": 1 / c}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        return Inferred(shape=ins[0], flops=prod(ins[0]), rf=IDENTITY)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        return [f"× {a['factor']:g} on {prod(ins[0]):,} elements; no parameters, no MACs"]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Mean(Rule):
    type = "mean"
    doc = "The mean over some dims (torch's, batch is 0): mean pooling over tokens, x.mean(dim=1)."
    args = (
        Arg("dims", "int_list", doc="the dims averaged over (not 0, the batch)"),
        Arg("keepdim", "bool", False, "keep each averaged dim with size 1"),
    )
    torch = Torch(
        "Mean", (TorchParam("dims"), TorchParam("keepdim", False)), functions=("torch.mean",), methods=("mean",),
        module=lambda: mean_module(),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``x.mean(dim, keepdim)`` (``dim`` an int or a list); the Mean module's attributes."""
        if values.get("dtype") is not None:
            raise NotExpressible(f"mean with dtype={values['dtype']}")
        dims = values.get("dims", values.get("dim"))
        if dims is None:
            raise NotExpressible("a mean over every dim, the batch included")
        return {"dims": [dims] if isinstance(dims, int) else list(dims), "keepdim": bool(values.get("keepdim"))}

    def axes(self, a: Args, x: Shape) -> list[int]:
        """The per-sample axes averaged over, sorted."""
        rank = len(x) + 1
        axes = sorted({d + rank if d < 0 else d for d in a["dims"]})
        if len(axes) != len(a["dims"]) or not all(1 <= d < rank for d in axes):
            raise ShapeError(f"dims {list(a['dims'])} must be distinct non-batch dims of a tensor of {rank} dims", "dims")
        return [d - 1 for d in axes]

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        axes = self.axes(a, x)
        if len(axes) == len(x) and not a["keepdim"]:
            raise ShapeError("a mean over every non-batch dim needs keepdim: true (nothing but the batch would be left)")
        shape = tuple(1 if i in axes else n for i, n in enumerate(x)) if a["keepdim"] else \
            tuple(n for i, n in enumerate(x) if i not in axes)
        spatial = set(range(1, len(x)))
        rf = IDENTITY if axes == [0] else GLOBAL if a["keepdim"] and spatial and spatial <= set(axes) else NONE
        return Inferred(shape=shape, flops=prod(x), rf=rf)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        r = self.infer(a, ins)
        n = prod(x[i] for i in self.axes(a, x))
        return [f"{list(x)} → {list(r.shape)}: each output the mean of {n:,} values; no parameters, no MACs"]


def dotattention_module() -> type:
    """``dotattention`` in torch (imported only when this is called). ``counted`` computes the same
    with explicit matmuls: at some shapes (batch 1 on the CPU) FlopCounterMode sees none of
    scaled_dot_product_attention's fused kernel."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class DotAttention(nn.Module):
        def __init__(self, is_causal: bool = False, scale: float | None = None):
            super().__init__()
            self.is_causal, self.scale = is_causal, scale

        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return F.scaled_dot_product_attention(q, k, v, is_causal=self.is_causal, scale=self.scale)

        def counted(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            scale = self.scale if self.scale is not None else q.shape[-1] ** -0.5
            scores = torch.matmul(q, k.transpose(-2, -1)) * scale
            if self.is_causal:
                keep = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
                scores = scores.masked_fill(~keep, float("-inf"))
            return torch.matmul(scores.softmax(-1), v)

    return DotAttention


def scale_module() -> type:
    """``scale`` in torch (imported only when this is called)."""
    import torch
    from torch import nn

    class Scale(nn.Module):
        def __init__(self, factor: float):
            super().__init__()
            self.factor = factor

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.factor

    return Scale


def mean_module() -> type:
    """``mean`` in torch (imported only when this is called)."""
    import torch
    from torch import nn

    class Mean(nn.Module):
        def __init__(self, dims, keepdim: bool = False):
            super().__init__()
            self.dims, self.keepdim = tuple(dims), keepdim

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(self.dims, keepdim=self.keepdim)

    return Mean
