"""Maintenance drains in whole runs: every VM moves when there is room, what cannot move is
reported with its reason, capacity is never exceeded, the ledger counts the pauses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import RunResult, Simulation
from cloudsim.state.hosts import HostTable
from tests.conftest import build, invoke, module_of, tiny
from tests.faults.builders import hosts_with_one_system, two_centres

DRAIN: dict[str, Any] = {"name": "dc1", "target": "dc1", "start": "1d", "parallel": 2}


def maintenance(**drain: Any) -> dict[str, Any]:
    return {
        "migration": {"lan_bandwidth": "40Gbps", "max_bandwidth": "10Gbps"},
        "systems": [{"match": "one", "move_to": ["dc2"]}],
        "drains": [{**DRAIN, **drain}],
    }


def spare(**drain: Any) -> dict[str, Any]:
    """Two same-city centres with room in dc2 for everything in dc1; dc1 drained from 1 d."""
    data = two_centres(maintenance=maintenance(**drain))
    data["meta"]["horizon"] = "5d"
    return data


def watch_capacity(sim: Simulation) -> list[int]:
    """Assert on every allocation that the host stays within its limit; count them."""
    hosts: HostTable = sim.hosts
    allocations: list[int] = []
    original = hosts.allocate

    def checked(host: int, demand: np.ndarray) -> None:
        original(host, demand)
        allocations.append(host)
        assert (hosts.free[:, host] >= 0).all(), f"host {host} over its limit"

    hosts.allocate = checked  # type: ignore[method-assign]
    return allocations


def drain_row(result: RunResult) -> dict[str, Any]:
    (row,) = result.tables["maintenance"].to_pylist()
    return row


def test_a_centre_drained_under_spare_capacity_moves_every_vm_and_loses_no_service() -> None:
    sim = Simulation(build(spare(duration="1h")), seed=3)
    watch_capacity(sim)
    result = sim.run()
    row = drain_row(result)
    assert (row["hosts"], row["hosts_done"], row["complete"]) == (8, 8, True)
    assert row["vms"] == 4 + 6  # both's dc1 half and one
    assert (row["moved_live"], row["moved_cold"], row["not_moved"]) == (10, 0, 0)
    # every dc1 host is cordoned from the start: the first pair's VMs go to dc2; later
    # ones may land on dc1 hosts already patched and back in service
    assert 1 <= row["moved_across_centres"] <= 10
    assert row["service_down_s"] == 0 and row["systems_down"] == 0
    assert 0 < row["max_pause_s"] < 0.3 + 0.05 + 0.001
    vms = result.tables["vms"].to_pylist()
    assert len(vms) == 18 and all(v["status"] == "running" for v in vms)
    availability = result.tables["availability"].to_pylist()
    assert all(a["availability"] == 1.0 for a in availability)
    events = result.tables["events"].to_pylist()
    label = "maintenance dc1"
    downs = [e for e in events if e["kind"] == "vm_down" and e["reason"] == label]
    restarts = [e for e in events if e["kind"] == "restart" and e["reason"] == label]
    assert len(downs) == len(restarts) == 10
    # the duration: 4 host pairs, each emptied then maintained 1 h
    assert row["duration_s"] >= 4 * 3600
    assert not sim.hosts.cordoned.any()  # every host back in service


def test_the_move_bytes_are_memory_rounds_and_the_disk_across_centres() -> None:
    """Across centres with storage copied: each VM's disk (100 GB or 200 GB) plus at least
    its memory."""
    result = Simulation(build(spare()), seed=3).run()
    vms = result.tables["maintenance_vms"].to_pylist()
    for vm in vms:
        disk, memory = (200, 32 * 2**30 / 1e9) if vm["system"] == "one" else (100, 8 * 2**30 / 1e9)
        assert vm["bytes_gb"] >= disk + memory - 1e-6
        assert vm["bytes_gb"] <= disk + memory * 1.2
        assert vm["method"] == "live" and vm["reason"] == ""


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parallel=st.integers(1, 8),
    per_host=st.integers(1, 3),
    duration=st.sampled_from([None, "30m", "2h"]),
    seed=st.integers(0, 3),
)
def test_property_capacity_never_exceeded_and_no_vm_lost(
    parallel: int, per_host: int, duration: str | None, seed: int
) -> None:
    data = spare(parallel=parallel, **({"duration": duration} if duration else {}))
    data["maintenance"]["migration"]["per_host"] = per_host
    sim = Simulation(build(data), seed=seed)
    allocations = watch_capacity(sim)
    result = sim.run()
    assert allocations  # the watch saw the moves
    row = drain_row(result)
    assert row["not_moved"] == 0 and row["moved_live"] == 10
    vms = sim.platform.vms
    assert vms.count == 18
    assert not any(v["status"] != "running" for v in result.tables["vms"].to_pylist())
    dc1 = sim.hosts.datacenter_names.index("dc1")
    on_dc1 = sim.hosts.datacenter[vms.ints["host"][vms.live]] == dc1
    if duration is None:  # an evacuation: nothing is left in dc1
        assert not on_dc1.any()
    moved = [v["vm"] for v in result.tables["maintenance_vms"].to_pylist()]
    assert len(moved) == len(set(moved)) == 10  # each VM moved once
    assert (sim.hosts.free >= 0).all()
    assert sim.hosts.cordoned[sim.hosts.datacenter == dc1].all() == (duration is None)


def _one_system_data() -> dict[str, Any]:
    scenario = hosts_with_one_system(
        4, 4, {"availability": {"required_fraction": 1.0}}, horizon="5d"
    )
    return scenario.model_dump(mode="json", exclude_none=True)


def test_a_drain_without_room_reports_why_and_counts_the_downtime() -> None:
    """Host anti-affinity with one VM per host: the drained host's VM cannot move
    (anti_affinity); stopped for the 2 h of maintenance, the system (all 4 VMs required)
    is down exactly 2 h, in the ledger and in the drain's tables."""
    data = _one_system_data()
    host = Simulation(build(data), seed=1).hosts.names[0]
    data["maintenance"] = {
        "drains": [{"name": "h0", "target": host, "start": "1d", "duration": "2h"}]
    }
    result = Simulation(build(data), seed=1).run()
    row = drain_row(result)
    assert (row["vms"], row["not_moved"], row["moved_live"]) == (1, 1, 0)
    assert row["not_moved_reasons"] == '{"anti_affinity": 1}'
    assert row["service_down_s"] == pytest.approx(7200)
    assert row["duration_s"] == pytest.approx(7200)
    (system,) = result.tables["maintenance_systems"].to_pylist()
    assert system["service_down_s"] == pytest.approx(7200)
    assert system["vm_downtime_s"] == pytest.approx(7200)
    (availability,) = result.tables["availability"].to_pylist()
    assert availability["downtime_s"] == pytest.approx(7200)
    # skip instead: the host is not maintained, nothing stops
    data["maintenance"]["drains"][0]["unmovable"] = "skip"
    row = drain_row(Simulation(build(data), seed=1).run())
    assert row["hosts_not_emptied"] == 1 and row["vm_downtime_s"] == 0


