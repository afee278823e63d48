"""The layer families of modern nets (issue 9), each against an independent reference: the real
torch module built by hand here (shape, parameters, buffers; MACs by FlopCounterMode where it sees
the module), the recurrences and attention written out with matmuls, and the lecture's numbers.
"""

from __future__ import annotations

import pytest

import cnncalc

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def analyse(input_shape, item, dtype=None):
    spec_input = list(input_shape) if dtype is None else {"shape": list(input_shape), "dtype": dtype}
    report = cnncalc.analyze({"input": spec_input, "layers": [item]})
    return report.layers[-1]


def measure(module, x):
    """(output shape without batch, params, buffers, MACs by FlopCounterMode ÷ 2) of a real module."""
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = module(x)
    if isinstance(y, tuple):
        y = y[0]
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    return tuple(y.shape[1:]), params, buffers, counter.get_total_flops() // 2


def check(input_shape, item, module, x=None, macs=None):
    """The analysis agrees with the module on shape, params and buffers, and on MACs (measured
    unless ``macs`` gives the independent figure)."""
    x = torch.randn(2, *input_shape) if x is None else x
    shape, params, buffers, measured = measure(module, x)
    got = analyse(input_shape, item, None if x.dtype.is_floating_point else "int64")
    assert got.output_shape[1:] == shape
    assert got.params == params
    assert got.buffers == buffers
    assert got.macs == (measured // 2 if macs is None else macs)  # measured is for batch 2


# ---- upsampling ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape,args,torch_kw",
    [
        ([3, 7, 9], {"scale": 2}, {"scale_factor": 2}),
        ([3, 7, 9], {"scale": 1.5, "mode": "bilinear"}, {"scale_factor": 1.5, "mode": "bilinear"}),
        ([3, 7, 9], {"size": [10, 4], "mode": "bicubic", "align_corners": True},
         {"size": (10, 4), "mode": "bicubic", "align_corners": True}),
        ([2, 11], {"scale": 3, "mode": "linear"}, {"scale_factor": 3, "mode": "linear"}),
        ([2, 3, 4, 5], {"scale": [2, 1, 3], "mode": "trilinear"}, {"scale_factor": (2, 1, 3), "mode": "trilinear"}),
        ([1, 5, 5], {"scale": 2.6}, {"scale_factor": 2.6}),
    ],
)
def test_upsample_matches_torch(shape, args, torch_kw):
    check(shape, {"upsample": args}, nn.Upsample(**torch_kw))


def test_pixelshuffle_and_unshuffle_match_torch():
    check([18, 4, 5], {"pixelshuffle": {"factor": 3}}, nn.PixelShuffle(3))
    check([2, 6, 8], {"pixelunshuffle": {"factor": 2}}, nn.PixelUnshuffle(2))


# ---- padding ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape,args,module",
    [
        ([3, 5, 6], {"padding": 2}, nn.ZeroPad2d(2)),
        ([3, 5, 6], {"padding": [1, 2, 0, 3], "mode": "reflect"}, nn.ReflectionPad2d((1, 2, 0, 3))),
        ([2, 7], {"padding": [3, 0], "mode": "replicate"}, nn.ReplicationPad1d((3, 0))),
        ([1, 3, 4, 5], {"padding": [1, 1, 2, 0, 0, 1], "mode": "constant", "value": 0.5},
         nn.ConstantPad3d((1, 1, 2, 0, 0, 1), 0.5)),
        ([2, 4, 4], {"padding": [1, 2], "mode": "circular"}, nn.CircularPad2d((1, 2, 0, 0))),
    ],
)
def test_pad_matches_torch(shape, args, module):
    check(shape, {"pad": args}, module)


# ---- locally connected -------------------------------------------------------------------------------
def locally_connected_loop(x, weight, bias, stride, padding):
    """A locally connected 2-D layer written as a loop over output positions (the reference)."""
    x = F.pad(x, (padding, padding, padding, padding))
    n = x.shape[0]
    oh, ow, cout, _, kh, kw = weight.shape
    out = torch.zeros(n, cout, oh, ow)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = torch.einsum("nckl,ockl->no", patch, weight[i, j]) + bias[:, i, j]
    return out


