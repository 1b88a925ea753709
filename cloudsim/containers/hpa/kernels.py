"""The forecast as one compiled pass (optional: ``pip install cloudsim[fast]``).

:func:`forecast_pass` does what :meth:`Autoscalers.forecast` does with numpy when the
windows' fills are neutral (min and max replicas inside int32): the raw recommendation of
every sync ahead (:class:`~cloudsim.containers.hpa.calculator.ReplicaCalculator`), then the
window checks of :func:`~cloudsim.containers.hpa.forecast.changes` with running indices,
sync by sync, stopping the checks at the first sync that changes some HPA's replicas, and
that sync's replicas (``final_at``). The numpy path stays the reference: the same integer
and floating-point operations in the same order (no fast-math), and a property test checks
that both give identical forecasts.

Without numba the module still imports; :func:`available` says whether the kernel can run,
and the functions below run as plain Python (slowly: the tests use that to compare).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

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
) -> int:
    """Raw recommendations of every sync ``times`` (J,) into ``raw`` (J, H) and the first
    sync that changes some HPA's replicas (J: none; -1 when some replicas are out of
    ``low`` .. ``high``: no window is looked at); when one does, its replicas into
    ``final`` (H,).

    ``ready`` and ``unready`` have J rows or one (the same at every sync), ``usage`` J;
    ``back`` (2, H): syncs before each inside the scale-up / scale-down window;
    ``window`` (2, H) those windows in seconds; ``recorded_time`` and ``recorded`` (H, R):
    the recorded raw recommendations; ``allowed_max`` and ``allowed_min`` (J or 1, H): the
    most and the fewest replicas the policies allow. Checks and replicas as
    :func:`~cloudsim.containers.hpa.forecast.changes` (its running index per HPA and
    direction: the last sync so far whose raw recommendation is not beyond the replicas)."""
    j_count, h_count = raw.shape
    one_ready = ready.shape[0] == 1
    one_unready = unready.shape[0] == 1
    for j in range(j_count):
        jr = 0 if one_ready else j
        ju = 0 if one_unready else j
        for h in range(h_count):
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
    for h in range(h_count):
        if current[h] > high[h] or current[h] < low[h]:
            return -1
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
    for j in range(j_count):
        at = 0 if one_limit else j
        found = False
        beyond = np.zeros((2, h_count), dtype=np.bool_)
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
            return j
    return int(j_count)


_compiled: dict[str, Callable[..., Any]] | None = None


def available() -> bool:
    """Whether numba is installed (the kernel compiles on first use, cached on disk)."""
    return importlib.util.find_spec("numba") is not None


def kernels() -> dict[str, Callable[..., Any]]:
    """The compiled kernels by name (compiled once per process, cached on disk)."""
    global _compiled
    if _compiled is None:
        if not available():
            raise ModuleNotFoundError(
                "the compiled HPA forecast needs numba: pip install 'cloudsim[fast]'"
            )
        import numba

        jit = numba.njit(cache=True, nogil=True)
        # forecast_pass calls the compiled helpers (module globals at compile time)
        globals()["_ratio"] = jit(_ratio)
        globals()["_raw"] = jit(_raw)
        globals()["_leaves"] = jit(_leaves)
        _compiled = {"forecast_pass": jit(forecast_pass)}
    return _compiled
