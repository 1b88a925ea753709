"""Placement invariants under random host tables and random request streams (hypothesis).

(a) no host ever holds more than capacity x overcommit, and what a host holds is exactly
    the sum of what was placed there (recomputed from the test's own bookkeeping);
(b) releasing everything gives back exactly the limits;
(c) a batch lands on exactly the hosts that placing one by one would, for every preset;
(d) the float mirror ``free_f`` always equals ``free``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim.placement.core import VM_PURPOSES, Placer, Request
from cloudsim.placement.scorers import PRESETS
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

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ZONES = ("z1", "z2")
DATACENTERS = ("dc-a", "dc-b")
DEPARTMENTS = ("dept-a", "dept-b")
GENERAL, DEDICATED, STANDBY = (PURPOSES.index(p) for p in ("general", "dedicated", "standby"))
#: Fixed anti-affinity level of each system (none, host, rack, host), so it can be checked.
SYSTEM_LEVEL = {0: 0, 1: 1, 2: 2, 3: 1}


# -- random host tables ----------------------------------------------------------------------
@st.composite
def scenarios(draw: st.DrawFn, max_pools: int = 5, max_hosts: int = 6) -> Scenario:
    classes = [
        HostClass(
            name=f"c{i}",
            cores=draw(st.integers(1, 8)),
            threads_per_core=draw(st.sampled_from([1, 2])),
            memory=draw(st.integers(256, 16384)),
            disk=draw(st.sampled_from([0, 40, 200])),
            network=draw(st.sampled_from([0.0, 1.0, 10.0])),
            arch=draw(st.sampled_from(ARCHES)),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    pools = []
    for i in range(draw(st.integers(1, max_pools))):
        purpose = draw(st.sampled_from(["general", "general", "general", "dedicated", "standby"]))
        pools.append(
            Pool(
                name=f"p{i}",
                datacenter=draw(st.sampled_from(DATACENTERS)),
                zone=draw(st.sampled_from(ZONES)),
                hosts=[
                    HostGroup(host_class=draw(st.sampled_from(classes)).name, count=k)
                    for k in draw(st.lists(st.integers(1, max_hosts), min_size=1, max_size=2))
                ],
                purpose=purpose,
                dedicated_to=draw(st.sampled_from(DEPARTMENTS)) if purpose == "dedicated" else None,
                cpu_overcommit=draw(st.sampled_from([1.0, 1.5, 2.0, 3.7, 0.8])),
                memory_overcommit=draw(st.sampled_from([1.0, 1.3, 0.9])),
                disk_overcommit=draw(st.sampled_from([1.0, 2.5])),
            )
        )
    return Scenario(
        meta=Meta(name="prop"),
        sites=[Site(name="city")],
        datacenters=[
            DataCenter(name=dc, site="city", racks=draw(st.integers(1, 4)), power_domains=1)
            for dc in DATACENTERS
        ],
        zones=[Zone(name=z) for z in ZONES],
        host_classes=classes,
        pools=pools,
        departments=[Department(name=d) for d in DEPARTMENTS],
    )


@st.composite
def requests(draw: st.DrawFn, systems: bool = True) -> Request:
    demand = np.array(
        [
            draw(st.sampled_from([0, 250, 1000, 2000, 4000, 7000])),
            draw(st.sampled_from([0, 128, 1024, 4096])),
            draw(st.sampled_from([0, 0, 10, 60])),
            draw(st.sampled_from([0, 0, 0, 500])),
        ],
        dtype=np.int64,
    )
    system = draw(st.sampled_from([-1, 0, 1, 2, 3])) if systems else -1
    level = SYSTEM_LEVEL[system] if system >= 0 else draw(st.sampled_from([0, 1, 2]))
    return Request(
        demand=demand,
        zone=draw(st.sampled_from([0, 0, 1])),
        datacenters=draw(st.sampled_from([(0,), (1,), (0, 1), (1, 0)])),
        arch=draw(st.sampled_from([-1, -1, 0, 1])),
        department=draw(st.sampled_from([-1, 0, 1])),
        system=system,
        anti_affinity=level,
        purposes=draw(st.sampled_from([VM_PURPOSES, VM_PURPOSES, (GENERAL, STANDBY)])),
    )


place_ops = st.tuples(st.just("place"), requests(), st.integers(1, 4))
release_ops = st.tuples(st.just("release"), st.floats(0, 1, exclude_max=True))
updown_ops = st.tuples(st.sampled_from(["down", "up"]), st.floats(0, 1, exclude_max=True))
operations = st.lists(
    st.one_of(place_ops, place_ops, place_ops, release_ops, updown_ops), max_size=40
)


@dataclass
class Held:
    host: int
    demand: np.ndarray[Any, np.dtype[np.int64]]
    system: int


def allowed(hosts: HostTable, req: Request, host: int) -> bool:
    """The static filters, written out independently of the placer."""
    purpose = int(hosts.purpose[host])
    if purpose not in req.purposes:
        return False
    if purpose == DEDICATED and int(hosts.dedicated_to[host]) != req.department:
        return False
    return (
        bool(hosts.up[host])
        and int(hosts.zone[host]) == req.zone
        and int(hosts.datacenter[host]) in req.datacenters
        and (req.arch < 0 or int(hosts.arch[host]) == req.arch)
    )


def check_invariants(hosts: HostTable, held: list[Held]) -> None:
    assert (hosts.free >= 0).all(), "a host holds more than capacity x overcommit"
    expected = np.zeros_like(hosts.limit)
    for vm in held:
        expected[:, vm.host] += vm.demand
    assert np.array_equal(hosts.limit - hosts.free, expected)
    assert hosts.free_f.dtype == np.float64
    assert np.array_equal(hosts.free_f, hosts.free)
    for system, level in SYSTEM_LEVEL.items():
        if level == 0:
            continue
        mine = [vm.host for vm in held if vm.system == system]
        places = mine if level == 1 else [int(hosts.rack[h]) for h in mine]
        assert len(places) == len(set(places)), f"system {system} breaks anti-affinity"


@pytest.mark.slow
# -- (a), (b), (d) -------------------------------------------------------------------------
@SETTINGS
@given(
    scenario=scenarios(),
    ops=operations,
    preset=st.sampled_from(sorted(PRESETS)),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_capacity_is_never_exceeded_and_release_returns_everything(
    scenario: Scenario, ops: list[tuple[Any, ...]], preset: str, seed: int, data: st.DataObject
) -> None:
    hosts = HostTable.from_scenario(scenario)
    placer = Placer(hosts, np.random.default_rng(seed), preset=preset)
    held: list[Held] = []
    for op in ops:
        if op[0] == "place":
            _, req, count = op
            placed = placer.place(req) if count == 1 else placer.place_batch(req, count)
            placed_list = [placed] if isinstance(placed, int) else placed
            assert len(placed_list) == count
            ok = [h for h in placed_list if h >= 0]
            assert placed_list == ok + [-1] * (count - len(ok)), "a batch fails only at its end"
            for host in ok:
                assert allowed(hosts, req, host)
                held.append(Held(host, req.demand.copy(), req.system))
            if len(ok) < count:
                assert placer.reject_reason(req) != "none"
        elif op[0] == "release":
            if held:
                vm = held.pop(int(op[1] * len(held)))
                placer.release(vm.host, vm.demand, vm.system)
        else:
            hosts.set_up([int(op[1] * hosts.size)], op[0] == "up")
        check_invariants(hosts, held)

    order = data.draw(st.permutations(range(len(held))))
    for i in order:
        placer.release(held[i].host, held[i].demand, held[i].system)
    assert np.array_equal(hosts.free, hosts.limit)
    assert np.array_equal(hosts.free_f, hosts.limit.astype(np.float64))
    # The anti-affinity bookkeeping is empty again.
    assert not any(placer._host_count.values())
    assert not any(placer._rack_count.values())


@SETTINGS
@given(scenario=scenarios(), req=requests(), seed=st.integers(0, 2**32 - 1))
def test_a_placed_vm_fits_and_a_rejected_one_had_no_host(
    scenario: Scenario, req: Request, seed: int
) -> None:
    hosts = HostTable.from_scenario(scenario)
    placer = Placer(hosts, np.random.default_rng(seed))
    fits = [
        h
        for h in range(hosts.size)
        if allowed(hosts, req, h) and all(hosts.free[r, h] >= req.demand[r] for r in range(4))
    ]
    explanation = placer.explain(req)
    assert explanation.candidates == len(fits)
    assert sum(explanation.removed_by.values()) == hosts.size - len(fits)
    host = placer.place(req)
    assert (host >= 0) == bool(fits)
    if host >= 0:
        assert host in fits
    else:
        assert explanation.reason is not None
        assert placer.reject_reason(req) == explanation.reason


# -- (c) batch == one by one ---------------------------------------------------------------
SCORING = [
    ("spread", None, None),
    ("binpack", None, None),
    ("balanced", None, None),
    ("k8s-default", None, None),
    ("nova-default", None, None),
    ("nova-default", {"free_cpu": 2.5, "balanced": 1.0}, None),
    ("spread", None, {"cpu": 1.0, "memory": 2.0, "disk": 1.0}),
    ("balanced", None, {"cpu": 1.0, "memory": 1.0, "disk": 1.0, "network": 1.0}),
    ("binpack", None, {"memory": 1.0}),
    ("spread", {"least_allocated": 0.0}, None),  # no scorer: every candidate ties
]

batch_ops = st.lists(
    st.one_of(
        st.tuples(st.just("batch"), requests(), st.integers(1, 8)),
        st.tuples(st.just("batch"), requests(), st.integers(1, 8)),
        st.tuples(st.just("release"), st.floats(0, 1, exclude_max=True)),
    ),
    min_size=1,
    max_size=15,
)


def _batch_equals_sequential(
    scenario: Scenario, ops: list[tuple[Any, ...]], seed: int, scoring: tuple[Any, ...]
) -> None:
    preset, weights, resource_weights = scoring
    tables = HostTable.from_scenario(scenario), HostTable.from_scenario(scenario)
    rngs = np.random.default_rng(seed), np.random.default_rng(seed)
    batch, single = (
        Placer(t, r, preset=preset, weights=weights, resource_weights=resource_weights)
        for t, r in zip(tables, rngs, strict=True)
    )
    held: list[Held] = []
    for op in ops:
        if op[0] == "batch":
            _, req, count = op
            got = batch.place_batch(req, count)
            want = [single.place(req) for _ in range(count)]
            assert got == want
            held.extend(Held(h, req.demand, req.system) for h in got if h >= 0)
        elif held:
            vm = held.pop(int(op[1] * len(held)))
            batch.release(vm.host, vm.demand, vm.system)
            single.release(vm.host, vm.demand, vm.system)
        assert np.array_equal(tables[0].free, tables[1].free)
        assert np.array_equal(tables[0].free_f, tables[1].free_f)
        assert rngs[0].bit_generator.state == rngs[1].bit_generator.state


@pytest.mark.slow
@SETTINGS
@given(
    scenario=scenarios(max_pools=3, max_hosts=8),
    ops=batch_ops,
    seed=st.integers(0, 2**32 - 1),
    scoring=st.sampled_from(SCORING),
)
def test_batch_gives_the_same_hosts_as_one_by_one(
    scenario: Scenario, ops: list[tuple[Any, ...]], seed: int, scoring: tuple[Any, ...]
) -> None:
    _batch_equals_sequential(scenario, ops, seed, scoring)


@st.composite
def uniform_scenarios(draw: st.DrawFn) -> Scenario:
    """Many identical hosts in one zone and centre: ties everywhere."""
    count = draw(st.integers(2, 24))
    return Scenario(
        meta=Meta(name="ties"),
        sites=[Site(name="city")],
        datacenters=[
            DataCenter(name=dc, site="city", racks=draw(st.integers(1, 5)), power_domains=1)
            for dc in DATACENTERS
        ],
        zones=[Zone(name=z) for z in ZONES],
        host_classes=[HostClass(name="h", cores=4, memory="16GiB", disk="200GB")],
        pools=[
            Pool(
                name="p",
                datacenter="dc-a",
                zone="z1",
                hosts=[HostGroup(host_class="h", count=count)],
                cpu_overcommit=2.0,
            )
        ],
        departments=[Department(name=d) for d in DEPARTMENTS],
    )


tie_requests = st.builds(
    lambda cpu, mem, system: Request(
        demand=np.array([cpu, mem, 0, 0], dtype=np.int64),
        zone=0,
        datacenters=(0,),
        system=system,
        anti_affinity=SYSTEM_LEVEL[system] if system >= 0 else 1,
    ),
    st.sampled_from([0, 1000, 2000]),
    st.sampled_from([0, 1024, 2048]),
    st.sampled_from([-1, 0, 1, 2, 3]),
)


@SETTINGS
@given(
    scenario=uniform_scenarios(),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("batch"), tie_requests, st.integers(1, 30)),
            st.tuples(st.just("release"), st.floats(0, 1, exclude_max=True)),
        ),
        min_size=1,
        max_size=10,
    ),
    seed=st.integers(0, 2**32 - 1),
    scoring=st.sampled_from(SCORING),
)
def test_batch_breaks_ties_like_one_by_one(
    scenario: Scenario, ops: list[tuple[Any, ...]], seed: int, scoring: tuple[Any, ...]
) -> None:
    _batch_equals_sequential(scenario, ops, seed, scoring)


@SETTINGS
@given(
    scenario=scenarios(max_pools=3, max_hosts=8),
    ops=batch_ops,
    seed=st.integers(0, 2**32 - 1),
    scoring=st.sampled_from(SCORING),
)
def test_copied_columns_decide_like_reading_the_whole_table(
    scenario: Scenario, ops: list[tuple[Any, ...]], seed: int, scoring: tuple[Any, ...]
) -> None:
    # the numpy path keeps copies of a large group's columns, in step through the host
    # table's change log; a small one reads the table through host ids: same decisions
    preset, weights, resource_weights = scoring
    tables = HostTable.from_scenario(scenario), HostTable.from_scenario(scenario)
    rngs = np.random.default_rng(seed), np.random.default_rng(seed)
    whole, copied = (
        Placer(t, r, preset=preset, weights=weights, resource_weights=resource_weights,
               kernel="numpy")
        for t, r in zip(tables, rngs, strict=True)
    )  # fmt: skip
    copied._small_group = -1  # every group keeps copies
    held: list[Held] = []
    for op in ops:
        if op[0] == "batch":
            _, req, count = op
            if count == 1:
                got, want = [copied.place(req)], [whole.place(req)]
            else:
                got, want = copied.place_batch(req, count), whole.place_batch(req, count)
            assert got == want
            held.extend(Held(h, req.demand, req.system) for h in got if h >= 0)
        elif held:
            vm = held.pop(int(op[1] * len(held)))
            whole.release(vm.host, vm.demand, vm.system)
            copied.release(vm.host, vm.demand, vm.system)
        assert np.array_equal(tables[0].free, tables[1].free)
        assert rngs[0].bit_generator.state == rngs[1].bit_generator.state
    assert all(not g.small for g in copied._static_cache.values())
