"""The differential suite: random specs, analysed by cnncalc and run by torch, must agree.

* Valid specs (built valid by construction, every layer type, 1-D/2-D/3-D, branches joined by add,
  mul and concat): the analysis equals torch on every layer's output shape, parameters, buffers and
  MACs (FlopCounterMode flops / 2).
* Wild specs (arguments drawn with no regard for the input, merges of arbitrary earlier layers): when
  cnncalc accepts, torch runs and agrees; when cnncalc rejects, torch fails too.

The generator tracks shapes with its own hand formulas (:func:`conv_len`, :func:`pool_len`), not
cnncalc's. ``benchmarks/differential_long.py`` runs the same strategies with many more examples;
``CNNCALC_DIFF_EXAMPLES`` scales the counts here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from math import prod
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cnncalc import SpecError, analyze, parse_spec  # noqa: E402
from cnncalc.layers import RULES  # noqa: E402
from cnncalc.torch.builder import build  # noqa: E402
from cnncalc.torch.verification import measure  # noqa: E402

SCALE = float(os.environ.get("CNNCALC_DIFF_EXAMPLES", "1"))
BATCH = 2  # a batch above 1 catches rules that confuse the batch axis with another one


def examples(n: int) -> settings:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        derandomize=SCALE == 1,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---- hand formulas (ATen's, written out) --------------------------------------------------------
def conv_len(n: int, k: int, s: int, pl: int, pr: int, d: int) -> int:
    return (n + pl + pr - d * (k - 1) - 1) // s + 1


def pool_len(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    num = n + 2 * p - d * (k - 1) - 1
    if not ceil:
        return num // s + 1
    out = -(-num // s) + 1
    return out - 1 if (out - 1) * s >= n + p else out  # the last window must start inside


def transposed_len(n: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """torch.nn.ConvTranspose's documented output length."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


# ---- a spec under construction ------------------------------------------------------------------
Shape = tuple[int, ...]


@dataclass
class Net:
    """Layers so far (core-grammar items) and the per-sample shape of every named output."""

    shapes: dict[str, Shape]
    layers: list[dict[str, Any]] = field(default_factory=list)
    last: str = "input"
    ids: bool = False  # the input is integer token ids (an embedding reads them)

    def add(self, name: str, ltype: str, args: dict[str, Any] | None, shape: Shape, frm: Any = None) -> str:
        item: dict[str, Any] = {ltype: args or None, "name": name}
        item["from"] = frm if frm is not None else self.last
        self.layers.append(item)
        self.shapes[name] = shape
        self.last = name
        return name

    @property
    def shape(self) -> Shape:
        return self.shapes[self.last]

    def fresh(self, ltype: str) -> str:
        return f"s{len(self.layers)}.{ltype}"  # dotted, like real module paths

    def spec(self, shape: Shape) -> dict[str, Any]:
        spec_input: Any = {"shape": list(shape), "dtype": "int64"} if self.ids else list(shape)
        return {"name": "random", "input": spec_input, "layers": self.layers}


