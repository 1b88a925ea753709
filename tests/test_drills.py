"""Every drill scenario in scenarios/drills runs, and its headline outcome holds."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

from cloudsim import Simulation, load_scenario
from cloudsim.placement.core import REJECTION_REASONS
from tests.conftest import REPO

DRILLS = REPO / "scenarios" / "drills"
HOUR = 3600.0
RESTART = 180.0


def test_every_drill_is_tested() -> None:
    assert {p.stem for p in DRILLS.glob("*.yaml")} == {
        "power-loss-cs-idc",
        "rolling-host-failures",
    }


def test_power_loss_in_one_changsha_centre() -> None:
    sim = Simulation(load_scenario(DRILLS / "power-loss-cs-idc.yaml"))
    racks = sim.topology.racks_in_power_domain("cs-idc/pd1")
    expected = np.isin(sim.hosts.rack, [sim.hosts.rack_names.index(r) for r in racks])
    result = sim.run()
    assert sim.faults is not None
    (outage,) = sim.faults.outages
    at = (datetime(2026, 1, 5, 2) - sim.scenario.meta.start).total_seconds()
    assert (outage.start, outage.end - outage.start) == (at, 6 * HOUR)
    assert outage.hosts_down == int(expected.sum()) > 0
    assert result.summary["faults"]["host_down_hours"] == pytest.approx(6 * expected.sum())

    faults = result.summary["faults"]
    assert faults["vms_stopped"] > 0 and faults["vms_lost"] == 0
    assert faults["vms_restarted"] == faults["vms_stopped"]
    assert faults["vms_pending_end"] == faults["vms_restarting_end"] == 0
    assert set(faults["restart_failures_by_reason"]) <= set(REJECTION_REASONS.values())

    incidents = result.tables["incidents"].to_pylist()
    assert {i["component"] for i in incidents} == {"cs-idc-pd1-power-loss"}
    assert all(i["restored_at"] <= outage.end + RESTART for i in incidents)
    in_cs_idc = {s.name for s in sim.scenario.systems if "cs-idc" in s.datacenters}
    assert {i["system"] for i in incidents} <= in_cs_idc
    # a system is down longer than the restart time only if some VM could not restart
    ev = sim.recorder.events
    names = [s.name for s in sim.scenario.systems]
    waited = {
        names[s] for k, s in zip(ev["kind"], ev["system"], strict=True) if k == "restart_failed"
    }
    for row in result.tables["availability"].to_pylist():
        assert row["downtime_s"] <= 6 * HOUR + RESTART
        if row["downtime_s"] > RESTART:
            assert row["system"] in waited, row


def test_a_year_of_rolling_failures_at_published_rates() -> None:
    scenario = load_scenario(DRILLS / "rolling-host-failures.yaml")
    sim = Simulation(scenario)
    result = sim.run()
    years = scenario.meta.horizon / (365 * 86400)
    assert scenario.faults is not None
    by_kind = result.summary["faults"]["by_kind"]
    for kind, count in (
        ("host", scenario.host_count),
        ("rack", sum(dc.racks for dc in scenario.datacenters)),
        ("power_domain", sum(dc.power_domains for dc in scenario.datacenters)),
    ):
        spec = getattr(scenario.faults, kind)
        expected = count * years * 365 * 86400 / spec.time_to_failure.mean
        assert abs(by_kind.get(kind, 0) - expected) < 4 * math.sqrt(expected) + 1, kind
    faults = result.summary["faults"]
    assert faults["vms_lost"] == 0 and faults["vms_stopped"] > 1000
    assert faults["vms_pending_end"] + faults["vms_restarting_end"] <= 50  # only the latest
    assert result.summary["availability"]["mean"] > 0.9999
