"""Marking: a student's claimed values, read from an answers file, checked against the analysis.

An answers file for a spec maps layer names (or ``total``) to claimed values::

    conv1: {shape: [6, 28, 28], params: 156}   # shape per sample, in the spec's own axis order
    pool1: {size: 14}                           # spatial size only: an int (square) or a list
    total: {params: 60k, tolerance: 5%}         # "about 60k": within 5 %
    tolerance: 1%                               # optional, for the whole file

An answers file for calculator commands is a list of questions::

    - run: conv 7 3 --stride 3
      expect: {size: 2, exact: 7/3}

Every value keeps its place in the file, so a malformed answer is an error naming file, line and
column. This module returns :class:`Mark` records; ``cnncalc check`` prints them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..analysis import LayerStats, Report
from ..errors import Loc, SpecError
from ..layers import RULES
from ..layers.base import GLOBAL, Window
from ..rf import Field
from ..spec import INPUT, resolve_layer
from ..spec.loader import compose, loc, scalar
from ..spec.names import closest

FIELDS = ("shape", "size", "params", "macs", "flops", "rf", "memory")
COUNTS = ("params", "macs", "flops", "memory")  # the fields a tolerance applies to
TOTAL = "total"
COUNT_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9, "t": 10**12}
BYTE_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
_QUANTITY = re.compile(r"\s*([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+)\s*([A-Za-z]*)\s*")
_FRACTION = re.compile(r"\s*([+-]?\d+)\s*/\s*(\d+)\s*")
_DIMS = re.compile(r"\s*\d+(\s*[x×]\s*\d+)*\s*")
MAX_ANSWERS = 10_000


@dataclass(frozen=True)
class Claim:
    """One claimed value: what it is about, which field, the value as written, where it is."""

    target: str  # a layer name, 'total', or a calculator command
    field: str
    value: Any
    tolerance: Fraction | None
    loc: Loc
    target_loc: Loc | None = None  # where the layer name is written


@dataclass(frozen=True)
class Mark:
    claim: Claim
    right: bool
    value: Any  # the right value, JSON-ready
    explanation: tuple[str, ...] = ()

    def to_dict(self, key: str = "layer") -> dict[str, Any]:
        c = self.claim
        return {
            key: c.target, "field": c.field, "claimed": c.value, "value": self.value, "right": self.right,
            "tolerance": None if c.tolerance is None else f"{float(c.tolerance * 100):g}%",
            "line": c.loc.line, "explanation": list(self.explanation),
        }


# ---- reading -------------------------------------------------------------------------------------


def to_python(node: Node) -> Any:
    """Plain data from a node (mappings as dicts with string keys)."""
    if isinstance(node, MappingNode):
        return {str(scalar(k)) if isinstance(k, ScalarNode) else "?": to_python(v) for k, v in node.value}
    if isinstance(node, SequenceNode):
        return [to_python(v) for v in node.value]
    assert isinstance(node, ScalarNode)
    return scalar(node)


def _err(message: str, node: Node | None, file: str) -> SpecError:
    return SpecError(message, loc(node, file))


def _pairs(node: Node, file: str, what: str) -> list[tuple[str, Node, Node]]:
    if not isinstance(node, MappingNode):
        raise _err(f"{what} must be a mapping", node, file)
    out: list[tuple[str, Node, Node]] = []
    for k, v in node.value:
        if not isinstance(k, ScalarNode) or not isinstance(scalar(k), str):
            raise _err(f"{what}: keys must be names", k, file)
        out.append((str(scalar(k)), k, v))
    return out


def tolerance(node: Node, file: str) -> Fraction:
    """``5%`` → 1/20. Anything else is a located error."""
    text = str(scalar(node)) if isinstance(node, ScalarNode) else ""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", text)
    if not m or Fraction(m.group(1)) > 100:
        raise _err(f"tolerance: expected a percentage between 0% and 100%, like 5%; got {text!r:.40}", node, file)
    return Fraction(m.group(1)) / 100


def read_answers(text: str, file: str) -> list[Claim]:
    """The claims of an answers file for a spec (layer or ``total`` → field → value)."""
    root = compose(text, file)
    if not isinstance(root, MappingNode):
        raise _err("an answers file maps layer names (or 'total') to answers, e.g. conv1: {params: 156}", root, file)
    items = _pairs(root, file, "the answers file")
    file_tol = next((tolerance(v, file) for k, _, v in items if k == "tolerance"), None)
    claims: list[Claim] = []
    for name, knode, vnode in items:
        if name == "tolerance":
            continue
        claims += entry(name, knode, vnode, file, file_tol)
        if len(claims) > MAX_ANSWERS:
            raise _err(f"more than {MAX_ANSWERS:,} answers in one file", knode, file)
    if not claims:
        raise _err("no answers in the file; expected e.g. conv1: {params: 156}", root, file)
    return claims


def entry(target: str, knode: Node, vnode: Node, file: str, file_tol: Fraction | None,
          fields: Sequence[str] = FIELDS) -> list[Claim]:
    """The claims of one ``target: {field: value, …, tolerance: 5%}`` entry."""
    pairs = _pairs(vnode, file, f"the answers for '{target}'")
    tol = next((tolerance(v, file) for k, _, v in pairs if k == "tolerance"), file_tol)
    out = []
    for field, fk, fv in pairs:
        if field == "tolerance":
            continue
        if field not in fields:
            raise _err(f"'{target}': unknown field '{field}'{closest(field, fields)}; "
                       f"expected {', '.join(fields)} or tolerance", fk, file)
        out.append(Claim(target, field, to_python(fv), tol, loc(fv, file), loc(knode, file)))
    if not out:
        raise _err(f"'{target}': no answers; expected one of {', '.join(fields)}", vnode, file)
    return out


# ---- comparing -----------------------------------------------------------------------------------


def quantity(v: Any, field: str) -> tuple[Fraction, Fraction] | None:
    """A claimed count or size → (value, half of its last written digit), or None if unreadable.

    ``156`` → exactly 156; ``60k`` → 60,000 ± 500; ``3.06 MiB`` → 3.06·2²⁰ ± 0.005·2²⁰; ``7/3``.
    A value is right when it rounds to what was written (or is within the tolerance).
    """
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Fraction(v), Fraction(0)
    if isinstance(v, float):
        return (Fraction(v), Fraction(0)) if v == v and abs(v) != float("inf") else None
    if not isinstance(v, str):
        return None
    if m := _FRACTION.fullmatch(v):
        return (Fraction(int(m.group(1)), int(m.group(2))), Fraction(0)) if int(m.group(2)) else None
    m = _QUANTITY.fullmatch(v)
    if m is None:
        return None
    units = BYTE_UNITS if field == "memory" else COUNT_UNITS
    unit = m.group(2).lower()
    if unit not in units or (field == "memory" and not unit):
        return None
    digits = m.group(1).replace(",", "")
    scale = units[unit]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    half = Fraction(scale, 2 * 10**decimals) if (unit not in ("", "b") or decimals) else Fraction(0)
    return Fraction(digits) * scale, half


def close_enough(claimed: Any, right: Fraction | int, field: str, tol: Fraction | None) -> bool | None:
    """Whether a claimed number matches ``right`` (None: the claim is not a number)."""
    q = quantity(claimed, field)
    if q is None:
        return None
    value, half = q
    slack = max(half, abs(Fraction(right)) * tol if tol is not None else Fraction(0))
    return abs(value - Fraction(right)) <= slack


def dims(v: Any) -> tuple[Any, ...] | None:
    """``[6, 28, 28]``, ``"6x28x28"`` or ``28`` → a tuple (an int stays a 1-tuple)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return (v,)
    if isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return tuple(v)
    if isinstance(v, str) and _DIMS.fullmatch(v):
        return tuple(int(x) for x in re.split(r"[x×]", v))
    return None