def axes(draw: Any, values: list[int]) -> Any:
    """One value per axis: written as a scalar when all agree (and the coin says so), else a list."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return list(values)


# ---- one drawer per layer type: valid arguments for the current shape, and the output shape -------
def d_conv(draw: Any, x: Shape) -> tuple[dict[str, Any], Shape] | None:
    nd = len(x) - 1
    if nd < 1:
        return None
    c = x[0]
    g = draw(st.sampled_from([v for v in range(1, c + 1) if c % v == 0]))
    out = g * draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["int", "same", "valid"]))
    stride = [1] * nd if mode == "same" else [draw(st.integers(1, 3)) for _ in range(nd)]
    dil = [draw(st.integers(1, 2)) for _ in range(nd)]
    pads = [0] * nd if mode != "int" else [draw(st.integers(0, 2)) for _ in range(nd)]
    ks, size = [], []
    for i in range(nd):
        if mode == "same":
            k = draw(st.integers(1, 4))
            total = dil[i] * (k - 1)
            pl, pr = total // 2, total - total // 2
        else:
            kmax = min(4, (x[1 + i] + 2 * pads[i] - 1) // dil[i] + 1)
            k = draw(st.integers(1, kmax))
            pl = pr = pads[i]
        ks.append(k)
        size.append(conv_len(x[1 + i], k, stride[i], pl, pr, dil[i]))
    args = {
        "out": out,
        "kernel": axes(draw, ks),
        "stride": axes(draw, stride),
        "dilation": axes(draw, dil),
        "groups": g,
        "bias": draw(st.booleans()),
        "padding": mode if mode != "int" else axes(draw, pads),
    }
    return args, (out, *size)


def d_convtranspose(draw: Any, x: Shape) -> tuple[dict[str, Any], Shape] | None:
    nd = len(x) - 1
    if nd < 1:
        return None
    c = x[0]
    g = draw(st.sampled_from([v for v in range(1, c + 1) if c % v == 0]))
    out = g * draw(st.integers(1, 3))
    ks, ss, ps, ops, ds, size = [], [], [], [], [], []
    for i in range(nd):
        k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3 if nd < 3 else 2)), draw(st.integers(1, 2))
        op = draw(st.integers(0, max(s, d) - 1))  # torch: less than the stride or the dilation
        p = draw(st.sampled_from([p for p in range(3) if transposed_len(x[1 + i], k, s, p, op, d) >= 1]))
        ks.append(k), ss.append(s), ps.append(p), ops.append(op), ds.append(d)
        size.append(transposed_len(x[1 + i], k, s, p, op, d))
    args = {
        "out": out,
        "kernel": axes(draw, ks),
        "stride": axes(draw, ss),
        "padding": axes(draw, ps),
        "output_padding": axes(draw, ops),
        "dilation": axes(draw, ds),
        "groups": g,
        "bias": draw(st.booleans()),
    }
    return args, (out, *size)


def _pool(draw: Any, x: Shape, dilated: bool) -> tuple[dict[str, Any], list[int]] | None:
    nd = len(x) - 1
    if nd < 1:
        return None
    avg3d = not dilated and nd == 3  # ATen's avg_pool3d also wants each unpadded size >= the kernel
    ks, ss, ps, ds, size = [], [], [], [], []
    ceil = draw(st.booleans())
    default_stride = draw(st.booleans())
    for i in range(nd):
        n = x[1 + i]
        fits = [  # (kernel, stride, padding, dilation) giving at least one window (ceil: one start)
            (k, s, p, d)
            for k in range(1, 5)
            for s in ([k] if default_stride else range(1, 4))
            for p in range(k // 2 + 1)
            for d in ([1, 2] if dilated else [1])
            if pool_len(n, k, s, p, d, ceil) >= 1 and not (avg3d and k > n)
        ]
        k, s, p, d = draw(st.sampled_from(fits))
        ks.append(k), ss.append(s), ps.append(p), ds.append(d)
        size.append(pool_len(n, k, s, p, d, ceil))
    args = {"kernel": axes(draw, ks), "padding": axes(draw, ps), "ceil_mode": ceil}
    if not default_stride:
        args["stride"] = axes(draw, ss)
    if dilated:
        args["dilation"] = axes(draw, ds)
    return args, size


def d_maxpool(draw: Any, x: Shape):
    r = _pool(draw, x, dilated=True)
    return r and (r[0], (x[0], *r[1]))


def d_avgpool(draw: Any, x: Shape):
    r = _pool(draw, x, dilated=False)
    if r is None:
        return None
    r[0]["count_include_pad"] = draw(st.booleans())
    return r[0], (x[0], *r[1])


def d_adaptive(draw: Any, x: Shape):
    nd = len(x) - 1
    if nd < 1:
        return None
    outs = [draw(st.one_of(st.none(), st.integers(1, x[1 + i] + 2))) for i in range(nd)]
    if None not in outs and len(set(outs)) == 1 and draw(st.booleans()):
        value: Any = outs[0]
    else:
        value = outs
    return {"out": value}, (x[0], *(x[1 + i] if o is None else o for i, o in enumerate(outs)))


def d_linear(draw: Any, x: Shape):
    out = draw(st.integers(1, 6))
    return {"out": out, "bias": draw(st.booleans())}, (*x[:-1], out)


def d_flatten(draw: Any, x: Shape):
    full = len(x) + 1  # torch dims, batch included
    lo = draw(st.integers(1, full - 1))
    hi = draw(st.integers(lo, full - 1))
    start = lo if draw(st.booleans()) else lo - full
    end = hi if draw(st.booleans()) else hi - full
    i, j = lo - 1, hi - 1
    return {"start_dim": start, "end_dim": end}, (*x[:i], prod(x[i : j + 1]), *x[j + 1 :])


def d_batchnorm(draw: Any, x: Shape):
    args = {
        "eps": draw(st.sampled_from([1e-5, 1e-3])),
        "momentum": draw(st.sampled_from([0.1, 0.01])),
        "affine": draw(st.booleans()),
        "track_running_stats": draw(st.booleans()),
    }
    return args, x


def d_elementwise(extra: Callable[[Any, Shape], dict[str, Any]] | None = None):
    def drawer(draw: Any, x: Shape):
        return (extra(draw, x) if extra else {}), x

    return drawer


def softmax_dim(draw: Any, x: Shape) -> dict[str, Any]:
    full = len(x) + 1
    return {"dim": draw(st.integers(-full, full - 1))}


# ---- the layer families of modern nets (issue 9) -----------------------------------------------------
UPSAMPLE_MODES = {1: ["nearest", "linear"], 2: ["nearest", "bilinear", "bicubic"], 3: ["nearest", "trilinear"]}


def d_upsample(draw: Any, x: Shape):
    nd = len(x) - 1
    if nd < 1:
        return None
    mode = draw(st.sampled_from(UPSAMPLE_MODES[nd]))
    args: dict[str, Any] = {"mode": mode}
    if mode != "nearest" and draw(st.booleans()):
        args["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        size = [draw(st.integers(1, 9)) for _ in range(nd)]
        args["size"] = axes(draw, size)
        return args, (x[0], *size)
    # scales that leave at least one output (floor(N · scale) ≥ 1; exact for these binary fractions)
    scales = [draw(st.sampled_from([s for s in (1, 2, 3, 1.5, 0.5) if int(x[1 + i] * s) >= 1])) for i in range(nd)]
    size = [int(x[1 + i] * scales[i]) for i in range(nd)]
    args["scale"] = axes(draw, scales)
    return args, (x[0], *size)


def d_pixelshuffle(draw: Any, x: Shape):
    fits = [r for r in (2, 3) if len(x) == 3 and x[0] % (r * r) == 0]
    if not fits:
        return None
    r = draw(st.sampled_from(fits))
    return {"factor": r}, (x[0] // (r * r), x[1] * r, x[2] * r)


def d_pixelunshuffle(draw: Any, x: Shape):
    fits = [r for r in (2, 3) if len(x) == 3 and x[1] % r == 0 and x[2] % r == 0]
    if not fits:
        return None
    r = draw(st.sampled_from(fits))
    return {"factor": r}, (x[0] * r * r, x[1] // r, x[2] // r)


def d_pad(draw: Any, x: Shape):
    nd = len(x) - 1
    if nd < 1:
        return None
    mode = draw(st.sampled_from(["zeros", "constant", "reflect", "replicate", "circular"]))
    k = draw(st.integers(1, nd))  # axes padded, the last first (F.pad's order)
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 3)
    flat, size = [], list(x[1:])
    for j in range(k):
        axis = nd - 1 - j
        lo, hi = (draw(st.integers(0, min(3, limit(x[1 + axis])))) for _ in range(2))
        flat += [lo, hi]
        size[axis] += lo + hi
    args: dict[str, Any] = {"padding": flat, "mode": mode}
    if mode == "constant":
        args["value"] = draw(st.sampled_from([0.5, -1.0]))
    return args, (x[0], *size)


def d_locallyconnected(draw: Any, x: Shape):
    nd = len(x) - 1
    if nd < 1:
        return None
    out = draw(st.integers(1, 3))
    ks, ss, ps, size = [], [], [], []
    for i in range(nd):
        p = draw(st.integers(0, 1))
        k = draw(st.integers(1, min(3, x[1 + i] + 2 * p)))
        s = draw(st.integers(1, 2))
        ks.append(k), ss.append(s), ps.append(p)
        size.append(conv_len(x[1 + i], k, s, p, p, 1))
    args = {"out": out, "kernel": axes(draw, ks), "stride": axes(draw, ss), "padding": axes(draw, ps),
            "bias": draw(st.booleans())}
    return args, (out, *size)


def d_layernorm(draw: Any, x: Shape):
    args: dict[str, Any] = {"affine": draw(st.booleans()), "eps": draw(st.sampled_from([1e-5, 1e-6]))}
    if args["affine"]:
        args["bias"] = draw(st.booleans())
    if len(x) > 1 and draw(st.booleans()):
        args["over"] = "channels"
    else:
        args["axes"] = draw(st.integers(1, len(x)))
    return args, x


def d_groupnorm(draw: Any, x: Shape):
    groups = draw(st.sampled_from([g for g in range(1, x[0] + 1) if x[0] % g == 0]))
    return {"groups": groups, "affine": draw(st.booleans())}, x


def d_instancenorm(draw: Any, x: Shape):
    if len(x) < 2 or prod(x[1:]) == 1:  # torch refuses one position in training, and so does cnncalc
        return None
    return {"affine": draw(st.booleans()), "track_running_stats": draw(st.booleans())}, x


def d_recurrent(kind: str):
    def drawer(draw: Any, x: Shape):
        if len(x) != 2:
            return None
        h, dirs = draw(st.integers(1, 5)), draw(st.sampled_from([1, 2]))
        args: dict[str, Any] = {"hidden": h, "layers": draw(st.integers(1, 2)), "bidirectional": dirs == 2,
                                "bias": draw(st.booleans())}
        out = h
        if kind == "lstm" and h > 1 and draw(st.booleans()):
            args["proj"] = out = draw(st.integers(1, h - 1))
        if kind == "rnn":
            args["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
        return args, (x[0], out * dirs)

    return drawer


def d_embedding(draw: Any, x: Shape):
    return None  # only as the first layer of a spec whose input is ids: see valid_specs


def d_attention(draw: Any, x: Shape):
    if len(x) != 2:
        return None
    heads = draw(st.sampled_from([h for h in range(1, x[1] + 1) if x[1] % h == 0]))
    return {"heads": heads, "bias": draw(st.booleans())}, x


def d_reshape(draw: Any, x: Shape):
    n = prod(x)
    a = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    shape = draw(st.sampled_from([[n], [a, n // a], [a, -1], [-1, n // a], [-1]]))
    return {"shape": shape}, (n,) if len(shape) == 1 else (a, n // a)


def d_permute(draw: Any, x: Shape):
    order = draw(st.permutations(list(range(1, len(x) + 1))))
    return {"dims": [0, *order]}, tuple(x[d - 1] for d in order)


def d_select(draw: Any, x: Shape):
    if len(x) < 2:
        return None
    dim = draw(st.integers(1, len(x)))
    index = draw(st.integers(-x[dim - 1], x[dim - 1] - 1))
    return {"dim": dim if draw(st.booleans()) else dim - len(x) - 1, "index": index}, x[: dim - 1] + x[dim:]


def d_slice(draw: Any, x: Shape):
    dim = draw(st.integers(1, len(x)))
    n = x[dim - 1]
    first = draw(st.integers(0, n - 1))
    start = first - n if draw(st.booleans()) else first  # negatives count from the end
    end = draw(st.one_of(st.none(), st.integers(first + 1, n + 2)))
    if end is not None and end < n and draw(st.booleans()):
        end -= n
    step = draw(st.integers(1, 3))
    kept = len(range(n)[slice(start, end, step)])  # Python's own slicing is the reference for the shape
    args = {"dim": dim if draw(st.booleans()) else dim - len(x) - 1, "start": start, "step": step}
    if end is not None:
        args["end"] = end
    return args, (*x[: dim - 1], kept, *x[dim:])


def d_relativeattention(draw: Any, x: Shape):
    """MaxViT's attention: [G, P, D] with P = p·p tokens per partition, head_dim dividing D."""
    if len(x) != 3 or round(x[1] ** 0.5) ** 2 != x[1]:
        return None
    head_dim = draw(st.sampled_from([h for h in range(1, x[2] + 1) if x[2] % h == 0]))
    args: dict[str, Any] = {"head_dim": head_dim}
    if draw(st.booleans()):
        args["partition"] = round(x[1] ** 0.5)
    return args, x


