"""Walk a parsed spec in order and compute every layer's numbers, totals and memory.

The result is a :class:`Report` of plain numbers (frozen dataclasses). Rendering lives in
``cnncalc.render``; this module never prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from math import prod
from pathlib import Path
from typing import Any

from . import rf as rfmod
from .errors import SpecError, SpecWarning, WarningKind
from .layers import RULES
from .layers.base import GLOBAL, ShapeError, Window
from .spec import INPUT, NetSpec, parse_spec
from .spec.limits import check_shape
from .spec.loader import gc_paused

DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
OPTIMIZERS = {"adam": 2, "adamw": 2, "sgd": 0, "sgd-momentum": 1, "rmsprop": 1}

RField = rfmod.RField


@dataclass(frozen=True)
class LayerStats:
    """One layer's numbers. Counts include the batch; ``params`` do not depend on it."""

    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    activation_elements: int
    activation_bytes: int
    param_bytes: int
    receptive_field: RField
    frozen: bool
    line: int
    args: Mapping[str, Any]

    def rf_dict(self) -> dict[str, list[int | float | str]] | None:
        f = self.receptive_field
        if not isinstance(f, rfmod.Field):
            return None
        return {
            "size": [rfmod.plain(v) for v in f.size],
            "stride": [rfmod.plain(v) for v in f.stride],
            "padding": [rfmod.plain(v) for v in f.padding],
        }


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    frozen_params: int
    buffers: int
    macs: int
    flops: int
    activation_elements: int
    activation_bytes: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int


@dataclass(frozen=True)
class Memory:
    """Memory estimates in bytes (models in docs/conventions.md)."""

    dtype: str
    bytes_per_element: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    inference_peak_activation_bytes: int
    inference_peak_bytes: int
    training_activation_bytes: int
    gradient_bytes: int
    optimizer: str
    optimizer_state_bytes: int
    training_bytes: int


@dataclass(frozen=True)
class Report:
    name: str
    file: str
    batch: int
    input_shape: tuple[int, ...]
    dtype: str
    layers: tuple[LayerStats, ...]
    totals: Totals
    memory: Memory
    warnings: tuple[SpecWarning, ...]
    aliases: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _index(self) -> dict[str, LayerStats]:
        return {s.name: s for s in self.layers}

    def layer(self, name: str) -> LayerStats:
        """The layer named ``name`` (a dict look-up; KeyError if there is none). For a name a user
        typed (block names, did-you-mean), see :func:`cnncalc.spec.resolve_layer`."""
        return self._index[name]

    def grouped(self, depth: int) -> tuple[LayerStats, ...]:
        """Rows for consecutive layers whose names share their first ``depth`` dotted parts.

        ``layer1.0.conv1`` … ``layer1.2.relu3`` are one row ``layer1`` at depth 1 (``layer1.0`` …
        at depth 2). A row sums params, MACs, flops and activations, and shows the output shape
        and receptive field of its last layer. Rows sum to the same totals as the layers.
        """
        rows: list[list[LayerStats]] = []
        keys: list[str] = []
        for s in self.layers:
            key = ".".join(s.name.split(".")[:depth])
            if keys and keys[-1] == key:
                rows[-1].append(s)
            else:
                keys.append(key)
                rows.append([s])
        return tuple(_group(key, members) for key, members in zip(keys, rows, strict=True))

    def to_dict(self, layers: bool = True) -> dict[str, Any]:
        """JSON-ready data: exact integers, shapes with the batch axis, null where not applicable.

        ``layers=False`` leaves the (long) list of layers empty, for a renderer that streams it.
        """
        return {
            "name": self.name,
            "file": self.file,
            "batch": self.batch,
            "dtype": self.dtype,
            "input_shape": list(self.input_shape),
            "layers": [layer_dict(s) for s in self.layers] if layers else [],
            "totals": asdict(self.totals),
            "memory": asdict(self.memory),
            "warnings": [
                {"message": w.message, "layer": w.layer, "line": w.loc.line, "kind": str(w.kind)}
                for w in self.warnings
            ],
        }


def layer_dict(s: LayerStats) -> dict[str, Any]:
    """One layer's entry of :meth:`Report.to_dict`."""
    return {
        "name": s.name, "type": s.type, "inputs": list(s.inputs), "output_shape": list(s.output_shape),
        "params": s.params, "trainable_params": s.trainable_params, "buffers": s.buffers, "macs": s.macs,
        "flops": s.flops, "activation_elements": s.activation_elements, "activation_bytes": s.activation_bytes,
        "param_bytes": s.param_bytes, "frozen": s.frozen, "line": s.line, "receptive_field": s.rf_dict(),
        "receptive_field_global": s.receptive_field == GLOBAL,
        "args": {k: list(v) if isinstance(v, tuple) else v for k, v in s.args.items()},
    }


