"""Backups as transfers over the links: hand-computed durations, overruns skipped or queued,
incremental sizes, recovery points, a link-capacity property, and runs that show a backup
window that cannot finish."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim import Simulation
from cloudsim.dr.backups import Backups
from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.replication import Replication
from cloudsim.platform.flows import FlowNetwork
from cloudsim.scenario.dr import Backup
from tests.conftest import build
from tests.dr.builders import centre_down, dr_section
from tests.dr.test_flows import Clock
from tests.faults.builders import two_centres

DAY = 86400.0
HOUR = 3600.0
GBPS = 1e9 / 8
FLAT = (1.0,) * 24


def plan(index: int, backup: Backup, data_gb: float, write_rate: float = 0.0) -> SystemPlan:
    """A backup-only system at centre 0 backing up to centre 1 over link 0."""
    return SystemPlan(
        index=index, name=f"s{index}", priority="normal", mode="backup-only", entry=0,
        home=(0,), standby=None, standby_dc=-1, sync=False, async_to=-1, async_share=None,
        async_interval=0.0, async_delay=0.0, backup=backup, backup_to=1, restore_to=1,
        write_rate=write_rate, shape=FLAT, need=1, data_gb=data_gb,
    )  # fmt: skip


def backups(
    plans: list[SystemPlan], link_gbps: float = 10.0, horizon: float = 10 * DAY
) -> tuple[Backups, Clock, FlowNetwork]:
    clock = Clock()
    flows = FlowNetwork(np.array([link_gbps * GBPS]), clock.schedule)
    repl = Replication(np.array([p.write_rate for p in plans]), [p.shape for p in plans])
    repl.write_on[:] = 1.0  # every system writes throughout
    made = Backups(
        plans,
        flows,
        repl,
        clock.schedule,
        horizon,
        source_of=lambda s: 0,
        path_of=lambda a, b: [0],
        alive=lambda c: True,
    )
    made.prime()
    return made, clock, flows


def test_two_full_backups_share_the_link_and_finish_at_twice_size_over_bandwidth() -> None:
    """Two 4.5 TB full backups at 01:00, each allowed 10 Gbit/s, over one 10 Gbit/s link:
    5 Gbit/s each, both complete at 01:00 + 2 x 4.5 TB / 10 Gbit/s = 01:00 + 2 h."""
    daily = Backup(to="b", interval=DAY, offset=HOUR, bandwidth=10.0)
    made, clock, flows = backups([plan(0, daily, 4500.0), plan(1, daily, 4500.0)])
    clock.run(until=DAY)
    assert made.logs[0].starts == [HOUR - DAY, HOUR]  # before the run, then the first slot
    assert made.logs[0].ends[1] == pytest.approx(HOUR + 2 * 4500e9 / (10 * GBPS))
    assert made.logs[1].ends[1] == pytest.approx(3 * HOUR)
    # the copy of that moment is there once complete, not before
    assert made.recovery_point(0, before=2 * HOUR, by=2 * HOUR) == HOUR - DAY  # yesterday's
    assert made.recovery_point(0, before=2 * HOUR, by=3 * HOUR) == HOUR
    assert made.recovery_point(0, before=HOUR / 2, by=DAY) == HOUR - DAY  # started too late
    assert flows.peak_utilisation == pytest.approx(1.0)


@pytest.mark.parametrize("overrun", ["skip", "queue"])
def test_a_backup_longer_than_its_interval_skips_or_queues_the_next_slot(overrun: str) -> None:
    """A 13.5 TB daily full at 1 Gbit/s alone takes 30 h: with skip, every other slot is
    skipped and each copy is 2 days apart; with queue, the next starts when one ends."""
    daily = Backup(to="b", interval=DAY, bandwidth=1.0, overrun=overrun)  # type: ignore[arg-type]
    took = 13500e9 / GBPS
    assert took == pytest.approx(30 * HOUR)
    made, clock, _ = backups([plan(0, daily, 13500.0)], horizon=6 * DAY)
    clock.run(until=6 * DAY)
    log = made.logs[0]
    if overrun == "skip":
        assert log.starts[1:] == [0.0, 2 * DAY, 4 * DAY]
        assert log.ends[1:] == pytest.approx([took, 2 * DAY + took, 4 * DAY + took])
        assert log.skipped == 3 and log.queued == 0
        # a loss just before the day-4 copy completes goes back to day 2's start
        assert made.recovery_point(0, 4 * DAY + took - 1, 4 * DAY + took - 1) == 2 * DAY
    else:
        assert log.starts[1:] == pytest.approx([0.0, took, 2 * took, 3 * took])
        # every slot from day 1 to day 5 found one running (day 5's as day 4's copy ended)
        assert log.queued == 5 and log.skipped == 0
        assert made.running[0].start == 4 * took  # the fifth, under way at the horizon
    assert made.durations(0) == pytest.approx([took] * (len(log.starts) - 1))


def test_incremental_backups_copy_what_was_written_since_the_last_completed_one() -> None:
    """Writes at 100 MB/s: a daily incremental copies 8.64 TB (at 10 Gbit/s: 5,529.6 s);
    every third backup (staggered by system) is a full 20 TB (16,000 s)."""
    daily = Backup(to="b", interval=DAY, bandwidth=10.0, incremental=True, full_every=3)
    made, clock, _ = backups([plan(0, daily, 20000.0, write_rate=100e6)], horizon=4 * DAY)
    clock.run(until=4 * DAY)
    log = made.logs[0]
    incremental, full = 8.64e12 / (10 * GBPS), 20e12 / (10 * GBPS)
    assert made.durations(0) == pytest.approx([incremental, incremental, full, incremental])
    assert log.full[1:] == [False, False, True, False]


def test_an_incremental_copies_only_what_was_really_written() -> None:
    """Writes at 100 MB/s stop at 12:00 (the system is not writable, say its centre is
    down): the next daily incremental copies half a day of writes, 4.32 TB (3,456 s at
    10 Gbit/s), not a whole day's."""
    daily = Backup(to="b", interval=DAY, bandwidth=10.0, incremental=True)
    made, clock, _ = backups([plan(0, daily, 20000.0, write_rate=100e6)], horizon=2 * DAY)
    repl = made.repl

    def stop(time: float) -> None:
        repl.advance(time)
        repl.write_on[0] = 0.0

    clock.schedule(DAY / 2, stop)
    clock.run(until=2 * DAY)
    assert made.durations(0) == pytest.approx([8.64e12 / (10 * GBPS), 4.32e12 / (10 * GBPS)])


