"""YAML nodes → a validated, flat list of primitive layers (:class:`NetSpec`).

The core grammar (what tools generate) is a list of items, each a bare layer type or a mapping with
one type key plus ``name`` and ``from``. For people writing specs by hand it adds:

* ``blocks:`` reusable, parametrised lists of items, called like a layer type (``{bottleneck: {width: 64}}``);
  ``$param`` substitutes a parameter, ``${expr}`` computes one (integers and booleans only);
* ``repeat: N`` on any item (``$i`` is the repetition index inside it);
* ``when: <bool>`` on any item, to leave it out;
* ``frozen: true`` on any item (its parameters are reported as frozen, not trainable);
* composites ``seq: [...]``, ``residual: {body, shortcut}`` and ``parallel: {branches, merge}``.

The work is split by job: :mod:`.model` (the records), :mod:`.values` (parameters, expressions,
scopes), :mod:`.names` (generated names, aliases, lookup), :mod:`.args` (argument checking),
:mod:`.expand` (blocks, repeats, composites) and :mod:`.limits` (the bounds and the work budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .expand import COMPOSITES, MODIFIERS, TOP_KEYS, Expander
from .limits import MAX_LAYERS, MAX_NESTING
from .loader import compose, from_python, gc_paused
from .model import INPUT, LayerSpec, NetSpec
from .names import closest
from .source import read_text
from .values import show

__all__ = [
    "COMPOSITES", "INPUT", "MAX_LAYERS", "MAX_NESTING", "MODIFIERS", "TOP_KEYS", "LayerSpec", "NetSpec",
    "closest", "parse_spec", "show",
]


def parse_spec(source: str | Path | Mapping[str, Any], *, text: str | None = None) -> NetSpec:
    """Parse a spec from a path, a Python mapping, or (with ``text``) YAML text named ``source``."""
    with gc_paused():
        if isinstance(source, Mapping):
            file = str(source.get("name", "<dict>")) if isinstance(source.get("name"), str) else "<dict>"
            return Expander(file).document(from_python(source, file))
        file = str(source)
        body = read_text(source) if text is None else text
        return Expander(file).document(compose(body, file))
