"""``linear`` (torch.nn.Linear, on the last axis) and ``flatten`` (torch.nn.Flatten)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

from .. import arith
from .base import (
    GLOBAL,
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
    TorchParam,
    bias_flag,
)
from .base import ArgKind as K


class Linear(Rule):
    type = "linear"
    doc = "Fully connected layer on the last axis: in × out weights (+ out biases)."
    args = (Arg("out", K.POS, doc="output features"), Arg("bias", K.BOOL, True, "learnable bias"))
    torch = Torch(
        "Linear",
        (
            TorchParam("in_features", shape=FromShape.FEATURES),
            TorchParam("out_features", arg="out"),
            TorchParam("bias", True),
        ),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A module's ``bias`` is a tensor or None."""
        out = super().from_torch(values)
        if "bias" in out:
            out["bias"] = bias_flag(out["bias"])
        return out

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        fin, fout = x[-1], a["out"]
        rows = prod(x[:-1])
        macs = arith.linear_macs(rows, fin, fout)
        return Inferred(
            shape=(*x[:-1], fout),
            params=fin * fout + (fout if a["bias"] else 0),
            macs=macs,
            flops=2 * macs + (rows * fout if a["bias"] else 0),
            rf=GLOBAL if len(x) == 1 else NONE,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        r = self.infer(a, ins)
        rows = prod(x[:-1])
        bias = f" + {a['out']} (bias)" if a["bias"] else ""
        lines = [f"in features = {x[-1]} (the last axis of {list(x)})"]
        lines.append(f"params = {x[-1]} × {a['out']}{bias} = {r.params:,}")
        lines.append(f"MACs = {rows} row{'s' if rows > 1 else ''} × {x[-1]} × {a['out']} = {r.macs:,}")
        return lines


def _dim(d: int, rank: int, name: str) -> int:
    """A torch dim index (counting the batch axis as 0, negatives from the end) into a sample shape."""
    full = rank + 1
    i = d + full if d < 0 else d
    if not 0 <= i < full:
        raise ShapeError(f"{name}={d} is out of range for a tensor of {full} dims (batch included)", name)
    if i == 0:
        raise ShapeError(f"{name}={d} would flatten the batch axis; use 1 or more", name)
    return i - 1


class Flatten(Rule):
    type = "flatten"
    doc = "Merges axes start_dim..end_dim (batch is axis 0, as in torch.nn.Flatten)."
    args = (
        Arg("start_dim", K.INT, 1, "first axis to merge (batch is 0)"),
        Arg("end_dim", K.INT, -1, "last axis to merge"),
    )
    torch = Torch(
        "Flatten",
        (TorchParam("start_dim", 1), TorchParam("end_dim", -1)),
        functions=("torch.flatten",),
        methods=("flatten",),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``torch.flatten`` starts at 0 by default; cnncalc never flattens the batch axis."""
        out = super().from_torch(values)
        if out.get("start_dim") == 0:
            raise NotExpressible("flattens the batch axis (start_dim=0); cnncalc's flatten starts at 1 or later")
        return out

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        lo = _dim(a["start_dim"], len(x), "start_dim")
        hi = _dim(a["end_dim"], len(x), "end_dim")
        if lo > hi:
            raise ShapeError(f"start_dim {a['start_dim']} comes after end_dim {a['end_dim']}", "start_dim")
        shape = (*x[:lo], prod(x[lo : hi + 1]), *x[hi + 1 :])
        return Inferred(shape=shape, rf=GLOBAL if len(shape) == 1 else NONE)
