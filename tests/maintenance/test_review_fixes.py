"""Defects a cold review found in the maintenance drains (issue 12), one test each: retries
on uncordon, standby VMs kept out of production, service downtime as the ledger counts it,
no resize mid-move, VMs of a host failed during its maintenance, moves over a cut link,
hosts not emptied, the all-centres-cordoned reason and system rules matching nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import Simulation
from cloudsim.maintenance.module import MaintenanceModule, service_down_s
from cloudsim.report import render_run
from tests.conftest import build, invoke
from tests.dr.builders import dr_section
from tests.faults.builders import two_centres
from tests.maintenance.test_drain import drain_row, spare, watch_capacity, write


def allocation_drift(sim: Simulation) -> list[tuple[str, list[int]]]:
    """Hosts whose allocation is not the sum of the demand of the VMs on them."""
    hosts, vms = sim.hosts, sim.platform.vms
    expected = np.zeros_like(hosts.allocated)
    for row in np.flatnonzero(vms.live).tolist():
        host = int(vms.ints["host"][row])
        if host >= 0:
            expected[:, host] += vms.demand[:, row]
    diff = hosts.allocated - expected
    bad = np.flatnonzero((diff != 0).any(axis=0))
    return [(hosts.names[b], diff[:, b].tolist()) for b in bad.tolist()]


def downtime(result: Any) -> dict[str, float]:
    return {a["system"]: a["downtime_s"] for a in result.tables["availability"].to_pylist()}


# 1 ------------------------------------------------------------------------------------------
def test_uncordoning_a_drained_host_retries_the_vms_waiting_for_room() -> None:
    """dc1 fails (30 min into its drain, 1 h): 'one' (dc1 only) cannot restart while the
    repaired dc1 hosts are still cordoned; each host the drain hands back must retry them,
    so at the horizon every VM runs and none waits."""
    data = spare(duration="1h", parallel=1)
    data["maintenance"]["systems"] = []
    data["faults"] = {"scripted": [{"target": "dc1", "at": "2026-01-02T00:30", "duration": "1h"}]}
    data["meta"]["horizon"] = "4d"
    sim = Simulation(build(data), seed=3)
    result = sim.run()
    assert sim.platform.ha.waiting == {}
    assert all(v["status"] == "running" for v in result.tables["vms"].to_pylist())
    assert not sim.hosts.cordoned.any()
    # the retries come from hosts handed back, after the repair (at 1 d 1.5 h)
    restarts = [
        e
        for e in result.tables["events"].to_pylist()
        if e["kind"] == "restart" and e["system"] == "one" and not e["reason"]
    ]
    assert restarts and all(e["time"] >= 86400 + 5400 for e in restarts)


# 2 ------------------------------------------------------------------------------------------
def test_draining_the_standby_centre_never_moves_a_standby_into_production() -> None:
    """'one' keeps a warm standby in the DR centre (its only standby centre): draining that
    centre leaves the standby VMs where they are (reason ``standby``), stopped for the hour
    of patching; no service is lost (the standby serves nothing)."""
    data = two_centres({"scripted": []}, dr=dr_section(one="warm"))
    data["meta"]["horizon"] = "2d"
    data["maintenance"] = {
        "drains": [{"name": "d", "target": "dr", "start": "1d", "parallel": 8, "duration": "1h"}]
    }
    result = Simulation(build(data), seed=1).run()
    vms = result.tables["maintenance_vms"].to_pylist()
    assert len(vms) == 3
    assert all(v["to_datacenter"] in ("", "dr") for v in vms)
    assert {v["reason"] for v in vms} == {"standby"}
    row = drain_row(result)
    assert row["moved_across_centres"] == 0
    assert row["vm_downtime_s"] == pytest.approx(3 * 3600)
    assert row["service_down_s"] == 0 and row["systems_down"] == 0
    assert all(d == 0 for d in downtime(result).values())


# 3 ------------------------------------------------------------------------------------------
def test_service_downtime_counts_only_serving_vms_and_agrees_with_the_ledger() -> None:
    """'one' (6 VMs in dc1, 3 required; a warm standby in the DR centre, serving nothing)
    refuses to move: dc1 drained 8 hosts at a time stops all 6 for the same hour. The
    standby does not keep it up: 1 h down in the drain's tables as in the ledger."""
    data = two_centres({"scripted": []}, dr=dr_section(one="warm"))
    data["meta"]["horizon"] = "2d"
    data["maintenance"] = {
        "systems": [{"match": "one", "method": "refuse"}],
        "drains": [{"name": "d", "target": "dc1", "start": "1d", "parallel": 8, "duration": "1h"}],
    }
    result = Simulation(build(data), seed=1).run()
    systems = {s["system"]: s for s in result.tables["maintenance_systems"].to_pylist()}
    assert systems["one"]["service_down_s"] == pytest.approx(3600)
    assert systems["one"]["service_down_s"] == pytest.approx(downtime(result)["one"])
    assert result.summary["maintenance"]["d"]["systems_down_names"] == ["one"]


