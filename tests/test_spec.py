"""The spec grammar: every feature of docs/spec.md, with shapes and counts worked out by hand here.

Conv: out = floor((N + 2P − D(F−1) − 1)/S) + 1; params = out·in/groups·prod(F) + out (bias);
MACs = prod(output shape)·in/groups·prod(F). Linear: params = out·in + out, MACs = out·in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cnncalc import analyze, parse_spec
from cnncalc.analysis import Report
from cnncalc.cli import cli
from cnncalc.errors import SpecError, UnknownLayerError
from cnncalc.spec import resolve_layer

ROOT = Path(__file__).resolve().parent.parent


def report(text: str, **kw) -> Report:
    return analyze(parse_spec("t.yaml", text=text), **kw)


def names(text: str) -> list[str]:
    return [layer.name for layer in parse_spec("t.yaml", text=text).layers]


def shapes(r: Report) -> dict[str, list[int]]:
    return {s.name: list(s.output_shape[1:]) for s in r.layers}


# ---- the core grammar -----------------------------------------------------------------------------

TINY_RESNET = """\
name: tiny-resnet
input: [3, 32, 32]        # one sample: channels, then 1 to 3 spatial dims (conv1d/2d/3d follow from it)
layers:
  - {conv: {out: 16, kernel: 3, padding: 1, bias: false}, name: stem}
  - batchnorm              # a bare type name is a layer with default arguments
  - relu: null             # so is a type with null arguments
  - {conv: {out: 16, kernel: 3, padding: same}, name: c2}
  - {add: null, from: [stem, c2], name: sum}   # from: one name or a list; default is the previous item
  - {maxpool: {kernel: 2}, from: sum}          # stride defaults to the kernel for pools
  - {adaptiveavgpool: {out: 1}}
  - flatten
  - {linear: {out: 10}}
"""


def test_core_example_of_the_issue_parses_exactly_as_written() -> None:
    r = report(TINY_RESNET)
    assert r.name == "tiny-resnet"
    assert shapes(r) == {
        "stem": [16, 32, 32],
        "batchnorm1": [16, 32, 32],
        "relu1": [16, 32, 32],
        "c2": [16, 32, 32],
        "sum": [16, 32, 32],
        "maxpool1": [16, 16, 16],
        "adaptiveavgpool1": [16, 1, 1],
        "flatten1": [16],
        "linear1": [10],
    }
    assert r.layer("sum").inputs == ("stem", "c2")
    assert r.layer("c2").inputs == ("relu1",)
    assert r.layer("maxpool1").inputs == ("sum",)
    assert r.layer("stem").params == 16 * 3 * 9
    assert r.layer("batchnorm1").params == 2 * 16
    assert r.layer("c2").params == 16 * 16 * 9 + 16
    assert r.layer("linear1").params == 16 * 10 + 10
    assert r.totals.params == 432 + 32 + 2320 + 170
    assert r.layer("stem").macs == 16 * 32 * 32 * 3 * 9
    assert r.layer("c2").macs == 16 * 32 * 32 * 16 * 9
    assert r.layer("linear1").macs == 160


def test_the_docs_show_the_same_core_example() -> None:
    assert TINY_RESNET.split("layers:")[1] in (ROOT / "docs" / "spec.md").read_text()


def test_bare_and_null_and_empty_mapping_args_are_defaults() -> None:
    text = "input: [4, 6, 6]\nlayers:\n  - batchnorm\n  - {batchnorm: null}\n  - {batchnorm: {}}\n  - dropout\n"
    r = report(text)
    assert [s.params for s in r.layers] == [8, 8, 8, 0]
    assert parse_spec("t.yaml", text=text).layers[3].args["p"] == 0.5


def test_from_single_list_and_default_chaining() -> None:
    text = """
input: [2, 5, 5]
layers:
  - {conv: {out: 2, kernel: 1}, name: a}
  - {conv: {out: 2, kernel: 1}, name: b}
  - {conv: {out: 2, kernel: 1}, from: a, name: c}
  - {concat: null, from: [a, b, c, input]}
  - relu
