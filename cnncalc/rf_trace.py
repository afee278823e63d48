"""What ``cnncalc rf`` traces: every layer's receptive field relative to the network input, and the
input region that one output unit sees. The numbers come from the analysis (``cnncalc.rf`` holds the
recurrence); this module only gathers them into :class:`Trace` data, which ``cnncalc.render.rf``
renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, floor
from typing import TYPE_CHECKING, NamedTuple

from .errors import CnncalcError, WarningKind
from .layers.base import GLOBAL
from .rf import Field, Q, num
from .rf_support import NoSupport, Support, support

if TYPE_CHECKING:
    from .analysis import Report


class RFError(CnncalcError):
    """A layer or unit that has no receptive field to show (the CLI exits with status 2)."""


class Growth(NamedTuple):
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
    exact: Support | None = None  # the unit's region by index arithmetic (cnncalc.rf_support)


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
    Raises :class:`~cnncalc.errors.UnknownLayerError` for an unknown layer, and :class:`RFError` for
    a layer without a field or a unit outside the layer's output.
    """
    rows = _rows(report)
    chosen = _choose(report, rows, layer)
    region = _region(chosen, tuple(report.input_shape[2:]), unit)
    exact, why = _exact(report, region)
    if chosen.field is None and exact is None:
        raise RFError(f"layer '{chosen.name}' has no receptive field to show: {why}")
    notes = _notes(rows, chosen) + ((f"no exact region: {why}",) if why and chosen.field is not None else ())
    return Trace(report.name, tuple(report.input_shape[2:]), rows, chosen, region, notes, exact)


def _exact(report: Report, region: Region) -> tuple[Support | None, str]:
    """The unit's exact region (:mod:`cnncalc.rf_support`), or None and why there is none."""
    try:
        return support(report, region.layer, region.unit), ""
    except NoSupport as e:
        return None, str(e)


def _rows(report: Report) -> tuple[Growth, ...]:
    n = tuple(report.input_shape[2:])
    misaligned = {w.layer for w in report.warnings if w.kind == WarningKind.RF}
    aligned: dict[str, bool] = {}
    rows = []
    last: tuple[object, tuple[float, ...] | None, tuple[int, ...]] = (None, None, ())
    for s in report.layers:
        f = s.receptive_field
        ok = s.name not in misaligned and all(aligned.get(i, True) for i in s.inputs)
        aligned[s.name] = ok
        if f is not last[0]:  # element-wise layers pass their input's field on: computed once per run
            last = (f, *_cover(f, n))
        rows.append(Growth(s.name, s.type, tuple(s.output_shape[2:]), f, last[1], last[2], ok))
    return tuple(rows)


def _cover(f: Field | str | None, n: tuple[int, ...]) -> tuple[tuple[float, ...] | None, tuple[int, ...]]:
    """A field's coverage of the input, and the axes where it is larger than the input."""
    if isinstance(f, Field) and f.rank == len(n):
        return coverage(f, n), tuple(a for a in range(f.rank) if f.size[a] > n[a])
    if f == GLOBAL:
        return (1.0,) * len(n), ()
    return None, ()


def _choose(report: Report, rows: Sequence[Growth], layer: str | None) -> Growth:
    """The layer to locate a unit of: ``layer`` as :func:`~cnncalc.spec.resolve_layer` reads it (a
    block's name means its last layer), or by default the last layer with a spatial field."""
    if layer is None:
        spatial = [g for g in rows if isinstance(g.field, Field)]
        if not spatial:
            raise RFError("no layer has a spatial receptive field (the input has no spatial axes?)")
        return spatial[-1]
    from .spec import resolve_layer

    target = resolve_layer(report, layer)  # UnknownLayerError (a SpecError) with a did-you-mean
    g = next(g for g in reversed(rows) if g.name == target)
    if g.field is None and not g.spatial:
        raise RFError(f"layer '{g.name}' has no receptive field to show: it has no spatial axes")
    return g  # a layer without an affine field (after an upsample) may still have an exact region


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
    if g.field is None:  # no affine field (an upsample on the way): the exact region stands alone
        return Region(g.name, u, None, None)
    if not isinstance(g.field, Field):  # global: every unit sees the whole input
        return Region(g.name, u, None, tuple((0, x - 1) for x in n))
    seen = g.field.region(u)
    return Region(g.name, u, seen, clip(seen, n))


def _notes(rows: Sequence[Growth], chosen: Growth) -> tuple[str, ...]:
    notes = []
    first = next((g for g in rows if g.larger), None)
    if first is not None and isinstance(first.field, Field):
        size = "×".join(num(first.field.size[a]) for a in range(first.field.rank))
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
