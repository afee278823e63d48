"""``batchnorm`` (torch.nn.BatchNorm1d/2d/3d, by the input's rank)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

from .base import (
    IDENTITY,
    Arg,
    Args,
    FromShape,
    Inferred,
    NotExpressible,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchParam,
)
from .base import ArgKind as K


class BatchNorm(Rule):
    type = "batchnorm"
    doc = (
        "Batch normalisation over channels: 2·C learnable (γ, β) when affine; running mean, "
        "running variance and num_batches_tracked (2·C + 1) are buffers, not parameters."
    )
    args = (
        Arg("eps", K.NUMBER, 1e-5, "added to the variance"),
        Arg("momentum", K.NUMBER, 0.1, "running-statistics momentum"),
        Arg("affine", K.BOOL, True, "learnable scale and shift"),
        Arg("track_running_stats", K.BOOL, True, "keep running statistics (buffers)"),
    )
    torch = Torch(
        "BatchNorm{nd}d",
        (
            TorchParam("num_features", shape=FromShape.CHANNELS),
            TorchParam("eps", 1e-5),
            TorchParam("momentum", 0.1),
            TorchParam("affine", True),
            TorchParam("track_running_stats", True),
        ),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        """(C,) and (C, L) are BatchNorm1d, (C, H, W) 2d, (C, D, H, W) 3d."""
        nd = max(1, len(ins[0]) - 1)
        if nd > 3:
            raise ShapeError(f"torch has no batchnorm for an input of shape {list(ins[0])}")
        return nd

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if "momentum" in values and values["momentum"] is None:
            raise NotExpressible("momentum=None (a cumulative average; cnncalc's batchnorm takes a number)")
        return super().from_torch(values)

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        c = x[0]
        return Inferred(
            shape=x,
            params=2 * c if a["affine"] else 0,
            buffers=2 * c + 1 if a["track_running_stats"] else 0,
            flops=2 * prod(x),
            rf=IDENTITY,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        c = ins[0][0]
        r = self.infer(a, ins)
        return [
            f"params = 2 × {c} channels (γ, β) = {r.params:,}" if a["affine"] else "params = 0 (affine: false)",
            f"buffers = 2 × {c} (running mean, variance) + 1 (num_batches_tracked) = {r.buffers:,}",
            "no MACs (the normalisation folds into a scale and shift: 2 flops per element)",
        ]
