"""Numbers of any size as text, with exact integer arithmetic (no float rounding, no overflow, and
no use of ``str()`` on an integer past Python's 4,300-digit limit)."""

from __future__ import annotations

import math
from fractions import Fraction

LIMIT = 10**300  # plain(): from here on scientific text (a float's range ends here too)
SHOWN = 10**21  # text(): from here on scientific (more digits than a reader can take in at a glance)


def scientific(n: int | Fraction) -> str:
    """A number of any size as ``1.23e402``, its three digits rounded exactly (half to even)."""
    if n == 0:
        return "0"
    sign, m = ("-" if n < 0 else ""), abs(Fraction(n))
    e = int((m.numerator.bit_length() - m.denominator.bit_length()) * math.log10(2)) - 1
    while Fraction(10) ** (e + 1) <= m:
        e += 1
    while Fraction(10) ** e > m:
        e -= 1
    h = round(m * 100 / Fraction(10) ** e)
    if h >= 1000:
        e, h = e + 1, round(m * 100 / Fraction(10) ** (e + 1))
    return f"{sign}{h // 100}.{h % 100:02d}e{e}"


def plain(x: int | Fraction) -> int | float | str:
    """An int where the value is whole, else a float, for JSON and tables; past :data:`LIMIT` (where
    a float overflows and JSON writers choke) the :func:`scientific` text instead."""
    if not -LIMIT < x < LIMIT:
        return scientific(x)
    if type(x) is int:
        return x
    return x.numerator if x.denominator == 1 else float(x)


def text(x: int | Fraction) -> str:
    """:func:`plain` as text: ``7``, ``0.5`` (``:g``), and from :data:`SHOWN` on ``1.23e402``."""
    if not -SHOWN < x < SHOWN:
        return scientific(x)
    v = plain(x)
    return f"{v:g}" if isinstance(v, float) else str(v)
