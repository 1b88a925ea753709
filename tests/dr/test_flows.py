"""Transfers sharing links: the max-min fair fluid model, against hand-computed times."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.platform import flows
from cloudsim.platform.flows import FlowNetwork, max_min_rates

GBPS = 1e9 / 8


class Clock:
    """A minimal calendar: actions in time order (ties in scheduling order)."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Callable[[float], None]]] = []
        self.n = 0

    def schedule(self, time: float, action: Callable[[float], None]) -> None:
        heapq.heappush(self.heap, (time, self.n, action))
        self.n += 1

    def run(self, until: float = math.inf, each: Callable[[], None] | None = None) -> None:
        while self.heap and self.heap[0][0] <= until:
            time, _, action = heapq.heappop(self.heap)
            action(time)
            if each is not None:
                each()


def test_n_equal_restores_over_one_link_finish_at_n_times_size_over_bandwidth() -> None:
    """Fourteen 2 Gbit/s restores of 1 TB over one 10 Gbit/s link: they share it, and all
    finish together at 14 x 1 TB / 10 Gbit/s (not 1 TB / 2 Gbit/s)."""
    clock = Clock()
    net = FlowNetwork(np.array([10 * GBPS]), clock.schedule)
    done: list[float] = []
    size = 1e12
    for _ in range(14):
        net.start([0], size, 2 * GBPS, done.append, 0.0)
    assert net.load()[0] == pytest.approx(10 * GBPS)
    clock.run()
    assert done == pytest.approx([14 * size / (10 * GBPS)] * 14)
    assert net.carried[0] == pytest.approx(14 * size)
    # few enough that their own limit binds: each at 2 Gbit/s
    net2 = FlowNetwork(np.array([10 * GBPS]), clock.schedule)
    done2: list[float] = []
    for _ in range(4):
        net2.start([0], size, 2 * GBPS, done2.append, 0.0)
    clock.run()
    assert done2 == pytest.approx([size / (2 * GBPS)] * 4)


def test_queued_restores_run_one_after_another() -> None:
    clock = Clock()
    net = FlowNetwork(np.array([10 * GBPS]), clock.schedule, concurrent=1)
    done: list[float] = []
    for _ in range(3):
        net.start([0], 1e12, 10 * GBPS, done.append, 0.0)
    clock.run()
    one = 1e12 / (10 * GBPS)
    assert done == pytest.approx([one, 2 * one, 3 * one])


def test_a_late_flow_and_a_cut_change_the_shares_exactly() -> None:
    """A 10 GB/s link: flow a alone for 10 s (100 GB of 300), then b joins (a and b at 5
    GB/s), the link is cut for 100 s at t=20, then back: hand-computed ends."""
    clock = Clock()
    net = FlowNetwork(np.array([10e9]), clock.schedule)
    ends: dict[str, float] = {}
    net.start([0], 300e9, math.inf, lambda t: ends.setdefault("a", t), 0.0)
    clock.run(until=10.0)
    net.start([0], 100e9, math.inf, lambda t: ends.setdefault("b", t), 10.0)
    clock.run(until=20.0)  # a: 100 + 50 = 150 GB moved; b: 50 GB
    net.set_capacity(np.array([0.0]), 20.0)
    assert net.load()[0] == 0.0
    clock.run(until=120.0)
    net.set_capacity(np.array([10e9]), 120.0)
    clock.run()
    assert ends["b"] == pytest.approx(130.0)  # 50 GB left at 5 GB/s
    assert ends["a"] == pytest.approx(130.0 + 10.0)  # 100 GB left: 50 then 50 at 10 GB/s


