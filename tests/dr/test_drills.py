"""Every drill scenario in scenarios/drills runs, and its headline outcome holds."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from cloudsim import RunResult, Simulation, load_scenario
from cloudsim.dr.plan import SystemPlan
from cloudsim.placement.core import REJECTION_REASONS
from tests.conftest import REPO, dr_of, faults_of

#: Drills are the reference scenario run end to end: the slow part of the suite.
pytestmark = pytest.mark.slow

DRILLS = REPO / "scenarios" / "drills"
HOUR = 3600.0
DAY = 86400.0
RESTART = 180.0


def test_every_drill_is_tested() -> None:
    assert {p.stem for p in DRILLS.glob("*.yaml")} == {
        "power-loss-cs-idc",
        "rolling-host-failures",
        "centre-loss-cs-idc",
        "link-cut-cs-witness",
        "link-cut-cs-no-witness",
        "site-loss-changsha",
        "flapping-link",
        "ransomware-restore",
        "random-centre-and-link-failures",
        "maintenance-cs-idc",  # tests/maintenance/test_with_dr.py
    }


def test_random_centre_and_link_failures_are_the_same_for_every_policy() -> None:
    runs = {
        policy: drill("random-centre-and-link-failures", **{"dr.failover.name": policy})
        for policy in ("manual", "witness-quorum")
    }
    outages = {
        policy: [(o.label, o.start, o.end) for o in faults_of(sim).outages]
        for policy, (sim, _) in runs.items()
    }
    assert outages["manual"] == outages["witness-quorum"]  # common random numbers
    kinds = {o[0].rsplit("#", 1)[0] for o in outages["manual"]}
    assert len(outages["manual"]) >= 5 and any("—" in k for k in kinds)
    for policy, (_, result) in runs.items():
        assert result.summary["faults"]["by_kind"].keys() <= {"datacenter", "link"}, policy
        assert result.summary["dr"]["failovers"] > 0 and result.summary["faults"]["vms_lost"] == 0
    quorum = runs["witness-quorum"][1].summary["availability"]["mean"]
    assert quorum > runs["manual"][1].summary["availability"]["mean"]


def drill(name: str, **overrides: Any) -> tuple[Simulation, RunResult]:
    """Run a DR drill. Its container platform (exercised by the container tests) is left
    out: the drills are about the virtualisation cloud's DR, and it would dominate the time."""
    scenario = load_scenario(DRILLS / f"{name}.yaml", {"containers": None, **overrides})
    sim = Simulation(scenario)
    return sim, sim.run(steps=20)


def test_power_loss_in_one_changsha_centre() -> None:
    sim = Simulation(load_scenario(DRILLS / "power-loss-cs-idc.yaml"))
    racks = sim.world.topology.racks_in_power_domain("cs-idc/pd1")
    expected = np.isin(sim.hosts.rack, [sim.hosts.rack_names.index(r) for r in racks])
    result = sim.run()
    assert faults_of(sim) is not None
    (outage,) = faults_of(sim).outages
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
    # cs-idc stays alive on its other power domain: nothing for DR to do
    dr = result.summary["dr"]
    assert dr["heartbeat_transitions"] == dr["failovers"] == dr["fences"] == 0


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


def plans_of(sim: Simulation) -> dict[str, SystemPlan]:
    assert dr_of(sim) is not None
    return {p.name: p for p in dr_of(sim).plans}


def pairs(sim: Simulation) -> set[str]:
    """Active-active systems with VMs of their own."""
    return {n for n, p in plans_of(sim).items() if p.mode == "active-active" and p.need > 0}


