"""Renderings of a ``cnncalc bench`` run (its JSON dict, schema cnncalc.bench/1) and of the baseline
gate. Torch-free: everything here works on the plain data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import human_bytes
from .safe import term_text


def rate(x: float | None, unit: str) -> str:
    """1.234e12 → '1.23 TFLOP/s' (three significant digits)."""
    if x is None:
        return "—"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= factor:
            return f"{x / factor:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}"


def ms(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3g}" if x < 100 else f"{x:,.1f}"


def _memory(m: Mapping[str, Any]) -> tuple[str, str]:
    measured = m.get("measured_bytes")
    return ("—" if measured is None else human_bytes(int(measured))), human_bytes(int(m["analytic_bytes"]))


def header(run: Mapping[str, Any]) -> str:
    d, c, sw = run["device"], run["configuration"], run["software"]
    parts = [f"{run['name']} ({run['file']})", f"{d['type']}: {d.get('name', '?')}, {d.get('threads')} threads",
             f"torch {sw.get('torch')}", f"{c['mode']} {c['dtype']}"]
    if c.get("channels_last"):
        parts.append("channels-last")
    if c.get("compile"):
        parts.append("compiled")
    shape = "×".join(map(str, c["input_shape"]))
    parts.append(f"input {shape}")
    return term_text("  ·  ".join(parts))


def result_rows(results: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for r in results:
        lat = r["latency_ms"]
        pct = r.get("percent_of_peak")
        measured, analytic = _memory(r["memory"])
        rows.append([
            str(r["batch"]), ms(lat["median"]), f"±{ms(lat['iqr'])}" + (" !" if r.get("noisy") else ""),
            f"{r['samples']}×{r['calls_per_sample']}", f"{r['throughput']:,.1f}", rate(r["achieved_flops"], "FLOP/s"),
            "—" if pct is None else f"{pct:.1f}%", measured, analytic,
        ])
    return rows


RESULT_COLUMNS = ("batch", "latency ms", "IQR", "samples", "samples/s", "achieved", "of peak", "memory", "analytic")
LAYER_COLUMNS = ("layer", "type", "ms", "IQR", "share", "achieved", "flop/byte", "bound")


def layer_rows(layers: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for t in layers:
        lat = t["latency_ms"]
        ai = t.get("intensity")
        rows.append([
            term_text(str(t["name"])), term_text(str(t["type"])), ms(lat["median"]), f"±{ms(lat['iqr'])}",
            f"{100 * t['share']:.1f}%", rate(t.get("achieved_flops"), "FLOP/s"),
            "—" if ai is None else f"{ai:.3g}", t.get("bound") or "—",
        ])
    return rows


def _table(columns: Sequence[str], rows: list[list[str]], left: int) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < left else "right", no_wrap=i > 0, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def render(run: Mapping[str, Any]) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(width=160, highlight=False)
    console.print(header(run), markup=False)
    console.print(_table(RESULT_COLUMNS, result_rows(run["results"]), 0))
    peak = next((r["peak"] for r in run["results"] if r.get("peak")), None)
    mem = run["results"][0]["memory"] if run["results"] else None
    console.print(
        "latency: median per call (IQR, '!': noisy) over samples × calls; achieved = 2 × analytic MACs"
        + (" × 3 (training step)" if run["configuration"]["mode"] == "training" else "") + " ÷ median"
        + (f"; peak {rate(peak['flops'], 'FLOP/s')} ({peak['source']})" if peak else "; peak unknown (--peak-flops)")
        + (f"; memory: {mem['measured']}, analytic: {mem['analytic']}" if mem else ""),
        style="dim", markup=False,
    )
    for r in run["results"]:
        if r.get("layers"):
            console.print(f"\nper layer at batch {r['batch']} (hottest first; each alone on its recorded input)", markup=False)
            console.print(_table(LAYER_COLUMNS, layer_rows(r["layers"]), 2))


def gate_lines(changes: Sequence[Any], limit: float) -> list[str]:
    """The baseline diff: one line per configuration, the verdict last."""
    lines = [f"baseline gate (max regression {100 * limit:g}%): median latency per configuration"]
    width = max([len(c.config) for c in changes] + [1])
    for c in changes:
        verdict = "REGRESSED" if c.regressed else "ok"
        lines.append(f"  {c.config:<{width}}  {c.before_ms:10.3f} ms → {c.now_ms:10.3f} ms  {100 * c.change:+7.1f}%  {verdict}")
    bad = [c for c in changes if c.regressed]
    if bad:
        lines.append(f"{len(bad)} of {len(changes)} configuration{'s' if len(changes) != 1 else ''} slower than the baseline by more than {100 * limit:g}%")
    else:
        lines.append(f"no configuration is slower than the baseline by more than {100 * limit:g}%")
    return lines
