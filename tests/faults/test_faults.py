"""Fault injection and local HA: theory, failure domains, scripted and trace faults, streams,
conservation of VMs, and clear errors for bad fault sections."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import Scenario, ScenarioError, Simulation
from cloudsim.faults import FaultInjector, read_failure_trace
from cloudsim.ledger import VM_EVENT_CODES, running_deltas
from cloudsim.platform.platform import QUOTA_KINDS
from cloudsim.scenario.faults import Faults
from cloudsim.state.vms import VMStatus
from tests.conftest import build, faults_of
from tests.faults.builders import IN_PLACE, exponential, hosts_with_one_system, two_centres

DAY = 86400.0
HOUR = 3600.0
SEEDS = range(12)


def availability(scenario: Scenario, seed: int) -> float:
    table = Simulation(scenario, seed).run(steps=1).tables["availability"]
    return float(table.column("availability")[0].as_py())


def band(values: list[float]) -> tuple[float, float]:
    """Mean over seeds and a 3.5-sigma half-width of that mean."""
    return float(np.mean(values)), 3.5 * float(np.std(values, ddof=1)) / math.sqrt(len(values))


def injector(sim: Simulation) -> FaultInjector:
    found: FaultInjector = faults_of(sim)
    return found


def outages(sim: Simulation) -> list[tuple[str, str, str, float, float]]:
    return [(o.label, o.kind, o.cause, o.start, o.end) for o in injector(sim).outages]


# -------------------------------------------------------------------- against theory


def test_single_repairable_unit_availability() -> None:
    """A = MTTF / (MTTF + MTTR) for any distributions (Weibull failures, lognormal repairs);
    local HA on: the VM waits for its host (the only one) and restarts when it is back."""
    shape, scale, median, sigma = 1.5, 10.0, 1.0, 0.5
    mttf = scale * math.gamma(1 + 1 / shape)
    mttr = median * math.exp(sigma**2 / 2)
    expected = mttf / (mttf + mttr)
    scenario = hosts_with_one_system(
        1,
        1,
        {
            "host": {
                "time_to_failure": {"distribution": "weibull", "shape": shape, "scale": "10d"},
                "repair": {"distribution": "lognormal", "median": "1d", "sigma": sigma},
            },
            "local_ha": {"restart_time": 0},
        },
        horizon="2000d",
    )
    mean, half = band([availability(scenario, seed) for seed in SEEDS])
    assert abs(mean - expected) < half, (mean, expected, half)
    # a wrong model (repairs twice as long) is far outside the band
    assert abs(mean - mttf / (mttf + 2 * mttr)) > 3 * half


@pytest.mark.slow
@pytest.mark.parametrize("crews", [1, 2])
def test_active_active_pair_with_one_and_two_crews(crews: int) -> None:
    """P(both down): two crews (l/(l+m))^2; one shared crew 2l^2/(m^2+2lm+2l^2)."""
    lam, mu = 1 / 2.0, 1 / 1.0  # per day: MTTF 2 d, MTTR 1 d
    two = (lam / (lam + mu)) ** 2
    one = 2 * lam**2 / (mu**2 + 2 * lam * mu + 2 * lam**2)
    expected, other = (one, two) if crews == 1 else (two, one)
    host = {"time_to_failure": exponential("2d"), "repair": exponential("1d"), "crews": crews}
    scenario = hosts_with_one_system(2, 2, {"host": host, "local_ha": IN_PLACE})
    mean, half = band([1 - availability(scenario, seed) for seed in SEEDS])
    assert abs(mean - expected) < half, (mean, expected, half)
    assert abs(mean - other) > 3 * half


@pytest.mark.slow
def test_k_of_n_with_independent_repair() -> None:
    """2 of 3 hosts needed: sum_{i>=2} C(3,i) A^i (1-A)^(3-i) with A = 4/5."""
    a = 4 / 5
    expected = sum(math.comb(3, i) * a**i * (1 - a) ** (3 - i) for i in (2, 3))
    faults = {
        "host": {"time_to_failure": exponential("4d"), "repair": exponential("1d")},
        "local_ha": IN_PLACE,
        "availability": {"required_fraction": 0.6},  # ceil(0.6 x 3) = 2
    }
    scenario = hosts_with_one_system(3, 3, faults)
    mean, half = band([availability(scenario, seed) for seed in SEEDS])
    assert abs(mean - expected) < half, (mean, expected, half)
    assert abs(mean - a**3) > 3 * half  # 3 of 3 would be a different answer


def test_repairs_queue_for_a_single_crew() -> None:
    host = {
        "time_to_failure": exponential("1d"),
        "repair": {"distribution": "fixed", "value": "6h"},
    }
    scenario = hosts_with_one_system(
        4, 1, {"host": {**host, "crews": 1}, "local_ha": IN_PLACE}, horizon="200d"
    )
    sim = Simulation(scenario, 3)
    sim.run(steps=1)
    repairs = sorted(o.end for o in injector(sim).outages if not math.isnan(o.end))
    # one crew, fixed 6 h repairs: repairs complete at least 6 h apart
    assert min(np.diff(repairs)) >= 6 * HOUR - 1e-6
    waited = [o.repair_started - o.start for o in injector(sim).outages]
    assert max(waited) > 0  # some repairs waited for the crew


# -------------------------------------------------------------------- failure domains


def run_until(sim: Simulation, t: float) -> None:
    sim.start()
    sim.env.run(until=t)


def hosts_under(sim: Simulation, racks: tuple[str, ...]) -> set[int]:
    index = [sim.hosts.rack_names.index(r) for r in racks]
    return set(np.flatnonzero(np.isin(sim.hosts.rack, index)).tolist())


def test_power_domain_takes_exactly_its_racks_hosts_for_exactly_its_duration() -> None:
    scripted = [{"target": "dc1/pd1", "at": "2026-01-03T00:00", "duration": "6h"}]
    sim = Simulation(build(two_centres({"scripted": scripted})))
    at, end = 2 * DAY, 2 * DAY + 6 * HOUR
    expected = hosts_under(sim, sim.world.topology.racks_in_power_domain("dc1/pd1"))
    assert 0 < len(expected) < 8
    run_until(sim, at)
    assert sim.hosts.up.all()
    run_until(sim, at + 1e-6)
    assert set(np.flatnonzero(~sim.hosts.up).tolist()) == expected
    run_until(sim, end)
    assert set(np.flatnonzero(~sim.hosts.up).tolist()) == expected
    run_until(sim, end + 1e-6)
    assert sim.hosts.up.all()
    (outage,) = injector(sim).outages
    assert (outage.start, outage.end, outage.hosts_down) == (at, end, len(expected))


def test_overlapping_failures_keep_a_host_down_until_the_last_one_ends() -> None:
    scripted = [
        {"target": "dc1/pd1", "at": "1d", "duration": "6h"},
        {"target": "dc1/rack001", "at": "27h", "duration": "1d"},
    ]
    sim = Simulation(build(two_centres({"scripted": scripted})))
    rack = hosts_under(sim, ("dc1/rack001",))
    pd = hosts_under(sim, sim.world.topology.racks_in_power_domain("dc1/pd1"))
    assert rack < pd
    run_until(sim, DAY + 7 * HOUR)  # power back, rack still failed
    assert set(np.flatnonzero(~sim.hosts.up).tolist()) == rack
    run_until(sim, 2 * DAY + 3 * HOUR)
    assert set(np.flatnonzero(~sim.hosts.up).tolist()) == rack
    run_until(sim, 2 * DAY + 3 * HOUR + 1)
    assert sim.hosts.up.all()


def test_site_loss_takes_its_hosts_and_witness_and_a_link_cut_takes_no_host() -> None:
    scripted = [
        {"target": "far", "at": "1d", "duration": "1h"},
        {"target": "dc2--dc1", "at": "2d", "duration": "20m"},
    ]
    sim = Simulation(build(two_centres({"scripted": scripted, "witness_site": "far"})))
    faults = sim.kernel.ctx.components
    dr = set(np.flatnonzero(sim.hosts.datacenter == sim.hosts.datacenter_names.index("dr")))
    links = sim.kernel.ctx.links
    c1, c2 = (links.centres.index(c) for c in ("dc1", "dc2"))
    direct = links.path(c1, c2)
    assert direct is not None and len(direct.links) == 1
    run_until(sim, DAY + 1)
    assert set(np.flatnonzero(~sim.hosts.up).tolist()) == dr
    assert faults.is_down("witness@far") and faults.is_down("dr") is False
    assert faults.removed() == ("far",)
    assert sim.world.topology.partition(faults.removed()) == [frozenset({"dc1", "dc2"})]
    run_until(sim, 2 * DAY + 1)
    assert sim.hosts.up.all() and not faults.is_down("witness@far")
    assert faults.removed() == ("dc1—dc2",)
    assert sim.world.topology.path("dc1", "dc2", faults.removed()) == ["dc1", "dr", "dc2"]
    # the shared network's routes follow (a route found before the cut is not reused)
    around = links.path(c1, c2)
    assert around is not None and len(around.links) == 2 and around.rtt_s > direct.rtt_s
    run_until(sim, 2 * DAY + 21 * 60)
    assert faults.removed() == ()
    assert links.path(c1, c2) == direct


# -------------------------------------------------------------------- local HA


def stopped_rows(sim: Simulation, host: int) -> list[int]:
    vms = sim.platform.vms
    return np.flatnonzero(vms.live & (vms.ints["host"] == host)).tolist()


def test_vms_restart_on_other_hosts_of_their_centre_after_the_restart_time() -> None:
    faults = {
        "scripted": [{"target": "dc1-0000", "at": "1d", "duration": "2h"}],
        "local_ha": {"restart_time": "5m"},
    }
    sim = Simulation(build(two_centres(faults)))
    sim.start()
    rows = stopped_rows(sim, 0)
    assert rows
    ids = sim.platform.vms.ints["vm_id"][rows].tolist()
    run_until(sim, DAY + 5 * 60)  # restart not yet done
    assert set(injector(sim).ha.waiting) == set(ids)
    run_until(sim, DAY + 5 * 60 + 1)
    assert not injector(sim).ha.waiting
    vms = sim.platform.vms
    assert np.all(vms.ints["host"][rows] != 0)
    assert np.all(sim.hosts.datacenter[vms.ints["host"][rows]] == 0)  # same centre
    ev = sim.recorder.events
    restarts = [t for t, k in zip(ev["time"], ev["kind"], strict=True) if k == "restart"]
    assert restarts == [DAY + 300.0] * len(rows)


def test_what_cannot_restart_is_recorded_and_retried_on_repair() -> None:
    faults = {
        "scripted": [{"target": "dc1", "at": "1d", "duration": "6h"}],
        "local_ha": {"restart_time": "3m"},
    }
    sim = Simulation(build(two_centres(faults)))
    result = sim.run()
    ev = sim.recorder.events
    failed = [
        (t, r, n)
        for t, k, r, n in zip(ev["time"], ev["kind"], ev["reason"], ev["count"], strict=True)
        if k == "restart_failed"
    ]
    stopped = sum(1 for k in ev["kind"] if k == "vm_down")
    assert stopped == 4 + 6  # dc1's half of "both" and all of "one"
    assert {r for _, r, _ in failed} == {"no_host_up"}
    assert sum(n for _, _, n in failed) == stopped
    assert {t for t, _, _ in failed} == {DAY + 180.0}
    restarts = [t for t, k in zip(ev["time"], ev["kind"], strict=True) if k == "restart"]
    assert restarts == [DAY + 6 * HOUR + 180.0] * stopped  # on repair, after the restart time
    assert result.summary["faults"]["vms_pending_end"] == 0
    avail = {r["system"]: r for r in result.tables["availability"].to_pylist()}
    assert avail["both"]["downtime_s"] == 0.0  # dc2 still runs half of it
    assert avail["one"]["downtime_s"] == pytest.approx(6 * HOUR + 180.0)
    assert avail["two"]["incidents"] == 0


def test_vms_that_wait_too_long_are_recorded_as_lost() -> None:
    faults = {
        "scripted": [{"target": "dc1", "at": "1d", "duration": "6h"}],
        "local_ha": {"restart_time": "3m", "give_up_after": "1h"},
    }
    sim = Simulation(build(two_centres(faults)))
    result = sim.run()
    vms = result.tables["vms"].to_pylist()
    lost = [v for v in vms if v["status"] == "lost"]
    assert len(lost) == 10 and all(v["deleted"] == DAY + HOUR for v in lost)
    assert result.summary["faults"]["vms_lost"] == 10
    assert not injector(sim).ha.waiting
    vms_quota = QUOTA_KINDS.index("vms")  # the lost VMs' quota is given back
    assert sim.platform.usage[vms_quota].sum() == sim.platform.vms.count == 18 - 10
    avail = {r["system"]: r for r in result.tables["availability"].to_pylist()}
    assert avail["one"]["vms_lost"] == 6
    assert avail["one"]["downtime_s"] == pytest.approx(29 * DAY)  # never comes back
    incidents = result.tables["incidents"].to_pylist()
    assert {i["system"]: i["vms_lost"] for i in incidents} == {"both": 4, "one": 6}


def test_without_local_ha_a_vm_waits_for_its_own_host() -> None:
    faults = {
        "scripted": [{"target": "dc1-0000", "at": "1d", "duration": "2h"}],
        "local_ha": {"enabled": False, "restart_time": "5m"},
    }
    sim = Simulation(build(two_centres(faults)))
    sim.start()
    rows = stopped_rows(sim, 0)
    run_until(sim, DAY + 2 * HOUR + 5 * 60)
    assert len(injector(sim).ha.waiting) == len(rows)
    run_until(sim, DAY + 2 * HOUR + 5 * 60 + 1)
    assert not injector(sim).ha.waiting
    assert np.all(sim.platform.vms.ints["host"][rows] == 0)


# -------------------------------------------------------------------- streams and seeds

STOCHASTIC: dict[str, Any] = {
    "host": {"time_to_failure": exponential("20d"), "repair": exponential("8h"), "crews": 2},
    "rack": {"time_to_failure": exponential("60d"), "repair": exponential("3h")},
    "local_ha": {"restart_time": "2m"},
}
WORKLOAD: dict[str, Any] = {
    "arrivals_per_day": 10,
    "lifetime": {"distribution": "lognormal", "median": "2d", "sigma": 1.0},
    "batch": {"min": 1, "max": 2},
}


def stochastic_scenario(**faults: Any) -> Scenario:
    data = two_centres({**STOCHASTIC, **faults}, workload=WORKLOAD)
    data["meta"]["horizon"] = "120d"
    return build(data)


def test_same_seed_same_incidents_and_another_seed_others() -> None:
    scenario = stochastic_scenario()
    a, b, c = (Simulation(scenario, seed).run() for seed in (4, 4, 5))
    assert a.tables["incidents"].num_rows > 10
    assert a.tables["incidents"].equals(b.tables["incidents"])
    assert a.tables["availability"].equals(b.tables["availability"])
    assert a.summary == b.summary
    assert not a.tables["incidents"].equals(c.tables["incidents"])


def test_placement_preset_does_not_change_which_faults_happen() -> None:
    spread = stochastic_scenario()
    binpack = spread.model_copy(
        update={"placement": spread.placement.model_copy(update={"preset": "binpack"})}
    )
    a, b = Simulation(spread, 8), Simulation(binpack, 8)
    ra, rb = a.run(), b.run()
    assert outages(a) == outages(b) and len(outages(a)) > 10
    # ...while what they do to the VMs depends on where the VMs are
    assert not ra.tables["incidents"].equals(rb.tables["incidents"])


def test_each_class_has_its_own_stream() -> None:
    with_racks = Simulation(stochastic_scenario(), 2)
    without = Simulation(stochastic_scenario(rack=None), 2)
    with_racks.run(steps=1)
    without.run(steps=1)
    hosts_a = [o for o in outages(with_racks) if o[1] == "host"]
    hosts_b = [o for o in outages(without) if o[1] == "host"]
    assert hosts_a == hosts_b and hosts_a
    assert any(o[1] == "rack" for o in outages(with_racks))


# -------------------------------------------------------------------- conservation

TARGETS = [
    "dc1",
    "dc2",
    "city",
    "far",
    "dc1/pd0",
    "dc1/pd1",
    "dc2/pd1",
    "dc1/rack002",
    "dc2/rack000",
    "dc1-0003",
    "dc2-0005",
    "dc1--dc2",
]
fault_lists = st.lists(
    st.tuples(
        st.sampled_from(TARGETS),
        st.floats(0.0, 7.5, allow_nan=False),
        st.floats(0.01, 3.0, allow_nan=False),
    ),
    max_size=8,
)


def check_state(sim: Simulation) -> None:
    """Every VM is running on an up host, waiting to restart, or recorded; allocations are
    exactly the live VMs' demands; hosts are down exactly under the failures in progress."""
    vms, hosts, faults = sim.platform.vms, sim.hosts, injector(sim)
    counts = faults.ha.counts()
    waiting_rows = {w.row for w in faults.ha.waiting.values()}
    live = np.flatnonzero(vms.live)
    assert waiting_rows <= set(live.tolist())
    running = np.array([r for r in live.tolist() if r not in waiting_rows], dtype=np.int64)
    assert hosts.up[vms.ints["host"][running]].all()
    expected = np.zeros_like(hosts.free)
    np.add.at(expected.T, vms.ints["host"][live], vms.demand[:, live].T)
    assert np.array_equal(hosts.limit - hosts.free, expected)
    kinds = sim.recorder.events["kind"]
    created = sum(k in ("initial", "create") for k in kinds)
    deleted = sum(k == "delete" for k in kinds)
    lost = sum(k == "lost" for k in kinds)
    assert len(running) + counts["restarting"] + counts["pending"] + lost == created - deleted
    now = sim.env.now
    down: set[int] = set()
    for o in faults.outages:
        if o.start <= now and not (o.end <= now):
            for kind, index in o.components:
                down |= set(faults.catalog.hosts_of(kind, index).tolist())
    assert set(np.flatnonzero(~hosts.up).tolist()) == down


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    faults=fault_lists,
    restart=st.sampled_from([0.0, 60.0, 3 * HOUR]),
    give_up=st.sampled_from([None, 2 * HOUR, DAY]),
    enabled=st.booleans(),
    hosts_fail=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_vms_are_conserved_through_any_fault_sequence(
    faults: list[tuple[str, float, float]],
    restart: float,
    give_up: float | None,
    enabled: bool,
    hosts_fail: bool,
    seed: int,
) -> None:
    section: dict[str, Any] = {
        "scripted": [{"target": t, "at": at * DAY, "duration": d * DAY} for t, at, d in faults],
        "local_ha": {"enabled": enabled, "restart_time": restart, "give_up_after": give_up},
    }
    if hosts_fail:
        section["host"] = {"time_to_failure": exponential("3d"), "repair": exponential("6h")}
    data = two_centres(section, workload=WORKLOAD)
    data["meta"]["horizon"] = "8d"
    sim = Simulation(build(data), seed)
    sim.start()
    for day in range(1, 9):
        sim.env.run(until=day * DAY - 1)
        check_state(sim)
    result = sim.run()
    # the ledger's replay of the event log ends with exactly the VMs really running
    ev = sim.recorder.events
    code = np.array([VM_EVENT_CODES.get(k, -1) for k in ev["kind"]])
    sel = code >= 0
    delta = running_deltas(code[sel], np.asarray(ev["vm"])[sel])
    replay = np.bincount(np.asarray(ev["system"])[sel], weights=delta, minlength=3)
    vms = sim.platform.vms
    waiting = {w.row for w in injector(sim).ha.waiting.values()}
    running = [r for r in np.flatnonzero(vms.live).tolist() if r not in waiting]
    actual = np.bincount(vms.ints["system"][running], minlength=3)
    assert np.array_equal(replay, actual)
    incidents = result.tables["incidents"].to_pydict()
    assert sum(incidents["vms_affected"]) == sum(k == "vm_down" for k in ev["kind"])
    resolved = (
        np.array(incidents["vms_restarted"])
        + np.array(incidents["vms_lost"])
        + np.array(incidents["vms_deleted"])
        + np.array(incidents["vms_waiting"])
    )
    assert np.array_equal(resolved, np.array(incidents["vms_affected"]))
    statuses = {int(s) for s in vms.columns()["status"]}
    assert statuses <= {int(s) for s in VMStatus}


