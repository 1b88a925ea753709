"""A scenario's own placement filters: registered by name, static (cached) or dynamic."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from cloudsim import ScenarioError, simulate
from cloudsim.placement import FILTERS, register_filter
from cloudsim.placement.core import Request
from cloudsim.registry import PluginError
from cloudsim.state.hosts import BoolArray, HostTable, IntArray
from tests.conftest import build, tiny
from tests.placement.test_core import placer, pool, request, table


def even_hosts(hosts: HostTable, req: Request, cols: IntArray) -> BoolArray:
    result: BoolArray = cols % 2 == 0
    return result


def memory_headroom(hosts: HostTable, req: Request, cols: IntArray) -> BoolArray:
    """After the request, at least a quarter of the host's memory stays free."""
    after = hosts.free[1].take(cols) - req.demand[1]
    result: BoolArray = after >= hosts.limit[1].take(cols) // 4
    return result


@pytest.fixture
def filters() -> Iterator[None]:
    register_filter("test-even", even_hosts)
    register_filter("test-headroom", memory_headroom, static=False, reason="headroom")
    yield
    FILTERS.remove("test-even")
    FILTERS.remove("test-headroom")


@pytest.mark.usefixtures("filters")
def test_a_static_filter_removes_hosts_and_names_its_reason() -> None:
    p = placer(table(pool("p", 4)), filters=["test-even"])
    hosts = {p.place(request()) for _ in range(10)}
    assert hosts == {0, 2}
    explanation = p.explain(request())
    assert explanation.removed_by["test-even"] == 2
    assert list(explanation.removed_by)[-1] == "test-even"  # after every built-in filter
    lone = placer(table(pool("p", 2)), filters=["test-even"])
    lone.hosts.up[0] = False
    lone.hosts.version += 1
    assert lone.place(request()) == -1
    assert lone.reject_reason(request()) == "filter_test-even"


@pytest.mark.usefixtures("filters")
def test_a_dynamic_filter_follows_allocations_and_batches_equal_one_by_one() -> None:
    # 16 GiB hosts; 4 GiB VMs; a quarter (4 GiB) must stay free: 3 VMs per host, not 4
    one = placer(table(pool("p", 3)), filters=["test-headroom"])
    placed = [one.place(request(memory=4096)) for _ in range(10)]
    assert sorted(placed) == [-1, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert one.reject_reason(request(memory=4096)) == "headroom"
    batch = placer(table(pool("p", 3)), filters=["test-headroom"])
    assert batch.place_batch(request(memory=4096), 10) == [h for h in placed if h >= 0] + [-1]
    free = batch.hosts.free[1]
    assert (free >= batch.hosts.limit[1] // 4).all()


@pytest.mark.usefixtures("filters")
def test_a_scenario_names_its_filters_and_the_run_obeys_them() -> None:
    data = tiny(placement={"preset": "spread", "filters": ["test-even"]})
    data["systems"][0]["anti_affinity"] = "none"
    result = simulate(build(data))
    hosts = result.tables["vms"].column("host").to_pylist()
    assert hosts and all(int(h.rsplit("-", 1)[1]) % 2 == 0 for h in hosts)


def test_an_unknown_filter_is_refused_with_the_closest_name() -> None:
    register_filter("test-odd", lambda hosts, req, cols: cols % 2 == 1)
    try:
        with pytest.raises(ScenarioError) as caught:
            build(tiny(placement={"filters": ["test-od"]}))
    finally:
        FILTERS.remove("test-odd")
    (problem,) = caught.value.problems
    assert problem.path == "placement.filters[0]"
    assert "unknown placement filter 'test-od'; did you mean 'test-odd'?" in problem.message


def big_on_odd(hosts: HostTable, req: Request, cols: IntArray) -> BoolArray:
    """A static filter that reads the request's demand: big VMs only on odd hosts."""
    result: BoolArray = (cols % 2 == 1) | (req.demand[1] < 4096)
    return result


def capped(hosts: HostTable, req: Request, cols: IntArray) -> BoolArray:
    """A dynamic filter that reads every host: at most 8 GiB allocated on the platform."""
    allocated = int((hosts.limit[1] - hosts.free[1]).sum())
    result: BoolArray = np.full(len(cols), allocated + req.demand[1] <= 8192)
    return result


def test_a_static_filter_may_read_the_demand_and_is_never_stale() -> None:
    register_filter("test-big-odd", big_on_odd)
    try:
        p = placer(table(pool("p", 4)), filters=["test-big-odd"])
        assert p.place(request(memory=1024)) in (0, 1, 2, 3)  # a small one first
        big = [p.place(request(memory=4096)) for _ in range(4)]
        assert all(h % 2 == 1 for h in big)
        assert p.explain(request(memory=4096)).removed_by["test-big-odd"] == 2
    finally:
        FILTERS.remove("test-big-odd")


def test_a_dynamic_filter_reading_every_host_gives_batches_equal_to_one_by_one() -> None:
    register_filter("test-capped", capped, static=False)
    try:
        one = placer(table(pool("p", 4)), filters=["test-capped"])
        placed = [one.place(request(memory=4096)) for _ in range(4)]
        batch = placer(table(pool("p", 4)), filters=["test-capped"])
        assert batch.place_batch(request(memory=4096), 4) == placed
        assert placed[2:] == [-1, -1]  # 8 GiB in all
    finally:
        FILTERS.remove("test-capped")


def test_validation_uses_the_scenarios_filters() -> None:
    register_filter("test-none", lambda hosts, req, cols: np.zeros(len(cols), dtype=np.bool_))
    try:
        with pytest.raises(ScenarioError) as caught:
            build(tiny(placement={"filters": ["test-none"]}))
    finally:
        FILTERS.remove("test-none")
    (problem,) = caught.value.problems
    assert problem.path == "systems[portal]"
    assert "cannot fit anywhere even on an empty platform" in problem.message
    assert "filter_test-none" in problem.message


def test_a_filter_cannot_take_a_built_in_name_nor_be_anything_else() -> None:
    with pytest.raises(PluginError, match="placement filter 'zone': the name of a built-in"):
        register_filter("zone", even_hosts)
    with pytest.raises(PluginError, match="a placement filter is a HostFilter"):
        FILTERS.register("test-bare", even_hosts)  # type: ignore[arg-type]
    assert "zone" not in FILTERS and "test-bare" not in FILTERS
