"""Reading values out of YAML nodes: parameters (``$width``), expressions (``${width * 4}``), scopes.

A :class:`Scope` says where items are being expanded: the name prefix, the parameters in force and
whether the layers are frozen. Parameters live in an :class:`Env`, a chain of small frames: a repeat
adds a one-name frame for ``$i`` instead of copying every parameter of the block it is in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import SpecError
from . import expr
from .limits import MAX_INT, Budget, BudgetExceeded
from .loader import BOOL, INT, STR, loc, scalar

_DOLLAR = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_]\w*)")
_NUMERIC = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")
# Forms YAML 1.1 read as numbers or booleans; cnncalc reads YAML 1.2, where they are text.
_YAML11_NUMBER = re.compile(r"[-+]?(0b[01_]+|0[0-7_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?)")
_YAML11_BOOL = frozenset(["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"])


class Env(Mapping[str, Node]):
    """Parameters by name: this frame's, then its parent's. ``index`` marks a repeat's ``$i`` frame."""

    __slots__ = ("index", "parent", "vars")

    def __init__(self, vars: Mapping[str, Node] | None = None, parent: Env | None = None, index: bool = False):
        self.vars = vars or {}
        self.parent = parent
        self.index = index

    def frame_of(self, name: str) -> Env | None:
        e: Env | None = self
        while e is not None:
            if name in e.vars:
                return e
            e = e.parent
        return None

    def __getitem__(self, name: str) -> Node:
        f = self.frame_of(name)
        if f is None:
            raise KeyError(name)
        return f.vars[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.frame_of(name) is not None

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        e: Env | None = self
        while e is not None:
            for k in e.vars:
                if k not in seen:
                    seen.add(k)
                    yield k
            e = e.parent

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Values(Mapping[str, Any]):
    """The scalar parameters of an :class:`Env` as Python values, read only when an expression asks."""

    __slots__ = ("env",)

    def __init__(self, env: Env):
        self.env = env

    def __getitem__(self, name: str) -> Any:
        node = self.env[name]
        if not isinstance(node, ScalarNode):
            raise KeyError(name)
        return scalar(node)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and isinstance(self.env.get(name), ScalarNode)

    def __iter__(self) -> Iterator[str]:
        return (k for k in self.env if isinstance(self.env[k], ScalarNode))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Scope:
    """Where items are being expanded: name prefix, block parameters, and frozen-ness.

    A plain slotted class (a repeat makes one per copy, so copying must be cheap)."""

    __slots__ = ("block", "call_lines", "calls", "depth", "env", "frozen", "parent", "prefix")

    def __init__(
        self, prefix: str = "", env: Env | None = None, frozen: bool = False, calls: tuple[str, ...] = (),
        parent: Scope | None = None, depth: int = 0, call_lines: tuple[int, ...] = (), block: str | None = None,
    ):
        self.prefix = prefix
        self.env = Env() if env is None else env
        self.frozen = frozen
        self.calls = calls
        self.parent = parent
        self.depth = depth
        self.call_lines = call_lines  # where the enclosing block calls are, outermost first
        self.block = block  # the block whose parameters ``env`` holds (None: the top level)

    def copy(self, env: Env | None = None, frozen: bool | None = None, depth: int | None = None) -> Scope:
        """The same scope with a different env, frozen-ness or depth."""
        return Scope(
            self.prefix, self.env if env is None else env, self.frozen if frozen is None else frozen,
            self.calls, self.parent, self.depth if depth is None else depth, self.call_lines, self.block,
        )

    def inner(self, prefix: str, env: Env, calls: tuple[str, ...], call_lines: tuple[int, ...], block: str | None) -> Scope:
        """A scope one level in (a named composite or a block call), child of this one."""
        return Scope(prefix, env, self.frozen, calls, self, self.depth + 1, call_lines, block)


def show(v: Any) -> str:
    """A value as the spec would spell it: true, null, 'text', [1, 2] (with a hint for look-alikes)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v[:20]) + (", …]" if len(v) > 20 else "]")
    if isinstance(v, str):
        text = repr(v if len(v) <= 60 else v[:60] + "…")
        if _NUMERIC.fullmatch(v):
            return text + " (a quoted string: write numbers without quotes)"
        if _YAML11_NUMBER.fullmatch(v):
            return text + " (text: cnncalc reads YAML 1.2, where only plain decimal, 0x and 0o integers are numbers)"
        if v in _YAML11_BOOL:
            return text + " (text: write true or false)"
        return text
    if isinstance(v, int) and abs(v) > 10**30:
        return f"an integer of {len(str(abs(v))) if abs(v).bit_length() < 10_000 else 'thousands of'} digits"
    return repr(v)


def names_hint(names: list[str], limit: int = 12) -> str:
    """``a, b, c`` (at most ``limit`` of them, then how many more)."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


class Reader:
    """Values out of nodes, with located errors; the expander builds on it."""

    def __init__(self, file: str):
        self.file = file
        self.budget = Budget()

    def err(self, msg: str, node: Node | None, layer: str | None = None) -> SpecError:
        return SpecError(msg, loc(node, self.file), layer)

    def spend(self, chars: int, node: Node | None) -> None:
        try:
            self.budget.spend_chars(chars)
        except BudgetExceeded as e:
            raise self.err(str(e), node) from None

    def resolve(self, node: Node, scope: Scope) -> Node:
        """Substitute ``$param`` and ``${expr}`` in a scalar node (other nodes pass through)."""
        if not (isinstance(node, ScalarNode) and node.tag == STR and "$" in node.value):
            return node
        text = node.value
        self.spend(len(text), node)
        whole = _DOLLAR.fullmatch(text)
        if whole and whole.group(2):
            name = whole.group(2)
            if name not in scope.env:
                known = names_hint([f"${k}" for k in sorted(scope.env)]) or "none here"
                raise self.err(f"unknown parameter '${name}' (parameters: {known})", node)
            return scope.env[name]
        values = Values(scope.env)
        if whole:
            v = self.evaluate(whole.group(1), values, text, node)
            tag = BOOL if isinstance(v, bool) else INT
            return ScalarNode(tag, str(v).lower() if isinstance(v, bool) else str(v), node.start_mark, node.end_mark)

        def compute(m: re.Match[str]) -> str:
            return str(self.evaluate(m.group(1) or m.group(2), values, text, node))

        out = _DOLLAR.sub(compute, text)
        self.spend(len(out), node)
        return ScalarNode(STR, out, node.start_mark, node.end_mark)

    def evaluate(self, source: str, values: Mapping[str, Any], text: str, node: Node) -> int | bool:
        try:
            self.budget.step()  # an expression costs a step
        except BudgetExceeded as e:
            raise self.err(str(e), node) from None
        try:
            v = expr.evaluate(source, values)
        except expr.ExprError as e:
            shown = text if len(text) <= 80 else text[:80] + "…"
            raise self.err(f"in '{shown}': {e}", node) from None
        if not isinstance(v, bool) and abs(v) > MAX_INT:
            raise self.err(f"in '{text[:80]}': the value {v:,} is beyond {MAX_INT:,}, the largest integer a spec may use", node)
        return v

    def close_over(self, node: Node, scope: Scope) -> Node:
        """``node`` with every ``$param`` and ``${expr}`` inside it substituted in ``scope``.

        Block arguments are bound this way (lexical scope): a list of layers passed to a block
        keeps the meaning of the caller's parameters, whatever the block's own are called.
        """
        if isinstance(node, ScalarNode):
            return self.resolve(node, scope)
        if isinstance(node, SequenceNode):
            kids = [self.close_over(c, scope) for c in node.value]
            if all(a is b for a, b in zip(kids, node.value, strict=True)):
                return node
            return SequenceNode(node.tag, kids, node.start_mark, node.end_mark, node.flow_style)
        if isinstance(node, MappingNode):
            pairs = [(k, self.close_over(v, scope)) for k, v in node.value]
            if all(a[1] is b[1] for a, b in zip(pairs, node.value, strict=True)):
                return node
            return MappingNode(node.tag, pairs, node.start_mark, node.end_mark, node.flow_style)
        return node

    def value(self, node: Node, scope: Scope) -> Any:
        """A plain Python value (scalars, lists of scalars) after substitution."""
        node = self.resolve(node, scope)
        if isinstance(node, ScalarNode):
            return scalar(node)
        if isinstance(node, SequenceNode):
            return [self.value(n, scope) for n in node.value]
        raise self.err("expected a value, got a mapping", node)

    def mapping(self, node: Node | None, what: str, layer: str | None = None) -> list[tuple[str, Node, Node]]:
        """(key, key node, value node) of a mapping, refusing anything else (None included), duplicate
        and non-string keys."""
        if not isinstance(node, MappingNode):
            raise self.err(f"{what} must be a mapping", node, layer)
        seen: dict[str, Node] = {}
        out: list[tuple[str, Node, Node]] = []
        for k, v in node.value:
            if not isinstance(k, ScalarNode) or k.tag not in (STR, INT, BOOL):
                raise self.err(f"{what}: keys must be plain names", k, layer)
            key = str(k.value)
            if key in seen:
                first = loc(seen[key], self.file)
                raise self.err(f"duplicate key '{key}' in {what} (first at line {first.line})", k, layer)
            seen[key] = k
            out.append((key, k, v))
        return out

    def shown(self, node: Node, scope: Scope) -> str:
        if isinstance(node, MappingNode):
            return "a mapping"
        return show(self.value(node, scope))