def analyze(
    spec: NetSpec | str | Path | Mapping[str, Any],
    batch: int = 1,
    *,
    input_shape: tuple[int, ...] | None = None,
    dtype: str = "float32",
    optimizer: str = "adam",
    strict: bool = False,
) -> Report:
    """Analyse a spec (a path, a Python mapping or a parsed :class:`NetSpec`).

    Raises :class:`SpecError` for an invalid spec (and, with ``strict``, for a floored size).
    """
    if not isinstance(spec, NetSpec):
        spec = parse_spec(spec)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"batch must be a positive integer, got {batch!r}", spec.input_loc)
    if dtype not in DTYPES:
        raise SpecError(f"unknown dtype '{dtype}'; expected one of {', '.join(DTYPES)}", spec.input_loc)
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer '{optimizer}'; expected one of {', '.join(OPTIMIZERS)}", spec.input_loc)
    if input_shape is not None:
        spec = replace(spec, input_shape=_checked_shape(input_shape, spec))
    with gc_paused():  # many small acyclic objects: the cyclic collector would only slow this down
        return _Walk(spec, batch, DTYPES[dtype], strict).report(dtype, optimizer)


def _checked_shape(shape: Any, spec: NetSpec) -> tuple[int, ...]:
    """An ``input_shape`` override, held to the bounds of a spec's own input (spec.check_shape)."""
    values = tuple(shape) if isinstance(shape, (tuple, list)) else shape
    why = check_shape(values)
    if why is not None:
        raise SpecError(f"input_shape: {why}", spec.input_loc)
    return values


def _group(key: str, members: list[LayerStats]) -> LayerStats:
    if len(members) == 1:
        return members[0]
    first, last = members[0], members[-1]
    kinds = {m.type for m in members}
    return LayerStats(
        name=key, type=kinds.pop() if len(kinds) == 1 else f"{len(members)} layers", inputs=first.inputs,
        output_shape=last.output_shape, params=sum(m.params for m in members),
        trainable_params=sum(m.trainable_params for m in members), buffers=sum(m.buffers for m in members),
        macs=sum(m.macs for m in members), flops=sum(m.flops for m in members),
        activation_elements=sum(m.activation_elements for m in members),
        activation_bytes=sum(m.activation_bytes for m in members),
        param_bytes=sum(m.param_bytes for m in members), receptive_field=last.receptive_field,
        frozen=all(m.frozen for m in members), line=first.line, args={},
    )


def _called_at(layer) -> str:
    """' (block called at line 40)' for a layer that a block call produced, else ''."""
    if not layer.called_at:
        return ""
    lines = " → ".join(map(str, layer.called_at))
    return f" (block called at line {lines})"


LAST_AXIS_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: what a channels-last image ends with
MIN_SPATIAL = 8  # ... while its other axes are images' sizes, much larger than that