"""
    spec = parse_spec("t.yaml", text=text)
    assert [layer.inputs for layer in spec.layers] == [("input",), ("a",), ("a",), ("a", "b", "c", "input"), ("concat1",)]
    assert shapes(analyze(spec))["relu1"] == [8, 5, 5]


def test_generated_names_count_per_type() -> None:
    text = "input: [3, 8, 8]\nlayers:\n" + "  - {conv: {out: 3, kernel: 1}}\n  - relu\n" * 3
    assert names(text) == ["conv1", "relu1", "conv2", "relu2", "conv3", "relu3"]


def test_generated_names_skip_names_written_elsewhere() -> None:
    text = """
input: [3, 8, 8]
layers:
  - {conv: {out: 3, kernel: 1}}
  - {conv: {out: 3, kernel: 1}}
  - {conv: {out: 3, kernel: 1}, name: conv2}
  - {conv: {out: 3, kernel: 1}}
"""
    assert names(text) == ["conv1", "conv3", "conv2", "conv4"]


def test_per_axis_lists() -> None:
    text = """
input: [3, 17, 17]
layers:
  - {conv: {out: 8, kernel: [1, 7], padding: [0, 3]}, name: a}
  - {conv: {out: 8, kernel: [1, 7]}, from: input, name: b}
  - {conv: {out: 8, kernel: [3, 7], stride: [2, 1]}, from: input, name: c}
  - {maxpool: {kernel: [2, 3], stride: [2, 1]}, from: input, name: d}
"""
    r = report(text)
    assert shapes(r) == {"a": [8, 17, 17], "b": [8, 17, 11], "c": [8, 8, 11], "d": [3, 8, 15]}
    assert r.layer("a").params == 8 * 3 * 1 * 7 + 8
    assert r.layer("c").macs == 8 * 8 * 11 * 3 * 3 * 7


def test_one_and_three_spatial_dims() -> None:
    one = report("input: [2, 20]\nlayers:\n  - {conv: {out: 4, kernel: 5, stride: 3}}\n  - {maxpool: {kernel: 2}}\n")
    assert shapes(one) == {"conv1": [4, 6], "maxpool1": [4, 3]}
    assert one.layer("conv1").params == 4 * 2 * 5 + 4
    three = report("input: [1, 8, 8, 8]\nlayers:\n  - {conv: {out: 2, kernel: 3}}\n  - {adaptiveavgpool: {out: [1, 2, null]}}\n")
    assert shapes(three) == {"conv1": [2, 6, 6, 6], "adaptiveavgpool1": [2, 1, 2, 6]}
    assert three.layer("conv1").params == 2 * 1 * 27 + 2
    assert three.layer("conv1").macs == 2 * 6 * 6 * 6 * 27


def test_input_without_spatial_dims() -> None:
    r = report("input: [20]\nlayers:\n  - {linear: {out: 5}}\n  - relu\n  - {linear: {out: 2, bias: false}}\n")
    assert shapes(r) == {"linear1": [5], "relu1": [5], "linear2": [2]}
    assert r.totals.params == 20 * 5 + 5 + 5 * 2


# ---- blocks, parameters and expressions -----------------------------------------------------------


BLOCK = """
input: [4, 10, 10]
blocks:
  unit:
    params: {w: null, k: 3, p: 1, bias: true, after: [relu]}
    layers:
      - {conv: {out: $w, kernel: $k, padding: $p, bias: $bias}}
      - {seq: $after}
layers:
  - {unit: {w: 6}}
  - {unit: {w: 2, k: [1, 5], p: [0, 1], bias: false, after: [{maxpool: {kernel: 2}}]}, name: u}
"""


def test_block_params_defaults_required_and_any_yaml_value() -> None:
    r = report(BLOCK)
    assert shapes(r) == {"unit1.conv1": [6, 10, 10], "unit1.relu1": [6, 10, 10], "u.conv1": [2, 10, 8], "u.maxpool1": [2, 5, 4]}
    assert r.layer("unit1.conv1").params == 6 * 4 * 9 + 6
    assert r.layer("u.conv1").params == 2 * 6 * 1 * 5  # bias: false came in as $bias


EXPR = """
input: [8, 16, 16]
blocks:
  down:
    params: {c: null, s: 1}
    layers:
      - {conv: {out: "${c * 2 if s > 1 else c}", kernel: 3, stride: $s, padding: 1}}
      - {relu: null, when: "${s == 1 and not c % 2 == 1}"}
