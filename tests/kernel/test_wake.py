"""``timeout_or`` resumes processes exactly when, and in the order, ``timeout | poke`` does."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.kernel.wake import timeout_or

Wait = Callable[[simpy.Environment, float, simpy.Event], simpy.Event]


def _condition(env: simpy.Environment, delay: float, poke: simpy.Event) -> simpy.Event:
    return env.timeout(delay) | poke


def _trace(plan: list[tuple[list[int], list[tuple[int, int]]]], wait: Wait) -> list[Any]:
    """Sleepers (each: delays of its successive waits) and pokers (time, sleeper poked,
    running at that time); returns who resumed when, and who poked whom, in order."""
    env = simpy.Environment()
    log: list[Any] = []
    pokes: list[simpy.Event | None] = [None] * len(plan)

    def sleeper(k: int, delays: list[int]) -> Generator[simpy.Event, Any, None]:
        for delay in delays:
            poke = pokes[k] = env.event()
            yield wait(env, float(delay), poke)
            log.append(("resume", k, env.now))

    def poker(at: int, k: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(float(at))
        poke = pokes[k]
        if poke is not None and not poke.triggered:
            poke.succeed()
            log.append(("poke", k, env.now))

    for k, (delays, _) in enumerate(plan):
        env.process(sleeper(k, delays))
    for _, poked in plan:
        for at, target in poked:
            env.process(poker(at, target % len(plan)))
    env.run()
    return log


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=5),
            st.lists(
                st.tuples(st.integers(min_value=0, max_value=20), st.integers(0, 7)), max_size=4
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_same_resumptions_in_the_same_order_as_a_condition(
    plan: list[tuple[list[int], list[tuple[int, int]]]],
) -> None:
    assert _trace(plan, timeout_or) == _trace(plan, _condition)


def test_a_poke_before_the_time_wakes_once_and_the_timeout_then_does_nothing() -> None:
    env = simpy.Environment()
    poke = env.event()
    wake = timeout_or(env, 10.0, poke)
    woken: list[float] = []
    wake.callbacks.append(lambda _: woken.append(env.now))  # type: ignore[union-attr]
    env.run(until=3)
    poke.succeed()
    env.run()
    assert woken == [3.0]


def test_a_processed_poke_is_refused() -> None:
    env = simpy.Environment()
    poke = env.event()
    poke.succeed()
    env.run()
    with pytest.raises(AssertionError, match="already processed"):
        timeout_or(env, 1.0, poke)