# ---- marking a spec's answers --------------------------------------------------------------------


def plain(v: Any) -> Any:
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    return v


def mark_all(report: Report, claims: Sequence[Claim], names: Any = None) -> list[Mark]:
    """Mark every claim against the report; an unknown layer name is a located error."""
    marks = []
    for c in claims:
        if c.target == TOTAL:
            marks.append(_mark_total(report, c))
            continue
        try:
            name = resolve_layer(names if names is not None else report, c.target)
        except SpecError as e:
            message = e.message
            if "did you mean" not in message:
                known = [s.name for s in report.layers]
                message += f"; its layers: {', '.join(known[:8])}{', …' if len(known) > 8 else ''}"
            raise SpecError(message, c.target_loc or c.loc) from None
        marks.append(_mark_layer(report, report.layer(name), c))
    return marks


def _shape_of(report: Report, name: str) -> tuple[int, ...]:
    return report.input_shape[1:] if name == INPUT else report.layer(name).output_shape[1:]


def _compare(c: Claim, right: Any) -> bool:
    """The claim against the right value for its field (a located error if it cannot be read)."""
    if c.field in COUNTS:
        ok = close_enough(c.value, right, c.field, c.tolerance)
        if ok is None:
            unit = "a number of bytes or 3.06 MiB, 12 MB" if c.field == "memory" else "an integer, or 60k, 1.5M"
            raise SpecError(f"'{c.target}': {c.field}: cannot read {str(c.value)!r:.40}; expected {unit}", c.loc)
        return ok
    if c.field == "rf" and isinstance(c.value, str) and c.value.strip().lower() == "global":
        return right == "global"
    got = dims(c.value)
    if got is None:
        what = {"shape": "a list like [6, 28, 28]", "size": "an int or a list like [28, 28]",
                "rf": "an int, a list or 'global'"}[c.field]
        raise SpecError(f"'{c.target}': {c.field}: cannot read {str(c.value)!r:.40}; expected {what}", c.loc)
    if right == "global" or right is None or len(right) == 0:
        return False  # a global field, no field, or no spatial size: no number is right
    want = tuple(right)
    if len(got) == 1 and c.field in ("size", "rf"):
        return all(Fraction(w) == got[0] for w in want)
    return tuple(Fraction(g) for g in got) == tuple(Fraction(w) for w in want)


