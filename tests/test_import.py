"""``cnncalc import``: PyTorch models → specs, checked against torch itself.

The references are independent of cnncalc: hand-written expected spec items for each mapping, and for
whole models the parameter count (sum of ``numel``) and the MACs that
``torch.utils.flop_counter.FlopCounterMode`` measures on a real forward pass (flops / 2). The
torchvision round trips skip where torchvision is not installed.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

import yaml  # noqa: E402
from _support import ROOT, require_torchvision  # noqa: E402
from _torch_support import Fn, torch_counts  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.cli import cli  # noqa: E402
from cnncalc.torch.importer import (  # noqa: E402
    ModelError,
    UnsupportedOps,
    import_model,
    load_model,
    to_yaml,
)


def layers_of(model: nn.Module, shape: tuple[int, ...]) -> list[dict]:
    return import_model(model, shape).spec["layers"]


# ---- one module → one item: (module, input shape, the expected type key and arguments) -------------
MODULE_CASES = [
    (nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, bias=False), (4, 20),
     {"conv": {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": False}}),
    (nn.Conv2d(3, 8, (1, 7), padding=(0, 3)), (3, 16, 16), {"conv": {"out": 8, "kernel": [1, 7], "padding": [0, 3]}}),
    (nn.Conv2d(3, 4, 4, padding="same"), (3, 9, 9), {"conv": {"out": 4, "kernel": 4, "padding": "same"}}),
    (nn.Conv2d(3, 4, 3, padding="valid"), (3, 9, 9), {"conv": {"out": 4, "kernel": 3}}),
    (nn.Conv2d(3, 4, 3, stride=(2, 1)), (3, 9, 9), {"conv": {"out": 4, "kernel": 3, "stride": [2, 1]}}),
    (nn.Conv3d(2, 4, 3), (2, 6, 8, 8), {"conv": {"out": 4, "kernel": 3}}),
    (nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 9, 9),
     {"maxpool": {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}}),
    (nn.MaxPool2d(2), (2, 8, 8), {"maxpool": {"kernel": 2}}),
    (nn.MaxPool1d(3, stride=1, dilation=2), (2, 20), {"maxpool": {"kernel": 3, "stride": 1, "dilation": 2}}),
    (nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), (2, 8, 8),
     {"avgpool": {"kernel": 3, "stride": 1, "padding": 1, "count_include_pad": False}}),
    (nn.AvgPool3d(2), (2, 4, 4, 4), {"avgpool": {"kernel": 2}}),
    (nn.AdaptiveAvgPool2d((1, 1)), (4, 7, 7), {"adaptiveavgpool": {"out": 1}}),
    (nn.AdaptiveAvgPool2d((None, 2)), (4, 7, 7), {"adaptiveavgpool": {"out": [None, 2]}}),
    (nn.AdaptiveMaxPool1d(5), (4, 11), {"adaptivemaxpool": {"out": 5}}),
    (nn.Linear(7, 5, bias=False), (3, 7), {"linear": {"out": 5, "bias": False}}),
    (nn.Flatten(), (2, 3, 4), {"flatten": None}),
    (nn.Flatten(2), (2, 3, 4), {"flatten": {"start_dim": 2}}),
    (nn.BatchNorm2d(3, eps=1e-3, momentum=0.01), (3, 4, 4), {"batchnorm": {"eps": 1e-3, "momentum": 0.01}}),
    (nn.BatchNorm1d(3, affine=False, track_running_stats=False), (3, 10),
     {"batchnorm": {"affine": False, "track_running_stats": False}}),
    (nn.Dropout(0.2), (3, 4), {"dropout": {"p": 0.2}}),
    (nn.Dropout(), (3, 4), {"dropout": None}),
    (nn.ReLU(inplace=True), (3, 4), {"relu": {"inplace": True}}),
    (nn.ReLU(), (3, 4), {"relu": None}),
    (nn.ReLU6(), (3, 4), {"relu6": None}),
    (nn.LeakyReLU(0.2), (3, 4), {"leakyrelu": {"negative_slope": 0.2}}),
    (nn.Sigmoid(), (3, 4), {"sigmoid": None}),
    (nn.Tanh(), (3, 4), {"tanh": None}),
    (nn.Softmax(dim=1), (3, 4), {"softmax": None}),
    (nn.Softmax(dim=-1), (3, 4), {"softmax": {"dim": -1}}),
    (nn.GELU(), (3, 4), {"gelu": None}),
    (nn.SiLU(), (3, 4), {"silu": None}),
    (nn.Hardswish(), (3, 4), {"hardswish": None}),
    (nn.Hardsigmoid(), (3, 4), {"hardsigmoid": None}),
    (nn.ELU(alpha=0.5), (3, 4), {"elu": {"alpha": 0.5}}),
    (nn.Identity(), (3, 4), {"identity": None}),
]


@pytest.mark.parametrize(("module", "shape", "expected"), MODULE_CASES, ids=lambda v: repr(v)[:40])
def test_module_maps_to_one_item(module, shape, expected):
    spec = import_model(nn.Sequential(module), shape).spec
    assert spec["layers"] == [{**expected, "name": "0"}]
    assert spec["input"] == list(shape)
    assert yaml.safe_load(to_yaml(spec)) == spec  # "0" stays a string name in the YAML


def test_every_class_a_rule_names_is_a_real_class_that_maps_back():
    """The classes the rules name (cnncalc.layers.torch_classes) exist in torch.nn, are cnncalc's own
    module classes, or are aliases for other libraries; each torch.nn one maps back to its rule."""
    from cnncalc.layers import torch_classes
    from cnncalc.torch.mapping import module_rule

    missing = []
    for name, rule in torch_classes().items():
        cls = getattr(nn, name, None)
        if cls is None:
            own = rule.torch.module is not None and rule.torch.module().__name__ == name
            if not own and name not in rule.torch.aliases:
                missing.append(name)
            continue
        found = module_rule(cls.__new__(cls))
        assert found is not None and found[0] is rule, name
    assert not missing


def test_a_subclass_maps_by_its_class_unless_it_changes_forward():
    class Plain(nn.Conv2d):  # as torchvision's Conv3DSimple: a new __init__, torch's forward
        def __init__(self):
            super().__init__(3, 4, 3, padding=1)

    class Changed(nn.Conv2d):
        def forward(self, x):
            return F.conv2d(x, self.weight.flip(-1), self.bias, padding=1)

    assert layers_of(nn.Sequential(Plain()), (3, 8, 8)) == [{"conv": {"out": 4, "kernel": 3, "padding": 1}, "name": "0"}]
    with pytest.raises(UnsupportedOps) as info:
        import_model(nn.Sequential(Changed(3, 4, 3)), (3, 8, 8))
    items = {(u.op, u.target): u.reason for u in info.value.items}  # traced through: its forward's own calls
    assert "the parameter '0.weight' directly" in items[("call_method", "flip")]
    assert not any(op == "call_module" for op, _ in items)


def test_a_dict_with_one_tensor_is_the_output():
    """Segmentation models return {'out': x}."""
    assert layers_of(Fn(lambda x: {"out": F.relu(x)}), (4, 6, 6)) == [{"relu": None, "name": "relu"}]


def test_integer_ids_go_to_an_embedding_quietly(capfd):
    """A model whose input feeds an embedding is run on integer ids (zeros), never on floats; the
    spec says its input is ids; no traceback is printed on the way (torch's ShapeProp printed one)."""
    model = nn.Sequential(nn.Embedding(100, 8), nn.Flatten(), nn.Linear(8 * 5, 2))
    spec = import_model(model, (5,)).spec
    assert spec["input"] == {"shape": [5], "dtype": "int64"}
    assert [next(iter(layer)) for layer in spec["layers"]] == ["embedding", "flatten", "linear"]
    totals = cnncalc.analyze(spec).totals
    assert totals.params == 100 * 8 + (40 * 2 + 2) == sum(p.numel() for p in model.parameters())
    assert capfd.readouterr().err == ""


def test_sizes_read_from_shapes_are_constants():
    """``F.interpolate(x, size=x.shape[-2:])`` (segmentation heads): the size is read at trace time."""
    f = lambda x: F.interpolate(F.max_pool2d(x, 2), size=x.shape[-2:], mode="bilinear", align_corners=False)  # noqa: E731
    assert layers_of(Fn(f), (4, 6, 6)) == [
        {"maxpool": {"kernel": 2}, "name": "max_pool2d"},
        {"upsample": {"size": 6, "mode": "bilinear", "align_corners": False}, "name": "interpolate"}]


def test_a_value_that_depends_on_the_batch_is_never_a_constant():
    """x.size(0) is 1 at trace time, but a spec is per sample: a call that takes it is refused."""
    f = lambda x: F.max_pool2d(x, x.size(0) + 1)  # noqa: E731
    with pytest.raises(UnsupportedOps) as info:
        import_model(Fn(f), (4, 6, 6))
    (item,) = info.value.items
    assert (item.node, item.reason) == ("max_pool2d", "argument 'add' depends on the batch size; a spec is written per sample")


def test_a_model_that_fails_prints_nothing_but_the_error(capfd):
    model = nn.Sequential(nn.Linear(3, 4))
    with pytest.raises(ModelError, match=r"does not run on an input of shape \[1, 5\]: RuntimeError"):
        import_model(model, (5,))
    assert capfd.readouterr().err == ""


# ---- functions and methods ----------------------------------------------------------------------------
def _residual(x):
    return x + F.relu(x)


FUNCTION_CASES = [
    (lambda x: F.relu(x, inplace=True), [{"relu": {"inplace": True}, "name": "relu"}]),
    (lambda x: F.relu(x), [{"relu": None, "name": "relu"}]),
    (lambda x: torch.sigmoid(x), [{"sigmoid": None, "name": "sigmoid"}]),
    (lambda x: x.tanh(), [{"tanh": None, "name": "tanh"}]),
    (lambda x: F.leaky_relu(x, 0.2), [{"leakyrelu": {"negative_slope": 0.2}, "name": "leaky_relu"}]),
    (lambda x: F.softmax(x, dim=1), [{"softmax": None, "name": "softmax"}]),
    (lambda x: F.elu(x, alpha=2.0), [{"elu": {"alpha": 2.0}, "name": "elu"}]),
    (lambda x: F.hardswish(x), [{"hardswish": None, "name": "hardswish"}]),
    (lambda x: F.dropout(x, 0.3, training=False), [{"dropout": {"p": 0.3}, "name": "dropout"}]),
    (lambda x: F.max_pool2d(x, 3, 2, 1), [{"maxpool": {"kernel": 3, "stride": 2, "padding": 1}, "name": "max_pool2d"}]),
    (lambda x: F.avg_pool2d(x, 2), [{"avgpool": {"kernel": 2}, "name": "avg_pool2d"}]),
    (lambda x: F.adaptive_avg_pool2d(x, (1, 1)), [{"adaptiveavgpool": {"out": 1}, "name": "adaptive_avg_pool2d"}]),
    (lambda x: x.mean([2, 3]), [{"adaptiveavgpool": {"out": 1}, "name": "mean.adaptiveavgpool"},
                                {"flatten": None, "name": "mean"}]),
    (lambda x: x.mean((-1, -2), keepdim=True), [{"adaptiveavgpool": {"out": 1}, "name": "mean"}]),
    (lambda x: torch.mean(x, dim=(2, 3)), [{"adaptiveavgpool": {"out": 1}, "name": "mean.adaptiveavgpool"},
                                           {"flatten": None, "name": "mean"}]),  # S3D's head
    (lambda x: x.flatten(1), [{"flatten": None, "name": "flatten"}]),
    (lambda x: torch.flatten(x, 2), [{"flatten": {"start_dim": 2}, "name": "flatten"}]),
    (_residual, [{"relu": None, "name": "relu"}, {"add": None, "name": "add", "from": ["input", "relu"]}]),
    (lambda x: torch.add(F.relu(x), x), [{"relu": None, "name": "relu"}, {"add": None, "name": "add", "from": ["relu", "input"]}]),
    (lambda x: x * F.adaptive_avg_pool2d(x, 1), [
        {"adaptiveavgpool": {"out": 1}, "name": "adaptive_avg_pool2d"},
        {"mul": None, "name": "mul", "from": ["input", "adaptive_avg_pool2d"]}]),
    (lambda x: torch.cat([x, F.relu(x)], dim=1), [
        {"relu": None, "name": "relu"}, {"concat": None, "name": "cat", "from": ["input", "relu"]}]),
    (lambda x: torch.cat([x, x.sigmoid()], -1), [
        {"sigmoid": None, "name": "sigmoid"}, {"concat": {"dim": -1}, "name": "cat", "from": ["input", "sigmoid"]}]),
    (lambda x: torch.cat([x], 1).relu(), [{"concat": None, "name": "cat"}, {"relu": None, "name": "relu"}]),
    # views and indexing: the per-sample shape torch computed, the batch axis kept (checked at batch 2)
    (lambda x: x.view(x.size(0), -1), [{"reshape": {"shape": [144]}, "name": "view"}]),
    (lambda x: x.reshape(-1, 4, 36).transpose(1, 2).contiguous(),
     [{"reshape": {"shape": [4, 36]}, "name": "reshape"}, {"permute": {"dims": [0, 2, 1]}, "name": "transpose"}]),
    (lambda x: x.permute(0, 2, 3, 1), [{"permute": {"dims": [0, 2, 3, 1]}, "name": "permute"}]),
    (lambda x: x[:, 1], [{"select": {"index": 1}, "name": "getitem"}]),
    (lambda x: x[..., ::2, 1:-1], [{"slice": {"dim": 2, "step": 2}, "name": "getitem.slice"},
                                   {"slice": {"dim": 3, "start": 1, "end": 5}, "name": "getitem"}]),
    (lambda x: x[:, 1:3, 0], [{"slice": {"start": 1, "end": 3}, "name": "getitem.slice"},
                              {"select": {"dim": 2}, "name": "getitem"}]),
    (lambda x: x.narrow(1, 1, 2), [{"slice": {"start": 1, "end": 3}, "name": "narrow"}]),
    (lambda x: torch.cat([x.chunk(2, dim=1)[1], torch.split(x, [1, 3], 1)[0]], 1), [
        {"slice": {"start": 2, "end": 4}, "name": "getitem"}, {"slice": {"end": 1}, "name": "getitem_1", "from": "input"},
        {"concat": None, "name": "cat", "from": ["getitem", "getitem_1"]}]),
]


@pytest.mark.parametrize(("f", "expected"), FUNCTION_CASES)
def test_function_maps(f, expected):
    assert layers_of(Fn(f), (4, 6, 6)) == expected


UNSUPPORTED_CASES = [
    (lambda x: x.view(-1), {"view"}),  # mixes the batch axis into the others
    (lambda x: x.view(x.size(0) * 2, -1), {"view"}),
    (lambda x: x[0], {"getitem"}),  # indexes the batch axis
    (lambda x: x.transpose(0, 1), {"transpose"}),
    (lambda x: x.sum(0, keepdim=True), {"sum_1"}),
    (lambda x: x + 1, {"add"}),
    (lambda x: torch.cat([x, x], 0), {"cat"}),
    (lambda x: torch.flatten(x), {"flatten"}),
    (lambda x: x.cumsum(1), {"cumsum"}),
    (lambda x: x.mean(0), {"mean"}),  # over the batch axis
    (lambda x: F.gelu(x, approximate="tanh"), {"gelu"}),
    (lambda x: F.normalize(x), {"normalize"}),
    (lambda x: x + x.mean((2, 3), keepdim=True), {"add"}),  # a broadcasting add
    (lambda x: (F.relu(x), x), {"output"}),  # two outputs
]


@pytest.mark.parametrize(("f", "nodes"), UNSUPPORTED_CASES)
def test_unsupported_functions_are_listed(f, nodes):
    with pytest.raises(UnsupportedOps) as info:
        import_model(Fn(f), (4, 6, 6))
    assert {u.node for u in info.value.items} == nodes


@pytest.mark.parametrize(("module", "reason"), [
    (nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), "padding_mode"),
    (nn.AvgPool2d(2, divisor_override=3), "divisor_override"),
    (nn.AdaptiveMaxPool2d(2, return_indices=True), "return_indices"),
    (nn.BatchNorm2d(4, momentum=None), "momentum"),
    (nn.GELU(approximate="tanh"), "approximate"),
    (nn.Softmax(), "dim"),
    (nn.Softsign(), "Softsign"),
    (nn.Softmin(1), "Softmin"),
    (nn.Unfold(2), "Unfold"),
])
def test_unsupported_modules_say_why(module, reason):
    with pytest.raises(UnsupportedOps) as info:
        import_model(nn.Sequential(module), (4, 6, 6))
    (item,) = info.value.items
    assert (item.op, item.node) == ("call_module", "_0")
    assert reason in item.reason or reason in item.target


