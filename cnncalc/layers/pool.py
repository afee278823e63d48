"""Pooling: ``maxpool``, ``avgpool`` (sliding windows) and ``adaptiveavgpool``, ``adaptivemaxpool``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any, ClassVar

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
    Step,
    Torch,
    TorchParam,
    Window,
    per_axis,
    spatial_rank,
)
from .base import ArgKind as K
from .conv import AXES, floor_messages


class _Pool(Rule):
    """Max and average pooling: stride defaults to the kernel; ceil_mode as ATen does it."""

    args: ClassVar[tuple[Arg, ...]] = (
        Arg("kernel", K.POS_AXES, doc="window size F"),
        Arg("stride", K.POS_AXES, None, "stride S (default: the kernel)"),
        Arg("padding", K.NONNEG_AXES, 0, "implicit padding P, at most half the kernel"),
        Arg("ceil_mode", K.BOOL, False, "round the output size up instead of down"),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The functional pools give ``stride=[]`` for "the kernel" (cnncalc's null)."""
        out = super().from_torch(values)
        if out.get("stride") == []:
            out["stride"] = None
        return out

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
            text = arith.explain_out_len(x[1 + i], k[i], s[i], p[i], p[i], d[i], a["ceil_mode"], out[i])
            lines.append(f"{AXES[len(k)][i]}: {text}")
        lines.append("no parameters; no MACs (pooling multiplies by no weights)")
        return lines


class MaxPool(_Pool):
    type = "maxpool"
    doc = "Max pooling. Output size as conv, with ceil_mode; stride defaults to the kernel."
    args = (*_Pool.args, Arg("dilation", K.POS_AXES, 1, "dilation D"))
    torch = Torch(
        "MaxPool{nd}d",
        (
            TorchParam("kernel_size", arg="kernel"),
            TorchParam("stride", None),
            TorchParam("padding", 0),
            TorchParam("dilation", 1),
            TorchParam("return_indices", False, fixed="the indices are a second output"),
            TorchParam("ceil_mode", False),
        ),
        functions=tuple(f"torch.nn.functional.max_pool{nd}d" for nd in (1, 2, 3)),
    )

    def window_flops(self, window: int, outputs: int) -> int:
        return (window - 1) * outputs  # comparisons


class AvgPool(_Pool):
    type = "avgpool"
    doc = "Average pooling. Output size as conv, with ceil_mode; stride defaults to the kernel."
    args = (*_Pool.args, Arg("count_include_pad", K.BOOL, True, "count padding in the divisor"))
    torch = Torch(
        "AvgPool{nd}d",
        (
            TorchParam("kernel_size", arg="kernel"),
            TorchParam("stride", None),
            TorchParam("padding", 0),
            TorchParam("ceil_mode", False),
            TorchParam("count_include_pad", True),
            TorchParam("divisor_override", None, fixed="not in cnncalc's avgpool"),
        ),
        functions=tuple(f"torch.nn.functional.avg_pool{nd}d" for nd in (1, 2, 3)),
    )

    def window_flops(self, window: int, outputs: int) -> int:
        return window * outputs  # window − 1 additions and one division


class _AdaptivePool(Rule):
    """Adaptive pooling: ATen's bins [floor(i·N/O), ceil((i+1)·N/O)); null keeps an axis."""

    args = (Arg("out", K.OUT_AXES, doc="output size per spatial axis (null keeps that axis)"),)

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> tuple[str, dict[str, Any]]:
        """The 1-d classes refuse None in ``output_size``: it is written as the length it keeps."""
        name, kwargs = super().to_torch(args, ins)
        out, x = kwargs["output_size"], ins[0]
        if len(x) == 2 and isinstance(out, tuple):
            kwargs["output_size"] = tuple(x[1] if o is None else o for o in out)
        return name, kwargs

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
            rf: Window | Step = GLOBAL
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
    doc = "Adaptive average pooling to a fixed output size (out: 1 is global average pooling)."
    torch = Torch(
        "AdaptiveAvgPool{nd}d",
        (TorchParam("output_size", arg="out"),),
        functions=tuple(f"torch.nn.functional.adaptive_avg_pool{nd}d" for nd in (1, 2, 3)),
    )

    def window_flops(self, window_total: int, cells: int) -> int:
        return window_total


class AdaptiveMaxPool(_AdaptivePool):
    type = "adaptivemaxpool"
    doc = "Adaptive max pooling to a fixed output size."
    torch = Torch(
        "AdaptiveMaxPool{nd}d",
        (
            TorchParam("output_size", arg="out"),
            TorchParam("return_indices", False, fixed="the indices are a second output"),
        ),
        functions=tuple(f"torch.nn.functional.adaptive_max_pool{nd}d" for nd in (1, 2, 3)),
    )

    def window_flops(self, window_total: int, cells: int) -> int:
        return window_total - cells
