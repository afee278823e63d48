"""The arithmetic behind each layer's numbers, as lines of text (data; the CLI prints them)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .analysis import analyze
from .errors import Loc, SpecError
from .layers import RULES
from .spec import INPUT, NetSpec, parse_spec
from .spec.parser import closest


def explain_layers(spec, names: Sequence[str] = (), batch: int = 1, input_shape=None) -> Iterator[tuple[str, str, list[str]]]:
    """(name, type, lines) for each layer, or for the named ones (unknown names are an error)."""
    net = spec if isinstance(spec, NetSpec) else parse_spec(spec)
    report = analyze(net, batch, input_shape=input_shape)
    shapes = {INPUT: report.input_shape[1:], **{s.name: s.output_shape[1:] for s in report.layers}}
    known = {layer.name for layer in net.layers}
    for n in names:
        if n not in known:
            hint = closest(n, sorted(known))
            raise SpecError(f"no layer named '{n}'{hint}; `cnncalc summarize` lists the layer names", Loc(net.file))
    for layer in net.layers:
        if names and layer.name not in names:
            continue
        ins = [shapes[i] for i in layer.inputs]
        lines = RULES[layer.type].explain(layer.args, ins)
        if batch > 1:
            lines.append(f"× batch {batch}: MACs and activations scale with N; parameters do not")
        yield layer.name, layer.type, lines
