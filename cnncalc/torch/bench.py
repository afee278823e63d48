"""Time the net a spec builds, whole and layer by layer, next to its analytic cost (issue 10).

How a timing is taken (:func:`measure`): ``warmup`` untimed calls, then one timed call to choose how
many calls make a sample (enough for about 10 ms, so that the clock's resolution does not matter),
then samples until ``repeat`` of them or ``min_time`` seconds (at least :data:`MIN_SAMPLES`). Each
sample is divided by its call count; the result is the median and the interquartile range of these
per-call times. On the CPU the clock is ``time.perf_counter``; on CUDA a pair of CUDA events around
each sample, with the stream synchronised before the first and after the last; on MPS
``perf_counter`` with ``torch.mps.synchronize()``.

Conventions (docs/bench.md): achieved FLOP/s = 2 × the analytic MACs of one call ÷ its median time
(one multiply-accumulate is 2 flops, as the vendors count their peaks); a training step (forward,
backward, optimizer step) counts 3 × the forward's (backward ≈ 2 forwards). The result is data; the
CLI renders it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import __version__
from ..analysis import Report, analyze
from ..errors import CnncalcError
from ..spec import NetSpec, parse_spec
from .builder import BuildError, Net, build
from .peaks import Peak, cpu_peak, gpu_peak
from .verification import MARGIN, SLACK, Refused, available_bytes

SCHEMA = "cnncalc.bench/1"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
MODES = ("inference", "training")
SAMPLE_TARGET = 0.01  # seconds of calls per sample
MIN_SAMPLES = 5
MAX_SAMPLES = 10_000
NOISY = 0.10  # IQR / median above this: the machine was noisy
TRAINING_FACTOR = 3  # a training step's flops in forwards
Progress = Callable[[str, int, int], None]  # (what, done, total)


class BenchError(CnncalcError):
    """torch cannot run this configuration (an unsupported dtype on this device, a compile failure)."""


# ---- timing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Per-call seconds over ``samples`` samples of ``number`` calls each."""

    median: float
    q1: float
    q3: float
    minimum: float
    samples: int
    number: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def spread(self) -> float:
        return self.iqr / self.median if self.median > 0 else 0.0

    @property
    def noisy(self) -> bool:
        return self.spread > NOISY

    def to_dict(self) -> dict[str, Any]:
        ms = 1e3
        return {
            "median": self.median * ms, "iqr": self.iqr * ms, "q1": self.q1 * ms, "q3": self.q3 * ms,
            "min": self.minimum * ms,
        }


def summarise(times: Sequence[float], number: int) -> Timing:
    """Median, quartiles (linear interpolation, as numpy's percentile) and minimum of per-call times."""
    if len(times) >= 2:
        q1, median, q3 = statistics.quantiles(times, n=4, method="inclusive")
    else:
        q1 = median = q3 = times[0]
    return Timing(median, q1, q3, min(times), len(times), number)


class Clock:
    """Seconds taken by ``number`` calls of ``fn``, with the device's work finished inside the span."""

    def __init__(self, device: torch.device, timer: Callable[[], float] = time.perf_counter):
        self.device, self.timer = device, timer  # timer: the CPU's and MPS's clock
        if device.type == "cuda":
            self.start = torch.cuda.Event(enable_timing=True)
            self.end = torch.cuda.Event(enable_timing=True)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.device.type == "mps":
            torch.mps.synchronize()

    def sample(self, fn: Callable[[], object], number: int) -> float:
        if self.device.type == "cuda":
            self.start.record()
            for _ in range(number):
                fn()
            self.end.record()
            self.end.synchronize()
            return self.start.elapsed_time(self.end) / 1e3
        self.sync()
        t0 = self.timer()
        for _ in range(number):
            fn()
        self.sync()
        return self.timer() - t0


