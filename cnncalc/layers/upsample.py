"""Upsampling: ``upsample`` (torch.nn.Upsample / F.interpolate), ``pixelshuffle`` and
``pixelunshuffle`` (torch.nn.PixelShuffle / PixelUnshuffle).

Receptive fields: an upsampled unit reads the input unit floor(i/s) (nearest) or the taps around
(i + ½)/s − ½ (linear): a step function of i, which the affine Distill recurrence (size, stride,
padding) cannot state exactly, so fields are not reported past an upsampling layer (docs/receptive-fields.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import floor, prod
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
    Window,
    per_axis,
    spatial_rank,
)

# mode → (the input ranks torch accepts it for, interpolation taps per axis, flops per output element
# per tap). nearest copies (no arithmetic); linear modes weigh 2 taps per axis, bicubic 4.
MODES = {
    "nearest": ((1, 2, 3), 1),
    "linear": ((1,), 2),
    "bilinear": ((2,), 2),
    "bicubic": ((2,), 4),
    "trilinear": ((3,), 2),
}


class Upsample(Rule):
    type = "upsample"
    doc = (
        "Interpolation to a size or by a scale factor (torch.nn.Upsample): out = floor(N·scale). "
        "Modes nearest, linear (1-D), bilinear/bicubic (2-D), trilinear (3-D)."
    )
    args = (
        Arg("scale", "pos_number_axes", None, "scale factor per spatial axis (or one for all)"),
        Arg("size", "pos_axes", None, "output size per spatial axis (instead of scale)"),
        Arg("mode", "choice", "nearest", "nearest, linear, bilinear, bicubic or trilinear", choices=tuple(MODES)),
        Arg("align_corners", "bool", None, "as torch's (linear modes only; null is torch's default, false)"),
    )
    torch = Torch(
        "Upsample",
        (
            TorchParam("size", None),
            TorchParam("scale_factor", None, arg="scale"),
            TorchParam("mode", "nearest"),
            TorchParam("align_corners", None),
            TorchParam("recompute_scale_factor", None, fixed="the output size is floor(N·scale), torch's default"),
        ),
        functions=("torch.nn.functional.interpolate", "torch.nn.functional.upsample"),
        aliases=("UpsamplingNearest2d", "UpsamplingBilinear2d"),
    )

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        name, kwargs = super().to_torch(args, ins)
        for key in ("size", "scale_factor"):  # torch wants a tuple, not a list, per axis
            if isinstance(kwargs[key], list):
                kwargs[key] = tuple(kwargs[key])
        return name, kwargs

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if values.get("antialias"):
            raise NotExpressible("antialias=True (cnncalc's upsample does not antialias)")
        return {k: v for k, v in super().from_torch(values).items() if v is not None}

    def sizes(self, a: Args, x: Shape) -> tuple[int, ...]:
        nd = spatial_rank(x, "upsample")
        ranks, _ = MODES[a["mode"]]
        if nd not in ranks:
            raise ShapeError(
                f"mode '{a['mode']}' needs {' or '.join(f'{r}-D' for r in ranks)} input, "
                f"got {nd} spatial {'axis' if nd == 1 else 'axes'}",
                "mode",
            )
        if a["align_corners"] is not None and a["mode"] == "nearest":
            raise ShapeError("align_corners only applies to the linear and cubic modes", "align_corners")
        if (a["scale"] is None) == (a["size"] is None):
            raise ShapeError("give exactly one of 'scale' and 'size'", "scale" if a["scale"] is not None else None)
        if a["size"] is not None:
            return tuple(per_axis(a["size"], nd, "size"))
        scale = per_axis(a["scale"], nd, "scale")
        out = tuple(floor(x[1 + i] * scale[i]) for i in range(nd))  # torch: floor(input · scale)
        if any(o < 1 for o in out):
            raise ShapeError(f"scale {a['scale']} makes an empty output from {list(x[1:])}", "scale")
        return out

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        out = self.sizes(a, x)
        shape = (x[0], *out)
        _, taps = MODES[a["mode"]]
        per_out = 0 if taps == 1 else 2 * taps ** len(out) - 1  # weighted sum of taps^nd inputs
        return Inferred(shape=shape, flops=per_out * prod(shape), rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        out = self.sizes(a, x)
        lines = []
        for i, o in enumerate(out):
            if a["size"] is not None:
                lines.append(f"axis {i + 1}: {x[1 + i]} → {o} (size)")
            else:
                s = per_axis(a["scale"], len(out), "scale")[i]
                lines.append(f"axis {i + 1}: floor({x[1 + i]} × {s}) = {o}")
        lines.append(f"{a['mode']} interpolation: no parameters; no MACs")
        return lines


class PixelShuffle(Rule):
    type = "pixelshuffle"
    doc = "(C·r², H, W) → (C, H·r, W·r): sub-pixel upsampling (torch.nn.PixelShuffle)."
    args = (Arg("factor", "pos", doc="upscale factor r"),)
    torch = Torch(
        "PixelShuffle", (TorchParam("upscale_factor", arg="factor"),), ("torch.nn.functional.pixel_shuffle",)
    )

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x, r = ins[0], a["factor"]
        if len(x) < 3:
            raise ShapeError(f"pixelshuffle needs (channels, height, width), got {list(x)}")
        *lead, c, h, w = x
        if c % (r * r):
            raise ShapeError(f"{c} channels are not divisible by factor² = {r * r}", "factor")
        shape = (*lead, c // (r * r), h * r, w * r)
        return Inferred(shape=shape, rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x, r = ins[0], a["factor"]
        return [f"channels {x[-3]}/{r}² = {x[-3] // (r * r)}; H, W × {r}: no parameters; no MACs"]


class PixelUnshuffle(Rule):
    type = "pixelunshuffle"
    doc = "(C, H·r, W·r) → (C·r², H, W): the inverse of pixelshuffle (torch.nn.PixelUnshuffle)."
    args = (Arg("factor", "pos", doc="downscale factor r"),)
    torch = Torch(
        "PixelUnshuffle", (TorchParam("downscale_factor", arg="factor"),), ("torch.nn.functional.pixel_unshuffle",)
    )

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x, r = ins[0], a["factor"]
        if len(x) < 3:
            raise ShapeError(f"pixelunshuffle needs (channels, height, width), got {list(x)}")
        *lead, c, h, w = x
        if h % r or w % r:
            raise ShapeError(f"height {h} and width {w} must be divisible by the factor {r}", "factor")
        shape = (*lead, c * r * r, h // r, w // r)
        rf = Window((r, r), (r, r), (0, 0)) if not lead else NONE
        return Inferred(shape=shape, rf=rf)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x, r = ins[0], a["factor"]
        return [f"channels {x[-3]}·{r}² = {x[-3] * r * r}; H, W / {r}: no parameters; no MACs"]