def d_mvitblock(draw: Any, x: Shape):
    """An MViT block on [1 + T·H·W, C]: a grid drawn from the token count, q pools that the skip
    connection matches (kernel 1 or 3, stride 1 or 2), any k/v pools, V1 or V2 options."""
    if len(x) != 2 or x[0] < 2:
        return None
    grid = x[0] - 1
    t = draw(st.sampled_from([v for v in range(1, grid + 1) if grid % v == 0]))
    h = draw(st.sampled_from([v for v in range(1, grid // t + 1) if (grid // t) % v == 0]))
    thw = (t, h, grid // t // h)
    c, out = x[1], draw(st.sampled_from([x[1], 2 * x[1], 3]))
    paa = draw(st.booleans())
    a = out if paa else c
    sq = [draw(st.integers(1, 2)) for _ in range(3)]
    kq = [draw(st.sampled_from([1, 3])) for _ in range(3)]
    skv = [draw(st.integers(1, 3)) for _ in range(3)]
    kkv = [draw(st.integers(1, 3)) for _ in range(3)]
    side = max(thw[1:])
    rel = draw(st.booleans()) and max(side // sq[1], side // skv[1]) >= 1  # else torch's tables have no rows
    args: dict[str, Any] = {
        "heads": draw(st.sampled_from([v for v in range(1, a + 1) if a % v == 0])), "size": axes(draw, list(thw)),
        "out": out, "kernel_q": axes(draw, kq), "stride_q": axes(draw, sq), "kernel_kv": axes(draw, kkv),
        "stride_kv": axes(draw, skv), "residual_pool": draw(st.booleans()),
        "residual_with_cls_embed": draw(st.booleans()), "rel_pos_embed": rel, "proj_after_attn": paa,
    }
    if rel and draw(st.booleans()):
        args["tables"] = [draw(st.integers(1, 7)), draw(st.integers(1, 5))]
    pooled = prod(kq) > 1 or prod(sq) > 1
    q = prod((n + 2 * (k // 2) - k) // s + 1 for n, k, s in zip(thw, kq, sq, strict=True)) if pooled else grid
    return args, (1 + q, out)


def d_mvitposition(draw: Any, x: Shape):
    if len(x) != 2:
        return None
    if draw(st.booleans()):
        return {"rel_pos_embed": True}, (x[0] + 1, x[1])
    t = draw(st.sampled_from([v for v in range(1, x[0] + 1) if x[0] % v == 0]))
    return {"temporal_size": t}, (x[0] + 1, x[1])


def d_windowattention(draw: Any, x: Shape):
    """Swin's window attention on a channels-last [H, W, C] or [T, H, W, C]: windows that need
    padding, windows larger than the map, shifts (version 2 on 2-D maps only)."""
    if len(x) not in (3, 4):
        return None
    nd, c = len(x) - 1, x[-1]
    window = [draw(st.integers(1, n + 2)) for n in x[:-1]]
    args: dict[str, Any] = {
        "heads": draw(st.sampled_from([h for h in range(1, c + 1) if c % h == 0])),
        "window": axes(draw, window),
        "shift": axes(draw, [draw(st.integers(0, w)) for w in window]),
        "qkv_bias": draw(st.booleans()),
        "proj_bias": draw(st.booleans()),
    }
    if nd == 2 and min(window) > 1 and draw(st.booleans()):
        args["version"] = 2
    return args, x


def d_patchmerge(draw: Any, x: Shape):
    if len(x) < 3:
        return None
    *lead, h, w, c = x
    return None, (*lead, (h + 1) // 2, (w + 1) // 2, 4 * c)  # H and W padded to even, 2×2 stacked


def d_mean(draw: Any, x: Shape):
    dims = draw(st.lists(st.integers(1, len(x)), min_size=1, max_size=len(x), unique=True))
    keepdim = draw(st.booleans()) or len(dims) == len(x)
    shape = tuple(1 if i + 1 in dims else n for i, n in enumerate(x)) if keepdim else \
        tuple(n for i, n in enumerate(x) if i + 1 not in dims)
    return {"dims": [d if draw(st.booleans()) else d - len(x) - 1 for d in dims], "keepdim": keepdim}, shape


def d_classtoken(draw: Any, x: Shape):
    return None if len(x) != 2 else ({}, (x[0] + 1, x[1]))


def d_layerscale(draw: Any, x: Shape):
    dim = draw(st.integers(1, len(x)))
    return {"dim": dim if draw(st.booleans()) else dim - len(x) - 1, "init": 0.5}, x


def d_rank(rank: int, extra: Callable[[Any, Shape], dict[str, Any]]):
    """An element-wise layer that torch takes only at one spatial rank (dropout2d, dropout3d)."""

    def drawer(draw: Any, x: Shape):
        return None if len(x) - 1 != rank else (extra(draw, x), x)

    return drawer


def probability(draw: Any, x: Shape) -> dict[str, Any]:
    return {"p": draw(st.sampled_from([0.0, 0.2, 1.0]))}


SINGLE: dict[str, Callable[[Any, Shape], Any]] = {
    "conv": d_conv,
    "convtranspose": d_convtranspose,
    "maxpool": d_maxpool,
    "avgpool": d_avgpool,
    "adaptiveavgpool": d_adaptive,
    "adaptivemaxpool": d_adaptive,
    "linear": d_linear,
    "flatten": d_flatten,
    "batchnorm": d_batchnorm,
    "dropout": d_elementwise(lambda draw, x: {"p": draw(st.sampled_from([0.0, 0.25, 1.0]))}),
    "leakyrelu": d_elementwise(lambda draw, x: {"negative_slope": draw(st.sampled_from([0.01, 0.2]))}),
    "softmax": d_elementwise(softmax_dim),
    "logsoftmax": d_elementwise(softmax_dim),
    "prelu": d_elementwise(lambda draw, x: {"num": draw(st.sampled_from([1, x[0]]))}),
    "softplus": d_elementwise(lambda draw, x: {"beta": draw(st.sampled_from([1.0, 2])),
                                               "threshold": draw(st.sampled_from([20.0, 1]))}),
    "hardtanh": d_elementwise(lambda draw, x: {"min_val": -0.5, "max_val": draw(st.sampled_from([1.0, 2]))}),
    "elu": d_elementwise(lambda draw, x: {"alpha": draw(st.sampled_from([1.0, 0.5]))}),
    **{
        t: d_elementwise()
        for t in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid", "identity", "mish", "selu")
    },
    "upsample": d_upsample,
    "pixelshuffle": d_pixelshuffle,
    "pixelunshuffle": d_pixelunshuffle,
    "pad": d_pad,
    "locallyconnected": d_locallyconnected,
    "layernorm": d_layernorm,
    "groupnorm": d_groupnorm,
    "instancenorm": d_instancenorm,
    "rnn": d_recurrent("rnn"),
    "lstm": d_recurrent("lstm"),
    "gru": d_recurrent("gru"),
    "embedding": d_embedding,
    "multiheadattention": d_attention,
    "windowattention": d_windowattention,
    "patchmerge": d_patchmerge,
    "reshape": d_reshape,
    "permute": d_permute,
    "select": d_select,
    "slice": d_slice,
    "scale": d_elementwise(lambda draw, x: {"factor": draw(st.sampled_from([0.125, -2.0, 3]))}),
    "mean": d_mean,
    "relativeattention": d_relativeattention,
    "mvitblock": d_mvitblock,
    "mvitposition": d_mvitposition,
    "classtoken": d_classtoken,
    "posembedding": d_elementwise(),
    "layerscale": d_layerscale,
    "dropout2d": d_rank(2, probability),
    "dropout3d": d_rank(3, probability),
    "stochasticdepth": d_elementwise(lambda draw, x: {"p": draw(st.sampled_from([0.0, 0.2])),
                                                      "mode": draw(st.sampled_from(["row", "batch"]))}),
    "droppath": d_elementwise(probability),
}
SEQUENCE = ("rnn", "lstm", "gru", "multiheadattention", "classtoken", "select")  # need [time, features]
# the input a focus type needs (a random prefix would rarely give it)
FOCUS_INPUTS: dict[str, Any] = {
    **{t: st.tuples(st.integers(1, 6), st.integers(1, 12)) for t in SEQUENCE},
    "pixelshuffle": st.tuples(st.sampled_from([4, 8, 9, 18]), st.integers(1, 5), st.integers(1, 5)),
    "pixelunshuffle": st.tuples(st.integers(1, 3), st.sampled_from([6, 12]), st.sampled_from([6, 12])),
    "dropout2d": st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
    "instancenorm": st.tuples(st.integers(1, 4), st.integers(2, 9)),
    "dropout3d": st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    "embedding": st.tuples(st.integers(1, 12)),
    **{t: st.one_of(st.tuples(st.integers(1, 6), st.integers(1, 8)),
                    st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 8))) for t in ("matmul", "dotattention")},
    **{t: st.one_of(st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 2, 4, 6])),
                    st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6), st.sampled_from([2, 4])))
       for t in ("windowattention", "patchmerge")},
    "relativeattention": st.tuples(st.integers(1, 3), st.sampled_from([1, 4, 9]), st.sampled_from([2, 4, 6, 8])),
    "mvitblock": st.tuples(st.sampled_from([2, 5, 9, 13, 17, 28, 33, 37]), st.sampled_from([1, 2, 4, 6])),
    "mvitposition": st.tuples(st.integers(1, 12), st.integers(1, 8)),
}
MERGES = ("add", "mul", "concat")
WINDOWED = (  # need spatial axes
    "conv", "convtranspose", "maxpool", "avgpool", "adaptiveavgpool", "adaptivemaxpool", "upsample", "pad",
    "locallyconnected", "instancenorm",
)
SHAPE_KEEPING = ("batchnorm", "relu", "identity", "silu")  # a branch with one of these keeps the shape


def single(draw: Any, net: Net, ltype: str) -> bool:
    r = SINGLE[ltype](draw, net.shape)
    if r is None:
        return False
    args, shape = r
    net.add(net.fresh(ltype), ltype, args, shape)
    return True


def branch_to(draw: Any, net: Net, start: str, channels: int | None) -> str:
    """A branch from ``start`` that keeps its spatial size: a stride-1 'same' conv (to ``channels``
    output channels) or a shape-keeping layer; returns the branch's last layer."""
    x = net.shapes[start]
    net.last = start
    if channels is not None and len(x) > 1:
        k = draw(st.integers(1, 3))
        net.add(
            net.fresh("conv"), "conv", {"out": channels, "kernel": k, "padding": "same"}, (channels, *x[1:])
        )
    elif channels is not None:
        net.add(net.fresh("linear"), "linear", {"out": channels}, (channels,))
    else:
        t = draw(st.sampled_from(SHAPE_KEEPING))
        single(draw, net, t)
    return net.last


def merge(draw: Any, net: Net, ltype: str) -> None:
    """Fork the current output into 2 or 3 branches and join them with ``ltype``."""
    start = net.last
    x = net.shapes[start]
    n = draw(st.integers(2, 3))
    if ltype == "concat":
        dim = draw(st.integers(1, len(x)))
        chans = [draw(st.integers(1, 4)) if dim == 1 else x[0] for _ in range(n)]
        ends = [branch_to(draw, net, start, c) for c in chans]
        out = list(x)
        out[dim - 1] = sum(net.shapes[e][dim - 1] for e in ends)
        dim_arg = dim if draw(st.booleans()) else dim - len(x) - 1
        net.add(net.fresh("concat"), "concat", {"dim": dim_arg}, tuple(out), frm=ends)
        return
    ends = [start] + [branch_to(draw, net, start, draw(st.sampled_from([None, x[0]]))) for _ in range(n - 1)]
    if ltype == "mul" and len(x) > 1 and draw(st.booleans()):  # a squeeze-and-excitation gate
        net.last = start
        gate = (x[0], *[1] * (len(x) - 1))
        net.add(net.fresh("adaptiveavgpool"), "adaptiveavgpool", {"out": 1}, gate)
        net.add(net.fresh("sigmoid"), "sigmoid", None, gate)
        ends[-1] = net.last
    net.add(net.fresh(ltype), ltype, None, x, frm=ends)


PRODUCTS = ("matmul", "dotattention")  # two or three inputs of matching inner sizes


def product(draw: Any, net: Net, ltype: str) -> bool:
    """``x @ xᵀ`` (a permute of the last two axes as the second input), or attention of x on itself
    with a value of another width (a linear branch)."""
    start = net.last
    x = net.shapes[start]
    if len(x) < 2:
        return False
    r = len(x)
    if ltype == "matmul":
        t = net.add(net.fresh("permute"), "permute", {"dims": [0, *range(1, r - 1), r, r - 1]}, (*x[:-2], x[-1], x[-2]))
        net.add(net.fresh("matmul"), "matmul", None, (*x[:-2], x[-2], x[-2]), frm=[start, t])
        return True
    ev = draw(st.integers(1, 5))
    net.last = start
    v = net.add(net.fresh("linear"), "linear", {"out": ev}, (*x[:-1], ev))
    args = {"causal": draw(st.booleans()), **({"scale": 0.5} if draw(st.booleans()) else {})}
    net.add(net.fresh("dotattention"), "dotattention", args, (*x[:-1], ev), frm=[start, start, v])
    return True


def step(draw: Any, net: Net, ltype: str) -> bool:
    if ltype in MERGES:
        merge(draw, net, ltype)
        return True
    if ltype in PRODUCTS:
        return product(draw, net, ltype)
    return single(draw, net, ltype)


@st.composite
def input_shapes(draw: Any, spatial: bool = False) -> Shape:
    nd = draw(st.integers(1 if spatial else 0, 3))
    top = {0: 1, 1: 12, 2: 7, 3: 5}[nd]
    return (draw(st.integers(1, 4)), *(draw(st.integers(1, top)) for _ in range(nd)))


@st.composite
def valid_specs(draw: Any, focus: str | None = None) -> dict[str, Any]:
    """A valid spec: a few random layers, the ``focus`` type (if given), a few more."""
    special = focus in FOCUS_INPUTS
    shape = draw(FOCUS_INPUTS[focus]) if special else draw(input_shapes(spatial=focus in WINDOWED))
    net = Net({"input": shape}, ids=focus == "embedding")
    keep_rank = ("conv", "maxpool", "avgpool", "adaptiveavgpool", "batchnorm", "relu", "add", "concat")
    for t in [] if special else draw(st.lists(st.sampled_from(keep_rank), max_size=2)):
        step(draw, net, t)
    if focus == "embedding":
        num, dim = draw(st.integers(1, 20)), draw(st.integers(1, 6))
        net.add(net.fresh("embedding"), "embedding", {"num": num, "dim": dim}, (*shape, dim))
    elif focus is not None:
        assert step(draw, net, focus), f"no valid {focus} for {net.shape}"
    for t in draw(st.lists(st.sampled_from(sorted([*SINGLE, *MERGES, *PRODUCTS])), max_size=3)):
        step(draw, net, t)
    if not net.layers:
        step(draw, net, "relu")
    return net.spec(shape)


# ---- the comparison -----------------------------------------------------------------------------
def torch_run(spec: dict[str, Any]):
    """Build and run in torch at BATCH: per-layer (shape, params, buffers, flops), or torch's error."""
    parsed = parse_spec(spec)
    net = build(parsed)
    shapes, flops, _ = measure(net, net.sample_input((BATCH, *parsed.input_shape)))
    counts = {}
    for layer in parsed.layers:
        m = net.layer(layer.name)
        counts[layer.name] = (
            shapes[layer.name],
            sum(p.numel() for p in m.parameters()),
            sum(b.numel() for b in m.buffers()),
            flops[layer.name],
        )
    return counts


def assert_agree(spec: dict[str, Any]) -> None:
    report = analyze(spec, BATCH)
    measured = torch_run(spec)
    for s in report.layers:
        expected = (s.output_shape, s.params, s.buffers, 2 * s.macs)
        assert measured[s.name] == expected, (
            f"{s.name} ({s.type}): torch {measured[s.name]} ≠ cnncalc {expected}"
        )


def test_every_rule_has_a_generator():
    assert set(SINGLE) | set(MERGES) | set(PRODUCTS) == set(RULES), "a layer type without a generator here is untested"


@pytest.mark.parametrize("ltype", sorted(RULES))
def test_each_layer_type_agrees_with_torch(ltype: str):
    @examples(8)
    @given(valid_specs(focus=ltype))
    def check(spec: dict[str, Any]) -> None:
        assert_agree(spec)

    check()


@examples(60)
@given(valid_specs())
def test_random_nets_agree_with_torch(spec: dict[str, Any]):
    assert_agree(spec)


# ---- wild specs: invalid as often as not --------------------------------------------------------
def wild_axes(draw: Any, lo: int, hi: int) -> Any:
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return draw(st.lists(st.integers(lo, hi), min_size=1, max_size=3))


def wild_recurrent(draw: Any, lstm: bool) -> dict[str, Any]:
    args = {"hidden": draw(st.integers(1, 4)), "layers": draw(st.integers(1, 2)), "bidirectional": draw(st.booleans())}
    return {**args, "proj": draw(st.integers(0, 4))} if lstm else args


WILD_ARGS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "conv": lambda draw: {
        "out": draw(st.integers(1, 4)),
        "kernel": wild_axes(draw, 1, 6),
        "stride": wild_axes(draw, 1, 3),
        "padding": draw(st.one_of(st.sampled_from(["same", "valid"]), st.just(0), st.integers(0, 2))),
        "dilation": wild_axes(draw, 1, 3),
        "groups": draw(st.integers(1, 3)),
        "bias": draw(st.booleans()),
    },
    "convtranspose": lambda draw: {
        "out": draw(st.integers(1, 4)),
        "kernel": wild_axes(draw, 1, 4),
        "stride": wild_axes(draw, 1, 3),
        "padding": wild_axes(draw, 0, 3),
        "output_padding": wild_axes(draw, 0, 2),
        "dilation": wild_axes(draw, 1, 2),
        "groups": draw(st.integers(1, 3)),
        "bias": draw(st.booleans()),
    },
    "maxpool": lambda draw: {
        "kernel": wild_axes(draw, 1, 6),
        "padding": wild_axes(draw, 0, 3),
        "ceil_mode": draw(st.booleans()),
        "dilation": wild_axes(draw, 1, 2),
        **({"stride": wild_axes(draw, 1, 3)} if draw(st.booleans()) else {}),
    },
    "avgpool": lambda draw: {
        "kernel": wild_axes(draw, 1, 6),
        "padding": wild_axes(draw, 0, 3),
        "ceil_mode": draw(st.booleans()),
        **({"stride": wild_axes(draw, 1, 3)} if draw(st.booleans()) else {}),
    },
    "adaptiveavgpool": lambda draw: {"out": wild_axes(draw, 1, 5)},
    "adaptivemaxpool": lambda draw: {"out": wild_axes(draw, 1, 5)},
    "linear": lambda draw: {"out": draw(st.integers(1, 5))},
    "flatten": lambda draw: {"start_dim": draw(st.integers(-4, 4)), "end_dim": draw(st.integers(-4, 4))},
    "softmax": lambda draw: {"dim": draw(st.integers(-5, 4))},
    "logsoftmax": lambda draw: {"dim": draw(st.integers(-5, 4))},
    "prelu": lambda draw: {"num": draw(st.integers(1, 5))},
    "concat": lambda draw: {"dim": draw(st.integers(-4, 3))},
    "upsample": lambda draw: {
        **({"scale": draw(st.sampled_from([1, 2, 0.5, 1.5]))} if draw(st.booleans()) else {}),
        **({"size": wild_axes(draw, 1, 6)} if draw(st.booleans()) else {}),
        "mode": draw(st.sampled_from(["nearest", "linear", "bilinear", "bicubic", "trilinear"])),
        **({"align_corners": draw(st.booleans())} if draw(st.booleans()) else {}),
    },
    "pixelshuffle": lambda draw: {"factor": draw(st.integers(1, 3))},
    "pixelunshuffle": lambda draw: {"factor": draw(st.integers(1, 3))},
    "pad": lambda draw: {
        "padding": draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=1, max_size=6))),
        "mode": draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"])),
    },
    "locallyconnected": lambda draw: {
        "out": draw(st.integers(1, 3)),
        "kernel": wild_axes(draw, 1, 5),
        "stride": wild_axes(draw, 1, 3),
        "padding": wild_axes(draw, 0, 2),
    },
    "layernorm": lambda draw: {"axes": draw(st.integers(1, 4))} if draw(st.booleans()) else {"over": "channels"},
    "groupnorm": lambda draw: {"groups": draw(st.integers(1, 4))},
    **{t: (lambda draw, lstm=t == "lstm": wild_recurrent(draw, lstm)) for t in ("rnn", "lstm", "gru")},
    "multiheadattention": lambda draw: {"heads": draw(st.integers(1, 4))},
    "windowattention": lambda draw: {"heads": draw(st.integers(1, 4)), "window": wild_axes(draw, 1, 4),
                                     "shift": wild_axes(draw, 0, 3), "version": draw(st.integers(1, 3))},
    "reshape": lambda draw: {"shape": draw(st.lists(st.sampled_from([-1, 1, 2, 3, 4, 6, 12]), min_size=1, max_size=3))},
    "permute": lambda draw: {"dims": draw(st.permutations(list(range(draw(st.integers(1, 4))))))},
    "select": lambda draw: {"dim": draw(st.integers(-4, 3)), "index": draw(st.integers(-3, 3))},
    "slice": lambda draw: {"dim": draw(st.integers(-4, 3)), "start": draw(st.integers(-4, 4)),
                           "end": draw(st.one_of(st.none(), st.integers(-4, 6))), "step": draw(st.integers(1, 3))},
    "relativeattention": lambda draw: {"head_dim": draw(st.integers(1, 4)),
                                       **({"partition": draw(st.integers(1, 3))} if draw(st.booleans()) else {})},
    "layerscale": lambda draw: {"dim": draw(st.integers(-4, 3))},
    "mvitblock": lambda draw: {"heads": draw(st.integers(1, 4)), "size": wild_axes(draw, 1, 4),
                               "kernel_q": wild_axes(draw, 1, 3), "stride_q": wild_axes(draw, 1, 2),
                               "kernel_kv": wild_axes(draw, 1, 3), "stride_kv": wild_axes(draw, 1, 3),
                               "rel_pos_embed": draw(st.booleans()), "proj_after_attn": draw(st.booleans())},
    "mvitposition": lambda draw: {"temporal_size": draw(st.integers(1, 4)), "rel_pos_embed": draw(st.booleans())},
    "scale": lambda draw: {"factor": draw(st.sampled_from([0.5, -1, 0]))},
    "mean": lambda draw: {"dims": draw(st.lists(st.integers(-4, 4), min_size=1, max_size=3)),
                          "keepdim": draw(st.booleans())},
    "dotattention": lambda draw: {"causal": draw(st.booleans())},
    "stochasticdepth": lambda draw: {"p": draw(st.sampled_from([0.0, 0.5]))},
}


