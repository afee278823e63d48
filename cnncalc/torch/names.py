"""Python identifiers for a spec's layer names, and safe text for generated source; no torch import.

A spec's names are untrusted. Python folds identifiers with NFKC (``ﬁ`` is ``fi``, ``x²`` is
``x2``), so keys are made from the NFKC form and kept distinct in that form; anything that is not
an identifier character becomes ``_``. :func:`source_text` makes any string safe inside a
double-quoted (or triple-quoted) Python string or a comment.
"""

from __future__ import annotations

import keyword
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from ..spec import INPUT, NetSpec

# dir(nn.ModuleDict()) (torch 2.13 and 2.14): a layer key must not shadow any of them.
_MODULE_ATTRS_TEXT = """
    T_destination __annotations__ __call__ __class__ __contains__ __delattr__ __delitem__ __dict__
    __dir__ __doc__ __eq__ __format__ __ge__ __getattr__ __getattribute__ __getitem__ __getstate__
    __gt__ __hash__ __init__ __init_subclass__ __iter__ __le__ __len__ __lt__ __module__ __ne__
    __new__ __reduce__ __reduce_ex__ __repr__ __setattr__ __setitem__ __setstate__ __sizeof__
    __str__ __subclasshook__ __weakref__ _apply _backward_hooks _backward_pre_hooks _buffers
    _call_impl _compiled_call_impl _forward_hooks _forward_hooks_always_called
    _forward_hooks_with_kwargs _forward_pre_hooks _forward_pre_hooks_with_kwargs
    _get_backward_hooks _get_backward_pre_hooks _get_name _is_full_backward_hook
    _load_from_state_dict _load_state_dict_post_hooks _load_state_dict_pre_hooks
    _maybe_warn_non_full_backward_hook _modules _named_members _non_persistent_buffers_set
    _parameters _register_load_state_dict_pre_hook _register_state_dict_hook
    _replicate_for_data_parallel _save_to_state_dict _slow_forward _state_dict_hooks
    _state_dict_pre_hooks _version _wrapped_call_impl add_module apply bfloat16 buffers
    call_super_init children clear compile cpu cuda double dump_patches eval extra_repr float
    forward get_buffer get_extra_state get_parameter get_submodule half ipu items keys
    load_state_dict modules mtia named_buffers named_children named_modules named_parameters
    parameters pop register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type update
    values xpu zero_grad
"""
MODULE_ATTRS = frozenset(_MODULE_ATTRS_TEXT.split())
RESERVED = MODULE_ATTRS | {"x", "self", "torch", "nn", INPUT}




def _identifier(name: str) -> str:
    """``name`` as a valid identifier that NFKC leaves unchanged (may collide; see python_names)."""
    text = unicodedata.normalize("NFKC", name)
    out = "".join(c if ("a" + c).isidentifier() else "_" for c in text)
    out = unicodedata.normalize("NFKC", out)
    if not out.isidentifier() or unicodedata.normalize("NFKC", out) != out:
        out = re.sub(r"[^0-9A-Za-z_]", "_", out)  # a combining mark left alone, or worse: ASCII
    if not out:
        return "layer"
    if out.isdigit() or not (out[0].isalpha() or out[0] == "_") or out.startswith("__"):
        out = f"layer_{out}"  # a leading digit, or a dunder (name-mangled inside a class)
    if keyword.iskeyword(out) or out in RESERVED:
        out += "_"
    return out


def python_names(names: Sequence[str]) -> dict[str, str]:
    """Spec layer name → a distinct Python identifier (``layer1.0.conv1`` → ``layer1_0_conv1``).

    Identifiers avoid keywords and ``nn.Module``'s own attributes, so they serve as ModuleDict keys,
    attribute names and local variables alike; they are distinct after NFKC normalisation.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = _identifier(name)
        key, n = base, 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        taken.add(key)
        out[name] = key
    return out


def source_text(text: str) -> str:
    """``text`` escaped for the inside of a ``"..."`` or ``\"\"\"...\"\"\"`` literal, or a comment:
    backslashes and double quotes escaped, and every character that is not printable (newlines,
    control characters, line separators) written as ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN``."""
    out = []
    for c in text:
        if c in "\\\"":
            out.append("\\" + c)
        elif c.isprintable() and c not in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":
            out.append(c)
        else:
            o = ord(c)
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    return "".join(out)


def literal(value: Any) -> str:
    """A constructor argument as Python source (``repr``), refusing what ``repr`` cannot write back:
    non-finite floats (``nan`` and ``inf`` are not Python literals)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be written as a Python literal")
    if isinstance(value, (tuple, list)):
        for v in value:
            literal(v)
    if not isinstance(value, (bool, int, float, str, tuple, list, type(None))):
        raise TypeError(f"{type(value).__name__} is not a literal")
    return repr(value)


def ids_below(spec: NetSpec) -> int | None:
    """For a spec whose input is integer ids: the bound every id must stay below (the smallest
    vocabulary of the embeddings that read the input); None for a real-valued input."""
    if not spec.takes_ids:
        return None
    return min((la.args["num"] for la in spec.layers if la.type == "embedding" and INPUT in la.inputs), default=1)
