"""The compiled pod-state pass against its numpy reference (identical arrays on random pod
tables), and a run on the numpy path giving the same results as on the compiled one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim import compiled as compilation
from cloudsim import simulate
from cloudsim.containers.kernels import (
    GONE,
    MISSING,
    READY,
    UNREADY,
    pod_states_compiled,
    pod_states_numpy,
    pod_states_pass,
    victims_compiled,
    victims_numpy,
    victims_pass,
)
from cloudsim.containers.pods import BOUND, PENDING, PodPhase
from tests.conftest import build
from tests.containers.builders import deployment, scenario

needs_numba = pytest.mark.skipif(not compilation.available(), reason="numba is not installed")

TIMES = st.sampled_from([0.0, 5.0, 30.0, 45.0, 60.0, 120.0, 300.0])


@st.composite
def pod_tables(draw: Any) -> tuple[Any, ...]:
    """Pod columns over rows [0, n) as a cluster holds them: pending pods are on no node
    and not running, bound pods on a node since a time, ended rows anything."""
    templates = draw(st.integers(1, 4))
    nodes = draw(st.integers(0, 5))
    n = draw(st.integers(0, 40))
    phases = [PENDING, BOUND, int(PodPhase.DELETED), int(PodPhase.EVICTED)]
    phase = np.array(draw(st.lists(st.sampled_from(phases), min_size=n, max_size=n)), np.int8)
    if nodes == 0:
        phase[phase == BOUND] = PENDING
    node = np.array(draw(st.lists(st.integers(0, max(nodes - 1, 0)), min_size=n, max_size=n)))
    since = np.array(draw(st.lists(TIMES, min_size=n, max_size=n)))
    created = np.array(draw(st.lists(TIMES, min_size=n, max_size=n)))
    template = np.array(draw(st.lists(st.integers(0, templates - 1), min_size=n, max_size=n)))
    bound = phase == BOUND
    node = np.where(bound, node, -1).astype(np.int64)
    since = np.where(bound, since, np.nan)
    startup = np.array(draw(st.lists(TIMES, min_size=templates, max_size=templates)))
    node_ok = np.array(draw(st.lists(st.booleans(), min_size=nodes, max_size=nodes)), np.bool_)
    now = draw(st.sampled_from([0.0, 10.0, 45.0, 60.0, 100.0, 400.0]))
    return (phase, node, since, created, template.astype(np.int64), startup, node_ok, now,
            templates)  # fmt: skip


@needs_numba
@settings(max_examples=300, deadline=None)
@given(pod_tables())
def test_compiled_pass_is_the_numpy_pass(table: tuple[Any, ...]) -> None:
    ref = pod_states_numpy(*table)
    fast = pod_states_compiled(*table)
    assert np.array_equal(fast.code, ref.code)
    assert np.array_equal(fast.ready_at, ref.ready_at, equal_nan=True)
    assert fast.until == ref.until
    assert np.array_equal(fast.counts, ref.counts) and fast.counts.dtype == np.int64
    assert np.array_equal(fast.starting_template, ref.starting_template)
    assert np.array_equal(fast.starting_at, ref.starting_at)
    for mask in ("ready", "unready", "missing"):
        assert np.array_equal(getattr(fast, mask), getattr(ref, mask))


@settings(max_examples=200, deadline=None)
@given(pod_tables())
def test_numpy_pass_is_the_pod_by_pod_definition(table: tuple[Any, ...]) -> None:
    phase, node, since, created, template, startup, node_ok, now, templates = table
    found = pod_states_numpy(*table)
    counts = np.zeros((4, templates), dtype=np.int64)  # ready, unready, missing; bound
    starting, until = [], float("inf")
    for i in range(len(phase)):
        t = int(template[i])
        at = since[i] + startup[t]
        if phase[i] == PENDING:
            expected = UNREADY
        elif phase[i] != BOUND:
            expected = GONE
        else:
            counts[3, t] += 1
            started = at <= now or (since[i] <= 0.0 and created[i] <= 0.0)
            if not started:
                until = min(until, at)
            if not node_ok[node[i]]:
                expected = MISSING
            elif started:
                expected = READY
            else:
                expected = UNREADY
                starting.append((t, at))
        assert found.code[i] == expected
        if expected != GONE:
            counts[expected - 1, t] += 1
    assert np.array_equal(found.counts, counts)
    assert found.until == until
    pairs = zip(found.starting_template.tolist(), found.starting_at.tolist(), strict=True)
    assert list(pairs) == starting


@needs_numba
@settings(max_examples=300, deadline=None)
@given(pod_tables(), st.integers(0, 3), st.integers(0, 45), st.data())
def test_compiled_victims_are_the_numpy_victims(
    table: tuple[Any, ...], deployment: int, excess: int, data: st.DataObject
) -> None:
    phase, _, since, created, template, _, _, _, templates = table
    code = pod_states_numpy(*table).code
    owner = data.draw(st.lists(st.integers(-1, 3), min_size=templates, max_size=templates))
    dep_of_tid = np.array(owner, dtype=np.int64)
    started = np.where(np.isnan(since), np.nan, created + 1.0)  # ties on purpose
    args = (code, template, dep_of_tid, phase, started, created, deployment, excess)
    expected = victims_numpy(*args)
    assert np.array_equal(victims_compiled(*args), expected)
    # the order written out: pending, not ready, latest started (not started first), newest
    live = [i for i in range(len(phase)) if code[i] != GONE and owner[template[i]] == deployment]

    def key(i: int) -> tuple[bool, bool, float, float]:
        at = -np.inf if np.isnan(started[i]) else -started[i]
        return (bool(phase[i] == BOUND), bool(code[i] == READY), at, -created[i])

    assert expected.tolist() == sorted(live, key=key)[:excess]


def test_pass_choice() -> None:
    assert pod_states_pass("numpy") is pod_states_numpy
    with pytest.raises(ValueError, match="pod-state kernel must be 'auto', 'numpy' or 'numba'"):
        pod_states_pass("fortran")
    assert victims_pass("numpy") is victims_numpy
    if compilation.available():
        assert pod_states_pass("auto") is pod_states_compiled
        assert victims_pass("auto") is victims_compiled


@needs_numba
def test_a_run_on_the_numpy_pass_is_the_compiled_run(monkeypatch: pytest.MonkeyPatch) -> None:
    data = scenario(
        horizon="3h",
        deployments=[deployment("web", 4, startup="45s"), deployment("api", 2, startup="2m")],
        services=[{"name": "web", "cluster": "k8s", "deployment": "web"}],
        faults={
            "scripted": [{"name": "f", "target": "k8s-a-0001", "at": "20m", "duration": "30m"}],
            "local_ha": {"enabled": False, "restart_time": 0},
        },
    )
    compiled = simulate(build(data), seed=3)
    monkeypatch.setattr(compilation, "available", lambda: False)  # every part on numpy
    reference = simulate(build(data), seed=3)
    assert compiled.summary == reference.summary
    for name in ("pods", "services", "cluster_timeseries"):
        assert compiled.tables[name].equals(reference.tables[name]), name
