"""YAML nodes → a validated, flat list of primitive layers (:class:`NetSpec`).

The core grammar (what tools generate) is a list of items, each a bare layer type or a mapping with
one type key plus ``name`` and ``from``. For people writing specs by hand it adds:

* ``blocks:`` reusable, parametrised lists of items, called like a layer type (``{bottleneck: {width: 64}}``);
  ``$param`` substitutes a parameter, ``${expr}`` computes one (integers and booleans only);
* ``repeat: N`` on any item (``$i`` is the repetition index inside it);
* ``when: <bool>`` on any item, to leave it out;
* ``frozen: true`` on any item (its parameters are reported as frozen, not trainable);
* composites ``seq: [...]``, ``residual: {body, shortcut}`` and ``parallel: {branches, merge}``.

Blocks and composites expand here; everything after this module sees only primitives.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Loc, SpecError
from ..layers import RULES
from ..layers.base import Arg, check_arg, expectation
from . import expr
from .loader import BOOL, INT, STR, compose, from_python, gc_paused, loc, read_text, scalar

MODIFIERS = ("name", "from", "repeat", "when", "frozen")
COMPOSITES = ("seq", "residual", "parallel")
TOP_KEYS = ("name", "input", "layers", "blocks", "description")
MAX_LAYERS = 250_000  # 2.5× the largest generated net we benchmark; more is refused at once
MAX_NESTING = 64  # blocks and composites inside one another
INPUT = "input"


@dataclass(frozen=True)
class LayerSpec:
    """One primitive layer: its unique name, type, full arguments (defaults filled) and inputs."""

    name: str
    type: str
    args: Mapping[str, Any]
    inputs: tuple[str, ...]
    loc: Loc
    frozen: bool = False
    arg_locs: Mapping[str, Loc] = field(default_factory=dict)
    given: tuple[str, ...] = ()  # the argument names written in the spec
    called_at: tuple[int, ...] = ()  # lines of the block calls that produced it (outermost first)


@dataclass(frozen=True)
class NetSpec:
    """A parsed spec: name, per-sample input shape (C, *spatial) and primitive layers in order."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    file: str = "<spec>"
    input_loc: Loc = field(default_factory=Loc)


@dataclass
class Scope:
    """Where items are being expanded: name prefix, block parameters, and frozen-ness."""

    prefix: str = ""
    env: Mapping[str, Node] = field(default_factory=dict)
    frozen: bool = False
    calls: tuple[str, ...] = ()
    parent: Scope | None = None
    depth: int = 0
    call_lines: tuple[int, ...] = ()  # where the enclosing block calls are, outermost first


@dataclass(frozen=True)
class Block:
    params: Mapping[str, Node | None]  # None: required
    layers: Node
    loc: Loc


def closest(word: str, choices: list[str]) -> str:
    """' (did you mean X?)' for the closest choice, or ''."""
    m = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{m[0]}'?)" if m else ""


