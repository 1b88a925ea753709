"""Replication queues, backup arithmetic and heartbeat monitors, unit by unit."""

from __future__ import annotations

import heapq
import math
import types
from collections.abc import Callable, Generator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.dr.detection import CLEAN, CUT, HeartbeatMonitors, Route, lossy_transitions
from cloudsim.dr.replication import Diurnal, Replication
from cloudsim.scenario.dr import OFFICE_DAY, Heartbeat

DAY = 86400.0
HOUR = 3600.0


def test_diurnal_integral_and_inverse() -> None:
    d = Diurnal(OFFICE_DAY)
    assert d.hourly.mean() == pytest.approx(1.0)
    assert float(d.integral(DAY)) == pytest.approx(DAY)
    assert float(d.integral(3 * DAY + 5 * HOUR)) == pytest.approx(
        3 * DAY + d.hourly[:5].sum() * HOUR
    )
    x = np.linspace(0, 5 * DAY, 1001)
    assert np.allclose(d.integral(d.inverse(x)), x)
    assert d.at(9.5 * HOUR) == pytest.approx(d.hourly[9])


def euler(rate: float, shape: Diurnal, cap: float, until: float, dt: float = 1.0) -> float:
    backlog = 0.0
    t = 0.0
    while t < until:
        backlog = max(0.0, backlog + (rate * shape.at(t) - cap) * dt)
        t += dt
    return backlog


def test_the_fluid_queue_is_exact_between_changes() -> None:
    """Advancing hour by hour in one call equals a fine Euler integration."""
    shape = tuple([0.2] * 8 + [2.0] * 8 + [0.8] * 8)
    rate, cap = 1e6, 1.3e6  # bytes/s: over capacity in the 8 busy hours only
    repl = Replication(np.array([rate]), [shape])
    repl.write_on[:] = 1.0
    repl.async_in[:] = 1.0
    repl.async_cap[:] = cap
    for until in (10 * HOUR, 15.5 * HOUR, 40 * HOUR):
        repl.advance(until)
        expected = euler(rate, Diurnal(shape), cap, until, dt=5.0)
        assert repl.backlog[0] == pytest.approx(expected, rel=1e-3, abs=1e3)
    assert repl.conserved()
    # the lag is the age of the oldest unshipped write
    t = repl.clock
    lag = float(repl.lag(t)[0])
    d = Diurnal(shape)
    written = rate * float(d.integral(t) - d.integral(t - lag))
    assert written == pytest.approx(repl.backlog[0], rel=1e-9)


def test_dropping_keeps_every_byte_accounted_for() -> None:
    repl = Replication(np.array([1e6, 2e6]), [OFFICE_DAY, OFFICE_DAY])
    repl.write_on[:] = 1.0
    repl.async_in[:] = 1.0
    repl.mirror_in[:, 0] = 1.0
    repl.advance(HOUR)
    lost = repl.drop_async(1) + repl.drop_mirror(0, 0)
    assert lost > 0 and repl.backlog[1] == 0 and repl.mirror[0, 0] == 0
    repl.mirror_cap[:] = 1e9
    repl.advance(2 * HOUR)
    assert repl.conserved()
    assert repl.mirror.sum() == 0


def naive_transitions(
    missed: list[bool], k: int, reachable: bool, run: int
) -> tuple[list[tuple[int, bool]], bool, int]:
    events = []
    for i, miss in enumerate(missed):
        run = run + 1 if miss else 0
        if reachable and run == k:
            reachable = False
            events.append((i, False))
        elif not reachable and not miss:
            reachable = True
            events.append((i, True))
    return events, reachable, run


@settings(max_examples=300)
@given(
    missed=st.lists(st.booleans(), min_size=1, max_size=60),
    k=st.integers(1, 5),
    reachable=st.booleans(),
    run=st.integers(0, 6),
)
def test_lossy_transitions_match_a_heartbeat_by_heartbeat_monitor(
    missed: list[bool], k: int, reachable: bool, run: int
) -> None:
    if reachable:
        run = min(run, k - 1)  # a reachable monitor has fewer than k misses behind it
    got = lossy_transitions(np.array(missed), k, reachable, run)
    assert got == naive_transitions(missed, k, reachable, run)


class Heap:
    """A stand-in for the fault injector's heap."""

    def __init__(self) -> None:
        self.items: list[tuple[float, int, Callable[[float], None]]] = []
        self.n = 0

    def schedule(self, time: float, action: Callable[[float], None]) -> None:
        heapq.heappush(self.items, (time, self.n, action))
        self.n += 1

    def run(self, until: float) -> None:
        while self.items and self.items[0][0] <= until:
            time, _, action = heapq.heappop(self.items)
            action(time)


def monitors(
    interval: float = 1.0, misses: int = 3, timeout: float = 1.0, seed: int = 0
) -> tuple[HeartbeatMonitors, Heap, list[tuple[str, str, bool, float]]]:
    heap = Heap()
    seen: list[tuple[str, str, bool, float]] = []
    m = HeartbeatMonitors(
        ["a", "b"],
        Heartbeat(interval=interval, misses=misses, timeout=timeout),
        np.random.default_rng(seed),
        heap.schedule,
        lambda mon, t: seen.append((mon.source, mon.target, mon.reachable, t)),
    )
    return m, heap, seen


