"""The shipped zoo: the reference specs, reachable by name (``cnncalc summarize vgg16``).

The specs live once, in the repository's top-level ``specs/``. A wheel carries them as
``cnncalc/specs`` (the build backend's force-include, pyproject.toml); a checkout or an editable
install reads the top-level folder. This module returns data; ``cnncalc zoo`` renders it.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import Loc, SpecError

_HERE = Path(__file__).resolve().parent
# a wheel's copy first, then the checkout's top-level folder
_PLACES = (_HERE / "specs", _HERE.parent / "specs")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class Entry:
    """One shipped spec: its name, file, a one-line description and its totals at batch 1."""

    name: str
    path: Path
    description: str
    params: int
    macs: int


def folder() -> Path | None:
    """The folder of the shipped specs, or None if this install has none."""
    return next((p for p in _PLACES if p.is_dir()), None)


def names() -> list[str]:
    """The shipped specs' names (file names without ``.yaml``), sorted."""
    where = folder()
    return sorted(p.stem for p in where.glob("*.yaml")) if where else []


def find(name: str) -> Path | None:
    """The shipped spec called ``name`` (``vgg16`` or ``vgg16.yaml``), or None."""
    stem = name.removesuffix(".yaml")
    where = folder()
    if where is None or not _NAME.fullmatch(stem) or stem not in names():
        return None
    return where / f"{stem}.yaml"


def resolve(arg: str) -> str:
    """A spec argument as a path: a path that exists wins, else a zoo name; otherwise a SpecError
    that says so, with the closest zoo name."""
    if _exists(arg):
        return arg
    path = find(arg)
    if path is not None:
        return str(path)
    close = difflib.get_close_matches(arg.removesuffix(".yaml"), names(), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise SpecError(
        f"no such file, and no shipped spec of that name{hint}; expected the path of a YAML spec "
        "or a name from `cnncalc zoo`",
        Loc(arg),
    )


def _exists(arg: str) -> bool:
    try:
        return Path(arg).exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def describe(path: Path) -> str:
    """A spec's one-line description: the name its header comment opens with (up to the first
    parenthesis or comma), and the torchvision builder it follows, if it names one."""
    head = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        head.append(line.lstrip("#").strip())
    if not head:
        return ""
    title = re.split(r" \(|,", head[0], maxsplit=1)[0].strip()
    builder = re.search(r"torchvision\.models\.(\w+)", " ".join(head))
    return f"{title}, as torchvision.models.{builder.group(1)}" if builder else title


def entries(pattern: str = "*") -> list[Entry]:
    """The shipped specs whose name matches ``pattern`` (shell wildcards: ``resnet*``), analysed."""
    from .analysis import analyze

    out = []
    for name in names():
        if not fnmatch.fnmatchcase(name, pattern):
            continue
        path = find(name)
        assert path is not None  # listed just above
        totals = analyze(path).totals
        out.append(Entry(name, path, describe(path), totals.params, totals.macs))
    return out
