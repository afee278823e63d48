"""Spec reading: YAML (or Python data) → validated primitive layers."""

from .model import INPUT, LayerSpec, NetSpec
from .names import resolve_layer
from .parser import parse_spec

__all__ = ["INPUT", "LayerSpec", "NetSpec", "parse_spec", "resolve_layer"]
