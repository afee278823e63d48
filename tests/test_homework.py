"""Homework mode: the calculators, solve, chain, check and apply, against the lecture notes' worked
examples (shared/seeds) and values worked by hand. Expected numbers are the lecture's formulas written
out (or brute force), never cnncalc's own output. torch's side is in test_homework_torch.py."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc import arith
from cnncalc.cli import cli
from cnncalc.homework import UsageError, calc, matrix
from cnncalc.homework.chain import analyze_chain, chain_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input)


def run_json(*args: str) -> Any:
    res = run(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


# ---- the lecture's formula text -------------------------------------------------------------------


def test_formula_as_the_lecture_writes_it() -> None:
    # I2DL lecture 9: N = 64, F = 3, P = 1, S = 2: (64 + 2·1 − 3)/2 + 1 = 32.5 → floor → 32
    assert arith.explain_out_len(64, 3, 2, 1, 1) == "(64 + 2·1 − 3)/2 + 1 = 63/2 + 1 = 32.5 → ⌊32.5⌋ = 32"
    assert arith.explain_out_len(7, 3, 1, 0, 0) == "(7 + 2·0 − 3)/1 + 1 = 4/1 + 1 = 5"
    assert arith.explain_out_len(7, 3, 3, 0, 0).endswith("= 4/3 + 1 = 7/3 ≈ 2.333 → ⌊7/3⌋ = 2")


def test_dilated_layers_keep_the_torch_form() -> None:
    text = arith.explain_out_len(64, 3, 2, 2, 2, 2)
    assert text == "(64 + 2·2 − 2·(3−1) − 1)/2 + 1 = 63/2 + 1 = 32.5 → ⌊32.5⌋ = 32"


def test_parameters_as_the_lecture_counts_them() -> None:
    # (F·F·C_in + 1)·K: 64 filters 3×3 on RGB: (3·3·3 + 1)·64 = 1,792
    text = arith.explain_conv_params((3, 3), 3, 1, 64, True)
    assert text.startswith("(F·F·C_in + 1)·K = (3·3·3 + 1)·64 = 1,792")
    one = arith.explain_conv_params((5, 5), 3, 1, 1, True)
    assert "1 filter of" in one and "1 filters" not in one
    assert f"{(5 * 5 * 3 + 1) * 1:,}" in one


def test_explain_writes_the_lecture_formula() -> None:
    from cnncalc.explain import explain_layers

    spec = {"input": [3, 64, 64], "layers": [
        {"conv": {"out": 1, "kernel": 3, "stride": 2, "padding": 1}, "name": "c"},
        {"conv": {"out": 2, "kernel": 3, "stride": 2, "padding": 2, "dilation": 2}, "name": "d"},
        {"maxpool": {"kernel": 3, "stride": 2, "ceil_mode": True}, "name": "p"},
    ]}
    lines = {name: text for name, _, text in explain_layers(spec)}
    assert lines["c"][0] == "H: (64 + 2·1 − 3)/2 + 1 = 63/2 + 1 = 32.5 → ⌊32.5⌋ = 32"
    # (F·F·C_in + 1)·K = (3·3·3 + 1)·1 = 28, and one filter is "1 filter"
    assert lines["c"][2] == "params = (F·F·C_in + 1)·K = (3·3·3 + 1)·1 = 28  (1 filter of 3×3×3 weights and a bias)"
    # dilated: PyTorch's form, with the answer: (32 + 4 − 2·2 − 1)/2 + 1 = 31/2 + 1 = 16.5 → 16
    assert lines["d"][0] == "H: (32 + 2·2 − 2·(3−1) − 1)/2 + 1 = 31/2 + 1 = 16.5 → ⌊16.5⌋ = 16"
    # ceil_mode: (16 − 3)/2 + 1 = 7.5 rounds up to 8
    assert lines["p"][0] == "H: (16 + 2·0 − 3)/2 + 1 = 13/2 + 1 = 7.5 → ⌈7.5⌉ = 8"


def test_floor_note_grammar_for_one_layer(tmp_path: Path) -> None:
    # ResNet's stem floors 112.5, dropping only padding: one layer "floors", not "floor"
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [3, 224, 224]\nlayers:\n  - {conv: {out: 8, kernel: 7, stride: 2, padding: 3}}\n")
    res = run("summarize", str(spec), "--format", "json")
    assert "1 layer floors" in res.stderr and "1 layer floor " not in res.stderr


def test_buffers_line_only_for_nets_with_batchnorm() -> None:
    assert "buffers" not in run("summarize", str(SPECS / "vgg16.yaml")).stdout  # no BatchNorm in VGG-16
    assert "BatchNorm running statistics" in run("summarize", str(SPECS / "resnet18.yaml")).stdout


# ---- conv and pool calculators --------------------------------------------------------------------


@pytest.mark.parametrize(("n", "f", "s", "size", "exact"), [
    (7, 3, 1, 5, Fraction(5)),          # I2DL 9: (7 − 3)/1 + 1 = 5
    (7, 3, 2, 3, Fraction(3)),          # (7 − 3)/2 + 1 = 3
    (7, 3, 3, 2, Fraction(4, 3) + 1),   # (7 − 3)/3 + 1 = 2.33: "fractions are illegal"
])
def test_conv_output_sizes_of_the_lecture(n: int, f: int, s: int, size: int, exact: Fraction) -> None:
    a = calc.conv(n, f, s)
    assert (a.size, a.exact, a.integer) == (size, exact, exact.denominator == 1)
    assert a.rf == f


def test_illegal_size_names_the_paddings_and_strides_that_fit() -> None:
    a = calc.conv(7, 3, 3)
    # (7 + 2P − 3) divisible by 3: P = 1 gives 6/3 + 1 = 3; P = 0 → strides dividing 4: 2 and 4
    assert a.fit_paddings == (1,)
    assert a.fit_strides == (2, 4)
    assert a.lost and "never read" in a.lost
    res = run("conv", "7", "3", "--stride", "3")
    assert res.exit_code == 0
    assert "fractions are illegal" in res.stdout and "7/3" in res.stdout
    assert run("conv", "7", "3", "--stride", "3", "--strict").exit_code == 2
    assert run("conv", "7", "3", "--stride", "2", "--strict").exit_code == 0


def test_same_padding_stride_2_on_64x64_rgb() -> None:
    # I2DL 9: 3×3 conv, same padding (P = 1), stride 2, 64×64 RGB → floor(32.5) = 32
    d = run_json("conv", "64", "3", "--stride", "2", "--padding", "same", "--in", "3", "--out", "64")
    assert (d["size"], d["exact"], d["padding"]) == (32, "65/2", 1)
    assert d["params"] == (3 * 3 * 3 + 1) * 64
    assert d["macs"] == 64 * 32 * 32 * 3 * 3 * 3
    assert d["fit_paddings"] == []  # 64 + 2P − 3 is odd for every P
    assert d["fit_strides"] == [1, 3]  # the divisors of 63 next to 2


def test_5x5x3_filter_on_32x32x3() -> None:
    # I2DL 9: a 5×5×3 filter on 32×32×3 slides over 28×28 positions; five filters
    d = run_json("conv", "32", "5", "--in", "3", "--out", "5")
    assert d["size"] == 32 - 5 + 1 == 28
    assert d["params"] == 5 * (5 * 5 * 3 + 1)
    assert d["macs"] == 5 * 28 * 28 * 5 * 5 * 3


def test_conv_text_explains_each_number() -> None:
    res = run("conv", "64", "3", "-s", "2", "-p", "1", "--in", "3", "--out", "64")
    out = res.stdout
    assert "(64 + 2·1 − 3)/2 + 1 = 63/2 + 1 = 32.5 → ⌊32.5⌋ = 32" in out
    assert "(F·F·C_in + 1)·K = (3·3·3 + 1)·64 = 1,792" in out
    assert "K·H_out·W_out · F·F·C_in = 64·32·32 · 3·3·3 = 1,769,472" in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize(("args", "status"), [
    (["conv", "5", "7"], 2),                      # kernel larger than the input
    (["conv", "5", "3", "--in", "3"], 2),         # --in without --out
    (["conv", "5", "3", "--padding", "lots"], 2),
    (["conv", "8", "2", "-s", "2", "-p", "same"], 2),  # same with an even kernel and stride 2
    (["conv", "0", "3"], 2),
    (["pool", "8", "2", "--padding", "2"], 2),    # more than half the window
])
def test_calculator_usage_errors(args: list[str], status: int) -> None:
    res = run(*args)
    assert res.exit_code == status
    assert res.stderr.lower().count("error: ") == 1 and "Traceback" not in res.output


def test_pool_sizes() -> None:
    # VGG: 2×2 max pool, stride 2 halves 224 → 112; the 4×4 example → 2×2
    assert calc.pool(224, 2).size == 112
    assert calc.pool(4, 2).size == 2
    # ceil_mode: ceil((112 − 3)/2) + 1 = 56 (floor would give 55)
    assert calc.pool(112, 3, 2, ceil_mode=True).size == math.ceil((112 - 3) / 2) + 1 == 56
    assert calc.pool(112, 3, 2).size == (112 - 3) // 2 + 1 == 55
    d = run_json("pool", "7", "2")
    assert (d["size"], d["exact"], d["rf"]) == (3, "7/2", 2)


def test_receptive_field_of_one_dilated_unit() -> None:
    assert calc.conv(32, 3, dilation=2).rf == 2 * (3 - 1) + 1


# ---- solve -----------------------------------------------------------------------------------------


def brute(n: int, f: int, out: int, max_p: int, max_s: int = 400) -> set[tuple[int, int]]:
    return {
        (s, p) for p in range(max_p + 1) for s in range(1, max_s)
        if n + 2 * p - f >= 0 and math.floor((n + 2 * p - f) / s) + 1 == out
    }


@pytest.mark.parametrize(("n", "f", "out"), [(64, 3, 32), (224, 7, 112), (7, 3, 3), (32, 5, 28), (28, 3, 14), (10, 4, 2)])
def test_solve_lists_every_pair(n: int, f: int, out: int) -> None:
    sol = calc.solve(n, f, out)
    got = {(p.stride, p.padding) for p in sol.pairs}
    assert got == brute(n, f, out, f - 1)
    for p in sol.pairs:
        assert p.exact == ((n + 2 * p.padding - f) % p.stride == 0)


@pytest.mark.parametrize(("n", "f", "out"), [(224, 2, 112), (7, 3, 3), (112, 3, 56), (9, 2, 4)])
def test_solve_pools_keep_padding_within_half_the_window(n: int, f: int, out: int) -> None:
    sol = calc.solve(n, f, out, pool=True)
    assert {(p.stride, p.padding) for p in sol.pairs} == brute(n, f, out, f // 2)


def test_solve_searches_the_kernel_size_when_not_given() -> None:
    # 32 → 28 at stride 1: (32 + 2P − F) = 27, so F = 5 + 2P for P = 0 … F − 1: F = 5, 7, …, 31
    sol = calc.solve(32, None, 28, stride=1)
    assert [(p.kernel, p.padding) for p in sol.pairs] == [(5 + 2 * p, p) for p in range(14)]
    want = {(f, s, p) for f in range(1, 13) for s, p in brute(12, f, 3, f - 1)}
    sol = calc.solve(12, None, 3)
    assert {(p.kernel, p.stride, p.padding) for p in sol.pairs} == want and sol.more == 0


def test_solve_the_lecture_question() -> None:
    d = run_json("solve", "--n", "64", "--f", "3", "--out", "32")
    assert [(p["stride"], p["padding"], p["exact"]) for p in d["pairs"]] == [(2, 1, False)]


def test_solve_says_when_none_exists() -> None:
    res = run("solve", "--n", "8", "--f", "3", "--out", "20")
    assert res.exit_code == 0 and "none" in res.stdout
    assert run_json("solve", "--n", "8", "--f", "3", "--out", "20")["pairs"] == []


def test_solve_output_1_has_no_largest_stride() -> None:
    sol = calc.solve(7, 3, 1, padding=0)
    assert [(p.stride, p.or_larger) for p in sol.pairs] == [(5, True)]  # ⌊4/S⌋ = 0 from S = 5 on


# ---- chain -----------------------------------------------------------------------------------------


def test_chain_of_the_issue() -> None:
    spec = chain_spec(["32x32x3", "conv5x5/10,p2", "maxpool2", "conv3x3/20"])
    assert spec["input"] == [3, 32, 32]
    r = analyze_chain(["32x32x3", "conv5x5/10,p2", "maxpool2", "conv3x3/20"])
    assert [s.output_shape[1:] for s in r.layers] == [(10, 32, 32), (10, 16, 16), (20, 14, 14)]
    assert r.totals.params == (5 * 5 * 3 + 1) * 10 + (3 * 3 * 10 + 1) * 20


def test_chain_lenet() -> None:
    r = analyze_chain(["32x32x1", "conv5/6", "tanh", "avgpool2", "conv5/16", "tanh", "avgpool2", "conv5/120", "tanh", "fc84", "tanh", "fc10"])
    # conv 6: (25 + 1)·6, conv 16: (25·6 + 1)·16, conv 120: (25·16 + 1)·120, fc 120·84 + 84, 84·10 + 10
    assert r.totals.params == 26 * 6 + 151 * 16 + 401 * 120 + 120 * 84 + 84 + 84 * 10 + 10 == 61_706


def test_chain_bottleneck() -> None:
    r = analyze_chain(["32x32x200", "conv1x1/16", "relu", "conv5x5/92,same", "relu"])
    assert r.totals.macs == 1 * 1 * 200 * 32 * 32 * 16 + 5 * 5 * 16 * 32 * 32 * 92


@pytest.mark.parametrize(("tokens", "named"), [
    (["32x32x3", "conv5x/10"], "conv5x/10"),
    (["32x32x3", "maxpool2,q3"], "maxpool2,q3"),
    (["32x32x3", "frobnicate"], "frobnicate"),
    (["3@"], "3@"),
    (["8x8", "conv9/2"], "conv9/2"),
    (["8x8", "conv3/2,s2,same"], "conv3/2,s2,same"),
])
def test_chain_bad_token_is_named(tokens: list[str], named: str) -> None:
    with pytest.raises(UsageError, match=repr(named).replace("'", "'").replace("[", r"\[")):
        analyze_chain(tokens)
    res = run("chain", *tokens)
    assert res.exit_code == 2 and named in res.stderr and "Traceback" not in res.output


# ---- check -----------------------------------------------------------------------------------------

LENET = str(SPECS / "lenet5.yaml")


def write(tmp_path: Path, text: str, name: str = "answers.yaml") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_check_all_right_exits_0(tmp_path: Path) -> None:
    # LeNet-5 by hand: C1 6@28×28, (5·5·1 + 1)·6 = 156; S2 14; C3 16·10·10·5·5·6 = 240,000 MACs;
    # receptive fields: C1 5; S2 5 + (2 − 1)·1 = 6 (jump 2 after it); C3 6 + (5 − 1)·2 = 14
    answers = write(tmp_path, (
        "C1: {shape: [6, 28, 28], params: 156}\nS2: {size: 14}\nC3: {macs: 240000, rf: 14}\n"
        "total: {params: 61706, macs: 416520}\n"
    ))
    res = run("check", LENET, answers)
    assert res.exit_code == 0, res.output
    assert res.stdout.count("✓") == 7 and "✗" not in res.stdout


def test_check_wrong_answer_exits_1_with_the_right_value(tmp_path: Path) -> None:
    answers = write(tmp_path, "C1: {params: 150, shape: 6x28x28}\n")
    res = run("check", LENET, answers)
    assert res.exit_code == 1
    assert "✗ params  150: the right value is 156" in res.stdout
    records = json.loads(run("check", LENET, answers, "--format", "json").stdout)["answers"]
    assert [(r["field"], r["right"], r["value"]) for r in records] == [("params", False, 156), ("shape", True, [6, 28, 28])]


def test_check_shape_in_the_lectures_order_gets_a_hint(tmp_path: Path) -> None:
    res = run("check", LENET, write(tmp_path, "C1: {shape: [28, 28, 6]}\n"))
    assert res.exit_code == 1 and "H×W×C order" in res.stdout


def test_check_a_size_where_there_is_none(tmp_path: Path) -> None:
    # F6 is a linear layer: its output (84,) has no spatial size, and its field is global
    res = run("check", LENET, write(tmp_path, "F6: {size: 84, rf: 32}\noutput: {rf: global}\n"))
    assert res.exit_code == 1
    assert "✗ size" in res.stdout and "✗ rf" in res.stdout and "✓ rf  global" in res.stdout


def test_check_tolerance(tmp_path: Path) -> None:
    # "LeNet: 60k parameters": 61,706 is within 5 % of 60,000 (2.8 %) but not within 2 %
    assert run("check", LENET, write(tmp_path, "total: {params: 60k, tolerance: 5%}\n")).exit_code == 0
    assert run("check", LENET, write(tmp_path, "total: {params: 60k, tolerance: 2%}\n")).exit_code == 1
    assert run("check", LENET, write(tmp_path, "tolerance: 5%\ntotal: {params: 60000}\n")).exit_code == 0
    assert run("check", LENET, write(tmp_path, "total: {params: 60k}\n")).exit_code == 1
    # written digits: 61.7k rounds 61,706 (within 50)
    assert run("check", LENET, write(tmp_path, "total: {params: 61.7k}\n")).exit_code == 0


def test_check_memory_units(tmp_path: Path) -> None:
    # C1's output: 6·28·28 = 4,704 float32 values = 18,816 bytes = 18.375 KiB
    assert run("check", LENET, write(tmp_path, "C1: {memory: 18816}\n")).exit_code == 0
    assert run("check", LENET, write(tmp_path, "C1: {memory: 18.38 KiB}\n")).exit_code == 0
    assert run("check", LENET, write(tmp_path, "C1: {memory: 18.8 KB}\n")).exit_code == 0
    assert run("check", LENET, write(tmp_path, "C1: {memory: 20 KB}\n")).exit_code == 1  # 18.8 KB rounds to 19


@pytest.mark.parametrize(("text", "where", "words"), [
    ("C1: {shap: 3}\n", ":1:6:", "did you mean 'shape'"),
    ("C11: {params: 3}\n", ":1:1:", "did you mean 'C1'"),
    ("C1: {params: [3}\n", ":1:", "YAML"),
    ("C1: {params: lots}\n", ":1:14:", "cannot read 'lots'"),
    ("C1: {params: 1, tolerance: five}\n", ":1:", "percentage"),
    ("- C1\n", ":1:1:", "maps layer names"),
    ("C1: 156\n", ":1:5:", "must be a mapping"),
])
def test_check_malformed_answers_are_located(tmp_path: Path, text: str, where: str, words: str) -> None:
    res = run("check", LENET, write(tmp_path, text))
    assert res.exit_code == 2, res.output
    line = res.stderr.strip()
    assert line.startswith("error: ") and where in line and words in line and "\n" not in line


def test_check_questions_file(tmp_path: Path) -> None:
    questions = write(tmp_path, (
        "- run: conv 7 3 --stride 3\n  expect: {size: 2, exact: 7/3, integer: false}\n"
        "- run: apply conv --input '[4, 3, 2, -5, 3, 5, 2, 5, 5, 6]' --kernel box3\n"
        "  expect: {output: [3, 0, 0, 1, 10/3, 4, 4, 16/3]}\n"
        "- run: chain 32x32x3 conv5x5/10,p2 maxpool2\n  expect: {maxpool1: {shape: [10, 16, 16]}}\n"
    ))
    res = run("check", questions)
    assert res.exit_code == 0, res.output
    wrong = write(tmp_path, "- run: conv 7 3 --stride 2\n  expect: {size: 2}\n", "wrong.yaml")
    res = run("check", wrong)
    assert res.exit_code == 1 and "the right value is 3" in res.stdout
    strict = write(tmp_path, "- run: cnncalc chain 7x7 conv3/1,s3 --strict\n  expect: {conv1: {size: 2}}\n", "s.yaml")
    res = run("check", strict)
    assert res.exit_code == 2 and "token 'conv3/1,s3'" in res.stderr and ":1:8:" in res.stderr
    bad = write(tmp_path, "- run: rm -rf /\n  expect: {size: 2}\n", "bad.yaml")
    res = run("check", bad)
    assert res.exit_code == 2 and ":1:8:" in res.stderr


def test_check_shows_the_answers_text_safely(tmp_path: Path) -> None:
    # the answers file is untrusted: an escape sequence in a claimed value is shown, never sent raw
    questions = write(tmp_path, '- run: conv 7 3\n  expect: {formula: "\\e[2J\\u202e"}\n')
    res = run("check", questions)
    assert res.exit_code == 1
    assert "\x1b" not in res.stdout and "\u202e" not in res.stdout and "\\x1b[2J\\u202e" in res.stdout
    data = json.loads(run("check", questions, "--format", "json").stdout)
    assert data["answers"][0]["claimed"] == "\x1b[2J\u202e"


# ---- apply -----------------------------------------------------------------------------------------

IMAGE = "[[-5,3,2,-5,3],[4,3,2,1,-3],[1,0,3,3,5],[-2,0,1,4,4],[5,6,7,9,-1]]"
SIGNAL = "[4, 3, 2, -5, 3, 5, 2, 5, 5, 6]"


def test_sharpen_on_the_lecture_image() -> None:
    # I2DL 9: the 5×5 image and the sharpen kernel give this 3×3 output; the last cell is
    # 5·4 + (−1)·3 + (−1)·4 + (−1)·9 + (−1)·1 = 20 − 17 = 3
    d = run_json("apply", "conv", "--input", IMAGE, "--kernel", "sharpen", "--at", "2,2")
    assert d["output"] == [[6, 1, 8], [-7, 9, 2], [-5, -9, 3]]
    assert d["at"]["text"].endswith("= 3  (zero weights left out)")
    assert sorted(d["at"]["text"].split(" = ")[0].split(" + ")) == sorted(
        ["5·4", "(−1)·3", "(−1)·4", "(−1)·9", "(−1)·1"])


@pytest.mark.parametrize(("boundary", "want"), [
    # I2DL 9: box filter 1/3·[1 1 1]: shrink: 3 0 0 1 10/3 4 4 16/3; zero pad: 7/3 … 11/3
    ("shrink", [3, 0, 0, 1, "10/3", 4, 4, "16/3"]),
    ("zero", ["7/3", 3, 0, 0, 1, "10/3", 4, 4, "16/3", "11/3"]),
])
def test_box_filter_of_the_lecture(boundary: str, want: list[Any]) -> None:
    d = run_json("apply", "conv", "--input", SIGNAL, "--kernel", "box3", "--boundary", boundary)
    assert d["output"] == want
    assert d["exact"] is True


def test_box_filter_text_prints_fractions() -> None:
    res = run("apply", "conv", "--input", SIGNAL, "--kernel", "box3", "--at", "4")
    assert "10/3" in res.stdout and "3.33" not in res.stdout
    assert "(1/3)·3 + (1/3)·5 + (1/3)·2 = 10/3" in res.stdout


def test_max_pool_of_the_lecture() -> None:
    # I2DL 9: max pool 2×2 stride 2 on [[3,1,3,5],[6,0,7,9],[3,2,1,4],[0,2,4,3]] → [[6,9],[3,4]]
    d = run_json("apply", "maxpool", "--input", "3 1 3 5; 6 0 7 9; 3 2 1 4; 0 2 4 3", "--kernel", "2", "--at", "0,1")
    assert d["output"] == [[6, 9], [3, 4]]
    assert d["at"]["text"] == "max(3, 5, 7, 9) = 9"


def test_average_pool_is_exact() -> None:
    d = run_json("apply", "avgpool", "--input", "3 1 3 5; 6 0 7 9; 3 2 1 4; 0 2 4 3", "--kernel", "2")
    assert d["output"] == [["5/2", 6], ["7/4", 3]]  # (3+1+6+0)/4, (3+5+7+9)/4, (3+2+0+2)/4, (1+4+4+3)/4


def test_1x1_kernel_scales_the_image() -> None:
    # I2DL 10: a 1×1 kernel with weight 2 scales the image: −5·2 = −10
    d = run_json("apply", "conv", "--input", IMAGE, "--kernel", "[[2]]")
    assert d["output"][0][0] == -10
    assert d["output"] == [[2 * v for v in row] for row in json.loads(IMAGE)]


def test_gaussian_and_edge_kernels() -> None:
    g = matrix.named_kernel("gaussian", 2)
    assert g is not None and sum(g.flat) == 1 and g[1, 1] == Fraction(4, 16)
    e = matrix.named_kernel("edge", 2)
    assert e is not None and sum(e.flat) == 0 and e[1, 1] == 8
    # a constant image: edge gives 0 everywhere, gaussian and box give the constant back
    flat = "[[7,7,7],[7,7,7],[7,7,7]]"
    assert run_json("apply", "conv", "-i", flat, "-k", "edge")["output"] == [[0]]
    assert run_json("apply", "conv", "-i", flat, "-k", "gaussian")["output"] == [[7]]
    assert run_json("apply", "conv", "-i", flat, "-k", "box3x3")["output"] == [[7]]


def test_flip_is_the_true_convolution() -> None:
    # [1, 2, 3] * [1, 0, −1] flipped = [−1, 0, 1]: −1·1 + 0·2 + 1·3 = 2; unflipped: 1 − 3 = −2
    assert run_json("apply", "conv", "-i", "[1, 2, 3]", "-k", "[1, 0, -1]")["output"] == [-2]
    d = run_json("apply", "conv", "-i", "[1, 2, 3]", "-k", "[1, 0, -1]", "--flip")
    assert d["output"] == [2] and "flipped" in d["mode"]


def test_rgb_style_input_sums_the_channels_and_adds_the_bias() -> None:
    # 2 channels of 3×3, a 2×2×2 kernel and bias 1; cell (0, 1) by hand:
    # channel 0: [[2, 0], [1, 1]]·[[1, 0], [0, −1]] = 2 − 1 = 1; channel 1: [[1, 1], [0, 2]]·[[1, 1], [0, 0]] = 2
    x = "[[[1,2,0],[0,1,1],[2,2,2]],[[0,1,1],[1,0,2],[2,1,0]]]"
    k = "[[[1,0],[0,-1]],[[1,1],[0,0]]]"
    d = run_json("apply", "conv", "-i", x, "-k", k, "--bias", "1", "--at", "0,1")
    assert d["output"] == [[2, 4], [0, 2]]
    assert d["at"]["value"] == 1 + 2 + 1
    # pools work on each channel: 2×2 max, stride 1
    assert run_json("apply", "maxpool", "-i", x, "-k", "2", "-s", "1")["output"] == [[[2, 2], [2, 2]], [[1, 2], [2, 2]]]
    res = run("apply", "conv", "-i", x, "-k", "sharpen")
    assert res.exit_code == 2 and "C×F×F kernel" in res.stderr


def test_floats_stay_floats() -> None:
    d = run_json("apply", "conv", "-i", "[0.5, 1.5, 2.0]", "-k", "[1, 1]")
    assert d["output"] == [2.0, 3.5] and d["exact"] is False


def test_matrices_from_files_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")
    (tmp_path / "m.yaml").write_text("- [1, 2, 3]\n- [4, 5, 6]\n- [7, 8, 9]\n")
    for path in ("m.csv", "m.yaml"):
        d = run_json("apply", "maxpool", "-i", str(tmp_path / path), "-k", "2", "-s", "1")
        assert d["output"] == [[5, 6], [8, 9]]
    res = run("apply", "conv", "-i", "-", "-k", "[[1, 1], [1, 1]]", "--format", "json", input="1 2\n3 4\n")
    assert json.loads(res.stdout)["output"] == [[10]]


@pytest.mark.parametrize(("matrix_text", "words"), [
    ("[[1, 2], [3]]", "different lengths"),
    ("[[1, x], [3, 4]]", "not a number"),
    ("[1, [2]]", "mixes"),
    ("[[" + ",".join(["1"] * 300) + "]]", "limit"),
    ("[" * 500, "YAML"),
    ("{a: 1}", "a mapping is not a matrix"),
    ("[__import__('os')]", "not a number"),
    ("[1e999]", "finite"),
    ("[1/0]", "divides by zero"),
])
def test_untrusted_matrices_get_one_line_errors(matrix_text: str, words: str) -> None:
    res = run("apply", "conv", "--input", matrix_text, "--kernel", "[1]")
    assert res.exit_code == 2, res.output
    assert words in res.stderr and "Traceback" not in res.output


def test_work_is_bounded() -> None:
    big = "[" + ",".join("[" + ",".join(["1"] * 256) + "]" for _ in range(256)) + "]"
    res = run("apply", "conv", "--input", big, "--kernel", "box64x64")
    assert res.exit_code == 2 and "multiplications" in res.stderr
