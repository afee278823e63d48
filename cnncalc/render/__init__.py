"""Renderings of a :class:`~cnncalc.analysis.Report`: JSON, CSV, Markdown (here) and a rich table
(``cnncalc.render.table``, imported only when a table is asked for).

Numbers are shown with exact integer arithmetic: no float rounding invents digits, and no size is too
large to show (past 10¹⁵ a value is written in scientific notation, its digits still exact). Every
string a spec wrote passes through :mod:`cnncalc.render.safe` on its way out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..exact import scientific
from ..layers.base import GLOBAL
from .safe import data_text, md_text

if TYPE_CHECKING:
    from ..analysis import LayerStats, Report

CSV_COLUMNS = (
    "name", "type", "inputs", "output_shape", "params", "trainable_params", "buffers", "macs", "flops",
    "activation_elements", "activation_bytes", "param_bytes", "rf_size", "rf_stride", "rf_padding", "line",
)
_DECIMAL = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
_BINARY = ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB"))
_SCIENTIFIC = 10**150  # integers from here on are shown as 1.23e402 (str() refuses past 4,300 digits)
_HUMAN_SCIENTIFIC = 10**15  # human(): past 1,000 T


def _hundredths(n: int, factor: int) -> str:
    """n / factor to two decimals, rounded exactly (half to even)."""
    h = round(Fraction(n * 100, factor))
    sign, h = ("-" if h < 0 else ""), abs(h)
    return f"{sign}{h // 100:,}.{h % 100:02d}"


def int_text(n: int) -> str:
    """An exact integer with thousands separators (``138,357,544``); scientific past 10¹⁵⁰."""
    return f"{n:,}" if -_SCIENTIFIC < n < _SCIENTIFIC else scientific(n)


def human(n: int, unit: str = "") -> str:
    """138357544 → '138.36 M'; small numbers stay exact; past 10¹⁵, '1.23e402'."""
    suffix = " " + unit if unit else ""
    if abs(n) < 1000:
        return f"{n:,}{suffix}"
    if abs(n) >= _HUMAN_SCIENTIFIC:
        return f"{scientific(n)}{suffix}"
    factor, prefix = next((f, p) for f, p in _DECIMAL if abs(n) >= f)
    return f"{_hundredths(n, factor)} {prefix}{unit}"


def human_bytes(n: int) -> str:
    """Bytes in binary units: 553433088 → '527.79 MiB'; past 1024 TiB, '1.23e402 B'."""
    if n < 1024:
        return f"{n} B"
    if n >= 1024**5:
        return f"{scientific(n)} B"
    factor, unit = next((f, u) for f, u in _BINARY if n >= f)
    return f"{_hundredths(n, factor)} {unit}"


def plain_int(n: int) -> str:
    """An exact integer without separators (``224``); scientific past 10¹⁵⁰."""
    return str(n) if -_SCIENTIFIC < n < _SCIENTIFIC else scientific(n)


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(plain_int, shape))


def num_text(v: int | float | str) -> str:
    """A receptive-field number: an int exactly, a fraction's float with :g, a huge one's text."""
    if isinstance(v, str):
        return v
    return f"{v:g}" if isinstance(v, float) else plain_int(v)


def rf_text(s: LayerStats, part: str = "size") -> str:
    """'212' or '7×5' for a field, 'global' after global pooling/flatten, '—' where not defined."""
    if s.receptive_field == GLOBAL:
        return "global"
    d = s.rf_dict()
    if d is None:
        return "—"
    values = d[part]
    if len(set(values)) == 1:
        return num_text(values[0])
    return "×".join(map(num_text, values))


# ---- JSON --------------------------------------------------------------------------------------

def finite(v: Any) -> Any:
    """``v`` with every non-finite float replaced by its name as a string ("nan", "inf"): JSON has no
    NaN or Infinity, and the output must stay valid JSON whatever a spec held."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, Mapping):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    return v


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(", ", ": "))


def _dumps(v: Any) -> str:
    """``v`` as compact JSON on one line; a non-finite float becomes a string (see :func:`finite`)."""
    try:
        return _ENCODER.encode(v)
    except ValueError:  # NaN or Infinity somewhere (never in cnncalc's own numbers): rare, so checked late
        return _ENCODER.encode(finite(v))


BATCH = 1000  # rows per chunk of streamed JSON


