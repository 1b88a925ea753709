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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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


class Autoscalers:
    """Every HPA of a run: specs as arrays, recommendation and scale-event histories."""

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
        slots = 2 + math.ceil(float(periods.max()) / shortest)
        self.up_events = _Events(n, slots)
        self.down_events = _Events(n, slots)

    def __len__(self) -> int:
        return len(self.specs)

    # -- 1. the replica calculator ----------------------------------------------------------
    def _ratio(self, usage: IntArray, pods: IntArray, request: IntArray) -> FloatArray:
        """Usage ratio over ``pods`` pods using ``usage`` in total (integer maths as k8s)."""
        pods_nz = np.maximum(pods, 1)
        requests = np.maximum(pods * request, 1)
        utilisation = usage * 100 // requests
        average = usage // pods_nz
        current = np.where(self.utilization, utilisation, average)
        result: FloatArray = current / self.target
        return result

    def calculate(
        self,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
    ) -> tuple[IntArray, BoolArray]:
        """Raw desired replicas from the metrics, and which HPAs had metrics at all.

        ``usage``: CPU (millicores) used by the ready pods together; ``request``: one pod's
        CPU request."""
        has = ready > 0
        ratio = self._ratio(usage, ready, request)
        tol = self.tolerance
        simple = ~((unready > 0) & (ratio > 1.0)) & (missing == 0)
        plain = np.where(
            np.abs(1.0 - ratio) <= tol, current, np.ceil(ratio * ready).astype(np.int64)
        )
        # missing pods: 100 % of the request (at least the target) down, 0 % up
        fallback = np.where(
            self.utilization,
            request * np.maximum(100, self.target) // 100,
            self.target,
        )
        extra_usage = np.where(ratio < 1.0, missing * fallback, 0)
        counted = ready + missing + np.where((unready > 0) & (ratio > 1.0), unready, 0)
        new_ratio = self._ratio(usage + extra_usage, counted, request)
        reverses = ((ratio < 1.0) & (new_ratio > 1.0)) | ((ratio > 1.0) & (new_ratio < 1.0))
        new = np.ceil(new_ratio * counted).astype(np.int64)
        keep = (
            (np.abs(1.0 - new_ratio) <= tol)
            | reverses
            | ((new_ratio < 1.0) & (new > current))
            | ((new_ratio > 1.0) & (new < current))
        )
        adjusted = np.where(keep, current, new)
        desired = np.where(simple, plain, adjusted)
        return np.where(has, desired, current), has

    # -- 2. stabilisation -------------------------------------------------------------------
    def _stabilise(
        self, times: FloatArray, current: IntArray, desired: IntArray, sequence: bool
    ) -> IntArray:
        """(J, H) stabilised recommendations at ``times`` for raw ``desired`` (J, H): the
        recorded recommendations in each window, plus (``sequence``) the raw ones of the
        earlier ticks of ``times``, which are not recorded yet."""
        up_w, down_w = self.up.window, self.down.window
        up = np.minimum(desired, self._recorded(times, up_w, _INT32_MAX, np.minimum))
        down = np.maximum(desired, self._recorded(times, down_w, _INT32_MIN, np.maximum))
        if sequence and len(times) > 1:  # times are one sync apart
            up = np.minimum(up, self._sliding(desired, up_w, _INT32_MAX, np.minimum))
            down = np.maximum(down, self._sliding(desired, down_w, _INT32_MIN, np.maximum))
        result: IntArray = np.minimum(np.maximum(current[None, :], up), down)
        return result

    def _recorded(self, times: FloatArray, window: FloatArray, fill: int, op: Any) -> IntArray:
        """(J, H) ``op``-reduction (minimum or maximum) of the recorded recommendations
        inside each HPA's ``window`` at each of ``times`` (ascending). A record stays inside
        for the ticks before ``its time + window``, so each one is put at the first tick it
        has left and a reverse cumulative reduction gives every tick at once."""
        h = len(self)
        leaves = np.searchsorted(times, (self.rec_time + window[:, None]).ravel(), side="left")
        by_tick = np.full((len(times) + 1, h), fill, dtype=np.int64)
        op.at(
            by_tick,
            (leaves, np.repeat(np.arange(h), self.rec_time.shape[1])),
            self.rec_value.ravel(),
        )
        result: IntArray = op.accumulate(by_tick[::-1], axis=0)[::-1][1:]
        return result

    def _sliding(self, values: IntArray, window: FloatArray, fill: int, op: Any) -> IntArray:
        """(J, H) ``op``-reduction of ``values`` over each tick and the earlier ticks inside
        ``window`` seconds (``k`` syncs back is inside when ``k x sync < window``), by
        doubling: log2(window) passes, per distinct window length."""
        ticks = np.ceil(window / self.sync - 1e-9).astype(np.int64)  # (H,) ticks inside
        result = np.full(values.shape, fill, dtype=np.int64)
        for width in np.unique(ticks).tolist():
            if width <= 0:
                continue
            cols = np.flatnonzero(ticks == width)
            span = values[:, cols]
            covered = 1
            while covered * 2 <= width:  # span[j] = op over the `covered` ticks up to j
                span = op(span, _shifted(span, covered, fill))
                covered *= 2
            if covered < width:  # two overlapping runs cover exactly `width` ticks
                span = op(span, _shifted(span, width - covered, fill))
            result[:, cols] = span
        return result

    def _record(self, rows: IntArray, time: float, values: IntArray) -> None:
        if not len(rows):
            return
        slot = np.argmin(self.rec_time[rows], axis=1)
        self.rec_time[rows, slot] = time
        self.rec_value[rows, slot] = values

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

    def _rate_limit(self, times: FloatArray, current: IntArray, desired: IntArray) -> IntArray:
        """(J, H) ``desired`` within the policies' limits and min/max replicas."""
        periods = np.concatenate([self.up.period.ravel(), self.down.period.ravel(), [0.0]])
        newest = max(
            self.up_events.time.max(initial=-np.inf), self.down_events.time.max(initial=-np.inf)
        )
        if newest <= times.min() - periods.max():  # no event counts at any tick: one row
            times = times[:1]
        up_limit = np.maximum(self._limit(self.up, times, current, True), current)
        allowed_max = np.minimum(self.max, up_limit)
        down_limit = np.minimum(self._limit(self.down, times, current, False), current)
        allowed_min = np.maximum(self.min, down_limit)
        result: IntArray = np.where(
            desired > current,
            np.minimum(desired, allowed_max),
            np.where(desired < current, np.maximum(desired, allowed_min), desired),
        )
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
        low, high = self.min, self.max
        # out-of-range replicas are brought into range first, without a recommendation
        fixed = (current > high) | (current < low)
        desired_raw, has = self.calculate(current, ready, unready, missing, usage, request)
        active = ~fixed & has
        times = np.array([now])
        stable = self._stabilise(times, current, desired_raw[None, :], sequence=False)
        self._record(np.flatnonzero(active), now, desired_raw[active])
        final = self._rate_limit(times, current, stable)[0]
        out: IntArray = np.where(
            fixed, np.clip(current, low, high), np.where(active, final, current)
        )
        grow = np.flatnonzero(out > current)
        shrink = np.flatnonzero(out < current)
        if len(grow):
            self.up_events.store(grow, now, out[grow] - current[grow])
        if len(shrink):
            self.down_events.store(shrink, now, current[shrink] - out[shrink])
        return out

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
        raw, has = self.calculate(
            current[None, :], ready, unready, missing[None, :], usage, request[None, :]
        )
        active = np.broadcast_to(has, raw.shape)
        fixed = (current > self.max) | (current < self.min)
        if fixed.any():
            return Forecast(times, raw, active, 0)
        # the window sees only the syncs that had metrics
        stable = self._stabilise(times, current, np.where(active, raw, current), sequence=True)
        final = self._rate_limit(times, current, stable)
        change = (final != current[None, :]) & active
        hits = np.flatnonzero(change.any(axis=1))
        return Forecast(times, raw, active, int(hits[0]) if len(hits) else len(times))

    def commit(self, forecast: Forecast, before: float) -> None:
        """Record the recommendations of the forecast syncs that happened before ``before``
        (only the latest ones can still be inside a window)."""
        done = int(np.searchsorted(forecast.times, before - 1e-9))
        start = max(0, done - (self.rec_time.shape[1] - 1))
        if done <= start:
            return
        times = np.where(forecast.active[start:done].T, forecast.times[start:done], -np.inf)
        slots = np.argsort(self.rec_time, axis=1, kind="stable")[:, : done - start]
        rows = np.arange(len(self))[:, None]
        self.rec_time[rows, slots] = times  # the oldest slots take the newest syncs
        self.rec_value[rows, slots] = forecast.raw[start:done].T


def _shifted(values: IntArray, by: int, fill: int) -> IntArray:
    """``values`` moved ``by`` rows down (row j holds row j - by), ``fill`` above."""
    out = np.full_like(values, fill)
    if by < len(values):
        out[by:] = values[: len(values) - by]
    return out


@dataclass(frozen=True)
class Forecast:
    """Syncs ahead: their times, raw recommendations (J, H), HPAs with metrics, and the
    index of the first sync that changes replicas (``len(times)``: none)."""

    times: FloatArray
    raw: IntArray
    active: BoolArray  # (J, H)
    first: int
