"""Check the analysis against the real thing: build the net in torch, run it once, compare layers.

For each layer the analysis's output shape, parameters, buffers and MACs are set against what torch
measures: the shape of the tensor the layer returns, the ``numel`` of its parameters and buffers,
and
the flops ``torch.utils.flop_counter.FlopCounterMode`` counts while it runs, halved (one MAC is one
multiply and one add). The result is data; the CLI renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..analysis import Report, analyze
from ..errors import CnncalcError
from ..spec import NetSpec, parse_spec
from .builder import BuildError, Net, build

MARGIN = 1.25  # room above the analysis's inference peak (allocator slack, kernel workspaces)
SLACK = 256 * 2**20  # and a fixed allowance for the runtime itself


Progress = Callable[[str, int, int], None]  # (layer just run, layers done, layers in all)


class Refused(CnncalcError):
    """The check cannot run here: too little memory, or no such device."""


@dataclass(frozen=True)
class Counts:
    """One layer's numbers (shapes include the batch; MACs are for the whole batch)."""

    shape: tuple[int, ...]
    params: int
    buffers: int
    macs: int


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    expected: Counts  # the analysis
    measured: Counts  # torch

    @property
    def mismatches(self) -> tuple[str, ...]:
        return tuple(
            f.name
            for f in fields(Counts)
            if getattr(self.expected, f.name) != getattr(self.measured, f.name)
        )


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    buffers: int
    macs: int


@dataclass(frozen=True)
class Verification:
    """Every layer compared, the net's totals (measured on the whole module), and whether all agree.

    ``error`` is torch's refusal to build or run a spec the analysis accepted (then ``rows`` holds
    the layers before it).
    """

    name: str
    file: str
    batch: int
    device: str
    rows: tuple[Row, ...]
    expected: Totals
    measured: Totals | None
    error: str | None
    report: Report

    @property
    def mismatched(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.mismatches)

    @property
    def totals_agree(self) -> bool:
        return self.measured == self.expected

    @property
    def ok(self) -> bool:
        return self.error is None and not self.mismatched and self.totals_agree

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "batch": self.batch,
            "device": self.device,
            "ok": self.ok,
            "error": self.error,
            "layers": [
                {
                    "name": r.name,
                    "type": r.type,
                    "expected": asdict(r.expected),
                    "measured": asdict(r.measured),
                    "mismatches": list(r.mismatches),
                }
                for r in self.rows
            ],
            "totals": {
                "expected": asdict(self.expected),
                "measured": self.measured and asdict(self.measured),
            },
        }


