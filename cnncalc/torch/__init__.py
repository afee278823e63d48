"""The PyTorch bridge (optional: ``pip install 'cnncalc[torch]'``).

* :func:`build` turns a spec into a real ``torch.nn.Module`` (:mod:`cnncalc.torch.builder`);
* :func:`verify` checks the analysis against that module, layer by layer
  (:mod:`cnncalc.torch.verification`);
* :func:`to_pytorch_source` writes the spec as standalone PyTorch code
  (:mod:`cnncalc.torch.export`), and :func:`to_onnx` as an ONNX file.

Importing this package imports no torch: writing source needs none (:mod:`.names` and
:mod:`.export`), and the names that need torch (:func:`build`, :func:`verify` and their classes) are
imported on first use, so ``cnncalc export`` never pays for importing torch. (Their modules are
named ``builder`` and ``verification``, so that no submodule shadows the function of its name.)
"""

from __future__ import annotations

import importlib
from typing import Any

from .export import to_onnx, to_pytorch_source

_LAZY = {
    "BuildError": "builder",
    "Net": "builder",
    "build": "builder",
    "Refused": "verification",
    "Verification": "verification",
    "verify": "verification",
}

__all__ = [
    "BuildError",
    "Net",
    "Refused",
    "Verification",
    "build",
    "to_onnx",
    "to_pytorch_source",
    "verify",
]


def __getattr__(name: str) -> Any:
    """``build``, ``verify`` and their classes, from their modules (which import torch)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # the function, never a submodule of the same name
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
