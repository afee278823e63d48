"""The JSON Schema (draft 2020-12) of the spec format, generated from the layer rules.

Editors use it to validate and complete specs: each layer type is one ``oneOf`` branch (its key is
required, nothing else but the modifiers is allowed), and each argument carries its rule's ``doc``
and default as a description. Wherever a value goes, a block parameter (``$width``) or an expression
(``${width * 4}``) is accepted too. Block calls cannot be checked against the blocks of the same file
(JSON Schema cannot look them up), so any other single key is accepted as a block call.

The parser remains the judge: the schema accepts a little more than the parser does (``224.0`` is an
integer to JSON Schema; a block call names a block that may not exist), never less.
"""

from __future__ import annotations

from typing import Any

from ..layers import RULES
from ..layers.base import Arg, Rule
from .limits import MAX_INT
from .model import INPUT_DTYPES

DRAFT = "https://json-schema.org/draft/2020-12/schema"
MODIFIER_DOCS = {
    "name": "a unique name (default: the type and a counter, e.g. conv3); other layers use it in 'from'",
    "from": "the input: an earlier layer's name, 'input', or a list of names (default: the previous item)",
    "repeat": "the item this many times in a row; inside it $i is the index (0-based)",
    "when": "leave the item out when false (e.g. ${stride > 1})",
    "frozen": "the item's parameters are frozen (reported apart from the trainable ones)",
}
COMPOSITE_DOCS = {
    "seq": "a group of layers (to repeat, name or freeze together)",
    "residual": "add(body(x), shortcut(x)); an empty or missing shortcut is the identity",
    "parallel": "Inception-style branches from the same input, joined by concat (or add, mul)",
}
PARAM = {"$ref": "#/$defs/param"}

_POS = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
_NONNEG = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
SHAPE = {"type": "array", "items": _POS, "minItems": 1, "maxItems": 4}


def _axes(one: dict[str, Any]) -> dict[str, Any]:
    """One value, or a list of 1 to 3 (one per spatial axis)."""
    return {"anyOf": [one, {"type": "array", "items": {"anyOf": [one, PARAM]}, "minItems": 1, "maxItems": 3}]}


KINDS: dict[str, dict[str, Any]] = {
    "pos": _POS,
    "nonneg": _NONNEG,
    "int": {"type": "integer"},
    "pos_axes": _axes(_POS),
    "nonneg_axes": _axes(_NONNEG),
    "padding": {"anyOf": [_axes(_NONNEG), {"enum": ["same", "valid"]}]},
    "out_axes": _axes({"anyOf": [_POS, {"type": "null"}]}),
    "bool": {"type": "boolean"},
    "prob": {"type": "number", "minimum": 0, "maximum": 1},
    "number": {"type": "number"},
    "int_list": {"type": "array", "items": {"anyOf": [{"type": "integer"}, PARAM]}, "minItems": 1, "maxItems": 16},
    "nonneg_list": {"anyOf": [_NONNEG, {"type": "array", "items": {"anyOf": [_NONNEG, PARAM]}, "minItems": 1, "maxItems": 16}]},
    "pos_number_axes": _axes({"type": "number", "exclusiveMinimum": 0}),
}


def arg_schema(arg: Arg) -> dict[str, Any]:
    """One argument: its kind's schema or a parameter, described by its doc and default."""
    doc = arg.doc or arg.name
    when = "required" if arg.required else f"default: {_spell(arg.default)}"
    kind = {"enum": list(arg.choices)} if arg.choices else KINDS[arg.kind]
    out: dict[str, Any] = {"description": f"{doc} ({when})", "anyOf": [kind, PARAM]}
    if not arg.required and arg.default is not None:
        out["default"] = arg.default
    elif not arg.required:  # default null: writing `null` says the same as leaving it out
        out["anyOf"].append({"type": "null"})
    return out


def _spell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "null" if v is None else str(v)


def args_schema(rule: Rule) -> dict[str, Any]:
    """The value of a layer-type key: its argument mapping (or null when nothing is required)."""
    mapping: dict[str, Any] = {
        "type": "object",
        "properties": {a.name: arg_schema(a) for a in rule.args},
        "additionalProperties": False,
    }
    required = [a.name for a in rule.args if a.required]
    if required:
        mapping["required"] = required
    options = [mapping, PARAM] if required else [{"type": "null"}, mapping, PARAM]
    return {"description": rule.doc, "anyOf": options}


def item_branch(key: str, value: dict[str, Any], doc: str) -> dict[str, Any]:
    """A mapping item with exactly this type key plus the optional modifiers."""
    return {
        "title": key,
        "description": doc,
        "type": "object",
        "required": [key],
        "properties": {key: value, **{m: {"$ref": f"#/$defs/modifier_{m}"} for m in MODIFIER_DOCS}},
        "additionalProperties": False,
    }


def composite_values() -> dict[str, dict[str, Any]]:
    layers_or_null = {"anyOf": [{"$ref": "#/$defs/layers"}, {"type": "null"}]}
    merge = {"anyOf": [{"enum": ["add", "concat", "mul"]}, PARAM], "description": "how the branches are joined"}
    return {
        "seq": {"anyOf": [{"$ref": "#/$defs/layers"}, {"type": "null"}]},
        "residual": {"anyOf": [PARAM, {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": {"$ref": "#/$defs/layers", "description": "the main path"},
                "shortcut": {**layers_or_null, "description": "the skip path (default: the identity)"},
                "merge": merge,
            },
            "additionalProperties": False,
        }]},
        "parallel": {"anyOf": [
            PARAM,
            {"type": "array", "items": layers_or_null, "minItems": 2},
            {
                "type": "object",
                "required": ["branches"],
                "properties": {
                    "branches": {"anyOf": [PARAM, {"type": "array", "items": layers_or_null, "minItems": 2}]},
                    "merge": merge,
                },
                "additionalProperties": False,
            },
        ]},
    }


