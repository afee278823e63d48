"""Element-wise layers: activations, ``dropout`` and ``identity``. Shape in = shape out, no weights.

flops: one per output element (softmax: three, for exp, sum and divide), see docs/conventions.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import cast

from .base import IDENTITY, NONE, Arg, Args, Inferred, Rule, Shape, ShapeError


class Elementwise(Rule):
    """A layer that maps each element to one element."""

    flops_per_element = 1

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        return Inferred(shape=x, flops=self.flops_per_element * prod(x), rf=IDENTITY)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        return [f"element-wise: shape unchanged {list(ins[0])}; no parameters; no MACs"]


def _activation(
    name: str, torch_name: str, doc: str, args: tuple[Arg, ...] = (), flops: int = 1
) -> type[Elementwise]:
    attrs = {"type": name, "torch_name": torch_name, "doc": doc, "args": args, "flops_per_element": flops}
    return cast(type[Elementwise], type(name.capitalize(), (Elementwise,), attrs))  # type() is typed as `type`


# torch's `inplace` flag is accepted where torch has it (specs converted from models carry it);
# it changes no count, and the memory model does not use it (docs/conventions.md).
INPLACE = Arg("inplace", "bool", False, "as torch's inplace flag (no effect on any count)")

ACTIVATIONS = [
    _activation("relu", "ReLU", "max(0, x)", (INPLACE,)),
    _activation("relu6", "ReLU6", "min(max(0, x), 6)", (INPLACE,)),
    _activation(
        "leakyrelu", "LeakyReLU", "x if x > 0 else slope·x",
        (Arg("negative_slope", "number", 0.01, "slope for x < 0"), INPLACE),
    ),
    _activation("sigmoid", "Sigmoid", "1 / (1 + e^−x)"),
    _activation("tanh", "Tanh", "hyperbolic tangent"),
    _activation("gelu", "GELU", "x·Φ(x)"),
    _activation("silu", "SiLU", "x·sigmoid(x) (swish)", (INPLACE,)),
    _activation("hardswish", "Hardswish", "x·relu6(x + 3)/6", (INPLACE,)),
    _activation("hardsigmoid", "Hardsigmoid", "relu6(x + 3)/6", (INPLACE,)),
    _activation("elu", "ELU", "x if x > 0 else α(e^x − 1)", (Arg("alpha", "number", 1.0, "α"), INPLACE)),
    _activation("identity", "Identity", "passes its input through"),
]


class Softmax(Elementwise):
    """exp(x) / Σ exp(x) along one axis: each output depends on that whole axis."""

    type = "softmax"
    torch_name = "Softmax"
    doc = "exp(x) / Σ exp(x) along dim (batch is dim 0)"
    args = (Arg("dim", "int", 1, "axis to normalise (batch is 0; default: channels)"),)
    flops_per_element = 3

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        d = a["dim"] + len(x) + 1 if a["dim"] < 0 else a["dim"]
        if not 0 <= d <= len(x):
            raise ShapeError(f"dim={a['dim']} is out of range for a tensor of {len(x) + 1} dims (batch included)", "dim")
        # Along channels (or the batch) the receptive field is unchanged; along a spatial axis each
        # unit sees that whole axis.
        return Inferred(shape=x, flops=3 * prod(x), rf=IDENTITY if d <= 1 else NONE)


class Dropout(Elementwise):
    type = "dropout"
    torch_name = "Dropout"
    doc = "Zeroes elements with probability p in training; the identity at inference (0 flops)."
    args = (Arg("p", "prob", 0.5, "drop probability"), INPLACE)
    flops_per_element = 0
