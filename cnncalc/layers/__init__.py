"""The table of layer rules: one rule per layer type, registered here by its spec name.

Each rule also carries its torch side (:class:`~.base.Torch`, torch-free data). The maps below are
derived from it for the importer: torch class name, function path or tensor method → rule.
"""

from __future__ import annotations

from .activation import ACTIVATIONS, Dropout, LogSoftmax, PReLU, Softmax
from .attention import MultiheadAttention
from .base import Rule
from .conv import Conv
from .convtranspose import ConvTranspose
from .dense import Flatten, Linear
from .drop import Dropout2d, Dropout3d, DropPath, StochasticDepth
from .local import LocallyConnected
from .merge import Add, Concat, Mul
from .mvit import MViTBlock, MViTPosition
from .norm import BatchNorm
from .norms import GroupNorm, InstanceNorm, LayerNorm
from .ops import DotAttention, Matmul, Mean, Scale
from .pad import Pad
from .pool import AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, MaxPool
from .recurrent import GRU, LSTM, RNN
from .relattention import RelativeAttention
from .tensor import ClassToken, Embedding, LayerScale, Permute, PosEmbedding, Reshape, Select, Slice
from .upsample import PixelShuffle, PixelUnshuffle, Upsample
from .window import PatchMerge, WindowAttention

RULE_CLASSES: tuple[type[Rule], ...] = (
    Conv, ConvTranspose, MaxPool, AvgPool, AdaptiveAvgPool, AdaptiveMaxPool, Linear, Flatten, BatchNorm,
    Dropout, *ACTIVATIONS, Softmax, LogSoftmax, PReLU, Add, Concat, Mul,
    Upsample, PixelShuffle, PixelUnshuffle,
    Pad,
    LocallyConnected,
    LayerNorm, GroupNorm, InstanceNorm,
    RNN, LSTM, GRU,
    Embedding,
    MultiheadAttention, WindowAttention, PatchMerge, RelativeAttention,
    Reshape, Permute, Select, Slice, ClassToken, PosEmbedding, LayerScale,
    Dropout2d, Dropout3d, StochasticDepth, DropPath,
    Matmul, DotAttention, Scale, Mean,
    MViTBlock, MViTPosition,
)
RULES: dict[str, Rule] = {r.type: r() for r in RULE_CLASSES}


def get_rule(layer_type: str) -> Rule:
    return RULES[layer_type]


def torch_classes() -> dict[str, Rule]:
    """``torch.nn`` class name (``Conv2d``) → its rule."""
    return {c: r for r in RULES.values() for c in r.torch.classes()}


def torch_functions() -> dict[str, Rule]:
    """Dotted path of a function (``torch.nn.functional.relu``, ``operator.add``) → its rule."""
    return {f: r for r in RULES.values() for f in r.torch.functions}


def torch_methods() -> dict[str, Rule]:
    """Tensor method name (``relu_``) → its rule."""
    return {m: r for r in RULES.values() for m in r.torch.methods}
