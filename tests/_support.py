"""Paths and optional-dependency helpers shared by the tests (import as ``from _support import ...``).

Paths are anchored to this file, never to the working directory: the suite passes when run from
any directory (``cd /tmp && python -m pytest /path/to/cnncalc/tests``).

The ``require_*`` helpers skip with a reason that is on the allow-list of ``conftest.py``. Unlike
``pytest.importorskip`` they catch every exception an import raises: a torchvision built for another
torch raises ``RuntimeError`` (not ``ImportError``) when imported, which ``importorskip`` lets
through as an error.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def importable(name: str) -> ModuleType | None:
    """The module, or None when importing it fails for any reason."""
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _require(name: str) -> ModuleType:
    module = importable(name)
    if module is None:
        pytest.skip(f"needs {name}", allow_module_level=True)
    return module


def require_torch() -> ModuleType:
    """torch, or a skip "needs torch" (allowed only where torch cannot be imported)."""
    return _require("torch")


def require_torchvision() -> ModuleType:
    """torchvision, or a skip "needs torchvision": mark the test ``@pytest.mark.torchvision`` so
    that CI's torchvision environment runs it."""
    return _require("torchvision")


def require_onnx() -> ModuleType:
    """onnx, or a skip "needs onnx": mark the test ``@pytest.mark.onnx``."""
    return _require("onnx")
