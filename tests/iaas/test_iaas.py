"""Cloud-host lifecycle: initial placement, quotas, all-or-nothing requests, departures."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cloudsim import Simulation, simulate
from cloudsim.scenario.schema import System, VMGroup
from cloudsim.state.vms import VMStatus
from cloudsim.world.inventory import deal_datacenters
from tests.conftest import build, tiny


def test_split_systems_are_dealt_evenly_over_their_centres() -> None:
    system = System(
        name="s",
        department="d",
        zone="z",
        datacenters=["a", "b"],
        vms=[VMGroup(flavor="x", count=3), VMGroup(flavor="y", count=2)],
    )
    assert sorted(deal_datacenters(system), key=str) == sorted(
        [("x", "a", 2), ("x", "b", 1), ("y", "a", 1), ("y", "b", 1)], key=str
    )
    anywhere = system.model_copy(update={"dc_placement": "any"})
    assert deal_datacenters(anywhere) == [("x", None, 3), ("y", None, 2)]


@given(
    counts=st.lists(st.integers(0, 40), min_size=1, max_size=4),
    centres=st.integers(1, 4),
)
def test_dealing_equals_handing_out_vms_one_by_one(counts: list[int], centres: int) -> None:
    dcs = [f"dc{i}" for i in range(centres)]
    system = System(
        name="s",
        department="d",
        zone="z",
        datacenters=dcs,
        vms=[VMGroup(flavor=f"f{i}", count=c) for i, c in enumerate(counts)],
    )
    naive: Counter[tuple[str, str]] = Counter()
    j = 0
    for i, c in enumerate(counts):
        for _ in range(c):
            naive[(f"f{i}", dcs[j % centres])] += 1
            j += 1
    assert Counter({(f, d): n for f, d, n in deal_datacenters(system)}) == naive


def two_centres() -> dict[str, object]:
    return tiny(
        datacenters=[
            {"name": "dc1", "site": "city", "racks": 4},
            {"name": "dc2", "site": "city", "racks": 4},
        ],
        pools=[
            {
                "name": f"p{i}",
                "datacenter": f"dc{i}",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 4}],
            }
            for i in (1, 2)
        ],
        systems=[
            {
                "name": "aa",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1", "dc2"],
                "vms": [{"flavor": "c4m8", "count": 6}],
            }
        ],
    )


def test_initial_vms_land_in_their_dealt_centres_one_per_host() -> None:
    sim = Simulation(build(two_centres()), seed=1)
    sim.start()
    vms = sim.platform.vms
    live = vms.live
    assert np.bincount(vms.ints["datacenter"][live], minlength=2).tolist() == [3, 3]
    hosts = vms.ints["host"][live]
    assert len(set(hosts.tolist())) == 6  # hard anti-affinity per host


def test_initial_vms_that_do_not_fit_are_recorded_with_a_reason() -> None:
    data = tiny(
        systems=[
            {
                "name": "big",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1"],
                "anti_affinity": "none",
                "vms": [{"flavor": "c8m32", "count": 40}],
            }
        ]
    )
    summary = simulate(build(data), seed=1).summary
    # 8 hosts x 128 GiB hold 4 VMs of 32 GiB each: 32 placed, 8 unplaced for memory
    assert summary["vms_initial"] == 32
    assert summary["vms_initial_unplaced"] == 8
    assert summary["initial_unplaced_by_reason"] == {"no_capacity_memory": 8}


def test_quota_rejects_whole_requests_and_is_given_back_on_deletion() -> None:
    data = tiny(
        departments=[{"name": "health", "quota": {"vcpus": 24, "vms": 100}}],
        workload={
            "arrivals_per_day": 4,
            "lifetime": {"distribution": "fixed", "value": "2d"},
            "batch": {"min": 2, "max": 2},
        },
    )
    sim = Simulation(build(data), seed=2)
    result = sim.run()
    s = result.summary
    # 4 initial VMs use 16 of 24 vCPUs: one 2-VM request (8 vCPU) fits at a time
    assert s["rejections_by_reason"].keys() == {"quota_vcpus"}
    assert s["vms_placed"] > 0 and s["vms_rejected"] > 0
    assert s["vms_placed"] + s["vms_rejected"] == s["vms_requested"]
    assert s["vms_requested"] % 2 == 0
    usage = sim.platform.usage[:, 0]
    live = sim.platform.vms.live
    assert usage[0] == 4 * int(live.sum()) <= 24
    assert usage[3] == int(live.sum())


def test_a_request_that_only_partly_fits_is_rolled_back() -> None:
    sim = Simulation(
        build(
            tiny(
                systems=[
                    {
                        "name": "portal",
                        "department": "health",
                        "zone": "extranet",
                        "datacenters": ["dc1"],
                        "vms": [{"flavor": "c4m8", "count": 6}],
                    }
                ]
            )
        ),
        seed=1,
    )
    sim.start()
    free_before = sim.hosts.free.copy()
    # host anti-affinity: 6 of 8 hosts used, a request for 3 more cannot all be placed
    rows = sim.platform.request(system=0, flavor=0, count=3, time=10.0)
    assert rows == []
    assert np.array_equal(sim.hosts.free, free_before)
    assert sim.platform.rejected == {"anti_affinity": 3}
    assert sim.platform.request(system=0, flavor=0, count=2, time=11.0) != []


def test_vms_leave_after_their_lifetime_and_free_their_host() -> None:
    data = tiny(
        meta={"name": "life", "horizon": "20d", "sample_interval": "1d"},
        workload={"arrivals_per_day": 3, "lifetime": {"distribution": "fixed", "value": "5d"}},
    )
    sim = Simulation(build(data), seed=4)
    result = sim.run()
    vms = result.tables["vms"].to_pydict()
    for created, deleted, status in zip(vms["created"], vms["deleted"], vms["status"], strict=True):
        if created > 0 and created < 15 * 86400:
            assert status == VMStatus.DELETED.name.lower()
            assert deleted == created + 5 * 86400
        if created == 0:
            assert status == "running" and deleted is None
    # what is still allocated is exactly the demand of the live VMs
    live = sim.platform.vms.live
    allocated = sim.hosts.limit - sim.hosts.free
    demand = sim.platform.vms.demand[:, live].sum(axis=1)
    assert np.array_equal(allocated.sum(axis=1), demand)
