"""Element-wise layers: activations, ``dropout`` and ``identity``. Shape in = shape out, no weights.

flops: one per output element (softmax: three, for exp, sum and divide), see docs/conventions.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any, cast

from .base import (
    IDENTITY,
    NONE,
    Arg,
    Args,
    Inferred,
    NotExpressible,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchParam,
)
from .base import ArgKind as K


class Elementwise(Rule):
    """A layer that maps each element to one element."""

    flops_per_element = 1

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        return Inferred(shape=x, flops=self.flops_per_element * prod(x), rf=IDENTITY)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        return [f"element-wise: shape unchanged {list(ins[0])}; no parameters; no MACs"]


F = "torch.nn.functional."


def _activation(
    name: str, torch: Torch, doc: str, args: tuple[Arg, ...] = (), flops: int = 1
) -> type[Elementwise]:
    attrs = {"type": name, "torch": torch, "doc": doc, "args": args, "flops_per_element": flops}
    return cast(type[Elementwise], type(name.capitalize(), (Elementwise,), attrs))  # type() is typed as `type`


# torch's `inplace` flag is accepted where torch has it (specs converted from models carry it);
# it changes no count, and the memory model does not use it (docs/conventions.md).
INPLACE = Arg("inplace", K.BOOL, False, "as torch's inplace flag (no effect on any count)")
TORCH_INPLACE = TorchParam("inplace", False)


def _fns(*names: str) -> tuple[str, ...]:
    """``relu`` → F.relu and F.relu_, where torch has them (the importer skips names torch lacks)."""
    return tuple(f"{F}{n}" for n in names)


ACTIVATIONS = [
    _activation(
        "relu",
        Torch("ReLU", (TORCH_INPLACE,), (*_fns("relu", "relu_"), "torch.relu", "torch.relu_"), ("relu", "relu_")),
        "max(0, x)",
        (INPLACE,),
    ),
    _activation("relu6", Torch("ReLU6", (TORCH_INPLACE,), _fns("relu6")), "min(max(0, x), 6)", (INPLACE,)),
    _activation(
        "leakyrelu",
        Torch("LeakyReLU", (TorchParam("negative_slope", 0.01), TORCH_INPLACE), _fns("leaky_relu", "leaky_relu_")),
        "x if x > 0 else slope·x",
        (Arg("negative_slope", K.NUMBER, 0.01, "slope for x < 0"), INPLACE),
    ),
    _activation(
        "sigmoid",
        Torch("Sigmoid", (), (*_fns("sigmoid"), "torch.sigmoid", "torch.sigmoid_"), ("sigmoid", "sigmoid_")),
        "1 / (1 + e^−x)",
    ),
    _activation(
        "tanh", Torch("Tanh", (), (*_fns("tanh"), "torch.tanh", "torch.tanh_"), ("tanh", "tanh_")), "hyperbolic tangent"
    ),
    _activation(
        "gelu",
        Torch("GELU", (TorchParam("approximate", "none", fixed="cnncalc's gelu is the exact one"),), _fns("gelu")),
        "x·Φ(x)",
    ),
    _activation("silu", Torch("SiLU", (TORCH_INPLACE,), _fns("silu")), "x·sigmoid(x) (swish)", (INPLACE,)),
    _activation("hardswish", Torch("Hardswish", (TORCH_INPLACE,), _fns("hardswish")), "x·relu6(x + 3)/6", (INPLACE,)),
    _activation(
        "hardsigmoid", Torch("Hardsigmoid", (TORCH_INPLACE,), _fns("hardsigmoid")), "relu6(x + 3)/6", (INPLACE,)
    ),
    _activation(
        "elu",
        Torch("ELU", (TorchParam("alpha", 1.0), TORCH_INPLACE), _fns("elu", "elu_")),
        "x if x > 0 else α(e^x − 1)",
        (Arg("alpha", K.NUMBER, 1.0, "α"), INPLACE),
    ),
    _activation(
        "mish", Torch("Mish", (TORCH_INPLACE,), _fns("mish")), "x·tanh(softplus(x))", (INPLACE,)
    ),
    _activation(
        "softplus",
        Torch("Softplus", (TorchParam("beta", 1.0), TorchParam("threshold", 20.0)), _fns("softplus")),
        "log(1 + e^(β·x))/β (x where β·x > threshold)",
        (Arg("beta", K.NUMBER, 1.0, "β"), Arg("threshold", K.NUMBER, 20.0, "above it, the identity")),
    ),
    _activation(
        "selu", Torch("SELU", (TORCH_INPLACE,), (*_fns("selu", "selu_"), "torch.selu", "torch.selu_")),
        "scale·elu(x, α) with fixed scale and α", (INPLACE,),
    ),
    _activation(
        "hardtanh",
        Torch("Hardtanh", (TorchParam("min_val", -1.0), TorchParam("max_val", 1.0), TORCH_INPLACE), _fns("hardtanh", "hardtanh_")),
        "min(max(x, min_val), max_val)",
        (Arg("min_val", K.NUMBER, -1.0, "lower bound"), Arg("max_val", K.NUMBER, 1.0, "upper bound"), INPLACE),
    ),
    _activation("identity", Torch("Identity"), "passes its input through"),
]


class Softmax(Elementwise):
    """exp(x) / Σ exp(x) along one axis: each output depends on that whole axis."""

    type = "softmax"
    doc = "exp(x) / Σ exp(x) along dim (batch is dim 0)"
    args = (Arg("dim", K.INT, 1, "axis to normalise (batch is 0; default: channels)"),)
    flops_per_element = 3
    torch = Torch(
        "Softmax",
        (TorchParam("dim", None),),
        (f"{F}softmax", "torch.softmax"),
        ("softmax",),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if values.get("dim", 1) is None:
            raise NotExpressible("softmax without dim (torch guesses the axis); give dim explicitly")
        if values.get("dtype") is not None:
            raise NotExpressible(f"dtype={values['dtype']!r} (cnncalc's softmax keeps the input's dtype)")
        return super().from_torch(values)

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        d = a["dim"] + len(x) + 1 if a["dim"] < 0 else a["dim"]
        if not 0 <= d <= len(x):
            raise ShapeError(f"dim={a['dim']} is out of range for a tensor of {len(x) + 1} dims (batch included)", "dim")
        # Along channels (or the batch) the receptive field is unchanged; along a spatial axis each
        # unit sees that whole axis.
        return Inferred(shape=x, flops=3 * prod(x), rf=IDENTITY if d <= 1 else NONE)


class LogSoftmax(Softmax):
    """log(softmax(x)) along one axis (torch.nn.LogSoftmax, F.log_softmax: the classic MNIST head)."""

    type = "logsoftmax"
    doc = "log(exp(x) / Σ exp(x)) along dim (batch is dim 0)"
    torch = Torch(
        "LogSoftmax",
        (TorchParam("dim", None),),
        (f"{F}log_softmax", "torch.log_softmax"),
        ("log_softmax",),
    )


class PReLU(Elementwise):
    """max(0, x) + a·min(0, x) with learned slopes: one shared, or one per channel (dim 1)."""

    type = "prelu"
    doc = "x if x > 0 else a·x, with a learned: one slope, or one per channel (`num` = channels)"
    args = (
        Arg("num", K.POS, 1, "slopes: 1 (shared) or the number of channels"),
        Arg("init", K.NUMBER, 0.25, "initial slope"),
    )
    torch = Torch("PReLU", (TorchParam("num_parameters", 1, arg="num"), TorchParam("init", 0.25)))

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """nn.PReLU keeps ``num_parameters`` and its ``weight`` (``init`` is only its first value)."""
        return {"num": values.get("num_parameters", 1)}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        if a["num"] not in (1, x[0]):
            raise ShapeError(f"num={a['num']} slopes for {x[0]} channels (1 or the channel count)", "num")
        return Inferred(shape=x, params=a["num"], flops=prod(x), rf=IDENTITY)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        return [f"element-wise: shape unchanged {list(ins[0])}; params = {a['num']} slope{'s' * (a['num'] > 1)}; no MACs"]


class Dropout(Elementwise):
    type = "dropout"
    doc = "Zeroes elements with probability p in training; the identity at inference (0 flops)."
    args = (Arg("p", K.PROB, 0.5, "drop probability"), INPLACE)
    torch = Torch("Dropout", (TorchParam("p", 0.5), TORCH_INPLACE), (f"{F}dropout",))
    flops_per_element = 0
