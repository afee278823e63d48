"""``convtranspose``: N-d transposed convolution (torch.nn.ConvTranspose1d/2d/3d, by the input's rank).

The layer's whole story is here: its arguments, the output length
L_out = (L−1)·S − 2P + D·(F−1) + output_padding + 1, its parameters C_in·(C_out/groups)·∏F (+ C_out
biases), its MACs as torch.utils.flop_counter counts them (input positions × C_in × C_out/groups ×
∏F: every input element is scattered through the whole kernel), its receptive-field step (stride 1/S)
and its torch side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import prod
from typing import Any

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
from .conv import AXES


def transposed_len(n: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1) -> int:
    """Output length of a transposed convolution: (N−1)·S − 2P + D·(F−1) + output_padding + 1."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def explain_transposed_len(n: int, k: int, s: int, p: int, op: int, d: int) -> str:
    """The output-length arithmetic substituted: ``(7−1)·2 − 2·1 + (3−1) + 1 + 1 = 14``."""
    window = f"({k}−1)" if d == 1 else f"{d}·({k}−1)"
    return f"({n}−1)·{s} − 2·{p} + {window} + {op} + 1 = {transposed_len(n, k, s, p, op, d)}"


def field_step(k: int, s: int, p: int, d: int) -> tuple[Fraction, Fraction, Fraction]:
    """(kernel, stride, left padding) of the step in input units, for the Distill recurrence.

    Output o gathers the inputs i with i·S − P + j·D = o (j = 0 … F−1), so it sees the input span
    [(o + P − D·(F−1))/S, (o + P)/S]: a window of 1 + D·(F−1)/S input units that moves 1/S of a
    unit per output, whose first one starts at −(D·(F−1) − P)/S.
    """
    span = d * (k - 1)
    return 1 + Fraction(span, s), Fraction(1, s), Fraction(span - p, s)


class ConvTranspose(Rule):
    type = "convtranspose"
    doc = (
        "Transposed convolution (upsampling conv). Output size (N−1)·S − 2P + D·(F−1) + "
        "output_padding + 1 per spatial axis."
    )
    args = (
        Arg("out", K.POS, doc="output channels"),
        Arg("kernel", K.POS_AXES, doc="kernel size F"),
        Arg("stride", K.POS_AXES, 1, "stride S (the upsampling factor)"),
        Arg("padding", K.NONNEG_AXES, 0, "P: removes D·(F−1) − P … rows at each side of the full output"),
        Arg("output_padding", K.NONNEG_AXES, 0, "extra rows on the far side (less than the stride or the dilation)"),
        Arg("dilation", K.POS_AXES, 1, "dilation D"),
        Arg("groups", K.POS, 1, "groups"),
        Arg("bias", K.BOOL, True, "learnable bias"),
    )
    torch = Torch(
        "ConvTranspose{nd}d",
        (
            TorchParam("in_channels", shape=FromShape.CHANNELS),
            TorchParam("out_channels", arg="out"),
            TorchParam("kernel_size", arg="kernel"),
            TorchParam("stride", 1),
            TorchParam("padding", 0),
            TorchParam("output_padding", 0),
            TorchParam("groups", 1),
            TorchParam("bias", True),
            TorchParam("dilation", 1),
            TorchParam("padding_mode", "zeros", fixed="cnncalc pads with zeros only"),
        ),
    )

    def geometry(self, a: Args, x: Shape) -> tuple[Shape, Shape, Shape, Shape, Shape, Shape]:
        """(kernel, stride, padding, output_padding, dilation, output size) per spatial axis."""
        nd = spatial_rank(x, self.type)
        k, s, p, op, d = (per_axis(a[n], nd, n) for n in ("kernel", "stride", "padding", "output_padding", "dilation"))
        cin, g, cout = x[0], a["groups"], a["out"]
        if cin % g:
            raise ShapeError(f"groups={g} does not divide the {cin} input channels", "groups")
        if cout % g:
            raise ShapeError(f"groups={g} does not divide the {cout} output channels", "groups")
        for i in range(nd):
            if op[i] >= max(s[i], d[i]):
                raise ShapeError(
                    f"output_padding {op[i]} must be less than the stride {s[i]} or the dilation {d[i]} "
                    f"on axis {AXES[nd][i]} (PyTorch refuses it)",
                    "output_padding",
                )
        out = tuple(transposed_len(x[1 + i], k[i], s[i], p[i], op[i], d[i]) for i in range(nd))
        for i in range(nd):
            if out[i] < 1:
                raise ShapeError(
                    f"output size {explain_transposed_len(x[1 + i], k[i], s[i], p[i], op[i], d[i])} on axis "
                    f"{AXES[nd][i]} is not positive: the padding {p[i]} is too large",
                    "padding",
                )
        return k, s, p, op, d, out

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        k, s, p, _, d, out = self.geometry(a, x)
        cin, g, cout = x[0], a["groups"], a["out"]
        shape = (cout, *out)
        macs = prod(x[1:]) * cin * (cout // g) * prod(k)
        bias = cout if a["bias"] else 0
        steps = [field_step(k[i], s[i], p[i], d[i]) for i in range(len(k))]
        return Inferred(
            shape=shape,
            params=cin * (cout // g) * prod(k) + bias,
            macs=macs,
            flops=2 * macs + (prod(shape) if bias else 0),
            rf=Window(tuple(w[0] for w in steps), tuple(w[1] for w in steps), tuple(w[2] for w in steps)),
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        k, s, p, op, d, _ = self.geometry(a, x)
        r = self.infer(a, ins)
        cin, g, cout = x[0], a["groups"], a["out"]
        lines = [
            f"{AXES[len(k)][i]}: {explain_transposed_len(x[1 + i], k[i], s[i], p[i], op[i], d[i])}"
            for i in range(len(k))
        ]
        kdims = "×".join(map(str, k))
        bias = f" + {cout} (bias)" if a["bias"] else ""
        lines.append(f"params = {cin} in channels × {cout}/{g} × {kdims}{bias} = {r.params:,}")
        lines.append(
            f"MACs = {'×'.join(map(str, x[1:]))} input positions × {cin} × {cout}/{g} × {kdims} = {r.macs:,} "
            "(each input element is scattered through the whole kernel)"
        )
        return lines

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A module's ``bias`` is a tensor or None."""
        out = super().from_torch(values)
        if "bias" in out:
            out["bias"] = bias_flag(out["bias"])
        return out
