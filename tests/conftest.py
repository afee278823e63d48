"""No silent skips: a test may skip only for a reason on this file's allow-list.

Every skip, anywhere and always (locally as in CI), is checked against ``ALLOWED`` below. A skip
whose reason does not start with an allowed prefix, or whose condition does not hold here (for
example "needs torch" where torch imports fine), is turned into a failure that says why. The run
then exits non-zero. ``pytest.importorskip("X")``'s reason ("could not import 'X': ...") counts as
"needs X". An expected failure (xfail) is not a skip and is not checked here.

The allow-list, each entry with why it is allowed and when:

* "needs torch": torch is an optional extra; ``pip install .`` has no torch. Honest only where torch
  cannot be imported, so never in CI, which installs torch in both of its environments.
* "needs torchvision": CI's main environment has the CPU torch 2.13.0, whose matching torchvision is
  a CUDA build that fails to import; CI's second environment (torch 2.14.1 + torchvision 0.29.1) runs
  every test marked ``torchvision``. Honest only where torchvision cannot be imported, and only in a
  test marked ``@pytest.mark.torchvision`` (else the second environment would not select it).
* "needs onnx": as torchvision, with the marker ``onnx`` (``export --to onnx``).
* "no GPU": ``--device cuda`` paths; honest where torch sees no CUDA device (CI has none).
* "needs a machine without CUDA": the "CUDA not available" message can only be seen without CUDA.
* "no chromium": the HTML rendering's browser test needs a headless chromium.
* "root can read anything": the unreadable-file test cannot make a file unreadable to root (CI's
  containers run as root). Honest only when running as root.

Tests import the paths and the skip helpers from ``_support`` (``ROOT``, ``SPECS``,
``require_torch()``, ``require_torchvision()``, ``require_onnx()``); the ``root`` and ``specs``
fixtures give the same paths. To add an allowed reason, add an entry with its why and condition.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `from _support import ...` from any cwd

from _support import ROOT, SPECS, importable


@cache
def _missing(module: str) -> bool:
    return importable(module) is None


@cache
def _no_cuda() -> bool:
    torch = importable("torch")
    return torch is None or not torch.cuda.is_available()


@dataclass(frozen=True)
class Allowed:
    prefix: str
    why: str
    holds: Callable[[], bool]  # True when a skip for this reason is honest in this environment
    marker: str | None = None  # the test must carry this marker (so that a CI environment selects it)


ALLOWED = (
    Allowed("needs torch", "torch is an optional extra", lambda: _missing("torch")),
    Allowed(
        "needs torchvision",
        "runs in CI's torchvision environment",
        lambda: _missing("torchvision"),
        "torchvision",
    ),
    Allowed("needs onnx", "runs in CI's torchvision environment", lambda: _missing("onnx"), "onnx"),
    Allowed("no GPU", "CUDA paths run only where there is a GPU", _no_cuda),
    Allowed("needs a machine without CUDA", "a CPU-only message", lambda: not _no_cuda()),
    Allowed(
        "no chromium",
        "the browser test needs a headless chromium",
        lambda: not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
    ),
    Allowed(
        "root can read anything",
        "file permissions do not bind root",
        lambda: hasattr(os, "getuid") and os.getuid() == 0,
    ),
)


def skip_reason(longrepr: object) -> str:
    """The reason a skip report gives, with importorskip's wording read as "needs X"."""
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    text = str(text).removeprefix("Skipped: ")
    m = re.match(r"could not import '([\w.]+)'", text)
    return f"needs {m.group(1)}" if m else text


def refusal(reason: str, markers: set[str] | None) -> str | None:
    """Why a skip for ``reason`` is not allowed here, or None when it is."""
    entry = max(
        (a for a in ALLOWED if reason.startswith(a.prefix)), key=lambda a: len(a.prefix), default=None
    )
    if entry is None:
        allowed = ", ".join(repr(a.prefix) for a in ALLOWED)
        return f"skip reason {reason!r} is not on the allow-list in tests/conftest.py ({allowed})"
    if not entry.holds():
        return f"skipped with {reason!r}, but that is not true in this environment"
    if entry.marker and (markers is None or entry.marker not in markers):
        where = "at collection" if markers is None else "in a test"
        return (
            f"skipped with {reason!r} {where} not marked @pytest.mark.{entry.marker}: CI's "
            f"{entry.marker} environment would never run it"
        )
    return None


def _police(report: pytest.TestReport | pytest.CollectReport, markers: set[str] | None) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    why = refusal(skip_reason(report.longrepr), markers)
    if why is not None:
        report.outcome = "failed"
        report.longrepr = f"silent skip refused: {why}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    _police(report, {m.name for m in item.iter_markers()})
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    report = yield
    _police(report, None)
    return report


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's root, whatever the working directory."""
    return ROOT


@pytest.fixture(scope="session")
def specs() -> Path:
    """The shipped specs' folder."""
    return SPECS
