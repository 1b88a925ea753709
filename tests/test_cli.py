"""The ``cloudsim`` command: exit codes, one line per problem, no tracebacks, result files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import invoke

DATA = Path(__file__).resolve().parent / "data"
BASE = DATA / "base.yaml"
SHORT = ["--set", "meta.horizon=7d", "--quiet"]
RESULT_FILES = {
    "summary.json",
    "metadata.json",
    "events.parquet",
    "timeseries.parquet",
    "vms.parquet",
    "systems.parquet",
    "incidents.parquet",
    "availability.parquet",
}



def problem_lines(stderr: str) -> list[str]:
    """The per-problem lines (indented under the one-line header)."""
    return [line.strip() for line in stderr.splitlines() if line.startswith("  ")]


# ----------------------------------------------------------------------------- validate


def test_validate_valid_file_prints_the_counts() -> None:
    code, out, err = invoke("validate", BASE)
    assert code == 0, err
    assert err == ""
    line = " ".join(out.split())
    assert f"{BASE}: valid" in line
    for piece in (
        "tiny:",
        "2 data centres on 2 sites",
        "7 hosts (112 physical cores)",
        "1 departments",
        "2 systems",
        "10 cloud hosts declared",
        "horizon 30d",
    ):
        assert piece in line, piece


def test_validate_with_set_shows_the_override() -> None:
    code, out, _ = invoke("validate", BASE, "--set", "pools[a-ext].hosts[0].count=10")
    assert code == 0
    assert "13 hosts" in " ".join(out.split())


def test_validate_invalid_file_one_line_per_problem(tmp_path: Path) -> None:
    text = BASE.read_text(encoding="utf-8")
    text = text.replace("cpu_overcommit: 2.0", "cpu_overcomit: 2.0", 1)
    text = text.replace("datacenter: dc-b", "datacenter: dc-z", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    code, out, err = invoke("validate", bad)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == f"{bad}: invalid scenario (1 problem)"
    (line,) = problem_lines(err)
    assert line.startswith(
        f"{bad}: pools[a-ext].cpu_overcomit: unknown key 'cpu_overcomit'; did you mean "
        "'cpu_overcommit'? (expected one of: cpu_overcommit, datacenter, "
    )
    # Fix the schema problem: the cross-reference problem shows next.
    bad.write_text(text.replace("cpu_overcomit", "cpu_overcommit"), encoding="utf-8")
    code, _, err = invoke("validate", bad)
    assert code == 2
    assert problem_lines(err) == [
        f"{bad}: pools[b-ext].datacenter: unknown data centre 'dc-z'; did you mean 'dc-b'? "
        "(known: dc-a, dc-b)"
    ]


def test_validate_several_problems_each_on_its_own_line() -> None:
    code, _, err = invoke(
        "validate",
        BASE,
        "--set",
        "meta.horizon=-3d",
        "--set",
        "links[0].between=[dc-a, dc-a]",
        "--set",
        "pools[a-ext].hosts[0].count=-1",
    )
    assert code == 2
    assert err.splitlines()[0].endswith("invalid scenario (3 problems)")
    assert problem_lines(err) == [
        "--set: meta.horizon: a duration cannot be negative, got '-3d'",
        "--set: links[0]: a link must join two different data centres, got 'dc-a' twice",
        "--set: pools[a-ext].hosts[0].count: Input should be greater than or equal to 0, got -1",
    ]
    assert len(err.splitlines()) == 4


def test_validate_missing_file() -> None:
    code, _, err = invoke("validate", DATA / "no-such.yaml")
    assert code == 2
    assert problem_lines(err) == [f"{DATA / 'no-such.yaml'}: no such scenario file"]


def test_validate_extends_cycle() -> None:
    code, _, err = invoke("validate", DATA / "cycle_a.yaml")
    assert code == 2
    (line,) = problem_lines(err)
    assert line.startswith(f"{DATA / 'cycle_b.yaml'}: extends: extends cycle")


def test_validate_refuses_absurd_memory() -> None:
    code, _, err = invoke("validate", BASE, "--set", "pools[b-ext].hosts[0].count=1000000000")
    assert code == 2
    (line,) = problem_lines(err)
    assert line.startswith("--set: pools[b-ext].hosts[0].count: this scenario would need about")
    assert "GiB of memory" in line


def test_validate_system_that_cannot_fit() -> None:
    code, _, err = invoke("validate", BASE, "--set", "flavors[8c32g].memory=1TiB")
    assert code == 2
    (line,) = problem_lines(err)
    assert line.startswith(
        f"{BASE}: systems[portal]: cannot fit anywhere even on an empty platform"
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("meta.horizon", "--set: meta.horizon: expected dotted.path=value, got 'meta.horizon'"),
        ("pools[nope].cpu_overcommit=2", "--set: pools[nope].cpu_overcommit: no item 'nope'"),
        ("meta.horizon=[7d", "--set: meta.horizon: cannot read the value '[7d' as YAML"),
    ],
)
def test_set_errors_exit_2(override: str, expected: str) -> None:
    code, _, err = invoke("validate", BASE, "--set", override)
    assert code == 2
    (line,) = problem_lines(err)
    assert line.startswith(expected), line


def test_help_lists_the_commands() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    assert "validate" in out and "run" in out


# ----------------------------------------------------------------------------- run


def test_run_writes_the_results(tmp_path: Path) -> None:
    out = tmp_path / "results" / "one"  # parents are created
    code, stdout, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario"] == "tiny"
    assert summary["seed"] == 3  # meta.seed
    assert summary["horizon_s"] == 7 * 86400
    assert summary["hosts"] == 7
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["seed"] == 3
    assert "results in" in stdout
    assert "Traceback" not in err


def test_run_seed_option_and_reproducibility(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        code, _, err = invoke("run", BASE, "--out", out, "--seed", "11", *SHORT)
        assert code == 0, err
        outputs.append(out)
    first = json.loads((outputs[0] / "summary.json").read_text(encoding="utf-8"))
    assert first["seed"] == 11
    for name in RESULT_FILES - {"metadata.json"}:
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name


def test_run_negative_seed_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = invoke("run", BASE, "--out", tmp_path / "x", "--seed", "-1", *SHORT)
    assert code == 2
    assert "--seed" in err
    assert not (tmp_path / "x").exists()


def test_run_into_a_path_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker / "results"
    code, stdout, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 2
    assert err.strip() == f"--out {out}: cannot create the folder: Not a directory"
    assert "Traceback" not in err
    assert "results in" not in stdout  # nothing was run


def test_run_into_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    code, _, err = invoke("run", BASE, "--out", blocker, *SHORT)
    assert code == 2
    assert err.startswith(f"--out {blocker}: cannot create the folder")


def test_run_invalid_scenario_exits_2_before_touching_out(tmp_path: Path) -> None:
    out = tmp_path / "never"
    code, _, err = invoke("run", BASE, "--out", out, "--set", "meta.colour=red", "--quiet")
    assert code == 2
    (line,) = problem_lines(err)
    assert line.startswith("--set: meta.colour: unknown key 'colour' (expected one of: ")
    assert "horizon" in line and "seed" in line
    assert not out.exists()


# ----------------------------------------------------------------------------- real process


def _cloudsim(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudsim.cli", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_process_invalid_scenario_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("meta: {name: x\n", encoding="utf-8")
    proc = _cloudsim("validate", bad)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2
    assert lines[1].strip().startswith(f"{bad}: not valid YAML at line 2, column 1")


def test_process_run_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _cloudsim("run", BASE, "--out", out, *SHORT)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert {p.name for p in out.iterdir()} == RESULT_FILES