@st.composite
def wild_specs(draw: Any) -> dict[str, Any]:
    shape = draw(input_shapes())
    names = ["input"]
    layers = []
    # the types this file can write well-typed (an embedding reads integer ids: a float input is not)
    types = sorted((set(SINGLE) | set(MERGES) | set(PRODUCTS)) & set(RULES) - {"embedding"})
    for i in range(draw(st.integers(1, 4))):
        t = draw(st.sampled_from(types))
        args = WILD_ARGS[t](draw) if t in WILD_ARGS else None
        item: dict[str, Any] = {t: args, "name": f"w{i}.{t}"}
        if t in MERGES:
            item["from"] = draw(st.lists(st.sampled_from(names), min_size=2, max_size=3))
        elif t in PRODUCTS:  # exactly its inputs (a wrong count is a parse error, not a shape question)
            count = RULES[t].min_inputs
            item["from"] = draw(st.lists(st.sampled_from(names), min_size=count, max_size=count))
        layers.append(item)
        names.append(item["name"])
    return {"name": "wild", "input": list(shape), "layers": layers}


BY_DESIGN = (
    "add needs inputs of one shape",  # torch's + broadcasts; a spec's add is a residual sum
    "batch",  # flatten and concat may not touch the batch axis (torch allows dim 0)
    "values but the input has",  # a per-axis list needs one value per axis (torch pools take 1)
    "dropout2d needs", "dropout3d needs",  # torch's Dropout2d/3d run on other ranks, with a warning
    "needs (channels, height, width)",  # torch's pixel (un)shuffle reads the batch axis as channels
    "per sample, got",  # matmul and dotattention on one axis per sample: torch would read the batch as rows
    "needs inputs with the same number of axes",  # torch's * aligns from the right: the batch axes would not line up
)