def test_locally_connected_counts_by_hand():
    got = analyse([3, 8, 8], {"locallyconnected": {"out": 4, "kernel": 3, "stride": 1}})
    # 6×6 positions × 4 filters × 3 channels × 3×3, plus 4 × 6×6 biases
    assert got.output_shape == (1, 4, 6, 6)
    assert got.params == 36 * 4 * 3 * 9 + 4 * 36
    assert got.macs == 36 * 4 * 3 * 9


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (3, 2)])
def test_locally_connected_module_equals_a_loop_over_positions(stride, padding):
    """The module the spec builds (unfold + einsum) computes what a loop over positions computes, and
    has the analysis's parameter count."""
    from cnncalc.torch.builder import build

    spec = {"input": [3, 9, 8], "layers": [
        {"locallyconnected": {"out": 4, "kernel": 3, "stride": stride, "padding": padding}, "name": "lc"}]}
    net = build(cnncalc.parse_spec(spec)).eval()
    module = net.layer("lc")
    report = cnncalc.analyze(spec)
    assert sum(p.numel() for p in module.parameters()) == report.totals.params
    oh, ow = report.layer("lc").output_shape[2:]
    weight = module.weight.view(oh, ow, 4, 3, 3, 3)
    x = torch.randn(2, 3, 9, 8)
    with torch.no_grad():
        assert torch.allclose(net(x), locally_connected_loop(x, weight, module.bias, stride, padding), atol=1e-5)


def test_lecture_locally_connected_vs_shared_and_dense():
    """Lecture: a 200×200 image, 40K hidden units: fully connected 1.6 G weights (the slide's "~2B"),
    locally connected with 10×10 filters "4M", a shared conv of 100 10×10 filters 10K."""
    dense = analyse([200 * 200], {"linear": {"out": 40_000, "bias": False}})
    assert dense.params == 1_600_000_000
    local = analyse([1, 200, 200], {"locallyconnected": {"out": 1, "kernel": 10, "padding": "same", "bias": False}})
    assert local.output_shape == (1, 1, 200, 200)  # 40K hidden units
    assert local.params == 40_000 * 100 == 4_000_000
    shared = analyse([1, 200, 200], {"conv": {"out": 100, "kernel": 10, "bias": False}})
    assert shared.params == 10_000


# ---- norms -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape,item,module",
    [
        ([10, 16], "layernorm", nn.LayerNorm(16)),
        ([10, 16], {"layernorm": {"axes": 2, "bias": False}}, nn.LayerNorm((10, 16), bias=False)),
        ([4, 6], {"layernorm": {"affine": False}}, nn.LayerNorm(6, elementwise_affine=False)),
        ([8, 5, 5], {"groupnorm": {"groups": 4}}, nn.GroupNorm(4, 8)),
        ([8, 5, 5], {"groupnorm": {"groups": 2, "affine": False}}, nn.GroupNorm(2, 8, affine=False)),
        ([6, 5, 5], "instancenorm", nn.InstanceNorm2d(6)),
        ([6, 9], {"instancenorm": {"affine": True, "track_running_stats": True}},
         nn.InstanceNorm1d(6, affine=True, track_running_stats=True)),
    ],
)
def test_norms_match_torch(shape, item, module):
    check(shape, item, module)


def test_layernorm_over_channels_is_convnext_layernorm2d():
    got = analyse([96, 56, 56], {"layernorm": {"over": "channels", "eps": 1e-6}})
    assert got.output_shape == (1, 96, 56, 56)
    assert got.params == 2 * 96 == sum(p.numel() for p in nn.LayerNorm(96).parameters())


