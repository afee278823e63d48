"""Pooling: ``maxpool``, ``avgpool`` (sliding windows) and ``adaptiveavgpool``, ``adaptivemaxpool``."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from .. import arith
from .base import (
    GLOBAL,
    NONE,
    Arg,
    Args,
    Inferred,
    Rule,
    Shape,
    ShapeError,
    Window,
    per_axis,
    spatial_rank,
)
from .conv import AXES, floor_messages


class _Pool(Rule):
    """Max and average pooling: stride defaults to the kernel; ceil_mode as ATen does it."""

    args: ClassVar[tuple[Arg, ...]] = (
        Arg("kernel", "pos_axes", doc="window size F"),
        Arg("stride", "pos_axes", None, "stride S (default: the kernel)"),
        Arg("padding", "nonneg_axes", 0, "implicit padding P, at most half the kernel"),
        Arg("ceil_mode", "bool", False, "round the output size up instead of down"),
    )

    def geometry(self, a: Args, x: Shape):
        nd = spatial_rank(x, self.type)
        k = per_axis(a["kernel"], nd, "kernel")
        s = per_axis(a["stride"] if a["stride"] is not None else a["kernel"], nd, "stride")
        p = per_axis(a["padding"], nd, "padding")
        d = per_axis(a.get("dilation", 1), nd, "dilation")
        for i in range(nd):
            if p[i] > k[i] // 2:
                raise ShapeError(
                    f"padding {p[i]} is more than half the kernel {k[i]} (PyTorch refuses it)",
                    "padding",
                )
            if self.type == "avgpool" and nd == 3 and x[1 + i] < k[i]:
                raise ShapeError(
                    f"kernel {k[i]} is larger than the input {x[1 + i]} on axis {AXES[nd][i]} "
                    "(PyTorch's 3-D average pooling needs every input size ≥ the kernel, padding aside)",
                    "kernel",
                )
        out = tuple(arith.pool_out_len(x[1 + i], k[i], s[i], p[i], d[i], a["ceil_mode"]) for i in range(nd))
        for i in range(nd):
            if out[i] < 1:
                raise ShapeError(
                    f"kernel {k[i]} (extent {arith.effective_kernel(k[i], d[i])}) is larger than the "
                    f"padded input {x[1 + i] + 2 * p[i]} on axis {AXES[nd][i]}: the output would be empty",
                    "kernel",
                )
        return k, s, p, d, out

    def window_flops(self, window: int, outputs: int) -> int:
        raise NotImplementedError

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        k, s, p, d, out = self.geometry(a, x)
        shape = (x[0], *out)
        warnings, notes = ((), ()) if a["ceil_mode"] else floor_messages(x[1:], k, s, [(v, v) for v in p], d)
        return Inferred(
            shape=shape,
            flops=self.window_flops(prod(k), prod(shape)),
            rf=Window(
                tuple(arith.effective_kernel(k[i], d[i]) for i in range(len(k))),
                s,
                p,
            ),
            warnings=warnings,
            notes=notes,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        k, s, p, d, out = self.geometry(a, x)
        lines = []
        for i in range(len(k)):
            text = arith.explain_conv_len(x[1 + i], k[i], s[i], p[i], p[i], d[i])
            if a["ceil_mode"]:
                text += f", rounded up (ceil_mode) = {out[i]}"
            lines.append(f"{AXES[len(k)][i]}: {text}")
        lines.append("no parameters; no MACs (pooling multiplies by no weights)")
        return lines


class MaxPool(_Pool):
    type = "maxpool"
    torch_name = "MaxPool{nd}d"
    doc = "Max pooling. Output size as conv, with ceil_mode; stride defaults to the kernel."
    args = (*_Pool.args, Arg("dilation", "pos_axes", 1, "dilation D"))

    def window_flops(self, window: int, outputs: int) -> int:
        return (window - 1) * outputs  # comparisons


class AvgPool(_Pool):
    type = "avgpool"
    torch_name = "AvgPool{nd}d"
    doc = "Average pooling. Output size as conv, with ceil_mode; stride defaults to the kernel."
    args = (*_Pool.args, Arg("count_include_pad", "bool", True, "count padding in the divisor"))

    def window_flops(self, window: int, outputs: int) -> int:
        return window * outputs  # window − 1 additions and one division


class _AdaptivePool(Rule):
    """Adaptive pooling: ATen's bins [floor(i·N/O), ceil((i+1)·N/O)); null keeps an axis."""

    args = (Arg("out", "out_axes", doc="output size per spatial axis (null keeps that axis)"),)

    def sizes(self, a: Args, x: Shape) -> tuple[int, ...]:
        nd = spatial_rank(x, self.type)
        out = per_axis(a["out"], nd, "out")
        return tuple(x[1 + i] if o is None else o for i, o in enumerate(out))

    def window_flops(self, window_total: int, cells: int) -> int:
        raise NotImplementedError

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        out = self.sizes(a, x)
        n = x[1:]
        # Sum over output cells of the window size, axis by axis (the bins are separable).
        window_total = prod(arith.adaptive_window_total(n[i], out[i]) for i in range(len(n)))
        if all(o == 1 for o in out):
            rf: Window | str = GLOBAL
        elif all(arith.adaptive_is_uniform(n[i], out[i]) for i in range(len(n))):
            step = tuple(n[i] // out[i] for i in range(len(n)))
            rf = Window(step, step, (0,) * len(step))
        else:
            rf = NONE
        return Inferred(
            shape=(x[0], *out),
            flops=x[0] * self.window_flops(window_total, prod(out)),
            rf=rf,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        out = self.sizes(a, x)
        lines = []
        for i, o in enumerate(out):
            n = x[1 + i]
            kind = f"uniform: kernel = stride = {n}/{o} = {n // o}" if n % o == 0 else "uneven bins"
            lines.append(f"{AXES[len(out)][i]}: {n} → {o} ({kind})")
        lines.append("no parameters; no MACs")
        return lines


class AdaptiveAvgPool(_AdaptivePool):
    type = "adaptiveavgpool"
    torch_name = "AdaptiveAvgPool{nd}d"
    doc = "Adaptive average pooling to a fixed output size (out: 1 is global average pooling)."

    def window_flops(self, window_total: int, cells: int) -> int:
        return window_total


class AdaptiveMaxPool(_AdaptivePool):
    type = "adaptivemaxpool"
    torch_name = "AdaptiveMaxPool{nd}d"
    doc = "Adaptive max pooling to a fixed output size."

    def window_flops(self, window_total: int, cells: int) -> int:
        return window_total - cells
