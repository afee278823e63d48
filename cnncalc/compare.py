"""Two nets or two runs side by side (``cnncalc compare``), and the baseline gate of ``cnncalc bench``.

Torch-free: a side is a spec (analysed here), a ``summarize --format json`` report, or a
``bench --format json`` run (schema ``cnncalc.bench/1``). Two summaries (specs count as summaries)
compare totals and layers matched by name; two bench runs compare the results matched by
configuration (batch, dtype, mode, channels-last, compile) and, where both timed layers, the layers.
Deltas are ``(b - a) / a`` in percent, None where ``a`` is 0. The result is data; renderers print it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CnncalcError

BENCH_SCHEMA = "cnncalc.bench/1"
SCHEMA = "cnncalc.compare/1"
SUMMARY_TOTALS = (
    ("params", ("totals", "params")), ("trainable params", ("totals", "trainable_params")),
    ("buffers", ("totals", "buffers")), ("MACs", ("totals", "macs")), ("FLOPs", ("totals", "flops")),
    ("activations (bytes)", ("totals", "activation_bytes")),
    ("inference peak (bytes)", ("memory", "inference_peak_bytes")),
    ("training (bytes)", ("memory", "training_bytes")),
)
LAYER_FIELDS = ("type", "output_shape", "params", "macs", "activation_bytes")
CONFIG_KEYS = ("batch", "dtype", "mode", "channels_last", "compile")


class CompareError(CnncalcError):
    """A side that cannot be read, or two sides of different kinds."""


def delta_percent(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if a == b:
        return 0.0
    if a == 0:
        return None
    return 100 * (b - a) / a


@dataclass(frozen=True)
class Total:
    label: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def percent(self) -> float | None:
        return delta_percent(self.a, self.b)

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.label, "a": self.a, "b": self.b, "delta": self.delta, "delta_percent": self.percent}


@dataclass(frozen=True)
class LayerDiff:
    """A layer in ``a`` and/or ``b`` (None where it is missing), and which fields differ."""

    name: str
    a: Mapping[str, Any] | None
    b: Mapping[str, Any] | None
    fields: tuple[str, ...]

    @property
    def status(self) -> str:
        if self.a is None:
            return "added"
        if self.b is None:
            return "removed"
        return "changed" if any(self.a.get(f) != self.b.get(f) for f in self.fields) else "same"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class Section:
    """One table: for a summary the whole net, for a bench run one configuration."""

    title: str
    totals: tuple[Total, ...]
    layers: tuple[LayerDiff, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "totals": [t.to_dict() for t in self.totals],
                "layers": [d.to_dict() for d in self.layers]}


@dataclass(frozen=True)
class Comparison:
    kind: str  # summary or bench
    a: str  # the sides' labels: name (file)
    b: str
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "kind": self.kind, "a": self.a, "b": self.b,
                "sections": [s.to_dict() for s in self.sections], "notes": list(self.notes)}


# ---- loading ------------------------------------------------------------------------------------
def load(path: str, batch: int = 1) -> tuple[str, dict[str, Any]]:
    """A side as ``(kind, data)``: ``('summary', Report.to_dict())`` or ``('bench', run dict)``.

    A file ending in .json is read as JSON; anything else as a spec and analysed at ``batch``
    (raising :class:`~cnncalc.SpecError` for an invalid one).
    """
    if not path.endswith(".json"):
        from .analysis import analyze
        from .zoo import resolve

        return "summary", analyze(resolve(path), batch).to_dict()  # a path, or a shipped spec's name
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise CompareError(f"{path}: cannot read: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise CompareError(f"{path}: not JSON: {e}") from None
    return kind_of(path, data), data


def kind_of(path: str, data: Any) -> str:
    if isinstance(data, dict) and data.get("schema") == BENCH_SCHEMA and isinstance(data.get("results"), list):
        return "bench"
    if isinstance(data, dict) and isinstance(data.get("layers"), list) and isinstance(data.get("totals"), dict):
        return "summary"
    if isinstance(data, dict) and str(data.get("schema", "")).startswith("cnncalc.bench/"):
        raise CompareError(f"{path}: bench schema {data['schema']!r} is not one this version reads ({BENCH_SCHEMA})")
    raise CompareError(f"{path}: neither a `cnncalc summarize --format json` report nor a `cnncalc bench --format json` run")


def _label(data: Mapping[str, Any], path: str) -> str:
    return f"{data.get('name', '?')} ({path})"


# ---- summaries ----------------------------------------------------------------------------------
def _get(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _number(v: Any) -> float | None:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def match_layers(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> tuple[LayerDiff, ...]:
    """Layers matched by name, in a's order with b's new layers after the layer they follow."""
    by_a = {str(r.get("name")): r for r in a}
    by_b = {str(r.get("name")): r for r in b}
    order = list(by_a)
    place = 0
    for name in by_b:
        if name in by_a:
            place = order.index(name) + 1
        else:
            order.insert(place, name)
            place += 1
    pick = lambda r: None if r is None else {f: r.get(f) for f in ("name", *fields)}  # noqa: E731
    return tuple(LayerDiff(n, pick(by_a.get(n)), pick(by_b.get(n)), tuple(fields)) for n in order)


def compare_summaries(a: Mapping[str, Any], b: Mapping[str, Any]) -> Section:
    totals = tuple(Total(label, _number(_get(a, p)), _number(_get(b, p))) for label, p in SUMMARY_TOTALS)
    title = f"batch {a.get('batch')}" + ("" if a.get("batch") == b.get("batch") else f" vs {b.get('batch')}")
    return Section(title, totals, match_layers(a["layers"], b["layers"], LAYER_FIELDS))


# ---- bench runs ---------------------------------------------------------------------------------
def config_key(result: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(result.get(k) for k in CONFIG_KEYS)


def config_text(result: Mapping[str, Any]) -> str:
    extra = [k.replace("_", "-") for k in ("channels_last", "compile") if result.get(k)]
    return ", ".join([f"batch {result.get('batch')}", str(result.get("dtype")), str(result.get("mode")), *extra])


def matched_results(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[list[tuple[dict, dict]], list[str]]:
    """Pairs of results with the same configuration, and notes on those only one side has."""
    by_a = {config_key(r): r for r in a["results"] if isinstance(r, dict)}
    by_b = {config_key(r): r for r in b["results"] if isinstance(r, dict)}
    pairs = [(by_a[k], by_b[k]) for k in by_a if k in by_b]
    notes = [f"only in a: {config_text(by_a[k])}" for k in by_a if k not in by_b]
    notes += [f"only in b: {config_text(by_b[k])}" for k in by_b if k not in by_a]
    return pairs, notes


def _ms(r: Mapping[str, Any]) -> float | None:
    return _number(_get(r, ("latency_ms", "median")))


def compare_results(ra: Mapping[str, Any], rb: Mapping[str, Any]) -> Section:
    totals = (
        Total("latency median (ms)", _ms(ra), _ms(rb)),
        Total("latency IQR (ms)", _number(_get(ra, ("latency_ms", "iqr"))), _number(_get(rb, ("latency_ms", "iqr")))),
        Total("throughput (samples/s)", _number(ra.get("throughput")), _number(rb.get("throughput"))),
        Total("achieved FLOP/s", _number(ra.get("achieved_flops")), _number(rb.get("achieved_flops"))),
        Total("% of peak", _number(ra.get("percent_of_peak")), _number(rb.get("percent_of_peak"))),
        Total("measured memory (bytes)", _number(_get(ra, ("memory", "measured_bytes"))),
              _number(_get(rb, ("memory", "measured_bytes")))),
    )
    la, lb = ra.get("layers"), rb.get("layers")
    layers: tuple[LayerDiff, ...] = ()
    if isinstance(la, list) and isinstance(lb, list):
        flat = lambda rows: [{"name": r.get("name"), "type": r.get("type"), "ms": _ms(r), "share": r.get("share")}  # noqa: E731
                             for r in rows if isinstance(r, dict)]
        layers = match_layers(flat(la), flat(lb), ("type", "ms", "share"))
    return Section(config_text(ra), totals, layers)


def machine_note(a: Mapping[str, Any], b: Mapping[str, Any], names: tuple[str, str] = ("a", "b")) -> list[str]:
    """A note when two runs come from different devices or thread counts (their timings may differ)."""
    da, db = a.get("device", {}), b.get("device", {})
    if not (isinstance(da, dict) and isinstance(db, dict)):
        return []
    if (da.get("name"), da.get("threads")) == (db.get("name"), db.get("threads")):
        return []
    return [f"different machines: {names[0]} ran on {da.get('name')} ({da.get('threads')} threads), "
            f"{names[1]} on {db.get('name')} ({db.get('threads')} threads)"]


def compare_runs(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[tuple[Section, ...], list[str]]:
    pairs, notes = matched_results(a, b)
    return tuple(compare_results(ra, rb) for ra, rb in pairs), notes + machine_note(a, b)


def compare(path_a: str, path_b: str, batch: int = 1) -> Comparison:
    """Load both sides and compare them (raises :class:`CompareError` for sides of different kinds)."""
    kind_a, a = load(path_a, batch)
    kind_b, b = load(path_b, batch)
    if kind_a != kind_b:
        raise CompareError(f"cannot compare a {kind_a} ({path_a}) with a {kind_b} ({path_b})")
    if kind_a == "summary":
        return Comparison("summary", _label(a, path_a), _label(b, path_b), (compare_summaries(a, b),))
    sections, notes = compare_runs(a, b)
    if not sections:
        notes.insert(0, "no configuration is in both runs")
    return Comparison("bench", _label(a, path_a), _label(b, path_b), sections, tuple(notes))


# ---- the baseline gate --------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One configuration's median latency, before and now."""

    config: str
    before_ms: float
    now_ms: float
    limit: float  # the allowed slowdown, a fraction (0.10 for 10%)

    @property
    def change(self) -> float:
        return self.now_ms / self.before_ms - 1 if self.before_ms > 0 else float("inf")

    @property
    def regressed(self) -> bool:
        return self.change > self.limit


def parse_percent(text: str) -> float:
    """'10%' or '10' → 0.10; raises ValueError for anything else, or a negative figure."""
    value = float(text.strip().removesuffix("%"))
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"expected a non-negative percentage, got {text!r}")
    return value / 100


def gate(baseline: Mapping[str, Any], current: Mapping[str, Any], limit: float) -> tuple[list[Change], list[str]]:
    """Each configuration in both runs, its median latency before and now; notes on the unmatched."""
    pairs, notes = matched_results(baseline, current)
    changes = []
    for before, now in pairs:
        b, n = _ms(before), _ms(now)
        if b is None or n is None:
            notes.append(f"{config_text(now)}: the baseline has no median latency")
            continue
        changes.append(Change(config_text(now), b, n, limit))
    notes = [n.replace("only in a", "only in the baseline").replace("only in b", "not in the baseline") for n in notes]
    return changes, notes + machine_note(baseline, current, ("the baseline", "this run"))
