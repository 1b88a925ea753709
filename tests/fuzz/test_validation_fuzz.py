"""Fuzzing validation: a mutated reference scenario is either valid or refused with a
:class:`ScenarioError` whose every problem names a field path, never another exception.

The default suite runs a small, fixed budget over the kinds of mutation that pass today;
``make fuzz`` runs every kind with ``CLOUDSIM_FUZZ_EXAMPLES`` examples each (marker
``fuzz``, deselected by default).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings

import cloudsim
from cloudsim.errors import ScenarioError
from tests.conftest import invoke
from tests.fuzz.mutations import KINDS, Mutation, mutated

#: The kinds the default suite runs: all of them (huge values and empty keys failed when
#: this fuzzer was written; the loader and schema now give problems for both).
PASSING: tuple[str, ...] = KINDS
EXAMPLES = int(os.environ.get("CLOUDSIM_FUZZ_EXAMPLES", "200"))
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
SMALL = settings(
    max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=_QUIET
)
LARGE = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=_QUIET)


def check_dict(case: tuple[str, list[Mutation], dict[str, Any]]) -> None:
    name, mutations, data = case
    note(f"reproduce: apply(base({name!r}), {mutations!r})")
    try:
        cloudsim.scenario_from_dict(data, label=name)
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.path, f"a problem names no field path: {problem}"


def check_file(case: tuple[str, list[Mutation], dict[str, Any]], folder: Path) -> None:
    name, mutations, data = case
    note(f"reproduce: apply(base({name!r}), {mutations!r}), written as YAML")
    path = folder / "mutated.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code, _, err = invoke("validate", path)  # a crash is raised
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        lines = [line.strip() for line in err.splitlines() if line.startswith("  ")]
        assert lines
        for line in lines:
            assert line.startswith(f"{path}: ") and line.count(": ") >= 2, line


@SMALL
@given(mutated(PASSING))
def test_mutated_scenarios_are_valid_or_problems_with_paths(
    case: tuple[str, list[Mutation], dict[str, Any]],
) -> None:
    check_dict(case)


@settings(SMALL, max_examples=20)
@given(case=mutated(PASSING, most=1))
def test_mutated_scenario_files_validate_without_a_traceback(
    case: tuple[str, list[Mutation], dict[str, Any]], tmp_path: Path
) -> None:
    check_file(case, tmp_path)


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_validation(kind: str) -> None:
    @LARGE
    @given(mutated((kind,)))
    def run(case: tuple[str, list[Mutation], dict[str, Any]]) -> None:
        check_dict(case)

    run()


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_validate_files(kind: str, tmp_path: Path) -> None:
    @settings(LARGE, max_examples=max(1, EXAMPLES // 10))
    @given(mutated((kind,), most=1))
    def run(case: tuple[str, list[Mutation], dict[str, Any]]) -> None:
        check_file(case, tmp_path)

    run()
