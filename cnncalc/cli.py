"""The ``cnncalc`` command line. Each command: parse options → library call → render → exit status.

Exit statuses: 0 success; 1 a check failed; 2 an invalid spec or invalid usage.
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .analysis import DTYPES, OPTIMIZERS
from .budget import analyze_with_budgets, budget_options
from .commands.common import batch_option, emit, fail, input_option, quiet_option, spec_source
from .errors import CnncalcError, SpecError

FORMATS = ("table", "json", "csv", "markdown", "dot", "mermaid")


# Commands that live in their own module, loaded only when run (or listed by --help), so that start-up
# pays for none of them: name -> "module:attribute" under cnncalc.commands. One line per command.
LAZY_COMMANDS: dict[str, str] = {
    "rf": "rf:rf",
    "verify": "torch_cmds:verify",
    "export": "torch_cmds:export",
    "import": "import_cmd:import_model",
    "zoo": "zoo:zoo",
    "conv": "calc:conv",
    "pool": "calc:pool",
    "solve": "calc:solve",
    "chain": "calc:chain",
    "apply": "apply:apply_cmd",
    "check": "check:check",
    "bench": "bench:bench",
    "compare": "compare:compare",
    "report": "report:report",
    "draw": "draw:draw",
}


class LazyGroup(click.Group):
    """A click group whose commands in :data:`LAZY_COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            import importlib

            module, attr = LAZY_COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(f"cnncalc.commands.{module}"), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def cli() -> None:
    """Exact shapes, parameters, MACs, memory and receptive fields of a CNN, from a YAML spec.

    \b
    Start with:  cnncalc summarize vgg16    (cnncalc zoo lists the shipped specs)
    Spec format: cnncalc schema (JSON Schema), cnncalc layers (layer types)
    """


@cli.command()
@click.argument("spec", metavar="SPEC.yaml")
@batch_option
@input_option
@click.option("--dtype", type=click.Choice(list(DTYPES)), default="float32", show_default=True, help="Element type for memory.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default="adam", show_default=True, help="Optimizer state in the training estimate.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")
@click.option("--strict", is_flag=True, help="Treat a floored (non-integer) output size as an error.")
@click.option(
    "--depth", "-d", type=click.IntRange(min=1), default=None,
    help="Table/markdown: one row per group of layers sharing the first N parts of their names "
    "(layer1.0.conv1 → layer1 at depth 1).",
)
@click.option("--columns", "-c", metavar="LIST", help="Table: these columns in this order, from name,type,shape,params,macs,share,memory,rf (default: all that fit the terminal).")
@click.option("--sort", type=click.Choice(["macs", "params", "memory"]), help="Table: the costliest layers first.")
@quiet_option
@budget_options
def summarize(spec: str, batch: int, input_shape, dtype: str, optimizer: str, fmt: str, strict: bool, depth: int | None,
              columns: str | None, sort: str | None) -> None:
    """Per-layer output shape, parameters, MACs, memory and receptive field, with totals.

    SPEC.yaml may be - to read the spec from standard input.
    """
    report = analyze_with_budgets(spec, batch=batch, input_shape=input_shape, dtype=dtype, optimizer=optimizer, strict=strict)
    if fmt in ("dot", "mermaid"):  # the graph (folded with --depth), for docs and READMEs
        from .render import graph

        click.echo(graph.FORMATS[fmt](graph.build(report, depth)), nl=False)
        return
    if fmt == "table":
        from .render.table import parse_columns, render

        try:
            keys = parse_columns(columns) if columns else None
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--columns") from None
        render(report, depth=depth, columns=keys, sort=sort)
        return
    from . import render as r

    if fmt == "markdown":
        click.echo(r.to_markdown(report, depth), nl=False)
        return
    if fmt == "json":  # streamed: a long report is never held as one string
        emit(r.json_report_chunks(report))
        return
    click.echo(r.to_csv(report), nl=False)


@cli.command()
@click.argument("spec", metavar="SPEC.yaml")
@click.option("--layer", "-l", "layers", multiple=True, help="Only this layer (repeatable).")
@batch_option
@input_option
@quiet_option
def explain(spec: str, layers: tuple[str, ...], batch: int, input_shape) -> None:
    """The arithmetic behind each layer's shape, parameters and MACs (SPEC.yaml may be -)."""
    from .explain import explain_layers
    from .render.explain import explain_chunks

    try:
        emit(explain_chunks(explain_layers(spec_source(spec), layers, batch=batch, input_shape=input_shape)))
    except SpecError as e:
        fail(str(e))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the spec format (for editors)."""
    import json

    from .spec.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@cli.command(name="layers")
def layer_types() -> None:
    """List the layer types and their arguments."""
    import shutil
    import textwrap

    from .layers import RULES
    from .layers.base import REQUIRED

    width = max(60, min(shutil.get_terminal_size().columns, 100))
    pad = " " * 19
    for name, rule in RULES.items():
        args = ", ".join(a.name if a.default is REQUIRED else f"{a.name}={a.default}" for a in rule.args)
        click.echo(textwrap.fill(rule.doc, width, initial_indent=f"{name:18} ", subsequent_indent=pad))
        if args:
            click.echo(textwrap.fill(args, width, initial_indent=pad + "args: ", subsequent_indent=pad + "      "))


def _safe_streams() -> None:
    """Output that any locale can print: a character the stream cannot encode (an 'é' under
    LC_ALL=C) is written as a backslash escape, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main() -> None:
    _safe_streams()
    try:
        cli(standalone_mode=True)
    except CnncalcError as e:  # pragma: no cover - every command handles its own
        fail(str(e))
    except RecursionError:
        fail("the spec nests too deeply to analyse")