def stricter_by_design(error: SpecError) -> bool:
    """Where the spec grammar is deliberately stricter than torch."""
    return any(text in str(error) for text in BY_DESIGN)


NO_TORCH_CLASS = "spatial axes"


def check_wild(spec: dict[str, Any]) -> str:
    """'valid', 'invalid', 'no-torch-class' or 'by-design'; AssertionError on a disagreement."""
    parse_spec(spec)  # the generator writes well-typed specs: only shapes can make them invalid
    try:
        analyze(spec, BATCH)
    except SpecError as e:
        try:
            ran = torch_run(spec)
        except Exception as t:
            return "no-torch-class" if NO_TORCH_CLASS in str(t) else "invalid"
        if any(0 in shape for shape, *_ in ran.values()):
            return "by-design"  # torch returned an empty tensor (a transposed conv's size 0): cnncalc refuses it
        assert stricter_by_design(e), f"cnncalc rejects ({e}) but torch runs it"
        return "by-design"
    try:
        torch_run(spec)
    except Exception as e:
        raise AssertionError(f"cnncalc accepts but torch fails: {type(e).__name__}: {e}") from e
    assert_agree(spec)
    return "valid"


@examples(120)
@given(wild_specs())
def test_wild_specs_cnncalc_and_torch_agree_on_validity(spec: dict[str, Any]):
    check_wild(spec)


