"""The calendar: one heap of timed actions that every module schedules on, and its process.

Failures, repairs, restarts, detections and decisions are actions ``action(time)`` on this
heap; one simpy process pops them in time order (ties in the order they were scheduled)
and sleeps until the next one, woken early when someone schedules something sooner. So a
year of failures costs two heap operations per failure, not a process per component, and
modules never need each other's schedulers.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator
from typing import Any

import simpy

from cloudsim.kernel.wake import timeout_or

Action = Callable[[float], None]


class Calendar:
    """Timed actions of every module, run by one process (see the module docstring)."""

    def __init__(self, env: simpy.Environment, horizon: float, count: Callable[[], None]) -> None:
        self.env = env
        self.horizon = horizon
        self._count = count
        self._heap: list[tuple[float, int, Action]] = []
        self._seq = 0
        self._wake: simpy.Event | None = None
        self._sleeping_until = -math.inf
        self._at_start: list[Callable[[], None]] = []

    def schedule(self, time: float, action: Action) -> None:
        """Run ``action(time)`` at ``time`` (>= now); wakes the process if it sleeps past it."""
        heapq.heappush(self._heap, (time, self._seq, action))
        self._seq += 1
        if self._wake is not None and time < self._sleeping_until and not self._wake.triggered:
            self._wake.succeed()

    def at_start(self, prime: Callable[[], None]) -> None:
        """Call ``prime()`` when the calendar's process starts (at time 0, before the first
        action): where a module draws and schedules its whole timetable."""
        self._at_start.append(prime)

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The calendar's process: pop due actions in time order until the horizon."""
        for prime in self._at_start:
            prime()
        heap = self._heap
        env = self.env
        while True:
            due = heap[0][0] if heap else math.inf
            if due >= self.horizon:
                # sleep until someone schedules something earlier, or for good
                self._wake = env.event()
                self._sleeping_until = self.horizon
                yield self._wake
                continue
            if due > env.now:
                self._wake = env.event()
                self._sleeping_until = due
                yield timeout_or(env, due - env.now, self._wake)
                self._sleeping_until = -math.inf
                continue
            _, _, action = heapq.heappop(heap)
            self._sleeping_until = -math.inf
            action(env.now)
            self._count()