def _rf_value(s: LayerStats) -> Any:
    f = s.receptive_field
    if f == GLOBAL:
        return "global"
    if isinstance(f, Field):
        return [plain(Fraction(v)) for v in f.size]
    return None


def _mark_layer(report: Report, s: LayerStats, c: Claim) -> Mark:
    shape = s.output_shape[1:]
    right: Any = {
        "shape": list(shape), "size": list(shape[1:]), "params": s.params, "macs": s.macs, "flops": s.flops,
        "memory": s.activation_bytes, "rf": _rf_value(s),
    }[c.field]
    ok = _compare(c, right)
    if ok:
        return Mark(c, ok, right)
    why = explain_layer(report, s, c.field)
    if c.field == "shape" and dims(c.value) == (*shape[1:], shape[0]):
        why = ["that is the shape in H×W×C order; cnncalc's shapes are channels first (C, H, W)", *why]
    return Mark(c, ok, right, tuple(why))


def _mark_total(report: Report, c: Claim) -> Mark:
    t, last = report.totals, report.layers[-1]
    if c.field in ("shape", "size", "rf"):
        m = _mark_layer(report, last, c)
        return Mark(c, m.right, m.value, () if m.right else (f"the network's output is layer '{last.name}'s",
                                                          *m.explanation))
    right = {"params": t.params, "macs": t.macs, "flops": t.flops, "memory": t.activation_bytes}[c.field]
    ok = _compare(c, right)
    return Mark(c, ok, right, () if ok else tuple(explain_total(report, c.field)))


# ---- explanations --------------------------------------------------------------------------------


def explain_layer(report: Report, s: LayerStats, field: str) -> list[str]:
    """The arithmetic behind one layer's ``field``, from its rule's explanation where it has one."""
    ins = [_shape_of(report, i) for i in s.inputs]
    if field == "memory":
        elems = s.activation_elements
        return [f"{'×'.join(map(str, s.output_shape))} = {elems:,} values × {report.memory.bytes_per_element} "
                f"bytes ({report.dtype}) = {s.activation_bytes:,} bytes"]
    if field == "rf":
        if s.receptive_field == GLOBAL:
            return ["global: every output unit sees the whole input (after a flatten, linear or global pool)"]
        return _explain_rf(report, s, ins)
    if field == "size" and len(s.output_shape) <= 2:
        return [f"the output {list(s.output_shape[1:])} has no spatial axes, so no size"]
    if field == "flops":
        return [f"flops = 2 per MAC ({s.macs:,}) plus bias, norm, activation and pooling operations "
                "(docs/conventions.md) = " + f"{s.flops:,}"]
    lines = RULES[s.type].explain(s.args, ins)
    key = {"params": "param", "macs": "mac"}.get(field)
    if key:
        picked = [x for x in lines if key in x.lower()]
    else:
        picked = [x for x in lines if re.match(r"[LDHW]: ", x)] or lines
        if field == "shape":
            picked = [f"output shape {list(s.output_shape[1:])} per sample (channels first)", *picked]
    return picked or lines


def _explain_rf(report: Report, s: LayerStats, ins: list[tuple[int, ...]]) -> list[str]:
    prev = report.layer(s.inputs[0]) if s.inputs and s.inputs[0] != INPUT else None
    value = _rf_value(s)
    try:
        step = RULES[s.type].infer(s.args, ins).rf
    except Exception:  # pragma: no cover - the analysis already ran this rule
        step = None
    if isinstance(step, Window) and isinstance(s.receptive_field, Field):
        r_in = prev.receptive_field.size[0] if prev and isinstance(prev.receptive_field, Field) else 1
        j_in = prev.receptive_field.stride[0] if prev and isinstance(prev.receptive_field, Field) else 1
        k = step.kernel[0]
        return [f"r = r_in + (F − 1)·J_in = {plain(Fraction(r_in))} + ({k} − 1)·{plain(Fraction(j_in))} = "
                f"{plain(Fraction(s.receptive_field.size[0]))}  (J_in: the input's jump, the product of "
                "the strides before)", "`cnncalc rf SPEC` shows every layer's field"]
    return [f"receptive field {value}: as its input's (the layer has no window)",
            "`cnncalc rf SPEC` shows every layer's field"]


