"""Commands end to end (success paths), the shipped zoo by name, and the packaging's one version.

Expected numbers are worked by hand in the comments (LeNet-5's as in test_published), or are
torch's documented defaults; never cnncalc's own output.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import re

import pytest
from _support import ROOT, SPECS
from click.testing import CliRunner

import cnncalc
from cnncalc import zoo
from cnncalc.cli import cli
from cnncalc.layers import RULES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency tomli is the same parser
    import tomli as tomllib


def run(*args: str, **kw):
    return CliRunner().invoke(cli, list(args), **kw)


# ---- explain: the success path ---------------------------------------------------------------------

# LeNet-5 by hand: C1 6·(1·5·5)+6, C3 16·(6·5·5)+16, C5 120·(16·5·5)+120, F6 120·84+84, output 84·10+10
LENET_PARAMS = {"C1": 156, "C3": 2_416, "C5": 48_120, "F6": 10_164, "output": 850}
# MACs: C1 6·28·28·25, C3 16·10·10·150, C5 120·400, F6 120·84, output 84·10
LENET_MACS = {"C1": 117_600, "C3": 240_000, "C5": 48_000, "F6": 10_080, "output": 840}


def explained(stdout: str) -> dict[tuple[str, str], str]:
    """``explain``'s output as {(name, type): its indented lines}."""
    blocks: dict[tuple[str, str], str] = {}
    for block in re.split(r"^(?=\S)", stdout, flags=re.M):
        if block:
            head, _, body = block.partition("\n")
            m = re.fullmatch(r"(\S+) \((\w+)\)", head)
            assert m, head
            blocks[(m[1], m[2])] = body
    return blocks


def test_explain_every_layer_of_lenet5():
    res = run("explain", str(SPECS / "lenet5.yaml"))
    assert res.exit_code == 0, res.output
    blocks = explained(res.stdout)
    assert len(blocks) == 12  # the spec's 12 layers
    order = list(blocks)
    assert order[0] == ("C1", "conv") and order[-1] == ("output", "linear")
    assert all(body.startswith("  ") for body in blocks.values())
    by_name = {name: body for (name, _), body in blocks.items()}
    for name, params in LENET_PARAMS.items():
        assert f"= {params:,}" in by_name[name], (name, by_name[name])
        assert f"= {LENET_MACS[name]:,}" in by_name[name], (name, by_name[name])
    # 28 = (32 − 5)/1 + 1 for C1; S2 halves it: (28 − 2)/2 + 1 = 14
    assert "= 28" in by_name["C1"] and "= 14" in by_name["S2"]


def test_explain_one_layer_by_zoo_name_and_batch():
    res = run("explain", "lenet5", "--layer", "F6", "--batch", "4")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("F6 (linear)\n")
    assert "= 10,164" in res.stdout  # params do not scale with the batch
    assert "= 10,080" in res.stdout  # MACs per sample: 120 × 84; the batch is a note
    assert "batch 4" in res.stdout


# ---- layers ----------------------------------------------------------------------------------------


def test_layers_lists_every_type_with_its_arguments():
    res = run("layers")
    assert res.exit_code == 0, res.output
    listed = re.findall(r"^(\S+)\s", res.stdout, re.M)
    assert set(listed) == set(RULES)
    assert len(listed) == len(RULES)


@pytest.mark.parametrize(
    ("layer_type", "args"),
    [
        # torch.nn.Conv2d(in, out, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True)
        ("conv", "out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=True"),
        # torch.nn.Linear(in, out, bias=True)
        ("linear", "out, bias=True"),
        # torch.nn.BatchNorm2d(C, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
        ("batchnorm", "eps=1e-05, momentum=0.1, affine=True, track_running_stats=True"),
        # torch.nn.Flatten(start_dim=1, end_dim=-1)
        ("flatten", "start_dim=1, end_dim=-1"),
    ],
)
def test_layers_shows_torchs_defaults(layer_type, args):
    out = run("layers").stdout
    # the layer's paragraph: its name at the start of a line, then indented lines (wrapped to fit)
    m = re.search(rf"^{layer_type} .*?\n(?=\S)", out + "\n.", re.M | re.S)
    assert m is not None, out[:500]
    args_text = " ".join(m.group(0).split("args:", 1)[1].split())
    assert args_text == args


# ---- the zoo ---------------------------------------------------------------------------------------


def test_zoo_lists_every_shipped_spec():
    res = run("zoo", "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["name"] for r in rows] == sorted(p.stem for p in SPECS.glob("*.yaml"))
    by_name = {r["name"]: r for r in rows}
    # torchvision's published parameter counts and multiply-accumulates (see test_published)
    assert (by_name["vgg16"]["params"], by_name["vgg16"]["macs"]) == (138_357_544, 15_470_264_320)
    assert (by_name["resnet50"]["params"], by_name["resnet50"]["macs"]) == (25_557_032, 4_089_184_256)
    assert by_name["lenet5"]["params"] == sum(LENET_PARAMS.values())
    assert by_name["resnet50"]["description"].startswith("ResNet-50")


def test_zoo_table_and_wildcard():
    res = run("zoo", "resnet*")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["name", "params", "MACs", "description"]
    assert [line.split()[0] for line in lines[1:]] == ["resnet18", "resnet50"]
    assert "25.56 M" in lines[2] and "4.09 G" in lines[2]
    assert [e.name for e in zoo.entries("*net*")] == fnmatch.filter(zoo.names(), "*net*")


def test_summarize_finds_a_shipped_spec_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("summarize", "vgg16", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["totals"]["params"] == 138_357_544


def test_a_path_that_exists_wins_over_a_zoo_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vgg16").write_text("input: [1, 4]\nlayers:\n  - {linear: {out: 2}}\n")
    res = run("summarize", "vgg16", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["totals"]["params"] == 4 * 2 + 2


def test_an_unknown_name_suggests_the_closest_zoo_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("summarize", "resnet5")
    assert res.exit_code == 2
    assert res.stderr.startswith("error: resnet5: no such file")
    assert "did you mean 'resnet50'?" in res.stderr
    assert "cnncalc zoo" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("arg", ["../specs/vgg16", "vgg16\x00", "a" * 5000, "-x-"], ids=["relative", "nul", "long", "dash"])
def test_odd_arguments_are_one_line_errors(arg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("summarize", "--", arg)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1


def test_the_zoo_is_the_top_level_specs_folder():
    # a checkout (or an editable install) reads specs/ itself: no second copy in the package
    assert zoo.folder() == ROOT / "specs"
    assert not (ROOT / "cnncalc" / "specs").exists()


def test_help_starts_with_a_command_that_works_outside_a_checkout():
    res = run("--help")
    assert res.exit_code == 0
    assert "summarize specs/" not in res.stdout
    assert "cnncalc summarize vgg16" in res.stdout


# ---- narrow terminals --------------------------------------------------------------------------------


def test_table_at_80_columns_keeps_the_layer_names():
    res = run("summarize", str(SPECS / "resnet50.yaml"), env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    names = [s.name for s in cnncalc.analyze(SPECS / "resnet50.yaml").layers]
    for name in ("conv1", "layer1.0.conv1", "layer4.2.conv3", "fc"):
        assert name in names
        assert re.search(rf"^\s*{re.escape(name)}\s", res.stdout, re.M), name


# ---- packaging: one version ---------------------------------------------------------------------------


def test_one_version_source():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "cnncalc/__init__.py"
    assert importlib.metadata.version("cnncalc") == cnncalc.__version__
    res = run("--version")
    assert res.stdout.strip().endswith(cnncalc.__version__)


def test_license_is_an_spdx_string_with_its_file():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
