"""The host index by static class (``cloudsim.placement.core._HostClasses``): the hosts of a
constraint it lists are exactly those the built-in static filters other than up and cordoned
keep, in ascending id, each group with its hosts down or cordoned as the table has them; on
the compiled path its class-ordered columns hold exactly those hosts' values, through hosts going
down, cordoned, carved into other pools, and allocations. Hosts going down, up or cordoned
never build the index again."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudsim import compiled as compilation
from cloudsim.placement import core
from cloudsim.placement.core import Placer, Request
from cloudsim.scenario.schema import Scenario
from cloudsim.state.hosts import PURPOSES, HostTable
from tests.placement.test_core import DC_A, DC_B, placer, pool, request, table
from tests.placement.test_properties import SETTINGS, requests, scenarios

GENERAL, DEDICATED, CONTAINER, STANDBY = (
    PURPOSES.index(p) for p in ("general", "dedicated", "container", "standby")
)
KERNELS = ["numpy", "numba"] if compilation.available() else ["numpy"]


def reference_mask(
    hosts: HostTable, req: Request, *, status: bool = True
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """The built-in static filters, host by host, written out independently of the index
    (``status``: with up and not cordoned)."""
    keep = np.zeros(hosts.size, dtype=np.bool_)
    for h in range(hosts.size):
        purpose = int(hosts.purpose[h])
        keep[h] = (
            (not status or (bool(hosts.up[h]) and not bool(hosts.cordoned[h])))
            and int(hosts.zone[h]) == req.zone
            and int(hosts.datacenter[h]) in req.datacenters
            and (req.arch < 0 or int(hosts.arch[h]) == req.arch)
            and purpose in req.purposes
            and (purpose != DEDICATED or int(hosts.dedicated_to[h]) == req.department)
        )
    return keep


def check_group(p: Placer, req: Request) -> None:
    group = p._group(req)
    hosts = p.hosts
    want = np.flatnonzero(reference_mask(hosts, req, status=False))
    assert np.array_equal(group.cand, want)
    assert np.array_equal(group.mask, reference_mask(hosts, req, status=False))
    up = hosts.up[want] & ~hosts.cordoned[want]
    flags = group.available()
    assert np.array_equal(up, np.ones(want.size, bool) if flags is None else flags)
    assert np.array_equal(group.down(), np.flatnonzero(~up))
    assert np.array_equal(p.static_mask(req), reference_mask(hosts, req))
    if p.kernel == "numba":
        classes = p._classes
        assert classes is not None and group.spans is not None
        columns = np.concatenate(
            [np.arange(lo, hi) for lo, hi in group.spans.reshape(-1, 2)] or [np.zeros(0, int)]
        ).astype(np.int64)
        assert np.array_equal(classes.position[want], columns)  # host i of the group is column i
        assert np.array_equal(classes.synced_free()[:, columns], p.hosts.free_f[:, want])
        for r in p.weighted:
            assert np.array_equal(classes.weighted_inv[r, columns], p.weighted_inv[r, want])


@SETTINGS
@given(
    scenario=scenarios(max_pools=6),
    changes=st.lists(
        st.tuples(
            st.sampled_from(["down", "up", "cordon", "uncordon", "carve", "place"]),
            st.floats(0, 1, exclude_max=True),
        ),
        max_size=12,
    ),
    reqs=st.lists(requests(systems=False), min_size=1, max_size=6),
    kernel=st.sampled_from(KERNELS),
)
def test_the_index_lists_exactly_the_hosts_the_static_filters_keep(
    scenario: Scenario, changes: list[tuple[str, float]], reqs: list[Request], kernel: str
) -> None:
    hosts = HostTable.from_scenario(scenario)
    p = placer(hosts, seed=1, kernel=kernel)
    for req in reqs:
        check_group(p, req)
    for what, where in changes:
        h = int(where * hosts.size)
        if what in ("down", "up"):
            hosts.set_up([h], what == "up")
        elif what in ("cordon", "uncordon"):
            hosts.set_cordoned([h], what == "cordon")
        elif what == "carve":  # as the container cloud takes a host for its nodes
            hosts.purpose[h] = CONTAINER
            hosts.version += 1
        else:
            p.place(reqs[h % len(reqs)])
        for req in [*reqs, request(purposes=(GENERAL, CONTAINER), datacenters=(0, 1))]:
            check_group(p, req)


def interleaved_table() -> HostTable:
    # general and standby pools alternate, so a constraint taking both interleaves classes
    return table(
        pool("g1", 3),
        pool("s1", 2, purpose="standby"),
        pool("g2", 3),
        pool("d1", 2, datacenter="dc-b"),
        pool("s2", 2, purpose="standby"),
        pool("g3", 1, datacenter="dc-b"),
    )


@pytest.mark.parametrize("kernel", KERNELS)
def test_classes_whose_hosts_interleave_are_merged_in_id_order(kernel: str) -> None:
    p = placer(interleaved_table(), kernel=kernel)
    both = request(purposes=(GENERAL, STANDBY), datacenters=(DC_A, DC_B))
    check_group(p, both)
    assert p._group(both).cand.tolist() == list(range(13))
    if kernel == "numba":
        spans = p._group(both).spans
        assert spans is not None and spans.size // 2 > 3  # many runs: one per pool
        plain = p._group(request())
        assert plain.spans is not None and plain.spans.size == 2  # g1 and g2: one run


def test_the_compiled_path_decides_like_numpy_on_interleaved_classes() -> None:
    pytest.importorskip("numba", reason="the compiled kernels need numba (cloudsim[fast])")
    from tests.placement.test_kernels import _same_decisions_on

    rng = np.random.default_rng(3)
    ops: list[tuple[Any, ...]] = []
    for _ in range(200):
        purposes = ((GENERAL, STANDBY), (GENERAL,), (STANDBY,))[int(rng.integers(3))]
        dcs = ((DC_A,), (DC_B,), (DC_A, DC_B))[int(rng.integers(3))]
        req = request(cpu=int(rng.choice([500, 1000])), purposes=purposes, datacenters=dcs)
        ops.append(("place", req, int(rng.integers(1, 4))))
        if rng.random() < 0.3:
            ops.append(("release", float(rng.random())))
    assert _same_decisions_on(interleaved_table(), ops) > 20


def test_dedicated_pools_are_listed_for_their_owner_only() -> None:
    hosts = table(
        pool("g", 2),
        pool("own-a", 2, purpose="dedicated", dedicated_to="dept-a"),
        pool("own-b", 2, purpose="dedicated", dedicated_to="dept-b"),
        pool("g2", 1),
    )
    p = placer(hosts, kernel="numpy")
    assert p._group(request(department=0)).cand.tolist() == [0, 1, 2, 3, 6]
    assert p._group(request(department=1)).cand.tolist() == [0, 1, 4, 5, 6]
    assert p._group(request()).cand.tolist() == [0, 1, 6]  # owns no dedicated pool


def test_a_new_index_refills_the_previous_columns() -> None:
    pytest.importorskip("numba", reason="the compiled kernels need numba (cloudsim[fast])")
    hosts = interleaved_table()
    p = placer(hosts, kernel="numba")
    p.place(request())
    before = p._classes
    assert before is not None
    free, winv = before.synced_free(), before.weighted_inv
    hosts.set_up([0, 5], False)
    hosts.purpose[1] = CONTAINER  # a pool carved: a new index
    hosts.version += 1
    p.place(request(purposes=(GENERAL, STANDBY)))
    after = p._classes
    assert after is not None and after is not before
    assert after.synced_free() is free and after.weighted_inv is winv  # no fresh memory
    check_group(p, request(purposes=(GENERAL, STANDBY)))
    check_group(p, request())


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_index_holds_the_occupied_classes_only(kernel: str) -> None:
    """Zones x centres x architectures x purposes x (owners + 1) classes are possible; 300
    owners of dedicated pools in 100 centres make 1.2 million of them for 600 hosts. The
    index keeps one entry per class that has a host (it is made again at every host down,
    up or cordon, so its cost must follow the hosts), and still lists exactly the hosts the
    filters keep."""
    hosts = table(pool("g", 600))
    n = hosts.size
    hosts.datacenter[:] = np.arange(n) % 100
    dedicated = np.arange(n) % 2 == 0
    hosts.purpose[dedicated] = DEDICATED
    hosts.dedicated_to[dedicated] = np.arange(n)[dedicated] // 2 % 300
    hosts.version += 1
    p = placer(hosts, kernel=kernel)
    classes = p._classes
    assert classes is not None and classes.slots == 301
    assert len(classes.slices) <= n
    for department in (-1, 0, 7, 299):
        for dcs in ((0,), (4, 8), tuple(range(100))):
            req = request(department=department, datacenters=dcs, purposes=(GENERAL, DEDICATED))
            check_group(p, req)
    hosts.set_up([0, 2, 3], False)
    check_group(p, request(department=0, datacenters=(0, 2, 3), purposes=(GENERAL, DEDICATED)))


@pytest.mark.parametrize("kernel", KERNELS)
def test_hosts_going_down_up_or_cordoned_do_not_build_the_index_again(kernel: str) -> None:
    hosts = interleaved_table()  # g1 0-2, s1 3-4, g2 5-7 in dc-a; d1 8-9, s2 10-11, g3 12
    p = placer(hosts, kernel=kernel)
    req = request(datacenters=(DC_A, DC_B))  # the general pools: hosts 0-2, 5-7, 8-9, 12
    assert p.index_builds == 1
    index = p._classes
    assert p.place(req) in (0, 1, 2, 5, 6, 7, 8, 9, 12)
    hosts.set_up([0], False)
    hosts.set_cordoned([1, 2, 5, 6, 7, 8, 9], True)
    assert p.place_batch(req, 3) == [12, 12, 12]  # the only host left, while it fits
    check_group(p, req)
    hosts.set_up([12], False)
    assert p.place(req) == -1
    assert p.explain(req).removed_by["cordoned"] == 7
    hosts.set_up([0, 12], True)
    hosts.set_cordoned([1, 2, 5, 6, 7, 8, 9], False)
    check_group(p, req)
    for _ in range(4):  # a host down and up again between decisions, as faults do
        hosts.set_up([5], False)
        assert p.place(req) != 5
        hosts.set_up([5], True)
        p.place(req)
    check_group(p, req)
    assert p.index_builds == 1 and p._classes is index
    hosts.purpose[8] = CONTAINER  # a pool carved: the static classes change
    hosts.version += 1
    check_group(p, req)
    assert p.index_builds == 2 and p._classes is not index
    assert 8 not in p._group(req).cand.tolist()


@SETTINGS
@given(
    scenario=scenarios(max_pools=6),
    steps=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["down", "up", "cordon", "uncordon"]),
                st.floats(0, 1, exclude_max=True),
            ),
            max_size=5,
        ),
        max_size=8,
    ),
    reqs=st.lists(requests(systems=False), min_size=1, max_size=4),
    kernel=st.sampled_from(KERNELS),
    log_limit=st.sampled_from([1, 2, 1024]),
)
def test_groups_catch_up_with_several_changes_or_after_the_log_is_cut(
    scenario: Scenario,
    steps: list[list[tuple[str, float]]],
    reqs: list[Request],
    kernel: str,
    log_limit: int,
) -> None:
    """Between two uses of a group, any number of status changes (each seen by the placer
    through another group, so the log holds one entry each), replayed from the log or,
    when the log was cut, looked up again: the group's hosts down or cordoned are exact."""
    hosts = HostTable.from_scenario(scenario)
    p = placer(hosts, seed=1, kernel=kernel)
    probe = request(purposes=(GENERAL, CONTAINER), datacenters=(0, 1))
    with patch.object(core, "AVAILABILITY_LOG_LIMIT", log_limit):
        for req in reqs:
            check_group(p, req)
        for step in steps:
            for what, where in step:
                h = int(where * hosts.size)
                if what in ("down", "up"):
                    hosts.set_up([h], what == "up")
                else:
                    hosts.set_cordoned([h], what == "cordon")
                p._group(probe)  # the placer catches up: one log entry per change
            for req in reqs:
                check_group(p, req)
    assert p.index_builds == 1


@given(
    members=st.sets(st.integers(0, 60)),
    changes=st.dictionaries(st.integers(0, 60), st.booleans()),
)
def test_set_members_puts_each_key_in_or_out_as_told(
    members: set[int], changes: dict[int, bool]
) -> None:
    keys = np.array(sorted(changes), dtype=np.int64)
    inside = np.array([changes[k] for k in sorted(changes)], dtype=np.bool_)
    got = core._set_members(np.array(sorted(members), dtype=np.int64), keys, inside)
    want = sorted(
        (members - {k for k, v in changes.items() if not v}) | {k for k, v in changes.items() if v}
    )
    assert got.tolist() == want