def test_a_cut_is_reported_at_the_kth_missed_heartbeat() -> None:
    m, heap, seen = monitors(interval=2.0, misses=3, timeout=0.5)
    cut_at = 100.3
    m.update({("a", "b"): CUT, ("b", "a"): CUT}, cut_at)
    heap.run(200)
    assert len(seen) == 2
    for source, target, reachable, t in seen:
        phase = m.monitors[(source, target)].phase
        first = phase + (math.floor((cut_at - phase) / 2.0) + 1) * 2.0
        assert not reachable and t == pytest.approx(first + 2 * 2.0 + 0.5)
        assert 2 * 2.0 + 0.5 <= t - cut_at <= 3 * 2.0 + 0.5
    m.update({("a", "b"): CLEAN, ("b", "a"): CLEAN}, 300.0)
    heap.run(400)
    assert [r for *_, r, _ in seen[2:]] == [True, True]
    assert all(300 < t <= 302 for *_, t in seen[2:])


def test_a_heal_before_detection_is_never_reported() -> None:
    m, heap, seen = monitors(interval=1.0, misses=3)
    m.update({("a", "b"): CUT}, 10.0)
    m.update({("a", "b"): CLEAN}, 11.0)  # back within two heartbeats
    heap.run(100)
    assert seen == []


def test_a_lossy_route_gives_false_reports_at_about_the_expected_rate() -> None:
    """Runs of k misses in Bernoulli trials: a monitor reporting reachable goes down at
    rate ~ (1-q) q^k per heartbeat (q the miss probability), and back at the next answer."""
    loss = 0.2
    q = 1 - (1 - loss) ** 2
    m, heap, seen = monitors(interval=1.0, misses=3, seed=3)
    m.update({("a", "b"): Route(True, loss)}, 0.0)
    beats = 20_000
    heap.run(beats)
    downs = sum(1 for s, _, r, _ in seen if s == "a" and not r)
    expected = beats * (1 - q) * q**3
    assert abs(downs - expected) < 4 * math.sqrt(expected)
    m.update({("a", "b"): CLEAN}, beats + 0.5)
    heap.run(beats + 10)
    assert m.monitors[("a", "b")].reachable


# ------------------------------------------------- asynchronous replication in batches

FLAT = (1.0,) * 24


def batched(rate: float, cap: float, interval: float, flight: float) -> Replication:
    repl = Replication(np.array([rate]), [FLAT], np.array([interval]))
    repl.set_flow(0, 1.0, 1.0)
    repl.async_cap[:] = cap
    repl.flight[:] = flight
    return repl


def test_async_loss_at_a_random_failure_is_half_the_interval_plus_the_delay() -> None:
    """Writes well under the link: the mean loss is T/2 + d (a 99.9 % interval)."""
    interval, flight = 60.0, 10.0
    rng = np.random.default_rng(2026)
    times = np.sort(rng.uniform(HOUR, 20 * DAY, 600))
    repl = batched(1e6, 1e9, interval, flight)
    losses = []
    for t in times.tolist():
        repl.advance(t)
        lag = float(repl.lag(t)[0])  # what the target lacks, in seconds of writing
        lost = repl.drop_async(0)
        seconds = float(repl.age(np.array([lost]), t)[0])
        assert seconds == pytest.approx(lag)
        assert flight - 1e-6 <= seconds <= interval + flight + 1e-6  # never below the delay
        losses.append(seconds)
    mean = float(np.mean(losses))
    half_width = 3.3 * float(np.std(losses)) / math.sqrt(len(losses))
    assert abs(mean - (interval / 2 + flight)) < half_width, (mean, half_width)
    assert repl.conserved()
    assert repl.dropped_async[0] == pytest.approx(1e6 * sum(losses), rel=1e-9)


def test_async_lag_grows_at_writes_minus_the_link_rate() -> None:
    rate, cap, interval, flight = 2e6, 1.5e6, 30.0, 0.5
    repl = batched(rate, cap, interval, flight)
    repl.advance(HOUR)
    b1, lag1 = float(repl.backlog[0]), float(repl.lag(HOUR)[0])
    repl.advance(3 * HOUR)
    b2, lag2 = float(repl.backlog[0]), float(repl.lag(3 * HOUR)[0])
    assert (b2 - b1) / (2 * HOUR) == pytest.approx(rate - cap)  # bytes: writes - link
    # seconds of writing behind: the backlog's age grows at 1 - link/writes, plus the delay
    assert lag1 == pytest.approx(b1 / rate + flight)
    assert (lag2 - lag1) / (2 * HOUR) == pytest.approx(1 - cap / rate)
    mean, most = repl.cycle_lag(3 * HOUR)
    assert float(mean[0]) == float(most[0]) == pytest.approx(b2 / rate + flight)
    assert repl.conserved()


