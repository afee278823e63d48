"""One-layer calculators: the output size of a conv or pool, its fraction, parameters, multiplications
and receptive field, and which strides and paddings give a wanted size.

The numbers come from the layer rules (``RULES['conv'].infer`` and the pools') on a square input
``(C, N, N)``; this module adds what a student asks on top: the exact fraction (N + 2P − F)/S + 1
("fractions are illegal"), the nearest paddings and strides that make it whole, and the words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import prod
from typing import Any

from .. import arith
from ..layers import RULES
from ..layers.base import REQUIRED, ShapeError, Window
from . import UsageError

LIMIT = 1_000_000  # the largest size, kernel, stride, padding, dilation or channel count accepted
MAX_SOLUTIONS = 200  # solve lists at most this many pairs (and says how many more there are)
SYMBOLIC = "(N + 2P − F)/S + 1"
SYMBOLIC_DILATED = "(N + 2P − D·(F−1) − 1)/S + 1"


def _check(name: str, value: int | None, lo: int) -> None:
    if value is not None and not lo <= value <= LIMIT:
        raise UsageError(f"{name} must be between {lo} and {LIMIT:,}, got {value}")


@dataclass(frozen=True)
class SizeAnswer:
    """Everything ``cnncalc conv`` / ``cnncalc pool`` says about one layer on an N×N input."""

    layer: str
    n: int
    kernel: int
    stride: int
    padding: tuple[int, int]
    dilation: int
    ceil_mode: bool
    size: int
    exact: Fraction
    symbolic: str
    formula: str
    lost: str | None  # what flooring drops, when the size is a fraction
    fit_paddings: tuple[int, ...]
    fit_strides: tuple[int, ...]
    rf: int
    output_shape: tuple[int, ...]
    in_channels: int | None = None
    out_channels: int | None = None
    params: int | None = None
    params_text: str | None = None
    macs: int | None = None
    macs_text: str | None = None

    @property
    def integer(self) -> bool:
        return self.exact.denominator == 1

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "layer": self.layer, "input": self.n, "kernel": self.kernel, "stride": self.stride,
            "padding": self.padding[0] if self.padding[0] == self.padding[1] else list(self.padding),
            "dilation": self.dilation, "size": self.size, "exact": fraction_json(self.exact),
            "integer": self.integer, "formula": self.formula, "rf": self.rf,
            "fit_paddings": list(self.fit_paddings), "fit_strides": list(self.fit_strides),
            "output_shape": list(self.output_shape), "output_values": prod(self.output_shape),
        }
        if self.layer != "conv":
            d["ceil_mode"] = self.ceil_mode
        if self.params is not None:
            d.update({"in": self.in_channels, "out": self.out_channels, "params": self.params, "macs": self.macs})
        return d


def fraction_json(q: Fraction | int) -> int | str:
    """An exact number for JSON: an int as a number, a fraction as the string ``"10/3"``."""
    q = Fraction(q)
    return q.numerator if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def rule_args(layer_type: str, given: dict[str, Any]) -> dict[str, Any]:
    """A layer's full arguments: the rule's defaults, then ``given``."""
    args = {a.name: a.default for a in RULES[layer_type].args if a.default is not REQUIRED}
    args.update(given)
    return args


def _same_padding(f: int, stride: int, dilation: int) -> int | str:
    """'same' as the lecture sets it, P = (F − 1)/2; with stride 1 PyTorch's split (even kernels too)."""
    if stride == 1:
        return "same"
    extent = arith.effective_kernel(f, dilation)
    if extent % 2 == 0:
        raise UsageError(
            f"padding 'same' with stride {stride} needs an odd kernel (P = (F − 1)/2); "
            "give the padding as a number"
        )
    return (extent - 1) // 2


def _infer(layer_type: str, args: dict[str, Any], shape: tuple[int, ...]) -> Any:
    try:
        return RULES[layer_type].infer(args, [shape])
    except ShapeError as e:
        raise UsageError(f"{layer_type} on a {shape[1]}×{shape[2]} input: {e}") from None


def _lost(n: int, f: int, s: int, pads: tuple[int, int], d: int) -> str | None:
    lost = arith.floor_remainder(n, f, s, pads[0], pads[1], d)
    if not lost:
        return None
    real = lost - pads[1]
    if real <= 0:
        return "only padding is dropped, every input pixel is read"
    if real == 1:
        return "the last row and column of the input are never read"
    return f"the last {real} rows and columns of the input are never read"


def nearest_paddings(n: int, f: int, s: int, p: int, d: int = 1, max_padding: int | None = None) -> tuple[int, ...]:
    """The nearest padding below and above ``p`` for which (N + 2P − D·(F−1) − 1)/S is whole."""
    fits = [
        q for q in range(max(0, p - s), p + s + 1)
        if q != p and (max_padding is None or q <= max_padding)
        and arith.window_numerator(n, f, q, q, d) >= 0 and arith.window_numerator(n, f, q, q, d) % s == 0
    ]
    below = [q for q in fits if q < p]
    above = [q for q in fits if q > p]
    return tuple(([max(below)] if below else []) + ([min(above)] if above else []))


