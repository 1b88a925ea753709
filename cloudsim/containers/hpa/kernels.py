"""The forecast and its inputs as compiled passes (optional: ``pip install cloudsim[fast]``).

:func:`forecast_pass` does what :meth:`Autoscalers.forecast` does with numpy when the
windows' fills are neutral (min and max replicas inside int32): the raw recommendation of
every sync ahead (:class:`~cloudsim.containers.hpa.calculator.ReplicaCalculator`), then the
window checks of :func:`~cloudsim.containers.hpa.forecast.changes` with running indices,
sync by sync, stopping the checks at the first sync that changes some HPA's replicas, and
that sync's replicas (``final_at``). The numpy path stays the reference: the same integer
and floating-point operations in the same order (no fast-math), and a property test checks
that both give identical forecasts.

:func:`inputs_pass` reads the inputs of the syncs ahead the same way (the usual case of
``HorizontalPodAutoscaling._group_inputs``: one service feeding each HPA).

Without numba the module still imports (:mod:`cloudsim.compiled`),
and the functions below run as plain Python (slowly: the tests use that to compare).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import Functions, KernelSet

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)


def _ratio(usage: int, pods: int, request: int, utilization: bool, target: int) -> float:
    """``ReplicaCalculator._ratio`` for one HPA at one sync."""
    current = usage * 100 // max(pods * request, 1) if utilization else usage // max(pods, 1)
    return current / target


def _raw(
    current: int,
    ready: int,
    unready: int,
    missing: int,
    usage: int,
    request: int,
    utilization: bool,
    target: int,
    tolerance: float,
) -> int:
    """``ReplicaCalculator.calculate`` for one HPA at one sync (``current`` without
    metrics); pods tempered as ``_tempered`` where it applies (a pod missing, or a scale-up
    with unready pods), as ``_plain`` elsewhere."""
    if ready <= 0:
        return current
    ratio = _ratio(usage, ready, request, utilization, target)
    tempered = unready > 0 and ratio > 1.0
    if missing == 0 and not tempered:
        if abs(1.0 - ratio) <= tolerance:
            return current
        return int(np.ceil(ratio * ready))
    fallback = request * max(100, target) // 100 if utilization else target
    extra = missing * fallback if ratio < 1.0 else 0
    counted = ready + missing + (unready if tempered else 0)
    new_ratio = _ratio(usage + extra, counted, request, utilization, target)
    reverses = (ratio < 1.0 and new_ratio > 1.0) or (ratio > 1.0 and new_ratio < 1.0)
    new = int(np.ceil(new_ratio * counted))
    if (
        abs(1.0 - new_ratio) <= tolerance
        or reverses
        or (new_ratio < 1.0 and new > current)
        or (new_ratio > 1.0 and new < current)
    ):
        return current
    return new


def _leaves(times: FloatArray, end: float) -> int:
    """``times.searchsorted(end, side="left")``: how many of ``times`` (ascending) are
    before ``end``."""
    lo, hi = 0, times.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if times[mid] < end:
            lo = mid + 1
        else:
            hi = mid
    return lo


def raw_rows(
    start: int,
    stop: int,
    current: IntArray,
    ready: IntArray,
    unready: IntArray,
    missing: IntArray,
    usage: IntArray,
    request: IntArray,
    utilization: BoolArray,
    target: IntArray,
    tolerance: FloatArray,
    raw: IntArray,
) -> None:
    """Raw recommendations of syncs ``start`` .. ``stop - 1`` into ``raw`` (J, H) (the
    arrays as :func:`forecast_pass`'s)."""
    one_ready = ready.shape[0] == 1
    one_unready = unready.shape[0] == 1
    for j in range(start, stop):
        jr = 0 if one_ready else j
        ju = 0 if one_unready else j
        for h in range(raw.shape[1]):
            raw[j, h] = _raw(
                current[h],
                ready[jr, h],
                unready[ju, h],
                missing[h],
                usage[j, h],
                request[h],
                utilization[h],
                target[h],
                tolerance[h],
            )


def forecast_pass(
    times: FloatArray,
    current: IntArray,
    ready: IntArray,
    unready: IntArray,
    missing: IntArray,
    usage: IntArray,
    request: IntArray,
    utilization: BoolArray,
    target: IntArray,
    tolerance: FloatArray,
    low: IntArray,
    high: IntArray,
    back: IntArray,
    window: FloatArray,
    recorded_time: FloatArray,
    recorded: IntArray,
    allowed_max: IntArray,
    allowed_min: IntArray,
    raw: IntArray,
    final: IntArray,
) -> tuple[int, bool]:
    """The first of the syncs ``times`` (J,) that changes some HPA's replicas (J: none;
    -1 when some replicas are out of ``low`` .. ``high``: no window is looked at) and
    whether every HPA had metrics (a ready pod) at every sync before it; the raw
    recommendations of the syncs up to it into ``raw`` (J, H) (of the first sync alone
    with -1: :func:`raw_rows` works out the others when asked) and, when one does, its
    replicas into ``final`` (H,).

    ``ready`` and ``unready`` have J rows or one (the same at every sync), ``usage`` J;
    ``back`` (2, H): syncs before each inside the scale-up / scale-down window;
    ``window`` (2, H) those windows in seconds; ``recorded_time`` and ``recorded`` (H, R):
    the recorded raw recommendations; ``allowed_max`` and ``allowed_min`` (J or 1, H): the
    most and the fewest replicas the policies allow. Checks and replicas as
    :func:`~cloudsim.containers.hpa.forecast.changes` (its running index per HPA and
    direction: the last sync so far whose raw recommendation is not beyond the replicas)."""
    j_count, h_count = raw.shape
    for h in range(h_count):
        if current[h] > high[h] or current[h] < low[h]:
            raw_rows(
                0,
                min(1, j_count),
                current,
                ready,
                unready,
                missing,
                usage,
                request,
                utilization,
                target,
                tolerance,
                raw,
            )
            return -1, True
    # the first sync each direction's recorded recommendations not beyond no longer hold
    # it back at (``_beyond``'s ``leaves`` of the ones holding, at the latest)
    held = np.zeros((2, h_count), dtype=np.int64)
    for h in range(h_count):
        for s in range(recorded.shape[1]):
            value = recorded[h, s]
            for d in range(2):
                holding = value <= current[h] if d == 0 else value >= current[h]
                if holding:
                    left = _leaves(times, recorded_time[h, s] + window[d, h])
                    if left > held[d, h]:
                        held[d, h] = left
    last = np.full((2, h_count), -(2**62), dtype=np.int64)
    one_limit = allowed_max.shape[0] == 1
    one_ready = ready.shape[0] == 1
    one_unready = unready.shape[0] == 1
    beyond = np.zeros((2, h_count), dtype=np.bool_)
    metrics = True  # every HPA had a ready pod at every sync so far
    for j in range(j_count):
        jr = 0 if one_ready else j
        ju = 0 if one_unready else j
        for h in range(h_count):  # the row of raw_rows, inline (a call costs more here)
            raw[j, h] = _raw(
                current[h],
                ready[jr, h],
                unready[ju, h],
                missing[h],
                usage[j, h],
                request[h],
                utilization[h],
                target[h],
                tolerance[h],
            )
        at = 0 if one_limit else j
        found = False
        for h in range(h_count):
            value = raw[j, h]
            cur = current[h]
            if not value > cur:
                last[0, h] = j
            if not value < cur:
                last[1, h] = j
            for d in range(2):
                beyond[d, h] = last[d, h] + back[d, h] < j and j >= held[d, h]
            if (beyond[0, h] and allowed_max[at, h] > cur) or (
                beyond[1, h] and allowed_min[at, h] < cur
            ):
                found = True
        if found:
            for h in range(h_count):
                result = current[h]
                for d in (1, 0):  # down first, then up (``final_at``)
                    if not beyond[d, h]:
                        continue
                    extreme = INT32_MAX if d == 0 else INT32_MIN
                    for k in range(max(j - back[d, h], 0), j + 1):
                        v = raw[k, h]
                        extreme = min(extreme, v) if d == 0 else max(extreme, v)
                    for s in range(recorded.shape[1]):
                        if _leaves(times, recorded_time[h, s] + window[d, h]) > j:
                            v = recorded[h, s]
                            extreme = min(extreme, v) if d == 0 else max(extreme, v)
                    if d == 0:
                        result = min(extreme, allowed_max[at, h])
                    else:
                        result = max(extreme, allowed_min[at, h])
                final[h] = result
            return j, metrics
        for h in range(h_count):
            if ready[jr, h] <= 0:
                metrics = False
    return int(j_count), metrics


def inputs_pass(
    times: FloatArray,
    ready_now: IntArray,
    unready_now: IntArray,
    missing_now: IntArray,
    starting: IntArray,
    ready_at: FloatArray,
    tids: IntArray,
    owned: IntArray,
    feed_sel: IntArray,
    feed_own: IntArray,
    demand: FloatArray,
    feed_rows: IntArray,
    ready: IntArray,
    unready: IntArray,
    usage: IntArray,
    missing: IntArray,
) -> None:
    """The HPAs' inputs at the syncs ``times`` (J,) when each HPA has one service feeding
    it (``HorizontalPodAutoscaling._group_inputs``' usual case): ready and unready pods
    and the CPU their service's demand puts on the ready ones into ``ready``, ``unready``
    and ``usage`` (J, H), pods without metrics into ``missing`` (H,).

    Per template (T,): pods ready, unready and missing now; ``starting`` and ``ready_at``
    (K,): the starting pods' templates and when each is ready (ready from the first sync
    at or after). Per HPA (H,): its template ``tids``, ``owned`` (1: its deployment owns
    that template's pods), ``feed_sel`` (T, H) the templates its service selects,
    ``feed_own`` whether that includes its own, ``feed_rows`` the service's column of
    ``demand`` (J, S)."""
    j_count, h_count, t_count = times.size, tids.size, ready_now.size
    grown = np.zeros((j_count + 1, t_count), dtype=np.int64)
    for k in range(starting.size):  # the first sync seeing it ready
        grown[_leaves(times, ready_at[k] - 1e-9), starting[k]] += 1
    for h in range(h_count):
        missing[h] = missing_now[tids[h]] * owned[h]
    per_ready = ready_now.copy()  # ready pods per template at sync j
    became = np.zeros(t_count, dtype=np.int64)
    ready_h = np.empty(h_count, dtype=np.int64)  # the HPAs' pods while none becomes ready
    unready_h = np.empty(h_count, dtype=np.int64)
    part = np.empty(h_count, dtype=np.float64)  # each HPA's part of its service's demand
    for j in range(j_count):
        moved = j == 0
        for t in range(t_count):
            if grown[j, t] != 0:
                became[t] += grown[j, t]
                per_ready[t] = ready_now[t] + became[t]
                moved = True
        if moved:
            for h in range(h_count):
                tid = tids[h]
                ready_h[h] = per_ready[tid]
                unready_h[h] = unready_now[tid] * owned[h] - became[tid]
                fed = 0  # ready pods of the HPA's service
                for t in range(t_count):
                    fed += per_ready[t] * feed_sel[t, h]
                part[h] = (feed_own[h] * per_ready[tid]) / max(fed, 1)
        for h in range(h_count):
            ready[j, h] = ready_h[h]
            unready[j, h] = unready_h[h]
            usage[j, h] = int(np.floor(part[h] * demand[j, feed_rows[h]]))


def _oldest(time: FloatArray, h: int) -> int:
    """``np.argmin(time[h])``: the first of the oldest slots of row ``h``."""
    best = 0
    for s in range(1, time.shape[1]):
        if time[h, s] < time[h, best]:
            best = s
    return best


def apply_pass(
    times: FloatArray,
    first: int,
    current: IntArray,
    active: BoolArray,
    raw: IntArray,
    final: IntArray,
    recorded_time: FloatArray,
    recorded: IntArray,
    up_time: FloatArray,
    up_change: IntArray,
    down_time: FloatArray,
    down_change: IntArray,
    out: IntArray,
) -> int:
    """``Autoscalers.apply`` of a forecast (``times``, ``active``, ``raw``: (J, H)) at its
    sync ``first``: the syncs before it committed (:func:`commit_pass`), then its raw
    recommendations of the HPAs active recorded (each in its oldest slot), the new
    replicas (``final`` where active, else ``current``) into ``out`` and their changes
    stored as scale events (``RateLimits.store``). Returns which histories took a value:
    1 the recommendations at ``first``, 2 the scale-ups, 4 the scale-downs, 8 the
    recommendations of the syncs before (their ``newest`` is the caller's)."""
    took = 8 if commit_pass(times, active, raw, first, recorded_time, recorded) else 0
    now = times[first]
    for h in range(current.size):
        if active[first, h]:
            s = _oldest(recorded_time, h)
            recorded_time[h, s] = now
            recorded[h, s] = raw[first, h]
            took |= 1
            out[h] = final[h]
        else:
            out[h] = current[h]
        if out[h] > current[h]:
            s = _oldest(up_time, h)
            up_time[h, s] = now
            up_change[h, s] = out[h] - current[h]
            took |= 2
        elif out[h] < current[h]:
            s = _oldest(down_time, h)
            down_time[h, s] = now
            down_change[h, s] = current[h] - out[h]
            took |= 4
    return took


def commit_pass(
    times: FloatArray,
    active: BoolArray,
    raw: IntArray,
    done: int,
    recorded_time: FloatArray,
    recorded: IntArray,
) -> bool:
    """``Recommendations.commit``: the raw recommendations ``raw`` (J, H) of the HPAs
    ``active`` at the first ``done`` syncs ``times`` recorded, the latest ones (as many as
    can still be inside a window) in each HPA's oldest slots, oldest first (a stable sort
    of the slots' times; a sync without metrics leaves its slot at -inf). Returns whether
    some were (the caller updates ``newest``)."""
    slots = recorded_time.shape[1]
    start = max(0, done - (slots - 1))
    n = done - start
    if n <= 0:
        return False
    order = np.empty(slots, dtype=np.int64)
    for h in range(recorded_time.shape[0]):
        for s in range(slots):  # insertion sort: stable, as argsort(kind="stable")
            v = recorded_time[h, s]
            k = s
            while k > 0 and recorded_time[h, order[k - 1]] > v:
                order[k] = order[k - 1]
                k -= 1
            order[k] = s
        for i in range(n):
            j = start + i
            s = order[i]
            recorded_time[h, s] = times[j] if active[j, h] else -np.inf
            recorded[h, s] = raw[j, h]
    return True


def _compile(numba: Any, functions: Functions) -> Functions:
    """Compiled: the helpers first, then the passes other passes call, as this module's
    globals (a pass calls what those name when it compiles), then the rest."""
    jit = numba.njit(cache=True, nogil=True)
    for helper in ("_ratio", "_raw", "_leaves", "_oldest"):
        globals()[helper] = jit(globals()[helper])
    compiled: Functions = {}
    for name in ("raw_rows", "commit_pass"):  # called by the passes below
        compiled[name] = globals()[name] = jit(functions[name])
    for name in ("forecast_pass", "inputs_pass", "apply_pass"):
        compiled[name] = jit(functions[name])
    return compiled


KERNELS = KernelSet(
    "HPA kernels",
    lambda: {
        "forecast_pass": forecast_pass,
        "inputs_pass": inputs_pass,
        "apply_pass": apply_pass,
        "raw_rows": raw_rows,
        "commit_pass": commit_pass,
    },
    _compile,
)


def kernels() -> Functions:
    """The compiled kernels by name (compiled on first use, cached on disk)."""
    return KERNELS.compiled()
