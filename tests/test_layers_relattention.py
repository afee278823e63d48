"""``relativeattention`` (MaxViT's RelativePositionalMultiHeadAttention): hand formulas, cnncalc's own
torch module under FlopCounterMode, and (marked ``torchvision``) torchvision's module itself.

References are independent of cnncalc's arithmetic: the formulas written out here, the ``numel`` of
the modules' parameters and buffers, and FlopCounterMode's count ÷ 2 on their forward.
"""

from __future__ import annotations

from typing import Any

import pytest
from _support import require_torch, require_torchvision

import cnncalc
from cnncalc import SpecError
from cnncalc.layers import RULES
from cnncalc.layers.relattention import relative_attention_module

# (G partitions, p, D features, head_dim)
SIZES = [(4, 7, 64, 32), (1, 7, 512, 32), (49, 7, 64, 32), (3, 3, 12, 4), (2, 2, 8, 8), (5, 1, 6, 2), (2, 4, 24, 3),
         (3, 2, 3, 1), (1, 1, 1, 1), (2, 1, 4, 1)]  # the last four: einsums over a length-1 axis


def hand(g: int, p: int, d: int, head_dim: int) -> tuple[int, int, int]:
    """(params, buffers, MACs) written out from torchvision's module."""
    h, tokens = d // head_dim, p * p
    params = (d * 3 * d + 3 * d) + (d * d + d) + (2 * p - 1) ** 2 * h  # to_qkv, merge, bias table
    buffers = tokens * tokens  # relative_position_index
    qkv, merge = g * tokens * d * 3 * d, g * tokens * d * d
    # Q·Kᵀ per partition and head, P × head_dim × P; A·V, P × P × head_dim. torch.einsum sums over a
    # length-1 axis (head_dim 1 for Q·Kᵀ, one token for A·V) by an element-wise mul: no MACs counted
    scores = g * h * tokens * tokens * head_dim if head_dim > 1 else 0
    mix = g * h * tokens * tokens * head_dim if tokens > 1 else 0
    return params, buffers, qkv + scores + mix + merge


def analysed(g: int, p: int, d: int, head_dim: int, **extra: Any):
    spec = {"input": [g, p * p, d], "layers": [{"relativeattention": {"head_dim": head_dim, **extra}}]}
    return cnncalc.analyze(spec).layers[-1]


@pytest.mark.parametrize(("g", "p", "d", "head_dim"), SIZES)
def test_counts_match_the_hand_formulas(g, p, d, head_dim):
    s = analysed(g, p, d, head_dim)
    assert s.output_shape == (1, g, p * p, d)
    assert (s.params, s.buffers, s.macs) == hand(g, p, d, head_dim)
    assert analysed(g, p, d, head_dim, partition=p).macs == s.macs  # partition given: the same layer


def test_maxvit_t_first_stage_by_hand():
    # MaxViT-T stage 1 at 224: 64 channels, 56×56 map, 7×7 windows → 64 windows of 49 tokens, 2 heads
    s = analysed(64, 7, 64, 32)
    assert s.params == 4 * 64 * 64 + 4 * 64 + 13 * 13 * 2 == 16_978
    assert s.buffers == 2_401
    assert s.macs == 4 * 64 * 49 * 64 * 64 + 2 * 64 * 49 * 49 * 64 == 71_049_216


def test_flops_convention():
    g, p, d, hd = 3, 3, 12, 4
    h, tokens = d // hd, p * p
    _, _, macs = hand(g, p, d, hd)
    scores = g * h * tokens * tokens
    # 2 per MAC, 4·D biases per token, k scaled, the position bias added, softmax 3 per score
    assert analysed(g, p, d, hd).flops == 2 * macs + 4 * g * tokens * d + g * tokens * d + scores + 3 * scores
    # head_dim 1: Q·Kᵀ is G·P²·D plain products (1 flop each), not MACs
    g, p, d, hd = 2, 3, 4, 1
    tokens = p * p
    _, _, macs = hand(g, p, d, hd)
    assert macs == 4 * g * tokens * d * d + g * tokens * tokens * d
    assert analysed(g, p, d, hd).flops == 2 * macs + g * tokens * tokens * d + 5 * g * tokens * d + 4 * d * g * tokens * tokens


@pytest.mark.parametrize(
    ("inp", "args", "words"),
    [
        ([4, 49, 64], {"head_dim": 24}, "does not divide"),
        ([4, 48, 64], {"head_dim": 32}, "not a square"),
        ([4, 49, 64], {"head_dim": 32, "partition": 6}, "36 tokens"),
        ([49, 64], {"head_dim": 32}, "[partitions, tokens, features]"),
        ([2, 4, 49, 64], {"head_dim": 32}, "[partitions, tokens, features]"),
    ],
)
def test_impossible_shapes_are_refused(inp, args, words):
    with pytest.raises(SpecError) as e:
        cnncalc.analyze({"input": inp, "layers": [{"relativeattention": args}]})
    assert words in str(e.value)