def divisors(m: int) -> list[int]:
    """The positive divisors of ``m`` ≥ 1, in order (trial division up to √m)."""
    small, large = [], []
    i = 1
    while i * i <= m:
        if m % i == 0:
            small.append(i)
            if i * i != m:
                large.append(m // i)
        i += 1
    return small + large[::-1]


def nearest_strides(num: int, s: int) -> tuple[int, ...]:
    """The nearest stride below and above ``s`` that divides the window span ``num`` exactly."""
    if num <= 0:
        return ()
    divs = divisors(num)
    below = [t for t in divs if t < s]
    above = [t for t in divs if t > s]
    return tuple(([below[-1]] if below else []) + ([above[0]] if above else []))


def conv(
    n: int, f: int, stride: int = 1, padding: int | str = 0, dilation: int = 1,
    c_in: int | None = None, c_out: int | None = None, bias: bool = True,
) -> SizeAnswer:
    """A conv layer with an F×F kernel on an N×N input (and C_in → K channels, when given)."""
    for name, v, lo in (("N", n, 1), ("F", f, 1), ("stride", stride, 1), ("dilation", dilation, 1),
                        ("--in", c_in, 1), ("--out", c_out, 1)):
        _check(name, v, lo)
    if isinstance(padding, int):
        _check("padding", padding, 0)
    if (c_in is None) != (c_out is None):
        raise UsageError("give both --in (input channels) and --out (filters) for parameters and multiplications")
    pad: int | str = 0 if padding == "valid" else padding
    if pad == "same":
        pad = _same_padding(f, stride, dilation)
    args = rule_args("conv", {"out": c_out or 1, "kernel": f, "stride": stride, "padding": pad,
                              "dilation": dilation, "bias": bias})
    r = _infer("conv", args, (c_in or 1, n, n))
    pads = arith.same_padding(f, dilation) if pad == "same" else (int(pad), int(pad))
    answer = _size_answer("conv", n, f, stride, pads, dilation, False, r.shape, r.rf)
    if c_in is None or c_out is None:
        return answer
    kernel = (f, f)
    return _with_counts(answer, c_in, c_out, r.params, arith.explain_conv_params(kernel, c_in, 1, c_out, bias),
                        r.macs, arith.explain_conv_macs(r.shape, kernel, c_in, 1))


def _with_counts(a: SizeAnswer, c_in: int, c_out: int, params: int, ptext: str, macs: int, mtext: str) -> SizeAnswer:
    from dataclasses import replace

    return replace(a, in_channels=c_in, out_channels=c_out, params=params, params_text=ptext, macs=macs, macs_text=mtext)


def pool(
    n: int, f: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
    ceil_mode: bool = False, kind: str = "max", channels: int | None = None,
) -> SizeAnswer:
    """A max or average pool with an F×F window on an N×N input (stride defaults to F)."""
    for name, v, lo in (("N", n, 1), ("F", f, 1), ("stride", stride, 1), ("padding", padding, 0),
                        ("dilation", dilation, 1), ("--in", channels, 1)):
        _check(name, v, lo)
    layer = f"{kind}pool"
    if kind not in ("max", "avg"):
        raise UsageError(f"unknown pool '{kind}'; expected max or avg")
    given: dict[str, Any] = {"kernel": f, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if dilation != 1:
        if kind == "avg":
            raise UsageError("average pooling has no dilation (PyTorch's AvgPool2d takes none)")
        given["dilation"] = dilation
    r = _infer(layer, rule_args(layer, given), (channels or 1, n, n))
    s = f if stride is None else stride
    return _size_answer(layer, n, f, s, (padding, padding), dilation, ceil_mode, r.shape, r.rf)


def _size_answer(
    layer: str, n: int, f: int, s: int, pads: tuple[int, int], d: int, ceil_mode: bool,
    shape: tuple[int, ...], rf: Any,
) -> SizeAnswer:
    num = arith.window_numerator(n, f, pads[0], pads[1], d)
    exact = Fraction(num, s) + 1
    whole = num % s == 0
    max_padding = f // 2 if layer != "conv" else None
    return SizeAnswer(
        layer=layer, n=n, kernel=f, stride=s, padding=pads, dilation=d, ceil_mode=ceil_mode, size=shape[1],
        exact=exact, symbolic=SYMBOLIC if d == 1 else SYMBOLIC_DILATED,
        formula=arith.explain_out_len(n, f, s, pads[0], pads[1], d, ceil_mode, shape[1]),
        lost=None if whole or ceil_mode else _lost(n, f, s, pads, d),
        fit_paddings=() if whole or pads[0] != pads[1] else nearest_paddings(n, f, s, pads[0], d, max_padding),
        fit_strides=() if whole else nearest_strides(num, s),
        rf=int(rf.kernel[0]) if isinstance(rf, Window) else arith.effective_kernel(f, d),
        output_shape=shape,
    )


# ---- solve: which (stride, padding) give a wanted output size ------------------------------------


@dataclass(frozen=True)
class Pair:
    stride: int
    padding: int
    exact: bool  # (N + 2P − F)/S is whole: no fraction to floor
    formula: str
    or_larger: bool = False  # output 1: every larger stride gives 1 too
    kernel: int = 0


@dataclass(frozen=True)
class Solution:
    n: int
    kernel: int | None  # None: the kernel size was searched too
    out: int
    dilation: int
    pool: bool
    max_padding: int | None  # None: per kernel size (F − 1, or F/2 for a pool)
    stride: int | None
    padding: int | None
    pairs: tuple[Pair, ...]
    more: int = 0  # pairs found but not listed (past MAX_SOLUTIONS)
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.n, "kernel": self.kernel, "out": self.out, "dilation": self.dilation,
            "layer": "pool" if self.pool else "conv",
            "padding_range": None if self.max_padding is None else [0, self.max_padding],
            "pairs": [
                {"kernel": p.kernel, "stride": p.stride, "padding": p.padding, "exact": p.exact, "formula": p.formula,
                 **({"or_larger_stride": True} if p.or_larger else {})}
                for p in self.pairs
            ],
            "more": self.more,
        }


def _strides_for(num: int, out: int) -> range:
    """Strides S with ⌊num/S⌋ + 1 = out, i.e. (out − 1)·S ≤ num < out·S (out ≥ 2)."""
    return range(num // out + 1, num // (out - 1) + 1)


MAX_SEARCHED_KERNEL = 100  # solve without --f tries kernel sizes 1 … min(N, this)


def solve(
    n: int, f: int | None, out: int, dilation: int = 1, stride: int | None = None, padding: int | None = None,
    pool: bool = False, max_padding: int | None = None,
) -> Solution:
    """Every (stride, padding) with ⌊(N + 2P − D·(F−1) − 1)/S⌋ + 1 = out, padding in [0, max_padding].

    The padding range defaults to 0 … F_eff − 1 for a conv (more padding only adds windows that
    see nothing but zeros) and 0 … ⌊F/2⌋ for a pool (PyTorch's limit). Strides need no bound: for
    out ≥ 2 the strides that work form a finite range; for out = 1 the smallest one is listed and
    every larger stride works too. Without ``f`` the kernel size is searched too, from 1 to
    min(N, :data:`MAX_SEARCHED_KERNEL`).
    """
    for name, v, lo in (("--n", n, 1), ("--f", f, 1), ("--out", out, 1), ("--dilation", dilation, 1),
                        ("--stride", stride, 1), ("--padding", padding, 0), ("--max-padding", max_padding, 0)):
        _check(name, v, lo)
    kernels = [f] if f is not None else list(range(1, min(n, MAX_SEARCHED_KERNEL) + 1))
    found: list[Pair] = []
    notes = []
    for k in kernels:
        limit = _padding_limit(k, dilation, pool, max_padding)
        if padding is not None and pool and padding > k // 2:
            if f is not None:
                notes.append(f"a pool's padding is at most ⌊F/2⌋ = {k // 2} (PyTorch refuses more)")
            continue
        pads = [padding] if padding is not None else list(range(limit + 1))
        found += _pairs(n, k, out, dilation, stride, pads, MAX_SOLUTIONS + 10_000 - len(found))
    shown = _padding_limit(f, dilation, pool, max_padding) if f is not None else None
    return Solution(n, f, out, dilation, pool, shown, stride, padding, tuple(found[:MAX_SOLUTIONS]),
                    max(0, len(found) - MAX_SOLUTIONS), tuple(notes))


def _padding_limit(f: int, d: int, pool: bool, max_padding: int | None) -> int:
    limit = f // 2 if pool else arith.effective_kernel(f, d) - 1
    if max_padding is not None:
        limit = min(max_padding, limit) if pool else max_padding
    return limit


def _pairs(n: int, f: int, out: int, d: int, stride: int | None, pads: list[int], budget: int) -> list[Pair]:
    found: list[Pair] = []
    for p in pads:
        num = arith.window_numerator(n, f, p, p, d)
        if num < 0:
            continue
        if out == 1:
            strides: range | list[int] = [num + 1] if stride is None else ([stride] if stride > num else [])
        else:
            strides = _strides_for(num, out)
            if stride is not None:
                strides = [stride] if stride in strides else []
        for s in strides:
            if len(found) >= budget:  # enough to say "and more"; never loop for ever
                return found
            text = arith.explain_out_len(n, f, s, p, p, d)
            found.append(Pair(s, p, num % s == 0, text, or_larger=out == 1 and stride is None, kernel=f))
    return found
