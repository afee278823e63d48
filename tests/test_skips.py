"""The skip allow-list of conftest.py, run on a scratch suite in a fresh pytest process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SCRATCH = '''
import pytest
from _support import require_torchvision

def test_unlisted_reason():
    pytest.skip("flaky on Tuesdays")

@pytest.mark.skipif(True, reason="not today")
def test_unlisted_mark():
    pass

def test_torchvision_unmarked():
    require_torchvision()

@pytest.mark.torchvision
def test_torchvision_marked():
    require_torchvision()

def test_a_false_needs_torch():
    pytest.skip("needs torch")  # torch may well import here: then the reason is false

def test_importorskip_of_a_missing_module():
    pytest.importorskip("no_such_module_xyz")

@pytest.mark.xfail(reason="an expected failure is not a skip")
def test_xfail():
    raise AssertionError
'''


def test_only_allow_listed_true_skips_pass(tmp_path: Path) -> None:
    here = Path(__file__).resolve().parent
    for name in ("conftest.py", "_support.py"):
        shutil.copy(here / name, tmp_path / name)
    (tmp_path / "test_scratch.py").write_text(SCRATCH)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    out = res.stdout
    assert res.returncode == 1, out

    def outcome(test: str) -> str:
        lines = [line for line in out.splitlines() if line.endswith(f"::{test}") or f"::{test} " in line]
        return " ".join(line.split()[0] for line in lines if line.split()[0].isupper())

    assert "FAILED" in outcome("test_unlisted_reason")
    assert "ERROR" in outcome("test_unlisted_mark") or "FAILED" in outcome("test_unlisted_mark")
    assert "FAILED" in outcome("test_importorskip_of_a_missing_module")  # "needs no_such_module_xyz"
    assert "XFAIL" in outcome("test_xfail")
    try:
        import torchvision  # noqa: F401

        has_torchvision = True
    except Exception:
        has_torchvision = False
    if has_torchvision:  # then no torchvision skip is honest
        assert "PASSED" in outcome("test_torchvision_marked")
    else:  # unmarked: CI's torchvision environment would never select it
        assert "SKIPPED" in out and "FAILED" in outcome("test_torchvision_unmarked")
    try:
        import torch  # noqa: F401

        assert "FAILED" in outcome("test_a_false_needs_torch")
    except ImportError:
        pass
    assert "not on the allow-list" in out and "flaky on Tuesdays" in out
