"""Swin's layers, ``windowattention`` and ``patchmerge``, against hand formulas and torch.

References, none of them cnncalc's own output: hand-worked figures (written out below), torch's
``numel`` of the modules' parameters and buffers, ``FlopCounterMode`` on real forward passes, a
plain single-window attention written with torch ops here, and, in CI's torchvision environment
(``-m torchvision``), torchvision's own ShiftedWindowAttention, ShiftedWindowAttentionV2,
ShiftedWindowAttention3d and ``_patch_merging_pad``, and small Swin models imported whole.
"""

from __future__ import annotations

from math import prod
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from _support import require_torchvision  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import SpecError  # noqa: E402
from cnncalc.layers import RULES  # noqa: E402
from cnncalc.layers.window import patch_merge_module, window_attention_module  # noqa: E402

WA = RULES["windowattention"]
PM = RULES["patchmerge"]


def args(**kw: Any) -> dict[str, Any]:
    """Parsed windowattention arguments: defaults filled, lists as tuples (as the parser gives them)."""
    out = {"shift": 0, "qkv_bias": True, "proj_bias": True, "version": 1, "attention_dropout": 0.0, "dropout": 0.0}
    out.update(kw)
    return {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}


def module(a: dict[str, Any], shape: tuple[int, ...]) -> nn.Module:
    """cnncalc's own WindowAttention, built from the rule's torch call."""
    name, kwargs = WA.to_torch(a, [shape])
    assert name == "WindowAttention"
    return window_attention_module()(**kwargs).eval()


def flops(m: nn.Module, x: torch.Tensor, method: str = "forward") -> tuple[torch.Tensor, int]:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = getattr(m, method)(x)
    return out, counter.get_total_flops()


