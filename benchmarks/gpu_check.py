"""GPU check for ``cnncalc bench`` (issue 10), meant to run as one call on a machine with a CUDA GPU:

    python benchmarks/gpu_check.py [--batch 64] [--spec specs/resnet50.yaml]

1. ``cnncalc bench`` on the spec at batch 64, bfloat16, channels-last (inference), through the library
   the CLI calls, printing the reported throughput, achieved FLOP/s and % of the datasheet peak;
2. a bare CUDA-event loop on the same module and input (``net(x)`` × N between two events, synchronised)
   and the ratio of the two throughputs: the target is within 3 %;
3. ``--per-layer`` once (CUDA-event timing of every layer), printing the five hottest layers.

Exit status 0 when the throughputs agree within 3 %, 1 otherwise, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def bare_cuda_loop(net: Callable[[Any], object], x: Any, calls: int, rounds: int) -> float:
    """Median seconds per call over ``rounds`` spans of ``calls`` calls between CUDA events."""
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    with torch.inference_mode():
        for _ in range(5):
            net(x)
        torch.cuda.synchronize()
        for _ in range(rounds):
            start.record()
            for _ in range(calls):
                net(x)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3 / calls)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default=str(ROOT / "specs" / "resnet50.yaml"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--min-time", type=float, default=3.0)
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("no GPU: torch sees no CUDA device")
        return 2
    from cnncalc.spec import parse_spec
    from cnncalc.torch.bench import Runner, Settings, bench
    from cnncalc.torch.builder import build

    s = Settings(batches=(args.batch,), device="cuda", dtype="bfloat16", channels_last=True, warmup=10,
                 min_time=args.min_time)
    run = bench(args.spec, s)
    [r] = run.results
    print(f"device: {run.device['name']} (capability {run.device['capability']}), torch {torch.__version__}, "
          f"cuda {run.software.get('cuda')}, cudnn {run.software.get('cudnn')}")
    print(f"cnncalc bench: batch {r.batch} bf16 channels-last: median {1e3 * r.timing.median:.3f} ms "
          f"(IQR {1e3 * r.timing.iqr:.3f} ms, {r.timing.samples} samples × {r.timing.number} calls), "
          f"{r.throughput:,.1f} samples/s, {r.achieved_flops / 1e12:.1f} TFLOP/s")
    if r.peak:
        print(f"  peak {r.peak.flops / 1e12:.1f} TFLOP/s ({r.peak.source}): {r.percent_of_peak:.1f}% of peak")
    else:
        print("  peak: this GPU is not in cnncalc/torch/peaks.py")
    measured = r.memory.measured_bytes or 0
    print(f"  memory: measured {measured / 2**20:.1f} MiB ({r.memory.measured}), "
          f"analytic {r.memory.analytic_bytes / 2**20:.1f} MiB ({r.memory.analytic})")

    spec = parse_spec(args.spec)
    net = build(spec, None, "cuda")
    runner = Runner(net, torch.device("cuda"), s, tuple(spec.input_shape))
    x = runner.input(args.batch, tuple(spec.input_shape))
    calls = max(1, r.timing.number)
    bare = bare_cuda_loop(net, x, calls, rounds=max(10, r.timing.samples))
    ratio = (args.batch / bare) / r.throughput
    print(f"bare CUDA-event loop: {1e3 * bare:.3f} ms per call, {args.batch / bare:,.1f} samples/s; "
          f"bare / cnncalc throughput = {ratio:.4f} (target within 3%)")

    per = bench(args.spec, Settings(batches=(args.batch,), device="cuda", dtype="bfloat16", channels_last=True,
                                    warmup=3, min_time=0.5, per_layer=True))
    layers = per.results[0].layers or ()
    total = sum(t.timing.median for t in layers)
    print(f"per layer: {len(layers)} layers, sum of medians {1e3 * total:.3f} ms vs whole net "
          f"{1e3 * per.results[0].timing.median:.3f} ms; hottest five:")
    for t in layers[:5]:
        fl = f"{t.achieved_flops / 1e12:.1f} TFLOP/s" if t.achieved_flops else "—"
        print(f"  {t.name:28} {t.type:10} {1e3 * t.timing.median:8.3f} ms  {100 * t.share:5.1f}%  {fl:>14}  {t.bound}")
    return 0 if abs(ratio - 1) <= 0.03 else 1


if __name__ == "__main__":
    sys.exit(main())
