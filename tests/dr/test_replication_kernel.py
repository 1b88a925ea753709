"""The compiled advance of the replication queues leaves every array exactly as the numpy
path (the reference) does, bit for bit, through random inputs, pieces across hour edges,
synchronous pairs out of sync and resyncing, and drops between advances; and both agree
with a hand-worked piece."""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.dr import kernels
from cloudsim.dr.replication import Replication

pytest.importorskip("numba", reason="the compiled kernel needs numba (cloudsim[fast])")

HOUR = 3600.0
SHAPES = [tuple([1.0] * 24), tuple(float(1 + h % 5) for h in range(24))]

amounts = st.one_of(st.just(0.0), st.floats(0.0, 1e7, allow_subnormal=False))
fractions = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, allow_subnormal=False))


@st.composite
def systems(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(1, 6))
    vec = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    return {
        "rates": vec(st.floats(1.0, 1e7, allow_subnormal=False)),
        "shapes": vec(st.sampled_from(SHAPES)),
        "write_on": vec(fractions),
        "async_in": vec(fractions),
        "async_cap": vec(amounts),
        "mirror_in": [vec(fractions), vec(fractions)],
        "mirror_cap": vec(amounts),
        "away_in": vec(fractions),
        "backlog": vec(amounts),
        "mirror": [vec(amounts), vec(amounts)],
        "mirrored": draw(st.booleans()),
        # advances (seconds after the previous one: 0, within the hour, across edges) and
        # whether a system's mirror and async queue are dropped before each
        "steps": draw(
            st.lists(
                st.tuples(
                    st.one_of(st.just(0.0), st.floats(0.0, 3 * HOUR), st.just(HOUR)),
                    st.integers(-1, n - 1),
                ),
                min_size=1,
                max_size=8,
            )
        ),
        "start": draw(st.one_of(st.just(0.0), st.floats(0.0, 2 * 86400.0))),
    }


def build(case: dict[str, object], kernel: str) -> Replication:
    repl = Replication(np.array(case["rates"]), list(case["shapes"]), kernel=kernel)  # type: ignore[call-overload]
    for name in ("write_on", "async_in", "async_cap", "mirror_cap", "away_in", "backlog"):
        getattr(repl, name)[:] = case[name]
    if case["mirrored"]:
        repl.mirror_in[:] = np.array(case["mirror_in"]).T
        repl.mirror[:] = np.array(case["mirror"]).T
    repl.clock = float(case["start"])  # type: ignore[arg-type]
    return repl


def blocks(repl: Replication) -> tuple[bytes, bytes, float]:
    return repl._inputs.tobytes(), repl._state.tobytes(), repl.clock


@settings(max_examples=300, deadline=None)
@given(systems())
def test_the_compiled_advance_is_the_numpy_advance_bit_for_bit(case: dict[str, object]) -> None:
    reference, compiled = build(case, "numpy"), build(case, "numba")
    assert reference._advance is kernels.advance_numpy
    assert compiled._advance is not kernels.advance_numpy
    t = float(case["start"])  # type: ignore[arg-type]
    for gap, dropped in case["steps"]:  # type: ignore[attr-defined]
        t += gap
        for repl in (reference, compiled):
            if dropped >= 0:
                repl.drop_mirror(dropped, 0)
                repl.drop_async(dropped)
            repl.advance(t)
        assert blocks(compiled) == blocks(reference)


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_a_piece_by_hand(kernel: str) -> None:
    """One system writing 1 MB/s flat, async link 0.4 MB/s, a pair side unmirrored with a
    resync of 0.25 MB/s, half its writes away; 30 min from 00:45 is two pieces (15 min,
    then 15 min from 01:00), the same sums either way with these exact binary values."""
    repl = Replication(np.array([1e6]), [SHAPES[0]], kernel=kernel)
    repl.write_on[0] = 1.0
    repl.async_in[0] = 1.0
    repl.async_cap[0] = 4e5
    repl.mirror_in[0] = (1.0, 0.0)
    repl.mirror_cap[0] = 2.5e5
    repl.away_in[0] = 0.5
    repl.clock = 2700.0
    repl.advance(4500.0)
    assert repl.written[0] == 1.8e9
    assert repl.async_total_in[0] == 1.8e9
    assert repl.shipped[0] == 4e5 * 1800
    assert repl.backlog[0] == 1.8e9 - 4e5 * 1800
    assert repl.mirror_total_in[0] == 1.8e9
    assert repl.resynced[0] == 2.5e5 * 1800
    assert tuple(repl.mirror[0]) == (1.8e9 - 2.5e5 * 1800, 0.0)
    assert repl.away[0] == 0.9e9
    assert repl.clock == 4500.0
    assert repl.conserved()


def test_an_unknown_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match="'auto', 'numpy' or 'numba'"):
        Replication(np.array([1.0]), [SHAPES[0]], kernel="fortran")


changes = st.lists(
    st.tuples(
        st.floats(0.0, 2 * HOUR),  # seconds after the previous change
        st.integers(0, 2),  # which system
        st.sampled_from(["stop", "start", "flight", "cut", "link"]),
        st.floats(0.0, 60.0),  # the new in-flight time or link share
    ),
    max_size=10,
)


@settings(max_examples=60, deadline=None)
@given(changes)
def test_the_compiled_tick_samples_as_the_numpy_tick(
    script: list[tuple[float, int, str, float]],
) -> None:
    """Two runs of the same changes, ticks every 10 minutes for 12 hours: the compiled
    sample of kept lags leaves the sums, counts, maxima and last lags identical."""
    import simpy

    from cloudsim.dr.control.tick import ReplicationTick

    runs = []
    for kernel in ("numpy", "numba"):
        env = simpy.Environment()
        repl = Replication(
            np.array([1e6, 2e6, 5e5]), [SHAPES[1]] * 3, np.array([60.0, 0.0, 30.0]), kernel=kernel
        )
        repl.write_on[:] = 1.0
        repl.async_in[:] = 1.0
        repl.async_cap[:] = 4e6
        repl.flight[:] = 5.0
        plans = [types.SimpleNamespace(async_to=1, write_rate=1.0)] * 3
        tick = ReplicationTick(env, repl, plans, 600.0, 12 * HOUR, lambda: None, kernel=kernel)  # type: ignore[arg-type]

        def play(repl: Replication = repl, env: simpy.Environment = env):  # type: ignore[no-untyped-def]
            for gap, s, what, x in script:
                yield env.timeout(gap)
                repl.advance(env.now)
                if what == "stop":
                    repl.set_flow(s, 0.0, 1.0)
                elif what == "start":
                    repl.set_flow(s, 1.0, 1.0)
                elif what == "flight":
                    repl.flight[s] = x
                elif what == "cut":
                    repl.async_cap[s] = 0.0
                else:
                    repl.async_cap[s] = x * 1e5

        env.process(play())
        env.process(tick.run())
        env.run()
        runs.append(tick)
    reference, compiled = runs
    for name in ("lag_sum", "lag_samples", "lag_max", "last_lag"):
        assert getattr(compiled, name).tobytes() == getattr(reference, name).tobytes(), name
