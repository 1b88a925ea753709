"""The HPA forecast's windows against the straightforward computation: the running-index
checks of :mod:`cloudsim.containers.hpa.forecast` (which syncs change replicas, and to
what) against per-sync loops and against stabilising every sync by value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.containers.hpa import Autoscalers
from cloudsim.containers.hpa.forecast import _beyond, _extreme, changes
from cloudsim.containers.hpa.rules import INT32_MAX, INT32_MIN
from cloudsim.scenario.containers import HPA

SYNC = 15.0
#: The policies of the HPAs below (the limits are drawn apart: any will do).
POLICY = [{"type": "Pods", "value": 4, "period": 15.0}]


@st.composite
def windows(draw: st.DrawFn) -> dict[str, Any]:
    """Raw recommendations (J, H), replicas, per-HPA windows (syncs back) and recorded
    recommendations with the first sync each is out of its window at (or None)."""
    h = draw(st.integers(1, 4))
    j = draw(st.integers(1, 30))
    r = draw(st.integers(1, 4))
    ints = st.integers(0, 6)
    raw = np.array(draw(st.lists(ints, min_size=j * h, max_size=j * h))).reshape(j, h)
    current = np.array(draw(st.lists(st.integers(1, 5), min_size=h, max_size=h)))
    back = np.array(draw(st.lists(st.integers(0, 8), min_size=h, max_size=h)))
    if draw(st.booleans()):
        back[:] = back[0]  # one window length for every HPA (the usual case)
    recorded = np.array(draw(st.lists(ints, min_size=h * r, max_size=h * r))).reshape(h, r)
    leaves = None
    if draw(st.booleans()):
        out = st.integers(0, j + 2)
        leaves = np.array(draw(st.lists(out, min_size=h * r, max_size=h * r))).reshape(h, r)
    return {
        "raw": raw.astype(np.int64),
        "current": current.astype(np.int64),
        "back": back.astype(np.int64),
        "recorded": recorded.astype(np.int64),
        "leaves": None if leaves is None else leaves.astype(np.int64),
    }


@settings(max_examples=300, deadline=None)
@given(w=windows(), up=st.booleans())
def test_beyond_is_every_recommendation_of_the_window_on_one_side(
    w: dict[str, Any], up: bool
) -> None:
    raw, current, back, recorded, leaves = (
        w["raw"],
        w["current"],
        w["back"],
        w["recorded"],
        w["leaves"],
    )
    j, h = raw.shape
    beyond = raw > current if up else raw < current
    rows = np.arange(j, dtype=np.int64)[:, None]
    got = _beyond(rows, beyond.copy(), current, back, leaves, recorded, up)
    for k in range(j):
        for c in range(h):
            window = raw[max(0, k - int(back[c])) : k + 1, c]
            inside = window > current[c] if up else window < current[c]
            expected = bool(inside.all())
            if leaves is not None:
                for slot in range(recorded.shape[1]):
                    value = recorded[c, slot]
                    holds = value <= current[c] if up else value >= current[c]
                    expected &= not (holds and k < leaves[c, slot])
            assert bool(got[k, c]) == expected, (k, c)


@settings(max_examples=300, deadline=None)
@given(w=windows(), up=st.booleans(), data=st.data())
def test_extreme_reduces_the_window_and_the_recorded_ones_inside(
    w: dict[str, Any], up: bool, data: st.DataObject
) -> None:
    raw, back, recorded, leaves = w["raw"], w["back"], w["recorded"], w["leaves"]
    j, h = raw.shape
    at = data.draw(st.integers(0, j - 1))
    fill, op, pick = (INT32_MAX, np.minimum, min) if up else (INT32_MIN, np.maximum, max)
    got = _extreme(raw, at, back, leaves, recorded, fill, op)
    for c in range(h):
        values = [fill, *raw[max(0, at - int(back[c])) : at + 1, c].tolist()]
        if leaves is not None:
            values += [int(recorded[c, s]) for s in range(recorded.shape[1]) if leaves[c, s] > at]
        assert int(got[c]) == pick(values), c


def _autoscalers(up_windows: list[int], down_windows: list[int]) -> Autoscalers:
    specs = [
        HPA.model_validate(
            {
                "name": f"h{i}",
                "deployment": "d",
                "max_replicas": 40,
                "target_utilization": 60,
                "scale_up": {"stabilization_window": float(u), "policies": POLICY},
                "scale_down": {"stabilization_window": float(d), "policies": POLICY},
            }
        )
        for i, (u, d) in enumerate(zip(up_windows, down_windows, strict=True))
    ]
    return Autoscalers(specs, SYNC)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_changes_match_stabilising_every_sync_by_value(data: st.DataObject) -> None:
    """``changes`` says which syncs would change replicas, and to what, exactly as the
    stabilised recommendations (windows of raw and recorded ones, by value) clamped to
    the policies' limits do."""
    h = data.draw(st.integers(1, 3))
    j = data.draw(st.integers(1, 40))
    seconds = st.integers(0, 8).map(lambda k: 15 * k)
    a = _autoscalers(
        data.draw(st.lists(seconds, min_size=h, max_size=h)),
        data.draw(st.lists(seconds, min_size=h, max_size=h)),
    )
    derived = a._derived()
    start = SYNC * data.draw(st.integers(20, 40))
    times = start + SYNC * np.arange(j, dtype=np.float64)
    history = a.history
    for c in range(h):  # recommendations recorded at some syncs before the first
        for back in data.draw(st.lists(st.integers(1, 12), max_size=4, unique=True)):
            history.record(
                np.array([c]), start - SYNC * back, np.array([data.draw(st.integers(1, 9))])
            )
    small = st.integers(1, 9)
    current = np.array(data.draw(st.lists(small, min_size=h, max_size=h)), dtype=np.int64)
    raw = np.array(data.draw(st.lists(small, min_size=j * h, max_size=j * h)), dtype=np.int64)
    raw = raw.reshape(j, h)
    rows = j if data.draw(st.booleans()) else 1
    more = np.array(data.draw(st.lists(st.integers(0, 4), min_size=rows * h, max_size=rows * h)))
    fewer = np.array(data.draw(st.lists(st.integers(0, 4), min_size=rows * h, max_size=rows * h)))
    allowed_max = current + more.reshape(rows, h)
    allowed_min = np.maximum(current - fewer.reshape(rows, h), 1)

    change, final_at = changes(
        times, current, raw, allowed_max, allowed_min, derived, history, a.up, a.down
    )
    stable = history.stabilise(times, current, raw, True, a.up, a.down, derived)
    final = np.minimum(np.maximum(stable, allowed_min), allowed_max)
    expected = final != current
    got = np.zeros(raw.shape, dtype=np.bool_) if change is None else change
    np.testing.assert_array_equal(got, expected)
    for k in np.flatnonzero(expected.any(axis=1)).tolist():
        np.testing.assert_array_equal(final_at(k), final[k])


