"""The simulation: a compiled world, the kernel and the modules the composition root lists.

``Simulation(scenario)`` compiles the scenario's world once (shared with validation), builds
the kernel with the modules the scenario enables, runs it and assembles the results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import simpy

from cloudsim.composition import modules_for, world_of
from cloudsim.kernel import Kernel, Module, PlacerFactory
from cloudsim.placement.core import Placer
from cloudsim.platform.platform import Platform
from cloudsim.records import Recorder
from cloudsim.results import RunResult, assemble
from cloudsim.scenario.schema import Scenario
from cloudsim.state.hosts import HostTable
from cloudsim.world import World


class Simulation:
    """One run of a scenario (``seed`` defaults to ``meta.seed``).

    ``modules`` replaces the composition root's choice (module classes, in order);
    ``placer_factory`` replaces the scenario's placer ``(hosts, rng) -> Placer``.
    """

    def __init__(
        self,
        scenario: Scenario | World,
        seed: int | None = None,
        *,
        placer_factory: PlacerFactory | None = None,
        modules: Sequence[type[Module]] | None = None,
    ) -> None:
        given = scenario if isinstance(scenario, World) else None
        scenario = given.scenario if given is not None else scenario
        assert isinstance(scenario, Scenario)
        chosen = list(modules) if modules is not None else modules_for(scenario)
        if given is not None and modules is None:
            world = given
        else:
            world = world_of(scenario, chosen if modules is not None else None)
        self.scenario = scenario
        self.world = world
        self.seed = scenario.meta.seed if seed is None else seed
        self.kernel = Kernel(world, self.seed, chosen, placer_factory=placer_factory)
        #: The run's modules by name (``sim.modules["dr"].controller``…).
        self.modules: dict[str, Module] = {m.name: m for m in self.kernel.modules}
        self.horizon = world.horizon

    # -- the run's shared parts (for notebooks, tests and ``cloudsim explain``) -------------
    @property
    def env(self) -> simpy.Environment:
        return self.kernel.env

    @property
    def hosts(self) -> HostTable:
        return self.kernel.ctx.hosts

    @property
    def platform(self) -> Platform:
        return self.kernel.ctx.platform

    @property
    def placer(self) -> Placer:
        return self.kernel.ctx.platform.placer

    @property
    def recorder(self) -> Recorder:
        return self.kernel.ctx.recorder

    @property
    def events_processed(self) -> int:
        return self.kernel.events_processed

    # -- running ------------------------------------------------------------------------------
    def start(self) -> None:
        """Place the initial inventory and start the processes (idempotent)."""
        self.kernel.start()

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 200) -> RunResult:
        """Run to the horizon and return the results.

        ``progress`` is called with the simulated time reached, ``steps`` times.
        """
        self.kernel.run(progress, steps)
        return assemble(self.kernel)


def simulate(scenario: Scenario | World, seed: int | None = None) -> RunResult:
    """Run ``scenario`` once; ``seed`` defaults to ``meta.seed``. Returns a RunResult."""
    return Simulation(scenario, seed).run()
