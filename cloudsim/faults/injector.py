"""The fault injector: one simpy process over one heap of timed fault actions.

Stochastic failures: every component of a class gets its time to failure drawn at once
(one vectorised draw per class); when it fails, a repair crew of the class is taken (or the
repair queues, first come first served), the repair time is drawn, and after the repair the
next time to failure is drawn. Scripted and trace faults are put on the same heap up front.
So a year of a platform costs two heap operations per failure, not a process per host.

Failure domains: a component's failure takes down every host under it (a power domain its
racks' hosts; a data centre or site all of its hosts; a site also its witness); a link or a
witness takes no host, it only changes reachability (:meth:`FaultInjector.removed`). Each
host counts the failed components above it and is up exactly when that count is zero
(:meth:`HostTable.set_up` is the ground truth the placer sees). A degraded link stays up
with packet loss and extra latency (:attr:`FaultInjector.link_loss`); a corrupted system's
data is a fault of its own (no host goes down). Listeners (the DR controller) are told of
every change, after the hosts and local HA have been.

Randomness: each class draws times to failure from its own child of the ``faults`` stream
and repair times from its own child of the ``repairs`` stream, and each trace picks hosts
from its own child, so adding rack failures never changes when hosts fail, and nothing the
placer or the workload does changes which faults happen.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from cloudsim.faults.components import ComponentCatalog
from cloudsim.faults.ha import LocalHA
from cloudsim.faults.trace import read_failure_trace
from cloudsim.scenario.faults import (
    COMPONENT_CLASSES,
    ComponentFaults,
    ExponentialRepair,
    ExponentialTTF,
    Faults,
    FixedRepair,
    LognormalRepair,
    RepairTime,
    TimeToFailure,
    TraceFaults,
    seconds_after,
)
from cloudsim.state.hosts import IntArray

if TYPE_CHECKING:
    from cloudsim.engine import Simulation

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Action = Callable[[float], None]
#: A component as (class, index in its class).
ComponentRef = tuple[str, int]


def draw_time_to_failure(spec: TimeToFailure, rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` times to failure in seconds."""
    if isinstance(spec, ExponentialTTF):
        return rng.exponential(spec.mean, n)
    return spec.scale * rng.weibull(spec.shape, n)


