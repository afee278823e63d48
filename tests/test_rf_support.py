"""The exact input region of one unit (cnncalc.rf_support), against independent references.

1. Gradient support in torch: random decoder-like 2-D nets (convolutions, average pools, transposed
   convolutions, upsampling in every mode with align_corners both ways, padding in every mode, pixel
   (un)shuffle, add, mul, concat along channels and along a spatial axis) are built here in torch,
   layer by layer, next to the equivalent spec. Every weight is positive and random, no bias, float64.
   The gradient of one output position (summed over channels) is non-zero exactly at the input
   positions some path reaches (bicubic weights can be negative: an exact cancellation would need a
   coincidence of random weights). Per axis, the set of input rows (columns) where it is non-zero
   must be the set cnncalc gives, and the hull its region. "Non-zero" is above 1e-12 of the largest
   entry: ATen's floating point (fused multiply-adds) gives taps whose exact weight is 0 a weight of
   ~1e-17, and cnncalc's arithmetic is exact.
2. Hand-worked cases: nearest ×2 after a strided conv, the U-Net's and FCN-32s's units, gaps.
3. Conv/pool chains: the exact region equals the affine field's region clipped to the input
   (cnncalc.rf_trace), where both apply.
"""

from __future__ import annotations

import random

import pytest
from _support import require_torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.rf_support import (
    NoSupport,
    cubic_coefficients,
    cubic_taps,
    linear_taps,
    nearest_index,
    support,
    unit_support,
)
from cnncalc.rf_trace import trace

torch = require_torch()
from torch.nn import functional as F  # noqa: E402

