"""One VM's move as flows on the run's shared network (:mod:`cloudsim.platform.links`).

A live migration is the pre-copy model of :mod:`cloudsim.maintenance.precopy` played out
on the links: each iteration is a flow of the bytes dirtied during the one before, so when
its share of a link changes (a restore starts, another migration ends, a link is cut) the
iteration is re-timed exactly and the next one is as large as that iteration really took.
The bandwidth the stop rule uses is what the last iteration really got (its bytes over its
seconds), as QEMU estimates it. At a constant share it gives the closed form exactly.

Across centres whose storage is not shared the disk is copied first (the VM runs; a
block-mirror keeps it in step), then the memory. A cold move stops the VM at once, copies
the disk if it must, and boots it at the destination after ``restart_time``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cloudsim.maintenance.precopy import dirty_after, stop_now
from cloudsim.platform.flows import FlowNetwork

Schedule = Callable[[float, Callable[[float], None]], None]
Method = Literal["live", "forced", "cold", "cold-fallback"]


@dataclass(frozen=True)
class MoveSpec:
    """What one move needs: bytes, rates (bytes/s) and the pre-copy settings."""

    links: tuple[int, ...]
    limit: float  # one migration's bandwidth at most
    rtt: float
    memory: float
    dirty_rate: float
    disk: float  # bytes to copy before the memory (0: shared storage)
    target: float
    max_rounds: int
    switchover: float
    restart_time: float
    live: bool
    cold_fallback: bool


@dataclass
class MoveResult:
    """How a move went (``method``: live, forced — stopped by ``max_rounds`` —, cold, or
    cold-fallback — a live migration that did not converge)."""

    method: Method = "live"
    rounds: int = 0
    bytes: float = 0.0
    stopped_at: float = -1.0
    resumed_at: float = -1.0
    converged: bool = True

    @property
    def pause_s(self) -> float:
        return self.resumed_at - self.stopped_at


class Move:
    """Drives one move: ``on_stop(time)`` when the VM stops, ``on_done(time)`` when it runs
    at the destination; :meth:`cancel` abandons it (no callback after)."""

    def __init__(
        self,
        spec: MoveSpec,
        network: FlowNetwork,
        schedule: Schedule,
        on_stop: Callable[[float], None],
        on_done: Callable[[float], None],
    ) -> None:
        self.spec = spec
        self.network = network
        self.schedule = schedule
        self.on_stop = on_stop
        self.on_done = on_done
        self.result = MoveResult(method="live" if spec.live else "cold")
        self.flow: int | None = None
        self.cancelled = False
        self._round_start = 0.0
        self._round_bytes = 0.0

    @property
    def stopped(self) -> bool:
        return self.result.stopped_at >= 0

    # -- steps ------------------------------------------------------------------------------
    def start(self, time: float) -> None:
        if not self.spec.live:
            self._stop(time)
        if self.spec.disk > 0:
            self._transfer(self.spec.disk, self._disk_copied, time)
        else:
            self._disk_copied(time)

    def _disk_copied(self, time: float) -> None:
        if self.spec.live:
            self._round(self.spec.memory, time)
        else:
            self.schedule(time + self.spec.restart_time, self._resume)

    def _round(self, size: float, time: float) -> None:
        self._round_start = time
        self._round_bytes = size
        self._transfer(size, self._round_done, time)

    def _round_done(self, time: float) -> None:
        spec = self.spec
        res = self.result
        res.rounds += 1
        seconds = time - self._round_start
        rate = self._round_bytes / seconds if seconds > 0 else float("inf")
        left = dirty_after(spec.memory, spec.dirty_rate, seconds)
        if not stop_now(left, rate, spec.target, res.rounds, spec.max_rounds):
            self._round(left, time)
            return
        res.converged = left <= rate * spec.target
        if not res.converged and spec.cold_fallback:
            res.method = "cold-fallback"
            self._stop(time)
            self.schedule(time + spec.restart_time, self._resume)
            return
        if not res.converged:
            res.method = "forced"
        self._stop(time)
        self._transfer(left, self._copied, time)

    def _copied(self, time: float) -> None:
        self.schedule(time + self.spec.rtt + self.spec.switchover, self._resume)

    def _stop(self, time: float) -> None:
        self.result.stopped_at = time
        self.on_stop(time)

    def _resume(self, time: float) -> None:
        if self.cancelled:
            return
        self.result.resumed_at = time
        self.on_done(time)

    # -- flows ------------------------------------------------------------------------------
    def _transfer(self, size: float, then: Callable[[float], None], time: float) -> None:
        """``size`` bytes over the path, then ``then(time)`` (at once when nothing to send)."""
        if size <= 0:
            self.flow = None
            self.schedule(time, self._guard(then))
            return
        self.flow = -1  # a flow done at once calls back before start() returns
        flow = self.network.start(
            self.spec.links, size, self.spec.limit, self._counted(size, then), time, queued=False
        )
        if self.flow == -1:
            self.flow = flow

    def _counted(self, size: float, then: Callable[[float], None]) -> Callable[[float], None]:
        def done(time: float) -> None:
            if self.cancelled:
                return
            self.flow = None
            self.result.bytes += size
            then(time)

        return done

    def _guard(self, then: Callable[[float], None]) -> Callable[[float], None]:
        def run(time: float) -> None:
            if not self.cancelled:
                then(time)

        return run

    def cancel(self, time: float) -> None:
        """Abandon the move (its flow's bandwidth goes to the others)."""
        self.cancelled = True
        if self.flow is not None and self.flow >= 0:
            self.network.cancel(self.flow, time)
        self.flow = None
