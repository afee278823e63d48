"""``relativeattention``: MaxViT's self-attention inside each partition, with a learned bias per
relative position (torchvision's ``RelativePositionalMultiHeadAttention``).

It takes ``[G, P, D]`` per sample (G windows or grid cells of P = p·p tokens of D features) and
returns the same shape; each of the G partitions attends to itself, with h = D / head_dim heads.
With M = (2·p − 1)² relative offsets:

* params   3·D² + 3·D (``to_qkv``), D² + D (``merge``), M·h (``relative_position_bias_table``);
* buffers  P² (``relative_position_index``: the table row of each query-key pair);
* MACs     3·G·P·D² (q, k, v) + G·P²·D (Q·Kᵀ) + G·P²·D (A·V) + G·P·D² (merge)
           = 4·G·P·D² + 2·G·P²·D; scaling k and adding the bias are no MACs.

Both products are ``torch.einsum`` calls, which run as batched matmuls, except where the summed axis
has length 1: then einsum multiplies element-wise (ATen's ``sumproduct_pair`` with nothing to sum)
and FlopCounterMode, which counts matmuls, sees no MACs. So Q·Kᵀ counts 0 when head_dim = 1 and A·V
counts 0 when P = 1, as FlopCounterMode measures them (torch 2.13 and 2.14); MaxViT has neither.

As torchvision does it, k is scaled by 1/√D (the features, not the head size) before Q·Kᵀ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import isqrt
from typing import Any

from .base import (
    NONE,
    Arg,
    Args,
    FromShape,
    Inferred,
    NotExpressible,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchCall,
    TorchParam,
)


class RelativeAttention(Rule):
    type = "relativeattention"
    doc = (
        "MaxViT's attention within partitions, with a relative position bias, on [G, P, D] "
        "(G windows or grid cells of P = p² tokens; torchvision's RelativePositionalMultiHeadAttention): "
        "same shape out."
    )
    args = (
        Arg("head_dim", "pos", doc="features per head (divides D; 32 in MaxViT-T)"),
        Arg("partition", "pos", None, "side p of a partition, P = p² tokens (default: √P, which must be whole)"),
    )
    torch = Torch(
        "RelativeAttention",
        (
            TorchParam("feat_dim", shape=FromShape.FEATURES),
            TorchParam("head_dim"),
            TorchParam("max_seq_len", arg="partition"),
        ),
        module=lambda: relative_attention_module(),
        aliases=("RelativePositionalMultiHeadAttention",),
    )

    def sizes(self, a: Args, ins: Sequence[Shape]) -> tuple[int, int, int, int, int]:
        """(G, P, D, heads, p), checking the input."""
        x = ins[0]
        if len(x) != 3:
            raise ShapeError(
                f"relativeattention needs [partitions, tokens, features] per sample, got {list(x)}"
            )
        g, p_tokens, d = x
        if d % a["head_dim"]:
            raise ShapeError(f"head_dim={a['head_dim']} does not divide the {d} features", "head_dim")
        side = a["partition"]
        if side is None:
            side = isqrt(p_tokens)
            if side * side != p_tokens:
                raise ShapeError(f"{p_tokens} tokens per partition is not a square p·p")
        elif side * side != p_tokens:
            raise ShapeError(
                f"partition={side} means {side * side} tokens per partition, but the input has {p_tokens}",
                "partition",
            )
        return g, p_tokens, d, d // a["head_dim"], side

    @staticmethod
    def products(a: Args, g: int, p: int, d: int) -> tuple[int, int]:
        """The MACs of Q·Kᵀ and of A·V: G·P²·D each, or 0 where einsum sums over a length-1 axis
        (head_dim = 1 for Q·Kᵀ, P = 1 for A·V) and multiplies element-wise instead."""
        full = g * p * p * d
        return (full if a["head_dim"] > 1 else 0), (full if p > 1 else 0)

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """The RelativeAttention module below: torchvision's constructor (feat_dim, head_dim,
        max_seq_len = P)."""
        _, p_tokens, d, _, _ = self.sizes(args, ins)
        return "RelativeAttention", {"feat_dim": d, "head_dim": args["head_dim"], "max_seq_len": p_tokens}

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """torchvision's RelativePositionalMultiHeadAttention or cnncalc's RelativeAttention, read
        from the module: its head size and partition side (``size``, with ``max_seq_len`` = size²)."""
        m = values.get("_module")
        if m is None:
            raise NotExpressible("relativeattention is imported from its module")
        head_dim, size, seq = m.head_dim, m.size, m.max_seq_len
        if size * size != seq:
            raise NotExpressible(f"max_seq_len={seq} is not a square (torchvision's bias lookup needs p·p)")
        for name in ("to_qkv", "merge"):
            if getattr(getattr(m, name, None), "bias", None) is None:
                raise NotExpressible(f"{name} without a bias (torchvision's always has one)")
        return {"head_dim": head_dim, "partition": size}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        g, p, d, h, side = self.sizes(a, ins)
        offsets = (2 * side - 1) ** 2
        params = 4 * d * d + 4 * d + offsets * h
        qk, av = self.products(a, g, p, d)
        macs = 4 * g * p * d * d + qk + av
        scores = g * h * p * p
        # 2 per MAC, 1 per product of a length-1 einsum; the biases of to_qkv (3·D) and merge (D)
        # per token; k scaled (1 per element); the position bias added (1 per score); softmax (3 per score)
        plain = 2 * g * p * p * d - qk - av
        flops = 2 * macs + plain + 4 * g * p * d + g * p * d + 4 * scores
        return Inferred(shape=tuple(ins[0]), params=params, buffers=p * p, macs=macs, flops=flops, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        g, p, d, h, side = self.sizes(a, ins)
        r = self.infer(a, ins)
        m = (2 * side - 1) ** 2
        qk, av = self.products(a, g, p, d)
        if qk and av:
            products = f"2·{g}·{p}²·{d} (Q·Kᵀ and A·V)"
        else:
            parts = [f"{g}·{p}²·{d} (Q·Kᵀ)" if qk else "0 (Q·Kᵀ: head_dim 1, an element-wise product)",
                     f"{g}·{p}²·{d} (A·V)" if av else "0 (A·V: one token, an element-wise product)"]
            products = " + ".join(parts)
        return [
            f"{g} partitions of P = {side}² = {p} tokens, D = {d} features, {h} heads of {a['head_dim']}",
            f"params = 4·{d}² + 4·{d} (to_qkv, merge and their biases) + (2·{side} − 1)²·{h} = {m}·{h} "
            f"(relative position bias table) = {r.params:,}",
            f"buffers = {p}² (relative position index) = {r.buffers:,}",
            f"MACs = 3·{g}·{p}·{d}² (q, k, v) + {products} + {g}·{p}·{d}² (merge) "
            f"= {r.macs:,}",
        ]


def relative_attention_module() -> type:
    """The torch module of ``relativeattention`` (torch is imported only when this is called).

    torchvision's RelativePositionalMultiHeadAttention with its parameter and buffer names, so a
    torchvision state dict loads into it, and its computation (k scaled by 1/√feat_dim). Its
    einsums are batched matmuls, which FlopCounterMode counts.
    """
    import math

    import torch
    from torch import nn
    from torch.nn import functional as F

    class RelativeAttention(nn.Module):
        relative_position_index: torch.Tensor

        def __init__(self, feat_dim: int, head_dim: int, max_seq_len: int):
            super().__init__()
            if feat_dim % head_dim != 0:
                raise ValueError(f"feat_dim: {feat_dim} must be divisible by head_dim: {head_dim}")
            self.n_heads = feat_dim // head_dim
            self.head_dim = head_dim
            self.size = int(math.sqrt(max_seq_len))
            self.max_seq_len = max_seq_len
            self.to_qkv = nn.Linear(feat_dim, self.n_heads * self.head_dim * 3)
            self.scale_factor = feat_dim**-0.5
            self.merge = nn.Linear(self.head_dim * self.n_heads, feat_dim)
            s = self.size
            self.relative_position_bias_table = nn.Parameter(torch.empty((2 * s - 1) * (2 * s - 1), self.n_heads))
            self.register_buffer("relative_position_index", self.position_index())
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

        def position_index(self, device: torch.device | None = None) -> torch.Tensor:
            """The table row of each (query, key) pair of a size × size partition."""
            s = self.size
            axis = torch.arange(s, device=device)
            coords = torch.stack(torch.meshgrid([axis, axis], indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
            rel[:, :, 0] += s - 1
            rel[:, :, 1] += s - 1
            rel[:, :, 0] *= 2 * s - 1
            return rel.sum(-1)

        def reset_parameters(self) -> None:
            """The bias table drawn again and the index recomputed (after ``to_empty``)."""
            with torch.no_grad():
                self.relative_position_index.copy_(self.position_index(self.relative_position_index.device))
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

        def get_relative_positional_bias(self) -> torch.Tensor:
            index = self.relative_position_index.view(-1)
            bias = self.relative_position_bias_table[index].view(self.max_seq_len, self.max_seq_len, -1)
            return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, g, p, d = x.shape
            h, dh = self.n_heads, self.head_dim
            q, k, v = torch.chunk(self.to_qkv(x), 3, dim=-1)
            q = q.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4)
            k = k.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4)
            v = v.reshape(b, g, p, h, dh).permute(0, 1, 3, 2, 4)
            k = k * self.scale_factor
            scores = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k)
            scores = F.softmax(scores + self.get_relative_positional_bias(), dim=-1)
            out = torch.einsum("B G H I J, B G H J D -> B G H I D", scores, v)
            return self.merge(out.permute(0, 1, 3, 2, 4).reshape(b, g, p, d))

    return RelativeAttention
