"""``cnncalc import`` (issue 3): a PyTorch model → a spec. torch is imported lazily inside."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .common import fail, parse_shape

SHOWN_NODES = 4  # node names shown per kind of unsupported operation


@click.command(name="import")
@click.argument("model", metavar="MODEL")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the spec here (default: stdout).")
@click.option(
    "--input", "input_shape", callback=parse_shape, metavar="C,H,W",
    help="Input shape to trace with (default 3,224,224; 3,299,299 for torchvision:inception_v3).",
)
def import_model(model: str, output: str | None, input_shape: tuple[int, ...] | None) -> None:
    """Turn a PyTorch model into a spec, through torch.fx tracing.

    \b
    MODEL is torchvision:NAME (e.g. torchvision:resnet50, random weights)
    or package.module:factory (a function or nn.Module class, called with no arguments, that
    returns an nn.Module). Naming package.module RUNS THAT MODULE'S CODE; it may be a file or
    package in the current directory, and nothing else is imported from there.
    Every traced operation must map to a cnncalc layer; otherwise the unsupported ones are listed
    and nothing is written (exit status 2).
    """
    _drop_cwd_from_path()  # only the named module may come from here (cnncalc.torch.load)
    _require_torch(model)
    from ..analysis import analyze
    from ..spec.dump import to_yaml
    from ..torch.importer import ImportCheckError, ModelError, UnsupportedOps
    from ..torch.importer import import_model as run_import

    try:
        imported = run_import(model, input_shape)
    except ModelError as e:
        fail(str(e))
    except UnsupportedOps as e:
        _fail_listing(_unsupported_text(model, e).splitlines())
    except ImportCheckError as e:
        fail(f"{model}: {e}", status=1)
    for w in imported.warnings:
        click.echo(f"warning: {w}", err=True)
    text = to_yaml(imported.spec, source=model)
    totals = analyze(imported.spec).totals
    where = "stdout"
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as e:
            fail(f"cannot write {output}: {e.strerror or e}")
        where = output
    else:
        click.echo(text, nl=False)
    shape = "x".join(map(str, imported.spec["input"]))
    click.echo(
        f"imported {model}: {len(imported.spec['layers'])} layers, {totals.params:,} parameters, "
        f"{totals.macs:,} MACs at input {shape} → {where}",
        err=True,
    )


def _drop_cwd_from_path() -> None:
    """Remove the working directory from ``sys.path`` (``python -m`` puts it first)."""
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", cwd)]


def _require_torch(model: str) -> None:
    """Import torch (and torchvision) now, before anything of the model's: their own imports
    then never see the working directory."""
    try:
        import torch
        import torch.fx  # noqa: F401
    except ImportError:
        fail("cnncalc import needs PyTorch: pip install 'cnncalc[torch]'")
    if model.startswith("torchvision:"):
        try:
            import torchvision  # noqa: F401
        except Exception as e:  # ImportError, or RuntimeError from a build for another torch
            kind = "" if isinstance(e, ImportError) else f" that works with this torch ({type(e).__name__})"
            fail(f"{model} needs torchvision{kind}: pip install torchvision")


def _fail_listing(lines: list[str]) -> None:
    """An error line, then an indented listing (each line made safe for a terminal), exit 2."""
    from ..render.safe import term_text

    click.echo(f"error: {term_text(lines[0])}", err=True)
    for line in lines[1:]:
        indent = len(line) - len(line.lstrip(" "))
        click.echo(" " * indent + term_text(line.strip()), err=True)
    sys.exit(2)


def _unsupported_text(model: str, e) -> str:  # e: UnsupportedOps (imported lazily)
    lines = [f"{model}: {len(e.items)} operation(s) have no cnncalc layer, so no spec was written:"]
    for group in e.groups():
        first, n = group[0], len(group)
        lines.append(f"  {first.op} {first.target} ({n} node{'s' if n > 1 else ''}): {first.reason}")
        where = [_where(u) for u in group[:SHOWN_NODES]]
        more = f", … and {n - SHOWN_NODES} more" if n > SHOWN_NODES else ""
        lines.append(f"      {', '.join(where)}{more}")
    if e.dependents:
        lines.append(f"  ({e.dependents} supported operation(s) that depend on these were not converted either)")
    return "\n".join(lines)


def _where(u) -> str:
    """A module's path; a function's node name and the module it was called in."""
    if u.op == "call_module":
        return u.module
    return f"node {u.node} in {u.module}" if u.module else f"node {u.node}"