def test_an_unsupported_operation_after_another_is_listed_too():
    """Each operation without a layer is listed, also downstream of another (the user fixes both at
    once); an item read from an unsupported node is not listed apart."""
    with pytest.raises(UnsupportedOps) as info:
        import_model(Fn(lambda x: x.cumsum(1).unbind(2)[0] + 1), (4, 6))
    assert [(u.target, u.node) for u in info.value.items] == [("cumsum", "cumsum"), ("operator.add", "add")]


def test_relu6_keeps_its_rule_though_it_subclasses_hardtanh():
    """nn.ReLU6 subclasses nn.Hardtanh: the nearest class a rule names wins."""
    layers = import_model(nn.Sequential(nn.ReLU6(), nn.Hardtanh(0, 6)), (3, 4)).spec["layers"]
    assert [next(iter(item)) for item in layers] == ["relu6", "hardtanh"]
    assert layers[1]["hardtanh"] == {"min_val": 0, "max_val": 6}


def test_untraceable_model_is_a_model_error():
    with pytest.raises(ModelError, match=r"torch\.fx cannot trace the model: TraceError"):
        import_model(Fn(lambda x: x if x.sum() > 0 else -x), (4, 6, 6))


def test_shared_weights_are_unsupported():
    conv = nn.Conv2d(4, 4, 3, padding=1)
    with pytest.raises(UnsupportedOps) as info:
        import_model(Fn(lambda x, c: c(c(x)), conv), (4, 6, 6))
    assert [u.reason for u in info.value.items] == [
        "a module with parameters called twice shares its weights; a spec cannot"]


