"""Recurrent layers: ``rnn``, ``lstm`` and ``gru`` (torch.nn.RNN, LSTM, GRU with batch_first).

A sample is a sequence ``[T, features]``; the output is ``[T, hidden × directions]`` (``proj ×
directions`` for an LSTM with a projection). Per layer and direction, with x its input features,
h the hidden size, r the recurrent size (h, or proj) and g the gates (RNN 1, GRU 3, LSTM 4):

* params  g·h·x + g·h·r (+ 2·g·h biases) (+ proj·h for the LSTM projection), exactly torch's;
* MACs    T × (g·h·(x + r) (+ proj·h)): the gate matmuls of every time step.

torch.utils.flop_counter counts 0 for these modules (their kernels are opaque to it), so
``cnncalc verify`` measures them on the same recurrence written out with matmuls (docs/conventions.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .base import (
    NONE,
    Arg,
    Args,
    FromShape,
    Inferred,
    NotExpressible,
    Rule,
    Shape,
    ShapeError,
    Torch,
    TorchCall,
    TorchParam,
)

# torch's constructor of RNN, LSTM and GRU, in order (``batch_first`` is always true here)
_PARAMS = (
    TorchParam("kind"),
    TorchParam("input_size", shape=FromShape.FEATURES),
    TorchParam("hidden_size", arg="hidden"),
    TorchParam("num_layers", 1, arg="layers"),
    TorchParam("bias", True),
    TorchParam("dropout", 0.0),
    TorchParam("bidirectional", False),
)


def _torch(kind: str, *extra: TorchParam) -> Torch:
    return Torch("Recurrent", (*_PARAMS, *extra), module=lambda: torch_module(), aliases=(kind,), tuple_output=True)


@dataclass(frozen=True)
class Cell:
    """One layer and direction: input features x, hidden h, recurrent r, projection (0: none)."""

    x: int
    h: int
    r: int
    proj: int


class _Recurrent(Rule):
    gates: ClassVar[int]
    # flops per hidden unit and step beyond the matmuls and biases: the gates' activations and the
    # element-wise combination of the state (LSTM c = f·c + i·g, h = o·tanh(c); GRU h = (1−z)·n + z·h)
    combine: ClassVar[int]

    args: ClassVar[tuple[Arg, ...]] = (
        Arg("hidden", "pos", doc="hidden size h"),
        Arg("layers", "pos", 1, "stacked layers"),
        Arg("bidirectional", "bool", False, "a second direction, read backwards"),
        Arg("bias", "bool", True, "the two bias vectors b_ih and b_hh"),
        Arg("dropout", "prob", 0.0, "dropout between layers (training only)"),
    )

    def out_size(self, a: Args) -> int:
        return a["hidden"]

    def to_torch(self, args: Args, ins: Sequence[Shape]) -> TorchCall:
        """The Recurrent module below: torch's class (``kind``) with batch_first, its output only."""
        self.cells(args, ins[0])
        kwargs: dict[str, Any] = {"kind": self.torch.aliases[0], "input_size": ins[0][-1]}
        kwargs.update({p.name: args[p.spec_arg] for p in self.torch.params[2:] if p.spec_arg is not None})
        return "Recurrent", kwargs

    def torch_rank(self, ins: Sequence[Shape]) -> int:
        return 1

    def from_torch(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if values.get("batch_first") is False:
            raise NotExpressible("batch_first=False (a spec's sequences are [time, features] per sample)")
        out = super().from_torch(values)
        if not out.get("proj", 1):
            del out["proj"]
        return out

    def cells(self, a: Args, x: Shape) -> list[Cell]:
        if len(x) != 2:
            raise ShapeError(f"{self.type} needs a sequence [time, features] per sample, got {list(x)}")
        h, dirs = a["hidden"], 2 if a["bidirectional"] else 1
        proj = a.get("proj", 0)
        r = proj or h
        out = []
        for layer in range(a["layers"]):
            fin = x[1] if layer == 0 else self.out_size(a) * dirs
            out += [Cell(fin, h, r, proj)] * dirs
        return out

    def cell_params(self, c: Cell, bias: bool) -> int:
        g = self.gates
        return g * c.h * (c.x + c.r) + (2 * g * c.h if bias else 0) + c.proj * c.h

    def cell_macs(self, c: Cell) -> int:
        return self.gates * c.h * (c.x + c.r) + c.proj * c.h

    def infer(self, a: Args, ins: Sequence[Shape]) -> Inferred:
        x = ins[0]
        cells = self.cells(a, x)
        t = x[0]
        macs = t * sum(self.cell_macs(c) for c in cells)
        per_step = sum(
            (2 * self.gates * c.h if a["bias"] else 0) + (self.gates + self.combine) * c.h for c in cells
        )
        dirs = 2 if a["bidirectional"] else 1
        return Inferred(
            shape=(t, self.out_size(a) * dirs),
            params=sum(self.cell_params(c, a["bias"]) for c in cells),
            macs=macs,
            flops=2 * macs + t * per_step,
            rf=NONE,
        )

    def explain(self, a: Args, ins: Sequence[Shape]) -> list[str]:
        x = ins[0]
        cells = self.cells(a, x)
        g, dirs = self.gates, 2 if a["bidirectional"] else 1
        lines = []
        for i in range(0, len(cells), dirs):
            c = cells[i]
            bias = f" + 2·{g}·{c.h}" if a["bias"] else ""
            proj = f" + {c.proj}·{c.h}" if c.proj else ""
            each = f" (× {dirs} directions)" if dirs > 1 else ""
            lines.append(
                f"layer {i // dirs + 1}: params = {g}·{c.h}·({c.x} + {c.r}){bias}{proj} "
                f"= {self.cell_params(c, a['bias']):,}{each}"
            )
            lines.append(
                f"  MACs = {x[0]} steps × ({g}·{c.h}·({c.x} + {c.r}){proj}) = {x[0] * self.cell_macs(c):,}{each}"
            )
        r = self.infer(a, ins)
        lines.append(f"total: params {r.params:,}; MACs {r.macs:,}; output {list(r.shape)}")
        return lines


class RNN(_Recurrent):
    type = "rnn"
    doc = "Elman RNN (torch.nn.RNN): h' = act(W_ih·x + b_ih + W_hh·h + b_hh); 1 gate."
    gates, combine = 1, 0
    args = (
        *_Recurrent.args,
        Arg("nonlinearity", "choice", "tanh", "tanh or relu", choices=("tanh", "relu")),
    )
    torch = _torch("RNN", TorchParam("nonlinearity", "tanh"))


class LSTM(_Recurrent):
    type = "lstm"
    doc = "LSTM (torch.nn.LSTM): 4 gates (input, forget, cell, output); `proj` as torch's proj_size."
    gates, combine = 4, 5
    args = (*_Recurrent.args, Arg("proj", "nonneg", 0, "projection size (0: none), torch's proj_size"))
    torch = _torch("LSTM", TorchParam("proj_size", 0, arg="proj"))

    def out_size(self, a: Args) -> int:
        if a["proj"] and a["proj"] >= a["hidden"]:
            raise ShapeError(f"proj {a['proj']} must be smaller than hidden {a['hidden']} (as torch requires)", "proj")
        return a["proj"] or a["hidden"]


class GRU(_Recurrent):
    type = "gru"
    doc = "GRU (torch.nn.GRU): 3 gates (reset, update, new)."
    gates, combine = 3, 5
    torch = _torch("GRU")


def torch_module() -> type:
    """The torch module of the recurrent rules (torch is imported only when this is called).

    torch's RNN, LSTM and GRU return ``(output, state)``; a spec layer is its output. ``counted``
    runs the same recurrence with explicit matmuls on the module's own weights, so that
    FlopCounterMode sees the gate products ``cnncalc verify`` compares with the analysis.
    """
    import torch
    from torch import nn

    class Recurrent(nn.Module):
        """``kind`` ('RNN', 'LSTM' or 'GRU') with batch_first, giving its output sequence only."""

        def __init__(self, kind: str, input_size: int, hidden_size: int, **kwargs):
            super().__init__()
            self.kind = kind
            self.rnn = getattr(nn, kind)(input_size, hidden_size, batch_first=True, **kwargs)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.rnn(x)[0]

        def counted(self, x: torch.Tensor) -> torch.Tensor:
            """The same output, computed step by step with torch.matmul."""
            m = self.rnn
            dirs = 2 if m.bidirectional else 1
            for layer in range(m.num_layers):
                outs = []
                for d in range(dirs):
                    sfx = f"_l{layer}" + ("_reverse" if d else "")
                    w_ih, w_hh = getattr(m, "weight_ih" + sfx), getattr(m, "weight_hh" + sfx)
                    b_ih = getattr(m, "bias_ih" + sfx) if m.bias else 0
                    b_hh = getattr(m, "bias_hh" + sfx) if m.bias else 0
                    w_hr = getattr(m, "weight_hr" + sfx, None)
                    seq = x.flip(1) if d else x
                    h = x.new_zeros(x.shape[0], w_hh.shape[1])
                    c = x.new_zeros(x.shape[0], m.hidden_size)
                    steps = []
                    for t in range(seq.shape[1]):
                        gi = torch.matmul(seq[:, t], w_ih.t()) + b_ih
                        gh = torch.matmul(h, w_hh.t()) + b_hh
                        if self.kind == "LSTM":
                            i, f, g, o = (gi + gh).chunk(4, 1)
                            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                            h = torch.sigmoid(o) * torch.tanh(c)
                            if w_hr is not None:
                                h = torch.matmul(h, w_hr.t())
                        elif self.kind == "GRU":
                            ir, iz, inn = gi.chunk(3, 1)
                            hr, hz, hn = gh.chunk(3, 1)
                            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                            h = (1 - z) * torch.tanh(inn + r * hn) + z * h
                        else:
                            act = torch.tanh if m.nonlinearity == "tanh" else torch.relu
                            h = act(gi + gh)
                        steps.append(h)
                    out = torch.stack(steps, 1)
                    outs.append(out.flip(1) if d else out)
                x = torch.cat(outs, 2)
            return x

    return Recurrent
