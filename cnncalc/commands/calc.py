"""``cnncalc conv``, ``pool``, ``solve`` and ``chain``: homework questions without a spec.

Each command is: options → a ``cnncalc.homework`` function → a dict (``--format json``) or text.
The ``*_data`` functions give the dict from click's parsed parameters; ``cnncalc check`` uses them
to mark answers to these commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from math import prod
from typing import Any

import click

from ..analysis import Report
from ..homework import UsageError, calc
from ..homework.chain import analyze_chain, chain_spec, layer_tokens
from .common import fail

FORMAT = click.option(
    "--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="text for people, json for scripts (exact numbers; fractions as \"7/3\").",
)


def padding_value(ctx: click.Context, param: click.Parameter, value: str | None) -> int | str | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("same", "valid"):
        return v
    if v.isdigit() and len(v) <= 7:
        return int(v)
    raise click.BadParameter("expected a non-negative integer, 'same' or 'valid'")


def guarded(compute: Callable[[], Any]) -> Any:
    """Run a homework function; a question it cannot answer is one line and exit 2."""
    try:
        return compute()
    except UsageError as e:
        fail(str(e))


# ---- conv and pool ----------------------------------------------------------------------------


def conv_data(p: dict[str, Any]) -> dict[str, Any]:
    return _conv(p).to_dict()


def _conv(p: dict[str, Any]) -> calc.SizeAnswer:
    return calc.conv(
        p["n"], p["f"], p["stride"], 0 if p["padding"] is None else p["padding"], p["dilation"],
        p["c_in"], p["c_out"], not p["no_bias"],
    )


def pool_data(p: dict[str, Any]) -> dict[str, Any]:
    return _pool(p).to_dict()


def _pool(p: dict[str, Any]) -> calc.SizeAnswer:
    return calc.pool(
        p["n"], p["f"], p["stride"], p["padding"], p["dilation"], p["ceil_mode"], p["kind"], p["c_in"],
    )


@click.command()
@click.argument("n", type=int)
@click.argument("f", type=int)
@click.option("--stride", "-s", type=int, default=1, show_default=True, help="Stride S.")
@click.option("--padding", "-p", callback=padding_value, metavar="P|same|valid",
              help="Zero padding P on each side; same = (F − 1)/2; valid = 0. Default 0.")
@click.option("--dilation", "-d", type=int, default=1, show_default=True, help="Dilation D.")
@click.option("--in", "c_in", type=int, help="Input channels C_in (with --out: parameters, multiplications).")
@click.option("--out", "c_out", type=int, help="Filters K (output channels).")
@click.option("--no-bias", is_flag=True, help="Filters without a bias.")
@click.option("--strict", is_flag=True, help="Exit 2 when the size is a fraction.")
@FORMAT
def conv(**p: Any) -> None:
    """Output size, receptive field (and with --in/--out parameters and multiplications) of a conv
    layer with an F×F filter on an N×N input.

    \b
    cnncalc conv 7 3 --stride 3          fractions are illegal: 4/3 + 1
    cnncalc conv 64 3 --stride 2 --padding same --in 3 --out 64
    """
    _show(guarded(lambda: _conv(p)), p)


@click.command()
@click.argument("n", type=int)
@click.argument("f", type=int)
@click.option("--stride", "-s", type=int, help="Stride S (default: the window F).")
@click.option("--padding", "-p", type=int, default=0, show_default=True, help="Padding P (at most F/2).")
@click.option("--dilation", "-d", type=int, default=1, show_default=True, help="Dilation D (max pooling).")
@click.option("--ceil", "ceil_mode", is_flag=True, help="Round the size up (torch's ceil_mode).")
@click.option("--type", "kind", type=click.Choice(["max", "avg"]), default="max", show_default=True)
@click.option("--in", "c_in", type=int, help="Channels (the output keeps them).")
@click.option("--strict", is_flag=True, help="Exit 2 when the size is a fraction.")
@FORMAT
def pool(**p: Any) -> None:
    """Output size and receptive field of a max or average pool with an F×F window on an N×N input.

    \b
    cnncalc pool 224 2                   VGG's 2×2 max pool, stride 2
    cnncalc pool 112 3 --stride 2 --ceil
    """
    _show(guarded(lambda: _pool(p)), p)


def _show(a: calc.SizeAnswer, p: dict[str, Any]) -> None:
    if p["strict"] and not a.integer and not a.ceil_mode:
        fail(f"{a.formula}: fractions are illegal (--strict)")
    if p["fmt"] == "json":
        click.echo(json.dumps(a.to_dict(), indent=2, ensure_ascii=False))
        return
    for line in size_lines(a):
        click.echo(line)


def size_lines(a: calc.SizeAnswer) -> list[str]:
    """The text of ``cnncalc conv`` / ``pool``: each number, then how it is computed."""
    what = "conv" if a.layer == "conv" else f"{a.layer[:3]} pool"
    pad = f"{a.padding[0]}" if a.padding[0] == a.padding[1] else f"{a.padding[0]} left, {a.padding[1]} right"
    dil = f", dilation {a.dilation}" if a.dilation != 1 else ""
    lines = [f"{what} {a.kernel}×{a.kernel}, stride {a.stride}, padding {pad}{dil} on a {a.n}×{a.n} input", ""]
    channels = a.out_channels is not None or (a.layer != "conv" and a.output_shape[0] > 1)
    shape = "×".join(map(str, a.output_shape if channels else a.output_shape[1:]))
    lines += [f"output size  {shape}", f"  {a.symbolic}:", f"  {a.formula}"]
    if channels:
        symbol = "K·H_out·W_out" if a.layer == "conv" else "C·H_out·W_out"
        values = "·".join(map(str, a.output_shape))
        lines.append(f"  {symbol} = {values} = {prod(a.output_shape):,} output values")
    lines += _fraction_lines(a)
    lines.append(f"receptive field  {a.rf}×{a.rf}")
    if a.dilation == 1:
        lines.append(f"  one output unit sees an F×F = {a.rf}×{a.rf} patch of this layer's input")
    else:
        lines.append(f"  one unit spans D·(F−1) + 1 = {a.rf} input pixels per axis, reading {a.kernel}×{a.kernel}")
    if a.layer != "conv":
        lines.append("parameters  0  (pooling has no weights)")
    if a.params is not None:
        text, _, words = (a.params_text or "").partition("  ")
        lines += [f"parameters  {a.params:,}", f"  {text}", f"  {words}"]
        lines += [f"multiplications  {a.macs:,}", f"  {a.macs_text}"]
    return lines


def _fraction_lines(a: calc.SizeAnswer) -> list[str]:
    if a.integer:
        return []
    num = a.exact - 1
    if a.ceil_mode:
        return [f"  {num.numerator}/{num.denominator} is not a whole number; ceil mode rounds it up"]
    lines = [f"  fractions are illegal: {num.numerator}/{num.denominator} is not a whole number;",
             f"  PyTorch floors it to {a.size}: {a.lost}"]
    span = a.n + a.padding[0] + a.padding[1] - (a.dilation * (a.kernel - 1) + 1)
    if a.fit_paddings:
        fits = ", ".join(f"{q} (→ {(span + 2 * (q - a.padding[0])) // a.stride + 1})" for q in a.fit_paddings)
        lines.append(f"  paddings that fit with stride {a.stride}: {fits}")
    elif a.padding[0] == a.padding[1]:
        lines.append(f"  no padding fits with stride {a.stride}")
    if a.fit_strides:
        fits = ", ".join(f"{t} (→ {span // t + 1})" for t in a.fit_strides)
        lines.append(f"  strides that fit with padding {a.padding[0]}: {fits}")
    return lines


# ---- solve ------------------------------------------------------------------------------------


def solve_data(p: dict[str, Any]) -> dict[str, Any]:
    return _solve(p).to_dict()


def _solve(p: dict[str, Any]) -> calc.Solution:
    return calc.solve(
        p["n"], p["f"], p["out"], p["dilation"], p["stride"], p["padding"], p["pool"], p["max_padding"],
    )


@click.command()
@click.option("--n", "n", type=int, required=True, help="Input size N.")
@click.option("--f", "f", type=int, help="Kernel size F (leave it out to search F too, 1 … min(N, 100)).")
@click.option("--out", "out", type=int, required=True, help="The output size wanted.")
@click.option("--dilation", "-d", type=int, default=1, show_default=True, help="Dilation D.")
@click.option("--stride", "-s", type=int, help="Only this stride.")
@click.option("--padding", "-p", type=int, help="Only this padding.")
@click.option("--max-padding", type=int, help="Search paddings 0 … this (default F − 1; for a pool F/2).")
@click.option("--pool", is_flag=True, help="A pooling layer (padding at most F/2).")
@FORMAT
def solve(**p: Any) -> None:
    """Every (stride, padding) that turns an N×N input into an OUT×OUT output with an F×F kernel.

    Paddings from 0 to F − 1 are searched (more padding only adds windows that see nothing but
    zeros; --max-padding changes it); strides need no bound. Pairs whose size is a fraction that
    PyTorch floors are marked "floored". Without --f, kernel sizes 1 … min(N, 100) are tried too.

    \b
    cnncalc solve --n 64 --f 3 --out 32
    cnncalc solve --n 32 --out 28 --stride 1      which kernel and padding
    """
    sol = guarded(lambda: _solve(p))
    if p["fmt"] == "json":
        click.echo(json.dumps(sol.to_dict(), indent=2, ensure_ascii=False))
        return
    for line in solve_lines(sol):
        click.echo(line)


def solve_lines(sol: calc.Solution) -> list[str]:
    bound = "F − 1" if not sol.pool else "⌊F/2⌋, a pool's limit"
    only = f", stride {sol.stride}" if sol.stride else ""
    upto = sol.max_padding if sol.max_padding is not None else bound
    pads = f"padding {sol.padding}" if sol.padding is not None else f"padding 0 … {upto}" + (
        f" ({bound})" if sol.max_padding is not None else "")
    kernel = f"F = {sol.kernel}" if sol.kernel is not None else f"F = 1 … {min(sol.n, calc.MAX_SEARCHED_KERNEL)}"
    lines = [f"N = {sol.n}, {kernel}{f', D = {sol.dilation}' if sol.dilation != 1 else ''}: "
             f"output {sol.out} with {pads}{only}", *sol.notes]
    if not sol.pairs:
        return [*lines, f"none: no stride and padding in this range give {sol.out}"]
    for pair in sol.pairs:
        more = " (or any larger stride)" if pair.or_larger else ""
        mark = "exact" if pair.exact else "floored"
        f = f"F = {pair.kernel}, " if sol.kernel is None else ""
        lines += [f"  {f}stride {pair.stride}, padding {pair.padding}: {mark}{more}", f"    {pair.formula}"]
    exact = sum(pair.exact for pair in sol.pairs)
    total = len(sol.pairs) + sol.more
    lines.append(f"{total} solution{'s' if total != 1 else ''}, {exact or 'none'} without a fraction"
                 + (f" ({sol.more} more not listed)" if sol.more else ""))
    return lines


# ---- chain ------------------------------------------------------------------------------------


def chain_data(p: dict[str, Any]) -> dict[str, Any]:
    return analyze_chain(p["tokens"], strict=p["strict"]).to_dict()


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("tokens", nargs=-1, required=True)
@click.option("--explain", "-e", is_flag=True, help="Also show the arithmetic of every layer.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print the chain as a YAML spec instead.")
@click.option("--strict", is_flag=True, help="A size that is a fraction is an error (exit 2).")
@FORMAT
def chain(tokens: tuple[str, ...], explain: bool, as_yaml: bool, strict: bool, fmt: str) -> None:
    """A short chain of layers without YAML: INPUT then one token per layer.

    \b
    cnncalc chain 32x32x3 conv5x5/10,p2 maxpool2 conv3x3/20
    cnncalc chain 32x32x1 conv5/6 tanh avgpool2 conv5/16 avgpool2 fc120 fc10
    \b
    INPUT        HxWxC as the lecture writes it (32x32x3; 32x32 is one
                 channel), or C@HxW (3@32x32; 1@100 is a 1-D signal)
    convFxF/K    K filters of F×F; options after commas: sS pP same valid
                 dD gG nobias (conv5x5/10,s2,p2)
    maxpoolF     pools, stride F unless sS; pP (maxpool3,s2,p1); avgpoolF
    fcK          fully connected (flattens first); gap: global average pool
    relu tanh …  any layer type without arguments (bn, flatten, sigmoid …)
    """
    if as_yaml:
        import yaml

        spec = guarded(lambda: chain_spec(tokens))
        click.echo(yaml.safe_dump(spec, sort_keys=False, default_flow_style=None), nl=False)
        return
    report = guarded(lambda: analyze_chain(tokens, strict=strict))
    if fmt == "json":
        from ..render import to_json

        click.echo(to_json(report))
        return
    from .common import show_warnings

    show_warnings(report)
    for line in chain_lines(report, layer_tokens(tokens)):
        click.echo(line)
    if explain:
        from ..explain import explain_layers
        from ..spec import parse_spec

        for name, kind, lines in explain_layers(parse_spec(chain_spec(tokens))):
            click.secho(f"{name} ({kind})", bold=True)
            for line in lines:
                click.echo(f"  {line}")


def chain_lines(report: Report, tokens: dict[str, str]) -> list[str]:
    """A compact table: layer, token, output per sample (channels first), params, MACs, RF."""
    from ..render import rf_text

    shape = lambda t: "×".join(map(str, t))  # noqa: E731
    head = ("layer", "token", "output", "params", "MACs", "RF")
    rows = [(s.name, tokens.get(s.name, ""), shape(s.output_shape[1:]), f"{s.params:,}", f"{s.macs:,}", rf_text(s))
            for s in report.layers]
    t = report.totals
    rows.append(("total", "", shape(report.layers[-1].output_shape[1:]), f"{t.params:,}", f"{t.macs:,}", ""))
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]

    def line(r: tuple[str, ...]) -> str:
        return "  " + "  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    title = f"input {shape(report.input_shape[1:])} (C×H×W, channels first)"
    return [title, "", line(head), *map(line, rows[:-1]), line(rows[-1]).rstrip()]
