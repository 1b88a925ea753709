"""When a controller process wakes: a poke steps it, a recheck only makes it look at ``due``
again, and a recheck that cannot change anything (it waits for a poke alone and ``due`` is
still never) leaves it asleep."""

from __future__ import annotations

import math
from collections.abc import Sequence

import simpy

from cloudsim.containers.controllers import Controller
from cloudsim.containers.runtime import ClusterState


class _Plane:
    """The smallest :class:`~cloudsim.containers.controllers.ControlPlane`."""

    def __init__(self, env: simpy.Environment, horizon: float) -> None:
        self._env = env
        self._horizon = horizon
        self.events = 0

    @property
    def env(self) -> simpy.Environment:
        return self._env

    @property
    def horizon(self) -> float:
        return self._horizon

    @property
    def clusters(self) -> Sequence[ClusterState]:
        return ()

    def changed(self, now: float, *, readiness_only: bool = False) -> None:
        pass

    def count(self) -> None:
        self.events += 1


class _Timer(Controller):
    """Steps when poked or at ``at`` (inf: never); counts the waits it went to sleep in."""

    def __init__(self, plane: _Plane) -> None:
        super().__init__(plane)
        self.at = math.inf
        self.sleeps = 0
        self.stepped: list[float] = []
        wait = self.trigger.wait

        def counted(until: float) -> simpy.Event:
            self.sleeps += 1
            return wait(until)

        self.trigger.wait = counted  # type: ignore[method-assign]

    def due(self, now: float) -> float:
        if self.trigger.poked:
            return now
        return max(self.at, now)

    def step(self, now: float) -> None:
        self.stepped.append(now)
        self.at = math.inf


def _run(actions: list[tuple[float, str, float]]) -> tuple[_Timer, _Plane]:
    """A timer controller and a driver doing ``actions`` (time, what, new ``at``)."""
    env = simpy.Environment()
    plane = _Plane(env, 1000.0)
    timer = _Timer(plane)

    def driver() -> simpy.events.ProcessGenerator:
        for time, what, at in actions:
            yield env.timeout(time - env.now)
            timer.at = at
            if what == "poke":
                timer.poke()
            else:
                timer.recheck()

    env.process(timer.run())
    env.process(driver())
    env.run(until=1000.0)
    return timer, plane


def test_a_recheck_that_changes_nothing_leaves_a_sleeping_controller_asleep() -> None:
    timer, plane = _run([(10.0, "recheck", math.inf), (20.0, "recheck", math.inf)])
    assert timer.sleeps == 1  # it went to sleep at 0 and was never woken
    assert timer.stepped == [] and plane.events == 0


def test_a_recheck_that_sets_a_time_wakes_the_controller_then_it_steps_at_that_time() -> None:
    timer, plane = _run([(10.0, "recheck", 50.0)])
    assert timer.stepped == [50.0] and plane.events == 1
    assert timer.sleeps == 3  # at 0, after the recheck at 10, after the step at 50


def test_a_recheck_of_a_controller_waiting_for_its_own_time_always_wakes_it() -> None:
    # waiting on a timer: a recheck wakes it even when due stays the same, so the order of
    # simultaneous events is the one a fresh wait gives
    timer, _ = _run([(5.0, "recheck", 40.0), (10.0, "recheck", 40.0)])
    assert timer.stepped == [40.0]
    assert timer.sleeps == 4  # at 0, after each recheck, after the step at 40


def test_a_poke_always_steps() -> None:
    timer, plane = _run([(10.0, "poke", math.inf), (30.0, "poke", math.inf)])
    assert timer.stepped == [10.0, 30.0] and plane.events == 2
    assert timer.sleeps == 3


def test_endpoints_step_only_when_a_pod_becomes_ready() -> None:
    """The Endpoints controller watches starting pods: a cluster change that makes no pod
    ready (a pod created, deleted, rescheduled) only makes it look at its due time again.
    In ten days of Hunan every step it takes is at an instant a starting pod became ready
    (it stepped after every cluster change, 25,085 of a year's 106,396 events, for nothing)."""
    from cloudsim import Simulation, load_scenario
    from cloudsim.containers.module import ContainersModule

    scenario = load_scenario("scenarios/hunan-3s4c.yaml", overrides={"meta.horizon": "10d"})
    sim = Simulation(scenario, 7)
    module = sim.modules["containers"]
    assert isinstance(module, ContainersModule)
    cloud = module.cloud
    endpoints = cloud.endpoints
    became_ready: list[bool] = []
    step = endpoints.step

    def watched(now: float) -> None:
        # a pod became ready now: just before now, the next readiness was due at now
        before = min(cs.next_ready(now - 1e-6) for cs in cloud.clusters)
        became_ready.append(abs(before - now) < 1e-6)
        step(now)

    endpoints.step = watched  # type: ignore[method-assign]
    sim.kernel.run()
    assert became_ready and all(became_ready), became_ready.count(False)
    assert cloud.replicasets.steps > len(became_ready) / 4  # pods did start and change