def measure(
    fn: Callable[[], object], clock: Clock, *, warmup: int, repeat: int | None, min_time: float
) -> Timing:
    """Time ``fn``: warm-ups, a calibration call, then ``repeat`` samples or ``min_time`` seconds."""
    for _ in range(warmup):
        fn()
    clock.sync()
    first = clock.sample(fn, 1)
    number = max(1, min(10_000, int(SAMPLE_TARGET / first))) if first > 0 else 10_000
    times: list[float] = []
    spent = 0.0
    while len(times) < MAX_SAMPLES:
        if repeat is not None and len(times) >= repeat:
            break
        if repeat is None and spent >= min_time and len(times) >= MIN_SAMPLES:
            break
        t = clock.sample(fn, number)
        spent += t
        times.append(t / number)
    return summarise(times, number)


# ---- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerTime:
    """One layer run alone on its recorded input: its time and its roofline position."""

    name: str
    type: str
    timing: Timing
    macs: int
    flops: int  # the analysis's flops column (element-wise work included)
    bytes_moved: int  # inputs + output + parameters and buffers, in their stored dtypes
    share: float = 0.0  # of the sum of all layers' medians
    bound: str | None = None  # compute / memory, against the device's ridge point

    @property
    def achieved_flops(self) -> float | None:
        return 2 * self.macs / self.timing.median if self.macs and self.timing.median > 0 else None

    @property
    def intensity(self) -> float | None:
        return self.flops / self.bytes_moved if self.bytes_moved else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.type, "latency_ms": self.timing.to_dict(),
            "samples": self.timing.samples, "share": self.share, "macs": self.macs, "flops": self.flops,
            "bytes_moved": self.bytes_moved, "achieved_flops": self.achieved_flops,
            "intensity": self.intensity, "bound": self.bound,
        }


@dataclass(frozen=True)
class Memory:
    analytic_bytes: int
    analytic: str  # which estimate: memory.inference_peak_bytes or memory.training_bytes
    measured_bytes: int | None
    measured: str  # how


@dataclass(frozen=True)
class Result:
    """One configuration (one batch size) timed."""

    batch: int
    dtype: str
    mode: str
    channels_last: bool
    compiled: bool
    timing: Timing
    flops_per_call: int  # analytic: 2 × MACs (× 3 for a training step)
    peak: Peak | None
    memory: Memory
    layers: tuple[LayerTime, ...] | None = None
    notes: tuple[str, ...] = ()

    @property
    def throughput(self) -> float:
        return self.batch / self.timing.median

    @property
    def achieved_flops(self) -> float:
        return self.flops_per_call / self.timing.median

    @property
    def percent_of_peak(self) -> float | None:
        return 100 * self.achieved_flops / self.peak.flops if self.peak else None

    def to_dict(self) -> dict[str, Any]:
        p = self.peak
        return {
            "batch": self.batch, "dtype": self.dtype, "mode": self.mode,
            "channels_last": self.channels_last, "compile": self.compiled,
            "latency_ms": self.timing.to_dict(), "samples": self.timing.samples,
            "calls_per_sample": self.timing.number, "noisy": self.timing.noisy,
            "throughput": self.throughput, "flops_per_call": self.flops_per_call,
            "achieved_flops": self.achieved_flops, "percent_of_peak": self.percent_of_peak,
            "peak": None if p is None else {
                "flops": p.flops, "bandwidth": p.bandwidth, "dtype": p.dtype, "source": p.source,
            },
            "memory": {
                "analytic_bytes": self.memory.analytic_bytes, "analytic": self.memory.analytic,
                "measured_bytes": self.memory.measured_bytes, "measured": self.memory.measured,
            },
            "layers": None if self.layers is None else [t.to_dict() for t in self.layers],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Settings:
    """What the user asked for (the ``configuration`` of the JSON output)."""

    batches: tuple[int, ...] = (1,)
    device: str = "cpu"
    dtype: str = "float32"
    mode: str = "inference"
    channels_last: bool = False
    compile: bool = False
    warmup: int = 3
    repeat: int | None = None
    min_time: float = 1.0
    threads: int | None = None
    per_layer: bool = False
    peak_flops: float | None = None
    peak_bandwidth: float | None = None
    input_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class BenchRun:
    name: str
    file: str
    device: dict[str, Any]
    software: dict[str, str]
    settings: Settings
    input_shape: tuple[int, ...]
    results: tuple[Result, ...]
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "schema": SCHEMA,
            "name": self.name,
            "file": self.file,
            "device": self.device,
            "software": self.software,
            "configuration": {
                "batches": list(s.batches), "device": self.device["type"], "dtype": s.dtype, "mode": s.mode,
                "channels_last": s.channels_last, "compile": s.compile, "warmup": s.warmup,
                "repeat": s.repeat, "min_time_s": None if s.repeat else s.min_time,
                "threads": self.device.get("threads"), "per_layer": s.per_layer,
                "input_shape": list(self.input_shape),
            },
            "results": [r.to_dict() for r in self.results],
            "notes": list(self.notes),
        }