MAX_SIDE = 40
SETTINGS = settings(derandomize=True, deadline=None, max_examples=30,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def spec_of(layers: list[dict], side: tuple[int, int]) -> dict:
    return {"name": "t", "input": [1, *side], "layers": layers}


def rows_cols(points: set[tuple[int, int]] | None) -> tuple[list[int], list[int]] | None:
    if not points:
        return None
    return sorted({i for i, _ in points}), sorted({j for _, j in points})


def expand(runs) -> list[int]:
    return [i for a, b in runs for i in range(a, b + 1)]


# ---- a random net, built in torch and written as a spec side by side ----------------------------

class Net:
    """A 2-D net being built: torch functions on named tensors, and the spec's layers."""

    def __init__(self, side: tuple[int, int], rng: random.Random):
        self.rng = rng
        self.layers: list[dict] = []
        self.fns: list[tuple[str, list[str], object]] = []
        self.shapes = {"input": (1, *side)}
        self.last = "input"
        self.count = 0

    def weight(self, *shape: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.rng.randrange(1 << 30))
        return 0.5 + torch.rand(*shape, generator=g, dtype=torch.float64)

    def add(self, spec: dict, fn, inputs: list[str] | None = None) -> bool:
        """Append one layer if torch accepts it and its output stays small; False otherwise."""
        inputs = inputs or [self.last]
        probe = [torch.zeros(1, *self.shapes[i], dtype=torch.float64) for i in inputs]
        try:
            with torch.no_grad():
                y = fn(*probe)
        except (RuntimeError, ValueError):
            return False
        shape = tuple(y.shape[1:])
        if min(shape) < 1 or max(shape[1:]) > MAX_SIDE:
            return False
        self.count += 1
        name = f"l{self.count}"
        self.layers.append({**spec, "name": name, "from": inputs})
        self.fns.append((name, inputs, fn))
        self.shapes[name] = shape
        self.last = name
        return True

    def run(self, x: torch.Tensor) -> torch.Tensor:
        values = {"input": x}
        for name, inputs, fn in self.fns:
            values[name] = fn(*(values[i] for i in inputs))
        return values[self.last]


def draw_conv(d: st.DataObject, net: Net) -> bool:
    c = net.shapes[net.last][0]
    k = [d.draw(st.integers(1, 4)) for _ in range(2)]
    s = [d.draw(st.integers(1, 3)) for _ in range(2)]
    dil = [d.draw(st.integers(1, 3)) for _ in range(2)]
    p = [d.draw(st.integers(0, 2)) for _ in range(2)]
    out = d.draw(st.integers(1, 2))
    w = net.weight(out, c, *k)
    return net.add({"conv": {"out": out, "kernel": k, "stride": s, "padding": p, "dilation": dil, "bias": False}},
                   lambda x: F.conv2d(x, w, stride=s, padding=p, dilation=dil))


def draw_pool(d: st.DataObject, net: Net) -> bool:
    k = [d.draw(st.integers(1, 3)) for _ in range(2)]
    s = [d.draw(st.integers(1, 3)) for _ in range(2)]
    p = [d.draw(st.integers(0, kk // 2)) for kk in k]
    ceil = d.draw(st.booleans())
    # average pooling has max pooling's geometry, and a gradient on every position of the window
    return net.add({"avgpool": {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil}},
                   lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil))


def draw_transposed(d: st.DataObject, net: Net) -> bool:
    c = net.shapes[net.last][0]
    k = [d.draw(st.integers(1, 4)) for _ in range(2)]
    s = [d.draw(st.integers(1, 3)) for _ in range(2)]
    dil = [d.draw(st.integers(1, 2)) for _ in range(2)]
    p = [d.draw(st.integers(0, 2)) for _ in range(2)]
    op = [d.draw(st.integers(0, max(s[a], dil[a]) - 1)) for a in range(2)]
    out = d.draw(st.integers(1, 2))
    w = net.weight(c, out, *k)
    spec = {"convtranspose": {"out": out, "kernel": k, "stride": s, "padding": p, "output_padding": op,
                              "dilation": dil, "bias": False}}
    return net.add(spec, lambda x: F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, dilation=dil))


def draw_upsample(d: st.DataObject, net: Net) -> bool:
    mode = d.draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))
    align = None if mode == "nearest" else d.draw(st.booleans())
    _, h, w = net.shapes[net.last]
    if d.draw(st.booleans()):
        size = [d.draw(st.integers(1, 3 * n)) for n in (h, w)]
        spec, kw = {"size": size}, {"size": tuple(size)}
    else:
        scale = [d.draw(st.sampled_from([0.5, 0.75, 1.5, 2.0, 2.5, 3.0, 7 / 3, 1 / 3, 1.25])) for _ in range(2)]
        spec, kw = {"scale": scale}, {"scale_factor": tuple(scale)}
        if mode == "bicubic" and all(int(n * sc) == n for n, sc in zip((h, w), scale, strict=True)):
            return False  # ATen's bicubic backward copies here (its forward interpolates): skip the corner
    if align is not None:
        spec["align_corners"] = align
    return net.add({"upsample": {**spec, "mode": mode}}, lambda x: F.interpolate(x, mode=mode, align_corners=align, **kw))


def draw_pad(d: st.DataObject, net: Net) -> bool:
    mode = d.draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    sides = [d.draw(st.integers(0, 3)) for _ in range(4)]  # left, right, top, bottom (F.pad's order)
    torch_mode = "constant" if mode == "zeros" else mode
    return net.add({"pad": {"padding": sides, "mode": mode}}, lambda x: F.pad(x, sides, mode=torch_mode))


def draw_slice(d: st.DataObject, net: Net) -> bool:
    """x[:, a:b], x[:, :, a:b:s] or x[..., a:b:s]: channels or one spatial axis, Python's slicing."""
    shape = net.shapes[net.last]
    dim = d.draw(st.integers(1, 3))
    n = shape[dim - 1]
    start = d.draw(st.integers(0, n - 1))
    end = d.draw(st.integers(start + 1, n))
    step = 1 if dim == 1 else d.draw(st.integers(1, 3))
    index = (slice(None),) * dim + (slice(start, end, step),)
    return net.add({"slice": {"dim": dim, "start": start, "end": end, "step": step}}, lambda x: x[index])


def draw_shuffle(d: st.DataObject, net: Net) -> bool:
    r = d.draw(st.integers(2, 3))
    if d.draw(st.booleans()):
        c = net.shapes[net.last][0]
        w = net.weight(r * r, c, 1, 1)
        if not net.add({"conv": {"out": r * r, "kernel": 1, "bias": False}}, lambda x: F.conv2d(x, w)):
            return False
        return net.add({"pixelshuffle": {"factor": r}}, lambda x: F.pixel_shuffle(x, r))
    return net.add({"pixelunshuffle": {"factor": r}}, lambda x: F.pixel_unshuffle(x, r))


