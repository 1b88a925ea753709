"""The decision log: one :class:`~cloudsim.records.Decision` per DR decision, with the
ground truth behind it.

A decision about centres the monitors lost is charged to the fault that explains losing
them — the earliest outage in progress that took one of them down, left one without a host
up, or cut or degraded one of its links — and without one it is a false alarm. It is
detected when the first monitor lost one of them (a corruption: when it was noticed). A
failover whose fault was over before the failover completed was unnecessary
(``healed_first``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cloudsim.dr.detection import HeartbeatMonitors
from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.state import SystemState
from cloudsim.records import Decision, Outage
from cloudsim.state.hosts import HostTable
from cloudsim.world import World


class DecisionLog:
    """Makes the decision records (appended to ``records``, the recorder's) and finds their
    causes among ``outages`` (the faults module's records, read only)."""

    def __init__(
        self,
        world: World,
        hosts: HostTable,
        *,
        net: NetworkTruth,
        monitors: HeartbeatMonitors,
        outages: list[Outage],
        records: list[Decision],
    ) -> None:
        self.world = world
        self.hosts = hosts
        self.net = net
        self.centres = net.centres
        self.monitors = monitors
        self.outages = outages
        self.records = records
        self._cause_of: dict[int, Outage] = {}  # record id -> the outage behind it

    def new_record(
        self,
        state: SystemState,
        action: str,
        source: tuple[int, ...],
        target: int,
        time: float,
        policy: str = "",
    ) -> Decision:
        """A new record of ``action`` on ``state``'s system from ``source`` to ``target``."""
        outage, label = self._cause(state, source, time)
        failed_at = outage.start if outage is not None else time
        detected = self._detected(source, state, time)
        record = Decision(
            system=state.plan.index,
            action=action,
            policy=policy,
            source=source,
            target=target,
            cause=label,
            cause_kind=outage.kind if outage is not None else "",
            failed_at=min(failed_at, detected),
            detected_at=detected,
            decided_at=time,
        )
        if outage is not None:
            record.cause_end = outage.end
            self._cause_of[id(record)] = outage
        self.records.append(record)
        return record

    def check_healed(self, record: Decision) -> None:
        """Once ``record`` completed: whether its fault was over before (``healed_first``)."""
        outage = self._cause_of.get(id(record))
        if outage is None or record.unnecessary:
            return
        if not math.isnan(outage.end) and not math.isnan(record.completed_at):
            record.cause_end = outage.end
            if outage.end <= record.completed_at and record.action != "restore":
                record.unnecessary = "healed_first"

    def expected_back(self, centres: Sequence[int], time: float) -> float | None:
        """When the operations team expects every one of ``centres`` that is down back: the
        latest announced repair (``Outage.expected_end``) of the failures in progress that
        took one down (None: none is down, or a repair has no estimate yet)."""
        lost = {c for c in centres if not self.net.alive[c]}
        if not lost:
            return None
        etas = [
            o.expected_end
            for o in self.outages
            if o.start <= time
            and math.isnan(o.end)
            and o.effect == "fail"
            and o.kind != "link"
            and self._affects(o, lost)
        ]
        if not etas or any(math.isnan(e) for e in etas):
            return None
        return max(etas)

    def _affects(self, outage: Outage, lost: set[int]) -> bool:
        """Whether ``outage`` explains losing sight of the ``lost`` centres: it took one of
        them down, left one without a host up, or cut or degraded a link of one."""
        for kind, index in outage.components:
            if kind == "link":
                if set(self.net.link_ends[index]) & lost:
                    return True
            elif kind == "datacenter":
                if index in lost:
                    return True
            elif kind == "site":
                site = self.world.catalog.names["site"][index]
                centres = {self.centres.index(dc) for dc in self.net.topology.datacenters_of(site)}
                if centres & lost:
                    return True
            elif kind in ("host", "rack", "power_domain"):
                hosts = self.world.catalog.hosts_of(kind, index)
                centres = set(self.hosts.datacenter[hosts].tolist())
                if any(c in lost and not self.net.alive[c] for c in centres):
                    return True
        return False

    def _cause(
        self, state: SystemState, lost: Sequence[int], time: float
    ) -> tuple[Outage | None, str]:
        """The ground-truth fault behind a decision about ``lost`` centres (the earliest
        in progress that explains it), or none: a false alarm."""
        if state.corrupted and state.corrupt_outage is not None:
            return state.corrupt_outage, state.corrupt_outage.label
        best: Outage | None = None
        for outage in self.outages:
            if outage.start > time or (not math.isnan(outage.end) and outage.end <= time):
                continue
            if outage.effect == "corrupt" or not self._affects(outage, set(lost)):
                continue
            if best is None or outage.start < best.start:
                best = outage
        return best, best.label if best is not None else "false_alarm"

    def _detected(self, lost: Sequence[int], state: SystemState, time: float) -> float:
        if state.corrupted and state.corrupt_outage is not None:
            o = state.corrupt_outage
            return min(time, o.noticed)
        names = {self.centres[c] for c in lost}
        since = [
            m.since
            for m in self.monitors.monitors.values()
            if m.target in names and not m.reachable
        ]
        return min(since) if since else time