def test_reused_parameterless_module_gets_numbered_names():
    relu = nn.ReLU()
    names = [item["name"] for item in layers_of(Fn(lambda x, r: r(r(x)), relu), (4, 6, 6))]
    assert names == ["mods.0", "mods.0_1"]


def test_unused_modules_are_reported():
    model = Fn(lambda x, used, unused: used(x), nn.Conv2d(4, 4, 1), nn.Linear(3, 2))
    imported = import_model(model, (4, 6, 6))
    assert imported.warnings == (
        "8 parameters belong to modules the forward pass never calls; the spec leaves them out",)


# ---- a small user model, end to end -----------------------------------------------------------------
TINY = '''
import torch
from torch import nn
from torch.nn import functional as F


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 4, 1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(12 * 8 * 8, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        y = x + self.a(x)
        z = torch.cat([y, self.b(x)], dim=1)
        return self.fc(torch.flatten(self.pool(z), 1))


class Viewing(Tiny):
    def forward(self, x):
        s = self.stem(x)
        z = self.pool(torch.cat([self.a(s), self.b(s)], 1))
        return self.fc(z.view(z.size(0), -1).cumsum(1))  # the view is a reshape; cumsum has no layer


def tiny():
    return Tiny()


def viewing():
    return Viewing()


def not_a_model():
    return 42


def exits():
    raise SystemExit(0)


def interrupted():
    raise KeyboardInterrupt


def debugs():
    breakpoint()
    return Tiny()


def needs_args(width):
    return Tiny()
'''

