"""Failover mechanics, the DR ledger against theory, and properties that must hold for any
fault sequence: conservation of VMs and data, no split-brain with a witness, RTO after
detection, common random numbers across policies."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import Scenario, Simulation
from cloudsim.dr.control import DRController
from cloudsim.dr.replication import Diurnal
from cloudsim.ledger import VM_EVENT_CODES
from cloudsim.scenario.dr import OFFICE_DAY
from tests.conftest import build, dr_of, faults_of
from tests.dr.builders import REPLICATION, centre_down, cut, dr_scenario, dr_section
from tests.faults.builders import exponential, two_centres

DAY = 86400.0
HOUR = 3600.0


def controller(sim: Simulation) -> DRController:
    assert dr_of(sim) is not None
    return dr_of(sim)


def rows(sim: Simulation, table: str) -> list[dict[str, Any]]:
    return sim.run(steps=1).tables[table].to_pylist()


def by_system(incidents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [i for i in incidents if i["system"] == name]


# -------------------------------------------------------------------- mechanics


def test_a_centre_loss_shifts_the_pair_and_promotes_the_warm_standby() -> None:
    sim = Simulation(dr_scenario([centre_down(at="1d", duration="6h")]), 1)
    incidents = rows(sim, "incidents")
    dr = controller(sim)
    (pair,) = by_system(incidents, "both")
    assert pair["dr_action"] == "failover" and pair["to_datacenter"] == "dc2"
    # frozen while the loss is detected (3 missed 1 s heartbeats) and the vote settles (2 s)
    assert 3.0 <= pair["detected_at"] - DAY <= 5.0
    # ...then traffic is redirected to dc2 (GSLB/DNS, 60 s), as for a warm standby
    assert pair["rto_s"] == pytest.approx(pair["decided_at"] - DAY + 60)
    assert pair["completed_at"] == pytest.approx(pair["decided_at"] + 60)
    assert pair["rto_s"] < 68 and pair["data_lost_gb"] == 0.0 and pair["unnecessary"] == ""
    (one,) = by_system(incidents, "one")
    assert one["dr_action"] == "failover" and one["to_datacenter"] == "dr"
    # warm standby: decision + 2 min to resize + 60 s redirect
    assert one["rto_s"] == pytest.approx(one["decided_at"] - DAY + 120 + 60)
    # the asynchronous copy lacks the batch being filled (none: the loss falls on a 30 s
    # batch boundary) and the writes in flight (the route's one-way latency)
    assert one["restored_by"] == "dr" and 0.0 < one["data_lost_s"] < 1.0
    assert one["failback_s"] is not None and one["failback_s"] >= 0
    assert not by_system(incidents, "two")  # dc2 only, mode none
    assert dr.split_brain_s.sum() == 0
    # after the failback the standby VMs are back to a quarter of their size
    vms = sim.platform.vms
    one_i = 1
    rows_dr = np.flatnonzero(
        vms.live & (vms.ints["system"] == one_i) & (vms.ints["datacenter"] == 2)
    )
    flavor = vms.ints["flavor"][rows_dr]
    assert len(rows_dr) == 3
    full = sim.platform.demand[:, flavor]
    assert np.all(vms.demand[:, rows_dr] < full) or np.all(vms.demand[0, rows_dr] < full[0])
    assert dr.systems[one_i].phase == "normal" and dr.systems[one_i].primaries == {0}


def test_a_partition_with_a_witness_fences_one_side_and_never_splits() -> None:
    sim = Simulation(dr_scenario([cut()]), 1)
    incidents = rows(sim, "incidents")
    (pair,) = by_system(incidents, "both")
    assert pair["dr_action"] == "fence" and pair["component"] == "cut"
    assert pair["split_brain_s"] == 0.0 and pair["data_lost_gb"] == 0.0
    assert pair["rto_s"] < 8  # frozen only until the witness picks a side
    summary = sim.run(steps=1).summary["dr"]
    assert summary["failovers"] == 0 and summary["split_brain_s"] == 0


def test_without_a_witness_timeout_splits_the_brain_and_quorum_waits() -> None:
    timeout = Simulation(dr_scenario([cut()], policy="timeout", witness=False), 1)
    incidents = rows(timeout, "incidents")
    (pair,) = by_system(incidents, "both")
    # both sides go on alone past the cut, until the pair is reconciled: here by the
    # automatic failback 10 min after the link is back (before the 30-min reconciliation)
    # (writing apart from the end of the 60 s traffic redirect to each side)
    assert pair["split_brain_s"] == pytest.approx(20 * 60 + 600 - 60, abs=10)
    assert pair["unnecessary"] == "false_alarm" and pair["data_lost_gb"] > 0
    assert controller(timeout).split_brain_s[0] == pytest.approx(pair["split_brain_s"])
    # a 2-minute reconciliation: the older side stands down then, its writes discarded
    quick = Simulation(
        dr_scenario([cut()], policy="timeout", witness=False, reconcile_time="2m"), 1
    )
    (pair,) = by_system(rows(quick, "incidents"), "both")
    assert pair["split_brain_s"] == pytest.approx(20 * 60 + 120 - 60, abs=10)
    assert pair["data_lost_gb"] > 0 and controller(quick).repl.conserved()
    kinds = quick.recorder.events["reason"]
    assert any("stands down: reconciled" in str(k) for k in kinds)
    quorum = Simulation(dr_scenario([cut()], policy="witness-quorum", witness=False), 1)
    (waited,) = by_system(rows(quorum, "incidents"), "both")
    assert waited["dr_action"] == "" and waited["restored_by"] == "repair"
    assert waited["rto_s"] == pytest.approx(20 * 60)  # frozen for the whole cut
    assert controller(quorum).split_brain_s.sum() == 0


def test_with_a_witness_even_the_timeout_policy_cannot_split() -> None:
    sim = Simulation(dr_scenario([cut()], policy="timeout"), 1)
    incidents = rows(sim, "incidents")
    (pair,) = by_system(incidents, "both")
    assert pair["split_brain_s"] == 0.0
    assert "the witness lock is held by" in pair["dr_failure"]


def test_a_backup_only_system_is_restored_at_the_restore_centre() -> None:
    at = DAY + 2 * HOUR  # backups start every day at 0:00 and take 100 GB / 1 Gbit/s = 800 s
    sim = Simulation(dr_scenario([centre_down(at="26h")], one="backup-only"), 1)
    (one,) = by_system(rows(sim, "incidents"), "one")
    assert one["dr_action"] == "restore" and one["to_datacenter"] == "dr"
    assert one["data_lost_s"] == pytest.approx(2 * HOUR)
    restore = 800.0 + 120 + 60  # transfer, start the VMs, redirect
    assert one["rto_s"] == pytest.approx(one["decided_at"] - at + restore)
    night = Diurnal(OFFICE_DAY)  # the writes of 00:00-02:00 at 20 Mbit/s, office-day shaped
    written = 20e6 / 8 * float(night.integral(at) - night.integral(at - 2 * HOUR))
    assert one["data_lost_gb"] == pytest.approx(written / 1e9)


def test_capacity_aware_sheds_a_normal_system_to_keep_a_critical_one_up() -> None:
    data = two_centres({"scripted": [centre_down("dc1")]})
    data["meta"]["horizon"] = "3d"
    data["pools"][1]["hosts"][0]["count"] = 3  # dc2: 3 hosts
    data["systems"][1]["priority"] = "critical"  # 'one': 6 x c8m32 in dc1
    data["systems"][2]["vms"][0] = {"flavor": "c8m32", "count": 10}  # room for 2 more in dc2
    data["systems"][0]["datacenters"] = ["dc1"]
    data["systems"][0]["vms"][0]["count"] = 2
    entry = {
        "match": "one",
        "mode": "active-standby",
        "standby": {"datacenter": "dc2", "kind": "cold", "start_time": "1m"},
        "replication": copy.deepcopy(REPLICATION),
    }
    normal = {"match": "two", "mode": "active-standby", "standby": {"datacenter": "dc1"}}
    outcome = {}
    for policy in ("capacity-aware", "witness-quorum"):
        section = dr_section(policy)
        section["systems"] = [entry, normal]
        scenario = build({**data, "dr": section})
        sim = Simulation(scenario, 1)
        sim.run(steps=1)
        records = controller(sim).records
        failover = next(r for r in records if r.system == 1 and r.action == "failover")
        sheds = [r for r in records if r.action == "shed"]
        outcome[policy] = (failover.vms_missing, [r.system for r in sheds])
    assert outcome["capacity-aware"] == (0, [2])  # 'two' shed in dc2, 'one' fully there
    assert outcome["witness-quorum"][0] > 0 and outcome["witness-quorum"][1] == []


# -------------------------------------------------------------------- against theory


def poisson_times(rng: np.random.Generator, start: float, end: float, gap: float) -> list[float]:
    times = []
    t = start + rng.exponential(gap)
    while t < end:
        times.append(t)
        t += rng.exponential(gap) + HOUR  # an hour apart at least: outages never overlap
    return times


@pytest.mark.slow
def test_async_mean_data_loss_equals_the_time_average_lag() -> None:
    """Failures independent of the lag see its time average (PASTA): the mean data lost at
    failover equals the time-average async lag, within a confidence band over many failures.
    The write rate runs over the system's share of the link 12 hours a day."""
    losses: list[float] = []
    lags: list[float] = []
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        times = poisson_times(rng, HOUR, 80 * DAY, DAY)
        scripted = [
            {"target": "dc1", "at": t, "duration": "10m", "name": f"f{i}"}
            for i, t in enumerate(times)
        ]
        section = dr_section(
            "timeout", failback={"name": "automatic-failback", "params": {"stable_for": 0}}
        )
        one = section["systems"][1]
        one["standby"]["kind"] = "cold"
        one["standby"]["start_time"] = "1m"
        one["replication"] = {
            "write_rate": "100Mbps",
            "diurnal": [1.9] * 12 + [0.1] * 12,
            "asynchronous": {"to": "dr", "share": 0.012},  # 120 Mbit/s of the 10 Gbit/s
        }
        section["systems"] = [one]
        section["tick"] = "5m"
        data = two_centres({"scripted": scripted}, dr=section)
        data["meta"]["horizon"] = "81d"
        sim = Simulation(build(data), seed)
        sim.run(steps=1)
        dr = controller(sim)
        records = [r for r in dr.records if r.system == 1 and r.action == "failover"]
        assert len(records) == len(times)
        losses += [r.data_lost_s for r in records]
        lags.append(dr.lag_sum[1] / dr.lag_samples[1])
    mean_loss = float(np.mean(losses))
    mean_lag = float(np.mean(lags))
    band = 3.5 * float(np.std(losses, ddof=1)) / math.sqrt(len(losses))
    assert mean_lag > HOUR  # the lag is real: hours at the end of the busy half-day
    assert abs(mean_loss - mean_lag) < band, (mean_loss, mean_lag, band)
    # ...and a wrong model (loss = the lag's maximum) is far outside the band
    assert abs(mean_loss - 2 * mean_lag) > 3 * band


