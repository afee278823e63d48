"""One function per exit that makes a spec's string safe for it (STYLE.md rule 8).

A spec is untrusted: its names and messages may hold terminal escape sequences, bidi overrides,
newlines, rich markup (``[link=…]``), emoji codes (``:smile:``) or Markdown. Everything a spec wrote
passes through one of these on its way out:

* :func:`term_text`  a line on a terminal (tables, warnings, notes, ``error:`` lines, explanations):
  whitespace runs (newlines, tabs, …) become one space; control characters (C0, DEL, C1), format
  characters (bidi overrides, zero-width characters) and lone surrogates are shown visibly as
  ``\\x1b``, ``\\u202e``, … and never reach the terminal raw.
* :func:`rich_text`  the same text as a rich ``Text`` object: rich neither parses it as markup nor
  replaces emoji codes nor highlights it (``rich.markup.escape`` alone does not stop emoji codes and
  doubles a trailing backslash).
* :func:`data_text`  a cell of CSV: every character kept except the unsafe ones, shown visibly as above
  (newlines too, so one row stays one line); quoting is the csv module's job.
* :func:`md_text`    a Markdown table cell: :func:`term_text`, then Markdown's punctuation escaped.

JSON needs none of these: ``json.dumps`` (ASCII output) escapes every control character itself.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re

    from rich.text import Text

# Characters that separate words: a run of them is shown as one space. (\x1c-\x1f count as
# whitespace for str.split but are control characters: they are shown visibly instead.)
SPACE = "[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
MARKDOWN = r"([\\`*_{}\[\]<>()#+!|~&$])"
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


@cache
def _pattern(text: str) -> re.Pattern[str]:
    """A compiled pattern, compiled on first use (start-up pays for no regex it does not use)."""
    import re

    return re.compile(text)


@lru_cache(maxsize=4096)
def _visible(ch: str) -> str:
    """One character as it may be shown: itself, or a visible escape such as ``\\x1b``."""
    import unicodedata

    if ch.isprintable() or unicodedata.category(ch) not in _UNSAFE_CATEGORIES:
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def data_text(s: str) -> str:
    """``s`` with every control, format and surrogate character shown visibly (nothing collapsed)."""
    if s.isprintable():  # the usual case: no character to look at one by one
        return s
    return "".join(_visible(ch) for ch in s)


def term_text(s: str) -> str:
    """``s`` as one safe terminal line: whitespace runs collapsed to one space, the unsafe shown
    visibly (``\\x1b``, ``\\u202e``)."""
    if s.isprintable() and "  " not in s:
        return s
    return data_text(_pattern(SPACE).sub(" ", s))


def rich_text(s: str, style: str = "") -> Text:
    """:func:`term_text` as a rich ``Text``: never read as markup, emoji codes or highlights."""
    from rich.text import Text

    return Text(term_text(s), style=style)


def md_text(s: str) -> str:
    """:func:`term_text` for a Markdown table cell: its punctuation (``|``, ``[``, ``*``, …) escaped."""
    return _pattern(MARKDOWN).sub(r"\\\1", term_text(s))
