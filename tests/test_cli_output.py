"""The CLI's output side: --quiet, exact numbers for display, --input bounds, the channels-last
warning, layer names a user types (resolve_layer), and the shape of the JSON output.

Expected numbers are worked by hand in the comments (conv params = C_in·k²·out + out).
"""

from __future__ import annotations

import json

import pytest
from _support import SPECS
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli
from cnncalc.errors import WarningKind
from cnncalc.render import human, human_bytes, int_text, scientific, shape_text


def run(*args: str):
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


# ---- --quiet -----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["summarize"], ["summarize", "-f", "json"], ["rf"], ["explain"]])
def test_quiet_silences_warnings_and_notes(command):
    spec = str(SPECS / "resnet50.yaml")
    code, _, loud = run(*command, spec)
    assert code == 0
    if command[0] != "explain":  # resnet50: three floors that drop input rows, five that drop padding
        assert loud.count("warning: ") == 3 and loud.count("note: ") >= 1
    code, out, err = run(*command, spec, "--quiet")
    assert code == 0 and out and err == ""


def test_quiet_keeps_errors(tmp_path):
    code, _, err = run("summarize", str(tmp_path / "missing.yaml"), "-q")
    assert code == 2 and err.startswith("error: ")


# ---- numbers for display -----------------------------------------------------------------------

HUMAN = [
    (999, "999"),
    (138_357_544, "138.36 M"),  # VGG-16's parameters
    (15_470_264_320, "15.47 G"),
    (1005, "1.00 K"),  # 1.005 is a tie: half to even
    (1015, "1.02 K"),
    (999_999_999_999_999, "1,000.00 T"),
    (10**15, "1.00e15"),
    (10**400, "1.00e400"),
    (9995 * 10**398, "1.00e402"),  # 9.995e401 rounds up into the next power
    (123 * 10**5000, "1.23e5002"),  # past Python's 4,300-digit str() limit
]


@pytest.mark.parametrize(("n", "text"), HUMAN, ids=[text for _, text in HUMAN])
def test_human_is_exact(n, text):
    assert human(n) == text


def test_bytes_and_integers_of_any_size():
    assert human_bytes(553_433_088) == "527.79 MiB"  # 553433088 / 1024² = 527.7939…
    assert human_bytes(1023) == "1023 B"
    assert human_bytes(3 * 1024**5) == "3.38e15 B"  # 3377699720527872
    assert int_text(1234567) == "1,234,567"
    assert int_text(10**4400) == "1.00e4400"
    assert shape_text((1, 3, 10**4400)) == "1×3×1.00e4400"
    assert scientific(-(10**500)) == "-1.00e500"


@pytest.mark.parametrize("value", ["3,1e30,1e30", "3,2.5,4", "3,-4,4", "3,0,4", "3,+4,4", "3,2147483648,2", "3,٣,4", ""])
def test_input_refuses_what_is_not_a_plain_size(value):
    code, out, err = run("summarize", str(SPECS / "vgg16.yaml"), "--input", value)
    assert code == 2 and "Traceback" not in out + err and "--input" in err


def test_input_takes_the_largest_bound():
    spec = {"name": "t", "input": [1, 8], "layers": [{"relu": None}]}
    report = cnncalc.analyze(spec, input_shape=(1, 2**31 - 1))
    assert report.layers[0].output_shape == (1, 1, 2**31 - 1)


# ---- channels-last -----------------------------------------------------------------------------

def _net(shape):
    return {"name": "t", "input": shape, "layers": [{"conv": {"out": 10, "kernel": 5, "padding": 2}}, "relu"]}


def test_channels_last_input_is_warned_with_the_fix():
    report = cnncalc.analyze(_net([32, 32, 3]))
    assert report.totals.params == 32 * 25 * 10 + 10 == 8010  # read as 32 channels of 32×3
    (w,) = [w for w in report.warnings if w.kind == WarningKind.CHANNELS_LAST]
    assert "did you mean [3, 32, 32]?" in w.message
    fixed = cnncalc.analyze(_net([3, 32, 32]))
    assert fixed.totals.params == 3 * 25 * 10 + 10 == 760
    assert not fixed.warnings


@pytest.mark.parametrize("shape", [[3, 32, 32], [64, 8, 8], [16, 4, 4], [1, 28, 28], [32, 3], [8, 16, 16, 16]])
def test_channels_first_inputs_are_not_warned(shape):
    spec = {"name": "t", "input": shape, "layers": [{"conv": {"out": 4, "kernel": 1}}]}
    assert not [w for w in cnncalc.analyze(spec).warnings if w.kind == WarningKind.CHANNELS_LAST]


