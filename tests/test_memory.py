"""Memory models for every optimizer and dtype, and the explanation of each layer family, by hand.

The models are docs/conventions.md's: training = (params + buffers) + gradients (one per trainable
param) + optimizer state (adam/adamw 2 per trainable param, sgd-momentum and rmsprop 1, sgd 0) +
every activation kept (the input and all layer outputs), times the dtype's bytes.
"""

from __future__ import annotations

import math
import re

import pytest

import cnncalc
from cnncalc.explain import explain_layers

# input 2×4×4 = 32 elements
NET = {
    "input": [2, 4, 4],
    "layers": [
        # 3·2·3·3 = 54 params, frozen; output 3×4×4 = 48 elements
        {"conv": {"out": 3, "kernel": 3, "padding": 1, "bias": False}, "frozen": True, "name": "c"},
        # 2·3 = 6 params (γ, β); buffers 2·3 + 1 = 7; 48 elements
        {"batchnorm": None, "name": "bn"},
        {"flatten": None, "name": "f"},  # 48 elements
        {"linear": {"out": 5}, "name": "fc"},  # 48·5 + 5 = 245 params; 5 elements
    ],
}
PARAMS, TRAINABLE, BUFFERS = 54 + 6 + 245, 6 + 245, 7
SAVED = 32 + 48 + 48 + 48 + 5  # the input and every layer's output


@pytest.mark.parametrize(("optimizer", "states"), [("sgd", 0), ("sgd-momentum", 1), ("rmsprop", 1), ("adam", 2), ("adamw", 2)])
def test_training_estimate_per_optimizer(optimizer, states):
    m = cnncalc.analyze(NET, optimizer=optimizer).memory
    assert m.gradient_bytes == TRAINABLE * 4  # frozen params get no gradient
    assert m.optimizer_state_bytes == states * TRAINABLE * 4
    assert m.training_activation_bytes == SAVED * 4
    assert m.training_bytes == (PARAMS + BUFFERS + TRAINABLE + states * TRAINABLE + SAVED) * 4


@pytest.mark.parametrize(("dtype", "size"), [("float32", 4), ("float16", 2), ("bfloat16", 2), ("float64", 8), ("int8", 1)])
def test_every_dtype_scales_bytes_only(dtype, size):
    r = cnncalc.analyze(NET, dtype=dtype, optimizer="adamw")
    m, t = r.memory, r.totals
    assert m.bytes_per_element == size
    assert (t.params, t.buffers, t.macs) == (PARAMS, BUFFERS, 54 * 16 + 48 * 5)  # 3·4·4 outputs × 2·9; 5 × 48
    assert t.param_bytes == PARAMS * size and t.buffer_bytes == BUFFERS * size
    assert t.activation_bytes == (48 + 48 + 48 + 5) * size
    assert t.input_bytes == 32 * size
    assert m.training_bytes == (PARAMS + BUFFERS + 3 * TRAINABLE + SAVED) * size


def test_dtype_and_optimizer_on_the_command_line():
    import json

    from click.testing import CliRunner

    from cnncalc.cli import cli

    res = CliRunner().invoke(cli, ["summarize", "lenet5", "-f", "json", "--dtype", "bfloat16", "--optimizer", "rmsprop"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    params = 61_706  # LeNet-5, by hand (test_published)
    assert d["totals"]["param_bytes"] == params * 2
    mem = d["memory"]
    assert mem["optimizer_state_bytes"] == params * 2 and mem["gradient_bytes"] == params * 2


# ---- explain, per layer family -----------------------------------------------------------------------


def numbers(line: str) -> list[float]:
    """The numbers in one line, thousands separators removed."""
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", line)]


def explained(spec: dict) -> dict[str, list[str]]:
    return {name: lines for name, _, lines in explain_layers(spec)}


def test_explain_linear():
    lines = explained({"input": [3, 5, 7], "layers": [{"linear": {"out": 4}, "name": "fc"}]})["fc"]
    text = "\n".join(lines)
    # in features 7 (the last axis); params 7·4 + 4 = 32; MACs: 3·5 rows × 7 × 4 = 420
    assert "7" in lines[0]
    assert any(numbers(line)[-1] == 32 for line in lines if line.startswith("params"))
    assert any(numbers(line)[-1] == 420 for line in lines if line.startswith("MACs"))
    assert "15 rows" in text


@pytest.mark.parametrize(
    ("layer", "size"),
    [
        # floor((13 + 2·1 − 3)/2) + 1 = 7
        ({"maxpool": {"kernel": 3, "stride": 2, "padding": 1}}, 7),
        # floor((13 − 2)/2) + 1 = 6 (stride defaults to the kernel)
        ({"avgpool": {"kernel": 2}}, 6),
        # ceil((13 − 2)/2) + 1 = 7, and the last window starts inside (12 < 13)
        ({"maxpool": {"kernel": 2, "ceil_mode": True}}, 7),
        # dilated: floor((13 − 2·(3−1) − 1)/1) + 1 = 9
        ({"maxpool": {"kernel": 3, "stride": 1, "dilation": 2}}, 9),
    ],
)
def test_explain_pools(layer, size):
    layer = {**layer, "name": "p"}
    lines = explained({"input": [2, 13, 13], "layers": [layer]})["p"]
    axis_lines = [line for line in lines if re.match(r"[HW]: ", line)]
    assert len(axis_lines) == 2
    for line in axis_lines:
        assert math.floor(numbers(line)[-1]) == size, line  # "= 11/2 + 1 = 6.5" floors to 6
    assert "no parameters" in lines[-1] and "no MACs" in lines[-1]


@pytest.mark.parametrize("kind", ["adaptiveavgpool", "adaptivemaxpool"])
def test_explain_adaptive_pools(kind):
    lines = explained({"input": [2, 8, 7], "layers": [{kind: {"out": [4, 3]}, "name": "a"}]})["a"]
    # H: 8 → 4 is uniform (kernel = stride = 2); W: 7 → 3 is not (bins 0-3, 2-5, 4-7)
    assert lines[0].startswith("H: 8 → 4") and "2" in lines[0].split("→")[1]
    assert lines[1].startswith("W: 7 → 3") and "uneven" in lines[1]
    assert "no parameters" in lines[-1]


def test_explain_batchnorm():
    lines = explained({"input": [6, 4, 4], "layers": [{"batchnorm": None, "name": "bn"}]})["bn"]
    assert numbers(lines[0])[-1] == 12  # 2 × 6 channels
    assert numbers(lines[1])[-1] == 13  # 2 × 6 + 1
    assert "no MACs" in lines[2]
    frozen = explained({"input": [6, 4, 4], "layers": [{"batchnorm": {"affine": False}, "name": "bn"}]})["bn"]
    assert "params = 0" in frozen[0]


def test_explain_concat():
    spec = {
        "input": [3, 8, 8],
        "layers": [
            {"conv": {"out": 4, "kernel": 1}, "name": "a", "from": "input"},
            {"conv": {"out": 5, "kernel": 3, "padding": 1}, "name": "b", "from": "input"},
            {"concat": None, "from": ["a", "b"], "name": "cat"},
        ],
    }
    [line] = explained(spec)["cat"]
    # 4 + 5 = 9 channels, 8×8 kept
    assert "[4, 8, 8]" in line and "[5, 8, 8]" in line and "[9, 8, 8]" in line
    assert "no MACs" in line