layers:
  - {down: {c: 8}}
  - {down: {c: 8, s: 2}}
  - {down: {c: 3}}
"""


def test_expressions_arithmetic_and_conditionals() -> None:
    r = report(EXPR)
    assert shapes(r) == {
        "down1.conv1": [8, 16, 16],
        "down1.relu1": [8, 16, 16],
        "down2.conv1": [16, 8, 8],  # (16 + 2 − 2 − 1)//2 + 1 = 8
        "down3.conv1": [3, 8, 8],  # c odd: no relu
    }


def test_repeat_with_index() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - {conv: {out: \"${8 * (i + 1)}\", kernel: 1}, repeat: 3}\n"
    r = report(text)
    assert [s.name for s in r.layers] == ["conv1", "conv2", "conv3"]
    assert [s.output_shape[1] for s in r.layers] == [8, 16, 24]
    assert [s.params for s in r.layers] == [8 * 3 + 8, 16 * 8 + 16, 24 * 16 + 24]


def test_named_repeat_and_its_alias() -> None:
    text = """
input: [3, 8, 8]
blocks:
  b:
    params: {w: null}
    layers: [{conv: {out: $w, kernel: 3, padding: 1}}, relu]
layers:
  - {b: {w: "${4 + i}"}, repeat: 2, name: layer1}
  - {conv: {out: 2, kernel: 1}, repeat: 2, name: head}
  - {add: null, from: [head, head.0]}
  - {relu: null, from: layer1}
"""
    spec = parse_spec("t.yaml", text=text)
    assert [layer.name for layer in spec.layers] == [
        "layer1.0.conv1", "layer1.0.relu1", "layer1.1.conv1", "layer1.1.relu1", "head.0", "head.1", "add1", "relu1",
    ]
    assert spec.layers[2].inputs == ("layer1.0.relu1",)
    assert spec.layers[6].inputs == ("head.1", "head.0")
    assert spec.layers[7].inputs == ("layer1.1.relu1",)
    r = analyze(spec)
    assert r.layer("layer1.1.conv1").params == 5 * 4 * 9 + 5


def test_when_leaves_items_out() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - relu\n  - {conv: {out: 5, kernel: 1}, when: false}\n  - {seq: [relu, relu], when: true}\n"
    assert names(text) == ["relu1", "relu2", "relu3"]


def test_frozen_parameters_are_reported_apart() -> None:
    text = """
input: [3, 8, 8]
layers:
  - {seq: [{conv: {out: 4, kernel: 3}}, batchnorm], frozen: true}
  - {conv: {out: 2, kernel: 1}, name: head}
  - {conv: {out: 2, kernel: 1, bias: false}, frozen: true}
"""
    r = report(text)
    frozen = (4 * 3 * 9 + 4) + 8 + 2 * 2
    trainable = 2 * 4 + 2
    assert r.totals.params == frozen + trainable
    assert r.totals.trainable_params == trainable
    assert r.totals.frozen_params == frozen
    assert [s.frozen for s in r.layers] == [True, True, False, True]


# ---- composites -----------------------------------------------------------------------------------


def test_unnamed_residual_is_transparent() -> None:
    text = """
input: [4, 8, 8]
layers:
  - residual:
      body: [{conv: {out: 4, kernel: 3, padding: 1}}, relu]
  - residual:
      body: [{conv: {out: 6, kernel: 3, stride: 2, padding: 1}}]
      shortcut: [{conv: {out: 6, kernel: 1, stride: 2}}]
"""
    spec = parse_spec("t.yaml", text=text)
    assert [(layer.name, layer.inputs) for layer in spec.layers] == [
        ("conv1", ("input",)), ("relu1", ("conv1",)), ("add1", ("relu1", "input")),
        ("conv2", ("add1",)), ("conv3", ("add1",)), ("add2", ("conv2", "conv3")),
    ]
    assert shapes(analyze(spec))["add2"] == [6, 4, 4]


def test_named_parallel_prefixes_children_and_names_its_merge() -> None:
    text = """
