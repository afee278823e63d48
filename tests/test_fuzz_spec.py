"""Fuzz the spec: random YAML trees built from the grammar's keys, mutated as text, run through the CLI.

Each hypothesis example is a batch of specs. The batch runs in one subprocess with limits on its
memory and CPU time (``resource.setrlimit``); inside it, each spec goes through ``summarize -f json``
and ``rf``. For every spec and command: the exit status is 0 or 2, no exception escapes (a traceback),
JSON output is strict JSON, no raw control character is printed, and it finishes within a bound.

CI runs a modest number of examples; set ``CNNCALC_FUZZ_EXAMPLES`` for a longer run, e.g.
``CNNCALC_FUZZ_EXAMPLES=200 python -m pytest tests/test_fuzz_spec.py``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.layers import RULES

EXAMPLES = int(os.environ.get("CNNCALC_FUZZ_EXAMPLES", "6"))
BATCH = 8  # specs per example (one subprocess each batch: starting Python dominates otherwise)
PER_RUN_S = 20.0  # a bound on one command on one spec: a hang guard, not a speed target
MEMORY = 2 * 1024**3

FIRST = ["relu", "conv", "maxpool", "batchnorm", "flatten", "linear", "add", "concat"]  # simplest first: hypothesis
TYPES = [t for t in FIRST if t in RULES] + sorted(set(RULES) - set(FIRST))  # draws and shrinks toward the start
COMPOSITES = ["seq", "residual", "parallel"]
ARG_NAMES = sorted({a.name for r in RULES.values() for a in r.args} | {"out", "kernel", "bogus"})
MODIFIERS = ["name", "from", "repeat", "when", "frozen"]
ODD_TEXT = [
    "a", "b", "same", "valid", "$w", "${w * 2}", "${i + 1}", "${i}", "${1e308 * 10}", "${w // 0}", "input",
    "[/bold]x", "[link=http://e]c[/link]", "\x1b[2J", "x\ny", "a b", "1:30", "010", "0x10", "yes", ".nan",
    "é", "ﬁ", "", " ", "$", "${", "}", "conv", "blk", "blk.0",
]

odd_scalars = st.one_of(
    st.sampled_from([0, -1, 2**31, 2**63, 10**40, -(10**20)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=6),
)
scalars = st.one_of(st.integers(1, 8), st.integers(1, 8), st.booleans(), odd_scalars)
values = st.one_of(scalars, scalars, st.lists(scalars, max_size=4))


def arguments_of(t: str) -> st.SearchStrategy[Any]:
    """Mostly the type's own argument names, with plausible values; sometimes anything."""
    own = [a.name for a in RULES[t].args] or ["bogus"]
    good = st.dictionaries(st.sampled_from(own), st.one_of(st.integers(1, 4), st.integers(1, 4), values), max_size=3)
    return st.one_of(st.none(), good, good, st.dictionaries(st.sampled_from(ARG_NAMES), values, max_size=3), scalars)


modifier_values = {
    "name": st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=5)),
    "from": st.one_of(st.sampled_from(ODD_TEXT), st.lists(st.sampled_from(["input", "a", "b", "blk"]), max_size=3)),
    "repeat": st.sampled_from([1, 2, 3, 0, -1, 10**6, 10**12, "${i + 1}", "$w", 2.5]),
    "when": st.one_of(st.booleans(), st.sampled_from(["${i == 0}", "$w", "yes"])),
    "frozen": st.one_of(st.booleans(), st.booleans(), st.sampled_from(["on", "$w"])),
}
modifiers = st.one_of(st.just({}), st.just({}), st.fixed_dictionaries({}, optional={m: modifier_values[m] for m in MODIFIERS}))


