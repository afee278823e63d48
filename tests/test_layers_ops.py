"""matmul, dotattention, scale and mean: against torch's own functions, FlopCounterMode and hand
arithmetic; and the importer on attention written out by hand (no torchvision needed)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

import torch.nn.functional as F  # noqa: E402
from _torch_support import Fn, torch_macs  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.torch.importer import UnsupportedOps, import_model  # noqa: E402


def run(shapes: list[list[int]], item: dict, inputs: list[str] | None = None):
    """The stats of one layer taking ``inputs`` (default: the input) in a spec whose extra inputs
    are made by ``reshape`` layers from one flat input."""
    total = [sum(math.prod(s) for s in shapes)]
    layers, names, start = [], [], 0
    for i, s in enumerate(shapes):
        n = math.prod(s)
        layers.append({"slice": {"dim": 1, "start": start, "end": start + n}, "name": f"flat{i}", "from": "input"})
        layers.append({"reshape": {"shape": s}, "name": f"x{i}"})
        names.append(f"x{i}")
        start += n
    layers.append({**item, "name": "out", "from": inputs or names})
    return cnncalc.analyze({"input": total, "layers": layers}).layer("out")


@pytest.mark.parametrize("a,b", [
    ([4, 10, 8], [4, 8, 10]),  # q @ kᵀ, 4 heads
    ([6, 5], [5, 7]),
    ([1, 3, 4], [5, 4, 2]),  # the leading dims broadcast
    ([2, 1, 3, 4], [1, 6, 4, 2]),
])
def test_matmul_is_torch_matmul(a, b):
    got = run([a, b], {"matmul": None})
    x, y = torch.randn(2, *a), torch.randn(2, *b)
    assert got.output_shape[1:] == tuple(torch.matmul(x, y).shape[1:])
    assert got.macs == torch_macs(torch.matmul, x[:1], y[:1])
    lead = [max(p, q) for p, q in zip(a[:-2], b[:-2], strict=True)]
    assert got.macs == math.prod(lead) * a[-2] * a[-1] * b[-1]  # by hand


@pytest.mark.parametrize("a,b,why", [
    ([4, 5], [6, 7], "5 columns against 6 rows"),
    ([4, 5], [2, 5, 3], "same rank"),  # the batch axes would not line up
    ([2, 3, 4], [3, 4, 5], "cannot broadcast"),
])
def test_matmul_refuses_what_torch_would_not_do_per_sample(a, b, why):
    with pytest.raises(cnncalc.SpecError, match=why):
        run([a, b], {"matmul": None})


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("q,k,v", [([4, 10, 8], [4, 12, 8], [4, 12, 6]), ([7, 16], [7, 16], [7, 16])])
def test_dotattention_is_scaled_dot_product_attention(q, k, v, causal):
    got = run([q, k, v], {"dotattention": {"causal": causal}})
    tq, tk, tv = torch.randn(2, *q), torch.randn(2, *k), torch.randn(2, *v)
    out = F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    assert got.output_shape[1:] == tuple(out.shape[1:])
    assert got.macs == torch_macs(F.scaled_dot_product_attention, tq[:1], tk[:1], tv[:1])
    lead = math.prod(q[:-2])
    assert got.macs == lead * q[-2] * k[-2] * (q[-1] + v[-1])  # q·kᵀ, then weights·v


def test_dotattention_module_counted_forward_equals_torch():
    """verify measures the written-out forward (FlopCounterMode sees 0 for the fused kernel at batch 1)."""
    from cnncalc.layers.ops import dotattention_module

    m = dotattention_module()(is_causal=True, scale=0.3)
    q, k, v = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 3)
    torch.testing.assert_close(m.counted(q, k, v), m(q, k, v))
    with FlopCounterMode(display=False) as c:
        m.counted(q, k, v)
    assert c.get_total_flops() // 2 == 2 * 5 * 5 * (4 + 3)


@pytest.mark.parametrize("shape,dims,keepdim", [
    ([10, 32], [1], False),  # mean pooling over tokens
    ([8, 4, 4], [2, 3], True),
    ([8, 4, 4], [-1], False),
    ([8, 4, 4], [1], True),
    ([8, 4, 4], [1, 2, 3], True),
])
def test_mean_is_torch_mean(shape, dims, keepdim):
    got = run([shape], {"mean": {"dims": dims, "keepdim": keepdim}})
    x = torch.randn(2, *shape)
    assert got.output_shape[1:] == tuple(x.mean(dims, keepdim=keepdim).shape[1:])
    assert got.params == got.macs == 0


def test_mean_refuses_the_batch_axis_and_leaving_nothing():
    with pytest.raises(cnncalc.SpecError, match="distinct non-batch dims"):
        run([[4, 5]], {"mean": {"dims": [0]}})
    with pytest.raises(cnncalc.SpecError, match="needs keepdim"):
        run([[4, 5]], {"mean": {"dims": [1, 2]}})


def test_scale_counts_one_flop_per_element():
    got = run([[4, 6]], {"scale": {"factor": 0.125}})
    assert (got.output_shape[1:], got.params, got.macs, got.flops) == ((4, 6), 0, 0, 24)


# ---- import ------------------------------------------------------------------------------------------
def layers_of(f, shape):
    return [{k: v for k, v in item.items() if k != "from"} for item in import_model(Fn(f), shape).spec["layers"]]


@pytest.mark.parametrize("f,factor", [
    (lambda x: x * 0.125, 0.125), (lambda x: 0.5 * x, 0.5), (lambda x: x / 4, 0.25),
    (lambda x: torch.mul(x, 3), 3), (lambda x: x.div(2), 0.5),
])
def test_a_product_with_a_number_is_scale(f, factor):
    assert [next(iter(item)) for item in layers_of(f, (4, 5))] == ["scale"]
    assert layers_of(f, (4, 5))[0]["scale"] == {"factor": factor}


@pytest.mark.parametrize("f,why", [
    (lambda x: 2 / x, "divided by a tensor"),
    (lambda x: torch.div(x, 2, rounding_mode="floor"), "rounding_mode"),
    (lambda x: x + 1, "add"),
])
def test_other_operations_with_numbers_are_refused(f, why):
    with pytest.raises(UnsupportedOps) as info:
        import_model(Fn(f), (4, 5))
    assert why in str([(u.target, u.reason) for u in info.value.items])


def test_means_other_than_global_pooling_are_the_mean_layer():
    assert layers_of(lambda x: x.mean(1), (10, 8)) == [{"mean": {"dims": [1]}, "name": "mean"}]
    assert layers_of(lambda x: x.mean((2, 3)), (8, 4, 4)) == [  # still global average pooling
        {"adaptiveavgpool": {"out": 1}, "name": "mean.adaptiveavgpool"}, {"flatten": None, "name": "mean"}]


class HandAttention(nn.Module):
    """Self-attention as people write it: q, k, v linears, heads by view and transpose, scores by @,
    scaled by a number, softmax, @ v; the same through F.scaled_dot_product_attention; mean pooling."""

    def __init__(self, dim: int = 32, heads: int = 4):
        super().__init__()
        self.h, self.scale = heads, (dim // heads) ** -0.5
        self.q, self.k, self.v, self.proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = (f(x).view(b, n, self.h, c // self.h).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        y = (a @ v).transpose(1, 2).reshape(b, n, c)
        fused = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, n, c)
        return self.proj(y + fused / math.sqrt(2)).mean(dim=1)


def test_attention_written_by_hand_imports_exactly():
    model = HandAttention()
    spec = import_model(model, (10, 32)).spec
    types = [next(iter(item)) for item in spec["layers"]]
    assert types.count("matmul") == 2 and types.count("dotattention") == 1 and types.count("scale") == 2
    totals = cnncalc.analyze(spec).totals
    assert totals.params == sum(p.numel() for p in model.parameters()) == 4 * (32 * 32 + 32)
    assert totals.macs == torch_macs(model.eval(), torch.zeros(1, 10, 32))
    # by hand: 4 linears 10·32·32; q·kᵀ and a·v 4·10·10·8 each, twice (by hand and fused)
    assert totals.macs == 4 * 10 * 32 * 32 + 2 * (2 * 4 * 10 * 10 * 8)
