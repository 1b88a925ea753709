"""The placement core on small hand-built host tables: exact hosts, scores and reasons."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pytest

from cloudsim.placement import PRESETS, SCORERS, register_preset, register_scorer
from cloudsim.placement.core import FILTER_ORDER, VM_PURPOSES, Placer, Request
from cloudsim.placement.scorers import Columns, FloatArray, FunctionScorer, ScoreContext
from cloudsim.scenario.schema import (
    DataCenter,
    Department,
    HostClass,
    HostGroup,
    Meta,
    Pool,
    Scenario,
    Site,
    Zone,
)
from cloudsim.state.hosts import ARCHES, PURPOSES, HostTable

Z1, Z2, Z3 = 0, 1, 2  # z3 has no hosts
DC_A, DC_B = 0, 1
X86, ARM = ARCHES.index("x86_64"), ARCHES.index("aarch64")
DEPT_A, DEPT_B = 0, 1
GENERAL, DEDICATED, CONTAINER, STANDBY = (
    PURPOSES.index(p) for p in ("general", "dedicated", "container", "standby")
)

# 8 vCPU (8000 millicores), 16384 MiB, 100 GB, 10000 Mbit/s
SMALL = HostClass(name="small", cores=4, memory="16GiB", disk="100GB", network="10Gbps")
ARM_CLASS = HostClass(
    name="arm",
    cores=8,
    threads_per_core=1,
    memory="16GiB",
    disk="100GB",
    network="10Gbps",
    arch="aarch64",
)
BIG = HostClass(name="big", cores=16, memory="64GiB", disk="1000GB", network="25Gbps")
# 1 vCPU, 100 MiB, no disk, no network
TINY = HostClass(name="tiny", cores=1, threads_per_core=1, memory=100, disk=0, network=0)


def pool(
    name: str,
    count: int = 1,
    *,
    host_class: str = "small",
    datacenter: str = "dc-a",
    zone: str = "z1",
    **options: Any,
) -> Pool:
    return Pool(
        name=name,
        datacenter=datacenter,
        zone=zone,
        hosts=[HostGroup(host_class=host_class, count=count)],
        **options,
    )


def table(*pools: Pool, racks: int = 4) -> HostTable:
    scenario = Scenario(
        meta=Meta(name="placement-test"),
        sites=[Site(name="city")],
        datacenters=[
            DataCenter(name="dc-a", site="city", racks=racks, power_domains=1),
            DataCenter(name="dc-b", site="city", racks=racks, power_domains=1),
        ],
        zones=[Zone(name="z1"), Zone(name="z2"), Zone(name="z3")],
        host_classes=[SMALL, ARM_CLASS, BIG, TINY],
        pools=list(pools),
        departments=[Department(name="dept-a"), Department(name="dept-b")],
    )
    return HostTable.from_scenario(scenario)


def request(
    cpu: int = 1000,
    memory: int = 1024,
    disk: int = 0,
    network: int = 0,
    *,
    zone: int = Z1,
    datacenters: tuple[int, ...] = (DC_A,),
    arch: int = -1,
    department: int = -1,
    system: int = -1,
    anti_affinity: int = 0,
    purposes: tuple[int, ...] = VM_PURPOSES,
) -> Request:
    return Request(
        demand=np.array([cpu, memory, disk, network], dtype=np.int64),
        zone=zone,
        datacenters=datacenters,
        arch=arch,
        department=department,
        system=system,
        anti_affinity=anti_affinity,
        purposes=purposes,
    )


def placer(hosts: HostTable, seed: int = 0, **options: Any) -> Placer:
    return Placer(hosts, np.random.default_rng(seed), **options)


def preallocate(p: Placer, allocations: dict[int, list[int]]) -> None:
    for host, demand in allocations.items():
        full = np.zeros(4, dtype=np.int64)
        full[: len(demand)] = demand
        p.commit(host, Request(demand=full, zone=Z1, datacenters=(DC_A,)))


# -- filters -----------------------------------------------------------------------------
def filter_table() -> HostTable:
    return table(
        pool("a-z1-gen", 2),  # 0, 1
        pool("a-z1-arm", host_class="arm"),  # 2
        pool("b-z1-gen", 2, datacenter="dc-b"),  # 3, 4
        pool("a-z2-gen", zone="z2"),  # 5
        pool("a-z1-ded", purpose="dedicated", dedicated_to="dept-a"),  # 6
        pool("a-z1-stb", purpose="standby"),  # 7
        pool("a-z1-ctr", purpose="container"),  # 8
    )


def test_filter_table_layout() -> None:
    hosts = filter_table()
    assert hosts.names == [
        "a-z1-gen-0000",
        "a-z1-gen-0001",
        "a-z1-arm-0000",
        "b-z1-gen-0000",
        "b-z1-gen-0001",
        "a-z2-gen-0000",
        "a-z1-ded-0000",
        "a-z1-stb-0000",
        "a-z1-ctr-0000",
    ]
    assert hosts.zone.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0]
    assert hosts.arch.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert hosts.datacenter.tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0]
    assert hosts.purpose.tolist() == [0, 0, 0, 0, 0, 0, 1, 3, 2]
    assert hosts.dedicated_to.tolist() == [-1, -1, -1, -1, -1, -1, 0, -1, -1]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {0, 1, 2}),
        ({"zone": Z2}, {5}),
        ({"zone": Z3, "datacenters": (DC_A, DC_B)}, set()),
        ({"arch": X86}, {0, 1}),
        ({"arch": ARM}, {2}),
        ({"datacenters": (DC_B,)}, {3, 4}),
        ({"datacenters": (DC_A, DC_B)}, {0, 1, 2, 3, 4}),
        ({"datacenters": (DC_B, DC_A), "arch": X86}, {0, 1, 3, 4}),
        ({"department": DEPT_A}, {0, 1, 2, 6}),
        ({"department": DEPT_A, "arch": X86}, {0, 1, 6}),
        ({"department": DEPT_B}, {0, 1, 2}),
        ({"department": DEPT_A, "purposes": (DEDICATED,)}, {6}),
        ({"department": DEPT_B, "purposes": (DEDICATED,)}, set()),
        ({"department": DEPT_A, "purposes": (STANDBY,)}, {7}),
        ({"purposes": (CONTAINER,)}, {8}),
        ({"purposes": (GENERAL, STANDBY), "arch": X86}, {0, 1, 7}),
    ],
)
def test_static_filters_keep_exactly(options: dict[str, Any], expected: set[int]) -> None:
    hosts = filter_table()
    p = placer(hosts)
    req = request(**options)
    assert set(np.flatnonzero(p.static_mask(req)).tolist()) == expected
    assert p.explain(req).candidates == len(expected)
    # The whole pipeline agrees: a host-anti-affine system fills exactly these hosts.
    spread = request(**options, system=7, anti_affinity=1)
    placed = [p.place(spread) for _ in range(len(expected) + 1)]
    assert set(placed[:-1]) == expected
    assert placed[-1] == -1


def test_explain_counts_hosts_removed_by_each_filter() -> None:
    hosts = filter_table()
    p = placer(hosts)
    explanation = p.explain(request(arch=X86))
    assert explanation.candidates_before == 9
    assert explanation.removed_by == {
        "host_up": 0,
        "cordoned": 0,
        "zone": 1,  # host 5
        "architecture": 1,  # host 2
        "datacenter": 2,  # hosts 3, 4
        "pool": 3,  # dedicated to another department, standby, container
        "anti_affinity": 0,
        "cpu": 0,
        "memory": 0,
        "disk": 0,
        "network": 0,
    }
    assert list(explanation.removed_by) == list(FILTER_ORDER)
    assert explanation.candidates == 2
    assert explanation.reason is None
    hosts.set_up([0, 5], False)
    explanation = p.explain(request(arch=X86))
    assert explanation.removed_by["host_up"] == 2
    assert explanation.removed_by["zone"] == 0  # host 5 was already gone
    assert explanation.candidates == 1
    assert explanation.host == 1
    assert explanation.host_name == "a-z1-gen-0001"
    # No architecture asked for: that filter removes nothing.
    assert p.explain(request()).removed_by.get("architecture", 0) == 0


def test_host_down_is_never_used_and_invalidates_the_cached_mask() -> None:
    hosts = filter_table()
    p = placer(hosts)
    req = request(arch=X86)
    assert np.flatnonzero(p.static_mask(req)).tolist() == [0, 1]
    assert p.static_mask(req) is p.static_mask(req)  # cached while nothing changes
    hosts.set_up([0], False)
    assert np.flatnonzero(p.static_mask(req)).tolist() == [1]
    assert [p.place(req) for _ in range(6)] == [1] * 6
    hosts.set_up([1], False)
    assert p.place(req) == -1
    # Hosts 3, 4 and 6-8 are up but left by later filters; the pool filter empties last.
    assert p.reject_reason(req) == "no_pool_for_department"
    hosts.set_up([0, 1], True)
    assert np.flatnonzero(p.static_mask(req)).tolist() == [0, 1]
    assert p.place(req) == 0  # the emptier host


def test_standby_and_container_pools_are_never_used_by_default_vm_requests() -> None:
    hosts = table(
        pool("stb", 2, purpose="standby"),
        pool("ctr", 2, purpose="container"),
        pool("ded", 1, purpose="dedicated", dedicated_to="dept-a"),
    )
    p = placer(hosts)
    for department in (-1, DEPT_B):
        req = request(department=department)
        assert p.place(req) == -1
        assert p.reject_reason(req) == "no_pool_for_department"
        assert p.explain(req).removed_by["pool"] == 5
    assert [p.place(request(department=DEPT_A)) for _ in range(3)] == [4, 4, 4]
    assert np.array_equal(hosts.free[:, :4], hosts.limit[:, :4])


# -- capacity and overcommit ---------------------------------------------------------------
def test_cpu_overcommit_two_accepts_exactly_twice_the_vcpus() -> None:
    hosts = table(pool("plain"), pool("oc2", cpu_overcommit=2.0))
    assert hosts.capacity[0].tolist() == [8000, 8000]
    assert hosts.limit[0].tolist() == [8000, 16000]
    assert hosts.limit[1].tolist() == [16384, 16384]
    p = placer(hosts)
    req = request(cpu=1000, memory=0)
    placed = [p.place(req) for _ in range(25)]
    assert placed.count(0) == 8
    assert placed.count(1) == 16
    assert placed[-1] == -1
    assert hosts.free[0].tolist() == [0, 0]
    assert p.reject_reason(req) == "no_capacity_cpu"


def test_batch_stops_exactly_at_the_overcommitted_limit() -> None:
    hosts = table(pool("oc2", cpu_overcommit=2.0))
    p = placer(hosts)
    assert p.place_batch(request(cpu=1000, memory=0), 20) == [0] * 16 + [-1] * 4


def test_limit_is_the_floor_of_capacity_times_ratio() -> None:
    # 1000.5 millicores -> 1000; 100 MiB x 0.57 = 56.99999999999999 in floats -> 57.
    hosts = table(pool("tiny", host_class="tiny", cpu_overcommit=1.0005, memory_overcommit=0.57))
    assert hosts.capacity[:, 0].tolist() == [1000, 100, 0, 0]
    assert hosts.limit[:, 0].tolist() == [1000, 57, 0, 0]
    p = placer(hosts)
    assert p.place(request(cpu=1000, memory=19)) == 0
    assert p.place(request(cpu=0, memory=19)) == 0
    assert p.place(request(cpu=0, memory=19)) == 0
    assert hosts.free[:, 0].tolist() == [0, 0, 0, 0]
    assert p.place(request(cpu=0, memory=1)) == -1
    assert p.reject_reason(request(cpu=0, memory=1)) == "no_capacity_memory"
    assert p.reject_reason(request(cpu=1, memory=0)) == "no_capacity_cpu"
    assert p.reject_reason(request(cpu=0, memory=0, disk=1)) == "no_capacity_disk"
    assert p.reject_reason(request(cpu=0, memory=0, network=1)) == "no_capacity_network"
    # A request of nothing fits a full host.
    assert p.place(request(cpu=0, memory=0)) == 0


# -- scorers -------------------------------------------------------------------------------
def score_table() -> HostTable:
    """Three equal hosts (16000 millicores after 2x overcommit, 16384 MiB, 100 GB) in z1,
    and a big host in z2 that must never influence a z1 decision."""
    return table(pool("p", 3, cpu_overcommit=2.0), pool("other", host_class="big", zone="z2"))


SPREAD_STATE = {0: [4000, 4096], 1: [2000, 2048], 2: [6000, 6144]}


def test_spread_picks_the_least_allocated_host_with_exact_score() -> None:
    p = placer(score_table(), preset="spread")
    preallocate(p, SPREAD_STATE)
    explanation = p.explain(request())
    # host 1: 50 x (16000-2000-1000)/16000 + 50 x (16384-2048-1024)/16384 = 40.625 + 40.625
    assert explanation.host == 1
    assert explanation.score == 81.25
    assert explanation.tied_hosts == 1
    assert explanation.score_parts == {
        "least_allocated": {"raw": 81.25, "normalised": 81.25, "weight": 1.0}
    }
    assert p.place(request()) == 1


def test_binpack_picks_the_most_allocated_host() -> None:
    p = placer(score_table(), preset="binpack")
    preallocate(p, SPREAD_STATE)
    explanation = p.explain(request())
    assert explanation.host == 2
    assert explanation.score == 100.0 - 56.25
    assert p.place(request()) == 2


def test_binpack_skips_the_fullest_host_once_the_request_no_longer_fits() -> None:
    p = placer(score_table(), preset="binpack")
    preallocate(p, {2: [15500, 0]})
    assert p.place(request(cpu=1000)) in (0, 1)


BALANCED_STATE = {0: [6000, 6144], 1: [6000, 0], 2: [0, 10240]}


def test_balanced_picks_equal_cpu_and_memory_fractions() -> None:
    # After placing 2000 / 2048: host 0 at 0.5 / 0.5 (std 0), host 1 at 0.5 / 0.125
    # (std 0.1875), host 2 at 0.125 / 0.75 (std 0.3125).
    req = request(cpu=2000, memory=2048)
    p = placer(score_table(), preset="balanced")
    preallocate(p, BALANCED_STATE)
    explanation = p.explain(req)
    assert explanation.host == 0
    assert explanation.score == 100.0
    assert p.place(req) == 0
    # The same state under spread goes to host 1 (68.75 against 50 and 56.25).
    q = placer(score_table(), preset="spread")
    preallocate(q, BALANCED_STATE)
    assert q.explain(req).score == 68.75
    assert q.place(req) == 1


def test_balanced_scores_are_one_minus_std_of_fractions() -> None:
    req = request(cpu=2000, memory=2048)
    p = placer(score_table(), preset="balanced")
    preallocate(p, BALANCED_STATE)
    p.hosts.set_up([0], False)
    assert p.explain(req).score == 81.25
    p.hosts.set_up([1], False)
    assert p.explain(req).score == 68.75


def test_k8s_default_adds_least_allocated_and_balanced() -> None:
    p = placer(score_table(), preset="k8s-default")
    preallocate(p, SPREAD_STATE)  # every host has equal cpu and memory fractions
    explanation = p.explain(request())
    assert explanation.host == 1
    assert explanation.score == 181.25
    assert explanation.score_parts["balanced"]["raw"] == 100.0


NOVA_STATE = {0: [0, 8192, 10], 1: [8000, 0, 0], 2: [4000, 4096, 50]}


def test_nova_default_min_max_scales_each_weigher_over_the_candidates() -> None:
    # Free after placing 1000 / 1024 / 10:   cpu    memory  disk
    #   host 0                              15000    7168    80  -> 100 +   0 +  80
    #   host 1                               7000   15360    90  ->   0 + 100 + 100
    #   host 2                              11000   11264    40  ->  50 +  50 +   0
    # The big host in z2 is not a candidate and must not widen the ranges.
    req = request(cpu=1000, memory=1024, disk=10)
    p = placer(score_table(), preset="nova-default")
    preallocate(p, NOVA_STATE)
    explanation = p.explain(req)
    assert explanation.host == 1
    assert explanation.score == 200.0
    assert explanation.score_parts == {
        "free_memory": {"raw": 15360.0, "normalised": 100.0, "weight": 1.0},
        "free_cpu": {"raw": 7000.0, "normalised": 0.0, "weight": 1.0},
        "free_disk": {"raw": 90.0, "normalised": 100.0, "weight": 1.0},
    }
    assert p.place(req) == 1
    # Doubling the CPU weigher's multiplier turns the decision to host 0 (280 vs 200, 150).
    q = placer(score_table(), preset="nova-default", weights={"free_cpu": 2.0})
    preallocate(q, NOVA_STATE)
    assert q.explain(req).score == pytest.approx(280.0, abs=1e-9)
    assert q.place(req) == 0


def test_nova_default_is_not_a_raw_sum() -> None:
    # Free after the request: host 0 cpu 9000, memory 8000, disk 90 (better in two
    # weighers), host 1 cpu 8000, memory 15000, disk 10 (far more memory). A raw sum
    # prefers host 1; min-max scaling gives host 0 200 against 100.
    req = request(cpu=1000, memory=1024, disk=10)
    p = placer(score_table(), preset="nova-default")
    preallocate(p, {0: [6000, 7360, 0], 1: [7000, 360, 80]})
    p.hosts.set_up([2], False)
    explanation = p.explain(req)
    assert explanation.host == 0
    assert explanation.score == 200.0
    assert p.place(req) == 0


def test_nova_default_rescales_over_the_hosts_still_candidates() -> None:
    # Free after placing 2000 / 2048 (host anti-affinity, so a used host drops out):
    #   host 0: 12000 / 13312, host 1: 10000 / 7168, host 2: 12000 / 7168, host 3: 11000 / 8192
    # 1st VM: host 0 (100 + 100). 2nd, over hosts 1-3 only: cpu 0 / 100 / 50, memory
    # 0 / 0 / 100 -> host 3 (150). Scaling memory over host 0 too (now 10000 / 11264) would
    # give host 3 only 50 + 25 and pick host 2. 3rd: host 2.
    allocations = {0: [2000, 1024], 1: [4000, 7168], 2: [2000, 7168], 3: [3000, 6144]}
    req = request(cpu=2000, memory=2048, system=0, anti_affinity=1)
    one_by_one = placer(table(pool("p", 4, cpu_overcommit=2.0)), preset="nova-default")
    preallocate(one_by_one, allocations)
    assert [one_by_one.place(req) for _ in range(4)] == [0, 3, 2, 1]
    batch = placer(table(pool("p", 4, cpu_overcommit=2.0)), preset="nova-default")
    preallocate(batch, allocations)
    assert batch.place_batch(req, 4) == [0, 3, 2, 1]


def test_min_max_gives_zero_when_all_candidates_are_equal() -> None:
    p = placer(score_table(), preset="nova-default")
    explanation = p.explain(request())
    assert explanation.score == 0.0
    assert explanation.tied_hosts == 3
    assert explanation.host == 0


# -- ties ----------------------------------------------------------------------------------
def test_with_every_scorer_weighted_zero_all_candidates_tie() -> None:
    p = placer(table(pool("p", 4)), 3, weights={"least_allocated": 0.0})
    assert p.weights == {}
    explanation = p.explain(request())
    assert (explanation.score, explanation.tied_hosts, explanation.score_parts) == (0.0, 4, {})
    placed = [p.place(request()) for _ in range(12)]
    assert set(placed) <= {0, 1, 2, 3}
    assert len(set(placed)) > 1  # drawn, not always the first
    q = placer(table(pool("p", 4)), 3, weights={"least_allocated": 0.0})
    assert q.place_batch(request(), 12) == placed


def tie_sequence(seed: int, count: int = 20) -> list[int]:
    p = placer(table(pool("flat", 20)), seed)
    return [p.place(request()) for _ in range(count)]


def test_ties_are_broken_by_the_seeded_generator_reproducibly() -> None:
    first = tie_sequence(1)
    assert sorted(first) == list(range(20))  # spread: every host once before any twice
    assert tie_sequence(1) == first
    assert tie_sequence(2) != first
    assert tie_sequence(3) != first


def test_batch_breaks_ties_like_one_by_one() -> None:
    p = placer(table(pool("flat", 20)), 5)
    assert p.place_batch(request(), 45) == tie_sequence(5, 45)


def test_no_random_number_is_drawn_without_a_tie() -> None:
    hosts = table(pool("p", 3))
    rng = np.random.default_rng(9)
    p = Placer(hosts, rng)
    preallocate(p, {0: [1000, 1024], 2: [2000, 2048]})
    state = rng.bit_generator.state
    assert p.place(request()) == 1
    assert rng.bit_generator.state == state
    assert p.place(request()) in (0, 1)  # now hosts 0 and 1 tie
    assert rng.bit_generator.state != state


# -- anti-affinity -------------------------------------------------------------------------
def test_host_anti_affinity_never_puts_two_vms_of_a_system_on_one_host() -> None:
    hosts = table(pool("p", 4))
    p = placer(hosts)
    req = request(system=3, anti_affinity=1)
    placed = [p.place(req) for _ in range(5)]
    assert sorted(placed[:4]) == [0, 1, 2, 3]
    assert placed[4] == -1
    assert p.reject_reason(req) == "anti_affinity"
    explanation = p.explain(req)
    assert explanation.removed_by["anti_affinity"] == 4
    assert explanation.reason == "anti_affinity"
    # Another system is not blocked; releasing one VM frees exactly its host.
    assert p.place(request(system=4, anti_affinity=1)) >= 0
    p.release(placed[2], req.demand, system=3)
    assert p.place(req) == placed[2]
    assert p.place(req) == -1


def test_host_anti_affinity_in_a_batch() -> None:
    p = placer(table(pool("p", 4)))
    placed = p.place_batch(request(system=0, anti_affinity=1), 6)
    assert sorted(placed[:4]) == [0, 1, 2, 3]
    assert placed[4:] == [-1, -1]


def test_rack_anti_affinity_uses_each_rack_once() -> None:
    hosts = table(pool("p", 4), racks=2)
    assert hosts.rack[:4].tolist() == [0, 1, 0, 1]  # striped over dc-a's two racks
    p = placer(hosts)
    req = request(system=1, anti_affinity=2)
    first, second, third = (p.place(req) for _ in range(3))
    assert {int(hosts.rack[first]), int(hosts.rack[second])} == {0, 1}
    assert third == -1
    assert p.reject_reason(req) == "anti_affinity"
    assert p.explain(req).removed_by["anti_affinity"] == 4
    p.release(first, req.demand, system=1)
    assert hosts.rack[p.place(req)] == hosts.rack[first]
    q = placer(table(pool("p", 4), racks=2))
    placed = q.place_batch(req, 3)
    assert sorted(int(hosts.rack[h]) for h in placed[:2]) == [0, 1]
    assert placed[2] == -1


def test_anti_affinity_needs_a_system() -> None:
    # Without a group (system -1) there is nothing to be anti-affine with, one by one or
    # in a batch.
    req = request(anti_affinity=1)
    p = placer(table(pool("p", 1)))
    assert [p.place(req), p.place(req)] == [0, 0]
    q = placer(table(pool("p", 1)))
    assert q.place_batch(req, 2) == [0, 0]


# -- release and explain change only what they should ----------------------------------------
def test_release_restores_free_exactly() -> None:
    hosts = table(pool("p", 3, cpu_overcommit=3.0, memory_overcommit=1.5), pool("q", 2))
    p = placer(hosts)
    demands = [(1500, 3000, 7, 100), (250, 1, 0, 0), (4000, 8192, 30, 2500), (0, 0, 1, 0)]
    held: list[tuple[int, Request]] = []
    for i in range(30):
        cpu, mem, disk, net = demands[i % len(demands)]
        req = request(cpu, mem, disk, net, system=i % 3, anti_affinity=i % 2)
        host = p.place(req)
        if host >= 0:
            held.append((host, req))
    assert len(held) > 10
    used = hosts.limit - hosts.free
    expected = np.zeros_like(used)
    for host, req in held:
        expected[:, host] += req.demand
    assert np.array_equal(used, expected)
    for host, req in reversed(held):
        p.release(host, req.demand, req.system)
    assert np.array_equal(hosts.free, hosts.limit)
    assert np.array_equal(hosts.free_f, hosts.limit.astype(np.float64))
    # The anti-affinity bookkeeping is back to empty too.
    assert sorted(p.place_batch(request(system=1, anti_affinity=1), 5)) == [0, 1, 2, 3, 4]


def test_explain_changes_nothing() -> None:
    hosts = table(pool("flat", 10))
    twin_hosts = table(pool("flat", 10))
    rng, twin_rng = np.random.default_rng(4), np.random.default_rng(4)
    p, twin = Placer(hosts, rng), Placer(twin_hosts, twin_rng)
    req = request(system=2, anti_affinity=1)
    for _ in range(3):
        assert p.place(req) == twin.place(req)
    free, free_f, state = hosts.free.copy(), hosts.free_f.copy(), rng.bit_generator.state
    explanation = p.explain(req)
    assert explanation.tied_hosts == 7
    p.reject_reason(req)
    p.explain(request(zone=Z3))
    assert np.array_equal(hosts.free, free)
    assert np.array_equal(hosts.free_f, free_f)
    assert rng.bit_generator.state == state
    assert [p.place(req) for _ in range(8)] == [twin.place(req) for _ in range(8)]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"zone": Z3, "datacenters": (DC_A, DC_B)}, "no_host_in_zone"),
        ({"arch": ARM, "zone": Z2}, "no_host_with_architecture"),
        ({"arch": ARM, "datacenters": (DC_B,)}, "no_host_in_datacenter"),
        ({"zone": Z2, "datacenters": (DC_B,)}, "no_host_in_datacenter"),
        ({"department": DEPT_B, "purposes": (DEDICATED,)}, "no_pool_for_department"),
        ({"cpu": 9000}, "no_capacity_cpu"),
        ({"cpu": 9000, "memory": 20000}, "no_capacity_cpu"),
        ({"memory": 16385}, "no_capacity_memory"),
        ({"disk": 101}, "no_capacity_disk"),
        ({"network": 10001}, "no_capacity_network"),
        ({"cpu": 8000, "memory": 16384, "disk": 100, "network": 10000}, "none"),
    ],
)
def test_reject_reason_names_the_first_filter_that_empties(
    options: dict[str, Any], reason: str
) -> None:
    p = placer(filter_table())
    req = request(**options)
    assert p.reject_reason(req) == reason
    explanation = p.explain(req)
    assert explanation.reason == (None if reason == "none" else reason)
    assert (explanation.host >= 0) == (reason == "none")
    assert (p.place(req) >= 0) == (reason == "none")


def test_reject_reason_when_all_hosts_are_down() -> None:
    hosts = filter_table()
    hosts.set_up(np.arange(hosts.size), False)
    p = placer(hosts)
    assert p.reject_reason(request()) == "no_host_up"
    assert p.explain(request()).removed_by["host_up"] == 9


def test_capacity_filters_remove_different_hosts() -> None:
    # Host 0 lacks cpu, host 1 lacks memory: cpu removes one, memory the other.
    p = placer(table(pool("p", 2)))
    preallocate(p, {0: [8000, 0], 1: [0, 16000]})
    explanation = p.explain(request(cpu=1000, memory=1024))
    assert explanation.removed_by["cpu"] == 1
    assert explanation.removed_by["memory"] == 1
    assert explanation.reason == "no_capacity_memory"


# -- custom scorers ------------------------------------------------------------------------
@dataclass(frozen=True)
class LastHost:
    """Prefers the host with the highest index."""

    normalize: Literal["none", "minmax"] = "none"

    def __call__(self, ctx: ScoreContext, cols: Columns) -> FloatArray:
        index: FloatArray = np.arange(ctx.free.shape[1], dtype=np.float64)[cols]
        return index


@pytest.fixture
def custom_scorer() -> Iterator[str]:
    register_scorer("test_last_host", LastHost())
    register_scorer(
        "test_min_index", FunctionScorer(lambda ctx, cols: -LastHost()(ctx, cols), "minmax")
    )
    register_preset("test-last", {"test_last_host": 1.0})
    yield "test_last_host"
    for name in ("test_last_host", "test_min_index"):
        SCORERS.remove(name)
    PRESETS.remove("test-last")


@pytest.mark.usefixtures("custom_scorer")
def test_registered_scorer_used_through_a_preset() -> None:
    p = placer(table(pool("p", 5)), preset="test-last")
    assert p.weights == {"test_last_host": 1.0}
    assert [p.place(request()) for _ in range(3)] == [4, 4, 4]
    explanation = p.explain(request())
    assert explanation.score_parts == {
        "test_last_host": {"raw": 4.0, "normalised": 4.0, "weight": 1.0}
    }


@pytest.mark.usefixtures("custom_scorer")
def test_registered_scorer_used_through_weights() -> None:
    p = placer(table(pool("p", 5)), preset="spread", weights={"test_last_host": 1000.0})
    assert p.weights == {"least_allocated": 1.0, "test_last_host": 1000.0}
    assert p.place(request()) == 4
    q = placer(
        table(pool("p", 5)),
        preset="spread",
        weights={"least_allocated": 0.0, "test_min_index": 1.0},
    )
    assert q.weights == {"test_min_index": 1.0}
    assert q.explain(request()).score == 100.0
    assert q.place_batch(request(), 3) == [0, 0, 0]


def test_register_scorer_refuses_a_bare_function() -> None:
    with pytest.raises(TypeError):
        register_scorer("bare", lambda ctx, cols: ctx.free[0, cols])  # type: ignore[arg-type]
    assert "bare" not in SCORERS


def test_unknown_preset_or_scorer_is_refused() -> None:
    hosts = table(pool("p"))
    with pytest.raises(KeyError):
        placer(hosts, preset="no-such-preset")
    with pytest.raises(KeyError):
        placer(hosts, weights={"no_such_scorer": 1.0})
    with pytest.raises(ValueError, match="resource_weights"):
        placer(hosts, resource_weights={"cpu": 0.0})


def test_resource_weights_change_the_least_allocated_score() -> None:
    p = placer(score_table(), resource_weights={"cpu": 3.0, "memory": 1.0})
    preallocate(p, {0: [8000, 0], 1: [0, 8192], 2: [8000, 8192]})
    explanation = p.explain(request(cpu=0, memory=0))
    # host 1: 75 x 16000/16000 + 25 x 8192/16384
    assert explanation.host == 1
    assert explanation.score == 87.5
