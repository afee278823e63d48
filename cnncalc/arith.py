"""Pure integer arithmetic of sliding windows, with PyTorch semantics.

Everything here takes and returns ints (or tuples of ints), so it can be tested exhaustively against
torch and explained step by step. Nothing here knows about specs, layers or errors.
"""

from __future__ import annotations

from fractions import Fraction
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



# ---- the arithmetic written out, as the lecture writes it (text for explain and the calculators) ----


def number_text(q: Fraction | int) -> str:
    """An exact number as a reader writes it: ``5``, ``32.5``, ``7/3 ≈ 2.333`` (decimals only when exact)."""
    q = Fraction(q)
    if q.denominator == 1:
        return str(q.numerator)
    den = q.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den == 1 and q.denominator <= 10**6:
        return f"{float(q):.6f}".rstrip("0")
    return f"{q.numerator}/{q.denominator} ≈ {float(q):.3f}"


def explain_conv_len(n: int, k: int, s: int, p_left: int, p_right: int, d: int = 1) -> str:
    """The output-size arithmetic substituted, without the rounding step.

    Undilated, as the lecture writes it: ``(64 + 2·1 − 3)/2 + 1 = 63/2 + 1 = 32.5``. Dilated, in
    PyTorch's form: ``(64 + 2·2 − 2·(3−1) − 1)/2 + 1 = 63/2 + 1 = 32.5``.
    """
    num = window_numerator(n, k, p_left, p_right, d)
    pad = f"2·{p_left}" if p_left == p_right else f"{p_left} + {p_right}"
    window = f"{k}" if d == 1 else f"{d}·({k}−1) − 1"
    value = Fraction(num, s) + 1
    return f"({n} + {pad} − {window})/{s} + 1 = {num}/{s} + 1 = {number_text(value)}"


def explain_out_len(
    n: int, k: int, s: int, p_left: int, p_right: int, d: int = 1, ceil_mode: bool = False, out: int | None = None
) -> str:
    """:func:`explain_conv_len` with the answer: ``… = 32.5 → ⌊32.5⌋ = 32`` ("fractions are illegal").

    ``out`` is the size the layer really gives; with ``ceil_mode`` ATen drops a last window that
    would start in the right padding, which is said when it happens.
    """
    text = explain_conv_len(n, k, s, p_left, p_right, d)
    num = window_numerator(n, k, p_left, p_right, d)
    if num % s == 0:
        return text
    value = Fraction(num, s) + 1
    shown = number_text(value).split(" ≈ ")[0]
    if not ceil_mode:
        return f"{text} → ⌊{shown}⌋ = {num // s + 1}"
    up = -(-num // s) + 1
    text = f"{text} → ⌈{shown}⌉ = {up}"
    if out is not None and out != up:
        text += f", less the last window, which would start in the padding: {out}"
    return text


def _product(values: tuple[int, ...] | list[int]) -> str:
    return "·".join(map(str, values))


def explain_conv_params(kernel: tuple[int, ...], c_in: int, groups: int, c_out: int, bias: bool) -> str:
    """Parameters as the lecture counts them: ``(F·F·C_in + 1)·K = (3·3·3 + 1)·64 = 1,792``."""
    per_in = "C_in" if groups == 1 else "C_in/G"
    c = str(c_in) if groups == 1 else f"{c_in}/{groups}"
    f_sym = "·".join("F" for _ in kernel)
    weights = prod(kernel) * (c_in // groups)
    total = c_out * (weights + (1 if bias else 0))
    if bias:
        text = f"({f_sym}·{per_in} + 1)·K = ({_product(kernel)}·{c} + 1)·{c_out} = {total:,}"
    else:
        text = f"({f_sym}·{per_in})·K = ({_product(kernel)}·{c})·{c_out} = {total:,}"
    each = "×".join(map(str, kernel)) + f"×{c_in // groups}"
    filters = f"{c_out} filter" + ("" if c_out == 1 else "s")
    extra = " and a bias" if bias else ""
    return f"{text}  ({filters} of {each} weights{extra}{' each' if c_out != 1 else ''})"


_OUT_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def explain_conv_macs(out_shape: tuple[int, ...], kernel: tuple[int, ...], c_in: int, groups: int) -> str:
    """Multiplications: ``K·H_out·W_out · F·F·C_in = 64·32·32 · 3·3·3 = 1,769,472`` (one MAC each)."""
    axes = _OUT_AXES.get(len(out_shape) - 1, ())
    out_sym = "·".join(["K", *(f"{a}_out" for a in axes)])
    per_in = "C_in" if groups == 1 else "C_in/G"
    c = str(c_in) if groups == 1 else f"{c_in}/{groups}"
    f_sym = "·".join("F" for _ in kernel)
    total = prod(out_shape) * prod(kernel) * (c_in // groups)
    return f"{out_sym} · {f_sym}·{per_in} = {_product(out_shape)} · {_product(kernel)}·{c} = {total:,}"
