"""``timeout | event`` without simpy's condition machinery, in the same order.

A process that sleeps until a time unless woken earlier (the calendar, each container
controller) would yield ``env.timeout(delay) | poke``: a :class:`simpy.Condition`, built,
checked and torn down at every wait. :func:`timeout_or` gives an event that fires the same
way and at the same place in simpy's queue: whichever of the timeout and ``poke`` is
processed first schedules it, as the condition schedules itself, so the waiting process
resumes one step after it, exactly when it would have; the later one finds it triggered
and does nothing (as the condition, which has fired, ignores it). Event order, and so every
result, is the same; a wait costs two callbacks instead of a condition.
"""

from __future__ import annotations

from functools import partial

import simpy


def timeout_or(env: simpy.Environment, delay: float, poke: simpy.Event) -> simpy.Event:
    """An event that fires after ``delay`` or when ``poke`` is processed, whichever first
    (``poke`` must not be processed yet)."""
    wake = env.event()
    relay = partial(_relay, wake)
    env.timeout(delay).callbacks.append(relay)
    assert poke.callbacks is not None, "poke was already processed"
    poke.callbacks.append(relay)
    return wake


def _relay(wake: simpy.Event, _: simpy.Event) -> None:
    if not wake.triggered:
        wake.succeed()
