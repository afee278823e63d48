"""``cnncalc export``: the generated PyTorch file is imported, built and run, and must match the
analysis (and, for ResNet-50, torchvision's published count). Writing the file needs no torch: that
is tested with torch blocked, and the facts about torch the writer keeps (each class's defaults, the
names a module already has) are checked against torch itself. Tests marked ``needs_torch`` skip
without torch; the others run either way."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from cnncalc import analyze, parse_spec
from cnncalc.cli import cli
from cnncalc.layers import RULES
from cnncalc.layers.base import REQUIRED
from cnncalc.torch.export import class_name, to_pytorch_source
from cnncalc.torch.names import MODULE_ATTRS

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_torch
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


@needs_torch
def test_resnet50_export_has_the_published_parameter_count(tmp_path: Path):
    out = tmp_path / "r50.py"
    out.write_text(to_pytorch_source(ROOT / "specs" / "resnet50.yaml"))
    with torch.device("meta"):
        model = load(out).Resnet50()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032


@needs_torch
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


@needs_torch
@pytest.mark.onnx
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


@needs_torch
def test_export_onnx_without_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    r = CliRunner().invoke(
        cli, ["export", str(ROOT / "specs" / "lenet5.yaml"), "--to", "onnx", "-o", str(tmp_path / "m.onnx")]
    )
    assert r.exit_code == 2 and "pip install onnx" in r.output


# ---- writing the source without torch ------------------------------------------------------------
BLOCK_TORCH = (
    "import sys; sys.modules['torch'] = None; from cnncalc.cli import main; sys.argv[0] = 'cnncalc'; main()"
)
ODD = """\
name: odd net
input: [3, 8, 8]
layers:
  - {conv: {out: 4, kernel: 3, padding: 1, bias: false}, name: train}
  - {batchnorm: {eps: 0.001}, name: forward}
  - {leakyrelu: {negative_slope: 0.2}}
  - {maxpool: {kernel: 2}}
  - {dropout: {p: 0.2}}
  - {adaptiveavgpool: {out: 1}, name: 0.pool}
  - flatten
  - {linear: {out: 10}, name: class}
