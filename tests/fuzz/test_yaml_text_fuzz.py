"""Fuzzing the scenario file's text: YAML tags, aliases, byte-order marks, tabs, bytes that
are not UTF-8, duplicate keys. ``cloudsim validate`` answers valid (0) or lists problems
(2), never a traceback; and a small file cannot make it use unbounded memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.conftest import invoke
from tests.fuzz.mutations import REPO, SCENARIOS, base

EXAMPLES = int(os.environ.get("CLOUDSIM_FUZZ_EXAMPLES", "200"))
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

#: Replacements for the value of one ``key: value`` line.
_VALUES = [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!timestamp 2026-01-01",
    "!!set {a, b}",
    "!!float nan",
    "!!int '12'",
    "!custom 3",
    "*undefined_alias",
    "&anchor 3",
    "{a: [1, {b: 2}]}",
    "'unterminated",
    "[1, 2",
    "? complex\n  : key",
    "2026-13-45",
    "0o777",
    "1_000",
    "~",
]


#: Kinds of text mutation.
TEXT_KINDS = ("value", "tab", "duplicate", "bom", "latin1", "nul", "indent", "cut")
#: What failed when this fuzzer was written and passes now: bytes that are not UTF-8 and a
#: YAML timestamp that is no date (the loader gives problems for both).
KNOWN_FAILING: tuple[str, ...] = ()
KNOWN_FAILING_VALUES: tuple[str, ...] = ()


def render(name: str, line: int, kind: str, value: str) -> bytes:
    """Reference scenario ``name`` dumped as YAML with line ``line`` mutated by ``kind``."""
    text = yaml.safe_dump(base(name), allow_unicode=True, sort_keys=False)
    lines = text.splitlines(keepends=True)
    i = line % len(lines)
    if kind == "value" and ": " in lines[i]:
        lines[i] = f"{lines[i].split(': ', 1)[0]}: {value}\n"
    elif kind == "tab":
        lines[i] = lines[i].replace("  ", "\t", 1)
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "indent":
        lines[i] = " " + lines[i]
    elif kind == "cut":
        lines[i] = lines[i][: len(lines[i]) // 2]
    data = "".join(lines).encode("utf-8")
    if kind == "bom":
        data = b"\xef\xbb\xbf" + data
    elif kind == "latin1":
        at = data.index(b"\n", sum(len(x.encode()) for x in lines[:i]))
        data = data[:at] + b"\xe9" + data[at:]
    elif kind == "nul":
        data = data.replace(b"\n", b"\x00\n", 1)
    return data


def text_mutations(
    kinds: tuple[str, ...], values: tuple[str, ...] = tuple(_VALUES)
) -> st.SearchStrategy[tuple[str, int, str, str]]:
    """(scenario, line, kind, value): what :func:`render` mutates (a short reproducer)."""
    return st.tuples(
        st.sampled_from(SCENARIOS),
        st.integers(0, 10_000),
        st.sampled_from(kinds),
        st.sampled_from(values),
    )


def check(case: tuple[str, int, str, str], folder: Path) -> None:
    note(f"reproduce: render{case!r}")
    path = folder / "mutated.yaml"
    path.write_bytes(render(*case))
    code, _, err = invoke("validate", path)  # a crash is raised
    assert code in (0, 2), err
    assert "Traceback" not in err


@settings(
    max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=_QUIET
)
@given(
    case=text_mutations(
        tuple(k for k in TEXT_KINDS if k not in KNOWN_FAILING),
        tuple(v for v in _VALUES if v not in KNOWN_FAILING_VALUES),
    )
)
def test_mutated_scenario_text_validates_without_a_traceback(
    case: tuple[str, int, str, str], tmp_path: Path
) -> None:
    check(case, tmp_path)


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_fuzz_scenario_text(kind: str, tmp_path: Path) -> None:
    @settings(max_examples=max(1, EXAMPLES // 10), deadline=None, suppress_health_check=_QUIET)
    @given(case=text_mutations((kind,)))
    def run(case: tuple[str, int, str, str]) -> None:
        check(case, tmp_path)

    run()


def alias_bomb(depth: int) -> str:
    """A valid scenario plus ``depth`` levels of aliases of 9 (9**depth strings if expanded);
    about 1 KB more text."""
    text = (REPO / "tests" / "data" / "base.yaml").read_text(encoding="utf-8")
    anchors = "x-anchors:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, depth)
    )
    return anchors + text.replace("  name: tiny\n", f"  name: *l{depth - 1}\n", 1)


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.fuzz
def test_an_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    """Fails today: the loader expands aliases (it records the origin of every node), so
    depth 8 (a 1.5 KB file) needs over 10 GB; depth 7 takes 70 s and 2.3 GB."""
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(8), encoding="utf-8")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "cloudsim.cli", "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_limit_memory,
            check=False,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validating a 1.5 KB alias bomb took over 60 s")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
