"""The scale and CloudSim Plus benchmarks: their bookkeeping and the peer's workload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import cloudsimplus, scale


def test_the_peer_driver_in_the_readme_builds_the_same_hosts_and_vms() -> None:
    source = cloudsimplus.driver_source()
    assert "public class PlacementDriver" in source
    assert "VmAllocationPolicyFirstFit" in source

    def constant(name: str) -> str:
        found = re.search(rf"{name} = ([^,;]+)[,;]", source)
        assert found is not None, name
        return found.group(1).replace("_", "")

    def array(name: str) -> list[int]:
        found = re.search(rf"{name} = \{{([^}}]*)\}}", source)
        assert found is not None, name
        return [int(v.replace("_", "")) for v in found.group(1).split(",")]

    c = cloudsimplus
    assert int(constant("HOST_PES")) == c.HOST_CORES * c.HOST_THREADS
    assert int(constant("HOST_RAM_MIB")) == c.HOST_MEMORY_GIB * 1024
    assert int(constant("HOST_STORAGE_MB")) == c.HOST_DISK_GB * 1000
    assert array("VM_PES") == [f[0] for f in c.VM_FLAVOURS]
    assert array("VM_RAM_MIB") == [f[1] * 1024 for f in c.VM_FLAVOURS]
    assert array("VM_STORAGE_MB") == [f[2] * 1000 for f in c.VM_FLAVOURS]


def test_a_readme_without_the_driver_block_is_a_clear_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no driver here\n")
    with pytest.raises(cloudsimplus.PeerError, match="driver:begin/end"):
        cloudsimplus.driver_source(readme)


def test_without_the_classpath_the_peer_is_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLOUDSIM_PLUS_CLASSPATH", raising=False)
    assert cloudsimplus.main(["--hosts", "20", "--vms", "45", "--gap", "5"]) == 0
    out = capsys.readouterr().out
    assert "CloudSim Plus: skipped" in out
    assert "45/45" in out  # 45 VMs fit on 20 hosts of 32 vCPUs, at once and over time


def test_a_scale_run_conserves_vms_and_capacity() -> None:
    # run_one asserts that every host's allocation is the sum of its live VMs
    row = scale.run_harness(1000, 3, 20.0)
    assert row["hosts"] == 1000
    assert row["vms_initial"] == 3000
    assert row["vms_initial_placed"] == 3000  # a tenth of the platform: all fit
    assert row["vms_live_end"] == (
        row["vms_initial_placed"] + row["vms_placed_month"] - row["vms_departed"]
    )
    assert row["vms_requested"] == row["vms_placed_month"] + row["vms_rejected_month"]
    assert row["vms_departed"] > 0 and row["vms_placed_month"] > 0
    assert row["month_events"] > 0


def test_a_scaled_down_engine_run_conserves_vms_and_writes_its_folder(tmp_path: Path) -> None:
    # run_engine asserts that every host's allocation is the sum of its live VMs and that
    # the vms table has a row for every VM created
    out = tmp_path / "run"
    row = scale.run_engine(1000, 3, 20.0, out)
    assert row["path"] == "engine" and row["hosts"] == 1000
    assert row["vms_initial"] == row["vms_initial_placed"] == 3000  # a tenth: all fit
    assert row["vms_live_end"] == (
        row["vms_initial_placed"] + row["vms_placed_month"] - row["vms_departed"]
    )
    assert row["vms_total_rows"] == row["vms_initial_placed"] + row["vms_placed_month"]
    assert row["vms_requested"] == row["vms_placed_month"] + row["vms_rejected_month"]
    assert row["vms_departed"] > 0 and row["vms_placed_month"] > 0
    # one event per VM placed at time 0, created or deleted, and one per refused order
    assert row["events"] >= row["vms_total_rows"] + row["vms_departed"]
    written = {f.name for f in out.iterdir()}
    assert {"events.parquet", "vms.parquet", "summary.json", "metadata.json"} <= written


def test_the_engine_scenario_declares_the_vms_asked_for() -> None:
    scenario = scale.engine_scenario(12_000, 7, 3.0)
    assert sum(p.host_count for p in scenario.pools) == 12_000
    declared = sum(s.vm_count for s in scenario.systems)
    # each pool's share is rounded down: at most one VM short per pool
    assert 12_000 * 7 - len(scenario.pools) <= declared <= 12_000 * 7
    assert {s.arch for s in scenario.systems} == {"x86_64", "aarch64"}
    assert all(len(s.datacenters) == 1 for s in scenario.systems)
    assert scenario.meta.horizon == 3 * 86_400


def test_the_written_engine_scenario_loads_for_cloudsim_run(tmp_path: Path) -> None:
    from cloudsim import load_scenario

    assert scale.main(["--sizes", "1000,2000", "--days", "2",
                       "--write-scenario", str(tmp_path / "scale-{hosts}.yaml")]) == 0  # fmt: skip
    for n in (1000, 2000):
        loaded = load_scenario(tmp_path / f"scale-{n}.yaml")  # validated as `cloudsim run` does
        assert loaded == scale.engine_scenario(n, 10, 2.0)
    with pytest.raises(SystemExit):  # two sizes, one path
        scale.main(["--sizes", "1000,2000", "--write-scenario", str(tmp_path / "one.yaml")])