"""
# Written by hand from the specs and torch's signatures: class, attribute and constructor per layer,
# and the parameters torch counts (LeNet-5: 156 + 2,416 + 48,120 + 10,164 + 850; the odd net: conv
# 3·4·9, batchnorm 2·4, linear 4·10 + 10).
WITHOUT_TORCH = {
    "lenet5": ("Lenet5", 61_706, [
        "self.C1 = nn.Conv2d(1, 6, 5)", "self.tanh1 = nn.Tanh()", "self.S2 = nn.AvgPool2d(2)",
        "self.C3 = nn.Conv2d(6, 16, 5)", "self.tanh2 = nn.Tanh()", "self.S4 = nn.AvgPool2d(2)",
        "self.C5 = nn.Conv2d(16, 120, 5)", "self.tanh3 = nn.Tanh()", "self.flatten1 = nn.Flatten()",
        "self.F6 = nn.Linear(120, 84)", "self.tanh4 = nn.Tanh()", "self.output = nn.Linear(84, 10)",
    ]),
    "odd": ("OddNet", 108 + 8 + 50, [
        "self.train_ = nn.Conv2d(3, 4, 3, padding=1, bias=False)",  # names nn.Module has get a '_'
        "self.forward_ = nn.BatchNorm2d(4, eps=0.001)",
        "self.leakyrelu1 = nn.LeakyReLU(negative_slope=0.2)",
        "self.maxpool1 = nn.MaxPool2d(2)",
        "self.dropout1 = nn.Dropout(p=0.2)",
        "self.layer_0_pool = nn.AdaptiveAvgPool2d(1)",
        "self.flatten1 = nn.Flatten()",
        "self.class_ = nn.Linear(4, 10)",
    ]),
}


def _init_and_forward(text: str, cls: str) -> tuple[list[str], list[str]]:
    """The source lines of ``cls.__init__`` after super(), and the attributes ``forward`` calls."""
    tree = ast.parse(text)
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
    methods = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
    init = [ast.unparse(s) for s in methods["__init__"].body[1:]]
    calls = [
        c.func.attr
        for c in ast.walk(methods["forward"])
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
    ]
    return init, calls


@pytest.mark.parametrize("case", sorted(WITHOUT_TORCH))
def test_export_to_pytorch_without_torch(case: str, tmp_path: Path):
    spec = ROOT / "specs" / "lenet5.yaml"
    if case == "odd":
        spec = tmp_path / "odd.yaml"
        spec.write_text(ODD)
    out = tmp_path / "model.py"
    r = subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH, "export", str(spec), "--to", "pytorch", "-o", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"wrote {out}\n"
    cls, params, init = WITHOUT_TORCH[case]
    text = out.read_text()
    got_init, called = _init_and_forward(text, cls)
    assert got_init == init
    assert called == [line.split(" = ")[0].removeprefix("self.") for line in init]  # in order, each once
    if torch is not None:  # the file written without torch runs with it
        module = _load_text(text, tmp_path / f"{case}_run.py")
        model = getattr(module, cls)().eval()
        assert sum(p.numel() for p in model.parameters()) == params
        assert tuple(model(torch.randn(2, *parse_spec(spec).input_shape)).shape) == (2, 10)  # 10 classes


def _load_text(text: str, path: Path) -> ModuleType:
    path.write_text(text)
    return load(path)


def test_export_without_torch_still_refuses_onnx(tmp_path: Path):
    r = subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH, "export", str(ROOT / "specs" / "lenet5.yaml"),
         "--to", "onnx", "-o", str(tmp_path / "m.onnx")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: cnncalc export --to onnx needs PyTorch, which is not installed: pip install 'cnncalc[torch]'"
    )
    assert not (tmp_path / "m.onnx").exists()


# ---- the writer's facts about torch (on each rule), against torch ----------------------------------
SAMPLE_ARGS = {
    "conv": {"out": 4, "kernel": 3},
    "maxpool": {"kernel": 2},
    "avgpool": {"kernel": 2},
    "adaptiveavgpool": {"out": 1},
    "adaptivemaxpool": {"out": 1},
    "linear": {"out": 4},
}
# every class a rule names, with its rule (merges have no nn class: checked through their function)
CLASSES = {c: r for r in RULES.values() for c in r.torch.classes()}


@pytest.mark.parametrize("shape", [[3, 8], [3, 8, 8], [3, 4, 4, 4]], ids=lambda s: f"{len(s) - 1}d")
@pytest.mark.parametrize("layer_type", sorted(RULES))
def test_every_argument_written_has_a_default_row(layer_type: str, shape: list[int]):
    """Every keyword a layer's call gives is in its rule's torch row, in the row's (torch's) order;
    for a merge, every keyword is an argument its function takes by name."""
    rule = RULES[layer_type]
    item = {layer_type: SAMPLE_ARGS.get(layer_type)}
    n = max(rule.min_inputs, 2 if rule.max_inputs is None else 1)
    item["from"] = ["input"] * n
    layer = parse_spec({"input": shape, "layers": [item]}).layers[0]
    name, kwargs = rule.to_torch(layer.args, [tuple(shape)] * n)
    fn = rule.torch.function
    if fn is None:
        row = list(rule.torch.defaults())
        assert name in rule.torch.classes()
        assert [a for a in row if a in kwargs] == list(kwargs)
    else:
        assert list(kwargs) == list(fn.kwargs)
        if torch is not None:
            module, _, attr = fn.name.rpartition(".")
            f = getattr(importlib.import_module(module), attr)
            xs = [torch.zeros(2, *shape)] * n
            out = f(*xs[:2], **kwargs) if fn.fold else f(xs, **kwargs)
            assert tuple(out.shape[1:]) == analyze({"input": shape, "layers": [item]}).layers[0].output_shape[1:]


@needs_torch
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_torch_defaults_are_torchs(name: str):
    """Each rule's torch row (fixed parameters included) is torch's constructor, in its order.
    A fixed parameter may be missing from one rank's class (AvgPool1d has no divisor_override)."""
    params = inspect.signature(getattr(torch.nn, name)).parameters
    full = {p.name: p.default for p in CLASSES[name].torch.params if p.fixed is None or p.name in params}
    assert [p for p in params if p in full] == list(full)  # torch's order
    required = [a for a, d in full.items() if d is REQUIRED]
    assert list(params)[: len(required)] == required  # written by position, first
    needed = {
        p.name for p in params.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    assert needed == set(required)
    for arg, default in full.items():
        if default is not REQUIRED:
            torch_default = params[arg].default
            assert default == torch_default and type(default) is type(torch_default), arg


@needs_torch
@pytest.mark.parametrize("layer_type", sorted(RULES))
def test_import_names_are_torchs(layer_type: str):
    """The functions and methods a rule claims exist in torch (a typo would never import)."""
    t = RULES[layer_type].torch
    for path in t.functions:
        module, _, attr = path.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), path
    for method in t.methods:
        assert callable(getattr(torch.Tensor, method)), method


@needs_torch
def test_module_attrs_cover_what_a_module_has():
    assert set(dir(torch.nn.ModuleDict())) | set(dir(torch.nn.Module())) <= MODULE_ATTRS
