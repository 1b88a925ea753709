"""The fault injector: failures as timed actions on the kernel's calendar.

Stochastic failures: every component of a class (or the subset its ``only`` selects: by
name, centre, centre role or pool) gets its time to failure drawn at once
(one vectorised draw per class, when the calendar starts); when it fails, a repair crew of
its pool is taken (its repair group's or its class's: :mod:`cloudsim.faults.repairs`; or
the repair queues, in priority order), the repair time is drawn, and after the repair the
next time to failure is drawn. Scripted and trace faults
are put on the calendar up front, and so are random (Poisson) data corruptions of the
systems ``faults.corruption`` selects (their own ``corruption`` stream). So a year of a
platform costs two calendar operations per failure, not a process per host.

Failure domains: a component's failure takes down every host under it (a power domain its
racks' hosts; a data centre or site all of its hosts; a site also its witness); a link or a
witness takes no host, it only changes reachability (the run's
:class:`~cloudsim.platform.components.ComponentState`). Each host counts the failed
components above it and is up exactly when that count is zero (:meth:`HostTable.set_up` is
the ground truth the placer sees). A degraded link stays up with packet loss and extra
latency; a corrupted system's data is a fault of its own (no host goes down). Each change
updates the host table and local HA first, then is published on the bus (topic
``"outage"``) for DR and the container cloud; every failure is an
:class:`~cloudsim.records.Outage` record.

Randomness: each class draws times to failure from its own child of the ``faults`` stream
and repair times from its own child of the ``repairs`` stream, and each trace picks hosts
from its own child, so adding rack failures never changes when hosts fail, and nothing the
placer or the workload does changes which faults happen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fnmatch import fnmatchcase
from functools import partial
from typing import Any

import numpy as np

from cloudsim.faults.repairs import RepairCrews
from cloudsim.faults.trace import read_failure_trace
from cloudsim.kernel import Context
from cloudsim.records import EventKind, Outage
from cloudsim.records.types import ComponentRef
from cloudsim.scenario.faults import (
    COMPONENT_CLASSES,
    ComponentFaults,
    ExponentialRepair,
    ExponentialTTF,
    Faults,
    FixedRepair,
    LognormalRepair,
    RandomCorruption,
    RepairTime,
    TimeToFailure,
    TraceFaults,
    seconds_after,
)
from cloudsim.state.hosts import IntArray

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Action = Callable[[float], None]


def draw_time_to_failure(spec: TimeToFailure, rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` times to failure in seconds."""
    if isinstance(spec, ExponentialTTF):
        return rng.exponential(spec.mean, n)
    return spec.scale * rng.weibull(spec.shape, n)


def typical_repair_time(spec: RepairTime) -> float:
    """What an operations team announces for a repair: the median of a lognormal, the
    mean of an exponential, the value of a fixed repair time."""
    if isinstance(spec, LognormalRepair):
        return float(spec.median)
    if isinstance(spec, ExponentialRepair):
        return float(spec.mean)
    assert isinstance(spec, FixedRepair)
    return float(spec.value)


