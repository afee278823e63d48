"""The shipped reference specs against published and independently measured counts.

Sources of the literals below (never cnncalc's own output):

* params: torchvision's model documentation (``num_params`` of each model's weights enum), which
  equals ``sum(p.numel() for p in model.parameters())``;
* MACs: ``torch.utils.flop_counter.FlopCounterMode`` total / 2 on the torchvision model (torch 2.14,
  torchvision 0.29, one 3×224×224 image, eval) and, identically, on the nets written by hand in
  torch at the bottom of this file; torchvision's docs give the same figure rounded, as "GFLOPS";
* buffers: BatchNorm running mean + running variance + num_batches_tracked, counted from the
  torchvision model's ``buffers()`` (2·C + 1 per BatchNorm layer);
* LeNet-5 has no torchvision model: its counts are the layer-by-layer hand sums in its row.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from _support import SPECS, require_torch

import cnncalc

# LeNet-5, layer by layer: C1 6·(1·5·5)+6, C3 16·(6·5·5)+16, C5 120·(16·5·5)+120, F6 120·84+84,
# output 84·10+10; MACs C1 6·28·28·25, C3 16·10·10·150, C5 120·400, F6 120·84, output 84·10.
LENET5_PARAMS = 156 + 2_416 + 48_120 + 10_164 + 850
LENET5_MACS = 117_600 + 240_000 + 48_000 + 10_080 + 840

# ViT-B/16 by hand (L = 197 tokens, E = 768): the 16×16 patch conv 768·196·(3·16·16); per encoder
# layer the Q, K, V and output projections 4·L·E², QKᵀ and AV 2·L²·E, the MLP 2·L·E·3072; 12 layers;
# the head 768·1000. torchvision's docs round it to 17.56 (their 17.564).
VIT_B_16_MACS = 768 * 196 * 768 + 12 * (4 * 197 * 768**2 + 2 * 197**2 * 768 + 2 * 197 * 768 * 3072) + 768 * 1000

# spec: (params, MACs, torchvision docs GFLOPS, buffers)
PUBLISHED = {
    "lenet5": (LENET5_PARAMS, LENET5_MACS, None, 0),
    "alexnet": (61_100_840, 714_188_480, 0.71, 0),
    "vgg16": (138_357_544, 15_470_264_320, 15.47, 0),
    "resnet18": (11_689_512, 1_814_073_344, 1.81, 9_620),
    "resnet50": (25_557_032, 4_089_184_256, 4.09, 53_173),
    "googlenet": (6_624_904, 1_498_376_192, 1.50, 14_617),
    "mobilenetv2": (3_504_872, 300_774_272, 0.30, 34_164),
    "densenet121": (7_978_856, 2_834_161_664, 2.83, 83_769),
    "squeezenet1_1": (1_235_496, 349_151_936, 0.35, 0),
    "mobilenetv3_small": (2_542_856, 56_510_400, 0.06, 12_146),
    # torchvision's docs (num_params, GFLOPS); MACs by FlopCounterMode on the torchvision model
    "efficientnet_b0": (5_288_548, 385_814_752, 0.39, 42_065),
    "convnext_tiny": (28_589_128, 4_455_531_264, 4.46, 0),
    "vit_b_16": (86_567_656, VIT_B_16_MACS, 17.56, 0),
}

# Shipped specs with no torchvision model: pinned to numbers worked by hand, or to a net written in
# torch, in the named test file.
PINNED_ELSEWHERE = {
    "char_gru": "test_zoo_modern.py",
    "char_lstm": "test_zoo_modern.py",
    "lenet5_local": "test_zoo_modern.py",
    "fcn32s": "test_zoo_modern.py",
    "unet_small": "test_zoo_modern.py",
}

# spec: (input shape, number of classes)
IO = {
    "lenet5": ((1, 32, 32), 10),
    **{name: ((3, 224, 224), 1000) for name in PUBLISHED if name != "lenet5"},
}


@cache
def report(name: str) -> cnncalc.Report:
    return cnncalc.analyze(SPECS / f"{name}.yaml")


def test_every_shipped_spec_has_published_numbers() -> None:
    shipped = {p.stem for p in SPECS.glob("*.yaml")}
    assert shipped == set(PUBLISHED) | set(PINNED_ELSEWHERE), "pin every new spec: PUBLISHED or PINNED_ELSEWHERE"
    for name, test_file in PINNED_ELSEWHERE.items():
        assert f"{name}.yaml" in (Path(__file__).parent / test_file).read_text(encoding="utf-8"), (name, test_file)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_totals_equal_published(name: str) -> None:
    params, macs, _, buffers = PUBLISHED[name]
    t = report(name).totals
    assert (t.params, t.macs, t.buffers) == (params, macs, buffers)
    assert (t.trainable_params, t.frozen_params) == (params, 0)


@pytest.mark.parametrize("name", sorted(n for n in PUBLISHED if PUBLISHED[n][2] is not None))
def test_macs_round_to_torchvision_gflops(name: str) -> None:
    assert round(report(name).totals.macs / 1e9, 2) == PUBLISHED[name][2]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_input_and_output_shapes(name: str) -> None:
    shape, classes = IO[name]
    assert report(name).input_shape == (1, *shape)
    assert report(name).layers[-1].output_shape == (1, classes)


# The number in a network's name counts its layers with weights (convolutions and fully connected
# layers), not counting ResNet's projection shortcuts: LeNet-*5*, AlexNet's "eight learned layers",
# VGG-*16*, ResNet-*18*, ResNet-*50*, DenseNet-*121* (1 + 2·(6 + 12 + 24 + 16) + 3 transitions + 1).
@pytest.mark.parametrize(("name", "depth"), [
    ("lenet5", 5), ("alexnet", 8), ("vgg16", 16), ("resnet18", 18), ("resnet50", 50),
    ("densenet121", 121),
])
def test_weight_layer_count_matches_the_name(name: str, depth: int) -> None:
    weighted = [
        s for s in report(name).layers
        if s.type in ("conv", "linear") and "downsample" not in s.name
    ]
    assert len(weighted) == depth


# (spec, layer, params, MACs, output shape), by hand: a conv has out·(in/groups)·k·k weights
# (+ out biases) and does that many MACs per output position.
SPOT_CHECKS = [
    ("lenet5", "C3", 16 * 6 * 5 * 5 + 16, 16 * 10 * 10 * 6 * 5 * 5, (1, 16, 10, 10)),
    ("lenet5", "S4", 0, 0, (1, 16, 5, 5)),
    ("alexnet", "features.0", 64 * 3 * 11 * 11 + 64, 64 * 55 * 55 * 3 * 11 * 11, (1, 64, 55, 55)),
    ("alexnet", "features.12", 0, 0, (1, 256, 6, 6)),
    ("alexnet", "classifier.1", 256 * 6 * 6 * 4096 + 4096, 256 * 6 * 6 * 4096, (1, 4096)),
    # conv1_1: 3·64·9 + 64 = 1,792 parameters
    ("vgg16", "conv1_1", 3 * 64 * 9 + 64, 64 * 224 * 224 * 3 * 9, (1, 64, 224, 224)),
    ("vgg16", "fc6", 25_088 * 4096 + 4096, 25_088 * 4096, (1, 4096)),
    ("resnet18", "conv1", 64 * 3 * 7 * 7, 64 * 112 * 112 * 3 * 7 * 7, (1, 64, 112, 112)),
    ("resnet18", "layer2.0.downsample.0", 128 * 64, 128 * 28 * 28 * 64, (1, 128, 28, 28)),
    ("resnet18", "layer4.1.bn2", 2 * 512, 0, (1, 512, 7, 7)),
    ("resnet18", "fc", 512 * 1000 + 1000, 512 * 1000, (1, 1000)),
    ("resnet50", "layer1.0.conv2", 64 * 64 * 9, 64 * 56 * 56 * 64 * 9, (1, 64, 56, 56)),
    ("resnet50", "layer4.2.conv3", 512 * 2048, 2048 * 7 * 7 * 512, (1, 2048, 7, 7)),
    # ceil_mode: ceil((112 - 3)/2) + 1 = 56, where floor would give 55
    ("googlenet", "maxpool1", 0, 0, (1, 64, 56, 56)),
    ("googlenet", "inception3a.branch2.1.conv", 128 * 96 * 9, 128 * 28 * 28 * 96 * 9,
     (1, 128, 28, 28)),
    ("googlenet", "inception3a", 0, 0, (1, 64 + 128 + 32 + 32, 28, 28)),
    ("googlenet", "inception5b", 0, 0, (1, 384 + 384 + 128 + 128, 7, 7)),
    # depthwise (groups = channels): one 3·3 filter per channel
    ("mobilenetv2", "features.1.conv.0.0", 32 * 9, 32 * 112 * 112 * 9, (1, 32, 112, 112)),
    ("mobilenetv2", "features.2.conv.0.0", 96 * 16, 96 * 112 * 112 * 16, (1, 96, 112, 112)),
    ("mobilenetv2", "features.2.conv.1.0", 96 * 9, 96 * 56 * 56 * 9, (1, 96, 56, 56)),
    ("mobilenetv2", "features.18.0", 320 * 1280, 1280 * 7 * 7 * 320, (1, 1280, 7, 7)),
    # a dense layer's 1×1 conv sees every channel so far (64 + 5·32 in the 6th) and makes 4·32
    ("densenet121", "features.denseblock1.denselayer1.conv1", 128 * 64, 128 * 56 * 56 * 64,
     (1, 128, 56, 56)),
    ("densenet121", "features.denseblock1.denselayer6.conv1", 128 * 224, 128 * 56 * 56 * 224,
     (1, 128, 56, 56)),
    ("densenet121", "features.denseblock3.denselayer24.conv2", 32 * 128 * 9,
     32 * 14 * 14 * 128 * 9, (1, 32, 14, 14)),
    ("densenet121", "features.denseblock1.denselayer6", 0, 0, (1, 64 + 6 * 32, 56, 56)),
    ("densenet121", "features.transition1.conv", 128 * 256, 128 * 56 * 56 * 256, (1, 128, 56, 56)),
    ("densenet121", "features.transition3.pool", 0, 0, (1, 512, 7, 7)),
    ("densenet121", "classifier", 1024 * 1000 + 1000, 1024 * 1000, (1, 1000)),
    # (224 − 3) // 2 + 1 = 111; fire modules concatenate two expands of equal width
    ("squeezenet1_1", "features.0", 64 * 3 * 9 + 64, 64 * 111 * 111 * 3 * 9, (1, 64, 111, 111)),
    ("squeezenet1_1", "features.2", 0, 0, (1, 64, 55, 55)),
    ("squeezenet1_1", "features.3.squeeze", 16 * 64 + 16, 16 * 55 * 55 * 64, (1, 16, 55, 55)),
    ("squeezenet1_1", "features.3", 0, 0, (1, 128, 55, 55)),
    ("squeezenet1_1", "features.12.expand3x3", 256 * 64 * 9 + 256, 256 * 13 * 13 * 64 * 9,
     (1, 256, 13, 13)),
    ("squeezenet1_1", "classifier.1", 1000 * 512 + 1000, 1000 * 13 * 13 * 512, (1, 1000, 13, 13)),
    # squeeze-and-excitation: 1×1 convs with biases on a 1×1 map, to expand // 4 rounded to 8s
    ("mobilenetv3_small", "features.1.block.0.0", 16 * 9, 16 * 56 * 56 * 9, (1, 16, 56, 56)),
    ("mobilenetv3_small", "features.1.block.1.fc1", 16 * 8 + 8, 16 * 8, (1, 8, 1, 1)),
    ("mobilenetv3_small", "features.4.block.1.0", 96 * 25, 96 * 14 * 14 * 25, (1, 96, 14, 14)),
    ("mobilenetv3_small", "features.9.block.2.fc2", 72 * 288 + 288, 72 * 288, (1, 288, 1, 1)),
    ("mobilenetv3_small", "features.12.0", 96 * 576, 576 * 7 * 7 * 96, (1, 576, 7, 7)),
    ("mobilenetv3_small", "classifier.0", 576 * 1024 + 1024, 576 * 1024, (1, 1024)),
]


@pytest.mark.parametrize(("name", "layer", "params", "macs", "shape"), SPOT_CHECKS)
def test_layer_spot_checks(
    name: str, layer: str, params: int, macs: int, shape: tuple[int, ...]
) -> None:
    layers = report(name).layers
    if layer not in {s.name for s in layers}:  # an Inception module: its concat
        layer = next(s.name for s in layers if s.name.startswith(f"{layer}.concat"))
    s = report(name).layer(layer)
    assert (s.params, s.macs, s.output_shape) == (params, macs, shape)


# Residual adds in MobileNetV2 only where stride is 1 and in == out (10 of 17 blocks), in
# MobileNetV3-Small 6 of 11; ResNet-18 has 8 basic blocks, ResNet-50 16 bottlenecks, GoogLeNet 9
# Inception modules, DenseNet-121 6 + 12 + 24 + 16 dense layers, SqueezeNet 1.1 8 fire modules,
# MobileNetV3-Small 9 squeeze-and-excitation gates; BatchNorm layers as counted in the torchvision
# models.
@pytest.mark.parametrize(("name", "kind", "count"), [
    ("mobilenetv2", "add", 10), ("resnet18", "add", 8), ("resnet50", "add", 16),
    ("googlenet", "concat", 9), ("resnet18", "batchnorm", 20), ("resnet50", "batchnorm", 53),
    ("googlenet", "batchnorm", 57), ("mobilenetv2", "batchnorm", 52),
    ("densenet121", "concat", 58), ("densenet121", "batchnorm", 121),
    ("squeezenet1_1", "concat", 8), ("squeezenet1_1", "batchnorm", 0),
    ("mobilenetv3_small", "add", 6), ("mobilenetv3_small", "mul", 9),
    ("mobilenetv3_small", "batchnorm", 34),
])
def test_block_counts(name: str, kind: str, count: int) -> None:
    assert sum(s.type == kind for s in report(name).layers) == count


# ---- the same nets written directly in torch.nn, measured layer by layer ----------------------


def torch_nets() -> dict:
    """LeNet-5, AlexNet, ResNet-18, GoogLeNet, MobileNetV2, DenseNet-121, SqueezeNet 1.1 and
    MobileNetV3-Small with torchvision's module paths, built from the papers' tables (not from
    the specs)."""
    from collections import OrderedDict

    import torch
    from torch import nn

    def seq(**modules: nn.Module) -> nn.Sequential:
        return nn.Sequential(OrderedDict(modules))

    def lenet5() -> nn.Module:
        return seq(
            C1=nn.Conv2d(1, 6, 5), t1=nn.Tanh(), S2=nn.AvgPool2d(2),
            C3=nn.Conv2d(6, 16, 5), t3=nn.Tanh(), S4=nn.AvgPool2d(2),
            C5=nn.Conv2d(16, 120, 5), t5=nn.Tanh(), flatten=nn.Flatten(),
            F6=nn.Linear(120, 84), t6=nn.Tanh(), output=nn.Linear(84, 10),
        )

    def alexnet() -> nn.Module:
        features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )
        classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(),
            nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000),
        )
        return seq(features=features, avgpool=nn.AdaptiveAvgPool2d(6), flatten=nn.Flatten(),
                   classifier=classifier)

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

    def resnet18() -> nn.Module:
        stages = {}
        for i, (cin, cout) in enumerate([(64, 64), (64, 128), (128, 256), (256, 512)]):
            first = BasicBlock(cin, cout, 1 if i == 0 else 2)
            stages[f"layer{i + 1}"] = nn.Sequential(first, BasicBlock(cout, cout, 1))
        return seq(
            conv1=nn.Conv2d(3, 64, 7, 2, 3, bias=False), bn1=nn.BatchNorm2d(64), relu=nn.ReLU(),
            maxpool=nn.MaxPool2d(3, 2, 1), **stages,
            avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=nn.Linear(512, 1000),
        )

    class BasicConv2d(nn.Module):
        def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, padding: int = 0):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, k, stride, padding, bias=False)
            self.bn = nn.BatchNorm2d(cout, eps=0.001)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.bn(self.conv(x)))

    class Inception(nn.Module):
        def __init__(self, cin: int, b1: int, b2r: int, b2: int, b3r: int, b3: int, proj: int):
            super().__init__()
            self.branch1 = BasicConv2d(cin, b1)
            self.branch2 = nn.Sequential(BasicConv2d(cin, b2r), BasicConv2d(b2r, b2, 3, padding=1))
            self.branch3 = nn.Sequential(BasicConv2d(cin, b3r), BasicConv2d(b3r, b3, 3, padding=1))
            pool = nn.MaxPool2d(3, 1, 1, ceil_mode=True)
            self.branch4 = nn.Sequential(pool, BasicConv2d(cin, proj))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            branches = (self.branch1, self.branch2, self.branch3, self.branch4)
            return torch.cat([b(x) for b in branches], 1)

    def googlenet() -> nn.Module:
        # Szegedy et al. 2015, Table 1: in, #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj
        # (torchvision's port uses a 3×3 convolution for the "5×5" branch)
        table = {
            "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
            "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
            "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
            "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
            "5b": (832, 384, 192, 384, 48, 128, 128),
        }
        mods: dict[str, nn.Module] = {
            "conv1": BasicConv2d(3, 64, 7, 2, 3), "maxpool1": nn.MaxPool2d(3, 2, ceil_mode=True),
            "conv2": BasicConv2d(64, 64), "conv3": BasicConv2d(64, 192, 3, padding=1),
            "maxpool2": nn.MaxPool2d(3, 2, ceil_mode=True),
        }
        for key, row in table.items():
            if key == "4a":
                mods["maxpool3"] = nn.MaxPool2d(3, 2, ceil_mode=True)
            if key == "5a":
                mods["maxpool4"] = nn.MaxPool2d(2, 2, ceil_mode=True)
            mods[f"inception{key}"] = Inception(*row)
        return seq(**mods, avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                   dropout=nn.Dropout(0.2), fc=nn.Linear(1024, 1000))

    def cbr(cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1) -> nn.Module:
        conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU6())

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, t: int):
            super().__init__()
            hidden = cin * t
            layers = [cbr(cin, hidden)] if t != 1 else []
            layers += [
                cbr(hidden, hidden, 3, stride, groups=hidden),
                nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
            ]
            self.conv = nn.Sequential(*layers)
            self.use_res = stride == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x) if self.use_res else self.conv(x)

    def mobilenetv2() -> nn.Module:
        blocks, cin = [cbr(3, 32, 3, 2)], 32
        # Sandler et al. 2018, Table 2: expansion t, channels c, repeats n, first stride s
        table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                 (6, 160, 3, 2), (6, 320, 1, 1)]
        for t, c, n, s in table:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        blocks.append(cbr(320, 1280))
        return seq(features=nn.Sequential(*blocks), avgpool=nn.AdaptiveAvgPool2d(1),
                   flatten=nn.Flatten(),
                   classifier=nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000)))

    class DenseLayer(nn.Module):
        def __init__(self, cin: int, k: int = 32):
            super().__init__()
            self.norm1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU()
            self.conv1 = nn.Conv2d(cin, 4 * k, 1, bias=False)
            self.norm2, self.relu2 = nn.BatchNorm2d(4 * k), nn.ReLU()
            self.conv2 = nn.Conv2d(4 * k, k, 3, padding=1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv1(self.relu1(self.norm1(x)))
            return torch.cat([x, self.conv2(self.relu2(self.norm2(y)))], 1)

    def densenet121() -> nn.Module:
        # Huang et al. 2017, Table 1: dense blocks of 6, 12, 24 and 16 layers, growth rate k = 32
        # (DenseNet-BC: 4k-wide 1×1 bottlenecks, transitions halve the channels)
        mods: dict[str, nn.Module] = {
            "conv0": nn.Conv2d(3, 64, 7, 2, 3, bias=False), "norm0": nn.BatchNorm2d(64),
            "relu0": nn.ReLU(), "pool0": nn.MaxPool2d(3, 2, 1),
        }
        c = 64
        for i, n in enumerate((6, 12, 24, 16), start=1):
            mods[f"denseblock{i}"] = seq(**{f"denselayer{j + 1}": DenseLayer(c + 32 * j) for j in range(n)})
            c += 32 * n
            if i < 4:
                mods[f"transition{i}"] = seq(
                    norm=nn.BatchNorm2d(c), relu=nn.ReLU(), conv=nn.Conv2d(c, c // 2, 1, bias=False),
                    pool=nn.AvgPool2d(2),
                )
                c //= 2
        return seq(features=seq(**mods, norm5=nn.BatchNorm2d(c)), relu=nn.ReLU(),
                   avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                   classifier=nn.Linear(c, 1000))

    class Fire(nn.Module):
        def __init__(self, cin: int, squeeze: int, expand: int):
            super().__init__()
            self.squeeze, self.squeeze_activation = nn.Conv2d(cin, squeeze, 1), nn.ReLU()
            self.expand1x1, self.expand1x1_activation = nn.Conv2d(squeeze, expand, 1), nn.ReLU()
            self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)
            self.expand3x3_activation = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.squeeze_activation(self.squeeze(x))
            a = self.expand1x1_activation(self.expand1x1(x))
            return torch.cat([a, self.expand3x3_activation(self.expand3x3(x))], 1)

    def squeezenet1_1() -> nn.Module:
        # SqueezeNet v1.1 (the authors' repository): 3×3/2 conv to 64, then fire modules
        # (squeeze, expand) (16, 64) ×2, (32, 128) ×2, (48, 192) ×2, (64, 256) ×2 between pools
        def pool() -> nn.Module:
            return nn.MaxPool2d(3, 2, ceil_mode=True)

        features = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), Fire(64, 16, 64), Fire(128, 16, 64), pool(),
            Fire(128, 32, 128), Fire(256, 32, 128), pool(), Fire(256, 48, 192),
            Fire(384, 48, 192), Fire(384, 64, 256), Fire(512, 64, 256),
        )
        classifier = nn.Sequential(
            nn.Dropout(), nn.Conv2d(512, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        )
        return seq(features=features, classifier=classifier, flatten=nn.Flatten())

    def cna(cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1,
            act: type[nn.Module] | None = None) -> nn.Module:
        conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        bn = nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)
        return nn.Sequential(conv, bn, *([act()] if act else []))

    class SqueezeExcitation(nn.Module):
        def __init__(self, c: int):
            super().__init__()
            s = max(8, (c // 4 + 4) // 8 * 8)  # a quarter of the channels, to a multiple of 8
            self.avgpool, self.fc1, self.activation = nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, s, 1), nn.ReLU()
            self.fc2, self.scale_activation = nn.Conv2d(s, c, 1), nn.Hardsigmoid()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.fc2(self.activation(self.fc1(self.avgpool(x))))
            return x * self.scale_activation(y)

    class Bneck(nn.Module):
        def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, hs: bool, stride: int):
            super().__init__()
            act = nn.Hardswish if hs else nn.ReLU
            layers = [cna(cin, exp, act=act)] if exp != cin else []
            layers.append(cna(exp, exp, k, stride, exp, act))
            layers += [SqueezeExcitation(exp)] if se else []
            self.block = nn.Sequential(*layers, cna(exp, cout))
            self.use_res = stride == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.block(x) if self.use_res else self.block(x)

    def mobilenetv3_small() -> nn.Module:
        # Howard et al. 2019, Table 2: kernel, expansion, out, SE, hard-swish (else ReLU), stride
        table = [(3, 16, 16, 1, 0, 2), (3, 72, 24, 0, 0, 2), (3, 88, 24, 0, 0, 1),
                 (5, 96, 40, 1, 1, 2), (5, 240, 40, 1, 1, 1), (5, 240, 40, 1, 1, 1),
                 (5, 120, 48, 1, 1, 1), (5, 144, 48, 1, 1, 1), (5, 288, 96, 1, 1, 2),
                 (5, 576, 96, 1, 1, 1), (5, 576, 96, 1, 1, 1)]
        blocks, cin = [cna(3, 16, 3, 2, act=nn.Hardswish)], 16
        for k, exp, cout, se, hs, stride in table:
            blocks.append(Bneck(cin, k, exp, cout, bool(se), bool(hs), stride))
            cin = cout
        blocks.append(cna(96, 576, act=nn.Hardswish))
        classifier = nn.Sequential(
            nn.Linear(576, 1024), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(1024, 1000)
        )
        return seq(features=nn.Sequential(*blocks), avgpool=nn.AdaptiveAvgPool2d(1),
                   flatten=nn.Flatten(), classifier=classifier)

    return {"lenet5": lenet5, "alexnet": alexnet, "resnet18": resnet18,
            "googlenet": googlenet, "mobilenetv2": mobilenetv2, "densenet121": densenet121,
            "squeezenet1_1": squeezenet1_1, "mobilenetv3_small": mobilenetv3_small}


Row = tuple[int, int, tuple[int, ...]]


def measure(net, shape: tuple[int, ...]) -> tuple[dict[str, Row], int, int]:
    """From torch: (params, MACs, output shape) of each leaf module that has weights, keyed by
    its path; total MACs; total buffer elements."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    leaves = {
        n: m for n, m in net.named_modules()
        if not list(m.children()) and list(m.parameters(recurse=False))
    }
    shapes: dict[str, tuple[int, ...]] = {}
    for n, m in leaves.items():
        m.register_forward_hook(lambda _m, _i, out, n=n: shapes.__setitem__(n, tuple(out.shape)))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net.eval()(torch.zeros(1, *shape, device="meta"))
    # keys are "<root class>.<module path>"; values per op, inclusive of children
    flops = {k.partition(".")[2]: sum(v.values()) for k, v in counter.get_flop_counts().items()}
    rows = {
        n: (sum(p.numel() for p in m.parameters()), flops.get(n, 0) // 2, shapes[n])
        for n, m in leaves.items()
    }
    return rows, counter.get_total_flops() // 2, sum(b.numel() for b in net.buffers())


@pytest.mark.parametrize("name", [
    "lenet5", "alexnet", "resnet18", "googlenet", "mobilenetv2", "densenet121", "squeezenet1_1",
    "mobilenetv3_small",
])
def test_spec_matches_the_net_written_in_torch(name: str) -> None:
    torch = require_torch()
    with torch.device("meta"):  # shapes and counts only: no weights allocated, no arithmetic
        net = torch_nets()[name]()
    rows, macs, buffers = measure(net, IO[name][0])
    r = report(name)
    got = {s.name: (s.params, s.macs, s.output_shape) for s in r.layers if s.name in rows}
    assert got == rows  # every torch module with weights, under the same name
    params = sum(p.numel() for p in net.parameters())
    assert (r.totals.params, r.totals.macs, r.totals.buffers) == (params, macs, buffers)
    published_params, published_macs, _, published_buffers = PUBLISHED[name]
    assert (params, macs, buffers) == (published_params, published_macs, published_buffers)


def test_resnet50_receptive_field_by_hand() -> None:
    """docs/receptive-fields.md's ResNet-50 row: r = 427, S = 32, P = 213 at the end of layer4, by
    the recurrence r += (k − 1)·S, P += p·S, S ×= s along the longest path (torchvision's v1.5: the
    stride on each stage's first 3×3; 1×1 convs add nothing)."""
    r, s, p = 1, 1, 0

    def step(k: int, stride: int, pad: int) -> None:
        nonlocal r, s, p
        r, p, s = r + (k - 1) * s, p + pad * s, s * stride

    step(7, 2, 3)  # conv1
    step(3, 2, 1)  # maxpool
    for blocks, first_stride in ((3, 1), (4, 2), (6, 2), (3, 2)):  # layer1 … layer4
        for b in range(blocks):
            step(3, first_stride if b == 0 else 1, 1)  # each bottleneck's 3×3
    assert (r, s, p) == (427, 32, 213)
    field = report("resnet50").layer("layer4.2.relu3").receptive_field
    assert (field.size, field.stride, field.padding) == ((427, 427), (32, 32), (213, 213))
