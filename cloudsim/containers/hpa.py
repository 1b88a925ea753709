"""HorizontalPodAutoscaler: Kubernetes' algorithm, vectorised over every HPA of a run.

One call of :meth:`Autoscalers.step` is one sync of every HPA, as kube-controller-manager's
horizontal controller does it (pkg/controller/podautoscaler), integer arithmetic included:

1. **Replica calculator** (``GetResourceReplicas``): utilisation is
   ``floor(usage x 100 / requests)`` over the ready pods (an integer percentage), the ratio
   is utilisation / target (or, for an average-value target, ``floor(usage / pods) /
   target``), and ``desired = ceil(ratio x ready)`` unless ``|1 - ratio| <= tolerance``.
   Pending and starting pods (unready) count as using nothing when scaling up; pods without
   metrics (on a NotReady node) count as using 100 % of their request (at least the
   target) when scaling down and nothing when scaling up; if that reverses the direction
   or lands within the tolerance, the HPA keeps the current count. No ready pod: no metrics,
   no decision.
2. **Stabilisation**: the recommendation is kept within the minimum of the raw
   recommendations of the scale-up window and the maximum of those of the scale-down window
   (default 0 s and 300 s), the current raw recommendation included.
3. **Rate limits** (``behavior`` policies): a scale-up goes no higher than what the policies
   allow from the replicas at the start of each policy's period (``Pods``: + value;
   ``Percent``: x (1 + value/100) rounded up; ``Max``: the most permissive policy), a
   scale-down no lower (``Percent``: x (1 - value/100) truncated); then min/max replicas.

Defaults (autoscaling/v2): scale up by the larger of 100 % and 4 pods per 15 s, scale down
by 100 % per 15 s after a 300 s stabilisation window.

:meth:`Autoscalers.forecast` runs the syncs ahead at once. It needs the first one that
changes some HPA's replicas, not every stabilised recommendation: a sync scales up when
every raw recommendation of the scale-up window (and every recorded one still inside) is
above the replicas and the policies allow more, down when every one of the scale-down
window is below and they allow fewer, so windows are checked with running indices (the
last sync that is not beyond), and the replicas are worked out for that one sync only.
When the forecast provably equals stepping (every sync before it had metrics, whole
seconds), :meth:`Autoscalers.apply` runs that sync from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.containers import HPA, ScalingRules

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_SELECT = {"Max": 0, "Min": 1, "Disabled": 2}
_PODS, _PERCENT = 0, 1
_INT32_MAX = 2**31 - 1
_INT32_MIN = -(2**31)
#: Rate limits remembered per replica vector (see ``Autoscalers._limits``), at most.
_LIMIT_CACHE = 4096


@dataclass
class _Rules:
    """One direction's behaviour for every HPA: padded policy arrays (H, P)."""

    window: FloatArray  # (H,)
    select: IntArray  # (H,)
    kind: IntArray  # (H, P) _PODS / _PERCENT, -1 padding
    value: IntArray  # (H, P)
    period: FloatArray  # (H, P)

    @classmethod
    def of(cls, rules: Sequence[ScalingRules]) -> _Rules:
        width = max((len(r.policies) for r in rules), default=1)
        h = len(rules)
        kind = np.full((h, width), -1, dtype=np.int64)
        value = np.zeros((h, width), dtype=np.int64)
        period = np.zeros((h, width))
        for i, r in enumerate(rules):
            for j, p in enumerate(r.policies):
                kind[i, j] = _PODS if p.type == "Pods" else _PERCENT
                value[i, j] = p.value
                period[i, j] = p.period
        return cls(
            window=np.array([r.stabilization_window for r in rules], dtype=np.float64),
            select=np.array([_SELECT[r.select_policy] for r in rules], dtype=np.int64),
            kind=kind,
            value=value,
            period=period,
        )


