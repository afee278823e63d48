"""The JSON Schema of the spec format: valid draft 2020-12, accepts every shipped spec, refuses bad
items, and agrees with the parser on a corpus of small specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cnncalc import SpecError, parse_spec
from cnncalc.cli import cli
from cnncalc.layers import RULES
from cnncalc.spec.schema import json_schema

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def valid(data: object) -> bool:
    return VALIDATOR.is_valid(data)


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_cli_prints_the_schema_as_json() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads(json.dumps(json_schema()))
    jsonschema.Draft202012Validator.check_schema(printed)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_shipped_spec_validates(path: Path) -> None:
    errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def test_the_core_example_of_the_docs_validates() -> None:
    text = (ROOT / "docs" / "spec.md").read_text()
    first = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert first is not None
    data = yaml.safe_load(first.group(1))
    assert data["name"] == "tiny-resnet" and valid(data)


def test_every_layer_type_and_argument_is_described() -> None:
    schema = json_schema()
    branches = {b["title"]: b for b in schema["$defs"]["item"]["anyOf"][1]["oneOf"]}
    assert set(RULES) | {"seq", "residual", "parallel", "block call"} == set(branches)
    for name, rule in RULES.items():
        value = branches[name]["properties"][name]
        assert value["description"] == rule.doc
        props = value["anyOf"][1 if not any(a.required for a in rule.args) else 0]["properties"]
        for arg in rule.args:
            assert arg.doc in props[arg.name]["description"], (name, arg.name)


NET = {"input": [3, 32, 32]}


def net(*layers: object, **top: object) -> dict:
    return {**NET, **top, "layers": list(layers)}


BLOCKS = {"b": {"params": {"w": 4, "s": 1}, "layers": [{"conv": {"out": "$w", "kernel": 3, "stride": "${s * 1}"}}]}}

# (id, spec, accepted): the parser and the schema must both accept, or both refuse
AGREEMENT = [
    ("bare-types", net("relu", "flatten"), True),
    ("null-args", net({"relu": None}, {"batchnorm": None}), True),
    ("conv-full", net({"conv": {"out": 8, "kernel": [1, 3], "stride": 1, "padding": "same", "bias": False}}), True),
    ("modifiers", net({"conv": {"out": 8, "kernel": 3}, "name": "c", "frozen": True, "repeat": 2, "when": True}), True),
    ("from-list", net({"conv": {"out": 3, "kernel": 1}, "name": "a"}, {"add": None, "from": ["input", "a"]}), True),
    ("seq", net({"seq": ["relu", {"linear": {"out": 3}}], "name": "s"}), True),
    ("residual", net({"residual": {"body": ["relu"], "shortcut": [], "merge": "add"}}), True),
    ("parallel-list", net({"parallel": [["relu"], []]}), True),
    ("parallel-mapping", net({"parallel": {"branches": [["relu"], ["relu"]], "merge": "concat"}}), True),
    ("block-call", net({"b": {"w": 8}, "name": "x"}, blocks=BLOCKS), True),
    ("block-call-null", net({"b": None}, blocks=BLOCKS), True),
    ("expression-when", net({"b": {"w": 8}, "when": True}, blocks=BLOCKS), True),
    ("unknown-arg", net({"conv": {"out": 3, "kernal": 3}}), False),
    ("bool-for-int", net({"conv": {"out": True, "kernel": 3}}), False),
    ("float-channels", net({"conv": {"out": 64.5, "kernel": 3}}), False),
    ("string-number", net({"conv": {"out": "64", "kernel": 3}}), False),
    ("negative-stride", net({"conv": {"out": 3, "kernel": 3, "stride": -1}}), False),
    ("zero-kernel", net({"conv": {"out": 3, "kernel": 0}}), False),
    ("four-axes", net({"conv": {"out": 3, "kernel": [1, 1, 1, 1]}}), False),
    ("padding-word", net({"conv": {"out": 3, "kernel": 3, "padding": "full"}}), False),
    ("missing-required", net({"conv": {"kernel": 3}}), False),
    ("null-with-required", net({"conv": None}), False),
    ("two-type-keys", net({"conv": {"out": 3, "kernel": 3}, "relu": None}), False),
    ("no-type-key", net({"name": "a"}), False),
    ("prob-over-one", net({"dropout": {"p": 1.5}}), False),
    ("when-not-bool", net({"relu": None, "when": 3}), False),
    ("frozen-not-bool", net({"relu": None, "frozen": "yes"}), False),
    ("repeat-zero", net({"relu": None, "repeat": 0}), False),
    ("name-input", net({"relu": None, "name": "input"}), False),
    ("from-empty", net({"relu": None, "from": []}), False),
    ("residual-without-body", net({"residual": {"shortcut": []}}), False),
    ("residual-unknown-key", net({"residual": {"body": ["relu"], "short": []}}), False),
    ("parallel-one-branch", net({"parallel": [["relu"]]}), False),
    ("bad-merge", net({"residual": {"body": ["relu"], "merge": "sum"}}), False),
    ("missing-input", {"layers": ["relu"]}, False),
    ("missing-layers", {"input": [3, 8, 8]}, False),
    ("empty-layers", {"input": [3, 8, 8], "layers": []}, False),
    ("input-negative", {"input": [3, -1, 5], "layers": ["relu"]}, False),
    ("input-five-dims", {"input": [3, 2, 2, 2, 2], "layers": ["relu"]}, False),
    ("input-bool", {"input": [True, 3], "layers": ["relu"]}, False),
    ("unknown-top-key", {**net("relu"), "layer": []}, False),
    ("block-named-like-a-type", net("relu", blocks={"conv": {"layers": ["relu"]}}), False),
    ("block-without-layers", net("relu", blocks={"b": {"params": {"w": 1}}}), False),
]


@pytest.mark.parametrize(("spec", "accepted"), [(s, a) for _, s, a in AGREEMENT], ids=[i for i, _, _ in AGREEMENT])
def test_schema_agrees_with_the_parser(spec: dict, accepted: bool) -> None:
    try:
        parse_spec(spec)
        parsed = True
    except SpecError:
        parsed = False
    assert parsed is accepted
    assert valid(spec) is accepted


def test_parameters_are_accepted_wherever_a_value_goes() -> None:
    item = {"conv": {"out": "$w", "kernel": ["$k", 3], "padding": "${k // 2}", "bias": "$bias"}, "repeat": "$n"}
    assert valid(net(item))
    assert not valid(net({"conv": {"out": "w", "kernel": 3}}))  # a plain string is no parameter


def test_schema_is_loose_only_where_documented() -> None:
    # JSON Schema cannot see which blocks a file defines: an unknown single key passes as a block call
    assert valid(net({"convv": {"out": 3}}))
    with pytest.raises(SpecError, match="unknown layer type 'convv'"):
        parse_spec(net({"convv": {"out": 3}}))
