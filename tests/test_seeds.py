"""The worked examples of the lecture notes (shared/seeds), each as a tiny spec.

Sources: I2DL lectures 9-10 (Niessner & Leal-Taixé, TUM): output sizes, padding, receptive field,
LeNet/AlexNet/VGG parameter counts, the 1×1 bottleneck, transfer learning with frozen features;
ECE 6504 (Batra, Virginia Tech; slides by Ranzato): the 200×200 image examples, the cost of a
convolution, the receptive field of conv + pool. Every expected number is the lecture's formula
written out, never cnncalc's output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from _support import SPECS
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli


def net(input_shape: list[int], *layers: Any) -> dict[str, Any]:
    return {"name": "seed", "input": input_shape, "layers": list(layers)}


def conv(out: int, kernel: int, **kw: Any) -> dict[str, Any]:
    return {"conv": {"out": out, "kernel": kernel, **kw}}


# ---- output sizes: (N − F)/S + 1 ---------------------------------------------------------------

# I2DL lecture 9: N = 7, F = 3: S = 1 → 4/1 + 1 = 5; S = 2 → 4/2 + 1 = 3; S = 3 → 4/3 + 1 = 2.33,
# "fractions are illegal": in practice floored to 2, which cnncalc reports as a warning.
@pytest.mark.parametrize(
    ("stride", "size", "floored"), [(1, 5, False), (2, 3, False), (3, 2, True)]
)
def test_output_size_n7_f3(stride: int, size: int, floored: bool) -> None:
    report = cnncalc.analyze(net([1, 7, 7], conv(1, 3, stride=stride)))
    assert report.layers[0].output_shape == (1, 1, size, size)
    assert bool(report.warnings) == floored


@pytest.mark.parametrize(("stride", "status"), [(1, 0), (2, 0), (3, 2)])
def test_strict_refuses_a_fractional_size(tmp_path: Path, stride: int, status: int) -> None:
    spec = tmp_path / "seed.yaml"
    spec.write_text(yaml.safe_dump(net([1, 7, 7], conv(1, 3, stride=stride))))
    result = CliRunner().invoke(cli, ["summarize", "--strict", str(spec)])
    assert result.exit_code == status
    if status:
        assert "conv1" in result.stderr and "Traceback" not in result.stderr
        with pytest.raises(cnncalc.SpecError):
            cnncalc.analyze(str(spec), strict=True)


def test_strided_same_conv_is_floored() -> None:
    # I2DL lecture 9: 3×3 conv, padding 1, stride 2 on a 64×64 RGB image:
    # floor((64 + 2·1 − 3)/2 + 1) = floor(32.5) = 32
    report = cnncalc.analyze(net([3, 64, 64], conv(8, 3, stride=2, padding=1)))
    assert report.layers[0].output_shape == (1, 8, math.floor((64 + 2 - 3) / 2 + 1), 32)
    assert report.warnings  # 32.5 is not an integer


@pytest.mark.parametrize("filters", [1, 5])
def test_5x5x3_filters_on_a_32x32x3_image(filters: int) -> None:
    # I2DL lecture 9: each 5×5×3 filter slides over 28×28 positions (no padding) and gives one
    # activation map; five filters give five maps. Each filter has 5·5·3 weights and a bias.
    report = cnncalc.analyze(net([3, 32, 32], conv(filters, 5)))
    s = report.layers[0]
    assert s.output_shape == (1, filters, 28, 28)
    assert s.params == filters * (5 * 5 * 3 + 1)
    assert s.macs == filters * 28 * 28 * 5 * 5 * 3


# ---- the cost of a convolution -------------------------------------------------------------------

# ECE 6504 (Ranzato): M input maps, N output maps, K×K kernels, D×D input, stride 1: the output is
# N@(D−K+1)×(D−K+1), the kernels have M·N·K·K coefficients, the cost is M·K·K·N·(D−K+1)².
@pytest.mark.parametrize(("m", "n", "k", "d"), [(1, 1, 3, 7), (3, 16, 5, 32), (16, 32, 3, 28)])
def test_convolution_cost(m: int, n: int, k: int, d: int) -> None:
    report = cnncalc.analyze(net([m, d, d], conv(n, k, bias=False)))
    s = report.layers[0]
    assert s.output_shape == (1, n, d - k + 1, d - k + 1)
    assert s.params == m * n * k * k
    assert s.macs == m * k * k * n * (d - k + 1) ** 2


def test_200x200_image_100_filters_of_10x10() -> None:
    # ECE 6504: 100 filters of 10×10 on a 200×200 image share their weights: 10K parameters
    report = cnncalc.analyze(net([1, 200, 200], conv(100, 10, bias=False)))
    assert report.totals.params == 100 * 10 * 10 == 10_000


def test_200x200_image_fully_connected_to_40k_units() -> None:
    # ECE 6504: a fully connected layer from 200×200 pixels to 40K hidden units has 200·200·40K
    # = 1.6·10⁹ ("~2B") parameters
    dense = {"linear": {"out": 40_000, "bias": False}}
    report = cnncalc.analyze(net([1, 200, 200], "flatten", dense))
    assert report.totals.params == 200 * 200 * 40_000
    assert round(report.totals.params / 1e9) == 2


def test_1x1_bottleneck_cuts_multiplications_tenfold() -> None:
    # I2DL lecture 10: 32×32×200 → conv 1×1, 16 filters → conv 5×5 "same", 92 filters:
    # 1·1·200·32·32·16 + 5·5·16·32·32·92 ≈ 40 million multiplications, against 5·5·200·32·32·92
    # (≈ 471 million) for the 5×5 convolution applied directly: "reduction by 1/10".
    bottleneck = cnncalc.analyze(net(
        [200, 32, 32], conv(16, 1), "relu", conv(92, 5, padding="same"), "relu",
    ))
    direct = cnncalc.analyze(net([200, 32, 32], conv(92, 5, padding="same"), "relu"))
    assert bottleneck.layers[-1].output_shape == direct.layers[-1].output_shape == (1, 92, 32, 32)
    assert bottleneck.totals.macs == 1 * 1 * 200 * 32 * 32 * 16 + 5 * 5 * 16 * 32 * 32 * 92
    assert bottleneck.totals.macs == 40_960_000
    assert direct.totals.macs == 5 * 5 * 200 * 32 * 32 * 92 == 471_040_000
    assert round(bottleneck.totals.macs / direct.totals.macs, 1) == 0.1


# ---- classic architectures ----------------------------------------------------------------------

# I2DL lecture 10: "LeNet: 60k parameters", "AlexNet: 60M parameters", "VGG-16: 138M parameters".
@pytest.mark.parametrize(("spec", "lecture", "exact"), [
    ("lenet5", 60e3, 61_706),          # 60,000 in the paper, which has a sparse C3 (see the spec)
    ("alexnet", 60e6, 61_100_840),
    ("vgg16", 138e6, 138_357_544),
])
def test_classic_parameter_counts(spec: str, lecture: float, exact: int) -> None:
    params = cnncalc.analyze(SPECS / f"{spec}.yaml").totals.params
    assert params == exact
    assert math.isclose(params, lecture, rel_tol=0.03)


def test_vgg16_output_sizes_with_same_convs() -> None:
    # I2DL lecture 10: VGG's 3×3 "same" convs keep the size and each 2×2 max pool halves it:
    # 224 → 112 → 56 → 28 → 14 → 7 with 64, 128, 256, 512, 512 filters
    result = CliRunner().invoke(cli, ["summarize", "-f", "json", str(SPECS / "vgg16.yaml")])
    assert result.exit_code == 0, result.output
    layers = json.loads(result.stdout)["layers"]
    pools = [x["output_shape"] for x in layers if x["type"] == "maxpool"]
    sizes = [(64, 112), (128, 56), (256, 28), (512, 14), (512, 7)]
    assert pools == [[1, c, s, s] for c, s in sizes]


# ---- receptive fields ---------------------------------------------------------------------------


def test_two_3x3_convs_see_5x5() -> None:
    # I2DL lecture 9: 7×7 input → 3×3 conv → 3×3 conv → 3×3 output; one output value is connected
    # to 5×5 = 25 input pixels
    report = cnncalc.analyze(net([1, 7, 7], conv(1, 3), conv(1, 3)))
    last = report.layers[-1]
    assert last.output_shape == (1, 1, 3, 3)
    assert last.receptive_field.size == (5, 5)


# ECE 6504 (Ranzato): a K×K convolution (stride 1) then P×P pooling (stride P): each pooled unit
# depends on a (P+K−1)×(P+K−1) patch of the convolution's input.
@pytest.mark.parametrize(("k", "p"), [(3, 2), (5, 2), (5, 3), (3, 4)])
@pytest.mark.parametrize("pool", ["maxpool", "avgpool"])
def test_conv_then_pool_receptive_field(k: int, p: int, pool: str) -> None:
    report = cnncalc.analyze(net([1, 36, 36], conv(4, k), {pool: {"kernel": p}}))
    assert report.layers[-1].receptive_field.size == (p + k - 1, p + k - 1)


# ---- transfer learning: train the head, freeze the features -------------------------------------


def test_frozen_features_leave_only_the_head_trainable() -> None:
    # I2DL lecture 10: features trained on ImageNet are FROZEN, only the new classifier for the
    # C classes of the new data set is TRAINed.
    classes = 7
    spec = net(
        [3, 32, 32],
        {"seq": [conv(16, 3, padding=1), "relu", {"maxpool": {"kernel": 2}},
                 conv(32, 3, padding=1), "relu", {"maxpool": {"kernel": 2}}],
         "frozen": True},
        "flatten",
        {"linear": {"out": classes}},
    )
    t = cnncalc.analyze(spec).totals
    head = 32 * 8 * 8 * classes + classes
    features = (3 * 16 * 9 + 16) + (16 * 32 * 9 + 32)
    assert (t.trainable_params, t.frozen_params, t.params) == (head, features, head + features)


def test_alexnet_with_frozen_features_and_a_new_head() -> None:
    # The same on the shipped AlexNet: freeze features.*, replace the last layer for 10 classes.
    doc = yaml.safe_load((SPECS / "alexnet.yaml").read_text())
    for item in doc["layers"]:
        if str(item.get("name", "")).startswith("features."):
            item["frozen"] = True
        if item.get("name") == "classifier.6":
            item["linear"]["out"] = 10
    t = cnncalc.analyze(doc).totals
    head = (256 * 6 * 6 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 10 + 10)
    features = sum(c_out * c_in * k * k + c_out for c_in, c_out, k in [
        (3, 64, 11), (64, 192, 5), (192, 384, 3), (384, 256, 3), (256, 256, 3),
    ])
    assert (t.trainable_params, t.frozen_params) == (head, features)
