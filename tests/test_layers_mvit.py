"""``mvitblock`` and ``mvitposition`` (torchvision's video MViT V1 and V2): hand formulas, cnncalc's
own torch modules under FlopCounterMode, and (marked ``torchvision``) torchvision's MultiscaleBlock,
PositionalEncoding and whole models.

References are independent of cnncalc's arithmetic: the formulas written out here from torchvision's
code, the ``numel`` of the modules' parameters, and FlopCounterMode's count ÷ 2 on their forward.
"""

from __future__ import annotations

from math import prod
from typing import Any

import pytest
from _support import require_torch, require_torchvision

import cnncalc
from cnncalc import SpecError
from cnncalc.layers import RULES
from cnncalc.layers.mvit import mvit_block_module, mvit_position_module

# (thw, C, out, heads, kernel_q, stride_q, kernel_kv, stride_kv, residual_pool, with_cls, rel_pos, proj_after)
BLOCKS = [
    ((2, 8, 8), 16, 32, 1, (1, 1, 1), (1, 1, 1), (3, 3, 3), (1, 4, 4), False, False, False, False),  # V1 first
    ((2, 8, 8), 32, 32, 2, (3, 3, 3), (1, 2, 2), (3, 3, 3), (1, 2, 2), False, False, False, False),  # V1 q pool
    ((2, 8, 8), 16, 32, 2, (3, 3, 3), (1, 2, 2), (3, 3, 3), (1, 2, 2), True, False, True, True),  # V2 stage change
    ((3, 5, 7), 16, 16, 2, (3, 3, 3), (1, 1, 1), (3, 3, 3), (1, 2, 2), True, True, True, True),  # odd grid
    ((2, 4, 4), 4, 4, 4, (3, 3, 3), (1, 1, 1), (3, 3, 3), (1, 1, 1), True, False, True, True),  # head size 1
    ((1, 2, 2), 8, 8, 2, (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1), False, False, True, False),  # no pools
    ((4, 4, 4), 8, 16, 2, (3, 3, 3), (2, 2, 2), (3, 3, 3), (2, 2, 2), True, False, True, False),  # time strided
    ((2, 6, 6), 8, 8, 1, (1, 1, 1), (1, 2, 2), (1, 1, 1), (1, 3, 3), False, False, True, True),  # kernel-1 pools
    ((2, 3, 5), 6, 12, 3, (3, 3, 3), (1, 2, 2), (3, 3, 3), (1, 1, 1), False, False, True, True),  # H ≠ W
]