def explain_total(report: Report, field: str) -> list[str]:
    attr = {"params": "params", "macs": "macs", "flops": "flops", "memory": "activation_bytes"}[field]
    parts = [(s.name, getattr(s, attr)) for s in report.layers if getattr(s, attr)]
    total = sum(v for _, v in parts)
    shown = " + ".join(f"{n} {v:,}" for n, v in parts[:6]) + (" + …" if len(parts) > 6 else "")
    what = "activation memory of every layer's output" if field == "memory" else f"{field} of every layer"
    return [f"the sum of the {what}: {shown} = {total:,}"]


# ---- calculator questions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One calculator question: the command (without "cnncalc"), what it should give, where it is."""

    run: str
    loc: Loc
    expect: Node
    tolerance: Fraction | None
    file: str

    def value_claims(self) -> list[Claim]:
        """``expect: {size: 2, exact: 7/3}``: keys of the command's JSON output."""
        return [Claim(self.run, key, to_python(v), self.tolerance, loc(v, self.file))
                for key, _, v in _pairs(self.expect, self.file, "expect")]

    def layer_claims(self) -> list[Claim]:
        """``expect: {conv1: {params: 156}, total: {macs: 1M}}`` (for chain): marked like a spec's answers."""
        out = []
        for name, kn, v in _pairs(self.expect, self.file, "expect"):
            out += entry(name, kn, v, self.file, self.tolerance)
        return out


def read_questions(text: str, file: str) -> list[Question]:
    """A list of ``{run: COMMAND, expect: {key: value}, tolerance: 5%}`` items."""
    root = compose(text, file)
    if not isinstance(root, SequenceNode):
        raise _err("a questions file is a list of {run: COMMAND, expect: {...}} items "
                   "(to mark answers about a spec: cnncalc check SPEC ANSWERS)", root, file)
    out = []
    for item in root.value:
        pairs = {k: (kn, v) for k, kn, v in _pairs(item, file, "a question")}
        for k, (kn, _) in pairs.items():
            if k not in ("run", "expect", "tolerance"):
                raise _err(f"unknown key '{k}'{closest(k, ['run', 'expect', 'tolerance'])}; "
                           "expected run, expect and tolerance", kn, file)
        if "run" not in pairs or "expect" not in pairs:
            raise _err("a question needs run (the command) and expect (the values)", item, file)
        run_node = pairs["run"][1]
        if not isinstance(run_node, ScalarNode) or not isinstance(scalar(run_node), str):
            raise _err("run: expected the command as text, e.g. conv 7 3 --stride 2", run_node, file)
        tol = tolerance(pairs["tolerance"][1], file) if "tolerance" in pairs else None
        out.append(Question(str(scalar(run_node)).strip(), loc(run_node, file), pairs["expect"][1], tol, file))
        if len(out) > MAX_ANSWERS:
            raise _err(f"more than {MAX_ANSWERS:,} questions in one file", item, file)
    if not out:
        raise _err("no questions in the file", root, file)
    return out


def mark_value(c: Claim, data: Mapping[str, Any], explanation: Sequence[str] = ()) -> Mark:
    """A calculator question's expected ``c.field`` against the command's JSON ``data``."""
    if c.field not in data:
        raise SpecError(f"'{c.target}' gives no '{c.field}'{closest(c.field, list(data))}; "
                        f"it gives {', '.join(data)}", c.loc)
    right = data[c.field]
    ok = same(c.value, right, c.field, c.tolerance)
    return Mark(c, ok, right, () if ok else tuple(explanation))


def same(claimed: Any, right: Any, field: str, tol: Fraction | None) -> bool:
    """Equal as data, numbers compared exactly (``"10/3"`` = 10/3) or within the tolerance."""
    if isinstance(right, dict):
        return isinstance(claimed, dict) and all(k in right and same(v, right[k], k, tol) for k, v in claimed.items())
    if isinstance(right, list):
        return isinstance(claimed, list) and len(claimed) == len(right) and all(
            same(a, b, field, tol) for a, b in zip(claimed, right, strict=True))
    if isinstance(right, bool) or isinstance(claimed, bool) or right is None:
        return claimed == right
    r = quantity(right, "count") if not isinstance(right, (int, float)) else (Fraction(right), Fraction(0))
    if r is not None:
        ok = close_enough(claimed, r[0], "count", tol)
        return bool(ok)
    return str(claimed).strip() == str(right).strip()
