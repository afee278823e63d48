"""The layer tables of docs/spec.md and docs/import.md, generated from :data:`~cnncalc.layers.RULES`.

Each table sits in its document between ``<!-- layer-table:start -->`` and
``<!-- layer-table:end -->``; tests/test_doc_tables.py checks that the committed text is what this
module generates. To regenerate after adding or changing a rule::

    python -m cnncalc.layers.doc_tables --write      # rewrite the tables in docs/
    python -m cnncalc.layers.doc_tables --check      # exit 1 if a table is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import RULES
from .base import Rule

START, END = "<!-- layer-table:start -->", "<!-- layer-table:end -->"
F = "torch.nn.functional."


def spell(value: Any) -> str:
    """A default as a spec writes it: true, false, null, numbers, lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(spell(v) for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def arguments(rule: Rule) -> str:
    """``out``; ``stride`` [1]; ``mode`` [nearest] (nearest, linear, …): required ones bare."""
    parts = []
    for a in rule.args:
        text = f"`{a.name}`" if a.required else f"`{a.name}` [{spell(a.default)}]"
        if a.choices:
            text += f" ({', '.join(a.choices)})"
        parts.append(text)
    inputs = _inputs(rule)
    return "; ".join(parts) + (f" ({inputs})" if inputs else "") if parts else inputs or "none"


def _inputs(rule: Rule) -> str:
    if rule.max_inputs == 1:
        return ""
    if rule.max_inputs == rule.min_inputs:
        return f"{rule.min_inputs} inputs, listed in `from`"
    most = "or more" if rule.max_inputs is None else f"to {rule.max_inputs}"
    return f"{rule.min_inputs} {most} inputs, listed in `from`"


def _ranked(names: Iterable[str]) -> list[str]:
    """``Conv1d, Conv2d, Conv3d`` → ``Conv1d/2d/3d`` (one entry per family, in first-seen order; a
    bare name stays apart from its ranked family: ``ShiftedWindowAttention``, ``…Attention3d``)."""
    out: dict[tuple[str, bool], list[str]] = {}
    for n in names:
        if n[-2:] in ("1d", "2d", "3d") and n[-3:-2] != "_":
            out.setdefault((n[:-2], True), []).append(n[-2:])
        else:
            out.setdefault((n, False), [])
    return [f"{base}{'/'.join(ranks)}" if ranks else base for (base, _), ranks in out.items()]


def torch_side(rule: Rule) -> str:
    """What build makes: ``nn.Conv1d/2d/3d``, ``a + b``, ``torch.cat([...], dim)`` or a module of
    cnncalc's own (torch has no class for it)."""
    t = rule.torch
    if t.function is not None:
        fn = t.function
        if fn.infix:
            return f"`a {fn.infix} b`"
        kw = "".join(f", {k}" for k in fn.kwargs)
        return f"`{fn.name}([...]{kw})`"
    names = ", ".join(f"`{c}`" for c in _ranked(t.own_classes()))
    return names if t.module is None else f"{names} (a module cnncalc defines)"


def spec_table(rules: Iterable[Rule] | None = None) -> str:
    """The "layer types" table of docs/spec.md: one row per rule, in registration order."""
    rows = ["| type | what | arguments (defaults in brackets) | PyTorch |", "|---|---|---|---|"]
    for r in RULES.values() if rules is None else rules:
        rows.append(f"| `{r.type}` | {_cell(r.doc)} | {_cell(arguments(r))} | {torch_side(r)} |")
    return "\n".join(rows)


def _import_names(rule: Rule) -> list[str]:
    t = rule.torch
    nn = set(_ranked(t.nn_classes()))
    names = [f"`{'nn.' + c if c in nn else c}`" for c in _ranked(t.classes())]
    names += [f"`{'F.' + f[len(F):] if f.startswith(F) else f}`" for f in _ranked(t.functions)]
    names += [f"`x.{m}`" for m in t.methods]
    return names


def import_table(rules: Iterable[Rule] | None = None) -> str:
    """The "what maps to what" table of docs/import.md: the torch names that import as each rule,
    and the spec arguments read from torch."""
    rows = ["| PyTorch | cnncalc layer (arguments read from torch) |", "|---|---|"]
    for r in RULES.values() if rules is None else rules:
        names = _import_names(r)
        if not names:
            continue
        args = [p.spec_arg for p in r.torch.params if p.spec_arg is not None]
        args += list(r.torch.function.kwargs) if r.torch.function is not None else []
        read = f" ({', '.join(args)})" if args else ""
        rows.append(f"| {', '.join(names)} | `{r.type}`{read} |")
    return "\n".join(rows)


DOCS: dict[str, Callable[[], str]] = {"docs/spec.md": spec_table, "docs/import.md": import_table}


def replace_table(text: str, table: str, where: str = "document") -> str:
    """``text`` with the part between the markers replaced by ``table`` (ValueError without them)."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"{where} has no {START} … {END} markers")
    return f"{head}{START}\n{table}\n{END}{tail}"


def stale(root: Path) -> list[str]:
    """The documents whose table differs from the generated one."""
    out = []
    for rel, make in DOCS.items():
        path = root / rel
        text = path.read_text(encoding="utf-8")
        if replace_table(text, make(), rel) != text:
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate the layer tables of docs/spec.md and docs/import.md.")
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2], help="the repository")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the tables in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if a table is stale")
    a = ap.parse_args(argv)
    if a.write:
        for rel, make in DOCS.items():
            path = a.root / rel
            path.write_text(replace_table(path.read_text(encoding="utf-8"), make(), rel), encoding="utf-8")
        return 0
    if a.check:
        bad = stale(a.root)
        for rel in bad:
            print(f"{rel}: the layer table is stale; run python -m cnncalc.layers.doc_tables --write")
        return 1 if bad else 0
    print(spec_table() + "\n\n" + import_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
