"""Rate limits (``behavior`` policies) and min/max replicas (step 3 of the package
docstring), counting the scale events of each policy's period; the limits are remembered
per replica vector while no scale event counts."""

from __future__ import annotations

import numpy as np

from cloudsim.containers.hpa.rules import (
    INT32_MAX,
    INT32_MIN,
    PODS,
    SELECT,
    Derived,
    FloatArray,
    IntArray,
    Rules,
    ScaleEvents,
)

#: Rate limits remembered per replica vector (see :meth:`RateLimits.allowed`), at most.
LIMIT_CACHE = 4096


class RateLimits:
    """Both directions' policies, the scale events they count, and min/max replicas."""

    def __init__(self, up: Rules, down: Rules, low: IntArray, high: IntArray, slots: int) -> None:
        self.up = up
        self.down = down
        self.min = low
        self.max = high
        self.up_events = ScaleEvents(len(low), slots)
        self.down_events = ScaleEvents(len(low), slots)

    def _limit(self, rules: Rules, times: FloatArray, current: IntArray, up: bool) -> IntArray:
        """(J, H) the furthest each HPA's policies let it go at each of ``times``."""
        added = self.up_events.within(times, rules.period)
        deleted = self.down_events.within(times, rules.period)
        start = current[None, :, None] - added + deleted  # replicas at each period's start
        value = rules.value[None, :, :]
        kind = rules.kind[None, :, :]
        if up:
            proposed = np.where(
                kind == PODS, start + value, np.ceil(start * (1 + value / 100)).astype(np.int64)
            )
        else:
            proposed = np.where(
                kind == PODS, start - value, (start * (1 - value / 100)).astype(np.int64)
            )
        valid = kind >= 0
        high = np.where(valid, proposed, INT32_MIN).max(axis=2)
        low = np.where(valid, proposed, INT32_MAX).min(axis=2)
        most = high if up else low  # the largest change
        least = low if up else high
        result: IntArray = np.where(
            rules.select == SELECT["Disabled"],
            current[None, :],
            np.where(rules.select == SELECT["Min"], least, most),
        )
        return result

    def _bounds(self, times: FloatArray, current: IntArray) -> tuple[IntArray, IntArray]:
        """(J or 1, H) the most and the fewest replicas the policies and min/max allow."""
        up_limit = np.maximum(self._limit(self.up, times, current, True), current)
        allowed_max = np.minimum(self.max, up_limit)
        down_limit = np.minimum(self._limit(self.down, times, current, False), current)
        allowed_min = np.maximum(self.min, down_limit)
        return allowed_max, allowed_min

    def allowed(
        self, times: FloatArray, current: IntArray, derived: Derived
    ) -> tuple[IntArray, IntArray]:
        """(J or 1, H) the most and the fewest replicas the policies and min/max allow at
        each of ``times`` (ascending; one row when no scale event counts at any: the same
        for all)."""
        newest = max(self.up_events.newest, self.down_events.newest)
        if newest > float(times[0]) - derived.period_max:
            return self._bounds(times, current)
        key = current.tobytes() + current.dtype.char.encode()
        found = derived.limits.get(key)
        if found is None:  # remembered per replica vector
            if len(derived.limits) >= LIMIT_CACHE:
                derived.limits.clear()
            found = derived.limits[key] = self._bounds(times[:1], current)
        return found

    def clamp(
        self, times: FloatArray, current: IntArray, desired: IntArray, derived: Derived
    ) -> IntArray:
        """(J, H) ``desired`` within the policies' limits and min/max replicas (HPAs whose
        replicas are already within min/max: the others are brought in range apart)."""
        allowed_max, allowed_min = self.allowed(times, current, derived)
        # allowed_min <= current <= allowed_max: a scale-up is capped, a scale-down floored
        result: IntArray = np.minimum(np.maximum(desired, allowed_min), allowed_max)
        return result

    def store(self, now: float, current: IntArray, out: IntArray) -> None:
        """Remember the scale events of a sync at ``now`` (the rate limits count them)."""
        grow = (out > current).nonzero()[0]
        shrink = (out < current).nonzero()[0]
        if len(grow):
            self.up_events.store(grow, now, out[grow] - current[grow])
        if len(shrink):
            self.down_events.store(shrink, now, current[shrink] - out[shrink])
