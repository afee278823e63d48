"""``cnncalc verify`` and ``cnncalc export`` (issue 3). torch is imported lazily inside commands, and
not at all by ``export --to pytorch``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import click

from ..errors import CnncalcError
from .common import batch_option, fail, input_option, note, quiet_option, spec_source

INSTALL = "pip install 'cnncalc[torch]'"


def _bridge(command: str) -> ModuleType:
    """``cnncalc.torch`` with torch imported, or exit 2 with the install hint when torch is missing
    (the package itself imports without torch, offering only the source writer)."""
    try:
        importlib.import_module("torch")
        return importlib.import_module("cnncalc.torch")
    except ImportError as e:
        if e.name and e.name.split(".")[0] == "torch":
            fail(f"cnncalc {command} needs PyTorch, which is not installed: {INSTALL}")
        raise


# ---- verify -------------------------------------------------------------------------------------
@click.command()
@click.argument("spec", metavar="SPEC.yaml")
@batch_option
@input_option
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default="cpu",
    show_default=True,
    help="Where to run.",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@click.option("--all", "show_all", is_flag=True, help="List every layer, not only the mismatches.")
@quiet_option
def verify(
    spec: str,
    batch: int,
    input_shape: tuple[int, ...] | None,
    device: str,
    fmt: str,
    show_all: bool,
) -> None:
    """Build the net in PyTorch, run it once, and compare every layer with the analysis.

    Compares each layer's output shape, parameters, buffers and MACs (FlopCounterMode flops / 2).
    Exit status 0: all agree; 1: a mismatch; 2: invalid spec, too little memory, or no torch.
    """
    bridge = _bridge("verify")
    from ..render.progress import progress_bar

    try:
        with progress_bar() as update:  # on stderr, only on a terminal
            v = bridge.verify(spec_source(spec), batch, input_shape=input_shape, device=device, progress=update)
    except CnncalcError as e:
        fail(str(e))
    if v.report.warnings:
        n = len(v.report.warnings)
        note(f"the analysis has {n} warning{'s' * (n > 1)} (cnncalc summarize shows them)")
    from ..render import verify as render_verify

    if fmt == "json":
        click.echo(render_verify.to_json(v))
    else:
        click.echo("\n".join(render_verify.text_lines(v, show_all)))
    sys.exit(0 if v.ok else 1)


# ---- export -------------------------------------------------------------------------------------
@click.command()
@click.argument("spec", metavar="SPEC.yaml")
@click.option(
    "--to", "target", type=click.Choice(["pytorch", "onnx"]), default="pytorch", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="File to write (pytorch: default stdout).",
)
@input_option
@quiet_option
def export(spec: str, target: str, output: str | None, input_shape: tuple[int, ...] | None) -> None:
    """Write the net as standalone PyTorch code (an nn.Module class), or as an ONNX file.

    Writing the PyTorch code does not need torch installed (running it does); --to onnx needs
    torch and the onnx package.
    """
    if target == "pytorch":
        _export_source(spec, output, input_shape)
    else:
        _export_onnx(spec, output, input_shape)


def _export_source(spec: str, output: str | None, input_shape: tuple[int, ...] | None) -> None:
    from ..torch.export import to_pytorch_source  # imports no torch

    try:
        text = to_pytorch_source(spec_source(spec), input_shape=input_shape)
    except CnncalcError as e:
        fail(str(e))
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror or e}")
    note(f"wrote {output}", prefix="")


def _export_onnx(spec: str, output: str | None, input_shape: tuple[int, ...] | None) -> None:
    if output is None:
        fail("--to onnx writes a binary file: give it with -o model.onnx")
    bridge = _bridge("export --to onnx")
    try:
        bridge.to_onnx(spec_source(spec), output, input_shape=input_shape)
    except CnncalcError as e:
        fail(str(e))
    except ImportError as e:
        if e.name != "onnx":
            raise
        fail("--to onnx needs the onnx package: pip install onnx")
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror or e}")
    note(f"wrote {output}", prefix="")