def incidents(result: RunResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = result.tables["incidents"].to_pylist()
    return rows


def test_the_loss_of_one_changsha_centre() -> None:
    sim, result = drill("centre-loss-cs-idc")
    plans = plans_of(sim)
    at = 10 * HOUR
    rows = incidents(result)
    assert {r["component"] for r in rows} == {"cs-idc-power-loss"}
    shared: list[float] = []
    table = result.tables["availability"].to_pylist()
    backups = {r["system"]: r["backup_max_s"] for r in table}  # longest copy of each system
    for row in rows:
        plan = plans[row["system"]]
        assert row["failed_at"] == at and row["split_brain_s"] in (0.0, None)
        if plan.mode == "active-active" and plan.need > 0:
            # on in cs-dc2: detection + vote + the 60 s traffic redirect (GSLB/DNS), or 5 min
            # if it must start VMs there
            assert row["to_datacenter"] == "cs-dc2" and row["data_lost_gb"] == 0.0
            assert 60 < row["rto_s"] < 70 or 300 <= row["rto_s"] < 310, row
        elif plan.mode == "active-standby":
            # warm standby in Yongzhou: detection + vote + 5 min resize + 60 s redirect
            assert row["to_datacenter"] == "yz-dr" and 360 < row["rto_s"] < 370
            # the asynchronous lag: the batch being filled (none, the loss is at 10:00:00, a
            # boundary of the 30 s batches) and the writes in flight
            assert 0.0 < row["data_lost_s"] < 1.0
        elif plan.mode == "backup-only":
            assert plan.backup is not None
            recovery = plan.restore_seconds() + 300 + 60
            if recovery < 6 * HOUR:  # a restore in Yongzhou alone would beat the repair
                assert row["dr_action"] == "restore"
                if row["restored_by"] == "dr":  # restored there (sharing the link: later)
                    # the night's incremental copy (01:00) was complete by 10:00: 9 h lost
                    assert row["data_lost_s"] == pytest.approx(9 * HOUR)
                    assert 0 < backups[row["system"]] < 9 * HOUR
                    assert recovery < row["rto_s"] < 6 * HOUR + RESTART
                    shared.append(row["rto_s"] - recovery)
                else:  # the power came back first: the restore was stopped, nothing lost
                    assert row["unnecessary"] == "healed_first" and row["data_lost_s"] == 0.0
                    assert row["rto_s"] == pytest.approx(6 * HOUR + RESTART)
            else:  # the power is back first: it waits, loses nothing, is up at the restart
                assert row["dr_action"] == "" and row["restored_by"] == "repair", row
                assert row["rto_s"] == pytest.approx(6 * HOUR + RESTART)
            # whichever came first, and the row agrees with itself
            assert row["rto_s"] <= 6 * HOUR + RESTART + 1e-6
            assert row["system_down_s"] == pytest.approx(row["rto_s"])
        if row["dr_action"] and row["restored_by"] == "dr":
            assert row["failback_s"] is not None and row["unnecessary"] == ""
    # the restores share the Chenzhou-Yongzhou link (10 Gbit/s for 2 Gbit/s restores): some
    # take longer than alone, and no link ever carried more than its bandwidth
    assert shared and max(shared) > 60
    assert 0.99 < dr_of(sim).flows.peak_utilisation <= 1 + 1e-9
    assert pairs(sim) <= {r["system"] for r in rows}
    only_dc2 = {s.name for s in sim.scenario.systems if s.datacenters == ["cs-dc2"]}
    assert not only_dc2 & {r["system"] for r in rows}
    assert result.summary["dr"]["split_brain_s"] == 0.0
    # batches every 30 s and a few ms in flight: half a batch behind on average
    replication = result.summary["dr"]["replication"]
    assert 15.0 < replication["mean_lag_s"] < 15.01 and 30.0 < replication["max_lag_s"] < 30.01
    # a Changsha pair is not a remote cluster: no level 6 (nor with data lost)
    assert "6" not in result.summary["dr"]["gbt20988_levels"]
    availability = {r["system"]: r for r in result.tables["availability"].to_pylist()}
    for row in rows:  # one incident per system: the tables agree
        assert availability[row["system"]]["downtime_s"] == pytest.approx(row["system_down_s"])


def test_a_policy_waits_for_a_home_expected_back_and_recovers_once_the_estimate_fails() -> None:
    """The repair estimate is an observation: announced as 1 h for a 6 h loss, the policy
    waits an hour, then restores whatever a restore brings back before the real repair."""
    sim, result = drill("centre-loss-cs-idc", **{"faults.scripted.0.expected_repair": "1h"})
    plans = plans_of(sim)
    waited: set[bool] = set()
    for row in incidents(result):
        plan = plans[row["system"]]
        if plan.mode != "backup-only":
            continue
        assert plan.backup is not None
        recovery = plan.restore_seconds() + 300 + 60
        if row["dr_action"] == "restore":  # at once if quicker than the estimate, else after
            assert recovery < HOUR or row["decided_at"] >= 11 * HOUR, row
            waited.add(row["decided_at"] >= 11 * HOUR)
        assert row["rto_s"] <= 6 * HOUR + RESTART + 1e-6
    assert waited == {True, False}  # some restored at once, others after the estimate
    # a restore delay longer than the outage: nothing is restored
    sim, result = drill("centre-loss-cs-idc", **{"dr.failover.params": {"restore_delay": "7h"}})
    backup_only = [r for r in incidents(result) if plans[r["system"]].mode == "backup-only"]
    assert backup_only and all(r["dr_action"] == "" for r in backup_only)
    assert all(r["rto_s"] == pytest.approx(6 * HOUR + RESTART) for r in backup_only)


def test_a_cut_of_the_changsha_interconnect_with_a_witness() -> None:
    sim, result = drill("link-cut-cs-witness")
    dr = result.summary["dr"]
    assert dr["failovers"] == 0 and dr["split_brain_s"] == 0.0 and dr["data_lost_gb"] == 0.0
    assert dr["unnecessary_actions"] == 0  # a real cut: the fences were required
    assert dr["fences"] == len(pairs(sim)) + 1  # + the container platform, which has no VMs
    rows = incidents(result)
    assert {r["dr_action"] for r in rows} == {"fence"}
    assert all(r["rto_s"] < 10 for r in rows)  # frozen only until the witness picks cs-idc
    assert dr_of(sim) is not None
    fenced = {c for state in dr_of(sim).systems for c in state.fenced}
    assert fenced == set()  # rejoined by the operator after the cut
    fenced_at = {r.source for r in dr_of(sim).records if r.action == "fence"}
    assert fenced_at == {(sim.hosts.datacenter_names.index("cs-dc2"),)}


def test_a_cut_of_the_changsha_interconnect_without_a_witness() -> None:
    sim, result = drill("link-cut-cs-no-witness")
    dr = result.summary["dr"]
    aa = pairs(sim)
    # timeout: both sides of every pair go on alone -> two writable primaries for the cut
    assert dr["systems_with_split_brain"] >= len(aa)
    assert dr["unnecessary_failovers"] == dr["failovers"] >= 2 * len(aa)
    assert dr["data_lost_gb"] > 0
    # the split lasts past the cut until the operator has reconciled the pair
    reconcile = sim.scenario.dr.reconcile_time if sim.scenario.dr else 0.0
    assert reconcile == 1800.0
    for row in incidents(result):
        if row["system"] in aa:
            # from the end of the redirect to each side (60 s after the decision)
            assert row["split_brain_s"] == pytest.approx(20 * 60 + reconcile - 60, abs=15)
            assert 60 < row["rto_s"] < 70  # the traffic redirect to the side going on
            assert row["unnecessary"] == "false_alarm"
    # a quicker reconciliation ends the split sooner, and the loser's writes lost are fewer
    quick_sim, quick = drill("link-cut-cs-no-witness", **{"dr.reconcile_time": "5m"})
    assert quick.summary["dr"]["split_brain_s"] == pytest.approx(
        dr["split_brain_s"] - (reconcile - 300) * dr["systems_with_split_brain"], rel=1e-3
    )
    assert 0 < quick.summary["dr"]["data_lost_gb"] < dr["data_lost_gb"]
    assert dr_of(quick_sim).repl.conserved()
    # witness-quorum without a witness: no automatic failover; the pairs freeze instead
    sim, result = drill("link-cut-cs-no-witness", **{"dr.failover.name": "witness-quorum"})
    dr = result.summary["dr"]
    assert dr["failovers"] == dr["fences"] == 0 and dr["split_brain_s"] == 0.0
    frozen = [r for r in incidents(result) if r["system"] in pairs(sim)]
    assert len(frozen) == len(pairs(sim))
    assert all(r["rto_s"] == pytest.approx(20 * 60) for r in frozen)


def test_the_loss_of_the_changsha_site() -> None:
    sim, result = drill("site-loss-changsha")
    names = [s.name for s in sim.scenario.systems]
    priority = {s.name: s.priority for s in sim.scenario.systems}
    rows = incidents(result)
    vital = [r for r in rows if priority[r["system"]] in ("critical", "important")]
    assert vital and all(r["to_datacenter"] == "yz-dr" for r in vital if r["dr_action"])
    # capacity-aware: every critical and important system back in Yongzhou within 25 min
    assert all(r["rto_s"] < 25 * 60 for r in vital)
    assert dr_of(sim) is not None
    short = {names[r.system] for r in dr_of(sim).records if r.vms_missing}
    assert not {s for s in short if priority[s] != "normal"}
    left_down = [r for r in rows if priority[r["system"]] == "normal" and r["rto_s"] > DAY]
    assert left_down  # normal systems Yongzhou has no room for wait for Changsha
    assert result.summary["dr"]["split_brain_s"] == 0.0
    for row in rows:
        if row["dr_action"] == "failover":
            assert row["data_lost_s"] < 60  # the asynchronous lag at the loss
    # after the repair, every system whose VMs restarted at home is up, and its RTO is the
    # time to that restart (unless a recovery elsewhere brought it up before)
    repaired = 10 * HOUR + 2 * DAY
    availability = {r["system"]: r for r in result.tables["availability"].to_pylist()}
    restarted = [r for r in rows if r["vms_restarted"] and r["restored_at"] is not None]
    assert restarted
    for row in restarted:
        assert repaired <= row["restored_at"] <= repaired + RESTART + 1e-6
        assert row["rto_s"] <= row["restored_at"] - row["failed_at"] + 1e-6, row
        if row["restored_by"] == "repair":
            assert row["rto_s"] == pytest.approx(row["restored_at"] - row["failed_at"]), row
            # a recovery that found no room never served: home resumed with its intact copy
            assert not row["data_lost_s"], row
        horizon = 4 * DAY
        assert availability[row["system"]]["downtime_s"] <= row["rto_s"] + 1e-6
        assert availability[row["system"]]["availability"] >= 1 - row["rto_s"] / horizon - 1e-9
        assert row["system_down_s"] == pytest.approx(row["rto_s"])
    # the plain quorum policy fails over in scenario order: a critical system is left short
    sim, _ = drill("site-loss-changsha", **{"dr.failover.name": "witness-quorum"})
    assert dr_of(sim) is not None
    short = {names[r.system] for r in dr_of(sim).records if r.vms_missing}
    assert {s for s in short if priority[s] == "critical"}


def test_a_flapping_gray_interconnect() -> None:
    sim, result = drill("flapping-link")
    dr = result.summary["dr"]
    assert faults_of(sim) is not None
    assert {o.effect for o in faults_of(sim).outages} == {"degrade"}  # no centre was ever lost
    assert dr["heartbeat_transitions"] > 50  # the monitors report losses that are not there
    assert dr["failovers"] == 0 and dr["split_brain_s"] == 0.0
    assert dr["fences"] > 0 and result.summary["availability"]["min"] == 1.0
    # nothing failed (the pairs stayed in sync): every fence was unnecessary, and counted
    assert dr["unnecessary_actions"] == dr["fences"]
    rows = [r for r in incidents(result) if r["dr_action"] == "fence"]
    assert rows and all(r["unnecessary"] == "false_alarm" for r in rows)
    # acting on every false report: unnecessary failovers
    sim, result = drill("flapping-link", **{"dr.failover.name": "timeout"})
    dr = result.summary["dr"]
    assert dr["failovers"] > 0 and dr["unnecessary_failovers"] == dr["failovers"]
    assert dr["split_brain_s"] == 0.0  # the witness lock still holds


def test_restore_from_chenzhou_after_ransomware() -> None:
    sim, result = drill("ransomware-restore")
    (row,) = incidents(result)
    plan = plans_of(sim)["hn-zwfw-portal"]
    assert plan.backup is not None
    assert row["system"] == "hn-zwfw-portal" and row["dr_action"] == "restore"
    assert row["to_datacenter"] == "cs-idc"  # restored in place
    # a full copy of its 9.4 TB would take 10.4 h at 2 Gbit/s (alone), longer than the
    # night: the incremental copy of the day's writes started at 01:00 was complete before
    # the 10:00 encryption, so 9 h of writes are lost (not 33 h, from the day before's)
    assert plan.backup_delay() == pytest.approx(9400e9 * 8 / 2e9)
    availability = {r["system"]: r for r in result.tables["availability"].to_pylist()}
    assert 0 < availability["hn-zwfw-portal"]["backup_max_s"] < 9 * HOUR
    assert row["data_lost_s"] == pytest.approx(9 * HOUR)
    noticed = 40 * 60
    assert row["rto_s"] == pytest.approx(noticed + plan.restore_seconds() + 60)
    assert availability["hn-zwfw-portal"]["downtime_s"] == pytest.approx(row["rto_s"])
    assert sum(r["downtime_s"] for r in availability.values()) == pytest.approx(row["rto_s"])
