"""Static budgets (issue 10): units read exactly, figures checked against hand-known totals, exit codes.

LeNet-5 (specs/lenet5.yaml), by hand: C1 6·(1·25)+6 = 156; C3 16·(6·25)+16 = 2,416; C5 120·(16·25)+120
= 48,120; F6 120·84+84 = 10,164; output 84·10+10 = 850; total 61,706 parameters. MACs: C1 28²·6·25 =
117,600; C3 10²·16·150 = 240,000; C5 120·400 = 48,000; F6 10,080; output 840; total 416,520.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc import analyze
from cnncalc.budget import BudgetError, Budgets, check, from_mapping, parse_quantity
from cnncalc.cli import cli

SPECS = Path(__file__).resolve().parent.parent / "specs"
LENET = str(SPECS / "lenet5.yaml")
LENET_PARAMS = 61_706
LENET_MACS = 416_520


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("30M", "params", 30_000_000),
        ("30m", "params", 30_000_000),
        ("1.5K", "macs", 1_500),
        ("5G", "macs", 5_000_000_000),
        ("2T", "macs", 2_000_000_000_000),
        ("61706", "params", 61_706),
        (" 12 k ", "params", 12_000),
        ("2GiB", "memory", 2 * 1024**3),
        ("2GB", "memory", 2_000_000_000),
        ("512MiB", "memory", 512 * 1024**2),
        ("1.5KiB", "memory", 1_536),
        ("300KB", "memory", 300_000),
        ("1TiB", "memory", 1024**4),
        ("100", "memory", 100),
        ("100B", "memory", 100),
        (7, "params", 7),
    ],
)
def test_units_are_exact(text, kind, value):
    assert parse_quantity(text, kind) == value


@pytest.mark.parametrize(
    ("text", "kind"),
    [("1.0005K", "params"), ("2GiB", "params"), ("30X", "macs"), ("", "params"), ("-3", "params"),
     ("1e6", "params"), ("0.5", "memory"), ("GiB", "memory"), (True, "params"), (-1, "macs")],
)
def test_bad_units_are_refused(text, kind):
    with pytest.raises(BudgetError):
        parse_quantity(text, kind)


def test_check_against_hand_counts():
    report = analyze(LENET)
    checks = {c.kind: c for c in check(report, Budgets(params=61_705, macs=416_520))}
    assert checks["params"].value == LENET_PARAMS and checks["params"].over
    assert checks["macs"].value == LENET_MACS and not checks["macs"].over  # equal is within


def test_memory_figures():
    report = analyze(LENET, batch=4, optimizer="sgd")
    # training, float32, sgd: params + gradients + every activation and the input, by hand below
    # per sample: C1 and its tanh 6·28·28 each, S2 6·14·14, C3 and tanh 16·10·10, S4 16·5·5, C5, tanh and
    # flatten 120 each, F6 and tanh 84 each, output 10
    acts = 4 * (6 * 784 * 2 + 6 * 196 + 16 * 100 * 2 + 16 * 25 + 120 * 2 + 120 + 84 * 2 + 10)
    training = 4 * (2 * LENET_PARAMS) + 4 * (acts + 4 * 32 * 32)
    [c] = check(report, Budgets(memory=training, memory_figure="training"))
    assert c.value == training and not c.over
    [c] = check(report, Budgets(memory=training - 1, memory_figure="training"))
    assert c.over
    [c] = check(report, Budgets(memory=10**9))
    assert c.value == report.memory.inference_peak_bytes


def test_spec_mapping():
    b = from_mapping({"params": "30M", "macs": "5G", "memory": "2GiB"})
    assert b == Budgets(30_000_000, 5_000_000_000, 2 * 2**30, "inference")
    with pytest.raises(BudgetError, match="unknown key 'flops'"):
        from_mapping({"flops": "1G"})
    with pytest.raises(BudgetError, match="memory_figure"):
        from_mapping({"memory": "1GiB", "memory_figure": "peak"})


def test_command_line_overrides_spec():
    spec = Budgets(params=10, macs=10**9, memory=None, memory_figure="training")
    merged = spec.merged(Budgets(params=10**6, memory_figure="inference"))
    assert merged == Budgets(params=10**6, macs=10**9, memory=None, memory_figure="inference")


def _run(*args: str):
    return CliRunner().invoke(cli, ["summarize", LENET, *args])


def test_cli_over_budget_exits_1_and_names_it():
    r = _run("--max-params", "60K", "--max-macs", "1M", "-f", "json")
    assert r.exit_code == 1, r.output
    assert "over budget: parameters 61,706 > max-params 60,000" in r.stderr
    assert "within budget: MACs at batch 1 416,520 ≤ max-macs 1,000,000" in r.stderr
    assert json.loads(r.stdout)["totals"]["params"] == LENET_PARAMS  # the output is still there


def test_cli_within_budget_exits_0():
    r = _run("--max-params", "61706", "--max-macs", "416520", "-f", "json")
    assert r.exit_code == 0, r.output
    assert "over budget" not in r.stderr


def test_cli_macs_scale_with_batch():
    r = _run("--max-macs", "416520", "--batch", "2", "-f", "json")
    assert r.exit_code == 1
    assert "MACs at batch 2 833,040 > max-macs 416,520" in r.stderr


def test_cli_memory_budget():
    peak = analyze(LENET).memory.inference_peak_bytes
    assert _run("--max-memory", str(peak), "-f", "json").exit_code == 0
    r = _run("--max-memory", str(peak - 1), "-f", "json")
    assert r.exit_code == 1 and "inference peak memory" in r.stderr


def test_cli_bad_budget_is_usage_error():
    r = _run("--max-params", "lots")
    assert r.exit_code == 2
    assert "cannot read 'lots'" in r.output


def test_cli_without_budgets_prints_no_verdict():
    r = _run("-f", "json")
    assert r.exit_code == 0 and "budget" not in r.stderr


def test_cli_quiet_keeps_only_the_failures():
    r = _run("--max-params", "60K", "--max-macs", "1M", "-f", "json", "--quiet")
    assert r.exit_code == 1
    assert "over budget: parameters" in r.stderr and "within budget" not in r.stderr


def test_cli_budget_on_standard_input():
    r = CliRunner().invoke(cli, ["summarize", "-", "--max-params", "61705", "-f", "json"],
                           input=Path(LENET).read_text())
    assert r.exit_code == 1 and "parameters 61,706 > max-params 61,705" in r.stderr


def _budgeted(tmp_path, budgets: str) -> str:
    p = tmp_path / "budgeted.yaml"
    p.write_text(Path(LENET).read_text().replace("name: lenet5\n", f"name: lenet5\nbudgets: {budgets}\n"))
    return str(p)


def test_spec_carries_budgets(tmp_path):
    from cnncalc import parse_spec

    path = _budgeted(tmp_path, "{params: 60K, macs: 1M}")
    assert from_mapping(parse_spec(path).budgets) == Budgets(params=60_000, macs=1_000_000)
    r = CliRunner().invoke(cli, ["summarize", path, "-f", "json"])
    assert r.exit_code == 1, r.output
    assert "over budget: parameters 61,706 > max-params 60,000" in r.stderr
    assert "within budget: MACs at batch 1 416,520 ≤ max-macs 1,000,000" in r.stderr
    r = CliRunner().invoke(cli, ["summarize", path, "-f", "json", "--max-params", "62K"])  # the option wins
    assert r.exit_code == 0, r.output
    assert "parameters 61,706 ≤ max-params 62,000" in r.stderr


def test_spec_budget_memory_figure(tmp_path):
    training = analyze(LENET, optimizer="adam").memory.training_bytes
    path = _budgeted(tmp_path, f"{{memory: {training - 1}, memory_figure: training}}")
    r = CliRunner().invoke(cli, ["summarize", path, "-f", "json"])
    assert r.exit_code == 1 and "training memory (float32, adam)" in r.stderr


@pytest.mark.parametrize(
    ("budgets", "message"),
    [("{params: lots}", "cannot read 'lots'"), ("{flops: 1G}", "unknown key 'flops'"), ("[1, 2]", "'budgets'"),
     ("{memory: 1GiB, memory_figure: peak}", "memory_figure")],
)
def test_spec_bad_budget_is_a_located_error(tmp_path, budgets, message):
    path = _budgeted(tmp_path, budgets)
    r = CliRunner().invoke(cli, ["summarize", path])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: {path}:") and message in r.stderr
    assert "Traceback" not in r.output