def test_service_down_counts_overlapping_drains_stops_by_hand() -> None:
    """Headroom 1: this drain stops one VM over [0, 10), another drain one over [5, 20): two
    stopped at once over [5, 10) -> 5 s, charged to this drain (the other drain's own
    stops alone never count here)."""
    assert service_down_s([(0.0, 10.0)], 1, 100.0) == 0.0
    assert service_down_s([(0.0, 10.0)], 1, 100.0, [(5.0, 20.0)]) == 5.0
    assert service_down_s([(0.0, 10.0)], 1, 100.0, [(12.0, 20.0), (14.0, 30.0)]) == 0.0
    # headroom 0: any stop is down; the horizon cuts an open stop
    assert service_down_s([(90.0, 200.0)], 0, 100.0) == 10.0


# 4 ------------------------------------------------------------------------------------------
def test_a_vm_mid_move_is_not_resized_and_allocations_stay_exact() -> None:
    """20,000 resize requests a day on 'one' while dc1 is drained: a VM mid-move is refused
    (``moving``), and every host's allocation is the sum of its VMs' demand afterwards."""
    data = spare(duration="1h")
    data["workload"] = {"resizes": {"per_day": 20000, "systems": ["one"], "up": 0.5}}
    data["meta"]["horizon"] = "2d"
    sim = Simulation(build(data), seed=3)
    result = sim.run()
    refused = result.summary["resizes"]["refused_by_reason"]
    assert refused.get("moving", 0) >= 1
    assert allocation_drift(sim) == []
    assert (sim.hosts.free >= 0).all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 50), per_day=st.sampled_from([2000, 20000]), parallel=st.integers(1, 8))
def test_property_allocation_is_the_sum_of_demand_after_resizes_and_drains(
    seed: int, per_day: int, parallel: int
) -> None:
    data = spare(duration="1h", parallel=parallel)
    data["workload"] = {"resizes": {"per_day": per_day, "systems": ["one", "both"], "up": 0.5}}
    data["meta"]["horizon"] = "2d"
    sim = Simulation(build(data), seed=seed)
    watch_capacity(sim)
    sim.run()
    assert allocation_drift(sim) == []
    assert not sim.platform.moving


# 5 ------------------------------------------------------------------------------------------
def test_vms_stopped_for_maintenance_restart_elsewhere_when_their_host_fails() -> None:
    """'one' refuses to move: its VMs stop for 2 h of patching; dc1-0001 fails for 10 days
    an hour into it. Its VM is handed to local HA when the maintenance ends and restarts on
    another host (restart_time later): nothing waits at the horizon."""
    data = spare(duration="2h", parallel=8)
    data["meta"]["horizon"] = "4d"
    data["maintenance"]["systems"] = [{"match": "one", "method": "refuse"}]
    data["faults"] = {
        "scripted": [{"target": "dc1-0001", "at": "2026-01-02T01:00", "duration": "10d"}]
    }
    sim = Simulation(build(data), seed=3)
    result = sim.run()
    assert sim.platform.ha.waiting == {}
    (vm,) = [
        v for v in result.tables["maintenance_vms"].to_pylist() if v["reason"] == "host_failed"
    ]
    restarts = [
        e
        for e in result.tables["events"].to_pylist()
        if e["kind"] == "restart" and e["vm"] == vm["vm"]
    ]
    restart_time = sim.platform.ha.settings.restart_time
    assert len(restarts) == 1
    assert restarts[0]["time"] == pytest.approx(86400 + 7200 + restart_time)
    assert restarts[0]["host"] != "dc1-0001"
    assert all(v["status"] == "running" for v in result.tables["vms"].to_pylist())
    assert allocation_drift(sim) == []


# 6 ------------------------------------------------------------------------------------------
def test_a_link_cut_reroutes_the_moves_instead_of_stalling_them() -> None:
    """dc1—dc2 is cut (6 h) a minute into the drain while 'one' moves cold to dc2: the moves
    on it are abandoned (the VMs run again on their source) and start again at once over
    dc1—dr—dc2; every VM moves, and 'one' is down far less than the cut."""
    data = spare(duration="1h", parallel=8)
    data["maintenance"]["systems"] = [{"match": "one", "method": "cold", "move_to": ["dc2"]}]
    data["faults"] = {
        "scripted": [{"target": "dc1--dc2", "at": "2026-01-02T00:01", "duration": "6h"}]
    }
    data["meta"]["horizon"] = "2d"
    sim = Simulation(build(data), seed=3)
    watch_capacity(sim)
    result = sim.run()
    vms = result.tables["maintenance_vms"].to_pylist()
    assert all(v["method"] != "none" and v["to_datacenter"] == "dc2" for v in vms), vms
    assert all(v["resumed"] < 86400 + 6 * 3600 for v in vms)
    assert 0 < downtime(result)["one"] < 3600
    assert allocation_drift(sim) == []
    assert not sim.platform.moving