def channels_last_guess(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The (C, H, W) an input shape probably meant when it looks written as (H, W, C), else None.

    It looks so when it has 2 or 3 spatial axes, its last axis is 1, 3 or 4 (grey, RGB, RGBA) and
    every other axis is at least 8: ``[32, 32, 3]`` → ``(3, 32, 32)``. ``[3, 32, 32]``, ``[64, 8, 8]``
    (a last axis of 8) and ``[16, 4, 4]`` (a 4×4 map of 16 channels is not an image) do not.
    """
    if len(shape) not in (3, 4) or shape[-1] not in LAST_AXIS_CHANNELS:
        return None
    if any(n < MIN_SPATIAL for n in shape[:-1]):
        return None
    return (shape[-1], *shape[:-1])


class _Walk:
    def __init__(self, spec: NetSpec, batch: int, nbytes: int, strict: bool):
        self.spec, self.batch, self.nbytes, self.strict = spec, batch, nbytes, strict
        x = spec.input_shape
        self.shapes: dict[str, tuple[int, ...]] = {INPUT: x}
        self.fields: dict[str, RField] = {INPUT: rfmod.start(len(x) - 1) if len(x) > 1 else None}
        self.warnings: list[SpecWarning] = []
        self.stats: list[LayerStats] = []
        self.layout_warned = False  # the channels-last warning is given once

    def warn(self, message: str, layer, kind: WarningKind) -> None:
        message += _called_at(layer)
        w = SpecWarning(message, layer.loc, layer.name, kind)
        if self.strict and kind in (WarningKind.FLOOR, WarningKind.FLOOR_PADDING):
            raise SpecError(message + " (an error because of --strict)", layer.loc, layer.name)
        self.warnings.append(w)

    def check_layout(self, layer, step) -> None:
        """Warn once when a sliding window (conv, pool) reads an input that looks channels-last."""
        guess = channels_last_guess(self.spec.input_shape)
        if guess is None or not isinstance(step, Window) or self.layout_warned:
            return
        self.layout_warned = True
        x = list(self.spec.input_shape)
        self.warnings.append(SpecWarning(
            f"the input {x} looks channels-last (H, W, C): {layer.type} '{layer.name}' reads it as {x[0]} "
            f"channels of {'×'.join(map(str, x[1:]))}; did you mean {list(guess)}? (shapes are (C, H, W), as in "
            "PyTorch)", self.spec.input_loc, None, WarningKind.CHANNELS_LAST,
        ))

    def field(self, layer, step) -> RField:
        f, problems = rfmod.layer_field(step, [self.fields[i] for i in layer.inputs])
        for text in problems:
            self.warn(f"branches are not aligned: {text}; the field shown is the largest path's", layer, WarningKind.RF)
        return f

    def layer(self, layer) -> None:
        rule = RULES[layer.type]
        ins = [self.shapes[i] for i in layer.inputs]
        try:
            r = rule.infer(layer.args, ins)
        except ShapeError as e:
            where = layer.arg_locs.get(e.arg, layer.loc) if e.arg else layer.loc
            shapes = " and ".join(str(list(s)) for s in ins)
            guess = channels_last_guess(self.spec.input_shape) if INPUT in layer.inputs else None
            hint = f" (the input looks channels-last: did you mean {list(guess)}?)" if guess else ""
            raise SpecError(f"{layer.type} on input {shapes}: {e}{hint}{_called_at(layer)}", where, layer.name) from None
        if INPUT in layer.inputs:
            self.check_layout(layer, r.rf)
        if r.warnings:
            self.warn("output size is not an integer: " + "; ".join(r.warnings), layer, WarningKind.FLOOR)
        if r.notes:
            self.warn("output size is not an integer: " + "; ".join(r.notes), layer, WarningKind.FLOOR_PADDING)
        self.shapes[layer.name] = r.shape
        f = self.field(layer, r.rf)
        self.fields[layer.name] = f
        elems = prod(r.shape) * self.batch
        self.stats.append(LayerStats(
            name=layer.name, type=layer.type, inputs=layer.inputs, output_shape=(self.batch, *r.shape),
            params=r.params, trainable_params=0 if layer.frozen else r.params, buffers=r.buffers,
            macs=r.macs * self.batch, flops=r.flops * self.batch, activation_elements=elems,
            activation_bytes=elems * self.nbytes, param_bytes=r.params * self.nbytes,
            receptive_field=f, frozen=layer.frozen, line=layer.loc.line, args=layer.args,
        ))

    def report(self, dtype: str, optimizer: str) -> Report:
        for layer in self.spec.layers:
            self.layer(layer)
        s, nb = self.stats, self.nbytes
        params = sum(x.params for x in s)
        trainable = sum(x.trainable_params for x in s)
        buffers = sum(x.buffers for x in s)
        input_elems = prod(self.spec.input_shape) * self.batch
        act = sum(x.activation_elements for x in s)
        totals = Totals(
            params=params, trainable_params=trainable, frozen_params=params - trainable, buffers=buffers,
            macs=sum(x.macs for x in s), flops=sum(x.flops for x in s), activation_elements=act,
            activation_bytes=act * nb, param_bytes=params * nb, buffer_bytes=buffers * nb,
            input_bytes=input_elems * nb,
        )
        peak = self.peak_live_elements(input_elems) * nb
        saved = (input_elems + act) * nb
        grads = trainable * nb
        opt = OPTIMIZERS[optimizer] * trainable * nb
        memory = Memory(
            dtype=dtype, bytes_per_element=nb, param_bytes=params * nb, buffer_bytes=buffers * nb,
            input_bytes=input_elems * nb, inference_peak_activation_bytes=peak,
            inference_peak_bytes=(params + buffers) * nb + peak, training_activation_bytes=saved,
            gradient_bytes=grads, optimizer=optimizer, optimizer_state_bytes=opt,
            training_bytes=(params + buffers) * nb + grads + opt + saved,
        )
        return Report(
            self.spec.name, self.spec.file, self.batch, (self.batch, *self.spec.input_shape), dtype,
            tuple(s), totals, memory, tuple(self.warnings), self.spec.aliases,
        )

    def peak_live_elements(self, input_elems: int) -> int:
        """Largest sum of tensors alive at once when layers run in order, each freed after its last use.

        While a layer runs, its inputs and its output are alive. The network output (last layer) is
        kept to the end. In-place operations are not modelled (see docs/conventions.md).
        """
        last_use: dict[str, int] = {INPUT: -1}
        for i, layer in enumerate(self.spec.layers):
            for n in layer.inputs:
                last_use[n] = i
        sizes = {INPUT: input_elems, **{x.name: x.activation_elements for x in self.stats}}
        live = input_elems
        peak = live
        n_layers = len(self.spec.layers)
        frees: dict[int, list[str]] = {}
        for name, i in last_use.items():
            frees.setdefault(i, []).append(name)
        for i, layer in enumerate(self.spec.layers):
            live += sizes[layer.name]
            peak = max(peak, live)
            for name in frees.get(i, ()):
                live -= sizes[name]
            if layer.name not in last_use and i != n_layers - 1:
                live -= sizes[layer.name]  # an output nobody reads (a dead branch) is freed at once
        return peak
