"""Tensor plumbing of transformer-era nets: ``reshape``, ``permute``, ``select`` (ViT's class-token
read-out), ``embedding``, learned tensors (``classtoken``, ``posembedding``) and ``layerscale``.

Shapes are per sample; ``permute`` and ``select`` take torch's dims, where the batch is dim 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from math import prod
from typing import Any

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
    TorchCall,
    TorchParam,
)


def _custom(cls: str, factory: Callable[[], type], *params: TorchParam, **kw: Any) -> Torch:
    """The torch data of a layer whose module class this file defines (torch has none)."""
    return Torch(cls, params, module=factory, **kw)


def _dim(d: int, rank: int, name: str) -> int:
    """A torch dim (batch is 0, negatives from the end) → an index into the per-sample shape."""
    i = d + rank + 1 if d < 0 else d
    if not 1 <= i <= rank:
        raise ShapeError(f"{name}={d} is not a non-batch axis of a tensor of {rank + 1} dims (batch included)", name)
    return i - 1


class Reshape(Rule):
    type = "reshape"
    doc = "A new per-sample shape with the same number of elements (one axis may be -1)."
    args = (Arg("shape", "int_list", doc="the per-sample shape (batch left out); one -1 is inferred"),)
    torch = _custom(
        "Reshape", lambda: reshape_module(), TorchParam("shape"), methods=("view", "reshape"),
        functions=("torch.reshape",),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``x.view(n, c, -1)``, ``torch.reshape``: the per-sample shape torch computed (the call's own
        sizes may read the batch size, ``n = x.shape[0]``; the importer checks at batch 2 that the
        batch axis is kept)."""
        out = values.get("_out")
        return {"shape": list(out if out is not None else values["shape"])}

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x, want = ins[0], tuple(a["shape"])
        n = prod(x)
        if any(v == 0 or v < -1 for v in want) or want.count(-1) > 1:
            raise ShapeError(f"shape {list(want)}: sizes must be positive, with at most one -1", "shape")
        known = prod(v for v in want if v != -1)
        if -1 in want:
            if n % known:
                raise ShapeError(f"cannot reshape {list(x)} ({n} elements) to {list(want)}", "shape")
            want = tuple(n // known if v == -1 else v for v in want)
        if prod(want) != n:
            raise ShapeError(
                f"cannot reshape {list(x)} ({n:,} elements) to {list(want)} ({prod(want):,} elements)", "shape"
            )
        return Inferred(shape=want, rf=IDENTITY if want == x else NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        r = self.infer(a, ins)
        return [f"{list(ins[0])} → {list(r.shape)} ({prod(r.shape):,} elements); no parameters"]


class Permute(Rule):
    type = "permute"
    doc = "Reorders the axes (torch's dims, batch is 0 and stays first): [0, 2, 3, 1] is channels-last."
    args = (Arg("dims", "int_list", doc="a permutation of 0 … rank−1 that keeps 0 first"),)
    torch = _custom(
        "Permute", lambda: permute_module(), TorchParam("dims"),
        methods=("permute", "transpose", "swapaxes", "swapdims"),
        functions=("torch.permute", "torch.transpose", "torch.swapaxes", "torch.swapdims"),
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``x.permute(0, 2, 1)``, or ``x.transpose(1, 2)`` as the permutation that swaps two dims."""
        if "dims" in values:
            return {"dims": list(values["dims"])}
        a = values.get("dim0", values.get("axis0"))
        b = values.get("dim1", values.get("axis1"))
        rank = len(values["_in"][0]) + 1
        if not (isinstance(a, int) and isinstance(b, int) and -rank <= a < rank and -rank <= b < rank):
            raise NotExpressible(f"transpose of dims {a!r} and {b!r} of a tensor of {rank} dims")
        dims = list(range(rank))
        dims[a % rank], dims[b % rank] = dims[b % rank], dims[a % rank]
        return {"dims": dims}

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def order(self, a: Args, x: Shape) -> list[int]:
        dims = [d + len(x) + 1 if d < 0 else d for d in a["dims"]]
        if sorted(dims) != list(range(len(x) + 1)):
            raise ShapeError(f"dims {list(a['dims'])} is not a permutation of 0…{len(x)}", "dims")
        if dims[0] != 0:
            raise ShapeError("dims must keep the batch axis 0 first", "dims")
        return [d - 1 for d in dims[1:]]

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        order = self.order(a, x)
        shape = tuple(x[i] for i in order)
        return Inferred(shape=shape, rf=IDENTITY if order == sorted(order) else NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        r = self.infer(a, ins)
        return [f"{list(ins[0])} → {list(r.shape)}; no parameters"]


class Select(Rule):
    type = "select"
    doc = "One index along a dim, which disappears (x[:, 0] reads ViT's class token: dim 1, index 0)."
    args = (Arg("dim", "int", 1, "the axis (batch is 0)"), Arg("index", "int", 0, "the index (negative from the end)"))
    torch = _custom(
        "Select", lambda: select_module(), TorchParam("dim", 1), TorchParam("index", 0), methods=("select",),
        functions=("torch.select",),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        i = _dim(a["dim"], len(x), "dim")
        if not -x[i] <= a["index"] < x[i]:
            raise ShapeError(f"index {a['index']} is out of range for size {x[i]}", "index")
        if len(x) == 1:
            raise ShapeError("select would leave nothing but the batch axis", "dim")
        return Inferred(shape=x[:i] + x[i + 1 :], rf=NONE)


class Slice(Rule):
    type = "slice"
    doc = (
        "A range of indices along a dim, as Python's x[:, start:end:step] (ShuffleNet's channel split "
        "x.chunk(2, dim=1), Swin's patch merging x[..., 0::2, :])."
    )
    args = (
        Arg("dim", "int", 1, "the axis (batch is 0)"),
        Arg("start", "int", 0, "the first index (negative from the end)"),
        Arg("end", "int", None, "one past the last index (negative from the end; default: the end)"),
        Arg("step", "pos", 1, "every step-th index"),
    )
    torch = _custom(
        "Slice", lambda: slice_module(), TorchParam("dim", 1), TorchParam("start", 0), TorchParam("end", None),
        TorchParam("step", 1), methods=("narrow",), functions=("torch.narrow",),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``x.narrow(dim, start, length)``, or the Slice module's attributes."""
        if "length" not in values:
            return super().from_torch(values)
        start, length = values["start"], values["length"]
        if not (isinstance(start, int) and isinstance(length, int)):
            raise NotExpressible("narrow with sizes computed at run time")
        d = values["dim"]
        size = values["_in"][0][_dim(d, len(values["_in"][0]), "dim")] if isinstance(d, int) else 0
        start = start + size if start < 0 else start
        return {"dim": d, "start": start, "end": start + length}

    def indices(self, a: Args, x: Shape) -> tuple[int, range]:
        """The per-sample axis and the indices kept along it."""
        i = _dim(a["dim"], len(x), "dim")
        kept = range(x[i])[slice(a["start"], a["end"], a["step"])]
        if not kept:
            raise ShapeError(f"start {a['start']}, end {a['end']} keep no index of an axis of {x[i]}", "start")
        return i, kept

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        i, kept = self.indices(a, x)
        rf = IDENTITY if i == 0 and len(x) > 1 else NONE  # a range of channels: the field is unchanged
        return Inferred(shape=(*x[:i], len(kept), *x[i + 1 :]), rf=rf)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        i, kept = self.indices(a, x)
        step = f" step {kept.step}" if kept.step != 1 else ""
        return [
            f"dim {a['dim']}: indices {kept.start} … {kept[-1]}{step} of {x[i]} → {len(kept)}",
            f"{list(x)} → {[*x[:i], len(kept), *x[i + 1 :]]}; no parameters, no MACs",
        ]


class Embedding(Rule):
    type = "embedding"
    doc = "A table of `num` learned vectors of size `dim`, looked up by integer ids: [T] → [T, dim]."
    args = (
        Arg("num", "pos", doc="vocabulary size (number of vectors)"),
        Arg("dim", "pos", doc="vector size"),
        Arg("padding_idx", "int", None, "an id whose vector is zero and not trained (as torch's)"),
    )
    torch = Torch(
        "Embedding",
        (
            TorchParam("num_embeddings", arg="num"),
            TorchParam("embedding_dim", arg="dim"),
            TorchParam("padding_idx", None),
            TorchParam("max_norm", None, fixed="cnncalc's embedding does not renormalise"),
        ),
    )

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        p = a["padding_idx"]
        if p is not None and not -a["num"] <= p < a["num"]:
            raise ShapeError(f"padding_idx {p} is out of range for {a['num']} vectors", "padding_idx")
        return Inferred(shape=(*x, a["dim"]), params=a["num"] * a["dim"], rf=NONE)

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        return [
            f"params = {a['num']:,} vectors × {a['dim']} = {a['num'] * a['dim']:,}",
            f"output {list(ins[0])} ids → {[*ins[0], a['dim']]}; a lookup: no MACs",
        ]


class ClassToken(Rule):
    type = "classtoken"
    doc = "Prepends one learned vector to a sequence [T, E] → [T+1, E] (ViT's class token): E params."
    torch = _custom("ClassToken", lambda: classtoken_module(), TorchParam("dim"), learned="concat")

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)``: a parameter of shape
        (1, 1, E) put before a sequence [T, E]."""
        if "_learned" not in values:
            return {}
        shape, ins = values["_learned"], values["_in"]
        if not (values["_learned_first"] and len(ins) == 1 and len(ins[0]) == 2 and values.get("dim") in (1, -2)
                and tuple(shape) == (1, 1, ins[0][1])):
            raise NotExpressible(
                f"a parameter of shape {list(shape)} concatenated with {[list(s) for s in ins]} "
                "(a class token is one (1, 1, E) parameter put before a sequence [T, E], along dim 1)")
        return {}

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        return "ClassToken", {"dim": ins[0][-1]}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        if len(x) != 2:
            raise ShapeError(f"classtoken needs a sequence [time, features] per sample, got {list(x)}")
        return Inferred(shape=(x[0] + 1, x[1]), params=x[1], rf=NONE)


class PosEmbedding(Rule):
    type = "posembedding"
    doc = "Adds a learned tensor of the input's per-sample shape (ViT's position embedding): ∏shape params."
    torch = _custom("PosEmbedding", lambda: posembedding_module(), TorchParam("shape"), learned="add")

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``x + self.pos_embedding``: a parameter of the input's own per-sample shape, added."""
        if "_learned" not in values:
            return {}
        shape, ins = tuple(values["_learned"]), values["_in"]
        if len(ins) != 1 or shape not in (tuple(ins[0]), (1, *ins[0])):
            raise NotExpressible(
                f"a parameter of shape {list(shape)} added to {[list(s) for s in ins]} (a position "
                "embedding has the input's per-sample shape)")
        return {}

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        return "PosEmbedding", {"shape": tuple(ins[0])}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        return Inferred(shape=x, params=prod(x), flops=prod(x), rf=IDENTITY)


class LayerScale(Rule):
    type = "layerscale"
    doc = "Multiplies by a learned per-channel scale (ConvNeXt's layer scale, CaiT's LayerScale)."
    args = (
        Arg("dim", "int", 1, "the axis that has one scale per entry (batch is 0; 1: channels, -1: last)"),
        Arg("init", "number", 1e-6, "initial value of the scales"),
    )
    torch = _custom(
        "LayerScale", lambda: layerscale_module(), TorchParam("size"), TorchParam("dim", 1), TorchParam("rank", 4),
        TorchParam("init", 1e-6), learned="mul",
    )

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``self.layer_scale * x`` (ConvNeXt's (C, 1, 1) parameter), or the LayerScale module."""
        if "_learned" not in values:
            return super().from_torch(values)
        shape, ins = tuple(values["_learned"]), values["_in"]
        rank = len(ins[0]) + 1 if len(ins) == 1 else 0
        full = (1,) * (rank - len(shape)) + shape  # broadcast from the right, batch axis included
        axes = [d for d, n in enumerate(full) if n != 1]
        if len(ins) != 1 or len(shape) > rank or len(axes) != 1 or axes[0] == 0 or full[axes[0]] != ins[0][axes[0] - 1]:
            raise NotExpressible(
                f"a parameter of shape {list(shape)} multiplied with {[list(s) for s in ins]} (a layer scale "
                "has one entry per index of one non-batch axis)")
        return {"dim": axes[0]}

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        x = ins[0]
        i = _dim(args["dim"], len(x), "dim")
        return "LayerScale", {"size": x[i], "dim": i + 1, "rank": len(x) + 1, "init": args["init"]}

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        i = _dim(a["dim"], len(x), "dim")
        return Inferred(shape=x, params=x[i], flops=prod(x), rf=IDENTITY)


def reshape_module() -> type:
    """``reshape`` in torch (imported only when this is called): the batch axis is kept."""
    import torch
    from torch import nn

    class Reshape(nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.shape = tuple(shape)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(x.shape[0], *self.shape)

    return Reshape


def slice_module() -> type:
    """``slice`` in torch (imported only when this is called)."""
    import torch
    from torch import nn

    class Slice(nn.Module):
        def __init__(self, dim: int = 1, start: int = 0, end: int | None = None, step: int = 1):
            super().__init__()
            self.dim, self.start, self.end, self.step = dim, start, end, step

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[(slice(None),) * (self.dim % x.dim()) + (slice(self.start, self.end, self.step),)]

    return Slice


def permute_module() -> type:
    """``permute`` in torch (imported only when this is called)."""
    import torch
    from torch import nn

    class Permute(nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.dims = tuple(dims)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(*self.dims)

    return Permute


def select_module() -> type:
    """``select`` in torch (imported only when this is called)."""
    import torch
    from torch import nn

    class Select(nn.Module):
        def __init__(self, dim: int = 1, index: int = 0):
            super().__init__()
            self.dim, self.index = dim, index

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.select(self.dim, self.index)

    return Select


def classtoken_module() -> type:
    """``classtoken`` in torch (imported only when this is called): ViT's learned token, prepended."""
    import torch
    from torch import nn

    class ClassToken(nn.Module):
        def __init__(self, dim: int):
            super().__init__()
            self.token = nn.Parameter(torch.zeros(1, 1, dim))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)

    return ClassToken


def posembedding_module() -> type:
    """``posembedding`` in torch (imported only when this is called): a learned tensor added."""
    import torch
    from torch import nn

    class PosEmbedding(nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.embedding = nn.Parameter(torch.empty(1, *shape).normal_(std=0.02))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.embedding

    return PosEmbedding


def layerscale_module() -> type:
    """``layerscale`` in torch (imported only when this is called): a learned scale per entry of
    one axis, broadcast over the others."""
    import torch
    from torch import nn

    class LayerScale(nn.Module):
        def __init__(self, size: int, dim: int = 1, rank: int = 4, init: float = 1e-6):
            super().__init__()
            shape = [1] * rank
            shape[dim] = size
            self.scale = nn.Parameter(torch.full(shape[1:], init))  # the batch axis broadcasts
            self.init = init

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.scale

    return LayerScale
