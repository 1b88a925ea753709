"""The simulation: one simpy environment, named random streams, and the wiring of processes.

Processes are few and vectorised: the cloud-host lifecycle (replays the pre-drawn request
stream and a heap of departures) and the utilisation sampler. Nothing else creates them.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from cloudsim.dr.controller import DRController
from cloudsim.faults.injector import FaultInjector
from cloudsim.iaas.platform import Platform
from cloudsim.metrics.recorder import Recorder
from cloudsim.placement.core import Placer
from cloudsim.scenario.schema import Scenario
from cloudsim.state.hosts import HostTable
from cloudsim.topology import Topology
from cloudsim.workload.requests import RequestStream, request_stream

if TYPE_CHECKING:
    from cloudsim.containers.cloud import ContainerCloud
    from cloudsim.results import RunResult

#: Subsystems with a random stream each; a stream depends only on (seed, name), so adding
#: one, or changing how another is used, never changes the numbers the others draw.
STREAMS: tuple[str, ...] = (
    "workload",
    "placement",
    "faults",
    "repairs",
    "detection",
    "containers",
    "policies",
)


def random_stream(seed: int, name: str) -> np.random.Generator:
    """The generator of subsystem ``name`` for run ``seed`` (common random numbers)."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


class Simulation:
    """Builds the world from a scenario and runs it over the horizon."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        *,
        placer_factory: Callable[[HostTable, np.random.Generator], Placer] | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.meta.seed if seed is None else seed
        self.env = simpy.Environment()
        self.streams = {name: random_stream(self.seed, name) for name in STREAMS}
        self.topology = Topology.from_scenario(scenario)
        self.hosts = HostTable.from_scenario(scenario)
        if placer_factory is None:
            p = scenario.placement
            self.placer = Placer(
                self.hosts,
                self.streams["placement"],
                preset=p.preset,
                weights=p.weights,
                resource_weights={str(k): v for k, v in p.resource_weights.items()},
            )
        else:
            self.placer = placer_factory(self.hosts, self.streams["placement"])
        self.recorder = Recorder()
        self.platform = Platform(scenario, self.hosts, self.placer, self.recorder.event)
        self.requests: RequestStream = request_stream(scenario, self.streams["workload"])
        self.horizon = scenario.meta.horizon
        self.events_processed = 0
        self._departures: list[tuple[float, int, int]] = []  # (time, vm_id, row)
        self._started = False
        #: Failures and local HA (cloudsim/faults): one more process, only with a faults section.
        self.faults = (
            FaultInjector(self) if scenario.faults is not None or scenario.dr is not None else None
        )
        #: Disaster recovery (cloudsim/dr): replication tick, monitors, policies.
        self.dr = DRController(self) if scenario.dr is not None else None
        #: The container cloud (cloudsim/containers): clusters and their controllers.
        self.containers = _container_cloud(self) if scenario.containers is not None else None

    # -- processes ----------------------------------------------------------------------
    def _lifecycle(self) -> Generator[simpy.Event, Any, None]:
        """Replays request arrivals and departures in time order (departures first on ties)."""
        req = self.requests
        vms = self.platform.vms
        heap = self._departures
        i = 0
        n = len(req)
        while True:
            next_arrival = float(req.time[i]) if i < n else np.inf
            next_departure = heap[0][0] if heap else np.inf
            t = min(next_arrival, next_departure)
            if t >= self.horizon:
                return
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self.events_processed += 1
            if next_departure <= next_arrival:
                _, vm_id, row = heapq.heappop(heap)
                if vms.live[row] and vms.ints["vm_id"][row] == vm_id:
                    self.platform.delete(row, t)
                continue
            rows = self.platform.request(
                int(req.system[i]), int(req.flavor[i]), int(req.count[i]), t
            )
            end = t + float(req.lifetime[i])
            for row in rows:
                heapq.heappush(heap, (end, int(vms.ints["vm_id"][row]), row))
            i += 1

    def _sampler(self) -> Generator[simpy.Event, Any, None]:
        interval = self.scenario.meta.sample_interval
        k = 0
        while k * interval < self.horizon:
            target = k * interval
            if target > self.env.now:
                yield self.env.timeout(target - self.env.now)
            self.sample()
            k += 1

    def sample(self) -> None:
        vms = self.platform.vms
        self.recorder.sample(self.env.now, self.hosts, vms.ints["host"][vms.live])
        if self.containers is not None:
            self.containers.sample(self.env.now)
        self.events_processed += 1

    # -- running ------------------------------------------------------------------------
    def start(self) -> None:
        """Place the initial inventory and start the processes (idempotent)."""
        if self._started:
            return
        self._started = True
        if self.containers is not None:  # first: bare-metal nodes leave IaaS placement
            self.containers.start()
            for process in self.containers.processes():
                self.env.process(process)
        self.platform.place_initial()
        self.env.process(self._lifecycle())
        self.env.process(self._sampler())
        if self.faults is not None:
            self.env.process(self.faults.run())
        if self.dr is not None:
            self.dr.start()
            self.env.process(self.dr.run())

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 200) -> RunResult:
        """Run to the horizon and return the results.

        ``progress`` is called with the simulated time reached, ``steps`` times.
        """
        from cloudsim.results import build_result

        self.start()
        for k in range(1, steps + 1):
            until = self.horizon * k / steps
            if until > self.env.now:
                self.env.run(until=until)
            if progress is not None:
                progress(until)
        self.sample()  # the state at the horizon
        if self.dr is not None:
            self.dr.finish(self.horizon)
        return build_result(self)


def _container_cloud(sim: Simulation) -> ContainerCloud:
    from cloudsim.containers.cloud import ContainerCloud

    return ContainerCloud(sim)


def simulate(scenario: Scenario, seed: int | None = None) -> RunResult:
    """Run ``scenario`` once; ``seed`` defaults to ``meta.seed``. Returns a RunResult."""
    return Simulation(scenario, seed).run()
