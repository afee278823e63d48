"""Spec reading: YAML (or Python data) → validated primitive layers."""

from .parser import INPUT, LayerSpec, NetSpec, parse_spec

__all__ = ["INPUT", "LayerSpec", "NetSpec", "parse_spec"]
