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
        # every row end to end, for reading all services at once
        lengths = np.array([len(r) for r in self.rows], dtype=np.int64)
        self._flat = np.concatenate(self.rows) if self.rows else np.zeros(0)
        self._offset = np.cumsum(lengths) - lengths
        self._last = lengths - 1
        distinct = np.unique(self.step)
        self._one_step = float(distinct[0]) if len(distinct) == 1 else None

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
        if self._one_step is not None:  # one division per time, not per time and service
            k = np.minimum((times // self._one_step).astype(np.int64)[:, None], self._last)
        else:
            k = np.minimum((times[:, None] // self.step).astype(np.int64), self._last)
        result: FloatArray = self._flat[k + self._offset]
        return result

    def at(self, time: float) -> IntArray:
        """(S,) demand of every service at ``time``."""
        result: IntArray = self.at_times(np.array([time]))[0].astype(np.int64)
        return result

    def next_change(self, s: int, time: float) -> float:
        """When the demand of service ``s`` next steps (inf after the last step)."""
        k = self.index(s, time)
        if k + 1 >= len(self.rows[s]):
            return math.inf
        return (k + 1) * float(self.step[s])

    def integrate_many(
        self, starts: FloatArray, ends: FloatArray, capacity: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """:meth:`integrate` over each interval ``[starts[i], ends[i])`` (K,) for every
        service, ``capacity`` (K, S): (K, S) arrays. The (interval, service) pairs whose
        demand holds one step over the interval at once, the others one by one."""
        before = np.nextafter(ends, -np.inf)
        step = self._one_step
        if step is not None:  # as index(): the step's floor division of the time
            k0 = np.minimum((starts // step).astype(np.int64)[:, None], self._last)
            k1 = np.minimum((before // step).astype(np.int64)[:, None], self._last)
        else:
            k0 = np.minimum((starts[:, None] // self.step).astype(np.int64), self._last)
            k1 = np.minimum((before[:, None] // self.step).astype(np.int64), self._last)
        spans = (ends - starts)[:, None]  # the one width of a single step
        values = self._flat[k0 + self._offset]
        over = values > capacity
        demanded = spans * values
        unserved = spans * np.where(over, values - capacity, 0.0)
        seconds = spans * over
        several = k1 != k0
        if not several.any():
            return demanded, unserved, seconds
        two = several & (k1 == k0 + 1)
        if two.any():  # over two steps: the widths and values of all at once, a dot each
            rows, cols = two.nonzero()
            first = k0[rows, cols]
            edge = (first + 1).astype(np.float64) * self.step[cols]
            widths = np.empty((len(rows), 2))
            widths[:, 0] = edge - starts[rows]
            widths[:, 1] = ends[rows] - edge
            at = first + self._offset[cols]
            values = np.empty((len(rows), 2))
            values[:, 0] = self._flat[at]
            values[:, 1] = self._flat[at + 1]
            demanded[rows, cols] = [w @ v for w, v in zip(widths, values, strict=True)]
            unserved[rows, cols] = 0.0
            seconds[rows, cols] = 0.0
            cap = capacity[rows, cols]
            over2 = values > cap[:, None]
            for p in over2.any(axis=1).nonzero()[0].tolist():
                i, s, w, v, o = rows[p], cols[p], widths[p], values[p], over2[p]
                unserved[i, s] = w @ np.where(o, v - cap[p], 0.0)
                seconds[i, s] = w @ o
            several &= ~two
        rows, cols = several.nonzero()
        for i, s, first_k, last_k in zip(
            rows.tolist(), cols.tolist(), k0[several].tolist(), k1[several].tolist(), strict=True
        ):
            demanded[i, s], unserved[i, s], seconds[i, s] = self._over_steps(
                s, float(starts[i]), float(ends[i]), capacity[i, s], first_k, last_k
            )
        return demanded, unserved, seconds

    def integrate(
        self, s: int, start: float, end: float, capacity: float
    ) -> tuple[float, float, float]:
        """Over ``[start, end)``: millicore-seconds demanded, millicore-seconds above
        ``capacity`` (unserved) and seconds with demand above capacity."""
        if end <= start:
            return 0.0, 0.0, 0.0
        k0 = self.index(s, start)
        k1 = self.index(s, math.nextafter(end, -math.inf))
        return self._over_steps(s, start, end, capacity, k0, k1)

    def _over_steps(
        self, s: int, start: float, end: float, capacity: float, k0: int, k1: int
    ) -> tuple[float, float, float]:
        """:meth:`integrate` over steps ``k0`` to ``k1`` of service ``s``."""
        bounds = np.arange(k0, k1 + 2, dtype=np.float64) * float(self.step[s])
        bounds[0] = start
        bounds[-1] = end  # (the last step lasts to the end)
        widths = bounds[1:] - bounds[:-1]
        values = self.rows[s][k0 : k1 + 1]
        over = values > capacity
        demanded = float(widths @ values)
        if not over.any():
            return demanded, 0.0, 0.0
        unserved = float(widths @ np.where(over, values - capacity, 0.0))
        return demanded, unserved, float(widths @ over)
