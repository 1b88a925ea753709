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
from functools import partial
from itertools import chain

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import chosen
from cloudsim.platform import kernels
from cloudsim.platform.kernels import EPS, advance_numpy, done_numpy

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Schedule = Callable[[float, Callable[[float], None]], None]

Advance = Callable[[FloatArray, int, float], float]
Done = Callable[[FloatArray, FloatArray, int, float, float, float, IntArray], tuple[int, float]]


def _born(kind: _Kind) -> int:
    return kind.born


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
    # links still crossed by an unfrozen flow: the others neither limit the step nor
    # change (their residual loses 0 x step), so they are left out of every step
    live = [k for k in range(n_links) if count[k] > 0]
    level = 0.0
    while active:
        while order[first] not in active:
            first += 1
        per_link = min((residual[k] / count[k] for k in live), default=math.inf)
        step = min(per_link, limit[order[first]] - level)
        if not math.isfinite(step):  # no link and no limit: as fast as it comes
            for j in active:
                out[j] = math.inf
            break
        step = max(step, 0.0)
        level += step
        for k in live:
            residual[k] -= count[k] * step
        freeze: list[int] = []
        for j in order[first:]:
            if near[j] > level:
                break
            if j in active:
                freeze.append(j)
                out[j] = limit[j]  # exactly the limit
                active.discard(j)
        for k in live:
            if residual[k] <= full_at[k]:
                for j in flows_on[k]:
                    if j in active:
                        freeze.append(j)
                        out[j] = level
                        active.discard(j)
        for j in freeze:
            for k in links_of[j]:
                count[k] -= weight[j]
        live = [k for k in live if count[k] > 0]
    return out


class _Flow:
    """One flow: a transfer of ``size`` bytes, or a stream (``size`` inf)."""

    __slots__ = (
        "_left", "_rate", "done", "id", "key", "kind", "limit", "links", "owner", "pos",
        "queued", "seq", "size",
    )  # fmt: skip

    def __init__(
        self,
        id: int,
        links: tuple[int, ...],
        size: float,
        limit: float,
        done: Callable[[float], None],
        *,
        queued: bool = True,
        crossed: tuple[int, ...] | None = None,
    ) -> None:
        """``crossed``: the links it crosses, each once, in order (worked out when None)."""
        self.id = id
        self.links = links
        self.size = size
        self.limit = limit
        self.done = done
        self.queued = queued
        self._rate = 0.0  # its rate while not running with its kind (a stream: always)
        #: The links it crosses, each once, in order, and its limit: flows of one kind
        #: share their max-min rate.
        self.kind = (tuple(sorted(set(links))) if crossed is None else crossed, limit)
        #: When it joined the running flows (their order: completions at one instant are
        #: reported in it).
        self.seq = 0
        self._left = size  # bytes left while not running with its kind
        self.owner: _Kind | None = None  # while running: its kind holds what is left
        self.pos = 0  # ... at this position
        self.key = -1  # a stream's key

    @property
    def rate(self) -> float:
        """Its rate now (a running transfer's is its kind's)."""
        owner = self.owner
        return self._rate if owner is None else owner.rate

    @rate.setter
    def rate(self, rate: float) -> None:
        self._rate = rate

    @property
    def remaining(self) -> float:
        """Bytes it still has to move (inf: a stream)."""
        owner = self.owner
        return self._left if owner is None else owner.left_of(self)

    def __repr__(self) -> str:
        return f"_Flow(id={self.id}, links={self.links}, size={self.size}, rate={self.rate})"