# ---- memory -------------------------------------------------------------------------------------
def available_bytes(device: str) -> int:
    """Free memory on ``device``: ``torch.cuda.mem_get_info`` or /proc/meminfo's MemAvailable."""
    if device == "cuda":
        return torch.cuda.mem_get_info()[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(report: Report, device: str, available: int | None = None) -> None:
    """Refuse, before allocating anything, a net whose float32 inference peak would not fit."""
    peak = report.memory.inference_peak_bytes
    need = int(peak * MARGIN) + SLACK
    free = available_bytes(device) if available is None else available
    if need > free:
        raise Refused(
            f"running {report.name} at batch {report.batch} needs about {_gib(need)} on {device} "
            f"(inference peak {_gib(peak)} from the analysis, plus margin) but {_gib(free)} is "
            "available; "
            "try a smaller --batch or --input"
        )


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def check_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise Refused("--device cuda: this torch build sees no CUDA device; use --device cpu")
    if device not in ("cpu", "cuda"):
        raise Refused(f"unknown device '{device}'; expected cpu or cuda")
    return torch.device(device)


# ---- measuring ----------------------------------------------------------------------------------
def _own_numel(tensors: Any) -> int:
    return sum(t.numel() for t in tensors)


class _Probe:
    """Forward hooks that record each layer's output shape and the flops counted while it ran."""

    def __init__(self, net: Net, counter: FlopCounterMode, progress: Progress | None = None):
        self.counter = counter
        self.progress, self.total = progress, len(net.names)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.flops: dict[str, int] = {}
        self.handles = []
        for name, key in net.names.items():
            m = net.layers[key]
            self.handles.append(m.register_forward_pre_hook(self._before(name)))
            self.handles.append(m.register_forward_hook(self._after(name)))
        self.start = 0
        self.current = ""

    def _before(self, name: str):
        def hook(module: nn.Module, args: Any) -> None:
            self.current = name
            self.start = self.counter.get_total_flops()

        return hook

    def _after(self, name: str):
        def hook(module: nn.Module, args: Any, out: torch.Tensor) -> None:
            self.shapes[name] = tuple(out.shape)
            self.flops[name] = self.counter.get_total_flops() - self.start
            if self.progress is not None:
                self.progress(name, len(self.shapes), self.total)

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def measure(
    net: Net, x: torch.Tensor, progress: Progress | None = None
) -> tuple[dict[str, tuple[int, ...]], dict[str, int], int]:
    """Run ``net`` once (inference, no grad): per-layer output shapes and flops, and total flops.

    Raises :class:`BuildError` naming the layer whose forward torch refused.
    """
    net.eval()
    counter = FlopCounterMode(display=False)
    probe = _Probe(net, counter, progress)
    # modules whose kernels FlopCounterMode cannot see (LSTM, attention) run their ``counted``
    # forward, the same output through plain matmuls (docs/conventions.md)
    counted = [m for m in net.layers.values() if hasattr(m, "counted")]
    for m in counted:
        m.forward = m.counted  # type: ignore[assignment]
    try:
        with torch.no_grad(), counter:
            net(x)
    except Exception as e:  # torch's refusal, whatever its class, is the finding
        raise BuildError(probe.current, f"{type(e).__name__}: {e}") from e
    finally:
        probe.remove()
        for m in counted:
            del m.forward
    return probe.shapes, probe.flops, counter.get_total_flops()


def _rows(
    spec: NetSpec,
    report: Report,
    net: Net,
    shapes: Mapping[str, tuple[int, ...]],
    flops: Mapping[str, int],
):
    rows = []
    stats = {s.name: s for s in report.layers}
    for layer in spec.layers:
        if layer.name not in shapes:
            break  # torch stopped before this layer
        s = stats[layer.name]
        m = net.layer(layer.name)
        rows.append(
            Row(
                layer.name,
                layer.type,
                Counts(s.output_shape, s.params, s.buffers, s.macs),
                Counts(
                    shapes[layer.name],
                    _own_numel(m.parameters()),
                    _own_numel(m.buffers()),
                    flops[layer.name] // 2,
                ),
            )
        )
    return tuple(rows)


def verify(
    spec: NetSpec | str | Path | Mapping[str, Any],
    batch: int = 1,
    *,
    input_shape: tuple[int, ...] | None = None,
    device: str = "cpu",
    available: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Verification:
    """Analyse ``spec``, build it in torch, run one forward pass on random input, and compare.

    Raises :class:`~cnncalc.SpecError` for an invalid spec and :class:`Refused` when the run cannot
    fit in ``available`` bytes (default: what the device has free) or the device is missing.
    """
    if not isinstance(spec, NetSpec):
        spec = parse_spec(spec)
    report = analyze(spec, batch, input_shape=input_shape)
    dev = check_device(device)
    check_memory(report, device, available)
    t = report.totals
    expected = Totals(t.params, t.trainable_params, t.buffers, t.macs)
    shapes: dict[str, tuple[int, ...]] = {}
    flops: dict[str, int] = {}
    measured, error, net = None, None, None
    try:
        if progress is not None:
            progress("building", 0, len(spec.layers))
        net = build(spec, input_shape, dev)
        torch.manual_seed(seed)
        x = net.sample_input(report.input_shape, dev)
        shapes, flops, total = measure(net, x, progress)
        measured = Totals(
            _own_numel(net.parameters()),
            _own_numel(p for p in net.parameters() if p.requires_grad),
            _own_numel(net.buffers()),
            total // 2,
        )
    except BuildError as e:  # torch refused a layer the analysis accepted: a finding, not a crash
        error = str(e)
    rows = _rows(spec, report, net, shapes, flops) if net is not None else ()
    return Verification(
        spec.name, spec.file, batch, device, rows, expected, measured, error, report
    )
