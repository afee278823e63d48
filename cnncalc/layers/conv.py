"""``conv``: N-d convolution (torch.nn.Conv1d/2d/3d; the rank follows from the input)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

from .. import arith
from .base import (
    Arg,
    Args,
    FromShape,
    Inferred,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchParam,
    Window,
    bias_flag,
    per_axis,
    spatial_rank,
)
from .base import ArgKind as K

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
UNITS = {"L": "element", "H": "row", "W": "column", "D": "plane"}


def floor_messages(n: Shape, k: Shape, s: Shape, pads: Sequence[tuple[int, int]], d: Shape) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(warnings, notes) for the axes where (N + 2P − D·(F−1) − 1)/S is not an integer.

    "Fractions are illegal": the size is floored. Where the rows that no window reaches are input
    rows, that is a warning; where they are only right padding, nothing is lost: a note.
    Axes with the same arithmetic are reported together (a square input gives one text).
    """
    groups: dict[tuple[str, int, bool], list[str]] = {}
    for i, axis in enumerate(AXES[len(n)]):
        pl, pr = pads[i]
        lost = arith.floor_remainder(n[i], k[i], s[i], pl, pr, d[i])
        if lost:
            text = arith.explain_conv_len(n[i], k[i], s[i], pl, pr, d[i])
            groups.setdefault((text, lost, lost <= pr), []).append(axis)
    warnings, notes = [], []
    for (text, lost, padding_only), axes in groups.items():
        units = "/".join(UNITS[a] + ("s" if lost > 1 else "") for a in axes)
        if padding_only:
            notes.append(f"{'/'.join(axes)}: {text} is floored; only padding is dropped (the last {lost} {units} of the padded input)")
        else:
            real = lost - pads[AXES[len(n)].index(axes[0])][1]
            units = "/".join(UNITS[a] + ("s" if real > 1 else "") for a in axes)
            warnings.append(f"{'/'.join(axes)}: {text} is floored; the last {real} input {units} {'are' if real > 1 else 'is'} never covered")
    return tuple(warnings), tuple(notes)


def resolve_padding(padding: object, k: Shape, s: Shape, d: Shape) -> list[tuple[int, int]]:
    """(left, right) padding per axis from an int, a per-axis tuple, 'valid' or 'same'."""
    nd = len(k)
    if padding == "valid":
        return [(0, 0)] * nd
    if padding == "same":
        if any(x != 1 for x in s):
            raise ShapeError(
                "padding 'same' needs stride 1 (PyTorch refuses it for strided convolutions); "
                "give the padding as a number, e.g. (kernel − 1)//2",
                "padding",
            )
        return [arith.same_padding(k[i], d[i]) for i in range(nd)]
    return [(p, p) for p in per_axis(padding, nd, "padding")]


class Conv(Rule):
    type = "conv"
    doc = "Convolution. Output size floor((N + 2P − D·(F−1) − 1)/S) + 1 per spatial axis."
    args = (
        Arg("out", K.POS, doc="output channels"),
        Arg("kernel", K.POS_AXES, doc="kernel size F"),
        Arg("stride", K.POS_AXES, 1, "stride S"),
        Arg("padding", K.PADDING, 0, "zero padding P on each side, 'same' or 'valid'"),
        Arg("dilation", K.POS_AXES, 1, "dilation D"),
        Arg("groups", K.POS, 1, "groups (= in channels for a depthwise conv)"),
        Arg("bias", K.BOOL, True, "learnable bias"),
    )
    torch = Torch(
        "Conv{nd}d",
        (
            TorchParam("in_channels", shape=FromShape.CHANNELS),
            TorchParam("out_channels", arg="out"),
            TorchParam("kernel_size", arg="kernel"),
            TorchParam("stride", 1),
            TorchParam("padding", 0),
            TorchParam("dilation", 1),
            TorchParam("groups", 1),
            TorchParam("bias", True),
            TorchParam("padding_mode", "zeros", fixed="cnncalc pads with zeros only"),
        ),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A module's ``bias`` is a tensor or None; ``padding='valid'`` is written as 0."""
        out = super().from_torch(values)
        if "bias" in out:
            out["bias"] = bias_flag(out["bias"])
        if out.get("padding") == "valid":
            out["padding"] = 0
        return out

    def geometry(self, a: Args, x: Shape) -> tuple[Shape, Shape, Shape, list[tuple[int, int]], Shape]:
        nd = spatial_rank(x, "conv")
        k = per_axis(a["kernel"], nd, "kernel")
        s = per_axis(a["stride"], nd, "stride")
        d = per_axis(a["dilation"], nd, "dilation")
        pads = resolve_padding(a["padding"], k, s, d)
        cin, g, cout = x[0], a["groups"], a["out"]
        if cin % g:
            raise ShapeError(f"groups={g} does not divide the {cin} input channels", "groups")
        if cout % g:
            raise ShapeError(f"groups={g} does not divide the {cout} output channels", "groups")
        for i in range(nd):
            span = x[1 + i] + pads[i][0] + pads[i][1]
            if arith.effective_kernel(k[i], d[i]) > span:
                raise ShapeError(
                    f"kernel {k[i]} (dilated extent {arith.effective_kernel(k[i], d[i])}) is larger "
                    f"than the padded input {span} on axis {AXES[nd][i]}",
                    "kernel",
                )
        out = tuple(
            arith.conv_out_len(x[1 + i], k[i], s[i], pads[i][0], d[i], pads[i][1]) for i in range(nd)
        )
        return k, s, d, pads, out

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        k, s, d, pads, out = self.geometry(a, x)
        cin, g, cout = x[0], a["groups"], a["out"]
        shape = (cout, *out)
        macs = arith.conv_macs(prod(shape), cin, g, k)
        bias = cout if a["bias"] else 0
        warnings, notes = floor_messages(x[1:], k, s, pads, d)
        return Inferred(
            shape=shape,
            params=cout * (cin // g) * prod(k) + bias,
            macs=macs,
            flops=2 * macs + (prod(shape) if bias else 0),
            rf=Window(
                tuple(arith.effective_kernel(k[i], d[i]) for i in range(len(k))),
                s,
                tuple(p[0] for p in pads),
            ),
            warnings=warnings,
            notes=notes,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        k, s, d, pads, _ = self.geometry(a, x)
        r = self.infer(a, ins)
        cin, g, cout = x[0], a["groups"], a["out"]
        lines = [
            f"{AXES[len(k)][i]}: {arith.explain_out_len(x[1 + i], k[i], s[i], *pads[i], d[i])}"
            for i in range(len(k))
        ]
        lines.append(f"params = {arith.explain_conv_params(k, cin, g, cout, a['bias'])}")
        lines.append(f"MACs = {arith.explain_conv_macs(r.shape, k, cin, g)}")
        return lines