class _Kind:
    """The running flows of one kind (the same links, the same limit): one max-min rate,
    moved and checked together. What its transfers have left is one array: every change
    moves them all by the same step (array arithmetic: the same IEEE operations, flow by
    flow, as one subtraction each)."""

    __slots__ = (
        "_left", "_out", "_sizes", "born", "links", "m", "n", "rate", "since", "streams", "tag",
        "top", "transfers",
    )  # fmt: skip

    def __init__(self, links: tuple[int, ...], tag: int, since: float, born: int) -> None:
        self.links = links
        self.tag = tag  # the kind's number in its network (the same whenever it runs)
        #: When it joined the running kinds (their order, in which links count what they
        #: carried).
        self.born = born
        self.rate = 0.0
        #: What its streams carried is counted up to here (then at each change of the
        #: kind's rate or streams).
        self.since = since
        self.n = 0  # flows of the kind
        #: Its transfers (finite size), in no particular order (completions are told in
        #: joining order by the network), and the first ``m`` entries of two arrays: what
        #: each has left and its size (grown by doubling, a leaver's slot taken by the last).
        self.transfers: list[_Flow] = []
        self.m = 0
        self._left = np.zeros(4)
        self._sizes = np.zeros(4)
        self._out = np.zeros(4, dtype=np.int64)  # where :meth:`done` finds the finished
        self.streams: dict[int, _Flow] = {}  # persistent flows
        #: No transfer of the kind is larger (a bound: not lowered when one leaves).
        self.top = 0.0

    @property
    def left(self) -> FloatArray:
        """Bytes each transfer has left (a view: moving it moves them)."""
        return self._left[: self.m]

    def add(self, flow: _Flow) -> None:
        flow._rate = self.rate
        if math.isfinite(flow.size):
            m = self.m
            if m == len(self._left):
                self._left = np.concatenate([self._left, np.zeros(m)])
                self._sizes = np.concatenate([self._sizes, np.zeros(m)])
                self._out = np.zeros(2 * m, dtype=np.int64)
            self._left[m] = flow._left
            self._sizes[m] = flow.size
            self.transfers.append(flow)
            flow.owner, flow.pos = self, m
            self.m = m + 1
            self.top = max(self.top, flow.size)
        else:
            self.streams[flow.id] = flow
        self.n += 1

    def remove(self, flow: _Flow) -> None:
        if flow.owner is self:
            i, last = flow.pos, self.m - 1
            flow._left = float(self._left[i])
            flow._rate = self.rate  # kept once it leaves
            flow.owner = None
            moved = self.transfers.pop()
            if i != last:
                self.transfers[i] = moved
                moved.pos = i
                self._left[i] = self._left[last]
                self._sizes[i] = self._sizes[last]
            self.m = last
        else:
            del self.streams[flow.id]
        self.n -= 1

    def left_of(self, flow: _Flow) -> float:
        return float(self._left[flow.pos])

    def done(self, time: float, scan: Done) -> tuple[list[_Flow], float]:
        """The transfers finished at ``time`` — nothing left within rounding, or less than
        a clock tick at the rate — and the least left of those that are not (inf: none),
        found by ``scan`` (:func:`~cloudsim.platform.kernels.done_numpy` or its compiled
        twin)."""
        if not self.m:
            return [], math.inf
        out = self._out
        count, least = scan(self._left, self._sizes, self.m, self.top, self.rate, time, out)
        if not count:
            return [], least
        transfers = self.transfers
        return [transfers[i] for i in out[:count].tolist()], least


#: Solutions kept for reuse (the network's state recurs: the same backups start every
#: day, the same streams run between failures).
MEMO_SIZE = 4096
#: States of the running kinds numbered (and the steps between them remembered) before
#: the numbering starts afresh.
STATES_SIZE = 1 << 16


