"""Renderings of a :class:`~cnncalc.analysis.Report`: JSON, CSV, Markdown (here) and a rich table
(``cnncalc.render.table``, imported only when a table is asked for)."""

from __future__ import annotations

import csv
import io
import json

from ..analysis import LayerStats, Report
from ..layers.base import GLOBAL

CSV_COLUMNS = (
    "name", "type", "inputs", "output_shape", "params", "trainable_params", "buffers", "macs", "flops",
    "activation_elements", "activation_bytes", "param_bytes", "rf_size", "rf_stride", "rf_padding", "line",
)


def human(n: float, unit: str = "") -> str:
    """138357544 → '138.36 M'; small numbers stay exact."""
    if abs(n) < 1000:
        return f"{n:,}{' ' + unit if unit else ''}"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return str(n)  # unreachable


def human_bytes(n: int) -> str:
    """Bytes in binary units: 553433088 → '527.79 MiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{n} B"  # unreachable


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def rf_text(s: LayerStats, part: str = "size") -> str:
    """'212' or '7×5' for a field, 'global' after global pooling/flatten, '—' where not defined."""
    if s.receptive_field == GLOBAL:
        return "global"
    d = s.rf_dict()
    if d is None:
        return "—"
    values = d[part]
    if len(set(values)) == 1:
        return f"{values[0]:g}" if isinstance(values[0], float) else str(values[0])
    return "×".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2)


def _row(s: LayerStats) -> list[object]:
    d = s.rf_dict() or {}
    rf = lambda k: "global" if s.receptive_field == GLOBAL else "x".join(map(str, d.get(k, [])))  # noqa: E731
    return [
        s.name, s.type, " ".join(s.inputs), "x".join(map(str, s.output_shape)), s.params, s.trainable_params,
        s.buffers, s.macs, s.flops, s.activation_elements, s.activation_bytes, s.param_bytes,
        rf("size"), rf("stride"), rf("padding"), s.line,
    ]


def to_csv(report: Report) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in report.layers:
        w.writerow(_row(s))
    return out.getvalue()


def to_markdown(report: Report, depth: int | None = None) -> str:
    t = report.totals
    lines = [
        f"## {report.name}",
        "",
        f"Input {shape_text(report.input_shape)}, {report.dtype}.",
        "",
        "| layer | type | output shape | params | MACs | activations | RF |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for s in report.layers if depth is None else report.grouped(depth):
        lines.append(
            f"| {s.name} | {s.type} | {shape_text(s.output_shape)} | {s.params:,} | {s.macs:,} "
            f"| {human_bytes(s.activation_bytes)} | {rf_text(s)} |"
        )
    lines.append(
        f"| **total** | | | **{t.params:,}** | **{t.macs:,}** | **{human_bytes(t.activation_bytes)}** | |"
    )
    return "\n".join(lines) + "\n"
