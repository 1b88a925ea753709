"""The scheduling queue: kube-scheduler's PriorityQueue, with its queueing hints.

The active queue is PrioritySort: higher priority first, FIFO within a priority. Pods the
scheduler could not place wait among the unschedulable pods until a cluster event that
may help them moves them back: resources freed on a node they would fit
(:meth:`SchedulingQueue.requeue_fitting`), any event (:meth:`SchedulingQueue.requeue_all`),
or, for pods only another pod's arrival can help, a periodic flush
(:meth:`SchedulingQueue.requeue_stale`).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from cloudsim.containers.cluster import Cluster

#: Failure reasons another pod's arrival can resolve (pod affinity, topology spread).
POD_DEPENDENT_REASONS: tuple[str, ...] = (
    "node(s) didn't match pod affinity rules",
    "node(s) didn't match pod topology spread constraints",
)


@dataclass
class Unschedulable:
    """Why a pod is pending: kube-scheduler's FitError message and its reason counts."""

    message: str
    reasons: dict[str, int]
    time: float


def _waits_for_pods(u: Unschedulable) -> bool:
    return any(r in u.reasons for r in POD_DEPENDENT_REASONS)


class SchedulingQueue:
    """The pending pods of one scheduler: the active queue and the unschedulable pods."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        #: (-priority, sequence, row, serial): an entry goes stale when its row is reused.
        self.active: list[tuple[int, int, int, int]] = []
        self._sequence = 0
        #: Read freely; written only through :meth:`mark`, :meth:`add` and :meth:`forget`
        #: (they count the changes that :meth:`flush_due` remembers its answer by).
        self.unschedulable: dict[int, Unschedulable] = {}
        self._changes = 0
        self._flush: tuple[int, float, float] | None = None  # changes, max_age, due

    def mark(self, row: int, why: Unschedulable) -> None:
        """The scheduler could not place pending pod ``row``: it waits for a cluster event."""
        self.unschedulable[row] = why
        self._changes += 1

    def add(self, row: int) -> None:
        """Put a pending pod in the active queue (behind pods of its priority already there)."""
        if self.unschedulable.pop(row, None) is not None:
            self._changes += 1
        pods = self.cluster.pods
        heapq.heappush(
            self.active, (-int(pods.priority[row]), self._sequence, row, int(pods.serial[row]))
        )
        self._sequence += 1

    def forget(self, row: int) -> None:
        """A pod ended: drop it from the unschedulable pods (its queue entry goes stale)."""
        if self.unschedulable.pop(row, None) is not None:
            self._changes += 1

    def flush_due(self, max_age: float) -> float:
        """When the next unschedulable pod that only another pod's arrival could help
        (pod affinity, topology spread) has waited ``max_age``: kube-scheduler's periodic
        flush, for the failures no other queueing hint covers (inf: none)."""
        pending = self.unschedulable
        cached = self._flush
        if cached is not None and cached[0] == self._changes and cached[1] == max_age:
            return cached[2]  # no pod became or stopped being unschedulable since
        times = [u.time for u in pending.values() if _waits_for_pods(u)]
        due = min(times) + max_age if times else math.inf
        self._flush = (self._changes, max_age, due)
        return due

    def requeue_stale(self, now: float, max_age: float) -> int:
        """Move back the pods :meth:`flush_due` is about that have waited ``max_age``."""
        if self.flush_due(max_age) > now:  # none has waited that long yet
            return 0
        rows = [
            row
            for row, u in sorted(self.unschedulable.items())
            if _waits_for_pods(u) and u.time + max_age <= now
        ]
        for row in rows:
            self.add(row)
        return len(rows)

    def requeue_fitting(self, node: int) -> int:
        """Queueing hint after resources were freed on ``node``: move back the unschedulable
        pods whose requests now fit its headroom (the others cannot have become schedulable
        by it). Returns how many."""
        if not self.unschedulable:
            return 0
        cluster = self.cluster
        head = cluster.nodes.headroom[:, node]
        template = cluster.pods.template
        rows = [
            row
            for row in sorted(self.unschedulable)
            if (cluster.info[int(template[row])].need <= head).all()
        ]
        for row in rows:
            self.add(row)
        return len(rows)

    def requeue_all(self) -> int:
        """Move every unschedulable pod back to the active queue (after a cluster event)."""
        rows = sorted(self.unschedulable)
        for row in rows:
            self.add(row)
        return len(rows)
