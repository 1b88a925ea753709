"""The compiled HPA forecast (:mod:`cloudsim.containers.hpa.kernels`) against the numpy
reference: the same forecast (raw recommendations, syncs with metrics, the first sync that
changes replicas and its replicas) for every kind of spec, history and inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim import Simulation, load_scenario
from cloudsim import compiled as compilation
from cloudsim.containers.controllers.hpa import HorizontalPodAutoscaling, _HPAGroup
from cloudsim.containers.hpa import Autoscalers, Forecast, kernels
from cloudsim.containers.runtime import PodCounts
from cloudsim.results import assemble
from cloudsim.scenario.containers import HPA
from tests.golden.cases import REPO, digest

needs_numba = pytest.mark.skipif(not compilation.available(), reason="numba is not installed")

SYNC = 15.0
HUNAN = REPO / "scenarios" / "hunan-3s4c.yaml"


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    """One direction's behaviour: a window (whole syncs, or not), policies, a selection."""
    window = draw(st.sampled_from([0.0, 15.0, 45.0, 60.0, 120.0, 300.0, 22.5]))
    policies = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["Pods", "Percent"]),
                    "value": st.integers(1, 150),
                    "period": st.sampled_from([15.0, 30.0, 60.0, 7.5]),
                }
            ),
            min_size=1,
            max_size=3,
        )
    )
    select = draw(st.sampled_from(["Max", "Min", "Disabled"]))
    return {"stabilization_window": window, "select_policy": select, "policies": policies}


@st.composite
def specs(draw: st.DrawFn, count: int) -> list[HPA]:
    out = []
    for i in range(count):
        low = draw(st.integers(1, 3))
        spec: dict[str, Any] = {
            "name": f"h{i}",
            "deployment": "d",
            "min_replicas": low,
            "max_replicas": draw(st.integers(low, 14)),
            "tolerance": draw(st.sampled_from([0.0, 0.1, 0.25])),
            "scale_up": draw(rules()),
            "scale_down": draw(rules()),
        }
        if draw(st.booleans()):
            spec["target_utilization"] = draw(st.sampled_from([40, 60, 100, 150]))
        else:
            spec["target_average_value"] = draw(st.sampled_from([100, 250, 600]))
        out.append(HPA.model_validate(spec))
    return out


def _same(a: Forecast, b: Forecast) -> None:
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.raw_rows(len(a.times)), b.raw_rows(len(b.times)))
    np.testing.assert_array_equal(a.active, b.active)
    assert a.first == b.first
    assert (a.final is None) == (b.final is None)
    if a.final is not None and b.final is not None:
        np.testing.assert_array_equal(a.final, b.final)


@needs_numba
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_compiled_forecast_is_the_numpy_one(data: st.DataObject) -> None:
    h = data.draw(st.integers(1, 4), label="hpas")
    j = data.draw(st.integers(1, 60), label="syncs")
    hpa_specs = data.draw(specs(h))
    reference = Autoscalers(hpa_specs, SYNC, kernel="numpy")
    compiled = Autoscalers(hpa_specs, SYNC, kernel="numba")
    assert (reference.kernel, compiled.kernel) == ("numpy", "numba")
    start = SYNC * data.draw(st.integers(20, 40)) + data.draw(st.sampled_from([0.0, 0.0, 2.5]))
    # the same history in both: recommendations and scale events of some syncs before
    for _ in range(data.draw(st.integers(0, 6))):
        rows = np.array(sorted(data.draw(st.sets(st.integers(0, h - 1), min_size=1))))
        at = start - SYNC * data.draw(st.integers(1, 24))
        values = np.array(
            data.draw(st.lists(st.integers(0, 16), min_size=len(rows), max_size=len(rows)))
        )
        for a in (reference, compiled):
            a.history.record(rows, at, values)
        before = np.array(data.draw(st.lists(st.integers(1, 12), min_size=h, max_size=h)))
        after = np.array(data.draw(st.lists(st.integers(1, 12), min_size=h, max_size=h)))
        for a in (reference, compiled):
            a.limits.store(at, before, after)

    def grid(low: int, high: int, rows: int) -> np.ndarray:
        values = data.draw(st.lists(st.integers(low, high), min_size=rows * h, max_size=rows * h))
        return np.array(values, dtype=np.int64).reshape(rows, h)

    times = start + SYNC * np.arange(j, dtype=np.float64)
    current = grid(0, 16, 1)[0]  # out of min .. max at times
    ready = grid(0, 12, j) if data.draw(st.booleans()) else np.repeat(grid(1, 12, 1), j, axis=0)
    unready = grid(0, 3, j) if data.draw(st.booleans()) else grid(0, 0, 1)
    missing = grid(0, 2, 1)[0] if data.draw(st.booleans()) else np.zeros(h, dtype=np.int64)
    usage = grid(0, 16_000, j)
    request = grid(50, 1000, 1)[0]
    args = (times, current, ready, unready, missing, usage, request)
    expected = reference.forecast(*args)
    got = compiled.forecast(*args)
    _same(got, expected)