def json_chunks(doc: Mapping[str, Any], rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> Iterator[str]:
    """:func:`json_document`'s text in pieces of at most :data:`BATCH` rows, so that a caller can
    write a long report without holding all of its text at once."""
    for i, (key, value) in enumerate(doc.items()):
        head = ("{\n" if i == 0 else ",\n") + f"  {json.dumps(key)}: "
        if key in rows:
            yield from _list_chunks(head, rows[key])
        elif isinstance(value, Mapping) and value:  # a small object: one key per line
            inner = ",\n    ".join(f"{json.dumps(k)}: {_dumps(v)}" for k, v in value.items())
            yield f"{head}{{\n    {inner}\n  }}"
        else:
            yield head + _dumps(value)
    yield "\n}" if doc else "{}"


def _list_chunks(head: str, items: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    it = iter(items)
    batch = list(islice(it, BATCH))
    if not batch:
        yield head + "[]"
        return
    yield head + "[\n    " + ",\n    ".join(map(_dumps, batch))
    while batch := list(islice(it, BATCH)):
        yield ",\n    " + ",\n    ".join(map(_dumps, batch))
    yield "\n  ]"


def json_document(doc: Mapping[str, Any], rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> str:
    """A JSON object with its top-level keys one per line, the keys of an object value one per line,
    and each list in ``rows`` one element per line (compact within the line): valid JSON, easy to
    diff, and written by the C encoder (``indent`` would force the pure-Python one, several times
    slower on 10,000 layers).

    ``doc`` gives the keys in order; a key of ``rows`` takes its elements from there instead.
    """
    return "".join(json_chunks(doc, rows))


def _json_rows(layers: Iterable[LayerStats]) -> Iterator[dict[str, Any]]:
    """:func:`~cnncalc.analysis.layer_dict` for JSON only, cheaper: tuples stay tuples (JSON arrays
    either way), args are not copied, and a run of layers sharing one field shares its dict."""
    last: tuple[object, dict[str, list[int | float | str]] | None] = (None, None)
    for s in layers:
        f = s.receptive_field
        if f is not last[0]:
            last = (f, s.rf_dict())
        args = s.args if type(s.args) is dict else dict(s.args)
        yield {
            "name": s.name, "type": s.type, "inputs": s.inputs, "output_shape": s.output_shape, "params": s.params,
            "trainable_params": s.trainable_params, "buffers": s.buffers, "macs": s.macs, "flops": s.flops,
            "activation_elements": s.activation_elements, "activation_bytes": s.activation_bytes,
            "param_bytes": s.param_bytes, "frozen": s.frozen, "line": s.line, "receptive_field": last[1],
            "receptive_field_global": f == GLOBAL, "args": args,
        }


def json_report_chunks(report: Report) -> Iterator[str]:
    """The report as JSON, in pieces (see :func:`json_chunks`)."""
    doc = report.to_dict(layers=False)
    return json_chunks(doc, {"layers": _json_rows(report.layers), "warnings": doc["warnings"]})


def to_json(report: Report) -> str:
    """The report as JSON: the keys of :meth:`Report.to_dict`, one layer (and one warning) per line.

    Numbers are exact integers (fractional receptive fields are floats); there is never a NaN or an
    Infinity (a non-finite float a spec held is written as the string "nan" or "inf").
    """
    return "".join(json_report_chunks(report))


# ---- CSV ---------------------------------------------------------------------------------------

def _rf_cell(s: LayerStats, d: dict[str, list[int | float | str]] | None, key: str) -> str:
    if s.receptive_field == GLOBAL:
        return "global"
    return "x".join(map(num_text, d[key])) if d else ""


def _row(s: LayerStats) -> list[object]:
    d = s.rf_dict()
    return [
        data_text(s.name), s.type, json.dumps(list(s.inputs)), "x".join(map(plain_int, s.output_shape)), s.params,
        s.trainable_params, s.buffers, s.macs, s.flops, s.activation_elements, s.activation_bytes, s.param_bytes,
        _rf_cell(s, d, "size"), _rf_cell(s, d, "stride"), _rf_cell(s, d, "padding"), s.line,
    ]


def to_csv(report: Report) -> str:
    """One row per layer. ``inputs`` is a JSON list of names (a name may hold spaces or commas)."""
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    w.writerows(map(_row, report.layers))
    return out.getvalue()


# ---- Markdown ----------------------------------------------------------------------------------

def to_markdown(report: Report, depth: int | None = None) -> str:
    t = report.totals
    lines = [
        f"## {md_text(report.name)}",
        "",
        f"Input {shape_text(report.input_shape)}, {report.dtype}.",
        "",
        "| layer | type | output shape | params | MACs | activations | RF |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for s in report.layers if depth is None else report.grouped(depth):
        lines.append(
            f"| {md_text(s.name)} | {md_text(s.type)} | {shape_text(s.output_shape)} | {int_text(s.params)} "
            f"| {int_text(s.macs)} | {human_bytes(s.activation_bytes)} | {rf_text(s)} |"
        )
    lines.append(
        f"| **total** | | | **{int_text(t.params)}** | **{int_text(t.macs)}** "
        f"| **{human_bytes(t.activation_bytes)}** | |"
    )
    return "\n".join(lines) + "\n"
