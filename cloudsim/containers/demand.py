"""Service demand curves: a weekly shape times seeded noise, drawn once for the whole run.

Demand is piecewise constant over steps (default 5 min): step ``k`` covers
``[k x step, (k + 1) x step)`` and holds ``peak x daily(t) x weekly(t) x noise_k`` in
millicores, where ``daily`` is interpolated linearly between the hourly factors (taken at
the start of each hour) and ``weekly`` is the factor of the day, both normalised to a
maximum of 1, and ``noise_k`` is lognormal with median 1. Drawing every step up front
lets the controllers look ahead (when will the HPA next act?) and integrate exactly
(core-seconds demanded and unserved) without waking at every step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.containers import Demand
from cloudsim.units import DAY, HOUR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def shape_at(demand: Demand, times: FloatArray, start: datetime) -> FloatArray:
    """The normalised weekly shape (0..1] at ``times`` seconds after ``start``."""
    offset = (start - start.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    local = times + offset
    hours = local / HOUR
    daily = np.asarray(demand.daily, dtype=np.float64)
    daily = daily / daily.max()
    hour = np.floor(hours).astype(np.int64)
    frac = hours - hour
    day_shape = daily[hour % 24] * (1 - frac) + daily[(hour + 1) % 24] * frac
    weekly = np.asarray(demand.weekly, dtype=np.float64)
    weekly = weekly / weekly.max()
    weekday = (start.weekday() + np.floor(local / DAY).astype(np.int64)) % 7
    result: FloatArray = day_shape * weekly[weekday]
    return result


class DemandCurves:
    """Per-step demand of several services over a horizon: ``values[s, k]`` millicores."""

    def __init__(
        self,
        demands: Sequence[Demand | None],
        horizon: float,
        start: datetime,
        rng: np.random.Generator,
    ) -> None:
        self.step = np.array([d.step if d else horizon for d in demands], dtype=np.float64)
        self.rows: list[FloatArray] = []
        for demand, stream in zip(demands, rng.spawn(len(demands)), strict=True):
            if demand is None:
                values = np.zeros(1)
            else:
                steps = max(1, math.ceil(horizon / demand.step))
                times = np.arange(steps, dtype=np.float64) * demand.step
                noise = stream.lognormal(0.0, demand.noise, steps) if demand.noise else 1.0
                values = np.floor(demand.peak * shape_at(demand, times, start) * noise)
            self.rows.append(values)

    def __len__(self) -> int:
        return len(self.rows)

    def index(self, s: int, time: float) -> int:
        return min(int(time // self.step[s]), len(self.rows[s]) - 1)

    def indices(self, s: int, times: npt.NDArray[np.floating[Any]]) -> IntArray:
        """Step of service ``s`` at each of ``times``."""
        k = (times // self.step[s]).astype(np.int64)
        result: IntArray = np.minimum(k, len(self.rows[s]) - 1)
        return result

    def at_times(self, times: npt.NDArray[np.floating[Any]]) -> FloatArray:
        """(J, S) demand of every service at each of ``times``."""
        out = np.zeros((len(times), len(self.rows)))
        for s, row in enumerate(self.rows):
            out[:, s] = row[self.indices(s, times)]
        return out

    def at(self, time: float) -> IntArray:
        """(S,) demand of every service at ``time``."""
        return np.array(
            [int(row[self.index(s, time)]) for s, row in enumerate(self.rows)], dtype=np.int64
        )

    def next_change(self, s: int, time: float) -> float:
        """When the demand of service ``s`` next steps (inf after the last step)."""
        k = self.index(s, time)
        if k + 1 >= len(self.rows[s]):
            return math.inf
        return (k + 1) * float(self.step[s])

    def integrate(
        self, s: int, start: float, end: float, capacity: float
    ) -> tuple[float, float, float]:
        """Over ``[start, end)``: millicore-seconds demanded, millicore-seconds above
        ``capacity`` (unserved) and seconds with demand above capacity."""
        if end <= start:
            return 0.0, 0.0, 0.0
        row = self.rows[s]
        step = float(self.step[s])
        k0 = self.index(s, start)
        k1 = self.index(s, math.nextafter(end, -math.inf))
        bounds = np.arange(k0, k1 + 2, dtype=np.float64) * step
        bounds[0] = start
        bounds[-1] = end
        if k1 + 1 >= len(row):  # the last step lasts to the end
            bounds[-1] = end
        widths = np.diff(bounds)
        values = row[k0 : k1 + 1]
        over = values > capacity
        demanded = float(widths @ values)
        unserved = float(widths @ np.where(over, values - capacity, 0.0))
        return demanded, unserved, float(widths @ over)
