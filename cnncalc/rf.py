"""Receptive fields, after Araujo, Norris & Sim, "Computing Receptive Fields of CNNs" (Distill 2019).

Per spatial axis, for a layer's output relative to the network input:

* size       r = r_in + (k − 1)·S_in   (k the dilated kernel d·(k−1)+1), i.e. r₀ = Σ(k_l−1)·∏s_i + 1
* stride     S = S_in · s               (the jump between neighbouring output units, in input pixels)
* padding    P = P_in + p·S_in          (only the *left* padding enters)

The first output unit sees input coordinates [−P, −P + r − 1]; unit i sees that range shifted by i·S.
Its centre is (r − 1)/2 − P. Strides are Fractions so that upsampling (stride 1/s) fits later.

Branches (add, concat, mul) take the largest field over their inputs, with the padding of the path
that has it; inputs whose strides or centres differ are *misaligned*, which the analysis reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .layers.base import Window


@dataclass(frozen=True)
class Field:
    """The receptive field of a layer's output units, per spatial axis."""

    size: tuple[Fraction, ...]
    stride: tuple[Fraction, ...]
    padding: tuple[Fraction, ...]

    @property
    def rank(self) -> int:
        return len(self.size)

    def centre(self) -> tuple[Fraction, ...]:
        """Input coordinate of the centre of the first output unit, per axis."""
        return tuple((r - 1) / 2 - p for r, p in zip(self.size, self.padding))

    def region(self, unit: Sequence[int]) -> tuple[tuple[Fraction, Fraction], ...]:
        """The [first, last] input coordinates (inclusive, unclipped) that output ``unit`` sees."""
        return tuple(
            (-p + i * s, -p + i * s + r - 1)
            for r, s, p, i in zip(self.size, self.stride, self.padding, unit)
        )


def start(rank: int) -> Field:
    """The network input: every unit sees itself."""
    one, zero = Fraction(1), Fraction(0)
    return Field((one,) * rank, (one,) * rank, (zero,) * rank)


def step(f: Field, w: Window) -> Field:
    """The field after a sliding window (conv, pool): the Distill recurrence, one layer."""
    return Field(
        tuple(r + (k - 1) * s for r, k, s in zip(f.size, w.kernel, f.stride)),
        tuple(s * ws for s, ws in zip(f.stride, w.stride)),
        tuple(p + wp * s for p, wp, s in zip(f.padding, w.padding, f.stride)),
    )


def merge(fields: Sequence[Field]) -> tuple[Field, list[str]]:
    """The field of a join of branches, and a text per axis where the branches are misaligned."""
    rank = fields[0].rank
    size, stride, padding, problems = [], [], [], []
    for a in range(rank):
        best = max(fields, key=lambda f: f.size[a])
        size.append(best.size[a])
        stride.append(best.stride[a])
        padding.append(best.padding[a])
        strides = sorted({f.stride[a] for f in fields})
        centres = sorted({f.centre()[a] for f in fields})
        if len(strides) > 1:
            problems.append(f"axis {a}: effective strides differ ({', '.join(map(_num, strides))})")
        elif len(centres) > 1:
            problems.append(f"axis {a}: field centres differ ({', '.join(map(_num, centres))})")
    return Field(tuple(size), tuple(stride), tuple(padding)), problems


def _num(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


def plain(x: Fraction) -> int | float:
    """An int where the value is whole, else a float (for JSON and tables)."""
    return x.numerator if x.denominator == 1 else float(x)