def block_call(types: list[str]) -> dict[str, Any]:
    """Any other single key: a call of a block defined under 'blocks'."""
    reserved = "|".join(sorted([*types, *MODIFIER_DOCS], key=len, reverse=True))
    return {
        "title": "block call",
        "description": "a block from 'blocks', with its parameters (or null for the defaults)",
        "type": "object",
        "properties": {m: {"$ref": f"#/$defs/modifier_{m}"} for m in MODIFIER_DOCS},
        "patternProperties": {f"^(?!(?:{reserved})$)": {"anyOf": [{"type": "object"}, {"type": "null"}, PARAM]}},
        "additionalProperties": False,
        "not": {"propertyNames": {"enum": list(MODIFIER_DOCS)}},
    }


def modifiers() -> dict[str, dict[str, Any]]:
    name = {"anyOf": [{"type": "string", "minLength": 1, "not": {"const": "input"}}, {"type": "integer"}]}
    schemas: dict[str, dict[str, Any]] = {
        "name": name,
        "from": {"anyOf": [{"type": ["string", "integer"]}, {"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 1}]},
        "repeat": {"anyOf": [_POS, PARAM]},
        "when": {"anyOf": [{"type": "boolean"}, PARAM]},
        "frozen": {"anyOf": [{"type": "boolean"}, PARAM]},
    }
    return {f"modifier_{k}": {**v, "description": MODIFIER_DOCS[k]} for k, v in schemas.items()}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec, as a plain dict (``cnncalc schema`` prints it)."""
    types = [*RULES, *COMPOSITE_DOCS]
    comp = composite_values()
    branches = [item_branch(t, args_schema(r), r.doc) for t, r in RULES.items()]
    branches += [item_branch(k, comp[k], COMPOSITE_DOCS[k]) for k in COMPOSITE_DOCS]
    branches.append(block_call(types))
    bare = {
        "description": "a bare layer type (default arguments) or a block name",
        "anyOf": [{"enum": [t for t, r in RULES.items() if not any(a.required for a in r.args)]}, {"type": "string"}],
    }
    return {
        "$schema": DRAFT,
        "$id": "https://cnncalc.invalid/spec.schema.json",
        "title": "cnncalc spec",
        "description": "A CNN for cnncalc: an input shape and a list of layers (see docs/spec.md).",
        "type": "object",
        "required": ["input", "layers"],
        "properties": {
            "name": {"type": ["string", "integer"], "description": "the network's name (default: the file name)"},
            "description": {"description": "free text"},
            "input": {
                "description": "one sample's shape: channels, then 0 to 3 spatial sizes, e.g. [3, 224, 224]; "
                "or {shape: [50], dtype: int64} for integer ids (an embedding reads them)",
                "anyOf": [
                    SHAPE,
                    {
                        "type": "object",
                        "required": ["shape"],
                        "properties": {"shape": SHAPE, "dtype": {"enum": list(INPUT_DTYPES)}},
                        "additionalProperties": False,
                    },
                ],
            },
            "blocks": {
                "description": "reusable, parametrised lists of layers, used like a layer type",
                "type": "object",
                "propertyNames": {"not": {"enum": [*types, *MODIFIER_DOCS]}},
                "additionalProperties": {"$ref": "#/$defs/block"},
            },
            "budgets": {
                "description": "CI budgets checked by `cnncalc summarize` (docs/ci.md): counts with K/M/G/T "
                "(powers of 1000), memory in bytes with KB/MB/GB/TB or KiB/MiB/GiB/TiB",
                "type": "object",
                "properties": {
                    "params": {"type": ["string", "integer"], "description": "total parameters, e.g. 30M"},
                    "macs": {"type": ["string", "integer"], "description": "total MACs at --batch, e.g. 5G"},
                    "memory": {"type": ["string", "integer"], "description": "memory, e.g. 2GiB"},
                    "memory_figure": {"enum": ["inference", "training"],
                                      "description": "which estimate 'memory' limits (default inference)"},
                },
                "additionalProperties": False,
            },
            "layers": {"$ref": "#/$defs/layers", "minItems": 1},
        },
        "additionalProperties": False,
        "$defs": {
            "param": {
                "description": "a block parameter ($width) or an expression (${width * 4})",
                "type": "string",
                "pattern": r"^\$(?:[A-Za-z_]\w*|\{[^}]*\})$",
            },
            "layers": {
                "description": "a list of layers (or a block parameter holding one)",
                "anyOf": [{"type": "array", "items": {"$ref": "#/$defs/item"}}, PARAM],
            },
            "item": {"anyOf": [bare, {"oneOf": branches}]},
            "block": {
                "type": "object",
                "required": ["layers"],
                "properties": {
                    "params": {
                        "description": "parameter names and defaults (null: required)",
                        "type": "object",
                    },
                    "layers": {"$ref": "#/$defs/layers"},
                    "description": {"description": "free text"},
                },
                "additionalProperties": False,
            },
            **modifiers(),
        },
    }
