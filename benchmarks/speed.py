"""Speed targets of issue 2 §7, measured (not asserted): run `python benchmarks/speed.py`.

1. `cnncalc summarize specs/resnet50.yaml --format json` as a whole process: median of --runs runs
   (target ≤ 0.3 s), and torchinfo's `summary()` of torchvision's resnet50 in the same run, also as
   a whole process (what a user waits for: start Python, import torch, build the model, summarise;
   target: cnncalc ≥ 20× faster). The in-process call times are printed too. torchinfo needs torch +
   torchvision + torchinfo: give a Python that has them with --torch-python (default: this one;
   skipped when they are missing).
2. A generated chain of 10,000 layers: parse + analyse in-process (target ≤ 1 s).
3. 100,000 layers: about 10× the 10,000-layer time (linear growth).

Figures are medians: these machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TORCHINFO_PROCESS = r"""
import torch, torchvision, torchinfo
m = torchvision.models.resnet50(weights=None).eval()
torchinfo.summary(m, (1, 3, 224, 224), verbose=0)
"""

TORCHINFO_CALL = r"""
import statistics, sys, time
import torch, torchvision, torchinfo
m = torchvision.models.resnet50(weights=None).eval()
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter()
    torchinfo.summary(m, (1, 3, 224, 224), verbose=0)
    times.append(time.perf_counter() - t)
print(statistics.median(times))
"""

CNNCALC_CALL = r"""
import statistics, sys, time
import cnncalc
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter()
    cnncalc.analyze("specs/resnet50.yaml")
    times.append(time.perf_counter() - t)
print(statistics.median(times))
"""


def median_process_time(cmd: list[str], runs: int) -> float:
    """Median wall time of a whole process, with bytecode compiled as an installed package has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "cnncalc")], check=True, env=env)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def chain_spec(n_layers: int) -> str:
    """A flat conv/batchnorm/relu chain of n_layers layers, as a person would generate it."""
    lines = ["name: chain", "input: [16, 32, 32]", "layers:"]
    kinds = ["  - {conv: {out: 16, kernel: 3, padding: 1, bias: false}}", "  - batchnorm", "  - relu"]
    lines += [kinds[i % 3] for i in range(n_layers)]
    return "\n".join(lines) + "\n"


def median_analysis_time(n_layers: int, runs: int) -> float:
    sys.path.insert(0, str(ROOT))
    import cnncalc

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"chain{n_layers}.yaml"
        path.write_text(chain_spec(n_layers))
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            report = cnncalc.analyze(path)
            times.append(time.perf_counter() - t)
        assert len(report.layers) == n_layers
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--torch-python", default=sys.executable, help="a Python with torch, torchvision, torchinfo")
    args = ap.parse_args()

    cli = [sys.executable, "-m", "cnncalc", "summarize", "specs/resnet50.yaml", "--format", "json"]
    ours = median_process_time(cli, args.runs)
    print(f"cnncalc summarize resnet50 --format json (whole process): median {ours:.3f} s over {args.runs} runs")

    try:
        theirs = median_process_time([args.torch_python, "-c", TORCHINFO_PROCESS], max(3, args.runs // 2))
    except subprocess.CalledProcessError:
        print("torchinfo comparison skipped (needs torch, torchvision and torchinfo in --torch-python)")
    else:
        print(f"python -c 'torchinfo.summary(torchvision resnet50)' (whole process): median {theirs:.3f} s")
        print(f"  whole process against whole process, cnncalc is {theirs / ours:.1f}x faster (target: >= 20x)")
        n = str(max(5, args.runs))
        call = float(subprocess.run([args.torch_python, "-c", TORCHINFO_CALL, n], capture_output=True, text=True, check=True).stdout)
        own = float(subprocess.run([sys.executable, "-c", CNNCALC_CALL, n], capture_output=True, text=True, check=True, cwd=ROOT).stdout)
        print(f"in-process only: torchinfo.summary() {call * 1000:.1f} ms (model built), cnncalc.analyze() {own * 1000:.1f} ms (YAML read): {call / own:.1f}x")

    t10k = median_analysis_time(10_000, max(3, args.runs // 2))
    print(f"10,000-layer spec, parse + analyse in-process: median {t10k:.3f} s (target <= 1 s)")
    t100k = median_analysis_time(100_000, 3)
    print(f"100,000-layer spec: median {t100k:.3f} s = {t100k / t10k:.1f}x the 10,000-layer time (linear: ~10x)")


if __name__ == "__main__":
    main()
