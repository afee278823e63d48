"""``locallyconnected``: a convolution without weight sharing (Keras' LocallyConnected1D/2D).

Every output position has its own filters, so the parameters are the conv's times the number of
output positions, and the bias is per position and channel. Output size and MACs are the conv's.
torch has no class for it: the builder uses unfold + a batched matmul (``torch_module``).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from .base import Arg, Args, FromShape, Inferred, Rule, Shape, Torch, TorchCall, TorchParam, Window
from .conv import Conv, floor_messages


class LocallyConnected(Rule):
    type = "locallyconnected"
    doc = (
        "Convolution with unshared weights: params = positions × out × in × ∏kernel (+ out × positions "
        "biases); output size and MACs as conv."
    )
    args = (
        Arg("out", "pos", doc="output channels"),
        Arg("kernel", "pos_axes", doc="kernel size F"),
        Arg("stride", "pos_axes", 1, "stride S"),
        Arg("padding", "padding", 0, "zero padding P on each side, 'same' or 'valid'"),
        Arg("bias", "bool", True, "learnable bias per output position and channel"),
    )
    torch = Torch(
        "LocallyConnected",
        (
            TorchParam("in_channels", shape=FromShape.CHANNELS),
            TorchParam("out_channels", arg="out"),
            TorchParam("kernel_size", arg="kernel"),
            TorchParam("stride"),
            TorchParam("padding"),
            TorchParam("input_size"),
            TorchParam("bias", True),
        ),
        module=lambda: torch_module(),
    )

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """Padding resolved to F.pad's (left, right) pairs, last axis first; the spatial input size
        fixes the number of positions (and so of weights)."""
        x = ins[0]
        k, s, _, pads, _ = self.geometry(args, x)
        flat = tuple(p for lo_hi in reversed(pads) for p in lo_hi)
        return "LocallyConnected", {
            "in_channels": x[0],
            "out_channels": args["out"],
            "kernel_size": tuple(k),
            "stride": tuple(s),
            "padding": flat,
            "input_size": tuple(x[1:]),
            "bias": args["bias"],
        }

    def geometry(self, a: Args, x: Shape):
        conv_args = {**a, "dilation": 1, "groups": 1}
        return Conv().geometry(conv_args, x)

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        k, s, d, pads, out = self.geometry(a, x)
        cin, cout, positions = x[0], a["out"], prod(out)
        macs = positions * cout * cin * prod(k)
        bias = cout * positions if a["bias"] else 0
        warnings, notes = floor_messages(x[1:], k, s, pads, d)
        return Inferred(
            shape=(cout, *out),
            params=macs + bias,
            macs=macs,
            flops=2 * macs + bias,
            rf=Window(tuple(k), tuple(s), tuple(p[0] for p in pads)),
            warnings=warnings,
            notes=notes,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        k, _s, _d, _pads, out = self.geometry(a, x)
        r = self.infer(a, ins)
        lines = Conv().explain({**a, "dilation": 1, "groups": 1}, ins)[: len(out)]
        positions = "×".join(map(str, out))
        kdims = "×".join(map(str, k))
        bias = f" + {a['out']}×{positions} (bias)" if a["bias"] else ""
        lines.append(
            f"params = {positions} positions × {a['out']} filters × {x[0]} channels × {kdims}{bias} "
            f"= {r.params:,} (no weight sharing)"
        )
        lines.append(f"MACs = {positions} positions × {a['out']} × {x[0]} × {kdims} = {r.macs:,}")
        return lines


def torch_module() -> type:
    """The torch module of ``locallyconnected`` (torch is imported only when this is called):
    F.pad, one ``Tensor.unfold`` per spatial axis, and a batched matmul with one filter bank per
    position."""
    import math

    import torch
    from torch import nn
    from torch.nn import functional as F

    class LocallyConnected(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, padding, input_size, bias=True):
            super().__init__()
            nd = len(input_size)
            self.kernel = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * nd
            self.stride = tuple(stride) if isinstance(stride, (tuple, list)) else (stride,) * nd
            self.padding = tuple(padding)  # F.pad's order: last axis first, (left, right) per axis
            pads = [(0, 0)] * nd
            for i in range(nd):
                pads[nd - 1 - i] = (self.padding[2 * i], self.padding[2 * i + 1])
            self.out_size = tuple(
                (input_size[i] + pads[i][0] + pads[i][1] - self.kernel[i]) // self.stride[i] + 1 for i in range(nd)
            )
            positions, taps = math.prod(self.out_size), in_channels * math.prod(self.kernel)
            self.weight = nn.Parameter(torch.empty(positions, out_channels, taps))
            self.bias = nn.Parameter(torch.empty(out_channels, *self.out_size)) if bias else None
            self.reset_parameters()

        def reset_parameters(self) -> None:
            bound = 1 / math.sqrt(self.weight.shape[2])  # as nn.Conv's uniform initialisation
            nn.init.uniform_(self.weight, -bound, bound)
            if self.bias is not None:
                nn.init.uniform_(self.bias, -bound, bound)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            nd = len(self.kernel)
            x = F.pad(x, self.padding)
            for i in range(nd):
                x = x.unfold(2 + i, self.kernel[i], self.stride[i])
            n, c = x.shape[:2]
            # (N, C, O1..On, K1..Kn) → (N, positions, C·K)
            patches = x.reshape(n, c, math.prod(self.out_size), math.prod(self.kernel))
            patches = patches.permute(0, 2, 1, 3).reshape(n, patches.shape[2], -1)
            # one matmul per position: (positions, N, C·K) @ (positions, C·K, out)
            out = torch.bmm(patches.transpose(0, 1), self.weight.transpose(1, 2))
            out = out.permute(1, 2, 0).reshape(n, -1, *self.out_size)
            return out if self.bias is None else out + self.bias

    return LocallyConnected
