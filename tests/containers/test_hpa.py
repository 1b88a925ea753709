"""The HPA algorithm against the worked examples of the Kubernetes documentation
(tasks/run-application/horizontal-pod-autoscale), one sync at a time, and the forecast
that lets the controller skip syncs against running every sync."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.containers.hpa import Autoscalers
from cloudsim.scenario.containers import HPA

SYNC = 15.0


def hpas(*specs: dict[str, Any]) -> Autoscalers:
    return Autoscalers(
        [HPA.model_validate({"name": f"h{i}", "deployment": "d", **s}) for i, s in enumerate(specs)]
    )


def one(
    a: Autoscalers,
    now: float,
    current: int,
    usage: int,
    request: int = 1000,
    ready: int | None = None,
    unready: int = 0,
    missing: int = 0,
) -> int:
    """One sync of a single HPA; ``usage``: CPU (millicores) used by all ready pods."""
    pods = current if ready is None else ready
    out = a.step(
        now,
        np.array([current]),
        np.array([pods]),
        np.array([unready]),
        np.array([missing]),
        np.array([usage]),
        np.array([request]),
    )
    return int(out[0])


def test_doubling_the_metric_doubles_the_replicas() -> None:
    # "if the current metric value is 200m, and the desired value is 100m, the number of
    # replicas will be doubled": 3 pods using 200m each against an average of 100m
    a = hpas({"max_replicas": 10, "target_average_value": "100m"})
    assert one(a, 0.0, current=3, usage=3 * 200) == 6
    # the same by utilisation: 3 pods at 100 % of their request, target 50 %
    b = hpas({"max_replicas": 10, "target_utilization": 50})
    assert one(b, 0.0, current=3, usage=3 * 1000) == 6


def test_within_the_tolerance_nothing_changes() -> None:
    # utilisation 52 % and 47 % of a 50 % target: ratios 1.04 and 0.94, inside the default
    # 0.1 tolerance; 56 %: ratio 1.12, ceil(10 x 1.12) = 12
    for usage, expected in ((10 * 525, 10), (10 * 475, 10), (10 * 560, 12)):
        a = hpas({"max_replicas": 50, "target_utilization": 50})
        assert one(a, 0.0, current=10, usage=usage) == expected, usage


def test_halving_the_metric_halves_the_replicas_after_the_stabilisation_window() -> None:
    a = hpas({"max_replicas": 10, "target_average_value": "100m"})
    t = 0.0
    for _ in range(4):  # steady at 6 pods, 100m each
        assert one(a, t, current=6, usage=600) == 6
        t += SYNC
    last_six = t - SYNC
    # load halves: the recommendation is 3, but 6 was recommended within the last 300 s
    while t < last_six + 300.0:
        assert one(a, t, current=6, usage=300) == 6, t
        t += SYNC
    assert t == last_six + 300.0
    assert one(a, t, current=6, usage=300) == 3  # the last 6 is now outside the window


def test_the_stabilisation_window_follows_the_highest_recent_recommendation() -> None:
    a = hpas({"max_replicas": 20, "target_average_value": "100m"})
    current = 10
    assert one(a, 0.0, current=current, usage=1000) == 10
    recommendations = [8, 6, 7, 5] + [5] * 30  # raw recommendations, one per sync
    seen = []
    for k, rec in enumerate(recommendations, start=1):
        current = one(a, k * SYNC, current=current, usage=rec * 100)
        seen.append(current)
    # for 300 s the 10 of t=0 holds; then the highest recommendation of the last 300 s
    assert seen[:19] == [10] * 19
    assert seen[19] == 8 and seen[20] == 7 and seen[21] == 7 and seen[22] == 5


def test_scale_up_is_limited_to_the_larger_of_100_percent_and_4_pods_per_15_s() -> None:
    a = hpas({"max_replicas": 100, "target_average_value": "100m"})
    current, t, steps = 1, 0.0, []
    while current < 100:
        current = one(a, t, current=current, usage=current * 10_000)  # wants 100 each sync
        steps.append(current)
        t += SYNC
    # 1 -> max(2, 5) = 5 -> max(10, 9) = 10 -> 20 -> 40 -> 80 -> 100 (maxReplicas)
    assert steps == [5, 10, 20, 40, 80, 100]


def test_policies_of_a_custom_behaviour() -> None:
    # the documentation's example: scale down at most 4 pods or 10 % per minute, whichever
    # is larger; no stabilisation, so the policies alone limit the pace
    a = hpas(
        {
            "max_replicas": 100,
            "min_replicas": 1,
            "target_average_value": "100m",
            "scale_down": {
                "stabilization_window": 0,
                "policies": [
                    {"type": "Pods", "value": 4, "period": 60},
                    {"type": "Percent", "value": 10, "period": 60},
                ],
            },
        }
    )
    current = 80
    assert one(a, 0.0, current=current, usage=1000) == 72  # 10 % of 80 (8) beats 4 pods
    for t in (15.0, 30.0, 45.0):  # the 8 removed within the last minute use it up
        assert one(a, t, current=72, usage=1000) == 72
    # a minute later: 72 - 4 = 68 or int(72 x 0.9) = 64; Max picks the larger change
    assert one(a, 60.0, current=72, usage=1000) == 64


def test_min_and_max_replicas_and_no_metrics() -> None:
    a = hpas({"min_replicas": 2, "max_replicas": 5, "target_utilization": 50})
    assert one(a, 0.0, current=1, usage=0) == 2  # below min: brought up without metrics
    assert one(a, 15.0, current=9, usage=9000) == 5  # above max
    b = hpas({"min_replicas": 2, "max_replicas": 5, "target_utilization": 50})
    assert one(b, 0.0, current=3, usage=0, ready=0, unready=3) == 3  # no ready pod: no change


def test_unready_and_missing_pods_temper_the_change() -> None:
    # 2 ready pods at 200 % of a 100 % target and 2 starting: those count at 0 % when
    # scaling up -> ratio (4000 / 4 pods) / 1000 = 1.0: within tolerance, no change
    a = hpas({"max_replicas": 20, "target_utilization": 100})
    assert one(a, 0.0, current=4, usage=4000, ready=2, unready=2) == 4
    # 4 ready pods at 25 % of their request, 4 missing (their node is NotReady): those
    # count at 100 % when scaling down -> ratio (1000 + 4000) / 8000 = 0.625 -> 5
    down = {
        "stabilization_window": 0.0,
        "policies": [{"type": "Percent", "value": 100, "period": 15.0}],
    }
    b = hpas({"max_replicas": 20, "target_utilization": 100, "scale_down": down})
    assert one(b, 0.0, current=8, usage=1000, ready=4, missing=4) == 5


@settings(max_examples=40, deadline=None)
@given(
    loads=st.lists(st.integers(0, 20_000), min_size=5, max_size=40),
    start=st.integers(1, 20),
    window=st.sampled_from([0.0, 60.0, 300.0]),
)
def test_the_forecast_skips_exactly_what_each_sync_would_do(
    loads: list[int], start: int, window: float
) -> None:
    """Syncing every tick and jumping from forecast to forecast give the same replicas."""
    spec = {
        "max_replicas": 40,
        "target_utilization": 60,
        "scale_down": {
            "stabilization_window": window,
            "policies": [{"type": "Percent", "value": 50, "period": 30}],
        },
    }
    usage = np.repeat(np.array(loads, dtype=np.int64), 4)  # each load lasts 4 syncs
    times = SYNC * np.arange(len(usage), dtype=np.float64)

    def per_pod(k: int, pods: int) -> int:
        return int(usage[k]) * pods // 10

    every = hpas(spec)
    current, expected = start, []
    for k in range(len(times)):
        current = one(every, float(times[k]), current=current, usage=per_pod(k, current))
        expected.append(current)

    jumping = hpas(spec)
    current, got, k = start, [], 0
    while k < len(times):
        current = one(jumping, float(times[k]), current=current, usage=per_pod(k, current))
        got.append(current)
        k += 1
        if k >= len(times):
            break
        ahead = np.array([per_pod(i, current) for i in range(k, len(times))])[:, None]
        n = len(ahead)
        forecast = jumping.forecast(
            times[k:],
            np.array([current]),
            np.full((n, 1), current),
            np.zeros((n, 1), dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            ahead,
            np.array([1000]),
        )
        stop = min(forecast.first, n)
        got.extend([current] * stop)
        jumping.commit(forecast, float(times[k + stop]) if k + stop < len(times) else np.inf)
        k += stop
    assert got == expected


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"min_replicas": 5, "max_replicas": 8, "target_utilization": 50}, None),
        ({"min_replicas": 5, "max_replicas": 2, "target_utilization": 50}, "min_replicas"),
        ({"max_replicas": 3}, "exactly one of"),
    ],
)
def test_bad_hpas_are_refused(bad: dict[str, Any], message: str | None) -> None:
    data = {"name": "x", "deployment": "d", **bad}
    if message is None:
        HPA.model_validate(data)
        return
    with pytest.raises(ValueError, match=message):
        HPA.model_validate(data)
