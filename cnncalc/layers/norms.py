"""``layernorm``, ``groupnorm`` and ``instancenorm`` (torch.nn.LayerNorm, GroupNorm,
InstanceNorm1d/2d/3d; ``layernorm: {over: channels}`` is ConvNeXt's LayerNorm2d).

flops: 5 per element with a learnable affine, 4 without (mean, variance, normalise), as fvcore
counts them. Statistics taken over the spatial axes (group and instance norm without running
statistics) make every output depend on the whole input: their receptive field is global.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

from .base import (
    GLOBAL,
    IDENTITY,
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
    bias_flag,
    spatial_rank,
)

EPS = Arg("eps", "number", 1e-5, "added to the variance")


def _flops(shape: Shape, affine: bool) -> int:
    return (5 if affine else 4) * prod(shape)


class LayerNorm(Rule):
    type = "layernorm"
    doc = (
        "Layer normalisation over the last `axes` axes (torch.nn.LayerNorm), or over channels at each "
        "position (over: channels, ConvNeXt's LayerNorm2d). params 2·∏normalised shape when affine."
    )
    args = (
        Arg("over", "choice", "last", "last (the trailing axes, as torch) or channels", choices=("last", "channels")),
        Arg("axes", "pos", 1, "how many trailing axes to normalise over (over: last)"),
        EPS,
        Arg("affine", "bool", True, "learnable scale (torch's elementwise_affine)"),
        Arg("bias", "bool", True, "learnable shift (with affine)"),
    )
    torch = Torch(
        "LayerNorm2d",
        (
            TorchParam("normalized_shape"),
            TorchParam("eps", 1e-5),
            TorchParam("elementwise_affine", True, arg="affine"),
            TorchParam("bias", True),
        ),
        module=lambda: torch_module(),
        aliases=("LayerNorm", "LayerNorm2d"),
    )

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """nn.LayerNorm over the trailing axes; over channels, the LayerNorm2d defined below."""
        norm = self.normalized(args, ins[0])
        kwargs = {"normalized_shape": norm[0] if len(norm) == 1 else tuple(norm), "eps": args["eps"],
                  "elementwise_affine": args["affine"], "bias": args["bias"]}
        return ("LayerNorm2d" if args["over"] == "channels" else "LayerNorm"), kwargs

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """nn.LayerNorm's attributes: ``normalized_shape`` (a tuple), ``weight``/``bias`` tensors. A
        class named ``LayerNorm2d`` (torchvision's ConvNeXt, timm, detectron2) normalises over the
        channels at each position of a (C, H, W) input: over: channels."""
        out: dict[str, Any] = {"axes": len(values.get("normalized_shape", (0,))), "eps": values.get("eps", 1e-5)}
        if values.get("_class") == "LayerNorm2d":
            if out["axes"] != 1:
                raise NotExpressible(f"a LayerNorm2d over {tuple(values['normalized_shape'])} (over channels takes one axis)")
            out = {"over": "channels", "eps": out["eps"]}
        out["affine"] = bool(values.get("elementwise_affine", True))
        if out["affine"]:
            out["bias"] = bias_flag(values.get("bias", True))
        return out

    def normalized(self, a: Args, x: Shape) -> Shape:
        if a["over"] == "channels":
            if a["axes"] != 1:
                raise ShapeError("'axes' applies to over: last only", "axes")
            return (x[0],)
        if a["axes"] > len(x):
            raise ShapeError(f"axes={a['axes']} but the input {list(x)} has {len(x)} axes per sample", "axes")
        return x[len(x) - a["axes"] :]

    def params(self, a: Args, x: Shape) -> int:
        return prod(self.normalized(a, x)) * (1 + a["bias"]) if a["affine"] else 0

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        self.normalized(a, x)
        rf = IDENTITY if a["over"] == "channels" or a["axes"] == len(x) == 1 else NONE
        return Inferred(shape=x, params=self.params(a, x), flops=_flops(x, a["affine"]), rf=rf)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        norm = self.normalized(a, x)
        last = "the last axis" if a["axes"] == 1 else f"the last {a['axes']} axes"
        where = "channels at each position" if a["over"] == "channels" else f"{last} {list(norm)}"
        n = prod(norm)
        params = (
            f"params = {n} (γ){f' + {n} (β)' if a['bias'] else ''} = {self.params(a, x):,}"
            if a["affine"] else "params = 0 (affine: false)"
        )
        return [f"normalises over {where}", params, "no MACs; no buffers (statistics come from each sample)"]


class GroupNorm(Rule):
    type = "groupnorm"
    doc = "Group normalisation (torch.nn.GroupNorm): channels in `groups` groups; params 2·C when affine."
    args = (
        Arg("groups", "pos", doc="number of groups (divides the channels)"),
        EPS,
        Arg("affine", "bool", True, "learnable per-channel scale and shift"),
    )
    torch = Torch(
        "GroupNorm",
        (
            TorchParam("num_groups", arg="groups"),
            TorchParam("num_channels", shape=FromShape.CHANNELS),
            TorchParam("eps", 1e-5),
            TorchParam("affine", True),
        ),
    )

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        if x[0] % a["groups"]:
            raise ShapeError(f"groups={a['groups']} does not divide the {x[0]} channels", "groups")
        return Inferred(
            shape=x,
            params=2 * x[0] if a["affine"] else 0,
            flops=_flops(x, a["affine"]),
            rf=GLOBAL if len(x) > 1 else IDENTITY,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        c = ins[0][0]
        return [
            f"{c} channels in {a['groups']} groups of {c // a['groups']}",
            f"params = 2 × {c} (γ, β) = {2 * c:,}" if a["affine"] else "params = 0 (affine: false)",
            "no MACs; statistics over each group's channels and all positions",
        ]


class InstanceNorm(Rule):
    type = "instancenorm"
    doc = (
        "Instance normalisation (torch.nn.InstanceNorm1d/2d/3d): per sample and channel; torch's "
        "defaults: no affine, no running statistics."
    )
    args = (
        EPS,
        Arg("momentum", "number", 0.1, "running-statistics momentum"),
        Arg("affine", "bool", False, "learnable per-channel scale and shift"),
        Arg("track_running_stats", "bool", False, "keep running statistics (buffers)"),
    )
    torch = Torch(
        "InstanceNorm{nd}d",
        (
            TorchParam("num_features", shape=FromShape.CHANNELS),
            TorchParam("eps", 1e-5),
            TorchParam("momentum", 0.1),
            TorchParam("affine", False),
            TorchParam("track_running_stats", False),
        ),
    )

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        spatial_rank(x, "instancenorm")
        if prod(x[1:]) == 1:
            raise ShapeError(
                f"instancenorm over a single position {list(x)}: each channel's variance is 0 "
                "(torch refuses it in training)"
            )
        c = x[0]
        return Inferred(
            shape=x,
            params=2 * c if a["affine"] else 0,
            buffers=2 * c + 1 if a["track_running_stats"] else 0,
            flops=_flops(x, a["affine"]),
            # at inference, running statistics make it a per-channel scale; without them each
            # output depends on its whole channel
            rf=IDENTITY if a["track_running_stats"] else GLOBAL,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        c = ins[0][0]
        r = self.infer(a, ins)
        return [
            f"params = 2 × {c} (γ, β) = {r.params:,}" if a["affine"] else "params = 0 (affine: false)",
            f"buffers = 2 × {c} + 1 = {r.buffers:,}" if r.buffers else "no buffers (track_running_stats: false)",
            "no MACs",
        ]


def torch_module() -> type:
    """``layernorm: {over: channels}`` in torch (imported only when this is called): LayerNorm over
    the channels at each position, as torchvision's LayerNorm2d (channels-last, normalise, back)."""
    import torch
    from torch import nn

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.movedim(1, -1)
            return super().forward(x).movedim(-1, 1)

    return LayerNorm2d