def test_max_min_fairness_on_a_hand_example() -> None:
    """Links 0 (10) and 1 (4); flows: x over 0, y over 0 and 1, z over 1 (limit 1)."""
    incidence = np.array([[1, 1, 0], [0, 1, 1]], dtype=np.bool_)
    rates = max_min_rates(incidence, np.array([math.inf, math.inf, 1.0]), np.array([10.0, 4.0]))
    assert rates.tolist() == pytest.approx([7.0, 3.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(
    # a link is dead (0) or carries something: a bandwidth of 5e-324 is no input the
    # topology can give (the model counts a link within EPS of full as full)
    capacity=st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 100.0)), min_size=1, max_size=5),
    flows=st.lists(
        st.tuples(
            st.lists(st.integers(0, 4), max_size=3, unique=True),
            st.floats(1.0, 1e4),
            st.one_of(st.just(math.inf), st.floats(0.5, 50.0)),
            st.floats(0.0, 50.0),
        ),
        min_size=1,
        max_size=8,
    ),
    concurrent=st.one_of(st.none(), st.integers(1, 3)),
)
def test_no_link_ever_carries_more_than_its_bandwidth(
    capacity: list[float],
    flows: list[tuple[list[int], float, float, float]],
    concurrent: int | None,
) -> None:
    cap = np.array(capacity)
    clock = Clock()
    net = FlowNetwork(cap, clock.schedule, concurrent)
    done: list[int] = []

    def check() -> None:
        load = net.load()
        assert (load <= cap * (1 + 1e-9) + 1e-9).all()
        # max-min: a flow below its limit crosses a full link (else it could go faster)
        for f in net.running.values():
            if f.rate < f.limit * (1 - 1e-6) and f.links:
                assert any(load[i] >= cap[i] * (1 - 1e-6) for i in f.links), (f, load)

    for k, (links, size, limit, at) in enumerate(sorted(flows, key=lambda f: f[3])):
        clock.run(until=at, each=check)
        usable = [i for i in links if i < len(cap)]
        net.start(usable, size, limit, lambda t, k=k: done.append(k), at)
        check()
    clock.run(each=check)
    assert net.peak_utilisation <= 1 + 1e-9
    stalled = {f.id for f in (*net.running.values(), *net.waiting)}
    assert len(done) + len(stalled) == len(flows)
    for f in net.running.values():  # only a flow over a dead link (or queued behind) stays
        assert f.rate == 0.0 and any(cap[i] <= 0 for i in f.links)


def test_a_restore_over_an_async_route_slows_the_replication_stream() -> None:
    """An async stream at most 6 GB/s on a 10 GB/s link: alone it gets its 6; a restore
    crossing the link takes an equal share (5 and 5) until it is done (100 GB: 20 s); the
    owner of the stream is told each change."""
    clock = Clock()
    net = FlowNetwork(np.array([10e9]), clock.schedule)
    told: list[tuple[float, float]] = []
    net.on_change = lambda t: told.append((t, net.stream_rate(7)))
    net.stream(7, [0], 6e9, 0.0)
    assert net.stream_rate(7) == 6e9
    net.stream(7, [0], 6e9, 1.0)  # unchanged: nothing happens
    assert len(told) == 1
    ends: list[float] = []
    net.start([0], 100e9, math.inf, ends.append, 10.0)
    assert net.stream_rate(7) == pytest.approx(5e9)
    clock.run()
    assert ends == pytest.approx([30.0])
    assert net.stream_rate(7) == 6e9 and told[-1] == (pytest.approx(30.0), 6e9)
    net.stream(7, None, 0.0, 40.0)  # the route is gone
    assert net.stream_rate(7) == 0.0 and not net.running
    assert net.carried[0] == pytest.approx(6e9 * 10 + 5e9 * 20 + 100e9 + 6e9 * 10)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.floats(min_value=0.0, max_value=1e12), min_size=1, max_size=12),
    limits=st.lists(st.floats(min_value=1e6, max_value=5e9), min_size=12, max_size=12),
    paths=st.lists(st.sampled_from([(0,), (1,), (0, 1), (0, 2), (2,)]), min_size=12, max_size=12),
)
def test_changes_made_together_settle_once_to_the_same_rates_and_ends(
    sizes: list[float], limits: list[float], paths: list[tuple[int, ...]]
) -> None:
    """Starting flows inside ``together`` (a backup slot) gives, bit for bit, the rates and
    finish times of starting them one by one, with one completion on the calendar."""
    ends: dict[str, list[tuple[int, float]]] = {"each": [], "together": []}
    scheduled = {}
    for mode in ("each", "together"):
        clock = Clock()
        net = FlowNetwork(np.array([1.25e9, 2.5e9, 0.5e9]), clock.schedule)
        net.stream(0, (0, 1), 3e8, 0.0)
        clock.run()
        before = clock.n
        flows = [
            (paths[i], size, limits[i], (lambda t, i=i, mode=mode: ends[mode].append((i, t))))
            for i, size in enumerate(sizes)
        ]
        if mode == "each":
            for links, size, limit, done in flows:
                net.start(links, size, limit, done, 10.0, queued=False)
        else:
            with net.together(10.0):
                for links, size, limit, done in flows:
                    net.start(links, size, limit, done, 10.0, queued=False)
        scheduled[mode] = clock.n - before
        clock.run()
    assert sorted(ends["each"]) == sorted(ends["together"])
    assert scheduled["together"] <= min(1, scheduled["each"])
    if all(size > 1e3 for size in sizes):  # each start put its next end on the calendar
        assert scheduled["each"] == len(sizes) and scheduled["together"] == 1