# ---- the device -----------------------------------------------------------------------------------
def resolve_device(name: str) -> torch.device:
    """cpu, cuda, mps, or auto (the first of cuda, mps, cpu that this torch can use)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise Refused("--device cuda: this torch build sees no CUDA device; use --device cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise Refused("--device mps: this torch build sees no Apple GPU (MPS); use --device cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise Refused(f"unknown device '{name}'; expected cpu, cuda, mps or auto")
    return torch.device(name)


def device_info(dev: torch.device) -> dict[str, Any]:
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        return {
            "type": "cuda", "name": props.name, "capability": f"{props.major}.{props.minor}",
            "memory_bytes": props.total_memory, "threads": torch.get_num_threads(),
        }
    if dev.type == "mps":
        return {"type": "mps", "name": platform.processor() or "Apple GPU", "threads": torch.get_num_threads()}
    from .peaks import cpu_info

    return {"type": "cpu", "name": cpu_info()[0], "cores": os.cpu_count(), "threads": torch.get_num_threads()}


def software() -> dict[str, str]:
    info = {"cnncalc": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform()}
    if torch.version.cuda and torch.cuda.is_available():
        info["cuda"] = str(torch.version.cuda)
        info["cudnn"] = str(torch.backends.cudnn.version())
    return info


def find_peak(dev: torch.device, settings: Settings) -> Peak | None:
    """The user's --peak-flops/--peak-bandwidth, else the GPU table or the CPU estimate."""
    if dev.type == "cuda":
        tf32 = bool(torch.backends.cudnn.allow_tf32)
        peak = gpu_peak(torch.cuda.get_device_name(dev), settings.dtype, tf32)
    elif dev.type == "cpu":
        peak = cpu_peak(torch.get_num_threads(), settings.dtype)
    else:
        peak = None
    if settings.peak_flops is None and settings.peak_bandwidth is None:
        return peak
    flops = settings.peak_flops or (peak.flops if peak else None)
    if flops is None:
        return None
    bandwidth = settings.peak_bandwidth or (peak.bandwidth if peak else None)
    return Peak(peak.device if peak else dev.type, settings.dtype, flops, bandwidth, "given on the command line")


