"""Resizes of running cloud hosts: hand-computed refusals and acceptances, the thinned
Poisson stream against its rate, and capacity and quota invariants under random streams."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import ScenarioError, Simulation
from cloudsim.iaas.resizes import flavor_order, target_flavor
from cloudsim.platform.platform import quota_need
from cloudsim.state.vms import VMStatus
from tests.conftest import build, module_of, tiny

DAY = 86400.0
FLAVORS = [
    {"name": "c16m32", "vcpus": 16, "memory": "32GiB", "disk": "100GB"},
    {"name": "c4m8", "vcpus": 4, "memory": "8GiB", "disk": "100GB"},
    {"name": "c8m16", "vcpus": 8, "memory": "16GiB", "disk": "100GB"},
]


def one_host(quota_vcpus: int | None = None, **sections: Any) -> Simulation:
    """One host of 16 vCPUs (8 cores x 2 threads, no overcommit) holding portal's c4m8
    (health) and filler's c8m16 (finance): 12 of 16 vCPUs allocated."""
    quota = {} if quota_vcpus is None else {"vcpus": quota_vcpus}
    data = tiny(
        pools=[
            {
                "name": "general",
                "datacenter": "dc1",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 1}],
            }
        ],
        flavors=FLAVORS,
        host_classes=[{"name": "std", "cores": 8, "memory": "128GiB", "disk": "2TB"}],
        departments=[{"name": "health", "quota": quota}, {"name": "finance"}],
        systems=[
            {
                "name": name,
                "department": dept,
                "zone": "extranet",
                "datacenters": ["dc1"],
                "vms": [{"flavor": flavor, "count": 1}],
            }
            for name, dept, flavor in (("portal", "health", "c4m8"), ("filler", "finance", "c8m16"))
        ],
        **sections,
    )
    sim = Simulation(build(data), 1)
    sim.start()
    return sim


def test_a_resize_is_applied_in_place_until_the_host_is_full() -> None:
    sim = one_host()
    platform, hosts = sim.platform, sim.hosts
    portal = int(np.flatnonzero(platform.vms.live & (platform.vms.ints["system"] == 0))[0])
    assert hosts.free[0, 0] == 4000  # 16 vCPUs - 4 - 8, in millicores
    # c4m8 -> c8m16: 4 more vCPUs, exactly what is left
    assert platform.resize(portal, 2, 10.0) == ""
    assert hosts.free[0, 0] == 0 and platform.vms.ints["flavor"][portal] == 2
    assert (platform.vms.demand[:, portal] == platform.demand[:, 2]).all()
    assert platform.usage[0, 0] == 8  # health's vCPUs
    # c8m16 -> c16m32: 8 more vCPUs, none left: refused naming the resource, unchanged
    assert platform.resize(portal, 0, 20.0) == "host_full_cpu"
    assert hosts.free[0, 0] == 0 and platform.vms.ints["flavor"][portal] == 2
    # down again gives the 4 vCPUs back
    assert platform.resize(portal, 1, 30.0) == ""
    assert hosts.free[0, 0] == 4000 and platform.usage[0, 0] == 4
    events = sim.recorder.events
    kinds = [k for k in events["kind"] if k.startswith("resize")]
    assert kinds == ["resize", "resize_refused", "resize"]


def test_the_quota_is_checked_before_the_host_and_names_the_kind() -> None:
    sim = one_host(quota_vcpus=6)
    platform = sim.platform
    portal = int(np.flatnonzero(platform.vms.live & (platform.vms.ints["system"] == 0))[0])
    assert platform.resize(portal, 2, 10.0) == "quota_vcpus"  # 4 + 4 > 6
    assert platform.usage[0, 0] == 4 and sim.hosts.free[0, 0] == 4000


def test_flavors_are_ordered_by_size_and_the_ends_have_no_target() -> None:
    sim = one_host()
    order, place = flavor_order(sim.scenario)
    assert [sim.scenario.flavors[i].name for i in order] == ["c4m8", "c8m16", "c16m32"]
    assert target_flavor(order, place, 1, up=False, steps=1) == -1  # below the smallest
    assert target_flavor(order, place, 1, up=True, steps=2) == 0
    assert target_flavor(order, place, 0, up=True, steps=1) == -1


def stream_scenario(**resizes: Any) -> dict[str, Any]:
    return tiny(
        meta={"name": "rs", "horizon": "100d", "seed": 1, "sample_interval": "10d"},
        flavors=FLAVORS,
        workload={
            "arrivals_per_day": 1.0,
            "lifetime": {"distribution": "fixed", "value": "10d"},
            "resizes": resizes,
        },
    )


def tenant_vm_days(result: Any, horizon: float) -> float:
    """Days of live cloud hosts of the tenants: the integral of N(t)."""
    vms = result.tables["vms"].to_pylist()
    return sum(min(v["deleted"] or horizon, horizon) - v["created"] for v in vms) / DAY


