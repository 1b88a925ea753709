"""The kernel: one simpy environment, the named random streams, one calendar, the bus, the
run loop and the event count. It imports no subsystem: it runs whatever modules it is given.

Order of a run (the composition root's order of modules is the order below):

1. every module is built from the :class:`Context` (building may take capacity: the
   container cloud provisions its nodes then, before any module starts);
2. ``start()`` of each module (the tenants' initial placement, then DR's warm standbys);
3. processes: those of ``PLATFORM`` modules, then the sampler, then the calendar, then those
   of ``CONTROL`` modules (see :class:`~cloudsim.kernel.module.Stage`);
4. the simulation runs to the horizon; a last sample is taken there; ``finish(horizon)`` of
   each module.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np
import simpy

from cloudsim.kernel.bus import Bus
from cloudsim.kernel.calendar import Calendar
from cloudsim.kernel.context import Context, EventCount
from cloudsim.kernel.module import Module, Stage
from cloudsim.kernel.streams import CORE_STREAMS, Streams
from cloudsim.placement.core import Placer
from cloudsim.platform.components import ComponentState
from cloudsim.platform.links import Links
from cloudsim.platform.platform import Platform
from cloudsim.records import Recorder
from cloudsim.records.types import AvailabilityRules
from cloudsim.state.hosts import HostTable
from cloudsim.world import World

PlacerFactory = Callable[[HostTable, np.random.Generator], Placer]


def default_placer(world: World) -> PlacerFactory:
    """The scenario's ``placement`` section as a placer factory."""
    p = world.scenario.placement

    def build(hosts: HostTable, rng: np.random.Generator) -> Placer:
        return Placer(
            hosts,
            rng,
            preset=p.preset,
            weights=p.weights,
            resource_weights={str(k): v for k, v in p.resource_weights.items()},
            filters=p.filters,
        )

    return build


def default_rules(world: World) -> AvailabilityRules:
    """Without a module saying otherwise: ``required_fraction`` of each system's declared
    VMs, and no system managed by DR."""
    fraction = world.availability.required_fraction
    declared = np.array([s.vm_count for s in world.scenario.systems], dtype=np.float64)
    return AvailabilityRules(
        required=np.ceil(declared * fraction - 1e-9).astype(np.int64),
        managed=np.zeros(len(declared), dtype=np.bool_),
        required_fraction=fraction,
    )


def _check_composition(modules: Sequence[type[Module]]) -> None:
    """Unique names and streams, and every module after those it requires."""
    seen: set[str] = set()
    owner = {stream: "the kernel" for stream in CORE_STREAMS}
    for module in modules:
        if module.name in seen:
            raise ValueError(f"two modules are named {module.name!r}")
        missing = [name for name in module.requires if name not in seen]
        if missing:
            raise ValueError(f"module {module.name!r} needs module {missing[0]!r} before it")
        seen.add(module.name)
        for stream in module.streams:
            if stream in owner:
                raise ValueError(
                    f"module {module.name!r} declares random stream {stream!r}, which "
                    f"{owner[stream]} draws from (a stream has one owner)"
                )
            owner[stream] = f"module {module.name!r}"


class Kernel:
    """Runs ``modules`` (classes, in composition order) over ``world`` with ``seed``."""

    def __init__(
        self,
        world: World,
        seed: int,
        modules: Sequence[type[Module]],
        *,
        placer_factory: PlacerFactory | None = None,
    ) -> None:
        self.world = world
        self.seed = seed
        self.horizon = world.horizon
        self.env = simpy.Environment()
        self.events = EventCount()
        _check_composition(modules)
        self.streams = Streams(seed, (*CORE_STREAMS, *(s for m in modules for s in m.streams)))
        self.calendar = Calendar(self.env, self.horizon, self.events.add)
        self.bus = Bus()
        hosts = world.hosts.copy()
        placer = (placer_factory or default_placer(world))(hosts, self.streams["placement"])
        recorder = Recorder(default_rules(world))
        platform = Platform(world, hosts, placer, recorder.event, self.calendar.schedule)
        components = ComponentState(world.catalog)
        self.ctx = Context(
            world=world,
            env=self.env,
            hosts=hosts,
            platform=platform,
            components=components,
            links=Links(world, hosts, components, self.calendar.schedule),
            recorder=recorder,
            calendar=self.calendar,
            bus=self.bus,
            streams=self.streams,
            seed=seed,
            events=self.events,
        )
        self.modules: list[Module] = [module(self.ctx) for module in modules]
        self._started = False

    @property
    def events_processed(self) -> int:
        return self.events.value

    # -- running --------------------------------------------------------------------------
    def start(self) -> None:
        """Start every module and the processes (idempotent)."""
        if self._started:
            return
        self._started = True
        for module in self.modules:
            module.start()
        self._processes(Stage.PLATFORM)
        self.env.process(self._sampler())
        self.env.process(self.calendar.run())
        self._processes(Stage.CONTROL)

    def _processes(self, stage: Stage) -> None:
        for module in self.modules:
            if module.stage == stage:
                for process in module.processes():
                    self.env.process(process)

    def _sampler(self) -> Generator[simpy.Event, Any, None]:
        interval = self.world.scenario.meta.sample_interval
        k = 0
        while k * interval < self.horizon:
            target = k * interval
            if target > self.env.now:
                yield self.env.timeout(target - self.env.now)
            self.sample()
            k += 1

    def sample(self) -> None:
        """Every module's time series at the current time."""
        now = self.env.now
        for module in self.modules:
            module.sample(now)
        self.events.add()

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 200) -> None:
        """Run to the horizon, take the last sample there and finish every module.

        ``progress`` is called with the simulated time reached, ``steps`` times.
        """
        self.start()
        for k in range(1, steps + 1):
            until = self.horizon * k / steps
            if until > self.env.now:
                self.env.run(until=until)
            if progress is not None:
                progress(until)
        self.sample()  # the state at the horizon
        for module in self.modules:
            module.finish(self.horizon)