TINY_LAYERS = [
    {"conv": {"out": 8, "kernel": 3, "padding": 1, "bias": False}, "name": "stem"},
    {"batchnorm": None, "name": "bn"},
    {"relu": None, "name": "relu"},
    {"conv": {"out": 8, "kernel": 3, "padding": 1}, "name": "a"},
    {"add": None, "name": "add", "from": ["relu", "a"]},
    {"conv": {"out": 4, "kernel": 1}, "name": "b", "from": "relu"},
    {"concat": None, "name": "cat", "from": ["add", "b"]},
    {"maxpool": {"kernel": 2}, "name": "pool"},
    {"flatten": None, "name": "flatten"},
    {"linear": {"out": 10}, "name": "fc"},
]


@pytest.fixture(autouse=True)
def _keep_import_state(monkeypatch):
    """The import command edits sys.path and sys.meta_path: undo it after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))


@pytest.fixture
def tinymods(tmp_path, monkeypatch):
    """tinymods.py in the working directory, which is not on sys.path: the loader finds it there."""
    (tmp_path / "tinymods.py").write_text(textwrap.dedent(TINY))
    (tmp_path / "exits_on_import.py").write_text("raise SystemExit(0)\n")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in ("tinymods", "exits_on_import"):
        sys.modules.pop(name, None)


def test_tiny_model_spec_and_totals(tinymods):
    model, name, shape = load_model("tinymods:tiny")
    assert (name, shape) == ("tiny", (3, 224, 224))
    spec = import_model(model, (3, 16, 16), name).spec
    assert spec == {"name": "tiny", "input": [3, 16, 16], "layers": TINY_LAYERS}
    totals = cnncalc.analyze(spec).totals
    assert (totals.params, totals.macs) == torch_counts(model, (3, 16, 16))
    # and by hand: stem 216; bn 16; a 584; b 36; fc 7690 — MACs 16·16·(8·27 + 8·72 + 4·8) + 768·10
    assert totals.params == 216 + 16 + 584 + 36 + 7690
    assert totals.macs == 256 * (8 * 27 + 8 * 72 + 4 * 8) + 768 * 10


def test_cli_writes_a_spec_that_analyses_like_torch(tinymods):
    result = CliRunner().invoke(cli, ["import", "tinymods:tiny", "--input", "3,16,16", "-o", "tiny.yaml"])
    assert result.exit_code == 0, result.output
    assert "10 layers, 8,542 parameters" in result.output
    text = (tinymods / "tiny.yaml").read_text()
    assert "  - {conv: {out: 8, kernel: 3, padding: 1, bias: false}, name: stem}\n" in text
    assert yaml.safe_load(text)["layers"] == TINY_LAYERS
    totals = cnncalc.analyze(str(tinymods / "tiny.yaml")).totals
    model, _, _ = load_model("tinymods:tiny")
    assert (totals.params, totals.macs) == torch_counts(model, (3, 16, 16))


def test_cli_prints_the_spec_to_stdout(tinymods):
    result = CliRunner().invoke(cli, ["import", "tinymods:tiny", "--input", "3,16,16"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["layers"] == TINY_LAYERS


def test_cli_lists_unsupported_ops_and_writes_nothing(tinymods):
    result = CliRunner().invoke(cli, ["import", "tinymods:viewing", "--input", "3,16,16", "-o", "v.yaml"])
    assert result.exit_code == 2
    assert "call_method cumsum (1 node)" in result.output
    assert "node cumsum" in result.output
    assert "Traceback" not in result.output
    assert not (tinymods / "v.yaml").exists()


@pytest.mark.parametrize(("ref", "message"), [
    ("tinymods", "expected torchvision:NAME"),
    ("nosuchmodule_xyz:f", "cannot import module 'nosuchmodule_xyz'"),
    ("tinymods:nothing", "has no callable 'nothing'"),
    ("tinymods:not_a_model", "returned int, not a torch.nn.Module"),
])
def test_cli_bad_model_reference(tinymods, ref, message):
    result = CliRunner().invoke(cli, ["import", ref])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("ref", "message"), [
    ("sys:exit", "'sys:exit': exit is a builtin, not a model factory"),
    ("os:abort", "'os:abort': abort is a builtin, not a model factory"),  # would abort if called
    ("os:_exit", "'os:_exit': _exit is a builtin, not a model factory"),
    ("builtins:breakpoint", "'builtins:breakpoint': breakpoint is a builtin, not a model factory"),
    ("tinymods:exits", "'tinymods:exits': calling exits() tried to exit the process (SystemExit: 0)"),
    ("tinymods:interrupted", "'tinymods:interrupted': calling interrupted() was interrupted"),
    ("tinymods:debugs", "calling debugs() failed: RuntimeError: breakpoint() called: cnncalc import does not open a debugger"),
    ("tinymods:needs_args", "'tinymods:needs_args': needs_args() needs arguments"),
    ("exits_on_import:f", "'exits_on_import:f': importing module 'exits_on_import' tried to exit the process"),
    ("tinymods.py:tiny", "'tinymods.py:tiny': name the module, not its file: tinymods:tiny"),
    ("my-net:build", "'my-net:build': 'my-net' is not a module name (package.module)"),
])
def test_cli_hostile_factory_is_one_line_and_exit_2(tinymods, ref, message):
    result = CliRunner().invoke(cli, ["import", ref, "--input", "3,16,16"])
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1, result.output
    assert result.output.startswith("error: ") and message in result.output


def test_a_model_class_is_a_factory(tinymods):
    model, name, _ = load_model("tinymods:Tiny")
    assert (type(model).__name__, name) == ("Tiny", "Tiny")


def test_the_named_module_comes_from_the_working_directory_and_nothing_else(tinymods):
    (tinymods / "helper_xyz.py").write_text("X = 1\n")
    load_model("tinymods:tiny")
    assert str(tinymods) not in sys.path and "" not in sys.path
    with pytest.raises(ModuleNotFoundError):
        __import__("helper_xyz")


LOCAL_SYMPY = """
import pathlib
pathlib.Path("MARKER").write_text("a local sympy.py ran")
raise ImportError("not the real sympy")
"""
LOCAL_MODEL = """
from torch import nn

