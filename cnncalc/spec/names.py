"""Layer names: generated ones (``conv3``), claimed ones, aliases (a block, composite or repeat name
→ its last layer), lookup from inside nested scopes, and :func:`resolve_layer` for users' names."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Loc, SpecError, UnknownLayerError
from .limits import MAX_NAME
from .loader import loc
from .model import INPUT
from .values import Scope


def closest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest choice, or ''."""
    m = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{m[0]}'?)" if m else ""


class Names:
    """Every layer name and alias of one expansion, and the counters of generated names."""

    def __init__(self, file: str, where: Callable[[Node], Loc] | None = None):
        self.file = file
        self.where = where or (lambda node: loc(node, file))  # a node's Loc (the expander caches them)
        self.defined: dict[str, Loc] = {}  # every layer name and alias → where it was defined
        self.aliases: dict[str, str] = {}  # alias → the layer whose output it names
        self.counters: dict[tuple[str, str], int] = {}
        self.written: set[str] = set()  # every literal name: in the spec (never generated)

    def fresh(self, scope: Scope, tname: str, claim: bool = True) -> str:
        """The next generated name ``<prefix><type><n>``, skipping names taken or written elsewhere."""
        key = (scope.prefix, tname)
        n = self.counters.get(key, 0)
        while True:
            n += 1
            cand = f"{scope.prefix}{tname}{n}"
            if cand not in self.defined and cand not in self.written:
                if claim:
                    self.counters[key] = n
                return cand

    def claim(self, full: str, node: Node | None, layer: str, where: Loc | None = None) -> None:
        """Take ``full`` for a layer or alias; refuse 'input', duplicates and over-long names."""
        if full == INPUT:
            raise SpecError("'input' is reserved for the network's input", loc(node, self.file), layer)
        if len(full) > MAX_NAME:
            raise SpecError(
                f"the name is {len(full):,} characters long (prefixes included); expected at most {MAX_NAME:,}",
                loc(node, self.file), full[:60] + "…",
            )
        first = self.defined.get(full)
        if first is not None:
            raise SpecError(f"duplicate name '{full}' (first defined at line {first.line})", loc(node, self.file), layer)
        self.defined[full] = where or (self.where(node) if node is not None else Loc(self.file))

    def alias(self, full: str, target: str, node: Node | None) -> None:
        """``full`` names ``target``'s output (a block call, composite or repeat named by the spec)."""
        if full == target:
            return
        self.claim(full, node, full)
        self.aliases[full] = target

    def lookup(self, ref: str, scope: Scope) -> str | None:
        """The layer ``ref`` names from ``scope``: innermost prefix first, then outwards, then the top."""
        if ref == INPUT:
            return INPUT
        s: Scope | None = scope
        prefixes = []
        while s is not None:
            prefixes.append(s.prefix)
            s = s.parent
        for p in [*prefixes, ""]:
            full = p + ref
            if full in self.aliases:
                return self.aliases[full]
            if full in self.defined:
                return full
        return None


def written_names(layers: Node) -> set[str]:
    """Every literal ``name:`` string in the layer list (for 'defined later' messages and fresh names).

    Only collections are pushed (a long list of bare layer types costs one step); aliases may make
    a node appear more than once, but the loader bounds how many nodes they add."""
    out: set[str] = set()
    stack = [layers]
    while stack:
        n = stack.pop()
        if isinstance(n, MappingNode):
            for k, v in n.value:
                if isinstance(v, ScalarNode):
                    if k.value == "name" and isinstance(k, ScalarNode) and "$" not in str(v.value):
                        out.add(str(v.value))
                else:
                    stack.append(v)
        elif isinstance(n, SequenceNode):
            stack.extend(c for c in n.value if not isinstance(c, ScalarNode))
    return out


def _names_of(where: Any) -> tuple[list[str], Mapping[str, str], str]:
    """(layer names in order, aliases, file) of a NetSpec, a Report, or plain names."""
    if hasattr(where, "layers"):
        names = [x.name for x in where.layers]
        aliases = getattr(where, "aliases", None) or {}
        return names, aliases, str(getattr(where, "file", "<spec>"))
    return list(where), {}, "<spec>"


def resolve_layer(where: Any, name: str) -> str:
    """The layer that ``name`` means in ``where`` (a NetSpec, a Report, or an iterable of layer names).

    A layer's own name means that layer; a block call's, composite's or repeat's name means its last
    layer (from the spec's aliases, or, given only names, the last layer named ``name.…``). Anything
    else raises :class:`UnknownLayerError` with the closest known name.
    """
    names, aliases, file = _names_of(where)
    known = set(names)
    if name in known:
        return name
    target = aliases.get(name)
    if target is not None and target in known:
        return target
    inside = name + "."
    for n in reversed(names):
        if n.startswith(inside):
            return n
    hint = closest(name, [*names, *aliases])
    shown = name if len(name) <= 80 else name[:80] + "…"
    raise UnknownLayerError(
        f"no layer named '{shown}'{hint}; `cnncalc summarize` lists the layer names", Loc(file)
    )
