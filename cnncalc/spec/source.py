"""A spec's text: from a path or standard input, as bytes with a size limit, decoded as UTF-8.

A file, a device such as /dev/zero or standard input over :data:`~cnncalc.spec.limits.MAX_INPUT_BYTES`
is refused after reading one byte past the limit, never more. Both a path and ``-`` are decoded the
same way, from bytes, whatever the locale; bytes that are not UTF-8 are refused with their line,
column and byte offset. A FIFO whose writer never closes it blocks, as ``cat`` would.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from ..errors import Loc, SpecError
from .limits import MAX_INPUT_BYTES


def read_limited(stream: BinaryIO, name: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """At most ``limit`` bytes of ``stream``; a SpecError as soon as there is one byte more.

    Never reads more than ``limit + 1`` bytes, so /dev/zero or an endless pipe is refused at once
    (a FIFO that never closes and never sends more still blocks, as ``cat`` would)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise SpecError(
            f"the input is larger than {limit // (1024 * 1024)} MB; a spec is a few KB (is this the right file?)",
            Loc(name),
        )
    return b"".join(chunks)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), whatever the locale; a located SpecError otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError(
            f"byte 0x{data[e.start]:02x} is not UTF-8 (at byte offset {e.start:,}); expected UTF-8 text "
            "(save the spec as UTF-8)",
            Loc(name, line, col),
        ) from None


def read_spec_source(source: str | Path) -> tuple[str, str]:
    """(the name to show, the text) of a spec file, or of standard input when ``source`` is ``-``.

    Both are read as bytes with the size limit and decoded as UTF-8 the same way, whatever the
    locale; a missing file, a folder, an unreadable file, an input over the limit or bytes that are
    not UTF-8 raise a SpecError.
    """
    if str(source) == "-":
        name = "<stdin>"
        stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
        if stdin is None:  # a text stream without bytes underneath (tests that replace sys.stdin)
            return name, _text_stdin(name)
        return name, decode(read_limited(stdin, name), name)
    return str(source), read_text(source)


def _text_stdin(name: str) -> str:
    text = sys.stdin.read(MAX_INPUT_BYTES + 1)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        raise SpecError(f"the input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB; a spec is a few KB", Loc(name))
    return text


def read_text(path: str | Path) -> str:
    """The spec file's text, or a SpecError for a missing file, a folder, a file over the size limit
    or bytes that are not UTF-8."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            data = read_limited(f, name)
    except FileNotFoundError:
        raise SpecError("no such file; expected the path of a YAML spec", Loc(name)) from None
    except IsADirectoryError:
        raise SpecError("is a folder; expected a YAML spec file", Loc(name)) from None
    except OSError as e:
        raise SpecError(f"cannot be read ({e.strerror}); expected a readable YAML spec file", Loc(name)) from None
    return decode(data, name)