# ---- recurrent -------------------------------------------------------------------------------------
def recurrence_macs(kind, x, h, layers=1, dirs=1, proj=0, steps=1):
    """MACs of the gate matmuls written out with torch.matmul, counted by FlopCounterMode (the
    reference ``cnncalc verify`` uses too: FlopCounterMode counts nn.LSTM itself as 0)."""
    g = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    r = proj or h
    out = proj or h
    with FlopCounterMode(display=False) as counter:
        for layer in range(layers):
            fin = x if layer == 0 else out * dirs
            for _ in range(dirs):
                w_ih, w_hh = torch.randn(g * h, fin), torch.randn(g * h, r)
                xt, ht = torch.randn(1, fin), torch.randn(1, r)
                for _ in range(steps):
                    torch.matmul(xt, w_ih.t())
                    torch.matmul(ht, w_hh.t())
                    if proj:
                        torch.matmul(torch.randn(1, h), torch.randn(proj, h).t())
    return counter.get_total_flops() // 2


@pytest.mark.parametrize(
    "kind,module_cls,args",
    [
        ("rnn", nn.RNN, {"hidden": 20}),
        ("rnn", nn.RNN, {"hidden": 7, "layers": 2, "bidirectional": True, "nonlinearity": "relu"}),
        ("lstm", nn.LSTM, {"hidden": 32}),
        ("lstm", nn.LSTM, {"hidden": 16, "layers": 3, "bidirectional": True, "bias": False}),
        ("lstm", nn.LSTM, {"hidden": 16, "layers": 2, "proj": 5, "bidirectional": True}),
        ("gru", nn.GRU, {"hidden": 24, "layers": 2}),
        ("gru", nn.GRU, {"hidden": 9, "bidirectional": True}),
    ],
)
def test_recurrent_matches_torch(kind, module_cls, args):
    t, x = 11, 13
    kw = {"hidden_size": args["hidden"], "num_layers": args.get("layers", 1),
          "bidirectional": args.get("bidirectional", False), "bias": args.get("bias", True), "batch_first": True}
    if "proj" in args:
        kw["proj_size"] = args["proj"]
    if "nonlinearity" in args:
        kw["nonlinearity"] = args["nonlinearity"]
    module = module_cls(x, **kw)
    macs = recurrence_macs(kind, x, args["hidden"], args.get("layers", 1), 2 if args.get("bidirectional") else 1,
                           args.get("proj", 0), steps=t)
    check([t, x], {kind: args}, module, macs=macs)


def test_lstm_parameter_formula_from_the_issue():
    """4·(h·(x+h) + 2h) per layer and direction."""
    h, x = 128, 64
    got = analyse([50, x], {"lstm": {"hidden": h}})
    assert got.params == 4 * (h * (x + h) + 2 * h)
    assert got.macs == 50 * 4 * h * (x + h)


# ---- embedding and attention -----------------------------------------------------------------------
def test_embedding_matches_torch():
    ids = torch.randint(0, 100, (2, 50))
    check([50], {"embedding": {"num": 100, "dim": 32}}, nn.Embedding(100, 32), x=ids)


def attention_macs(t, e, tk=None, kdim=None, vdim=None):
    """Q, K, V projections, Q·Kᵀ, A·V and the output projection written out with matmuls."""
    tk = tk or t
    kdim, vdim = kdim or e, vdim or e
    with FlopCounterMode(display=False) as counter:
        q = torch.randn(t, e) @ torch.randn(e, e)
        k = torch.randn(tk, kdim) @ torch.randn(kdim, e)
        v = torch.randn(tk, vdim) @ torch.randn(vdim, e)
        a = q @ k.t()
        o = a @ v
        o @ torch.randn(e, e)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("t,e,heads,bias", [(197, 768, 12, True), (10, 16, 4, False), (5, 6, 1, True)])
def test_self_attention_matches_torch(t, e, heads, bias):
    module = nn.MultiheadAttention(e, heads, bias=bias, batch_first=True)
    x = torch.randn(2, t, e)
    got = analyse([t, e], {"multiheadattention": {"heads": heads, "bias": bias}})
    assert got.output_shape[1:] == tuple(module(x, x, x, need_weights=False)[0].shape[1:])
    assert got.params == sum(p.numel() for p in module.parameters())
    assert got.macs == attention_macs(t, e) == 4 * t * e * e + 2 * t * t * e


