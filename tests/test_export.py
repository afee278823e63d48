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
import io
import subprocess
import sys
import tokenize
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest
from _support import importable
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnncalc import SpecError, analyze, parse_spec
from cnncalc.cli import cli
from cnncalc.layers import RULES
from cnncalc.layers.base import REQUIRED, check_arg
from cnncalc.torch.export import class_name, to_pytorch_source
from cnncalc.torch.names import MODULE_ATTRS, ids_below, literal, python_names

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
    ids = ids_below(parse_spec(path))
    x = torch.randn(report.input_shape) if ids is None else torch.randint(0, ids, report.input_shape)
    with torch.no_grad():
        y = model(x)
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
    "permute": {"dims": [0, 2, 1]},
    "upsample": {"scale": 2},
    "mvitblock": {"heads": 2, "size": [1, 2, 2]},  # on [5, 8]: a class token and a 1×2×2 grid
}
# every class a rule names, with its rule (merges have no nn class: checked through their function)
CLASSES = {c: r for r in RULES.values() for c in r.torch.nn_classes()}


# A value for each required argument the tables above do not give, by kind (a list of ints: [-1],
# which reshape takes for any input), and the inputs every rule is tried on.
FILL = {"pos": 2, "pos_axes": 1, "nonneg": 0, "nonneg_axes": 0, "int": 1, "int_list": [-1], "prob": 0.5,
        "number": 1.0, "bool": True, "padding": 0, "out_axes": 1, "nonneg_list": 0, "pos_number_axes": 2}
INPUTS = [[3, 8], [3, 8, 8], [3, 4, 4, 4], [8], [5, 8], [2, 4, 6], {"shape": [5], "dtype": "int64"}]  # [2, 4, 6]: relativeattention


def _sample(rule) -> dict | None:
    if rule.type in SAMPLE_ARGS:
        return SAMPLE_ARGS[rule.type]
    return {a.name: a.choices[0] if a.choices else FILL[a.kind] for a in rule.args if a.required} or None


def _accepted(rule) -> list[tuple[dict, object, list[tuple[int, ...]]]]:
    """(item, input, per-sample input shapes) for every input the analysis accepts the sample on."""
    n = max(rule.min_inputs, 2 if rule.max_inputs is None else 1)
    out = []
    for inp in INPUTS:
        item = {rule.type: _sample(rule), "from": ["input"] * n}
        try:
            report = analyze({"input": inp, "layers": [item]})
        except SpecError:
            continue
        out.append((item, inp, [report.input_shape[1:]] * n))
    return out


@pytest.mark.parametrize("layer_type", sorted(RULES))
def test_every_argument_written_has_a_default_row(layer_type: str):
    """Every keyword a layer's call gives is in its rule's torch row, in the row's (torch's) order;
    for a merge, every keyword is an argument its function takes by name, and torch's function
    gives the analysis's shape. Every rule is checked on at least one input (add SAMPLE_ARGS
    where the fill-ins above do not make a valid layer)."""
    rule = RULES[layer_type]
    cases = _accepted(rule)
    assert cases, f"no sample of {layer_type} is valid: add it to SAMPLE_ARGS"
    for item, inp, shapes in cases:
        layer = parse_spec({"input": inp, "layers": [item]}).layers[0]
        name, kwargs = rule.to_torch(layer.args, shapes)
        fn = rule.torch.function
        if fn is None:
            row = list(rule.torch.defaults())
            assert name in rule.torch.classes()
            assert [a for a in row if a in kwargs] == list(kwargs)
            continue
        assert list(kwargs) == list(fn.kwargs)
        if torch is not None:
            module, _, attr = fn.name.rpartition(".")
            f = getattr(importlib.import_module(module), attr)
            xs = [torch.zeros(2, *shapes[0])] * len(shapes)
            out = f(*xs[:2], **kwargs) if fn.fold else f(xs, **kwargs)
            assert tuple(out.shape[1:]) == analyze({"input": inp, "layers": [item]}).layers[0].output_shape[1:]


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
    """The functions and methods a rule claims exist in torch (a typo would never import). Paths in
    other libraries (torchvision) are checked where that library imports (CI's second environment)."""
    t = RULES[layer_type].torch
    for path in t.functions:
        module, _, attr = path.rpartition(".")
        if module.split(".")[0] not in ("torch", "operator") and importable(module.split(".")[0]) is None:
            continue
        assert callable(getattr(importlib.import_module(module), attr)), path
    for method in t.methods:
        assert callable(getattr(torch.Tensor, method)), method


