"""A live migration played out as flows on a shared link, against the closed form and
hand-computed re-timing when its share changes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.maintenance.migration import Move, MoveSpec
from cloudsim.maintenance.precopy import closed_form
from cloudsim.platform.flows import FlowNetwork
from tests.dr.test_flows import Clock

GB = 1e9


def spec(**changes: object) -> MoveSpec:
    base = MoveSpec(
        links=(0,),
        limit=math.inf,
        rtt=0.002,
        memory=100 * GB,
        dirty_rate=1 * GB,
        disk=0.0,
        target=0.3,
        max_rounds=30,
        switchover=0.05,
        restart_time=120.0,
        live=True,
        cold_fallback=False,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class Watch:
    """When the VM stopped and resumed."""

    def __init__(self) -> None:
        self.stopped: list[float] = []
        self.done: list[float] = []


def run_move(s: MoveSpec, net: FlowNetwork, clock: Clock, at: float = 0.0) -> tuple[Move, Watch]:
    watch = Watch()
    move = Move(s, net, clock.schedule, watch.stopped.append, watch.done.append)
    move.start(at)
    return move, watch


def test_alone_on_a_link_it_is_the_closed_form() -> None:
    clock = Clock()
    net = FlowNetwork(np.array([10 * GB]), clock.schedule)
    s = spec()
    move, watch = run_move(s, net, clock)
    clock.run()
    want = closed_form(
        100 * GB, 1 * GB, 10 * GB, target=0.3, max_rounds=30, rtt=0.002, switchover=0.05
    )
    assert move.result.rounds == want.rounds == 2  # 100 GB, 10 GB, then 1 GB left (0.1 s)
    assert watch.stopped == [pytest.approx(want.precopy_s)]
    assert watch.done == [pytest.approx(want.duration_s)]
    assert move.result.pause_s == pytest.approx(want.pause_s)
    assert move.result.bytes == pytest.approx(want.bytes)
    assert net.carried[0] == pytest.approx(want.bytes)


@pytest.mark.parametrize("n", [1, 3, 9])
def test_sharing_a_link_with_n_restores_it_gets_its_max_min_share(n: int) -> None:
    """n restores far larger than the migration run the whole time: the link (10 GB/s) is
    split n + 1 ways, so the migration is the closed form at B = 10 / (n + 1) GB/s."""
    clock = Clock()
    net = FlowNetwork(np.array([10 * GB]), clock.schedule, concurrent=2)
    for _ in range(n):  # queued restores: the concurrency limit does not apply to moves
        net.start([0], 1e16, math.inf, lambda t: None, 0.0)
    s = spec(dirty_rate=0.2 * GB)
    move, watch = run_move(s, net, clock)
    clock.run(until=1e4)
    share = 10 * GB / (min(n, 2) + 1)
    want = closed_form(
        100 * GB, 0.2 * GB, share, target=0.3, max_rounds=30, rtt=0.002, switchover=0.05
    )
    assert move.result.rounds == want.rounds
    assert watch.done == [pytest.approx(want.duration_s, rel=1e-9)]
    assert move.result.bytes == pytest.approx(want.bytes, rel=1e-9)


def test_a_restore_ending_mid_round_re_times_it_exactly() -> None:
    """Link 10 GB/s. A 20 GB restore and the migration (M 100 GB, D 1 GB/s) share it at
    5 GB/s each until the restore ends at 4 s; the first round's last 80 GB go at 10 GB/s
    (ends at 12 s); it dirtied 12 GB (1.2 s at 10 GB/s, 1.2 GB dirtied), then 1.2 GB left
    sends in 0.12 s <= 0.3 s: stop at 13.2 s, resume at 13.2 + 0.12 + 0.002 + 0.05."""
    clock = Clock()
    net = FlowNetwork(np.array([10 * GB]), clock.schedule)
    ends: list[float] = []
    net.start([0], 20 * GB, math.inf, ends.append, 0.0)
    move, watch = run_move(spec(), net, clock)
    clock.run()
    assert ends == [pytest.approx(4.0)]
    assert move.result.rounds == 2
    assert watch.stopped == [pytest.approx(13.2)]
    assert watch.done == [pytest.approx(13.2 + 0.12 + 0.052)]
    assert move.result.bytes == pytest.approx(113.2 * GB)


def test_a_cut_stalls_the_round_and_the_dirty_set_grows_with_it() -> None:
    """D = 1 GB/s, M = 20 GB at 10 GB/s; the link is cut from 1 s to 3 s: round 0 takes
    4 s, so 4 GB dirty (0.4 s > 0.3), then 0.4 GB (0.04 s): pause 0.04 + 0.052."""
    clock = Clock()
    net = FlowNetwork(np.array([10 * GB]), clock.schedule)
    move, watch = run_move(spec(memory=20 * GB), net, clock)
    clock.run(until=1.0)
    net.set_capacity(np.array([0.0]), 1.0)
    clock.run(until=3.0)
    net.set_capacity(np.array([10 * GB]), 3.0)
    clock.run()
    assert move.result.rounds == 2
    assert watch.stopped == [pytest.approx(4.4)]
    assert watch.done == [pytest.approx(4.4 + 0.04 + 0.052)]


def test_disk_copied_first_across_centres() -> None:
    clock = Clock()
    net = FlowNetwork(np.array([1 * GB]), clock.schedule)
    move, watch = run_move(spec(memory=8 * GB, dirty_rate=0.0, disk=200 * GB), net, clock)
    clock.run()
    assert watch.stopped == [pytest.approx(208.0)]
    assert watch.done == [pytest.approx(208.052)]
    assert move.result.bytes == pytest.approx(208 * GB)


def test_non_convergent_forced_or_cold() -> None:
    """D (2 GB/s) above B (1 GB/s): after 3 rounds the stop is forced with all of M (8 GB)
    in the pause; with the cold fallback it boots at the destination after 120 s."""
    clock = Clock()
    net = FlowNetwork(np.array([1 * GB]), clock.schedule)
    s = spec(memory=8 * GB, dirty_rate=2 * GB, max_rounds=3)
    move, watch = run_move(s, net, clock)
    clock.run()
    assert (move.result.method, move.result.rounds, move.result.converged) == ("forced", 3, False)
    assert watch.stopped == [pytest.approx(24.0)]
    assert move.result.pause_s == pytest.approx(8.052)
    assert move.result.bytes == pytest.approx(32 * GB)
    clock2 = Clock()
    net2 = FlowNetwork(np.array([1 * GB]), clock2.schedule)
    move2, watch2 = run_move(dataclasses.replace(s, cold_fallback=True), net2, clock2)
    clock2.run()
    assert move2.result.method == "cold-fallback"
    assert watch2.stopped == [pytest.approx(24.0)]
    assert watch2.done == [pytest.approx(144.0)]
    assert move2.result.bytes == pytest.approx(24 * GB)


def test_cold_move_stops_at_once_and_cancel_calls_nothing_back() -> None:
    clock = Clock()
    net = FlowNetwork(np.array([1 * GB]), clock.schedule)
    _, watch = run_move(spec(live=False, disk=10 * GB), net, clock, at=5.0)
    assert watch.stopped == [5.0]
    clock.run()
    assert watch.done == [pytest.approx(5.0 + 10.0 + 120.0)]
    move2, watch2 = run_move(spec(), net, clock, at=200.0)
    clock.run(until=201.0)
    move2.cancel(201.0)
    clock.run()
    assert watch2.stopped == [] and watch2.done == []
    assert net.running == {}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 6),
    m=st.floats(1.0, 200.0),
    ratio=st.floats(0.0, 0.9),
    capacity=st.floats(0.5, 50.0),
)
def test_any_load_a_constant_share_gives_the_closed_form(
    n: int, m: float, ratio: float, capacity: float
) -> None:
    """n endless restores and one migration on a link: the migration's share is constant,
    capacity / (n + 1), so its outcome is the closed form at that bandwidth; the link never
    carries more than its capacity."""
    clock = Clock()
    net = FlowNetwork(np.array([capacity * GB]), clock.schedule)
    for _ in range(n):
        net.start([0], 1e18, math.inf, lambda t: None, 0.0)
    share = capacity * GB / (n + 1)
    s = spec(memory=m * GB, dirty_rate=ratio * share)
    move, watch = run_move(s, net, clock)
    peak = [0.0]
    clock.run(until=1e7, each=lambda: peak.__setitem__(0, max(peak[0], float(net.load()[0]))))
    want = closed_form(
        m * GB, ratio * share, share, target=0.3, max_rounds=30, rtt=0.002, switchover=0.05
    )
    if move.result.rounds != want.rounds:  # on the stop test's boundary
        return
    assert watch.done == [pytest.approx(want.duration_s, rel=1e-6)]
    assert move.result.bytes == pytest.approx(want.bytes, rel=1e-6)
    assert peak[0] <= capacity * GB * (1 + 1e-9)
