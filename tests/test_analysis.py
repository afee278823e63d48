"""Totals, memory models and the report's data contract, worked by hand on small nets."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from _support import SPECS
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli

CHAIN = {
    "input": [1, 4, 4],  # 16 elements
    "layers": [
        {"conv": {"out": 2, "kernel": 1}, "name": "c"},  # 2x4x4 = 32 elements; 2·1 + 2 = 4 params
        {"relu": None, "name": "r"},  # 32 elements
    ],
}


def test_inference_peak_by_hand():
    m = cnncalc.analyze(CHAIN).memory
    # conv runs: input (16) + its output (32) alive = 48; then input freed.
    # relu runs: conv output (32) + relu output (32) = 64 -> peak; conv output freed.
    assert m.inference_peak_activation_bytes == 64 * 4
    assert m.inference_peak_bytes == 4 * 4 + 64 * 4


def test_skip_connection_keeps_its_tensor_alive():
    spec = {
        "input": [1, 10],
        "layers": [
            {"relu": None, "name": "a"},  # 10
            {"relu": None, "name": "b"},  # 10, a still alive for the add
            {"relu": None, "name": "c"},  # 10
            {"add": None, "from": ["a", "c"]},  # 10
        ],
    }
    m = cnncalc.analyze(spec).memory
    # a: in+a = 20 (input freed) -> 10; b: a+b = 20; c: a+b+c = 30 (b freed) -> 20; add: a+c+out = 30.
    assert m.inference_peak_activation_bytes == 30 * 4


def test_training_estimate_by_hand():
    m = cnncalc.analyze(CHAIN, optimizer="adam").memory
    params = 4 * 4
    saved = (16 + 32 + 32) * 4
    assert m.training_bytes == params + params + 2 * params + saved
    assert cnncalc.analyze(CHAIN, optimizer="sgd").memory.training_bytes == params + params + saved


def test_dtype_changes_bytes_only():
    r16 = cnncalc.analyze(CHAIN, dtype="float16")
    r32 = cnncalc.analyze(CHAIN)
    assert r16.totals.activation_bytes * 2 == r32.totals.activation_bytes
    assert r16.totals.params == r32.totals.params and r16.totals.macs == r32.totals.macs


def test_frozen_parameters_are_reported_apart():
    spec = {
        "input": [3, 8, 8],
        "layers": [
            {"conv": {"out": 4, "kernel": 3}, "frozen": True},  # 4·3·9 + 4 = 112
            "flatten",
            {"linear": {"out": 2}},  # 4·6·6·2 + 2 = 290
        ],
    }
    t = cnncalc.analyze(spec).totals
    assert (t.params, t.trainable_params, t.frozen_params) == (402, 290, 112)


def recurrent_counts(gates: int, args: dict, x: tuple[int, ...]) -> tuple[int, int]:
    """(params, MACs) of torch's LSTM (4 gates) or GRU (3 gates), batch first: per layer and
    direction W_ih (gates·H × in), W_hh (gates·H × h), two biases of gates·H, and for an LSTM with
    proj a W_hr (proj × H); every time step multiplies by each weight matrix once."""
    hidden, dirs, proj = args["hidden"], 2 if args["bidirectional"] else 1, args.get("proj", 0)
    out = proj or hidden
    params = per_step = 0
    width = x[-1]
    for _ in range(args["layers"]):
        matrix = gates * hidden * width + gates * hidden * out + proj * hidden
        params += dirs * (matrix + 2 * gates * hidden * args["bias"])
        per_step += dirs * matrix
        width = out * dirs
    return params, x[0] * x[1] * per_step


def hand_counts(layer_type: str, args: dict, x: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, int, int]:
    """(params, buffers, MACs) of one layer from its arguments and shapes, by the textbook formulas
    (``x`` and ``out`` with the batch axis)."""
    k = args.get("kernel")
    window = math.prod(k if isinstance(k, list | tuple) else [k] * (len(x) - 2)) if k is not None else 0
    if layer_type == "conv":
        per_output = x[1] // args["groups"] * window  # one output value's multiply-adds
        return args["out"] * per_output + args["out"] * args["bias"], 0, math.prod(out) * per_output
    if layer_type == "convtranspose":  # each input value is multiplied into Cout/groups × kernel outputs
        per_input = args["out"] // args["groups"] * window
        return x[1] * per_input + args["out"] * args["bias"], 0, math.prod(x) * per_input
    if layer_type == "locallyconnected":  # a conv whose weights differ at every output position
        positions = math.prod(out[2:])
        weights = positions * args["out"] * x[1] * window
        return weights + positions * args["out"] * args["bias"], 0, x[0] * weights
    if layer_type == "linear":
        return x[-1] * args["out"] + args["out"] * args["bias"], 0, math.prod(out) * x[-1]
    if layer_type == "batchnorm":
        return 2 * x[1] * args["affine"], (2 * x[1] + 1) * args["track_running_stats"], 0
    if layer_type == "layernorm":  # γ (and β) over what is normalised
        size = x[1] if args["over"] == "channels" else math.prod(x[-args["axes"]:])
        return size * args["affine"] * (1 + args["bias"]), 0, 0
    if layer_type == "layerscale":
        return x[args["dim"]], 0, 0
    if layer_type == "embedding":
        return args["num"] * args["dim"], 0, 0
    if layer_type == "classtoken":
        return x[-1], 0, 0
    if layer_type == "posembedding":
        return math.prod(x[1:]), 0, 0
    if layer_type == "multiheadattention":  # Q, K, V and output projections; QKᵀ and AV per head
        e, length = args["embed"] or x[-1], x[1]
        return 4 * e * e + 4 * e * args["bias"], 0, x[0] * (4 * length * e * e + 2 * length * length * e)
    if layer_type in ("lstm", "gru"):
        params, macs = recurrent_counts(4 if layer_type == "lstm" else 3, args, x)
        return params, 0, macs
    return 0, 0, 0


SHIPPED = sorted(SPECS.glob("*.yaml"))


def test_the_zoo_is_found_from_any_directory():
    assert len(SHIPPED) >= 10


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_layer_and_total_matches_the_textbook_formulas(path):
    """Per layer and in total: params, buffers and MACs recomputed from the layer's arguments and
    input shape by the formulas written above, independently of the layer rules."""
    r = cnncalc.analyze(path)
    shapes = {"input": r.input_shape, **{s.name: s.output_shape for s in r.layers}}
    types = {s.type for s in r.layers}
    assert types <= KNOWN_TYPES, f"add a formula for {types - KNOWN_TYPES} to hand_counts"
    want = [hand_counts(s.type, dict(s.args), shapes[s.inputs[0]], s.output_shape) for s in r.layers]
    assert [(s.params, s.buffers, s.macs) for s in r.layers] == want
    assert r.totals.params == sum(w[0] for w in want)
    assert r.totals.buffers == sum(w[1] for w in want)
    assert r.totals.macs == sum(w[2] for w in want)


# The types with a formula above, and those whose hand formula is (0, 0, 0): no weights, no MACs.
KNOWN_TYPES = {
    "conv", "convtranspose", "locallyconnected", "linear", "batchnorm", "layernorm", "layerscale",
    "embedding", "classtoken", "posembedding", "multiheadattention", "lstm", "gru",
    "relu", "relu6", "tanh", "gelu", "silu", "sigmoid", "hardswish", "hardsigmoid", "dropout",
    "stochasticdepth", "maxpool", "avgpool", "adaptiveavgpool", "flatten", "permute", "reshape", "select",
    "add", "mul", "concat",
}


def test_json_contract():
    res = CliRunner().invoke(cli, ["summarize", str(SPECS / "vgg16.yaml"), "--format", "json", "--batch", "2"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["input_shape"] == [2, 3, 224, 224]
    first = d["layers"][0]
    for key in ("name", "type", "inputs", "output_shape", "params", "macs", "flops", "activation_bytes"):
        assert key in first
    assert first["output_shape"] == [2, 64, 224, 224]
    assert first["inputs"] == ["input"]
    for key in ("params", "trainable_params", "macs", "flops", "activation_bytes", "param_bytes"):
        assert isinstance(d["totals"][key], int)
    assert d["totals"]["params"] == 138_357_544
    assert d["totals"]["macs"] == 2 * 15_470_264_320


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_other_formats_name_every_layer(fmt):
    res = CliRunner().invoke(cli, ["summarize", str(SPECS / "resnet50.yaml"), "--format", fmt])
    assert res.exit_code == 0, res.output
    for name in ("conv1", "layer4.2.conv3", "fc"):
        assert name in res.stdout


def test_csv_has_one_row_per_layer():
    import csv
    import io

    res = CliRunner().invoke(cli, ["summarize", str(SPECS / "vgg16.yaml"), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == len(cnncalc.analyze(str(SPECS / "vgg16.yaml")).layers)
    assert rows[0]["output_shape"] == "1x64x224x224" and rows[0]["params"] == "1792"


def test_floor_warning_and_strict():
    spec_text = "input: [3, 7, 7]\nlayers:\n  - {conv: {out: 1, kernel: 3, stride: 3}, name: c}\n"
    runner = CliRunner()
    with runner.isolated_filesystem():
        Path("s.yaml").write_text(spec_text)
        ok = runner.invoke(cli, ["summarize", "s.yaml", "-f", "json"])
        assert ok.exit_code == 0
        assert "warning: s.yaml:3:6: layer 'c'" in ok.stderr
        assert "4/3 + 1" in ok.stderr and "7/3 ≈ 2.333" in ok.stderr
        strict = runner.invoke(cli, ["summarize", "s.yaml", "--strict"])
        assert strict.exit_code == 2
        assert "--strict" in strict.stderr


def test_summarize_does_not_import_torch():
    """The real CLI in a fresh process: it must succeed, and leave torch and numpy unimported."""
    code = (
        "import sys\n"
        "from cnncalc.cli import main\n"
        f"sys.argv = ['cnncalc', 'summarize', {str(SPECS / 'resnet50.yaml')!r}, '-f', 'json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
        "sys.exit(code)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["totals"]["params"] == 25_557_032  # torchvision's published count


def test_grouped_rows_by_name_depth():
    r = cnncalc.analyze(str(SPECS / "resnet50.yaml"))
    rows = r.grouped(1)
    assert [g.name for g in rows] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"]
    layer1 = rows[4]
    # by hand: block 0 = 64·64 + 128 + 64·64·9 + 128 + 64·256 + 512 + (64·256 + 512) = 75,008;
    # blocks 1 and 2 = 256·64 + 128 + 64·64·9 + 128 + 64·256 + 512 = 70,400 each
    assert layer1.params == 75_008 + 2 * 70_400
    assert layer1.output_shape == (1, 256, 56, 56)
    assert sum(g.params for g in rows) == r.totals.params
    assert sum(g.macs for g in rows) == r.totals.macs
    assert len(r.grouped(2)) == 4 + 3 + 4 + 6 + 3 + 3


def test_summarize_depth_option():
    res = CliRunner().invoke(cli, ["summarize", str(SPECS / "resnet50.yaml"), "--depth", "1"])
    assert res.exit_code == 0
    assert "layer3" in res.stdout and "layer3.0.conv1" not in res.stdout


def test_long_tables_render_as_plain_text(monkeypatch):
    import cnncalc.render.table as table

    monkeypatch.setattr(table, "RICH_ROWS", 5)
    res = CliRunner().invoke(cli, ["summarize", str(SPECS / "vgg16.yaml")])
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert any(line.split()[:2] == ["conv5_3", "conv"] for line in lines)
    total = next(line for line in lines if line.strip().startswith("total"))
    assert "138.36 M" in total and "15.47 G" in total
    assert "--depth 1" in res.stdout


def test_explain_unknown_layer_suggests_the_closest():
    res = CliRunner().invoke(cli, ["explain", str(SPECS / "resnet50.yaml"), "--layer", "layer1.0.conv4"])
    assert res.exit_code == 2
    assert "no layer named 'layer1.0.conv4' (did you mean 'layer1.0.conv3'?)" in res.stderr


def test_explain_shows_the_lecture_arithmetic():
    spec = {"input": [3, 64, 64], "layers": [{"conv": {"out": 8, "kernel": 3, "stride": 2, "padding": 1}, "name": "c"}]}
    from cnncalc.explain import explain_layers

    [(name, kind, lines)] = list(explain_layers(spec))
    assert (name, kind) == ("c", "conv")
    # (64 + 2·1 − 3)/2 + 1 = 32.5, floored to 32, as the lecture writes it
    assert lines[0] == "H: (64 + 2·1 − 3)/2 + 1 = 63/2 + 1 = 32.5 → ⌊32.5⌋ = 32"
    assert lines[2].startswith("params = (F·F·C_in + 1)·K = (3·3·3 + 1)·8 = 224")  # 8·3·9 + 8
    assert lines[3] == "MACs = K·H_out·W_out · F·F·C_in = 8·32·32 · 3·3·3 = 221,184"  # 8·32·32·27


def test_spec_from_standard_input():
    text = (SPECS / "lenet5.yaml").read_text()
    res = CliRunner().invoke(cli, ["summarize", "-", "--format", "json"], input=text)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["totals"]["params"] == 61_706  # LeNet-5, worked by hand in test_seeds
    bad = CliRunner().invoke(cli, ["summarize", "-"], input="input: [3, 8, 8]\nlayers:\n  - {conv: {out: 2, kernal: 3}}\n")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: <stdin>:3:21: layer 'conv1'")
