"""The node table of a container cluster: resource-major ``(R, N)`` integer arrays.

Resources, in this order in every array: CPU in millicores, memory in MiB, pods (a count),
whole GPUs and GPU milli-units (1000 per GPU). ``allocatable`` is capacity minus the system
reserve; ``requested`` sums the requests of the pods bound to each node (as kube-scheduler's
``NodeInfo.Requested``) and ``nonzero`` the CPU and memory requests with the scheduler's
defaults for pods that request none (``NodeInfo.NonZeroRequested``, used only for scoring).

GPUs are devices: ``gpu_free`` holds the free milli-GPU of each device (-1: no such device).
A pod takes either whole GPUs (devices that are entirely free) or a share of one GPU
(``gpu_milli`` of the Alibaba openb trace: one device with that much free). ``headroom`` is
what one more pod may take on each node: free CPU, memory and pod slots, the number of
entirely free GPUs and the largest free share on one GPU; the fit filter compares a pod's
needs with it.

Labels are integer-coded columns (:class:`~cloudsim.containers.labels.LabelColumns`).
Well-known keys: ``kubernetes.io/hostname`` (the node), ``cloudsim.io/host`` (the physical
host under a VM node), ``cloudsim.io/rack``, ``cloudsim.io/datacenter``, ``cloudsim.io/site``,
``topology.kubernetes.io/zone`` (the data centre: a failure domain, as Kubernetes means
"zone"), ``topology.kubernetes.io/region`` (the site), ``kubernetes.io/arch`` and
``cloudsim.io/network-zone`` (the government network zone of the pool).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cloudsim.containers.labels import BoolArray, IntArray, LabelColumns
from cloudsim.state.hosts import ARCHES, HostTable

RESOURCES: tuple[str, ...] = ("cpu", "memory", "pods", "gpu", "gpu_milli")
RESOURCE_UNITS: tuple[str, ...] = ("millicores", "MiB", "pods", "GPUs", "milli-GPU")
CPU, MEMORY, PODS, GPU, GPU_MILLI = range(len(RESOURCES))
MILLI_PER_GPU = 1000
DEFAULT_MAX_PODS = 110
#: kube-scheduler's defaults for a pod that requests no CPU or memory (scoring only).
DEFAULT_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
ARCH = "kubernetes.io/arch"
HOST = "cloudsim.io/host"
RACK = "cloudsim.io/rack"
DATACENTER = "cloudsim.io/datacenter"
SITE = "cloudsim.io/site"
NETWORK_ZONE = "cloudsim.io/network-zone"
POOL = "cloudsim.io/pool"
GPU_MODEL = "cloudsim.io/gpu-model"
#: Short names a scenario may use for the well-known label keys.
LABEL_ALIASES: dict[str, str] = {
    "hostname": HOSTNAME,
    "host": HOST,
    "rack": RACK,
    "datacenter": DATACENTER,
    "site": SITE,
    "zone": ZONE,
    "region": REGION,
    "arch": ARCH,
    "network-zone": NETWORK_ZONE,
    "pool": POOL,
    "gpu-model": GPU_MODEL,
}
_KUBE_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}

EFFECTS: tuple[str, ...] = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NOT_READY = "node.kubernetes.io/not-ready"


def label_key(name: str) -> str:
    """The full label key for a short alias (``zone``), or ``name`` itself."""
    return LABEL_ALIASES.get(name, name)


@dataclass(frozen=True)
class Taint:
    """``key=value:effect`` on a node; pods without a matching toleration stay off it."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __post_init__(self) -> None:
        if self.effect not in EFFECTS:
            raise ValueError(f"unknown taint effect {self.effect!r}; use one of {EFFECTS}")

    def __str__(self) -> str:
        return f"{{{self.key}: {self.value}}}"


NOT_READY_TAINTS = (
    Taint(TAINT_NOT_READY, "", "NoSchedule"),
    Taint(TAINT_NOT_READY, "", "NoExecute"),
)
#: What Kubernetes' node controller puts on a cordoned node.
UNSCHEDULABLE_TAINT = Taint(TAINT_UNSCHEDULABLE, "", "NoSchedule")


