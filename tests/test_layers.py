"""One row per layer rule: shape, parameters, buffers and MACs worked out by hand from the formulas.

Every registered rule must appear here (see test_every_rule_is_covered).
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.layers import RULES


def run(input_shape, *items, batch=1):
    spec = {"input": list(input_shape), "layers": list(items)}
    return cnncalc.analyze(spec, batch)


# (input, layer item(s), output shape without batch, params, buffers, MACs) — numbers by hand.
CASES = {
    "conv": [
        ([3, 224, 224], {"conv": {"out": 64, "kernel": 3, "padding": 1}}, [64, 224, 224], 3 * 64 * 9 + 64, 0, 64 * 224 * 224 * 3 * 9),
        ([3, 224, 224], {"conv": {"out": 64, "kernel": 7, "stride": 2, "padding": 3, "bias": False}}, [64, 112, 112], 64 * 3 * 49, 0, 64 * 112 * 112 * 3 * 49),
        ([32, 56, 56], {"conv": {"out": 32, "kernel": 3, "padding": 1, "groups": 32, "bias": False}}, [32, 56, 56], 32 * 9, 0, 32 * 56 * 56 * 9),
        ([8, 20, 20], {"conv": {"out": 4, "kernel": 3, "dilation": 2, "groups": 2}}, [4, 16, 16], 4 * 4 * 9 + 4, 0, 4 * 16 * 16 * 4 * 9),
        ([4, 10, 12], {"conv": {"out": 6, "kernel": [1, 3], "padding": [0, 1], "stride": [2, 1]}}, [6, 5, 12], 6 * 4 * 3 + 6, 0, 6 * 5 * 12 * 4 * 3),
        ([2, 9], {"conv": {"out": 3, "kernel": 4, "padding": "same"}}, [3, 9], 3 * 2 * 4 + 3, 0, 3 * 9 * 2 * 4),
        ([2, 9], {"conv": {"out": 3, "kernel": 4, "padding": "valid"}}, [3, 6], 3 * 2 * 4 + 3, 0, 3 * 6 * 2 * 4),
        ([1, 8, 8, 8], {"conv": {"out": 2, "kernel": 3, "stride": 2}}, [2, 3, 3, 3], 2 * 27 + 2, 0, 2 * 27 * 27),
    ],
    "convtranspose": [  # (N−1)·S − 2P + D·(F−1) + output_padding + 1; params C_in·C_out/g·∏F; MACs input positions × that
        ([4, 7, 7], {"convtranspose": {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1}}, [6, 14, 14], 4 * 6 * 9 + 6, 0, 7 * 7 * 4 * 6 * 9),
        ([4, 7, 7], {"convtranspose": {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2}}, [6, 14, 14], 4 * 3 * 9 + 6, 0, 7 * 7 * 4 * 3 * 9),
        ([2, 5], {"convtranspose": {"out": 3, "kernel": 3, "dilation": 2, "bias": False}}, [3, 9], 2 * 3 * 3, 0, 5 * 2 * 3 * 3),
        ([2, 3, 3, 3], {"convtranspose": {"out": 4, "kernel": 2, "stride": 2}}, [4, 6, 6, 6], 2 * 4 * 8 + 4, 0, 27 * 2 * 4 * 8),
        ([3, 4, 5], {"convtranspose": {"out": 2, "kernel": [1, 3], "stride": [1, 2], "padding": [0, 1]}}, [2, 4, 9], 3 * 2 * 3 + 2, 0, 20 * 3 * 2 * 3),
    ],
    "maxpool": [
        ([64, 112, 112], {"maxpool": {"kernel": 3, "stride": 2, "padding": 1}}, [64, 56, 56], 0, 0, 0),
        ([64, 112, 112], {"maxpool": {"kernel": 3, "stride": 2, "ceil_mode": True}}, [64, 56, 56], 0, 0, 0),
        ([1, 6, 6], {"maxpool": {"kernel": 3, "stride": 2, "ceil_mode": True}}, [1, 3, 3], 0, 0, 0),
        ([1, 6, 6], {"maxpool": {"kernel": 3, "stride": 2}}, [1, 2, 2], 0, 0, 0),
        ([1, 10], {"maxpool": {"kernel": 2, "dilation": 2}}, [1, 4], 0, 0, 0),
    ],
    "avgpool": [
        ([16, 28, 28], {"avgpool": {"kernel": 2}}, [16, 14, 14], 0, 0, 0),
        ([16, 7, 7], {"avgpool": {"kernel": 2, "ceil_mode": True}}, [16, 4, 4], 0, 0, 0),
    ],
    "adaptiveavgpool": [
        ([512, 7, 7], {"adaptiveavgpool": {"out": 1}}, [512, 1, 1], 0, 0, 0),
        ([256, 13, 13], {"adaptiveavgpool": {"out": 6}}, [256, 6, 6], 0, 0, 0),
        ([4, 7, 5], {"adaptiveavgpool": {"out": [3, None]}}, [4, 3, 5], 0, 0, 0),
    ],
    "adaptivemaxpool": [([8, 9, 9, 9], {"adaptivemaxpool": {"out": 2}}, [8, 2, 2, 2], 0, 0, 0)],
    "linear": [
        ([25088], {"linear": {"out": 4096}}, [4096], 25088 * 4096 + 4096, 0, 25088 * 4096),
        ([84], {"linear": {"out": 10, "bias": False}}, [10], 840, 0, 840),
        ([5, 7], {"linear": {"out": 3}}, [5, 3], 7 * 3 + 3, 0, 5 * 7 * 3),
    ],
    "flatten": [
        ([512, 7, 7], "flatten", [25088], 0, 0, 0),
        ([4, 3, 5], {"flatten": {"start_dim": 2}}, [4, 15], 0, 0, 0),
        ([4, 3, 5, 2], {"flatten": {"start_dim": 1, "end_dim": 2}}, [12, 5, 2], 0, 0, 0),
    ],
    "batchnorm": [
        ([64, 56, 56], "batchnorm", [64, 56, 56], 128, 129, 0),
        ([10], {"batchnorm": {"affine": False}}, [10], 0, 21, 0),
        ([6, 4, 4, 4], {"batchnorm": {"track_running_stats": False}}, [6, 4, 4, 4], 12, 0, 0),
    ],
    "dropout": [([100], {"dropout": {"p": 0.2}}, [100], 0, 0, 0)],
    "add": [([3, 8, 8], [{"conv": {"out": 3, "kernel": 1, "bias": False}, "name": "a"}, {"add": None, "from": ["input", "a"]}], [3, 8, 8], 0, 0, 0)],
    "mul": [([4, 8, 8], [{"adaptiveavgpool": {"out": 1}, "name": "g"}, {"mul": None, "from": ["input", "g"]}], [4, 8, 8], 0, 0, 0)],
    "concat": [([3, 8, 8], [{"conv": {"out": 5, "kernel": 1}, "name": "a"}, {"concat": None, "from": ["input", "a"]}], [8, 8, 8], 0, 0, 0)],
    # the layer families of modern nets (issue 9); tests/test_layers_modern.py checks each against torch
    "upsample": [([3, 7, 9], {"upsample": {"scale": 2}}, [3, 14, 18], 0, 0, 0),
                 ([3, 7, 9], {"upsample": {"scale": 1.5, "mode": "bilinear"}}, [3, 10, 13], 0, 0, 0)],
    "pixelshuffle": [([18, 4, 5], {"pixelshuffle": {"factor": 3}}, [2, 12, 15], 0, 0, 0)],
    "pixelunshuffle": [([2, 6, 8], {"pixelunshuffle": {"factor": 2}}, [8, 3, 4], 0, 0, 0)],
    "pad": [([3, 5, 6], {"pad": {"padding": [1, 2, 0, 3]}}, [3, 8, 9], 0, 0, 0),
            ([3, 5, 6], {"pad": {"padding": 2, "mode": "reflect"}}, [3, 9, 10], 0, 0, 0)],
    # 6×6 positions, each with its own 4 filters of 3×3×3, and a bias per position and filter
    "locallyconnected": [([3, 8, 8], {"locallyconnected": {"out": 4, "kernel": 3}}, [4, 6, 6], 36 * 4 * 27 + 4 * 36, 0, 36 * 4 * 27)],
    "layernorm": [([10, 16], "layernorm", [10, 16], 2 * 16, 0, 0),
                  ([96, 7, 7], {"layernorm": {"over": "channels"}}, [96, 7, 7], 2 * 96, 0, 0)],
    "groupnorm": [([8, 5, 5], {"groupnorm": {"groups": 4}}, [8, 5, 5], 2 * 8, 0, 0)],
    "instancenorm": [([6, 5, 5], {"instancenorm": {"affine": True, "track_running_stats": True}}, [6, 5, 5], 12, 13, 0)],
    # RNN: h·(x + h) + 2h; T steps × h·(x + h)
    "rnn": [([11, 13], {"rnn": {"hidden": 20}}, [11, 20], 20 * 33 + 40, 0, 11 * 20 * 33)],
    # LSTM: 4·(h·(x + h) + 2h); T × 4·h·(x + h)
    "lstm": [([50, 64], {"lstm": {"hidden": 128}}, [50, 128], 4 * (128 * 192 + 256), 0, 50 * 4 * 128 * 192)],
    # GRU, two directions: 2 × 3·(h·(x + h) + 2h)
    "gru": [([11, 13], {"gru": {"hidden": 24, "bidirectional": True}}, [11, 48], 2 * 3 * (24 * 37 + 48), 0, 2 * 11 * 3 * 24 * 37)],
    "embedding": [([50], {"embedding": {"num": 100, "dim": 32}}, [50, 32], 3200, 0, 0)],
    # 4·E² + 4·E params; 4·T·E² + 2·T²·E MACs
    "multiheadattention": [([10, 16], {"multiheadattention": {"heads": 4}}, [10, 16], 4 * 256 + 64, 0, 4 * 10 * 256 + 2 * 100 * 16)],
    # MaxViT: 4·D² + 4·D + (2p − 1)²·h params, P² buffers, 4·G·P·D² + 2·G·P²·D MACs
    "relativeattention": [([4, 49, 64], {"relativeattention": {"head_dim": 32}}, [4, 49, 64],
                           4 * 64 * 64 + 4 * 64 + 13 * 13 * 2, 49 * 49, 4 * 4 * 49 * 64 * 64 + 2 * 4 * 49 * 49 * 64)],
    # Swin-T's first block at 56×56×96, 3 heads, window 7: 4·C² + 4·C + 13·13·3 params, 49² index
    # buffer; 4·P·C² + 2·P·49·C MACs over P = 3136 positions (tests/test_layers_window.py has more)
    "windowattention": [([56, 56, 96], {"windowattention": {"heads": 3, "window": 7, "shift": 3}}, [56, 56, 96],
                         4 * 96 * 96 + 4 * 96 + 169 * 3, 49 * 49, 4 * 3136 * 96 * 96 + 2 * 3136 * 49 * 96)],
    "patchmerge": [([7, 7, 96], "patchmerge", [4, 4, 384], 0, 0, 0)],
    "slice": [([8, 6, 6], {"slice": {"dim": 1, "start": 2, "end": 7, "step": 2}}, [3, 6, 6], 0, 0, 0)],  # 2, 4, 6
    "reshape": [([768, 14, 14], {"reshape": {"shape": [768, -1]}}, [768, 196], 0, 0, 0)],
    "permute": [([768, 196], {"permute": {"dims": [0, 2, 1]}}, [196, 768], 0, 0, 0)],
    "select": [([197, 768], {"select": {"dim": 1, "index": 0}}, [768], 0, 0, 0)],
    "classtoken": [([196, 768], "classtoken", [197, 768], 768, 0, 0)],
    "posembedding": [([197, 768], "posembedding", [197, 768], 197 * 768, 0, 0)],
    "layerscale": [([96, 56, 56], "layerscale", [96, 56, 56], 96, 0, 0)],
    "dropout2d": [([8, 4, 4], "dropout2d", [8, 4, 4], 0, 0, 0)],
    "dropout3d": [([8, 2, 4, 4], "dropout3d", [8, 2, 4, 4], 0, 0, 0)],
    "stochasticdepth": [([8, 4, 4], {"stochasticdepth": {"p": 0.1}}, [8, 4, 4], 0, 0, 0)],
    "droppath": [([8, 4, 4], "droppath", [8, 4, 4], 0, 0, 0)],
    # x @ xᵀ on [4, 6]: 4·6·4 MACs; self-attention on 2 heads of [5, 8]: 2·5·5·(8 + 8)
    "matmul": [([4, 6], [{"permute": {"dims": [0, 2, 1]}, "name": "t"}, {"matmul": None, "from": ["input", "t"]}],
                [4, 4], 0, 0, 4 * 6 * 4)],
    "dotattention": [([2, 5, 8], {"dotattention": None, "from": ["input", "input", "input"]}, [2, 5, 8], 0, 0,
                      2 * 5 * 5 * (8 + 8))],
    "scale": [([3, 5, 5], {"scale": {"factor": 0.5}}, [3, 5, 5], 0, 0, 0)],
    # nn.PReLU(): one shared slope; nn.PReLU(8): one per channel
    "prelu": [([8, 5, 5], "prelu", [8, 5, 5], 1, 0, 0), ([8, 5, 5], {"prelu": {"num": 8}}, [8, 5, 5], 8, 0, 0)],
    "mean": [([10, 32], {"mean": {"dims": [1]}}, [32], 0, 0, 0), ([8, 4, 4], {"mean": {"dims": [2, 3]}}, [8], 0, 0, 0)],
    # MViT V1's first block on a 2×8×8 grid of 16 (+ a class token), 1 head, k/v pooled by a 3³ depthwise conv
    # with stride (1, 4, 4) to 2×2×2: norms, qkv, projection, 2 pools (conv + LayerNorm(16)), MLP, 16→32 projection
    "mvitblock": [([129, 16], {"mvitblock": {"heads": 1, "size": [2, 8, 8], "out": 32, "kernel_kv": 3,
                                             "stride_kv": [1, 4, 4]}}, [129, 32],
                   4 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 2 * (16 * 27 + 32) + 16 * 64 + 64 + 64 * 32 + 32 + 16 * 32 + 32,
                   0, 129 * 16 * 48 + 2 * 16 * 27 * 8 + 2 * 129 * 9 * 16 + 129 * 16 * 16 + 129 * 16 * 64 + 129 * 64 * 32
                   + 129 * 16 * 32)],
    # MViT V1's position encoding, 2 frames of 4×4: class token, class position, 2 temporal and 16 spatial rows
    "mvitposition": [([32, 16], {"mvitposition": {"temporal_size": 2}}, [33, 16], 16 * (1 + 1 + 2 + 16), 0, 0),
                     ([32, 16], {"mvitposition": {"rel_pos_embed": True}}, [33, 16], 16, 0, 0)],
}
ACTIVATIONS = ["relu", "relu6", "leakyrelu", "sigmoid", "tanh", "softmax", "gelu", "silu", "hardswish", "hardsigmoid", "elu",
               "identity", "mish", "softplus", "selu", "hardtanh", "logsoftmax"]
for name in ACTIVATIONS:
    CASES[name] = [([3, 5, 5], name, [3, 5, 5], 0, 0, 0)]

ROWS = [(t, *case) for t, cases in CASES.items() for case in cases]


def test_every_rule_is_covered():
    assert set(RULES) == set(CASES)


@pytest.mark.parametrize("layer_type,inp,item,shape,params,buffers,macs", ROWS)
def test_rule(layer_type, inp, item, shape, params, buffers, macs):
    items = item if isinstance(item, list) else [item]
    last = run(inp, *items).layers[-1]
    assert last.type == layer_type
    assert list(last.output_shape) == [1, *shape]
    assert last.params == params
    assert last.buffers == buffers
    assert last.macs == macs


@pytest.mark.parametrize("layer_type,inp,item,shape,params,buffers,macs", ROWS)
def test_batch_scales_macs_and_activations_not_params(layer_type, inp, item, shape, params, buffers, macs):
    items = item if isinstance(item, list) else [item]
    last = run(inp, *items, batch=3).layers[-1]
    assert list(last.output_shape) == [3, *shape]
    assert (last.params, last.macs) == (params, 3 * macs)
    n = 1
    for v in shape:
        n *= v
    assert last.activation_elements == 3 * n
    assert last.activation_bytes == 12 * n


@pytest.mark.parametrize(
    "layer_type,flops",
    [
        # conv: 2 per MAC + one bias add per output element
        ("conv", 2 * (64 * 224 * 224 * 27) + 64 * 224 * 224),
        ("relu", 3 * 5 * 5),
        ("batchnorm", 2 * 64 * 56 * 56),
    ],
)
def test_flops_convention(layer_type, flops):
    row = next(r for r in ROWS if r[0] == layer_type)
    items = row[2] if isinstance(row[2], list) else [row[2]]
    assert run(row[1], *items).layers[-1].flops == flops


@pytest.mark.parametrize("dim,field_kept", [(1, True), (-3, True), (2, False), (-1, False)])
def test_softmax_field_depends_on_its_axis(dim, field_kept):
    last = run([3, 8, 8], {"conv": {"out": 2, "kernel": 3}}, {"softmax": {"dim": dim}}).layers[-1]
    assert (last.rf_dict() is not None) == field_kept


def test_softmax_dim_out_of_range_is_a_spec_error():
    with pytest.raises(cnncalc.SpecError, match="dim=4"):
        run([3, 8, 8], {"softmax": {"dim": 4}})


# Edges where PyTorch's own checks decide (each verified against torch 2.13): cnncalc follows them.
@pytest.mark.parametrize(
    "inp,item,shape",
    [
        ([1, 1], {"maxpool": {"kernel": 2, "ceil_mode": True}}, [1, 1]),  # ceil: one window fits
        ([1, 2, 2], {"avgpool": {"kernel": 3, "stride": 1, "padding": 1}}, [1, 2, 2]),
        ([2, 3], {"softmax": {"dim": 0}}, [2, 3]),  # over the batch: legal in torch
        ([4, 6, 6], [{"adaptiveavgpool": {"out": 1}, "name": "g"}, {"mul": None, "from": ["input", "g"]}], [4, 6, 6]),
    ],
)
def test_torch_edge_cases_accepted(inp, item, shape):
    items = item if isinstance(item, list) else [item]
    assert list(run(inp, *items).layers[-1].output_shape) == [1, *shape]


@pytest.mark.parametrize(
    "inp,items,phrase",
    [
        ([1, 2, 2, 2], [{"avgpool": {"kernel": 3, "stride": 1, "padding": 1}}], "3-D average pooling"),
        ([1, 1], [{"maxpool": {"kernel": 2}}], "output would be empty"),
        ([4, 5], [{"flatten": None, "name": "f"}, {"mul": None, "from": ["input", "f"]}], "same number of axes"),
    ],
)
def test_torch_edge_cases_refused(inp, items, phrase):
    with pytest.raises(cnncalc.SpecError, match=phrase):
        run(inp, *items)