def show(v: Any) -> str:
    """A value as the spec would spell it: true, null, 'text', [1, 2]."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, str):
        text = repr(v if len(v) <= 60 else v[:60] + "…")
        return text + (" (a quoted string: write numbers without quotes)" if _NUMERIC.fullmatch(v) else "")
    return repr(v)


_NUMERIC = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")
_DOLLAR = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_]\w*)")


class Parser:
    """Expands one document. Use :func:`parse_spec`; a Parser is single-use."""

    def __init__(self, file: str):
        self.file = file
        self.layers: list[LayerSpec] = []
        self.names: dict[str, Loc] = {}  # every layer name and alias → where it was defined
        self.aliases: dict[str, str] = {}  # alias → the layer whose output it names
        self.counters: dict[tuple[str, str], int] = {}
        self.blocks: dict[str, Block] = {}
        self.written_names: set[str] = set()

    # ---- errors and values -------------------------------------------------------------------
    def err(self, msg: str, node: Node | None, layer: str | None = None) -> SpecError:
        return SpecError(msg, loc(node, self.file), layer)

    def resolve(self, node: Node, scope: Scope) -> Node:
        """Substitute ``$param`` and ``${expr}`` in a scalar node (other nodes pass through)."""
        if not (isinstance(node, ScalarNode) and node.tag == STR and "$" in node.value):
            return node
        text = node.value
        whole = _DOLLAR.fullmatch(text)
        if whole and whole.group(2):
            name = whole.group(2)
            if name not in scope.env:
                known = ", ".join(f"${k}" for k in sorted(scope.env)) or "none here"
                raise self.err(f"unknown parameter '${name}' (parameters: {known})", node)
            return scope.env[name]
        values = {k: scalar(v) for k, v in scope.env.items() if isinstance(v, ScalarNode)}

        def compute(m: re.Match[str]) -> str:
            try:
                return str(expr.evaluate(m.group(1) or m.group(2), values))
            except expr.ExprError as e:
                raise self.err(f"in '{text}': {e}", node) from None

        if whole:
            try:
                v = expr.evaluate(whole.group(1), values)
            except expr.ExprError as e:
                raise self.err(f"in '{text}': {e}", node) from None
            tag = BOOL if isinstance(v, bool) else INT
            return ScalarNode(tag, str(v).lower() if isinstance(v, bool) else str(v), node.start_mark, node.end_mark)
        return ScalarNode(STR, _DOLLAR.sub(compute, text), node.start_mark, node.end_mark)

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

    # ---- the document ------------------------------------------------------------------------
    def document(self, root: Node) -> NetSpec:
        if not isinstance(root, MappingNode):
            raise self.err(
                f"the top level must be a mapping with 'input' and 'layers', got {self.shown(root, Scope())}", root
            )
        top = {k: (kn, v) for k, kn, v in self.mapping(root, "the spec (top level)")}
        for k, (kn, _) in top.items():
            if k not in TOP_KEYS:
                raise self.err(
                    f"unknown top-level key '{k}'{closest(k, list(TOP_KEYS))}; expected {', '.join(TOP_KEYS)}", kn
                )
        for key in ("input", "layers"):
            if key not in top:
                raise self.err(f"missing '{key}'; a spec needs 'input' (e.g. [3, 224, 224]) and 'layers'", root)
        name_node = top.get("name", (None, None))[1]
        name = Path(self.file).stem if name_node is None else self.value(name_node, Scope())
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise self.err(f"'name' must be a string, got {show(name)}", name_node)
        shape = self.input_shape(top["input"][1])
        if "blocks" in top:
            self.read_blocks(top["blocks"][1])
        layers_node = top["layers"][1]
        if not isinstance(layers_node, SequenceNode) or not layers_node.value:
            got = "an empty list" if isinstance(layers_node, SequenceNode) else self.shown(layers_node, Scope())
            raise self.err(f"'layers' must be a non-empty list of layers, got {got}", layers_node)
        self.written_names = _written_names(layers_node, self.blocks)
        self.items(layers_node, Scope(), INPUT)
        return NetSpec(str(name), shape, tuple(self.layers), self.file, loc(top["input"][1], self.file))

    def input_shape(self, node: Node) -> tuple[int, ...]:
        v = self.value(node, Scope()) if not isinstance(node, MappingNode) else None
        if not (isinstance(v, list) and 1 <= len(v) <= 4 and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)):
            raise self.err(
                f"'input' must be a list of 1 to 4 positive integers: channels, then 0 to 3 spatial "
                f"sizes, e.g. [3, 224, 224]; got {show(v)}" if v is not None else "'input' must be a list such as [3, 224, 224], got a mapping",
                node,
            )
        return tuple(v)

    def read_blocks(self, node: Node) -> None:
        for name, kn, body in self.mapping(node, "'blocks'"):
            if name in RULES or name in COMPOSITES or name in MODIFIERS:
                raise self.err(f"block name '{name}' is already a layer type or keyword", kn)
            fields = {k: v for k, _, v in self.mapping(body, f"block '{name}'")}
            for k in fields:
                if k not in ("params", "layers", "description"):
                    raise self.err(f"block '{name}': unknown key '{k}'; expected params, layers", body)
            if "layers" not in fields or not isinstance(fields["layers"], SequenceNode):
                raise self.err(f"block '{name}' needs 'layers': a list of layers", body)
            params: dict[str, Node | None] = {}
            if "params" in fields:
                for p, _, default in self.mapping(fields["params"], f"params of block '{name}'"):
                    is_null = isinstance(default, ScalarNode) and scalar(default) is None
                    params[p] = None if is_null else default
            self.blocks[name] = Block(params, fields["layers"], loc(kn, self.file))

    # ---- items -------------------------------------------------------------------------------
    def items(self, seq: Node, scope: Scope, prev: str) -> str:
        """Expand a list of items; returns the name of the last output."""
        seq = self.resolve(seq, scope)
        if not isinstance(seq, SequenceNode):
            raise self.err(f"expected a list of layers, got {self.shown(seq, scope)}", seq)
        for node in seq.value:
            prev = self.item(node, scope, prev)
        return prev

    def item(self, node: Node, scope: Scope, prev: str) -> str:
        try:
            return self.item_body(node, scope, prev)
        except SpecError as e:  # name the layer in errors raised below without one
            if e.layer is not None:
                raise
            raise e.at(layer=self.label_of(node, scope)) from None

    def label_of(self, node: Node, scope: Scope) -> str:
        """The name an item has or would get, read from its node (for errors)."""
        if isinstance(node, ScalarNode) and node.tag == STR:
            return self.fresh(scope, str(node.value), claim=False)
        if not isinstance(node, MappingNode):
            return self.fresh(scope, "layer", claim=False)
        keys = [(str(k.value), v) for k, v in node.value if isinstance(k, ScalarNode)]
        mods = {k: v for k, v in keys if k in MODIFIERS}
        types = [k for k, _ in keys if k not in MODIFIERS]
        return self.label(types[0] if types else "layer", mods, scope)

    def item_body(self, node: Node, scope: Scope, prev: str) -> str:
        node = self.resolve(node, scope)
        if isinstance(node, ScalarNode) and node.tag == STR:
            return self.typed(node.value, node, None, {}, scope, prev)
        if not isinstance(node, MappingNode):
            raise self.err(
                "a layer must be a type name (e.g. relu) or a mapping such as {conv: {out: 16, kernel: 3}}, "
                f"got {self.shown(node, scope)}", node,
            )
        entries = self.mapping(node, "a layer")
        types = [(k, kn, v) for k, kn, v in entries if k not in MODIFIERS]
        mods = {k: v for k, _, v in entries if k in MODIFIERS}
        if len(types) != 1:
            who = self.label(types[0][0] if types else "layer", mods, scope)
            if not types:
                raise self.err(
                    f"this layer has no type key, only {', '.join(mods)}; expected one type such as "
                    "conv or relu", node, who,
                )
            names = ", ".join(t[0] for t in types)
            known = [t[0] for t in types if self.is_type(t[0])]
            if len(known) <= 1:
                bad = next(t for t in types if not self.is_type(t[0]))
                extra = f"; a layer's keys are one type plus {', '.join(MODIFIERS)}"
                raise self.unknown_type(bad[0], bad[1], who, extra)
            raise self.err(f"one layer has two type keys ({names}); expected one: give each its own list item", node, who)
        tname, tnode, targs = types[0]
        if "when" in mods:
            when = self.value(mods["when"], scope)
            if not isinstance(when, bool):
                who = self.label(tname, mods, scope)
                raise self.err(f"'when' must be true or false, got {show(when)}", mods["when"], who)
            if not when:
                return prev
        return self.typed(tname, tnode, targs, mods, scope, prev)

    def shown(self, node: Node, scope: Scope) -> str:
        if isinstance(node, MappingNode):
            return "a mapping"
        return show(self.value(node, scope))

    def is_type(self, t: str) -> bool:
        return t in RULES or t in self.blocks or t in COMPOSITES

    def unknown_type(self, t: str, node: Node, who: str, extra: str = "") -> SpecError:
        known = sorted(RULES) + sorted(self.blocks) + list(COMPOSITES)
        return self.err(
            f"unknown layer type '{t}'{closest(t, known)}{extra}; known types: {', '.join(known)}", node, who
        )

    def label(self, tname: str, mods: Mapping[str, Node], scope: Scope) -> str:
        """The name an item has (or will get), for error messages; nothing is claimed."""
        n = mods.get("name")
        if isinstance(n, ScalarNode) and n.value and "$" not in n.value:
            return scope.prefix + str(n.value)
        return self.fresh(scope, tname, claim=False)

    def typed(self, tname: str, tnode: Node, targs: Node | None, mods: Mapping[str, Node], scope: Scope, prev: str) -> str:
        who = self.label(tname, mods, scope)
        if not self.is_type(tname):
            raise self.unknown_type(tname, tnode, who)
        frozen = scope.frozen
        if "frozen" in mods:
            f = self.value(mods["frozen"], scope)
            if not isinstance(f, bool):
                raise self.err(f"'frozen' must be true or false, got {show(f)}", mods["frozen"], who)
            frozen = f
        # A repeated item whose name uses $i (``name: "conv${i + 1}"``) names each copy itself.
        per_copy = "repeat" in mods and "name" in mods and "$" in str(getattr(mods["name"], "value", ""))
        name = self.item_name(mods["name"], scope, who) if "name" in mods and not per_copy else None
        inputs = self.inputs(mods["from"], scope, who) if "from" in mods else [prev]
        sub = scope if frozen == scope.frozen else replace(scope, frozen=frozen)
        if "repeat" not in mods:
            return self.expand(tname, tnode, targs, sub, name, inputs)
        n = self.value(mods["repeat"], scope)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise self.err(f"'repeat' must be a positive integer, got {show(n)}", mods["repeat"], who)
        if n > MAX_LAYERS:
            raise self.err(f"'repeat: {n}' is more than {MAX_LAYERS:,} layers; expected a smaller count", mods["repeat"], who)
        ins = inputs  # the first copy reads the item's inputs, each later one the copy before it
        for i in range(n):
            env = {**scope.env, "i": ScalarNode(INT, str(i), tnode.start_mark, tnode.end_mark)}
            before = len(self.layers)
            copy = replace(sub, env=env)
            if per_copy:
                label: str | None = self.item_name(mods["name"], copy, who)
            else:
                label = None if name is None else f"{name}.{i}"
            out = self.expand(tname, tnode, targs, copy, label, ins)
            made = len(self.layers) - before
            if i == 0 and before + made * n > MAX_LAYERS:  # refuse now, not after a million layers
                raise self.err(
                    f"'repeat: {n}' of an item that makes {made:,} layers would make about {made * n:,}; "
                    f"expected at most {MAX_LAYERS:,} layers in all", mods["repeat"], who,
                )
            ins = [out]
        if name is not None:
            self.alias(name, out, scope, mods["name"])
        return out

    def item_name(self, node: Node, scope: Scope, who: str) -> str:
        name = self.value(node, scope)
        if isinstance(name, bool) or not isinstance(name, (str, int)) or str(name) in ("", INPUT):
            raise self.err(
                f"'name' must be a non-empty string other than 'input' (the network's input), got {show(name)}",
                node, who,
            )
        return str(name)

    def expand(self, tname: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, inputs: list[str]) -> str:
        if tname in RULES:
            return self.primitive(tname, tnode, targs, scope, name, inputs)
        who = scope.prefix + name if name is not None else self.fresh(scope, tname, claim=False)
        if len(inputs) != 1:
            raise self.err(
                f"'{tname}' takes one input; 'from' names {len(inputs)} (merge them with add or concat first)",
                tnode, who,
            )
        if scope.depth >= MAX_NESTING:
            raise self.err(
                f"blocks and composites nested more than {MAX_NESTING} deep; expected a flatter spec", tnode, who
            )
        if tname in self.blocks:
            return self.call(tname, tnode, targs, scope, name, inputs[0])
        return self.composite(tname, tnode, targs, scope, name, inputs[0])

    # ---- names ---------------------------------------------------------------------------------
    def fresh(self, scope: Scope, tname: str, claim: bool = True) -> str:
        """The next generated name ``<prefix><type><n>``, skipping names taken or written elsewhere."""
        key = (scope.prefix, tname)
        n = self.counters.get(key, 0)
        while True:
            n += 1
            cand = f"{scope.prefix}{tname}{n}"
            if cand not in self.names and cand not in self.written_names:
                if claim:
                    self.counters[key] = n
                return cand

    def claim(self, full: str, node: Node | None, layer: str) -> None:
        if full == INPUT:
            raise self.err("'input' is reserved for the network's input", node, layer)
        if full in self.names:
            first = self.names[full]
            raise self.err(f"duplicate name '{full}' (first defined at line {first.line})", node, layer)
        self.names[full] = loc(node, self.file)

    def alias(self, name: str, target: str, scope: Scope, node: Node) -> None:
        full = scope.prefix + name
        if full == target:
            return
        self.claim(full, node, full)
        self.aliases[full] = target

    def lookup(self, ref: str, scope: Scope) -> str | None:
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
            if full in self.names:
                return full
        return None

    def inputs(self, node: Node, scope: Scope, layer: str) -> list[str]:
        v = self.value(node, scope)
        refs = v if isinstance(v, list) else [v]
        if not refs:
            raise self.err("'from' is an empty list; name at least one earlier layer (or 'input')", node, layer)
        out = []
        for r in refs:
            if isinstance(r, bool) or not isinstance(r, (str, int)):
                raise self.err(f"'from' must be a layer name or a list of names, got {show(r)}", node, layer)
            found = self.lookup(str(r), scope)
            if found is None:
                if str(r) in self.written_names:
                    raise self.err(
                        f"'from' names '{r}', which is defined later; a layer can only take inputs "
                        "from layers before it", node, layer,
                    )
                raise self.err(
                    f"'from' names '{r}', which is not an earlier layer{closest(str(r), [INPUT, *self.names])}; "
                    "expected the name of a layer above this one, or 'input'",
                    node, layer,
                )
            out.append(found)
        return out

    # ---- primitives, blocks, composites --------------------------------------------------------
    def primitive(self, tname: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, inputs: list[str]) -> str:
        rule = RULES[tname]
        full = scope.prefix + name if name is not None else self.fresh(scope, tname)
        self.claim(full, tnode, full)
        try:
            args, arg_locs, given = self.layer_args(rule.args, tname, targs, scope, full, tnode)
        except SpecError as e:
            raise (e if e.layer else e.at(layer=full)) from None
        if len(inputs) < rule.min_inputs:
            raise self.err(
                f"{tname} needs at least {rule.min_inputs} inputs; list them with from: [a, b]", tnode, full
            )
        if rule.max_inputs is not None and len(inputs) > rule.max_inputs:
            raise self.err(f"{tname} takes {rule.max_inputs} input; 'from' names {len(inputs)}", tnode, full)
        if len(self.layers) >= MAX_LAYERS:
            raise self.err(f"the spec expands to more than {MAX_LAYERS:,} layers; expected fewer", tnode, full)
        self.layers.append(
            LayerSpec(
                full, tname, args, tuple(inputs), loc(tnode, self.file), scope.frozen, arg_locs, given,
                scope.call_lines,
            )
        )
        return full

    def layer_args(self, schema: tuple[Arg, ...], tname: str, targs: Node | None, scope: Scope, layer: str, tnode: Node):
        targs = None if targs is None else self.resolve(targs, scope)
        given: dict[str, Node] = {}
        keys: dict[str, Node] = {}
        if targs is not None and not (isinstance(targs, ScalarNode) and scalar(targs) is None):
            if not isinstance(targs, MappingNode):
                raise self.err(
                    f"the arguments of {tname} must be a mapping such as {{{_example(schema)}}}, or null for defaults",
                    targs, layer,
                )
            entries = self.mapping(targs, f"the arguments of {tname}", layer)
            given = {k: v for k, _, v in entries}
            keys = {k: kn for k, kn, _ in entries}
        names = [a.name for a in schema]
        for k in given:
            if k not in names:
                expect = f"its arguments are {', '.join(names)}" if names else "it takes no arguments"
                raise self.err(f"{tname} has no argument '{k}'{closest(k, names)}; {expect}", keys[k], layer)
        args: dict[str, Any] = {}
        locs: dict[str, Loc] = {}
        for a in schema:
            if a.name not in given:
                if a.required:
                    what = f" ({a.doc})" if a.doc else ""
                    raise self.err(f"{tname} needs argument '{a.name}'{what}", targs or tnode, layer)
                args[a.name] = a.default
                continue
            node = given[a.name]
            raw = self.value(node, scope) if not isinstance(node, MappingNode) else node
            try:
                args[a.name] = check_arg(a.kind, raw)
            except ValueError:
                shown = "a mapping" if isinstance(raw, Node) else show(raw)
                raise self.err(
                    f"argument '{a.name}' of {tname} must be {expectation(a.kind)}, got {shown}", node, layer
                ) from None
            locs[a.name] = loc(node, self.file)
        return args, locs, tuple(k for k in names if k in given)

    def call(self, bname: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, prev: str) -> str:
        block = self.blocks[bname]
        who = scope.prefix + name if name is not None else self.fresh(scope, bname, claim=False)
        if bname in scope.calls:
            raise self.err(
                f"block '{bname}' uses itself (through {' → '.join((*scope.calls, bname))}); "
                "expected blocks that do not call themselves", tnode, who,
            )
        targs = None if targs is None else self.resolve(targs, scope)
        given: dict[str, Node] = {}
        if targs is not None and not (isinstance(targs, ScalarNode) and scalar(targs) is None):
            entries = self.mapping(targs, f"the parameters of block {bname}", who)
            given = {k: self.close_over(v, scope) for k, _, v in entries}
            for k, kn, _ in entries:
                if k not in block.params:
                    known = ", ".join(block.params) or "none"
                    raise self.err(
                        f"block {bname} has no parameter '{k}'{closest(k, list(block.params))}; "
                        f"its parameters: {known}", kn, who,
                    )
        env: dict[str, Node] = {}
        for p, default in block.params.items():
            if p in given:
                env[p] = given[p]
            elif default is None:
                raise self.err(f"block {bname} needs parameter '{p}' (it has no default)", targs or tnode, who)
            else:
                env[p] = default
        label = scope.prefix + name if name is not None else self.fresh(scope, bname)
        inner = Scope(
            label + ".", env, scope.frozen, (*scope.calls, bname), scope, scope.depth + 1,
            (*scope.call_lines, loc(tnode, self.file).line),
        )
        out = self.items(block.layers, inner, prev)
        if out == prev:
            return prev
        self.claim(label, tnode, label)
        self.aliases[label] = out
        return out

    def composite(self, kind: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, prev: str) -> str:
        who = scope.prefix + name if name is not None else self.fresh(scope, kind, claim=False)
        if name is None:
            inner = replace(scope, depth=scope.depth + 1)
        else:
            inner = Scope(
                scope.prefix + name + ".", scope.env, scope.frozen, scope.calls, scope, scope.depth + 1,
                scope.call_lines,
            )
        targs = None if targs is None else self.resolve(targs, scope)
        if kind == "seq":
            out = self.items(targs, inner, prev) if targs is not None else prev
            if name is not None and out != prev:
                self.claim(scope.prefix + name, tnode, scope.prefix + name)
                self.aliases[scope.prefix + name] = out
            return out
        if kind == "residual":
            fields = {k: v for k, _, v in self.mapping(targs, "residual (keys: body, shortcut, merge)", who)}
            for k in fields:
                if k not in ("body", "shortcut", "merge"):
                    raise self.err(f"residual has no key '{k}'; expected body, shortcut, merge", targs, who)
            if "body" not in fields:
                raise self.err("residual needs 'body': the list of layers on the main path", targs, who)
            branches = [fields["body"], fields.get("shortcut")]
            merge = self.value(fields["merge"], scope) if "merge" in fields else "add"
        else:
            branch_node = targs
            merge = "concat"
            if isinstance(targs, MappingNode):
                fields = {k: v for k, _, v in self.mapping(targs, "parallel (keys: branches, merge)", who)}
                for k in fields:
                    if k not in ("branches", "merge"):
                        raise self.err(f"parallel has no key '{k}'; expected branches, merge", targs, who)
                branch_node = fields.get("branches")
                merge = self.value(fields["merge"], scope) if "merge" in fields else "concat"
            branch_node = None if branch_node is None else self.resolve(branch_node, scope)
            if not isinstance(branch_node, SequenceNode) or len(branch_node.value) < 2:
                raise self.err("parallel needs 'branches': a list of two or more layer lists", targs or tnode, who)
            branches = branch_node.value
        if merge not in ("add", "concat", "mul"):
            raise self.err(f"merge must be add, concat or mul, got {show(merge)}", targs, who)
        outs = []
        for b in branches:
            b = None if b is None else self.resolve(b, scope)
            if b is None or (isinstance(b, ScalarNode) and scalar(b) is None):
                outs.append(prev)  # an empty branch passes its input through
            else:
                outs.append(self.items(b, inner, prev))
        merged = None if name is None else name
        return self.primitive(merge, tnode, None, scope, merged, outs)


def _example(schema: tuple[Arg, ...]) -> str:
    req = [a.name for a in schema if a.required] or [a.name for a in schema[:1]]
    return ", ".join(f"{n}: ..." for n in req)


def _written_names(layers: Node, blocks: Mapping[str, Block]) -> set[str]:
    """Every literal ``name:`` string in the layer list (for 'defined later' messages and fresh names)."""
    out: set[str] = set()
    stack = [layers]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, MappingNode):
            for k, v in n.value:
                if isinstance(k, ScalarNode) and k.value == "name" and isinstance(v, ScalarNode) and "$" not in str(v.value):
                    out.add(str(v.value))
                stack.append(v)
        elif isinstance(n, SequenceNode):
            stack.extend(n.value)
    return out


def parse_spec(source: str | Path | Mapping[str, Any], *, text: str | None = None) -> NetSpec:
    """Parse a spec from a path, a Python mapping, or (with ``text``) YAML text named ``source``."""
    with gc_paused():
        if isinstance(source, Mapping):
            file = str(source.get("name", "<dict>")) if isinstance(source.get("name"), str) else "<dict>"
            return Parser(file).document(from_python(source, file))
        file = str(source)
        body = read_text(source) if text is None else text
        return Parser(file).document(compose(body, file))