@needs_torch
def test_module_attrs_cover_what_a_module_has():
    assert set(dir(torch.nn.ModuleDict())) | set(dir(torch.nn.Module())) <= MODULE_ATTRS


# ---- hostile specs: nothing from a spec runs, names stay distinct, no nan/inf ---------------------
PAYLOAD = "x\"\"\"\nimport pathlib; pathlib.Path({marker!r}).touch()\n\"\"\""
SAFE_TOP = (ast.Expr, ast.Import, ast.ImportFrom, ast.ClassDef, ast.If)


def _hostile_spec(marker: Path) -> dict:
    text = PAYLOAD.format(marker=str(marker))
    return {
        "name": text,
        "input": [2, 6],
        "layers": [
            {"conv": {"out": 3, "kernel": 3}, "name": text},
            {"relu": None, "name": "a'b\\\"c\u2028d\x1b[2J"},
            {"conv": {"out": 2, "kernel": 1}, "name": "'''; import os #"},
            {"concat": None, "from": [text, "'''; import os #"], "name": "# \r\nimport os"},
        ],
    }


def test_export_writes_no_spec_text_as_code(tmp_path: Path):
    """A spec whose name and layer names close the docstring and add statements gives a module whose
    only statements are the docstring, the two imports, the class and the __main__ guard."""
    marker = tmp_path / "PWNED"
    spec = _hostile_spec(marker)
    text = to_pytorch_source(spec)
    tree = ast.parse(text)
    assert all(isinstance(node, SAFE_TOP) for node in tree.body)
    assert [type(n).__name__ for n in tree.body].count("Import") == 1
    assert ast.get_docstring(tree).startswith(spec["name"])  # the name itself, escaped, not code
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    names = {n.id for n in ast.walk(cls) if isinstance(n, ast.Name)}
    assert "os" not in names and "pathlib" not in names
    for line in text.splitlines():  # no raw control characters or line separators anywhere
        assert line.isprintable(), repr(line)
    if torch is not None:
        _load_text(text, tmp_path / "hostile.py")
        assert not marker.exists()


@pytest.mark.parametrize(
    "names",
    [["ﬁ", "fi"], ["x²", "x2"], ["\u212a", "K"], ["ℌ", "H"], ["é", "e\u0301"], ["class", "class_"], ["1", "_1"]],
)
def test_names_python_folds_together_stay_distinct(names: list[str]):
    """Python reads identifiers in NFKC: 'ﬁ' is 'fi', 'x²' is 'x2', the Kelvin sign is K."""
    keys = list(python_names(names).values())
    assert all(k.isidentifier() and unicodedata.normalize("NFKC", k) == k for k in keys)
    assert len({unicodedata.normalize("NFKC", k) for k in keys}) == len(names)


# Layer names: any text the parser accepts (letters of every script, digits, marks, symbols).
NAMES = st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5, unique=True)