@settings(max_examples=40, deadline=None)
@given(
    systems=st.lists(
        st.tuples(
            st.sampled_from([6 * HOUR, DAY]),
            st.floats(0, 6 * HOUR),
            st.floats(1.0, 20000.0),
            st.floats(0.5, 10.0),
            st.sampled_from(["skip", "queue"]),
        ),
        min_size=1,
        max_size=6,
    ),
    link=st.floats(1.0, 20.0),
)
def test_links_never_carry_more_than_their_bandwidth_and_recovery_points_only_advance(
    systems: list[tuple[float, float, float, float, str]], link: float
) -> None:
    plans = [
        plan(i, Backup(to="b", interval=t, offset=o, bandwidth=bw, overrun=ov), size)  # type: ignore[arg-type]
        for i, (t, o, size, bw, ov) in enumerate(systems)
    ]
    made, clock, flows = backups(plans, link_gbps=link, horizon=3 * DAY)
    checks: list[float] = []

    def each() -> None:
        load = flows.load()
        assert load[0] <= link * GBPS * (1 + 1e-9)
        checks.append(float(load[0]))

    clock.run(until=3 * DAY, each=each)
    assert flows.peak_utilisation <= 1 + 1e-9
    for i, (_, _, size, bw, _) in enumerate(systems):
        log = made.logs[i]
        assert log.starts == sorted(log.starts) and log.ends == sorted(log.ends)
        # a copy never beats its own limit
        assert all(d >= size * 1e9 / (bw * GBPS) * (1 - 1e-9) for d in made.durations(i))
        points = [made.recovery_point(i, t, t) for t in np.linspace(0, 3 * DAY, 50)]
        assert points == sorted(points) and all(p in log.starts for p in points)