def test_no_capacity_pinned_policy_and_single_centre_reasons() -> None:
    """dc1 evacuated: 'one' has no other centre (no move_to) -> no_other_centre; refusing
    'both' by policy -> policy; a cold rule moves 'both' with restart_time of downtime."""
    data = spare()
    data["maintenance"]["systems"] = [{"match": "both", "method": "refuse"}]
    row = drain_row(Simulation(build(data), seed=3).run())
    assert row["not_moved_reasons"] == '{"no_other_centre": 6, "policy": 4}'
    data["maintenance"]["systems"] = [{"match": "both", "method": "cold"}]
    data["maintenance"]["migration"]["restart_time"] = "3m"
    result = Simulation(build(data), seed=3).run()
    row = drain_row(result)
    assert row["moved_cold"] == 4
    cold = [v for v in result.tables["maintenance_vms"].to_pylist() if v["method"] == "cold"]
    # stopped, its 100 GB disk copied over the 100 Gbit/s interconnect (10 Gbit/s cap), booted
    assert all(v["pause_s"] == pytest.approx(80 + 180) for v in cold)


def test_a_full_centre_reports_no_capacity() -> None:
    """Two hosts, each filled by four 8c32g VMs (32 vCPUs, 128 GiB: CPU and memory both
    full, CPU checked first): a rack's host cannot be emptied."""
    data = tiny(
        meta={"name": "full", "horizon": "3d", "seed": 1, "sample_interval": "1d"},
        pools=[
            {
                "name": "general",
                "datacenter": "dc1",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 2}],
            }
        ],
        systems=[
            {
                "name": "portal",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1"],
                "anti_affinity": "none",
                "vms": [{"flavor": "c8m32", "count": 8}],
            }
        ],
        maintenance={"drains": [{"name": "r0", "target": "dc1/rack000", "start": "1d"}]},
    )
    result = Simulation(build(data), seed=1).run()
    row = drain_row(result)
    assert row["vms"] == 4 and row["not_moved"] == 4
    assert row["not_moved_reasons"] == '{"no_capacity_cpu": 4}'
    assert row["hosts_not_emptied"] == 1


def test_same_seed_same_results() -> None:
    def tables(seed: int) -> dict[str, pa.Table]:
        result = Simulation(build(spare(duration="1h", parallel=3)), seed=seed).run()
        return {
            k: v for k, v in result.tables.items() if k.startswith("maintenance") or k == "events"
        }

    first, again = tables(5), tables(5)
    assert first.keys() == again.keys()
    for name in first:
        assert first[name].equals(again[name]), name


