"""Periodic backups as transfers over the links they cross.

Every system with a ``replication.backup`` takes a backup at ``offset + k x interval``: a
flow (:mod:`cloudsim.platform.flows`) from the centre it writes at to the backup centre over the
lowest-latency route, at most the backup's ``bandwidth``, sharing every link max-min fairly
with the other backups, the restores and the asynchronous streams. Systems with the same
interval and offset start together, one calendar action per slot; a flow costs one action
per change of the rates.

What a backup copies: the system's data (``size``, else its VMs' disks) for a **full**
backup; with ``incremental``, the bytes it wrote since the start of its last completed
backup (what it really wrote: nothing while it was not writable), and a full copy every
``full_every``-th backup
(staggered over the cycle by system order, so that the fulls do not all land on one
night; absent: incremental forever, the fulls synthesised at the backup centre).

A backup's **recovery point** is its start (a consistent snapshot then); it counts once the
last byte is through. So the newest clean copy at a loss is the start of the newest backup
completed by then (:meth:`Backups.recovery_point`). A backup slot that comes while the
previous backup of the system still runs is skipped (``overrun: skip``, the default: the
running copy goes on) or queued to start when it ends (``queue``; several waiting slots
collapse into one). A backup whose source centre is down (or has no route) when it is due
is not taken, and one whose source goes down while it runs is abandoned.

Before the run, each system is taken to have completed the backup of the slot before its
first (steady state: a run starting at midnight has yesterday's copy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import numpy.typing as npt

from cloudsim.dr.plan import GBPS, SystemPlan
from cloudsim.dr.replication import Replication
from cloudsim.platform.flows import FlowNetwork

Schedule = Callable[[float, Callable[[float], None]], None]
FloatArray = npt.NDArray[np.float64]


@dataclass
class _Running:
    start: float  # the recovery point it will give
    source: int
    flow: int
    size: float
    mark: float  # bytes the system had written by its start


@dataclass
class BackupLog:
    """One system's backups: the completed ones and what happened to the others."""

    starts: list[float] = field(default_factory=list)  # recovery points, in order
    ends: list[float] = field(default_factory=list)  # when each was complete
    full: list[bool] = field(default_factory=list)
    marks: list[float] = field(default_factory=list)  # bytes written by each one's start
    skipped: int = 0  # slots that came while a backup ran (overrun: skip)
    queued: int = 0  # slots that waited for the running one (overrun: queue)
    not_taken: int = 0  # the source centre was down or had no route
    abandoned: int = 0  # the source went down while it ran
    number: int = 0  # slots so far (decides which backups are full)


