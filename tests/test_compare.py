"""``cnncalc compare`` and the baseline gate (issue 10), torch-free, with deltas worked by hand.

LeNet-5 against the same net with F6 widened from 84 to 100 units: F6 params 120·84+84 = 10,164 →
120·100+100 = 12,100; the output layer 84·10+10 = 850 → 100·10+10 = 1,010. Total params 61,706 →
63,802 (+2,096, +3.3968 %). MACs: F6 10,080 → 12,000, output 840 → 1,000: 416,520 → 418,600 (+2,080).
"""

from __future__ import annotations

import copy
import json

import pytest
from _support import SPECS
from click.testing import CliRunner

from cnncalc import analyze
from cnncalc.cli import cli
from cnncalc.compare import CompareError, compare, delta_percent, gate, parse_percent

LENET = SPECS / "lenet5.yaml"


@pytest.fixture
def wide(tmp_path):
    p = tmp_path / "wide.yaml"
    p.write_text(LENET.read_text().replace("out: 84", "out: 100"))
    return str(p)


@pytest.fixture
def extra(tmp_path):
    """LeNet-5 with a ReLU inserted after F6's tanh (a layer only in b)."""
    text = LENET.read_text().replace("  - {linear: {out: 10}, name: output}", "  - {relu: null, name: extra}\n  - {linear: {out: 10}, name: output}")
    p = tmp_path / "extra.yaml"
    p.write_text(text)
    return str(p)


def _totals(section):
    return {t.label: t for t in section.totals}


def test_two_specs_hand_deltas(wide):
    c = compare(str(LENET), wide)
    [s] = c.sections
    t = _totals(s)
    assert (t["params"].a, t["params"].b, t["params"].delta) == (61_706, 63_802, 2_096)
    assert t["params"].percent == pytest.approx(100 * 2_096 / 61_706)
    assert (t["MACs"].a, t["MACs"].b, t["MACs"].delta) == (416_520, 418_600, 2_080)
    assert t["buffers"].percent == 0.0
    by_name = {d.name: d for d in s.layers}
    assert by_name["F6"].status == "changed"
    assert (by_name["F6"].a["params"], by_name["F6"].b["params"]) == (10_164, 12_100)
    assert (by_name["output"].a["macs"], by_name["output"].b["macs"]) == (840, 1_000)
    assert by_name["C1"].status == "same"


def test_added_layer_is_placed_after_its_predecessor(extra):
    [s] = compare(str(LENET), extra).sections
    names = [d.name for d in s.layers]
    assert names[names.index("extra") - 1] == "tanh4"
    assert {d.name: d.status for d in s.layers}["extra"] == "added"
    [s] = compare(extra, str(LENET)).sections
    assert {d.name: d.status for d in s.layers}["extra"] == "removed"


def test_summary_json_against_spec(tmp_path, wide):
    saved = tmp_path / "a.json"
    saved.write_text(json.dumps(analyze(LENET).to_dict()))
    [s] = compare(str(saved), wide).sections
    assert _totals(s)["params"].delta == 2_096


def _run(latency: float, batch: int = 1, **extra) -> dict:
    result = {"batch": batch, "dtype": "float32", "mode": "inference", "channels_last": False, "compile": False,
              "latency_ms": {"median": latency, "iqr": latency / 10}, "throughput": batch * 1000 / latency,
              "achieved_flops": 2 * 416_520 * batch * 1000 / latency, "percent_of_peak": None,
              "memory": {"measured_bytes": None}, "layers": None, **extra}
    return {"schema": "cnncalc.bench/1", "name": "lenet5", "device": {"type": "cpu", "name": "x", "threads": 2},
            "results": [result]}


def test_two_bench_runs(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_run(2.0)))
    b.write_text(json.dumps(_run(2.5)))
    c = compare(str(a), str(b))
    assert c.kind == "bench"
    t = _totals(c.sections[0])
    assert t["latency median (ms)"].percent == pytest.approx(25.0)
    assert t["throughput (samples/s)"].percent == pytest.approx(-20.0)


