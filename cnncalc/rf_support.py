"""The exact input region of one output unit, through any net (decoders included), by index arithmetic.

:mod:`cnncalc.rf` states a field as an affine (size, stride, padding) per axis: exact for chains of
convolutions and pools, but an upsampling layer maps output unit o to input ⌊o/s⌋ (nearest) or to the
taps around (o + ½)/s − ½ (linear modes), a step function the affine form cannot state, and a
transposed convolution with a stride reads the input with gaps. This module answers the question
directly: starting from one unit, it walks the layers backwards and maps, per spatial axis, the *set*
of indices a tensor is read at to the set of its inputs' indices that reach them, with each layer's
own index arithmetic (PyTorch's semantics). Sets, not intervals: gaps matter when layers are chained
(a dilated or strided window read through a transposed convolution).

A layer's reads are separable per axis, so a unit's demand on a tensor is a union of *boxes* (one set
of indices per axis). A box goes through a layer as a box; joins make unions. Boxes contained in
another are dropped, and two that differ on one axis only become one; past :data:`MAX_BOXES` the
boxes become their per-axis union (a box that contains them: then :attr:`Support.exact` is False).
Sets are runs of consecutive indices, so a whole axis costs one run however long it is; the work is
linear in the number of layers and bounded by :data:`MAX_WORK` (index steps), past which
:class:`NoSupport` says so.

Channels are not tracked: every channel of a tensor is taken to carry every path to it (true after
any dense convolution). A pixel shuffle picks one input channel per output position, so after a
channel concat with no dense convolution between, the region may include a branch that the chosen
channel does not come from (an upper bound there).

The answer, :class:`Support`, is the set of network-input indices per axis and its hull: the first and
last input position (inside the input: the padding is not input) that can change the unit.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError
from .layers import RULES
from .layers.base import GLOBAL, IDENTITY, MERGE, Window
from .rf import Field

if TYPE_CHECKING:
    from .analysis import LayerStats, Report

Run = tuple[int, int]  # first, last (inclusive)
Runs = tuple[Run, ...]  # disjoint, sorted, not touching: one set of indices on one axis
Box = tuple[Runs, ...]  # one set per spatial axis (the empty tuple: a tensor without spatial axes)

MAX_BOXES = 32  # boxes kept per tensor (real nets: one or two)
MAX_WORK = 2_000_000  # index steps in all (a window's taps, an upsampled unit's interpolation taps)
SHORT = 256  # runs of upsampled outputs up to this long have every output's taps computed
INPUT = "input"


class NoSupport(CnncalcError):
    """No exact region: a layer on the way has no index map (it is not spatial), or the work is too large."""


@dataclass(frozen=True)
class Support:
    """The network-input positions that output ``unit`` of ``layer`` can depend on.

    ``positions`` is, per input axis, the set of indices (as runs) that some path reaches; None when
    the unit reads only padding. ``region`` is its hull, [first, last] per axis, inside the input.
    ``mixes`` names the first layer (from the unit back) that mixes every position of its input
    (flatten, linear, global pooling, group norm), or is None. ``exact`` is False only when more than
    :data:`MAX_BOXES` boxes met on one tensor and were merged: ``region`` then contains the true one.
    """

    layer: str
    unit: tuple[int, ...]
    positions: tuple[Runs, ...] | None
    region: tuple[tuple[int, int], ...] | None
    mixes: str | None
    exact: bool = True

    @property
    def gaps(self) -> bool:
        """Whether some axis has positions inside the hull that the unit never reads."""
        return self.positions is not None and any(len(runs) > 1 for runs in self.positions)


def unit_support(report: Report, layer: str, unit: Sequence[int]) -> tuple[tuple[int, int], ...] | None:
    """Per input axis, [first, last] input indices that output ``unit`` of ``layer`` can depend on
    (None: it reads only padding). Raises :class:`NoSupport` where there is no exact answer."""
    return support(report, layer, unit).region


def support(report: Report, layer: str, unit: Sequence[int]) -> Support:
    """The :class:`Support` of output ``unit`` of ``layer`` (a name as ``cnncalc rf --layer`` reads it)."""
    from .spec import resolve_layer

    name = resolve_layer(report, layer)  # UnknownLayerError (a SpecError) with a did-you-mean
    target = report.layer(name)
    spatial = tuple(target.output_shape[2:])
    u = tuple(unit)
    if len(u) != len(spatial) or not all(0 <= i < n for i, n in zip(u, spatial, strict=False)):
        raise NoSupport(
            f"unit ({', '.join(map(str, u))}) is not a unit of layer '{name}', whose output is "
            f"{'×'.join(map(str, spatial)) or 'not spatial'}"
        )
    walk = _Walk(report)
    walk.add(name, tuple(((i, i),) for i in u))
    boxes = walk.run(name)
    return _result(name, u, boxes, walk.mixes, walk.exact)


def _result(name: str, unit: tuple[int, ...], boxes: list[Box], mixes: str | None, exact: bool) -> Support:
    if not boxes:
        return Support(name, unit, None, None, mixes, exact)
    positions = tuple(_union([b[a] for b in boxes]) for a in range(len(boxes[0])))
    region = tuple((runs[0][0], runs[-1][1]) for runs in positions)
    return Support(name, unit, positions, region, mixes, exact)


# ---- sets of indices on one axis ---------------------------------------------------------------

def _norm(runs: Iterable[Run], n: int) -> Runs:
    """``runs`` clipped to 0..n−1, sorted, with overlapping or touching runs joined."""
    if isinstance(runs, list) and len(runs) == 1:  # the usual case: one run
        a, b = runs[0]
        a, b = max(a, 0), min(b, n - 1)
        return ((a, b),) if a <= b else ()
    kept = sorted((max(a, 0), min(b, n - 1)) for a, b in runs if b >= 0 and a <= n - 1 and a <= b)
    out: list[Run] = []
    for a, b in kept:
        if out and a <= out[-1][1] + 1:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return tuple(out)


def _union(sets: Iterable[Runs]) -> Runs:
    return _norm((r for runs in sets for r in runs), 1 << 62)


def _contains(big: Runs, small: Runs) -> bool:
    """Whether every index of ``small`` is in ``big`` (both normalised)."""
    i = 0
    for a, b in small:
        while i < len(big) and big[i][1] < a:
            i += 1
        if i == len(big) or big[i][0] > a or big[i][1] < b:
            return False
    return True


def _points(indices: Iterable[int], n: int) -> Runs:
    return _norm(((i, i) for i in indices), n)


# ---- one layer's index map on one axis (each returns the input indices that output ``runs`` read) --

class _Budget:
    def __init__(self) -> None:
        self.used = 0

    def spend(self, steps: int) -> None:
        self.used += steps
        if self.used > MAX_WORK:
            raise NoSupport(
                f"the exact region needs more than {MAX_WORK:,} index steps (very long axes read with "
                "gaps, or a very deep net); the affine receptive field still applies"
            )


def window(runs: Runs, k: int, s: int, p: int, d: int, n: int, budget: _Budget) -> Runs:
    """Convolution or pooling: output o reads o·s − p + j·d (j = 0 … k−1), the padding dropped."""
    out: list[Run] = []
    for a, b in runs:
        if s == 1 and (k == 1 or d == 1 or b - a + 1 >= d):  # the shifted runs overlap or touch
            out.append((a - p, b - p + (k - 1) * d))
        elif s == 1:
            budget.spend(k)
            out.extend((a - p + j * d, b - p + j * d) for j in range(k))
        elif d == 1 and k >= s:  # neighbouring windows overlap or touch
            out.append((a * s - p, b * s - p + k - 1))
        elif d == 1:
            budget.spend(b - a + 1)
            out.extend((o * s - p, o * s - p + k - 1) for o in range(a, b + 1))
        else:
            budget.spend((b - a + 1) * k)
            out.extend((o * s - p + j * d,) * 2 for o in range(a, b + 1) for j in range(k))
    return _norm(out, n)


def transposed(runs: Runs, k: int, s: int, p: int, d: int, n: int, budget: _Budget) -> Runs:
    """Transposed convolution: output o receives input i iff o = i·s − p + j·d for some j in 0 … k−1."""
    out: list[Run] = []
    for a, b in runs:
        if s == 1 and (d == 1 or b - a + 1 >= d):
            out.append((a + p - (k - 1) * d, b + p))
            continue
        budget.spend(k)
        for j in range(k):
            lo, hi = -((p - j * d + a) // -s), (b + p - j * d) // s  # ceil, floor
            if lo <= hi:
                out.append((lo, hi))
    return _norm(out, n)


def _f32(x: float) -> float:
    """``x`` rounded to the nearest float32 (as C's static_cast<float>)."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def nearest_index(o: int, n: int, out: int, scale: float | None) -> int:
    """ATen's ``nearest_idx`` (mode 'nearest'): the same index where out = n, o >> 1 where out = 2n,
    else min(⌊o·r⌋, n − 1) computed in float32, r = float32(1/scale) where a scale factor was given
    (torch's default recompute_scale_factor=None passes it on), else float32(n)/out."""
    if out == n:
        return o
    if out == 2 * n:
        return o >> 1
    r = _f32(1.0 / scale) if scale is not None and scale > 0 else _f32(_f32(float(n)) / _f32(float(out)))
    return min(floor(_f32(_f32(float(o)) * r)), n - 1)


def _ratio(n: int, out: int, scale: float | None, align: bool) -> Fraction:
    """ATen's ``area_pixel_compute_scale``, exactly: (n−1)/(out−1) aligned, else 1/scale or n/out."""
    if align:
        return Fraction(n - 1, out - 1) if out > 1 else Fraction(0)
    if scale is not None and scale > 0:
        return 1 / written(scale)
    return Fraction(n, out)


def written(scale: float) -> Fraction:
    """The fraction a scale factor writes: the closest with a denominator up to 10⁹ (2.3333333333333335
    is 7/3). ATen computes in floating point, and there 1/scale·(o + ½) − ½ lands on 1.0 for o = 3
    and scale 7/3, not on the float's exact 0.99999999999999989: reading 7/3 gives torch's taps."""
    return Fraction(scale).limit_denominator(10**9)


def _source(o: int, ratio: Fraction, align: bool, cubic: bool) -> Fraction:
    """ATen's ``area_pixel_compute_source_index``: o·ratio aligned, else (o + ½)·ratio − ½ (at least
    0 for the linear modes)."""
    if align:
        return ratio * o
    src = ratio * (o + Fraction(1, 2)) - Fraction(1, 2)
    return src if cubic or src >= 0 else Fraction(0)


def _guard(src: Fraction, n: int) -> tuple[int, Fraction]:
    """ATen's ``guard_index_and_lambda``: i0 = min(⌊src⌋, n − 1) and λ = src − i0 clamped to [0, 1]."""
    i0 = min(floor(src), n - 1)
    return i0, min(max(src - i0, Fraction(0)), Fraction(1))


def linear_taps(o: int, n: int, out: int, scale: float | None, align: bool) -> tuple[int, ...]:
    """The input indices output o of a linear interpolation reads with a non-zero weight (exact
    arithmetic): i0 with 1 − λ and i0 + 1 (i0 at the last index) with λ."""
    if out == n:
        return (o,)
    i0, lam = _guard(_source(o, _ratio(n, out, scale, align), align, False), n)
    i1 = i0 + 1 if i0 < n - 1 else i0
    weights = {i0: 1 - lam}
    weights[i1] = weights.get(i1, Fraction(0)) + lam
    return tuple(sorted(i for i, w in weights.items() if w != 0))


def cubic_coefficients(t: Fraction) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """ATen's ``get_cubic_upsample_coefficients`` (A = −0.75), exactly."""
    a = Fraction(-3, 4)

    def near(x: Fraction) -> Fraction:  # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Fraction) -> Fraction:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def cubic_taps(o: int, n: int, out: int, scale: float | None, align: bool) -> tuple[int, ...]:
    """The input indices output o of bicubic interpolation reads with a non-zero weight: i0 − 1 … i0 + 2
    clamped to the input (weights of one index added), exactly."""
    i0, t = _guard(_source(o, _ratio(n, out, scale, align), align, True), n)
    weights: dict[int, Fraction] = {}
    for m, w in enumerate(cubic_coefficients(t)):
        i = min(max(i0 - 1 + m, 0), n - 1)
        weights[i] = weights.get(i, Fraction(0)) + w
    return tuple(sorted(i for i, w in weights.items() if w != 0))


def interpolate(runs: Runs, n: int, out: int, mode: str, scale: float | None, align: bool,
                budget: _Budget) -> Runs:
    """Upsample (any mode): the union of each output index's taps. For a factor ≥ 1 the nearest and
    linear taps of a run of outputs are one run (the index moves by at most one per output, and it is
    always a tap of non-zero weight), so only the ends of a long run are computed; otherwise every
    output is."""
    if mode == "nearest":
        def taps(o: int) -> tuple[int, ...]:
            return (nearest_index(o, n, out, scale),)
    elif mode == "bicubic":
        def taps(o: int) -> tuple[int, ...]:
            return cubic_taps(o, n, out, scale, align)
    else:
        def taps(o: int) -> tuple[int, ...]:
            return linear_taps(o, n, out, scale, align)
    upsampling = mode != "bicubic" and (out == n or _ratio(n, out, scale, align) <= 1) and out < 1 << 23
    found: list[Run] = []
    for a, b in runs:
        if upsampling and b - a >= SHORT:
            found.append((min(taps(a)), max(taps(b))))
            continue
        budget.spend(4 * (b - a + 1))
        found.extend((i, i) for o in range(a, b + 1) for i in taps(o))
    return _norm(found, n)


def adaptive(runs: Runs, n: int, out: int) -> Runs:
    """Adaptive pooling: output o reads ATen's bin ⌊o·n/out⌋ … ⌈(o+1)·n/out⌉ − 1 (bins overlap or touch)."""
    return _norm(((a * n // out, -((b + 1) * n // -out) - 1) for a, b in runs), n)


def pad(runs: Runs, before: int, n: int, mode: str) -> Runs:
    """Padding: index o is input o − before; outside the input, zeros and constant read nothing,
    reflect mirrors about the edge index, replicate repeats the edge, circular wraps."""
    out: list[Run] = []
    for a, b in runs:
        a, b = a - before, b - before
        out.append((a, b))  # the part inside the input (clipped by _norm)
        left, right = (a, min(b, -1)), (max(a, n), b)
        if mode == "reflect":
            out += [(-left[1], -left[0]), (2 * (n - 1) - right[1], 2 * (n - 1) - right[0])]
        elif mode == "replicate":
            out += [(0, 0)] if left[0] <= left[1] else []
            out += [(n - 1, n - 1)] if right[0] <= right[1] else []
        elif mode == "circular":
            out += [(left[0] + n, left[1] + n), (right[0] - n, right[1] - n)]
    return _norm(((lo, hi) for lo, hi in out if lo <= hi), n)


def scaled(runs: Runs, up: int, down: int, n: int) -> Runs:
    """Pixel (un)shuffle along one axis: o reads ⌊o/down⌋·up … ⌊o/down⌋·up + up − 1."""
    return _norm(((a // down * up, b // down * up + up - 1) for a, b in runs), n)


# ---- layers ------------------------------------------------------------------------------------

Mapper = Callable[[Box], list[Box | None]]  # a box of a layer's output → per input, a box or None


class _Walk:
    """The demand (a list of boxes) on each tensor, walked from the unit back to the network input."""

    def __init__(self, report: Report):
        self.report = report
        self.input = tuple(report.input_shape[1:])
        self.geometry: dict[tuple[Any, ...], Any] = {}  # a rule's geometry by (type, args, input shape)
        self.demand: dict[str, list[Box]] = {}
        self.budget = _Budget()
        self.mixes: str | None = None
        self.exact = True

    def add(self, name: str, box: Box) -> None:
        boxes = self.demand.setdefault(name, [])
        for i, b in enumerate(boxes):
            if all(_contains(x, y) for x, y in zip(b, box, strict=True)):
                return
            differ = [a for a in range(len(box)) if b[a] != box[a]]
            if len(differ) == 1:  # one axis apart: still one box
                a = differ[0]
                boxes.pop(i)
                self.add(name, (*box[:a], _union((b[a], box[a])), *box[a + 1:]))
                return
        boxes[:] = [b for b in boxes if not all(_contains(y, x) for x, y in zip(b, box, strict=True))]
        boxes.append(box)
        if len(boxes) > MAX_BOXES:  # a contrived graph: one box that contains them all
            self.exact = False
            boxes[:] = [tuple(_union([b[a] for b in boxes]) for a in range(len(box)))]

    def run(self, target: str) -> list[Box]:
        layers = self.report.layers
        last = next(i for i in range(len(layers) - 1, -1, -1) if layers[i].name == target)
        for s in reversed(layers[: last + 1]):
            boxes = self.demand.pop(s.name, None)
            if not boxes:
                continue
            mapper = self.mapper(s)
            for box in boxes:
                self.budget.spend(1)
                for src, got in zip(s.inputs, mapper(box), strict=True):
                    if got is not None and all(got):  # an empty axis: the box reads nothing
                        self.add(src, got)
        return self.demand.get(INPUT, [])

    def mapper(self, s: LayerStats) -> Mapper:
        ins = [self.shape(i) for i in s.inputs]
        out = self.shape(s.name)
        f = s.receptive_field
        if isinstance(f, Field) and len(s.inputs) == 1 and s.inputs[0] != INPUT and \
                f is self.report.layer(s.inputs[0]).receptive_field:
            return _same  # an element-wise layer passes its input's field object on (cnncalc.rf.layer_field)
        special = _SPECIAL.get(s.type)
        if special is not None:
            return special(self, s, ins, out)
        how = RULES[s.type].infer(s.args, ins).rf
        if how == IDENTITY:
            return _same
        if how == MERGE:
            return _merge(ins, out)
        if how == GLOBAL:
            if self.mixes is None:
                self.mixes = s.name
            full = [tuple(((0, n - 1),) for n in x[1:]) for x in ins]
            return lambda box: list(full)
        if isinstance(how, Window) and all(type(v) is int for v in (*how.kernel, *how.stride, *how.padding)):
            return self.windows(ins[0], [(int(k), int(st), int(p), 1) for k, st, p in
                                         zip(how.kernel, how.stride, how.padding, strict=True)])
        raise NoSupport(
            f"layer '{s.name}' ({s.type}) has no spatial index map (it reshapes or mixes axes, or "
            "pools into uneven bins), so no input region can be given for units after it"
        )

    def shape(self, name: str) -> tuple[int, ...]:
        """A tensor's per-sample shape (C, *spatial)."""
        return self.input if name == INPUT else tuple(self.report.layer(name).output_shape[1:])

    def rule_geometry(self, s: LayerStats, x: tuple[int, ...]) -> Any:
        """The rule's own ``geometry(args, x)`` (padding 'same' resolved and so on), once per kind of layer."""
        key = (s.type, tuple(s.args.items()), x)
        try:
            return self.geometry[key]
        except KeyError:
            self.geometry[key] = RULES[s.type].geometry(s.args, x)  # type: ignore[attr-defined]
            return self.geometry[key]
        except TypeError:  # an argument that is not hashable (arguments are normalised to tuples)
            return RULES[s.type].geometry(s.args, x)  # type: ignore[attr-defined]

    def windows(self, x: tuple[int, ...], geo: Sequence[tuple[int, int, int, int]]) -> Mapper:
        """A sliding window per axis: (kernel, stride, left padding, dilation)."""
        n, budget = x[1:], self.budget
        return lambda box: [tuple(window(box[a], k, st, p, d, n[a], budget) for a, (k, st, p, d) in enumerate(geo))]


def _same(box: Box) -> list[Box | None]:
    return [box]


def _merge(ins: Sequence[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    """add and mul (and any other join): every input is read at the same index, except along an axis
    where an input has size 1 and the output does not (broadcast): there it is read at index 0."""
    def mapper(box: Box) -> list[Box | None]:
        return [
            tuple(((0, 0),) if x[1 + a] == 1 and out[1 + a] != 1 else box[a] for a in range(len(box)))
            for x in ins
        ]
    return mapper


def _concat(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    """Along channels, every input at the same index; along spatial axis a, the input owning the slice."""
    rank = len(out)
    dim = s.args["dim"] + rank + 1 if s.args["dim"] < 0 else s.args["dim"]
    if dim == 1:
        return lambda box: [box] * len(ins)
    axis = dim - 2
    starts = [sum(x[dim - 1] for x in ins[:i]) for i in range(len(ins))]

    def mapper(box: Box) -> list[Box | None]:
        got: list[Box | None] = []
        for x, start in zip(ins, starts, strict=True):
            part = _norm(((a - start, b - start) for a, b in box[axis]), x[dim - 1])
            got.append((*box[:axis], part, *box[axis + 1:]) if part else None)
        return got
    return mapper


def _conv(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    k, st, d, pads, _ = walk.rule_geometry(s, ins[0])
    return walk.windows(ins[0], [(k[a], st[a], pads[a][0], d[a]) for a in range(len(k))])


def _pool(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    k, st, p, d, _ = walk.rule_geometry(s, ins[0])
    return walk.windows(ins[0], [(k[a], st[a], p[a], d[a]) for a in range(len(k))])


def _transposed(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    k, st, p, _, d, _ = walk.rule_geometry(s, ins[0])
    n, budget = ins[0][1:], walk.budget
    return lambda box: [tuple(transposed(box[a], k[a], st[a], p[a], d[a], n[a], budget) for a in range(len(k)))]


def _upsample(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    x, a = ins[0], s.args
    nd = len(x) - 1
    raw = a["scale"] if a["size"] is None else None
    scales: tuple[Any, ...] = raw if isinstance(raw, tuple) else (raw,) * nd
    align = bool(a["align_corners"])
    budget = walk.budget
    return lambda box: [tuple(
        interpolate(box[i], x[1 + i], out[1 + i], a["mode"], None if scales[i] is None else float(scales[i]),
                    align, budget)
        for i in range(nd)
    )]


def _adaptive(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    x = ins[0]
    if all(o == 1 for o in out[1:]) and walk.mixes is None:
        walk.mixes = s.name
    return lambda box: [tuple(adaptive(box[i], x[1 + i], out[1 + i]) for i in range(len(box)))]


def _pad(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    pads = walk.rule_geometry(s, ins[0])
    n, mode = ins[0][1:], s.args["mode"]
    return lambda box: [tuple(pad(box[i], pads[i][0], n[i], mode) for i in range(len(box)))]


def _shuffle(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    """(C·r², H, W) ↔ (C, H·r, W·r): o reads o // r (shuffle) or o·r … o·r + r − 1 (unshuffle) on H and W.
    With more than two spatial axes torch's channel axis is the third from the end, a spatial axis of
    the spec, and which of its indices a unit reads depends on the unit's H and W: not separable, so
    refused."""
    r, x = s.args["factor"], ins[0]
    nd = len(x) - 1
    if nd != 2:
        raise NoSupport(
            f"layer '{s.name}' ({s.type}) on {nd} spatial axes folds the third-from-last axis into the last "
            "two, so no input region can be given for units after it"
        )
    u, d = (r, 1) if s.type == "pixelunshuffle" else (1, r)  # o reads ⌊o/d⌋·u … + u − 1
    return lambda box: [tuple(scaled(box[a], u, d, x[1 + a]) for a in range(nd))]


def _slice(walk: _Walk, s: LayerStats, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> Mapper:
    """A range of channels: the same units; a range of a spatial axis: output o reads start + o·step."""
    x = ins[0]
    axis, kept = RULES["slice"].indices(s.args, x)  # type: ignore[attr-defined]
    if axis == 0:
        return _same
    geo = [(1, 1, 0, 1)] * (len(x) - 1)
    geo[axis - 1] = (1, kept.step, -kept.start, 1)
    return walk.windows(x, geo)


_SPECIAL: dict[str, Callable[[_Walk, LayerStats, list[tuple[int, ...]], tuple[int, ...]], Mapper]] = {
    "slice": _slice,
    "conv": _conv,
    "locallyconnected": _conv,
    "maxpool": _pool,
    "avgpool": _pool,
    "convtranspose": _transposed,
    "upsample": _upsample,
    "adaptiveavgpool": _adaptive,
    "adaptivemaxpool": _adaptive,
    "pad": _pad,
    "pixelshuffle": _shuffle,
    "pixelunshuffle": _shuffle,
    "concat": _concat,
}
