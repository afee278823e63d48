"""A primitive layer's arguments: the written ones checked against its rule's schema, the rest filled
from the defaults. Integers beyond :data:`~cnncalc.spec.limits.MAX_INT` are refused here, so no
later arithmetic, rendering or torch call meets an absurd size."""

from __future__ import annotations

from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from ..errors import Loc
from ..layers.base import Arg, check_arg, expectation
from .limits import MAX_INT
from .loader import loc, scalar
from .names import closest
from .values import Reader, Scope, show


def too_big(v: Any) -> bool:
    """Whether ``v`` (a value or a list of them) holds an integer beyond :data:`MAX_INT`."""
    if isinstance(v, (list, tuple)):
        return any(too_big(x) for x in v)
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT


def has_dollar(node: Node) -> bool:
    """Whether any string in ``node`` uses a parameter or an expression (its value depends on scope)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ScalarNode):
            if "$" in n.value:
                return True
        elif isinstance(n, MappingNode):
            stack.extend(v for pair in n.value for v in pair)
        elif isinstance(n.value, list):
            stack.extend(n.value)
    return False


def example(schema: tuple[Arg, ...]) -> str:
    req = [a.name for a in schema if a.required] or [a.name for a in schema[:1]]
    return ", ".join(f"{n}: ..." for n in req)


def written(r: Reader, tname: str, schema: tuple[Arg, ...], targs: Node | None, layer: str) -> tuple[dict[str, Node], dict[str, Node]]:
    """The written arguments (name → value node) and their key nodes; unknown names are refused."""
    if targs is None or (isinstance(targs, ScalarNode) and scalar(targs) is None):
        return {}, {}
    if not isinstance(targs, MappingNode):
        raise r.err(
            f"the arguments of {tname} must be a mapping such as {{{example(schema)}}}, or null for defaults",
            targs, layer,
        )
    entries = r.mapping(targs, f"the arguments of {tname}", layer)
    names = [a.name for a in schema]
    for k, kn, _ in entries:
        if k not in names:
            expect = f"its arguments are {', '.join(names)}" if names else "it takes no arguments"
            raise r.err(f"{tname} has no argument '{k}'{closest(k, names)}; {expect}", kn, layer)
    return {k: v for k, _, v in entries}, {k: kn for k, kn, _ in entries}


def layer_args(
    r: Reader, schema: tuple[Arg, ...], tname: str, targs: Node | None, scope: Scope, layer: str, tnode: Node
) -> tuple[dict[str, Any], dict[str, Loc], tuple[str, ...]]:
    """(arguments with defaults filled, where each written one is, the names written)."""
    targs = None if targs is None else r.resolve(targs, scope)
    given, _ = written(r, tname, schema, targs, layer)
    args: dict[str, Any] = {}
    locs: dict[str, Loc] = {}
    for a in schema:
        if a.name not in given:
            if a.required:
                what = f" ({a.doc})" if a.doc else ""
                raise r.err(f"{tname} needs argument '{a.name}'{what}", targs or tnode, layer)
            args[a.name] = a.default
            continue
        node = given[a.name]
        raw = r.value(node, scope) if not isinstance(node, MappingNode) else node
        if raw is None and a.default is None and not a.required:  # `end: null`: what leaving it out says
            args[a.name] = None
            locs[a.name] = loc(node, r.file)
            continue
        if too_big(raw):
            raise r.err(
                f"argument '{a.name}' of {tname} is {show(raw)}; integers in a spec are at most {MAX_INT:,}",
                node, layer,
            )
        try:
            args[a.name] = check_arg(a, raw)
        except ValueError:
            shown = "a mapping" if isinstance(raw, Node) else show(raw)
            raise r.err(
                f"argument '{a.name}' of {tname} must be {expectation(a)}, got {shown}", node, layer
            ) from None
        locs[a.name] = loc(node, r.file)
    return args, locs, tuple(a.name for a in schema if a.name in given)