class _Events:
    """Scale events of one direction: (H, E) times and replica changes, oldest replaced."""

    def __init__(self, hpas: int, slots: int) -> None:
        self.time = np.full((hpas, slots), -np.inf)
        self.change = np.zeros((hpas, slots), dtype=np.int64)
        self.newest = -math.inf  # the latest time stored

    def within(self, times: FloatArray, period: FloatArray) -> IntArray:
        """(J, H, P) replicas changed in the ``period`` seconds of each policy before each of
        ``times`` (strictly after the cutoff, as ``getReplicasChangePerPeriod``)."""
        if self.time.max(initial=-np.inf) <= times.min() - period.max(initial=0.0):
            return np.zeros((len(times), *period.shape), dtype=np.int64)
        cutoff = times[:, None, None, None] - period[None, :, :, None]
        after = self.time[None, :, None, :] > cutoff
        result: IntArray = (after * self.change[None, :, None, :]).sum(axis=3)
        return result

    def store(self, rows: IntArray, now: float, change: IntArray) -> None:
        slot = np.argmin(self.time[rows], axis=1)
        self.time[rows, slot] = now
        self.change[rows, slot] = change
        self.newest = max(self.newest, now)


@dataclass
class _Derived:
    """What the spec and rule arrays imply, derived again only when one of them changes."""

    key: bytes
    all_utilization: bool
    no_utilization: bool
    up_ticks: IntArray  # (H,) syncs inside each scale-up window (``_sliding``)
    down_ticks: IntArray
    up_back: IntArray  # (H,) syncs before each inside its scale-up window (at least 0)
    down_back: IntArray
    up_window: float  # the longest scale-up window
    down_window: float
    period_max: float  # the longest policy period (0 included)
    whole: bool  # sync period and windows in whole seconds (exact sums of times)
    bounded: bool  # min and max replicas inside int32 (the windows' fills)
    #: Scale limits per replica vector when no scale event counts (``_limits``).
    limits: dict[bytes, tuple[IntArray, IntArray]] = field(default_factory=dict)