def items(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One layer item whose composite bodies are ``children`` (lists of items)."""
    primitive = st.sampled_from(TYPES).flatmap(lambda t: st.builds(lambda a, m: {t: a, **m}, arguments_of(t), modifiers))
    call = st.builds(lambda a, m: {"blk": a, **m}, st.one_of(st.none(), st.fixed_dictionaries({}, optional={"w": values, "body": children})), modifiers)
    seq = st.builds(lambda b, m: {"seq": b, **m}, st.one_of(children, st.none(), st.just("$body")), modifiers)
    residual = st.builds(
        lambda b, s, m: {"residual": {"body": b, "shortcut": s}, **m}, children, st.one_of(st.none(), children), modifiers
    )
    parallel = st.builds(lambda bs, m: {"parallel": bs, **m}, st.lists(children, min_size=2, max_size=3), modifiers)
    bare = st.sampled_from([*TYPES, *COMPOSITES, "blk", "nope"])
    return st.one_of(primitive, bare, seq, call, residual, parallel)


layer_lists = st.recursive(
    st.lists(items(st.just(["relu"])), min_size=1, max_size=4),
    lambda inner: st.lists(items(inner), min_size=1, max_size=4),
    max_leaves=12,
)
specs = st.fixed_dictionaries(
    {
        "input": st.one_of(st.just([3, 16, 16]), st.just([3, 16, 16]), st.just([2, 9]), st.lists(scalars, max_size=5)),
        "layers": layer_lists,
    },
    optional={
        "name": st.sampled_from(ODD_TEXT),
        "blocks": st.fixed_dictionaries(
            {"blk": st.fixed_dictionaries({"layers": layer_lists}, optional={"params": st.just({"w": 4, "body": ["relu"]})})}
        ),
    },
)
MUTATION_TEXT = ["{", "}", "[", "]", ":", ",", "&a", "*a", "!!python/object:os.system", "|", ">", "'", '"', "\n",
                 "\n  - ", "- ", "#", "%", "@", "\t", "\x00", "\x85", "<<: ", "---\n", "\\e", "?", "~"]
mutations = st.lists(
    st.tuples(st.sampled_from(["insert", "delete", "duplicate"]), st.floats(0, 1), st.sampled_from(MUTATION_TEXT)),
    max_size=2,
)


def mutate(text: str, edits: list[tuple[str, float, str]]) -> str:
    for op, where, piece in edits:
        at = int(where * len(text))
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + len(piece):]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                k = min(int(where * len(lines)), len(lines) - 1)
                lines.insert(k, lines[k])
                text = "".join(lines)
    return text


spec_texts = st.builds(
    lambda tree, edits: mutate(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), edits),
    specs,
    st.one_of(st.just([]), st.just([]), mutations),
)

DRIVER = r"""
import json, re, sys, time
from click.testing import CliRunner
from cnncalc.cli import cli

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
runner = CliRunner()
for path in sys.argv[1:]:
    for args in (["summarize", path, "-f", "json"], ["rf", path]):
        start = time.perf_counter()
        r = runner.invoke(cli, args, catch_exceptions=True)
        seconds = time.perf_counter() - start
        escaped = None if r.exc_info is None or r.exc_info[0] is SystemExit else repr(r.exc_info[1])[:500]
        out = r.stdout
        strict = True
        if r.exit_code == 0 and args[-1] == "json":
            try:
                json.loads(out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
            except ValueError:
                strict = False
        bad = CONTROL.search(out + r.stderr)
        print(json.dumps({"path": path, "args": args[0], "status": r.exit_code, "escaped": escaped,
                          "strict_json": strict, "control": bad.group() if bad else None,
                          "seconds": seconds, "tail": (out + r.stderr)[-300:]}), flush=True)
"""


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    cpu = int(PER_RUN_S * 2 * BATCH) + 30
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def run_batch(texts: list[str], folder: Path) -> list[dict[str, Any]]:
    paths = []
    for k, text in enumerate(texts):
        path = folder / f"fuzz{k}.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        paths.append(str(path))
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *paths], capture_output=True, timeout=PER_RUN_S * 2 * BATCH + 60,
        preexec_fn=_limits, cwd=folder, env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.returncode == 0, f"the driver died ({proc.returncode}): {proc.stderr.decode()[-2000:]}"
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.lists(spec_texts, min_size=BATCH, max_size=BATCH))
def test_fuzzed_specs_exit_cleanly(tmp_path_factory: Any, texts: list[str]) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    results = run_batch(texts, folder)
    assert len(results) == 2 * len(texts)
    for r in results:
        text = Path(r["path"]).read_text(encoding="utf-8", errors="replace")
        where = f"{r['args']} on:\n{text[:1500]}\n-> {r['tail']}"
        assert r["escaped"] is None, f"an exception escaped: {r['escaped']}; {where}"
        assert r["status"] in (0, 2), f"exit status {r['status']}; {where}"
        assert r["strict_json"], f"output is not strict JSON; {where}"
        assert r["control"] is None, f"raw control character {r['control']!r}; {where}"
        assert r["seconds"] < PER_RUN_S, f"took {r['seconds']:.1f} s; {where}"
    assert not list(folder.glob("PWNED*"))