# -------------------------------------------------------------------- traces


def write_trace(path: Path, rows: list[tuple[float, float, float]], **extra: Any) -> Path:
    table = pa.table(
        {
            "failure_interval": pa.array([int(r[0]) for r in rows], pa.int64()),
            "failure_duration": pa.array([int(r[1]) for r in rows], pa.int64()),
            "failure_intensity": pa.array([r[2] for r in rows], pa.float64()),
            **extra,
        }
    )
    pq.write_table(table, path)
    return path


def test_a_trace_takes_its_fraction_of_the_scope_down_for_each_duration(tmp_path: Path) -> None:
    ms = 1000
    path = write_trace(
        tmp_path / "t.parquet",
        [(DAY * ms, 2 * HOUR * ms, 0.25), (DAY * ms, HOUR * ms, 0.0), (DAY * ms, HOUR * ms, 1.0)],
    )
    trace = {"name": "t", "path": str(path), "scope": "dc1", "repeat": True}
    sim = Simulation(build(two_centres({"traces": [trace]})))
    dc1 = set(np.flatnonzero(sim.hosts.datacenter == 0).tolist())
    run_until(sim, DAY + 1)
    down = set(np.flatnonzero(~sim.hosts.up).tolist())
    assert len(down) == 2 and down <= dc1  # 25 % of dc1's 8 hosts
    run_until(sim, 3 * DAY + 1)
    assert set(np.flatnonzero(~sim.hosts.up).tolist()) == dc1  # intensity 1
    sim.run()
    trace_outages = injector(sim).outages
    # rows on days 1, 2, 3; the replay's first interval counts from day 3 (4, 5, 6, ...);
    # the intensity-0 rows (days 2, 5, ...) take nothing
    assert [o.start / DAY for o in trace_outages] == [float(d) for d in range(1, 30) if d % 3 != 2]
    assert {o.cause for o in trace_outages} == {"trace"}
    assert [o.end - o.start for o in trace_outages[:2]] == [2 * HOUR, HOUR]