def test_completions_at_one_instant_are_told_in_the_order_the_flows_joined() -> None:
    """Two transfers of different kinds end together: ``done`` in the order they started
    running, whatever the order their kinds were first seen in."""
    clock = Clock()
    net = FlowNetwork(np.array([10.0]), clock.schedule)
    told: list[str] = []
    net.start([0], 1000.0, 1.0, lambda t: told.append("old"), 0.0)  # its kind first
    net.start([0], 200.0, 2.0, lambda t: told.append("x"), 0.0)  # 100 s at 2
    net.start([0], 100.0, 1.0, lambda t: told.append("y"), 0.0)  # 100 s at 1, kind of "old"
    clock.run(until=100.0)
    assert told == ["x", "y"]


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.sampled_from([(0,), (1,), (0, 1), (1, 2), ()]),
                  st.sampled_from([1.0, 2.5, 4.0, math.inf]), st.floats(0.0, 40.0)),
        st.tuples(st.just("stream"), st.integers(0, 3),
                  st.sampled_from([None, (0,), (0, 2), (2,)]), st.sampled_from([0.5, 3.0])),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("cut"), st.integers(0, 2), st.booleans()),
        st.tuples(st.just("wait"), st.floats(0.0, 8.0)),
    ),
    min_size=1,
    max_size=40,
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(ops=_OPS)
def test_rates_after_every_change_are_those_of_solving_every_flow_afresh(
    ops: list[tuple[object, ...]],
) -> None:
    """Starts, streams, cancels, cuts and restores in any order: after each, every running
    flow's rate is, bit for bit, the max-min rate of the running flows solved one by one
    (no grouping by kind, no reuse of an earlier solution), and no transfer left running
    is done. States recur (a link cut then restored), so solutions are reused."""
    bandwidth = np.array([10.0, 6.0, 3.0])
    cap = bandwidth.copy()
    clock = Clock()
    net = FlowNetwork(cap, clock.schedule)
    ended: dict[int, float] = {}
    started: list[int] = []  # transfers (a stream is stopped by its key, not cancelled)
    now = 0.0

    def check() -> None:
        flows = list(net.running.values())
        if not flows:
            return
        incidence = np.zeros((len(cap), len(flows)), dtype=bool)
        for j, f in enumerate(flows):
            incidence[list(f.links), j] = True
        want = max_min_rates(incidence, np.array([f.limit for f in flows]), net.capacity)
        got = np.array([f.rate for f in flows])
        assert got.tobytes() == want.tobytes(), (got, want)
        for f in flows:  # nothing running is overdue
            assert f.remaining > 0 or not math.isfinite(f.size)

    for op in ops:
        if op[0] == "start":
            _, links, limit, size = op
            assert isinstance(links, tuple) and isinstance(limit, float)
            assert isinstance(size, float)
            fid = net._next_id
            started.append(fid)
            net.start(links, size, limit, lambda t, fid=fid: ended.__setitem__(fid, t), now)
        elif op[0] == "stream":
            _, key, links, limit = op
            assert isinstance(key, int) and isinstance(limit, float)
            net.stream(key, links, limit, now)  # type: ignore[arg-type]
        elif op[0] == "cancel":
            if started:
                net.cancel(started[int(op[1]) % len(started)], now)  # type: ignore[call-overload]
        elif op[0] == "cut":
            _, link, down = op
            assert isinstance(link, int)
            cap = cap.copy()
            cap[link] = 0.0 if down else bandwidth[link]
            net.set_capacity(cap, now)
        else:
            wait = op[1]
            assert isinstance(wait, float)
            now += wait
            clock.run(until=now, each=check)
        check()
    clock.run(each=check)
    assert all(t >= 0 for t in ended.values())


