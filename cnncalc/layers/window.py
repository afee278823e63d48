"""Swin Transformer layers, channels-last: ``windowattention`` (torchvision's ShiftedWindowAttention,
ShiftedWindowAttentionV2 and the video ShiftedWindowAttention3d) and ``patchmerge`` (the pad and
2×2 gather of Swin's patch merging, torchvision's ``_patch_merging_pad``).

``windowattention`` takes ``[H, W, C]`` (or ``[T, H, W, C]``) per sample and returns the same shape.
The map is padded up to a multiple of the window on each axis (``P`` positions in all, ``P = ∏ pad``),
cut into windows of ``n = ∏window`` positions, and each window attends to itself. With C channels,
``h`` heads and M = ∏(2·window − 1) relative offsets:

* params   3·C² (+ 3·C) for q, k, v; C² (+ C) for the output projection; version 1 adds the relative
           position bias table M·h; version 2 (cosine attention) adds the logit scale h and the
           continuous position bias MLP 2·512 + 512 + 512·h instead of the table;
* buffers  n_full² (the relative position index of the configured window), + 2·M in version 2
           (the table of log-spaced coordinates);
* MACs     3·P·C² (q, k, v) + 2·P·n·C (Q·Kᵀ and A·V in every window) + P·C² (output), and in
           version 2 the position MLP over the M offsets, M·512·(2 + h), on every forward.

As torchvision does it, a 2-D map smaller than the window is padded up to the window; a 3-D map
(Video Swin) shrinks the window to the map instead. On an axis where the map fits in one window there
is no shift. The shift moves no arithmetic: it changes which positions share a window (a mask).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
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
    per_axis,
)

CPB_HIDDEN = 512  # torchvision's continuous position bias MLP: Linear(2, 512), ReLU, Linear(512, heads)


class WindowGeometry:
    """The sizes one windowattention layer works with (see the module docstring)."""

    def __init__(self, a: Args, x: Shape):
        if len(x) not in (3, 4):
            raise ShapeError(
                f"windowattention needs a channels-last map [H, W, C] or [T, H, W, C] per sample, got {list(x)}"
            )
        self.nd = len(x) - 1
        self.sizes, self.c = tuple(x[:-1]), x[-1]
        self.heads, self.version = a["heads"], a["version"]
        if self.version not in (1, 2):
            raise ShapeError(f"version must be 1 (Swin) or 2 (Swin V2), got {self.version}", "version")
        if self.version == 2 and self.nd != 2:
            raise ShapeError("version 2 (cosine attention) takes a 2-D map [H, W, C] only", "version")
        if self.c % self.heads:
            raise ShapeError(f"heads={self.heads} does not divide the {self.c} channels", "heads")
        self.full = tuple(per_axis(a["window"], self.nd, "window"))
        shift = tuple(per_axis(a["shift"], self.nd, "shift"))
        if self.nd == 3:  # Video Swin: the window shrinks to a smaller map
            self.window = tuple(min(s, w) for s, w in zip(self.sizes, self.full, strict=True))
        else:  # Swin: the map is padded up to the window
            self.window = self.full
        self.padded = tuple(-(-s // w) * w for s, w in zip(self.sizes, self.window, strict=True))
        self.shift = tuple(0 if s <= w else v for s, w, v in zip(self.sizes, self.window, shift, strict=True))
        self.positions = prod(self.padded)  # P
        self.n = prod(self.window)  # positions per window
        self.windows = self.positions // self.n
        self.offsets = prod(2 * w - 1 for w in self.full)  # M: relative offsets of the configured window

    @property
    def scores(self) -> int:
        """Attention scores: heads × P × n."""
        return self.heads * self.positions * self.n


class WindowAttention(Rule):
    type = "windowattention"
    doc = (
        "Swin's shifted-window self-attention on a channels-last map [H, W, C] or [T, H, W, C] "
        "(torchvision's ShiftedWindowAttention, V2 and 3d): same shape out."
    )
    args = (
        Arg("heads", "pos", doc="number of heads (divides the channels)"),
        Arg("window", "pos_axes", doc="window size, per spatial axis (7 in Swin-T)"),
        Arg("shift", "nonneg_axes", 0, "cyclic shift of the windows, per spatial axis (window // 2 every other block)"),
        Arg("qkv_bias", "bool", True, "biases of the q, k, v projection"),
        Arg("proj_bias", "bool", True, "bias of the output projection"),
        Arg("version", "pos", 1, "1: Swin (scaled dot product, bias table); 2: Swin V2 (cosine attention, bias MLP)"),
        Arg("attention_dropout", "prob", 0.0, "dropout on the attention weights (training only)"),
        Arg("dropout", "prob", 0.0, "dropout on the output (training only)"),
    )
    torch = Torch(
        "WindowAttention",
        (
            TorchParam("dim", shape=FromShape.FEATURES),
            TorchParam("window_size", arg="window"),
            TorchParam("shift_size", arg="shift"),
            TorchParam("num_heads", arg="heads"),
            TorchParam("qkv_bias", True),
            TorchParam("proj_bias", True),
            TorchParam("attention_dropout", 0.0),
            TorchParam("dropout", 0.0),
            TorchParam("version", 1),
        ),
        module=lambda: window_attention_module(),
        aliases=("ShiftedWindowAttention", "ShiftedWindowAttentionV2", "ShiftedWindowAttention3d"),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return max(len(ins[0]) - 1, 1)

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """The WindowAttention module below: torchvision's constructor, channels from the input."""
        x = ins[0]  # the module checks the rest (build then refuses what the analysis refuses)

        def axes(v: Any) -> list[int]:
            return list(v) if isinstance(v, tuple) else [v] * max(len(x) - 1, 1)

        return "WindowAttention", {
            "dim": x[-1], "window_size": axes(args["window"]), "shift_size": axes(args["shift"]),
            "num_heads": args["heads"], "qkv_bias": args["qkv_bias"], "proj_bias": args["proj_bias"],
            "attention_dropout": args["attention_dropout"], "dropout": args["dropout"], "version": args["version"],
        }

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """torchvision's ShiftedWindowAttention (V2, 3d) or cnncalc's WindowAttention, read from the
        module: its window, shift, heads, dropouts, which biases it has, and whether it is V2 (a
        ``logit_scale`` and a ``cpb_mlp``)."""
        m = values.get("_module")
        if m is None:
            raise NotExpressible("windowattention is imported from its module")
        window, shift = list(m.window_size), list(m.shift_size)
        v2 = getattr(m, "logit_scale", None) is not None
        if v2:
            mlp = getattr(m, "cpb_mlp", None)
            shapes = [tuple(p.shape) for p in mlp.parameters()] if mlp is not None else []
            want = [(CPB_HIDDEN, 2), (CPB_HIDDEN,), (m.num_heads, CPB_HIDDEN)]
            if shapes != want:
                raise NotExpressible(f"a position-bias MLP with parameters {shapes} (torchvision's is {want})")
        return {
            "heads": m.num_heads,
            "window": window[0] if len(set(window)) == 1 else window,
            "shift": shift[0] if len(set(shift)) == 1 else shift,
            "qkv_bias": getattr(getattr(m, "qkv", None), "bias", None) is not None,
            "proj_bias": getattr(getattr(m, "proj", None), "bias", None) is not None,
            "version": 2 if v2 else 1,
            "attention_dropout": float(getattr(m, "attention_dropout", 0.0)),
            "dropout": float(getattr(m, "dropout", 0.0)),
        }

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        g = WindowGeometry(a, ins[0])
        c, h, p = g.c, g.heads, g.positions
        params = 4 * c * c + 3 * c * a["qkv_bias"] + c * a["proj_bias"]
        buffers = prod(g.full) ** 2
        macs = 4 * p * c * c + 2 * p * g.n * c
        flops = 2 * macs + (3 * a["qkv_bias"] + a["proj_bias"]) * p * c  # 2 per MAC; the bias additions
        flops += 5 * g.scores if any(g.shift) else 4 * g.scores  # + position bias, (+ mask), softmax (3)
        if g.version == 1:
            params += g.offsets * h
            flops += p * c  # q scaled by 1/√d
        else:
            mlp = g.offsets * CPB_HIDDEN * (2 + h)
            params += h + 3 * CPB_HIDDEN + CPB_HIDDEN * h
            buffers += 2 * g.offsets
            macs += mlp
            # q and k normalised (square, sum, divide: 3 per element each), the logit scale (1 per
            # score); the MLP: 2 per MAC, its bias and ReLU, and 16·sigmoid on the n²·h gathered biases
            flops += 2 * mlp + 6 * p * c + g.scores + 2 * g.offsets * CPB_HIDDEN + 2 * g.n * g.n * h
        return Inferred(shape=ins[0], params=params, buffers=buffers, macs=macs, flops=flops, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        g = WindowGeometry(a, ins[0])
        r = self.infer(a, ins)
        c, h, p = g.c, g.heads, g.positions
        x = "×".join(str(v) for v in g.window)
        pad = "×".join(str(v) for v in g.padded)
        biases = " + ".join([*(["3·C"] if a["qkv_bias"] else []), *(["C"] if a["proj_bias"] else [])])
        lines = [
            f"C = {c}, {h} heads of {c // h}; window {x} = {g.n} positions"
            + ("" if g.window == g.full else f" (the map is smaller than the window {list(g.full)})")
            + f"; map {'×'.join(map(str, g.sizes))} padded to {pad} = {p:,} positions, {g.windows} windows"
            + (f"; shift {list(g.shift)}" if any(g.shift) else "; no shift"),
        ]
        if g.version == 1:
            lines.append(
                f"params = 4·{c}²{' + ' + biases if biases else ''} (q, k, v and output projections) "
                f"+ {g.offsets}·{h} (relative position bias table) = {r.params:,}"
            )
        else:
            lines.append(
                f"params = 4·{c}²{' + ' + biases if biases else ''} (projections) + {h} (logit scale) "
                f"+ 2·512 + 512 + 512·{h} (position-bias MLP) = {r.params:,}"
            )
        extra = "" if g.version == 1 else f" + 2·{g.offsets} (log-spaced coordinates)"
        lines.append(f"buffers = {prod(g.full)}² (relative position index){extra} = {r.buffers:,}")
        mlp = "" if g.version == 1 else f" + {g.offsets}·512·(2 + {h}) (position-bias MLP)"
        lines.append(
            f"MACs = 3·{p:,}·{c}² (q, k, v) + 2·{p:,}·{g.n}·{c} (Q·Kᵀ and A·V) + {p:,}·{c}² (output){mlp} "
            f"= {r.macs:,}"
        )
        return lines


class PatchMerge(Rule):
    type = "patchmerge"
    doc = (
        "Swin's patch merging gather on a channels-last map [..., H, W, C]: pads H and W to even and "
        "stacks each 2×2 patch's four vectors, [..., ⌈H/2⌉, ⌈W/2⌉, 4·C] (torchvision's _patch_merging_pad)."
    )
    torch = Torch(
        "PatchMerge",
        module=lambda: patch_merge_module(),
        functions=("torchvision.models.swin_transformer._patch_merging_pad",),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 2

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        if len(x) < 3:
            raise ShapeError(f"patchmerge needs a channels-last map [..., H, W, C] per sample, got {list(x)}")
        *lead, hh, ww, c = x
        return Inferred(shape=(*lead, -(-hh // 2), -(-ww // 2), 4 * c), rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        r = self.infer(a, ins)
        *_, hh, ww, c = ins[0]
        return [
            f"H, W = {hh}, {ww} padded to even, 2×2 patches of {c} channels stacked: {list(ins[0])} → "
            f"{list(r.shape)}; no parameters, no MACs"
        ]


def window_attention_module() -> type:
    """The torch module of ``windowattention`` (torch is imported only when this is called).

    torchvision's ShiftedWindowAttention (``version=1``), ShiftedWindowAttentionV2 (``version=2``)
    and ShiftedWindowAttention3d (a 3-value window) in one class with their parameter and buffer
    names, so a torchvision state dict loads into it. Written with F.linear and matmul, which
    FlopCounterMode counts.
    """
    import math

    import torch
    from torch import nn
    from torch.nn import functional as F

    class WindowAttention(nn.Module):
        relative_position_index: torch.Tensor
        relative_coords_table: torch.Tensor

        def __init__(self, dim: int, window_size, shift_size, num_heads: int, qkv_bias: bool = True,
                     proj_bias: bool = True, attention_dropout: float = 0.0, dropout: float = 0.0,
                     version: int = 1):
            super().__init__()
            if len(window_size) not in (2, 3) or len(shift_size) != len(window_size):
                raise ValueError("window_size and shift_size need 2 or 3 values, as many of each")
            if version not in (1, 2) or (version == 2 and len(window_size) != 2):
                raise ValueError("version is 1, or 2 with a 2-value window")
            self.window_size, self.shift_size = list(window_size), list(shift_size)
            self.num_heads, self.version = num_heads, version
            self.attention_dropout, self.dropout = attention_dropout, dropout
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim, bias=proj_bias)
            if version == 1:
                offsets = math.prod(2 * w - 1 for w in self.window_size)
                self.relative_position_bias_table = nn.Parameter(torch.zeros(offsets, num_heads))
                nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
            else:
                self.register_buffer("relative_coords_table", self.coords_table())
            self.register_buffer("relative_position_index", self.position_index())
            if version == 2:
                self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
                self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                             nn.Linear(512, num_heads, bias=False))
                if qkv_bias:
                    length = self.qkv.bias.numel() // 3
                    self.qkv.bias[length: 2 * length].data.zero_()

        def coords_table(self) -> torch.Tensor:
            """Version 2's relative offsets, log-spaced in [-1, 1]·log2(9)/3: (1, 2·wh−1, 2·ww−1, 2)."""
            ws = self.window_size
            axes = [torch.arange(-(w - 1), w, dtype=torch.float32) for w in ws]
            table = torch.stack(torch.meshgrid(axes, indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
            table[:, :, :, 0] /= ws[0] - 1
            table[:, :, :, 1] /= ws[1] - 1
            table *= 8
            return torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0

        def position_index(self) -> torch.Tensor:
            """For each pair of positions in a window, the row of their offset in the bias table."""
            ws = self.window_size
            coords = torch.stack(torch.meshgrid([torch.arange(w) for w in ws], indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
            for i, w in enumerate(ws):
                rel[:, :, i] += w - 1
                rel[:, :, i] *= math.prod(2 * v - 1 for v in ws[i + 1:])
            index = rel.sum(-1)
            return index.flatten() if len(ws) == 2 else index

        def reset_parameters(self) -> None:
            """The buffers and the bias table or logit scale as __init__ makes them (for a module made
            on the meta device and moved with to_empty; the Linear layers reset themselves)."""
            with torch.no_grad():
                self.relative_position_index.copy_(self.position_index())
                if self.version == 1:
                    nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
                else:
                    self.relative_coords_table.copy_(self.coords_table())
                    self.logit_scale.fill_(math.log(10))

        def position_bias(self, window, copies: int = 1) -> torch.Tensor:
            n, full = math.prod(window), math.prod(self.window_size)
            if self.version == 1:
                table = self.relative_position_bias_table
            else:  # the MLP over the offsets, once per forward (``copies`` times: see counted)
                coords = self.relative_coords_table.expand(copies, -1, -1, -1)
                table = self.cpb_mlp(coords)[0].reshape(-1, self.num_heads)
            index = self.relative_position_index.view(full, full)[:n, :n].flatten()
            bias = table[index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
            return 16 * torch.sigmoid(bias) if self.version == 2 else bias

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attend(x, 1)

        def counted(self, x: torch.Tensor) -> torch.Tensor:
            """The same output, with version 2's position-bias MLP run once per sample: torch runs
            it once per forward, cnncalc counts per sample (the same at batch 1)."""
            return self.attend(x, x.shape[0])

        def attend(self, x: torch.Tensor, copies: int) -> torch.Tensor:
            nd = len(self.window_size)
            if x.dim() != nd + 2:
                raise ValueError(f"a {nd}-D window needs input [B, {'T, ' * (nd == 3)}H, W, C], got {list(x.shape)}")
            b, sizes, c, heads = x.shape[0], list(x.shape[1:-1]), x.shape[-1], self.num_heads
            window, shift = list(self.window_size), list(self.shift_size)
            for i in range(nd):
                if sizes[i] <= window[i]:  # one window on this axis: no shift (3-D: the window shrinks)
                    shift[i] = 0
                    if nd == 3:
                        window[i] = sizes[i]
            bias = self.position_bias(window, copies)
            pads = [(w - s % w) % w for s, w in zip(sizes, window, strict=True)]
            x = F.pad(x, [0, 0] + [v for p in reversed(pads) for v in (0, p)])
            padded = list(x.shape[1:-1])
            axes = tuple(range(1, nd + 1))
            if sum(shift) > 0:
                x = torch.roll(x, shifts=tuple(-s for s in shift), dims=axes)
            counts = [p // w for p, w in zip(padded, window, strict=True)]
            windows, n = math.prod(counts), math.prod(window)
            split = [v for pair in zip(counts, window, strict=True) for v in pair]
            order = [2 * i + 1 for i in range(nd)] + [2 * i + 2 for i in range(nd)]
            x = x.view(b, *split, c).permute(0, *order, 2 * nd + 1).reshape(b * windows, n, c)
            qkv_bias: torch.Tensor | None = self.qkv.bias
            if self.version == 2 and qkv_bias is not None:
                qkv_bias = qkv_bias.clone()
                qkv_bias[c: 2 * c].zero_()
            qkv = F.linear(x, self.qkv.weight, qkv_bias)
            qkv = qkv.reshape(x.size(0), n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            if self.version == 2:
                attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
                attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
            else:
                attn = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1))
            attn = attn + bias
            if sum(shift) > 0:
                mask = x.new_zeros(padded)
                cuts = [((0, -w), (-w, -s), (-s, None)) for w, s in zip(window, shift, strict=True)]
                regions: list[list[tuple[int, int | None]]] = [[]]
                for axis in cuts:
                    regions = [[*r, cut] for r in regions for cut in axis]
                for count, region in enumerate(regions):
                    mask[tuple(slice(lo, hi) for lo, hi in region)] = count
                mask = mask.view(split).permute(*[2 * i for i in range(nd)], *[2 * i + 1 for i in range(nd)])
                mask = mask.reshape(windows, n)
                mask = mask.unsqueeze(1) - mask.unsqueeze(2)
                mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
                attn = attn.view(b, windows, heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
                attn = attn.view(-1, heads, n, n)
            attn = F.dropout(F.softmax(attn, dim=-1), p=self.attention_dropout, training=self.training)
            x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), n, c)
            x = F.dropout(F.linear(x, self.proj.weight, self.proj.bias), p=self.dropout, training=self.training)
            back = [v for i in range(nd) for v in (1 + i, 1 + nd + i)]
            x = x.view(b, *counts, *window, c).permute(0, *back, 2 * nd + 1).reshape(b, *padded, c)
            if sum(shift) > 0:
                x = torch.roll(x, shifts=tuple(shift), dims=axes)
            return x[tuple([slice(None)] + [slice(0, s) for s in sizes])].contiguous()

    return WindowAttention


def patch_merge_module() -> type:
    """The torch module of ``patchmerge`` (torch is imported only when this is called): torchvision's
    ``_patch_merging_pad``, written out."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class PatchMerge(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.dim() < 4:
                raise ValueError(f"patch merging needs input [B, ..., H, W, C], got {list(x.shape)}")
            h, w = x.shape[-3], x.shape[-2]
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
            parts = [x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]]
            return torch.cat(parts, -1)

    return PatchMerge