def build():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
"""


@pytest.mark.parametrize("how", [["-m", "cnncalc"], ["-c", "from cnncalc.cli import main; main()"]])
def test_local_files_other_than_the_named_module_never_run(tmp_path, how):
    """torch imports sympy lazily while the model is traced; a sympy.py next to the model must not
    be the one it gets (before the fix it was, with `python -m cnncalc`: cwd came first)."""
    import subprocess

    (tmp_path / "sympy.py").write_text(LOCAL_SYMPY)
    (tmp_path / "triton.py").write_text(LOCAL_SYMPY)
    (tmp_path / "mymodel.py").write_text(LOCAL_MODEL)
    run = subprocess.run([sys.executable, *how, "import", "mymodel:build", "--input", "3,8,8"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "MARKER").exists()
    assert yaml.safe_load(run.stdout)["layers"][0] == {"conv": {"out": 4, "kernel": 3}, "name": "0"}


def test_pdb_set_trace_as_a_factory_is_exit_2(tmp_path):
    """A tracer that the factory installs (pdb) ends at EOF on stdin: one error line, exit 2."""
    import subprocess

    run = subprocess.run([sys.executable, "-m", "cnncalc", "import", "pdb:set_trace"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert run.returncode == 2
    assert run.stderr.splitlines() == ["error: 'pdb:set_trace': calling set_trace() failed: BdbQuit"]


def test_cli_model_that_does_not_run_on_the_input(tinymods):
    result = CliRunner().invoke(cli, ["import", "tinymods:tiny", "--input", "3,32,32"])
    assert result.exit_code == 2
    assert "does not run on an input of shape [1, 3, 32, 32]" in result.output


def test_cli_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    result = CliRunner().invoke(cli, ["import", "torchvision:resnet18"])
    assert result.exit_code == 2
    assert "pip install 'cnncalc[torch]'" in result.output


def test_cli_without_torchvision(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    result = CliRunner().invoke(cli, ["import", "torchvision:resnet18"])
    assert result.exit_code == 2
    assert result.output == "error: torchvision:resnet18 needs torchvision: pip install torchvision\n"


def test_cli_with_a_broken_torchvision(monkeypatch):
    """A torchvision built for another torch raises RuntimeError on import (CUDA build, CPU torch)."""
    import builtins

    real = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    monkeypatch.setattr(builtins, "__import__", broken)
    result = CliRunner().invoke(cli, ["import", "torchvision:resnet18"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: torchvision:resnet18 needs torchvision that works with this torch (RuntimeError): "
        "pip install torchvision"]


# ---- transformer-era plumbing: views, indexing, tuples, parameters used directly ----------------------
class ViTish(nn.Module):
    """torchvision's VisionTransformer in small: patchify, class token, position embedding, attention
    called as attn(x, x, x), the class token read out with x[:, 0]."""

    def __init__(self, e: int = 32, heads: int = 4, patch: int = 4, image: int = 16):
        super().__init__()
        self.e = e
        self.conv_proj = nn.Conv2d(3, e, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, e))
        self.pos_embedding = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, e))
        self.ln_1 = nn.LayerNorm(e)
        self.self_attention = nn.MultiheadAttention(e, heads, batch_first=True)
        self.ln = nn.LayerNorm(e, eps=1e-6)
        self.head = nn.Linear(e, 10)

    def forward(self, x):
        n = x.shape[0]
        x = self.conv_proj(x).reshape(n, self.e, -1).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        return self.head(self.ln(x + y)[:, 0])


def test_a_small_vit_imports_layer_by_layer():
    model = ViTish()
    spec = import_model(model, (3, 16, 16)).spec
    assert spec["layers"] == [
        {"conv": {"out": 32, "kernel": 4, "stride": 4}, "name": "conv_proj"},
        {"reshape": {"shape": [32, 16]}, "name": "reshape"},
        {"permute": {"dims": [0, 2, 1]}, "name": "permute"},
        {"classtoken": None, "name": "class_token"},  # a layer of a parameter is named after it
        {"posembedding": None, "name": "pos_embedding"},
        {"layernorm": None, "name": "ln_1"},
        {"multiheadattention": {"heads": 4, "embed": 32}, "name": "self_attention"},
        {"add": None, "name": "add", "from": ["pos_embedding", "self_attention"]},
        {"layernorm": {"eps": 1e-6}, "name": "ln"},
        {"select": None, "name": "getitem"},
        {"linear": {"out": 10}, "name": "head"},
    ]
    totals = cnncalc.analyze(spec).totals
    assert (totals.params, totals.macs) == torch_counts(model, (3, 16, 16))
    # by hand: conv 3·16·32 + 32; token 32; positions 17·32; 2 norms 4·32; attention 4·32² + 4·32; head 330
    assert totals.params == 1568 + 32 + 544 + 128 + 4224 + 330
    # conv 16·32·48; attention 4·17·32² + 2·17²·32 (T = 17 tokens); head 320
    assert totals.macs == 16 * 32 * 48 + 4 * 17 * 32**2 + 2 * 17**2 * 32 + 320


class LayerNorm2d(nn.LayerNorm):
    """As torchvision's ConvNeXt (and timm): over the channels at each position."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """ConvNeXt's block: depthwise conv, channels-last LayerNorm and MLP, a (C, 1, 1) layer scale."""

    def __init__(self, c: int = 16):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.fc1, self.act, self.fc2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.layer_scale = nn.Parameter(torch.full((c, 1, 1), 1e-6))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y)))).permute(0, 3, 1, 2)
        y = self.layer_scale * y
        y += x
        return y


def test_a_small_convnext_imports_with_layernorm2d_and_layer_scale():
    model = nn.Sequential(nn.Conv2d(3, 16, 4, 4), LayerNorm2d(16, eps=1e-6), CNBlock(16))
    layers = import_model(model, (3, 32, 32)).spec["layers"]
    assert layers[1] == {"layernorm": {"over": "channels", "eps": 1e-6}, "name": "1"}
    assert {"layerscale": None, "name": "2.layer_scale"} in layers
    assert {"permute": {"dims": [0, 2, 3, 1]}, "name": "2.permute"} in layers
    spec = {"input": [3, 32, 32], "layers": layers}
    report = cnncalc.analyze(spec)
    assert report.layer("2.layer_scale").params == 16
    assert (report.totals.params, report.totals.macs) == torch_counts(model, (3, 32, 32))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_a_transformer_encoder_imports_through_its_plain_computation(norm_first, activation):
    """nn.TransformerEncoder(Layer)'s forward cannot be traced (it tests for its fused fast path);
    its documented computation is: attention, add, norm, feed-forward, add, norm (norm first or last)."""
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, norm_first=norm_first, activation=activation)
    model = nn.Sequential(nn.Linear(16, 32), nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), nn.Linear(32, 5))
    spec = import_model(model, (10, 16)).spec
    types = [next(iter(item)) for item in spec["layers"]]
    assert types.count("multiheadattention") == 2 and types.count("layernorm") == 4 and types.count(activation) == 2
    totals = cnncalc.analyze(spec).totals
    assert (totals.params, totals.macs) == torch_counts(model, (10, 16))
    # by hand, T = 10, E = 32, feed-forward 64: per layer 4·T·E² + 2·T²·E + 2·T·E·64; the two linears
    assert totals.macs == 2 * (4 * 10 * 32**2 + 2 * 10**2 * 32 + 2 * 10 * 32 * 64) + 10 * 16 * 32 + 10 * 32 * 5


def test_a_transformer_encoder_called_with_a_mask_is_refused():
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    mask = torch.zeros(5, 5, dtype=torch.bool)
    with pytest.raises(ModelError, match="called with masks"):
        import_model(Fn(lambda x, enc: enc(x, src_mask=mask), layer), (5, 8))


def test_an_lstm_reads_item_0_of_its_tuple():
    """nn.LSTM returns (output, (h, c)); ``out, _ = self.lstm(x)`` reads the output."""
    model = Fn(lambda x, emb, lstm, fc: fc(lstm(emb(x))[0]), nn.Embedding(50, 16), nn.LSTM(16, 32, batch_first=True),
               nn.Linear(32, 50))
    spec = import_model(model, (7,)).spec
    assert [next(iter(item)) for item in spec["layers"]] == ["embedding", "lstm", "linear"]
    totals = cnncalc.analyze(spec).totals
    assert totals.params == 50 * 16 + 4 * (32 * (16 + 32) + 2 * 32) + 32 * 50 + 50 == sum(p.numel() for p in model.parameters())


def test_the_hidden_state_of_an_lstm_has_no_layer():
    model = Fn(lambda x, lstm: lstm(x)[1][0], nn.LSTM(4, 8, batch_first=True))
    with pytest.raises(UnsupportedOps, match="1 operation"):
        import_model(model, (5, 4))


@pytest.mark.parametrize(("module", "mode"), [
    (nn.ReflectionPad2d((1, 2, 3, 0)), "reflect"), (nn.ReplicationPad2d(1), "replicate"),
    (nn.CircularPad2d(2), "circular"), (nn.ReflectionPad1d(2), "reflect"), (nn.ReplicationPad3d(1), "replicate"),
])
def test_a_padding_module_keeps_its_mode(module, mode):
    """ReflectionPad2d has no ``mode`` attribute: its class says it (it was imported as zeros)."""
    shape = {1: (2, 9), 2: (2, 9, 9), 3: (2, 5, 5, 5)}[len(module.padding) // 2]
    (layer,) = import_model(nn.Sequential(module), shape).spec["layers"]
    assert layer["pad"]["mode"] == mode


def test_a_parameter_used_twice_or_in_an_unknown_way_is_refused():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = nn.Parameter(torch.zeros(1, 4, 1, 1))

        def forward(self, x):
            return (x * self.p) * self.p

    class Odd(Twice):
        def forward(self, x):
            return x + self.p.exp()

    with pytest.raises(UnsupportedOps) as info:
        import_model(Twice(), (4, 3, 3))
    assert "a second time" in info.value.items[0].reason
    with pytest.raises(UnsupportedOps) as info:
        import_model(Odd(), (4, 3, 3))
    assert "'p' directly in an operation no layer expresses" in info.value.items[0].reason


def test_a_view_that_mixes_the_batch_axis_says_so():
    """At batch 1, x.view(b * c, h, w) looks per-sample; the run at batch 2 shows what it is."""
    with pytest.raises(UnsupportedOps) as info:
        import_model(Fn(lambda x: x.view(x.shape[0] * x.shape[1], 4, 4).relu()), (3, 4, 4))
    assert info.value.items[0].reason.startswith("mixes the batch axis with the others (shape [3, 4, 4] at batch 1")


# ---- torchvision (marked: CI's torchvision environment runs these) ----------------------------------
ROUND_TRIP = [
    "alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
    "googlenet", "inception_v3", "densenet121", "densenet161", "densenet169", "densenet201",
    "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_0", "squeezenet1_1", "mnasnet0_5",
    "regnet_y_400mf", "efficientnet_b0", "vit_b_32",
]
SMALL_INPUTS = {
    "convnext_tiny": (3, 64, 64), "shufflenet_v2_x0_5": (3, 64, 64),
    "r3d_18": (3, 4, 32, 32), "mc3_18": (3, 4, 32, 32), "r2plus1d_18": (3, 4, 32, 32),
    "lraspp_mobilenet_v3_large": (3, 64, 64), "deeplabv3_mobilenet_v3_large": (3, 64, 64), "fcn_resnet50": (3, 64, 64),
}


def torch_buffers(model: nn.Module) -> int:
    return sum(b.numel() for b in model.buffers())


@pytest.mark.torchvision
@pytest.mark.parametrize("name", ROUND_TRIP + list(SMALL_INPUTS))
def test_torchvision_round_trip(name):
    require_torchvision()
    model, _, shape = load_model(f"torchvision:{name}")
    shape = SMALL_INPUTS.get(name, shape)
    spec = import_model(model, shape, name).spec
    totals = cnncalc.analyze(spec).totals
    assert (totals.params, totals.macs) == torch_counts(model, shape)
    assert totals.buffers == torch_buffers(model)
    assert yaml.safe_load(to_yaml(spec)) == spec


@pytest.mark.torchvision
def test_vit_b_16_imports_as_torchvision_publishes_it():
    """torchvision's documented figures for ViT-B/16: 86,567,656 parameters, 17.564 GFLOPS (MACs),
    which FlopCounterMode sees only with attention written out; the shipped spec says the same."""
    require_torchvision()
    model, _, shape = load_model("torchvision:vit_b_16")
    totals = cnncalc.analyze(import_model(model, shape, "vit_b_16").spec).totals
    assert totals.params == 86_567_656
    assert round(totals.macs / 1e9, 3) == 17.564
    shipped = cnncalc.analyze(str(ROOT / "specs" / "vit_b_16.yaml")).totals
    assert (shipped.params, shipped.macs) == (totals.params, totals.macs)


@pytest.mark.torchvision
def test_a_conv_subclass_maps_by_its_class():
    """r3d_18's Conv3DSimple subclasses nn.Conv3d (only __init__): it is a conv, not traced through."""
    require_torchvision()
    model, _, _ = load_model("torchvision:r3d_18")
    layers = import_model(model, (3, 4, 32, 32), "r3d_18").spec["layers"]
    assert layers[0] == {"conv": {"out": 64, "kernel": [3, 7, 7], "stride": [1, 2, 2], "padding": [1, 3, 3],
                                  "bias": False}, "name": "stem.0"}
    assert type(model.stem[0]).__name__ == "Conv3d" and type(model.layer1[0].conv1[0]).__name__ == "Conv3DSimple"
    assert {"conv": {"out": 64, "kernel": 3, "padding": 1, "bias": False}, "name": "layer1.0.conv1.0"} in layers


