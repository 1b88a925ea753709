"""Repair crews: who repairs a failed component, and which one a free crew takes next.

A failed component needs a crew of its **pool**: the first of ``faults.repair_groups``
selecting it (a group's own crews), else its class's crews (``faults.<class>.crews``;
absent: one crew per failed component, no queue). A pool with no free crew queues the
repair; a crew that frees takes the waiting repair of the lowest ``faults.repair_priority``
number (the first rule selecting the component; none: after every numbered one), and among
equals the one that failed first (``repair_order: first-failed``) or last
(``last-failed``). With one pool of c crews, n identical components, exponential failures
and repairs this is the machine-repairman (M/M/c//n) model.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.faults import Faults
from cloudsim.units import round6
from cloudsim.world.catalog import ComponentCatalog

IntArray = npt.NDArray[np.int64]
Start = Callable[[float], None]
#: The priority of a component no rule selects: after every numbered one.
UNRANKED = 2**31


@dataclass
class CrewPool:
    """Crews of one pool (``size`` None: as many as needed) and the repairs waiting."""

    name: str
    size: int | None
    busy: int = 0
    #: (priority, order key, arrival number, start): ``heapq`` keeps the next on top.
    queue: list[tuple[int, int, int, Start]] = field(default_factory=list)
    #: Seconds repairs waited for a crew of this pool, and how many repairs it started.
    waited_s: float = 0.0
    started: int = 0
    dispatching: bool = False  # a dispatch is on the calendar for this instant

    @property
    def free(self) -> bool:
        return self.size is None or self.busy < self.size


class RepairCrews:
    """The crew pools of a run (see the module docstring)."""

    def __init__(
        self,
        catalog: ComponentCatalog,
        spec: Faults,
        schedule: Callable[[float, Start], None],
    ) -> None:
        self.catalog = catalog
        self.schedule = schedule
        self.spec = spec
        rates = spec.rates()
        self.groups = [CrewPool(g.name, g.crews) for g in spec.repair_groups]
        self.classes = {
            kind: CrewPool(kind, rates[kind].crews if kind in rates else None)
            for kind in catalog.names
        }
        self._sign = 1 if spec.repair_order == "first-failed" else -1
        self._arrivals = 0
        self._pool: dict[str, IntArray] = {}
        self._priority: dict[str, IntArray] = {}

    # -- who and in which order -------------------------------------------------------------
    def _membership(self, kind: str) -> tuple[IntArray, IntArray]:
        """Per member of ``kind``: its group (-1: its class's crews) and its priority."""
        found = self._pool.get(kind)
        if found is not None:
            return found, self._priority[kind]
        count = self.catalog.count(kind)
        group = np.full(count, -1, dtype=np.int64)
        for g, spec in reversed(list(enumerate(self.spec.repair_groups))):
            if spec.classes is None or kind in spec.classes:
                group[self.catalog.select(kind, spec.members)] = g  # earlier groups win
        priority = np.full(count, UNRANKED, dtype=np.int64)
        for rule in reversed(self.spec.repair_priority):
            if rule.classes is None or kind in rule.classes:
                priority[self.catalog.select(kind, rule.members)] = rule.priority
        self._pool[kind], self._priority[kind] = group, priority
        return group, priority

    def pool_of(self, kind: str, index: int) -> CrewPool:
        group = int(self._membership(kind)[0][index])
        return self.groups[group] if group >= 0 else self.classes[kind]

    def priority_of(self, kind: str, index: int) -> int:
        return int(self._membership(kind)[1][index])

    # -- taking and freeing crews ---------------------------------------------------------
    def request(self, kind: str, index: int, failed_at: float, start: Start, time: float) -> None:
        """A repair of component ``index`` of ``kind`` (failed at ``failed_at``): ``start``
        is called with the time a crew takes it (now, when one is free)."""
        pool = self.pool_of(kind, index)
        self._arrivals += 1
        begin = _timed(pool, failed_at, start)
        if pool.size is None:
            pool.busy += 1
            begin(time)
            return
        item = (self.priority_of(kind, index), self._sign * self._arrivals, self._arrivals, begin)
        heapq.heappush(pool.queue, item)
        if pool.free and not pool.dispatching:
            # a free crew chooses once every failure of this instant is known (a site loss
            # fails its centres one action after the other, all at one time)
            pool.dispatching = True
            self.schedule(time, partial(self._dispatch, pool))

    def release(self, kind: str, index: int, time: float) -> None:
        """The repair of ``index`` is over: its crew takes the next waiting repair."""
        pool = self.pool_of(kind, index)
        pool.busy -= 1
        self._dispatch(pool, time)

    def _dispatch(self, pool: CrewPool, time: float) -> None:
        """Free crews take the most urgent waiting repairs."""
        pool.dispatching = False
        while pool.queue and pool.free:
            begin = heapq.heappop(pool.queue)[3]
            pool.busy += 1
            begin(time)

    def limited(self) -> bool:
        """Whether any pool has a limited number of crews (repairs can wait)."""
        return any(p.size is not None for p in (*self.groups, *self.classes.values()))

    def summary(self) -> dict[str, dict[str, float | int | str]]:
        """Per pool that repaired anything: repairs started, mean and total wait."""
        pools = [*self.groups, *self.classes.values()]
        return {
            pool.name: {
                "repairs": pool.started,
                "crews": pool.size if pool.size is not None else "unlimited",
                "waited_s": round6(pool.waited_s),
                "mean_wait_s": round6(pool.waited_s / pool.started),
            }
            for pool in pools
            if pool.started
        }


def _timed(pool: CrewPool, failed_at: float, start: Start) -> Start:
    def begin(time: float) -> None:
        pool.started += 1
        pool.waited_s += time - failed_at
        start(time)

    return begin
