"""A chain of layers on one line, for a quick question without YAML.

    32x32x3 conv5x5/6 relu maxpool2 conv5x5/16,p2 avgpool2,s1 fc120 fc10

The first token is the input, in the lecture's order H×W×C (``32x32x3``), or channels first as
``3@32x32`` (``1@100`` for a 1-D signal). Each further token is one layer:

=====================================  ==========================================================
``conv5x5/10`` ``conv5/10``            conv, 5×5 kernel, 10 filters; options after commas:
``conv3x3/20,s2,p1``                   ``sS`` stride, ``pP`` padding, ``same``, ``valid``,
                                       ``dD`` dilation, ``gG`` groups, ``nobias``
``maxpool2`` ``maxpool3,s2,p1``        max pool (stride defaults to the window); ``avgpool2`` too
``fc120`` ``linear120``                fully connected, 120 units (flattens a spatial input first)
``relu`` ``tanh`` ``bn`` ``flatten``   any layer type that needs no arguments (``cnncalc layers``)
``gap``                                global average pooling (adaptiveavgpool to 1)
=====================================  ==========================================================

Tokens become a spec dict (:func:`chain_spec`), which ``cnncalc.analyze`` runs like any YAML spec:
the layers get the spec's usual names (``conv1``, ``maxpool1``, ``linear1`` …).
"""

from __future__ import annotations

import re
from typing import Any

from ..analysis import Report, analyze
from ..errors import SpecError
from ..layers import RULES
from ..layers.base import REQUIRED
from ..spec import parse_spec
from . import UsageError

MAX_TOKENS = 200
MAX_TOKEN_LEN = 64

_INPUT_HWC = re.compile(r"(\d+)(?:[x×](\d+)){1,2}")
_INPUT_CHW = re.compile(r"(\d+)@(\d+(?:[x×]\d+){0,2})")
_WINDOW = r"(\d+)(?:[x×](\d+))?(?:[x×](\d+))?"
_CONV = re.compile(rf"conv{_WINDOW}/(\d+)")
_POOL = re.compile(rf"(max|avg)pool{_WINDOW}")
_FC = re.compile(r"(?:fc|linear)(\d+)")
_OPTION = re.compile(r"(s|p|d|g)(\d+)")
ALIASES = {"bn": "batchnorm", "gap": "gap"}

CONV_SYNTAX = "convF[xF]/K[,sS][,pP|,same|,valid][,dD][,gG][,nobias], e.g. conv5x5/10,p2"
POOL_SYNTAX = "maxpoolF[xF][,sS][,pP] or avgpoolF[xF][,sS][,pP], e.g. maxpool2"


def _ints(text: str) -> list[int]:
    return [int(v) for v in re.split(r"[x×]", text)]


def parse_input(token: str) -> list[int]:
    """``32x32x3`` (H×W×C, the lecture's order) or ``3@32x32`` (channels first) → [C, H, W]."""
    t = token.strip().lower()
    if _INPUT_CHW.fullmatch(t):
        c, rest = t.split("@")
        shape = [int(c), *_ints(rest)]
    elif _INPUT_HWC.fullmatch(t):
        dims = _ints(t)
        shape = [1, *dims] if len(dims) == 2 else [dims[-1], *dims[:-1]]
    else:
        raise UsageError(
            f"input '{token}': expected H×W×C as the lecture writes it (32x32x3; 32x32 is one channel), "
            "or C@H×W (3@32x32; 1@100 for a 1-D signal)"
        )
    if any(v < 1 or v > 10**6 for v in shape):
        raise UsageError(f"input '{token}': every size must be between 1 and 1,000,000")
    return shape


def _window(groups: tuple[str | None, ...]) -> int | list[int]:
    sizes = [int(g) for g in groups if g is not None]
    return sizes[0] if len(set(sizes)) == 1 else sizes


def _options(token: str, parts: list[str], allowed: str) -> dict[str, Any]:
    names = {"s": "stride", "p": "padding", "d": "dilation", "g": "groups"}
    out: dict[str, Any] = {}
    for part in parts:
        m = _OPTION.fullmatch(part)
        if part in ("same", "valid") and "p" in allowed:
            out["padding"] = part
        elif part == "nobias" and "b" in allowed:
            out["bias"] = False
        elif m and m.group(1) in allowed:
            out[names[m.group(1)]] = int(m.group(2))
        else:
            raise UsageError(f"token '{token}': '{part}' is not an option here")
    return out