input: [16, 7, 7]
layers:
  - parallel:
      branches:
        - [{conv: {out: 8, kernel: 1}}]
        - [{conv: {out: 4, kernel: 1}}, {conv: {out: 12, kernel: 3, padding: 1}}]
        - [{maxpool: {kernel: 3, stride: 1, padding: 1}}, {conv: {out: 2, kernel: 1}}]
        - []
    name: inc
  - {relu: null, from: inc}
"""
    r = report(text)
    assert shapes(r) == {
        "inc.conv1": [8, 7, 7], "inc.conv2": [4, 7, 7], "inc.conv3": [12, 7, 7],
        "inc.maxpool1": [16, 7, 7], "inc.conv4": [2, 7, 7], "inc": [8 + 12 + 2 + 16, 7, 7], "relu1": [38, 7, 7],
    }
    assert r.layer("inc").inputs == ("inc.conv1", "inc.conv3", "inc.conv4", "input")
    assert r.layer("inc.conv3").params == 12 * 4 * 9 + 12


def test_named_seq_alias_and_parallel_as_list_with_add() -> None:
    text = """
input: [3, 8, 8]
layers:
  - {seq: [{conv: {out: 6, kernel: 1}}, relu], name: s}
  - {parallel: [[relu], [sigmoid]], name: p, from: input}
  - {parallel: {branches: [[], [{conv: {out: 6, kernel: 1}}]], merge: add}}
  - {add: null, from: [s, p]}
"""
    spec = parse_spec("t.yaml", text=text)
    assert [layer.name for layer in spec.layers] == ["s.conv1", "s.relu1", "p.relu1", "p.sigmoid1", "p", "conv1", "add1", "add2"]
    assert spec.layers[4].inputs == ("p.relu1", "p.sigmoid1")
    assert spec.layers[6].inputs == ("p", "conv1")
    assert spec.layers[7].inputs == ("s.relu1", "p")
    r = analyze(spec)
    assert shapes(r)["p"] == [6, 8, 8] and shapes(r)["add2"] == [6, 8, 8]
    assert r.layer("conv1").params == 6 * 6 + 6


def test_from_inside_a_block_looks_in_the_block_first() -> None:
    text = """
input: [3, 8, 8]
blocks:
  b:
    layers:
      - {conv: {out: 5, kernel: 1}, name: a}
      - {conv: {out: 7, kernel: 1}, from: a}
      - {conv: {out: 2, kernel: 1}, from: top}
layers:
  - {conv: {out: 9, kernel: 1}, name: a}
  - {conv: {out: 4, kernel: 1}, name: top}
  - {b: null, name: x}
