#!/usr/bin/env python
"""Render docs/peer-numbers.md from benchmarks/data/peer_numbers.json (written by peer_numbers.py).

Every number in the document comes from the JSON; the prose only names what was measured. A claim
(a formula explaining a tool's total, torchvision's published figure matching a measurement) is
printed as holding only where the data shows it; otherwise the document says it does not.

    python benchmarks/render_peer_numbers.py           write docs/peer-numbers.md
    python benchmarks/render_peer_numbers.py --check   exit 1 if the committed document differs

Needs only the standard library (tests/test_peer_numbers.py runs it without torch).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "peer_numbers.json"
DOC = ROOT / "docs" / "peer-numbers.md"
PEERS = ("torchinfo", "fvcore", "ptflops", "thop")


def get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def num(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def diff(v: Any, ref: Any) -> str:
    return "–" if not isinstance(v, int) or not isinstance(ref, int) else f"{v - ref:+,}"


def shape(s: list[int]) -> str:
    return "×".join(map(str, s))


def first_published(r: dict) -> dict:
    pub = r.get("published_torchvision") or {}
    return next(iter(pub.values()), {}) if pub else {}


def missing_peers(meta: dict) -> list[str]:
    return [p for p in PEERS if str(meta.get(p, "")).startswith("not installed")]


def header(R: dict, names: list[str]) -> list[str]:
    meta = R["_meta"]
    versions = ", ".join(f"{p} {meta[p]}" for p in PEERS if p not in missing_peers(meta))
    inputs = sorted({shape(R[n]["input_shape"]) for n in names})
    out = [
        "# Peer reference numbers for cnncalc",
        "",
        "<!-- Rendered by benchmarks/render_peer_numbers.py from benchmarks/data/peer_numbers.json, which",
        "     benchmarks/peer_numbers.py measures. Do not edit by hand: tests/test_peer_numbers.py checks it. -->",
        "",
        f"Measured by `benchmarks/peer_numbers.py` into `benchmarks/data/peer_numbers.json`, with torch "
        f"{meta['torch']}, torchvision {meta['torchvision']}, {versions}, Python {meta['python']}. Batch "
        f"{meta['batch']}, `eval()`, `weights=None`; inputs {', '.join(inputs)} (see each table). All integers exact.",
        "",
    ]
    for p in missing_peers(meta):
        out += [f"**{p} was not installed** when these numbers were measured; its columns are empty.", ""]
    out += [
        "**MACs** below means `FlopCounterMode().get_total_flops() // 2` (the multiply-accumulates of conv and "
        "linear layers, no bias, no norm, activation or pooling). It is the reference every other column is "
        "compared with.",
        "",
    ]
    return out


def params_table(R: dict, names: list[str]) -> list[str]:
    out = [
        "## 1. Parameters and buffers",
        "",
        "| model | input | params | buffers (all) | running mean + var | num_batches_tracked | torchinfo total_params "
        "| ptflops params | thop params | torchvision docs params | docs GFLOPS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        r, pv = R[n], first_published(R[n])
        out.append(
            f"| {n} | {shape(r['input_shape'])} | {num(r.get('params'))} | {num(r.get('buffers'))} | "
            f"{num(r.get('buffers_float'))} | {num(r.get('num_batches_tracked'))} | "
            f"{num(get(r, 'torchinfo', 'total_params'))} | {num(get(r, 'ptflops_pytorch', 'params'))} | "
            f"{num(get(r, 'thop', 'params'))} | {num(pv.get('num_params'))} | {num(pv.get('GFLOPS'))} |"
        )
    out += [
        "",
        "The docs columns are the installed torchvision's weight-enum `meta` (`num_params`, `_ops`), the source of "
        "the torchvision models page; the first enum entry.",
        "",
    ]
    return out


MAC_TOOLS = (
    ("torchinfo total_mult_adds", ("torchinfo", "total_mult_adds")),
    ("fvcore total", ("fvcore", "total")),
    ("ptflops (pytorch backend, default)", ("ptflops_pytorch", "macs")),
    ("ptflops (aten backend)", ("ptflops_aten", "macs")),
    ("thop", ("thop", "macs")),
)


def macs_tables(R: dict, names: list[str]) -> list[str]:
    out = [
        "## 2. MACs by tool",
        "",
        "| model | MACs (flop_counter/2) | " + " | ".join(t for t, _ in MAC_TOOLS) + " |",
        "|---|---:|" + "---:|" * len(MAC_TOOLS),
    ]
    for n in names:
        r = R[n]
        cells = [num(get(r, *path)) for _, path in MAC_TOOLS]
        out.append(f"| {n} | {num(get(r, 'flop_counter', 'macs'))} | " + " | ".join(cells) + " |")
    out += [
        "",
        "### 2b. Difference from flop_counter/2 (tool − reference)",
        "",
        "| model | " + " | ".join(t for t, _ in MAC_TOOLS) + " |",
        "|---|" + "---:|" * len(MAC_TOOLS),
    ]
    for n in names:
        r = R[n]
        ref = get(r, "flop_counter", "macs")
        out.append(f"| {n} | " + " | ".join(diff(get(r, *path), ref) for _, path in MAC_TOOLS) + " |")
    out += [
        "",
        "### 2c. fvcore by operator, and the operators it skipped",
        "",
        "| model | fvcore by operator | skipped (calls) |",
        "|---|---|---|",
    ]
    for n in names:
        by_op = get(R[n], "fvcore", "by_operator") or {}
        skipped = get(R[n], "fvcore", "unsupported_ops") or {}
        out.append(
            f"| {n} | " + ", ".join(f"{k}={v:,}" for k, v in by_op.items())
            + " | " + ", ".join(f"{k}×{v}" for k, v in skipped.items()) + " |"
        )
    return [*out, ""]


TERMS = (
    ("CB", "conv_bias_adds", "Σ Cout·Hout·Wout over convolutions with a bias (the bias additions)"),
    ("LB", "linear_bias_adds", "Σ out_features over linear layers with a bias"),
    ("BNC", "bn_channels", "Σ BatchNorm num_features"),
    ("BNE", "bn_elems", "Σ BatchNorm input elements"),
    ("RELU", "relu_module_elems", "Σ output elements of nn.ReLU / nn.ReLU6 modules"),
    ("POOLIN", "pool_module_in_elems", "Σ input elements of the nn.*Pool2d modules (adaptive included)"),
    ("AVGOUT", "avgpool_module_out_elems", "Σ nn.AvgPool2d output elements"),
    ("ADA_THOP", "adaptive_thop", "Σ (k + 1)·output elements over nn.AdaptiveAvgPool2d, k = (Hin/Hout)(Win/Wout)"),
)

FORMULAS = (
    ("torchinfo", "torchinfo total_mult_adds", "REF + CB + LB + 2·BNC"),
    ("ptflops_aten", "ptflops, aten backend", "REF + CB + LB"),
    ("fvcore", "fvcore", "REF + 2·BNE + fvcore's adaptive_avg_pool2d term"),
    ("thop", "thop", "REF + 4·BNE + AVGOUT + ADA_THOP"),
    ("ptflops_pytorch_count_functional_False", "ptflops, pytorch backend with count_functional=False",
     "REF + CB + LB + 2·BNE + RELU + POOLIN"),
)


def decomposition(R: dict, names: list[str]) -> list[str]:
    D = R.get("decomposition") or {}
    rows = [n for n in names if n in D]
    if not rows:
        return ["## 3. Why the tools disagree", "", "Not measured (the decomposition needs every peer installed).", ""]
    failing = {
        key: [n for n in rows if get(D[n], "residual", key) != 0]
        for key, _, _ in FORMULAS
    }
    holds = all(not v for v in failing.values())
    title = "every residual is 0, for every model" if holds else "the residuals are not all 0"
    out = [
        f"## 3. Why the tools disagree: each total as REF plus named terms; {title}",
        "",
        "REF = flop_counter/2, and, measured with hooks on the same forward pass:",
        "",
        *[f"- {sym}: {what}" for sym, _, what in TERMS],
        "",
        "| tool | formula | models where tool − formula ≠ 0 |",
        "|---|---|---|",
    ]
    for key, label, formula in FORMULAS:
        bad = failing[key]
        cell = "none" if not bad else ", ".join(f"{n} ({get(D[n], 'residual', key):+,})"
                                               if isinstance(get(D[n], "residual", key), int) else f"{n} (not measured)"
                                               for n in bad)
        out.append(f"| {label} | {formula} | {cell} |")
    out += [
        "",
        "ptflops' default (pytorch backend, counting functional calls) adds a functional part to its "
        "count_functional=False total; the last two columns below measure it.",
        "",
        "| model | " + " | ".join(sym for sym, _, _ in TERMS) + " | ptflops count_functional=False | ptflops functional part |",
        "|---|" + "---:|" * (len(TERMS) + 2),
    ]
    for n in rows:
        c = D[n]["components"]
        cells = [num(c.get(key, 0)) for _, key, _ in TERMS]
        out.append(
            f"| {n} | " + " | ".join(cells)
            + f" | {num(get(D[n], 'actual', 'ptflops_pytorch_count_functional_False'))}"
            + f" | {num(D[n].get('ptflops_pytorch_functional_part'))} |"
        )
    return [*out, ""]


def torchinfo_memory(R: dict, names: list[str]) -> list[str]:
    keys = ("Input size (MB)", "Forward/backward pass size (MB)", "Params size (MB)", "Estimated Total Size (MB)")
    out = [
        "## 4. torchinfo's memory lines (as printed, MB = 10⁶ bytes) and the bytes behind them",
        "",
        "| model | " + " | ".join(keys) + " | total_input bytes | total_output_bytes | total_param_bytes | mult-adds line as printed |",
        "|---|" + "---:|" * (len(keys) + 3) + "---|",
    ]
    for n in names:
        t = R[n].get("torchinfo") or {}
        mb = t.get("printed_MB") or {}
        printed = t.get("total_mult_adds_printed")
        out.append(
            f"| {n} | " + " | ".join(str(mb.get(k, "–")) for k in keys)
            + f" | {num(t.get('total_input_bytes'))} | {num(t.get('total_output_bytes'))} | "
            f"{num(t.get('total_param_bytes'))} | {'`' + printed + '`' if printed else '–'} |"
        )
    return [*out, ""]


def findings(R: dict, names: list[str]) -> list[str]:
    """Observations computed from the data; each says what the data shows, not what it should."""
    out = ["## 5. What the data shows", ""]
    # torchvision's published GFLOPS against flop_counter/2
    agree, disagree = [], []
    for n in names:
        pv, macs = first_published(R[n]), get(R[n], "flop_counter", "macs")
        g = pv.get("GFLOPS")
        if g is None or not isinstance(macs, int):
            continue
        decimals = len(str(g).split(".")[1]) if "." in str(g) else 0
        (agree if round(macs / 1e9, decimals) == g else disagree).append(f"{n} {g} vs {macs:,}")
    out.append(
        f"- torchvision's published GFLOPS equal flop_counter/2 rounded to their digits for {len(agree)} of "
        f"{len(agree) + len(disagree)} models" + (f" (not for: {'; '.join(disagree)})" if disagree else "")
        + ": they are MACs, not FLOPs."
    )
    # never-executed modules (aux heads in eval)
    for n in names:
        base = n.removesuffix("_aux")
        if n == base or base not in R:
            continue
        p_aux, p = R[n].get("params"), R[base].get("params")
        thop_p = get(R[n], "thop", "params")
        ti_bytes = get(R[n], "torchinfo", "total_param_bytes")
        out.append(
            f"- {base} with its auxiliary heads: {num(p_aux)} parameters ({num(p_aux - p)} in the heads), "
            f"{num(p)} without. In eval the heads never run: thop counts {num(thop_p)}, torchinfo's params "
            f"bytes are {num(ti_bytes)} = {num(ti_bytes // 4) if isinstance(ti_bytes, int) else '–'} × 4 B, "
            f"while its total_params says {num(get(R[n], 'torchinfo', 'total_params'))}."
        )
    # buffers: 2·C + 1 per BatchNorm
    bn = [n for n in names if R[n].get("n_batchnorm")]
    exact = [n for n in bn if R[n].get("num_batches_tracked") == R[n].get("n_batchnorm")
             and R[n].get("buffers") == R[n].get("buffers_float", 0) + R[n].get("num_batches_tracked", 0)]
    out.append(
        f"- Buffers: for {len(exact)} of the {len(bn)} models with BatchNorm, `sum(b.numel() for b in buffers())` "
        "is the running means and variances plus one num_batches_tracked per BatchNorm layer."
    )
    # leaf sums
    dumps = R.get("layer_dumps") or {}
    equal = [k for k, v in dumps.items() if v["macs_flop_counter"] == v["sum_leaf_macs_flop_counter"]]
    clean = [k for k, v in dumps.items() if not v["formula_mismatches"]]
    if dumps:
        out.append(
            f"- Per module (FlopCounterMode's per-module counts): the leaves' MACs sum to the total for "
            f"{len(equal)} of {len(dumps)} models ({', '.join(dumps)}), and every conv and linear leaf equals "
            f"N·Cout·Hout·Wout·(Cin/groups)·kh·kw or N·in·out for {len(clean)} of them."
        )
    return [*out, ""]


def lenet(R: dict) -> list[str]:
    h = R.get("lenet5_by_hand")
    if not h:
        return []
    out = [
        "## 6. LeNet-5 by hand against torch",
        "",
        "| layer | out | params | formula | MACs | formula |",
        "|---|---|---:|---|---:|---|",
    ]
    for row in h["layers"]:
        out.append(
            f"| {row['layer']} | {shape(row['out'])} | {row['params']:,} | {row.get('formula_params', '')} | "
            f"{row['macs']:,} | {row.get('formula_macs', '')} |"
        )
    out.append(f"| **total** | | **{h['params']:,}** | | **{h['macs']:,}** | |")
    torch_row = R.get("lenet5", {})
    same = torch_row.get("params") == h["params"] and get(torch_row, "flop_counter", "macs") == h["macs"]
    out += [
        "",
        f"torch: params {num(torch_row.get('params'))}, flop_counter/2 {num(get(torch_row, 'flop_counter', 'macs'))}: "
        + ("the same as by hand." if same else "NOT the same as by hand."),
        "",
    ]
    return out


def receptive_fields(R: dict) -> list[str]:
    rf = R.get("receptive_fields")
    if not rf:
        return []
    out = [
        "## 7. Receptive fields: the gradient's support against the recurrence",
        "",
        "| case | measured r | stride | padding | recurrence r / stride / padding | input | output | centre unit's rows |",
        "|---|---:|---:|---:|---|---|---|---|",
    ]
    for k, v in rf.items():
        if k == "published":
            continue
        e, a = v["empirical"], v["analytic"]
        out.append(
            f"| {k} | {e['r']} | {e['stride']} | {e['padding']} | {a['r']} / {a['stride']} / {a['padding']} | "
            f"{shape(e['input'])} | {shape(e['output_shape'])} | {e['support_rows']} |"
        )
    out.append("")
    for k, v in (rf.get("published") or {}).items():
        out.append(f"- Published {k}: r = {v['r']}, stride {v['stride']}, padding {v['padding']} ({v['source']}).")
    return [*out, ""]


def render(R: dict) -> str:
    names = [n for n in R["_meta"]["models"] if n in R]
    lines = [
        *header(R, names),
        *params_table(R, names),
        *macs_tables(R, names),
        *decomposition(R, names),
        *torchinfo_memory(R, names),
        *findings(R, names),
        *lenet(R),
        *receptive_fields(R),
    ]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(json.loads(DATA.read_text(encoding="utf-8")))
    if "--check" in argv:
        same = DOC.read_text(encoding="utf-8") == text
        print("docs/peer-numbers.md is " + ("its rendering" if same else "NOT its rendering: run this script"))
        return 0 if same else 1
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