def test_failure_of_the_source_mid_move_hands_the_vm_to_local_ha() -> None:
    """A slow migration (1 Gbit/s, 32 GiB) out of a dc1 host whose power domain fails while
    it runs: the move is abandoned, local HA restarts the VM, nothing is lost and the
    destination's place is given back."""
    data = spare(duration="1h", parallel=8)
    data["maintenance"]["migration"]["max_bandwidth"] = "1Gbps"
    data["faults"] = {
        "scripted": [{"name": "pd", "target": "dc1/pd0", "at": "1d 60s", "duration": "1h"}],
        "local_ha": {"restart_time": "2m"},
    }
    data["faults"]["scripted"][0]["at"] = 86460
    sim = Simulation(build(data), seed=3)
    watch_capacity(sim)
    result = sim.run()
    vms = result.tables["maintenance_vms"].to_pylist()
    failed = [v for v in vms if v["reason"] == "source_failed"]
    assert failed
    assert all(v["status"] == "running" for v in result.tables["vms"].to_pylist())
    assert sim.platform.vms.count == 18
    drains = module_of(sim, "maintenance", "drains")
    assert drains is not None and all(not d.active for d in drains.drains)


# ----------------------------------------------------------------------- validation, CLI


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"target": "dc9"}, "maintenance.drains[dc1].target", "unknown component 'dc9'"),
        ({"target": "dc1—dc2"}, "maintenance.drains[dc1].target", "is a link"),
        ({"start": "9d"}, "maintenance.drains[dc1].start", "must fall within the run"),
        ({"parallel": 0}, "maintenance.drains[dc1].parallel", "greater than or equal to 1"),
    ],
)
def test_bad_entries_exit_2_naming_the_field(
    tmp_path: Path, change: dict[str, Any], field: str, message: str
) -> None:
    path = write(tmp_path, spare(**change))
    code, _, err = invoke("validate", path)
    assert code == 2, err
    assert "Traceback" not in err
    (line,) = [x.strip() for x in err.splitlines() if x.startswith("  ")]
    assert line.startswith(f"{path}: {field}: "), line
    assert message in line


def test_unknown_centre_in_move_to_is_refused(tmp_path: Path) -> None:
    data = spare()
    data["maintenance"]["systems"][0]["move_to"] = ["dc7"]
    code, _, err = invoke("validate", write(tmp_path, data))
    assert code == 2 and "maintenance.systems[0].move_to[0]: unknown data centre 'dc7'" in err


def test_run_writes_the_tables_and_prints_the_drain(tmp_path: Path) -> None:
    path = write(tmp_path, spare(duration="1h"))
    code, out, err = invoke("run", path, "--out", tmp_path / "out")
    assert code == 0, err
    assert "maintenance dc1 (dc1): 8/8 hosts maintained in" in out
    assert "no system down because of it" in out
    for name in ("maintenance", "maintenance_systems", "maintenance_vms"):
        assert (tmp_path / "out" / f"{name}.parquet").is_file()
    loaded = RunResult.load(tmp_path / "out")
    assert loaded.summary["maintenance"]["dc1"]["moved_live"] == 10


def test_without_a_maintenance_section_nothing_changes() -> None:
    """The module is off: no table, and the run is the same as before it existed."""
    data = two_centres()
    sim = Simulation(build(copy.deepcopy(data)), seed=2)
    result = sim.run()
    assert "maintenance" not in result.tables
    assert "maintenance" not in sim.modules


def test_a_host_failing_during_its_maintenance_hands_its_stopped_vms_to_local_ha() -> None:
    """The drained host's VM cannot move (anti-affinity) and is stopped for the 2 h; the
    host's rack fails 1 h in and is repaired 3 h in: the VM is not restarted on a dead host
    at the end of the maintenance but by local HA after the repair (and the restart
    time); it is never counted running twice nor lost."""
    data = _one_system_data()
    host = Simulation(build(data), seed=1).hosts.names[0]
    data["maintenance"] = {
        "drains": [{"name": "h0", "target": host, "start": "1d", "duration": "2h"}]
    }
    data["faults"] = {
        "availability": {"required_fraction": 1.0},
        "local_ha": {"restart_time": "5m"},
        "scripted": [{"name": "rack", "target": "dc1/rack000", "at": "25h", "duration": "2h"}],
    }
    sim = Simulation(build(data), seed=1)
    result = sim.run()
    (vm,) = result.tables["maintenance_vms"].to_pylist()
    assert vm["reason"] == "host_failed"
    events = [e for e in result.tables["events"].to_pylist() if e["vm"] == vm["vm"]]
    kinds = [(e["kind"], e["time"]) for e in events if e["kind"] in ("vm_down", "restart")]
    assert kinds == [("vm_down", 86400.0), ("restart", pytest.approx(27 * 3600 + 300))]
    (availability,) = result.tables["availability"].to_pylist()
    assert availability["downtime_s"] == pytest.approx(3 * 3600 + 300)
    assert sim.platform.vms.count == 4