@needs_numba
def test_a_long_quiet_forecast_and_a_rescale_far_ahead() -> None:
    """480 syncs with the default behaviour: demand that rises late (a scale-up at the
    sync it reaches the threshold) and demand that stays (no change): both paths agree."""
    spec = HPA.model_validate(
        {"name": "web", "deployment": "d", "max_replicas": 20, "target_utilization": 60}
    )
    j = 481
    times = 900.0 + SYNC * np.arange(j)
    current = np.array([4])
    ready = np.full((j, 1), 4)
    unready = np.zeros((1, 1), dtype=np.int64)
    missing = np.zeros(1, dtype=np.int64)
    request = np.array([500])
    for rise_at in (0, 300, j):
        usage = np.full((j, 1), 1200)  # 60 %: within the tolerance
        usage[rise_at:] = 2000
        out = [
            Autoscalers([spec], SYNC, kernel=k).forecast(
                times, current, ready, unready, missing, usage, request
            )
            for k in ("numpy", "numba")
        ]
        _same(out[1], out[0])
        assert out[0].first == rise_at
        if rise_at < j:  # 100 %: ceil(4 x 100 / 60) = 7
            assert out[0].final is not None and int(out[0].final[0]) == 7


def test_an_unknown_kernel_is_refused() -> None:
    spec = HPA.model_validate(
        {"name": "web", "deployment": "d", "max_replicas": 2, "target_utilization": 60}
    )
    with pytest.raises(ValueError, match=r"HPA kernel must be .*, not 'fast'"):
        Autoscalers([spec], SYNC, kernel="fast")
    assert Autoscalers([spec], SYNC, kernel="numpy").kernel == "numpy"


def _histories(a: Autoscalers) -> list[Any]:
    """Every history of ``a``: recommendations and scale events, with their newest."""
    out: list[Any] = []
    for times, values, newest in (
        (a.history.time, a.history.value, a.history.newest),
        (a.limits.up_events.time, a.limits.up_events.change, a.limits.up_events.newest),
        (a.limits.down_events.time, a.limits.down_events.change, a.limits.down_events.newest),
    ):
        out += [times.copy(), values.copy(), newest]
    return out


def _same_histories(a: Autoscalers, b: Autoscalers) -> None:
    for x, y in zip(_histories(a), _histories(b), strict=True):
        np.testing.assert_array_equal(x, y)


@needs_numba
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_applying_and_committing_compiled_record_what_numpy_records(
    data: st.DataObject,
) -> None:
    """A forecast's syncs committed (any ``before``, ties in the slots' times included),
    or the sync it found applied (the syncs before it committed), leave the same
    histories and replicas either way."""
    h = data.draw(st.integers(1, 4), label="hpas")
    j = data.draw(st.integers(1, 40), label="syncs")
    hpa_specs = data.draw(specs(h))
    pair = (
        Autoscalers(hpa_specs, SYNC, kernel="numpy"),
        Autoscalers(hpa_specs, SYNC, kernel="numba"),
    )
    start = SYNC * data.draw(st.integers(30, 60))
    recorded = []
    for _ in range(data.draw(st.integers(0, 30))):  # some slots filled, some at the same time
        rows = np.array(sorted(data.draw(st.sets(st.integers(0, h - 1), min_size=1))))
        at = start - SYNC * data.draw(st.integers(1, 4))
        values = np.array(
            data.draw(st.lists(st.integers(0, 16), min_size=len(rows), max_size=len(rows)))
        )
        recorded.append((rows, at, values))
        for a in pair:
            a.history.record(rows, at, values)
    _same_histories(*pair)
    times = start + SYNC * np.arange(j, dtype=np.float64)
    raw = np.array(
        data.draw(st.lists(st.integers(0, 16), min_size=j * h, max_size=j * h)), dtype=np.int64
    ).reshape(j, h)
    active = np.array(data.draw(st.lists(st.booleans(), min_size=j * h, max_size=j * h)))
    active = active.reshape(j, h)
    first = data.draw(st.integers(0, j - 1))
    final = np.array(data.draw(st.lists(st.integers(1, 16), min_size=h, max_size=h)))
    forecast = Forecast(times, raw, active, first, final.astype(np.int64))
    before = float(times[first]) + data.draw(st.sampled_from([0.0, -SYNC, -7.5, 0.5]))
    current = np.array(data.draw(st.lists(st.integers(1, 16), min_size=h, max_size=h)))
    current = current.astype(np.int64)
    for a in pair:
        a.commit(forecast, before)
    _same_histories(*pair)
    # apply commits the syncs before ``first`` itself: on histories as they were before
    pair = (
        Autoscalers(hpa_specs, SYNC, kernel="numpy"),
        Autoscalers(hpa_specs, SYNC, kernel="numba"),
    )
    for a in pair:
        for rows, at, values in recorded:
            a.history.record(rows, at, values)
    outs = [a.apply(forecast, current) for a in pair]
    _same_histories(*pair)
    np.testing.assert_array_equal(outs[0], outs[1])


