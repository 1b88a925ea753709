"""Heartbeat monitors: what the DR policies see, which is not always what is true.

One directional monitor per ordered pair of monitored nodes (the DR centres and the
witness). Each sends a heartbeat every ``interval`` (its phase drawn once from the
``detection`` stream), reports its peer unreachable after ``misses`` consecutive missed
heartbeats (at the last one's ``timeout``) and reachable again at the first answered one.

No heartbeat is simulated one by one. Whenever the ground truth of a monitor's route
changes (a centre or the witness fails or comes back, a link is cut, repaired or
degraded), the monitor's next transitions are computed at once:

- route gone (or a node dead, or the round trip over ``timeout``): unreachable at the
  ``misses``-th heartbeat after the change;
- route clean: reachable again at the next heartbeat;
- route lossy: heartbeat outcomes are drawn in chunks (each is missed with probability
  ``1 - (1 - loss)^2``, the beat or its answer lost) and every run of ``misses``
  consecutive misses becomes a false "unreachable", the answer after it a "reachable".

Transitions are actions on the fault injector's heap; a generation counter per monitor
discards the ones a later change made stale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.dr import Heartbeat

Schedule = Callable[[float, Callable[[float], None]], None]
#: Told ``(monitor, time)`` when a monitor's observed status changes.
Notify = Callable[["Monitor", float], None]
#: Heartbeat outcomes drawn at once on a lossy route.
CHUNK = 2048


@dataclass(frozen=True)
class Route:
    """Ground truth of one monitor's route at some moment."""

    up: bool  # both ends alive, a route left, round trip within the timeout
    loss: float = 0.0  # probability that one direction drops a packet


CUT = Route(False)
CLEAN = Route(True)
#: The route of a monitor whose source is dead: it reports nothing new until it is back.
FROZEN = Route(False, -1.0)


@dataclass
class Monitor:
    """One directional heartbeat monitor, ``source`` watching ``target``."""

    source: str
    target: str
    phase: float
    reachable: bool = True  # what it reports
    since: float = 0.0  # when it started reporting that
    route: Route = CLEAN  # ground truth
    generation: int = 0
    misses: int = 0  # consecutive misses at the end of the last drawn chunk
    transitions: int = 0

    @property
    def pair(self) -> tuple[str, str]:
        return (self.source, self.target)


def lossy_transitions(
    missed: npt.NDArray[np.bool_], k: int, reachable: bool, run: int
) -> tuple[list[tuple[int, bool]], bool, int]:
    """Report changes over a sequence of heartbeat outcomes.

    ``missed[i]``: heartbeat i went unanswered. A monitor reporting reachable reports the
    peer unreachable at the ``k``-th consecutive miss, and reachable again at the next
    answered heartbeat; ``run`` misses precede the sequence. Returns the changes as
    (heartbeat index, reachable), the report and the trailing run of misses at the end.
    """
    n = len(missed)
    idx = np.arange(n)
    last_hit = np.maximum.accumulate(np.where(~missed, idx, -1))
    run_at = np.where(missed, idx - last_hit, 0)  # position of each miss in its run
    run_at = np.where(missed & (last_hit < 0), run_at + run, run_at)
    down_at = np.flatnonzero(run_at == k)
    hits = np.flatnonzero(~missed)
    events: list[tuple[int, bool]] = []
    state = reachable
    pos = 0
    while True:
        later = down_at[down_at >= pos] if state else hits[hits >= pos]
        if not later.size:
            break
        pos = int(later[0])
        state = not state
        events.append((pos, state))
        pos += 1
    trailing = int(run_at[-1]) if n and missed[-1] else (run if n == 0 else 0)
    return events, state, trailing


class HeartbeatMonitors:
    """Every monitor between ``nodes`` in both directions."""

    def __init__(
        self,
        nodes: list[str],
        settings: Heartbeat,
        rng: np.random.Generator,
        schedule: Schedule,
        notify: Notify,
    ) -> None:
        self.settings = settings
        self.rng = rng
        self.schedule = schedule
        self.notify = notify
        pairs = [(a, b) for a in nodes for b in nodes if a != b]
        phases = rng.uniform(0.0, settings.interval, len(pairs))
        self.monitors = {
            pair: Monitor(pair[0], pair[1], float(phase))
            for pair, phase in zip(pairs, phases.tolist(), strict=True)
        }

    def reachable(self, source: str, target: str) -> bool:
        return self.monitors[(source, target)].reachable

    def _next_beat(self, monitor: Monitor, time: float) -> float:
        """The first heartbeat strictly after ``time``."""
        h = self.settings.interval
        k = math.floor((time - monitor.phase) / h) + 1
        return monitor.phase + k * h

    def update(self, routes: dict[tuple[str, str], Route], time: float) -> None:
        """New ground truth for the monitors whose route changed."""
        for pair, route in routes.items():
            monitor = self.monitors[pair]
            if route == monitor.route:
                continue
            monitor.route = route
            monitor.generation += 1
            monitor.misses = 0
            first = self._next_beat(monitor, time)
            if not route.up:
                if monitor.reachable:
                    h, k = self.settings.interval, self.settings.misses
                    at = first + (k - 1) * h + self.settings.timeout
                    self._at(monitor, at, False)
            elif route.loss <= 0:
                if not monitor.reachable:
                    self._at(monitor, first, True)
            else:
                self._draw(monitor, first, monitor.generation, monitor.reachable, first)

    def freeze(self, pairs: list[tuple[str, str]]) -> None:
        """A dead node's monitors keep their last report (pending ones are dropped)."""
        for pair in pairs:
            monitor = self.monitors[pair]
            if monitor.route != FROZEN:
                monitor.route = FROZEN
                monitor.generation += 1

    def _at(self, monitor: Monitor, time: float, reachable: bool) -> None:
        self.schedule(time, partial(self._set, monitor, monitor.generation, reachable))

    def _set(self, monitor: Monitor, generation: int, reachable: bool, time: float) -> None:
        if generation != monitor.generation or monitor.reachable == reachable:
            return
        monitor.reachable = reachable
        monitor.since = time
        monitor.transitions += 1
        self.notify(monitor, time)

    def _draw(
        self, monitor: Monitor, start: float, generation: int, reachable: bool, time: float
    ) -> None:
        """Outcomes of the next CHUNK heartbeats from ``start`` on a lossy route, the
        monitor reporting ``reachable`` when the first of them is sent."""
        if generation != monitor.generation:
            return
        h, k = self.settings.interval, self.settings.misses
        survive = (1.0 - monitor.route.loss) ** 2
        missed = self.rng.random(CHUNK) >= survive
        events, state, monitor.misses = lossy_transitions(missed, k, reachable, monitor.misses)
        for beat, up in events:
            at = start + beat * h + (0.0 if up else self.settings.timeout)
            self.schedule(at, partial(self._set, monitor, generation, up))
        nxt = start + CHUNK * h
        self.schedule(nxt, partial(self._draw, monitor, nxt, generation, state))