@pytest.mark.slow
def test_periodic_backup_loss_is_uniform_on_d_minus_n_to_t_plus_d_minus_n() -> None:
    """A corruption at a random moment, restored when noticed n later, loses the writes
    since the start of the newest backup started before it and complete by the restore (a
    copy under way at the corruption is clean: it is of its start): Uniform[d - n, T + d - n]
    for backups every T taking d (a loss with n = 0, a centre's: Uniform[d, T + d])."""
    interval, delay, noticed = 6 * HOUR, HOUR, 300.0
    size_gb = delay * 1.0 / 8  # 1 Gbit/s for one hour
    rng = np.random.default_rng(7)
    times = poisson_times(rng, DAY, 300 * DAY, DAY)
    scripted = [
        {"target": "one", "effect": "corrupt", "at": t, "duration": "5m", "name": f"c{i}"}
        for i, t in enumerate(times)
    ]
    section = dr_section("witness-quorum", one="backup-only")
    section["systems"][1]["replication"]["backup"] = {
        "to": "dr",
        "interval": interval,
        "size": f"{size_gb}GB",
        "bandwidth": "1Gbps",
        "restore_bandwidth": "10Gbps",
    }
    section["systems"] = [section["systems"][1]]
    data = two_centres({"scripted": scripted}, dr=section)
    data["meta"]["horizon"] = "301d"
    sim = Simulation(build(data), 1)
    result = sim.run(steps=1)
    dr = controller(sim)
    losses = np.sort([r.data_lost_s for r in dr.records if r.action == "restore"])
    assert len(losses) == len(times) > 200
    low = delay - noticed
    assert losses.min() >= low - 1e-6 and losses.max() <= interval + low + 1e-6
    n = len(losses)
    cdf = (losses - low) / interval
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.63 / math.sqrt(n), ks  # Kolmogorov-Smirnov at the 1 % level
    assert abs(losses.mean() - (low + interval / 2)) < 3.5 * interval / math.sqrt(12 * n)
    # some corruptions came while a copy ran that completed before the restore: they lose
    # less than d (the old model, copies complete before the corruption only, cannot)
    assert (losses < delay - 1).sum() > 0
    # restored in place each time: down from the corruption to the end of the restore
    incidents = [i for i in result.tables["incidents"].to_pylist() if i["system"] == "one"]
    assert all(i["restored_by"] == "dr" for i in incidents)
    assert all(i["rto_s"] >= 5 * 60 + delay / 10 for i in incidents)