def draw_repair_time(spec: RepairTime, rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` repair times in seconds."""
    if isinstance(spec, LognormalRepair):
        return rng.lognormal(math.log(spec.median), spec.sigma, n)
    if isinstance(spec, ExponentialRepair):
        return rng.exponential(spec.mean, n)
    assert isinstance(spec, FixedRepair)
    return np.full(n, spec.value)


class FaultInjector:
    """Injects a scenario's faults into one run (see the module docstring)."""

    def __init__(self, ctx: Context, spec: Faults) -> None:
        self.spec = spec
        self.world = ctx.world
        self.hosts = ctx.hosts
        self.horizon = ctx.horizon
        self.catalog = ctx.world.catalog
        self.state = ctx.components
        self.down = self.state.down
        #: Failed causes per host (down while > 0).
        self.host_down = np.zeros(self.hosts.size, dtype=np.int64)
        self.recorder = ctx.recorder
        self.outages: list[Outage] = ctx.recorder.outages
        self.record = ctx.recorder.event
        self.ha = ctx.platform.ha
        self.schedule = ctx.calendar.schedule
        self.bus = ctx.bus
        classes = len(COMPONENT_CLASSES)
        faults_rng, repairs_rng = ctx.stream("faults"), ctx.stream("repairs")
        self._ttf_rng = dict(zip(COMPONENT_CLASSES, faults_rng.spawn(classes), strict=True))
        self._repair_rng = dict(zip(COMPONENT_CLASSES, repairs_rng.spawn(classes), strict=True))
        self._trace_rng = faults_rng.spawn(len(spec.traces)) if spec.traces else []
        self._corruption_rng = ctx.stream("corruption")
        #: Each system's corruption in progress (random corruptions skip a corrupted system).
        self._corrupted: dict[int, Outage] = {}
        self._rates = spec.rates()
        self.crews = RepairCrews(self.catalog, spec, self.schedule)
        self._hosts_down_now = 0
        self._down_clock = 0.0
        self._host_down_s = 0.0
        self._degradations: dict[int, list[tuple[float, float]]] = {}

    def prime(self) -> None:
        """Initial times to failure (one draw per class), scripted and trace faults (called
        when the calendar starts)."""
        for kind, spec in self._rates.items():
            members = self.catalog.select(kind, spec.only)
            if members.size == 0:
                continue
            times = draw_time_to_failure(spec.time_to_failure, self._ttf_rng[kind], members.size)
            for i, t in zip(members.tolist(), times.tolist(), strict=True):
                self.schedule(t, partial(self._fail, kind, i))
        start = self.world.scenario.meta.start
        for fault in self.spec.scripted:
            first = seconds_after(fault.at, start)
            for n, at in enumerate(fault.starts(first)):
                if at >= self.horizon:
                    break
                label = fault.label if fault.times == 1 else f"{fault.label}#{n}"
                until = at + fault.duration
                if fault.effect == "corrupt":
                    system = self.world.systems.index_of(fault.target)
                    action = partial(self._corrupt, label, system, until)
                elif fault.effect == "degrade":
                    link = self.catalog.resolve(fault.target).index
                    degradation = (fault.loss, fault.extra_latency_ms)
                    action = partial(self._degrade, label, link, degradation, until)
                elif fault.crew:
                    target = self.catalog.resolve(fault.target)
                    action = partial(
                        self._scripted_for_crew,
                        label,
                        target.kind,
                        target.index,
                        fault.duration,
                        fault.expected_repair or fault.duration,
                    )
                else:
                    target = self.catalog.resolve(fault.target)
                    expected = at + (fault.expected_repair or fault.duration)
                    action = partial(
                        self._scripted, label, target.kind, target.index, until, expected
                    )
                self.schedule(at, action)
        for trace, rng in zip(self.spec.traces, self._trace_rng, strict=True):
            self._prime_trace(trace, rng)
        if self.spec.corruption is not None:
            self._prime_corruption(self.spec.corruption, self._corruption_rng)

    def _prime_corruption(self, spec: RandomCorruption, rng: np.random.Generator) -> None:
        """Poisson corruption times of every selected system, in system order (one stream:
        the same corruptions whatever the rest of the run does)."""
        names = list(self.world.systems)
        for system, name in enumerate(names):
            if not any(fnmatchcase(name, glob) for glob in spec.systems):
                continue
            at = 0.0
            number = 0
            while True:
                at += float(rng.exponential(spec.mean_interval))
                if at >= self.horizon:
                    break
                noticed = at + float(draw_repair_time(spec.noticed_after, rng, 1)[0])
                label = f"{spec.name}:{name}#{number}"
                self.schedule(at, partial(self._random_corrupt, label, system, noticed))
                number += 1

    def _random_corrupt(self, label: str, system: int, noticed: float, time: float) -> None:
        ongoing = self._corrupted.get(system)
        if ongoing is not None and math.isnan(ongoing.end):
            return  # still corrupted: not restored yet
        self._corrupt(label, system, noticed, time, "stochastic")
        self._corrupted[system] = self.outages[-1]

    # -- stochastic failures ----------------------------------------------------------------
    def _fail(self, kind: str, index: int, time: float) -> None:
        name = self.catalog.names[kind][index]
        outage = self._begin(name, kind, "stochastic", [(kind, index)], time)
        self.crews.request(
            kind, index, time, partial(self._start_repair, kind, index, outage), time
        )

    def _start_repair(self, kind: str, index: int, outage: Outage, time: float) -> None:
        spec: ComponentFaults = self._rates[kind]
        outage.repair_started = time
        outage.expected_end = time + typical_repair_time(spec.repair)
        duration = float(draw_repair_time(spec.repair, self._repair_rng[kind], 1)[0])
        self.schedule(time + duration, partial(self._repaired, kind, index, outage))

    def _repaired(self, kind: str, index: int, outage: Outage, time: float) -> None:
        spec = self._rates[kind]
        self._end(outage, time)
        ttf = float(draw_time_to_failure(spec.time_to_failure, self._ttf_rng[kind], 1)[0])
        self.schedule(time + ttf, partial(self._fail, kind, index))
        self.crews.release(kind, index, time)

    # -- scripted and trace faults ---------------------------------------------------------
    def _scripted(
        self, label: str, kind: str, index: int, until: float, expected: float, time: float
    ) -> None:
        outage = self._begin(label, kind, "scripted", [(kind, index)], time, expected)
        self.schedule(until, partial(self._end, outage))

    def _scripted_for_crew(
        self, label: str, kind: str, index: int, repair: float, expected: float, time: float
    ) -> None:
        """A scripted failure whose repair (``repair`` s, announced as ``expected`` s) is
        carried out by a crew of the component's pool, once one is free."""
        outage = self._begin(label, kind, "scripted", [(kind, index)], time, time + expected)
        start = partial(self._start_scripted_repair, kind, index, outage, repair, expected)
        self.crews.request(kind, index, time, start, time)

    def _start_scripted_repair(
        self, kind: str, index: int, outage: Outage, repair: float, expected: float, time: float
    ) -> None:
        outage.repair_started = time
        outage.expected_end = time + expected
        self.schedule(time + repair, partial(self._scripted_repaired, kind, index, outage))

    def _scripted_repaired(self, kind: str, index: int, outage: Outage, time: float) -> None:
        self._end(outage, time)
        self.crews.release(kind, index, time)

    def _degrade(
        self, label: str, link: int, degradation: tuple[float, float], until: float, time: float
    ) -> None:
        outage = Outage(
            len(self.outages), label, "link", "scripted", time, (("link", link),), effect="degrade"
        )
        self.outages.append(outage)
        self._degradations.setdefault(link, []).append(degradation)
        self._apply_degradation(link)
        self.record(time, EventKind.FAULT, count=0, reason=label)
        self.schedule(until, partial(self._undegrade, outage, link, degradation))
        self._tell("begin", outage, time)

    def _undegrade(
        self, outage: Outage, link: int, degradation: tuple[float, float], time: float
    ) -> None:
        self._degradations[link].remove(degradation)
        self._apply_degradation(link)
        outage.end = time
        self.record(time, EventKind.REPAIR, count=0, reason=outage.label)
        self._tell("end", outage, time)

    def _apply_degradation(self, link: int) -> None:
        active = self._degradations.get(link, [])
        survive = math.prod(1.0 - loss for loss, _ in active)
        self.state.link_loss[link] = 1.0 - survive
        self.state.link_extra_ms[link] = sum(extra for _, extra in active)

    def _corrupt(
        self, label: str, system: int, noticed: float, time: float, cause: str = "scripted"
    ) -> None:
        """A system's data is corrupted at ``time``; the damage is noticed at ``noticed``;
        the outage ends when DR restores the data (the controller sets ``end``)."""
        outage = Outage(
            len(self.outages),
            label,
            "data",
            cause,
            time,
            (("data", system),),
            effect="corrupt",
            noticed=noticed,
        )
        self.outages.append(outage)
        self.record(time, EventKind.FAULT, system=system, count=0, reason=label)
        self.schedule(noticed, partial(self._tell, "noticed", outage))
        self._tell("begin", outage, time)

    def _tell(self, change: str, outage: Outage, time: float) -> None:
        self.bus.publish("outage", change, outage, time)

    def _prime_trace(self, trace: TraceFaults, rng: np.random.Generator) -> None:
        data = read_failure_trace(trace.path)
        if len(data) == 0:
            return
        if trace.scope is None:
            scope = np.arange(self.hosts.size, dtype=np.int64)
        else:
            target = self.catalog.resolve(trace.scope)
            scope = self.catalog.hosts_of(target.kind, target.index)
        offset = seconds_after(trace.start, self.world.scenario.meta.start)
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
        outage = self._begin(
            label, "host", "trace", [("host", int(h)) for h in chosen], time, until
        )
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
        self,
        label: str,
        kind: str,
        cause: str,
        components: list[ComponentRef],
        time: float,
        expected_end: float = math.nan,
    ) -> Outage:
        full = self._with_dependents(components)
        hosts = self._hosts_under(full, +1)
        was_up = self.host_down[hosts] == 0
        np.add.at(self.host_down, hosts, 1)
        newly = np.unique(hosts[was_up])
        outage = Outage(len(self.outages), label, kind, cause, time, tuple(full), len(newly))
        outage.expected_end = expected_end
        self.outages.append(outage)
        self.record(
            time,
            EventKind.FAULT,
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
            EventKind.REPAIR,
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
