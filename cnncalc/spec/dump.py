"""A spec as YAML text, and the spec items that imports write (no torch here).

:func:`item` turns one layer (its type and every argument) into a spec item that keeps only what
differs from cnncalc's defaults; :func:`to_yaml` writes a whole spec in the core grammar, one layer
per line in flow style, so that a diff of two imports reads line by line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from ..layers import RULES


def item(kind: str, args: Mapping[str, Any], name: str, inputs: list[str], previous: str) -> dict[str, Any]:
    """One spec item: the type with only its non-default arguments, the name, and ``from`` if needed."""
    out: dict[str, Any] = {kind: non_defaults(kind, args) or None, "name": name}
    if inputs != [previous]:
        out["from"] = inputs[0] if len(inputs) == 1 else list(inputs)
    return out


def non_defaults(kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` in the rule's order, less those equal to cnncalc's defaults (pool stride: the kernel)."""
    kept = {}
    for a in RULES[kind].args:
        if a.name not in args:
            continue
        value = args[a.name]
        if value is None and a.default is None:
            continue
        default = args.get("kernel") if a.name == "stride" and a.default is None and "kernel" in args else a.default
        if a.required or not _same(value, default):
            kept[a.name] = value
    return kept


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def to_yaml(spec: Mapping[str, Any], source: str | None = None) -> str:
    """The spec as readable YAML: one layer per line, in flow style."""
    lines = [f"# imported from {_one_line(source)} by cnncalc import"] if source else []
    lines += [_flow({key: spec[key]})[1:-1] for key in ("name", "input")]
    lines += ["layers:"]
    lines += [f"  - {_flow(layer)}" for layer in spec["layers"]]
    return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30).strip()


def _one_line(text: str) -> str:
    """A comment's text: control characters (newlines included) shown escaped, never raw."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