@dataclass
class NodeGroup:
    """Nodes to add to a table: one column each, labels as one value or one per node."""

    names: list[str]
    capacity: IntArray  # (R, n)
    reserve: IntArray = field(default_factory=lambda: np.zeros(len(RESOURCES), dtype=np.int64))
    labels: dict[str, str | list[str | None]] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    host: IntArray | None = None  # physical host row under each node, -1 where none

    @property
    def size(self) -> int:
        return len(self.names)


def capacity_columns(
    count: int, cpu: int, memory: int, gpus: int | IntArray = 0, pods: int = DEFAULT_MAX_PODS
) -> IntArray:
    """``(R, count)`` capacity of identical nodes (GPUs may differ per node)."""
    cap = np.zeros((len(RESOURCES), count), dtype=np.int64)
    cap[CPU] = cpu
    cap[MEMORY] = memory
    cap[PODS] = pods
    cap[GPU] = gpus
    cap[GPU_MILLI] = cap[GPU] * MILLI_PER_GPU
    return cap


def reserve_vector(cpu: int = 0, memory: int = 0) -> IntArray:
    """A system reserve (kubelet's system- plus kube-reserved): CPU millicores and MiB."""
    reserve = np.zeros(len(RESOURCES), dtype=np.int64)
    reserve[CPU] = cpu
    reserve[MEMORY] = memory
    return reserve


