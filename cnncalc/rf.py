"""Receptive fields, after Araujo, Norris & Sim, "Computing Receptive Fields of CNNs" (Distill 2019).

Per spatial axis, for a layer's output relative to the network input:

* size       r = r_in + (k − 1)·S_in   (k the dilated kernel d·(k−1)+1), i.e. r₀ = Σ(k_l−1)·∏s_i + 1
* stride     S = S_in · s               (the jump between neighbouring output units, in input pixels)
* padding    P = P_in + p·S_in          (only the *left* padding enters)

The first output unit sees input coordinates [−P, −P + r − 1]; unit i sees that range shifted by i·S.
Its centre is (r − 1)/2 − P. Strides are Fractions so that upsampling (stride 1/s) fits later.

Branches (add, concat, mul): every path from the input has its own (r, S, P). Paths that agree on S
and on the centre are *aligned*: their regions are nested, so the largest stands for all of them.
Per axis a field keeps one path per alignment class (almost always exactly one; at most
``MAX_CLASSES``, the largest); the field shown is
the largest path's (its padding with it), and a unit's region is the union over the classes. Joins
of inputs whose strides or centres differ are reported as misaligned, as google-research's
receptive_field library does.

A layer's field (:data:`RField`) is a :class:`Field`, ``"global"`` (every unit sees the whole input),
or None (no spatial meaning). :func:`layer_field` is the one place that says how each kind of layer
step (a window, identity, global, a join) turns its inputs' fields into its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from fractions import Fraction

from . import exact
from .layers.base import GLOBAL, IDENTITY, MERGE, Window

# A plain int until a layer steps by a fraction (see :func:`start`); the recurrences work on either.
Q = int | Fraction
Path = tuple[Q, Q, Q]  # one path's (r, S, P) on one axis


@dataclass(frozen=True)
class Field:
    """The receptive field of a layer's output units, per spatial axis.

    ``size``, ``stride`` and ``padding`` are the largest path's. ``paths`` is empty when every
    axis's paths are aligned; otherwise, per axis, the largest path of each alignment class.
    """

    size: tuple[Q, ...]
    stride: tuple[Q, ...]
    padding: tuple[Q, ...]
    paths: tuple[tuple[Path, ...], ...] = _field(default=(), compare=False, repr=False)

    @property
    def rank(self) -> int:
        return len(self.size)

    @property
    def aligned(self) -> bool:
        return not self.paths

    def classes(self, axis: int) -> tuple[Path, ...]:
        """The (r, S, P) of the largest path of each alignment class on ``axis``."""
        if self.paths:
            return self.paths[axis]
        return ((self.size[axis], self.stride[axis], self.padding[axis]),)

    def centre(self) -> tuple[Q, ...]:
        """Input coordinate of the centre of the first output unit, per axis (largest path)."""
        return tuple(_half(r - 1) - p for r, p in zip(self.size, self.padding, strict=True))

    def region(self, unit: Sequence[int]) -> tuple[tuple[Q, Q], ...]:
        """The [first, last] input coordinates (inclusive, unclipped) that output ``unit`` sees:
        per axis −P + i·S .. −P + i·S + r − 1, over every alignment class."""
        out = []
        for a, i in enumerate(unit):
            spans = [(-p + i * s, -p + i * s + r - 1) for r, s, p in self.classes(a)]
            out.append((min(lo for lo, _ in spans), max(hi for _, hi in spans)))
        return tuple(out)


def start(rank: int) -> Field:
    """The network input: every unit sees itself. (Plain ints: Fractions appear only where a layer
    steps by a fraction, and the recurrences work on either.)"""
    return Field((1,) * rank, (1,) * rank, (0,) * rank)


def _half(x: Q) -> Q:
    """x / 2 exactly: an int where it is whole (the usual case, and much faster than a Fraction)."""
    return x // 2 if x % 2 == 0 else Fraction(x, 2)


def _centre(path: Path) -> Q:
    r, _, p = path
    return _half(r - 1) - p


# Alignment classes kept per axis. Real networks have one or two; a spec that joins hundreds of
# misaligned branches would otherwise make every later layer's step cost as many (quadratic work).
MAX_CLASSES = 16


def _collect(per_axis: Sequence[Sequence[Path]]) -> Field:
    """A field from candidate paths per axis: one per (stride, centre) class, the largest first seen."""
    classes: list[tuple[Path, ...]] = []
    for paths in per_axis:
        best: dict[tuple[Q, Q], Path] = {}
        for q in paths:
            key = (q[1], _centre(q))
            if key not in best or q[0] > best[key][0]:
                best[key] = q
        kept = tuple(best.values())
        if len(kept) > MAX_CLASSES:  # a spec built to make every later step slow: keep the largest
            kept = tuple(sorted(kept, key=lambda q: q[0], reverse=True)[:MAX_CLASSES])
        classes.append(kept)
    main = [max(c, key=lambda q: q[0]) for c in classes]
    return Field(
        tuple(q[0] for q in main),
        tuple(q[1] for q in main),
        tuple(q[2] for q in main),
        tuple(classes) if any(len(c) > 1 for c in classes) else (),
    )


def step(f: Field, w: Window) -> Field:
    """The field after a sliding window (conv, pool): the Distill recurrence, one layer."""
    if not f.paths:  # one path per axis (the usual case): no alignment classes to keep
        return Field(
            tuple(r + (k - 1) * s for r, k, s in zip(f.size, w.kernel, f.stride, strict=True)),
            tuple(s * ws for s, ws in zip(f.stride, w.stride, strict=True)),
            tuple(p + wp * s for p, wp, s in zip(f.padding, w.padding, f.stride, strict=True)),
        )
    return _collect([
        [(r + (w.kernel[a] - 1) * s, s * w.stride[a], p + w.padding[a] * s) for r, s, p in f.classes(a)]
        for a in range(f.rank)
    ])


def merge(fields: Sequence[Field]) -> tuple[Field, list[str]]:
    """The field of a join of branches, and a text per axis where the branches are misaligned.

    Alignment is judged on each input's largest path (an input that is misaligned in itself was
    reported where that happened).
    """
    problems = []
    for a in range(fields[0].rank):
        strides = sorted({f.stride[a] for f in fields})
        centres = sorted({f.centre()[a] for f in fields})
        if len(strides) > 1:
            problems.append(f"axis {a}: effective strides differ ({_some(strides)})")
        elif len(centres) > 1:
            problems.append(f"axis {a}: field centres differ ({_some(centres)})")
    merged = _collect([[q for f in fields for q in f.classes(a)] for a in range(fields[0].rank)])
    return merged, problems


def _some(values: Sequence[Q], shown: int = 6) -> str:
    """'1, 2, 4' — or the first few and how many in all, so that a warning stays one short line."""
    head = ", ".join(map(num, values[:shown]))
    return head if len(values) <= shown else f"{head}, … ({len(values)} in all)"


def num(x: Q) -> str:
    """A field number as text: ``7``, ``0.5``, ``1.23e402`` (exact, any size)."""
    return exact.text(x)


def plain(x: Q) -> int | float | str:
    """An int where the value is whole, else a float (for JSON and tables); a value too large for
    either (a stride of 2³¹ a layer for hundreds of layers) as scientific text (:mod:`cnncalc.exact`)."""
    return exact.plain(x)


RField = Field | str | None  # a Field, "global", or None (no spatial meaning)


def layer_field(how: Window | str, prev: Sequence[RField]) -> tuple[RField, list[str]]:
    """A layer's field from its rule's receptive-field step ``how`` and its inputs' fields ``prev``, and
    the misalignment texts of a join (empty unless branches disagree).

    The join policy: any input without spatial meaning makes the join have none; any global input
    makes it global; inputs of different ranks have no common field; otherwise :func:`merge`.
    """
    if isinstance(how, Window):
        f = prev[0]
        if not isinstance(f, Field):
            return f, []
        return (step(f, how) if f.rank == len(how.kernel) else None), []
    if how == IDENTITY:
        return prev[0], []
    if how == GLOBAL:
        return (None if all(p is None for p in prev) else GLOBAL), []
    if how == MERGE:
        if any(p is None for p in prev):
            return None, []
        if any(p == GLOBAL for p in prev):
            return GLOBAL, []
        fields = [p for p in prev if isinstance(p, Field)]  # all of them, by now
        if len({f.rank for f in fields}) > 1:
            return None, []
        return merge(fields)
    return None, []

