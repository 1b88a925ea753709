"""OpenDC-format utilisation traces: exact replay of a hand-made trace, bad rows named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudsim import ScenarioError, scenario_from_dict, simulate
from tests.energy.test_energy import two_hosts


def write_trace(folder: Path, tasks: dict[str, list[Any]], fragments: dict[str, list[Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(tasks), folder / "tasks.parquet")
    pq.write_table(pa.table(fragments), folder / "fragments.parquet")
    return folder


def good(folder: Path) -> Path:
    # Task 7: 1,000 MHz; 30 min at 500, 30 min at 1,500 (counts as 1,000: 100 %).
    # Task 3: 2,000 MHz; 20 min at 200, then 40 min at 1,000.
    return write_trace(
        folder,
        {"id": [7, 3], "cpu_capacity": [1000.0, 2000.0], "cpu_count": [1, 2]},
        {
            "id": [7, 7, 3, 3],
            "duration": [1_800_000, 1_800_000, 1_200_000, 2_400_000],
            "cpu_usage": [500.0, 1500.0, 200.0, 1000.0],
        },
    )


def test_replay_is_exact_and_loops(tmp_path: Path) -> None:
    data = two_hosts(
        tick="25m",
        profiles=[],
        traces=[{"name": "t", "path": str(good(tmp_path / "t")), "systems": ["s"]}],
    )
    result = simulate(scenario_from_dict(data), seed=1)
    vms = result.tables["vm_utilisation"].to_pylist()
    # Tasks in order of id: VM 0 -> task 3, VM 1 -> task 7, VM 2 -> task 3 again.
    assert [v["trace_task"] for v in vms] == [3, 7, 3]
    # Over 10 hours (ten loops of each one-hour task): means exact whatever the tick.
    mean3 = (20 * 0.1 + 40 * 0.5) / 60
    assert [v["cpu_utilisation_mean"] for v in vms] == pytest.approx([mean3, 0.75, mean3])
    # Host ha holds VMs 0 and 1 (2 vCPUs each of 4 threads); hb VM 2.
    expected_w = 100 + 200 * (2 * mean3 + 2 * 0.75) / 4 + 100 + 200 * (2 * mean3) / 4
    assert result.summary["energy"]["it_kwh"] == pytest.approx(expected_w / 1000 * 10, abs=1e-6)


@pytest.mark.parametrize(
    ("tasks", "fragments", "message"),
    [
        (
            {"id": [1], "cpu_capacity": [0.0]},
            None,
            "tasks.parquet, row 1, column 'cpu_capacity': expected MHz, a positive number, got 0.0",
        ),
        (
            None,
            {"id": [7, 7, 3, 3], "duration": [1, 1, 1, 1], "cpu_usage": [1.0, -1.0, 1.0, 1.0]},
            "fragments.parquet, row 2, column 'cpu_usage': expected MHz, a number at least 0, "
            "got -1.0",
        ),
        (
            None,
            {"id": [7, 3, 7], "duration": [1, 1, 1], "cpu_usage": [1.0, 1.0, 1.0]},
            "fragments.parquet, row 3, column 'id': expected each task's fragments in one "
            "consecutive run, got 7",
        ),
        (
            None,
            {"id": [7, 9], "duration": [1, 1], "cpu_usage": [1.0, 1.0]},
            "fragments.parquet, row 2, column 'id': expected a task of tasks.parquet, got 9",
        ),
        (None, {"id": [7], "duration": [1], "cpu_usage": [1.0]}, "task 3 has no fragments"),
        (
            None,
            {"id": [7, 3], "duration": [0, 1], "cpu_usage": [1.0, 1.0]},
            "fragments.parquet, row 1, column 'duration': expected milliseconds, a positive "
            "integer, got 0.0",
        ),
        (None, {"id": [7, 3], "cpu_usage": [1.0, 1.0]}, "fragments.parquet: no column 'duration'"),
    ],
)
def test_bad_trace_rows_are_named(
    tmp_path: Path,
    tasks: dict[str, list[Any]] | None,
    fragments: dict[str, list[Any]] | None,
    message: str,
) -> None:
    folder = good(tmp_path / "t")
    write_trace(
        folder,
        tasks or {"id": [7, 3], "cpu_capacity": [1000.0, 2000.0]},
        fragments or pq.read_table(folder / "fragments.parquet").to_pydict(),
    )
    data = two_hosts(profiles=[], traces=[{"name": "t", "path": str(folder), "systems": ["s"]}])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert "energy.traces[t].path" in str(info.value)
    assert message in str(info.value)


def test_a_relative_trace_path_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    import yaml

    from cloudsim import load_scenario

    good(tmp_path / "data" / "t")
    data = two_hosts(profiles=[], traces=[{"name": "t", "path": "data/t", "systems": ["s"]}])
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    scenario = load_scenario(tmp_path / "s.yaml")
    section = scenario.section("energy")
    assert Path(section.traces[0].path) == tmp_path / "data" / "t"  # type: ignore[attr-defined]
