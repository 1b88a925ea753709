"""``cloudsim sweep`` and ``cloudsim compare``: the table, exit code 2 with one line per
problem and no traceback for bad input, and nothing written then."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.experiments.builders import write


def test_sweep_prints_each_metric_s_table_and_compare_prints_it_again(tmp_path: Path) -> None:
    path, out = write(tmp_path), tmp_path / "out"
    code, stdout, stderr = invoke("sweep", path, "--out", out, "--workers", "1", "--quiet")
    assert code == 0, stderr
    assert "6 runs (0 failed) on 1 worker (this process), 0 reused from the store" in stdout
    for title in ("availability.mean", "avail", "down_p90", "incidents"):
        assert title in stdout.splitlines()
    assert "faults.host.repair.mean" in stdout and "baseline" in stdout
    assert "95% bootstrap interval" in stdout and "95% t interval" in stdout
    row = next(line for line in stdout.splitlines() if line.startswith("│ 2d"))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[1] == "3" and " ± " in cells[2] and cells[3].count("[") == 1
    assert cells[4].startswith("×")
    code, again, _ = invoke("compare", out)
    assert code == 0
    assert again.split("\n\n")[0] in stdout
    code, other, _ = invoke(
        "compare", out, "--metric", "faults.outages", "--baseline", "2d", "--confidence", "0.9"
    )
    assert code == 0
    assert "faults.outages" in other and "90% t interval" in other
    assert next(line for line in other.splitlines() if line.startswith("│ 2d")).count("baseline")


def lines(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.splitlines() if line.startswith("  ")]


def test_a_bad_experiment_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    path = write(tmp_path, grid={"faults.host.repair.mean": ["1d", "soon", "later"]})
    code, stdout, stderr = invoke("sweep", path, "--out", tmp_path / "out")
    assert code == 2 and stdout == ""
    assert stderr.startswith(f"{path}: invalid experiment (2 problems)")
    for line, value in zip(lines(stderr), ("soon", "later"), strict=True):
        assert line.startswith(
            f"{path}: grid.faults.host.repair.mean: in cell 'faults.host.repair.mean={value}': "
            "faults.host.repair.mean: "
        )
    assert "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_a_metric_no_run_produces_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, metrics=[{"name": "x", "path": "dr.worst_rto_s"}])
    code, _, stderr = invoke("sweep", path, "--out", tmp_path / "out", "--workers", "1", "-q")
    assert code == 2
    assert stderr.startswith(f"{path}: cannot sweep (1 problem)")
    (line,) = lines(stderr)
    assert line.startswith(
        f"{path}: metrics[x]: not produced by the first run of cell "
        "'faults.host.repair.mean=1d': summary.json: unknown key 'dr'"
    )
    assert "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_option_problems_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path)
    code, _, stderr = invoke("sweep", path, "--out", tmp_path / "o", "--keep", "everything")
    assert code == 2 and "Invalid value for '--keep'" in stderr
    code, _, stderr = invoke("sweep", path, "--out", tmp_path / "o", "--until-ci", "0.1")
    assert code == 2 and lines(stderr) == ["--metric: --until-ci needs --metric NAME"]
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, _, stderr = invoke("sweep", path, "--out", tmp_path / "o", "--dask", "local")
    assert code == 2
    assert lines(stderr) == [
        "--dask: Dask is an optional extra of cloudsim: pip install 'cloudsim[dask]'"
    ]
    code, _, stderr = invoke("compare", tmp_path)
    assert code == 2 and lines(stderr) == [f"{tmp_path}: not a sweep's folder: no experiment.json"]
    assert not (tmp_path / "o").exists()
