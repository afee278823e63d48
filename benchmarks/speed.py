"""Speed and memory targets (issues 7 and 8), measured, never asserted: `python benchmarks/speed.py`.

1. Start-up: `cnncalc summarize specs/resnet50.yaml --format json` as a whole process (target: under
   60 ms), the import of `cnncalc.cli` alone (`python -X importtime`), and torchinfo's `summary()` of
   torchvision's resnet50, also as a whole process (target: cnncalc more than 50× faster). torchinfo
   needs torch + torchvision + torchinfo: --torch-python (default /opt/tvenv/bin/python where it
   exists, else this Python; skipped when they are missing).
2. A generated chain of 10,000 layers: `summarize --format json` as a whole process (target: well
   under 0.5 s), with its phases in-process (parse, analyse, JSON; CPU seconds); and 20,000 layers, the cap (linear: ~2×).
3. The layer cap: the 4-line `{relu: null, repeat: N}` at the cap through every command (summarize in
   every format, rf, explain, export): wall time, CPU time and peak resident memory of each process
   (target: a few seconds and under 1 GB each).

Figures are medians over --runs runs (the cap: --cap-runs). These machines are shared and noisy, so
the script first prints a calibration: the time of `sum(range(10**6))`, about 10 ms on an idle
modern core; scale the figures by it. CPU time (user + system) is printed next to wall time: it
counts only the time the process ran, so it moves less with the load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TVENV = Path("/opt/tvenv/bin/python")


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

PHASES = r"""
import sys, time
from cnncalc.analysis import analyze
from cnncalc.render import to_json
from cnncalc.spec import parse_spec
t0 = time.process_time()
spec = parse_spec(sys.argv[1])
t1 = time.process_time()
report = analyze(spec)
t2 = time.process_time()
to_json(report)
t3 = time.process_time()
print(t1 - t0, t2 - t1, t3 - t2)
"""


@dataclass(frozen=True)
class Run:
    """One process: wall seconds, CPU seconds (user + system) and peak resident set in MB."""

    wall: float
    cpu: float
    peak_mb: float
    status: int


def environment() -> dict[str, str]:
    """This environment, with bytecode written and read as an installed package has it."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_package() -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "cnncalc")], check=True, env=environment())


def run_once(cmd: list[str]) -> Run:
    """Run ``cmd`` (output discarded) and measure it with os.wait4, which gives this child's own
    resource use (peak RSS included), unlike RUSAGE_CHILDREN's maximum over all children."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=environment())
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, p.returncode)


def median_run(cmd: list[str], runs: int) -> Run:
    results = [run_once(cmd) for _ in range(runs)]
    bad = [r.status for r in results if r.status != 0]
    if bad:
        raise subprocess.CalledProcessError(bad[0], cmd)
    return Run(
        statistics.median(r.wall for r in results), statistics.median(r.cpu for r in results),
        max(r.peak_mb for r in results), 0,
    )


def calibration() -> float:
    """Seconds for sum(range(10**6)), best of 5 (about 0.01 s on an idle modern core)."""
    return min(timeit.repeat("sum(range(10**6))", number=1, repeat=5))


def import_time(runs: int) -> float:
    """Median cumulative import time of cnncalc.cli, from ``python -X importtime``, in seconds."""
    times = []
    for _ in range(runs):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import cnncalc.cli"], capture_output=True, text=True,
            cwd=ROOT, env=environment(), check=True,
        ).stderr
        m = re.search(r"\|\s*(\d+) \| cnncalc\.cli$", err, re.MULTILINE)
        if m:
            times.append(int(m[1]) / 1e6)
    return statistics.median(times) if times else float("nan")


def chain_spec(n_layers: int) -> str:
    """A flat conv/batchnorm/relu chain of n_layers layers, as a person would generate it."""
    lines = ["name: chain", "input: [16, 32, 32]", "layers:"]
    kinds = ["  - {conv: {out: 16, kernel: 3, padding: 1, bias: false}}", "  - batchnorm", "  - relu"]
    lines += [kinds[i % 3] for i in range(n_layers)]
    return "\n".join(lines) + "\n"


def layer_cap() -> int:
    """The most layers a spec may expand to (cnncalc.spec.limits.MAX_LAYERS)."""
    sys.path.insert(0, str(ROOT))
    from cnncalc.spec.limits import MAX_LAYERS

    return MAX_LAYERS


def cap_spec(layers: int) -> str:
    """Issue 8's 4-line spec at the layer cap: one repeated relu, as many as the cap admits."""
    return f"name: cap\ninput: [3, 32, 32]\nlayers:\n  - {{relu: null, repeat: {layers}}}\n"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cnncalc", *args]


