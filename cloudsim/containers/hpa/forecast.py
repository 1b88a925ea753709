"""Forecasting: the syncs ahead at once, up to the first that changes some HPA's replicas
(windows checked with running indices; see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
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
from cloudsim.containers.hpa.stabilisation import Recommendations


@dataclass(frozen=True)
class Forecast:
    """Syncs ahead: their times, raw recommendations (J, H), HPAs with metrics, and the
    index of the first sync that changes replicas (``len(times)``: none).

    A compiled forecast works out ``raw`` up to sync ``first`` only: the rows after it
    are read through :meth:`raw_rows`."""

    times: FloatArray
    raw: IntArray
    active: BoolArray  # (J, H)
    first: int
    #: The replicas of sync ``first`` when :meth:`Autoscalers.apply` may use them.
    final: IntArray | None = None
    #: Works out the rows of ``raw`` before a count that are not yet (None: all are).
    pending: Callable[[int], None] | None = None

    def raw_rows(self, count: int) -> IntArray:
        """``raw``, its first ``count`` rows worked out."""
        if self.pending is not None:
            self.pending(count)
        return self.raw


#: Stands for "no sync not beyond so far" in :func:`_beyond`'s running index: far enough
#: before the first sync that every window reaches back past it.
_NEVER = -(2**62)


@lru_cache(maxsize=8)
def _row_numbers(count: int) -> IntArray:
    """(count, 1) the sync numbers 0 .. count - 1 (shared, read-only)."""
    rows = np.arange(count, dtype=np.int64)[:, None]
    rows.setflags(write=False)
    return rows


def changes(
    times: FloatArray,
    current: IntArray,
    raw: IntArray,
    allowed_max: IntArray,
    allowed_min: IntArray,
    derived: Derived,
    history: Recommendations,
    up_rules: Rules,
    down_rules: Rules,
) -> tuple[BoolArray | None, Callable[[int], IntArray]]:
    """(J, H) which syncs would change an HPA's replicas (None: none would), and the
    replicas at a sync (worked out for the one asked about only).

    A sync scales an HPA up when its stabilised recommendation, the least in the
    scale-up window, is above the replicas and the policies allow more: when every raw
    recommendation in the window and every recorded one still inside is above. It
    scales down when every one in the scale-down window is below and they allow fewer.
    (Without metrics the raw recommendation is the replicas: neither.)"""
    rows = _row_numbers(len(times))
    recorded = history.value
    up = down = up_leaves = down_leaves = None
    above = raw > current
    if above.any():  # else no sync scales up: the windows are not looked at
        up_leaves = history.leaves(times, up_rules.window, derived.up_window)
        up = _beyond(rows, above, current, derived.up_back, up_leaves, recorded, True)
    below = raw < current
    if below.any():
        down_leaves = history.leaves(times, down_rules.window, derived.down_window)
        down = _beyond(rows, below, current, derived.down_back, down_leaves, recorded, False)
    change: BoolArray | None = None
    if up is not None:
        change = up & (allowed_max > current)
    if down is not None:
        fewer = down & (allowed_min < current)
        change = fewer if change is None else change | fewer

    def final_at(j: int) -> IntArray:
        final = current
        at = j if len(allowed_max) > 1 else 0  # the limits at sync ``j``
        if down is not None:
            low = _extreme(raw, j, derived.down_back, down_leaves, recorded, INT32_MIN, np.maximum)
            final = np.where(down[j], np.maximum(low, allowed_min[at]), final)
        if up is not None:
            high = _extreme(raw, j, derived.up_back, up_leaves, recorded, INT32_MAX, np.minimum)
            final = np.where(up[j], np.minimum(high, allowed_max[at]), final)
        return final

    return change, final_at


def _beyond(
    rows: IntArray,
    beyond: BoolArray,
    current: IntArray,
    back: IntArray,
    leaves: IntArray | None,
    recorded: IntArray,
    up: bool,
) -> BoolArray:
    """(J, H) whether every raw recommendation in the window (``back`` syncs before
    each and itself) and every ``recorded`` one still inside (``leaves``) is above (``up``)
    or below the replicas, given ``beyond``: whether each raw one is (taken over)."""
    result = beyond
    if back.any():
        # the last sync not beyond up to each (_NEVER: none, the window is clipped there)
        last = np.maximum.accumulate(np.where(beyond, _NEVER, rows), axis=0)
        result = last + back < rows
    if leaves is not None:  # the recorded ones not beyond hold it until they leave
        holding = recorded <= current[:, None] if up else recorded >= current[:, None]
        result &= rows >= np.where(holding, leaves, 0).max(axis=1)
    return result


def _extreme(
    raw: IntArray,
    j: int,
    back: IntArray,
    leaves: IntArray | None,
    recorded: IntArray,
    fill: int,
    op: Any,
) -> IntArray:
    """(H,) the ``op``-reduction at sync ``j`` of the raw recommendations in the window
    (``back`` syncs before and itself), the ``recorded`` ones still inside (``leaves``)
    and ``fill``: the stabilised recommendation of one direction."""
    low, high = int(back.min()), int(back.max())
    if low == high or j <= low:  # the window starts at the same sync for every HPA
        value = _down_columns(op, raw[max(j - low, 0) : j + 1])
    else:
        first = np.maximum(j - back, 0)
        inside = np.arange(j + 1)[:, None] >= first[None, :]
        value = _down_columns(op, np.where(inside, raw[: j + 1], fill))
    value = op(value, fill)
    if leaves is not None:
        value = op(value, op.reduce(np.where(leaves > j, recorded, fill), axis=1))
    result: IntArray = value
    return result


def _down_columns(op: Any, values: IntArray) -> IntArray:
    """``op.reduce(values, axis=0)`` for (J, H) ``values``, over a contiguous (H, J) copy:
    numpy reduces a long axis several times faster when it is the contiguous one (the
    minimum or maximum of integers is the same either way)."""
    result: IntArray = op.reduce(np.ascontiguousarray(values.T), axis=1)
    return result
