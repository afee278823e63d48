"""The table of layer rules: one rule per layer type, registered here by its spec name."""

from __future__ import annotations

from .activation import ACTIVATIONS, Dropout, Softmax
from .base import Rule
from .conv import Conv
from .dense import Flatten, Linear
from .merge import Add, Concat, Mul
from .norm import BatchNorm
from .pool import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, MaxPool

RULE_CLASSES: tuple[type[Rule], ...] = (
    Conv, MaxPool, AvgPool, AdaptiveAvgPool, AdaptiveMaxPool, Linear, Flatten, BatchNorm,
    Dropout, *ACTIVATIONS, Softmax, Add, Concat, Mul,
)
RULES: dict[str, Rule] = {r.type: r() for r in RULE_CLASSES}


def get_rule(layer_type: str) -> Rule:
    return RULES[layer_type]