"""
    spec = parse_spec("t.yaml", text=text)
    inputs = {layer.name: layer.inputs for layer in spec.layers}
    assert inputs["x.a"] == ("top",)
    assert inputs["x.conv1"] == ("x.a",)  # not the top-level 'a'
    assert inputs["x.conv2"] == ("top",)
    r = analyze(spec)
    assert r.layer("x.conv1").params == 7 * 5 + 7


# ---- inputs: dicts, --input, --batch ---------------------------------------------------------------


def test_a_dict_is_read_like_the_yaml_it_dumps_to() -> None:
    data = yaml.safe_load(EXPR)
    from_dict, from_yaml = analyze(data), report(EXPR)
    assert shapes(from_dict) == shapes(from_yaml)
    assert from_dict.layer("down2.conv1").params == 16 * 8 * 9 + 16
    assert from_yaml.layer("down2.conv1").params == 16 * 8 * 9 + 16


def test_default_name_is_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "mynet.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    assert parse_spec(path).name == "mynet"


SMALL = "name: small\ninput: [3, 16, 16]\nlayers:\n  - {conv: {out: 8, kernel: 3, padding: 1}}\n  - {maxpool: {kernel: 2}}\n"


def test_input_override_and_batch(tmp_path: Path) -> None:
    import json

    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    run = CliRunner().invoke(cli, ["summarize", str(path), "--input", "3,32,24", "--batch", "4", "--format", "json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    conv, pool = data["layers"]
    assert data["input_shape"] == [4, 3, 32, 24]
    assert conv["output_shape"] == [4, 8, 32, 24] and pool["output_shape"] == [4, 8, 16, 12]
    assert conv["params"] == 8 * 27 + 8
    assert conv["macs"] == 4 * 8 * 32 * 24 * 27
    assert conv["activation_elements"] == 4 * 8 * 32 * 24


@pytest.mark.parametrize("batch", [1, 3])
def test_batch_scales_macs_and_activations_not_params(batch: int) -> None:
    r = report(SMALL, batch=batch)
    conv = r.layer("conv1")
    assert conv.output_shape == (batch, 8, 16, 16)
    assert conv.macs == batch * 8 * 16 * 16 * 27
    assert conv.activation_elements == batch * 8 * 16 * 16
    assert conv.activation_bytes == 4 * batch * 8 * 16 * 16
    assert conv.params == 8 * 27 + 8 and r.totals.params == 224


def test_shipped_specs_parse() -> None:
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        assert parse_spec(path).layers, path


def test_block_arguments_are_bound_in_the_callers_scope() -> None:
    """A list of layers passed to a block keeps the caller's meaning of $c (lexical scope)."""
    spec = {
        "input": [3, 8, 8],
        "blocks": {
            "wrap": {"params": {"body": None, "c": 1}, "layers": [{"seq": "$body"}, {"conv": {"out": "$c", "kernel": 1}, "name": "last"}]},
            "outer": {"params": {"c": 5}, "layers": [{"wrap": {"body": [{"conv": {"out": "${c * 2}", "kernel": 1}, "name": "inner"}]}, "name": "w"}]},
        },
        "layers": [{"outer": None, "name": "o"}],
    }
    r = analyze(spec)
    inner, last = r.layer("o.w.inner"), r.layer("o.w.last")
    assert inner.output_shape == (1, 10, 8, 8)  # the caller's c = 5, doubled; not wrap's c = 1
    assert inner.params == 10 * 3 + 10
    assert last.output_shape == (1, 1, 8, 8)  # wrap's own c


def test_repeat_names_each_copy_with_its_index() -> None:
    spec = {
        "input": [3, 8, 8],
        "layers": [
            {"conv": {"out": 4, "kernel": 3, "padding": 1}, "repeat": 3, "name": "conv${i + 1}"},
            {"relu": None, "from": "conv2"},
        ],
    }
    r = analyze(spec)
    assert [(s.name, s.inputs) for s in r.layers] == [
        ("conv1", ("input",)), ("conv2", ("conv1",)), ("conv3", ("conv2",)), ("relu1", ("conv2",)),
    ]
    assert r.layer("conv2").params == 4 * 4 * 9 + 4  # the copies after the first read 4 channels


# ---- names users give: resolve_layer -----------------------------------------------------------

def test_netspec_keeps_the_alias_of_each_named_block_call() -> None:
    """googlenet.yaml calls its inception block with name: inception3a; the block's last item is a
    parallel (an unnamed composite), whose merge is the concat1 generated inside the call's prefix."""
    net = parse_spec(ROOT / "specs" / "googlenet.yaml")
    assert net.aliases["inception3a"] == "inception3a.concat1"
    assert resolve_layer(net, "inception3a") == "inception3a.concat1"
    assert resolve_layer(net, "inception3a.concat1") == "inception3a.concat1"  # a layer's own name


def test_resolve_layer_names_repeats_and_composites() -> None:
    text = (
        "input: [3, 8, 8]\nlayers:\n"
        "  - {seq: [{conv: {out: 4, kernel: 1}}, relu], name: stem}\n"
        "  - {conv: {out: 4, kernel: 1}, repeat: 3, name: body}\n"
        "  - {relu: null, name: last}\n"
    )
    net = parse_spec("t.yaml", text=text)
    assert resolve_layer(net, "stem") == "stem.relu1"
    assert resolve_layer(net, "body") == "body.2"
    assert resolve_layer(net, "last") == "last"
    # given only names (a report without aliases): a group name means its last layer
    assert resolve_layer([layer.name for layer in net.layers], "stem") == "stem.relu1"


def test_resolve_layer_refuses_an_unknown_name_with_the_closest() -> None:
    net = parse_spec(ROOT / "specs" / "googlenet.yaml")
    with pytest.raises(UnknownLayerError, match=r"no layer named 'inception3x' \(did you mean 'inception3") as e:
        resolve_layer(net, "inception3x")
    assert isinstance(e.value, SpecError)
    assert str(e.value).startswith(f"{ROOT / 'specs' / 'googlenet.yaml'}: ")