def out_axis(x: int, k: int, s: int) -> int:
    return (x + 2 * (k // 2) - k) // s + 1


def hand(thw, c, o, heads, kq, sq, kkv, skv, rp, cls, rel, paa) -> tuple[tuple[int, int], int, int]:
    """(output shape, params, MACs) written out from torchvision's MultiscaleBlock."""
    a = o if paa else c
    d = a // heads
    n = 1 + prod(thw)
    pool_q, pool_kv = prod(kq) > 1 or prod(sq) > 1, prod(kkv) > 1 or prod(skv) > 1
    q_thw = [out_axis(x, k, s) for x, k, s in zip(thw, kq, sq, strict=True)] if pool_q else list(thw)
    k_thw = [out_axis(x, k, s) for x, k, s in zip(thw, kkv, skv, strict=True)] if pool_kv else list(thw)
    nq, nk = 1 + prod(q_thw), 1 + prod(k_thw)
    params = 2 * c + 2 * a  # norm1, norm2
    params += c * 3 * a + 3 * a + a * a + a  # qkv, attention projection
    params += pool_q * (d * prod(kq) + 2 * d) + 2 * pool_kv * (d * prod(kkv) + 2 * d)  # conv + LayerNorm(d)
    params += a * 4 * a + 4 * a + 4 * a * o + o  # MLP
    if c != o:
        params += c * o + o
    macs = n * c * 3 * a  # qkv
    macs += pool_q * heads * prod(q_thw) * d * prod(kq) + 2 * pool_kv * heads * prod(k_thw) * d * prod(kkv)
    macs += heads * nq * nk * d * 2  # Q·Kᵀ, A·V
    macs += nq * a * a + nq * a * 4 * a + nq * 4 * a * o  # projection, MLP
    if c != o:
        macs += (n if paa else nq) * c * o
    if rel:
        side = max(thw[1:])
        spatial = 2 * max(side // sq[1], side // skv[1]) - 1
        params += (2 * spatial + 2 * thw[0] - 1) * d
        q = prod(q_thw)
        # einsums over d for height and width (none counted at d = 1: an element-wise product),
        # a matmul over d for time
        macs += (d > 1) * heads * q * d * (k_thw[1] + k_thw[2]) + heads * q * d * k_thw[0]
    return (nq, o), params, macs


def block_args(thw, c, o, heads, kq, sq, kkv, skv, rp, cls, rel, paa) -> dict[str, Any]:
    return {"heads": heads, "size": list(thw), "out": o, "kernel_q": list(kq), "stride_q": list(sq),
            "kernel_kv": list(kkv), "stride_kv": list(skv), "residual_pool": rp, "residual_with_cls_embed": cls,
            "rel_pos_embed": rel, "proj_after_attn": paa}


def analysed(cfg: tuple, **extra: Any):
    thw, c = cfg[0], cfg[1]
    spec = {"input": [1 + prod(thw), c], "layers": [{"mvitblock": {**block_args(*cfg), **extra}}]}
    return cnncalc.analyze(spec).layers[-1]


@pytest.mark.parametrize("cfg", BLOCKS)
def test_block_counts_match_the_hand_formulas(cfg):
    s = analysed(cfg)
    shape, params, macs = hand(*cfg)
    assert (s.output_shape, s.params, s.buffers, s.macs) == ((1, *shape), params, 0, macs)


def test_mvit_v2_s_first_block_by_hand():
    # mvit_v2_s at 16×224×224, block 0: 8×56×56 grid of 96, 1 head, q kernel 3 stride 1, kv stride (1, 8, 8)
    cfg = ((8, 56, 56), 96, 96, 1, (3, 3, 3), (1, 1, 1), (3, 3, 3), (1, 8, 8), True, False, True, True)
    s = analysed(cfg)
    n, nk = 1 + 8 * 56 * 56, 1 + 8 * 7 * 7
    assert s.output_shape == (1, n, 96)
    rel = (2 * 111 + 15) * 96  # tables 2·56 − 1 (height, width) and 2·8 − 1 (time) rows of 96
    assert s.params == 2 * 96 + 2 * 96 + 96 * 288 + 288 + 96 * 96 + 96 + 96 * 27 + 192 + 2 * (96 * 27 + 192) \
        + 96 * 384 + 384 + 384 * 96 + 96 + rel
    assert s.macs == n * 96 * 288 + 25088 * 96 * 27 + 2 * 392 * 96 * 27 + 2 * n * nk * 96 + n * 96 * 96 \
        + 2 * n * 96 * 384 + 25088 * 96 * (7 + 7 + 8)


def test_flops_convention():
    cfg = ((2, 8, 8), 16, 32, 2, (3, 3, 3), (1, 2, 2), (3, 3, 3), (1, 2, 2), True, False, True, True)
    (nq, o), _, macs = hand(*cfg)
    n, c, a, h = 129, 16, 32, 2
    nk, q, k = 1 + 2 * 4 * 4, 2 * 4 * 4, 2 * 4 * 4
    want = 2 * macs
    want += n * 3 * a + nq * a + nq * 4 * a + nq * o  # biases: qkv, attention projection, MLP
    want += n * o  # the block projection's bias, on norm1's N tokens (proj_after_attn)
    want += 5 * n * c + 5 * nq * a + 5 * a * (nq + 2 * nk)  # norm1, norm2, the pools' norms
    want += nq * a + 3 * h * nq * nk + 3 * h * q * k  # q scaled, softmax, relative positions summed in
    want += q * a  # residual pool without the class token
    want += q * a * (prod((1, 3, 3)) - 1)  # max pool of the (projected) skip connection, kernel stride + 1
    want += 4 * a * nq + nq * a + nq * o  # GELU, two residual additions
    assert analysed(cfg).flops == want


def test_tables_override_the_relative_position_tables():
    cfg = ((2, 5, 5), 8, 8, 2, (3, 3, 3), (1, 2, 2), (3, 3, 3), (1, 2, 2), True, False, True, True)
    d = 4
    plain = analysed(cfg)
    other = analysed(cfg, tables=[7, 5])
    # a 2×5×5 grid pooled by 2 on H and W: tables 2·⌊5/2⌋ − 1 = 3 (height, width) and 2·2 − 1 = 3 (time)
    assert other.params - plain.params == (2 * 7 + 5) * d - (2 * 3 + 3) * d
    assert other.macs == plain.macs  # interpolated to the grid: no MACs


@pytest.mark.parametrize(
    ("inp", "args", "words"),
    [
        ([129, 16], {"heads": 1, "size": [2, 8, 7]}, "1 + 112 tokens"),
        ([129, 16], {"heads": 3, "size": [2, 8, 8]}, "do not divide"),
        ([129, 16], {"heads": 1, "size": [2, 8]}, "size"),
        ([129, 16], {"heads": 1, "size": [2, 8, 8], "kernel_q": 2}, "skip connection"),
        ([129, 16], {"heads": 1, "size": [2, 8, 8], "kernel_q": 3, "stride_q": [1, 2, 2], "kernel_kv": 2,
                     "stride_kv": 1, "rel_pos_embed": True, "tables": [3]}, "tables"),
        ([2, 129, 16], {"heads": 1, "size": [2, 8, 8]}, "[1 + T·H·W, C]"),
    ],
)
def test_impossible_blocks_are_refused(inp, args, words):
    with pytest.raises(SpecError) as e:
        cnncalc.analyze({"input": inp, "layers": [{"mvitblock": args}]})
    assert words in str(e.value)


def test_position_counts():
    def layer(args: dict[str, Any]):
        return cnncalc.analyze({"input": [128, 16], "layers": [{"mvitposition": args}]}).layers[-1]

    v2 = layer({"rel_pos_embed": True})
    assert (v2.output_shape, v2.params, v2.macs, v2.flops) == ((1, 129, 16), 16, 0, 0)
    v1 = layer({"temporal_size": 2})
    assert (v1.output_shape, v1.params, v1.macs) == ((1, 129, 16), 16 + 16 + 2 * 16 + 64 * 16, 0)
    assert v1.flops == 128 * 16 + 129 * 16  # the embedding assembled, then added
    with pytest.raises(SpecError, match="not 3 frames"):
        layer({"temporal_size": 3})


def test_explain_shows_the_arithmetic():
    cfg = BLOCKS[2]
    a = {**{x.name: x.default for x in RULES["mvitblock"].args}, **block_args(*cfg)}
    a = {k: tuple(v) if isinstance(v, list) else v for k, v in a.items()}
    r = RULES["mvitblock"].infer(a, [(129, 16)])
    text = "\n".join(RULES["mvitblock"].explain(a, [(129, 16)]))
    assert f"{r.params:,}" in text and f"{r.macs:,}" in text and "Nq = 33" in text


# ---- cnncalc's own modules under torch --------------------------------------------------------------
def torch_counts(module: Any, x: Any) -> tuple[tuple[int, ...], int, int, int]:
    """(output shape, params, buffers, MACs) as torch measures them (FlopCounterMode ÷ 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = module(x)
    y = y[0] if isinstance(y, tuple) else y
    params = sum(t.numel() for t in module.parameters())
    buffers = sum(t.numel() for t in module.buffers())
    return tuple(y.shape), params, buffers, counter.get_total_flops() // 2


def own_block(thw, c, o, heads, kq, sq, kkv, skv, rp, cls, rel, paa, **more):
    return mvit_block_module()(c, o, heads, list(thw), list(kq), list(sq), list(kkv), list(skv),
                               residual_pool=rp, residual_with_cls_embed=cls, rel_pos_embed=rel,
                               proj_after_attn=paa, **more)


@pytest.mark.parametrize("cfg", BLOCKS)
def test_own_block_matches_under_flop_counter(cfg):
    torch = require_torch()
    shape, params, macs = hand(*cfg)
    x = torch.randn(2, 1 + prod(cfg[0]), cfg[1])
    assert torch_counts(own_block(*cfg), x) == ((2, *shape), params, 0, 2 * macs)  # batch 2


def test_own_block_tables():
    torch = require_torch()
    cfg = ((2, 5, 5), 8, 8, 2, (3, 3, 3), (1, 2, 2), (3, 3, 3), (1, 2, 2), True, False, True, True)
    s = analysed(cfg, tables=[7, 5])
    m = own_block(*cfg, tables=[7, 5])
    assert torch_counts(m, torch.randn(1, 51, 8)) == (s.output_shape, s.params, 0, s.macs)


@pytest.mark.parametrize(("t", "rel"), [(2, False), (1, False), (4, True)])
def test_own_position_module(t, rel):
    torch = require_torch()
    m = mvit_position_module()(16, 32 // t, t, rel)
    s = cnncalc.analyze({"input": [32, 16], "layers": [{"mvitposition": {"temporal_size": t, "rel_pos_embed": rel}}]})
    assert torch_counts(m, torch.randn(2, 32, 16)) == ((2, 33, 16), s.layers[-1].params, 0, 0)


SPEC = {
    "name": "mvit-small",
    "input": [3, 4, 32, 32],
    "layers": [
        {"conv": {"out": 16, "kernel": [3, 7, 7], "stride": [2, 4, 4], "padding": [1, 3, 3]}},
        {"flatten": {"start_dim": 2}},
        {"permute": {"dims": [0, 2, 1]}},
        {"mvitposition": {"temporal_size": 2}},
        {"mvitblock": {"heads": 1, "size": [2, 8, 8], "out": 32, "kernel_kv": 3, "stride_kv": [1, 4, 4]}},
        {"mvitblock": {"heads": 2, "size": [2, 8, 8], "out": 32, "kernel_q": 3, "stride_q": [1, 2, 2],
                       "kernel_kv": 3, "stride_kv": [1, 2, 2], "residual_pool": True, "rel_pos_embed": True,
                       "proj_after_attn": True, "tables": [9, 3]}},
        {"mvitblock": {"heads": 2, "size": [2, 4, 4], "out": 64, "kernel_q": 3, "kernel_kv": 3,
                       "stride_kv": [1, 2, 2], "residual_pool": True, "residual_with_cls_embed": True,
                       "rel_pos_embed": True}},
        {"layernorm": {}},
        {"select": {"dim": 1, "index": 0}},
        {"linear": {"out": 10}},
    ],
}


def test_build_and_verify_agree():
    require_torch()
    from cnncalc.torch import verify

    v = verify(SPEC)
    assert v.ok, v


def test_built_net_imports_back():
    """cnncalc's own modules import as themselves (the grid read from the module's ``size``)."""
    require_torch()
    from cnncalc.torch import build
    from cnncalc.torch.importer import import_model

    net = build(cnncalc.parse_spec(SPEC))
    spec = import_model(net, (3, 4, 32, 32), "back").spec
    kinds = [next(iter(k for k in item if k not in ("name", "from"))) for item in spec["layers"]]
    assert kinds.count("mvitblock") == 3 and kinds.count("mvitposition") == 1
    assert cnncalc.analyze(spec).totals.macs == cnncalc.analyze(SPEC).totals.macs
    assert cnncalc.analyze(spec).totals.params == cnncalc.analyze(SPEC).totals.params


def test_export_source_runs():
    torch = require_torch()
    from cnncalc.torch import to_pytorch_source

    src = to_pytorch_source(SPEC)
    assert "import torchvision" not in src and "from torchvision" not in src
    scope: dict[str, Any] = {}
    exec(compile(src, "<export>", "exec"), scope)
    classes = [v for v in scope.values() if isinstance(v, type) and issubclass(v, torch.nn.Module)]
    assert {"MViTBlock", "MViTPosition"} <= {c.__name__ for c in classes}
    net = classes[-1]()  # the net, written after the layers' classes
    assert tuple(net(torch.randn(2, 3, 4, 32, 32)).shape) == (2, 10)


# ---- torchvision's modules --------------------------------------------------------------------------
def tv_block(thw, c, o, heads, kq, sq, kkv, skv, rp, cls, rel, paa):
    require_torchvision()
    from functools import partial

    import torch
    from torchvision.models.video.mvit import MSBlockConfig, MultiscaleBlock

    cnf = MSBlockConfig(heads, c, o, list(kq), list(kkv), list(sq), list(skv))
    return MultiscaleBlock(list(thw), cnf, rp, cls, rel, paa, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))


@pytest.mark.torchvision
@pytest.mark.parametrize("cfg", BLOCKS)
def test_torchvision_block_counts_and_outputs(cfg):
    torch = require_torch()
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    tv = tv_block(*cfg).eval()
    x = torch.randn(2, 1 + prod(cfg[0]), cfg[1])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y, thw = tv(x, tuple(cfg[0]))
    s = analysed(cfg)
    assert (tuple(y.shape), sum(p.numel() for p in tv.parameters()), counter.get_total_flops() // 2) == \
        ((2, *s.output_shape[1:]), s.params, 2 * s.macs)
    assert 1 + prod(thw) == s.output_shape[1]
    # the import reads the module back to the same arguments, and cnncalc's module computes the same
    args = RULES["mvitblock"].from_torch({"_module": tv, "_call": {"thw": tuple(cfg[0])}})
    assert analysed(cfg, **{k: v for k, v in args.items() if k == "tables"}).params == s.params
    own = own_block(*cfg, **({"tables": args["tables"]} if "tables" in args else {})).eval()
    own.load_state_dict(tv.state_dict())
    with torch.no_grad():
        assert torch.allclose(own(x), y, atol=1e-5)


@pytest.mark.torchvision
@pytest.mark.parametrize("rel", [False, True])
def test_torchvision_position_encoding(rel):
    torch = require_torch()
    require_torchvision()
    from torchvision.models.video.mvit import PositionalEncoding

    tv = PositionalEncoding(16, (4, 4), 2, rel).eval()
    args = RULES["mvitposition"].from_torch({"_module": tv})
    s = cnncalc.analyze({"input": [32, 16], "layers": [{"mvitposition": args}]}).layers[-1]
    assert s.params == sum(p.numel() for p in tv.parameters())
    own = mvit_position_module()(16, 16, 2, rel).eval()
    own.load_state_dict(tv.state_dict())
    x = torch.randn(2, 32, 16)
    with torch.no_grad():
        assert torch.equal(own(x), tv(x))


def small_mvit(monkeypatch: pytest.MonkeyPatch, name: str, side: int, frames: int):
    """torchvision's mvit_v1_b or mvit_v2_s built for a small input (its builder fixes 16×224×224)."""
    require_torchvision()
    from torchvision.models.video import mvit

    original = mvit._mvit
    monkeypatch.setattr(mvit, "_mvit", lambda **kw: original(**{**kw, "spatial_size": (side, side),
                                                               "temporal_size": frames}))
    return getattr(mvit, name)().eval()


@pytest.mark.torchvision
@pytest.mark.parametrize(("name", "side", "frames"),
                         [("mvit_v1_b", 32, 4), ("mvit_v2_s", 32, 4), ("mvit_v2_s", 36, 4), ("mvit_v1_b", 20, 2)])
def test_torchvision_models_import_exactly(monkeypatch, name, side, frames):
    """Whole models: params, buffers and MACs equal torch's (36×36: V2's tables, made for the
    floored grid, are read as ``tables``)."""
    torch = require_torch()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from cnncalc.torch.importer import import_model

    model = small_mvit(monkeypatch, name, side, frames)
    shape = (3, frames, side, side)
    spec = import_model(model, shape, name).spec
    totals = cnncalc.analyze(spec).totals
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *shape))
    assert (totals.params, totals.buffers, totals.macs) == \
        (sum(p.numel() for p in model.parameters()), 0, counter.get_total_flops() // 2)
    kinds = [k for item in spec["layers"] for k in item if k not in ("name", "from")]
    assert kinds.count("mvitblock") == 16 and kinds.count("mvitposition") == 1