def test_explain_shows_the_arithmetic():
    rule = RULES["relativeattention"]
    lines = rule.explain({"head_dim": 32, "partition": None}, [(4, 49, 64)])
    text = "\n".join(lines)
    assert "16,978" in text and "2,401" in text and "4,440,576" in text
    assert "169·2" in text


# ---- cnncalc's own module under torch ---------------------------------------------------------------
def torch_counts(module: Any, x: Any) -> tuple[tuple[int, ...], int, int, int]:
    """(output shape, params, buffers, MACs) as torch measures them (FlopCounterMode ÷ 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = module(x)
    params = sum(t.numel() for t in module.parameters())
    buffers = sum(t.numel() for t in module.buffers())
    return tuple(y.shape), params, buffers, counter.get_total_flops() // 2


def brute_index(p: int) -> list[list[int]]:
    """The bias-table row of each (query, key) pair, by loops: offsets shifted to ≥ 0, row-major."""
    cells = [(i, j) for i in range(p) for j in range(p)]
    return [[(a[0] - b[0] + p - 1) * (2 * p - 1) + (a[1] - b[1] + p - 1) for b in cells] for a in cells]


@pytest.mark.parametrize(("g", "p", "d", "head_dim"), SIZES)
def test_own_module_matches_under_flop_counter(g, p, d, head_dim):
    torch = require_torch()
    module = relative_attention_module()(d, head_dim, p * p)
    x = torch.randn(2, g, p * p, d)
    params, buffers, macs = hand(g, p, d, head_dim)
    assert torch_counts(module, x) == ((2, g, p * p, d), params, buffers, 2 * macs)  # batch 2
    assert module.relative_position_index.tolist() == brute_index(p)


def test_own_module_is_the_attention_written_out():
    """Its output equals softmax(q·kᵀ/√D + bias)·v per partition and head, computed with loops."""
    torch = require_torch()
    torch.manual_seed(0)
    g, p, d, hd = 2, 2, 6, 3
    m = relative_attention_module()(d, hd, p * p).eval()
    x = torch.randn(1, g, p * p, d)
    index = brute_index(p)
    with torch.no_grad():
        y = m(x)
        qkv = x @ m.to_qkv.weight.T + m.to_qkv.bias
        want = torch.zeros(1, g, p * p, d)
        for gi in range(g):
            for h in range(d // hd):
                q = qkv[0, gi, :, h * hd:(h + 1) * hd]
                k = qkv[0, gi, :, d + h * hd:d + (h + 1) * hd]
                v = qkv[0, gi, :, 2 * d + h * hd:2 * d + (h + 1) * hd]
                bias = torch.tensor([[m.relative_position_bias_table[index[i][j], h].item() for j in range(p * p)]
                                     for i in range(p * p)])
                want[0, gi, :, h * hd:(h + 1) * hd] = torch.softmax(q @ k.T / d**0.5 + bias, -1) @ v
        want = want @ m.merge.weight.T + m.merge.bias
    assert torch.allclose(y, want, atol=1e-5)


def test_build_and_verify_agree(tmp_path):
    """``cnncalc verify``: the module built on the meta device, then initialised (its index
    recomputed by reset_parameters), agrees layer by layer."""
    require_torch()
    from cnncalc.torch import build, verify

    spec = {
        "name": "maxvit-attention",
        "input": [4, 49, 64],
        "layers": [{"layernorm": {"axes": 1}}, {"relativeattention": {"head_dim": 32, "partition": 7}},
                   {"relativeattention": {"head_dim": 16}, "name": "second"}],
    }
    v = verify(spec)
    assert v.ok, v
    net = build(cnncalc.parse_spec(spec))
    assert net.layer("second").relative_position_index.tolist() == brute_index(7)


def test_from_torch_reads_the_module_back():
    require_torch()
    rule = RULES["relativeattention"]
    m = relative_attention_module()(96, 16, 9)
    assert rule.from_torch({"_module": m, "head_dim": 16, "max_seq_len": 9}) == {"head_dim": 16, "partition": 3}
    name, kwargs = rule.to_torch({"head_dim": 16, "partition": 3}, [(5, 9, 96)])
    assert (name, kwargs) == ("RelativeAttention", {"feat_dim": 96, "head_dim": 16, "max_seq_len": 9})


def test_export_source_runs():
    torch = require_torch()
    from cnncalc.torch import to_pytorch_source

    src = to_pytorch_source({"name": "rel", "input": [3, 16, 8],
                             "layers": [{"relativeattention": {"head_dim": 4}}]})
    scope: dict[str, Any] = {}
    exec(compile(src, "<export>", "exec"), scope)
    classes = [v for v in scope.values() if isinstance(v, type) and issubclass(v, torch.nn.Module)]
    net = next(c for c in classes if c.__name__ not in ("RelativeAttention",))()
    assert tuple(net(torch.randn(2, 3, 16, 8)).shape) == (2, 3, 16, 8)
    assert sum(b.numel() for b in net.buffers()) == 16 * 16


# ---- torchvision's module ---------------------------------------------------------------------------
def tv_module(d: int, head_dim: int, p: int):
    require_torchvision()
    from torchvision.models.maxvit import RelativePositionalMultiHeadAttention

    return RelativePositionalMultiHeadAttention(d, head_dim, p * p)


@pytest.mark.torchvision
@pytest.mark.parametrize(("g", "p", "d", "head_dim"), SIZES)
def test_torchvision_module_counts(g, p, d, head_dim):
    torch = require_torch()
    m = tv_module(d, head_dim, p)
    s = analysed(g, p, d, head_dim)
    measured = torch_counts(m, torch.randn(2, g, p * p, d))
    assert measured == ((2, g, p * p, d), s.params, s.buffers, 2 * s.macs)  # batch 2: MACs twice


@pytest.mark.torchvision
@pytest.mark.parametrize(("g", "p", "d", "head_dim"), SIZES[:4])
def test_own_module_loads_torchvisions_state_and_computes_the_same(g, p, d, head_dim):
    torch = require_torch()
    tv = tv_module(d, head_dim, p).eval()
    own = relative_attention_module()(d, head_dim, p * p).eval()
    own.load_state_dict(tv.state_dict(), strict=True)
    assert torch.equal(own.relative_position_index, tv.relative_position_index)
    x = torch.randn(2, g, p * p, d)
    with torch.no_grad():
        assert torch.allclose(own(x), tv(x), atol=1e-6)


@pytest.mark.torchvision
@pytest.mark.parametrize(("g", "p", "d", "head_dim"), [(4, 7, 64, 32), (3, 3, 12, 4), (2, 4, 24, 3)])
def test_import_keeps_the_module_as_one_layer(g, p, d, head_dim):
    torch = require_torch()
    from torch import nn

    from cnncalc.torch.importer import import_model

    model = nn.Sequential(nn.LayerNorm(d), tv_module(d, head_dim, p), nn.Dropout(0.0))
    spec = import_model(model, (g, p * p, d), "rel").spec
    layers = [next(iter(k for k in item if k not in ("name", "from"))) for item in spec["layers"]]
    assert "relativeattention" in layers
    item = next(i for i in spec["layers"] if "relativeattention" in i)
    assert item["relativeattention"] == {"head_dim": head_dim, "partition": p}
    report = cnncalc.analyze(spec)
    _, params, buffers, macs = torch_counts(model, torch.randn(1, g, p * p, d))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (params, buffers, macs)


@pytest.mark.torchvision
def test_max_seq_len_not_a_square_is_refused():
    require_torch()
    from cnncalc.layers.base import NotExpressible

    m = tv_module(8, 4, 3)
    m.max_seq_len = 10  # size 3, but 10 tokens: torchvision's bias lookup cannot reshape
    with pytest.raises(NotExpressible, match="not a square"):
        RULES["relativeattention"].from_torch({"_module": m})


@pytest.mark.torchvision
def test_maxvit_t_imports_exactly():
    """The whole of torchvision's maxvit_t: every attention one relativeattention layer, and the
    spec's totals torch's own (numel of parameters and buffers, FlopCounterMode ÷ 2 at 3×224×224).
    torchvision documents 30,919,624 parameters and 5.56 GFLOPS."""
    torch = require_torch()
    require_torchvision()
    from torch.utils.flop_counter import FlopCounterMode
    from torchvision.models import maxvit_t

    from cnncalc.torch.importer import import_model

    model = maxvit_t(weights=None).eval()
    spec = import_model(model, (3, 224, 224), "maxvit_t").spec
    types = [next(k for k in item if k not in ("name", "from")) for item in spec["layers"]]
    assert types.count("relativeattention") == 2 * (2 + 2 + 5 + 2)  # window and grid, per block
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 224, 224))
    totals = cnncalc.analyze(spec).totals
    assert totals.params == sum(p.numel() for p in model.parameters()) == 30_919_624
    assert totals.buffers == sum(b.numel() for b in model.buffers())
    assert totals.macs == counter.get_total_flops() // 2