# -------------------------------------------------------------------- properties

TARGETS = ["dc1", "dc2", "city", "far", "dc1/pd0", "dc1-0003", "dc1--dc2", "dc1--dr", "dc2--dr"]
faults_strategy = st.lists(
    st.tuples(
        st.sampled_from([*TARGETS, "degrade", "corrupt"]),
        st.floats(0.0, 2.5, allow_nan=False),
        st.floats(0.005, 1.0, allow_nan=False),
    ),
    max_size=6,
)


def scripted_faults(faults: list[tuple[str, float, float]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for target, at, duration in faults:
        fault: dict[str, Any] = {"target": target, "at": at * DAY, "duration": duration * DAY}
        if target == "degrade":
            fault.update(target="dc1--dc2", effect="degrade", loss=0.4)
        elif target == "corrupt":
            fault.update(target="both", effect="corrupt", duration=600)
        out.append(fault)
    return out


def check_conservation(sim: Simulation) -> None:
    """Every VM is running, waiting to restart, or recorded as deleted or lost; allocations
    are exactly the live VMs' demands; every byte written is shipped, queued, or dropped as
    loss the ledger records (or covered by a restore's recorded loss)."""
    vms, hosts = sim.platform.vms, sim.hosts
    assert faults_of(sim) is not None
    kinds = sim.recorder.events["kind"]
    created = sum(k in ("initial", "create", "dr_create") for k in kinds)
    ended = sum(k in ("delete", "dr_delete", "lost") for k in kinds)
    assert vms.count == created - ended
    waiting = {
        w.row
        for vm_id, w in faults_of(sim).ha.waiting.items()
        if vms.live[w.row] and vms.ints["vm_id"][w.row] == vm_id
    }
    live = np.flatnonzero(vms.live)
    running = [r for r in live.tolist() if r not in waiting]
    assert hosts.up[vms.ints["host"][running]].all()
    expected = np.zeros_like(hosts.free)
    np.add.at(expected.T, vms.ints["host"][live], vms.demand[:, live].T)
    assert np.array_equal(hosts.limit - hosts.free, expected)
    dr = controller(sim)
    repl = dr.repl
    assert repl.conserved()
    dropped = repl.dropped_async.sum() + repl.dropped_mirror.sum()
    assert dropped == pytest.approx(dr.charged_bytes + dr.absorbed_bytes, rel=1e-9, abs=1.0)
    recorded = sum(r.data_lost_bytes for r in dr.records)
    assert recorded >= dr.charged_bytes * (1 - 1e-9)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    faults=faults_strategy,
    policy=st.sampled_from(["witness-quorum", "timeout", "manual", "capacity-aware"]),
    witness=st.booleans(),
    one=st.sampled_from(["warm", "cold", "backup-only"]),
    seed=st.integers(0, 2**16),
)
def test_conservation_no_split_brain_with_a_witness_and_rto_after_detection(
    faults: list[tuple[str, float, float]], policy: str, witness: bool, one: str, seed: int
) -> None:
    scenario = dr_scenario(
        scripted_faults(faults),
        horizon="3d",
        policy=policy,
        witness=witness,
        one=one,
        failback={"name": "automatic-failback", "params": {"stable_for": "5m"}},
    )
    sim = Simulation(scenario, seed)
    sim.start()
    for hour in (12, 30, 55):
        sim.env.run(until=hour * HOUR)
        check_conservation(sim)
    result = sim.run(steps=1)
    check_conservation(sim)
    dr = controller(sim)
    if witness:
        assert dr.split_brain_s.sum() == 0  # two writable primaries only without a witness
    for incident in result.tables["incidents"].to_pylist():
        if incident["restored_by"] == "dr" and incident["detected_at"] is not None:
            detection = incident["detected_at"] - incident["failed_at"]
            assert incident["rto_s"] >= detection - 1e-6, incident
    # the ledger's replay of the VM events matches the VMs really running
    ev = sim.recorder.events
    code = np.array([VM_EVENT_CODES.get(k, -1) for k in ev["kind"]])
    assert (code >= 0).sum() > 0


# -------------------------------------------------------------------- seeds and policies

STOCHASTIC: dict[str, Any] = {
    "datacenter": {"time_to_failure": exponential("20d"), "repair": exponential("4h")},
    "link": {"time_to_failure": exponential("15d"), "repair": exponential("1h")},
    "host": {"time_to_failure": exponential("30d"), "repair": exponential("6h")},
}


def stochastic(policy: str) -> Scenario:
    return dr_scenario(horizon="60d", faults=STOCHASTIC, policy=policy)


@pytest.mark.slow
def test_same_seed_same_incidents_and_the_policy_never_changes_the_faults() -> None:
    a, b = (Simulation(stochastic("witness-quorum"), 3) for _ in range(2))
    ra, rb = a.run(steps=1), b.run(steps=1)
    assert ra.tables["incidents"].num_rows > 5
    assert ra.tables["incidents"].equals(rb.tables["incidents"])
    assert ra.tables["availability"].equals(rb.tables["availability"])
    assert ra.summary == rb.summary
    assert faults_of(a) is not None
    faults = [(o.label, o.start, o.end) for o in faults_of(a).outages]
    for policy in ("timeout", "manual", "capacity-aware"):
        other = Simulation(stochastic(policy), 3)
        other.run(steps=1)
        assert faults_of(other) is not None
        assert [(o.label, o.start, o.end) for o in faults_of(other).outages] == faults


def test_random_corruptions_are_a_poisson_process_and_dr_restores_each() -> None:
    """Random corruptions of ``one`` (backup-only) every 5 days on average over 200 days:
    the count is Poisson's, each is noticed after its delay and restored from a backup taken
    before it, and none starts while the previous one is not restored yet."""
    scenario = dr_scenario(
        horizon="200d",
        one="backup-only",
        faults={
            "corruption": {
                "systems": ["one"],
                "mean_interval": "5d",
                "noticed_after": {"distribution": "fixed", "value": "30m"},
            }
        },
    )
    sim = Simulation(scenario, 4)
    result = sim.run(steps=1)
    outages = [o for o in faults_of(sim).outages if o.effect == "corrupt"]
    expected = 200 / 5  # minus the few skipped while one is being restored
    assert abs(len(outages) - expected) < 4 * math.sqrt(expected)
    assert all(o.label.startswith("corruption:one#") for o in outages)
    assert all(o.noticed == pytest.approx(o.start + 1800) for o in outages)
    for earlier, later in itertools.pairwise(outages):
        assert earlier.end <= later.start  # restored before the next one
    rows_ = [r for r in result.tables["incidents"].to_pylist() if r["cause"] == "stochastic"]
    restores = [r for r in rows_ if r["dr_action"] == "restore"]
    assert len(restores) == len(outages) and all(r["restored_by"] == "dr" for r in restores)
    # the same seed, another failover policy: the same corruptions (their own stream)
    other = Simulation(
        dr_scenario(
            horizon="200d",
            one="backup-only",
            policy="manual",
            faults=scenario.faults.model_dump(include={"corruption"}) if scenario.faults else {},
        ),
        4,
    )
    other.run(steps=1)
    starts = [o.start for o in faults_of(other).outages if o.effect == "corrupt"]
    assert starts[: len(outages) // 2] == [o.start for o in outages][: len(outages) // 2]
