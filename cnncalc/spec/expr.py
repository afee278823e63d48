"""Block-parameter expressions: ``${width * 4}``, ``${2 if i == 0 else 1}``.

An expression is parsed with :mod:`ast` and *interpreted* over a whitelist of integer and boolean
operations; nothing is ever executed, imported or looked up outside the block's own parameters.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Mapping
from typing import Any

MAX_LEN = 200
MAX_ABS = 10**15

_BIN = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMP = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


class ExprError(ValueError):
    """An expression that is malformed, uses something not allowed, or names an unknown parameter."""


def evaluate(text: str, env: Mapping[str, Any]) -> int | bool:
    """The value of ``text`` with the names in ``env`` (ints and booleans only).

    Results are remembered per text and values of the names it uses: a repeat or a block called
    many times evaluates the same few expressions over and over."""
    if len(text) > MAX_LEN:
        raise ExprError(f"expression longer than {MAX_LEN} characters")
    tree, names = _parse(text.strip())
    if not all(n in env for n in names):
        return _eval(tree, env)  # raises, naming the unknown parameter
    key = (text, *((type(v := env[n]), v) for n in names))
    hit = _RESULTS.get(key, _MISSING)
    if hit is _MISSING:
        hit = _eval(tree, env)
        if len(_RESULTS) >= 65_536:
            _RESULTS.clear()
        _RESULTS[key] = hit
    return hit  # type: ignore[return-value]


_RESULTS: dict[tuple[Any, ...], object] = {}
_MISSING = object()


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> tuple[ast.AST, tuple[str, ...]]:
    """The expression's tree and the names it uses, parsed once per distinct text."""
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ExprError(f"'{text}' is not a valid expression; expected e.g. width * 4") from None
    names = tuple(sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}))
    return tree, names


def _num(v: Any) -> int | bool:
    if isinstance(v, bool):
        return v
    if not isinstance(v, int):
        raise ExprError(f"expressions work on integers and booleans, got {v!r:.60}")
    if abs(v) > MAX_ABS:
        raise ExprError(f"value {v} is out of range")
    return v


def _eval(node: ast.AST, env: Mapping[str, Any]) -> int | bool:
    if isinstance(node, ast.Constant):
        return _num(node.value)
    if isinstance(node, ast.Name):
        if node.id not in env:
            names = sorted(env)
            known = ", ".join(names[:12]) + (f" and {len(names) - 12:,} more" if len(names) > 12 else "") or "none"
            raise ExprError(f"unknown parameter '{node.id}' (known: {known})")
        return _num(env[node.id])
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
            raise ExprError("division by zero")
        return _num(_BIN[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        v = _eval(node.operand, env)
        return (not v) if isinstance(node.op, ast.Not) else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, env) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and all(type(o) in _CMP for o in node.ops):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, env) if _eval(node.test, env) else _eval(node.orelse, env)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        raise ExprError("'/' is not allowed: use // for integer division")
    raise ExprError(
        f"{_what(node)} not allowed; expected integers, booleans, parameter names, + - * // %, "
        "comparisons, and/or/not and 'a if cond else b'"
    )


_WHAT = {
    ast.Call: "a function call is",
    ast.Attribute: "attribute access (a.b) is",
    ast.Subscript: "indexing (a[b]) is",
    ast.Lambda: "lambda is",
    ast.List: "a list is",
    ast.Tuple: "a tuple is",
    ast.Dict: "a dict is",
}
_OPS = {ast.Pow: "**", ast.Div: "/", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
        ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}


def _what(node: ast.AST) -> str:
    if isinstance(node, ast.BinOp):
        return f"the operator '{_OPS.get(type(node.op), type(node.op).__name__)}' is"
    if isinstance(node, ast.Compare):
        return "'in' and 'is' are"
    if isinstance(node, ast.UnaryOp):
        return "'~' is"
    return _WHAT.get(type(node), f"'{type(node).__name__}' is")