@needs_torch
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(names=NAMES)
def test_exported_parameters_equal_the_analysis_for_any_names(names: list[str]):
    """Convolutions named with random unicode: the exported module keeps every one of them."""
    layers = [{"conv": {"out": 2 + i, "kernel": 1}, "name": n} for i, n in enumerate(names)]
    spec = {"name": "".join(names), "input": [3, 4], "layers": layers}
    try:
        report = analyze(spec)
    except SpecError:
        assume(False)  # a name the parser refuses (reserved words, control characters)
    text = to_pytorch_source(spec)
    namespace: dict = {}
    exec(compile(text, "exported.py", "exec"), namespace)
    model = namespace[class_name(spec["name"])]()
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert tuple(model(torch.zeros(1, 3, 4)).shape) == report.layers[-1].output_shape


NON_FINITE = [
    ("batchnorm", "eps", ".nan"), ("batchnorm", "momentum", ".inf"), ("leakyrelu", "negative_slope", "-.inf"),
    ("elu", "alpha", ".NaN"), ("dropout", "p", ".nan"),
]


@pytest.mark.parametrize(("layer", "arg", "value"), NON_FINITE)
def test_non_finite_numbers_are_refused_with_a_location(layer: str, arg: str, value: str, tmp_path: Path):
    spec = tmp_path / "nan.yaml"
    spec.write_text(f"input: [3, 4, 4]\nlayers:\n  - {{{layer}: {{{arg}: {value}}}, name: x}}\n")
    r = CliRunner().invoke(cli, ["export", str(spec)])
    assert r.exit_code == 2
    assert r.output.startswith(f"error: {spec}:3:") and r.output.count("\n") == 1
    assert "Traceback" not in r.output


@pytest.mark.parametrize(("layer", "arg", "value"), NON_FINITE)
def test_non_finite_numbers_are_refused_in_a_mapping_spec(layer: str, arg: str, value: str):
    """A spec given as a Python mapping is refused too; and the argument check itself refuses them
    (whatever reader comes first)."""
    number = float(value.lower().replace(".", ""))
    with pytest.raises(SpecError, match=r"nan|inf"):
        analyze({"input": [3, 4, 4], "layers": [{layer: {arg: number}, "name": "x"}]})
    (rule_arg,) = [a for a in RULES[layer].args if a.name == arg]
    with pytest.raises(ValueError):
        check_arg(rule_arg, number)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), (1, float("nan"))])
def test_the_writer_never_writes_nan_or_inf(value: object):
    with pytest.raises(ValueError):
        literal(value)


def test_shipped_exports_have_no_nan_or_inf():
    for path in SPECS:
        tokens = tokenize.generate_tokens(io.StringIO(to_pytorch_source(path)).readline)
        assert not {t.string for t in tokens if t.type == tokenize.NAME} & {"nan", "inf"}, path


@needs_torch
def test_concat_of_one_input_is_the_identity(tmp_path: Path):
    """DenseNet's first dense layer concatenates a list of one tensor: torch.cat([x], 1) is x."""
    spec = {
        "name": "dense1",
        "input": [4, 6, 6],
        "layers": [{"concat": None, "name": "cat"}, {"conv": {"out": 2, "kernel": 1}, "name": "conv"}],
    }
    report = analyze(spec)
    assert report.layers[0].output_shape == (1, 4, 6, 6)
    text = to_pytorch_source(spec)
    assert "cat = torch.cat([x], dim=1)" in text
    model = _load_text(text, tmp_path / "dense1.py").Dense1()
    assert tuple(model(torch.zeros(1, 4, 6, 6)).shape) == report.layers[-1].output_shape


def test_export_does_not_import_torch(tmp_path):
    """Writing PyTorch source needs no torch: the real CLI in a fresh process leaves it unimported
    (importing torch was most of export's time on a big net)."""
    out = tmp_path / "net.py"
    code = (
        "import sys\n"
        "from cnncalc.cli import main\n"
        f"sys.argv = ['cnncalc', 'export', {str(ROOT / 'specs' / 'resnet50.yaml')!r}, '-o', {str(out)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "sys.exit(code)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert res.returncode == 0, res.stderr
    assert "class " in out.read_text(encoding="utf-8")
