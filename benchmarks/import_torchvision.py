"""`cnncalc import` on every torchvision model: which import exactly, and why the others are refused.

Run it in an environment with torchvision (here: /opt/tvenv/bin/python benchmarks/import_torchvision.py).
For each model of ``torchvision.models.list_models()`` in classification, segmentation and video,
built with random weights (``weights=None``, ``weights_backbone=None``) at cnncalc's default input
(batch 1), it imports the model and compares the spec's totals with torch's own figures:

* parameters: ``sum(p.numel() for p in model.parameters())``;
* buffers: ``sum(b.numel() for b in model.buffers())``;
* MACs: ``torch.utils.flop_counter.FlopCounterMode`` flops ÷ 2 on a forward pass at the same input,
  with ``nn.MultiheadAttention``'s fast path off and scaled-dot-product attention on its math
  backend, so that attention is counted as the matmuls it is (on the fast path FlopCounterMode sees
  none of it: docs/conventions.md).

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
SCOPES = {"segmentation": "segmentation", "video": "video", "": "classification"}
OUT_OF_SCOPE = ("detection", "optical_flow", "quantization")
SMALL = {"classification": (3, 112, 112), "segmentation": (3, 112, 112), "video": (3, 8, 112, 112)}


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
    """torch's own figures: numel of parameters and buffers, and the tests' MAC reference (attention
    counted as the matmuls it is: tests/_torch_support.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from _torch_support import torch_counts

    params, macs = torch_counts(model, shape)
    return {"params": params, "buffers": sum(b.numel() for b in model.buffers()), "macs": macs}


def refused_reason(e: Any) -> str:
    """An UnsupportedOps as '<op> <target>: <reason> (n nodes)' per kind, joined."""
    parts = []
    for group in e.groups():
        first = group[0]
        target = first.target.rsplit(".", 1)[-1] if first.op == "call_module" else first.target
        parts.append(f"{first.op} {target} ×{len(group)}: {first.reason}")
    return "; ".join(parts)


def one(name: str, family: str, small: bool) -> dict[str, Any]:
    """Import one model in this process and compare it with torch (at a small input first, where
    the model runs at it; else at cnncalc's default input)."""
    from cnncalc.torch.importer import ModelError, load_model

    t0 = time.perf_counter()
    try:
        model, _, default = load_model(f"torchvision:{name}")
    except ModelError as e:
        return {"status": "refused", "reason": str(e), "seconds": round(time.perf_counter() - t0, 1)}
    shapes = [SMALL[family], default] if small and SMALL.get(family) not in (None, default) else [default]
    for shape in shapes:
        row = compare(model, name, shape)
        if not row.get("reason", "").startswith(f"{name}: the model does not run on an input"):
            break
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def compare(model: Any, name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    import cnncalc
    from cnncalc.torch.importer import ImportCheckError, ModelError, UnsupportedOps, import_model

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
        row |= {"status": "exact" if ours == ref else "mismatch", "layers": len(imported.spec["layers"]),
                "cnncalc": ours, "torch": ref}
        if imported.warnings:
            row["warnings"] = list(imported.warnings)
    return row


class _Timeout(BaseException):
    pass


_ALARMS: list[float] = []  # set when an alarm went off (the importer turns any exception into its own)


def _alarm(signum: int, frame: Any) -> None:
    _ALARMS.append(time.perf_counter())
    raise _Timeout


def run_here(name: str, family: str, timeout: float, small: bool) -> dict[str, Any]:
    """:func:`one` in this process, stopped by SIGALRM after ``timeout`` seconds."""
    t0 = time.perf_counter()
    _ALARMS.clear()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(max(1, round(timeout)))
    try:
        row = one(name, family, small)
        if _ALARMS:
            raise _Timeout
        return row
    except _Timeout:
        return {"status": "timeout", "reason": f"over {timeout:g} s", "seconds": round(time.perf_counter() - t0, 1)}
    except Exception as e:
        return {"status": "error", "reason": f"{type(e).__name__}: {e}", "seconds": round(time.perf_counter() - t0, 1)}
    finally:
        signal.alarm(0)
        gc.collect()


def run_child(name: str, family: str, timeout: float, small: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        command = [sys.executable, __file__, "--one", name, "--family", family, *(["--small"] if small else [])]
        p = subprocess.run(command, capture_output=True, text=True,
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


def write(out: Path, rows: dict[str, dict[str, Any]], timeout: float, complete: bool, small: bool) -> None:
    """The JSON, rewritten after every model (``complete`` is false until the last one)."""
    import torch
    import torchvision

    in_scope = {n: r for n, r in rows.items() if r["status"] != "out of scope"}
    doc = {
        "environment": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                        "python": platform.python_version()},
        "timeout_seconds": timeout,
        "small_inputs_first": SMALL if small else None,
        "complete": complete,
        "exact": sum(r["status"] == "exact" for r in in_scope.values()), "in_scope": len(in_scope),
        "models": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def merge(paths: list[Path], out: Path) -> None:
    """Several runs' JSON → one: for each model, a measured row over 'not measured'."""
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    doc = docs[0]
    for other in docs[1:]:
        for name, row in other["models"].items():
            if doc["models"].get(name, {}).get("status", "not measured") == "not measured":
                doc["models"][name] = row
    in_scope = [r for r in doc["models"].values() if r["status"] != "out of scope"]
    doc["exact"] = sum(r["status"] == "exact" for r in in_scope)
    doc["in_scope"] = len(in_scope)
    doc["complete"] = all(r["status"] != "not measured" for r in in_scope)
    doc["runs"] = len(paths)
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


DOC = ROOT / "docs" / "import.md"
START, END = "<!-- import-results:start -->", "<!-- import-results:end -->"


def render(doc: dict[str, Any]) -> str:
    """The results section of docs/import.md from the JSON (no number typed in by hand)."""
    models = doc["models"]
    in_scope = {n: r for n, r in models.items() if r["status"] != "out of scope"}
    exact = sorted(n for n, r in in_scope.items() if r["status"] == "exact")
    env = doc["environment"]
    lines = [
        f"Measured by `benchmarks/import_torchvision.py` (torch {env['torch']}, torchvision "
        f"{env['torchvision']}; figures in `benchmarks/data/import_torchvision.json`): "
        f"**{doc['exact']} of {doc['in_scope']}** classification, segmentation and video models import "
        "exactly, in parameters, buffers and MACs.",
    ]
    unmeasured = sum(r["status"] == "not measured" for r in in_scope.values())
    if unmeasured:
        lines[0] += f" The run was stopped before the last {unmeasured}, which were not measured."
    if doc.get("small_inputs_first"):
        lines.append("")
        lines.append("Each model was traced at a small input first (3×112×112, video 3×8×112×112), and at its "
                     "default input where it does not run at the small one; the JSON gives each input.")
    lines += ["", f"Exact: {', '.join(exact)}.", ""]
    others = sorted((n, r) for n, r in in_scope.items() if r["status"] != "exact")
    if others:
        lines += ["Not exact, and why:", "", "| model | status | reason |", "|---|---|---|"]
        for n, r in others:
            reason = r.get("reason", "") if r["status"] != "mismatch" else "; ".join(
                f"{k} {r['cnncalc'][k]:,} vs torch {r['torch'][k]:,}" for k in r["torch"] if r["cnncalc"][k] != r["torch"][k])
            reason = reason.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {n} | {r['status']} | {reason[:300]}{'…' if len(reason) > 300 else ''} |")
        lines.append("")
    out = sorted(n for n, r in models.items() if r["status"] == "out of scope")
    lines.append(f"Out of scope ({len(out)}): the detection, optical-flow and quantized models.")
    return "\n".join(lines)


def write_doc(doc: dict[str, Any]) -> None:
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{render(doc)}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these models only (the JSON is then not written)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per model (default 300)")
    ap.add_argument("--out", type=Path, default=None, help="where to write the JSON (default: "
                    "benchmarks/data/import_torchvision.json; with --only, only when given)")
    ap.add_argument("--isolate", action="store_true", help="each model in its own process")
    ap.add_argument("--small", action="store_true",
                    help="trace at a small input first (3x112x112; video 3x8x112x112), falling back to the "
                         "default input where a model does not run at it")
    ap.add_argument("--reverse", action="store_true", help="the models in reverse order (for a second run in parallel)")
    ap.add_argument("--merge", nargs="+", type=Path, metavar="JSON",
                    help="merge runs (each model's measured row wins over 'not measured') into --out")
    ap.add_argument("--render", action="store_true", help="only rewrite docs/import.md's results from the JSON")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--family", default="classification", help=argparse.SUPPRESS)
    args = ap.parse_args()
    write_json = args.out is not None or not args.only
    args.out = args.out or OUT
    if args.merge:
        merge(args.merge, args.out)
        return 0
    if args.render:
        write_doc(json.loads(args.out.read_text(encoding="utf-8")))
        return 0
    if args.one:
        print(json.dumps(one(args.one, args.family, args.small)))
        return 0

    models = [(n, f) for n, f in catalogue() if not args.only or n in args.only]
    rows: dict[str, dict[str, Any]] = {
        n: {"family": f, "status": "out of scope" if f in OUT_OF_SCOPE or f == "other" else "not measured"}
        for n, f in models
    }
    for name, family in reversed(models) if args.reverse else models:
        if rows[name]["status"] == "out of scope":
            continue
        run = run_child if args.isolate else run_here
        rows[name] = {"family": family, **run(name, family, args.timeout, args.small)}
        print(summary_line(name, rows[name]), flush=True)
        if write_json:
            write(args.out, rows, args.timeout, False, args.small)
    in_scope = {n: r for n, r in rows.items() if r["status"] != "out of scope"}
    exact = sum(r["status"] == "exact" for r in in_scope.values())
    print(f"\n{exact} of {len(in_scope)} exact (classification, segmentation and video); "
          f"{len(rows) - len(in_scope)} out of scope (detection, optical flow, quantized)")
    if write_json:
        write(args.out, rows, args.timeout, True, args.small)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
