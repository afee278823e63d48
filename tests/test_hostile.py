"""Hostile specs (issue 8): every class of attack, as a corpus run through the real command line.

Each case runs ``python -m cnncalc ...`` in a fresh working directory, in a subprocess with limits on
memory and CPU time, and asserts what must hold whatever the spec says:

* the exit status is 0 or 2 (and the one the case expects), with no traceback;
* no raw control character (C0 but tab and newline, DEL, C1) reaches stdout or stderr;
* every stderr line is one ``error:``/``warning:``/``note:`` line, or click's usage lines (a name
  cannot split a line);
* an error is one located line, ``error: FILE[:LINE:COL]: ...``;
* no code from the spec ran: nothing named ``PWNED`` appears in the working directory;
* it finishes within a hang guard (the speed itself is measured by benchmarks/hostile_long.py).

The corpus is ``tests/hostile/*.yaml`` (each file's name says its class; every file is run) plus
a few inputs made here (standard input, devices, sizes). ``owner`` says whose fix a case depends
on: ``spec`` (the spec reader), ``cli`` (commands, renderers, terminal and CSV safety), ``rules``
(layer arguments), ``export`` (generated PyTorch code) and ``importer`` (``cnncalc import``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _support import ROOT, importable

from cnncalc import analyze
from cnncalc.errors import SpecError

CORPUS = ROOT / "tests" / "hostile"
HANG_GUARD_S = 60  # a case that takes longer hangs; the figures are benchmarks/hostile_long.py's
MEMORY_LIMIT = 2 * 1024**3  # address space of one run (a run that needs more fails: no blow-up)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# error/warning/note lines, "wrote FILE", and click's usage errors (Usage:, Try ..., Error:, blank)
STDERR_LINE = re.compile(r"(error|warning|note|hint): |wrote |Usage: |Try '|Error: |$")


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str
    seconds: float
    cwd: Path


@dataclass(frozen=True)
class Case:
    """One hostile input: the command (``{f}`` is the corpus file), what it must give, whose fix."""

    id: str
    args: Sequence[str]
    status: int
    expect: str = ""  # a regex the output (stdout and stderr together) must match
    owner: str = "spec"
    file: str | None = None  # in tests/hostile
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Run], None] | None = None
    memory: bool = True  # limit the address space (not for commands that import torch)


def _limits(memory: bool) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (HANG_GUARD_S, HANG_GUARD_S))
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return apply


def run_cli(args: Sequence[str], cwd: Path, stdin: bytes | None = None, env: dict[str, str] | None = None,
            memory: bool = True) -> Run:
    environ = {**os.environ, "COLUMNS": "200", **(env or {})}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "cnncalc", *args], cwd=cwd, input=stdin if stdin is not None else b"",
        capture_output=True, timeout=HANG_GUARD_S * 2, env=environ, preexec_fn=_limits(memory),
    )
    seconds = time.perf_counter() - start
    return Run(
        proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
        seconds, cwd,
    )


def assert_safe(run: Run, status: int) -> None:
    """What holds for every hostile input, whoever's code handles it."""
    both = run.out + run.err
    assert "Traceback" not in both, both[-3000:]
    assert run.status in (0, 2), f"exit status {run.status}: {both[-2000:]}"
    assert run.status == status, f"expected exit {status}, got {run.status}: {both[-2000:]}"
    bad = CONTROL.search(both)
    assert bad is None, f"raw control character {bad.group()!r} in the output: {both[max(0, bad.start() - 80):bad.end() + 80]!r}"
    for line in run.err.splitlines():
        assert STDERR_LINE.match(line), f"a stderr line that is not one error/warning/note line: {line[:300]!r}"
    if status == 2:
        errors = [line for line in run.err.splitlines() if line.startswith(("error: ", "Error: "))]
        assert len(errors) == 1, run.err[-2000:]
    assert not list(run.cwd.glob("PWNED*")), "code from the spec ran"
    assert run.seconds < HANG_GUARD_S, f"took {run.seconds:.1f} s"


# ---- checks beyond the common ones ---------------------------------------------------------------

def json_params(expected: int) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        data = json.loads(run.out, parse_constant=_no_constant)
        assert data["totals"]["params"] == expected

    return check


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} in JSON output (not JSON)")


def valid_json(run: Run) -> None:
    json.loads(run.out, parse_constant=_no_constant)


def csv_inputs_kept_apart(run: Run) -> None:
    """The layer 'sum' reads from ["a b", "input"]: its inputs cell must not look like three names."""
    rows = list(csv.DictReader(io.StringIO(run.out)))
    cell = next(r for r in rows if r.get("layer", r.get("name")) == "sum")["inputs"]
    if cell.startswith("["):  # a JSON list
        assert json.loads(cell) == ["a b", "input"]
    else:
        assert " " not in cell.replace("a b", ""), f"inputs cell {cell!r} cannot be told apart from three names"


