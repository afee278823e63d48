"""Safe YAML loading that keeps locations.

The spec is *composed* into YAML nodes (never constructed into Python objects by PyYAML), so every
value keeps its line and column. Tags that would construct objects are refused, alias bombs and
recursive aliases are refused before anything walks the tree, and nesting is bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Loc, SpecError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

T = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, SEQ, MAP = (T + x for x in ("str", "int", "float", "bool", "null", "seq", "map"))
_ALLOWED_TAGS = {STR, INT, FLOAT, BOOL, NULL, SEQ, MAP, T + "timestamp"}

MAX_DEPTH = 200  # nesting of YAML collections
MAX_ALIAS_EXPANSION = 1_000_000  # nodes that aliases may add on top of those written out

_ctor = yaml.constructor.SafeConstructor()
_SCALARS = {
    INT: _ctor.construct_yaml_int,
    FLOAT: _ctor.construct_yaml_float,
    BOOL: _ctor.construct_yaml_bool,
    NULL: _ctor.construct_yaml_null,
}


def loc(node: Node | None, file: str) -> Loc:
    """The 1-based location of a node (line 0 when the node was not read from text)."""
    mark = getattr(node, "start_mark", None)
    if mark is None:
        return Loc(file)
    return Loc(file, mark.line + 1, mark.column + 1)


def scalar(node: ScalarNode) -> Any:
    """The Python value of a scalar node: int, float, bool, None or str (timestamps stay text)."""
    f = _SCALARS.get(node.tag)
    return f(node) if f else str(node.value)


def read_text(path: str | Path) -> str:
    """The spec file's text, or a SpecError for a missing file, a folder or bytes that are not UTF-8."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise SpecError("no such file", Loc(str(path))) from None
    except IsADirectoryError:
        raise SpecError("is a folder; expected a YAML spec file", Loc(str(path))) from None
    except OSError as e:
        raise SpecError(f"cannot be read: {e.strerror}", Loc(str(path))) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError(
            f"byte 0x{data[e.start]:02x} is not UTF-8; save the spec as UTF-8 text", Loc(str(path), line, col)
        ) from None


def compose(text: str, file: str) -> Node:
    """The single YAML document in ``text`` as a node tree, checked for unsafe tags and bombs."""
    loader = _Base(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = e.problem or e.context or "invalid YAML"
        where = Loc(file, mark.line + 1, mark.column + 1) if mark else Loc(file)
        raise SpecError(f"YAML syntax error: {what}", where) from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML error: {e}", Loc(file)) from None
    finally:
        loader.dispose()
    if node is None:
        raise SpecError("the file is empty; expected a mapping with 'input' and 'layers'", Loc(file, 1, 1))
    check_tree(node, file)
    return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [n for kv in node.value for n in kv]
    return []


def check_tree(root: Node, file: str) -> None:
    """Refuse object-constructing tags, recursive aliases, alias bombs and absurd nesting.

    One iterative pass; sizes are memoised per node so a bomb is measured, never expanded.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            size[nid] = 1 + sum(size[id(c)] for c in _children(node))
            continue
        if nid in size:
            continue
        if nid in on_path:
            raise SpecError("recursive YAML alias: a collection contains itself", loc(node, file))
        if depth > MAX_DEPTH:
            raise SpecError(f"YAML nested more than {MAX_DEPTH} levels deep", loc(node, file))
        if node.tag not in _ALLOWED_TAGS:
            what = "merge keys (<<)" if node.tag == T + "merge" else f"the tag {node.tag!r}"
            raise SpecError(
                f"{what} not allowed: a spec holds only plain mappings, lists, numbers, "
                "booleans, strings and nulls (use blocks for reuse)",
                loc(node, file),
            )
        on_path.add(nid)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in size)
    expanded = size[id(root)]
    if expanded - len(size) > MAX_ALIAS_EXPANSION:
        raise SpecError(
            f"YAML aliases expand this spec to {expanded:,} nodes (an alias bomb?); "
            "refusing to read it",
            loc(root, file),
        )


def from_python(obj: Any) -> Node:
    """A node tree for a spec given as Python data (no locations)."""
    rep = yaml.representer.SafeRepresenter()
    rep.sort_keys = False
    try:
        return rep.represent_data(obj)
    except yaml.representer.RepresenterError as e:
        raise SpecError(f"the spec holds a value that is not plain data: {e}") from None