class Autoscalers:
    """Every HPA of a run: specs as arrays, recommendation and scale-event histories.

    Each sync and forecast costs a few dozen array operations whatever the number of HPAs
    and syncs ahead: what the spec and rule arrays imply is derived once (and again only if
    one of them changes), scale limits are remembered per replica vector while no scale
    event counts, and histories that cannot reach the syncs asked about are skipped."""

    def __init__(self, specs: Sequence[HPA], sync_period: float = 15.0) -> None:
        self.specs = list(specs)
        n = len(self.specs)
        self.min = np.array([s.min_replicas for s in specs], dtype=np.int64)
        self.max = np.array([s.max_replicas for s in specs], dtype=np.int64)
        self.utilization = np.array([s.target_utilization is not None for s in specs])
        self.target = np.array(
            [s.target_utilization or s.target_average_value or 1 for s in specs], dtype=np.int64
        )
        self.tolerance = np.array([s.tolerance for s in specs], dtype=np.float64)
        self.sync = sync_period
        self.up = _Rules.of([s.scale_up for s in specs])
        self.down = _Rules.of([s.scale_down for s in specs])
        shortest = sync_period
        windows = np.concatenate([self.up.window, self.down.window, [0.0]])
        periods = np.concatenate([self.up.period.ravel(), self.down.period.ravel(), [0.0]])
        self.rec_time = np.full((n, 2 + math.ceil(float(windows.max()) / shortest)), -np.inf)
        self.rec_value = np.zeros(self.rec_time.shape, dtype=np.int64)
        self.rec_newest = -math.inf  # the latest time recorded
        self._rec_rows = np.repeat(np.arange(n), self.rec_time.shape[1])
        slots = 2 + math.ceil(float(periods.max()) / shortest)
        self.up_events = _Events(n, slots)
        self.down_events = _Events(n, slots)
        self._cached: _Derived | None = None

    def __len__(self) -> int:
        return len(self.specs)

    def _derived(self) -> _Derived:
        """The constants of the arrays above (checked against them at every sync: a test or
        a caller may change a window in place)."""
        up, down = self.up, self.down
        key = b"".join(
            [
                a.tobytes()
                for a in (
                    self.utilization,
                    np.float64(self.sync),
                    up.window,
                    up.select,
                    up.kind,
                    up.value,
                    up.period,
                    down.window,
                    down.select,
                    down.kind,
                    down.value,
                    down.period,
                    self.min,
                    self.max,
                )
            ]
        )
        cached = self._cached
        if cached is not None and cached.key == key:
            return cached
        periods = np.concatenate([up.period.ravel(), down.period.ravel(), [0.0]])
        windows = np.concatenate([up.window, down.window])
        up_ticks = np.ceil(up.window / self.sync - 1e-9).astype(np.int64)
        down_ticks = np.ceil(down.window / self.sync - 1e-9).astype(np.int64)
        self._cached = cached = _Derived(
            key=key,
            all_utilization=bool(self.utilization.all()),
            no_utilization=not self.utilization.any(),
            up_ticks=up_ticks,
            down_ticks=down_ticks,
            up_back=np.maximum(up_ticks, 1) - 1,
            down_back=np.maximum(down_ticks, 1) - 1,
            up_window=float(up.window.max(initial=0.0)),
            down_window=float(down.window.max(initial=0.0)),
            period_max=float(periods.max()),
            whole=float(self.sync).is_integer() and bool((np.mod(windows, 1.0) == 0).all()),
            bounded=bool((self.max < _INT32_MAX).all() and (self.min > _INT32_MIN).all()),
        )
        return cached

    # -- 1. the replica calculator ----------------------------------------------------------
    def _ratio(
        self, usage: IntArray, pods: IntArray, request: IntArray, derived: _Derived
    ) -> FloatArray:
        """Usage ratio over ``pods`` pods using ``usage`` in total (integer maths as k8s)."""
        if derived.all_utilization:
            current = usage * 100 // np.maximum(pods * request, 1)
        elif derived.no_utilization:
            current = usage // np.maximum(pods, 1)
        else:
            utilisation = usage * 100 // np.maximum(pods * request, 1)
            average = usage // np.maximum(pods, 1)
            current = np.where(self.utilization, utilisation, average)
        result: FloatArray = current / self.target
        return result

    def _plain(self, current: IntArray, ready: IntArray, ratio: FloatArray) -> IntArray:
        """``ceil(ratio x ready)``, or ``current`` within the tolerance."""
        result: IntArray = np.where(
            np.abs(1.0 - ratio) <= self.tolerance,
            current,
            np.ceil(ratio * ready).astype(np.int64),
        )
        return result

    def _tempered(
        self,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
        ratio: FloatArray,
        derived: _Derived,
    ) -> IntArray:
        """The recommendation once unready and missing pods are counted (see the module
        docstring); it keeps ``current`` if they reverse the direction."""
        # missing pods: 100 % of the request (at least the target) down, 0 % up
        fallback = np.where(
            self.utilization,
            request * np.maximum(100, self.target) // 100,
            self.target,
        )
        extra_usage = np.where(ratio < 1.0, missing * fallback, 0)
        counted = ready + missing + np.where((unready > 0) & (ratio > 1.0), unready, 0)
        new_ratio = self._ratio(usage + extra_usage, counted, request, derived)
        reverses = ((ratio < 1.0) & (new_ratio > 1.0)) | ((ratio > 1.0) & (new_ratio < 1.0))
        new = np.ceil(new_ratio * counted).astype(np.int64)
        keep = (
            (np.abs(1.0 - new_ratio) <= self.tolerance)
            | reverses
            | ((new_ratio < 1.0) & (new > current))
            | ((new_ratio > 1.0) & (new < current))
        )
        result: IntArray = np.where(keep, current, new)
        return result

    def _tempered_up(
        self,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        usage: IntArray,
        request: IntArray,
        derived: _Derived,
    ) -> IntArray:
        """:meth:`_tempered` where it applies with no pod missing: a scale-up (ratio above
        1) with unready pods, which count as using nothing (its value elsewhere is not
        that)."""
        counted = ready + unready
        new_ratio = self._ratio(usage, counted, request, derived)
        new = np.ceil(new_ratio * counted).astype(np.int64)
        keep = (
            (np.abs(1.0 - new_ratio) <= self.tolerance)
            | (new_ratio < 1.0)  # reversed
            | ((new_ratio > 1.0) & (new < current))
        )
        result: IntArray = np.where(keep, current, new)
        return result

    def calculate(
        self,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
        derived: _Derived,
    ) -> tuple[IntArray, BoolArray]:
        """Raw desired replicas (J, H) from the metrics, and which HPAs had metrics at all.

        ``ready``, ``unready`` and ``usage`` (CPU used by the ready pods together, in
        millicores) per sync and HPA (J, H), the rest per HPA (H,); ``request``: one pod's
        CPU request. The correction for unready and missing pods is worked out only on the
        syncs that have such pods."""
        has = ready > 0
        ratio = self._ratio(usage, ready, request, derived)
        desired = self._plain(current, ready, ratio)
        tempered = (unready > 0) & (ratio > 1.0)
        if missing.any():
            adjusted = self._tempered(
                current, ready, unready, missing, usage, request, ratio, derived
            )
            desired = np.where(tempered | (missing != 0), adjusted, desired)
        elif tempered.any():
            rows = np.flatnonzero(tempered.any(axis=1))
            adjusted = self._tempered_up(
                current, ready[rows], unready[rows], usage[rows], request, derived
            )
            desired[rows] = np.where(tempered[rows], adjusted, desired[rows])
        if has.all():  # every HPA had metrics at every sync
            return desired, has
        result: IntArray = np.where(has, desired, current)
        return result, has

    # -- 2. stabilisation -------------------------------------------------------------------
    def _stabilise(
        self,
        times: FloatArray,
        current: IntArray,
        desired: IntArray,
        sequence: bool,
        derived: _Derived,
    ) -> IntArray:
        """(J, H) stabilised recommendations at ``times`` for raw ``desired`` (J, H): the
        recorded recommendations in each window, plus (``sequence``) the raw ones of the
        earlier ticks of ``times``, which are not recorded yet."""
        up_w, down_w = self.up.window, self.down.window
        up = np.minimum(
            desired, self._recorded(times, up_w, derived.up_window, _INT32_MAX, np.minimum)
        )
        down = np.maximum(
            desired, self._recorded(times, down_w, derived.down_window, _INT32_MIN, np.maximum)
        )
        if sequence and len(times) > 1:  # times are one sync apart
            up = _sliding(up, desired, derived.up_ticks, _INT32_MAX, np.minimum)
            down = _sliding(down, desired, derived.down_ticks, _INT32_MIN, np.maximum)
        result: IntArray = np.minimum(np.maximum(current[None, :], up), down)
        return result

    def _recorded(
        self, times: FloatArray, window: FloatArray, longest: float, fill: int, op: Any
    ) -> IntArray | int:
        """(J, H) ``op``-reduction (minimum or maximum) of the recorded recommendations
        inside each HPA's ``window`` (the longest: ``longest``) at each of ``times``
        (ascending); just ``fill`` when none is. A record stays inside for the ticks before
        ``its time + window``, so each one is put at the first tick it has left and a
        reverse cumulative reduction gives every tick at once."""
        leaves = self._leaves(times, window, longest)
        if leaves is None:
            return fill
        by_tick = np.full((len(times) + 1, len(self)), fill, dtype=np.int64)
        op.at(by_tick, (leaves.ravel(), self._rec_rows), self.rec_value.ravel())
        result: IntArray = op.accumulate(by_tick[::-1], axis=0)[::-1][1:]
        return result

    def _record(self, rows: IntArray, time: float, values: IntArray) -> None:
        if not len(rows):
            return
        slot = np.argmin(self.rec_time[rows], axis=1)
        self.rec_time[rows, slot] = time
        self.rec_value[rows, slot] = values
        self.rec_newest = max(self.rec_newest, time)

    # -- 3. rate limits -----------------------------------------------------------------
    def _limit(self, rules: _Rules, times: FloatArray, current: IntArray, up: bool) -> IntArray:
        """(J, H) the furthest each HPA's policies let it go at each of ``times``."""
        added = self.up_events.within(times, rules.period)
        deleted = self.down_events.within(times, rules.period)
        start = current[None, :, None] - added + deleted  # replicas at each period's start
        value = rules.value[None, :, :]
        kind = rules.kind[None, :, :]
        if up:
            proposed = np.where(
                kind == _PODS, start + value, np.ceil(start * (1 + value / 100)).astype(np.int64)
            )
        else:
            proposed = np.where(
                kind == _PODS, start - value, (start * (1 - value / 100)).astype(np.int64)
            )
        valid = kind >= 0
        high = np.where(valid, proposed, _INT32_MIN).max(axis=2)
        low = np.where(valid, proposed, _INT32_MAX).min(axis=2)
        most = high if up else low  # the largest change
        least = low if up else high
        result: IntArray = np.where(
            rules.select == _SELECT["Disabled"],
            current[None, :],
            np.where(rules.select == _SELECT["Min"], least, most),
        )
        return result

    def _allowed(self, times: FloatArray, current: IntArray) -> tuple[IntArray, IntArray]:
        """(J or 1, H) the most and the fewest replicas the policies and min/max allow."""
        up_limit = np.maximum(self._limit(self.up, times, current, True), current)
        allowed_max = np.minimum(self.max, up_limit)
        down_limit = np.minimum(self._limit(self.down, times, current, False), current)
        allowed_min = np.maximum(self.min, down_limit)
        return allowed_max, allowed_min

    def _limits(
        self, times: FloatArray, current: IntArray, derived: _Derived
    ) -> tuple[IntArray, IntArray]:
        """(J or 1, H) the most and the fewest replicas the policies and min/max allow at
        each of ``times`` (one row when no scale event counts at any: the same for all)."""
        newest = max(self.up_events.newest, self.down_events.newest)
        if newest > times.min() - derived.period_max:
            return self._allowed(times, current)
        key = current.tobytes() + current.dtype.char.encode()
        found = derived.limits.get(key)
        if found is None:  # remembered per replica vector
            if len(derived.limits) >= _LIMIT_CACHE:
                derived.limits.clear()
            found = derived.limits[key] = self._allowed(times[:1], current)
        return found

    def _rate_limit(
        self, times: FloatArray, current: IntArray, desired: IntArray, derived: _Derived
    ) -> IntArray:
        """(J, H) ``desired`` within the policies' limits and min/max replicas (HPAs whose
        replicas are already within min/max: the others are brought in range apart)."""
        allowed_max, allowed_min = self._limits(times, current, derived)
        # allowed_min <= current <= allowed_max: a scale-up is capped, a scale-down floored
        result: IntArray = np.minimum(np.maximum(desired, allowed_min), allowed_max)
        return result

    # -- one sync, and the syncs ahead ----------------------------------------------------
    def step(
        self,
        now: float,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
    ) -> IntArray:
        """One sync of every HPA at ``now`` (arrays per HPA); returns the new replicas."""
        derived = self._derived()
        low, high = self.min, self.max
        # out-of-range replicas are brought into range first, without a recommendation
        fixed = (current > high) | (current < low)
        raw, has = self.calculate(
            current, ready[None, :], unready[None, :], missing, usage[None, :], request, derived
        )
        desired_raw = raw[0]
        active = ~fixed & has[0]
        times = np.array([now])
        stable = self._stabilise(times, current, raw, False, derived)
        self._record(active.nonzero()[0], now, desired_raw[active])
        final = self._rate_limit(times, current, stable, derived)[0]
        out: IntArray = np.where(active, final, current)
        if fixed.any():
            out = np.where(fixed, np.clip(current, low, high), out)
        self._store(now, current, out)
        return out

    def _store(self, now: float, current: IntArray, out: IntArray) -> None:
        """Remember the scale events of a sync at ``now`` (the rate limits count them)."""
        grow = (out > current).nonzero()[0]
        shrink = (out < current).nonzero()[0]
        if len(grow):
            self.up_events.store(grow, now, out[grow] - current[grow])
        if len(shrink):
            self.down_events.store(shrink, now, current[shrink] - out[shrink])

    def forecast(
        self,
        times: FloatArray,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
    ) -> Forecast:
        """The syncs at ``times`` (J,), with ``ready``, ``unready`` and ``usage`` given per
        sync (J, H) and the rest fixed: the first one that would change some HPA's replicas
        (J: none). Nothing is recorded; :meth:`commit` records the syncs that did happen."""
        derived = self._derived()
        raw, has = self.calculate(current, ready, unready, missing, usage, request, derived)
        if ((current > self.max) | (current < self.min)).any():
            return Forecast(times, raw, has, 0)
        allowed_max, allowed_min = self._limits(times, current, derived)
        if derived.bounded:
            change, final_at = self._changes(times, current, raw, allowed_max, allowed_min, derived)
        else:  # the windows' fill values are not neutral: stabilise by value
            stable = self._stabilise(times, current, raw, True, derived)
            final = np.minimum(np.maximum(stable, allowed_min), allowed_max)
            change = (final != current) & has

            def final_at(j: int) -> IntArray:
                row: IntArray = final[j]
                return row

        flat = change.ravel()
        hit = int(flat.argmax())
        if not flat[hit]:
            return Forecast(times, raw, has, len(times))
        first = hit // change.shape[1]
        # Stepping sync ``first`` after committing the ones before gives these replicas
        # when the window holds what the forecast put there: every sync before had metrics
        # (a sync without is recorded as nothing, forecast as the current replicas) and
        # times and windows are whole seconds (a window holds the same syncs either way).
        if not (derived.whole and float(times[0]).is_integer() and has[:first].all()):
            return Forecast(times, raw, has, first)
        return Forecast(times, raw, has, first, final_at(first))

    def _changes(
        self,
        times: FloatArray,
        current: IntArray,
        raw: IntArray,
        allowed_max: IntArray,
        allowed_min: IntArray,
        derived: _Derived,
    ) -> tuple[BoolArray, Callable[[int], IntArray]]:
        """(J, H) which syncs would change an HPA's replicas, and the replicas at a sync
        (worked out for the one asked about only).

        A sync scales an HPA up when its stabilised recommendation, the least in the
        scale-up window, is above the replicas and the policies allow more: when every raw
        recommendation in the window and every recorded one still inside is above. It
        scales down when every one in the scale-down window is below and they allow fewer.
        (Without metrics the raw recommendation is the replicas: neither.)"""
        rows = np.arange(len(times))[:, None]
        up_leaves = self._leaves(times, self.up.window, derived.up_window)
        down_leaves = self._leaves(times, self.down.window, derived.down_window)
        up = self._beyond(rows, raw, current, derived.up_back, up_leaves, True)
        down = self._beyond(rows, raw, current, derived.down_back, down_leaves, False)
        change = np.zeros(raw.shape, dtype=np.bool_)
        if up is not None:
            change |= up & (allowed_max > current)
        if down is not None:
            change |= down & (allowed_min < current)

        def final_at(j: int) -> IntArray:
            final = current
            at = j if len(allowed_max) > 1 else 0  # the limits at sync ``j``
            if down is not None:
                low = self._extreme(raw, j, derived.down_back, down_leaves, _INT32_MIN, np.maximum)
                final = np.where(down[j], np.maximum(low, allowed_min[at]), final)
            if up is not None:
                high = self._extreme(raw, j, derived.up_back, up_leaves, _INT32_MAX, np.minimum)
                final = np.where(up[j], np.minimum(high, allowed_max[at]), final)
            return final

        return change, final_at

    def _leaves(self, times: FloatArray, window: FloatArray, longest: float) -> IntArray | None:
        """(H, R) for each recorded recommendation, the first of ``times`` it is no longer
        inside its HPA's ``window`` (the longest: ``longest``) at; None when every one has
        left before the first."""
        first = times[0]
        if self.rec_newest + longest <= first:
            return None
        ends = self.rec_time + window[:, None]
        if not (ends > first).any():
            return None
        leaves: IntArray = times.searchsorted(ends.ravel(), side="left").reshape(ends.shape)
        return leaves

    def _beyond(
        self,
        rows: IntArray,
        raw: IntArray,
        current: IntArray,
        back: IntArray,
        leaves: IntArray | None,
        up: bool,
    ) -> BoolArray | None:
        """(J, H) whether every raw recommendation in the window (``back`` syncs before
        each and itself) and every recorded one still inside is above (``up``) or below the
        replicas; None: at no sync (no raw one is)."""
        beyond = raw > current if up else raw < current
        if not beyond.any():
            return None
        if back.any():
            last = np.maximum.accumulate(np.where(beyond, -1, rows), axis=0)  # last not beyond
            result: BoolArray = (last < 0) | (last + back < rows)  # (clipped at the start)
        else:  # no window: the sync's own
            result = beyond
        if leaves is not None:  # the recorded ones not beyond hold it until they leave
            holding = (
                self.rec_value <= current[:, None] if up else self.rec_value >= current[:, None]
            )
            result &= rows >= np.where(holding, leaves, 0).max(axis=1)
        return result

    def _extreme(
        self,
        raw: IntArray,
        j: int,
        back: IntArray,
        leaves: IntArray | None,
        fill: int,
        op: Any,
    ) -> IntArray:
        """(H,) the ``op``-reduction at sync ``j`` of the raw recommendations in the window
        (``back`` syncs before and itself), the recorded ones still inside and ``fill``:
        the stabilised recommendation of one direction."""
        first = np.maximum(j - back, 0)
        if (first == first[0]).all():
            value = op.reduce(raw[int(first[0]) : j + 1], axis=0)
        else:
            inside = np.arange(j + 1)[:, None] >= first[None, :]
            value = op.reduce(np.where(inside, raw[: j + 1], fill), axis=0)
        value = op(value, fill)
        if leaves is not None:
            value = op(value, op.reduce(np.where(leaves > j, self.rec_value, fill), axis=1))
        result: IntArray = value
        return result

    def apply(self, forecast: Forecast, current: IntArray) -> IntArray:
        """Sync ``forecast.first`` as :meth:`step` would with the inputs the forecast had for
        it (the caller makes sure they are still those, and committed the syncs before):
        its recommendations recorded, its scale events stored; returns the new replicas."""
        final = forecast.final
        assert final is not None
        j = forecast.first
        now = float(forecast.times[j])
        active = forecast.active[j]
        self._record(active.nonzero()[0], now, forecast.raw[j][active])
        out: IntArray = np.where(active, final, current)
        self._store(now, current, out)
        return out

    def commit(self, forecast: Forecast, before: float) -> None:
        """Record the recommendations of the forecast syncs that happened before ``before``
        (only the latest ones can still be inside a window)."""
        done = int(forecast.times.searchsorted(before - 1e-9))
        start = max(0, done - (self.rec_time.shape[1] - 1))
        if done <= start:
            return
        times = np.where(forecast.active[start:done].T, forecast.times[start:done], -np.inf)
        slots = self.rec_time.argsort(axis=1, kind="stable")[:, : done - start]
        rows = np.arange(len(self))[:, None]
        self.rec_time[rows, slots] = times  # the oldest slots take the newest syncs
        self.rec_value[rows, slots] = forecast.raw[start:done].T
        self.rec_newest = max(self.rec_newest, float(forecast.times[done - 1]))


