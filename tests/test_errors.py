"""The malformed-spec corpus: every bad spec gets one located, explained error and exit status 2.

Each case is run twice: through the CLI (``cnncalc summarize FILE``: exit 2, one line on stderr,
no traceback) and through the library (``cnncalc.analyze`` raises ``SpecError`` with the same text).
The expected line (and column, given as the text the column must point at) is read off the case's
own text, so a case shows where its error is.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc import SpecError, analyze
from cnncalc.cli import cli
from cnncalc.spec import MAX_LAYERS

H = "input: [3, 32, 32]\nlayers:\n"  # layers start on line 3
LINE = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?: (?:layer '(?P<layer>[^']*)': )?(?P<msg>.+)$")


def block(params: str, layer: str, call: str = "  - b") -> str:
    """A spec whose block ``b`` (params on line 4, its layer on line 5) is called on line 7."""
    return f"input: [3, 32, 32]\nblocks:\n  b:\n    params: {params}\n    layers: [{layer}]\nlayers:\n{call}\n"


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    line: int
    phrase: str  # a key part of what was expected (case-insensitive)
    at: str | None = None  # the column must point at this text on `line`
    layer: str | None = None

    @property
    def column(self) -> int | None:
        return None if self.at is None else self.text.splitlines()[self.line - 1].index(self.at) + 1


CASES = [
    # YAML syntax
    Case("bad-indent", H + "  - relu\n - relu\n", 4, "expected key"),
    Case("unclosed-bracket", "input: [3, 32, 32\nlayers: [relu]\n", 2, "expected ',' or ']'"),
    Case("tab-indent", H + "\t- relu\n", 3, "a tab: YAML indents with spaces only", at="\t"),
    # a beginner's mistakes, each with the hint that mends it
    Case("args-not-indented", H + "  - conv:\n    out: 16\n    kernel: 3\n", 4, "indent them under 'conv:'", at="out"),
    Case("synonym-bn", H + "  - {bn: null}\n", 3, "did you mean 'batchnorm'", at="bn"),
    Case("synonym-fc", H + "  - fc\n", 3, "did you mean 'linear'", at="fc"),
    Case("layers-not-seq", H + "  - {layers: [relu], repeat: 3}\n", 3, "write {seq: [...], repeat: N}", at="layers"),
    Case("control-character", H + "  - re\x07lu\n", 3, "#x0007 is not allowed", at="\x07"),
    Case("nul-character", "input: [3, 8, 8]\nlayers: [relu]\x00\n", 2, "#x0000 is not allowed", at="\x00"),
    Case("two-documents", "input: [3, 8, 8]\n---\nlayers: [relu]\n", 2, "one YAML document"),
    # empty and non-mapping documents
    Case("empty-file", "", 1, "the file is empty; expected a mapping with 'input' and 'layers'"),
    Case("whitespace-only", "   \n\n  \n", 1, "the file is empty"),
    Case("comment-only", "# nothing here\n", 1, "the file is empty"),
    Case("top-level-list", "- relu\n- relu\n", 1, "top level must be a mapping with 'input' and 'layers'"),
    Case("top-level-scalar", "hello\n", 1, "top level must be a mapping", at="hello"),
    Case("unknown-top-key", "input: [3, 8, 8]\nlayer: [relu]\n", 2, "did you mean 'layers'", at="layer"),
    # input
    Case("missing-input", "layers: [relu]\n", 1, "missing 'input'"),
    Case("input-string", "input: abc\nlayers: [relu]\n", 1, "list of 1 to 4 positive integers", at="abc"),
    Case("input-negative", "input: [3, -1, 5]\nlayers: [relu]\n", 1, "positive integers", at="["),
    Case("input-float", "input: [3, 224.0]\nlayers: [relu]\n", 1, "got [3, 224.0]", at="["),
    Case("input-bool", "input: [true, 3]\nlayers: [relu]\n", 1, "got [true, 3]", at="["),
    Case("input-5-dims", "input: [3, 2, 2, 2, 2]\nlayers: [relu]\n", 1, "1 to 4", at="["),
    Case("input-mapping", "input: {c: 3}\nlayers: [relu]\n", 1, "has no key 'c'; expected shape, dtype", at="c: 3"),
    # layers
    Case("missing-layers", "input: [3, 8, 8]\n", 1, "missing 'layers'"),
    Case("empty-layers", "input: [3, 8, 8]\nlayers: []\n", 2, "non-empty list of layers", at="[]"),
    Case("null-layers", "input: [3, 8, 8]\nlayers:\n", 2, "non-empty list of layers, got null"),
    Case("layers-mapping", "input: [3, 8, 8]\nlayers: {relu: null}\n", 2, "non-empty list", at="{"),
    Case("layer-number", H + "  - 5\n", 3, "a layer must be a type name", at="5"),
    Case("layer-null", H + "  -\n  - relu\n", 3, "a layer must be a type name"),
    Case("layer-list", H + "  - [relu]\n", 3, "a layer must be a type name", at="["),
    # layer types
    Case("unknown-type", H + "  - {convv: {out: 3, kernel: 3}}\n", 3, "did you mean 'conv'", at="convv", layer="convv1"),
    Case("unknown-type-bare", H + "  - relu\n  - convv\n", 4, "known types: adaptiveavgpool", at="convv"),
    Case("unknown-type-named", H + "  - {convv: null, name: stem}\n", 3, "did you mean 'conv'", at="convv", layer="stem"),
    Case("two-type-keys", H + "  - {conv: {out: 3, kernel: 3}, relu: null}\n", 3, "two type keys (conv, relu)", at="{"),
    Case("no-type-key", H + "  - {name: a, from: input}\n", 3, "no type key", at="{", layer="a"),
    # arguments
    Case("unknown-arg", H + "  - {conv: {out: 3, kernal: 3}}\n", 3, "did you mean 'kernel'", at="kernal", layer="conv1"),
    Case("arg-of-argless", H + "  - {sigmoid: {inplace: true}}\n", 3, "takes no arguments", at="inplace", layer="sigmoid1"),
    Case("missing-arg", H + "  - {conv: {kernel: 3}}\n", 3, "needs argument 'out'", layer="conv1"),
    Case("missing-arg-bare", H + "  - conv\n", 3, "needs argument 'out'", at="conv", layer="conv1"),
    Case("args-not-mapping", H + "  - {conv: [16, 3]}\n", 3, "must be a mapping such as {out: ..., kernel: ...}", at="[", layer="conv1"),
    Case("bool-for-int", H + "  - {conv: {out: true, kernel: 3}}\n", 3, "positive integer, got true", at="true", layer="conv1"),
    Case("float-channels", H + "  - {conv: {out: 64.5, kernel: 3}}\n", 3, "positive integer, got 64.5", at="64.5", layer="conv1"),
    Case("string-number", H + "  - {conv: {out: \"64\", kernel: 3}}\n", 3, "without quotes", at='"64"', layer="conv1"),
    Case("negative-stride", H + "  - {conv: {out: 4, kernel: 3, stride: -1}}\n", 3, "positive integer", at="-1", layer="conv1"),
    Case("zero-kernel", H + "  - {conv: {out: 4, kernel: 0}}\n", 3, "positive integer", at="0}", layer="conv1"),
    Case("negative-padding", H + "  - {conv: {out: 4, kernel: 3, padding: -1}}\n", 3, "non-negative integer", at="-1", layer="conv1"),
    Case("bad-padding-word", H + "  - {conv: {out: 4, kernel: 3, padding: full}}\n", 3, "'same' or 'valid'", at="full", layer="conv1"),
    Case("zero-out", H + "  - {linear: {out: 0}}\n", 3, "positive integer, got 0", at="0", layer="linear1"),
    Case("zero-pool-stride", H + "  - {maxpool: {kernel: 2, stride: 0}}\n", 3, "positive integer", at="0", layer="maxpool1"),
    Case("prob-over-one", H + "  - {dropout: {p: 1.5}}\n", 3, "between 0 and 1", at="1.5", layer="dropout1"),
    Case("kernel-axes-vs-rank", H + "  - {conv: {out: 4, kernel: [3, 3, 3]}}\n", 3, "3 values but the input has 2 spatial axes", at="[", layer="conv1"),
    Case("stride-axes-1d", "input: [3, 32]\nlayers:\n  - {conv: {out: 4, kernel: 3, stride: [1, 2]}}\n", 3, "2 values but the input has 1 spatial axis", at="[", layer="conv1"),
    Case("bad-int-tag", H + "  - {conv: {out: !!int abc, kernel: 3}}\n", 3, "'abc' is not an integer", at="!!int"),
    Case("huge-number", H + "  - {conv: {out: 1" + "0" * 5000 + ", kernel: 3}}\n", 3, "is not an integer", at="10"),
    # duplicate keys
    Case("duplicate-top-key", "input: [3, 32, 32]\ninput: [3, 8, 8]\nlayers: [relu]\n", 2, "duplicate key 'input'", at="input"),
    Case("duplicate-item-key", H + "  - {relu: null, name: a, name: b}\n", 3, "duplicate key 'name'", at="name: b"),
    Case("duplicate-arg", H + "  - {conv: {out: 4, kernel: 3, out: 5}}\n", 3, "duplicate key 'out'", at="out: 5", layer="conv1"),
    Case("duplicate-block-param", block("{w: 1, w: 2}", "relu"), 4, "duplicate key 'w'", at="w: 2"),
    # shapes
    Case("kernel-too-large", H + "  - {conv: {out: 4, kernel: 40}}\n", 3, "larger than the padded input 32", at="40", layer="conv1"),
    Case("pool-kernel-too-large", "input: [3, 4, 4]\nlayers:\n  - {maxpool: {kernel: 5}}\n", 3, "larger than the padded input 4", at="5", layer="maxpool1"),
    Case("pool-padding-over-half", H + "  - {maxpool: {kernel: 3, padding: 2}}\n", 3, "more than half the kernel", at="2}", layer="maxpool1"),
    Case("groups-in", H + "  - {conv: {out: 4, kernel: 3, groups: 2}}\n", 3, "does not divide the 3 input channels", at="2}", layer="conv1"),
    Case("groups-out", "input: [4, 8, 8]\nlayers:\n  - {conv: {out: 3, kernel: 3, groups: 2}}\n", 3, "does not divide the 3 output channels", at="2}", layer="conv1"),
    Case("same-with-stride", H + "  - {conv: {out: 4, kernel: 3, stride: 2, padding: same}}\n", 3, "needs stride 1", at="same", layer="conv1"),
    Case("add-shapes", H + "  - {conv: {out: 4, kernel: 3}, name: a}\n  - {add: null, from: [input, a]}\n", 4, "one shape", at="add", layer="add1"),
    Case("concat-shapes", H + "  - {conv: {out: 4, kernel: 3}, name: a}\n  - {concat: null, from: [input, a]}\n", 4, "agree on every other axis", at="concat", layer="concat1"),
    Case("add-one-input", H + "  - {conv: {out: 4, kernel: 3}, name: a}\n  - {add: null, from: a}\n", 4, "at least 2 inputs", at="add", layer="add1"),
    Case("linear-takes-one", H + "  - {linear: {out: 3}, from: [input, input]}\n", 3, "takes 1 input", at="linear", layer="linear1"),
    # names and from
    Case("from-unknown", H + "  - {conv: {out: 4, kernel: 3}, name: stem}\n  - {relu: null, from: stm}\n", 4, "did you mean 'stem'", at="stm", layer="relu1"),
    Case("from-later", H + "  - {relu: null, from: later}\n  - {conv: {out: 4, kernel: 3}, name: later}\n", 3, "defined later", at="later", layer="relu1"),
    Case("from-empty", H + "  - {relu: null, from: []}\n", 3, "empty list", at="[]", layer="relu1"),
    Case("from-nested-list", H + "  - {add: null, from: [input, [input]]}\n", 3, "a layer name or a list of names", at="[input,", layer="add1"),
    Case("duplicate-name", H + "  - {relu: null, name: a}\n  - {relu: null, name: a}\n", 4, "duplicate name 'a' (first defined at line 3)", at="relu", layer="a"),
    Case("name-input", H + "  - {relu: null, name: input}\n", 3, "other than 'input'", at="input}"),
    Case("name-empty", H + "  - {relu: null, name: ''}\n", 3, "non-empty string", at="''"),
    # YAML features that are refused
    Case("tag-python-apply", "input: [3, 32, 32]\nlayers: !!python/object/apply:os.system [\"true\"]\n", 2, "is not allowed", at="!!python"),
    Case("tag-python-name", "input: [3, 32, 32]\nlayers: !!python/name:os.system\n", 2, "is not allowed", at="!!python"),
    Case("tag-custom", H + "  - !foo relu\n", 3, "the tag '!foo' is not allowed", at="!foo"),
    Case("tag-binary", H + "  - !!binary aGVsbG8=\n", 3, "is not allowed", at="!!binary"),
    Case("tag-set", "input: [3, 32, 32]\nlayers: !!set {relu: null}\n", 2, "is not allowed", at="!!set"),
    Case("merge-key", "input: [3, 32, 32]\nx: &x {out: 4, kernel: 3}\nlayers:\n  - {conv: {<<: *x}}\n", 4, "merge keys (<<) are not allowed", at="<<"),
    Case("recursive-alias", "input: [3, 32, 32]\nlayers: &a [*a]\n", 2, "recursive YAML alias", at="*a"),
    Case("undefined-alias", "input: [3, 32, 32]\nlayers: [*nothing]\n", 2, "names no anchor", at="*nothing"),
    # sizes
    Case("repeat-huge", H + "  - {relu: null, repeat: 1000000000}\n", 3, f"more than {MAX_LAYERS:,} layers", at="1000000000", layer="relu1"),
    Case("nested-repeat", H + "  - {seq: [{seq: [relu], repeat: 1000}], repeat: 2000}\n", 3, "would make about 2,000,000", at="2000", layer="seq1"),
    Case("repeat-zero", H + "  - {relu: null, repeat: 0}\n", 3, "positive integer, got 0", at="0", layer="relu1"),
    Case("repeat-float", H + "  - {relu: null, repeat: 2.5}\n", 3, "positive integer, got 2.5", at="2.5", layer="relu1"),
    # blocks
    Case("block-recursion", "input: [3, 32, 32]\nblocks:\n  b:\n    layers: [relu, b]\nlayers: [b]\n", 4, "uses itself", at="b]"),
    Case("block-mutual-recursion", "input: [3, 8, 8]\nblocks:\n  a: {layers: [b]}\n  b: {layers: [a]}\nlayers: [a]\n", 4, "uses itself (through a → b → a)", at="a]"),
    Case("block-unknown-param", block("{w: 4}", "{conv: {out: $w, kernel: 1}}", "  - {b: {ww: 3}}"), 7, "did you mean 'w'", at="ww", layer="b1"),
    Case("block-missing-param", block("{w: null}", "{conv: {out: $w, kernel: 1}}"), 7, "needs parameter 'w'", at="b", layer="b1"),
    Case("block-unknown-dollar", block("{w: 4}", "{conv: {out: $width, kernel: 1}}"), 5, "unknown parameter '$width' (parameters: $w)", at="$width", layer="b1.conv1"),
    Case("block-is-a-type", "input: [3, 8, 8]\nblocks:\n  conv: {layers: [relu]}\nlayers: [relu]\n", 3, "already a layer type", at="conv"),
    Case("block-without-layers", "input: [3, 8, 8]\nblocks:\n  b: {params: {w: 1}}\nlayers: [b]\n", 3, "needs 'layers'", at="{"),
    Case("block-bad-param-value", block("{w: 4}", "{conv: {out: $w, kernel: 1}}", "  - {b: {w: -4}}"), 5, "positive integer, got -4", at="$w", layer="b1.conv1"),
    # expressions
    Case("expr-incomplete", block("{width: 4}", "{conv: {out: '${width * }', kernel: 1}}"), 5, "not a valid expression", at="'${", layer="b1.conv1"),
    Case("expr-call", block("{width: 4}", "{conv: {out: \"${__import__('os')}\", kernel: 1}}"), 5, "function call is not allowed", at='"${', layer="b1.conv1"),
    Case("expr-attribute", block("{a: 4}", "{conv: {out: '${a.b}', kernel: 1}}"), 5, "attribute access", at="'${", layer="b1.conv1"),
    Case("expr-true-division", block("{x: 4}", "{conv: {out: '${x / 2}', kernel: 1}}"), 5, "use // for integer division", at="'${", layer="b1.conv1"),
    Case("expr-power", block("{x: 4}", "{conv: {out: '${2**1000}', kernel: 1}}"), 5, "'**' is not allowed", at="'${", layer="b1.conv1"),
    Case("expr-unknown-name", block("{x: 4}", "{conv: {out: '${y + 1}', kernel: 1}}"), 5, "unknown parameter 'y'", at="'${", layer="b1.conv1"),
    Case("expr-division-by-zero", block("{x: 4}", "{conv: {out: '${x // 0}', kernel: 1}}"), 5, "division by zero", at="'${", layer="b1.conv1"),
    Case("expr-huge", block("{x: 4}", "{conv: {out: '${x * 1000000000 * 1000000000}', kernel: 1}}"), 5, "out of range", at="'${", layer="b1.conv1"),
    # modifiers
    Case("when-not-bool", H + "  - {relu: null, when: 3}\n", 3, "'when' must be true or false, got 3", at="3}", layer="relu1"),
    Case("frozen-not-bool", H + "  - {relu: null, frozen: yes please}\n", 3, "'frozen' must be true or false", at="yes", layer="relu1"),
    # composites
    Case("residual-no-body", H + "  - {residual: {shortcut: []}, name: r}\n", 3, "residual needs 'body'", at="{shortcut", layer="r"),
    Case("residual-unknown-key", H + "  - {residual: {body: [relu], short: []}, name: r}\n", 3, "expected body, shortcut, merge", at="{body", layer="r"),
    Case("parallel-one-branch", H + "  - {parallel: {branches: [[relu]]}, name: p}\n", 3, "two or more layer lists", at="{branches", layer="p"),
    Case("bad-merge", H + "  - {residual: {body: [relu], merge: sum}, name: r}\n", 3, "add, concat or mul, got 'sum'", at="{body", layer="r"),
]


def run_cli(path: Path):
    return CliRunner().invoke(cli, ["summarize", str(path)])


def check_line(text: str, case: Case, path: Path) -> re.Match[str]:
    m = LINE.match(text)
    assert m, text
    assert m["file"] == str(path)
    assert int(m["line"]) == case.line, text
    if case.column is not None:
        assert m["col"] is not None and int(m["col"]) == case.column, text
    if case.layer is not None:
        assert m["layer"] == case.layer, text
    assert case.phrase.lower() in m["msg"].lower(), text
    return m


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_reports_one_located_line(case: Case, tmp_path: Path) -> None:
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text, encoding="utf-8")
    result = run_cli(path)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    check_line(lines[0], case, path)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_library_raises_spec_error(case: Case, tmp_path: Path) -> None:
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        analyze(path)
    check_line("error: " + str(info.value), case, path)


def test_every_case_id_is_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


# ---- cases that need bytes, files or timing ----------------------------------------------------


def one_error(path: Path) -> str:
    result = run_cli(path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"input: [3, 8, 8]\nlayers:\n  - {relu: null, name: caf\xe9}\n")
    line = one_error(path)
    column = len("  - {relu: null, name: caf") + 1
    assert line.startswith(f"error: {path}:3:{column}: ") and "byte 0xe9 is not UTF-8" in line


def test_lone_ff_byte(tmp_path: Path) -> None:
    path = tmp_path / "ff.yaml"
    path.write_bytes(b"\xff")
    assert one_error(path).startswith(f"error: {path}:1:1: byte 0xff is not UTF-8")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffinput: [3, 8, 8]\nlayers: [relu]\n".encode())
    assert analyze(path).layers[0].output_shape == (1, 3, 8, 8)
    assert run_cli(path).exit_code == 0


def test_directory(tmp_path: Path) -> None:
    assert one_error(tmp_path) == f"error: {tmp_path}: is a folder; expected a YAML spec file"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert one_error(path).startswith(f"error: {path}: no such file")
    with pytest.raises(SpecError, match="no such file"):
        analyze(path)


def test_python_tag_is_never_executed(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f'input: [3, 8, 8]\nlayers: !!python/object/apply:os.system ["touch {target}"]\n')
    assert "is not allowed" in one_error(path)
    with pytest.raises(SpecError):
        analyze(path)
    assert not target.exists()


def timed_error(path: Path) -> tuple[str, float]:
    start = time.perf_counter()
    line = one_error(path)
    return line, time.perf_counter() - start


def test_billion_laughs_is_refused_fast(tmp_path: Path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(levels) + "\ninput: [3, 8, 8]\nlayers: [relu]\n")
    line, seconds = timed_error(path)
    assert "alias bomb" in line and seconds < 1.0


def test_deep_nesting_is_refused_without_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: " + "[" * 10_000 + "]" * 10_000 + "\n")
    line, seconds = timed_error(path)
    # Refused by cnncalc's own limit (200 levels) or, where libyaml scans ahead, by libyaml's (1000).
    assert line.startswith(f"error: {path}:2:")
    assert "nested more than 200 levels" in line or "maximum nesting depth" in line
    assert seconds < 1.0


def test_deep_python_data_is_refused() -> None:
    data: list = []
    for _ in range(10_000):
        data = [data]
    with pytest.raises(SpecError, match="nests more than 200 levels"):
        analyze({"input": [3, 8, 8], "layers": data})


def test_deep_composites_are_refused(tmp_path: Path) -> None:
    # 90 nested seqs fit the YAML depth limit (180 levels) but not the composite nesting limit
    path = tmp_path / "seqs.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: " + "[{seq: " * 90 + "[relu]" + "}]" * 90 + "\n")
    line = one_error(path)
    assert "nested more than 64 deep" in line


@pytest.mark.parametrize(
    "item",
    ["{seq: [relu, {conv: {out: 3, kernel: 1}}], repeat: 1000000000}", "{seq: [{seq: [relu], repeat: 1000}], repeat: 5000}"],
)
def test_huge_repeat_is_refused_fast(item: str, tmp_path: Path) -> None:
    path = tmp_path / "repeat.yaml"
    path.write_text(H + f"  - {item}\n")
    line, seconds = timed_error(path)
    assert f"{MAX_LAYERS:,} layers" in line and seconds < 1.0


def test_python_objects_in_dict_specs_are_refused() -> None:
    with pytest.raises(SpecError, match="of type object"):
        analyze({"input": [3, 8, 8], "layers": [object()]})


def test_error_for_unknown_dtype_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="unknown dtype"):
        analyze({"input": [3, 8, 8], "layers": ["relu"]}, dtype="float128")


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text(H + "  - relu\n")
    path.chmod(0)
    assert "cannot be read" in one_error(path)