@pytest.mark.parametrize(
    ("rows", "extra", "expected"),
    [
        ([(1, 1, 1.5)], {}, "failure_intensity is a fraction of hosts"),
        ([(-1, 1, 0.5)], {}, "must hold finite values >= 0"),
    ],
)
def test_bad_traces_are_clear_problems(
    tmp_path: Path, rows: list[tuple[float, float, float]], extra: dict[str, Any], expected: str
) -> None:
    path = write_trace(tmp_path / "bad.parquet", rows, **extra)
    problem = only_problem({"traces": [{"name": "t", "path": str(path)}]})
    assert problem.path == "faults.traces[t].path" and expected in problem.message


def test_a_trace_without_the_columns_or_not_parquet_is_refused(tmp_path: Path) -> None:
    pq.write_table(pa.table({"interval": [1]}), tmp_path / "cols.parquet")
    (tmp_path / "text.parquet").write_text("not parquet")
    for name, expected in (("cols", "lacks the column(s)"), ("text", "cannot read")):
        problem = only_problem(
            {"traces": [{"name": "t", "path": str(tmp_path / f"{name}.parquet")}]}
        )
        assert expected in problem.message, problem


def test_published_failure_trace_replays(shared_data: Path) -> None:
    folder = shared_data / "failures-cloud-uptime"
    files = sorted(folder.glob("*.parquet"))
    if not files:
        pytest.skip(f"no failure traces in {folder}")
    for path in files:
        trace = read_failure_trace(path)
        raw = pq.read_table(path)
        assert len(trace) == raw.num_rows
        assert trace.span == pytest.approx(sum(raw.column("failure_interval").to_pylist()) / 1000)
    path = files[0]
    data = two_centres({"traces": [{"name": "uptime", "path": str(path)}]})
    data["meta"]["horizon"] = "400d"
    sim = Simulation(build(data), 1)
    result = sim.run()
    trace = read_failure_trace(path)
    hosts = sim.hosts.size
    expected = [
        (start, duration)
        for start, duration, x in zip(trace.start, trace.duration, trace.intensity, strict=True)
        if start < 400 * DAY and round(x * hosts) > 0 and duration > 0
    ]
    got = injector(sim).outages
    assert len(got) == len(expected) > 0
    assert [o.start for o in got] == [s for s, _ in expected]
    for o, (start, duration) in zip(got, expected, strict=True):
        if not math.isnan(o.end):
            assert o.end == pytest.approx(start + duration)
    assert result.summary["faults"]["by_cause"] == {"trace": len(expected)}