# ---- numbers as a person writes them (YAML 1.2 core schema) ------------------------------------

@pytest.mark.parametrize(
    ("written", "value"),
    [("010", 10), ("0010", 10), ("+7", 7), ("0o17", 15), ("0x1F", 31), ("0x10", 16), ("12", 12)],
)
def test_integers_read_as_written(written: str, value: int) -> None:
    net = parse_spec("t.yaml", text=f"input: [1, 64, 64]\nlayers:\n  - {{conv: {{out: 2, kernel: {written}}}}}\n")
    assert net.layers[0].args["kernel"] == value


@pytest.mark.parametrize("written", ["1:30", "1_000", "0b101", "0B1", "1__0", "0o", "0x"])
def test_yaml_1_1_number_forms_are_text_and_refused_as_numbers(written: str) -> None:
    with pytest.raises(SpecError, match=r"argument 'out' of conv must be a positive integer, got '"):
        parse_spec("t.yaml", text=f"input: [1, 8, 8]\nlayers:\n  - {{conv: {{out: {written}, kernel: 1}}}}\n")


@pytest.mark.parametrize("written", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF"])
def test_yaml_1_1_booleans_are_text(written: str) -> None:
    with pytest.raises(SpecError, match=r"'frozen' must be true or false, got '.*' \(text: write true or false\)"):
        parse_spec("t.yaml", text=f"input: [1, 8, 8]\nlayers:\n  - {{relu: null, frozen: {written}}}\n")


@pytest.mark.parametrize("written", [".inf", "-.inf", "+.INF", ".nan", ".NaN", "1e999", "-1e400"])
def test_non_finite_numbers_are_refused_where_written(written: str) -> None:
    with pytest.raises(SpecError, match="is not a finite number") as e:
        parse_spec("t.yaml", text=f"input: [1, 8, 8]\nlayers:\n  - {{batchnorm: {{eps: {written}}}}}\n")
    assert str(e.value).startswith("t.yaml:3:23: ")


def test_floats_in_yaml_1_2_forms() -> None:
    net = parse_spec("t.yaml", text="input: [1, 8, 8]\nlayers:\n  - {batchnorm: {eps: 1e-3, momentum: .5}}\n")
    assert net.layers[0].args["eps"] == 0.001 and net.layers[0].args["momentum"] == 0.5


def test_a_syntax_error_names_where_the_unclosed_bracket_began() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - relu\n  - {conv: {out: 4, kernel: 3}\n  - relu\n"
    with pytest.raises(SpecError) as e:
        parse_spec("t.yaml", text=text)
    # PyYAML notices at line 5, column 3; the '{' left open is at line 4, column 5
    assert str(e.value).startswith("t.yaml:5:3: YAML syntax error")
    assert "flow mapping that began at line 4, column 5" in str(e.value)


@pytest.mark.parametrize(
    ("shape", "why"),
    [((3, 224, 224), None), ((1,), None), ((3, 2**31 - 1), None), ((3, 2**31), "at most 2,147,483,647"),
     ((3, 10**400), "at most"), ((3, 0), "positive"), ((3, 2.0), "positive integers"), ((), "1 to 4"),
     ((1, 2, 3, 4, 5), "1 to 4"), ((3, True), "positive integers")],
)
def test_check_shape(shape: tuple[object, ...], why: str | None) -> None:
    from cnncalc.spec import check_shape

    got = check_shape(shape)
    assert (got is None) if why is None else (got is not None and why in got)


def test_null_is_the_default_where_the_default_is_null():
    """`end: null` says what leaving `end` out says (an argument whose default is null); a null for
    any other argument is still refused, with its expectation."""
    from cnncalc import analyze

    spec = {"input": [8, 4], "layers": [{"slice": {"start": 2, "end": None}}]}
    assert analyze(spec).layers[0].output_shape == (1, 6, 4)
    with pytest.raises(SpecError, match="argument 'start' of slice must be an integer, got null"):
        parse_spec({"input": [8, 4], "layers": [{"slice": {"start": None}}]})
