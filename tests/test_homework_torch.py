"""``cnncalc apply`` against torch: conv1d/conv2d, max_pool2d and avg_pool2d on random integer
matrices (seeded), with strides and paddings; exact results compared with torch in float64, which
is exact for these small integers (and for the averages, compared as the nearest float)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from _support import require_torch

from cnncalc.homework import calc, matrix

torch = require_torch()
F = torch.nn.functional


def rand_matrix(rng: random.Random, rows: int, cols: int, lo: int = -9, hi: int = 9) -> list[list[int]]:
    return [[rng.randint(lo, hi) for _ in range(cols)] for _ in range(rows)]


def as_floats(out: object) -> list[list[float]]:
    return [[float(Fraction(v)) for v in row] for row in out]  # type: ignore[attr-defined]


def flat(rows: list[list[float]]) -> list[float]:
    return [v for row in rows for v in row]


def tensor(m: list[list[int]]) -> object:
    return torch.tensor(m, dtype=torch.float64)[None, None]


CASES = [(seed, s, p) for seed in range(12) for s in (1, 2, 3) for p in (0, 1, 2)]


@pytest.mark.parametrize(("seed", "stride", "padding"), CASES)
def test_conv2d_matches_torch(seed: int, stride: int, padding: int) -> None:
    rng = random.Random(seed)
    x = rand_matrix(rng, rng.randint(3, 9), rng.randint(3, 9))
    k = rand_matrix(rng, rng.randint(1, 3), rng.randint(1, 3))
    got = matrix.apply("conv", matrix.to_array(x, "x"), matrix.to_array(k, "k"), stride=stride, padding=padding)
    want = F.conv2d(tensor(x), tensor(k), stride=stride, padding=padding)[0, 0].tolist()
    assert as_floats(got.output) == want
    assert all(type(v) is int for v in got.output.flat)  # integers stay exact integers


@pytest.mark.parametrize("seed", range(8))
def test_flip_matches_torch_on_the_flipped_kernel(seed: int) -> None:
    rng = random.Random(100 + seed)
    x = rand_matrix(rng, 6, 7)
    k = rand_matrix(rng, 3, 2)
    got = matrix.apply("conv", matrix.to_array(x, "x"), matrix.to_array(k, "k"), flip=True)
    flipped = torch.flip(tensor(k), dims=(2, 3))
    assert as_floats(got.output) == F.conv2d(tensor(x), flipped)[0, 0].tolist()


@pytest.mark.parametrize("seed", range(8))
def test_conv1d_matches_torch(seed: int) -> None:
    rng = random.Random(200 + seed)
    x = [rng.randint(-9, 9) for _ in range(rng.randint(4, 12))]
    k = [rng.randint(-3, 3) for _ in range(3)]
    got = matrix.apply("conv", matrix.to_array(x, "x"), matrix.to_array(k, "k"), stride=2, padding=1)
    want = F.conv1d(torch.tensor(x, dtype=torch.float64)[None, None], torch.tensor(k, dtype=torch.float64)[None, None],
                    stride=2, padding=1)[0, 0].tolist()
    assert [float(v) for v in got.output] == want


POOL_CASES = [(seed, w, s, p) for seed in range(10) for w in (2, 3) for s in (None, 1, 2) for p in (0, 1)]


@pytest.mark.parametrize(("seed", "window", "stride", "padding"), POOL_CASES)
def test_max_pool_matches_torch(seed: int, window: int, stride: int | None, padding: int) -> None:
    rng = random.Random(300 + seed)
    x = rand_matrix(rng, rng.randint(4, 9), rng.randint(4, 9))
    got = matrix.apply("maxpool", matrix.to_array(x, "x"), window=window, stride=stride, padding=padding)
    want = F.max_pool2d(tensor(x), window, stride=stride, padding=padding)[0, 0].tolist()
    assert as_floats(got.output) == want


@pytest.mark.parametrize(("seed", "window", "stride", "padding"), POOL_CASES)
def test_avg_pool_matches_torch(seed: int, window: int, stride: int | None, padding: int) -> None:
    rng = random.Random(400 + seed)
    x = rand_matrix(rng, rng.randint(4, 9), rng.randint(4, 9))
    got = matrix.apply("avgpool", matrix.to_array(x, "x"), window=window, stride=stride, padding=padding)
    want = F.avg_pool2d(tensor(x), window, stride=stride, padding=padding)[0, 0].tolist()
    assert flat(as_floats(got.output)) == pytest.approx(flat(want), rel=1e-12)
    assert all(isinstance(v, (int, Fraction)) for v in got.output.flat)  # exact, not floats


@pytest.mark.parametrize("seed", range(6))
def test_float_inputs_match_torch(seed: int) -> None:
    rng = random.Random(500 + seed)
    x = [[rng.uniform(-2, 2) for _ in range(5)] for _ in range(5)]
    k = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(3)]
    got = matrix.apply("conv", matrix.to_array(x, "x"), matrix.to_array(k, "k"), padding=1)
    assert got.output.dtype == float
    want = F.conv2d(tensor(x), tensor(k), padding=1)[0, 0].tolist()  # type: ignore[arg-type]
    assert flat(got.output.tolist()) == pytest.approx(flat(want), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_conv_calculator_size_matches_torch(seed: int) -> None:
    rng = random.Random(600 + seed)
    n, f, s, p, d = rng.randint(5, 40), rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 3), rng.randint(1, 2)
    if d * (f - 1) + 1 > n + 2 * p:
        return
    a = calc.conv(n, f, s, p, d, c_in=2, c_out=3)
    module = torch.nn.Conv2d(2, 3, f, stride=s, padding=p, dilation=d)
    y = module(torch.zeros(1, 2, n, n))
    assert (a.size, a.size) == tuple(y.shape[2:])
    assert a.params == sum(t.numel() for t in module.parameters())
    # the exact fraction floors to torch's size; the paddings and strides said to fit give whole numbers
    assert math.floor(a.exact) == a.size
    for q in a.fit_paddings:
        assert (n + 2 * q - d * (f - 1) - 1) % s == 0
    for t in a.fit_strides:
        assert (n + 2 * p - d * (f - 1) - 1) % t == 0


@pytest.mark.parametrize("seed", range(40))
def test_pool_calculator_size_matches_torch(seed: int) -> None:
    rng = random.Random(700 + seed)
    n, f = rng.randint(4, 40), rng.randint(1, 4)
    s, p, ceil = rng.randint(1, 3), rng.randint(0, f // 2), rng.random() < 0.5
    if f > n + 2 * p:
        return
    a = calc.pool(n, f, s, p, ceil_mode=ceil)
    y = F.max_pool2d(torch.zeros(1, 1, n, n), f, stride=s, padding=p, ceil_mode=ceil)
    assert (a.size, a.size) == tuple(y.shape[2:])


@pytest.mark.parametrize(("n", "f", "out"), [(64, 3, 32), (224, 7, 112), (32, 5, 16), (28, 2, 14)])
def test_solve_pairs_give_the_size_in_torch(n: int, f: int, out: int) -> None:
    for pair in calc.solve(n, f, out).pairs:
        y = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=pair.stride, padding=pair.padding)
        assert tuple(y.shape[2:]) == (out, out)


@pytest.mark.parametrize("seed", range(10))
def test_multichannel_conv_with_bias_matches_torch(seed: int) -> None:
    rng = random.Random(800 + seed)
    c = rng.randint(2, 3)
    x = [rand_matrix(rng, 6, 5) for _ in range(c)]
    k = [rand_matrix(rng, 3, 3, -2, 2) for _ in range(c)]
    bias = rng.randint(-3, 3)
    got = matrix.apply("conv", matrix.to_array(x, "x"), matrix.to_array(k, "k"), stride=2, padding=1, bias=bias)
    want = F.conv2d(torch.tensor([x], dtype=torch.float64), torch.tensor([k], dtype=torch.float64),
                    torch.tensor([float(bias)], dtype=torch.float64), stride=2, padding=1)[0, 0].tolist()
    assert as_floats(got.output) == want


@pytest.mark.parametrize("seed", range(6))
def test_multichannel_pools_work_per_channel_as_torch(seed: int) -> None:
    rng = random.Random(900 + seed)
    x = [rand_matrix(rng, 5, 6) for _ in range(3)]
    t = torch.tensor([x], dtype=torch.float64)
    got = matrix.apply("maxpool", matrix.to_array(x, "x"), window=2, stride=1, padding=1)
    assert [as_floats(m) for m in got.output] == F.max_pool2d(t, 2, stride=1, padding=1)[0].tolist()
    got = matrix.apply("avgpool", matrix.to_array(x, "x"), window=3, stride=2, padding=1)
    want = F.avg_pool2d(t, 3, stride=2, padding=1)[0].tolist()
    assert [flat(as_floats(m)) for m in got.output] == [pytest.approx(flat(w), rel=1e-12) for w in want]