def shows_literally(*texts: str) -> Callable[[Run], None]:
    def check(run: Run) -> None:
        for text in texts:
            assert text in run.out + run.err, f"{text!r} is not shown as written"

    return check


def syntax_error_names_the_opening(run: Run) -> None:
    # the '{' on line 4, column 5 is never closed; the parser notices at line 5, column 3
    assert re.search(r"yaml_unclosed_brace\.yaml:5:3: .*line 4, column 5", run.err), run.err


# ---- the corpus ----------------------------------------------------------------------------------

SUMMARIZE = ("summarize", "{f}")
ONE_LAYER_HAND = {  # parameters worked out by hand
    "num_octal.yaml": 4 * 1 * 10 * 10 + 4,  # kernel 010 is 10 (YAML 1.2), not 8
    "num_hex.yaml": 16 * 1 * 1 * 1 + 16,  # out 0x10 is 16
}
EXPECT: dict[str, tuple[int, str, str]] = {  # file: (status, regex, owner)
    "work_empty_repeats.yaml": (2, r"more than 20,000|expansion steps", "spec"),
    "work_empty_repeats_when.yaml": (0, r"relu1", "spec"),  # 1.6·10⁹ skipped copies: finished fast, not walked
    "work_exp_blocks.yaml": (2, r"steps|characters", "spec"),
    "work_exp_blocks_layers.yaml": (2, r"steps|characters|layers", "spec"),
    "work_exp_blocks_when.yaml": (2, r"steps|characters", "spec"),
    "work_wide_blocks.yaml": (2, r"steps|characters", "spec"),
    "work_long_name_repeat.yaml": (2, r"characters", "spec"),
    "work_name_900_repeat.yaml": (2, r"characters", "spec"),
    "work_long_string_param.yaml": (2, r"integers and booleans", "spec"),
    "work_huge_repeat.yaml": (2, r"more than 20,000 layers", "spec"),
    "work_deep_composites.yaml": (2, r"nested more than 64", "spec"),
    "work_alias_bomb.yaml": (2, r"alias bomb", "spec"),
    "num_octal.yaml": (0, "", "spec"),
    "num_hex.yaml": (0, "", "spec"),
    "num_base60.yaml": (2, r"'1:30'.*YAML 1\.2", "spec"),
    "num_underscore.yaml": (2, r"'1_000'.*YAML 1\.2", "spec"),
    "num_binary.yaml": (2, r"'0b101'.*YAML 1\.2", "spec"),
    "num_yes.yaml": (2, r"'no'.*true or false", "spec"),
    "num_on_frozen.yaml": (2, r"'on'.*true or false", "spec"),
    "num_nan.yaml": (2, r"finite", "spec"),
    "num_inf.yaml": (2, r"finite", "spec"),
    "num_overflow_float.yaml": (2, r"finite", "spec"),
    "num_expr_float.yaml": (2, r"integers and booleans", "spec"),
    "num_expr_big.yaml": (2, r"2,147,483,647", "spec"),
    "num_input_400_digits.yaml": (2, r"at most 2,147,483,647", "spec"),
    "num_input_4300_digits.yaml": (2, r"at most 2,147,483,647", "spec"),
    "num_input_5000_digits.yaml": (2, r"not an integer", "spec"),
    "num_arg_huge.yaml": (2, r"at most 2,147,483,647", "spec"),
    "num_kernel_list_huge.yaml": (2, r"at most 2,147,483,647", "spec"),
    "num_param_huge.yaml": (2, r"at most 2,147,483,647", "spec"),
    "names_repeat_shadows_param.yaml": (2, r"hides the parameter 'i'", "spec"),
    "names_self_reference.yaml": (2, r"cannot take its own output", "spec"),
    "names_self_reference_block.yaml": (2, r"cannot take its own output", "spec"),
    "names_self_reference_list.yaml": (2, r"cannot take its own output", "spec"),
    "yaml_unclosed_brace.yaml": (2, r"YAML syntax error", "spec"),
    "yaml_python_tag.yaml": (2, r"not allowed", "spec"),
    "yaml_merge_key.yaml": (2, r"merge keys", "spec"),
    "yaml_two_documents.yaml": (2, r"one YAML document", "spec"),
    "yaml_control_char.yaml": (0, "", "cli"),
    "yaml_deep_brackets.yaml": (2, r"nested more than 200|maximum nesting depth", "spec"),  # libyaml (PyYAML ≥ 6.0.4 wheels) may refuse first
    "term_markup_close.yaml": (0, "", "cli"),
    "term_markup_link.yaml": (0, "", "cli"),
    "term_escape_name.yaml": (0, "", "cli"),
    "term_escape_error.yaml": (2, r"not an earlier layer", "cli"),
    "term_c1_name.yaml": (0, "", "cli"),
    "term_newline_warning.yaml": (0, "", "cli"),
    "term_csv_space.yaml": (0, "", "cli"),
    "export_injection.yaml": (0, "", "cli"),
    "export_nfkc.yaml": (0, "", "cli"),
}
CHECKS: dict[str, Callable[[Run], None]] = {
    **{f: json_params(p) for f, p in ONE_LAYER_HAND.items()},
    "yaml_unclosed_brace.yaml": syntax_error_names_the_opening,
    "term_markup_close.yaml": shows_literally("[/bold]x"),
    "term_markup_link.yaml": shows_literally("[link=http://evil]click[/link]"),
}
FORMAT = {f: ("-f", "json") for f in ONE_LAYER_HAND}