def copy_bandwidth(dev: torch.device, nbytes: int = 64 * 2**20) -> float:
    """Bytes/s of a large copy (read + write), the memory bandwidth the roofline uses when none is known."""
    a = torch.empty(nbytes // 4, device=dev)
    b = torch.empty_like(a)
    t = measure(lambda: b.copy_(a), Clock(dev), warmup=2, repeat=5, min_time=0)
    return 2 * nbytes / t.median


# ---- memory -------------------------------------------------------------------------------------
def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


@contextlib.contextmanager
def peak_memory(dev: torch.device, resident: int) -> Iterator[list[int | None]]:
    """Yield a one-item list that holds, afterwards, the peak bytes the block used on ``dev``.

    CUDA: ``torch.cuda.max_memory_allocated`` (weights included). CPU: the growth of the resident set's
    high-water mark (/proc/self/status VmHWM, reset through /proc/self/clear_refs) plus ``resident``,
    the bytes of the weights already in memory. None where neither is available.
    """
    out: list[int | None] = [None]
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        yield out
        torch.cuda.synchronize(dev)
        out[0] = torch.cuda.max_memory_allocated(dev)
        return
    reset = False
    if dev.type == "cpu":
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current resident set (Linux ≥ 4.0)
            reset = True
        except OSError:
            pass
    before = _status_kib("VmRSS") if reset else None
    yield out
    after = _status_kib("VmHWM") if before is not None else None
    if before is not None and after is not None:
        out[0] = max(0, after - before) * 1024 + resident


def memory_how(dev: torch.device) -> str:
    if dev.type == "cuda":
        return "torch.cuda.max_memory_allocated"
    if dev.type == "cpu":
        return "resident-set peak growth (VmHWM) + the weights' bytes"
    return "not measured on this device"


def check_fits(need: int, dev: torch.device, what: str, available: int | None) -> None:
    """Refuse, before allocating, a run whose analytic memory (with margin) exceeds what is free."""
    want = int(need * MARGIN) + SLACK
    free = available if available is not None else available_bytes("cuda" if dev.type == "cuda" else "cpu")
    if want > free:
        raise Refused(
            f"{what} needs about {want / 2**30:.2f} GiB on {dev.type} (analytic {need / 2**30:.2f} GiB plus "
            f"margin) but {free / 2**30:.2f} GiB is free; try a smaller --batch or --input"
        )


# ---- running ------------------------------------------------------------------------------------
def _autocast(dev: torch.device, dtype: str, on: bool) -> contextlib.AbstractContextManager[Any]:
    if not on or dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=dev.type, dtype=DTYPES[dtype])


def _format(x: torch.Tensor) -> torch.memory_format | None:
    return {4: torch.channels_last, 5: torch.channels_last_3d}.get(x.dim())


class Runner:
    """The net on its device in the asked-for dtype and layout, and the call to time.

    Inference: the weights and input are converted to ``dtype`` and the forward runs under
    ``torch.inference_mode``. Training: float32 weights, the forward under autocast to ``dtype``
    (mixed precision, no gradient scaler), ``loss = output.float().mean()``, backward, and an SGD step
    with momentum.
    """

    def __init__(self, net: Net, dev: torch.device, s: Settings, shape: tuple[int, ...]):
        self.net, self.dev, self.s = net, dev, s
        self.notes: list[str] = []
        if s.mode == "inference":
            net.eval()
            net.to(DTYPES[s.dtype])
        else:
            net.train()
        self.layout = None
        if s.channels_last:
            probe = torch.empty((1, *shape), device="meta")
            self.layout = _format(probe)
            if self.layout is None:
                self.notes.append(f"--channels-last applies to 2D and 3D inputs; ignored for input {list(shape)}")
            else:
                net.to(memory_format=self.layout)  # type: ignore[call-overload]  # torch's stubs omit it
        self.model: Callable[[torch.Tensor], torch.Tensor] = net
        if s.compile:
            self.model = torch.compile(net)
        self.optimizer = (
            torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-6, momentum=0.9)
            if s.mode == "training" and any(p.requires_grad for p in net.parameters()) else None
        )

    def input(self, batch: int, shape: tuple[int, ...]) -> torch.Tensor:
        dtype = DTYPES[self.s.dtype] if self.s.mode == "inference" else torch.float32
        x = self.net.sample_input((batch, *shape), self.dev, dtype)
        return x.contiguous(memory_format=self.layout) if self.layout is not None else x

    def step(self, x: torch.Tensor) -> Callable[[], object]:
        if self.s.mode == "inference":
            return lambda: self.model(x)
        autocast = self.s.dtype != "float32"

        def train_step() -> None:
            if self.optimizer is not None:
                self.optimizer.zero_grad(set_to_none=True)
            with _autocast(self.dev, self.s.dtype, autocast):
                out = self.model(x)
            loss = out.float().mean()
            if loss.requires_grad:
                loss.backward()
            if self.optimizer is not None:
                self.optimizer.step()

        return train_step

    def context(self) -> contextlib.AbstractContextManager[Any]:
        return torch.inference_mode() if self.s.mode == "inference" else contextlib.nullcontext()


def _refusal(s: Settings, dev: torch.device, e: Exception) -> BenchError:
    text = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if s.dtype != "float32":
        return BenchError(f"torch cannot run this net in {s.dtype} on {dev.type} ({s.mode}): {text}")
    return BenchError(f"torch cannot run this net on {dev.type} ({s.mode}): {text}")


