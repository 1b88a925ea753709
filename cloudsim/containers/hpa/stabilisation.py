"""Stabilisation (step 2 of the package docstring): the recorded raw recommendations of
every HPA (the oldest slot reused) and their reduction inside each window, at many sync
times at once."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cloudsim.containers.hpa.rules import (
    INT32_MAX,
    INT32_MIN,
    BoolArray,
    Derived,
    FloatArray,
    IntArray,
    Rules,
)


class Recommendations:
    """Raw recommendations recorded per HPA: (H, R) times and values, the newest time."""

    def __init__(self, hpas: int, slots: int) -> None:
        self.time = np.full((hpas, slots), -np.inf)
        self.value = np.zeros(self.time.shape, dtype=np.int64)
        self.newest = -math.inf  # the latest time recorded
        self._rows = np.repeat(np.arange(hpas), slots)

    def __len__(self) -> int:
        return len(self.time)

    def record(self, rows: IntArray, time: float, values: IntArray) -> None:
        """The raw recommendations ``values`` of HPAs ``rows`` at a sync at ``time``."""
        if not len(rows):
            return
        slot = np.argmin(self.time[rows], axis=1)
        self.time[rows, slot] = time
        self.value[rows, slot] = values
        self.newest = max(self.newest, time)

    def commit(self, times: FloatArray, active: BoolArray, raw: IntArray, before: float) -> None:
        """Record the raw recommendations ``raw`` (J, H) of the HPAs ``active`` at the
        syncs ``times`` that happened before ``before`` (only the latest ones can still be
        inside a window)."""
        done = int(times.searchsorted(before - 1e-9))
        start = max(0, done - (self.time.shape[1] - 1))
        if done <= start:
            return
        at = np.where(active[start:done].T, times[start:done], -np.inf)
        slots = self.time.argsort(axis=1, kind="stable")[:, : done - start]
        rows = np.arange(len(self))[:, None]
        self.time[rows, slots] = at  # the oldest slots take the newest syncs
        self.value[rows, slots] = raw[start:done].T
        self.newest = max(self.newest, float(times[done - 1]))

    def leaves(self, times: FloatArray, window: FloatArray, longest: float) -> IntArray | None:
        """(H, R) for each recorded recommendation, the first of ``times`` it is no longer
        inside its HPA's ``window`` (the longest: ``longest``) at; None when every one has
        left before the first."""
        first = times[0]
        if self.newest + longest <= first:
            return None
        ends = self.time + window[:, None]
        if not (ends > first).any():
            return None
        leaves: IntArray = times.searchsorted(ends.ravel(), side="left").reshape(ends.shape)
        return leaves

    def reduced(
        self, times: FloatArray, window: FloatArray, longest: float, fill: int, op: Any
    ) -> IntArray | int:
        """(J, H) ``op``-reduction (minimum or maximum) of the recorded recommendations
        inside each HPA's ``window`` (the longest: ``longest``) at each of ``times``
        (ascending); just ``fill`` when none is. A record stays inside for the ticks before
        ``its time + window``, so each one is put at the first tick it has left and a
        reverse cumulative reduction gives every tick at once."""
        leaves = self.leaves(times, window, longest)
        if leaves is None:
            return fill
        by_tick = np.full((len(times) + 1, len(self)), fill, dtype=np.int64)
        op.at(by_tick, (leaves.ravel(), self._rows), self.value.ravel())
        result: IntArray = op.accumulate(by_tick[::-1], axis=0)[::-1][1:]
        return result

    def stabilise(
        self,
        times: FloatArray,
        current: IntArray,
        desired: IntArray,
        sequence: bool,
        up_rules: Rules,
        down_rules: Rules,
        derived: Derived,
    ) -> IntArray:
        """(J, H) stabilised recommendations at ``times`` for raw ``desired`` (J, H): the
        recorded recommendations in each window, plus (``sequence``) the raw ones of the
        earlier ticks of ``times``, which are not recorded yet."""
        up_w, down_w = up_rules.window, down_rules.window
        up = np.minimum(
            desired, self.reduced(times, up_w, derived.up_window, INT32_MAX, np.minimum)
        )
        down = np.maximum(
            desired, self.reduced(times, down_w, derived.down_window, INT32_MIN, np.maximum)
        )
        if sequence and len(times) > 1:  # times are one sync apart
            up = sliding(up, desired, derived.up_ticks, INT32_MAX, np.minimum)
            down = sliding(down, desired, derived.down_ticks, INT32_MIN, np.maximum)
        result: IntArray = np.minimum(np.maximum(current[None, :], up), down)
        return result


def sliding(base: IntArray, values: IntArray, ticks: IntArray, fill: int, op: Any) -> IntArray:
    """``base`` (J, H) reduced by ``op`` with the ``op``-reduction of ``values`` over each
    tick and the earlier ticks inside the window (``ticks[h]`` ticks: ``k`` syncs back is
    inside when ``k x sync < window``), ``fill`` standing in for the ticks before the
    first; per distinct window length."""
    widths = sorted(set(ticks.tolist()))
    if len(widths) == 1:  # one window length for every HPA
        width = widths[0]
        span = fill if width <= 0 else window(values, width, fill, op)
        whole: IntArray = op(base, span)
        return whole
    result = base.copy()
    for width in widths:
        cols = np.flatnonzero(ticks == width)
        part = fill if width <= 0 else window(values[:, cols], width, fill, op)
        result[:, cols] = op(base[:, cols], part)
    return result


def window(values: IntArray, width: int, fill: int, op: Any) -> IntArray:
    """(J, K) ``op`` over ``values[j - width + 1 .. j]``, ``fill`` standing in above the
    first row; by doubling."""
    span = values.copy()
    covered = 1
    while covered * 2 <= width:  # span[j]: op over the `covered` rows up to j
        span[covered:] = op(span[covered:], span[:-covered])
        covered *= 2
    if covered < width:  # two overlapping runs cover exactly `width` rows
        back = width - covered
        span[back:] = op(span[back:], span[:-back])
    if width > 1:
        span[: width - 1] = op(span[: width - 1], fill)
    return span
