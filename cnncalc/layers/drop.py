"""Regularisers that are the identity at inference: ``dropout2d`` / ``dropout3d`` (whole channels,
torch.nn.Dropout2d/3d) and ``stochasticdepth`` (alias ``droppath``: whole samples or rows of a
residual branch, torchvision.ops.StochasticDepth / timm's DropPath). No parameters, 0 flops."""

from __future__ import annotations

from collections.abc import Sequence

from .activation import INPLACE, Elementwise
from .base import Arg, Args, Inferred, Shape, ShapeError, Torch, TorchCall, TorchParam

_P = TorchParam("p", 0.5)
_INPLACE = TorchParam("inplace", False)


class Dropout2d(Elementwise):
    type = "dropout2d"
    doc = "Zeroes whole channels with probability p in training; the identity at inference."
    args = (Arg("p", "prob", 0.5, "drop probability"), INPLACE)
    flops_per_element = 0
    rank = 2
    torch = Torch("Dropout2d", (_P, _INPLACE), ("torch.nn.functional.dropout2d",))

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        if len(ins[0]) - 1 != self.rank:
            raise ShapeError(
                f"{self.type} needs (channels, {self.rank} spatial sizes), got {list(ins[0])}"
            )
        return super().infer(a, ins)


class Dropout3d(Dropout2d):
    type = "dropout3d"
    doc = "Zeroes whole channels of a volume with probability p in training; the identity at inference."
    rank = 3
    torch = Torch("Dropout3d", (_P, _INPLACE), ("torch.nn.functional.dropout3d",))


class StochasticDepth(Elementwise):
    type = "stochasticdepth"
    doc = "Drops a residual branch per sample (mode row) or per batch with probability p in training; the identity at inference."
    args = (
        Arg("p", "prob", doc="drop probability"),
        Arg("mode", "choice", "row", "row (per sample) or batch", choices=("row", "batch")),
    )
    flops_per_element = 0
    torch = Torch(
        "StochasticDepth",
        (TorchParam("p"), TorchParam("mode", "row")),
        ("torchvision.ops.stochastic_depth.stochastic_depth", "torchvision.ops.stochastic_depth"),
        module=lambda: torch_module(),
        aliases=("DropPath",),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1


class DropPath(StochasticDepth):
    type = "droppath"
    doc = "timm's name for stochasticdepth (mode row)."
    args = (Arg("p", "prob", 0.0, "drop probability"),)  # type: ignore[assignment]
    torch = Torch("StochasticDepth", (TorchParam("p"), TorchParam("mode", "row")), module=lambda: torch_module())

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        return "StochasticDepth", {"p": args["p"], "mode": "row"}


def torch_module() -> type:
    """``stochasticdepth`` / ``droppath`` in torch (imported only when this is called), as
    torchvision.ops.stochastic_depth: in training, zero a whole sample (row) or the whole batch
    with probability p and scale the survivors by 1/(1−p); the identity in eval mode."""
    import torch
    from torch import nn

    class StochasticDepth(nn.Module):
        def __init__(self, p: float, mode: str = "row"):
            super().__init__()
            self.p, self.mode = p, mode

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training or self.p == 0.0:
                return x
            shape = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
            keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
            return x * keep.div_(1.0 - self.p)

    return StochasticDepth
