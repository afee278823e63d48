"""``cnncalc bench`` (issue 10): the CI smoke test (a tiny CPU bench through the CLI), the JSON schema,
the baseline gate's exit codes, the memory guard, per-layer timing and the peak table.

No assertion is on real speed. The tiny net, by hand: conv 3→8, 3×3, padding 1 on 16×16: 16·16·8·27 =
55,296 MACs, 8·27+8 = 224 params; linear 2,048→10: 20,480 MACs, 20,490 params. 75,776 MACs per sample.
"""

from __future__ import annotations

import json

import pytest
from _support import require_torch
from click.testing import CliRunner

from cnncalc.cli import cli

torch = require_torch()

from cnncalc.torch import bench as B  # noqa: E402
from cnncalc.torch.peaks import cpu_peak, gpu_peak  # noqa: E402

TINY = """\
name: tiny
input: [3, 16, 16]
layers:
  - {conv: {out: 8, kernel: 3, padding: 1}, name: conv}
  - {relu: null, name: act}
  - flatten
  - {linear: {out: 10}, name: fc}
"""
MACS = 16 * 16 * 8 * 27 + 2048 * 10
FAST = ["--repeat", "3", "--warmup", "1"]


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY)
    return str(p)


def _bench(*args: str):
    return CliRunner().invoke(cli, ["bench", *args])