def _sliding(base: IntArray, values: IntArray, ticks: IntArray, fill: int, op: Any) -> IntArray:
    """``base`` (J, H) reduced by ``op`` with the ``op``-reduction of ``values`` over each
    tick and the earlier ticks inside the window (``ticks[h]`` ticks: ``k`` syncs back is
    inside when ``k x sync < window``), ``fill`` standing in for the ticks before the
    first; per distinct window length."""
    widths = sorted(set(ticks.tolist()))
    if len(widths) == 1:  # one window length for every HPA
        width = widths[0]
        span = fill if width <= 0 else _window(values, width, fill, op)
        whole: IntArray = op(base, span)
        return whole
    result = base.copy()
    for width in widths:
        cols = np.flatnonzero(ticks == width)
        part = fill if width <= 0 else _window(values[:, cols], width, fill, op)
        result[:, cols] = op(base[:, cols], part)
    return result


def _window(values: IntArray, width: int, fill: int, op: Any) -> IntArray:
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


@dataclass(frozen=True)
class Forecast:
    """Syncs ahead: their times, raw recommendations (J, H), HPAs with metrics, and the
    index of the first sync that changes replicas (``len(times)``: none)."""

    times: FloatArray
    raw: IntArray
    active: BoolArray  # (J, H)
    first: int
    #: The replicas of sync ``first`` when :meth:`Autoscalers.apply` may use them.
    final: IntArray | None = None
