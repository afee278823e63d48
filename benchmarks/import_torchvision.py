"""`cnncalc import` on every torchvision model: which import exactly, and why the others are refused.

Run it in an environment with torchvision (here: /opt/tvenv/bin/python benchmarks/import_torchvision.py).
For each model of ``torchvision.models.list_models()`` in classification, segmentation and video,
built with random weights (``weights=None``, ``weights_backbone=None``) at cnncalc's default input
(batch 1), it imports the model and compares the spec's totals with torch's own figures:

* parameters: ``sum(p.numel() for p in model.parameters())``;
* buffers: ``sum(b.numel() for b in model.buffers())``;
* MACs: ``torch.utils.flop_counter.FlopCounterMode`` flops ÷ 2 on a forward pass at the same input.

A model is *exact* when all three are equal. Otherwise it is a *mismatch* (the three pairs are
written), *refused* (cnncalc import's own reason: the unsupported operations, or the model error),
*error* (anything else, a bug) or *timeout* (over --timeout seconds, measured by an alarm; with
--isolate each model runs in its own process instead, which is slower to start but frees memory). Detection, optical-flow and
quantized models are listed as out of scope. Nothing is skipped silently: every model of
``list_models()`` is in the JSON with its status.

It prints one line per model and "N of M exact", and writes benchmarks/data/import_torchvision.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "data" / "import_torchvision.json"
SCOPES = {"": "classification", "segmentation": "segmentation", "video": "video"}
OUT_OF_SCOPE = ("detection", "optical_flow", "quantization")


def catalogue() -> list[tuple[str, str]]:
    """Every model of list_models() with its family (classification, segmentation, ...)."""
    import torchvision.models as m

    out: list[tuple[str, str]] = []
    for sub in (*SCOPES, *OUT_OF_SCOPE):
        module = getattr(m, sub) if sub else m
        out += [(name, SCOPES.get(sub, sub)) for name in m.list_models(module=module)]
    listed = {name for name, _ in out}
    out += [(name, "other") for name in m.list_models() if name not in listed]
    return out


def torch_figures(model: Any, shape: tuple[int, ...]) -> dict[str, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *shape))
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "macs": counter.get_total_flops() // 2,
    }


def refused_reason(e: Any) -> str:
    """An UnsupportedOps as '<op> <target>: <reason> (n nodes)' per kind, joined."""
    parts = []
    for group in e.groups():
        first = group[0]
        target = first.target.rsplit(".", 1)[-1] if first.op == "call_module" else first.target
        parts.append(f"{first.op} {target} ×{len(group)}: {first.reason}")
    return "; ".join(parts)


def one(name: str) -> dict[str, Any]:
    """Import one model in this process and compare it with torch."""
    import cnncalc
    from cnncalc.torch.importer import ImportCheckError, ModelError, UnsupportedOps, import_model, load_model

    t0 = time.perf_counter()
    try:
        model, _, shape = load_model(f"torchvision:{name}")
    except ModelError as e:
        return {"status": "refused", "reason": str(e), "seconds": round(time.perf_counter() - t0, 1)}
    row: dict[str, Any] = {"input": list(shape)}
    try:
        imported = import_model(model, shape, name)
    except UnsupportedOps as e:
        row |= {"status": "refused", "reason": refused_reason(e)}
    except ModelError as e:
        row |= {"status": "refused", "reason": str(e)}
    except ImportCheckError as e:
        row |= {"status": "error", "reason": f"ImportCheckError: {e}"}
    else:
        totals = cnncalc.analyze(imported.spec).totals
        ours = {"params": totals.params, "buffers": totals.buffers, "macs": totals.macs}
        ref = torch_figures(model, shape)
        exact = ours == ref
        row |= {"status": "exact" if exact else "mismatch", "layers": len(imported.spec["layers"]),
                "cnncalc": ours, "torch": ref}
        if imported.warnings:
            row["warnings"] = list(imported.warnings)
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def run_here(name: str, timeout: float) -> dict[str, Any]:
    """:func:`one` in this process, stopped by SIGALRM after ``timeout`` seconds."""
    t0 = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(max(1, round(timeout)))
    try:
        return one(name)
    except _Timeout:
        return {"status": "timeout", "reason": f"over {timeout:g} s", "seconds": round(time.perf_counter() - t0, 1)}
    except Exception as e:
        return {"status": "error", "reason": f"{type(e).__name__}: {e}", "seconds": round(time.perf_counter() - t0, 1)}
    finally:
        signal.alarm(0)
        gc.collect()


def run_child(name: str, timeout: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True,
                           timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "reason": f"over {timeout:g} s", "seconds": round(time.perf_counter() - t0, 1)}
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"status": "error", "reason": f"exit {p.returncode}: {tail}",
                "seconds": round(time.perf_counter() - t0, 1)}
    return json.loads(lines[-1])


def summary_line(name: str, row: dict[str, Any]) -> str:
    status = row["status"]
    if status == "exact":
        c = row["cnncalc"]
        what = f"{c['params']:,} params, {c['buffers']:,} buffers, {c['macs']:,} MACs"
    elif status == "mismatch":
        what = "; ".join(f"{k} {row['cnncalc'][k]:,} vs torch {row['torch'][k]:,}"
                         for k in row["torch"] if row["cnncalc"][k] != row["torch"][k])
    else:
        what = row.get("reason", "")
    return f"{name:32s} {status:9s} {row.get('seconds', 0):6.1f}s  {what[:200]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these models only (the JSON is then not written)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per model (default 300)")
    ap.add_argument("--out", type=Path, default=OUT, help="where to write the JSON")
    ap.add_argument("--isolate", action="store_true", help="each model in its own process")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return 0

    import torch
    import torchvision

    rows: dict[str, dict[str, Any]] = {}
    for name, family in catalogue():
        if args.only and name not in args.only:
            continue
        if family in OUT_OF_SCOPE or family == "other":
            rows[name] = {"family": family, "status": "out of scope"}
            continue
        run = run_child if args.isolate else run_here
        rows[name] = {"family": family, **run(name, args.timeout)}
        print(summary_line(name, rows[name]), flush=True)
    in_scope = {n: r for n, r in rows.items() if r["status"] != "out of scope"}
    exact = sum(r["status"] == "exact" for r in in_scope.values())
    print(f"\n{exact} of {len(in_scope)} exact (classification, segmentation and video); "
          f"{len(rows) - len(in_scope)} out of scope (detection, optical flow, quantized)")
    if not args.only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "environment": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                            "python": platform.python_version()},
            "timeout_seconds": args.timeout,
            "exact": exact, "in_scope": len(in_scope),
            "models": rows,
        }
        args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
