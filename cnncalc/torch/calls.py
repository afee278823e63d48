"""Which torch class each spec layer is, with which arguments; pure data, no torch import.

:func:`module_call` maps a layer type, its arguments and its per-sample input shapes to a
``torch.nn`` class name (or ``Add``/``Mul``/``Concat``) and keyword arguments. :mod:`.build` makes
the modules from it and :mod:`.export` writes them out as source, so verify and export agree.
Writing source needs no torch, so the facts about torch used there are written down here:
:data:`TORCH_DEFAULTS` (each class's parameters, in order, with their defaults) and
:data:`MODULE_ATTRS` (the names an ``nn.ModuleDict`` already has). tests/test_export.py checks
both against torch's own signatures and attributes.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..spec import INPUT

Shape = tuple[int, ...]
Call = tuple[str, dict[str, Any]]  # a torch.nn class name (or Add/Mul/Concat) and its keyword arguments
MERGE_CLASSES = ("Add", "Mul", "Concat")


# ---- layer type → torch class and arguments -----------------------------------------------------
def _rank(x: Shape, layer_type: str) -> int:
    """Spatial axes of a per-sample shape; torch has no class for 0 or more than 3."""
    nd = len(x) - 1
    if not 1 <= nd <= 3:
        raise ValueError(f"{layer_type} needs 1 to 3 spatial axes, the input {list(x)} has {nd}")
    return nd


def _conv(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    x = ins[0]
    return f"Conv{_rank(x, 'conv')}d", {
        "in_channels": x[0],
        "out_channels": a["out"],
        "kernel_size": a["kernel"],
        "stride": a["stride"],
        "padding": a["padding"],
        "dilation": a["dilation"],
        "groups": a["groups"],
        "bias": a["bias"],
    }


def _maxpool(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return f"MaxPool{_rank(ins[0], 'maxpool')}d", {
        "kernel_size": a["kernel"],
        "stride": a["stride"],
        "padding": a["padding"],
        "dilation": a["dilation"],
        "ceil_mode": a["ceil_mode"],
    }


def _avgpool(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return f"AvgPool{_rank(ins[0], 'avgpool')}d", {
        "kernel_size": a["kernel"],
        "stride": a["stride"],
        "padding": a["padding"],
        "ceil_mode": a["ceil_mode"],
        "count_include_pad": a["count_include_pad"],
    }


def _adaptive(kind: str) -> Callable[[Mapping[str, Any], Sequence[Shape]], Call]:
    def call(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
        x = ins[0]
        nd = _rank(x, f"adaptive{kind.lower()}pool")
        out = a["out"]
        if nd == 1 and isinstance(out, tuple):  # the 1-d classes refuse None: it keeps the length
            out = tuple(x[1] if o is None else o for o in out)
        return f"Adaptive{kind}Pool{nd}d", {"output_size": out}

    return call


def _linear(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return "Linear", {"in_features": ins[0][-1], "out_features": a["out"], "bias": a["bias"]}


def _flatten(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    return "Flatten", {"start_dim": a["start_dim"], "end_dim": a["end_dim"]}


def _batchnorm(a: Mapping[str, Any], ins: Sequence[Shape]) -> Call:
    x = ins[0]  # (C,) and (C, L) are BatchNorm1d, (C, H, W) 2d, (C, D, H, W) 3d
    return f"BatchNorm{max(1, len(x) - 1)}d", {
        "num_features": x[0],
        "eps": a["eps"],
        "momentum": a["momentum"],
        "affine": a["affine"],
        "track_running_stats": a["track_running_stats"],
    }


def _same_name(torch_name: str) -> Callable[[Mapping[str, Any], Sequence[Shape]], Call]:
    """Element-wise layers: the spec's argument names are the torch class's."""
    return lambda a, ins: (torch_name, dict(a))


ELEMENTWISE = {
    "dropout": "Dropout",
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leakyrelu": "LeakyReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softmax": "Softmax",
    "gelu": "GELU",
    "silu": "SiLU",
    "hardswish": "Hardswish",
    "hardsigmoid": "Hardsigmoid",
    "elu": "ELU",
    "identity": "Identity",
}

CALLS: dict[str, Callable[[Mapping[str, Any], Sequence[Shape]], Call]] = {
    "conv": _conv,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "adaptiveavgpool": _adaptive("Avg"),
    "adaptivemaxpool": _adaptive("Max"),
    "linear": _linear,
    "flatten": _flatten,
    "batchnorm": _batchnorm,
    **{t: _same_name(n) for t, n in ELEMENTWISE.items()},
    "add": lambda a, ins: ("Add", {}),
    "mul": lambda a, ins: ("Mul", {}),
    "concat": lambda a, ins: ("Concat", {"dim": a["dim"]}),
}


def module_call(layer_type: str, args: Mapping[str, Any], in_shapes: Sequence[Shape]) -> Call:
    """The torch class name and keyword arguments of one layer, given its per-sample input shapes.

    Raises ``ValueError`` where torch has no class for the input's rank (a conv on a flat vector).
    """
    return CALLS[layer_type](args, in_shapes)


# ---- what torch's constructors take ------------------------------------------------------------
class _Required:
    """The default of a parameter that has none (it is written by position)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


def _per_rank(prefix: str, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{prefix}{nd}d": params for nd in (1, 2, 3)}


# Each class :data:`CALLS` names → the parameters it may be given, in torch's order, with torch's
# defaults (those it is never given, such as padding_mode or device, are left out).
TORCH_DEFAULTS: dict[str, dict[str, Any]] = {
    **_per_rank("Conv", {
        "in_channels": REQUIRED, "out_channels": REQUIRED, "kernel_size": REQUIRED, "stride": 1,
        "padding": 0, "dilation": 1, "groups": 1, "bias": True,
    }),
    **_per_rank("MaxPool", {"kernel_size": REQUIRED, "stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}),
    **_per_rank("AvgPool", {
        "kernel_size": REQUIRED, "stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
    }),
    **_per_rank("AdaptiveAvgPool", {"output_size": REQUIRED}),
    **_per_rank("AdaptiveMaxPool", {"output_size": REQUIRED}),
    **_per_rank("BatchNorm", {
        "num_features": REQUIRED, "eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True,
    }),
    "Linear": {"in_features": REQUIRED, "out_features": REQUIRED, "bias": True},
    "Flatten": {"start_dim": 1, "end_dim": -1},
    "Dropout": {"p": 0.5, "inplace": False},
    "ReLU": {"inplace": False},
    "ReLU6": {"inplace": False},
    "LeakyReLU": {"negative_slope": 0.01, "inplace": False},
    "Sigmoid": {},
    "Tanh": {},
    "Softmax": {"dim": None},
    "GELU": {},
    "SiLU": {"inplace": False},
    "Hardswish": {"inplace": False},
    "Hardsigmoid": {"inplace": False},
    "ELU": {"alpha": 1.0, "inplace": False},
    "Identity": {},
}


# ---- names --------------------------------------------------------------------------------------
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


def python_names(names: Sequence[str]) -> dict[str, str]:
    """Spec layer name → a distinct Python identifier (``layer1.0.conv1`` → ``layer1_0_conv1``).

    Identifiers avoid keywords and ``nn.Module``'s own attributes, so they serve as ModuleDict keys,
    attribute names and local variables alike.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = re.sub(r"\W", "_", name) or "layer"
        if base[0].isdigit():
            base = f"layer_{base}"
        if keyword.iskeyword(base) or base in RESERVED:
            base += "_"
        key, n = base, 2
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        taken.add(key)
        out[name] = key
    return out
