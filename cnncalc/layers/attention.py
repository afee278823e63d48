"""``multiheadattention`` (torch.nn.MultiheadAttention, batch_first): self-attention on one input
``[T, E]``, or attention of a query on a key and a value (three inputs, in that order).

With E the embedding, Tq/Tk the query/key lengths and kdim/vdim the key/value features:

* params  E·E + E·kdim + E·vdim (q, k, v projections) + 3·E biases + E·E + E (output projection);
* MACs    Tq·E² + Tk·E·kdim + Tk·E·vdim (projections) + Tq·Tk·E (Q·Kᵀ) + Tq·Tk·E (A·V) + Tq·E²
          (output), which for self-attention is 4·T·E² + 2·T²·E.

FlopCounterMode misses the whole of nn.MultiheadAttention's CPU fast path, so ``cnncalc verify``
measures the attention written out with matmuls (docs/conventions.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import (
    NONE,
    Arg,
    Args,
    Inferred,
    NotExpressible,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchCall,
    TorchParam,
)


class MultiheadAttention(Rule):
    type = "multiheadattention"
    doc = "Multi-head attention: self-attention on [T, E] (one input) or query, key, value (three)."
    min_inputs, max_inputs = 1, 3
    args = (
        Arg("heads", "pos", doc="number of heads (divides the embedding)"),
        Arg("embed", "pos", None, "embedding size E (default: the query's last axis)"),
        Arg("bias", "bool", True, "biases of the input and output projections"),
        Arg("dropout", "prob", 0.0, "dropout on the attention weights (training only)"),
    )
    torch = Torch(
        "Attention",
        (
            TorchParam("embed_dim", arg="embed"),
            TorchParam("num_heads", arg="heads"),
            TorchParam("dropout", 0.0),
            TorchParam("bias", True),
            TorchParam("kdim", None),
            TorchParam("vdim", None),
        ),
        module=lambda: torch_module(),
        aliases=("MultiheadAttention",),
        tuple_output=True,
    )

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """The Attention module below (nn.MultiheadAttention, batch_first), sizes from the inputs."""
        e, _, _, kdim, vdim = self.sizes(args, ins)
        kwargs: dict[str, Any] = {"embed_dim": e, "num_heads": args["heads"], "dropout": args["dropout"],
                                  "bias": args["bias"]}
        if (kdim, vdim) != (e, e):
            kwargs.update(kdim=kdim, vdim=vdim)
        return "Attention", kwargs

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """nn.MultiheadAttention's attributes (its biases are tensors or None), read from the module."""
        m = values.get("_module")
        if getattr(m, "batch_first", True) is False:
            raise NotExpressible("batch_first=False (a spec's sequences are [time, features] per sample)")
        if getattr(m, "bias_k", None) is not None or getattr(m, "add_zero_attn", False):
            raise NotExpressible("add_bias_kv / add_zero_attn (not modelled)")
        out = {"heads": values["num_heads"], "embed": values["embed_dim"], "dropout": values.get("dropout", 0.0)}
        in_bias = getattr(m, "in_proj_bias", None)
        out["bias"] = in_bias is not None if m is not None and hasattr(m, "in_proj_bias") else values.get("bias", True)
        return out

    def sizes(self, a: Args, ins: Sequence[Shape]) -> tuple[int, int, int, int, int]:
        """(E, Tq, Tk, kdim, vdim), checking the inputs."""
        if len(ins) == 2:
            raise ShapeError("multiheadattention takes one input (self-attention) or three (query, key, value)")
        if any(len(s) != 2 for s in ins):
            raise ShapeError(
                "multiheadattention needs sequences [time, features] per sample, got "
                + ", ".join(str(list(s)) for s in ins)
            )
        q, k, v = (ins[0],) * 3 if len(ins) == 1 else ins
        e = a["embed"] or q[1]
        if q[1] != e:
            raise ShapeError(f"the query has {q[1]} features but embed is {e}", "embed")
        if e % a["heads"]:
            raise ShapeError(f"heads={a['heads']} does not divide the embedding {e}", "heads")
        if k[0] != v[0]:
            raise ShapeError(f"the key ({k[0]} steps) and the value ({v[0]} steps) differ in length")
        return e, q[0], k[0], k[1], v[1]

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        e, tq, tk, kdim, vdim = self.sizes(a, ins)
        bias = 4 * e if a["bias"] else 0
        params = e * e + e * kdim + e * vdim + e * e + bias
        proj = tq * e * e + tk * e * kdim + tk * e * vdim + tq * e * e
        scores = 2 * tq * tk * e
        macs = proj + scores
        heads = a["heads"]
        # 2 per MAC; biases; scaling q by 1/√d; softmax 3 per score (exp, sum, divide)
        flops = 2 * macs + (2 * tq + 2 * tk) * e * a["bias"] + tq * e + 3 * heads * tq * tk
        return Inferred(shape=(tq, e), params=params, macs=macs, flops=flops, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        e, tq, tk, kdim, vdim = self.sizes(a, ins)
        r = self.infer(a, ins)
        bias = f" + 4·{e} (biases)" if a["bias"] else ""
        return [
            f"E = {e}, {a['heads']} heads of {e // a['heads']}; query {tq} steps, key/value {tk} steps",
            f"params = {e}·{e} (q) + {e}·{kdim} (k) + {e}·{vdim} (v) + {e}·{e} (out){bias} = {r.params:,}",
            f"MACs = {tq}·{e}² + {tk}·{e}·{kdim} + {tk}·{e}·{vdim} + {tq}·{e}² (projections) "
            f"+ 2·{tq}·{tk}·{e} (Q·Kᵀ and A·V) = {r.macs:,}",
        ]


def torch_module() -> type:
    """The torch module of ``multiheadattention`` (torch is imported only when this is called).

    It calls nn.MultiheadAttention as self-attention (one input) or on (query, key, value) and
    returns the attended sequence. ``counted`` computes the same with explicit matmuls on the
    module's weights: FlopCounterMode misses nn.MultiheadAttention's CPU fast path entirely.
    """
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self, embed_dim: int, num_heads: int, **kwargs):
            super().__init__()
            self.attn = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, **kwargs)

        def forward(self, q: torch.Tensor, k: torch.Tensor | None = None, v: torch.Tensor | None = None) -> torch.Tensor:
            k = q if k is None else k
            v = q if v is None else v
            return self.attn(q, k, v, need_weights=False)[0]

        def counted(self, q: torch.Tensor, k: torch.Tensor | None = None, v: torch.Tensor | None = None) -> torch.Tensor:
            m = self.attn
            k = q if k is None else k
            v = q if v is None else v
            e, heads = m.embed_dim, m.num_heads
            if m._qkv_same_embed_dim:
                wq, wk, wv = m.in_proj_weight.chunk(3)
            else:
                wq, wk, wv = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
            bq, bk, bv = m.in_proj_bias.chunk(3) if m.in_proj_bias is not None else (0, 0, 0)
            n, tq, tk = q.shape[0], q.shape[1], k.shape[1]
            qh = (torch.matmul(q, wq.t()) + bq).view(n, tq, heads, e // heads).transpose(1, 2)
            kh = (torch.matmul(k, wk.t()) + bk).view(n, tk, heads, e // heads).transpose(1, 2)
            vh = (torch.matmul(v, wv.t()) + bv).view(n, tk, heads, e // heads).transpose(1, 2)
            scores = torch.matmul(qh, kh.transpose(2, 3)) / (e // heads) ** 0.5
            out = torch.matmul(scores.softmax(-1), vh).transpose(1, 2).reshape(n, tq, e)
            out = torch.matmul(out, m.out_proj.weight.t())
            return out + m.out_proj.bias if m.out_proj.bias is not None else out

    return Attention