def draw_branch(d: st.DataObject, net: Net) -> str:
    """A short branch from the current tensor: one or two layers; returns its last tensor's name."""
    for _ in range(d.draw(st.integers(1, 2))):
        d.draw(st.sampled_from([draw_conv, draw_pool, draw_transposed, draw_upsample, draw_pad]))(d, net)
    return net.last


def draw_join(d: st.DataObject, net: Net) -> bool:
    """Two branches from one tensor, cropped or resized to a common shape, then joined."""
    start = net.last
    a = draw_branch(d, net)
    net.last = start
    b = draw_branch(d, net)
    kind = d.draw(st.sampled_from(["add", "mul", "concat", "concat_h", "concat_w", "gate"]))
    sa, sb = net.shapes[a], net.shapes[b]
    if kind == "gate":  # a squeeze-and-excitation gate: b pooled to 1×1 multiplies a
        if not net.add({"adaptiveavgpool": {"out": 1}}, lambda x: F.adaptive_avg_pool2d(x, 1), [b]):
            return False
        g = net.last
        if net.shapes[g][0] != sa[0]:
            return False
        return net.add({"mul": None}, lambda x, y: x * y, [a, g])
    if kind in ("add", "mul", "concat") and sa[1:] != sb[1:]:
        size = list(sa[1:])  # b resized (nearest, by size) to a's spatial shape
        if not net.add({"upsample": {"size": size}}, lambda x: F.interpolate(x, size=tuple(size)), [b]):
            return False
        b = net.last
    if kind in ("add", "mul"):
        if net.shapes[a][0] != net.shapes[b][0]:
            return False
        op = (lambda x, y: x + y) if kind == "add" else (lambda x, y: x * y)
        return net.add({kind: None}, op, [a, b])
    dim = {"concat": 1, "concat_h": 2, "concat_w": 3}[kind]
    return net.add({"concat": {"dim": dim}}, lambda x, y: torch.cat([x, y], dim), [a, b])


STEPS = [draw_conv, draw_pool, draw_transposed, draw_upsample, draw_pad, draw_shuffle, draw_slice, draw_join]