# -------------------------------------------------------------------- in a run


def backup_only_run(
    backup: dict[str, Any], scripted: list[dict[str, Any]], horizon: str
) -> tuple[Simulation, Any]:
    section = dr_section(one="backup-only")
    section["systems"] = [section["systems"][1]]
    section["systems"][0]["replication"]["backup"] = backup
    data = two_centres({"scripted": scripted}, dr=section)
    data["meta"]["horizon"] = horizon
    sim = Simulation(build(data), 1)
    return sim, sim.run(steps=1)


def test_a_backup_window_that_cannot_finish_is_seen_and_costs_its_data() -> None:
    """A daily 13.5 TB full at 1 Gbit/s takes 30 h: with skip (the default), one copy every
    two days (days 0, 2, 4). A loss of dc1 at day 5 + 12 h (day 4's copy completed at day
    5 + 6 h) loses the writes since day 4, 0:00: 36 h. The summary and the availability
    table show the skipped slots and the 30 h durations."""
    backup = {"to": "dr", "interval": "1d", "size": "13500GB", "bandwidth": "1Gbps"}
    _, result = backup_only_run(backup, [centre_down(at="132h", duration="2d")], "8d")
    (row,) = [r for r in result.tables["incidents"].to_pylist() if r["system"] == "one"]
    assert row["dr_action"] == "restore"
    assert row["data_lost_s"] == pytest.approx(DAY + 12 * HOUR)
    backups = result.summary["dr"]["backups"]
    assert backups["skipped"] >= 2 and backups["max_duration_s"] == pytest.approx(30 * HOUR)
    one = next(r for r in result.tables["availability"].to_pylist() if r["system"] == "one")
    assert one["backup_max_s"] == pytest.approx(30 * HOUR) and one["backups_skipped"] >= 2


def test_a_backup_whose_source_goes_down_is_abandoned_and_not_a_recovery_point() -> None:
    """dc1 is lost at 00:30 during the 0:00 daily backup (1 TB at 1 Gbit/s takes 8,000 s):
    the copy is abandoned and the restore goes back to the day before's: 24.5 h lost."""
    backup = {"to": "dr", "interval": "1d", "size": "1000GB", "bandwidth": "1Gbps"}
    _, result = backup_only_run(backup, [centre_down(at="2910m", duration="3d")], "4d")
    (row,) = [r for r in result.tables["incidents"].to_pylist() if r["system"] == "one"]
    assert row["data_lost_s"] == pytest.approx(DAY + 30 * 60)
    assert result.summary["dr"]["backups"]["abandoned"] == 1
    assert not math.isnan(row["rto_s"])


def test_backups_do_not_take_the_restore_slots_of_concurrent_restores() -> None:
    """With one restore at a time, a running backup neither delays a restore's start nor
    counts as the running restore; both share the link (5 Gbit/s each on 10)."""
    clock = Clock()
    flows = FlowNetwork(np.array([10 * GBPS]), clock.schedule, concurrent=1)
    ended: list[float] = []
    flows.start([0], 10 * GBPS * 1000, 10 * GBPS, ended.append, 0.0, queued=False)
    restore = flows.start([0], 5 * GBPS * 100, 10 * GBPS, ended.append, 0.0)
    assert restore in flows.running and not flows.waiting
    assert flows.rates()[restore] == pytest.approx(5 * GBPS)
    clock.run()
    assert ended == pytest.approx([100.0, 1050.0])