def test_moved_streams_names_each_stream_whose_rate_changed_once() -> None:
    """Two streams on a 10 GB/s link, at most 4 and 8 GB/s: 4 and 6 (max-min); with an
    unlimited transfer beside them, a third each until it is done; a stream on another
    link is not named when only the first link's shares change; a removed stream is named
    at rate 0."""
    clock = Clock()
    net = FlowNetwork(np.array([10e9, 10e9]), clock.schedule)
    net.stream(1, [0], 4e9, 0.0)
    net.stream(2, [0], 8e9, 0.0)
    net.stream(3, [1], 1e9, 0.0)
    assert net.moved_streams() == [(1, 4e9), (2, 6e9), (3, 1e9)]
    assert net.moved_streams() == []
    net.start([0], 10e9, math.inf, lambda t: None, 1.0)  # a transfer takes a share
    assert net.moved_streams() == [(1, 10e9 / 3), (2, 10e9 / 3)]
    clock.run()
    assert net.clock == pytest.approx(4.0)  # 10 GB at a third of 10 GB/s
    assert net.moved_streams() == [(1, 4e9), (2, 6e9)]
    net.stream(1, None, 0.0, 10.0)
    assert net.moved_streams() == [(1, 0.0), (2, 8e9)]
    assert net.carried[1] == pytest.approx(1e9 * net.clock)


def test_a_stream_cancelled_by_its_flow_id_frees_its_key() -> None:
    """Cancelling a stream's flow (by id, as a transfer is cancelled) ends the stream: its
    rate reads 0, it is named as moved, and the same key starts a new stream (it raised
    KeyError when the key stayed registered to the cancelled flow)."""
    clock = Clock()
    net = FlowNetwork(np.array([10e9]), clock.schedule)
    net.stream(7, [0], 4e9, 0.0)
    assert net.moved_streams() == [(7, 4e9)]
    net.cancel(net._streams[7], 1.0)
    assert net.stream_rate(7) == 0.0
    assert net.moved_streams() == [(7, 0.0)]
    net.stream(7, [0], 2e9, 2.0)
    assert net.stream_rate(7) == 2e9


def _run_ops(ops: list[tuple[object, ...]], check_state: bool) -> list[object]:
    """Play ``ops`` on a three-link network; the rates after each (and, with
    ``check_state``, that the running kinds' numbered state is the one their tags and
    counts, read afresh, were numbered under)."""
    bandwidth = np.array([10.0, 6.0, 3.0])
    cap = bandwidth.copy()
    clock = Clock()
    net = FlowNetwork(cap, clock.schedule)
    log: list[object] = []
    started: list[int] = []
    now = 0.0
    for op in ops:
        if op[0] == "start":
            _, links, limit, size = op
            started.append(net._next_id)
            net.start(links, size, limit, lambda t: None, now)  # type: ignore[arg-type]
        elif op[0] == "stream":
            _, key, links, limit = op
            net.stream(key, links, limit, now)  # type: ignore[arg-type]
        elif op[0] == "cancel":
            if started:
                net.cancel(started[int(op[1]) % len(started)], now)  # type: ignore[call-overload]
        elif op[0] == "cut":
            _, link, down = op
            cap = cap.copy()
            cap[link] = 0.0 if down else bandwidth[link]  # type: ignore[index]
            net.set_capacity(cap, now)
        else:
            now += op[1]  # type: ignore[operator]
            clock.run(until=now)
        if check_state:
            kinds = net._kinds.values()
            fresh = (tuple(k.tag for k in kinds), tuple(k.n for k in kinds))
            numbered = {state: key for key, state in net._states.items()}
            assert numbered.get(net._state, fresh) == fresh
        log.append(sorted(net.rates().items()))
    clock.run()
    return log


@settings(max_examples=60, deadline=None)
@given(ops=_OPS)
def test_numbered_states_are_the_kinds_read_afresh_even_when_renumbered(
    ops: list[tuple[object, ...]],
) -> None:
    """After every change the running kinds' state number is the one their tags and counts
    were numbered under; with room for two numbers (the numbering starts afresh at almost
    every new state) every rate is the same, bit for bit, as with the default room."""
    default = _run_ops(ops, check_state=True)
    with patch.object(flows, "STATES_SIZE", 2):
        small = _run_ops(ops, check_state=True)
    assert default == small
