"""Static budgets: the cheapest CI gate. No torch, only the analysis's exact totals.

``cnncalc summarize SPEC --max-params 30M --max-macs 5G --max-memory 2GiB`` exits with status 1 and
names each figure over its budget. A spec may carry the same limits under a top-level ``budgets:``
key (``{params: 30M, macs: 5G, memory: 2GiB}``); a command-line option overrides the spec's value.

Units are exact: counts take K, M, G, T (powers of 1000, ``1.5M`` = 1,500,000); memory takes B, KB,
MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024). Case does not matter.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import click

from .analysis import Report

COUNT_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
BYTE_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}
MEMORY_FIGURES = ("inference", "training")  # memory.inference_peak_bytes, memory.training_bytes
KINDS = ("params", "macs", "memory")
_NUMBER = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*")


class BudgetError(ValueError):
    """A budget that cannot be read (the message says what was expected)."""


def parse_quantity(text: str | int, kind: str) -> int:
    """``'30M'`` → 30000000 (``kind`` 'params'/'macs'); ``'2GiB'`` → 2147483648 (``kind`` 'memory').

    The result must be a whole, non-negative number: ``'1.5K'`` is 1500, ``'1.0005K'`` an error.
    """
    units = BYTE_UNITS if kind == "memory" else COUNT_UNITS
    if isinstance(text, bool):
        raise BudgetError(f"{kind} budget: expected a number, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise BudgetError(f"{kind} budget must not be negative, got {text}")
        return text
    m = _NUMBER.fullmatch(str(text))
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in units:
        names = "K, M, G, T" if kind != "memory" else "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"
        raise BudgetError(f"{kind} budget: cannot read {str(text)!r}; expected a number with an optional unit ({names})")
    try:
        value = Decimal(m.group(1)) * units[unit]
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal numbers
        raise BudgetError(f"{kind} budget: cannot read {text!r}") from None
    if value != value.to_integral_value():
        raise BudgetError(f"{kind} budget {text!r} is not a whole number ({value})")
    return int(value)


@dataclass(frozen=True)
class Budgets:
    """Limits in exact units (None: no limit); ``memory_figure`` says which memory estimate is meant."""

    params: int | None = None
    macs: int | None = None
    memory: int | None = None
    memory_figure: str = "inference"

    @property
    def any(self) -> bool:
        return any(getattr(self, k) is not None for k in KINDS)

    def merged(self, override: Budgets) -> Budgets:
        """These budgets with every limit ``override`` sets replacing ours."""
        values = {k: getattr(override, k) if getattr(override, k) is not None else getattr(self, k) for k in KINDS}
        return Budgets(**values, memory_figure=override.memory_figure)


def from_mapping(data: Mapping[str, Any] | None) -> Budgets:
    """A spec's ``budgets:`` mapping → :class:`Budgets` (raises :class:`BudgetError` on a bad entry)."""
    if not data:
        return Budgets()
    unknown = sorted(set(data) - set(KINDS) - {"memory_figure"})
    if unknown:
        raise BudgetError(f"budgets: unknown key '{unknown[0]}'; expected {', '.join(KINDS)} or memory_figure")
    figure = data.get("memory_figure", "inference")
    if figure not in MEMORY_FIGURES:
        raise BudgetError(f"budgets: memory_figure must be {' or '.join(MEMORY_FIGURES)}, got {figure!r}")
    values = {k: None if data.get(k) is None else parse_quantity(data[k], k) for k in KINDS}
    return Budgets(**values, memory_figure=figure)


@dataclass(frozen=True)
class Check:
    """One budget against the figure it limits."""

    kind: str  # params, macs, memory
    label: str  # what the figure is, e.g. 'inference peak memory (float32)'
    value: int
    limit: int

    @property
    def over(self) -> bool:
        return self.value > self.limit

    @property
    def share(self) -> float:
        """The figure as a fraction of its budget (inf for a zero budget exceeded)."""
        if self.limit == 0:
            return 0.0 if self.value == 0 else float("inf")
        return self.value / self.limit


def measure(report: Report, kind: str, memory_figure: str) -> tuple[str, int]:
    """The figure a budget of ``kind`` limits, and its label."""
    if kind == "params":
        return "parameters", report.totals.params
    if kind == "macs":
        return f"MACs at batch {report.batch}", report.totals.macs
    m = report.memory
    if memory_figure == "training":
        return f"training memory ({m.dtype}, {m.optimizer})", m.training_bytes
    return f"inference peak memory ({m.dtype}, batch {report.batch})", m.inference_peak_bytes