def test_channels_last_only_warns_when_a_window_reads_the_input():
    spec = {"name": "t", "input": [32, 32, 3], "layers": [{"flatten": None}, {"linear": {"out": 2}}]}
    assert not cnncalc.analyze(spec).warnings


def test_channels_last_hint_on_a_shape_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: t\ninput: [32, 32, 3]\nlayers:\n  - {conv: {out: 4, kernel: 5}}\n")
    code, _, err = run("summarize", str(path))
    assert code == 2 and "did you mean [3, 32, 32]?" in err


# ---- layer names a user types ------------------------------------------------------------------

def test_explain_takes_a_block_name_like_rf():
    spec = str(SPECS / "googlenet.yaml")
    code, out, _ = run("explain", spec, "-l", "inception3a", "-q")
    assert code == 0 and out.splitlines()[0] == "inception3a.concat1 (concat)"
    # 64 + 128 + 32 + 32 channels of 28×28 (GoogLeNet's table 1: inception (3a) gives 256×28×28)
    assert "[256, 28, 28]" in out
    code, out, _ = run("rf", spec, "--layer", "inception3a", "-f", "json", "-q")
    assert code == 0 and json.loads(out)["unit"]["layer"] == "inception3a.concat1"


def test_unknown_layer_suggests_one_name_in_explain_and_rf():
    spec = str(SPECS / "googlenet.yaml")
    for command in (["explain", spec, "-l", "inception3x"], ["rf", spec, "--layer", "inception3x"]):
        code, _, err = run(*command)
        assert code == 2 and "did you mean 'inception3b'?" in err.splitlines()[-1]


def test_report_layer_is_a_lookup_by_name():
    report = cnncalc.analyze(SPECS / "resnet50.yaml")
    conv = report.layer("layer1.0.conv2")  # 3×3, 64 → 64, no bias: 64·64·9
    assert (conv.type, conv.params) == ("conv", 36864)
    with pytest.raises(KeyError):
        report.layer("nope")


# ---- JSON --------------------------------------------------------------------------------------

def test_json_has_one_layer_per_line_and_parses():
    code, out, _ = run("summarize", str(SPECS / "resnet50.yaml"), "-f", "json", "-q")
    assert code == 0
    doc = json.loads(out)
    rows = [line for line in out.splitlines() if line.startswith('    {"name": ')]
    assert len(rows) == len(doc["layers"])
    assert [json.loads(r.rstrip(","))["name"] for r in rows[:3]] == ["conv1", "bn1", "relu"]
    assert list(doc) == ["name", "file", "batch", "dtype", "input_shape", "layers", "totals", "memory", "warnings"]


def test_json_of_many_layers_streams_valid_text(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("name: long\ninput: [2, 4, 4]\nlayers:\n  - {relu: null, repeat: 2500}\n")
    for command in (["summarize", "-f", "json"], ["rf", "-f", "json"]):
        code, out, _ = run(*command, str(path))
        assert code == 0
        assert len(json.loads(out)["layers"]) == 2500


def test_json_never_holds_nan():
    from cnncalc.render import json_document

    text = json_document({"a": 1.5, "rows": []}, {"rows": [{"eps": float("nan")}, {"x": float("-inf")}]})
    assert json.loads(text) == {"a": 1.5, "rows": [{"eps": "nan"}, {"x": "-inf"}]}


@pytest.mark.parametrize("shape", [(3, 2**31), (3, 1e30, 4), (0,), (3, True, 4), (), (3, 4, 4, 4, 4)])
def test_analyze_holds_an_input_override_to_the_same_bounds(shape):
    with pytest.raises(cnncalc.SpecError, match="input_shape"):
        cnncalc.analyze(SPECS / "vgg16.yaml", input_shape=shape)


def test_huge_receptive_fields_stay_valid_json_and_short_text(tmp_path):
    # 600 convs of stride 2^31 − 1 on a 1×1 input: the effective stride is (2^31 − 1)^600, about
    # 10^5599 (600 · log10(2147483647) = 5599.16…), past Python's 4,300-digit str() limit.
    path = tmp_path / "s.yaml"
    path.write_text("name: t\ninput: [1, 1, 1]\nlayers:\n  - {conv: {out: 1, kernel: 1, stride: 2147483647}, repeat: 600}\n")
    code, out, _ = run("summarize", str(path), "-f", "json", "-q")
    assert code == 0
    stride = json.loads(out)["layers"][-1]["receptive_field"]["stride"]
    assert stride[0] == stride[1] and stride[0].endswith("e5599")
    code, out, _ = run("rf", str(path), "-f", "json", "-q")
    assert code == 0 and json.loads(out)["layers"][-1]["receptive_field"]["stride"][0].endswith("e5599")
    code, out, _ = run("rf", str(path), "-q")
    assert code == 0 and max(map(len, out.splitlines())) < 200