class NodeTable:
    """Every node of one cluster as integer-indexed columns; the pods' allocations on them."""

    def __init__(self, *groups: NodeGroup) -> None:
        r = len(RESOURCES)
        self.names: list[str] = []
        self.index: dict[str, int] = {}
        self.capacity: IntArray = np.zeros((r, 0), dtype=np.int64)
        self.allocatable: IntArray = np.zeros((r, 0), dtype=np.int64)
        self.requested: IntArray = np.zeros((r, 0), dtype=np.int64)
        self.nonzero: IntArray = np.zeros((2, 0), dtype=np.int64)
        self.headroom: IntArray = np.zeros((r, 0), dtype=np.int64)
        self.gpu_free: IntArray = np.zeros((0, 0), dtype=np.int64)
        self.labels = LabelColumns(0)
        self.taint_list: list[Taint] = []
        self._taint_index: dict[Taint, int] = {}
        self.tainted: BoolArray = np.zeros((0, 0), dtype=np.bool_)  # (T, N)
        self.unschedulable: BoolArray = np.zeros(0, dtype=np.bool_)
        self.ready: BoolArray = np.zeros(0, dtype=np.bool_)
        self.host: IntArray = np.zeros(0, dtype=np.int64)
        #: Bumped on every change of a node's static attributes (labels, taints, flags, rows).
        self.version = 0
        self._log: list[int] = []  # nodes whose allocations changed, in order
        self._log_base = 0
        self._scan: tuple[int, IntArray | None] = (-1, None)
        for group in groups:
            self.add(group)

    @property
    def size(self) -> int:
        return len(self.names)

    # -- building ----------------------------------------------------------------------
    def add(self, group: NodeGroup) -> IntArray:
        """Append a group of nodes (empty, ready); returns their indices."""
        n = group.size
        start = self.size
        rows = np.arange(start, start + n, dtype=np.int64)
        duplicate = next((name for name in group.names if name in self.index), None)
        if duplicate is not None or len(set(group.names)) != n:
            raise ValueError(f"node name {duplicate or 'in the group'!r} is used twice")
        capacity = np.asarray(group.capacity, dtype=np.int64).reshape(len(RESOURCES), n)
        reserve = np.asarray(group.reserve, dtype=np.int64)
        if reserve.ndim == 1:
            reserve = reserve[:, None]
        allocatable = np.maximum(capacity - reserve, 0)
        allocatable[GPU] = capacity[GPU]
        allocatable[GPU_MILLI] = capacity[GPU] * MILLI_PER_GPU

        self.names.extend(group.names)
        self.index.update({name: int(i) for name, i in zip(group.names, rows, strict=True)})
        self.capacity = np.concatenate([self.capacity, capacity], axis=1)
        self.allocatable = np.concatenate([self.allocatable, allocatable], axis=1)
        self.requested = np.concatenate([self.requested, np.zeros_like(capacity)], axis=1)
        self.nonzero = np.concatenate([self.nonzero, np.zeros((2, n), dtype=np.int64)], axis=1)
        devices = max(int(capacity[GPU].max(initial=0)), self.gpu_free.shape[0])
        gpu_free = np.full((devices, self.size), -1, dtype=np.int64)
        gpu_free[: self.gpu_free.shape[0], :start] = self.gpu_free
        gpu_free[:, start:] = np.where(
            np.arange(devices)[:, None] < capacity[GPU][None, :], MILLI_PER_GPU, -1
        )
        self.gpu_free = gpu_free
        self.headroom = np.concatenate([self.headroom, np.zeros_like(capacity)], axis=1)
        self.labels.extend(n)
        self.labels.set(HOSTNAME, rows, group.names)
        for key, values in group.labels.items():
            self.labels.set(key, rows, values)
        self.tainted = np.concatenate(
            [self.tainted, np.zeros((len(self.taint_list), n), dtype=np.bool_)], axis=1
        )
        for taint in group.taints:
            t = self._taint_id(taint)  # may grow self.tainted: look it up after
            self.tainted[t, rows] = True
        self.unschedulable = np.concatenate(
            [self.unschedulable, np.full(n, group.unschedulable, dtype=np.bool_)]
        )
        if group.unschedulable:
            t = self._taint_id(UNSCHEDULABLE_TAINT)
            self.tainted[t, rows] = True
        self.ready = np.concatenate([self.ready, np.ones(n, dtype=np.bool_)])
        host = group.host if group.host is not None else np.full(n, -1, dtype=np.int64)
        self.host = np.concatenate([self.host, np.asarray(host, dtype=np.int64)])
        for node in rows:
            self._refresh(int(node), log=False)
        self.version += 1
        return rows

    def _taint_id(self, taint: Taint) -> int:
        t = self._taint_index.get(taint)
        if t is None:
            t = len(self.taint_list)
            self._taint_index[taint] = t
            self.taint_list.append(taint)
            self.tainted = np.concatenate(
                [self.tainted, np.zeros((1, self.size), dtype=np.bool_)], axis=0
            )
        return t

    # -- static attributes (each change invalidates the schedulers' cached masks) ------
    def add_taint(self, nodes: npt.ArrayLike, taint: Taint) -> None:
        t = self._taint_id(taint)
        self.tainted[t, np.asarray(nodes, dtype=np.int64)] = True
        self.version += 1

    def remove_taint(self, nodes: npt.ArrayLike, taint: Taint) -> None:
        t = self._taint_index.get(taint)
        if t is not None:
            self.tainted[t, np.asarray(nodes, dtype=np.int64)] = False
            self.version += 1

    def taints_of(self, node: int) -> list[Taint]:
        return [self.taint_list[t] for t in np.flatnonzero(self.tainted[:, node])]

    def set_unschedulable(self, nodes: npt.ArrayLike, unschedulable: bool = True) -> None:
        """Cordon (or uncordon) nodes: ``spec.unschedulable`` and its NoSchedule taint."""
        rows = np.asarray(nodes, dtype=np.int64)
        self.unschedulable[rows] = unschedulable
        t = self._taint_id(UNSCHEDULABLE_TAINT)
        self.tainted[t, rows] = unschedulable
        self.version += 1

    def set_ready(self, nodes: npt.ArrayLike, ready: bool = True) -> None:
        """Mark nodes Ready or NotReady; NotReady carries the ``not-ready`` taints
        (NoSchedule keeps new pods off; NoExecute is what the eviction controller acts on)."""
        rows = np.asarray(nodes, dtype=np.int64)
        self.ready[rows] = ready
        for taint in NOT_READY_TAINTS:
            t = self._taint_id(taint)
            self.tainted[t, rows] = not ready
        self.version += 1

    def set_label(self, nodes: npt.ArrayLike, key: str, value: str | None) -> None:
        rows = np.asarray(nodes, dtype=np.int64)
        if value is None:
            self.labels.remove(key, rows)
        else:
            self.labels.set(key, rows, value)
        self.version += 1

    def scan_order(self) -> IntArray | None:
        """The order kube-scheduler visits nodes in: round-robin over zones (its node tree,
        zones keyed by region and zone labels, in order of first appearance), nodes of a
        zone in the order added. ``None`` when that is simply index order."""
        version, order = self._scan
        if version == self.version:
            return order
        if not self.size:
            return None
        region = self.labels.column(REGION).astype(np.int64)
        zone = self.labels.column(ZONE).astype(np.int64)
        key = (region + 1) * (self.labels.domains(ZONE) + 1) + (zone + 1)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        zone_rank = np.argsort(np.argsort(first))[inverse]  # zone index by first appearance
        by_zone = np.argsort(zone_rank, kind="stable")
        within = np.empty(self.size, dtype=np.int64)
        counts = np.bincount(zone_rank, minlength=len(first))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        within[by_zone] = np.arange(self.size) - np.repeat(starts, counts)
        order = np.lexsort((zone_rank, within)).astype(np.int64)
        result = None if np.array_equal(order, np.arange(self.size)) else order
        self._scan = (self.version, result)
        return result

    # -- allocations -------------------------------------------------------------------
    def allocate(
        self,
        node: int,
        usage: IntArray,
        nonzero: IntArray,
        gpus: int,
        share: int,
        devices: int | None = None,
    ) -> int:
        """Take a pod's ``usage`` (R,) on ``node``; returns the bitmask of GPU devices used.

        Whole GPUs are the lowest-numbered entirely free devices; a share goes to the device
        with the least free milli-GPU that still fits it (best fit, lowest number on ties).
        ``devices`` forces the devices (putting a pod back exactly where it was).
        """
        if gpus or share:
            free = self.gpu_free[:, node]
            if devices is None:
                if gpus:
                    chosen = np.flatnonzero(free == MILLI_PER_GPU)[:gpus]
                    if len(chosen) < gpus:
                        raise ValueError(f"node {self.names[node]} has fewer than {gpus} free GPUs")
                else:
                    fits = np.flatnonzero(free >= share)
                    if not len(fits):
                        raise ValueError(
                            f"no GPU of node {self.names[node]} has {share} milli free"
                        )
                    chosen = fits[np.argmin(free[fits])][None]
                devices = 0
                for d in chosen:
                    devices |= 1 << int(d)
            for d in range(free.shape[0]):
                if devices >> d & 1:
                    free[d] -= share if share else MILLI_PER_GPU
        else:
            devices = 0
        self.requested[:, node] += usage
        self.nonzero[:, node] += nonzero
        self._refresh(node)
        return devices

    def release(
        self, node: int, usage: IntArray, nonzero: IntArray, devices: int, share: int
    ) -> None:
        """Give back what :meth:`allocate` took."""
        if devices:
            free = self.gpu_free[:, node]
            for d in range(free.shape[0]):
                if devices >> d & 1:
                    free[d] = free[d] + share if share else MILLI_PER_GPU
        self.requested[:, node] -= usage
        self.nonzero[:, node] -= nonzero
        self._refresh(node)

    def _refresh(self, node: int, log: bool = True) -> None:
        head = self.headroom
        head[:GPU, node] = self.allocatable[:GPU, node] - self.requested[:GPU, node]
        if self.gpu_free.shape[0]:
            free = self.gpu_free[:, node]
            head[GPU, node] = int(np.count_nonzero(free == MILLI_PER_GPU))
            head[GPU_MILLI, node] = max(int(free.max()), 0)
        if log:
            self._log.append(node)
            if len(self._log) > max(4096, 4 * self.size):
                drop = len(self._log) // 2
                del self._log[:drop]
                self._log_base += drop

    @property
    def changes(self) -> int:
        """A position in the log of allocation changes (see :meth:`changed_since`)."""
        return self._log_base + len(self._log)

    def changed_since(self, position: int) -> list[int] | None:
        """Nodes whose allocations changed after ``position``; None if that is too far back."""
        if position < self._log_base:
            return None
        return self._log[position - self._log_base :]

    # -- views -------------------------------------------------------------------------
    def free(self) -> IntArray:
        """``allocatable - requested`` (R, N)."""
        result: IntArray = self.allocatable - self.requested
        return result

    def describe(self, node: int) -> dict[str, object]:
        return {
            "name": self.names[node],
            "allocatable": dict(zip(RESOURCES, self.allocatable[:, node].tolist(), strict=True)),
            "requested": dict(zip(RESOURCES, self.requested[:, node].tolist(), strict=True)),
            "labels": self.labels.of(node),
            "taints": [str(t) + ":" + t.effect for t in self.taints_of(node)],
            "unschedulable": bool(self.unschedulable[node]),
            "ready": bool(self.ready[node]),
        }


