"""The availability ledger: running-VM replay, downtime intervals, incidents, summary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cloudsim import Simulation, simulate
from cloudsim.ledger import VM_EVENT_CODES, running_deltas, system_downtime
from tests.conftest import build, tiny
from tests.faults.builders import two_centres

DAY = 86400.0
HOUR = 3600.0


def replay(events: list[tuple[float, str, int, int]], required: list[int], horizon: float) -> Any:
    """Downtime from (time, kind, system, vm) events in log order."""
    time = np.array([e[0] for e in events], dtype=np.float64)
    code = np.array([VM_EVENT_CODES[e[1]] for e in events], dtype=np.int64)
    system = np.array([e[2] for e in events], dtype=np.int64)
    vm = np.array([e[3] for e in events], dtype=np.int64)
    return system_downtime(
        time, system, running_deltas(code, vm), np.array(required, dtype=np.int64), horizon
    )


def test_downtime_counts_time_below_the_required_vms() -> None:
    events = [
        (0.0, "initial", 0, 1),
        (0.0, "initial", 0, 2),
        (10.0, "vm_down", 0, 1),
        (15.0, "restart", 0, 1),
        (20.0, "vm_down", 0, 1),
        (20.0, "vm_down", 0, 2),
        (30.0, "restart", 0, 2),
        (40.0, "create", 0, 3),
        (60.0, "delete", 0, 3),
    ]
    d = replay(events, [2], 100.0)
    # down [10,15) and [20,40) (one running until the created VM), then [60,100)
    assert d.seconds.tolist() == [5.0 + 20.0 + 40.0]
    assert list(zip(d.interval_start, d.interval_end, strict=True)) == [
        (10.0, 15.0),
        (20.0, 40.0),
        (60.0, 100.0),
    ]
    assert d.overlap(0, 12.0, 25.0) == 3.0 + 5.0


def test_a_stop_and_restart_at_the_same_instant_is_no_outage() -> None:
    events = [(0.0, "initial", 0, 1), (5.0, "vm_down", 0, 1), (5.0, "restart", 0, 1)]
    d = replay(events, [1], 10.0)
    assert d.seconds.tolist() == [0.0] and len(d.interval_start) == 0


def test_deleting_a_stopped_vm_does_not_count_twice() -> None:
    events = [
        (0.0, "initial", 0, 1),
        (0.0, "create", 0, 2),
        (1.0, "vm_down", 0, 2),
        (2.0, "delete", 0, 2),  # deleted by its tenant while down: no change
        (3.0, "vm_down", 0, 1),
        (4.0, "lost", 0, 1),  # given up: no change either
    ]
    code = np.array([VM_EVENT_CODES[e[1]] for e in events])
    vm = np.array([e[3] for e in events])
    assert running_deltas(code, vm).tolist() == [1, 1, -1, 0, -1, 0]
    assert replay(events, [1], 10.0).seconds.tolist() == [7.0]


def test_systems_without_events_are_down_unless_they_need_nothing() -> None:
    events = [(0.0, "initial", 1, 7)]
    d = replay(events, [2, 1, 0], 50.0)
    assert d.seconds.tolist() == [50.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("declared", "fraction", "required"),
    [(1, 0.5, 1), (3, 0.5, 2), (4, 0.5, 2), (3, 0.6, 2), (5, 1.0, 5), (10, 0.3, 3)],
)
def test_required_vms_round_up(declared: int, fraction: float, required: int) -> None:
    data = tiny(faults={"availability": {"required_fraction": fraction}})
    data["systems"][0]["vms"][0]["count"] = declared
    data["systems"][0]["anti_affinity"] = "none"
    assert Simulation(build(data)).recorder.rules.required.tolist() == [required]


def test_incidents_of_a_scripted_host_failure() -> None:
    faults = {
        "scripted": [{"name": "drill", "target": "dc1-0000", "at": "1d", "duration": "2h"}],
        "local_ha": {"restart_time": "5m"},
    }
    sim = Simulation(build(two_centres(faults)))
    sim.start()
    vms = sim.platform.vms
    on_host = vms.ints["system"][vms.live & (vms.ints["host"] == 0)]
    result = sim.run()
    incidents = result.tables["incidents"].to_pylist()
    names = [s.name for s in sim.scenario.systems]
    affected = {
        names[s]: int(n) for s, n in zip(*np.unique(on_host, return_counts=True), strict=True)
    }
    assert {i["system"]: i["vms_affected"] for i in incidents} == affected
    for i in incidents:
        assert i["component"] == "drill"
        assert (i["component_kind"], i["cause"]) == ("host", "scripted")
        assert i["failed_at"] == DAY and i["repaired_at"] == DAY + 2 * HOUR
        assert i["restored_at"] == DAY + 300.0 and i["duration_s"] == 300.0
        assert i["vms_restarted"] == i["vms_affected"] and i["vms_waiting"] == 0
        assert i["system_down_s"] == 0.0  # one host of eight: every system keeps half
    summary = result.summary
    assert summary["faults"]["outages"] == 1 and summary["faults"]["by_kind"] == {"host": 1}
    assert summary["faults"]["host_down_hours"] == 2.0
    assert summary["availability"]["incidents"] == len(incidents)
    assert summary["availability"]["mean"] == 1.0


def test_an_open_incident_lasts_to_the_horizon() -> None:
    faults = {"scripted": [{"target": "dc1", "at": "29d", "duration": "3d"}]}
    result = simulate(build(two_centres(faults)))
    one = [i for i in result.tables["incidents"].to_pylist() if i["system"] == "one"]
    (incident,) = one
    assert incident["restored_at"] is None and incident["repaired_at"] is None
    assert incident["duration_s"] == DAY and incident["vms_waiting"] == 6
    assert incident["system_down_s"] == DAY
    avail = {r["system"]: r for r in result.tables["availability"].to_pylist()}
    assert avail["one"]["availability"] == pytest.approx(1 - 1 / 30)
    assert avail["one"]["longest_outage_s"] == DAY and avail["one"]["outages"] == 1
    assert result.summary["faults"]["vms_pending_end"] == 6 + 4


def test_unplaced_initial_vms_count_as_downtime_without_any_fault() -> None:
    data = tiny(
        pools=[
            {
                "name": "small",
                "datacenter": "dc1",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 1}],
            }
        ],
        systems=[
            {
                "name": name,
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1"],
                "anti_affinity": "none",
                "vms": [{"flavor": "c8m32", "count": 3}],
            }
            for name in ("first", "second")
        ],
    )
    result = simulate(build(data))  # 128 GiB host: four 32 GiB VMs fit, six do not
    avail = {r["system"]: r["availability"] for r in result.tables["availability"].to_pylist()}
    assert avail == {"first": 1.0, "second": 0.0}
    assert result.tables["incidents"].num_rows == 0
    assert result.summary["faults"]["outages"] == 0
    assert result.summary["availability"]["worst"] == {"second": 0.0}
