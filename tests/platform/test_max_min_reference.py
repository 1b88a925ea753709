"""The max-min solver against the textbook progressive filling, bit for bit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cloudsim.platform.flows import EPS, max_min_rates


def progressive_filling(
    incidence: np.ndarray, limits: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Every unfrozen flow grows by the same step until a link fills or a flow reaches its
    limit; those freeze; repeat (arrays throughout: the solver's first implementation)."""
    n_links, n_flows = incidence.shape
    rate = np.zeros(n_flows)
    if n_flows == 0:
        return rate
    a = incidence.astype(np.float64)
    residual = capacity.astype(np.float64).copy()
    dead = capacity <= 0
    frozen = (limits <= 0) | (a[dead].sum(axis=0) > 0 if dead.any() else np.zeros(n_flows, bool))
    while not frozen.all():
        active = ~frozen
        count = a[:, active].sum(axis=1)
        per_link = np.divide(residual, count, out=np.full(n_links, np.inf), where=count > 0)
        step = min(
            float(per_link.min()) if n_links else math.inf, float((limits - rate)[active].min())
        )
        if not math.isfinite(step):
            rate[active] = math.inf
            break
        step = max(step, 0.0)
        rate[active] += step
        residual -= count * step
        full = residual <= EPS * np.maximum(capacity, 1.0)
        crossing = a[full].sum(axis=0) > 0 if full.any() else np.zeros(n_flows, bool)
        at_limit = rate >= limits * (1 - EPS)
        rate[at_limit & active] = limits[at_limit & active]
        frozen |= crossing | at_limit
    return rate


@st.composite
def networks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    links = draw(st.integers(0, 6))
    flows = draw(st.integers(0, 30))
    incidence = draw(arrays(np.bool_, (links, flows)))
    value = st.one_of(
        st.just(0.0), st.just(math.inf), st.floats(1e-3, 1e10), st.sampled_from([1.0, 2.5, 5.0])
    )
    limits = draw(arrays(np.float64, flows, elements=value))
    capacity = draw(arrays(np.float64, links, elements=value))
    return incidence, limits, capacity


@settings(max_examples=400, deadline=None)
@given(networks())
def test_the_solver_is_progressive_filling_bit_for_bit(
    network: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    incidence, limits, capacity = network
    got = max_min_rates(incidence, limits, capacity)
    want = progressive_filling(incidence, limits, capacity)
    assert np.array_equal(got, want), (got, want)


def test_many_streams_of_distinct_limits_on_few_links() -> None:
    """DR's shape: 150 asynchronous streams, each its own limit, over 6 links."""
    rng = np.random.default_rng(7)
    incidence = rng.random((6, 150)) < 0.3
    limits = rng.random(150) * 1e9
    capacity = rng.random(6) * 5e9
    assert np.array_equal(
        max_min_rates(incidence, limits, capacity), progressive_filling(incidence, limits, capacity)
    )