def show(label: str, r: Run) -> None:
    print(f"  {label:42} wall {r.wall:7.3f} s   cpu {r.cpu:7.3f} s   peak RSS {r.peak_mb:6.0f} MB")


def startup(args: argparse.Namespace) -> float:
    print("1. start-up")
    ours = median_run(cli("summarize", "specs/resnet50.yaml", "--format", "json"), args.runs)
    show("summarize resnet50 --format json", ours)
    bare = median_run([sys.executable, "-c", "pass"], args.runs)
    show("python -c pass (the interpreter alone)", bare)
    print(f"  import cnncalc.cli (-X importtime, median): {import_time(args.runs) * 1000:.1f} ms")
    try:
        theirs = median_run([args.torch_python, "-c", TORCHINFO_PROCESS], max(3, args.runs // 3))
    except (subprocess.CalledProcessError, OSError):
        print("  torchinfo comparison skipped (needs torch, torchvision and torchinfo in --torch-python)")
        return ours.wall
    show("torchinfo.summary(torchvision resnet50)", theirs)
    print(f"  whole process against whole process: cnncalc is {theirs.wall / ours.wall:.0f}x faster in wall time "
          f"(target: > 50x), {theirs.cpu / ours.cpu:.0f}x in CPU time")
    n = str(max(5, args.runs))
    call = float(subprocess.run([args.torch_python, "-c", TORCHINFO_CALL, n], capture_output=True, text=True, check=True).stdout)
    own = float(subprocess.run([sys.executable, "-c", CNNCALC_CALL, n], capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    print(f"  in-process only: torchinfo.summary() {call * 1000:.1f} ms (model built), "
          f"cnncalc.analyze() {own * 1000:.1f} ms (YAML read): {call / own:.0f}x")
    return ours.wall


def long_chains(args: argparse.Namespace, tmp: Path) -> None:
    print("2. generated chains")
    for n in (10_000, 20_000):
        path = tmp / f"chain{n}.yaml"
        path.write_text(chain_spec(n))
        runs = args.runs if n == 10_000 else 3
        show(f"summarize --format json, {n:,} layers", median_run(cli("summarize", str(path), "-f", "json", "-q"), runs))
        phases = [
            [float(x) for x in subprocess.run(
                [sys.executable, "-c", PHASES, str(path)], capture_output=True, text=True, check=True, cwd=ROOT, env=environment(),
            ).stdout.split()]
            for _ in range(min(runs, 5))
        ]
        parse, analyse, js = (statistics.median(p[i] for p in phases) for i in range(3))
        print(f"  {'':42} in-process CPU: parse {parse:.3f} s, analyse {analyse:.3f} s, JSON {js:.3f} s")


CAP_COMMANDS = (
    ("summarize", ()),
    ("summarize", ("-f", "json")),
    ("summarize", ("-f", "csv")),
    ("summarize", ("-f", "markdown")),
    ("summarize", ("--depth", "1")),
    ("rf", ()),
    ("rf", ("-f", "json")),
    ("explain", ()),
    ("export", ()),
)


def at_the_cap(args: argparse.Namespace, tmp: Path) -> None:
    cap = layer_cap()
    print(f"3. at the layer cap ({cap:,} layers), median of {args.cap_runs} run(s) each")
    path = tmp / "cap.yaml"
    path.write_text(cap_spec(cap))
    for command, extra in CAP_COMMANDS:
        label = " ".join([command, *extra])
        try:
            show(label, median_run(cli(command, str(path), *extra, "-q"), args.cap_runs))
        except subprocess.CalledProcessError as e:
            print(f"  {label:42} failed with status {e.returncode}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--cap-runs", type=int, default=3)
    ap.add_argument("--only", choices=["startup", "chains", "cap"], action="append", help="run only these parts")
    ap.add_argument(
        "--torch-python", default=str(TVENV) if TVENV.exists() else sys.executable,
        help="a Python with torch, torchvision and torchinfo",
    )
    args = ap.parse_args()
    parts = set(args.only or ["startup", "chains", "cap"])
    compile_package()
    print(f"calibration: sum(range(10**6)) takes {calibration() * 1000:.1f} ms here (about 10 ms on an idle core); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as d:
        if "startup" in parts:
            startup(args)
        if "chains" in parts:
            long_chains(args, Path(d))
        if "cap" in parts:
            at_the_cap(args, Path(d))


if __name__ == "__main__":
    main()
