"""``pad``: explicit, possibly asymmetric padding (torch.nn.ZeroPad/ConstantPad/ReflectionPad/
ReplicationPad/CircularPad 1d–3d, or F.pad). TensorFlow's "same" padding, made explicit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import (
    Arg,
    Args,
    Inferred,
    NotExpressible,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchCall,
    TorchParam,
    Window,
    spatial_rank,
)
from .conv import AXES

PAD_MODES = ("zeros", "constant", "reflect", "replicate", "circular")
# mode → torch's class for it (one per rank)
CLASSES = {
    "zeros": "ZeroPad{nd}d",
    "constant": "ConstantPad{nd}d",
    "reflect": "ReflectionPad{nd}d",
    "replicate": "ReplicationPad{nd}d",
    "circular": "CircularPad{nd}d",
}


def sides(padding: int | tuple[int, ...], nd: int) -> list[tuple[int, int]]:
    """(before, after) per spatial axis, first axis first, from torch's order (last axis first).

    An int pads every side; a list has 2 values per padded axis, ``[left, right, top, bottom,
    front, back]`` as F.pad takes them; axes it does not reach are not padded.
    """
    if isinstance(padding, int):
        return [(padding, padding)] * nd
    if len(padding) % 2 or not 2 <= len(padding) <= 2 * nd:
        raise ShapeError(
            f"'padding' has {len(padding)} values; give 2 per padded axis (at most {2 * nd}: "
            "left, right, top, bottom, front, back — the last axis first, as F.pad)",
            "padding",
        )
    pairs = [(padding[i], padding[i + 1]) for i in range(0, len(padding), 2)]  # last axis first
    pairs += [(0, 0)] * (nd - len(pairs))
    return pairs[::-1]


class Pad(Rule):
    type = "pad"
    doc = "Pads each spatial axis: N + before + after. Modes zeros, constant, reflect, replicate, circular."
    args = (
        Arg("padding", "nonneg_list", doc="an int for every side, or [left, right, top, bottom, …] (F.pad's order)"),
        Arg("mode", "choice", "zeros", "zeros, constant, reflect, replicate or circular", choices=PAD_MODES),
        Arg("value", "number", 0, "the fill value of mode constant"),
    )
    torch = Torch(
        "ConstantPad{nd}d",
        (TorchParam("padding"), TorchParam("value")),
        ("torch.nn.functional.pad",),
        aliases=tuple(c.format(nd=nd) for m, c in CLASSES.items() if m != "constant" for nd in (1, 2, 3)),
    )

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        nd = self.torch_rank(ins)
        # every axis written out, as the padding modules want 2·nd values (the last axis first)
        padding = args["padding"] if isinstance(args["padding"], int) else tuple(
            p for lo_hi in reversed(sides(args["padding"], nd)) for p in lo_hi
        )
        kwargs: dict[str, Any] = {"padding": padding}
        if args["mode"] == "constant":
            kwargs["value"] = args["value"]
        return CLASSES[args["mode"]].format(nd=nd), kwargs  # the class of each mode takes only these

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """F.pad(input, pad, mode, value), or a padding module's ``padding`` (and ``value``)."""
        mode = values.get("mode", "constant")
        named = values.get("_class", "")  # a padding module: its class says the mode
        mode = next((m for m, c in CLASSES.items() if named in {c.format(nd=nd) for nd in (1, 2, 3)}), mode)
        pad = values["pad"] if "pad" in values else values["padding"]
        if isinstance(pad, (tuple, list)) and any(p < 0 for p in pad):
            raise NotExpressible(f"padding {tuple(pad)} (negative padding crops; cnncalc pads only)")
        value = values.get("value") or 0
        out: dict[str, Any] = {"padding": list(pad) if isinstance(pad, (tuple, list)) else pad}
        if mode == "constant":
            out["mode"] = "constant" if value else "zeros"
            if value:
                out["value"] = value
        else:
            out["mode"] = mode
        return out

    def geometry(self, a: Args, x: Shape) -> list[tuple[int, int]]:
        nd = spatial_rank(x, "pad")
        pads = sides(a["padding"], nd)
        for i, (lo, hi) in enumerate(pads):
            n = x[1 + i]
            if a["mode"] == "reflect" and max(lo, hi) >= n:
                raise ShapeError(
                    f"reflect padding {max(lo, hi)} must be less than the input size {n} on axis {AXES[nd][i]}",
                    "padding",
                )
            if a["mode"] == "circular" and max(lo, hi) > n:
                raise ShapeError(
                    f"circular padding {max(lo, hi)} must not exceed the input size {n} on axis {AXES[nd][i]}",
                    "padding",
                )
        if a["value"] != 0 and a["mode"] != "constant":
            raise ShapeError(f"'value' needs mode constant (mode is {a['mode']})", "value")
        return pads

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        pads = self.geometry(a, x)
        shape = (x[0], *(x[1 + i] + lo + hi for i, (lo, hi) in enumerate(pads)))
        nd = len(pads)
        return Inferred(shape=shape, rf=Window((1,) * nd, (1,) * nd, tuple(lo for lo, _ in pads)))

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        pads = self.geometry(a, x)
        axes = AXES[len(pads)]
        lines = [f"{axes[i]}: {x[1 + i]} + {lo} + {hi} = {x[1 + i] + lo + hi}" for i, (lo, hi) in enumerate(pads)]
        lines.append(f"{a['mode']} padding: no parameters; no MACs")
        return lines
