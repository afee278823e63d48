"""Fidelity of ``cnncalc bench`` (issue 10), two figures:

(a) the net built from specs/resnet50.yaml runs its forward pass as fast as torchvision's resnet50 on the
    same CPU with the same threads: the median of per-round time ratios (ours / torchvision's), target
    within 5 %;
(b) the harness (``cnncalc.torch.bench.measure`` around the ``Runner`` step that ``cnncalc bench`` times)
    adds less than 2 % over a bare ``perf_counter`` loop around ``net(x)``: the median of per-round
    ratios, on ResNet-50 and on LeNet-5 (where a fixed per-call cost shows most); and, robust to a
    loaded machine, the harness's fixed cost per call measured on a no-op, as a share of each net's
    forward time.

On a shared, loaded machine use ``--threads 1 --cpu-time``: the process's CPU time is not inflated
by waiting for a core, as the wall clock is. Rounds interleave the two sides (A, B, B, A, …) so that a machine whose load drifts biases neither.
Needs torchvision: run with /opt/tvenv/bin/python benchmarks/bench_fidelity.py [--rounds 15]
[--threads 2] [--batch 1]. Weights are random (weights=None): speed does not depend on their values.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from cnncalc.spec import parse_spec
from cnncalc.torch.bench import Clock, Runner, Settings, measure
from cnncalc.torch.builder import build

SPECS = Path(__file__).resolve().parent.parent / "specs"


TIMER: Callable[[], float] = time.perf_counter  # --cpu-time: time.process_time


def bare(fn: Callable[[], object], number: int, samples: int = 1) -> float:
    """Median seconds per call over ``samples`` spans of ``number`` calls of a bare loop."""
    times = []
    for _ in range(samples):
        t0 = TIMER()
        for _ in range(number):
            fn()
        times.append((TIMER() - t0) / number)
    return statistics.median(times)


def interleaved(a: Callable[[], float], b: Callable[[], float], rounds: int) -> tuple[list[float], list[float]]:
    """Per-round times of a and b, alternating which goes first."""
    ta, tb = [], []
    for i in range(rounds):
        if i % 2:
            tb.append(b())
            ta.append(a())
        else:
            ta.append(a())
            tb.append(b())
    return ta, tb


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    q1, med, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, med, q3


def report(label: str, ta: list[float], tb: list[float], names: tuple[str, str]) -> float:
    ratios = [x / y for x, y in zip(ta, tb, strict=True)]
    q1, med, q3 = quartiles(ratios)
    print(f"{label}")
    print(f"  {names[0]}: median {1e3 * statistics.median(ta):.3f} ms   {names[1]}: median {1e3 * statistics.median(tb):.3f} ms")
    print(f"  ratio {names[0]}/{names[1]}: median {med:.4f} (IQR {q1:.4f}..{q3:.4f}) over {len(ratios)} rounds")
    return med


def fidelity(batch: int, rounds: int, number: int) -> float:
    import torchvision

    ours = build(parse_spec(SPECS / "resnet50.yaml"), None, "cpu").eval()
    theirs = torchvision.models.resnet50(weights=None).eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        for m in (ours, theirs):  # warm-up
            for _ in range(3):
                m(x)
        ta, tb = interleaved(lambda: bare(lambda: ours(x), 1, number), lambda: bare(lambda: theirs(x), 1, number), rounds)
    return report(f"(a) ResNet-50 forward, batch {batch}, {torch.get_num_threads()} threads, float32, eval",
                  ta, tb, ("cnncalc Net", "torchvision"))


def overhead(spec: str, batch: int, rounds: int, samples: int) -> float:
    """Per round: the harness's median per-call time over ``samples`` samples, against a bare loop's
    median over as many spans of the same number of calls."""
    parsed = parse_spec(SPECS / spec)
    shape = tuple(parsed.input_shape)
    net = build(parsed, None, "cpu")
    runner = Runner(net, torch.device("cpu"), Settings(batches=(batch,)), shape)
    x = runner.input(batch, shape)
    step = runner.step(x)
    clock = Clock(torch.device("cpu"), TIMER)
    calls = [1]
    with runner.context():
        for _ in range(3):
            net(x)

        def harness() -> float:
            t = measure(step, clock, warmup=0, repeat=samples, min_time=0)
            calls[0] = t.number
            return t.median

        ta, tb = interleaved(harness, lambda: bare(lambda: net(x), calls[0], samples), rounds)
    return report(f"(b) harness vs bare loop: {spec}, batch {batch}, {calls[0]} call(s) per sample",
                  ta, tb, ("cnncalc harness", "bare loop"))


def model_time(spec: str, batch: int) -> float:
    """Median seconds per forward call of the built net (bare loop)."""
    parsed = parse_spec(SPECS / spec)
    net = build(parsed, None, "cpu").eval()
    x = torch.randn(batch, *parsed.input_shape)
    with torch.inference_mode():
        for _ in range(3):
            net(x)
        return bare(lambda: net(x), 3, 5)


def fixed_cost(rounds: int) -> float:
    """The harness's own cost per call, measured on a call that does nothing: the harness's median per
    call minus a bare loop's, in seconds (robust to load: no model time to drown it)."""
    noop: Callable[[], object] = lambda: None  # noqa: E731
    clock = Clock(torch.device("cpu"), TIMER)
    diffs = []
    for _ in range(rounds):
        t = measure(noop, clock, warmup=0, repeat=20, min_time=0)
        diffs.append(t.median - bare(noop, t.number, 20))
    cost = statistics.median(diffs)
    print(f"(b) fixed cost of the harness per call, on a no-op: {1e9 * cost:.0f} ns (median of {rounds} rounds)")
    return cost


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--skip-torchvision", action="store_true", help="only (b)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with the process's CPU time (time.process_time), which a loaded, shared machine "
                    "disturbs far less than the wall clock; use with --threads 1")
    args = ap.parse_args()
    global TIMER
    if args.cpu_time:
        TIMER = time.process_time
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = "process CPU time" if args.cpu_time else "wall clock"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {clock}")
    if not args.skip_torchvision:
        fidelity(args.batch, args.rounds, number=3)
    overhead("resnet50.yaml", args.batch, args.rounds, samples=3)
    overhead("lenet5.yaml", 1, args.rounds, samples=20)
    cost = fixed_cost(args.rounds)
    for spec, batch in (("lenet5.yaml", 1), ("resnet50.yaml", args.batch)):
        per_call = model_time(spec, batch)
        print(f"    on {spec} at batch {batch} ({1e3 * per_call:.3f} ms per forward): "
              f"{100 * cost / per_call:+.4f}% of its time")


if __name__ == "__main__":
    main()