# ---- disagreements the suite found, fixed in the rules (df670a6), kept as regressions -----------
def test_found_avgpool3d_kernel_larger_than_unpadded_input():
    spec = {"input": [1, 1, 1, 2], "layers": [{"avgpool": {"kernel": [1, 1, 3], "padding": [0, 0, 1]}}]}
    with pytest.raises(Exception, match="smaller than kernel size"):
        torch_run(spec)  # torch refuses ...
    with pytest.raises(SpecError):
        analyze(spec, BATCH)  # ... and so does cnncalc


def test_found_ceil_mode_pool_kernel_larger_than_padded_input():
    spec = {"input": [1, 1], "layers": [{"maxpool": {"kernel": 2, "ceil_mode": True}, "name": "p"}]}
    assert torch_run(spec)["p"][0] == (BATCH, 1, 1)  # torch pools it ...
    assert analyze(spec, BATCH).layers[0].output_shape == (BATCH, 1, 1)  # ... and so does cnncalc


def test_found_transposed_conv_with_an_empty_output():
    """The 100,000-example run (2026-11-27): torch's ConvTranspose3d returns an empty tensor where the
    output size is 0; cnncalc refuses it, naming the axis (a net is never meant to produce nothing)."""
    spec = {"input": [1, 1, 1, 1], "layers": [{"convtranspose": {
        "out": 1, "kernel": 1, "stride": 2, "padding": [0, 0, 1], "output_padding": 1}, "name": "t"}]}
    assert torch_run(spec)["t"][0] == (BATCH, 1, 2, 2, 0)  # torch runs it, to nothing ...
    with pytest.raises(SpecError, match="on axis W is not positive"):
        analyze(spec, BATCH)  # ... cnncalc says why not
    assert check_wild(spec) == "by-design"