def test_a_stopped_flow_keeps_what_the_target_lacked_when_it_stopped() -> None:
    repl = batched(1e6, 1e9, 60.0, 2.0)
    repl.advance(HOUR + 45.0)  # 45 s into a batch
    repl.set_flow(0, 0.0, 0.0)  # the primary dies
    repl.advance(HOUR + 50.0)  # the failover decision, 5 s later
    lost = repl.drop_async(0)
    assert lost == pytest.approx(1e6 * (45.0 + 2.0))
    assert repl.conserved()


def test_level_six_needs_synchronous_replication_to_an_equal_remote_cluster() -> None:
    from cloudsim.dr.levels import infrastructure_level
    from cloudsim.dr.plan import SystemPlan
    from cloudsim.scenario.dr import Standby

    def plan(mode: str, home: tuple[int, ...], standby: Standby | None, sync: bool) -> SystemPlan:
        return SystemPlan(
            index=0, name="s", priority="critical", mode=mode, entry=0, home=home,
            standby=standby, standby_dc=2 if standby else -1, sync=sync, async_to=2,
            async_share=None, async_interval=30.0, async_delay=0.0, backup=None,
            backup_to=-1, restore_to=2, write_rate=1e6, shape=FLAT, need=1, data_gb=1.0,
        )  # fmt: skip

    sites = ["a", "a", "b"]  # centres 0 and 1 in one city, 2 at another site
    same_city = plan("active-active", (0, 1), Standby(datacenter="c2"), True)
    assert infrastructure_level(same_city, sites, "witness-quorum")[0] == 5
    across = plan("active-active", (0, 2), None, True)
    assert infrastructure_level(across, sites, "witness-quorum")[0] == 6
    assert infrastructure_level(across, sites, "manual")[0] < 6
    full = Standby(datacenter="c2", kind="warm", size=1.0)
    assert infrastructure_level(plan("active-standby", (0,), full, True), sites, "timeout")[0] == 6
    small = Standby(datacenter="c2", kind="warm", size=0.25)
    level = infrastructure_level(plan("active-standby", (0,), small, True), sites, "timeout")
    assert level[0] == 5
    level = infrastructure_level(plan("active-standby", (0,), full, False), sites, "timeout")
    assert level[0] == 5  # asynchronous: never level 6


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_the_tick_samples_lags_that_change_with_the_inputs_and_the_backlog(kernel: str) -> None:
    """Ten-minute ticks over one system shipping 60 s batches: lag T/2 + d while writes are
    under the link (d = 10 s, then 25 s from 1 h: the in-flight time changed, nothing
    else), not sampled while the system is not writing (1 h to 2 h), then, the link cut,
    the backlog's age plus d. Sums, counts and maxima by hand."""
    import simpy

    from cloudsim.dr.control.tick import ReplicationTick

    env = simpy.Environment()
    repl = batched(1e6, 1e9, 60.0, 10.0)
    plan = types.SimpleNamespace(async_to=1, write_rate=1e6)
    ticks: list[float] = []
    if kernel == "numba":
        pytest.importorskip("numba", reason="the compiled sample needs numba (cloudsim[fast])")
    tick = ReplicationTick(
        env,
        repl,
        [plan],  # type: ignore[list-item]
        600.0,
        4 * HOUR,
        lambda: ticks.append(env.now),
        kernel=kernel,
    )

    def script() -> Generator[simpy.Event, None, None]:
        yield env.timeout(HOUR - 1)
        repl.advance(env.now)
        repl.flight[0] = 25.0
        yield env.timeout(1)
        repl.advance(env.now)
        repl.set_flow(0, 0.0, 1.0)  # not writing from 1 h (sampled at 1 h: stopped)
        yield env.timeout(HOUR)
        repl.advance(env.now)
        repl.set_flow(0, 1.0, 1.0)
        repl.async_cap[0] = 0.0  # from 2 h the link ships nothing: the backlog grows
        yield env.timeout(0)

    env.process(script())
    env.process(tick.run())
    env.run()
    assert len(ticks) == 24
    # a tick and a change at one instant: the tick first at 1 h (scheduled first: flight
    # 25 s, still writing), the change first at 2 h (writing again, nothing queued yet).
    # Sampled: 10..50 min at 30 + 10; 60 min and 120 min at 30 + 25; then 12 ticks with
    # k x 600 s of writing queued at the k-th, 25 s in flight beyond it
    backlog_ages = [k * 600.0 for k in range(1, 13)]
    want_sum = 5 * 40.0 + 2 * 55.0 + sum(a + 25.0 for a in backlog_ages)
    assert tick.lag_samples[0] == 5 + 2 + 12
    assert float(tick.lag_sum[0]) == pytest.approx(want_sum)
    assert float(tick.lag_max[0]) == pytest.approx(2 * HOUR + 25.0)
    assert float(tick.last_lag[0]) == pytest.approx(2 * HOUR + 25.0)
