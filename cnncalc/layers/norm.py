"""``batchnorm`` (torch.nn.BatchNorm1d/2d/3d, by the input's rank)."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from .base import IDENTITY, Arg, Args, Inferred, Rule, Shape


class BatchNorm(Rule):
    type = "batchnorm"
    torch_name = "BatchNorm{nd}d"
    doc = (
        "Batch normalisation over channels: 2·C learnable (γ, β) when affine; running mean, "
        "running variance and num_batches_tracked (2·C + 1) are buffers, not parameters."
    )
    args = (
        Arg("eps", "number", 1e-5, "added to the variance"),
        Arg("momentum", "number", 0.1, "running-statistics momentum"),
        Arg("affine", "bool", True, "learnable scale and shift"),
        Arg("track_running_stats", "bool", True, "keep running statistics (buffers)"),
    )

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