def corpus_cases() -> list[Case]:
    files = sorted(p.name for p in CORPUS.glob("*.yaml"))
    missing = sorted(set(files) ^ set(EXPECT))
    assert not missing, f"corpus files and expectations differ: {missing}"
    return [
        Case(f.removesuffix(".yaml"), (*SUMMARIZE, *FORMAT.get(f, ())), EXPECT[f][0], EXPECT[f][1], EXPECT[f][2],
             file=f, check=CHECKS.get(f))
        for f in files
    ]


TERMINAL_SPEC = """\
input: [3, 9, 9]
layers:
  - {conv: {out: 3, kernel: 2, stride: 2}, name: "\\e[2J\\e[31mred\\nline"}
  - {relu: null, name: "[/bold]x"}
  - {relu: null, name: "[link=http://evil]click[/link]"}
  - {relu: null, name: "\\x9b2Jc1\\x07bell"}
  - {relu: null, name: "a b", from: input}
  - {add: null, name: sum, from: ["a b", input]}
"""
COMMANDS = {  # every renderer a name reaches
    "table": ("summarize", "t.yaml"),
    "json": ("summarize", "t.yaml", "-f", "json"),
    "csv": ("summarize", "t.yaml", "-f", "csv"),
    "markdown": ("summarize", "t.yaml", "-f", "markdown"),
    "depth": ("summarize", "t.yaml", "--depth", "1"),
    "rf": ("rf", "t.yaml"),
    "rf-json": ("rf", "t.yaml", "-f", "json"),
    "explain": ("explain", "t.yaml"),
    "export": ("export", "t.yaml"),
}
COMMAND_CHECKS: dict[str, Callable[[Run], None]] = {
    "json": valid_json, "rf-json": valid_json, "csv": csv_inputs_kept_apart,
    "table": shows_literally("[/bold]x", "[link=http://evil]click[/link]"),
}