def test_share_per_day_is_a_poisson_stream_at_the_live_count_times_the_share() -> None:
    """Kept requests over ten runs against share x the integral of N(t) (thinning exact)."""
    asked, expected, candidates = 0, 0.0, 0
    for seed in range(10):
        sim = Simulation(build(stream_scenario(share_per_day=0.5)), seed)
        result = sim.run()
        asked += result.summary["resizes"]["requests"]
        expected += 0.5 * tenant_vm_days(result, 100 * DAY)
        candidates += module_of(sim, "iaas", "resizes").candidates
    assert expected > 1000
    assert abs(asked - expected) < 3.5 * math.sqrt(expected), (asked, expected)
    # keeping every candidate (the bound's rate: declared + every VM ever requested) would
    # be far off: most candidates are thinned out
    assert candidates > 2 * asked


def test_per_day_asks_that_many_a_day() -> None:
    counts = [
        Simulation(build(stream_scenario(per_day=3.0, up=0.5)), seed).run().summary["resizes"]
        for seed in range(5)
    ]
    total = sum(c["requests"] + c["without_cloud_host"] for c in counts)
    assert abs(total - 5 * 300) < 3.5 * math.sqrt(1500)
    assert all(c["refused_by_reason"].get("no_flavor", 0) > 0 for c in counts)
    assert all(c["accepted_up"] > 0 and c["accepted_down"] > 0 for c in counts)


def test_per_system_per_day_asks_that_many_of_each_system() -> None:
    """Two systems, 2 a day each for 100 days: each is asked about its own cloud hosts
    only, 200 times on average."""
    data = stream_scenario(per_system_per_day=2.0)
    data["workload"]["arrivals_per_day"] = 0.0
    data["systems"].append({**data["systems"][0], "name": "other", "vms": [
        {"flavor": "c16m32", "count": 2}
    ]})  # fmt: skip
    per_system: list[int] = []
    for seed in range(5):
        sim = Simulation(build(data), seed)
        sim.run()
        events = sim.recorder.events
        asked = [s for k, s in zip(events["kind"], events["system"], strict=True)
                 if k.startswith("resize")]  # fmt: skip
        per_system += [asked.count(0), asked.count(1)]
    assert abs(sum(per_system) - 10 * 200) < 3.5 * math.sqrt(2000)
    assert all(abs(c - 200) < 3.5 * math.sqrt(200) for c in per_system)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    share=st.floats(0.05, 2.0),
    up=st.floats(0.0, 1.0),
    steps=st.integers(1, 2),
    overcommit=st.sampled_from([1.0, 1.5, 4.0]),
    quota=st.one_of(st.none(), st.integers(4, 200)),
    seed=st.integers(0, 1000),
)
def test_capacity_and_quota_are_never_exceeded(
    share: float, up: float, steps: int, overcommit: float, quota: int | None, seed: int
) -> None:
    data = stream_scenario(share_per_day=share, up=up, steps=steps)
    data["meta"]["horizon"] = "40d"
    data["pools"][0]["cpu_overcommit"] = overcommit
    data["pools"][0]["hosts"][0]["count"] = 3
    data["systems"][0]["anti_affinity"] = "none"
    data["workload"]["arrivals_per_day"] = 2.0
    if quota is not None:
        data["departments"][0]["quota"] = {"vcpus": quota}
    sim = Simulation(build(data), seed)
    sim.start()
    platform, hosts = sim.platform, sim.hosts
    for t in np.linspace(0.5, 40, 20) * DAY:
        sim.env.run(until=t)
        vms = platform.vms
        live = vms.live & (vms.ints["status"] == VMStatus.RUNNING)
        assert (hosts.free >= 0).all()
        held = np.zeros_like(hosts.free)
        np.add.at(held.T, vms.ints["host"][live], vms.demand[:, live].T)
        assert (held == hosts.limit - hosts.free).all()  # integer units: exact
        need = sum(
            (quota_need(platform.demand, int(f), 1) for f in vms.ints["flavor"][live]),
            np.zeros(4, dtype=np.int64),
        )
        assert (platform.usage[:, 0] == need).all()
        if quota is not None:
            assert platform.usage[0, 0] <= max(quota, need[0])


@pytest.mark.parametrize(
    ("resizes", "says"),
    [
        ({"up": 0.5}, "give per_day, per_system_per_day or share_per_day (exactly one)"),
        ({"per_day": 1, "share_per_day": 0.1}, "exactly one"),
        ({"per_day": 1, "systems": ["portl"]}, "portal"),
    ],
)
def test_bad_resize_sections_are_refused_naming_the_field(
    resizes: dict[str, Any], says: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        build(stream_scenario(**resizes))
    assert "workload.resizes" in str(info.value) and says in str(info.value)
