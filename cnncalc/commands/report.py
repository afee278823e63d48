"""``cnncalc report``: a self-contained HTML page of a spec (graph, charts, table, totals), and with
``--bench`` the measured per-layer times beside the analytic costs. Rendering: cnncalc.render.html."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..analysis import DTYPES
from .common import batch_option, fail, input_option, note, quiet_option, run_analysis


def read_bench(path: str) -> dict:
    """The parsed ``cnncalc bench --format json`` file, or exit 2 saying why it cannot be used."""
    from ..render.html import needs_bench_keys

    try:
        text = Path(path).read_text(encoding="utf-8")
        run = json.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{path}: cannot read: {e}")
    except (ValueError, RecursionError) as e:
        fail(f"{path}: not JSON: {e}")
    why = needs_bench_keys(run)
    if why:
        fail(f"{path}: {why}")
    return run


@click.command(name="report")
@click.argument("spec", metavar="SPEC.yaml")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="The HTML file to write (default: SPEC's name with .html, in the current directory).")
@click.option("--bench", "bench_path", type=click.Path(dir_okay=False), default=None,
              help="A `cnncalc bench --per-layer --format json` result: measured times beside the analytic costs.")
@batch_option
@input_option
@click.option("--dtype", type=click.Choice(list(DTYPES)), default="float32", show_default=True, help="Element type for memory.")
@quiet_option
def report(spec: str, output: str | None, bench_path: str | None, batch: int, input_shape, dtype: str) -> None:
    """A single HTML file to explore a net: its graph (colour = cost, blocks fold and unfold), charts of
    MACs, parameters, memory and receptive field per layer, and the sortable layer table.

    SPEC.yaml may be - to read the spec from standard input. The file needs no network to open.
    """
    from ..render.html import MAX_LAYERS, render_html

    bench = read_bench(bench_path) if bench_path else None
    rep = run_analysis(spec, batch=batch, input_shape=input_shape, dtype=dtype)
    if len(rep.layers) > MAX_LAYERS:
        fail(f"{len(rep.layers):,} layers are too many for one page (at most {MAX_LAYERS:,}); "
             "summarize --depth N or --format csv shows them")
    target = Path(output) if output else Path(f"{Path(rep.file).stem if spec != '-' else 'report'}.html")
    page = render_html(rep, bench)
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as e:
        fail(f"{target}: cannot write: {e}")
    note(f"wrote {target} ({len(page.encode()) // 1024:,} KiB, {len(rep.layers):,} layers)", prefix="")
