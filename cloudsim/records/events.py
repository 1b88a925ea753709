"""The recorder: an append-only event log, the typed records, and vectorised samples.

Events are appended to an :class:`~cloudsim.records.log.EventLog` (numpy columns, kinds and
reasons as codes); a sample aggregates the whole host table per data centre and per pool,
in one compiled pass over the hosts (:mod:`cloudsim.records.kernels`) or with
``np.bincount`` (:func:`bincount_columns`, the reference), only when the table changed.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import check, chosen
from cloudsim.records import kernels
from cloudsim.records.log import COLUMNS, EventLog
from cloudsim.records.types import AvailabilityRules, Decision, Outage, ServingLog
from cloudsim.scenario.schema import RESOURCES
from cloudsim.state.hosts import HostTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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


#: Hosts from which "auto" compiles the sample pass even where no compiled kernel ran yet.
LARGE_HOSTS = 20_000


def bincount_columns(hosts: HostTable, vm_hosts: IntArray) -> tuple[FloatArray, IntArray]:
    """A sample's columns per data centre then per pool, the numpy reference of the
    compiled pass (:mod:`cloudsim.records.kernels`): ``(R + 1, D + P)`` floats, each
    resource's allocation over its limit then the IT power in kW, and ``(2, D + P)``
    counts, the VMs and the hosts up; one ``np.bincount`` per column and scope."""
    r = len(RESOURCES)
    n_dc = len(hosts.datacenter_names)
    allocated = hosts.limit - hosts.free
    busy = np.minimum(allocated[0] / np.maximum(hosts.capacity[0], 1), 1.0)
    power_w = np.where(
        hosts.up, hosts.power_idle_w + (hosts.power_peak_w - hosts.power_idle_w) * busy, 0.0
    )
    weights = [*hosts.limit, *allocated, np.bincount(vm_hosts, minlength=hosts.size)]
    weights += [hosts.up, power_w]
    sums = np.empty((2 * r + 3, n_dc + len(hosts.pool_names)), dtype=np.float64)
    for row, w in enumerate(weights):
        sums[row, :n_dc] = np.bincount(hosts.datacenter, weights=w, minlength=n_dc)
        sums[row, n_dc:] = np.bincount(hosts.pool, weights=w, minlength=sums.shape[1] - n_dc)
    limit, used = sums[:r], sums[r : 2 * r]
    ratio = np.divide(used, limit, out=np.zeros((r, sums.shape[1])), where=limit > 0)
    floats = np.vstack([ratio, sums[2 * r + 2] / 1000.0])
    return floats, sums[2 * r : 2 * r + 2].astype(np.int64)


class Recorder:
    """Collects what happened; turned into tables once, at the end.

    ``events`` is the event log; ``outages``, ``decisions``, ``serving`` and ``rules`` are
    the typed records the availability ledger reads.
    """

    def __init__(self, rules: AvailabilityRules, kernel: str = "auto") -> None:
        check(kernel, "sample kernel")
        self.events = EventLog()
        #: The samples as runs: a measured block (column -> data centre rows then pool
        #: rows, but the time) and the times of the samples it was measured for.
        self._runs: list[tuple[dict[str, npt.NDArray[Any]], list[float]]] = []
        self.outages: list[Outage] = []
        self.decisions: list[Decision] = []
        self.serving: ServingLog | None = None
        self.rules = rules
        #: What the last block was measured from (see :meth:`sample`).
        self._sampled: tuple[int, int, int, int] | None = None
        #: The compiled pass over the hosts (numba), or None: the numpy path.
        self._host_sums: Callable[..., None] | None = None
        #: "auto" is settled at the first measurement (numba may be warm by then).
        self._kernel: str | None = kernel
        if kernel != "auto":
            self._settle(0)
        #: The host table the scope and index columns (never changed) are of.
        self._scopes: tuple[HostTable, npt.NDArray[Any], IntArray] | None = None

    @property
    def kernel(self) -> str:
        """Which path sums samples: "numba" or "numpy" ("auto" until the first)."""
        if self._kernel is not None:
            return self._kernel
        return "numpy" if self._host_sums is None else "numba"

    def _settle(self, hosts: int) -> None:
        """Choose the path once (:func:`cloudsim.compiled.chosen`, waiting for warm; a table of
        :data:`LARGE_HOSTS` hosts or more repays numba's start-up within days of samples)."""
        assert self._kernel is not None
        if chosen(self._kernel, wait_for_warm=True, large=hosts >= LARGE_HOSTS):
            self._host_sums = kernels.kernels()["host_sums"]
        self._kernel = None

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

    def sample(self, time: float, hosts: HostTable, vm_hosts: IntArray) -> None:
        """Allocation ratios, VM counts, hosts up and IT power per data centre and per pool
        (``vm_hosts``: the host of each live VM).

        Measured again only when the host table or the number of VMs changed since the last
        sample: the key is the table's change counters (``version`` for up/down and static
        columns, ``free_changes`` for every allocation or release) and the VM count, never
        the arrays' bytes (which at a million hosts cost milliseconds a sample). A VM that
        starts, ends or moves takes or gives back its allocation through the table
        (:meth:`HostTable.allocate`/:meth:`~HostTable.release`, the only writers of
        ``free``), so a VM count per host cannot change with the key unchanged
        (``tests/test_event_economy.py`` checks it through failures, DR, drains and resizes).
        Between changes a sample only appends its time to the current run.
        """
        key = (id(hosts), hosts.version, hosts.free_changes, len(vm_hosts))
        if self._sampled != key:
            self._sampled = key
            self._runs.append((self._measure(hosts, vm_hosts), [time]))
        else:
            self._runs[-1][1].append(time)

    def _measure(self, hosts: HostTable, vm_hosts: IntArray) -> dict[str, npt.NDArray[Any]]:
        """The columns of one sample but its time: the data centres' rows, then the pools'
        (arrays never changed once made, so later samples may repeat them)."""
        r = len(RESOURCES)
        n_dc, n_pool = len(hosts.datacenter_names), len(hosts.pool_names)
        n = n_dc + n_pool
        if self._kernel is not None:
            self._settle(hosts.size)
        if self._host_sums is not None:
            floats = np.empty((r + 1, n), dtype=np.float64)
            counts = np.empty((2, n), dtype=np.int64)
            self._host_sums(
                hosts.limit, hosts.free, hosts.capacity, hosts.up, hosts.power_idle_w,
                hosts.power_peak_w, hosts.datacenter, hosts.pool, n_dc, vm_hosts, floats,
                counts,
            )  # fmt: skip
        else:
            floats, counts = bincount_columns(hosts, vm_hosts)
        scopes = self._scopes
        if scopes is None or scopes[0] is not hosts:
            scope = np.array(["datacenter"] * n_dc + ["pool"] * n_pool, dtype=object)
            index = np.concatenate([np.arange(n_dc), np.arange(n_pool)]).astype(np.int64)
            scopes = self._scopes = (hosts, scope, index)
        block: dict[str, npt.NDArray[Any]] = {"scope": scopes[1], "index": scopes[2]}
        for k, name in enumerate(RESOURCES):
            block[f"{name}_allocated_ratio"] = floats[k]
        block["vms"] = counts[0]
        block["hosts_up"] = counts[1]
        block["it_power_kw"] = floats[r]
        return block

    def series(self) -> dict[str, npt.NDArray[Any]]:
        """Every sample's rows as columns, in sample order (data centres, then pools)."""
        if not self._runs:
            return {c: np.zeros(0) for c in SERIES_COLUMNS}
        parts: dict[str, list[npt.NDArray[Any]]] = {c: [] for c in SERIES_COLUMNS}
        for block, times in self._runs:
            rows = len(block["index"])
            parts["time"].append(np.repeat(np.asarray(times, dtype=np.float64), rows))
            for column, values in block.items():
                parts[column].append(np.tile(values, len(times)))
        return {c: np.concatenate(p) for c, p in parts.items()}
