"""Helpers for the tests that import torch models (import them after ``pytest.importorskip("torch")``)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode


def torch_macs(f, *args) -> int:
    """FlopCounterMode's flops / 2 for ``f(*args)`` (no grad), with nn.MultiheadAttention's fast path
    off and attention on its math backend: on the fast path, or in a fused kernel, FlopCounterMode
    sees none of attention's matmuls (docs/conventions.md)."""
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
            f(*args)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    return counter.get_total_flops() // 2


def torch_counts(model: nn.Module, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> tuple[int, int]:
    """(parameters, MACs) measured by torch: numel, and :func:`torch_macs` of one forward at batch 1."""
    params = sum(p.numel() for p in model.parameters())
    return params, torch_macs(model.eval(), torch.zeros(1, *shape, dtype=dtype))


class Fn(nn.Module):
    """A module whose forward is a function (to test functional calls and methods)."""

    def __init__(self, f, *children: nn.Module):
        super().__init__()
        self.f = f
        self.mods = nn.ModuleList(children)

    def forward(self, x):
        return self.f(x, *self.mods)