# -- builders --------------------------------------------------------------------------
Labels = dict[str, str | list[str | None]]


def host_labels(hosts: HostTable, rows: IntArray) -> Labels:
    return {
        HOST: [hosts.names[h] for h in rows],
        RACK: [hosts.rack_names[hosts.rack[h]] for h in rows],
        DATACENTER: [hosts.datacenter_names[hosts.datacenter[h]] for h in rows],
        SITE: [hosts.site_names[hosts.site[h]] for h in rows],
        ZONE: [hosts.datacenter_names[hosts.datacenter[h]] for h in rows],
        REGION: [hosts.site_names[hosts.site[h]] for h in rows],
        ARCH: [_KUBE_ARCH[ARCHES[hosts.arch[h]]] for h in rows],
        NETWORK_ZONE: [hosts.zone_names[hosts.zone[h]] for h in rows],
        POOL: [hosts.pool_names[hosts.pool[h]] for h in rows],
    }


def _merge_labels(derived: Labels, extra: Mapping[str, str] | None) -> Labels:
    out = dict(derived)
    out.update(extra or {})
    return out


def bare_metal_nodes(
    hosts: HostTable,
    rows: npt.ArrayLike,
    *,
    reserve: IntArray | None = None,
    max_pods: int = DEFAULT_MAX_PODS,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Taint] = (),
) -> NodeGroup:
    """Physical hosts as nodes (named after the host): all their vCPUs and memory."""
    host_rows = np.asarray(rows, dtype=np.int64)
    cap = capacity_columns(len(host_rows), 0, 0, pods=max_pods)
    cap[CPU] = hosts.capacity[0, host_rows]
    cap[MEMORY] = hosts.capacity[1, host_rows]
    return NodeGroup(
        names=[hosts.names[h] for h in host_rows],
        capacity=cap,
        reserve=reserve if reserve is not None else reserve_vector(),
        labels=_merge_labels(host_labels(hosts, host_rows), labels),
        taints=tuple(taints),
        host=host_rows,
    )


def vm_nodes(
    hosts: HostTable,
    host_rows: npt.ArrayLike,
    names: Sequence[str],
    *,
    cpu: int,
    memory: int,
    gpus: int = 0,
    reserve: IntArray | None = None,
    max_pods: int = DEFAULT_MAX_PODS,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Taint] = (),
) -> NodeGroup:
    """VMs of one flavor as nodes, each inheriting its host's rack, centre, site and arch."""
    rows = np.asarray(host_rows, dtype=np.int64)
    return NodeGroup(
        names=list(names),
        capacity=capacity_columns(len(rows), cpu, memory, gpus, max_pods),
        reserve=reserve if reserve is not None else reserve_vector(),
        labels=_merge_labels(host_labels(hosts, rows), labels),
        taints=tuple(taints),
        host=rows,
    )