def torch_support(net: Net, side: tuple[int, int], unit: tuple[int, int]) -> set[tuple[int, int]]:
    x = torch.rand(1, 1, *side, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.5
    x.requires_grad_(True)
    y = net.run(x)
    (g,) = torch.autograd.grad(y[0, :, unit[0], unit[1]].sum(), x)
    a = g[0, 0].abs()
    if float(a.max()) == 0:
        return set()
    return {(int(i), int(j)) for i, j in (a > 1e-12 * a.max()).nonzero().tolist()}


@SETTINGS
@given(st.data())
def test_matches_torch_gradient_support(data: st.DataObject) -> None:
    side = (data.draw(st.integers(3, 12)), data.draw(st.integers(3, 12)))
    net = Net(side, random.Random(data.draw(st.integers(0, 1 << 30))))
    for _ in range(data.draw(st.integers(1, 5))):
        data.draw(st.sampled_from(STEPS))(data, net)
    if not net.layers:
        return
    report = cnncalc.analyze(spec_of(net.layers, side))
    out = net.shapes[net.last][1:]
    assert tuple(report.layers[-1].output_shape[2:]) == out  # the spec is the same net
    units = {((out[0] - 1) // 2, (out[1] - 1) // 2), (0, 0), (out[0] - 1, out[1] - 1)}
    units.add((data.draw(st.integers(0, out[0] - 1)), data.draw(st.integers(0, out[1] - 1))))
    for unit in sorted(units):
        want = rows_cols(torch_support(net, side, unit))
        got = support(report, net.last, unit)
        if want is None:
            assert got.positions is None and got.region is None, (net.layers, unit)
            continue
        assert got.positions is not None, (net.layers, unit)
        assert (expand(got.positions[0]), expand(got.positions[1])) == want, (net.layers, unit)
        assert got.region == ((want[0][0], want[0][-1]), (want[1][0], want[1][-1]))


# ---- the index arithmetic of single layers, against torch directly ------------------------------

@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_upsample_taps_each_output(mode: str, n: int) -> None:
    """Every output row of upsampling (scale factors and sizes, align_corners both ways) against the
    rows its gradient reaches."""
    aligns = [None] if mode == "nearest" else [False, True]
    cases = [{"scale_factor": (sc, 1.0)} for sc in (0.5, 0.7, 1.5, 1.7, 2.0, 2.5, 3.0, 7 / 3, 1 / 3) if int(n * sc) >= 1]
    cases += [{"size": (m, 4)} for m in (1, 2, 3, 4, 6, 9, 11)]
    for align in aligns:
        for kw in cases:
            out = kw["size"][0] if "size" in kw else int(n * kw["scale_factor"][0])
            if mode == "bicubic" and out == n and "scale_factor" in kw:
                continue  # ATen's bicubic backward copies where every size is kept (its forward does not)
            x = torch.rand(1, 1, n, 4, dtype=torch.float64)
            jac = torch.autograd.functional.jacobian(
                lambda x, kw=kw, align=align: F.interpolate(x, mode=mode, align_corners=align, **kw)[0, 0, :, 1], x,
                vectorize=True,
            )[:, 0, 0].abs().sum(dim=2)  # output row × input row
            scale = kw["scale_factor"][0] if "scale_factor" in kw else None
            for o in range(out):
                a = jac[o]
                want = (a > 1e-12 * a.max()).nonzero().flatten().tolist()
                if mode == "nearest":
                    got = [nearest_index(o, n, out, scale)]
                elif mode == "bilinear":
                    got = list(linear_taps(o, n, out, scale, bool(align)))
                else:
                    got = list(cubic_taps(o, n, out, scale, bool(align)))
                assert got == want, (mode, n, kw, align, o)


def test_bicubic_kept_size_follows_the_forward() -> None:
    """Where bicubic keeps every size at a scale ≠ 1, ATen's forward interpolates (1/1.2 per step)
    and its backward copies: cnncalc follows the forward, found here by perturbing each input row."""
    x = torch.rand(1, 1, 3, 5, dtype=torch.float64)
    y0 = F.interpolate(x, scale_factor=(1.2, 1.0), mode="bicubic", align_corners=False)
    for o in range(3):
        rows = []
        for i in range(3):
            x2 = x.clone()
            x2[0, 0, i] += 1
            y = F.interpolate(x2, scale_factor=(1.2, 1.0), mode="bicubic", align_corners=False)
            if float((y - y0)[0, 0, o, 2].abs()) > 1e-12:
                rows.append(i)
        r = cnncalc.analyze(spec_of([{"upsample": {"scale": [1.2, 1.0], "mode": "bicubic"}, "name": "u"}], (3, 5)))
        assert expand(support(r, "u", (o, 2)).positions[0]) == rows


def test_cubic_coefficients_by_hand() -> None:
    """Keys' cubic with A = −0.75 at t = ½: (−3/32, 19/32, 19/32, −3/32); at t = 0: (0, 1, 0, 0)."""
    from fractions import Fraction as Q

    assert cubic_coefficients(Q(1, 2)) == (Q(-3, 32), Q(19, 32), Q(19, 32), Q(-3, 32))
    assert cubic_coefficients(Q(0)) == (0, 1, 0, 0)


# ---- hand-worked cases ---------------------------------------------------------------------------

def one(layers: list[dict], side: tuple[int, ...]):
    return cnncalc.analyze({"name": "t", "input": [1, *side], "layers": layers})


def test_nearest_after_strided_conv() -> None:
    """conv 3×3 stride 2 on 9×9 → 4×4 (unit o reads 2o … 2o + 2); nearest ×2 → 8×8 (o reads ⌊o/2⌋).
    Unit (5, 2): conv unit (2, 1): rows 4…6, columns 2…4. The affine field stops at the upsample."""
    r = one([{"conv": {"out": 2, "kernel": 3, "stride": 2}, "name": "c"},
             {"upsample": {"scale": 2}, "name": "up"}], (9, 9))
    assert unit_support(r, "up", (5, 2)) == ((4, 6), (2, 4))
    assert unit_support(r, "up", (7, 0)) == ((6, 8), (0, 2))
    assert r.layer("up").receptive_field is None  # what the affine recurrence cannot state


def test_unet_head_units() -> None:
    """specs/unet_small.yaml on 64×64, per axis (both axes alike). Head unit 31 (1×1 conv): dec1's two
    3×3 convs → 29…33 on cat1 = enc1 and up1. up1 (k 2, s 2) reads ⌊o/2⌋: 14…16; dec2: 12…18 on cat2 =
    enc2 and up2; up2: 6…9; bottom: 4…11; pool2: 8…23; enc2: 6…25; pool1: 12…51; enc1: 10…53. The
    skip paths see less (enc2 from 12…18: 18…43; enc1 from 29…33: 27…35). So 10…53, 44 pixels; the
    affine field (r 47, P 23) says 8…54. Unit 0: clipped at every conv, 0…21 (affine: 0…23)."""
    r = cnncalc.analyze("specs/unet_small.yaml")
    assert unit_support(r, "head", (31, 31)) == ((10, 53), (10, 53))
    assert unit_support(r, "head", (0, 0)) == ((0, 21), (0, 21))
    assert trace(r, "head", (31, 31)).region.clipped == ((8, 54), (8, 54))  # the affine bound, larger


def test_fcn32s_upscore_units() -> None:
    """specs/fcn32s.yaml on 224×224. upscore (k 64, s 32, P 16): output o receives score_fr i with
    o = 32i − 16 + j, j < 64, so i = ⌈(o − 47)/32⌉ … ⌊(o + 16)/32⌋. The centre 111: i = 2…3; fc6
    (7×7, P 3) reads −1…6 → all of pool5's 0…6: the whole image. Unit 0: i = 0; fc6 reads 0…3 of
    pool5, whose unit 3 sees −90 + 3·32 + 211 = 217: input 0…217."""
    r = cnncalc.analyze("specs/fcn32s.yaml")
    assert unit_support(r, "upscore", (111, 111)) == ((0, 223), (0, 223))
    assert unit_support(r, "upscore", (0, 0)) == ((0, 217), (0, 217))


def test_gaps_survive_chaining() -> None:
    """A transposed conv with kernel 1 and stride 2 on 4 → 7: output o holds input o/2 for even o and
    nothing for odd o. A 3-wide conv (dilation 2) after it reads o, o + 2, o + 4: at odd o only
    zeros; at even o inputs o/2 … o/2 + 2. An interval-only method would say odd units see 2 pixels."""
    r = one([{"convtranspose": {"out": 1, "kernel": 1, "stride": 2}, "name": "t"},
             {"conv": {"out": 1, "kernel": [3, 1], "dilation": [2, 1]}, "name": "c"}], (4, 1))
    assert unit_support(r, "c", (1, 0)) is None
    assert unit_support(r, "c", (2, 0)) == ((1, 3), (0, 0))
    s = support(r, "t", (3, 0))
    assert s.positions is None  # an odd output of the transposed conv reads no input


def test_dilated_conv_gap_positions() -> None:
    """conv 3 dilation 3: unit 0 reads 0, 3, 6 — three positions with gaps, hull 0…6."""
    s = support(one([{"conv": {"out": 1, "kernel": [3, 1], "dilation": [3, 1]}, "name": "c"}], (9, 1)), "c", (0, 0))
    assert s.positions == (((0, 0), (3, 3), (6, 6)), ((0, 0),)) and s.gaps and s.region == ((0, 6), (0, 0))


@pytest.mark.parametrize(("mode", "rows"), [
    ("zeros", (None, None)),  # rows 0, 1 of a 2-row top padding hold no input
    ("reflect", (2, 1)),  # mirrored about row 0: input rows 2, 1
    ("replicate", (0, 0)),
    ("circular", (3, 4)),  # wrapped: the last two of 5 rows
])
def test_pad_modes_by_hand(mode: str, rows) -> None:
    r = one([{"pad": {"padding": [0, 0, 2, 0], "mode": mode}, "name": "p"}], (5, 1))
    for o, i in enumerate(rows):
        assert unit_support(r, "p", (o, 0)) == (None if i is None else ((i, i), (0, 0)))
    assert unit_support(r, "p", (4, 0)) == ((2, 2), (0, 0))


def test_pixel_shuffle_and_unshuffle() -> None:
    """shuffle ×2: output (5, 3) reads input (2, 1); unshuffle ×2: output (1, 2) reads rows 2…3, columns 4…5."""
    r = one([{"conv": {"out": 4, "kernel": 1}, "name": "c"}, {"pixelshuffle": {"factor": 2}, "name": "s"}], (4, 4))
    assert unit_support(r, "s", (5, 3)) == ((2, 2), (1, 1))
    r = one([{"pixelunshuffle": {"factor": 2}, "name": "u"}], (4, 6))
    assert unit_support(r, "u", (1, 2)) == ((2, 3), (4, 5))


def test_pixel_shuffle_of_3d_input_is_refused() -> None:
    """On (C, D, H, W) torch shuffles D as channels: output (d, h, w) reads D index d·r² + (h mod r)·r +
    (w mod r), which couples the axes (no per-axis region), so there is none."""
    r = one([{"pixelshuffle": {"factor": 2}, "name": "s"}], (8, 4, 4))
    with pytest.raises(NoSupport, match="'s'"):
        support(r, "s", (1, 1, 6))


def test_concat_along_a_spatial_axis() -> None:
    """Two 3×3 convs (padding 1) on 6×6 joined along H into 12×6: row 7 belongs to the second, its
    row 1, which reads input rows 0…2."""
    layers = [{"conv": {"out": 1, "kernel": 3, "padding": 1}, "name": "a", "from": ["input"]},
              {"conv": {"out": 1, "kernel": 3, "padding": 1}, "name": "b", "from": ["input"]},
              {"concat": {"dim": 2}, "from": ["a", "b"], "name": "cat"}]
    r = one(layers, (6, 6))
    assert unit_support(r, "cat", (7, 0)) == ((0, 2), (0, 1))
    assert unit_support(r, "cat", (0, 5)) == ((0, 1), (4, 5))


def test_boxes_are_kept_apart() -> None:
    """Row 0 of a spatial concat reads the top-left branch; row 4 the other one, 6 columns over: the
    union of the two boxes is not their bounding box, and a padding after the join keeps that."""
    layers = [
        {"pad": {"padding": [0, 6, 0, 0]}, "name": "a", "from": ["input"]},  # 2×2 → 2×8, columns 0…1 input
        {"pad": {"padding": [6, 0, 0, 0]}, "name": "b", "from": ["input"]},  # 2×8, columns 6…7 input
        {"concat": {"dim": 2}, "from": ["a", "b"], "name": "cat"},  # 4×8
        {"conv": {"out": 1, "kernel": [4, 1]}, "name": "c"},  # 1×8: reads all 4 rows
    ]
    r = one(layers, (2, 2))
    assert unit_support(r, "c", (0, 0)) == ((0, 1), (0, 0))
    assert unit_support(r, "c", (0, 3)) is None  # column 3: zeros in both branches
    assert unit_support(r, "c", (0, 7)) == ((0, 1), (1, 1))


def test_global_layers() -> None:
    """An SE gate (global pooling) makes every unit read the whole input; a linear after flatten too;
    a layer with no index map (a real permute) has no region."""
    layers = [{"conv": {"out": 4, "kernel": 3, "padding": 1}, "name": "c"},
              {"adaptiveavgpool": {"out": 1}, "name": "g"},
              {"mul": None, "from": ["c", "g"], "name": "m"}]
    s = support(one(layers, (8, 8)), "m", (0, 0))
    assert s.region == ((0, 7), (0, 7)) and s.mixes == "g"
    r = one([{"conv": {"out": 2, "kernel": 3, "stride": 3}, "name": "c"}, {"flatten": None, "name": "f"},
             {"linear": {"out": 3}, "name": "fc"}], (10, 10))
    assert unit_support(r, "fc", ()) == ((0, 8), (0, 8))  # a 3-wide stride-3 conv on 10 never reads row 9
    r = one([{"permute": {"dims": [0, 1, 3, 2]}, "name": "p"}], (4, 6))
    with pytest.raises(NoSupport, match="'p'"):
        support(r, "p", (0, 0))


def test_uneven_adaptive_bins() -> None:
    """Adaptive pooling 7 → 3 has ATen's bins [⌊7o/3⌋, ⌈7(o+1)/3⌉): 0…2, 2…4, 4…6 (no affine field).
    After a 3×3 conv (padding 1), unit (1, 2) reads conv rows 2…4, columns 4…6: input 1…5, 3…6."""
    r = one([{"conv": {"out": 1, "kernel": 3, "padding": 1}, "name": "c"},
             {"adaptiveavgpool": {"out": 3}, "name": "ap"}], (7, 7))
    assert r.layer("ap").receptive_field is None
    assert unit_support(r, "ap", (1, 2)) == ((1, 5), (3, 6))


def test_unit_outside_the_layer() -> None:
    r = one([{"conv": {"out": 1, "kernel": 3}, "name": "c"}], (5, 5))
    with pytest.raises(NoSupport, match="not a unit"):
        support(r, "c", (3, 0))
    with pytest.raises(NoSupport, match="not a unit"):
        support(r, "c", (0,))


def test_huge_axis_stays_cheap() -> None:
    """A 2³⁰-wide axis: one run, however long (no set of a billion indices)."""
    r = one([{"conv": {"out": 1, "kernel": [1, 3], "padding": [0, 1]}, "name": "c"},
             {"upsample": {"scale": [1, 2], "mode": "bilinear"}, "name": "u"}], (1, 1 << 30))
    assert unit_support(r, "u", (0, 1 << 30)) == ((0, 0), ((1 << 29) - 2, (1 << 29) + 1))


# ---- agreement with the affine field where both apply ---------------------------------------------

@st.composite
def chains(draw):
    """conv/pool chains (2-D, per-axis geometry); 'exact' when no layer floors (every input row is read
    by a window, dilation 1)."""
    side = [draw(st.integers(8, 40)), draw(st.integers(8, 40))]
    layers, exact = [], True
    n = list(side)
    for i in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
        k = [draw(st.integers(1, 5)) for _ in range(2)]
        s = [draw(st.integers(1, 3)) for _ in range(2)]
        dil = [draw(st.integers(1, 2)) if op != "avgpool" else 1 for _ in range(2)]
        p = [draw(st.integers(0, kk // 2)) for kk in k]
        ext = [dil[a] * (k[a] - 1) + 1 for a in range(2)]
        if any(n[a] + 2 * p[a] < ext[a] for a in range(2)):
            break
        exact &= all((n[a] + 2 * p[a] - ext[a]) % s[a] == 0 and dil[a] == 1 for a in range(2))
        args = {"kernel": k, "stride": s, "padding": p}
        if op != "avgpool":
            args["dilation"] = dil
        if op == "conv":
            args["out"] = 1
        layers.append({op: args, "name": f"l{i}"})
        n = [(n[a] + 2 * p[a] - ext[a]) // s[a] + 1 for a in range(2)]
    return side, layers, exact


@settings(derandomize=True, deadline=None, max_examples=40)
@given(chains())
def test_agrees_with_the_affine_field(chain) -> None:
    side, layers, exact = chain
    if not layers:
        return
    r = one(layers, tuple(side))
    last = layers[-1]["name"]
    out = r.layer(last).output_shape[2:]
    for unit in {(0, 0), ((out[0] - 1) // 2, (out[1] - 1) // 2), (out[0] - 1, out[1] - 1)}:
        region = trace(r, last, unit).region
        inside = all(a >= 0 and b <= n - 1 for (a, b), n in zip(region.seen, side, strict=True))
        if exact or inside:
            assert unit_support(r, last, unit) == region.clipped, (layers, unit)