def test_found_mul_of_two_ranks():
    """The second 100,000-example run: torch multiplies (B, 1, 1) by (B, 1), aligning from the right,
    which crosses one sample's values with another's; cnncalc's mul wants one rank (batch axes aligned)."""
    spec = {"input": [1, 1], "layers": [
        {"mean": {"dims": [2]}, "name": "m"}, {"mul": None, "name": "x", "from": ["input", "m"]}]}
    assert torch_run(spec)["x"][0] == (BATCH, BATCH, 1)  # torch runs it, mixing the batch ...
    with pytest.raises(SpecError, match="same number of axes"):
        analyze(spec, BATCH)  # ... cnncalc says why not
    assert check_wild(spec) == "by-design"


def test_found_softmax_dim_out_of_range():
    spec = {"input": [3], "layers": [{"softmax": {"dim": 2}}]}
    with pytest.raises(Exception, match="Dimension out of range"):
        torch_run(spec)  # torch refuses ...
    with pytest.raises(SpecError):
        analyze(spec, BATCH)  # ... and so does cnncalc


def test_found_mul_of_different_ranks():
    spec = {
        "input": [4, 5],
        "layers": [
            {"flatten": None, "name": "f"},
            {"linear": {"out": 5}, "name": "l"},
            {"mul": None, "from": ["input", "l"], "name": "m"},
        ],
    }
    with pytest.raises(Exception, match="broadcast"):
        torch_run(spec)  # (2, 4, 5) * (2, 5): torch refuses at batch 2 ...
    with pytest.raises(SpecError):
        analyze(spec, BATCH)  # ... and so does cnncalc (it once said (4, 5))