# 7 ------------------------------------------------------------------------------------------
def test_skipped_hosts_are_not_counted_as_maintained(tmp_path: Path) -> None:
    """'one' refuses to move and stuck hosts are skipped: 6 of dc1's 8 hosts hold a 'one'
    VM, so 2 are maintained and 6 not emptied, in the table and the terminal line."""
    data = spare(duration="1h", unmovable="skip")
    data["maintenance"]["systems"] = [{"match": "one", "method": "refuse"}]
    row = drain_row(Simulation(build(data), seed=3).run())
    assert row["hosts_not_emptied"] >= 1
    assert row["hosts_done"] + row["hosts_not_emptied"] == row["hosts"]
    code, out, err = invoke("run", write(tmp_path, data), "--out", tmp_path / "out")
    assert code == 0, err
    done, skipped = row["hosts_done"], row["hosts_not_emptied"]
    assert f"{done}/8 hosts maintained, {skipped} not emptied" in out
    summary = {"maintenance": {"dc1": {**row, "not_moved_reasons": {}}}}
    summary["maintenance"]["dc1"]["systems_down_names"] = []
    (line, _) = MaintenanceModule.terminal_lines(summary)
    assert f"{skipped} not emptied" in str(line)
    text = render_run(Simulation(build(data), seed=3).run())
    section = text[text.index('data-section="maintenance"') :]
    assert f'data-summary="maintenance.dc1.hosts_not_emptied" data-value="{skipped}"' in section
    assert "not emptied (skipped or still holding VMs that could not move)" in section


# 8 ------------------------------------------------------------------------------------------
def test_vms_with_every_centre_drained_say_so() -> None:
    """dc1 and dc2 evacuated at once: 'both' (dc1 and dc2) has every centre cordoned,
    'one' (dc1 only) and 'two' (dc2 only) have no other centre."""
    data = spare()
    data["maintenance"]["systems"] = []
    data["maintenance"]["drains"].append({**data["maintenance"]["drains"][0], "name": "dc2"})
    data["maintenance"]["drains"][1]["target"] = "dc2"
    result = Simulation(build(data), seed=3).run()
    reasons = {(v["system"], v["reason"]) for v in result.tables["maintenance_vms"].to_pylist()}
    assert ("both", "all_centres_cordoned") in reasons
    assert ("both", "no_host_in_datacenter") not in reasons
    assert {r for s, r in reasons if s in ("one", "two")} == {"no_other_centre"}


# 9 ------------------------------------------------------------------------------------------
def test_a_system_rule_matching_no_system_is_refused(tmp_path: Path) -> None:
    data = spare()
    data["maintenance"]["systems"] = [{"match": "onee", "move_to": ["dc2"]}]
    code, _, err = invoke("validate", write(tmp_path, data))
    assert code == 2, err
    assert "maintenance.systems[0].match: 'onee' matches no system" in err


def test_without_local_ha_such_a_vm_waits_for_its_host_then_is_given_up() -> None:
    """The same failure with local HA off and give_up_after 30 min: the VM waits for its
    host (down 10 days) and is recorded lost when the maintenance ends (it stopped 2 h
    before, past the 30 min), like a VM its host's failure stopped: nothing waits forever."""
    data = spare(duration="2h", parallel=8)
    data["meta"]["horizon"] = "4d"
    data["maintenance"]["systems"] = [{"match": "one", "method": "refuse"}]
    data["faults"] = {
        "scripted": [{"target": "dc1-0001", "at": "2026-01-02T01:00", "duration": "10d"}],
        "local_ha": {"enabled": False, "give_up_after": "30m"},
    }
    sim = Simulation(build(data), seed=3)
    result = sim.run()
    assert sim.platform.ha.waiting == {}
    (vm,) = [
        v for v in result.tables["maintenance_vms"].to_pylist() if v["reason"] == "host_failed"
    ]
    (lost,) = [
        e
        for e in result.tables["events"].to_pylist()
        if e["kind"] == "lost" and e["vm"] == vm["vm"]
    ]
    assert lost["time"] == pytest.approx(86400 + 7200)