def test_smoke_json_schema(tiny, tmp_path):
    out = tmp_path / "run.json"
    r = _bench(tiny, "--batch", "1,4", *FAST, "-f", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    run = json.loads(r.stdout)
    assert run == json.loads(out.read_text())
    assert run["schema"] == "cnncalc.bench/1"
    assert run["device"]["type"] == "cpu" and run["device"]["threads"] >= 1
    assert run["software"]["torch"] == torch.__version__
    c = run["configuration"]
    assert (c["batches"], c["dtype"], c["mode"], c["repeat"], c["input_shape"]) == ([1, 4], "float32", "inference", 3, [3, 16, 16])
    assert [res["batch"] for res in run["results"]] == [1, 4]
    for res in run["results"]:
        lat = res["latency_ms"]
        assert lat["q1"] <= lat["median"] <= lat["q3"] and lat["iqr"] == pytest.approx(lat["q3"] - lat["q1"])
        assert res["samples"] == 3 and res["calls_per_sample"] >= 1
        assert res["flops_per_call"] == 2 * MACS * res["batch"]
        assert res["throughput"] == pytest.approx(res["batch"] / (lat["median"] / 1e3))
        assert res["achieved_flops"] == pytest.approx(res["flops_per_call"] / (lat["median"] / 1e3))
        assert res["memory"]["analytic"] == "inference_peak_bytes"
        if res["memory"]["measured_bytes"] is not None:  # Linux: resident-set growth + the weights
            assert res["memory"]["measured_bytes"] >= 4 * (224 + 20_490)
        assert res["layers"] is None


def test_smoke_table(tiny):
    r = _bench(tiny, *FAST)
    assert r.exit_code == 0, r.output
    assert "tiny" in r.stdout and "latency ms" in r.stdout and "samples/s" in r.stdout


def _baseline(tmp_path, tiny, median_ms: float):
    r = _bench(tiny, *FAST, "-f", "json")
    run = json.loads(r.stdout)
    run["results"][0]["latency_ms"]["median"] = median_ms
    p = tmp_path / f"base{median_ms}.json"
    p.write_text(json.dumps(run))
    return str(p)


def test_baseline_regression_exits_1(tiny, tmp_path):
    base = _baseline(tmp_path, tiny, 1e-6)  # no real run is this fast: a regression
    r = _bench(tiny, *FAST, "--baseline", base, "--max-regression", "10%")
    assert r.exit_code == 1, r.output
    assert "REGRESSED" in r.stderr and "batch 1, float32, inference" in r.stderr


def test_baseline_pass_exits_0(tiny, tmp_path):
    base = _baseline(tmp_path, tiny, 1e6)  # a thousand seconds: any run is faster
    r = _bench(tiny, *FAST, "--baseline", base)
    assert r.exit_code == 0, r.output
    assert "no configuration is slower" in r.stderr


def test_baseline_without_a_matching_configuration_is_usage_error(tiny, tmp_path):
    base = _baseline(tmp_path, tiny, 1.0)
    r = _bench(tiny, *FAST, "--batch", "2", "--baseline", base)
    assert r.exit_code == 2 and "no configuration of this run is in the baseline" in r.stderr


@pytest.mark.parametrize(
    "args",
    [["--batch", "0"], ["--batch", "1,x"], ["--max-regression", "lots"], ["--baseline", "/nonexistent.json"],
     ["--peak-flops", "fast"]],
)
def test_usage_errors_exit_2(tiny, args):
    r = _bench(tiny, *FAST, *args)
    assert r.exit_code == 2, r.output


def test_invalid_spec_exits_2(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\ninput: [3, 8, 8]\nlayers:\n  - {conv: {out: 4, kernel: 9}, name: c}\n")
    r = _bench(str(p), *FAST)
    assert r.exit_code == 2 and r.stderr.startswith("error:") and "Traceback" not in r.output


def test_memory_guard_refuses_before_allocating(tiny):
    # 3×100000×100000 float32 input alone is 120 GB: refused by the estimate, nothing allocated
    r = _bench(tiny, *FAST, "--input", "3,100000,100000")
    assert r.exit_code == 2, r.output
    assert "needs about" in r.stderr and "GiB" in r.stderr


def test_memory_guard_library(tiny):
    with pytest.raises(B.Refused, match="needs about"):
        B.bench(tiny, B.Settings(repeat=1, warmup=0), available=10_000)


def test_per_layer(tiny):
    run = B.bench(tiny, B.Settings(repeat=2, warmup=1, per_layer=True, peak_flops=1e11, peak_bandwidth=1e10))
    [res] = run.results
    assert res.layers is not None
    layers = {t.name: t for t in res.layers}
    assert set(layers) == {"conv", "act", "flatten1", "fc"}
    medians = [t.timing.median for t in res.layers]
    assert medians == sorted(medians, reverse=True)  # hottest first
    assert sum(t.share for t in res.layers) == pytest.approx(1.0)
    # conv at batch 1, float32: input 3·16·16·4 + output 8·16·16·4 + weights (8·27 + 8)·4 bytes
    assert layers["conv"].bytes_moved == 3072 + 8192 + 896
    assert layers["conv"].macs == 55_296
    # ridge 1e11 / 1e10 = 10 flop/byte; conv: (2·55,296 + 2,048 bias adds) / 12,160 = 9.26 → memory-bound
    assert layers["conv"].intensity == pytest.approx((2 * 55_296 + 2048) / 12_160)
    assert layers["conv"].bound == "memory"
    assert layers["act"].achieved_flops is None  # no MACs


def test_training_mode_counts_three_forwards(tiny):
    run = B.bench(tiny, B.Settings(batches=(2,), repeat=2, warmup=1, mode="training"))
    [res] = run.results
    assert res.flops_per_call == 3 * 2 * MACS * 2
    assert res.memory.analytic == "training_bytes"


def test_progress_reaches_the_total(tiny):
    seen = []
    B.bench(tiny, B.Settings(batches=(1, 2), repeat=1, warmup=0), progress=lambda w, d, t: seen.append((d, t)))
    assert seen[-1] == (2, 2)


def test_bfloat16_channels_last_on_cpu(tiny):
    run = B.bench(tiny, B.Settings(repeat=1, warmup=1, dtype="bfloat16", channels_last=True))
    [res] = run.results
    assert res.dtype == "bfloat16" and res.channels_last


def test_measure_counts_calls():
    calls = []
    t = B.measure(lambda: calls.append(1), B.Clock(torch.device("cpu")), warmup=2, repeat=4, min_time=0)
    assert t.samples == 4
    assert len(calls) == 2 + 1 + 4 * t.number


def test_summarise_quartiles():
    t = B.summarise([5.0, 1.0, 4.0, 2.0, 3.0], 1)  # sorted 1..5: numpy's linear percentiles 2, 3, 4
    assert (t.q1, t.median, t.q3, t.minimum, t.iqr) == (2.0, 3.0, 4.0, 1.0, 2.0)
    assert not t.noisy or t.spread > B.NOISY


@pytest.mark.parametrize(
    ("name", "dtype", "tflops"),
    [
        ("NVIDIA H100 80GB HBM3", "bfloat16", 989.4),
        ("NVIDIA H100 PCIe", "float16", 756.5),
        ("NVIDIA H200", "bfloat16", 989.4),
        ("NVIDIA A100-SXM4-80GB", "float32", 156),  # TF32 tensor cores: cuDNN's default for float32
        ("NVIDIA A100-PCIE-40GB", "bfloat16", 312),
        ("Tesla V100-SXM2-16GB", "float16", 125),
        ("Tesla T4", "float16", 65),
        ("NVIDIA L4", "bfloat16", 121),
        ("NVIDIA L40S", "bfloat16", 362.05),
        ("NVIDIA GeForce RTX 4090", "bfloat16", 165.2),
    ],
)
def test_gpu_peaks(name, dtype, tflops):
    peak = gpu_peak(name, dtype)
    assert peak is not None and peak.flops == pytest.approx(tflops * 1e12)


def test_gpu_peak_edges():
    assert gpu_peak("NVIDIA A100-SXM4-80GB", "float32", tf32=False).flops == pytest.approx(19.5e12)
    assert gpu_peak("Tesla V100-SXM2-16GB", "bfloat16") is None  # Volta has no bfloat16
    assert gpu_peak("Some Future GPU", "float32") is None
    assert gpu_peak("NVIDIA H200", "bfloat16").bandwidth == pytest.approx(4.8e12)


def test_cpu_peak_estimate_is_labelled():
    peak = cpu_peak(1)
    if peak is not None:
        assert peak.flops > 0 and peak.source.startswith("estimated")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_cuda_bf16_channels_last_per_layer(tiny):
    run = B.bench(tiny, B.Settings(device="cuda", repeat=3, warmup=2, dtype="bfloat16", channels_last=True,
                                   per_layer=True))
    [res] = run.results
    assert res.memory.measured_bytes and res.memory.measured == "torch.cuda.max_memory_allocated"
    assert res.layers is not None and len(res.layers) == 4
    assert run.device["type"] == "cuda"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_cuda_is_refused(tiny):
    r = _bench(tiny, *FAST, "--device", "cuda")
    assert r.exit_code == 2 and "sees no CUDA device" in r.stderr


def test_float16_on_cpu_says_so(tiny):
    r = _bench(tiny, *FAST, "--dtype", "float16", "-f", "json")
    if r.exit_code == 2:  # a torch build without a CPU half kernel refuses, naming the dtype
        assert "float16 on cpu" in r.stderr
        return
    assert r.exit_code == 0, r.output
    assert "float16 on the CPU" in r.stderr
    assert json.loads(r.stdout)["results"][0]["dtype"] == "float16"


def test_quiet_silences_notes(tiny):
    r = _bench(tiny, *FAST, "--dtype", "float16", "-f", "json", "--quiet")
    assert r.exit_code in (0, 2)
    assert "note:" not in r.stderr


def test_progress_bar_only_on_a_terminal(monkeypatch, capsys):
    import sys

    from cnncalc.render.progress import progress_bar

    with progress_bar() as update:  # pytest's stderr is not a terminal
        assert update is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with progress_bar() as update:
        assert update is not None
        update("layer \x1b[31mx", 1, 2)  # a spec's name reaches the terminal only escaped
    with progress_bar(enabled=False) as update:
        assert update is None


def test_compare_two_runs_through_the_cli(tiny, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert _bench(tiny, *FAST, "--batch", "1,2", "-o", str(a), "-f", "json").exit_code == 0
    assert _bench(tiny, *FAST, "--batch", "2", "-o", str(b), "-f", "json").exit_code == 0
    r = CliRunner().invoke(cli, ["compare", str(a), str(b), "-f", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["kind"] == "bench" and [s["title"] for s in data["sections"]] == ["batch 2, float32, inference"]
    assert "only in a: batch 1, float32, inference" in data["notes"]
    median = next(t for t in data["sections"][0]["totals"] if t["field"] == "latency median (ms)")
    runs = [json.loads(p.read_text()) for p in (a, b)]
    assert median["a"] == runs[0]["results"][1]["latency_ms"]["median"]
    assert median["b"] == runs[1]["results"][0]["latency_ms"]["median"]


def test_verify_reports_progress(tiny):
    from cnncalc.torch import verify

    seen = []
    v = verify(tiny, 2, progress=lambda what, done, total: seen.append((what, done, total)))
    assert v.ok
    assert seen[0] == ("building", 0, 4) and seen[-1] == ("fc", 4, 4)
    assert [d for _, d, _ in seen] == [0, 1, 2, 3, 4]