class FlowNetwork:
    """The flows in progress over links of ``capacity`` bytes/s (see the module docstring);
    ``schedule(time, action)`` puts the next completion on the calendar.

    Flows are kept by kind: a change costs one max-min solve over the kinds (reused when
    the same kinds, counts and capacities were solved before: the solver is a function of
    those alone), and one pass over the running transfers to move them on and find the
    next completion; a stream costs nothing per change beyond its kind.

    The running kinds' state (which kinds, in which order, how many flows each) is a
    number: a flow joining or leaving a kind steps it to the next state, remembered (the
    same step from the same state always reaches the same state), so neither the reuse's
    key nor the kinds whose rate moved between two solutions (remembered too) cost a pass
    over every kind."""

    def __init__(
        self,
        capacity: FloatArray,
        schedule: Schedule,
        concurrent: int | None = None,
        *,
        kernel: str = "auto",
    ):
        """``kernel``: how a kind's transfers are moved on and checked: ``"numba"``
        compiled, ``"numpy"`` the reference, ``"auto"`` compiled when numba is installed
        (the same results, bit for bit: :mod:`cloudsim.platform.kernels`)."""
        compiled = chosen(kernel)
        self._move: Advance = kernels.kernels()["advance"] if compiled else advance_numpy
        self._scan: Done = kernels.kernels()["done"] if compiled else done_numpy
        #: The max-min solver: :func:`_fill` (None) or its compiled twin.
        self._solver: Callable[..., None] | None = kernels.kernels()["fill"] if compiled else None
        self.capacity = np.asarray(capacity, dtype=np.float64).copy()
        self._capacity_list: list[float] = self.capacity.tolist()
        self._capacity_key = tuple(self._capacity_list)
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
        self._seq = 0
        self._kinds: dict[tuple[tuple[int, ...], float], _Kind] = {}
        #: Each path started on: the links it crosses, each once, in order (a kind's links).
        self._crossed: dict[tuple[int, ...], tuple[int, ...]] = {}
        #: The running kinds with transfers (a few of the ~50 kinds: the others are streams
        #: only), by tag; the passes over transfers visit these alone.
        self._busy: dict[int, _Kind] = {}
        self._born = 0
        #: Each kind and each set of capacities ever seen, numbered (the reuse's keys).
        self._tags: dict[tuple[tuple[int, ...], float], int] = {}
        self._capacity_tags: dict[tuple[float, ...], int] = {}
        self._capacity_tag = self._capacity_tags.setdefault(self._capacity_key, 0)
        #: Streams whose rate may have changed since :meth:`moved_streams` was last asked.
        self._moved: set[int] = set()
        self._memo: dict[tuple[int, int], tuple[list[float], float]] = {}
        #: The running kinds by tag.
        self._by_tag: dict[int, _Kind] = {}
        #: The state of the running kinds (see the class docstring): its number, the
        #: numbers of the states seen (by their kinds' tags and counts, in order) and the
        #: steps between them (``(state, tag, joined)`` to the state reached).
        self._state = 0
        self._states: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {((), ()): 0}
        self._steps: dict[tuple[int, int, bool], int] = {}
        self._next_state = 1
        #: The reuse's key of the last solution the kinds' rates were set to (None: none),
        #: whether a kind started running afresh since (its rate 0, not that solution's),
        #: and, between pairs of solutions, the kinds whose rate differs (tag, new rate).
        self._solved: tuple[int, int] | None = None
        self._fresh = False
        self._moves: dict[tuple[int, int, int, int], list[tuple[int, float]]] = {}
        self._changed = False  # flows joined or left, or capacities changed, since the solve
        #: The largest load over capacity any link carried (at most 1).
        self.peak_utilisation = 0.0
        self._held = 0  # inside :meth:`together`: settle once, at its end
        self._unsettled = False
        self._carried = [0.0] * len(self._capacity_list)

    @property
    def carried(self) -> FloatArray:
        """Bytes each link has carried."""
        for kind in self._kinds.values():
            self._count_streams(kind)
        return np.array(self._carried, dtype=np.float64)

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
        path = tuple(links)
        crossed = self._crossed.get(path)
        if crossed is None:
            crossed = self._crossed[path] = tuple(sorted(set(path)))
        flow = _Flow(
            self._next_id, path, float(size), float(limit), done, queued=queued, crossed=crossed
        )
        self._next_id += 1
        if queued:
            self.waiting.append(flow)
        else:
            self._run(flow)
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
            self._stop(self.running[current])
            del self._streams[key]
        if links is not None:
            flow = _Flow(self._next_id, links, math.inf, float(limit), _never)
            flow.key = key
            self._next_id += 1
            self._run(flow)
            self._streams[key] = flow.id
        self._moved.add(key)
        self._settle(time)

    def stream_rate(self, key: int) -> float:
        """The rate of the persistent flow ``key`` (0 without one)."""
        current = self._streams.get(key)
        return self.running[current].rate if current is not None else 0.0

    def moved_streams(self) -> list[tuple[int, float]]:
        """``(key, rate)`` of every stream whose rate may have changed (started, stopped,
        or its kind's rate changed) since the last call (the others' are as they were)."""
        moved = [(key, self.stream_rate(key)) for key in sorted(self._moved)]
        self._moved.clear()
        return moved

    def cancel(self, flow_id: int, time: float) -> None:
        """Stop a flow (its bandwidth goes to the others); no ``done``. A stream stopped
        this way is gone: its key may start a new one."""
        self._advance(time)
        flow = self.running.get(flow_id)
        if flow is None:
            self.waiting = deque(f for f in self.waiting if f.id != flow_id)
        else:
            self._stop(flow)
            if flow.key >= 0 and self._streams.get(flow.key) == flow.id:
                del self._streams[flow.key]
                self._moved.add(flow.key)
        self._settle(time)

    def set_capacity(self, capacity: FloatArray, time: float) -> None:
        """Links' capacities changed (a cut: 0; back: its bandwidth)."""
        capacity = np.asarray(capacity, dtype=np.float64)
        if np.array_equal(capacity, self.capacity):
            return
        self._advance(time)
        self.capacity = capacity.copy()
        self._capacity_list = self.capacity.tolist()
        self._capacity_key = tuple(self._capacity_list)
        tags = self._capacity_tags
        self._capacity_tag = tags.setdefault(self._capacity_key, len(tags))
        self._changed = True
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
    def _run(self, flow: _Flow) -> None:
        flow.seq = self._seq
        self._seq += 1
        self.running[flow.id] = flow
        kind = self._kinds.get(flow.kind)
        if kind is None:
            tag = self._tags.setdefault(flow.kind, len(self._tags))
            kind = self._kinds[flow.kind] = _Kind(flow.kind[0], tag, self.clock, self._born)
            self._by_tag[tag] = kind
            self._born += 1
            self._fresh = True
        elif flow.key >= 0:
            self._count_streams(kind)
        kind.add(flow)
        self._step(kind.tag, True)
        if kind.m == 1 and flow.owner is kind:
            self._busy[kind.tag] = kind
        self._changed = True

    def _stop(self, flow: _Flow) -> None:
        del self.running[flow.id]
        kind = self._kinds[flow.kind]
        if flow.key >= 0:
            self._count_streams(kind)
        kind.remove(flow)
        if not kind.m:
            self._busy.pop(kind.tag, None)
        if not kind.n:
            del self._kinds[flow.kind]
            del self._by_tag[kind.tag]
        self._step(kind.tag, False)
        self._changed = True

    def _step(self, tag: int, joined: bool) -> None:
        """The running kinds' state after a flow of kind ``tag`` joined or left."""
        step = (self._state, tag, joined)
        state = self._steps.get(step)
        if state is None:
            kinds = self._kinds.values()
            key = (tuple([k.tag for k in kinds]), tuple([k.n for k in kinds]))
            state = self._states.get(key)
            if state is None:
                if len(self._states) >= STATES_SIZE:  # afresh (numbers are never reused)
                    self._states.clear()
                    self._steps.clear()
                state = self._states[key] = self._next_state
                self._next_state += 1
            self._steps[step] = state
        self._state = state

    def _advance(self, time: float) -> None:
        dt = time - self.clock
        if dt > 0 and self._busy:
            carried = self._carried
            move = self._move
            busy = self._busy.values()
            # in the running kinds' order (a link adds what each carried in that order)
            for kind in sorted(busy, key=_born) if len(busy) > 1 else busy:
                rate = kind.rate
                if rate == 0:
                    continue  # (streams are counted at their kind's changes)
                if math.isfinite(rate):
                    moved = move(kind._left, kind.m, rate * dt)
                else:
                    left = kind.left
                    moved = float(left.sum())
                    left[:] = 0.0
                for link in kind.links:
                    carried[link] += moved
        self.clock = max(self.clock, time)

    def _count_streams(self, kind: _Kind) -> None:
        """Add what the kind's streams carried since it was last counted to the links."""
        dt = self.clock - kind.since
        kind.since = self.clock
        if dt > 0 and kind.streams and kind.rate != 0:
            moved = kind.rate * dt * len(kind.streams)
            for link in kind.links:
                self._carried[link] += moved

    def _settle(self, time: float) -> None:
        """Admit waiting flows, finish those done, set the rates, schedule the next end."""
        if self._held:
            self._unsettled = True
            return
        finished: list[_Flow] = []
        while True:
            while self.waiting and (self.concurrent is None or self._transfers() < self.concurrent):
                self._run(self.waiting.popleft())
            self._solve()
            done: list[_Flow] = []
            least: list[tuple[_Kind, float]] = []
            scan = self._scan
            for kind in self._busy.values():
                ended, left = kind.done(time, scan)
                done.extend(ended)
                least.append((kind, left))
            if not done:
                break
            done.sort(key=lambda f: f.seq)
            for f in done:
                self._stop(f)
                if math.isinf(f.rate):
                    for link in f.kind[0]:
                        self._carried[link] += f._left
                f._left = 0.0
            finished.extend(done)
        self._version += 1
        first = math.inf
        for kind, left in least:
            if kind.rate > 0 and left < math.inf:
                end = left / kind.rate  # the least left of a kind ends first: one rate
                if end < first:
                    first = end
        if first < math.inf:
            self.schedule(time + first, partial(self._due, self._version))
        self.on_change(time)
        for f in finished:
            f.done(time)

    def _transfers(self) -> int:
        """Queued transfers running (streams and unqueued flows do not count against
        ``concurrent``)."""
        return sum(1 for f in self.running.values() if f.queued and math.isfinite(f.size))

    def _solve(self) -> None:
        """Every kind's max-min rate (flows alike — the same links and limit — solved once,
        counted as many times: the same float sums, so the rates do not change by a bit)."""
        kinds = self._kinds
        if not kinds or not self._changed:
            return  # the same flows over the same capacities: the same rates
        self._changed = False
        key = (self._state, self._capacity_tag)
        solution = self._memo.get(key)
        if solution is None:
            counts = tuple([k.n for k in kinds.values()])
            solution = self._fill(list(kinds), counts)
            if len(self._memo) >= MEMO_SIZE:
                del self._memo[next(iter(self._memo))]
            self._memo[key] = solution
        solved, use = solution
        before = self._solved
        moves: list[tuple[int, float]] | None
        if before is None or self._fresh:
            moves = self._moved_kinds(solved)
        else:
            pair = (before[0], before[1], key[0], key[1])
            moves = self._moves.get(pair)  # (None: not seen)
            if moves is None:
                moves = self._moved_kinds(solved)
                if len(self._moves) >= MEMO_SIZE:
                    del self._moves[next(iter(self._moves))]
                self._moves[pair] = moves
        self._solved = key
        self._fresh = False
        by_tag = self._by_tag
        for tag, r in moves:
            kind = by_tag[tag]
            if kind.streams:
                self._count_streams(kind)
                for f in kind.streams.values():
                    f._rate = r
                    self._moved.add(f.key)
            kind.rate = r  # (its transfers' rate: read from the kind)
        if use > self.peak_utilisation:
            self.peak_utilisation = use

    def _moved_kinds(self, solved: list[float]) -> list[tuple[int, float]]:
        """``(tag, rate)`` of the running kinds whose rate is not their ``solved`` one, in
        the kinds' order."""
        return [
            (kind.tag, r)
            for kind, r in zip(self._kinds.values(), solved, strict=True)
            if kind.rate != r
        ]

    def _fill(
        self, kinds: list[tuple[tuple[int, ...], float]], counts: tuple[int, ...]
    ) -> tuple[list[float], float]:
        """The rates of ``kinds`` (``counts`` flows each) and the largest load over
        capacity of a link under them."""
        capacity = self._capacity_list
        if self._solver is None:
            solved = _fill(
                [list(links) for links, _ in kinds], [x for _, x in kinds], capacity, list(counts)
            )
        else:  # compiled: the flows' links end to end, where each starts
            starts = np.zeros(len(kinds) + 1, dtype=np.int64)
            np.cumsum([len(links) for links, _ in kinds], out=starts[1:])
            flat = np.fromiter(chain.from_iterable(k[0] for k in kinds), np.int64, starts[-1])
            out = np.empty(len(kinds))
            limits = np.array([x for _, x in kinds])
            self._solver(starts, flat, limits, self.capacity, np.array(counts), out)
            solved = out.tolist()
        load = [0.0] * len(capacity)
        for (links, _), r, n in zip(kinds, solved, counts, strict=True):
            if math.isfinite(r):
                for link in links:
                    load[link] += r * n
        use = max((x / c for x, c in zip(load, capacity, strict=True) if c > 0), default=0.0)
        return solved, use

    def _due(self, version: int, time: float) -> None:
        if version != self._version:
            return
        self._advance(time)
        self._settle(time)
