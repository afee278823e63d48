"""Safe YAML loading that keeps locations.

The spec is *composed* into YAML nodes (never constructed into Python objects by PyYAML), so every
value keeps its line and column. The composer here is our own loop over the parser's events: it has
no recursion (10,000 nested brackets are refused at level 201, not by a crash), it refuses tags that
would construct objects before anything is built, it measures alias expansion as it goes (an alias
bomb is refused without being expanded), and it converts every number and boolean once, so a bad
``!!int`` or a 5,000-digit number is an error with a location rather than a traceback.

Plain scalars are read with the YAML 1.2 core schema, as a person writes them: ``010`` is ten,
``0x10`` sixteen and ``0o10`` eight; YAML 1.1's other forms (``1:30`` in base 60, ``1_000``,
``0b101``, ``yes``/``no``/``on``/``off``) are text, which any number or boolean argument then
refuses, naming the form. Non-finite numbers (``.inf``, ``.nan``, ``1e999``) are refused here.
The text itself is read by :mod:`.source`, with a size limit.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Loc, SpecError
from .limits import MAX_NODES
from .source import read_text as read_text  # where it was (commands/check.py reads it from here)

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

T = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, SEQ, MAP = (T + x for x in ("str", "int", "float", "bool", "null", "seq", "map"))
TIMESTAMP = T + "timestamp"
_SCALAR_TAGS = {STR, INT, FLOAT, BOOL, NULL, TIMESTAMP}

MAX_DEPTH = 200  # nesting of YAML collections
MAX_ALIAS_EXPANSION = 200_000  # nodes that aliases may add on top of those written out

_INT12 = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT12 = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_BOOL12 = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL12 = frozenset(("~", "null", "Null", "NULL", ""))


class Resolver12(yaml.resolver.BaseResolver):
    """Implicit tags of plain scalars by the YAML 1.2 core schema (PyYAML's own are YAML 1.1's).

    Merge keys (``<<``) are still recognised, so that they are refused by name.
    """


Resolver12.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    (BOOL, "true|True|TRUE|false|False|FALSE", "tTfF"),
    (INT, _INT12.pattern, "-+0123456789"),
    (FLOAT, _FLOAT12.pattern, "-+0123456789."),
    (NULL, "~|null|Null|NULL|", ["~", "n", "N", ""]),
    (T + "merge", "<<", "<"),
):
    Resolver12.add_implicit_resolver(_tag, re.compile(f"^(?:{_regexp})$"), list(_first))
_resolver = Resolver12()


def to_int(text: str) -> int:
    """A YAML 1.2 integer: decimal (leading zeros allowed: 010 is 10), 0o octal or 0x hex."""
    if not _INT12.fullmatch(text):
        raise ValueError(text)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def to_float(text: str) -> float:
    """A finite YAML 1.2 float (``.inf``, ``.nan`` and overflowing ones such as 1e999 are refused)."""
    if not _FLOAT12.fullmatch(text):
        raise ValueError(text)
    body = text.lstrip("+-")
    if body[:1] == "." and body[1:2].isalpha():  # .inf, .nan
        raise OverflowError(text)
    v = float(text)
    if not math.isfinite(v):  # 1e999
        raise OverflowError(text)
    return v


def to_bool(text: str) -> bool:
    if text not in _BOOL12:
        raise ValueError(text)
    return _BOOL12[text]


def to_null(text: str) -> None:
    if text not in _NULL12:
        raise ValueError(text)


_CONVERT: dict[str, Any] = {INT: to_int, FLOAT: to_float, BOOL: to_bool, NULL: to_null}
_NO_VALUE = object()
_PLAIN = "a spec holds only plain mappings, lists, numbers, booleans, strings and nulls (use blocks for reuse)"


class Mark:
    """Where a node starts (0-based line and column): all that cnncalc keeps of PyYAML's mark, in a
    tenth of its memory (a spec at the size limit holds hundreds of thousands of them)."""

    __slots__ = ("column", "line")

    def __init__(self, mark: Any):
        self.line = mark.line
        self.column = mark.column


def _mark(ev: Any) -> Any:  # typed Any: PyYAML's nodes are annotated with its own Mark
    return Mark(ev.start_mark)


def loc(node: Node | None, file: str) -> Loc:
    """The 1-based location of a node (line 0 when the node was not read from text)."""
    mark = getattr(node, "start_mark", None)
    if mark is None:
        return Loc(file)
    return Loc(file, mark.line + 1, mark.column + 1)


def scalar(node: ScalarNode) -> Any:
    """The Python value of a scalar node: int, float, bool, None or str (timestamps stay text)."""
    v = node.__dict__.get("data", _NO_VALUE)
    if v is not _NO_VALUE:
        return v
    f = _CONVERT.get(node.tag)
    return f(node.value) if f else str(node.value)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    A 100,000-layer spec makes millions of nodes; with the collector running, each full collection
    walks all of them again and the cost grows faster than the spec.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def compose(text: str, file: str) -> Node:
    """The single YAML document in ``text`` as a node tree, checked for unsafe tags and bombs."""
    loader = _Base(text)
    try:
        return _Composer(file).run(loader)
    except yaml.MarkedYAMLError as e:
        raise syntax_error(e, file, text) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise SpecError(
            f"character #x{e.character:04x} is not allowed in YAML ({e.reason}); expected printable text",
            Loc(file, line, col),
        ) from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML error: {e}", Loc(file)) from None
    finally:
        loader.dispose()


def syntax_error(e: yaml.MarkedYAMLError, file: str, text: str = "") -> SpecError:
    """Where the parser noticed the problem, and where the construct it was reading began."""
    mark = e.problem_mark or e.context_mark
    what = e.problem or e.context or "invalid YAML"
    if mark is None:
        return SpecError(f"YAML syntax error: {what}", Loc(file))
    began = ""
    c = e.context_mark
    if e.problem and e.context and c is not None and (c.line, c.column) != (mark.line, mark.column):
        m = re.fullmatch(r"while (?:parsing|scanning) an? (.*)", e.context)
        construct = f"the {m.group(1)}" if m else e.context
        began = f" (in {construct} that began at line {c.line + 1}, column {c.column + 1})"
    lines = text.splitlines()
    if mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
        what += " (a tab: YAML indents with spaces only)"
    return SpecError(f"YAML syntax error: {what}{began}", Loc(file, mark.line + 1, mark.column + 1))


class _Composer:
    """Events → nodes, iteratively, with every safety check made on the way."""

    def __init__(self, file: str):
        self.file = file
        self.anchors: dict[str, Node] = {}
        self.size: dict[int, int] = {}  # id(collection) → nodes it expands to (for aliased ones)
        self.written = 0  # nodes written out in the text
        self.aliased = 0  # nodes added by aliases
        self.seen: dict[tuple[Any, ...], tuple[str, Any]] = {}  # scalar event → (tag, value)

    def err(self, msg: str, mark: Any) -> SpecError:
        return SpecError(msg, Loc(self.file, mark.line + 1, mark.column + 1) if mark else Loc(self.file))

    def run(self, loader: Any) -> Node:
        root: Node | None = None
        docs = 0
        stack: list[tuple[Node, int]] = []  # open collections and their expanded sizes so far
        while True:
            ev = loader.get_event()
            if ev is None:
                break
            kind = type(ev)
            node: Node
            if kind is ScalarEvent:  # the most frequent event, first and inline
                node = self.scalar(ev)
                if stack:
                    parent, m = stack[-1]
                    parent.value.append(node)
                    stack[-1] = (parent, m + 1)
                else:
                    root = node
                continue
            if kind is DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise self.err("a spec is one YAML document; found a second '---' document", ev.start_mark)
                continue
            if kind is SequenceStartEvent or kind is MappingStartEvent:
                self.open(ev, kind, stack)
                continue
            if kind is SequenceEndEvent or kind is MappingEndEvent:
                node, n = stack.pop()
                if kind is MappingEndEvent:  # children were collected flat: k, v, k, v
                    flat = node.value
                    node.value = list(zip(flat[::2], flat[1::2], strict=True))
                self.size[id(node)] = n
            elif kind is AliasEvent:
                node, n = self.alias(ev, stack)
            else:
                continue
            if stack:
                parent, m = stack[-1]
                parent.value.append(node)
                stack[-1] = (parent, m + n)
            else:
                root = node
        if root is None:
            raise SpecError(
                "the file is empty; expected a mapping with 'input' and 'layers'", Loc(self.file, 1, 1)
            )
        return root

    def tag(self, ev: Any, implicit: Any, kind: type[Node], value: str | None) -> str:
        tag = ev.tag
        if tag is None or tag == "!":
            tag = _resolver.resolve(kind, value, implicit)
        allowed = _SCALAR_TAGS if kind is ScalarNode else {SEQ if kind is SequenceNode else MAP}
        if tag not in allowed:
            what = "merge keys (<<) are" if tag == T + "merge" else f"the tag {tag!r} is"
            raise self.err(f"{what} not allowed: {_PLAIN}", ev.start_mark)
        return tag

    def open(self, ev: Any, kind: type, stack: list[tuple[Node, int]]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise self.err(f"YAML nested more than {MAX_DEPTH} levels deep; expected a flatter spec", ev.start_mark)
        ncls = SequenceNode if kind is SequenceStartEvent else MappingNode
        tag = self.tag(ev, ev.implicit, ncls, None)
        node = ncls(tag, [], _mark(ev), None, flow_style=ev.flow_style)
        if ev.anchor is not None:
            self.anchors[ev.anchor] = node
        self.written += 1
        if self.written > MAX_NODES:
            raise self.too_many(ev.start_mark)
        stack.append((node, 1))

    def too_many(self, mark: Any) -> SpecError:
        return self.err(
            f"the spec writes more than {MAX_NODES:,} YAML values; expected a smaller spec (use repeat and blocks)",
            mark,
        )

    def scalar(self, ev: Any) -> ScalarNode:
        key = (ev.value, ev.tag, ev.implicit)
        known = self.seen.get(key)
        if known is None:  # specs repeat the same few scalars: resolve and convert each once
            known = self.convert(ev)
            if len(self.seen) < 100_000:
                self.seen[key] = known
        tag, data = known
        node = ScalarNode(tag, ev.value, _mark(ev), None, style=ev.style)
        if data is not _NO_VALUE:
            vars(node)["data"] = data  # the converted value, read back by scalar()
        if ev.anchor is not None:
            self.anchors[ev.anchor] = node
        self.written += 1
        if self.written > MAX_NODES:
            raise self.too_many(ev.start_mark)
        return node

    def convert(self, ev: Any) -> tuple[str, Any]:
        tag = self.tag(ev, ev.implicit, ScalarNode, ev.value)
        f = _CONVERT.get(tag)
        if f is None:
            return tag, _NO_VALUE
        try:
            return tag, f(ev.value)
        except OverflowError:
            shown = ev.value if len(ev.value) <= 40 else ev.value[:40] + "…"
            raise self.err(f"'{shown}' is not a finite number; a spec holds only finite numbers", ev.start_mark) from None
        except (ValueError, KeyError, TypeError):
            want = {INT: "an integer", FLOAT: "a number", BOOL: "true or false", NULL: "null"}[tag]
            shown = ev.value if len(ev.value) <= 40 else ev.value[:40] + "…"
            why = " (decimal, 0o octal or 0x hex; at most 4,300 digits)" if tag == INT else ""
            raise self.err(f"'{shown}' is not {want}{why}", ev.start_mark) from None

    def alias(self, ev: Any, stack: list[tuple[Node, int]]) -> tuple[Node, int]:
        node = self.anchors.get(ev.anchor)
        if node is None:
            raise self.err(f"the alias *{ev.anchor} names no anchor (&{ev.anchor}) before it", ev.start_mark)
        if any(open_node is node for open_node, _ in stack):
            raise self.err(f"recursive YAML alias *{ev.anchor}: a collection contains itself", ev.start_mark)
        n = self.size.get(id(node), 1)
        self.aliased += n
        if self.aliased > MAX_ALIAS_EXPANSION:
            raise self.err(
                f"YAML aliases expand this spec by more than {MAX_ALIAS_EXPANSION:,} nodes (an alias bomb?); "
                "expected a spec that uses blocks for reuse",
                ev.start_mark,
            )
        return node, n


def from_python(obj: Any, file: str = "<dict>") -> Node:
    """A node tree for a spec given as Python data (no locations); only plain data is accepted."""
    root = _py_node(obj, file)
    stack: list[tuple[Any, Node, int]] = [(obj, root, 0)]
    seen: set[int] = set()
    shared = 0  # nodes made again for containers met before (Python's aliases)
    while stack:
        value, node, depth = stack.pop()
        if isinstance(node, ScalarNode):
            continue
        if depth >= MAX_DEPTH:
            raise SpecError(f"the spec nests more than {MAX_DEPTH} levels deep; expected a flatter spec", Loc(file))
        if id(value) in seen:
            shared += len(value) + 1
            if shared > MAX_ALIAS_EXPANSION:
                raise SpecError("the spec repeats shared lists or dicts too often (a bomb?)", Loc(file))
        seen.add(id(value))
        items = list(value.items()) if isinstance(node, MappingNode) else [(None, v) for v in value]
        for k, v in items:
            child = _py_node(v, file)
            if isinstance(node, MappingNode):
                node.value.append((_py_node(k, file, key=True), child))
            else:
                node.value.append(child)
            stack.append((v, child, depth + 1))
    return root


def _py_node(v: Any, file: str, key: bool = False) -> Node:
    if isinstance(v, Mapping) and not key:
        return MappingNode(MAP, [])
    if isinstance(v, (list, tuple)) and not key:
        return SequenceNode(SEQ, [])
    tag = {bool: BOOL, int: INT, float: FLOAT, str: STR, type(None): NULL}.get(type(v))
    if tag is None:
        what = "a key" if key else "a value"
        raise SpecError(
            f"the spec holds {what} of type {type(v).__name__} ({v!r:.40}); expected plain data: "
            "dicts, lists, numbers, booleans, strings and None",
            Loc(file),
        )
    if tag == FLOAT and not math.isfinite(v):
        raise SpecError(f"the spec holds the number {v}; expected finite numbers only", Loc(file))
    try:
        text = "" if v is None else str(v).lower() if tag == BOOL else str(v)
    except ValueError:  # an integer with more digits than str() allows
        text = "0"
    node = ScalarNode(tag, text)
    vars(node)["data"] = v
    return node