# -------------------------------------------------------------------- bad input


def only_problem(faults: dict[str, Any]) -> Any:
    with pytest.raises(ScenarioError) as info:
        build(two_centres(faults))
    (problem,) = info.value.problems
    return problem


@pytest.mark.parametrize(
    ("faults", "path", "expected"),
    [
        (
            {"scripted": [{"target": "dc1/pd7", "at": "1d", "duration": "1h"}]},
            "faults.scripted[0].target",
            "unknown component 'dc1/pd7'; did you mean 'dc1/pd1'?",
        ),
        (
            {"scripted": [{"name": "x", "target": "dc1-0099", "at": "1d", "duration": "1h"}]},
            "faults.scripted[x].target",
            "unknown component 'dc1-0099'; did you mean 'dc1-000",
        ),
        (
            {"scripted": [{"target": "dc1", "at": "2025-12-31T00:00", "duration": "1h"}]},
            "faults.scripted[0].at",
            "is before meta.start",
        ),
        (
            {"scripted": [{"target": "dc1", "at": "31d", "duration": "1h"}]},
            "faults.scripted[0].at",
            "at or after the horizon (30d)",
        ),
        (
            {"scripted": [{"target": "dc1", "at": "2026-02-30T01:00", "duration": "1h"}]},
            "faults.scripted[0].at",
            "expected a date and time",
        ),
        (
            {"traces": [{"name": "t", "path": "/nonexistent/x.parquet"}]},
            "faults.traces[t].path",
            "no failure trace file at '/nonexistent/x.parquet'",
        ),
        (
            {"witness_site": "farr"},
            "faults.witness_site",
            "unknown site 'farr'; did you mean 'far'?",
        ),
        (
            {"witness": {"time_to_failure": exponential("1y"), "repair": exponential("1h")}},
            "faults",
            "need witness_site",
        ),
        (
            {"host": {"time_to_failur": exponential("1y"), "repair": exponential("1h")}},
            "faults.host.time_to_failur",
            "did you mean 'time_to_failure'?",
        ),
        (
            {"rack": {"time_to_failure": {"distribution": "gamma"}, "repair": exponential("1h")}},
            "faults.rack.time_to_failure",
            "exponential",
        ),
        (
            {
                "datacenter": {
                    "time_to_failure": exponential("1y"),
                    "repair": exponential("1h"),
                    "only": {"datacenters": ["dc3"]},
                }
            },
            "faults.datacenter.only.datacenters[0]",
            "unknown datacenter 'dc3'; did you mean 'dc2'?",
        ),
        (
            {
                "rack": {
                    "time_to_failure": exponential("1y"),
                    "repair": exponential("1h"),
                    "only": {"names": ["nowhere*"]},
                }
            },
            "faults.rack.only",
            "selects no rack component",
        ),
        (
            {
                "rack": {
                    "time_to_failure": exponential("1y"),
                    "repair": exponential("1h"),
                    "only": {"pools": ["x"]},
                }
            },
            "faults.rack.only.pools",
            "pools select hosts, not rack components",
        ),
        (
            {
                "corruption": {
                    "systems": ["nothing-*"],
                    "mean_interval": "30d",
                    "noticed_after": exponential("1h"),
                }
            },
            "faults.corruption.systems[0]",
            "'nothing-*' matches no system",
        ),
    ],
)
def test_bad_fault_sections_are_clear_problems(
    faults: dict[str, Any], path: str, expected: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        build(two_centres(faults))
    (problem,) = [p for p in info.value.problems if p.path == path]
    assert problem.file == "<scenario>"
    assert expected in problem.message, problem


def test_a_trace_scope_must_hold_hosts(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "t.parquet", [(1, 1, 0.5)])
    problem = only_problem({"traces": [{"name": "t", "path": str(path), "scope": "dc1--dc2"}]})
    assert problem.path == "faults.traces[t].scope" and "is a link" in problem.message


def test_fault_times_are_datetimes_or_offsets_and_round_trip() -> None:
    faults = Faults.model_validate(
        {
            "scripted": [
                {"target": "dc1", "at": "2026-03-01T02:00", "duration": "6h"},
                {"target": "dc1", "at": "36h", "duration": 60},
            ]
        }
    )
    first, second = faults.scripted
    assert isinstance(first.at, datetime) and first.at.isoformat() == "2026-03-01T02:00:00"
    assert second.at == 36 * HOUR and second.duration == 60.0
    assert Faults.model_validate(faults.model_dump(mode="json")) == faults


def test_stochastic_failures_of_a_subset_of_a_class() -> None:
    """Only the selected members fail: by centre, by name, by pool."""
    rate = {"time_to_failure": exponential("2d"), "repair": exponential("1h")}
    scenario = build(
        two_centres(
            {
                "datacenter": {**rate, "only": {"datacenters": ["dc2"]}},
                "rack": {**rate, "only": {"names": ["dc1/*"]}},
                "host": {**rate, "only": {"datacenters": ["dc2"]}},
            }
        )
    )
    sim = Simulation(scenario, 3)
    sim.run(steps=1)
    outages = faults_of(sim).outages
    by_kind: dict[str, set[str]] = {}
    for o in outages:
        by_kind.setdefault(o.kind, set()).add(o.label)
    assert by_kind["datacenter"] == {"dc2"}  # 30 days at a 2-day mean: it fails
    assert by_kind["rack"] and all(label.startswith("dc1/") for label in by_kind["rack"])
    hosts = sim.hosts
    assert by_kind["host"] and all(
        hosts.datacenter_names[int(hosts.datacenter[hosts.names.index(label)])] == "dc2"
        for label in by_kind["host"]
    )


def test_a_selection_by_role_spares_the_backup_centres_and_their_links() -> None:
    from cloudsim import load_scenario
    from cloudsim.scenario.faults import ComponentSelection
    from cloudsim.world import compile_world
    from tests.conftest import REPO

    world = compile_world(load_scenario(REPO / "scenarios" / "hunan-3s4c-dr.yaml"))
    catalog = world.catalog
    production = {dc.name for dc in world.scenario.datacenters if dc.role == "production"}
    only = ComponentSelection(roles=["production"])
    chosen = {catalog.names["datacenter"][i] for i in catalog.select("datacenter", only)}
    assert chosen == production and "yz-dr" not in chosen and "cz-bak" not in chosen
    links = [catalog.names["link"][i] for i in catalog.select("link", only)]
    assert links and all(
        catalog.centres_of("link", catalog.resolve(n).index) & production for n in links
    )
    # the witness's site holds no production centre: it is not selected
    assert catalog.select("witness", only).size == 0
