"""Transfers sharing the links they cross: a max-min fair fluid model.

A transfer (a restore from backup, a backup copy) is a *flow* of ``size`` bytes over a
path of links, with a rate limit of its own (the bandwidth one copy can use). Between two
changes — a flow starts, ends or is cancelled, a link's capacity changes — every flow's
rate is constant: the **max-min fair** allocation, found by progressive filling (the rates of all
unfrozen flows grow together until a link is full or a flow reaches its limit; flows that
cross a full link or reached their limit freeze; repeat). So the bytes left fall linearly,
the next completion is known exactly, and a run costs one calendar action per change.
No link ever carries more than its capacity.

With ``concurrent`` set, at most that many flows run at once and the others wait in
arrival order (an operator who queues restores rather than letting them share).

A *stream* is a persistent flow of no fixed size (an asynchronous replication stream at
most its share of its route): it shares the links with the transfers, and whoever owns it
is told its rate after every change (``on_change``).

A flow keeps the path it started on: a cut link on it stalls it (rate 0) until the link is
back.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Schedule = Callable[[float, Callable[[float], None]], None]

#: Relative tolerance: a link this close to full is full, a flow this close to done is done.
EPS = 1e-9


def _never(time: float) -> None:
    """The ``done`` of a persistent flow, and the default ``on_change``."""


def max_min_rates(incidence: BoolArray, limits: FloatArray, capacity: FloatArray) -> FloatArray:
    """Max-min fair rates of flows (columns of ``incidence``, a links x flows matrix) with
    their own ``limits`` over links of ``capacity`` (progressive filling). A flow with no
    link and no limit gets an infinite rate; one crossing a link of capacity 0 gets 0."""
    n_links, n_flows = incidence.shape
    rate = np.zeros(n_flows)
    if n_flows == 0:
        return rate
    a = incidence.astype(np.float64)
    residual = capacity.astype(np.float64).copy()
    dead = capacity <= 0
    frozen = (limits <= 0) | (a[dead].sum(axis=0) > 0 if dead.any() else np.zeros(n_flows, bool))
    while not frozen.all():
        active = ~frozen
        count = a[:, active].sum(axis=1)
        per_link = np.divide(residual, count, out=np.full(n_links, np.inf), where=count > 0)
        step = min(
            float(per_link.min()) if n_links else math.inf, float((limits - rate)[active].min())
        )
        if not math.isfinite(step):  # no link and no limit: as fast as it comes
            rate[active] = math.inf
            break
        step = max(step, 0.0)
        rate[active] += step
        residual -= count * step
        full = residual <= EPS * np.maximum(capacity, 1.0)
        crossing = a[full].sum(axis=0) > 0 if full.any() else np.zeros(n_flows, bool)
        at_limit = rate >= limits * (1 - EPS)
        rate[at_limit & active] = limits[at_limit & active]  # exactly the limit
        frozen |= crossing | at_limit
    return rate


def _finished(f: _Flow, time: float) -> bool:
    """A transfer with nothing left (within rounding, or under a clock tick at its rate)."""
    if not math.isfinite(f.remaining):
        return False  # a stream
    if f.remaining <= EPS * f.size + 1e-6 or math.isinf(f.rate):
        return True
    return f.rate > 0 and time + f.remaining / f.rate <= time


@dataclass
class _Flow:
    id: int
    links: tuple[int, ...]
    size: float
    remaining: float
    limit: float
    done: Callable[[float], None]
    rate: float = 0.0
    limited: bool = True  # counts against ``concurrent`` (waits its turn)


class FlowNetwork:
    """The flows in progress over links of ``capacity`` bytes/s (see the module docstring);
    ``schedule(time, action)`` puts the next completion on the calendar."""

    def __init__(self, capacity: FloatArray, schedule: Schedule, concurrent: int | None = None):
        self.capacity = np.asarray(capacity, dtype=np.float64).copy()
        self.schedule = schedule
        self.concurrent = concurrent
        self.running: dict[int, _Flow] = {}
        self.waiting: deque[_Flow] = deque()
        self.clock = 0.0
        self._streams: dict[int, int] = {}  # key -> flow id of the persistent flows
        #: Told ``(time)`` after every change of the rates.
        self.on_change: Callable[[float], None] = _never
        self._version = 0
        self._next_id = 0
        #: The largest load over capacity any link carried (at most 1).
        self.peak_utilisation = 0.0
        #: Bytes each link has carried.
        self.carried = np.zeros(len(self.capacity))

    # -- changes ----------------------------------------------------------------------------
    def start(
        self,
        links: Sequence[int],
        size: float,
        limit: float,
        done: Callable[[float], None],
        time: float,
        *,
        limited: bool = True,
    ) -> int:
        """A flow of ``size`` bytes over ``links`` at most ``limit`` bytes/s; ``done(time)``
        when its last byte is through. Returns its id (to :meth:`cancel` it). A flow not
        ``limited`` (a backup copy) starts at once and does not count against
        ``concurrent`` (which queues restores)."""
        self._advance(time)
        flow = _Flow(self._next_id, tuple(links), float(size), float(size), float(limit), done)
        flow.limited = limited
        self._next_id += 1
        if limited:
            self.waiting.append(flow)
        else:
            self.running[flow.id] = flow
        self._settle(time)
        return flow.id

    def stream(self, key: int, links: Sequence[int] | None, limit: float, time: float) -> None:
        """A persistent flow (an asynchronous replication stream) under ``key``: over
        ``links`` at most ``limit`` bytes/s (``links`` None: none now). Unchanged: nothing
        to do. Its rate is :meth:`stream_rate`; ``on_change(time)`` is told after every
        change of the rates."""
        links = tuple(links) if links is not None else None
        current = self._streams.get(key)
        if current is not None:
            flow = self.running[current]
            if links is not None and flow.links == links and flow.limit == limit:
                return
        elif links is None:
            return
        self._advance(time)
        if current is not None:
            del self.running[current]
            del self._streams[key]
        if links is not None:
            flow = _Flow(self._next_id, links, math.inf, math.inf, float(limit), _never)
            self._next_id += 1
            self.running[flow.id] = flow
            self._streams[key] = flow.id
        self._settle(time)

    def stream_rate(self, key: int) -> float:
        """The rate of the persistent flow ``key`` (0 without one)."""
        current = self._streams.get(key)
        return self.running[current].rate if current is not None else 0.0

    def cancel(self, flow_id: int, time: float) -> None:
        """Stop a flow (its bandwidth goes to the others); no ``done``."""
        self._advance(time)
        if self.running.pop(flow_id, None) is None:
            self.waiting = deque(f for f in self.waiting if f.id != flow_id)
        self._settle(time)

    def set_capacity(self, capacity: FloatArray, time: float) -> None:
        """Links' capacities changed (a cut: 0; back: its bandwidth)."""
        capacity = np.asarray(capacity, dtype=np.float64)
        if np.array_equal(capacity, self.capacity):
            return
        self._advance(time)
        self.capacity = capacity.copy()
        self._settle(time)

    # -- reading ----------------------------------------------------------------------------
    def rates(self) -> dict[int, float]:
        return {f.id: f.rate for f in self.running.values()}

    def load(self) -> FloatArray:
        """Bytes/s each link carries now."""
        load = np.zeros(len(self.capacity))
        for f in self.running.values():
            for link in f.links:
                load[link] += f.rate
        return load

    def remaining(self, flow_id: int, time: float) -> float | None:
        """Bytes a flow still has to move at ``time`` (None: not running or waiting)."""
        self._advance(time)
        flow = self.running.get(flow_id)
        if flow is None:
            return next((f.remaining for f in self.waiting if f.id == flow_id), None)
        return flow.remaining

    # -- the fluid ----------------------------------------------------------------------------
    def _advance(self, time: float) -> None:
        dt = time - self.clock
        if dt > 0:
            for f in self.running.values():
                moved = min(f.remaining, f.rate * dt) if math.isfinite(f.rate) else f.remaining
                f.remaining -= moved
                for link in f.links:
                    self.carried[link] += moved
        self.clock = max(self.clock, time)

    def _settle(self, time: float) -> None:
        """Admit waiting flows, finish those done, set the rates, schedule the next end."""
        finished: list[_Flow] = []
        while True:
            while self.waiting and (self.concurrent is None or self._transfers() < self.concurrent):
                flow = self.waiting.popleft()
                self.running[flow.id] = flow
            self._solve()
            done = [f for f in self.running.values() if _finished(f, time)]
            if not done:
                break
            for f in done:
                del self.running[f.id]
                if math.isinf(f.rate):
                    for link in f.links:
                        self.carried[link] += f.remaining
                f.remaining = 0.0
            finished.extend(done)
        self._version += 1
        ends = [
            f.remaining / f.rate
            for f in self.running.values()
            if f.rate > 0 and math.isfinite(f.remaining)
        ]
        if ends:
            self.schedule(time + min(ends), partial(self._due, self._version))
        self.on_change(time)
        for f in finished:
            f.done(time)

    def _transfers(self) -> int:
        """Transfers running that count against ``concurrent`` (not streams, not flows
        started unlimited)."""
        return sum(1 for f in self.running.values() if math.isfinite(f.size) and f.limited)

    def _solve(self) -> None:
        flows = list(self.running.values())
        if not flows:
            return
        incidence = np.zeros((len(self.capacity), len(flows)), dtype=np.bool_)
        for j, f in enumerate(flows):
            incidence[list(f.links), j] = True
        limits = np.array([f.limit for f in flows])
        rates = max_min_rates(incidence, limits, self.capacity)
        for f, r in zip(flows, rates.tolist(), strict=True):
            f.rate = r
        finite = np.where(np.isfinite(rates), rates, 0.0)
        load = incidence.astype(np.float64) @ finite
        with np.errstate(divide="ignore", invalid="ignore"):
            use = np.where(self.capacity > 0, load / self.capacity, 0.0)
        if use.size:
            self.peak_utilisation = max(self.peak_utilisation, float(use.max()))

    def _due(self, version: int, time: float) -> None:
        if version != self._version:
            return
        self._advance(time)
        self._settle(time)
