"""What every controller is: one simpy process that sleeps until it has something to do.

A controller sleeps until it has something to do — a time it computed (a node's grace
period running out, a pod's toleration expiring, the next HPA sync that would change
something) or a poke from another part of the run (a host failed, a pod was evicted,
replicas changed) — and then handles every cluster, deployment, node or autoscaler in one
vectorised step. Nothing ticks per pod, and nothing ticks at all while nothing can happen.

Controllers see the container cloud through :class:`ControlPlane`, and the other parts
they act on (the node pool, the service ledger, another controller to poke) are handed to
them.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from typing import Any, Protocol

import simpy

from cloudsim.containers.runtime import ClusterState
from cloudsim.kernel.wake import timeout_or


class ControlPlane(Protocol):
    """What the controllers share of the container cloud they run in
    (:class:`~cloudsim.containers.cloud.ContainerCloud` is one): the clock and the horizon,
    the clusters, whom to tell that pods or nodes changed, and the run's event count."""

    @property
    def env(self) -> simpy.Environment: ...

    @property
    def horizon(self) -> float: ...

    @property
    def clusters(self) -> Sequence[ClusterState]: ...

    def changed(self, now: float, *, readiness_only: bool = False) -> None:
        """Pods or nodes changed at ``now`` (``readiness_only``: pods finished starting)."""

    def count(self) -> None:
        """Count one processed event (a controller step)."""


class Trigger:
    """Wakes a sleeping controller at the current time (``poke``), or at a time it set."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.poked = False
        self._event: simpy.Event | None = None
        #: The time the pending wait runs out at (inf: only a poke ends it).
        self.until = math.inf

    def poke(self) -> None:
        self.poked = True
        event = self._event
        if event is not None and not event.triggered:
            event.succeed()

    def wait(self, until: float) -> simpy.Event:
        """An event that fires on a poke, or at ``until`` (inf: only on a poke)."""
        env = self.env
        poke = self._event = env.event()
        self.until = until
        if math.isinf(until):
            return poke
        return timeout_or(env, max(until - env.now, 0.0), poke)


class Controller:
    """One process: ``due`` says when to step next (``now``: at once), ``step`` acts."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.env = plane.env
        self.trigger = Trigger(plane.env)
        self.steps = 0

    def poke(self) -> None:
        self.trigger.poke()

    def recheck(self) -> None:
        """Wake to look at ``due`` again (something it depends on changed), not to step.

        A controller waiting for a poke alone whose ``due`` is still never is left
        asleep: waking it would only send it back to the same wait (its wake-up schedules
        nothing else, so the order of every other event is the same either way)."""
        trigger = self.trigger
        event = trigger._event
        if event is None or event.triggered:
            return
        if math.isinf(trigger.until) and math.isinf(self.due(self.env.now)):
            return
        event.succeed()

    def due(self, now: float) -> float:
        raise NotImplementedError

    def step(self, now: float) -> None:
        raise NotImplementedError

    def run(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        horizon = self.plane.horizon
        while True:
            due = self.due(env.now)
            if due > env.now:
                yield self.trigger.wait(due if due < horizon else math.inf)
                if env.now < due:  # poked before the time it set: look again
                    continue
            now = env.now
            self.trigger.poked = False
            self.step(now)
            self.steps += 1
            self.plane.count()


def grid_after(now: float, period: float, strictly: bool = False) -> float:
    """The first multiple of ``period`` at or after (strictly: after) ``now``."""
    k = math.floor(now / period)
    at = k * period
    if at < now - 1e-9 or (strictly and at <= now + 1e-9):
        at = (k + 1) * period
    return at