def draw_repair_time(spec: RepairTime, rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` repair times in seconds."""
    if isinstance(spec, LognormalRepair):
        return rng.lognormal(math.log(spec.median), spec.sigma, n)
    if isinstance(spec, ExponentialRepair):
        return rng.exponential(spec.mean, n)
    assert isinstance(spec, FixedRepair)
    return np.full(n, spec.value)


@dataclass
class Outage:
    """One failure: components that went down together, and when they came back."""

    id: int
    label: str
    kind: str  # class of the failed component(s)
    cause: str  # stochastic, scripted or trace
    start: float
    components: tuple[ComponentRef, ...]
    hosts_down: int = 0  # hosts this failure took down (not already down)
    end: float = math.nan
    repair_started: float = math.nan  # stochastic: when a crew took it
    effect: str = "fail"  # fail, degrade (a link) or corrupt (a system's data)


#: ``listener(change, outage, time)`` with change "begin", "end" or "noticed" (corruption).
Listener = Callable[[str, Outage, float], None]


@dataclass
class _Crews:
    size: int | None  # None: unlimited
    busy: int = 0
    queue: deque[tuple[int, Outage]] = field(default_factory=deque)


class FaultInjector:
    """Injects a scenario's faults into a :class:`~cloudsim.engine.Simulation`."""

    def __init__(self, sim: Simulation) -> None:
        faults = sim.scenario.faults or Faults()
        self.sim = sim
        self.spec: Faults = faults
        self.env = sim.env
        self.hosts = sim.hosts
        self.horizon = sim.horizon
        self.catalog = ComponentCatalog(sim.scenario, sim.hosts)
        #: Failed causes per component (down while > 0) and per host (down while > 0).
        self.down = {k: np.zeros(self.catalog.count(k), dtype=np.int64) for k in COMPONENT_CLASSES}
        self.host_down = np.zeros(self.hosts.size, dtype=np.int64)
        self.outages: list[Outage] = []
        self.record = sim.recorder.event
        self.ha = LocalHA(faults.local_ha, sim.platform, self.record, self.schedule)
        classes = len(COMPONENT_CLASSES)
        self._ttf_rng = dict(
            zip(COMPONENT_CLASSES, sim.streams["faults"].spawn(classes), strict=True)
        )
        self._repair_rng = dict(
            zip(COMPONENT_CLASSES, sim.streams["repairs"].spawn(classes), strict=True)
        )
        self._trace_rng = sim.streams["faults"].spawn(len(faults.traces)) if faults.traces else []
        self._rates = faults.rates()
        self._crews = {k: _Crews(spec.crews) for k, spec in self._rates.items()}
        self._heap: list[tuple[float, int, Action]] = []
        self._seq = 0
        self._wake: simpy.Event | None = None
        self._sleeping_until = -math.inf
        self.events = 0
        self._hosts_down_now = 0
        self._down_clock = 0.0
        self._host_down_s = 0.0
        self.listeners: list[Listener] = []
        links = self.catalog.count("link")
        #: Ground truth of degraded links (scenario order): packet loss and extra one-way ms.
        self.link_loss = np.zeros(links)
        self.link_extra_ms = np.zeros(links)
        self._degradations: dict[int, list[tuple[float, float]]] = {}
        self._system_index = {system.name: i for i, system in enumerate(sim.scenario.systems)}

    # -- the heap ---------------------------------------------------------------------------
    def schedule(self, time: float, action: Action) -> None:
        """Run ``action(time)`` at ``time`` (>= now); wakes the process if it sleeps past it."""
        heapq.heappush(self._heap, (time, self._seq, action))
        self._seq += 1
        if self._wake is not None and time < self._sleeping_until and not self._wake.triggered:
            self._wake.succeed()

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The injector's only process: pop due actions in time order until the horizon."""
        self._prime()
        heap = self._heap
        while True:
            due = heap[0][0] if heap else math.inf
            if due >= self.horizon:
                # sleep until someone schedules something earlier, or for good
                self._wake = self.env.event()
                self._sleeping_until = self.horizon
                yield self._wake
                continue
            if due > self.env.now:
                self._wake = self.env.event()
                self._sleeping_until = due
                yield self.env.timeout(due - self.env.now) | self._wake
                self._sleeping_until = -math.inf
                continue
            _, _, action = heapq.heappop(heap)
            self._sleeping_until = -math.inf
            action(self.env.now)
            self.events += 1
            self.sim.events_processed += 1

    def _prime(self) -> None:
        """Initial times to failure (one draw per class), scripted and trace faults."""
        for kind, spec in self._rates.items():
            n = self.catalog.count(kind)
            if n == 0:
                continue
            times = draw_time_to_failure(spec.time_to_failure, self._ttf_rng[kind], n)
            for i, t in enumerate(times.tolist()):
                self.schedule(t, partial(self._fail, kind, i))
        start = self.sim.scenario.meta.start
        for fault in self.spec.scripted:
            first = seconds_after(fault.at, start)
            for n, at in enumerate(fault.starts(first)):
                if at >= self.horizon:
                    break
                label = fault.label if fault.times == 1 else f"{fault.label}#{n}"
                until = at + fault.duration
                if fault.effect == "corrupt":
                    system = self._system_index[fault.target]
                    action = partial(self._corrupt, label, system, until)
                elif fault.effect == "degrade":
                    link = self.catalog.resolve(fault.target).index
                    degradation = (fault.loss, fault.extra_latency_ms)
                    action = partial(self._degrade, label, link, degradation, until)
                else:
                    target = self.catalog.resolve(fault.target)
                    action = partial(self._scripted, label, target.kind, target.index, until)
                self.schedule(at, action)
        for trace, rng in zip(self.spec.traces, self._trace_rng, strict=True):
            self._prime_trace(trace, rng)

    # -- stochastic failures ----------------------------------------------------------------
    def _fail(self, kind: str, index: int, time: float) -> None:
        name = self.catalog.names[kind][index]
        outage = self._begin(name, kind, "stochastic", [(kind, index)], time)
        crews = self._crews[kind]
        if crews.size is None or crews.busy < crews.size:
            self._start_repair(kind, index, outage, time)
        else:
            crews.queue.append((index, outage))

    def _start_repair(self, kind: str, index: int, outage: Outage, time: float) -> None:
        spec: ComponentFaults = self._rates[kind]
        self._crews[kind].busy += 1
        outage.repair_started = time
        duration = float(draw_repair_time(spec.repair, self._repair_rng[kind], 1)[0])
        self.schedule(time + duration, partial(self._repaired, kind, index, outage))

    def _repaired(self, kind: str, index: int, outage: Outage, time: float) -> None:
        spec = self._rates[kind]
        crews = self._crews[kind]
        crews.busy -= 1
        self._end(outage, time)
        ttf = float(draw_time_to_failure(spec.time_to_failure, self._ttf_rng[kind], 1)[0])
        self.schedule(time + ttf, partial(self._fail, kind, index))
        if crews.queue:
            waiting_index, waiting = crews.queue.popleft()
            self._start_repair(kind, waiting_index, waiting, time)

    # -- scripted and trace faults ---------------------------------------------------------
    def _scripted(self, label: str, kind: str, index: int, until: float, time: float) -> None:
        outage = self._begin(label, kind, "scripted", [(kind, index)], time)
        self.schedule(until, partial(self._end, outage))

    def _degrade(
        self, label: str, link: int, degradation: tuple[float, float], until: float, time: float
    ) -> None:
        outage = Outage(
            len(self.outages), label, "link", "scripted", time, (("link", link),), effect="degrade"
        )
        self.outages.append(outage)
        self._degradations.setdefault(link, []).append(degradation)
        self._apply_degradation(link)
        self.record(time, "fault", count=0, reason=label)
        self.schedule(until, partial(self._undegrade, outage, link, degradation))
        self._tell("begin", outage, time)

    def _undegrade(
        self, outage: Outage, link: int, degradation: tuple[float, float], time: float
    ) -> None:
        self._degradations[link].remove(degradation)
        self._apply_degradation(link)
        outage.end = time
        self.record(time, "repair", count=0, reason=outage.label)
        self._tell("end", outage, time)

    def _apply_degradation(self, link: int) -> None:
        active = self._degradations.get(link, [])
        survive = math.prod(1.0 - loss for loss, _ in active)
        self.link_loss[link] = 1.0 - survive
        self.link_extra_ms[link] = sum(extra for _, extra in active)

    def _corrupt(self, label: str, system: int, noticed: float, time: float) -> None:
        """A system's data is corrupted at ``time``; the damage is noticed at ``noticed``;
        the outage ends when DR restores the data (the controller sets ``end``)."""
        outage = Outage(
            len(self.outages),
            label,
            "data",
            "scripted",
            time,
            (("data", system),),
            effect="corrupt",
        )
        self.outages.append(outage)
        self.record(time, "fault", system=system, count=0, reason=label)
        self.schedule(noticed, partial(self._tell, "noticed", outage))
        self._tell("begin", outage, time)

    def _tell(self, change: str, outage: Outage, time: float) -> None:
        for listener in self.listeners:
            listener(change, outage, time)

    def _prime_trace(self, trace: TraceFaults, rng: np.random.Generator) -> None:
        data = read_failure_trace(trace.path)
        if len(data) == 0:
            return
        if trace.scope is None:
            scope = np.arange(self.hosts.size, dtype=np.int64)
        else:
            target = self.catalog.resolve(trace.scope)
            scope = self.catalog.hosts_of(target.kind, target.index)
        offset = seconds_after(trace.start, self.sim.scenario.meta.start)
        period = data.span if trace.repeat and data.span > 0 else math.inf
        number = 0
        while offset < self.horizon:
            for begin, duration, intensity in zip(
                data.start.tolist(), data.duration.tolist(), data.intensity.tolist(), strict=True
            ):
                at = offset + begin
                if at >= self.horizon:
                    break
                count = round(intensity * len(scope))
                if count and duration > 0:
                    label = f"{trace.name}#{number}"
                    self.schedule(
                        at, partial(self._trace_fault, label, scope, count, at + duration, rng)
                    )
                number += 1
            offset += period

    def _trace_fault(
        self,
        label: str,
        scope: IntArray,
        count: int,
        until: float,
        rng: np.random.Generator,
        time: float,
    ) -> None:
        chosen = np.sort(rng.choice(scope, size=count, replace=False))
        outage = self._begin(label, "host", "trace", [("host", int(h)) for h in chosen], time)
        self.schedule(until, partial(self._end, outage))

    # -- ground truth -----------------------------------------------------------------------
    def _with_dependents(self, components: list[ComponentRef]) -> list[ComponentRef]:
        out = list(components)
        for kind, index in components:
            if kind == "site" and index in self.catalog.witness_of_site:
                out.append(("witness", self.catalog.witness_of_site[index]))
        return out

    def _hosts_under(self, components: list[ComponentRef], delta: int) -> IntArray:
        """Apply ``delta`` to the components; hosts under those that changed state."""
        changed: list[IntArray] = []
        for kind, index in components:
            counter = self.down[kind]
            counter[index] += delta
            if counter[index] == (1 if delta > 0 else 0):
                changed.append(self.catalog.hosts_of(kind, index))
        if not changed:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(changed) if len(changed) > 1 else changed[0]

    def _begin(
        self, label: str, kind: str, cause: str, components: list[ComponentRef], time: float
    ) -> Outage:
        full = self._with_dependents(components)
        hosts = self._hosts_under(full, +1)
        was_up = self.host_down[hosts] == 0
        np.add.at(self.host_down, hosts, 1)
        newly = np.unique(hosts[was_up])
        outage = Outage(len(self.outages), label, kind, cause, time, tuple(full), len(newly))
        self.outages.append(outage)
        self.record(
            time,
            "fault",
            host=int(components[0][1]) if kind == "host" and len(components) == 1 else -1,
            count=len(newly),
            reason=label,
        )
        if len(newly):
            self._count_down(time, len(newly))
            self.hosts.set_up(newly, False)
            self.ha.hosts_down(newly, time, label)
        self._tell("begin", outage, time)
        return outage

    def _end(self, outage: Outage, time: float) -> None:
        hosts = self._hosts_under(list(outage.components), -1)
        np.add.at(self.host_down, hosts, -1)
        back = np.unique(hosts[self.host_down[hosts] == 0])
        outage.end = time
        single = outage.kind == "host" and len(outage.components) == 1
        self.record(
            time,
            "repair",
            host=int(outage.components[0][1]) if single else -1,
            count=len(back),
            reason=outage.label,
        )
        if len(back):
            self._count_down(time, -len(back))
            self.hosts.set_up(back, True)
            self.ha.hosts_up(back, time)
        self._tell("end", outage, time)

    def _count_down(self, time: float, change: int) -> None:
        self._host_down_s += self._hosts_down_now * (time - self._down_clock)
        self._down_clock = time
        self._hosts_down_now += change

    # -- queries (for detection and failover policies) --------------------------------------
    def host_down_seconds(self, until: float) -> float:
        """Host-seconds of downtime from the start until ``until`` (>= the last change)."""
        return self._host_down_s + self._hosts_down_now * (until - self._down_clock)

    def is_down(self, name: str) -> bool:
        """Whether a named component is failed right now."""
        component = self.catalog.resolve(name)
        return bool(self.down[component.kind][component.index] > 0)

    def removed(self) -> tuple[str, ...]:
        """Failed sites, data centres and links: the ``without`` of Topology queries."""
        return tuple(
            self.catalog.names[kind][i]
            for kind in ("site", "datacenter", "link")
            for i in np.flatnonzero(self.down[kind]).tolist()
        )
