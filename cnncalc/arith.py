"""Pure integer arithmetic of sliding windows, with PyTorch semantics.

Everything here takes and returns ints (or tuples of ints), so it can be tested exhaustively against
torch and explained step by step. Nothing here knows about specs, layers or errors.
"""

from __future__ import annotations

from math import gcd, prod


def effective_kernel(k: int, d: int = 1) -> int:
    """The extent of a dilated kernel: d·(k−1)+1."""
    return d * (k - 1) + 1


def window_numerator(n: int, k: int, p_left: int, p_right: int, d: int = 1) -> int:
    """N + P_left + P_right − D·(F−1) − 1: the span the window start can slide over."""
    return n + p_left + p_right - d * (k - 1) - 1


def conv_out_len(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, p_right: int | None = None) -> int:
    """Output length of a convolution: floor((N + 2P − D·(F−1) − 1)/S) + 1.

    ``p_right`` defaults to ``p``; PyTorch's ``padding='same'`` pads asymmetrically for even kernels.
    A negative result means the kernel does not fit; callers check for it.
    """
    num = window_numerator(n, k, p, p if p_right is None else p_right, d)
    return num // s + 1


def pool_out_len(n: int, k: int, s: int, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """Output length of max/avg pooling, exactly as ATen's ``pooling_output_shape`` computes it.

    With ``ceil_mode`` the division rounds up, but the last window must start inside the input or
    the left padding (so it is dropped when it would start in the right padding).
    """
    num = window_numerator(n, k, p, p, d)
    if not ceil_mode:
        return num // s + 1
    out = -(-num // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def floor_remainder(n: int, k: int, s: int, p_left: int, p_right: int, d: int = 1) -> int:
    """How many trailing rows of the padded input no window reaches (0 when the division is exact)."""
    num = window_numerator(n, k, p_left, p_right, d)
    return num % s if num >= 0 else 0


def same_padding(k: int, d: int = 1) -> tuple[int, int]:
    """PyTorch's ``padding='same'`` split (stride 1): total D·(F−1), left gets the floor half."""
    total = d * (k - 1)
    return total // 2, total - total // 2


def adaptive_bins(n: int, out: int) -> list[tuple[int, int]]:
    """The [start, end) input range of each adaptive-pool output cell, as ATen computes them."""
    return [((i * n) // out, -(-((i + 1) * n) // out)) for i in range(out)]


def adaptive_window_total(n: int, out: int) -> int:
    """Σ over the ``out`` adaptive bins of their lengths, in closed form: N + out − gcd(N, out).

    (Σ ceil((i+1)·N/out) − Σ floor(i·N/out); no loop, so a huge ``out`` costs nothing.)
    """
    return n + out - gcd(n, out)


def adaptive_is_uniform(n: int, out: int) -> bool:
    """True when adaptive pooling is an ordinary pool (kernel = stride = N/out)."""
    return n % out == 0


def conv_macs(out_elems: int, in_channels: int, groups: int, kernel: tuple[int, ...]) -> int:
    """Multiply-accumulates of a convolution: output elements × (C_in/groups) × ∏kernel."""
    return out_elems * (in_channels // groups) * prod(kernel)


def linear_macs(rows: int, in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a linear layer applied to ``rows`` vectors."""
    return rows * in_features * out_features



def explain_conv_len(n: int, k: int, s: int, p_left: int, p_right: int, d: int = 1) -> str:
    """The output-size arithmetic written out, e.g. ``floor((64 + 1 + 1 − 1·(3−1) − 1)/2) + 1 = 32``."""
    num = window_numerator(n, k, p_left, p_right, d)
    pad = f"2·{p_left}" if p_left == p_right else f"{p_left} + {p_right}"
    dil = f"{d}·({k}−1)" if d != 1 else f"({k}−1)"
    exact = f"{num}/{s} + 1"
    value = num / s + 1
    shown = f"{value:g}" if num % s else str(num // s + 1)
    return f"({n} + {pad} − {dil} − 1)/{s} + 1 = {exact} = {shown}"
