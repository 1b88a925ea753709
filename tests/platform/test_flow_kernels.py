"""The compiled moves and completion checks of a flow kind's transfers give exactly what the
numpy path (the reference) gives, bit for bit: on random arrays (sizes across numpy's
pairwise-summation blocks), and through whole runs of random starts, streams, cancels and
cuts; the pairwise sum is numpy's; the compiled max-min solver's rates are the Python
solver's; hand-worked cases for both."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.platform import kernels
from cloudsim.platform.flows import FlowNetwork, _fill
from tests.dr.test_flows import _OPS, Clock

pytest.importorskip("numba", reason="the compiled kernels need numba (cloudsim[fast])")

left_values = st.one_of(st.just(0.0), st.just(1e-7), st.floats(0.0, 1e13, allow_subnormal=False))
rates = st.sampled_from([0.0, 1e-3, 1.0, 1.25e9, 5e12, math.inf])
times = st.sampled_from([0.0, 10.0, 86400.0, 3.1e7, 1e17])


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(left_values, min_size=1, max_size=420),
    spare=st.integers(0, 3),
    step=st.one_of(st.just(0.0), st.floats(0.0, 1e13, allow_subnormal=False)),
)
def test_advance_moves_and_sums_as_numpy(values: list[float], spare: int, step: float) -> None:
    """Each transfer loses ``min(left, step)`` and the bytes moved are ``np.sum``'s (its
    pairwise order, whatever the count); entries past ``m`` are not touched."""
    m = len(values)
    left = np.array(values + [7.0] * spare)
    want, got = left.copy(), left.copy()
    moved_want = kernels.advance_numpy(want, m, step)
    moved_got = kernels.kernels()["advance"](got, m, step)
    assert want.tobytes() == got.tobytes()
    assert np.float64(moved_want).tobytes() == np.float64(moved_got).tobytes()
    assert got[m:].tolist() == [7.0] * spare


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(left_values, min_size=1, max_size=300),
    extra=st.lists(st.floats(0.0, 1e12, allow_subnormal=False), min_size=300, max_size=300),
    rate=rates,
    time=times,
)
def test_done_finds_the_same_transfers_and_least_left_as_numpy(
    values: list[float], extra: list[float], rate: float, time: float
) -> None:
    """The finished transfers (positions, ascending) and the least left of the others."""
    m = len(values)
    left = np.array(values)
    sizes = left + np.array(extra[:m])
    top = float(sizes.max())
    out_want = np.full(m, -1, dtype=np.int64)
    out_got = np.full(m, -1, dtype=np.int64)
    n_want, least_want = kernels.done_numpy(left, sizes, m, top, rate, time, out_want)
    n_got, least_got = kernels.kernels()["done"](left, sizes, m, top, rate, time, out_got)
    assert n_want == n_got
    assert out_want[:n_want].tolist() == out_got[:n_got].tolist()
    assert np.float64(least_want).tobytes() == np.float64(least_got).tobytes()


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 136, 137, 255, 256, 257, 1000, 5000])
def test_the_compiled_sum_is_numpys_pairwise_sum(n: int) -> None:
    """Values of wildly different sizes (a sum that depends on its order): the kernel's
    total is ``np.sum``'s to the bit, and differs from a plain left-to-right sum."""
    rng = np.random.default_rng(n)
    left = rng.random(n) * 10.0 ** rng.uniform(0, 15, n)
    got = kernels.kernels()["advance"](left.copy(), n, math.inf)
    assert np.float64(got).tobytes() == np.float64(left.sum()).tobytes()
    if n == 5000:
        plain = 0.0
        for x in left.tolist():
            plain += x
        assert plain != got  # the case does tell the orders apart


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_hand_worked_moves_and_completions(kernel: str) -> None:
    """Three transfers with 10, 4 and 1e-7 bytes left: a step of 4 leaves 6, 0, 0 and moves
    4 + 4 + 1e-7; at rate 2 the two at 0 are done and 6 is the least left of the rest."""
    net = FlowNetwork(np.array([1.0]), lambda t, a: None, kernel=kernel)
    left = np.array([10.0, 4.0, 1e-7, 99.0])
    assert net._move(left, 3, 4.0) == 4.0 + 4.0 + 1e-7
    assert left.tolist() == [6.0, 0.0, 0.0, 99.0]
    out = np.zeros(3, dtype=np.int64)
    sizes = np.array([10.0, 4.0, 1.0])
    assert net._scan(left, sizes, 3, 10.0, 2.0, 5.0, out) == (2, 6.0)
    assert out[:2].tolist() == [1, 2]
    # nothing near done: the least left, no finished transfer
    assert net._scan(np.array([3.0, 2.0]), sizes, 2, 10.0, 2.0, 5.0, out) == (0, 2.0)