@pytest.mark.torchvision
def test_stochastic_depth_imports_as_the_stochasticdepth_layer():
    """torchvision's StochasticDepth (EfficientNet, ConvNeXt) calls torchvision.ops.stochastic_depth,
    which the stochasticdepth rule names: the identity at inference, no parameters, no MACs."""
    tv = require_torchvision()
    model = Fn(lambda x, conv, sd: x + sd(conv(x)), nn.Conv2d(4, 4, 3, padding=1), tv.ops.StochasticDepth(0.2, "row"))
    spec = import_model(model, (4, 6, 6)).spec
    assert spec["layers"] == [
        {"conv": {"out": 4, "kernel": 3, "padding": 1}, "name": "mods.0"},
        {"stochasticdepth": {"p": 0.2}, "name": "mods.1.stochastic_depth"},
        {"add": None, "name": "add", "from": ["input", "mods.1.stochastic_depth"]},
    ]
    assert (cnncalc.analyze(spec).totals.params, cnncalc.analyze(spec).totals.macs) == torch_counts(model, (4, 6, 6))


SEGMENTATION = ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101",
                "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]


@pytest.mark.torchvision
@pytest.mark.parametrize("name", SEGMENTATION)
def test_no_model_touches_the_network(name, monkeypatch):
    """Segmentation models are built without backbone weights: no download is even tried."""
    tv = require_torchvision()
    import urllib.request

    import torch.hub

    def offline(*args, **kwargs):
        raise AssertionError(f"network access: {args[:1]}")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    model, _, shape = load_model(f"torchvision:{name}")
    reference = tv.models.get_model(name, weights=None, weights_backbone=None)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    assert shape == (3, 224, 224)


@pytest.mark.torchvision
@pytest.mark.parametrize(("name", "family"), [
    ("fasterrcnn_resnet50_fpn", "a detection model"), ("raft_small", "an optical-flow model"),
    ("quantized_resnet18", "a quantized model"),
])
def test_out_of_scope_torchvision_models_are_refused_before_building(name, family):
    require_torchvision()
    with pytest.raises(ModelError, match=f"torchvision:{name} is {family}"):
        load_model(f"torchvision:{name}")


@pytest.mark.torchvision
def test_video_models_default_to_a_clip():
    require_torchvision()
    from cnncalc.torch.load import torchvision_input

    assert torchvision_input("r3d_18") == (3, 16, 112, 112)
    assert torchvision_input("mvit_v2_s") == (3, 16, 224, 224)
    assert torchvision_input("resnet50") == (3, 224, 224)


@pytest.mark.torchvision
def test_unknown_torchvision_model():
    require_torchvision()
    with pytest.raises(ModelError, match="no model 'resnet5'; did you mean resnet50"):
        load_model("torchvision:resnet5")
