"""Build every shipped spec in torch and verify it; the verify command's exit statuses and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from cnncalc import parse_spec  # noqa: E402
from cnncalc.cli import cli  # noqa: E402
from cnncalc.layers import RULES  # noqa: E402
from cnncalc.layers.base import Inferred  # noqa: E402
from cnncalc.layers.dense import Linear  # noqa: E402
from cnncalc.torch.builder import build  # noqa: E402
from cnncalc.torch.names import python_names  # noqa: E402
from cnncalc.torch.verification import Refused, verify  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
TINY = {
    "name": "tiny",
    "input": [3, 8, 8],
    "layers": [
        {"conv": {"out": 4, "kernel": 3, "padding": 1}, "name": "stem.conv"},
        {"relu": None, "name": "stem.relu"},
        {"conv": {"out": 4, "kernel": 3, "padding": "same"}, "name": "body.conv", "frozen": True},
        {"add": None, "from": ["stem.relu", "body.conv"], "name": "sum"},
        {"adaptiveavgpool": {"out": 1}, "name": "pool"},
        {"flatten": None, "name": "flat"},
        {"linear": {"out": 2}, "name": "fc"},
    ],
}


@pytest.mark.parametrize("layer_type", sorted(RULES))
def test_every_rule_has_a_torch_class(layer_type: str):
    """Each rule names torch.nn classes that exist, or makes its own module, or a function (merges)."""
    t = RULES[layer_type].torch
    assert t.nn_classes() or t.module is not None or t.function is not None
    assert all(isinstance(getattr(torch.nn, c), type) for c in t.nn_classes())
    if t.module is not None:
        assert issubclass(t.module(), torch.nn.Module)


# torchvision's published parameters and multiply-accumulates ("GFLOPS") at batch 1
PUBLISHED = {"resnet50": (25_557_032, 4_089_184_256), "vgg16": (138_357_544, 15_470_264_320)}


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_shipped_specs_verify(path: Path, batch: int):
    v = verify(path, batch)
    assert v.error is None
    assert not v.mismatched, [(r.name, r.mismatches) for r in v.mismatched]
    assert v.measured == v.expected
    assert v.ok and len(v.rows) == len(parse_spec(path).layers)
    if path.stem in PUBLISHED:
        params, macs = PUBLISHED[path.stem]
        assert (v.measured.params, v.measured.macs) == (params, macs * batch)


def test_build_keeps_names_and_frozen_layers():
    net = build(parse_spec(TINY))
    assert set(net.names) == {layer["name"] for layer in TINY["layers"]}
    assert net.names["stem.conv"] == "stem_conv"
    assert isinstance(net.layer("body.conv"), torch.nn.Conv2d)
    assert not any(p.requires_grad for p in net.layer("body.conv").parameters())
    assert all(p.requires_grad for p in net.layer("stem.conv").parameters())
    assert net(torch.zeros(2, 3, 8, 8)).shape == (2, 2)


def test_build_picks_the_class_by_rank():
    spec = {
        "input": [2, 9],
        "layers": [{"conv": {"out": 2, "kernel": 3}}, {"batchnorm": None}, {"maxpool": {"kernel": 2}}],
    }
    net = build(parse_spec(spec))
    assert [type(m).__name__ for m in net.layers.values()] == ["Conv1d", "BatchNorm1d", "MaxPool1d"]


@pytest.mark.parametrize(
    ("names", "keys"),
    [
        (["a.b", "a_b"], ["a_b", "a_b_2"]),
        (
            ["0.conv", "train", "forward", "class", "x"],
            ["layer_0_conv", "train_", "forward_", "class_", "x_"],
        ),
    ],
)
def test_python_names_are_distinct_identifiers(names: list[str], keys: list[str]):
    assert list(python_names(names).values()) == keys


def test_verify_refuses_a_net_too_big_for_memory():
    with pytest.raises(Refused, match="GiB"):
        verify(TINY, 1, available=1000)


def test_verify_reports_a_layer_torch_refuses(monkeypatch: pytest.MonkeyPatch):
    """A layer the analysis accepts but torch refuses is a failed check that names the layer."""
    class BadRelu(type(RULES["relu"])):  # type: ignore[misc]
        def to_torch(self, args, ins):
            return "Softmax", {"dim": 9}

    monkeypatch.setitem(RULES, "relu", BadRelu())
    v = verify(TINY, 1)
    assert not v.ok and v.measured is None and v.rows == ()
    assert "stem.relu" in v.error and "IndexError" in v.error


# ---- the command ---------------------------------------------------------------------------------
def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_cli_verify_all_agree():
    r = run("verify", str(ROOT / "specs" / "lenet5.yaml"), "--all")
    assert r.exit_code == 0, r.output
    assert "all 12 layers agree" in r.output
    assert "params 61,706" in r.output  # the usual modern LeNet-5 (full C3, linear output)
    assert "C1" in r.output and "MISMATCH" not in r.output


class WrongLinear(Linear):
    """A linear rule off by one parameter: verify must catch it."""

    def infer(self, a, ins) -> Inferred:
        r = super().infer(a, ins)
        return Inferred(shape=r.shape, params=r.params + 1, macs=r.macs, flops=r.flops, rf=r.rf)


def test_cli_verify_mismatch_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(RULES, "linear", WrongLinear())
    r = run("verify", str(ROOT / "specs" / "lenet5.yaml"), "--format", "table")
    assert r.exit_code == 1, r.output
    assert "MISMATCH" in r.output and "disagree" in r.output
    assert "≠" in r.output


def test_cli_verify_json(monkeypatch: pytest.MonkeyPatch):
    import json

    monkeypatch.setitem(RULES, "linear", WrongLinear())
    r = run("verify", str(ROOT / "specs" / "lenet5.yaml"), "--format", "json")
    assert r.exit_code == 1
    data = json.loads(r.output)
    bad = [layer for layer in data["layers"] if layer["mismatches"]]
    assert bad and all(layer["mismatches"] == ["params"] for layer in bad)
    assert not data["ok"]


def test_cli_verify_invalid_spec_exits_2(tmp_path: Path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 4, 4]\nlayers:\n  - {conv: {out: 2, kernel: 9}}\n")
    r = run("verify", str(spec))
    assert r.exit_code == 2
    assert "bad.yaml:3" in r.output and "Traceback" not in r.output


def test_cli_verify_too_big_exits_2():
    r = run("verify", str(ROOT / "specs" / "resnet50.yaml"), "--batch", "1000000")
    assert r.exit_code == 2 and "GiB" in r.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_verify_cuda_missing_exits_2():
    r = run("verify", str(ROOT / "specs" / "lenet5.yaml"), "--device", "cuda")
    assert r.exit_code == 2 and "CUDA" in r.output


BLOCK_TORCH = (
    "import sys; sys.modules['torch'] = None; from cnncalc.cli import main; sys.argv[0] = 'cnncalc'; main()"
)


@pytest.mark.parametrize("command", [["verify"], ["export", "--to", "onnx", "-o", "OUT"]])
def test_without_torch_commands_say_how_to_install(command: list[str], tmp_path: Path):
    """(``export --to pytorch`` needs no torch: tests/test_export.py.)"""
    spec = str(ROOT / "specs" / "lenet5.yaml")
    command = [str(tmp_path / "m.onnx") if c == "OUT" else c for c in command]
    r = subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH, *command, spec],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "pip install 'cnncalc[torch]'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


# ---- the rules' torch data both ways: spec → torch module → spec -----------------------------------
def _round_trip_rows():
    import test_layers

    for ltype, inp, item, *_ in test_layers.ROWS:
        rule = RULES[ltype]
        if isinstance(item, dict) and rule.torch.nn_classes():
            yield pytest.param(inp, item, id=f"{ltype}-{inp}-{sorted(item[ltype] or {})}")


@pytest.mark.parametrize(("inp", "item"), list(_round_trip_rows()))
def test_to_torch_then_from_torch_gives_the_same_layer(inp, item):
    """A layer built as torch's module from its rule's to_torch, read back through from_torch from
    the module's own attributes, is the same layer to the analysis."""
    from cnncalc import analyze

    ltype = next(iter(item))
    rule = RULES[ltype]
    layer = parse_spec({"input": inp, "layers": [item]}).layers[0]
    name, kwargs = rule.to_torch(layer.args, [tuple(inp)])
    module = getattr(torch.nn, name)(**kwargs)
    values = {p.name: getattr(module, p.name) for p in rule.torch.params if hasattr(module, p.name)}
    back = {ltype: rule.from_torch(values)}
    before, after = (analyze({"input": inp, "layers": [i]}).layers[-1] for i in (item, back))
    assert (after.output_shape, after.params, after.buffers, after.macs) == (
        before.output_shape, before.params, before.buffers, before.macs
    )