class Backups:
    """The backups of every system (see the module docstring)."""

    def __init__(
        self,
        plans: list[SystemPlan],
        flows: FlowNetwork,
        repl: Replication,
        schedule: Schedule,
        horizon: float,
        *,
        source_of: Callable[[int], int | None],
        path_of: Callable[[int, int], list[int] | None],
        alive: Callable[[int], bool],
    ) -> None:
        self.plans = plans
        self.flows = flows
        self.repl = repl
        self.schedule = schedule
        self.horizon = horizon
        self.source_of = source_of
        self.path_of = path_of
        self.alive = alive
        self.logs = [BackupLog() for _ in plans]
        self.running: dict[int, _Running] = {}
        self.waiting: set[int] = set()  # systems with a queued slot
        slots: dict[tuple[float, float], list[int]] = {}
        for p in plans:
            if p.backup is not None:
                key = (float(p.backup.interval), float(p.backup.offset))
                slots.setdefault(key, []).append(p.index)
                first = _first_slot(*key)
                log = self.logs[p.index]
                log.starts.append(first - key[0])
                log.ends.append(first - key[0])
                log.full.append(True)
                # the writes between that copy and the run's start, at the nominal rate
                log.marks.append(-repl.written_between(p.index, first - key[0], 0.0))
        self._slots = slots
        #: Routes found during one slot (its copies start at one instant: the same routes).
        self._routes: dict[tuple[int, int], list[int] | None] | None = None

    # -- the schedule -----------------------------------------------------------------------
    def prime(self) -> None:
        """Put every group's first slot on the calendar."""
        for (interval, offset), members in self._slots.items():
            first = _first_slot(interval, offset)
            if first < self.horizon:
                self.schedule(first, partial(self._slot, interval, tuple(members)))

    def _slot(self, interval: float, members: tuple[int, ...], time: float) -> None:
        self._routes = {}
        try:
            with self.flows.together(time):  # the slot's copies start at once: one solve
                for s in members:
                    self._due(s, time)
        finally:
            self._routes = None
        if time + interval < self.horizon:
            self.schedule(time + interval, partial(self._slot, interval, members))

    def _due(self, s: int, time: float) -> None:
        log = self.logs[s]
        log.number += 1
        if s in self.running:
            plan = self.plans[s]
            assert plan.backup is not None
            if plan.backup.overrun == "skip":
                log.skipped += 1
            else:
                if s in self.waiting:
                    log.skipped += 1  # collapses into the slot already waiting
                else:
                    log.queued += 1
                self.waiting.add(s)
            return
        self._take(s, time)

    def _take(self, s: int, time: float) -> None:
        plan = self.plans[s]
        assert plan.backup is not None
        log = self.logs[s]
        source = self.source_of(s)
        path = self._route(source, plan.backup_to) if source is not None else None
        if source is None or path is None or not self.alive(plan.backup_to):
            log.not_taken += 1
            return
        full = self._is_full(s, log.number)
        self.repl.advance(time)
        mark = float(self.repl.written[s])
        size = plan.restore_gb * 1e9
        if not full:
            size = min(size, max(mark - log.marks[-1], 0.0))
        limit = plan.backup.bandwidth * GBPS
        done = partial(self._done, s, time, full, mark)
        flow = self.flows.start(path, size, limit, done, time, queued=False)
        if flow in self.flows.running:  # not already done (nothing to copy)
            self.running[s] = _Running(time, source, flow, size, mark)

    def _route(self, source: int, to: int) -> list[int] | None:
        """The links from ``source`` to ``to`` now (remembered within a slot)."""
        routes = self._routes
        if routes is None:
            return self.path_of(source, to)
        key = (source, to)
        if key not in routes:
            routes[key] = self.path_of(source, to)
        return routes[key]

    def _is_full(self, s: int, number: int) -> bool:
        backup = self.plans[s].backup
        assert backup is not None
        if not backup.incremental:
            return True
        if backup.full_every is None:
            return False
        return (number + s) % backup.full_every == 0

    def _done(self, s: int, start: float, full: bool, mark: float, time: float) -> None:
        self.running.pop(s, None)
        log = self.logs[s]
        log.starts.append(start)
        log.ends.append(time)
        log.full.append(full)
        log.marks.append(mark)
        if s in self.waiting:
            self.waiting.discard(s)
            self._take(s, time)

    def sources_changed(self, time: float) -> None:
        """Abandon the backups whose source centre went down (their slot is lost)."""
        for s, run in list(self.running.items()):
            if not self.alive(run.source):
                self.flows.cancel(run.flow, time)
                del self.running[s]
                self.logs[s].abandoned += 1
                if s in self.waiting:
                    self.waiting.discard(s)
                    self._take(s, time)

    # -- reading ----------------------------------------------------------------------------
    def recovery_point(self, s: int, before: float, by: float) -> float:
        """The start of the newest backup of ``s`` started at or before ``before`` (a clean
        copy of that moment) and complete by ``by``."""
        log = self.logs[s]
        best = -math.inf
        for start, end in zip(log.starts, log.ends, strict=True):
            if start <= before and end <= by:
                best = max(best, start)
        return best

    def durations(self, s: int) -> FloatArray:
        """Seconds each completed backup of ``s`` took during the run (the first entry of a
        log is the copy taken to exist before the run)."""
        log = self.logs[s]
        if not log.starts:
            return np.zeros(0)
        took: FloatArray = np.array(log.ends[1:], dtype=np.float64) - np.array(log.starts[1:])
        return took

    def backlog_bytes(self, time: float) -> float:
        """Bytes the running backups still have to copy at ``time``."""
        left = (self.flows.remaining(run.flow, time) for run in self.running.values())
        return float(sum(x for x in left if x is not None))

    def summary(self, time: float) -> dict[str, float | int]:
        """Totals over every system with backups (what ``summary.json`` reports)."""
        with_backup = [p.index for p in self.plans if p.backup is not None]
        durations = [self.durations(s) for s in with_backup]
        every = np.concatenate(durations) if durations else np.zeros(0)
        logs = [self.logs[s] for s in with_backup]
        age = [time - self.recovery_point(s, time, time) for s in with_backup]
        return {
            "completed": int(every.size),
            "full": sum(sum(g.full[1:]) for g in logs),
            "skipped": sum(g.skipped for g in logs),
            "queued": sum(g.queued for g in logs),
            "not_taken": sum(g.not_taken for g in logs),
            "abandoned": sum(g.abandoned for g in logs),
            "running_end": len(self.running),
            "backlog_gb_end": self.backlog_bytes(time) / 1e9,
            "mean_duration_s": float(every.mean()) if every.size else 0.0,
            "max_duration_s": float(every.max()) if every.size else 0.0,
            "worst_age_end_s": float(max(age)) if age else 0.0,
        }


def _first_slot(interval: float, offset: float) -> float:
    """The first slot at or after time 0 of a schedule ``offset + k x interval``."""
    return offset - math.floor(offset / interval) * interval