def test_an_unknown_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match="kernel must be"):
        FlowNetwork(np.array([1.0]), lambda t, a: None, kernel="fortran")


@settings(max_examples=60, deadline=None)
@given(ops=_OPS, sizes=st.lists(st.floats(1.0, 4e3), min_size=30, max_size=30))
def test_whole_runs_end_alike_with_either_kernel(
    ops: list[tuple[object, ...]], sizes: list[float]
) -> None:
    """Random starts (many of one kind, past a summation block), streams, cancels, cuts and
    waits: every completion time, every rate and every byte left are the same, bit for
    bit, with the compiled kernels and with numpy."""
    seen: dict[str, list[object]] = {}
    for kernel in ("numpy", "numba"):
        bandwidth = np.array([10.0, 6.0, 3.0])
        cap = bandwidth.copy()
        clock = Clock()
        net = FlowNetwork(cap, clock.schedule, kernel=kernel)
        log: list[object] = []
        started: list[int] = []
        now = 0.0
        # a slot's worth of one kind first: 150 transfers over link 0
        with net.together(now):
            for i in range(150):
                size = sizes[i % len(sizes)] * (1 + i)
                started.append(
                    net.start((0,), size, 2.0, lambda t, i=i, log=log: log.append((i, t)), now)
                )
        for op in ops:
            if op[0] == "start":
                _, links, limit, size = op
                fid = net._next_id
                started.append(fid)
                net.start(links, size, limit, lambda t, fid=fid, log=log: log.append((fid, t)), now)  # type: ignore[arg-type]
            elif op[0] == "stream":
                _, key, links, limit = op
                net.stream(key, links, limit, now)  # type: ignore[arg-type]
            elif op[0] == "cancel":
                net.cancel(started[int(op[1]) % len(started)], now)  # type: ignore[call-overload]
            elif op[0] == "cut":
                _, link, down = op
                cap = cap.copy()
                cap[link] = 0.0 if down else bandwidth[link]  # type: ignore[index]
                net.set_capacity(cap, now)
            else:
                now += op[1]  # type: ignore[operator]
                clock.run(until=now)
            log.append(sorted(net.rates().items()))
            log.append([(f, net.remaining(f, now)) for f in started])
        clock.run()
        log.append(net.carried.tobytes())
        seen[kernel] = log
    assert seen["numpy"] == seen["numba"]


solver_values = st.one_of(
    st.just(0.0),
    st.just(math.inf),
    st.floats(1e-3, 1e10),
    st.sampled_from([1.0, 2.5, 5.0]),
)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), n_links=st.integers(0, 8), n_flows=st.integers(0, 40))
def test_the_compiled_solver_gives_the_python_solvers_rates(
    data: st.DataObject, n_links: int, n_flows: int
) -> None:
    """Random flows (links each crosses, limits, several alike per entry) over random
    capacities, cut links (0) and unlimited ones (inf) among them: the same rates, bit
    for bit, as :func:`cloudsim.platform.flows._fill` (itself checked against the textbook
    progressive filling in ``test_max_min_reference``)."""
    links_of = [
        sorted(data.draw(st.sets(st.integers(0, n_links - 1), max_size=n_links))) if n_links else []
        for _ in range(n_flows)
    ]
    limit = data.draw(st.lists(solver_values, min_size=n_flows, max_size=n_flows))
    capacity = data.draw(st.lists(solver_values, min_size=n_links, max_size=n_links))
    mult = data.draw(st.lists(st.integers(1, 160), min_size=n_flows, max_size=n_flows))
    want = _fill(links_of, limit, capacity, mult)
    starts = np.zeros(n_flows + 1, dtype=np.int64)
    np.cumsum([len(x) for x in links_of], out=starts[1:])
    flat = np.array([k for x in links_of for k in x], dtype=np.int64)
    out = np.full(n_flows, -1.0)
    kernels.kernels()["fill"](
        starts, flat, np.array(limit), np.array(capacity), np.array(mult), out
    )
    assert np.array(want).tobytes() == out.tobytes()


def test_the_compiled_solver_on_a_hand_example() -> None:
    """Link 0 (10) carries flows a, b (limit 2) and c; link 1 (4) carries c (x3 alike)
    and d: b stops at 2; c and d share link 1 at 1 each (4 over 4 flows); a gets 10 - 2
    - 3 = 5."""
    starts = np.array([0, 1, 2, 4, 5])
    flat = np.array([0, 0, 0, 1, 1])
    limits = np.array([math.inf, 2.0, math.inf, math.inf])
    out = np.zeros(4)
    kernels.kernels()["fill"](
        starts, flat, limits, np.array([10.0, 4.0]), np.array([1, 1, 3, 1]), out
    )
    assert out.tolist() == [5.0, 2.0, 1.0, 1.0]
