"""Small-matrix arithmetic: a filter or a pool applied to a tiny matrix, exactly, as the lectures do.

numpy does the sliding and the sums, on object arrays of ints and Fractions, so a box filter gives
``10/3`` and not ``3.3333``; a matrix with a float in it is computed in floats. Conv is the deep-
learning one (cross-correlation, what ``torch.nn.functional.conv2d`` computes); ``flip=True`` flips
the kernel first, which is the signal-processing convolution. Pools follow torch: max pooling pads
with −∞, average pooling counts the zero padding in the divisor (``count_include_pad=True``).

Matrices are untrusted input: they are parsed as data (JSON/YAML through the spec loader's safe
composer, CSV or rows of numbers as text), never evaluated, and bounded in size (see the limits).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .. import arith
from ..errors import SpecError
from ..spec.loader import compose, scalar
from . import UsageError

MAX_TEXT = 1_000_000  # characters of matrix text (or bytes of a matrix file)
MAX_SIDE = 256  # rows or columns of an input
MAX_ELEMENTS = 65_536  # numbers in one matrix (256×256)
MAX_KERNEL = 64  # rows or columns of a kernel or pooling window
MAX_WORK = 4_000_000  # output cells × window cells (exact arithmetic is Python-speed)
MAX_DIGITS = 30  # digits in one integer, numerator or denominator

Number = int | Fraction | float
_INT = re.compile(r"[+-]?\d{1,30}")
_FRACTION = re.compile(r"([+-]?\d{1,30})/(\d{1,30})")
_DECIMAL = re.compile(r"[+-]?(\d{1,30}\.\d{0,30}|\.\d{1,30})(e[+-]?\d{1,3})?|[+-]?\d{1,30}e[+-]?\d{1,3}", re.I)

GAUSSIAN = [[Fraction(v, 16) for v in row] for row in ((1, 2, 1), (2, 4, 2), (1, 2, 1))]
NAMED = {
    "gaussian": GAUSSIAN,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}
_BOX = re.compile(r"box(\d{1,2})?(?:x(\d{1,2}))?")
KERNEL_NAMES = "box (boxN, boxNxM), gaussian, sharpen, edge"


# ---- reading numbers and matrices ----------------------------------------------------------------


def number(v: Any, what: str) -> Number:
    """One matrix element: an int, a Fraction (from ``"10/3"``) or a float (a decimal point)."""
    if isinstance(v, bool) or v is None:
        raise UsageError(f"{what}: {v!r} is not a number")
    if isinstance(v, int):
        if abs(v) >= 10**MAX_DIGITS:
            raise UsageError(f"{what}: an integer has more than {MAX_DIGITS} digits")
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise UsageError(f"{what}: {v} is not a finite number")
        return v
    text = str(v).strip().replace("−", "-")
    if _INT.fullmatch(text):
        return int(text)
    if m := _FRACTION.fullmatch(text):
        if int(m.group(2)) == 0:
            raise UsageError(f"{what}: '{text}' divides by zero")
        return Fraction(int(m.group(1)), int(m.group(2)))
    if _DECIMAL.fullmatch(text):
        return number(float(text), what)
    shown = text if len(text) <= 20 else text[:20] + "…"
    raise UsageError(f"{what}: '{shown}' is not a number (write 3, -1, 10/3 or 0.5)")


def _shape(data: Any, what: str) -> tuple[int, ...]:
    """The shape of nested lists of numbers, which must be rectangular (a number has shape ())."""
    if not isinstance(data, list):
        return ()
    if not data:
        raise UsageError(f"{what}: an empty list; expected numbers, e.g. [[1, 2], [3, 4]]")
    shapes = {_shape(d, what) for d in data}
    if len(shapes) > 1:
        if () in shapes:
            raise UsageError(f"{what}: mixes numbers and rows; expected [1, 2, 3] or [[1, 2], [3, 4]]")
        lengths = sorted({sh[0] for sh in shapes})
        raise UsageError(f"{what}: rows have different lengths ({', '.join(map(str, lengths))})")
    return (len(data), *shapes.pop())


def _flat(data: Any) -> list[Any]:
    return [v for d in data for v in _flat(d)] if isinstance(data, list) else [data]


def to_array(data: Any, what: str) -> np.ndarray:
    """Numbers (1-D), rows (2-D) or channels of rows (3-D, C×H×W) → an array of numbers.

    Exact values (ints, Fractions) give an object array; any float makes it a float array.
    """
    shape = _shape(data, what)
    if not 1 <= len(shape) <= 3:
        raise UsageError(f"{what}: expected a list of numbers, of rows, or of channels of rows, e.g. [[1, 2], [3, 4]]")
    if max(shape) > MAX_SIDE:
        raise UsageError(f"{what}: {'×'.join(map(str, shape))} is larger than the limit of {MAX_SIDE} per side")
    values = [number(v, what) for v in _flat(data)]
    if len(values) > MAX_ELEMENTS:
        raise UsageError(f"{what}: more than {MAX_ELEMENTS:,} numbers")
    arr = np.empty(len(values), dtype=float if any(isinstance(v, float) for v in values) else object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr.reshape(shape)


def _plain(node: Node, what: str) -> Any:
    """YAML nodes → lists and scalars; a mapping is not a matrix."""
    if isinstance(node, MappingNode):
        raise UsageError(f"{what}: a mapping is not a matrix; expected a list of rows")
    if isinstance(node, SequenceNode):
        return [_plain(child, what) for child in node.value]
    assert isinstance(node, ScalarNode)
    return scalar(node)


def parse_text(text: str, what: str, source: str = "<matrix>") -> np.ndarray:
    """A matrix from text: JSON/YAML lists (``[[1,2],[3,4]]``), or rows of numbers separated by
    newlines or ``;`` with the numbers separated by spaces or commas (CSV, or ``1 2 1; 2 4 2``)."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"{what}: more than {MAX_TEXT:,} characters")
    stripped = text.strip()
    if stripped.startswith(("[", "{", "- ")) or source.endswith((".yaml", ".yml", ".json")):
        try:
            return to_array(_plain(compose(stripped, source), what), what)
        except SpecError as e:
            raise UsageError(f"{what}: {e}") from None
    rows = [r for r in re.split(r"[;\n]", stripped) if r.strip() and not r.lstrip().startswith("#")]
    return to_array([[c for c in re.split(r"[,\s]+", r.strip()) if c] for r in rows], what)


