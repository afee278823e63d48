"""The arithmetic behind each layer's numbers, as lines of text (data; the CLI prints them)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .analysis import analyze
from .layers import RULES
from .spec import INPUT, NetSpec, parse_spec, resolve_layer


def explain_layers(spec, names: Sequence[str] = (), batch: int = 1, input_shape=None) -> Iterator[tuple[str, str, list[str]]]:
    """(name, type, lines) for each layer, or for the named ones.

    A name is read as :func:`~cnncalc.spec.resolve_layer` reads it: a layer, or a block call's,
    composite's or repeat's name for its last layer (``inception3a``). An unknown name raises
    :class:`~cnncalc.errors.UnknownLayerError` (a SpecError) with the closest known name.
    """
    net = spec if isinstance(spec, NetSpec) else parse_spec(spec)
    wanted = {resolve_layer(net, n) for n in names}
    report = analyze(net, batch, input_shape=input_shape)
    shapes = {INPUT: report.input_shape[1:], **{s.name: s.output_shape[1:] for s in report.layers}}
    for layer in net.layers:
        if names and layer.name not in wanted:
            continue
        ins = [shapes[i] for i in layer.inputs]
        lines = RULES[layer.type].explain(layer.args, ins)
        if batch > 1:
            lines.append(f"× batch {batch}: MACs and activations scale with N; parameters do not")
        yield layer.name, layer.type, lines
