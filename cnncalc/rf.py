"""Receptive fields, after Araujo, Norris & Sim, "Computing Receptive Fields of CNNs" (Distill 2019).

Per spatial axis, for a layer's output relative to the network input:

* size       r = r_in + (k − 1)·S_in   (k the dilated kernel d·(k−1)+1), i.e. r₀ = Σ(k_l−1)·∏s_i + 1
* stride     S = S_in · s               (the jump between neighbouring output units, in input pixels)
* padding    P = P_in + p·S_in          (only the *left* padding enters)

The first output unit sees input coordinates [−P, −P + r − 1]; unit i sees that range shifted by i·S.
Its centre is (r − 1)/2 − P. Strides are Fractions so that upsampling (stride 1/s) fits later.

Branches (add, concat, mul): every path from the input has its own (r, S, P). Paths that agree on S
and on the centre are *aligned*: their regions are nested, so the largest stands for all of them.
Per axis a field keeps one path per alignment class (almost always exactly one); the field shown is
the largest path's (its padding with it), and a unit's region is the union over the classes. Joins
of inputs whose strides or centres differ are reported as misaligned, as google-research's
receptive_field library does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from difflib import get_close_matches
from fractions import Fraction
from math import ceil, floor
from typing import TYPE_CHECKING

from .errors import CnncalcError
from .layers.base import GLOBAL, Window

if TYPE_CHECKING:
    from .analysis import Report

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

    def centre(self) -> tuple[Fraction, ...]:
        """Input coordinate of the centre of the first output unit, per axis (largest path)."""
        return tuple(Fraction(r - 1, 2) - p for r, p in zip(self.size, self.padding, strict=True))

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


def _centre(path: Path) -> Fraction:
    r, _, p = path
    return Fraction(r - 1, 2) - p


def _collect(per_axis: Sequence[Sequence[Path]]) -> Field:
    """A field from candidate paths per axis: one per (stride, centre) class, the largest first seen."""
    classes: list[tuple[Path, ...]] = []
    for paths in per_axis:
        best: dict[tuple[Q, Fraction], Path] = {}
        for q in paths:
            key = (q[1], _centre(q))
            if key not in best or q[0] > best[key][0]:
                best[key] = q
        classes.append(tuple(best.values()))
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
            problems.append(f"axis {a}: effective strides differ ({', '.join(map(_num, strides))})")
        elif len(centres) > 1:
            problems.append(f"axis {a}: field centres differ ({', '.join(map(_num, centres))})")
    merged = _collect([[q for f in fields for q in f.classes(a)] for a in range(fields[0].rank)])
    return merged, problems


def _num(x: Q) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


def plain(x: Q) -> int | float:
    """An int where the value is whole, else a float (for JSON and tables)."""
    return x.numerator if x.denominator == 1 else float(x)


# ---------------------------------------------------------------------------------------------
# A network's fields layer by layer, and the input region one output unit sees (``cnncalc rf``).

class RFError(CnncalcError):
    """A layer or unit that has no receptive field to show (the CLI exits with status 2)."""


@dataclass(frozen=True)
class Growth:
    """One layer's row: its output's spatial sizes and its field, relative to the network input.

    ``field`` is a :class:`Field`, ``"global"`` or None (no spatial meaning). ``coverage`` is, per
    axis, min(r, N)/N for an input of N; ``larger`` lists the axes where r > N; ``aligned`` is False
    from the first join of misaligned branches on (the field is then the largest path's).
    """

    name: str
    type: str
    spatial: tuple[int, ...]
    field: Field | str | None
    coverage: tuple[float, ...] | None
    larger: tuple[int, ...]
    aligned: bool


@dataclass(frozen=True)
class Region:
    """The input region one output unit sees: [first, last] per axis, inclusive.

    ``seen`` is unclipped (it may reach into the padding; None for a global field); ``clipped`` is
    the part inside the input (None when the unit sees padding only).
    """

    layer: str
    unit: tuple[int, ...]
    seen: tuple[tuple[Q, Q], ...] | None
    clipped: tuple[tuple[int, int], ...] | None


@dataclass(frozen=True)
class Trace:
    """What ``cnncalc rf`` shows: every layer's row, one unit's region, and notes about them."""

    name: str
    input: tuple[int, ...]
    rows: tuple[Growth, ...]
    chosen: Growth
    region: Region
    notes: tuple[str, ...]


def coverage(f: Field, n: Sequence[int]) -> tuple[float, ...]:
    """Per axis, the share of an input of sizes ``n`` that a field of this size spans (at most 1)."""
    return tuple(float(min(r, x) / x) for r, x in zip(f.size, n, strict=True))


def clip(seen: Sequence[tuple[Q, Q]], n: Sequence[int]) -> tuple[tuple[int, int], ...] | None:
    """The whole input positions of ``seen`` inside an input of sizes ``n`` (None if none)."""
    out = []
    for (a, b), x in zip(seen, n, strict=True):
        lo, hi = max(0, ceil(a)), min(x - 1, floor(b))
        if lo > hi:
            return None
        out.append((lo, hi))
    return tuple(out)


def trace(report: Report, layer: str | None = None, unit: Sequence[int] | None = None) -> Trace:
    """The fields of ``report``'s layers and the region that ``unit`` of ``layer`` sees.

    Defaults: the last layer with a spatial field, and its centre unit ((n − 1) // 2 per axis).
    Raises :class:`RFError` for an unknown layer, a layer without a field, or a unit outside the
    layer's output.
    """
    rows = _rows(report)
    chosen = _choose(rows, layer)
    region = _region(chosen, tuple(report.input_shape[2:]), unit)
    return Trace(report.name, tuple(report.input_shape[2:]), rows, chosen, region, _notes(rows, chosen))


def _rows(report: Report) -> tuple[Growth, ...]:
    n = tuple(report.input_shape[2:])
    misaligned = {w.layer for w in report.warnings if w.kind == "rf"}
    aligned: dict[str, bool] = {}
    rows = []
    for s in report.layers:
        f = s.receptive_field
        ok = s.name not in misaligned and all(aligned.get(i, True) for i in s.inputs)
        aligned[s.name] = ok
        cover: tuple[float, ...] | None = None
        larger: tuple[int, ...] = ()
        if isinstance(f, Field) and f.rank == len(n):
            cover = coverage(f, n)
            larger = tuple(a for a in range(f.rank) if f.size[a] > n[a])
        elif f == GLOBAL:
            cover = (1.0,) * len(n)
        rows.append(Growth(s.name, s.type, tuple(s.output_shape[2:]), f, cover, larger, ok))
    return tuple(rows)


def _choose(rows: Sequence[Growth], layer: str | None) -> Growth:
    if layer is None:
        spatial = [g for g in rows if isinstance(g.field, Field)]
        if not spatial:
            raise RFError("no layer has a spatial receptive field (the input has no spatial axes?)")
        return spatial[-1]
    by_name = {g.name: g for g in rows}
    g = by_name.get(layer)
    if g is None:  # a block or composite name refers to its last layer
        inside = [g for g in rows if g.name.startswith(layer + ".")]
        if not inside:
            close = get_close_matches(layer, list(by_name), n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise RFError(f"no layer named '{layer}'{hint} (`cnncalc summarize` lists them)")
        g = inside[-1]
    if g.field is None:
        raise RFError(
            f"layer '{g.name}' has no receptive field to show: it has no spatial axes, or it follows "
            "adaptive pooling with uneven bins"
        )
    return g


def _region(g: Growth, n: tuple[int, ...], unit: Sequence[int] | None) -> Region:
    if unit is not None and len(unit) != len(g.spatial):
        if not g.spatial:
            raise RFError(f"layer '{g.name}' has no spatial axes, so a unit index does not apply")
        raise RFError(
            f"a unit of layer '{g.name}' needs {len(g.spatial)} indices (its output is "
            f"{'×'.join(map(str, g.spatial))}), got {len(unit)}"
        )
    u = tuple(unit) if unit is not None else tuple((x - 1) // 2 for x in g.spatial)
    bad = [a for a in range(len(u)) if not 0 <= u[a] < g.spatial[a]]
    if bad:
        raise RFError(
            f"unit ({', '.join(map(str, u))}) is outside layer '{g.name}', whose output is "
            f"{'×'.join(map(str, g.spatial))}: the indices must lie in "
            f"{' × '.join(f'0..{x - 1}' for x in g.spatial)}"
        )
    if not isinstance(g.field, Field):  # global: every unit sees the whole input
        return Region(g.name, u, None, tuple((0, x - 1) for x in n))
    seen = g.field.region(u)
    return Region(g.name, u, seen, clip(seen, n))


def _notes(rows: Sequence[Growth], chosen: Growth) -> tuple[str, ...]:
    notes = []
    first = next((g for g in rows if g.larger), None)
    if first is not None and isinstance(first.field, Field):
        size = "×".join(_num(first.field.size[a]) for a in range(first.field.rank))
        notes.append(
            f"from layer '{first.name}' on, the receptive field ({size}) is larger than the input: "
            "units near the border see zero padding too (this is normal for deep networks)"
        )
    if not chosen.aligned:
        notes.append(
            f"layer '{chosen.name}' follows branches that are not aligned: the field shown is the "
            "largest path's; the unit's region is the union of all paths' regions"
        )
    return tuple(notes)