def named_kernel(name: str, ndim: int) -> np.ndarray | None:
    """A kernel from the lectures by name, or None: ``box``/``boxN``/``boxNxM``, gaussian, sharpen, edge."""
    key = name.strip().lower()
    if key in NAMED:
        return to_array(NAMED[key], name)
    m = _BOX.fullmatch(key)
    if not m:
        return None
    n = int(m.group(1) or 3)
    k = int(m.group(2)) if m.group(2) else None
    if n < 1 or (k is not None and k < 1) or max(n, k or 1) > MAX_KERNEL:
        raise UsageError(f"kernel '{name}': a box is 1 to {MAX_KERNEL} wide")
    if ndim == 1 and k is None:
        return to_array([Fraction(1, n)] * n, name)
    k = n if k is None else k
    return to_array([[Fraction(1, n * k)] * k for _ in range(n)], name)


def load(arg: str, what: str, stdin: str | None = None, base: Path | None = None) -> np.ndarray:
    """``--input``/``--kernel``: matrix text, ``-`` (standard input), or a CSV/YAML/JSON/text file."""
    if arg == "-":
        if stdin is None:
            raise UsageError(f"{what}: '-' (standard input) is not available here")
        return parse_text(stdin, what, "<stdin>")
    text = arg.strip()
    if text.startswith(("[", "{")) or re.match(r"[-+−\d.]", text):
        return parse_text(text, what)
    if base is not None and (Path(arg).is_absolute() or ".." in Path(arg).parts):
        raise UsageError(f"{what}: a file named in a questions file must lie beside it or below it")
    path = Path(arg) if base is None else base / arg
    try:
        if path.stat().st_size > MAX_TEXT:
            raise UsageError(f"{what}: the file {arg} is larger than {MAX_TEXT:,} bytes")
        data = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        why = "is not UTF-8 text" if isinstance(e, UnicodeDecodeError) else "cannot be read"
        raise UsageError(f"{what}: '{arg}' is neither a matrix nor a file that can be read ({why})") from None
    return parse_text(data, what, arg)


