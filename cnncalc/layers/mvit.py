"""Multiscale Vision Transformer layers (torchvision's video MViT V1 and V2): ``mvitblock``, one whole
``MultiscaleBlock`` (pooling attention and its MLP), and ``mvitposition``, MViT's
``PositionalEncoding`` (a class token, and in V1 a factorised absolute position embedding).

``mvitblock`` takes ``[1 + T·H·W, C]`` per sample (a class token, then a T×H×W grid of tokens; the
grid is the ``size`` argument) and returns ``[1 + T'·H'·W', O]``. Its attention has h heads on
A features (A = O when ``proj_after_attn``, else C), head size d = A / h. Each of q, k, v may be
pooled on the grid by a depthwise Conv3d (kernel k, stride s, padding k // 2, no bias) and a
LayerNorm(d), the class token kept aside: a grid axis X becomes ⌊(X + 2·⌊k/2⌋ − k) / s⌋ + 1. q's
pooled grid (Tq·Hq·Wq = Q, Nq = 1 + Q tokens) is the block's output grid; k and v share theirs
(Nk = 1 + K tokens). With N = 1 + T·H·W:

* params   2·C (norm1) + 2·A (norm2) + 3·C·A + 3·A (qkv) + A² + A (attention's projection)
           + (d·∏k + 2·d) per pooled q, k and v + 4·A² + 4·A + 4·A·O + O (MLP) + C·O + O (the
           block's projection, when C ≠ O) + in V2 (``rel_pos_embed``) the relative position tables,
           (2·(2·max(q_size, kv_size) − 1) + 2·T − 1)·d, with q_size = max(H, W) // stride_q[H] and
           kv_size = max(H, W) // stride_kv[H] (torchvision's sizing);
* MACs     N·C·3A (qkv) + h·d·∏k_q·Q + 2·h·d·∏k_kv·K (pools) + h·Nq·Nk·d (Q·Kᵀ) + h·Nq·Nk·d (A·V)
           + Nq·A² (projection) + Nq·A·4A + Nq·4A·O (MLP) + C·O per projected token (N tokens with
           ``proj_after_attn``, else Nq), and in V2 the decomposed relative positions,
           h·Q·d·(Kh + Kw + Kt) (two einsums and a matmul).

As FlopCounterMode measures it, an einsum that sums over a length-1 axis (head size 1) multiplies
element-wise and counts no MACs: the V2 height and width terms are then 0 (the temporal one, a
matmul, is still counted).

``mvitposition`` takes the patch embedding ``[T·H·W, C]`` and returns ``[1 + T·H·W, C]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
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
    per_axis,
)

TV = "torchvision.models.video.mvit."


def pooled(x: int, k: int, s: int) -> int:
    """A grid axis after a pool of kernel k, stride s and padding k // 2."""
    return (x + 2 * (k // 2) - k) // s + 1


class BlockSizes:
    """The sizes one mvitblock works with (see the module docstring)."""

    def __init__(self, a: Args, x: Shape):
        if len(x) != 2:
            raise ShapeError(f"mvitblock needs tokens [1 + T·H·W, C] per sample, got {list(x)}")
        self.n, self.c = x
        self.thw = tuple(per_axis(a["size"], 3, "size"))
        if self.n != 1 + prod(self.thw):
            raise ShapeError(
                f"size {list(self.thw)} means 1 + {prod(self.thw)} tokens (a class token and the grid), "
                f"but the input has {self.n}", "size")
        self.h = a["heads"]
        self.o = self.c if a["out"] is None else a["out"]
        self.a = self.o if a["proj_after_attn"] else self.c
        if self.a % self.h:
            raise ShapeError(f"{self.h} heads do not divide the attention's {self.a} features", "heads")
        self.d = self.a // self.h
        self.kq, self.sq = per_axis(a["kernel_q"], 3, "kernel_q"), per_axis(a["stride_q"], 3, "stride_q")
        self.kkv, self.skv = per_axis(a["kernel_kv"], 3, "kernel_kv"), per_axis(a["stride_kv"], 3, "stride_kv")
        self.pool_q = prod(self.kq) > 1 or prod(self.sq) > 1
        self.pool_kv = prod(self.kkv) > 1 or prod(self.skv) > 1
        self.q_thw = tuple(map(pooled, self.thw, self.kq, self.sq)) if self.pool_q else self.thw
        self.k_thw = tuple(map(pooled, self.thw, self.kkv, self.skv)) if self.pool_kv else self.thw
        self.q, self.k = prod(self.q_thw), prod(self.k_thw)
        self.nq, self.nk = 1 + self.q, 1 + self.k
        self.skip = prod(self.sq) > 1
        self.kskip = tuple(s + 1 if s > 1 else s for s in self.sq)
        skip_thw = tuple(map(pooled, self.thw, self.kskip, self.sq)) if self.skip else self.thw
        if skip_thw != self.q_thw:
            raise ShapeError(
                f"the pooled queries make a {list(self.q_thw)} grid but the skip connection a "
                f"{list(skip_thw)} one (kernel_q {list(self.kq)} with stride_q {list(self.sq)})", "kernel_q")
        self.rel = a["rel_pos_embed"]
        size = max(self.thw[1:])
        q_size, kv_size = size // self.sq[1], size // self.skv[1]
        self.spatial_dim, self.temporal_dim = 2 * max(q_size, kv_size) - 1, 2 * self.thw[0] - 1
        if a.get("tables") is not None:
            if len(a["tables"]) != 2 or min(a["tables"]) < 1:
                raise ShapeError("tables is two positive lengths [spatial, temporal]", "tables")
            self.spatial_dim, self.temporal_dim = a["tables"]
        elif self.rel and self.spatial_dim < 1:
            raise ShapeError(
                f"relative position tables of 2·max({size} // {self.sq[1]}, {size} // {self.skv[1]}) − 1 = "
                f"{self.spatial_dim} rows (torchvision's sizing): give tables, or smaller strides", "stride_q")

    def params(self) -> int:
        c, a, o, d = self.c, self.a, self.o, self.d
        p = 2 * c + 2 * a + 3 * c * a + 3 * a + a * a + a + 4 * a * a + 4 * a + 4 * a * o + o
        if self.pool_q:
            p += d * prod(self.kq) + 2 * d
        if self.pool_kv:
            p += 2 * (d * prod(self.kkv) + 2 * d)
        if c != o:
            p += c * o + o
        if self.rel:
            p += (2 * self.spatial_dim + self.temporal_dim) * d
        return p

    def rel_macs(self) -> tuple[int, int, int]:
        """The MACs of V2's height and width einsums (0 where they sum over a length-1 head size)
        and of its temporal matmul."""
        if not self.rel:
            return 0, 0, 0
        kt, kh, kw = self.k_thw
        base = self.h * self.q * self.d
        einsum = 1 if self.d > 1 else 0
        return einsum * base * kh, einsum * base * kw, base * kt

    def proj_tokens(self) -> int:
        return self.n if self.a == self.o else self.nq  # proj_after_attn projects norm1's N tokens

    def macs(self) -> int:
        c, a, o, d, h = self.c, self.a, self.o, self.d, self.h
        m = self.n * c * 3 * a + 2 * h * self.nq * self.nk * d + self.nq * a * a
        m += self.nq * a * 4 * a + self.nq * 4 * a * o
        if self.pool_q:
            m += h * d * prod(self.kq) * self.q
        if self.pool_kv:
            m += 2 * h * d * prod(self.kkv) * self.k
        if c != o:
            m += self.proj_tokens() * c * o
        return m + sum(self.rel_macs())


class MViTBlock(Rule):
    type = "mvitblock"
    doc = (
        "One MViT block (torchvision's video MultiscaleBlock, V1 and V2): pooling attention and an "
        "MLP on [1 + T·H·W, C] tokens (a class token and a T×H×W grid) → [1 + T'·H'·W', out]."
    )
    args = (
        Arg("heads", "pos", doc="attention heads (divide the attention's features)"),
        Arg("size", "pos_axes", doc="the token grid [T, H, W] of the input (after its class token)"),
        Arg("out", "pos", None, doc="output features (default: the input's)"),
        Arg("kernel_q", "pos_axes", 1, "the query pool's kernel (1: no pool unless a stride)"),
        Arg("stride_q", "pos_axes", 1, "the query pool's stride: the block's output grid"),
        Arg("kernel_kv", "pos_axes", 1, "the key and value pools' kernel"),
        Arg("stride_kv", "pos_axes", 1, "the key and value pools' stride"),
        Arg("residual_pool", "bool", False, "add the pooled queries to the attention's output (V2)"),
        Arg("residual_with_cls_embed", "bool", False, "that residual includes the class token"),
        Arg("rel_pos_embed", "bool", False, "decomposed relative position embeddings (V2)"),
        Arg("proj_after_attn", "bool", False, "the attention already has the output width (V2)"),
        Arg("eps", "number", 1e-6, "the LayerNorms' epsilon"),
        Arg("tables", "int_list", None, "lengths [spatial, temporal] of the relative position tables "
            "(V2; default: those torchvision makes for size; other lengths are interpolated, no MACs)"),
    )
    torch = Torch(
        "MViTBlock",
        (
            TorchParam("input_channels"),
            TorchParam("output_channels"),
            TorchParam("num_heads", arg="heads"),
            TorchParam("size"),
            TorchParam("kernel_q"),
            TorchParam("stride_q"),
            TorchParam("kernel_kv"),
            TorchParam("stride_kv"),
            TorchParam("residual_pool"),
            TorchParam("residual_with_cls_embed"),
            TorchParam("rel_pos_embed"),
            TorchParam("proj_after_attn"),
            TorchParam("eps"),
            TorchParam("tables"),
        ),
        module=lambda: mvit_block_module(),
        aliases=(TV + "MultiscaleBlock",),
        tuple_output=True,
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """The MViTBlock module below (forward takes the tokens only; the grid is ``size``)."""
        g = BlockSizes(args, ins[0])
        return "MViTBlock", {
            "input_channels": g.c, "output_channels": g.o, "num_heads": g.h, "size": list(g.thw),
            "kernel_q": list(g.kq), "stride_q": list(g.sq), "kernel_kv": list(g.kkv), "stride_kv": list(g.skv),
            "residual_pool": args["residual_pool"], "residual_with_cls_embed": args["residual_with_cls_embed"],
            "rel_pos_embed": args["rel_pos_embed"], "proj_after_attn": args["proj_after_attn"], "eps": args["eps"],
            "tables": None if args["tables"] is None else list(args["tables"]),
        }

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """torchvision's MultiscaleBlock (called as ``block(x, thw)``, thw a constant of the trace)
        or cnncalc's MViTBlock, read from the module; the grid from the call's ``thw`` or the
        module's ``size``; relative position tables made for another grid (torchvision sizes them
        from the grid it was built for) give ``tables``. Refused: norms other than LayerNorm, an MLP
        other than torchvision's (4×, GELU), pools other than its depthwise Conv3d and LayerNorm."""
        m = values.get("_module")
        if m is None:
            raise NotExpressible("mvitblock is imported from its module")
        thw = (values.get("_call") or {}).get("thw", getattr(m, "size", None))
        if not isinstance(thw, (tuple, list)) or len(thw) != 3 or not all(isinstance(v, int) for v in thw):
            raise NotExpressible(f"the block's grid thw={thw!r} is not three constant sizes")
        attn = m.attn
        for name in ("norm1", "norm2"):
            norm = getattr(m, name)
            if type(norm).__name__ != "LayerNorm" or not norm.elementwise_affine or norm.bias is None:
                raise NotExpressible(f"{name} is {type(norm).__name__} (cnncalc's mvitblock has affine LayerNorms)")
        eps = m.norm1.eps
        c, a = m.norm1.normalized_shape[0], m.norm2.normalized_shape[0]
        mlp = list(m.mlp)
        linears = [x for x in mlp if type(x).__name__ == "Linear"]
        acts = [type(x).__name__ for x in mlp if type(x).__name__ not in ("Linear", "Dropout")]
        if len(linears) != 2 or acts != ["GELU"] or linears[0].out_features != 4 * a or \
                getattr(mlp[1], "approximate", "none") != "none":
            raise NotExpressible("an MLP other than torchvision's Linear(A, 4A), GELU, Linear(4A, out)")
        o = linears[1].out_features

        def pool(p: Any, name: str) -> tuple[list[int], list[int]]:
            if p is None:
                return [1, 1, 1], [1, 1, 1]
            conv = p.pool
            norms = [type(x).__name__ for x in (p.norm_act or [])]
            if getattr(p, "norm_before_pool", False) or norms != ["LayerNorm"] or conv.bias is not None or \
                    list(conv.padding) != [k // 2 for k in conv.kernel_size] or conv.groups != attn.head_dim or \
                    p.norm_act[0].eps != eps:
                raise NotExpressible(f"{name} is not torchvision's depthwise Conv3d and LayerNorm")
            return list(conv.kernel_size), list(conv.stride)

        kq, sq = pool(attn.pool_q, "pool_q")
        kk, sk = pool(attn.pool_k, "pool_k")
        kv, sv = pool(attn.pool_v, "pool_v")
        if (kk, sk) != (kv, sv):
            raise NotExpressible("pool_k and pool_v differ (cnncalc's mvitblock pools them alike)")
        if eps != m.norm2.eps:
            raise NotExpressible("norm1 and norm2 have different epsilons")

        def one(v: list[int]) -> Any:
            return v[0] if len(set(v)) == 1 else v

        args = {
            "heads": attn.num_heads, "size": one(list(thw)), "out": o,
            "kernel_q": one(kq), "stride_q": one(sq), "kernel_kv": one(kk), "stride_kv": one(sk),
            "residual_pool": bool(attn.residual_pool), "residual_with_cls_embed": bool(attn.residual_with_cls_embed),
            "rel_pos_embed": attn.rel_pos_h is not None, "proj_after_attn": bool(m.proj_after_attn), "eps": eps,
        }
        want_a = o if m.proj_after_attn else c
        if a != want_a:
            raise NotExpressible(f"norm2 has {a} features, the attention {want_a}")
        if args["rel_pos_embed"]:
            normal = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
            g = BlockSizes({**{k.name: k.default for k in self.args}, **normal}, (1 + prod(thw), c))
            shapes = [tuple(t.shape) for t in (attn.rel_pos_h, attn.rel_pos_w, attn.rel_pos_t)]
            want = [(g.spatial_dim, g.d), (g.spatial_dim, g.d), (g.temporal_dim, g.d)]
            if shapes[0] != shapes[1] or any(s[1] != g.d for s in shapes):
                raise NotExpressible(f"relative position tables {shapes} (torchvision's are [(S, d), (S, d), (T, d)])")
            if shapes != want:  # made for the grid the model was built for, not the one it is called on
                args["tables"] = [shapes[0][0], shapes[2][0]]
        return args

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        g = BlockSizes(a, ins[0])
        c, aa, o, h = g.c, g.a, g.o, g.h
        macs = g.macs()
        flops = 2 * macs
        if g.rel and g.d == 1:  # the length-1 einsums: one multiply per product
            _, kh, kw = g.k_thw
            flops += g.h * g.q * (kh + kw)
        flops += g.n * 3 * aa + g.nq * aa + g.nq * 4 * aa + g.nq * o  # biases: qkv, projection, MLP
        if c != o:
            flops += g.proj_tokens() * o
        flops += 5 * g.n * c + 5 * g.nq * aa  # norm1, norm2
        flops += 5 * aa * ((g.nq if g.pool_q else 0) + (2 * g.nk if g.pool_kv else 0))  # the pools' norms
        flops += g.nq * aa + 3 * h * g.nq * g.nk  # q scaled; softmax
        if g.rel:
            flops += 3 * h * g.q * g.k  # the three position terms summed and added to the scores
        if a["residual_pool"]:
            flops += (g.nq if a["residual_with_cls_embed"] else g.q) * aa
        if g.skip:
            flops += g.q * aa * (prod(g.kskip) - 1)  # the max pool of the skip connection (A channels)
        flops += 4 * aa * g.nq + g.nq * aa + g.nq * o  # GELU; the two residual additions
        return Inferred(shape=(g.nq, o), params=g.params(), macs=macs, flops=flops, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        g = BlockSizes(a, ins[0])
        r = self.infer(a, ins)
        lines = [
            f"N = 1 + {'·'.join(map(str, g.thw))} = {g.n} tokens of C = {g.c}; {g.h} heads of d = {g.d} "
            f"(A = {g.a}); out {g.o}",
            f"q grid {list(g.q_thw)} (Nq = {g.nq}), k/v grid {list(g.k_thw)} (Nk = {g.nk})",
            f"params = norms, qkv {g.c}·3·{g.a} + 3·{g.a}, projection {g.a}² + {g.a}, MLP 4·{g.a}² + 4·{g.a} "
            f"+ 4·{g.a}·{g.o} + {g.o}, pools, projection and position tables = {r.params:,}",
            f"MACs = {g.n}·{g.c}·3·{g.a} (qkv) + 2·{g.h}·{g.nq}·{g.nk}·{g.d} (Q·Kᵀ, A·V) + {g.nq}·{g.a}² "
            f"(projection) + {g.nq}·{g.a}·4·{g.a} + {g.nq}·4·{g.a}·{g.o} (MLP) + pools"
            f"{' + relative positions ' + str(sum(g.rel_macs())) if g.rel else ''} = {r.macs:,}",
        ]
        return lines


class MViTPosition(Rule):
    type = "mvitposition"
    doc = (
        "MViT's PositionalEncoding (torchvision's video MViT): prepends a learned class token to "
        "[T·H·W, C] tokens and, unless rel_pos_embed, adds a factorised position embedding: "
        "→ [1 + T·H·W, C]."
    )
    args = (
        Arg("temporal_size", "pos", 1, "T, the frames (the embedding has T temporal and H·W spatial rows)"),
        Arg("rel_pos_embed", "bool", False, "no absolute embedding: the class token only (V2)"),
    )
    torch = Torch(
        "MViTPosition",
        (TorchParam("embed_size"), TorchParam("positions"), TorchParam("temporal_size"),
         TorchParam("rel_pos_embed")),
        module=lambda: mvit_position_module(),
        aliases=(TV + "PositionalEncoding",),
    )

    @staticmethod
    def sizes(a: Args, x: Shape) -> tuple[int, int, int]:
        """(tokens, C, H·W), checking the input."""
        if len(x) != 2:
            raise ShapeError(f"mvitposition needs tokens [T·H·W, C] per sample, got {list(x)}")
        n, c = x
        t = a["temporal_size"]
        if not a["rel_pos_embed"] and n % t:
            raise ShapeError(f"{n} tokens are not {t} frames of H·W", "temporal_size")
        return n, c, n // t

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        _, c, hw = self.sizes(args, ins[0])
        return "MViTPosition", {"embed_size": c, "positions": hw, "temporal_size": args["temporal_size"],
                                "rel_pos_embed": args["rel_pos_embed"]}

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """torchvision's PositionalEncoding or cnncalc's MViTPosition, read from the module."""
        m = values.get("_module")
        if m is None:
            raise NotExpressible("mvitposition is imported from its module")
        if m.spatial_pos is None:
            return {"rel_pos_embed": True}
        t = m.temporal_pos.shape[0]
        if t != m.temporal_size:
            raise NotExpressible(f"temporal_pos has {t} rows but temporal_size is {m.temporal_size}")
        return {"temporal_size": t}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        n, c, hw = self.sizes(a, ins[0])
        if a["rel_pos_embed"]:
            return Inferred(shape=(n + 1, c), params=c, rf=NONE)
        t = a["temporal_size"]
        # the embedding assembled (T·H·W·C additions), then added to every token (1 per element)
        return Inferred(shape=(n + 1, c), params=c * (2 + t + hw), flops=n * c + (n + 1) * c, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        n, c, hw = self.sizes(a, ins[0])
        r = self.infer(a, ins)
        if a["rel_pos_embed"]:
            return [f"[{n}, {c}] → [{n + 1}, {c}]: a class token of {c} (no absolute embedding); params {r.params:,}"]
        t = a["temporal_size"]
        return [f"[{n}, {c}] → [{n + 1}, {c}]; params = {c} (class token) + {c} (class position) + {t}·{c} "
                f"(temporal) + {hw}·{c} (spatial, H·W = {hw}) = {r.params:,}; no MACs"]


def mvit_block_module() -> type:
    """The torch module of ``mvitblock`` (torch is imported only when this is called).

    torchvision's MultiscaleBlock, its MultiscaleAttention and Pool folded into one class with the
    same parameter names (a torchvision state dict loads into it) and the same computation; its
    forward takes the tokens only (the grid is ``size``) and returns the tokens only.
    """
    import math
    from typing import Any  # noqa: F401  (local annotations only: never evaluated, so export needs no import)

    import torch
    from torch import nn

    class MViTBlock(nn.Module):
        def __init__(self, input_channels: int, output_channels: int, num_heads: int, size: list[int],
                     kernel_q: list[int], stride_q: list[int], kernel_kv: list[int], stride_kv: list[int],
                     residual_pool: bool = False, residual_with_cls_embed: bool = False,
                     rel_pos_embed: bool = False, proj_after_attn: bool = False, eps: float = 1e-6,
                     tables: list[int] | None = None):
            super().__init__()
            c, o = input_channels, output_channels
            a = o if proj_after_attn else c
            self.size = tuple(size)
            self.proj_after_attn = proj_after_attn
            self.norm1 = nn.LayerNorm(c, eps=eps)
            self.norm2 = nn.LayerNorm(a, eps=eps)
            attn: Any = nn.Module()  # torchvision's MultiscaleAttention, as a holder of its parts
            self.attn = attn
            attn.num_heads, attn.head_dim = num_heads, a // num_heads
            attn.output_dim, attn.scaler = a, 1.0 / math.sqrt(a // num_heads)
            attn.residual_pool, attn.residual_with_cls_embed = residual_pool, residual_with_cls_embed
            attn.qkv = nn.Linear(c, 3 * a)
            attn.project = nn.Sequential(nn.Linear(a, a))
            d = attn.head_dim

            def pool(kernel: list[int], stride: list[int], max_pool: bool = False) -> nn.Module:
                holder: Any = nn.Module()  # torchvision's Pool: the pool, then a norm
                padding = tuple(k // 2 for k in kernel)
                if max_pool:
                    holder.pool = nn.MaxPool3d(tuple(kernel), stride=tuple(stride), padding=padding)
                    holder.norm_act = None
                else:
                    holder.pool = nn.Conv3d(d, d, tuple(kernel), stride=tuple(stride), padding=padding,  # type: ignore[arg-type]
                                            groups=d, bias=False)
                    holder.norm_act = nn.Sequential(nn.LayerNorm(d, eps=eps))
                holder.norm_before_pool = False
                return holder

            attn.pool_q = pool(kernel_q, stride_q) if math.prod(kernel_q) > 1 or math.prod(stride_q) > 1 else None
            kv = math.prod(kernel_kv) > 1 or math.prod(stride_kv) > 1
            attn.pool_k = pool(kernel_kv, stride_kv) if kv else None
            attn.pool_v = pool(kernel_kv, stride_kv) if kv else None
            attn.rel_pos_h = attn.rel_pos_w = attn.rel_pos_t = None
            if rel_pos_embed:
                side = max(self.size[1:])
                spatial = 2 * max(side // stride_q[1], side // stride_kv[1]) - 1
                spatial, temporal = tables or (spatial, 2 * self.size[0] - 1)
                attn.rel_pos_h = nn.Parameter(torch.zeros(spatial, d))
                attn.rel_pos_w = nn.Parameter(torch.zeros(spatial, d))
                attn.rel_pos_t = nn.Parameter(torch.zeros(temporal, d))
                for p in (attn.rel_pos_h, attn.rel_pos_w, attn.rel_pos_t):
                    nn.init.trunc_normal_(p, std=0.02)
            self.mlp = nn.Sequential(nn.Linear(a, 4 * a), nn.GELU(), nn.Dropout(0.0), nn.Linear(4 * a, o),
                                     nn.Dropout(0.0))
            self.pool_skip = None
            if math.prod(stride_q) > 1:
                self.pool_skip = pool([s + 1 if s > 1 else s for s in stride_q], stride_q, max_pool=True)
            self.project = nn.Linear(c, o) if c != o else None

        @staticmethod
        def pool_tokens(p: nn.Module, x: torch.Tensor, thw: tuple[int, ...]) -> tuple[torch.Tensor, tuple[int, ...]]:
            """torchvision's Pool.forward: the grid pooled, the class token kept aside."""
            parts: Any = p
            three = x.dim() == 3
            if three:
                x = x.unsqueeze(1)
            class_token, x = torch.tensor_split(x, indices=(1,), dim=2)
            x = x.transpose(2, 3)
            b, n, c = x.shape[:3]
            x = x.reshape(b * n, c, *thw).contiguous()
            x = parts.pool(x)
            t, h, w = x.shape[2:]
            x = x.reshape(b, n, c, -1).transpose(2, 3)
            x = torch.cat((class_token, x), dim=2)
            if parts.norm_act is not None:
                x = parts.norm_act(x)
            if three:
                x = x.squeeze(1)
            return x, (t, h, w)

        @staticmethod
        def rel_pos(attn: torch.Tensor, q: torch.Tensor, q_thw: tuple[int, ...], k_thw: tuple[int, ...],
                    rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor, rel_pos_t: torch.Tensor) -> torch.Tensor:
            """torchvision's _add_rel_pos: the decomposed relative positions added to the scores."""
            def interpolate(embedding: torch.Tensor, d: int) -> torch.Tensor:
                if embedding.shape[0] == d:
                    return embedding
                return nn.functional.interpolate(
                    embedding.permute(1, 0).unsqueeze(0), size=d, mode="linear").squeeze(0).permute(1, 0)

            def distance(q_n: int, k_n: int) -> torch.Tensor:
                q_ratio, k_ratio = max(k_n / q_n, 1.0), max(q_n / k_n, 1.0)
                return torch.arange(q_n)[:, None] * q_ratio - (torch.arange(k_n)[None, :] + (1.0 - k_n)) * k_ratio

            q_t, q_h, q_w = q_thw
            k_t, k_h, k_w = k_thw
            rh = interpolate(rel_pos_h, int(2 * max(q_h, k_h) - 1))[distance(q_h, k_h).long()]
            rw = interpolate(rel_pos_w, int(2 * max(q_w, k_w) - 1))[distance(q_w, k_w).long()]
            rt = interpolate(rel_pos_t, int(2 * max(q_t, k_t) - 1))[distance(q_t, k_t).long()]
            b, n_head, _, dim = q.shape
            r_q = q[:, :, 1:].reshape(b, n_head, q_t, q_h, q_w, dim)
            rel_h_q = torch.einsum("bythwc,hkc->bythwk", r_q, rh)
            rel_w_q = torch.einsum("bythwc,wkc->bythwk", r_q, rw)
            r_q = r_q.permute(2, 0, 1, 3, 4, 5).reshape(q_t, b * n_head * q_h * q_w, dim)
            rel_q_t = torch.matmul(r_q, rt.transpose(1, 2)).transpose(0, 1)
            rel_q_t = rel_q_t.view(b, n_head, q_h, q_w, q_t, k_t).permute(0, 1, 4, 2, 3, 5)
            rel = (
                rel_h_q[:, :, :, :, :, None, :, None]
                + rel_w_q[:, :, :, :, :, None, None, :]
                + rel_q_t[:, :, :, :, :, :, None, None]
            ).reshape(b, n_head, q_t * q_h * q_w, k_t * k_h * k_w)
            attn[:, :, 1:, 1:] += rel
            return attn

        def attend(self, x: torch.Tensor, thw: tuple[int, ...]) -> tuple[torch.Tensor, tuple[int, ...]]:
            """torchvision's MultiscaleAttention.forward."""
            m: Any = self.attn
            b, n, _ = x.shape
            q, k, v = m.qkv(x).reshape(b, n, 3, m.num_heads, m.head_dim).transpose(1, 3).unbind(dim=2)
            k_thw = thw
            if m.pool_k is not None:
                k, k_thw = self.pool_tokens(m.pool_k, k, thw)
            if m.pool_v is not None:
                v = self.pool_tokens(m.pool_v, v, thw)[0]
            if m.pool_q is not None:
                q, thw = self.pool_tokens(m.pool_q, q, thw)
            attn = torch.matmul(m.scaler * q, k.transpose(2, 3))
            if m.rel_pos_h is not None:
                attn = self.rel_pos(attn, q, thw, k_thw, m.rel_pos_h, m.rel_pos_w, m.rel_pos_t)
            attn = attn.softmax(dim=-1)
            x = torch.matmul(attn, v)
            if m.residual_pool:
                if m.residual_with_cls_embed:
                    x.add_(q)
                else:
                    x[:, :, 1:, :] += q[:, :, 1:, :]
            x = x.transpose(1, 2).reshape(b, -1, m.output_dim)
            return m.project(x), thw

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x_norm1 = self.norm1(x)
            x_attn, _ = self.attend(x_norm1, self.size)
            x = x if self.project is None or not self.proj_after_attn else self.project(x_norm1)
            x_skip = x if self.pool_skip is None else self.pool_tokens(self.pool_skip, x, self.size)[0]
            x = x_skip + x_attn
            x_norm2 = self.norm2(x)
            x_proj = x if self.project is None or self.proj_after_attn else self.project(x_norm2)
            return x_proj + self.mlp(x_norm2)

    return MViTBlock


def mvit_position_module() -> type:
    """The torch module of ``mvitposition`` (torch is imported only when this is called):
    torchvision's PositionalEncoding with ``positions`` = H·W spatial rows."""
    from typing import Any  # noqa: F401  (local annotations only: never evaluated, so export needs no import)

    import torch
    from torch import nn

    class MViTPosition(nn.Module):
        def __init__(self, embed_size: int, positions: int, temporal_size: int, rel_pos_embed: bool = False):
            super().__init__()
            self.temporal_size = temporal_size
            self.class_token = nn.Parameter(torch.zeros(embed_size))
            self.spatial_pos = self.temporal_pos = self.class_pos = None
            if not rel_pos_embed:
                self.spatial_pos = nn.Parameter(torch.zeros(positions, embed_size))
                self.temporal_pos = nn.Parameter(torch.zeros(temporal_size, embed_size))
                self.class_pos = nn.Parameter(torch.zeros(embed_size))
            for p in self.parameters():
                nn.init.trunc_normal_(p, std=0.02)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            class_token = self.class_token.expand(x.size(0), -1).unsqueeze(1)
            x = torch.cat((class_token, x), dim=1)
            spatial: Any = self.spatial_pos
            if spatial is not None:
                temporal: Any = self.temporal_pos
                cls: Any = self.class_pos
                hw_size, embed_size = spatial.shape
                pos = torch.repeat_interleave(temporal, hw_size, dim=0)
                pos.add_(spatial.unsqueeze(0).expand(self.temporal_size, -1, -1).reshape(-1, embed_size))
                pos = torch.cat((cls.unsqueeze(0), pos), dim=0).unsqueeze(0)
                x.add_(pos)
            return x

    return MViTPosition
