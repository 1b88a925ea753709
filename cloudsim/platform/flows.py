"""Transfers sharing the links they cross: a max-min fair fluid model.

A transfer (a restore from backup, a backup copy) is a *flow* of ``size`` bytes over a
path of links, with a rate limit of its own (the bandwidth one copy can use). Between two
changes — a flow starts, ends or is cancelled, a link's capacity changes — every flow's
rate is constant: the **max-min fair** allocation, found by progressive filling (the rates of all
unfrozen flows grow together until a link is full or a flow reaches its limit; flows that
cross a full link or reached their limit freeze; repeat). So the bytes left fall linearly,
the next completion is known exactly, and a run costs one calendar action per change.
No link ever carries more than its capacity.

With ``concurrent`` set, at most that many *queued* flows run at once and the others wait in
arrival order (an operator who queues restores rather than letting them share); a flow
started with ``queued=False`` (a live migration, which its own controller paces) never
waits and does not count against ``concurrent``.

One network is shared by every module of a run (:class:`cloudsim.platform.links.Links`):
restores, asynchronous streams and live migrations compete for the same links.

A *stream* is a persistent flow of no fixed size (an asynchronous replication stream at
most its share of its route): it shares the links with the transfers, and whoever owns it
is told its rate after every change (``on_change``).

A flow keeps the path it started on: a cut link on it stalls it (rate 0) until the link is
back.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    n_flows = incidence.shape[1]
    links_of: list[list[int]] = [[] for _ in range(n_flows)]
    for link, flow in zip(*(x.tolist() for x in np.nonzero(incidence)), strict=True):
        links_of[flow].append(link)
    rates = _fill(
        links_of, limits.astype(np.float64).tolist(), capacity.astype(np.float64).tolist()
    )
    return np.array(rates, dtype=np.float64)


def _fill(
    links_of: list[list[int]],
    limit: list[float],
    capacity: list[float],
    mult: list[int] | None = None,
) -> list[float]:
    """:func:`max_min_rates` of flows given by the links each crosses; ``mult[j]`` flows
    alike (same links, same limit: the same rate) may stand as one entry ``j``.

    Every unfrozen flow has the same rate, the water ``level``: each step raises it to the
    first link that fills or the lowest limit left; flows crossing a full link freeze at
    the level, flows at their limit at exactly the limit. There are as many steps as
    distinct limits and full links, each a few float operations per link (plain floats:
    the IEEE arithmetic of arrays without their per-call cost on a handful of links)."""
    n_links, n_flows = len(capacity), len(links_of)
    out = [0.0] * n_flows
    flows_on: list[list[int]] = [[] for _ in range(n_links)]
    for j, links in enumerate(links_of):
        for k in links:
            flows_on[k].append(j)
    active = {
        j for j in range(n_flows) if limit[j] > 0 and not any(capacity[k] <= 0 for k in links_of[j])
    }
    weight = [1] * n_flows if mult is None else mult
    count = [float(sum(weight[j] for j in flows_on[k] if j in active)) for k in range(n_links)]
    residual = list(capacity)
    full_at = [EPS * max(c, 1.0) for c in capacity]
    near = [x * (1 - EPS) for x in limit]
    order = [j for j in sorted(range(n_flows), key=limit.__getitem__) if j in active]
    first = 0  # order[first:] holds every active flow, by limit
    level = 0.0
    while active:
        while order[first] not in active:
            first += 1
        per_link = min(
            (residual[k] / count[k] for k in range(n_links) if count[k] > 0), default=math.inf
        )
        step = min(per_link, limit[order[first]] - level)
        if not math.isfinite(step):  # no link and no limit: as fast as it comes
            for j in active:
                out[j] = math.inf
            break
        step = max(step, 0.0)
        level += step
        for k in range(n_links):
            residual[k] -= count[k] * step
        freeze: list[int] = []
        for j in order[first:]:
            if near[j] > level:
                break
            if j in active:
                freeze.append(j)
                out[j] = limit[j]  # exactly the limit
                active.discard(j)
        for k in range(n_links):
            if residual[k] <= full_at[k]:
                for j in flows_on[k]:
                    if j in active:
                        freeze.append(j)
                        out[j] = level
                        active.discard(j)
        for j in freeze:
            for k in links_of[j]:
                count[k] -= weight[j]
    return out


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
    queued: bool = True
    #: The links it crosses, each once, in order, and its limit: flows of one kind share
    #: their max-min rate.
    kind: tuple[tuple[int, ...], float] = ((), 0.0)

    def __post_init__(self) -> None:
        self.kind = (tuple(sorted(set(self.links))), self.limit)


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
        self._held = 0  # inside :meth:`together`: settle once, at its end
        self._unsettled = False
        #: Bytes each link has carried.
        self.carried = np.zeros(len(self.capacity))

    # -- changes ----------------------------------------------------------------------------
    @contextmanager
    def together(self, time: float) -> Iterator[None]:
        """Changes made at one instant (``time``) settled once, at the end: the rates are
        those after each change in turn (no time passes between them), with one solve and
        one completion on the calendar instead of one per change."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held and self._unsettled:
                self._unsettled = False
                self._settle(time)

    def start(
        self,
        links: Sequence[int],
        size: float,
        limit: float,
        done: Callable[[float], None],
        time: float,
        *,
        queued: bool = True,
    ) -> int:
        """A flow of ``size`` bytes over ``links`` at most ``limit`` bytes/s; ``done(time)``
        when its last byte is through (``queued``: it may wait for a ``concurrent`` slot).
        Returns its id (to :meth:`cancel` it)."""
        self._advance(time)
        flow = _Flow(
            self._next_id, tuple(links), float(size), float(size), float(limit), done,
            queued=queued,
        )  # fmt: skip
        self._next_id += 1
        if queued:
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
        if self._held:
            self._unsettled = True
            return
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
        """Queued transfers running (streams and unqueued flows do not count against
        ``concurrent``)."""
        return sum(1 for f in self.running.values() if f.queued and math.isfinite(f.size))

    def _solve(self) -> None:
        flows = list(self.running.values())
        if not flows:
            return
        # Flows alike (the same links and limit) get the same rate: solved once, counted
        # as many times (the same float sums: the rates do not change by a bit).
        groups: dict[tuple[tuple[int, ...], float], list[_Flow]] = {}
        for f in flows:
            members = groups.get(f.kind)
            if members is None:
                groups[f.kind] = [f]
            else:
                members.append(f)
        kinds = list(groups)
        solved = _fill(
            [list(links) for links, _ in kinds],
            [limit for _, limit in kinds],
            self.capacity.tolist(),
            [len(groups[kind]) for kind in kinds],
        )
        load = [0.0] * len(self.capacity)
        for kind, r in zip(kinds, solved, strict=True):
            members = groups[kind]
            for f in members:
                f.rate = r
            if math.isfinite(r):
                for link in kind[0]:
                    load[link] += r * len(members)
        capacity = self.capacity.tolist()
        use = max((x / c for x, c in zip(load, capacity, strict=True) if c > 0), default=0.0)
        self.peak_utilisation = max(self.peak_utilisation, use)

    def _due(self, version: int, time: float) -> None:
        if version != self._version:
            return
        self._advance(time)
        self._settle(time)
