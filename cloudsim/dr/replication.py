"""Replication as vectorised fluid queues, one row per business system.

Each system writes at ``rate x shape(hour of day)`` (bytes/s) split over the centres where
it is writable. Three queues per system, advanced together and exactly between changes
(rates are constant within an hour and between two network events, so the piecewise-linear
solution ``backlog = max(0, backlog + (in - out) x dt)`` is exact):

- **async**: writes not yet shipped to the asynchronous target; drains at the system's
  share of the route's bandwidth (zero while the route is cut, reduced on a lossy link);
- **mirror**: per side of a synchronous pair, writes the other side has not got (grows
  only while the pair is not in sync: one side continuing alone, or split-brain);
  resynced at the pair's route share once it is back;
- **away**: writes taken at a centre that is not one of the system's own (after a
  failover), to be copied back at failback.

Every byte written is in exactly one place at any time: shipped (or resynced), in a
backlog, or dropped by a failover or a split-brain reconciliation (what the ledger records
as data lost). :meth:`Replication.conserved` checks it.

The **lag** of a backlog is the age of its oldest write: with ``F(t)`` the integral of the
shape, the write at the head of the queue was taken at ``F^-1(F(t) - backlog/rate)`` (the
system wrote at its nominal rate throughout the backlog window).

Asynchronous replication ships in **batches** (journal cycles) every ``interval`` T and a
batch arrives a one-way delay d later (the route's latency plus transfer and apply). What
the target lacks at time t is the batch being filled (the writes since the last boundary,
``P``), or the link's backlog ``Q`` when writes outrun the link, whichever is larger (the
batch is the newest part of the backlog), plus the writes of the last d seconds in
flight: ``lag = age(max(Q, P) + w d)``. With writes well under the link the loss at a
failure at a random instant is T/2 + d on average; above it, the backlog grows at writes
minus the link rate. (``P`` assumes the inputs constant since the batch began; the
in-flight bytes are the present write rate times d: both exact for a constant rate.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import chosen
from cloudsim.dr import kernels
from cloudsim.dr.kernels import advance_numpy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DAY = 86400.0
HOUR = 3600.0


class Diurnal:
    """An hourly, daily-periodic rate multiplier (mean 1) and its integral ``F`` and inverse."""

    def __init__(self, shape: tuple[float, ...] | list[float]) -> None:
        values = np.asarray(shape, dtype=np.float64)
        if values.shape != (24,) or values.min() <= 0:
            raise ValueError("a diurnal shape is 24 positive hourly multipliers")
        self.hourly = values / values.mean()
        self._hours = np.arange(25, dtype=np.float64) * HOUR
        self._knots = np.concatenate([[0.0], np.cumsum(self.hourly) * HOUR])
        self._knots[-1] = DAY  # exactly one day of writing per day

    def at(self, t: float) -> float:
        """The multiplier in force at ``t``."""
        return float(self.hourly[int((t % DAY) // HOUR) % 24])

    def integral(self, t: FloatArray | float) -> FloatArray:
        """``F(t)``: seconds of mean-rate writing from 0 to ``t``."""
        t = np.asarray(t, dtype=np.float64)
        day = np.floor(t / DAY)
        result: FloatArray = day * DAY + np.interp(t - day * DAY, self._hours, self._knots)
        return result

    def inverse(self, x: FloatArray | float) -> FloatArray:
        """``F^-1(x)``."""
        x = np.asarray(x, dtype=np.float64)
        day = np.floor(x / DAY)
        result: FloatArray = day * DAY + np.interp(x - day * DAY, self._knots, self._hours)
        return result


class Replication:
    """The three fluid queues of every system, and what went through them."""

    def __init__(
        self,
        rates: FloatArray,
        shapes: list[tuple[float, ...]],
        interval: FloatArray | None = None,
        *,
        kernel: str = "auto",
    ) -> None:
        """``kernel``: how the queues advance: ``"numba"`` compiled, ``"numpy"`` the
        reference, ``"auto"`` compiled when numba is installed."""
        n = len(rates)
        #: Seconds between shipped async batches (0: streamed), and each batch's one-way
        #: in-flight time (set by the controller from the route).
        self.interval = np.zeros(n) if interval is None else np.asarray(interval, np.float64)
        #: Bytes beyond the backlog the target lacked when the system's async flow stopped
        #: (the batch being filled and those in flight then), until it flows again.
        self.held = np.zeros(n)
        self.rate = np.asarray(rates, dtype=np.float64)
        distinct = sorted(set(shapes))
        self.diurnals = [Diurnal(shape) for shape in distinct]
        self.shape_of = np.array([distinct.index(shape) for shape in shapes], dtype=np.int64)
        self._members = [np.flatnonzero(self.shape_of == k) for k in range(len(distinct))]
        #: (24, S): each system's multiplier by hour of day
        self._by_hour = np.array([d.hourly for d in self.diurnals]).T[:, self.shape_of].copy()
        #: (24, S): each system's write rate by hour of day (bytes/s at full writing)
        self._rate_by_hour = self._by_hour * self.rate
        self.clock = 0.0
        # inputs, set by the controller whenever the state they depend on changes: rows
        # of one block (the advance reads it whole), the attributes are views of them
        self._inputs = np.zeros((kernels.INPUT_ROWS, n))
        self.write_on = self._inputs[0]  # fraction of writes accepted (0: not writable)
        self.async_in = self._inputs[1]  # fraction of writes that enter the async queue
        self.flight = self._inputs[2]  # one-way in-flight seconds of an async batch
        self.async_cap = self._inputs[3]  # bytes/s the async queue drains at
        self.mirror_in = self._inputs[4:6].T  # fraction of writes unmirrored, per side
        self.mirror_cap = self._inputs[6]  # bytes/s of resync once the pair is connected
        self.away_in = self._inputs[7]  # fraction of writes taken away from home
        # state and totals (bytes), one block too
        self._state = np.zeros((kernels.STATE_ROWS, n))
        self.backlog = self._state[0]
        self.mirror = self._state[1:3].T  # (S, 2)
        self.away = self._state[3]
        self.written = self._state[4]
        self.shipped = self._state[5]
        self.resynced = self._state[6]
        self.async_total_in = self._state[7]
        self.mirror_total_in = self._state[8]
        self.dropped_async = np.zeros(n)
        self.dropped_mirror = np.zeros(n)
        self.dropped_away = np.zeros(n)
        self.returned = np.zeros(n)  # away writes copied back at failback
        compiled = chosen(kernel)
        self._advance: Callable[[float, float, FloatArray, FloatArray, FloatArray], None] = (
            kernels.kernels()["advance"] if compiled else advance_numpy
        )

    # -- advancing ------------------------------------------------------------------------
    def multiplier(self, t: float) -> FloatArray:
        """Each system's shape multiplier at ``t``."""
        result: FloatArray = self._by_hour[int((t % DAY) // HOUR) % 24]
        return result

    def advance(self, until: float) -> None:
        """Advance every queue from the clock to ``until`` (inputs constant meanwhile), in
        pieces ending at hour edges (compiled when numba is installed: :mod:`kernels`)."""
        if until > self.clock:
            self._advance(self.clock, until, self._rate_by_hour, self._inputs, self._state)
            self.clock = until

    # -- reading ----------------------------------------------------------------------------
    def age(self, amount: FloatArray, at: float) -> FloatArray:
        """Seconds of writing that ``amount`` bytes per system represent, ending at ``at``."""
        amount = np.asarray(amount, dtype=np.float64)
        out = np.zeros(len(self.rate))
        for k, members in enumerate(self._members):
            if not members.size:
                continue
            rate = self.rate[members]
            ok = (rate > 0) & (amount[members] > 0)
            if not ok.any():
                continue
            d = self.diurnals[k]
            idx = members[ok]
            head = d.inverse(d.integral(at) - amount[idx] / self.rate[idx])
            out[idx] = at - head
        return out

    def async_flow(self, at: float) -> FloatArray:
        """Bytes/s entering each system's async queue at ``at``."""
        flow: FloatArray = self.rate * self.multiplier(at) * self.write_on * self.async_in
        return flow

    def pending(self, at: float) -> FloatArray:
        """Bytes written to each async queue since its current batch began."""
        out = np.zeros(len(self.rate))
        flow = self.rate * self.write_on * self.async_in
        batched = (self.interval > 0) & (flow > 0)
        if not batched.any():
            return out
        for k, members in enumerate(self._members):
            m = members[batched[members]]
            if not m.size:
                continue
            start = np.floor(at / self.interval[m]) * self.interval[m]
            d = self.diurnals[k]
            out[m] = flow[m] * (d.integral(at) - d.integral(start))
        return out

    def unarrived(self, at: float) -> FloatArray:
        """Bytes written that the async target does not have at ``at`` (see the module
        docstring): the batch being filled or the link's backlog, and those in flight; for
        a system whose flow stopped, the backlog and what it lacked when it stopped."""
        flow = self.async_flow(at)
        live = np.maximum(self.backlog, self.pending(at)) + flow * self.flight
        out: FloatArray = np.where(flow > 0, live, self.backlog + self.held)
        return out

    def set_flow(self, system: int, write_on: float, async_in: float) -> None:
        """Set whether and how much of the system's writes enter its async queue, from the
        clock's time (called at every change; when the flow stops, what the target lacks
        beyond the backlog then is held as lost if it fails over)."""
        was = self.write_on[system] * self.async_in[system] > 0
        now = write_on * async_in > 0
        if was and not now:
            lacking = float(self.unarrived(self.clock)[system]) - float(self.backlog[system])
            self.held[system] = max(0.0, lacking)
        elif now:
            self.held[system] = 0.0
        self.write_on[system] = write_on
        self.async_in[system] = async_in

    def lag(self, at: float) -> FloatArray:
        """Async lag per system (seconds) at ``at``: the age of the oldest write the target
        lacks (what a failure then loses)."""
        return self.age(self.unarrived(at), at)

    def cycle_lag(self, at: float) -> tuple[FloatArray, FloatArray]:
        """The mean and the largest lag over a shipping cycle around ``at`` (for samples
        taken on a fixed tick, which would otherwise always fall at the same point of the
        cycle): the batch half full and full, or the backlog's age, plus the in-flight
        time."""
        queue = self.age(self.backlog, at)
        mean: FloatArray = np.maximum(queue, self.interval / 2) + self.flight
        most: FloatArray = np.maximum(queue, self.interval) + self.flight
        return mean, most

    def written_between(self, system: int, start: float, end: float) -> float:
        """Bytes ``system`` writes at its nominal rate from ``start`` to ``end``."""
        d = self.diurnals[int(self.shape_of[system])]
        seconds = float(d.integral(end) - d.integral(start))
        return float(self.rate[system]) * seconds

    # -- dropping (a failover starts from what the target has) ----------------------------
    def drop_async(self, system: int) -> float:
        """Everything the async target lacks now (the queue from the clock's time): the
        backlog, and the batch being filled and the writes in flight beyond it (counted as
        shipped by the fluid queue, which they were not)."""
        queued = float(self.backlog[system])
        extra = float(self.unarrived(self.clock)[system]) - queued
        extra = min(max(extra, 0.0), float(self.shipped[system]))
        self.shipped[system] -= extra
        lost = queued + extra
        self.backlog[system] = 0.0
        self.dropped_async[system] += lost
        return lost

    def drop_mirror(self, system: int, side: int) -> float:
        lost = float(self.mirror[system, side])
        self.mirror[system, side] = 0.0
        self.dropped_mirror[system] += lost
        return lost

    def drop_away(self, system: int) -> float:
        lost = float(self.away[system])
        self.away[system] = 0.0
        self.dropped_away[system] += lost
        return lost

    def bring_back(self, system: int) -> float:
        """Failback copies the away writes home: returns the bytes copied."""
        amount = float(self.away[system])
        self.away[system] = 0.0
        self.returned[system] += amount
        return amount

    def conserved(self, tolerance: float = 1e-6) -> bool:
        """Every byte that entered a queue is shipped, queued or dropped."""
        ok_async = np.allclose(
            self.async_total_in,
            self.shipped + self.backlog + self.dropped_async,
            rtol=tolerance,
            atol=1.0,
        )
        ok_mirror = np.allclose(
            self.mirror_total_in,
            self.resynced + self.mirror.sum(axis=1) + self.dropped_mirror,
            rtol=tolerance,
            atol=1.0,
        )
        return bool(ok_async and ok_mirror)

    def totals(self) -> dict[str, Any]:
        return {
            "written_gb": float(self.written.sum() / 1e9),
            "shipped_gb": float(self.shipped.sum() / 1e9),
            "backlog_gb": float(self.backlog.sum() / 1e9),
        }
