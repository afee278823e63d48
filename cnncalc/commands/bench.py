"""``cnncalc bench`` (issue 10): time the net a spec builds, and gate on a baseline run.

Exit status 0: timed (and no regression); 1: slower than ``--baseline`` by more than
``--max-regression``; 2: invalid spec or usage, no torch, too little memory, or a configuration
torch cannot run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import CnncalcError
from .common import fail, input_option, note, quiet_option, spec_source

INSTALL = "pip install 'cnncalc[torch]'"


def parse_batches(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        batches = tuple(int(v) for v in value.split(","))
    except ValueError:
        batches = ()
    if not batches or any(b < 1 or b > 2**31 - 1 for b in batches):
        raise click.BadParameter(f"expected positive batch sizes separated by commas, e.g. 1,8,32; got {value!r}")
    return tuple(dict.fromkeys(batches))


def _quantity(kind: str) -> Callable[[click.Context, click.Parameter, str | None], float | None]:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
        if value is None:
            return None
        from ..budget import BudgetError, parse_quantity

        try:
            n = parse_quantity(value.removesuffix("/s"), kind)
        except BudgetError as e:
            raise click.BadParameter(str(e).replace(f"{kind} budget", "value")) from None
        if n <= 0:
            raise click.BadParameter("must be positive")
        return float(n)

    return parse


def _percent(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from ..compare import parse_percent

    try:
        return parse_percent(value)
    except ValueError:
        raise click.BadParameter(f"expected a percentage such as 10%, got {value!r}") from None


@click.command()
@click.argument("spec", metavar="SPEC.yaml")  # or - for standard input
@click.option("--device", type=click.Choice(["cpu", "cuda", "mps", "auto"]), default="cpu", show_default=True)
@click.option("--batch", "-b", "batches", default="1", show_default=True, callback=parse_batches, metavar="N[,N…]",
              help="Batch size; a list (1,8,32) times each.")
@input_option
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32", show_default=True,
              help="Inference: weights and input in this type; training: autocast (mixed precision).")
@click.option("--channels-last", is_flag=True, help="NHWC memory format for the weights and the input.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the net (the warm-up compiles).")
@click.option("--mode", type=click.Choice(["inference", "training"]), default="inference", show_default=True,
              help="Forward only, or forward + backward + SGD step.")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Untimed calls first.")
@click.option("--min-time", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Seconds of timed calls per configuration (at least 5 samples).")
@click.option("--repeat", type=click.IntRange(min=1, max=10_000), default=None,
              help="Exactly this many samples instead of --min-time.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch.set_num_threads (CPU).")
@click.option("--per-layer", is_flag=True, help="Also time every layer alone on its real input, hottest first.")
@click.option("--peak-flops", callback=_quantity("macs"), metavar="N", help="The device's peak FLOP/s (e.g. 2.5T).")
@click.option("--peak-bandwidth", callback=_quantity("memory"), metavar="BYTES",
              help="The device's memory bandwidth per second, for the roofline (e.g. 50GB).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Also write the JSON run to this file.")
@click.option("--baseline", type=click.Path(dir_okay=False), help="A previous `bench --format json` run to gate on.")
@click.option("--max-regression", default="10%", show_default=True, callback=_percent, metavar="PCT",
              help="With --baseline: the slowdown of the median latency allowed.")
@quiet_option
def bench(spec: str, device: str, batches: tuple[int, ...], input_shape: tuple[int, ...] | None, dtype: str,
          channels_last: bool, compile_: bool, mode: str, warmup: int, min_time: float, repeat: int | None,
          threads: int | None, per_layer: bool, peak_flops: float | None, peak_bandwidth: float | None, fmt: str,
          output: str | None, baseline: str | None, max_regression: float) -> None:
    """Build the net in PyTorch and time it: latency (median, IQR), throughput, achieved FLOP/s
    against the device's peak, and peak memory against the analytic estimate (SPEC.yaml may be -).

    \b
    Exit status 0: timed; 1: slower than --baseline by more than --max-regression;
    2: invalid spec or usage, no torch, too little memory, or torch cannot run the configuration.
    """
    before = _read_baseline(baseline) if baseline else None
    bridge = _bridge()
    settings = bridge.Settings(
        batches=batches, device=device, dtype=dtype, mode=mode, channels_last=channels_last, compile=compile_,
        warmup=max(warmup, 1) if compile_ else warmup, repeat=repeat, min_time=min_time, threads=threads,
        per_layer=per_layer, peak_flops=peak_flops, peak_bandwidth=peak_bandwidth, input_shape=input_shape,
    )
    from ..render.progress import progress_bar

    with progress_bar() as update:
        try:
            run = bridge.bench(spec_source(spec), settings, progress=update).to_dict()
        except CnncalcError as e:
            fail(str(e))
    _emit(run, fmt, output)
    if before is not None:
        _gate(before, run, max_regression)


def _bridge() -> Any:
    try:
        import torch  # noqa: F401
    except ImportError:
        fail(f"cnncalc bench needs PyTorch, which is not installed: {INSTALL}")
    from ..torch import bench as bridge

    return bridge


def _read_baseline(path: str) -> dict[str, Any]:
    from ..compare import CompareError, load

    try:
        kind, data = load(path) if path.endswith(".json") else ("", {})
    except CompareError as e:
        fail(str(e))
    if kind != "bench":
        fail(f"--baseline {path}: expected a `cnncalc bench --format json` run")
    return data


def _emit(run: dict[str, Any], fmt: str, output: str | None) -> None:
    text = json.dumps(run, indent=2)
    if output:
        try:
            Path(output).write_text(text + "\n", encoding="utf-8")
        except OSError as e:
            fail(f"cannot write {output}: {e.strerror or e}")
    if fmt == "json":
        click.echo(text)
    else:
        from ..render.bench import render

        render(run)
    for line in run["notes"]:
        note(line)
    for r in run["results"]:
        for line in r["notes"]:
            if line not in run["notes"]:
                note(line)


def _gate(before: dict[str, Any], run: dict[str, Any], limit: float) -> None:
    from ..compare import gate
    from ..render.bench import gate_lines

    changes, notes = gate(before, run, limit)
    for line in notes:
        note(line)
    if not changes:
        fail("--baseline: no configuration of this run is in the baseline (batch, dtype, mode, layout, compile)")
    for line in gate_lines(changes, limit):
        click.echo(line, err=True)
    sys.exit(1 if any(c.regressed for c in changes) else 0)
