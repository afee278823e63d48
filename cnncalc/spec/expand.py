"""Expansion: a spec's items (blocks, repeats, composites) → primitive layers, in order.

Blocks and composites expand here; everything after this module sees only primitives. Every item
visited, every copy of a repeat and every block call costs one step of the work budget
(:mod:`cnncalc.spec.limits`), every name built costs its characters, and a repeat projects its cost
from its first copy, so that a spec that would take too long is refused at once with its location.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Loc, SpecError
from ..layers import RULES
from .args import has_dollar, layer_args, too_big
from .limits import MAX_INT, MAX_LAYERS, MAX_NESTING, BudgetExceeded
from .loader import INT, STR, loc, scalar
from .model import INPUT, INPUT_DTYPES, LayerSpec, NetSpec
from .names import Names, closest, written_names
from .values import Env, Reader, Scope, show

MODIFIERS = ("name", "from", "repeat", "when", "frozen")
COMPOSITES = ("seq", "residual", "parallel")
# other tools' names for cnncalc's types, for the did-you-mean of an unknown type
SYNONYMS = {
    "bn": "batchnorm", "batchnorm2d": "batchnorm", "batch_norm": "batchnorm", "fc": "linear", "dense": "linear",
    "conv2d": "conv", "conv1d": "conv", "conv3d": "conv", "convolution": "conv", "pool": "maxpool",
    "maxpool2d": "maxpool", "avgpool2d": "avgpool", "gap": "adaptiveavgpool", "globalavgpool": "adaptiveavgpool",
    "deconv": "convtranspose", "conv2dtranspose": "convtranspose", "transposedconv": "convtranspose",
    "ln": "layernorm", "gn": "groupnorm", "attention": "multiheadattention", "mha": "multiheadattention",
    "interpolate": "upsample", "swish": "silu", "lrelu": "leakyrelu", "cat": "concat", "sum": "add",
}
TOP_KEYS = ("name", "input", "layers", "blocks", "description", "budgets")

Who = Callable[[], str]  # the item's name for an error message, computed only when one is raised


@dataclass(frozen=True)
class Block:
    params: Mapping[str, Node | None]  # None: required
    layers: Node
    loc: Loc
    defaults: Env  # the parameters that have defaults, made once (a call adds a frame for its arguments)
    required: tuple[str, ...]


class Expander(Reader):
    """Expands one document. Use :func:`cnncalc.spec.parse_spec`; an Expander is single-use."""

    def __init__(self, file: str):
        super().__init__(file)
        self.layers: list[LayerSpec] = []
        self.names = Names(file, self.here)
        self.blocks: dict[str, Block] = {}
        self.locs: dict[int, tuple[object, Loc]] = {}  # id(mark) → (mark, its Loc): marks outlive the parse
        self.item_cache: dict[int, tuple[Node, list[tuple[str, Node, Node]], dict[str, Node]]] = {}
        self.arg_cache: dict[object, tuple[object, tuple[dict[str, Any], dict[str, Loc], tuple[str, ...]] | None]] = {}

    def here(self, node: Node) -> Loc:
        """``loc(node)``, made once per place in the text (a repeat makes many layers at one place)."""
        mark = getattr(node, "start_mark", None)
        hit = self.locs.get(id(mark))
        if hit is None or hit[0] is not mark:
            hit = self.locs[id(mark)] = (mark, loc(node, self.file))
        return hit[1]

    def args_of(self, rule: Any, tname: str, targs: Node | None, scope: Scope, full: str, tnode: Node) -> tuple[dict[str, Any], dict[str, Loc], tuple[str, ...]]:
        """A primitive's checked arguments; those written without ``$`` are checked once per place
        (a place met a second time, by a repeat or a block call, is looked at for ``$`` then)."""
        key: object = tname if targs is None else id(targs)
        hit = self.arg_cache.get(key)
        if hit is not None and hit[0] is targs and hit[1] is not None:
            args, locs, given = hit[1]
            return dict(args), dict(locs), given
        out = layer_args(self, rule.args, tname, targs, scope, full, tnode)
        if hit is None or hit[0] is not targs:
            self.arg_cache[key] = (targs, None)  # seen once
        elif targs is None or not has_dollar(targs):
            self.arg_cache[key] = (targs, out)
        return out

    def step(self, node: Node) -> None:
        try:
            self.budget.step()
        except BudgetExceeded as e:
            raise self.err(str(e), node) from None

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
                    f"unknown top-level key '{k}'{closest(k, TOP_KEYS)}; expected {', '.join(TOP_KEYS)}", kn
                )
        for key in ("input", "layers"):
            if key not in top:
                raise self.err(f"missing '{key}'; a spec needs 'input' (e.g. [3, 224, 224]) and 'layers'", root)
        name_node = top.get("name", (None, None))[1]
        name = Path(self.file).stem if name_node is None else self.value(name_node, Scope())
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise self.err(f"'name' must be a string, got {show(name)}", name_node)
        shape, dtype = self.input_of(top["input"][1])
        budgets = self.budgets(top["budgets"][1]) if "budgets" in top else {}
        if "blocks" in top:
            self.read_blocks(top["blocks"][1])
        layers_node = top["layers"][1]
        if not isinstance(layers_node, SequenceNode) or not layers_node.value:
            got = "an empty list" if isinstance(layers_node, SequenceNode) else self.shown(layers_node, Scope())
            raise self.err(f"'layers' must be a non-empty list of layers, got {got}", layers_node)
        self.names.written = written_names(layers_node)
        self.items(layers_node, Scope(), INPUT)
        return NetSpec(
            str(name), shape, tuple(self.layers), self.file, loc(top["input"][1], self.file), self.names.aliases,
            input_dtype=dtype, budgets=budgets,
        )

    def budgets(self, node: Node) -> dict[str, Any]:
        """The top-level ``budgets:`` mapping ({params: 30M, macs: 5G, memory: 2GiB, memory_figure:
        inference|training}), each entry checked where it is written, as ``cnncalc.budget`` reads it."""
        from ..budget import BudgetError, from_mapping

        out: dict[str, Any] = {}
        for key, kn, vn in self.mapping(node, "'budgets'"):
            value = self.value(vn, Scope())
            try:
                from_mapping({key: value})
            except BudgetError as e:
                raise self.err(str(e), kn if "unknown key" in str(e) else vn) from None
            out[key] = value
        return out

    def input_of(self, node: Node) -> tuple[tuple[int, ...], str]:
        """``input: [3, 224, 224]``, or ``input: {shape: [50], dtype: int64}`` (token ids)."""
        if not isinstance(node, MappingNode):
            return self.input_shape(node), "float32"
        fields = {k: (kn, v) for k, kn, v in self.mapping(node, "'input'")}
        for k, (kn, _) in fields.items():
            if k not in ("shape", "dtype"):
                raise self.err(f"'input' has no key '{k}'{closest(k, ('shape', 'dtype'))}; expected shape, dtype", kn)
        if "shape" not in fields:
            raise self.err("'input' as a mapping needs 'shape', e.g. {shape: [50], dtype: int64}", node)
        dtype = "float32"
        if "dtype" in fields:
            dtype = self.value(fields["dtype"][1], Scope())
            if dtype not in INPUT_DTYPES:
                raise self.err(
                    f"input dtype must be one of {', '.join(INPUT_DTYPES)}, got {show(dtype)}", fields["dtype"][1]
                )
        return self.input_shape(fields["shape"][1]), str(dtype)

    def input_shape(self, node: Node) -> tuple[int, ...]:
        if isinstance(node, MappingNode):
            raise self.err("'input' must be a list such as [3, 224, 224], got a mapping", node)
        v = self.value(node, Scope())
        if not (isinstance(v, list) and 1 <= len(v) <= 4 and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)):
            raise self.err(
                f"'input' must be a list of 1 to 4 positive integers: channels, then 0 to 3 spatial "
                f"sizes, e.g. [3, 224, 224]; got {show(v)}", node,
            )
        if too_big(v):
            raise self.err(f"'input' is {show(v)}; sizes in a spec are at most {MAX_INT:,}", node)
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
            defaults = Env({p: d for p, d in params.items() if d is not None})
            required = tuple(p for p, d in params.items() if d is None)
            self.blocks[name] = Block(params, fields["layers"], loc(kn, self.file), defaults, required)

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
        self.step(node)
        try:
            return self.item_body(node, scope, prev)
        except SpecError as e:  # name the layer in errors raised below without one
            if e.layer is not None:
                raise
            raise e.at(layer=self.label_of(node, scope)) from None

    def label_of(self, node: Node, scope: Scope) -> str:
        """The name an item has or would get, read from its node (for errors)."""
        if isinstance(node, ScalarNode) and node.tag == STR:
            return self.names.fresh(scope, str(node.value)[:60], claim=False)
        if not isinstance(node, MappingNode):
            return self.names.fresh(scope, "layer", claim=False)
        keys = [(str(k.value), v) for k, v in node.value if isinstance(k, ScalarNode)]
        mods = {k: v for k, v in keys if k in MODIFIERS}
        types = [k for k, _ in keys if k not in MODIFIERS]
        return self.label(types[0][:60] if types else "layer", mods, scope)

    def item_body(self, node: Node, scope: Scope, prev: str) -> str:
        node = self.resolve(node, scope)
        if isinstance(node, ScalarNode) and node.tag == STR:
            return self.typed(node.value, node, None, {}, scope, prev)
        if not isinstance(node, MappingNode):
            raise self.err(
                "a layer must be a type name (e.g. relu) or a mapping such as {conv: {out: 16, kernel: 3}}, "
                f"got {self.shown(node, scope)}", node,
            )
        hit = self.item_cache.get(id(node))
        if hit is not None and hit[0] is node:  # a repeated or called item: split once
            _, types, mods = hit
        else:
            entries = self.mapping(node, "a layer")
            types = [(k, kn, v) for k, kn, v in entries if k not in MODIFIERS]
            mods = {k: v for k, _, v in entries if k in MODIFIERS}
            self.item_cache[id(node)] = (node, types, mods)
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
                stray = [t[0] for t in types if not self.is_type(t[0])]
                rule = RULES.get(known[0]) if known else None
                if rule is not None and all(k in {a.name for a in rule.args} for k in stray):
                    raise self.err(  # `- conv:` with its arguments not indented under it
                        f"{', '.join(repr(k) for k in stray)} {'is an argument' if len(stray) == 1 else 'are arguments'} "
                        f"of {known[0]}: indent {'it' if len(stray) == 1 else 'them'} under '{known[0]}:' "
                        f"(or write {{{known[0]}: {{{', '.join(f'{k}: …' for k in stray)}}}}})", bad[1], who,
                    )
                extra = f"; a layer's keys are one type plus {', '.join(MODIFIERS)}"
                raise self.unknown_type(bad[0], bad[1], who, extra)
            raise self.err(f"one layer has two type keys ({names}); expected one: give each its own list item", node, who)
        tname, tnode, targs = types[0]
        if "when" in mods:
            when = self.value(mods["when"], scope)
            if not isinstance(when, bool):
                raise self.err(f"'when' must be true or false, got {show(when)}", mods["when"], self.label(tname, mods, scope))
            if not when:
                return prev
        return self.typed(tname, tnode, targs, mods, scope, prev)

    def is_type(self, t: str) -> bool:
        return t in RULES or t in self.blocks or t in COMPOSITES

    def unknown_type(self, t: str, node: Node, who: str, extra: str = "") -> SpecError:
        known = sorted(RULES) + sorted(self.blocks) + list(COMPOSITES)
        shown = t if len(t) <= 60 else t[:60] + "…"
        hint = f" (did you mean '{SYNONYMS[t.lower()]}'?)" if t.lower() in SYNONYMS else closest(t, known)
        if t == "layers":
            hint, extra = "", "; to repeat or name a group of layers write {seq: [...], repeat: N}"
        return self.err(f"unknown layer type '{shown}'{hint}{extra}; known types: {', '.join(known)}", node, who)

    def label(self, tname: str, mods: Mapping[str, Node], scope: Scope) -> str:
        """The name an item has (or will get), for error messages; nothing is claimed."""
        n = mods.get("name")
        if isinstance(n, ScalarNode) and n.value and "$" not in n.value:
            return scope.prefix + str(n.value)
        return self.names.fresh(scope, tname, claim=False)

    def typed(self, tname: str, tnode: Node, targs: Node | None, mods: Mapping[str, Node], scope: Scope, prev: str) -> str:
        def who() -> str:
            return self.label(tname, mods, scope)

        if not self.is_type(tname):
            raise self.unknown_type(tname, tnode, who())
        frozen = scope.frozen
        if "frozen" in mods:
            f = self.value(mods["frozen"], scope)
            if not isinstance(f, bool):
                raise self.err(f"'frozen' must be true or false, got {show(f)}", mods["frozen"], who())
            frozen = f
        # A repeated item whose name uses $i (``name: "conv${i + 1}"``) names each copy itself.
        per_copy = "repeat" in mods and "name" in mods and "$" in str(getattr(mods["name"], "value", ""))
        name = self.item_name(mods["name"], scope, who) if "name" in mods and not per_copy else None
        inputs = self.inputs(mods["from"], scope, who, name) if "from" in mods else [prev]
        sub = scope if frozen == scope.frozen else scope.copy(frozen=frozen)
        if "repeat" not in mods:
            return self.expand(tname, tnode, targs, sub, name, inputs)
        return self.repeat(tname, tnode, targs, mods, sub, name, inputs, who)

    def repeat(
        self, tname: str, tnode: Node, targs: Node | None, mods: Mapping[str, Node], scope: Scope,
        name: str | None, inputs: list[str], who: Who,
    ) -> str:
        """``repeat: n`` copies, ``$i`` bound to each index; the whole refused at once if it would not fit."""
        n = self.value(mods["repeat"], scope)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise self.err(f"'repeat' must be a positive integer, got {show(n)}", mods["repeat"], who())
        if n > MAX_LAYERS:
            raise self.err(f"'repeat: {n}' is more than {MAX_LAYERS:,} layers; expected a smaller count", mods["repeat"], who())
        bound = scope.env.frame_of("i")
        if bound is not None and not bound.index:
            raise self.err(
                f"'repeat' binds $i, which hides the parameter 'i' of block '{scope.block}'; "
                "rename the block's parameter", mods["repeat"], who(),
            )
        ins = inputs  # the first copy reads the item's inputs, each later one the copy before it
        out = inputs[0]
        for i in range(n):
            env = Env({"i": ScalarNode(INT, str(i), tnode.start_mark, tnode.end_mark)}, scope.env, index=True)
            vars(env.vars["i"])["data"] = i
            before, steps, chars = len(self.layers), self.budget.steps, self.budget.chars
            copy = scope.copy(env=env)
            if name is None and "name" in mods:
                label: str | None = self.item_name(mods["name"], copy, who)
            else:
                label = None if name is None else f"{name}.{i}"
            self.step(tnode)
            out = self.expand(tname, tnode, targs, copy, label, ins)
            if i == 0 and n > 1:  # refuse now, not after a million copies
                self.project(len(self.layers) - before, self.budget.steps - steps, self.budget.chars - chars, n, mods, who)
            ins = [out]
        if name is not None:
            self.names.alias(scope.prefix + name, out, mods["name"])
        return out

    def project(self, made: int, steps: int, chars: int, n: int, mods: Mapping[str, Node], who: Who) -> None:
        if len(self.layers) + made * (n - 1) > MAX_LAYERS:
            raise self.err(
                f"'repeat: {n}' of an item that makes {made:,} layers would make about {made * n:,}; "
                f"expected at most {MAX_LAYERS:,} layers in all", mods["repeat"], who(),
            )
        over = self.budget.project(steps, chars, n - 1)
        if over is not None:
            raise self.err(
                f"'repeat: {n}' of this item would take {over}; expected a spec that expands with less work",
                mods["repeat"], who(),
            )

    def item_name(self, node: Node, scope: Scope, who: Who) -> str:
        name = self.value(node, scope)
        if isinstance(name, bool) or not isinstance(name, (str, int)) or str(name) in ("", INPUT):
            raise self.err(
                f"'name' must be a non-empty string other than 'input' (the network's input), got {show(name)}",
                node, who(),
            )
        return str(name)

    def expand(self, tname: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, inputs: list[str]) -> str:
        if tname in RULES:
            return self.primitive(tname, tnode, targs, scope, name, inputs)

        def who() -> str:
            return scope.prefix + name if name is not None else self.names.fresh(scope, tname, claim=False)

        if len(inputs) != 1:
            raise self.err(
                f"'{tname}' takes one input; 'from' names {len(inputs)} (merge them with add or concat first)",
                tnode, who(),
            )
        if scope.depth >= MAX_NESTING:
            raise self.err(
                f"blocks and composites nested more than {MAX_NESTING} deep; expected a flatter spec", tnode, who()
            )
        try:
            if tname in self.blocks:
                return self.call(tname, tnode, targs, scope, name, inputs[0])
            return self.composite(tname, tnode, targs, scope, name, inputs[0])
        except SpecError as e:  # errors raised by the call or composite itself name it here
            if e.layer is not None:
                raise
            raise e.at(layer=who()) from None

    def inputs(self, node: Node, scope: Scope, who: Who, own: str | None) -> list[str]:
        v = self.value(node, scope)
        refs = v if isinstance(v, list) else [v]
        if not refs:
            raise self.err("'from' is an empty list; name at least one earlier layer (or 'input')", node, who())
        out = []
        for r in refs:
            if isinstance(r, bool) or not isinstance(r, (str, int)):
                raise self.err(f"'from' must be a layer name or a list of names, got {show(r)}", node, who())
            found = self.names.lookup(str(r), scope)
            if found is None:
                raise self.not_found(str(r), node, who(), own)
            out.append(found)
        return out

    def not_found(self, ref: str, node: Node, who: str, own: str | None) -> SpecError:
        shown = ref if len(ref) <= 60 else ref[:60] + "…"
        if ref == own:
            return self.err(
                f"'from' names '{shown}', the layer itself; a layer cannot take its own output: "
                "name a layer above it, or 'input'", node, who,
            )
        if ref in self.names.written:
            return self.err(
                f"'from' names '{shown}', which is defined later; a layer can only take inputs "
                "from layers before it", node, who,
            )
        return self.err(
            f"'from' names '{shown}', which is not an earlier layer{closest(ref, [INPUT, *self.names.defined])}; "
            "expected the name of a layer above this one, or 'input'",
            node, who,
        )

    # ---- primitives, blocks, composites --------------------------------------------------------
    def primitive(self, tname: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, inputs: list[str]) -> str:
        rule = RULES[tname]
        full = scope.prefix + name if name is not None else self.names.fresh(scope, tname)
        self.spend(len(full), tnode)
        where = self.here(tnode)
        self.names.claim(full, tnode, full, where)
        try:
            args, arg_locs, given = self.args_of(rule, tname, targs, scope, full, tnode)
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
                full, tname, args, tuple(inputs), where, scope.frozen, arg_locs, given,
                scope.call_lines,
            )
        )
        return full

    def call(self, bname: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, prev: str) -> str:
        block = self.blocks[bname]
        self.step(tnode)  # a call costs a step of its own, on top of its item's
        if bname in scope.calls:
            raise self.err(
                f"block '{bname}' uses itself (through {' → '.join((*scope.calls, bname))}); "
                "expected blocks that do not call themselves", tnode,
            )
        targs = None if targs is None else self.resolve(targs, scope)
        env = self.bind(bname, block, targs, tnode, scope)
        label = scope.prefix + name if name is not None else self.names.fresh(scope, bname)
        self.spend(len(label), tnode)
        inner = scope.inner(label + ".", env, (*scope.calls, bname), (*scope.call_lines, self.here(tnode).line), bname)
        out = self.items(block.layers, inner, prev)
        if out == prev:
            return prev
        self.names.claim(label, tnode, label)
        self.names.aliases[label] = out
        return out

    def bind(self, bname: str, block: Block, targs: Node | None, tnode: Node, scope: Scope) -> Env:
        """The block's parameters: the call's arguments (closed over the caller's scope), else defaults."""
        given: dict[str, Node] = {}
        if targs is not None and not (isinstance(targs, ScalarNode) and scalar(targs) is None):
            entries = self.mapping(targs, f"the parameters of block {bname}")
            for k, kn, _ in entries:
                if k not in block.params:
                    known = ", ".join(list(block.params)[:12]) or "none"
                    raise self.err(
                        f"block {bname} has no parameter '{k}'{closest(k, block.params)}; "
                        f"its parameters: {known}", kn,
                    )
            given = {k: self.close_over(v, scope) for k, _, v in entries}
            self.budget.steps += len(given)  # binding costs one step per argument (checked at the next step)
        for p in block.required:
            if p not in given:
                raise self.err(f"block {bname} needs parameter '{p}' (it has no default)", targs or tnode)
        return Env(given, block.defaults) if given else block.defaults

    def composite(self, kind: str, tnode: Node, targs: Node | None, scope: Scope, name: str | None, prev: str) -> str:
        self.step(tnode)  # as a call
        if name is None:
            inner = scope.copy(depth=scope.depth + 1)
        else:
            self.spend(len(scope.prefix) + len(name), tnode)
            inner = scope.inner(scope.prefix + name + ".", scope.env, scope.calls, scope.call_lines, scope.block)
        targs = None if targs is None else self.resolve(targs, scope)
        if kind == "seq":
            out = self.items(targs, inner, prev) if targs is not None else prev
            if name is not None and out != prev:
                self.names.claim(scope.prefix + name, tnode, scope.prefix + name)
                self.names.aliases[scope.prefix + name] = out
            return out
        branches, merge = self.branches(kind, targs, tnode, scope)
        if merge not in ("add", "concat", "mul"):
            raise self.err(f"merge must be add, concat or mul, got {show(merge)}", targs)
        outs = []
        for b in branches:
            b = None if b is None else self.resolve(b, scope)
            if b is None or (isinstance(b, ScalarNode) and scalar(b) is None):
                outs.append(prev)  # an empty branch passes its input through
            else:
                outs.append(self.items(b, inner, prev))
        return self.primitive(merge, tnode, None, scope, name, outs)

    def branches(self, kind: str, targs: Node | None, tnode: Node, scope: Scope) -> tuple[list[Node | None], object]:
        """A residual's or parallel's branch nodes and its merge."""
        if kind == "residual":
            fields = {k: v for k, _, v in self.mapping(targs, "residual (keys: body, shortcut, merge)")}
            for k in fields:
                if k not in ("body", "shortcut", "merge"):
                    raise self.err(f"residual has no key '{k}'; expected body, shortcut, merge", targs)
            if "body" not in fields:
                raise self.err("residual needs 'body': the list of layers on the main path", targs)
            merge = self.value(fields["merge"], scope) if "merge" in fields else "add"
            return [fields["body"], fields.get("shortcut")], merge
        branch_node = targs
        merge = "concat"
        if isinstance(targs, MappingNode):
            fields = {k: v for k, _, v in self.mapping(targs, "parallel (keys: branches, merge)")}
            for k in fields:
                if k not in ("branches", "merge"):
                    raise self.err(f"parallel has no key '{k}'; expected branches, merge", targs)
            branch_node = fields.get("branches")
            merge = self.value(fields["merge"], scope) if "merge" in fields else "concat"
        branch_node = None if branch_node is None else self.resolve(branch_node, scope)
        if not isinstance(branch_node, SequenceNode) or len(branch_node.value) < 2:
            raise self.err("parallel needs 'branches': a list of two or more layer lists", targs or tnode)
        return list(branch_node.value), merge
