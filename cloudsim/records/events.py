"""The recorder: an append-only event log, the typed records, and vectorised samples.

Events are appended to an :class:`~cloudsim.records.log.EventLog` (numpy columns, kinds and
reasons as codes); a sample aggregates the whole host
table per data centre and per pool with ``np.bincount`` — one pass, no per-host loop.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.records.log import COLUMNS, EventLog
from cloudsim.records.types import AvailabilityRules, Decision, Outage, ServingLog
from cloudsim.scenario.schema import RESOURCES
from cloudsim.state.hosts import HostTable


class EventKind(StrEnum):
    """Kinds of rows in the event log (``events.parquet``'s ``kind`` column)."""

    # cloud hosts
    INITIAL = "initial"  # placed at time 0
    UNPLACED = "unplaced"  # declared but not placed at time 0 (count, reason)
    CREATE = "create"  # a tenant's request placed (or a container node VM)
    REJECT = "reject"  # a tenant's request refused (count, reason)
    DELETE = "delete"  # ended by its tenant (or a node VM released)
    LOST = "lost"  # local HA gave up on it
    VM_DOWN = "vm_down"  # stopped by a failure (reason: the failure)
    RESTART = "restart"  # running again after a failure
    RESTART_FAILED = "restart_failed"  # no room to restart (count, reason)
    RESIZE = "resize"  # resized in place (flavor: the new one; reason: from which)
    RESIZE_REFUSED = "resize_refused"  # a resize refused (flavor: the one asked; reason)
    # faults
    FAULT = "fault"  # a component failed, a link degraded or data was corrupted
    REPAIR = "repair"
    # disaster recovery
    DR_CREATE = "dr_create"  # a VM created by a recovery action
    DR_CREATE_FAILED = "dr_create_failed"
    DR_DELETE = "dr_delete"
    DR_ACTION = "dr_action"
    DR_NOTICE = "dr_notice"  # a corruption noticed
    DR_STAND_DOWN = "dr_stand_down"  # a stale primary learns it was replaced
    SPLIT_BRAIN = "split_brain"
    HEARTBEAT = "heartbeat"  # a monitor's view changed
    POLICY_FAILURE = "policy_failure"
    # container cloud
    NODE_READY = "node_ready"
    NODE_NOT_READY = "node_not_ready"
    PODS_EVICTED = "pods_evicted"


EVENT_COLUMNS: tuple[str, ...] = COLUMNS  # the event log's columns (one definition)
SERIES_COLUMNS: tuple[str, ...] = (
    "time",
    "scope",
    "index",
    *(f"{r}_allocated_ratio" for r in RESOURCES),
    "vms",
    "hosts_up",
    "it_power_kw",
)


class Recorder:
    """Collects what happened; turned into tables once, at the end.

    ``events`` is the event log; ``outages``, ``decisions``, ``serving`` and ``rules`` are
    the typed records the availability ledger reads.
    """

    def __init__(self, rules: AvailabilityRules) -> None:
        self.events = EventLog()
        self._series: dict[str, list[npt.NDArray[Any]]] = {c: [] for c in SERIES_COLUMNS}
        self.outages: list[Outage] = []
        self.decisions: list[Decision] = []
        self.serving: ServingLog | None = None
        self.rules = rules
        self._sampled: tuple[tuple[Any, ...], list[tuple[str, npt.NDArray[Any]]]] | None = None

    def event(
        self,
        time: float,
        kind: EventKind,
        *,
        system: int = -1,
        vm: int = -1,
        host: int = -1,
        flavor: int = -1,
        count: int = 1,
        reason: str = "",
    ) -> None:
        self.events.add(time, kind, system, vm, host, flavor, count, reason)

    def sample(self, time: float, hosts: HostTable, vm_hosts: npt.NDArray[np.int64]) -> None:
        """Allocation ratios, VM counts, hosts up and IT power per data centre and per pool
        (worked out again only when the hosts or the VMs' hosts changed since the last
        sample: between changes only the time column is new)."""
        key = (
            hosts.version,
            id(hosts),
            hosts.free.tobytes(),
            hosts.up.tobytes(),
            vm_hosts.tobytes(),
        )
        cached = self._sampled
        if cached is None or cached[0] != key:
            cached = self._sampled = (key, self._measure(hosts, vm_hosts))
        s = self._series
        for column, values in cached[1]:
            s[column].append(values)
        for n in (len(hosts.datacenter_names), len(hosts.pool_names)):
            s["time"].append(np.full(n, time))

    def _measure(
        self, hosts: HostTable, vm_hosts: npt.NDArray[np.int64]
    ) -> list[tuple[str, npt.NDArray[Any]]]:
        """The columns of one sample but its time, scope by scope (arrays never changed
        once made, so a later sample may append them again)."""
        allocated = hosts.limit - hosts.free
        vms_per_host = np.bincount(vm_hosts, minlength=hosts.size)
        cpu_capacity = np.maximum(hosts.capacity[0], 1)
        busy = np.minimum(allocated[0] / cpu_capacity, 1.0)
        power_w = np.where(
            hosts.up, hosts.power_idle_w + (hosts.power_peak_w - hosts.power_idle_w) * busy, 0.0
        )
        out: list[tuple[str, npt.NDArray[Any]]] = []
        for scope, index, n in (
            ("datacenter", hosts.datacenter, len(hosts.datacenter_names)),
            ("pool", hosts.pool, len(hosts.pool_names)),
        ):
            out.append(("scope", np.full(n, scope, dtype=object)))
            out.append(("index", np.arange(n, dtype=np.int64)))
            for r, name in enumerate(RESOURCES):
                limit = np.bincount(index, weights=hosts.limit[r], minlength=n)
                used = np.bincount(index, weights=allocated[r], minlength=n)
                ratio = np.divide(used, limit, out=np.zeros(n), where=limit > 0)
                out.append((f"{name}_allocated_ratio", ratio))
            out.append(
                ("vms", np.bincount(index, weights=vms_per_host, minlength=n).astype(np.int64))
            )
            out.append(
                ("hosts_up", np.bincount(index, weights=hosts.up, minlength=n).astype(np.int64))
            )
            out.append(("it_power_kw", np.bincount(index, weights=power_w, minlength=n) / 1000.0))
        return out

    def series(self) -> dict[str, npt.NDArray[Any]]:
        if not self._series["time"]:
            return {c: np.zeros(0) for c in SERIES_COLUMNS}
        return {c: np.concatenate(parts) for c, parts in self._series.items()}