def check(report: Report, budgets: Budgets) -> list[Check]:
    """Each set budget against the report's figure, in the order params, MACs, memory."""
    checks = []
    for kind in KINDS:
        limit = getattr(budgets, kind)
        if limit is not None:
            label, value = measure(report, kind, budgets.memory_figure)
            checks.append(Check(kind, label, value, limit))
    return checks


# ---- the command-line side: options for summarize, and the verdict --------------------------------
def _text(kind: str, n: int) -> str:
    if kind == "memory":
        from .render import human_bytes

        return f"{n:,} B ({human_bytes(n)})" if n >= 1024 else f"{n:,} B"
    return f"{n:,}"


def verdict_lines(checks: list[Check]) -> list[str]:
    """One line per budget: 'over budget: ...' or 'within budget: ...'."""
    lines = []
    for c in checks:
        rel = ">" if c.over else "≤"
        head = "over budget" if c.over else "within budget"
        pct = "" if c.share == float("inf") else f" ({100 * c.share:.1f}% of the budget)"
        lines.append(f"{head}: {c.label} {_text(c.kind, c.value)} {rel} max-{c.kind} {_text(c.kind, c.limit)}{pct}")
    return lines


_META = "cnncalc.budget"
F = TypeVar("F", bound=Callable[..., Any])


def _option_budget(kind: str) -> Callable[[click.Context, click.Parameter, str | None], int | None]:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            return parse_quantity(value, kind)
        except BudgetError as e:
            raise click.BadParameter(str(e)) from None

    return parse


def budget_options(f: F) -> F:
    """Add --max-params/--max-macs/--max-memory/--memory-figure to a command that analyses one spec
    through :func:`analyze_with_budgets`; after the command has printed its output, exit with status 1
    when a figure is over its budget (from the options, or the spec's ``budgets:``)."""

    @click.option("--max-params", callback=_option_budget("params"), metavar="N", help="Budget: total parameters (e.g. 30M; K/M/G/T are powers of 1000).")
    @click.option("--max-macs", callback=_option_budget("macs"), metavar="N", help="Budget: total MACs at --batch (e.g. 5G).")
    @click.option("--max-memory", callback=_option_budget("memory"), metavar="BYTES", help="Budget: memory (e.g. 2GiB, 500MB; see --memory-figure).")
    @click.option(
        "--memory-figure", type=click.Choice(MEMORY_FIGURES), default=None,
        help="Which estimate --max-memory limits: the inference peak (default) or the training total (--optimizer).",
    )
    @functools.wraps(f)
    def wrapper(*args: Any, max_params: int | None, max_macs: int | None, max_memory: int | None,
                memory_figure: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        ctx.meta[_META] = {"cli": Budgets(max_params, max_macs, max_memory, memory_figure or "inference"),
                           "figure_given": memory_figure is not None}
        result = f(*args, **kwargs)
        _enforce(ctx)
        return result

    return wrapper  # type: ignore[return-value]


def analyze_with_budgets(spec: str, **kw: Any) -> Report:
    """``run_analysis`` for a command decorated with :func:`budget_options`: parse the spec once, keep its
    ``budgets:`` (if the parser gives NetSpec one) for the verdict, and analyse it."""
    from .commands.common import fail, run_analysis, spec_source
    from .errors import SpecError
    from .spec import NetSpec, parse_spec

    try:
        source = spec_source(spec)
        parsed = source if isinstance(source, NetSpec) else parse_spec(source)
    except SpecError as e:
        fail(str(e))
    report = run_analysis(parsed, **kw)  # type: ignore[arg-type]  # a NetSpec passes through spec_source
    state = click.get_current_context().meta.setdefault(_META, {})
    try:
        state["spec"] = from_mapping(getattr(parsed, "budgets", None))
    except BudgetError as e:
        fail(f"{parsed.file}: {e}")
    state["report"] = report
    return report


def _enforce(ctx: click.Context) -> None:
    state = ctx.meta.get(_META, {})
    report: Report | None = state.get("report")
    if report is None:
        return
    cli_budgets: Budgets = state.get("cli", Budgets())
    spec_budgets: Budgets = state.get("spec", Budgets())
    if not state.get("figure_given"):
        cli_budgets = Budgets(cli_budgets.params, cli_budgets.macs, cli_budgets.memory, spec_budgets.memory_figure)
    checks = check(report, spec_budgets.merged(cli_budgets))
    from .commands.common import QUIET_KEY

    for c, line in zip(checks, verdict_lines(checks), strict=True):
        if c.over or not ctx.meta.get(QUIET_KEY):  # --quiet keeps only what fails
            click.echo(line, err=True)
    if any(c.over for c in checks):
        ctx.exit(1)