def record_inputs(net: Net, run: Callable[[], object]) -> dict[str, tuple[torch.Tensor, ...]]:
    """Each spec layer's input tensors, captured by forward pre-hooks during one call of ``run``."""
    seen: dict[str, tuple[torch.Tensor, ...]] = {}
    handles = []
    for name, key in net.names.items():
        def hook(module: nn.Module, args: tuple[Any, ...], name: str = name) -> None:
            seen[name] = tuple(a.detach() for a in args)

        handles.append(net.layers[key].register_forward_pre_hook(hook))
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return seen


def _call(module: nn.Module, args: tuple[torch.Tensor, ...]) -> Callable[[], object]:
    return lambda: module(*args)


def _nbytes(tensors: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def time_layers(
    runner: Runner, report: Report, x: torch.Tensor, peak: Peak | None, progress: Callable[[str], None]
) -> tuple[LayerTime, ...]:
    """Every layer alone on its recorded input, hottest first (forward only; eager even with --compile)."""
    net, s = runner.net, runner.s
    clock = Clock(runner.dev)
    autocast = s.mode == "training" and s.dtype != "float32"
    with torch.inference_mode(), _autocast(runner.dev, s.dtype, autocast):
        inputs = record_inputs(net, lambda: net(x))
        layer_time = max(0.02, s.min_time / 10)
        rows = []
        for stats in report.layers:
            module = net.layer(stats.name)
            args = inputs[stats.name]
            out = module(*args)
            moved = _nbytes(args) + out.numel() * out.element_size() + _nbytes(module.parameters())
            moved += _nbytes(module.buffers())
            t = measure(_call(module, args), clock, warmup=max(1, s.warmup), repeat=s.repeat, min_time=layer_time)
            rows.append(LayerTime(stats.name, stats.type, t, stats.macs, stats.flops, moved))
            progress(stats.name)
    total = sum(r.timing.median for r in rows) or 1.0
    ridge = peak.flops / peak.bandwidth if peak and peak.bandwidth else None
    done = []
    for r in rows:
        bound = None
        if ridge is not None and r.intensity is not None:
            bound = "compute" if r.intensity >= ridge else "memory"
        done.append(LayerTime(r.name, r.type, r.timing, r.macs, r.flops, r.bytes_moved, r.timing.median / total, bound))
    return tuple(sorted(done, key=lambda r: -r.timing.median))


def _memory_need(report: Report, s: Settings) -> tuple[int, str]:
    m = report.memory
    if s.mode == "training":
        return m.training_bytes, "training_bytes"
    need = m.inference_peak_bytes
    if s.per_layer:  # every layer's input is kept for the per-layer timings
        need = m.param_bytes + m.buffer_bytes + m.input_bytes + report.totals.activation_bytes
    return need, "inference_peak_bytes"


@contextlib.contextmanager
def _torch_errors(s: Settings, dev: torch.device, batch: int) -> Iterator[None]:
    """torch's refusals as :class:`BenchError`, and an out-of-memory error as :class:`Refused`."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as e:
        raise Refused(f"out of memory at batch {batch} despite the estimate: {str(e).splitlines()[0]}") from e
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as e:
        raise _refusal(s, dev, e) from e


def bench_batch(
    runner: Runner, spec: NetSpec, batch: int, peak: Peak | None, available: int | None,
    progress: Callable[[str], None],
) -> Result:
    s, dev = runner.s, runner.dev
    shape = tuple(s.input_shape or spec.input_shape)
    dtype = s.dtype if s.mode == "inference" else "float32"
    report = analyze(spec, batch, input_shape=s.input_shape, dtype=dtype, optimizer="sgd-momentum")
    need, which = _memory_need(report, s)
    if dev.type == "cuda":
        torch.cuda.empty_cache()  # the previous batch's cached blocks count as free for this one
    check_fits(need, dev, f"{report.name} at batch {batch} ({s.mode}, {s.dtype})", available)
    resident = _nbytes(runner.net.parameters()) + _nbytes(runner.net.buffers())
    notes = list(runner.notes)
    with _torch_errors(s, dev, batch):
        x = runner.input(batch, shape)
        with runner.context(), peak_memory(dev, resident) as used:
            timing = measure(runner.step(x), Clock(dev), warmup=s.warmup, repeat=s.repeat, min_time=s.min_time)
    progress(f"batch {batch}")
    if timing.noisy:
        notes.append(
            f"noisy: the interquartile range is {100 * timing.spread:.0f}% of the median at batch {batch}; "
            "close other programs, pin --threads, or use more --min-time"
        )
    layers = None
    if s.per_layer:
        with _torch_errors(s, dev, batch):
            layers = time_layers(runner, report, x, peak, progress)
    factor = TRAINING_FACTOR if s.mode == "training" else 1
    return Result(
        batch, s.dtype, s.mode, bool(s.channels_last and runner.layout is not None), s.compile, timing,
        2 * report.totals.macs * factor, peak, Memory(need, which, used[0], memory_how(dev)), layers,
        tuple(notes),
    )


def bench(
    spec: NetSpec | str | Path, settings: Settings, *, available: int | None = None,
    progress: Progress | None = None,
) -> BenchRun:
    """Build ``spec`` once and time it at each batch size in ``settings``.

    Raises :class:`~cnncalc.SpecError` (invalid spec), :class:`Refused` (no such device, or too little
    memory by the analysis's estimate, checked before each allocation) and :class:`BenchError`
    (torch cannot run the configuration).
    """
    if not isinstance(spec, NetSpec):
        spec = parse_spec(spec)
    s = settings
    if s.dtype not in DTYPES or s.mode not in MODES:
        raise BenchError(f"unknown dtype or mode: {s.dtype}, {s.mode}")
    dev = resolve_device(s.device)
    first = analyze(spec, min(s.batches), input_shape=s.input_shape)  # spec errors before anything runs
    check_fits(first.memory.param_bytes + first.memory.buffer_bytes, dev, f"{first.name}'s weights", available)
    previous_threads = torch.get_num_threads()
    if s.threads:
        torch.set_num_threads(s.threads)
    try:
        return _bench(spec, s, dev, first, available, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _bench(
    spec: NetSpec, s: Settings, dev: torch.device, first: Report, available: int | None,
    progress: Progress | None,
) -> BenchRun:
    per = len(first.layers) if s.per_layer else 0
    total = len(s.batches) * (1 + per)
    done = [0]

    def tick(what: str) -> None:
        done[0] += 1
        if progress is not None:
            progress(what, done[0], total)

    if progress is not None:
        progress("building", 0, total)
    try:
        net = build(spec, s.input_shape, dev)
    except BuildError as e:
        raise BenchError(f"torch refused to build {spec.name}: {e}") from e
    try:
        runner = Runner(net, dev, s, tuple(s.input_shape or spec.input_shape))
    except (RuntimeError, TypeError) as e:
        raise _refusal(s, dev, e) from e
    peak = find_peak(dev, s)
    notes: list[str] = []
    if s.per_layer and peak is not None and peak.bandwidth is None and dev.type != "mps":
        bandwidth = copy_bandwidth(dev)
        peak = Peak(peak.device, peak.dtype, peak.flops, bandwidth,
                    f"{peak.source}; bandwidth measured by a 64 MiB copy: {bandwidth / 1e9:.1f} GB/s")
    if s.dtype == "float16" and dev.type == "cpu":
        notes.append("float16 on the CPU: many kernels have no fast half path, so this measures torch's fallbacks")
    if s.compile and s.per_layer:
        notes.append("--per-layer times each layer eagerly; only the whole-net figure is compiled")
    if s.mode == "training" and s.per_layer:
        notes.append("--per-layer times each layer's forward only")
    results = tuple(bench_batch(runner, spec, b, peak, available, tick) for b in s.batches)
    return BenchRun(spec.name, spec.file, device_info(dev), software(), s,
                    tuple(s.input_shape or spec.input_shape), results, tuple(notes))