class _Counts:
    """A cluster state's stand-in: :meth:`pod_counts` returns the counts given."""

    def __init__(self, counts: PodCounts) -> None:
        self.counts = counts

    def pod_counts(self, now: float) -> PodCounts:
        return self.counts


@needs_numba
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_compiled_inputs_are_the_numpy_ones(data: st.DataObject) -> None:
    """The inputs of the syncs ahead (ready, unready, missing pods and the CPU used, pods
    becoming ready at the first sync at or after their startup, exact sync times
    included) from :func:`kernels.inputs_pass` and ``_group_inputs`` are the same."""
    t = data.draw(st.integers(1, 4), label="templates")
    h = data.draw(st.integers(1, 3), label="hpas")
    s = data.draw(st.integers(1, 3), label="services")
    j = data.draw(st.integers(1, 50), label="syncs")

    def ints(low: int, high: int, *shape: int) -> np.ndarray:
        size = int(np.prod(shape))
        values = data.draw(st.lists(st.integers(low, high), min_size=size, max_size=size))
        return np.array(values, dtype=np.int64).reshape(shape)

    times = SYNC * (40 + np.arange(j, dtype=np.float64))
    k = data.draw(st.integers(0, 6), label="starting")
    ready_at = times[0] + SYNC * (ints(-2, 2 * j, k) / 2.0)  # on and between syncs
    ready, unready, missing = ints(0, 8, t), ints(0, 4, t), ints(0, 2, t)
    starting = ints(0, t - 1, k)
    bound = ready + missing + np.bincount(starting, minlength=t)  # not read by the inputs
    counts = PodCounts(ready, unready, missing, starting, ready_at, bound)
    tids = ints(0, t - 1, h)
    sel = ints(0, 1, s, t)
    feeder = ints(0, s - 1, h)
    rows = np.arange(s, dtype=np.int64) + 1  # the cluster's services in a wider ledger
    group = _HPAGroup(
        state=_Counts(counts),  # type: ignore[arg-type]
        templates=t,
        mine=np.arange(h, dtype=np.int64),
        deps=np.arange(h, dtype=np.int64),
        tids=tids,
        request=ints(100, 1000, h),
        rows=rows,
        sel=sel,
        sel_t=sel[:, tids][None, :, :],
        owned=ints(0, 1, h),
        every=True,
        feeder=feeder,
        feed_sel=np.ascontiguousarray(sel[feeder].T),
        feed_own=sel[feeder, tids],
        feed_rows=rows[feeder],
    )
    demand = np.array(
        data.draw(
            st.lists(
                st.floats(0.0, 50_000.0, allow_nan=False),
                min_size=j * (s + 1),
                max_size=j * (s + 1),
            )
        )
    ).reshape(j, s + 1)
    missing, ready, unready, usage = HorizontalPodAutoscaling._group_inputs(
        group, 0.0, times, demand
    )
    got = [np.empty((j, h), dtype=np.int64) for _ in range(3)]
    got_missing = np.empty(h, dtype=np.int64)
    kernels.kernels()["inputs_pass"](
        times,
        counts.ready,
        counts.unready,
        counts.missing,
        counts.starting,
        counts.ready_at,
        tids,
        group.owned,
        group.feed_sel,
        group.feed_own,
        demand,
        group.feed_rows,
        *got,
        got_missing,
    )
    np.testing.assert_array_equal(got_missing, missing)
    np.testing.assert_array_equal(got[0], np.broadcast_to(ready, (j, h)))
    np.testing.assert_array_equal(got[1], np.broadcast_to(unready, (j, h)))
    np.testing.assert_array_equal(got[2], usage)


@needs_numba
def test_a_hunan_run_is_the_same_with_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three weeks of the Hunan cloud (its HPAs rescale dozens of times a day) give the
    same results, events and HPA counters with the compiled passes and without numba."""

    def run() -> tuple[dict[str, Any], tuple[int, int, int], str]:
        scenario = load_scenario(HUNAN, overrides={"meta.horizon": "21d"})
        sim = Simulation(scenario, 7)
        sim.kernel.run()
        hpa = sim.modules["containers"].cloud.hpa
        counters = (sim.events_processed, hpa.syncs, hpa.rescales)
        return digest(assemble(sim.kernel)), counters, hpa.hpas.kernel

    compiled = run()
    monkeypatch.setattr(compilation, "available", lambda: False)  # every part on numpy
    reference = run()
    assert (compiled[2], reference[2]) == ("numba", "numpy")
    assert compiled[1] == reference[1] and compiled[1][2] > 100
    assert compiled[0] == reference[0]


def test_asking_for_numba_without_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = HPA.model_validate(
        {"name": "web", "deployment": "d", "max_replicas": 2, "target_utilization": 60}
    )
    monkeypatch.setattr(compilation, "available", lambda: False)
    monkeypatch.setattr(kernels.KERNELS, "_compiled", None)
    assert Autoscalers([spec], SYNC).kernel == "numpy"  # auto: the numpy path
    with pytest.raises(ModuleNotFoundError, match=r"cloudsim\[fast\]"):
        Autoscalers([spec], SYNC, kernel="numba")
