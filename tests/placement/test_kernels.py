"""The compiled kernels decide exactly as the numpy path (the reference): same hosts, same
ties drawn from the same stream, same free capacity, through placements, batches,
releases, hosts going down and up, and the group columns' catch-up paths."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudsim.placement.core import Placer, Request
from cloudsim.scenario.schema import Scenario
from cloudsim.state import hosts as hosts_module
from cloudsim.state.hosts import HostTable
from tests.placement.test_core import placer, pool, request, table
from tests.placement.test_properties import (
    SETTINGS,
    requests,
    scenarios,
    tie_requests,
    uniform_scenarios,
)

pytest.importorskip("numba", reason="the compiled kernels need numba (cloudsim[fast])")

#: (preset, weights, resource weights) the kernels take: a lone least/most-allocated scorer.
COMPILED = [
    ("spread", None, None),
    ("binpack", None, None),
    ("spread", {"least_allocated": 2.5}, None),
    ("binpack", {"most_allocated": 0.3}, {"memory": 1.0}),
    ("spread", None, {"cpu": 1.0, "memory": 2.0, "disk": 1.0}),
    ("spread", None, {"cpu": 1.0, "memory": 1.0, "disk": 1.0, "network": 1.0}),
]

ops_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("place"), requests(), st.integers(1, 6)),
        st.tuples(st.just("place"), requests(), st.integers(1, 6)),
        st.tuples(st.just("place"), requests(), st.integers(1, 6)),
        st.tuples(st.just("release"), st.floats(0, 1, exclude_max=True)),
        st.tuples(st.sampled_from(["down", "up"]), st.floats(0, 1, exclude_max=True)),
    ),
    min_size=1,
    max_size=40,
)


def _same_decisions(
    scenario: Scenario, ops: list[tuple[Any, ...]], seed: int, scoring: tuple[Any, ...]
) -> int:
    """Run ``ops`` through a numpy and a compiled placer on twin tables; returns how many
    VMs were placed (so a test can tell it exercised something)."""
    preset, weights, resource_weights = scoring
    tables = HostTable.from_scenario(scenario), HostTable.from_scenario(scenario)
    rngs = np.random.default_rng(seed), np.random.default_rng(seed)
    reference, compiled = (
        Placer(t, r, preset=preset, weights=weights, resource_weights=resource_weights, kernel=k)
        for t, r, k in zip(tables, rngs, ("numpy", "numba"), strict=True)
    )
    assert (reference.kernel, compiled.kernel) == ("numpy", "numba")
    held: list[tuple[int, Request]] = []
    for op in ops:
        if op[0] == "place":
            _, req, count = op
            if count == 1:
                want, got = [reference.place(req)], [compiled.place(req)]
            else:
                want, got = reference.place_batch(req, count), compiled.place_batch(req, count)
            assert got == want
            held.extend((h, req) for h in got if h >= 0)
        elif op[0] == "release":
            if held:
                host, req = held.pop(int(op[1] * len(held)))
                reference.release(host, req.demand, req.system)
                compiled.release(host, req.demand, req.system)
        else:
            for t in tables:
                t.set_up([int(op[1] * t.size)], op[0] == "up")
        assert np.array_equal(tables[0].free, tables[1].free)
        assert rngs[0].bit_generator.state == rngs[1].bit_generator.state
    return len(held)


@SETTINGS
@given(
    scenario=scenarios(),
    ops=ops_strategy,
    seed=st.integers(0, 2**32 - 1),
    scoring=st.sampled_from(COMPILED),
)
def test_compiled_and_numpy_placers_decide_alike(
    scenario: Scenario, ops: list[tuple[Any, ...]], seed: int, scoring: tuple[Any, ...]
) -> None:
    _same_decisions(scenario, ops, seed, scoring)


@SETTINGS
@given(
    scenario=uniform_scenarios(),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("place"), tie_requests, st.integers(1, 30)),
            st.tuples(st.just("release"), st.floats(0, 1, exclude_max=True)),
        ),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**32 - 1),
    scoring=st.sampled_from(COMPILED),
)
def test_compiled_ties_are_drawn_like_numpy_ties(
    scenario: Scenario, ops: list[tuple[Any, ...]], seed: int, scoring: tuple[Any, ...]
) -> None:
    _same_decisions(scenario, ops, seed, scoring)


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_class_ordered_columns_catch_up_through_a_cut_change_log(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    # a log cut every few changes forces every catch-up path: none, one entry, a few
    # entries, and gathering the columns again because the log moved past the group
    monkeypatch.setattr(hosts_module, "FREE_LOG_LIMIT", limit)
    hosts = table(pool("a", 30, host_class="big"), pool("b", 30, datacenter="dc-b"))
    rng = np.random.default_rng(5)
    ops: list[tuple[Any, ...]] = []
    for _ in range(300):
        dcs = ((0,), (1,), (0, 1))[int(rng.integers(3))]
        cpu, memory = int(rng.choice([500, 1000, 4000])), int(rng.choice([512, 2048]))
        if rng.random() < 0.3:
            ops.append(("release", float(rng.random())))
        else:
            req = request(cpu=cpu, memory=memory, datacenters=dcs)
            ops.append(("place", req, int(rng.integers(1, 4))))
    assert _same_decisions_on(hosts, ops) > 100


def _same_decisions_on(hosts: HostTable, ops: list[tuple[Any, ...]]) -> int:
    twin = hosts.copy()
    reference = placer(hosts, seed=9, kernel="numpy")
    compiled = placer(twin, seed=9, kernel="numba")
    held: list[tuple[int, Request]] = []
    for op in ops:
        if op[0] == "place":
            _, req, count = op
            got = compiled.place_batch(req, count)
            assert got == reference.place_batch(req, count)
            held.extend((h, req) for h in got if h >= 0)
        elif held:
            host, req = held.pop(int(op[1] * len(held)))
            reference.release(host, req.demand)
            compiled.release(host, req.demand)
        assert np.array_equal(hosts.free, twin.free)
    return len(held)


def test_auto_takes_the_compiled_path_only_for_the_case_it_covers() -> None:
    hosts = table(pool("p", 4))
    assert placer(hosts, preset="spread").kernel == "numba"
    assert placer(hosts, preset="binpack").kernel == "numba"
    assert placer(hosts, preset="k8s-default").kernel == "numpy"
    assert placer(hosts, preset="nova-default").kernel == "numpy"
    assert placer(hosts, preset="spread", kernel="numpy").kernel == "numpy"


def test_asking_for_the_compiled_path_where_it_does_not_apply_is_an_error() -> None:
    hosts = table(pool("p", 4))
    with pytest.raises(ValueError, match="lone least_allocated or most_allocated"):
        placer(hosts, preset="balanced", kernel="numba")
    with pytest.raises(ValueError, match="placement kernel must be 'auto', 'numpy' or 'numba'"):
        placer(hosts, kernel="cuda")


def test_anti_affinity_batches_on_the_compiled_path_match_numpy() -> None:
    hosts = table(pool("a", 12, host_class="big"), racks=3)
    for level in (1, 2):
        ops: list[tuple[Any, ...]] = [
            ("place", request(system=s, anti_affinity=level), n)
            for s, n in ((0, 5), (1, 2), (0, 4), (1, 3), (0, 9))
        ]
        assert _same_decisions_on(hosts.copy(), ops) > 0
