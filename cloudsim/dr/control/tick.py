"""The replication tick: DR's one simpy process.

Every ``dr.tick`` it advances every replication queue to the present and samples every
system's async lag over a shipping cycle (the mean and the maximum the results report, and
the last mean the policies are told). Everything else DR does is an action on the kernel's calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from cloudsim.compiled import chosen
from cloudsim.dr import kernels
from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.replication import Replication

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class ReplicationTick:
    """Advances ``repl`` every ``interval`` seconds up to ``horizon`` and samples the lags;
    ``count()`` counts each tick as a processed event."""

    def __init__(
        self,
        env: simpy.Environment,
        repl: Replication,
        plans: list[SystemPlan],
        interval: float,
        horizon: float,
        count: Callable[[], None],
        *,
        kernel: str = "auto",
    ) -> None:
        """``kernel``: how a tick whose lags are kept samples them: ``"numba"`` compiled
        (:func:`cloudsim.dr.kernels.sample_kept`), ``"numpy"`` the reference, ``"auto"``
        compiled when numba is installed."""
        self.env = env
        self.repl = repl
        self.interval = interval
        self.horizon = horizon
        self.count = count
        n = len(plans)
        self.has_async = np.array([p.async_to >= 0 and p.write_rate > 0 for p in plans])
        self.lag_sum: FloatArray = np.zeros(n)
        self.lag_max: FloatArray = np.zeros(n)
        self.lag_samples: IntArray = np.zeros(n, dtype=np.int64)
        #: Each system's async lag at the last tick (what the policies are told).
        self.last_lag: FloatArray = np.zeros(n)
        self._kept: tuple[bytes, tuple[FloatArray, FloatArray, FloatArray, BoolArray]] | None = None
        compiled = chosen(kernel)
        self._sample_kept = kernels.kernels()["sample_kept"] if compiled else None
        #: The bit patterns of the inputs the lags depend on (write_on, async_in, flight:
        #: the first rows of the queues' input block, a view) and those of the kept lags.
        self._bits: IntArray = repl._inputs[:3].view(np.int64)
        self._kept_bits: IntArray = self._bits.copy()

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The process: advance every queue, sample every lag."""
        env = self.env
        repl = self.repl
        compiled = self._sample_kept
        k = 1
        while k * self.interval <= self.horizon:
            yield env.timeout(k * self.interval - env.now)
            now = env.now
            repl.advance(now)
            kept = self._kept
            if not (
                compiled is not None
                and kept is not None
                and compiled(
                    repl.backlog,
                    self._bits,
                    self._kept_bits,
                    *kept[1][1:],
                    self.lag_sum,
                    self.lag_samples,
                    self.lag_max,
                )
            ):
                lag, sampled_lag, sampled_most, sampled = self._lags(now)
                self.lag_sum += sampled_lag
                self.lag_samples += sampled
                np.maximum(self.lag_max, sampled_most, out=self.lag_max)
                self.last_lag = lag
            self.count()
            k += 1

    def _lags(self, now: float) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
        """The lags over a cycle at ``now``, those sampled (0 where not) and which are.
        With every backlog empty they depend only on which systems write where and their
        batches' in-flight times: worked out again only when those changed."""
        repl = self.repl
        empty = not np.count_nonzero(repl.backlog)
        key = self._bits.tobytes()
        if empty and self._kept is not None and self._kept[0] == key:
            return self._kept[1]
        lag, most = repl.cycle_lag(now)
        # while writes flow into the async queue (home primaries writing): the times a
        # failure of the primary would lose the lag
        sampled = self.has_async & (repl.write_on > 0) & (repl.async_in > 0)
        found = (lag, np.where(sampled, lag, 0.0), np.where(sampled, most, 0.0), sampled)
        self._kept = (key, found) if empty else None
        if empty:
            self._kept_bits[:] = self._bits
        return found