def per_axis(value: Any, nd: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd


def numel(tensors: Any) -> int:
    return sum(t.numel() for t in tensors)


# ---- hand-worked figures -------------------------------------------------------------------------------
# (input [.., C], arguments, params, buffers, MACs), each written out by hand
HAND = [
    # Swin-T's first stage at 224: 56×56×96, 3 heads, window 7: 64 windows of 49, no padding
    ((56, 56, 96), args(heads=3, window=7),
     4 * 96 * 96 + 4 * 96 + 13 * 13 * 3, 49 * 49,
     4 * 3136 * 96 * 96 + 2 * 3136 * 49 * 96),
    # 10×17 with window 7: padded to 14×21 = 294 positions; shifted (the shift moves no arithmetic)
    ((10, 17, 12), args(heads=3, window=7, shift=3),
     4 * 144 + 48 + 169 * 3, 2401,
     4 * 294 * 144 + 2 * 294 * 49 * 12),
    # a 5×6 map smaller than the window 7: padded up to one 7×7 window
    ((5, 6, 12), args(heads=2, window=7, shift=3, qkv_bias=False),
     4 * 144 + 12 + 169 * 2, 2401,
     4 * 49 * 144 + 2 * 49 * 49 * 12),
    # a window of 4×3 on 9×7: padded to 12×9 = 108 positions, windows of 12; offsets 7·5 = 35
    ((9, 7, 8), args(heads=4, window=[4, 3], shift=[2, 1], proj_bias=False),
     4 * 64 + 24 + 35 * 4, 144,
     4 * 108 * 64 + 2 * 108 * 12 * 8),
    # Swin V2: logit scale 3 + MLP 2·512 + 512 + 512·3, no table; buffers 49² + 2·169 coordinates;
    # the MLP over the 169 offsets: 169·512·(2 + 3) MACs
    ((14, 14, 12), args(heads=3, window=7, shift=3, version=2),
     4 * 144 + 48 + 3 + 1024 + 512 + 1536, 2401 + 338,
     4 * 196 * 144 + 2 * 196 * 49 * 12 + 169 * 512 * 5),
    # Video Swin: window 8×7×7 on a 4×28×28 map shrinks to 4×7×7 (196 positions, no padding):
    # 3136 positions; the table and the index keep the configured window (15·13·13 offsets, 392²)
    ((4, 28, 28, 8), args(heads=2, window=[8, 7, 7], shift=[4, 3, 3]),
     4 * 64 + 32 + 15 * 13 * 13 * 2, 392 * 392,
     4 * 3136 * 64 + 2 * 3136 * 196 * 8),
    # Video Swin: window 2×3×3 on 5×7×8: padded to 6×9×9 = 486 positions, windows of 18
    ((5, 7, 8, 4), args(heads=1, window=[2, 3, 3], shift=1),
     4 * 16 + 16 + 3 * 5 * 5, 18 * 18,
     4 * 486 * 16 + 2 * 486 * 18 * 4),
]


@pytest.mark.parametrize("shape,a,params,buffers,macs", HAND)
def test_hand_figures(shape, a, params, buffers, macs):
    r = WA.infer(a, [shape])
    assert (r.shape, r.params, r.buffers, r.macs) == (shape, params, buffers, macs)
    assert r.rf.value == "none"


def test_patchmerge_hand_figures():
    assert PM.infer({}, [(56, 56, 96)]).shape == (28, 28, 384)
    assert PM.infer({}, [(7, 5, 3)]).shape == (4, 3, 12)  # odd sizes are padded to even
    assert PM.infer({}, [(4, 7, 7, 8)]).shape == (4, 4, 4, 32)  # Video Swin: time is kept
    r = PM.infer({}, [(1, 1, 2)])
    assert (r.shape, r.params, r.buffers, r.macs, r.flops) == ((1, 1, 8), 0, 0, 0, 0)


def test_swin_t_block_through_the_analysis():
    """One Swin-T block at 56×56×96 in a spec, with patch merging: totals by hand."""
    spec = {
        "input": [56, 56, 96],
        "layers": [
            {"windowattention": {"heads": 3, "window": 7, "shift": 3}, "name": "attn"},
            {"patchmerge": None, "name": "merge"},
            {"linear": {"out": 192, "bias": False}, "name": "reduction"},
        ],
    }
    report = cnncalc.analyze(spec)
    attn, merge, red = report.layers
    assert attn.output_shape == (1, 56, 56, 96) and merge.output_shape == (1, 28, 28, 384)
    assert red.output_shape == (1, 28, 28, 192)
    assert report.totals.params == 4 * 96 * 96 + 4 * 96 + 169 * 3 + 384 * 192
    assert report.totals.macs == 4 * 3136 * 96 * 96 + 2 * 3136 * 49 * 96 + 784 * 384 * 192
    assert report.totals.buffers == 2401


@pytest.mark.parametrize(
    "item,inp,message",
    [
        ({"heads": 5, "window": 7}, [14, 14, 12], "does not divide"),
        ({"heads": 1, "window": 7}, [12, 5], "channels-last"),
        ({"heads": 1, "window": 2}, [12], "channels-last"),
        ({"heads": 1, "window": [7, 7, 7]}, [14, 14, 12], "3 values"),
        ({"heads": 1, "window": 7, "version": 2}, [4, 14, 14, 12], "2-D map"),
        ({"heads": 1, "window": 7, "version": 3}, [14, 14, 12], "version"),
    ],
)
def test_refusals(item, inp, message):
    with pytest.raises(SpecError, match=message):
        cnncalc.analyze({"input": inp, "layers": [{"windowattention": item}]})


def test_patchmerge_refuses_a_map_without_h_w_c():
    with pytest.raises(SpecError, match="channels-last"):
        cnncalc.analyze({"input": [4, 6], "layers": ["patchmerge"]})


def test_explain_shows_the_arithmetic():
    lines = WA.explain(args(heads=3, window=7, shift=3), [(10, 17, 12)])
    text = "\n".join(lines)
    assert "padded to 14×21 = 294 positions, 6 windows" in text
    assert f"= {4 * 294 * 144 + 2 * 294 * 49 * 12:,}" in text
    assert "shift [3, 3]" in text
    assert "no shift" in "\n".join(WA.explain(args(heads=3, window=7, shift=3), [(5, 6, 12)]))
    assert "512" in "\n".join(WA.explain(args(heads=3, window=7, version=2), [(14, 14, 12)]))
    assert "[7, 5, 3] → [4, 3, 12]" in PM.explain({}, [(7, 5, 3)])[0]


# ---- cnncalc's own module against torch's counters ---------------------------------------------------
CASES = [
    ((14, 14, 12), args(heads=3, window=7)),
    ((14, 14, 12), args(heads=3, window=7, shift=3)),
    ((10, 17, 12), args(heads=3, window=7, shift=3)),
    ((5, 6, 12), args(heads=2, window=7, shift=3, qkv_bias=False)),
    ((5, 20, 12), args(heads=2, window=7, shift=3)),
    ((9, 7, 8), args(heads=4, window=[4, 3], shift=[2, 1], proj_bias=False)),
    ((9, 9, 6), args(heads=2, window=3, shift=5)),
    ((14, 14, 12), args(heads=3, window=7, shift=3, version=2)),
    ((10, 17, 12), args(heads=3, window=7, shift=3, version=2, qkv_bias=False)),
    ((5, 6, 8), args(heads=2, window=[4, 3], shift=[2, 1], version=2)),
    ((4, 14, 14, 8), args(heads=2, window=[2, 7, 7], shift=[1, 3, 3])),
    ((3, 5, 9, 8), args(heads=2, window=[8, 7, 7], shift=[4, 3, 3])),
    ((5, 7, 8, 4), args(heads=1, window=[2, 3, 3], shift=1)),
]


@pytest.mark.parametrize("shape,a", CASES)
def test_module_counts_equal_torchs(shape, a):
    """params and buffers (numel), MACs (FlopCounterMode ÷ 2) at batch 1, and the output shape."""
    torch.manual_seed(0)
    m = module(a, shape)
    r = WA.infer(a, [shape])
    out, counted = flops(m, torch.randn(1, *shape))
    assert tuple(out.shape[1:]) == r.shape
    assert (numel(m.parameters()), numel(m.buffers()), counted // 2) == (r.params, r.buffers, r.macs)


@pytest.mark.parametrize("shape,a", CASES)
def test_module_at_batch_3(shape, a):
    """At batch 3 the attention counts 3×; version 2's position-bias MLP runs once per forward in
    torch (``forward``), once per sample in ``counted`` (what verify measures, and cnncalc counts)."""
    torch.manual_seed(0)
    m = module(a, shape)
    r = WA.infer(a, [shape])
    x = torch.randn(3, *shape)
    out, counted = flops(m, x, "counted")
    real, real_flops = flops(m, x)
    assert torch.equal(out, real)
    assert counted // 2 == 3 * r.macs
    offsets = prod(2 * w - 1 for w in per_axis(a["window"], len(shape) - 1))
    mlp = offsets * 512 * (2 + a["heads"]) if a["version"] == 2 else 0
    assert real_flops // 2 == 3 * r.macs - 2 * mlp


def plain_attention(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One window over the whole map, no shift: softmax(q·kᵀ/√d + bias)·v, written out here."""
    b, *sizes, c = x.shape
    h = m.num_heads
    t = x.reshape(b, -1, c)
    n = t.shape[1]
    q, k, v = (t @ m.qkv.weight.t() + m.qkv.bias).reshape(b, n, 3, h, c // h).permute(2, 0, 3, 1, 4)
    ws = m.window_size
    coords = [(i, j) for i in range(ws[0]) for j in range(ws[1])]
    bias = torch.empty(h, n, n)
    for a, (i1, j1) in enumerate(coords):
        for z, (i2, j2) in enumerate(coords):
            bias[:, a, z] = m.relative_position_bias_table[(i1 - i2 + ws[0] - 1) * (2 * ws[1] - 1) + j1 - j2 + ws[1] - 1]
    attn = torch.softmax(q @ k.transpose(-2, -1) / (c // h) ** 0.5 + bias, -1)
    out = (attn @ v).transpose(1, 2).reshape(b, n, c) @ m.proj.weight.t() + m.proj.bias
    return out.reshape(b, *sizes, c)


def test_module_is_window_attention():
    """A map of exactly one window: the module is plain attention with the relative position bias."""
    torch.manual_seed(1)
    m = module(args(heads=2, window=[3, 4]), (3, 4, 8))
    nn.init.normal_(m.relative_position_bias_table)
    x = torch.randn(2, 3, 4, 8)
    with torch.no_grad():
        assert torch.allclose(m(x), plain_attention(m, x), atol=1e-5)


def test_windows_do_not_see_each_other():
    """Unshifted windows are independent: changing one window's input leaves the others' output."""
    torch.manual_seed(2)
    m = module(args(heads=2, window=4), (8, 8, 4))
    x = torch.randn(1, 8, 8, 4)
    y = x.clone()
    y[:, :4, :4] += 1
    with torch.no_grad():
        a, b = m(x), m(y)
    assert torch.equal(a[:, 4:], b[:, 4:]) and torch.equal(a[:, :4, 4:], b[:, :4, 4:])
    assert not torch.equal(a[:, :4, :4], b[:, :4, :4])


def test_patchmerge_module():
    m = patch_merge_module()()
    x = torch.randn(2, 7, 5, 3)
    padded = torch.zeros(2, 8, 6, 3)
    padded[:, :7, :5] = x
    want = torch.cat([padded[:, i::2, j::2] for i, j in ((0, 0), (1, 0), (0, 1), (1, 1))], -1)
    out = m(x)
    assert torch.equal(out, want)
    assert tuple(out.shape[1:]) == PM.infer({}, [(7, 5, 3)]).shape
    assert tuple(m(torch.randn(1, 4, 7, 7, 8)).shape[1:]) == PM.infer({}, [(4, 7, 7, 8)]).shape
    with FlopCounterMode(display=False) as counter:
        m(x)
    assert counter.get_total_flops() == 0


def test_from_torch_reads_cnncalcs_module_back():
    for shape, a in CASES:
        m = module(a, shape)
        back = WA.from_torch({"_module": m, "_class": "WindowAttention"})
        full = args(**back)
        nd = len(shape) - 1
        assert WA.infer(full, [shape]) == WA.infer(a, [shape])
        assert (full["heads"], full["qkv_bias"], full["proj_bias"], full["version"]) == (
            a["heads"], a["qkv_bias"], a["proj_bias"], a["version"])
        for key in ("window", "shift"):
            assert per_axis(full[key], nd) == per_axis(a[key], nd)


def test_import_and_verify_a_small_swin_stage(tmp_path):
    """A model of cnncalc's modules imports as the two layers, and ``cnncalc verify`` agrees."""
    from click.testing import CliRunner

    from cnncalc.cli import cli
    from cnncalc.torch.importer import import_model, to_yaml

    wa, pm = window_attention_module(), patch_merge_module()

    class Stage(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(12)
            self.attn = wa(12, [4, 4], [2, 2], 3)
            self.attn2 = wa(12, [4, 4], [0, 0], 3, version=2)
            self.merge = pm()
            self.reduction = nn.Linear(48, 24, bias=False)

        def forward(self, x):
            x = x + self.attn(self.norm(x))
            x = x + self.attn2(x)
            return self.reduction(self.merge(x))

    model = Stage().eval()
    imported = import_model(model, (9, 10, 12))
    types = [next(iter(item)) for item in imported.spec["layers"]]
    assert "windowattention" in types and "patchmerge" in types
    totals = cnncalc.analyze(imported.spec).totals
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 9, 10, 12))
    assert (totals.params, totals.buffers, totals.macs) == (
        numel(model.parameters()), numel(model.buffers()), counter.get_total_flops() // 2)
    path = tmp_path / "stage.yaml"
    path.write_text(to_yaml(imported.spec))
    for batch in ("1", "2"):
        result = CliRunner().invoke(cli, ["verify", str(path), "--batch", batch])
        assert result.exit_code == 0, result.output


# ---- torchvision's own modules -------------------------------------------------------------------------
def torchvision_attention(version: int, nd: int):
    require_torchvision()
    if nd == 3:
        from torchvision.models.video.swin_transformer import ShiftedWindowAttention3d

        return ShiftedWindowAttention3d
    from torchvision.models.swin_transformer import ShiftedWindowAttention, ShiftedWindowAttentionV2

    return ShiftedWindowAttentionV2 if version == 2 else ShiftedWindowAttention


@pytest.mark.torchvision
@pytest.mark.parametrize("shape,a", CASES)
def test_torchvision_modules(shape, a):
    """torchvision's module: its numel and FlopCounterMode equal the rule; cnncalc's module loads its
    state dict and gives the same output, bit for bit; from_torch reads it back."""
    cls = torchvision_attention(a["version"], len(shape) - 1)
    nd = len(shape) - 1
    window, shift = list(per_axis(a["window"], nd)), list(per_axis(a["shift"], nd))
    torch.manual_seed(0)
    tv = cls(shape[-1], window, shift, a["heads"], qkv_bias=a["qkv_bias"], proj_bias=a["proj_bias"]).eval()
    r = WA.infer(a, [shape])
    x = torch.randn(1, *shape)
    want, tv_flops = flops(tv, x)
    assert (numel(tv.parameters()), numel(tv.buffers()), tv_flops // 2) == (r.params, r.buffers, r.macs)
    mine = module(a, shape)
    mine.load_state_dict(tv.state_dict())
    with torch.no_grad():
        assert torch.equal(mine(x), want)
        x2 = torch.randn(2, *shape)
        assert torch.equal(mine(x2), tv(x2))
    back = WA.from_torch({"_module": tv, "_class": cls.__name__})
    assert WA.infer(args(**back), [shape]) == r


@pytest.mark.torchvision
@pytest.mark.parametrize("shape", [(7, 5, 3), (8, 6, 4), (1, 1, 2), (3, 7, 5, 3)])
def test_torchvision_patch_merging_pad(shape):
    require_torchvision()
    from torchvision.models.swin_transformer import _patch_merging_pad

    x = torch.randn(2, *shape)
    want = _patch_merging_pad(x)
    assert torch.equal(patch_merge_module()()(x), want)
    assert tuple(want.shape[1:]) == PM.infer({}, [shape]).shape


def small_swins() -> dict[str, tuple[nn.Module, tuple[int, ...]]]:
    require_torchvision()
    from torchvision.models.swin_transformer import PatchMergingV2, SwinTransformer, SwinTransformerBlockV2
    from torchvision.models.video.swin_transformer import SwinTransformer3d

    common = {"patch_size": [4, 4], "embed_dim": 24, "depths": [2, 2], "num_heads": [2, 4], "num_classes": 10}
    return {
        "swin": (SwinTransformer(window_size=[4, 4], **common), (3, 36, 44)),
        "swin_v2": (SwinTransformer(window_size=[4, 4], block=SwinTransformerBlockV2,
                                    downsample_layer=PatchMergingV2, **common), (3, 36, 44)),
        "swin3d": (SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                                     window_size=[4, 3, 3], num_classes=10), (3, 6, 36, 28)),
    }


@pytest.mark.torchvision
@pytest.mark.parametrize("name", ["swin", "swin_v2", "swin3d"])
def test_small_torchvision_swins_import_exactly(name):
    """Small Swin, Swin V2 and Video Swin models (with padding and a window larger than the last
    map): the imported spec's params, buffers and MACs equal torch's."""
    from cnncalc.torch.importer import import_model

    model, shape = small_swins()[name]
    model.eval()
    spec = import_model(model, shape, name).spec
    types = {next(iter(item)) for item in spec["layers"]}
    assert {"windowattention", "patchmerge"} <= types
    totals = cnncalc.analyze(spec).totals
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *shape))
    assert (totals.params, totals.buffers, totals.macs) == (
        numel(model.parameters()), numel(model.buffers()), counter.get_total_flops() // 2)