def parse_layer(token: str) -> list[dict[str, Any] | str]:
    """One token → the spec items it stands for (``fc`` may add a flatten: see :func:`chain_spec`)."""
    t = token.strip().lower()
    head, *opts = t.split(",")
    if m := _CONV.fullmatch(head):
        args = {"out": int(m.group(4)), "kernel": _window(m.groups()[:3])}
        return [{"conv": {**args, **_options(token, opts, "spdgb")}}]
    if head.startswith("conv"):
        raise UsageError(f"token '{token}': expected {CONV_SYNTAX}")
    if m := _POOL.fullmatch(head):
        args = {"kernel": _window(m.groups()[1:])}
        return [{f"{m.group(1)}pool": {**args, **_options(token, opts, "sp" + ("d" if m.group(1) == "max" else ""))}}]
    if head.startswith(("maxpool", "avgpool")):
        raise UsageError(f"token '{token}': expected {POOL_SYNTAX}")
    if m := _FC.fullmatch(head):
        if opts:
            raise UsageError(f"token '{token}': fc takes no options (write fc120)")
        return [{"linear": {"out": int(m.group(1))}}]
    if opts:
        raise UsageError(f"token '{token}': only conv and pool tokens take options after a comma")
    if head == "gap":
        return [{"adaptiveavgpool": {"out": 1}}]
    name = ALIASES.get(head, head)
    rule = RULES.get(name)
    if rule is None or any(a.default is REQUIRED for a in rule.args):
        raise UsageError(
            f"token '{token}' is not a layer; expected convF/K, maxpoolF, avgpoolF, fcK, gap, or a layer "
            "type without arguments (relu, tanh, sigmoid, bn, flatten, …); see `cnncalc chain --help`"
        )
    return [name]


def chain_spec(tokens: list[str] | tuple[str, ...], name: str = "chain") -> dict[str, Any]:
    """The spec dict for ``INPUT LAYER LAYER …``; a bad token is a UsageError naming it."""
    return _chain(tokens, name)[0]


def analyze_chain(tokens: list[str] | tuple[str, ...], **kw: Any) -> Report:
    """``cnncalc.analyze`` on the chain; a layer the shapes make impossible is named by its token."""
    spec, token_of = _chain(tokens, "chain")
    try:
        return analyze(parse_spec(spec), **kw)
    except SpecError as e:
        names = _names(spec["layers"])
        where = f"token '{token_of[names.index(e.layer)]}' ({e.layer})" if e.layer in names else "chain"
        raise UsageError(f"{where}: {e.message}") from None


def layer_tokens(tokens: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Each layer's name → the token it came from (a flatten added before fc: the fc's token)."""
    spec, token_of = _chain(tokens, "chain")
    return dict(zip(_names(spec["layers"]), token_of, strict=True))


def _names(items: list[dict[str, Any] | str]) -> list[str]:
    """The names the spec parser gives unnamed items: type and a count (conv1, conv2, relu1 …)."""
    counts: dict[str, int] = {}
    names = []
    for item in items:
        kind = item if isinstance(item, str) else next(iter(item))
        counts[kind] = counts.get(kind, 0) + 1
        names.append(f"{kind}{counts[kind]}")
    return names


def _chain(tokens: list[str] | tuple[str, ...], name: str) -> tuple[dict[str, Any], list[str]]:
    if not tokens:
        raise UsageError("expected an input (32x32x3) and at least one layer (conv5x5/6)")
    if len(tokens) > MAX_TOKENS:
        raise UsageError(f"a chain has at most {MAX_TOKENS} tokens; write a YAML spec for more")
    for t in tokens:
        if len(t) > MAX_TOKEN_LEN:
            raise UsageError(f"token '{t[:MAX_TOKEN_LEN]}…' is longer than {MAX_TOKEN_LEN} characters")
    shape = parse_input(tokens[0])
    if len(tokens) == 1:
        raise UsageError(f"after the input '{tokens[0]}', expected at least one layer, e.g. conv5x5/6")
    layers: list[dict[str, Any] | str] = []
    token_of: list[str] = []  # the token each spec item came from
    spatial = len(shape) > 1
    for token in tokens[1:]:
        items = parse_layer(token)
        first = items[0]
        kind = first if isinstance(first, str) else next(iter(first))
        if kind == "linear" and spatial:
            layers.append("flatten")
            token_of.append(token)
        layers.extend(items)
        token_of.extend([token] * len(items))
        if kind in ("flatten", "linear"):
            spatial = False
    return {"name": name, "input": shape, "layers": layers}, token_of