def _one_sync(
    current: int, ready: int, unready: int, missing: int, usage: int, request: int
) -> int:
    """GetResourceReplicas for one HPA with a 60 % utilisation target and the default
    tolerance, written out per sync (no metrics: the replicas)."""
    target, tolerance = 60, 0.1
    if ready == 0:
        return current
    ratio = (usage * 100 // max(ready * request, 1)) / target
    tempered = unready > 0 and ratio > 1.0
    plain = current if abs(1.0 - ratio) <= tolerance else math.ceil(ratio * ready)
    if missing == 0 and not tempered:
        return plain
    extra = missing * (request * max(100, target) // 100) if ratio < 1.0 else 0
    counted = ready + missing + (unready if tempered else 0)
    new_ratio = ((usage + extra) * 100 // max(counted * request, 1)) / target
    if abs(1.0 - new_ratio) <= tolerance or (ratio - 1.0) * (new_ratio - 1.0) < 0:
        return current  # within the tolerance, or the direction reversed
    new = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and new > current) or (new_ratio > 1.0 and new < current):
        return current
    return new


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_calculator_over_many_syncs_is_each_sync_on_its_own(data: st.DataObject) -> None:
    h = data.draw(st.integers(1, 3))
    j = data.draw(st.integers(1, 12))

    def grid(low: int, high: int, rows: int) -> np.ndarray:
        values = data.draw(st.lists(st.integers(low, high), min_size=rows * h, max_size=rows * h))
        return np.array(values, dtype=np.int64).reshape(rows, h)

    current = grid(1, 10, 1)[0]
    missing = grid(0, 2, 1)[0] if data.draw(st.booleans()) else np.zeros(h, dtype=np.int64)
    request = grid(100, 1000, 1)[0]
    ready, unready = grid(0, 10, j), grid(0, 3, j)
    if data.draw(st.booleans()):
        unready[:] = 0  # no pod starting: nothing to temper a scale-up with
    usage = grid(0, 12_000, j)
    a = _autoscalers([0] * h, [0] * h)
    raw, has = a.calculator.calculate(
        current, ready, unready, missing, usage, request, a._derived()
    )
    for k in range(j):
        for c in range(h):
            expected = _one_sync(
                int(current[c]),
                int(ready[k, c]),
                int(unready[k, c]),
                int(missing[c]),
                int(usage[k, c]),
                int(request[c]),
            )
            assert int(raw[k, c]) == expected, (k, c)
            assert bool(has[k, c]) == (ready[k, c] > 0)