UTF8_SPEC = "input: [3, 8, 8]\nlayers:\n  - {relu: null, name: café}\n".encode()
LATIN1_SPEC = b"input: [3, 8, 8]\nlayers:\n  - {relu: null, name: caf\xe9}\n"
INPUT_CASES = [
    Case("dev-zero", ("summarize", "/dev/zero"), 2, r"/dev/zero: the input is larger than 10 MB"),
    Case("stdin-50MB", ("summarize", "-"), 2, r"<stdin>: the input is larger than 10 MB", stdin=b"#" * (50 * 1024**2)),
    Case("stdin-not-utf8", ("summarize", "-"), 2, r"<stdin>:3:27: byte 0xe9 is not UTF-8", stdin=LATIN1_SPEC),
    Case("stdin-utf8-C-locale", ("summarize", "-"), 0, r"caf", stdin=UTF8_SPEC, env={"LC_ALL": "C", "LANG": "C"},
         owner="cli"),
    Case("stdin-utf8-ascii-output", ("summarize", "-"), 0, r"caf", stdin=UTF8_SPEC, owner="cli",
         env={"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}),
    Case("input-option-float", ("summarize", "{spec}", "--input", "3,1e30,1e30"), 2, r"(?i)error: .*input", owner="cli"),
    Case("input-option-huge", ("summarize", "{spec}", "--input", "3,99999999999999999999,9"), 2, r"(?i)error: .*input",
         owner="cli"),
    Case("import-sys-exit", ("import", "sys:exit"), 2, r"error:", owner="importer", memory=False),
    Case("import-os-abort", ("import", "os:abort"), 2, r"error:", owner="importer", memory=False),
    Case("import-breakpoint", ("import", "builtins:breakpoint"), 2, r"error:", owner="importer", memory=False),
]


def _materialise(case: Case, tmp_path: Path) -> list[str]:
    return [
        a.replace("{f}", str(CORPUS / case.file) if case.file else "").replace("{spec}", str(ROOT / "specs" / "lenet5.yaml"))
        for a in case.args
    ]


def _run_case(case: Case, tmp_path: Path) -> Run:
    run = run_cli(_materialise(case, tmp_path), tmp_path, case.stdin, case.env, case.memory)
    assert_safe(run, case.status)
    if case.expect:
        assert re.search(case.expect, run.out + run.err), (run.out + run.err)[-2000:]
    if case.check:
        case.check(run)
    return run


@pytest.mark.parametrize("case", corpus_cases(), ids=lambda c: f"{c.owner}:{c.id}")
def test_corpus(case: Case, tmp_path: Path) -> None:
    _run_case(case, tmp_path)


@pytest.mark.parametrize("case", INPUT_CASES, ids=lambda c: f"{c.owner}:{c.id}")
def test_unusual_input(case: Case, tmp_path: Path) -> None:
    if case.owner == "importer" and importable("torch") is None:
        pytest.skip("needs torch")
    _run_case(case, tmp_path)


@pytest.mark.parametrize("command", list(COMMANDS), ids=lambda c: f"cli:{c}")
def test_hostile_names_in_every_renderer(command: str, tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TERMINAL_SPEC, encoding="utf-8")
    run = run_cli(COMMANDS[command], tmp_path)
    assert_safe(run, 0)
    if command in COMMAND_CHECKS:
        COMMAND_CHECKS[command](run)


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"input: [3, 8, 8]\nlayers: [relu]\n" + b"# padding\n" * (11 * 1024**2 // 10))
    run = run_cli(("summarize", str(big)), tmp_path)
    assert_safe(run, 2)
    assert "larger than 10 MB" in run.err


def test_a_block_with_many_parameters_repeated_is_refused_at_once(tmp_path: Path) -> None:
    """20,000 parameters, called 15,000 times: each copy must not copy the parameters."""
    params = ", ".join(f"p{k}: 1" for k in range(20_000))
    text = f"input: [3, 8, 8]\nblocks:\n  b:\n    params: {{{params}}}\n    layers: [{{seq: []}}]\n"
    (tmp_path / "p.yaml").write_text(text + "layers: [relu, {b: null, repeat: 15000}]\n")
    run = run_cli(("summarize", "p.yaml"), tmp_path)
    assert_safe(run, 0)  # the parameters are bound once, not copied per repeat: it finishes fast
    assert run.seconds < 10


def test_exported_code_runs_nothing_from_the_spec(tmp_path: Path) -> None:
    """owner: export. Whatever the names hold, the generated module only defines the net."""
    run = run_cli(("export", str(CORPUS / "export_injection.yaml"), "-o", "net.py"), tmp_path)
    assert_safe(run, run.status if run.status in (0, 2) else 0)
    if run.status == 2:
        return  # refusing such names is also safe
    source = (tmp_path / "net.py").read_text(encoding="utf-8")
    compile(source, "net.py", "exec")  # valid Python
    if importable("torch") is not None:
        proc = subprocess.run([sys.executable, "net.py"], cwd=tmp_path, capture_output=True, timeout=HANG_GUARD_S * 2)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert not list(tmp_path.glob("PWNED*")), "the exported module ran code from the spec"


def test_exported_names_stay_distinct_after_nfkc(tmp_path: Path) -> None:
    """owner: export. 'ﬁ' and 'fi' are one Python identifier; 'x²' is none. By hand: conv 3→8 3×3
    (8·3·9 + 8 = 224), conv 8→8 3×3 (584), conv 8→4 1×1 (36): 844 parameters."""
    if importable("torch") is None:
        pytest.skip("needs torch")
    run = run_cli(("export", str(CORPUS / "export_nfkc.yaml"), "-o", "net.py"), tmp_path)
    assert_safe(run, 0)
    count = (
        "import importlib.util, torch.nn as nn\n"
        "spec = importlib.util.spec_from_file_location('net', 'net.py'); m = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        "cls = [v for v in vars(m).values() if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == 'net']\n"
        "print(sum(p.numel() for p in cls[0]().parameters()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", count], cwd=tmp_path, capture_output=True, timeout=HANG_GUARD_S * 2)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert int(proc.stdout.decode().split()[-1]) == 844


def test_local_module_shadowing_a_dependency_does_not_run(tmp_path: Path) -> None:
    """owner: importer. A sympy.py in the working directory must not be imported by torch."""
    if importable("torch") is None:
        pytest.skip("needs torch")
    (tmp_path / "sympy.py").write_text("open('PWNED', 'w').write('sympy.py ran')\n")
    run = run_cli(("import", "torch.nn:ReLU"), tmp_path, memory=False)
    assert run.status in (0, 2) and "Traceback" not in run.err
    assert not list(tmp_path.glob("PWNED*")), "a module from the working directory ran"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_in_a_python_spec_are_refused(value: float) -> None:
    with pytest.raises(SpecError, match="finite"):
        analyze({"input": [3, 8, 8], "layers": [{"batchnorm": {"eps": value}}]})
