"""Every HPA of a run as arrays: one sync (calculate, stabilise, rate-limit), the syncs ahead
(forecast), and the histories both read (recommendations, scale events)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import fields

import numpy as np

from cloudsim.compiled import check, chosen
from cloudsim.containers.hpa import kernels
from cloudsim.containers.hpa.calculator import ReplicaCalculator
from cloudsim.containers.hpa.forecast import Forecast, changes
from cloudsim.containers.hpa.limits import RateLimits
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
from cloudsim.scenario.containers import HPA


class Autoscalers:
    """Every HPA of a run: specs as arrays, recommendation and scale-event histories.

    Each sync and forecast costs a few dozen array operations whatever the number of HPAs
    and syncs ahead: what the spec and rule arrays imply is derived once (they are
    read-only), scale limits are remembered per replica vector while no scale
    event counts, and histories that cannot reach the syncs asked about are skipped. With
    numba (``kernel`` "auto" or "numba") a forecast is one compiled pass instead
    (:mod:`.kernels`), identical in its results."""

    def __init__(
        self, specs: Sequence[HPA], sync_period: float = 15.0, kernel: str = "auto"
    ) -> None:
        check(kernel, "HPA kernel")
        self.specs = list(specs)
        n = len(self.specs)
        self.min = np.array([s.min_replicas for s in specs], dtype=np.int64)
        self.max = np.array([s.max_replicas for s in specs], dtype=np.int64)
        self.calculator = ReplicaCalculator(
            np.array([s.target_utilization is not None for s in specs]),
            np.array(
                [s.target_utilization or s.target_average_value or 1 for s in specs],
                dtype=np.int64,
            ),
            np.array([s.tolerance for s in specs], dtype=np.float64),
        )
        self.sync = sync_period
        self.up = Rules.of([s.scale_up for s in specs])
        self.down = Rules.of([s.scale_down for s in specs])
        shortest = sync_period
        windows = np.concatenate([self.up.window, self.down.window, [0.0]])
        periods = np.concatenate([self.up.period.ravel(), self.down.period.ravel(), [0.0]])
        self.history = Recommendations(n, 2 + math.ceil(float(windows.max()) / shortest))
        slots = 2 + math.ceil(float(periods.max()) / shortest)
        self.limits = RateLimits(self.up, self.down, self.min, self.max, slots)
        self._cached: Derived | None = None
        for array in (
            self.min,
            self.max,
            self.calculator.utilization,
            self.calculator.target,
            self.calculator.tolerance,
            *(getattr(r, f.name) for r in (self.up, self.down) for f in fields(r)),
        ):
            array.setflags(write=False)  # what they imply is derived once
        self._pass: Callable[..., tuple[int, bool]] | None = None
        self._apply: Callable[..., int] | None = None
        self._commit: Callable[..., bool] | None = None
        self._raw_rows: Callable[..., None] | None = None
        if chosen(kernel):
            compiled = kernels.kernels()
            self._pass = compiled["forecast_pass"]
            self._apply = compiled["apply_pass"]
            self._commit = compiled["commit_pass"]
            self._raw_rows = compiled["raw_rows"]

    @property
    def kernel(self) -> str:
        """Which path forecasts: "numba" (one compiled pass) or "numpy"."""
        return "numpy" if self._pass is None else "numba"

    def __len__(self) -> int:
        return len(self.specs)

    def _derived(self) -> Derived:
        """The constants of the arrays above (read-only: worked out once, again only if
        the sync period is changed)."""
        cached = self._cached
        if cached is not None and cached.sync == self.sync:
            return cached
        up, down = self.up, self.down
        periods = np.concatenate([up.period.ravel(), down.period.ravel(), [0.0]])
        windows = np.concatenate([up.window, down.window])
        up_ticks = np.ceil(up.window / self.sync - 1e-9).astype(np.int64)
        down_ticks = np.ceil(down.window / self.sync - 1e-9).astype(np.int64)
        up_back, down_back = np.maximum(up_ticks, 1) - 1, np.maximum(down_ticks, 1) - 1
        self._cached = cached = Derived(
            sync=float(self.sync),
            all_utilization=bool(self.calculator.utilization.all()),
            no_utilization=not self.calculator.utilization.any(),
            up_ticks=up_ticks,
            down_ticks=down_ticks,
            up_back=up_back,
            down_back=down_back,
            back=np.stack([up_back, down_back]),
            windows=np.stack([up.window, down.window]).astype(np.float64),
            up_window=float(up.window.max(initial=0.0)),
            down_window=float(down.window.max(initial=0.0)),
            period_max=float(periods.max()),
            whole=float(self.sync).is_integer() and bool((np.mod(windows, 1.0) == 0).all()),
            bounded=bool((self.max < INT32_MAX).all() and (self.min > INT32_MIN).all()),
        )
        return cached

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
        raw, has = self.calculator.calculate(
            current, ready[None, :], unready[None, :], missing, usage[None, :], request, derived
        )
        desired_raw = raw[0]
        active = ~fixed & has[0]
        times = np.array([now])
        stable = self.history.stabilise(times, current, raw, False, self.up, self.down, derived)
        self.history.record(active.nonzero()[0], now, desired_raw[active])
        final = self.limits.clamp(times, current, stable, derived)[0]
        out: IntArray = np.where(active, final, current)
        if fixed.any():
            out = np.where(fixed, np.clip(current, low, high), out)
        self.limits.store(now, current, out)
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
        derived = self._derived()
        if self._pass is not None and derived.bounded:
            return self._compiled(times, current, ready, unready, missing, usage, request)
        raw, has = self.calculator.calculate(
            current, ready, unready, missing, usage, request, derived
        )
        if ((current > self.max) | (current < self.min)).any():
            return Forecast(times, raw, has, 0)
        allowed_max, allowed_min = self.limits.allowed(times, current, derived)
        change: BoolArray | None
        if derived.bounded:
            change, final_at = changes(
                times,
                current,
                raw,
                allowed_max,
                allowed_min,
                derived,
                self.history,
                self.up,
                self.down,
            )
        else:  # the windows' fill values are not neutral: stabilise by value
            stable = self.history.stabilise(times, current, raw, True, self.up, self.down, derived)
            final = np.minimum(np.maximum(stable, allowed_min), allowed_max)
            change = (final != current) & has

            def final_at(j: int) -> IntArray:
                row: IntArray = final[j]
                return row

        if change is None:  # no raw recommendation leaves the replicas
            return Forecast(times, raw, has, len(times))
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

    def _compiled(
        self,
        times: FloatArray,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
    ) -> Forecast:
        """:meth:`forecast` by :func:`.kernels.forecast_pass` (windows' fills neutral)."""
        assert self._pass is not None
        derived = self._derived()
        calculator, history = self.calculator, self.history
        allowed_max, allowed_min = self.limits.allowed(times, current, derived)
        raw = np.empty(usage.shape, dtype=np.int64)
        final = np.empty(len(current), dtype=np.int64)
        first, metrics = self._pass(
            times,
            current,
            ready,
            unready,
            missing,
            usage,
            request,
            calculator.utilization,
            calculator.target,
            calculator.tolerance,
            self.min,
            self.max,
            derived.back,
            derived.windows,
            history.time,
            history.value,
            allowed_max,
            allowed_min,
            raw,
            final,
        )
        has: BoolArray = ready > 0
        count = len(times)
        filled = [min(max(first + 1, 1), count)]  # rows of ``raw`` worked out
        fill = self._raw_rows
        assert fill is not None

        def pending(upto: int) -> None:
            if upto > filled[0]:
                fill(
                    filled[0],
                    upto,
                    current,
                    ready,
                    unready,
                    missing,
                    usage,
                    request,
                    calculator.utilization,
                    calculator.target,
                    calculator.tolerance,
                    raw,
                )
                filled[0] = upto

        if first < 0:  # replicas out of range: brought into range at the first sync
            return Forecast(times, raw, has, 0, None, pending)
        if first == count or not (derived.whole and float(times[0]).is_integer() and metrics):
            return Forecast(times, raw, has, first, None, pending)
        return Forecast(times, raw, has, first, final, pending)

    def apply(self, forecast: Forecast, current: IntArray) -> IntArray:
        """Sync ``forecast.first`` as :meth:`step` would with the inputs the forecast had for
        it (the caller makes sure they are still those): the syncs before it committed
        (:meth:`commit`), its recommendations recorded, its scale events stored; returns
        the new replicas."""
        final = forecast.final
        assert final is not None
        j = forecast.first
        now = float(forecast.times[j])
        if self._apply is not None:
            return self._apply_compiled(forecast, current, final)
        self.commit(forecast, now)
        active = forecast.active[j]
        self.history.record(active.nonzero()[0], now, forecast.raw[j][active])
        out: IntArray = np.where(active, final, current)
        self.limits.store(now, current, out)
        return out

    def _apply_compiled(self, forecast: Forecast, current: IntArray, final: IntArray) -> IntArray:
        """:meth:`apply` by :func:`.kernels.apply_pass` (which commits the syncs before)."""
        assert self._apply is not None
        history, up, down = self.history, self.limits.up_events, self.limits.down_events
        times, j = forecast.times, forecast.first
        out = np.empty(len(current), dtype=np.int64)
        took = self._apply(
            times,
            j,
            current,
            forecast.active,
            forecast.raw_rows(j + 1),
            final,
            history.time,
            history.value,
            up.time,
            up.change,
            down.time,
            down.change,
            out,
        )
        if took:
            now = float(times[j])
            if took & 8:
                history.newest = max(history.newest, float(times[j - 1]))
            if took & 1:
                history.newest = max(history.newest, now)
            if took & 2:
                up.newest = max(up.newest, now)
            if took & 4:
                down.newest = max(down.newest, now)
        return out

    def commit(self, forecast: Forecast, before: float) -> None:
        """Record the recommendations of the forecast syncs that happened before ``before``
        (only the latest ones can still be inside a window)."""
        history = self.history
        if self._commit is None:
            raw = forecast.raw_rows(len(forecast.times))
            history.commit(forecast.times, forecast.active, raw, before)
            return
        times = forecast.times
        done = int(times.searchsorted(before - 1e-9))
        raw = forecast.raw_rows(done)
        if self._commit(times, forecast.active, raw, done, history.time, history.value):
            history.newest = max(history.newest, float(times[done - 1]))