def test_cross_attention_with_other_key_value_sizes():
    e, tq, tk, kdim, vdim = 16, 7, 9, 5, 3
    module = nn.MultiheadAttention(e, 4, kdim=kdim, vdim=vdim, batch_first=True)
    from cnncalc.layers import RULES

    r = RULES["multiheadattention"].infer({"heads": 4, "embed": None, "bias": True, "dropout": 0.0},
                                          [(tq, e), (tk, kdim), (tk, vdim)])
    assert r.params == sum(p.numel() for p in module.parameters())
    assert r.macs == attention_macs(tq, e, tk, kdim, vdim)
    q, k, v = torch.randn(2, tq, e), torch.randn(2, tk, kdim), torch.randn(2, tk, vdim)
    assert r.shape == tuple(module(q, k, v, need_weights=False)[0].shape[1:])


# ---- tensor plumbing -------------------------------------------------------------------------------
def test_reshape_permute_select():
    assert analyse([768, 14, 14], {"reshape": {"shape": [768, -1]}}).output_shape == (1, 768, 196)
    assert analyse([768, 196], {"permute": {"dims": [0, 2, 1]}}).output_shape == (1, 196, 768)
    assert analyse([197, 768], {"select": {"dim": 1, "index": 0}}).output_shape == (1, 768)
    x = torch.randn(2, 3, 4, 5)
    assert analyse([3, 4, 5], {"permute": {"dims": [0, 2, 3, 1]}}).output_shape[1:] == tuple(x.permute(0, 2, 3, 1).shape[1:])


@pytest.mark.parametrize("shape,item,index", [
    ([116, 28, 28], {"slice": {"end": 58}}, (slice(None), slice(0, 58))),  # ShuffleNet's x.chunk(2, dim=1)[0]
    ([116, 28, 28], {"slice": {"start": 58}}, (slice(None), slice(58, None))),
    ([56, 56, 96], {"slice": {"dim": 1, "start": 1, "step": 2}}, (slice(None), slice(1, None, 2))),  # Swin's x[:, 1::2]
    ([56, 56, 96], {"slice": {"dim": 2, "step": 2}}, (slice(None), slice(None), slice(0, None, 2))),
    ([10, 7], {"slice": {"dim": -1, "start": -3, "end": -1}}, (Ellipsis, slice(-3, -1))),
    ([10, 7], {"slice": {"start": 2, "end": 100, "step": 3}}, (slice(None), slice(2, 100, 3))),
])
def test_slice_is_python_slicing(shape, item, index):
    x = torch.randn(2, *shape)
    got = analyse(shape, item)
    assert got.output_shape[1:] == tuple(x[index].shape[1:])
    assert got.params == got.macs == got.flops == 0


def test_slice_that_keeps_nothing_is_refused():
    with pytest.raises(cnncalc.SpecError, match="keep no index"):
        analyse([4, 6], {"slice": {"start": 5, "end": 2}})
    with pytest.raises(cnncalc.SpecError, match="not a non-batch axis"):
        analyse([4, 6], {"slice": {"dim": 0}})


def test_learned_tensors_of_vit_and_convnext():
    assert analyse([196, 768], "classtoken").params == 768  # torchvision ViT: class_token (1, 1, 768)
    assert analyse([196, 768], "classtoken").output_shape == (1, 197, 768)
    assert analyse([197, 768], "posembedding").params == 197 * 768  # pos_embedding (1, 197, 768)
    assert analyse([96, 56, 56], "layerscale").params == 96  # ConvNeXt: layer_scale (96, 1, 1)


@pytest.mark.parametrize("item,shape", [
    ({"stochasticdepth": {"p": 0.1}}, [8, 4, 4]),
    ({"droppath": {"p": 0.1}}, [8, 4, 4]),
    ({"dropout2d": {"p": 0.2}}, [8, 4, 4]),
    ({"dropout3d": None}, [8, 2, 4, 4]),
])
def test_identity_at_inference(item, shape):
    got = analyse(shape, item)
    assert got.output_shape == (1, *shape)
    assert got.params == got.macs == got.flops == 0