# ---- transposed convolutions: the receptive field (stride 1/S) against gradient support -----------
@st.composite
def chains_1d(draw: Any) -> tuple[int, list[tuple[str, dict[str, int]]]]:
    """An input length and 1 to 4 one-channel layers (conv or convtranspose) that keep it positive."""
    n = draw(st.integers(3, 12))
    length, layers = n, []
    for _ in range(draw(st.integers(1, 4))):
        k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        if draw(st.booleans()) or length < d * (k - 1) + 1:
            op = draw(st.integers(0, max(s, d) - 1))
            p = draw(st.sampled_from([p for p in range(3) if transposed_len(length, k, s, p, op, d) >= 1]))
            layers.append(("convtranspose", {"kernel": k, "stride": s, "padding": p, "output_padding": op, "dilation": d}))
            length = transposed_len(length, k, s, p, op, d)
        else:
            p = draw(st.integers(0, 1))
            layers.append(("conv", {"kernel": k, "stride": s, "padding": p, "dilation": d}))
            length = conv_len(length, k, s, p, p, d)
        if length > 60 or length < 1:
            break
    assume(1 <= length <= 60)
    return n, layers


def _support_net(layers: list[tuple[str, dict[str, int]]]) -> Any:
    """The chain in torch with every weight 1, no bias, float64: a unit's gradient is non-zero exactly
    on the inputs some path reaches."""
    mods = []
    for kind, a in layers:
        if kind == "conv":
            m = torch.nn.Conv1d(1, 1, a["kernel"], a["stride"], a["padding"], a["dilation"], bias=False)
        else:
            m = torch.nn.ConvTranspose1d(
                1, 1, a["kernel"], a["stride"], a["padding"], a["output_padding"], bias=False, dilation=a["dilation"]
            )
        torch.nn.init.ones_(m.weight)
        mods.append(m)
    return torch.nn.Sequential(*mods).double()


def _reached(layers: list[tuple[str, dict[str, int]]], lengths: list[int], unit: int, bounded: bool) -> set[int]:
    """The input positions output ``unit`` reads, by index arithmetic layer by layer (conv: o·S − P + j·D;
    transposed: the i with i·S − P + j·D = o). ``bounded`` drops positions outside each layer's
    extent (what torch computes); unbounded is the Distill idealisation the field describes."""
    cur = {unit}
    for (kind, a), n in zip(reversed(layers), reversed(lengths[:-1]), strict=True):
        k, s, p, d = a["kernel"], a["stride"], a["padding"], a["dilation"]
        if kind == "conv":
            prev = {o * s - p + j * d for o in cur for j in range(k)}
        else:
            prev = {(o + p - j * d) // s for o in cur for j in range(k) if (o + p - j * d) % s == 0}
        cur = {i for i in prev if 0 <= i < n} if bounded else prev
    return cur


@examples(40)
@given(chains_1d())
def test_convtranspose_field_bounds_the_gradient_support(chain: tuple[int, list[tuple[str, dict[str, int]]]]):
    """torch's gradient support of every output unit is what index arithmetic reaches; the positions
    reached without clipping lie inside cnncalc's region, and where every stride is 1 (the field is
    then made of whole pixels) they span it exactly."""
    n, layers = chain
    spec = {"input": [1, n], "layers": [{kind: {"out": 1, "bias": False, **a}} for kind, a in layers]}
    report = analyze(spec)
    field = report.layers[-1].receptive_field
    lengths = [n, *(s.output_shape[-1] for s in report.layers)]
    net = _support_net(layers)
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = net(x)
    assert y.shape[-1] == lengths[-1]
    whole = all(a["stride"] == 1 for _, a in layers)
    for u in range(y.shape[-1]):
        (g,) = torch.autograd.grad(y[0, 0, u], x, retain_graph=True)
        assert torch.nonzero(g[0, 0]).flatten().tolist() == sorted(_reached(layers, lengths, u, bounded=True))
        ideal = _reached(layers, lengths, u, bounded=False)
        ((lo, hi),) = field.region((u,))
        assert all(lo <= i <= hi for i in ideal), (u, sorted(ideal), (lo, hi))
        if whole:
            assert (min(ideal), max(ideal)) == (lo, hi), (u, sorted(ideal), (lo, hi))


def test_convtranspose_field_of_one_layer_is_exact_where_its_ends_are_inputs():
    """One ConvTranspose1d(k=3, s=2, p=1): output o gathers inputs (o + 1 − j)/2, j = 0, 1, 2, so
    it sees [(o − 1)/2, (o + 1)/2]; for odd o both ends are inputs, and the gradient reaches both."""
    spec = {"input": [1, 8], "layers": [{"convtranspose": {"out": 1, "kernel": 3, "stride": 2, "padding": 1, "bias": False}}]}
    field = analyze(spec).layers[-1].receptive_field
    assert (field.size, field.stride) == ((2,), (Fraction(1, 2),))
    net = _support_net([("convtranspose", {"kernel": 3, "stride": 2, "padding": 1, "output_padding": 0, "dilation": 1})])
    x = torch.zeros(1, 1, 8, dtype=torch.float64, requires_grad=True)
    y = net(x)
    for o in range(1, y.shape[-1] - 1, 2):
        (g,) = torch.autograd.grad(y[0, 0, o], x, retain_graph=True)
        support = torch.nonzero(g[0, 0]).flatten().tolist()
        assert field.region((o,)) == (((o - 1) // 2, (o + 1) // 2),) and support == [(o - 1) // 2, (o + 1) // 2]