# ---- applying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """The result of one ``apply``: the output and what was done to get it.

    A 3-D input is C×H×W: a conv kernel then has C channels too and sums over them (one output
    map); a pool works on each channel. ``window``, ``stride`` and ``padding`` then have an entry for
    the channel axis first (the kernel's depth, 1 and 0); :attr:`spatial` drops it.
    """

    op: str  # conv, maxpool, avgpool
    mode: str  # what was computed, in words
    x: np.ndarray
    kernel: np.ndarray | None  # the kernel as used (flipped when flip)
    window: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output: np.ndarray
    notes: tuple[str, ...]
    bias: Number = 0

    @property
    def exact(self) -> bool:
        return self.output.dtype == object

    @property
    def channels(self) -> bool:
        return self.x.ndim == 3

    def spatial(self, values: tuple[int, ...]) -> tuple[int, ...]:
        return values[1:] if self.channels else values


def _tuple(v: int | Sequence[int], nd: int, name: str) -> tuple[int, ...]:
    t = (v,) * nd if isinstance(v, int) else tuple(v)
    if len(t) != nd:
        raise UsageError(f"{name} has {len(t)} values for a {nd}-D input")
    return t


def _geometry(op: str, x: np.ndarray, kernel: np.ndarray | None, window: int | Sequence[int] | None,
              stride: int | Sequence[int] | None, padding: int | Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Window, stride and padding per axis of ``x`` (a channel axis first: whole depth, 1, 0)."""
    nd = min(x.ndim, 2)
    if op == "conv":
        if kernel is None:
            raise UsageError("conv needs --kernel")
        if kernel.ndim != x.ndim:
            what = f"{kernel.shape[0]} channels" if kernel.ndim == 3 else f"{kernel.ndim}-D"
            raise UsageError(f"the kernel is {what} but the input is {'×'.join(map(str, x.shape))}; "
                             "a C×H×W input needs a C×F×F kernel")
        if x.ndim == 3 and kernel.shape[0] != x.shape[0]:
            raise UsageError(f"the kernel has {kernel.shape[0]} channels but the input has {x.shape[0]}")
        win = tuple(kernel.shape[-nd:])
    else:
        if window is None:
            raise UsageError(f"{op} needs --kernel N (the window size)")
        win = _tuple(window, nd, "the window")
    if max(win) > MAX_KERNEL or min(win) < 1:
        raise UsageError(f"the window is {'×'.join(map(str, win))}; each side must be 1 to {MAX_KERNEL}")
    s = _tuple(win if stride is None and op != "conv" else (stride or 1), nd, "the stride")
    p = _tuple(padding, nd, "the padding")
    if min(s) < 1 or max(s) > MAX_SIDE or min(p) < 0 or max(p) > MAX_KERNEL:
        raise UsageError(f"strides must be 1 to {MAX_SIDE} and paddings 0 to {MAX_KERNEL}")
    if op != "conv" and any(p[i] > win[i] // 2 for i in range(nd)):
        raise UsageError("a pool's padding is at most half its window (PyTorch refuses more)")
    if x.ndim == 3:
        depth = x.shape[0] if op == "conv" else 1
        return (depth, *win), (1, *s), (0, *p)
    return win, s, p


def apply(
    op: str, x: np.ndarray, kernel: np.ndarray | None = None, window: int | Sequence[int] | None = None,
    stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0, flip: bool = False,
    bias: Number = 0,
) -> Applied:
    """Slide ``kernel`` (conv) or a ``window`` (maxpool, avgpool) over ``x``: torch's semantics."""
    win, s, p = _geometry(op, x, kernel, window, stride, padding)
    out = _out_shape(x.shape, win, s, p)
    if math.prod(out) * math.prod(win) > MAX_WORK:
        raise UsageError(f"that is more than {MAX_WORK:,} multiplications; apply works on small matrices")
    used = kernel[(slice(None),) * (kernel.ndim - min(kernel.ndim, 2)) + (slice(None, None, -1),) * min(kernel.ndim, 2)] \
        if (kernel is not None and flip) else kernel
    windows = _windows(x, win, s, p, float("-inf") if op == "maxpool" else 0)
    axes = tuple(range(-x.ndim, 0))
    if op == "conv":
        assert used is not None
        dtype = float if float in (x.dtype, used.dtype) or isinstance(bias, float) else object
        result = (windows.astype(dtype) * used.astype(dtype)).sum(axis=axes) + bias
        mode = "true convolution: the kernel flipped, as in signal processing" if flip else \
            "cross-correlation, as torch's conv (--flip: the true convolution)"
    elif op == "maxpool":
        result, mode = windows.max(axis=axes), "max pooling"
    else:
        count = math.prod(win)
        total = windows.sum(axis=axes)
        result = total / count if x.dtype == float else _divide(total, count)
        mode = "average pooling (zero padding counted, as torch's default)"
    output = _exact(np.asarray(result).reshape(out))
    if op == "conv" and x.ndim == 3:
        output = output[0]  # the channels are summed: one output map
    return Applied(op, mode, x, used, tuple(win), s, p, output, _notes(x.shape, win, s, p), bias)


def _out_shape(shape: tuple[int, ...], win: Sequence[int], s: Sequence[int], p: Sequence[int]) -> tuple[int, ...]:
    out = []
    for i, n in enumerate(shape):
        if win[i] > n + 2 * p[i]:
            raise UsageError(f"the window ({win[i]}) is larger than the padded input ({n + 2 * p[i]}) on axis {i + 1}")
        out.append(arith.conv_out_len(n, win[i], s[i], p[i]))
    return tuple(out)


def _notes(shape: tuple[int, ...], win: Sequence[int], s: Sequence[int], p: Sequence[int]) -> tuple[str, ...]:
    axes = {1: ("elements",), 2: ("rows", "columns"), 3: ("channels", "rows", "columns")}[len(shape)]
    texts: dict[str, list[str]] = {}
    for i, n in enumerate(shape):
        if arith.floor_remainder(n, win[i], s[i], p[i], p[i]):
            texts.setdefault(arith.explain_out_len(n, win[i], s[i], p[i], p[i]), []).append(axes[i])
    return tuple(
        f"{' and '.join(names)}: {text} (fractions are illegal: windows that would run past the edge are dropped)"
        for text, names in texts.items()
    )


def _windows(x: np.ndarray, win: Sequence[int], s: Sequence[int], p: Sequence[int], fill: float) -> np.ndarray:
    """Every window of the padded input, strided: shape (*out, *win)."""
    xp = x
    if any(p):  # by hand: np.pad would put numpy integers into an array of Python numbers
        xp = np.full(tuple(n + 2 * v for n, v in zip(x.shape, p, strict=True)), fill,
                     dtype=object if x.dtype == object else float)
        xp[tuple(slice(v, v + n) for n, v in zip(x.shape, p, strict=True))] = x
    view = np.lib.stride_tricks.sliding_window_view(xp, tuple(win))
    return view[tuple(slice(None, None, step) for step in s)]


def _divide(total: np.ndarray, count: int) -> np.ndarray:
    out = np.empty(total.shape, dtype=object)
    for idx, v in np.ndenumerate(total):
        out[idx] = Fraction(v) / count
    return out


def _exact(a: np.ndarray) -> np.ndarray:
    """Whole Fractions become ints (object arrays); float arrays stay as they are."""
    if a.dtype != object:
        return a.astype(float)
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        if isinstance(v, np.integer):
            v = int(v)
        out[idx] = v.numerator if isinstance(v, Fraction) and v.denominator == 1 else v
    return out


# ---- one output cell, written out ----------------------------------------------------------------


def show(v: Number, wrap: bool = False) -> str:
    """A number as the lecture writes it: 3, −1, 10/3, 0.5 (in parentheses inside a product)."""
    if isinstance(v, float):
        text = f"{v:.6g}".replace("-", "−")
        return f"({text})" if wrap and v < 0 else text
    if isinstance(v, Fraction) and v.denominator != 1:
        text = f"{v.numerator}/{v.denominator}".replace("-", "−")
        return f"({text})" if wrap else text
    text = str(int(v)).replace("-", "−")
    return f"({text})" if wrap and v < 0 else text


def cell(a: Applied, at: Sequence[int]) -> str:
    """The arithmetic of output cell ``at`` (0-based): ``5·4 + (−1)·3 + … = 3``, ``max(…) = 6``."""
    shape = a.output.shape
    if len(at) != len(shape) or any(not 0 <= at[i] < shape[i] for i in range(len(shape))):
        raise UsageError(f"--at {','.join(map(str, at))} is outside the {'×'.join(map(str, shape))} output "
                         "(counted from 0)")
    key = (0, *at) if a.op == "conv" and a.channels else tuple(at)
    win = _windows(a.x, a.window, a.stride, a.padding, float("-inf") if a.op == "maxpool" else 0)[key]
    result = show(a.output[tuple(at)])
    values = [v for v in win.flat]
    if a.op == "maxpool":
        return f"max({', '.join(show(v) for v in values if v != float('-inf'))}) = {result}"
    if a.op == "avgpool":
        return f"({' + '.join(show(v, True) for v in values)})/{len(values)} = {result}"
    assert a.kernel is not None
    terms = [f"{show(k, True)}·{show(v, True)}" for k, v in zip(a.kernel.flat, values, strict=True) if k != 0]
    if a.bias:
        terms.append(show(a.bias, True) + " (bias)")
    skipped = "  (zero weights left out)" if len(terms) < len(values) + (1 if a.bias else 0) else ""
    return f"{' + '.join(terms) or '0'} = {result}{skipped}"


def json_value(v: Any) -> Any:
    """An output element for JSON: ints as numbers, Fractions as ``"10/3"``, floats as floats."""
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if isinstance(v, (float, np.floating)):
        return float(v)
    return int(v)


def to_lists(a: np.ndarray) -> Any:
    if a.ndim == 1:
        return [json_value(v) for v in a]
    return [to_lists(row) for row in a]  # rows, or channels of rows
