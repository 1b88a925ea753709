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

from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.replication import Replication

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    ) -> None:
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

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The process: advance every queue, sample every lag."""
        env = self.env
        k = 1
        while k * self.interval <= self.horizon:
            yield env.timeout(k * self.interval - env.now)
            now = env.now
            self.repl.advance(now)
            lag, most = self.repl.cycle_lag(now)
            # while writes flow into the async queue (home primaries writing): the times a
            # failure of the primary would lose the lag
            sampled = self.has_async & (self.repl.write_on > 0) & (self.repl.async_in > 0)
            self.lag_sum += np.where(sampled, lag, 0.0)
            self.lag_samples += sampled
            np.maximum(self.lag_max, np.where(sampled, most, 0.0), out=self.lag_max)
            self.last_lag = lag
            self.count()
            k += 1
