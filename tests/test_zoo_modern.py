"""The shipped specs of modern nets (issue 9) against independent references: torchvision's published
parameter counts and GFLOPS (weights' metadata, torchvision 0.29), FlopCounterMode ÷ 2 measured on
torchvision's own models, the formulas of the recurrent layers worked by hand, and (in the torchvision
CI environment) every weighted module of torchvision's model by name."""

from __future__ import annotations

import pytest
from _support import SPECS, require_torchvision

import cnncalc

# name: (params, buffers, MACs). Params and "_ops" (GFLOPS = G multiply-accumulates) from
# torchvision.models.get_model_weights(name).DEFAULT.meta; MACs and buffers measured on
# torchvision.models.get_model(name) with FlopCounterMode ÷ 2 and sum(b.numel()), except ViT's MACs:
# FlopCounterMode misses nn.MultiheadAttention on the CPU (11,271,124,992), so its figure is the
# published 17.564 G, reproduced by hand below.
PUBLISHED = {
    "efficientnet_b0": (5_288_548, 42_065, 385_814_752),  # 0.386 GFLOPS
    "convnext_tiny": (28_589_128, 0, 4_455_531_264),  # 4.456 GFLOPS
    "vit_b_16": (86_567_656, 0, None),  # 17.564 GFLOPS
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_totals_match_torchvision(name):
    params, buffers, macs = PUBLISHED[name]
    t = cnncalc.analyze(SPECS / f"{name}.yaml").totals
    assert (t.params, t.buffers) == (params, buffers)
    if macs is not None:
        assert t.macs == macs


def test_vit_b_16_macs_by_hand():
    """Patch embedding + 12 × (attention 4·T·E² + 2·T²·E + MLP 2·T·E·4E) + head; T = 197, E = 768."""
    t, e = 197, 768
    patch = 196 * 768 * 3 * 16 * 16
    block = 4 * t * e * e + 2 * t * t * e + 2 * t * e * 4 * e
    head = 768 * 1000
    macs = cnncalc.analyze(SPECS / "vit_b_16.yaml").totals.macs
    assert macs == patch + 12 * block + head
    assert round(macs / 1e9, 3) == 17.564  # torchvision's published GFLOPS


def test_char_lstm_by_hand():
    """65-id vocabulary → 64-d embedding → LSTM 256 × 2 layers → linear 65, over 100 steps."""
    lstm1 = 4 * (256 * (64 + 256) + 2 * 256)
    lstm2 = 4 * (256 * (256 + 256) + 2 * 256)
    params = 65 * 64 + lstm1 + lstm2 + 256 * 65 + 65
    macs = 100 * (4 * 256 * (64 + 256) + 4 * 256 * (256 + 256)) + 100 * 256 * 65
    t = cnncalc.analyze(SPECS / "char_lstm.yaml").totals
    assert (t.params, t.macs) == (params, macs) == (876_929, 86_860_800)


def test_char_gru_by_hand():
    """Bidirectional GRU 128: 2 × 3·(h·(x + h) + 2h)."""
    gru = 2 * 3 * (128 * (64 + 128) + 2 * 128)
    params = 65 * 64 + gru + 256 * 65 + 65
    macs = 2 * 100 * 3 * 128 * (64 + 128) + 100 * 256 * 65
    t = cnncalc.analyze(SPECS / "char_gru.yaml").totals
    assert (t.params, t.macs) == (params, macs)


@pytest.mark.torchvision
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_weighted_module_matches_torchvision_by_name(name):
    """Each torchvision module that owns parameters has a spec layer of that name with as many
    (ViT's class token and position embedding are parameters of the model and the encoder)."""
    torchvision = require_torchvision()
    model = torchvision.models.get_model(name)
    report = cnncalc.analyze(SPECS / f"{name}.yaml")
    layers = {s.name: s for s in report.layers}
    checked = 0
    for path, module in model.named_modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if not own or path in ("", "encoder") or path.endswith("self_attention.out_proj"):
            continue  # the class token, the position embedding: below; out_proj: with its attention
        key = path
        if path.endswith(".self_attention"):
            own += sum(p.numel() for p in module.out_proj.parameters())
        if type(module).__name__ == "CNBlock":
            key = f"{path}.layer_scale"  # the block's own parameter is its layer scale
        assert key in layers, f"no spec layer {key}"
        assert layers[key].params == own, key
        checked += 1
    assert checked > 40
    if name == "vit_b_16":
        assert layers["class_token"].params == model.class_token.numel()
        assert layers["encoder.pos_embedding"].params == model.encoder.pos_embedding.numel()


def test_lenet5_local_by_hand():
    """LeNet-5 with C3 locally connected: 10·10 positions × 16 × 6 × 5·5 weights + 16·10·10 biases
    in place of the shared conv's 16 × 6 × 5·5 + 16; the MACs do not change."""
    shared = cnncalc.analyze(SPECS / "lenet5.yaml").totals
    local = cnncalc.analyze(SPECS / "lenet5_local.yaml").totals
    c3_local = 100 * 16 * 6 * 25 + 16 * 100
    c3_shared = 16 * 6 * 25 + 16
    assert local.params == shared.params - c3_shared + c3_local == 300_890
    assert local.macs == shared.macs == 416_520


def test_fcn32s_by_hand():
    """VGG-16's convolutions + fc6 (7×7×512 → 4096) + fc7 + score_fr + a 64×64 ×32 upsampling."""
    vgg_convs = 138_357_544 - (25088 * 4096 + 4096) - (4096 * 4096 + 4096) - (4096 * 1000 + 1000)
    params = vgg_convs + (512 * 49 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 21 + 21) + 21 * 21 * 64 * 64
    report = cnncalc.analyze(SPECS / "fcn32s.yaml")
    assert report.totals.params == params == 136_152_917
    assert report.layer("upscore").output_shape == (1, 21, 224, 224)  # (7 − 1)·32 − 2·16 + 64
    # transposed conv MACs: 7·7 input positions × 21 × 21 × 64·64
    assert report.layer("upscore").macs == 49 * 21 * 21 * 64 * 64


def test_unet_small_against_a_unet_written_in_torch():
    torch = pytest.importorskip("torch")
    from torch import nn

    def double(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.enc2, self.bottom = double(1, 16), double(16, 32), double(32, 64)
            self.up2, self.dec2 = nn.ConvTranspose2d(64, 32, 2, 2), double(64, 32)
            self.up1, self.dec1 = nn.ConvTranspose2d(32, 16, 2, 2), double(32, 16)
            self.head = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            e1 = self.enc1(x)
            e2 = self.enc2(nn.functional.max_pool2d(e1, 2))
            b = self.bottom(nn.functional.max_pool2d(e2, 2))
            d2 = self.dec2(torch.cat([e2, self.up2(b)], 1))
            d1 = self.dec1(torch.cat([e1, self.up1(d2)], 1))
            return self.head(d1)

    from torch.utils.flop_counter import FlopCounterMode

    net = UNet().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = net(torch.randn(1, 1, 64, 64))
    report = cnncalc.analyze(SPECS / "unet_small.yaml")
    assert report.totals.params == sum(p.numel() for p in net.parameters())
    assert report.totals.buffers == sum(b.numel() for b in net.buffers())
    assert report.totals.macs == counter.get_total_flops() // 2
    assert report.layers[-1].output_shape == tuple(y.shape)
