"""Spec reading: YAML (or Python data) → validated primitive layers."""

from .limits import MAX_INPUT_BYTES, MAX_INT, MAX_LAYERS, check_shape
from .model import INPUT, LayerSpec, NetSpec
from .names import resolve_layer
from .parser import parse_spec
from .source import read_spec_source

__all__ = [
    "INPUT",
    "MAX_INPUT_BYTES",
    "MAX_INT",
    "MAX_LAYERS",
    "LayerSpec",
    "NetSpec",
    "check_shape",
    "parse_spec",
    "read_spec_source",
    "resolve_layer",
]
