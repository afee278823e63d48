"""``cnncalc export``: the generated PyTorch file is imported, built and run, and must match the
analysis (and, for ResNet-50, torchvision's published count)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from cnncalc import analyze  # noqa: E402
from cnncalc.cli import cli  # noqa: E402
from cnncalc.torch.export import class_name, to_pytorch_source  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_exported_module_runs_and_matches_the_analysis(path: Path, tmp_path: Path):
    out = tmp_path / "model.py"
    r = CliRunner().invoke(cli, ["export", str(path), "--to", "pytorch", "-o", str(out)])
    assert r.exit_code == 0, r.output
    module = load(out)
    report = analyze(path)
    model = getattr(module, class_name(report.name))().eval()
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == report.totals.trainable_params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    with torch.no_grad():
        y = model(torch.randn(report.input_shape))
    assert tuple(y.shape) == report.layers[-1].output_shape


def test_generated_code_is_standalone_and_readable():
    text = to_pytorch_source(ROOT / "specs" / "resnet50.yaml")
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import torch", "from torch import nn"]
    assert "cnncalc" not in text.split('"""', 2)[2]  # only the docstring names the tool
    assert "class Resnet50(nn.Module):" in text
    assert "        self.layer1_0_conv1 = nn.Conv2d(64, 64, 1, bias=False)" in text
    assert "        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)" in text
    assert "        layer1_0_add1 = layer1_0_bn3 + layer1_0_downsample_1" in text
    assert text.rstrip().endswith("print(model(torch.randn(1, 3, 224, 224)).shape)")
    compile(text, "model.py", "exec")


def test_resnet50_export_has_the_published_parameter_count(tmp_path: Path):
    out = tmp_path / "r50.py"
    out.write_text(to_pytorch_source(ROOT / "specs" / "resnet50.yaml"))
    with torch.device("meta"):
        model = load(out).Resnet50()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032


def test_export_of_a_dag_with_every_merge_and_frozen_layers(tmp_path: Path):
    spec = {
        "name": "3-way net",
        "input": [2, 6],
        "layers": [
            {"conv": {"out": 4, "kernel": 3, "padding": "same"}, "name": "a.conv", "frozen": True},
            {"conv": {"out": 4, "kernel": 1}, "name": "b.conv", "from": "input"},
            {"add": None, "from": ["a.conv", "b.conv"], "name": "sum"},
            {"adaptivemaxpool": {"out": 1}, "name": "gate.pool"},
            {"sigmoid": None, "name": "gate.act"},
            {"mul": None, "from": ["sum", "gate.act"], "name": "scaled"},
            {"concat": {"dim": 1}, "from": ["scaled", "input"], "name": "cat"},
            {"softmax": {"dim": -1}, "name": "class"},
        ],
    }
    text = to_pytorch_source(spec)
    assert "class Net3WayNet(nn.Module):" in text
    assert "torch.cat([scaled, x], dim=1)" in text and "sum * gate_act" in text
    assert ".requires_grad_(False)" in text
    out = tmp_path / "dag.py"
    out.write_text(text)
    model = load(out).Net3WayNet()
    report = analyze(spec, 3)
    assert tuple(model(torch.randn(3, 2, 6)).shape) == report.layers[-1].output_shape == (3, 6, 6)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == report.totals.trainable_params


@pytest.mark.parametrize(
    ("name", "cls"), [("resnet50", "Resnet50"), ("tiny-resnet", "TinyResnet"), ("3d", "Net3d"), ("", "Net")]
)
def test_class_name(name: str, cls: str):
    assert class_name(name) == cls


def test_export_to_stdout_and_errors(tmp_path: Path):
    r = CliRunner().invoke(cli, ["export", str(ROOT / "specs" / "lenet5.yaml")])
    assert r.exit_code == 0 and r.output.startswith('"""lenet5')
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 4, 4]\nlayers:\n  - {conv: {out: 2, kernel: 9}}\n")
    r = CliRunner().invoke(cli, ["export", str(bad)])
    assert r.exit_code == 2 and "bad.yaml:3" in r.output
    r = CliRunner().invoke(cli, ["export", str(ROOT / "specs" / "lenet5.yaml"), "--to", "onnx"])
    assert r.exit_code == 2 and "-o" in r.output


def test_export_onnx(tmp_path: Path):
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "lenet5.onnx"
    r = CliRunner().invoke(
        cli, ["export", str(ROOT / "specs" / "lenet5.yaml"), "--to", "onnx", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    report = analyze(ROOT / "specs" / "lenet5.yaml")
    dims = model.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims][1:] == list(report.layers[-1].output_shape[1:])
    assert (
        sum(int(torch.tensor(list(i.dims)).prod()) for i in model.graph.initializer) == report.totals.params
    )


def test_export_onnx_without_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    r = CliRunner().invoke(
        cli, ["export", str(ROOT / "specs" / "lenet5.yaml"), "--to", "onnx", "-o", str(tmp_path / "m.onnx")]
    )
    assert r.exit_code == 2 and "pip install onnx" in r.output