def test_bench_layers_are_compared(tmp_path):
    rows = lambda ms: [{"name": "C1", "type": "conv", "latency_ms": {"median": ms}, "share": 0.5}]  # noqa: E731
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_run(2.0, layers=rows(1.0))))
    b.write_text(json.dumps(_run(2.0, layers=rows(1.5))))
    [d] = compare(str(a), str(b)).sections[0].layers
    assert (d.a["ms"], d.b["ms"], d.status) == (1.0, 1.5, "changed")


def test_unmatched_configurations_are_noted(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_run(2.0, batch=1)))
    b.write_text(json.dumps(_run(2.0, batch=8)))
    c = compare(str(a), str(b))
    assert c.sections == ()
    assert "only in a: batch 1, float32, inference" in c.notes


def test_kinds_must_match(tmp_path):
    a = tmp_path / "a.json"
    a.write_text(json.dumps(_run(2.0)))
    with pytest.raises(CompareError, match="cannot compare a bench"):
        compare(str(a), str(LENET))
    bad = tmp_path / "bad.json"
    bad.write_text('{"x": 1}')
    with pytest.raises(CompareError, match="neither"):
        compare(str(bad), str(bad))


def test_gate_by_hand():
    base = _run(10.0)
    changes, _ = gate(base, _run(11.5), 0.10)
    assert changes[0].change == pytest.approx(0.15) and changes[0].regressed
    changes, _ = gate(base, _run(10.9), 0.10)
    assert not changes[0].regressed
    changes, notes = gate(_run(10.0, batch=4), _run(10.0), 0.10)
    assert changes == [] and "not in the baseline: batch 1, float32, inference" in notes


@pytest.mark.parametrize(("text", "value"), [("10%", 0.10), ("2.5", 0.025), ("0%", 0.0)])
def test_percent(text, value):
    assert parse_percent(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["-5%", "ten", "nan", "inf%"])
def test_bad_percent(text):
    with pytest.raises(ValueError):
        parse_percent(text)


def test_delta_percent():
    assert delta_percent(0, 0) == 0.0 and delta_percent(0, 5) is None and delta_percent(4, 5) == 25.0


def test_cli_table_and_json(wide):
    r = CliRunner().invoke(cli, ["compare", str(LENET), wide])
    assert r.exit_code == 0, r.output
    assert "+2,096" in r.stdout and "+3.4%" in r.stdout and "10,164 → 12,100" in r.stdout
    assert "C1" not in r.stdout  # unchanged layers only with --all
    r = CliRunner().invoke(cli, ["compare", str(LENET), wide, "--all"])
    assert "C1" in r.stdout
    r = CliRunner().invoke(cli, ["compare", str(LENET), wide, "-f", "json"])
    data = json.loads(r.stdout)
    assert data["schema"] == "cnncalc.compare/1" and data["kind"] == "summary"
    params = next(t for t in data["sections"][0]["totals"] if t["field"] == "params")
    assert (params["a"], params["b"], params["delta"]) == (61_706, 63_802, 2_096)


def test_cli_errors_exit_2(tmp_path):
    missing = str(tmp_path / "nope.json")
    r = CliRunner().invoke(cli, ["compare", missing, missing])
    assert r.exit_code == 2 and "cannot read" in r.stderr
    r = CliRunner().invoke(cli, ["compare", str(tmp_path / "nope.yaml"), str(LENET)])
    assert r.exit_code == 2 and r.stderr.startswith("error:")


def test_compare_is_torch_free(wide):
    import subprocess
    import sys

    code = ("import sys, cnncalc.compare as c; c.compare(sys.argv[1], sys.argv[2]); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code, str(LENET), wide], check=True)


def test_bench_run_unchanged_by_comparison():
    base = _run(10.0)
    before = copy.deepcopy(base)
    gate(base, _run(12.0), 0.1)
    assert base == before


def test_gate_notes_a_different_machine():
    other = _run(10.0)
    other["device"] = {"type": "cpu", "name": "y", "threads": 8}
    _, notes = gate(_run(10.0), other, 0.1)
    assert notes == ["different machines: the baseline ran on x (2 threads), this run on y (8 threads)"]
