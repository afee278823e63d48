"""The window arithmetic against independent references: brute-force enumeration and real torch."""

from __future__ import annotations

import itertools

import pytest
from _support import require_torch

from cnncalc import arith


def brute_force_len(n: int, k: int, s: int, pl: int, pr: int, d: int) -> int:
    """Count the window positions that fit in the padded input, one by one."""
    extent = d * (k - 1) + 1
    return sum(1 for start in range(-pl, n + pr, s) if start + extent <= n + pr)


GRID = list(itertools.product(range(1, 13), range(1, 6), range(1, 5), range(0, 4), range(1, 4)))


def test_conv_out_len_matches_enumeration():
    """Every case of the grid, symmetric and one-sided padding, against counting the windows."""
    for n, k, s, p, d in GRID:
        for pr in (p, p + 1):
            want = brute_force_len(n, k, s, p, pr, d)
            got = arith.conv_out_len(n, k, s, p, d, pr)
            assert (got if got > 0 else 0) == want, (n, k, s, p, pr, d)


@pytest.mark.parametrize(
    "n,k,s,p,expected",
    [(7, 3, 1, 0, 5), (7, 3, 2, 0, 3), (7, 3, 3, 0, 2), (64, 3, 2, 1, 32), (32, 5, 1, 0, 28), (224, 7, 2, 3, 112)],
)
def test_lecture_examples(n, k, s, p, expected):
    assert arith.conv_out_len(n, k, s, p) == expected


def test_floor_remainder_is_what_enumeration_leaves_uncovered():
    for n, k, s, p, d in GRID:
        count = brute_force_len(n, k, s, p, p, d)
        if count == 0:
            continue
        last_end = -p + (count - 1) * s + d * (k - 1)  # last covered padded coordinate
        uncovered = (n + p - 1) - last_end
        assert arith.floor_remainder(n, k, s, p, p, d) == uncovered


def test_same_padding_keeps_size_and_splits_like_torch():
    for k in range(1, 8):
        for d in (1, 2, 3):
            left, right = arith.same_padding(k, d)
            assert left + right == d * (k - 1) and left <= right
            assert arith.conv_out_len(20, k, 1, left, d, right) == 20


def test_pool_out_len_matches_torch():
    torch = require_torch()
    F = torch.nn.functional
    for n, k, s, p, d, ceil in itertools.product(range(1, 11), range(1, 5), range(1, 4), range(0, 3), (1, 2), (False, True)):
        if p > k // 2 or d * (k - 1) + 1 > n + 2 * p:
            continue
        x = torch.zeros(1, 1, n)
        got = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil).shape[-1]
        assert arith.pool_out_len(n, k, s, p, d, ceil) == got, (n, k, s, p, d, ceil)
        if d == 1:
            assert F.avg_pool1d(x, k, s, p, ceil_mode=ceil).shape[-1] == got


def test_adaptive_bins_reproduce_torch_averages():
    torch = require_torch()
    for n in range(1, 14):
        for out in range(1, 9):
            x = torch.arange(n, dtype=torch.float64).reshape(1, 1, n)
            want = torch.nn.functional.adaptive_avg_pool1d(x, out).flatten().tolist()
            got = [sum(range(b, e)) / (e - b) for b, e in arith.adaptive_bins(n, out)]
            assert got == pytest.approx(want)


def test_explain_conv_len_shows_the_lecture_arithmetic():
    # (N + 2P − D(K−1) − 1)/S + 1 with N=64, P=1, K=3, S=2: 63/2 + 1 = 32.5 (the wording may vary)
    text = arith.explain_conv_len(64, 3, 2, 1, 1)
    assert text.startswith("(64 + 2·1 − ") and text.endswith("= 63/2 + 1 = 32.5")


def test_adaptive_window_total_closed_form_matches_the_bins():
    for n in range(1, 40):
        for out in range(1, 40):
            assert arith.adaptive_window_total(n, out) == sum(e - b for b, e in arith.adaptive_bins(n, out))


def test_huge_adaptive_output_in_closed_form():
    import cnncalc

    # a loop over 10^18 bins would never finish: the closed form is what lets this test end
    r = cnncalc.analyze({"input": [2, 5, 5], "layers": [{"adaptiveavgpool": {"out": 10**9}}]})
    assert r.layers[0].output_shape == (1, 2, 10**9, 10**9)
    # flops = C · Π(N + out − gcd(N, out)) = 2 · (5 + 10^9 − 5)^2
    assert r.layers[0].flops == 2 * (10**9) ** 2
