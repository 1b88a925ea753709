"""Pods: immutable templates (what a Deployment stamps out) and the table of pod rows.

A :class:`PodTemplate` carries everything the scheduler reads (namespace, labels,
requests, priority, tolerations, node affinity, inter-pod affinity, topology spread); the
pods of one Deployment share one template, so the scheduler prepares each template once.
Templates are frozen and hashed by value: two equal templates are the same to the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from cloudsim.containers.labels import IntArray, LabelSelector, Requirement
from cloudsim.containers.nodes import (
    CPU,
    DEFAULT_CPU_REQUEST,
    DEFAULT_MEMORY_REQUEST,
    GPU,
    GPU_MILLI,
    HOSTNAME,
    MEMORY,
    MILLI_PER_GPU,
    PODS,
    RESOURCES,
    ZONE,
    Taint,
)

Effect = Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"]
PreemptionPolicy = Literal["PreemptLowerPriority", "Never"]


@dataclass(frozen=True)
class Toleration:
    """Kubernetes toleration: ``Exists`` with an empty key tolerates every taint."""

    key: str = ""
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: Effect = ""
    #: For NoExecute: how long the pod stays bound after the taint appears (None: forever).
    toleration_seconds: float | None = None

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


def tolerates(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    return any(t.tolerates(taint) for t in tolerations)


@dataclass(frozen=True)
class NodeSelectorTerm:
    """Requirements ANDed; a term with none matches no node (as in Kubernetes).

    ``match_fields`` supports ``metadata.name`` with In and NotIn.
    """

    match_expressions: tuple[Requirement, ...] = ()
    match_fields: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class PreferredSchedulingTerm:
    weight: int
    preference: NodeSelectorTerm


@dataclass(frozen=True)
class PodAffinityTerm:
    """Pods matching ``label_selector`` in ``namespaces`` (default: the pod's own), counted
    per value of ``topology_key``."""

    label_selector: LabelSelector | None
    topology_key: str
    namespaces: tuple[str, ...] = ()

    def resolved(self, namespace: str) -> PodAffinityTerm:
        """The term with its namespaces filled in for a pod of ``namespace``."""
        if self.namespaces:
            return self
        return PodAffinityTerm(self.label_selector, self.topology_key, (namespace,))


@dataclass(frozen=True)
class WeightedPodAffinityTerm:
    weight: int
    term: PodAffinityTerm


@dataclass(frozen=True)
class TopologySpreadConstraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: Literal["Honor", "Ignore"] = "Honor"
    node_taints_policy: Literal["Honor", "Ignore"] = "Ignore"

    def __post_init__(self) -> None:
        if self.max_skew < 1:
            raise ValueError(f"maxSkew must be at least 1, got {self.max_skew}")
        if self.min_domains is not None and (
            self.min_domains < 1 or self.when_unsatisfiable != "DoNotSchedule"
        ):
            raise ValueError("minDomains must be >= 1 and is only valid with DoNotSchedule")


#: kube-scheduler's system default spreading (used when a pod has no constraints of its own
#: and belongs to a controller): ScheduleAnyway on hostname (skew 3) and zone (skew 5).
SYSTEM_DEFAULT_SPREAD: tuple[tuple[str, int], ...] = ((HOSTNAME, 3), (ZONE, 5))


def _pairs(
    mapping: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> tuple[tuple[str, str], ...]:
    if mapping is None:
        return ()
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return tuple(sorted((str(k), str(v)) for k, v in items))


@dataclass(frozen=True)
class PodTemplate:
    """What a pod asks of the scheduler; integer units (millicores, MiB, GPUs, milli-GPU).

    ``gpu`` whole GPUs, or ``gpu_milli`` (1..999): a share of one GPU, never both.
    """

    namespace: str = "default"
    labels: tuple[tuple[str, str], ...] = ()
    cpu: int = 0
    memory: int = 0
    gpu: int = 0
    gpu_milli: int = 0
    cpu_limit: int | None = None
    memory_limit: int | None = None
    priority: int = 0
    preemption_policy: PreemptionPolicy = "PreemptLowerPriority"
    tolerations: tuple[Toleration, ...] = ()
    node_selector: tuple[tuple[str, str], ...] = ()
    #: None: no required node affinity; a tuple of terms is ORed.
    required_node_affinity: tuple[NodeSelectorTerm, ...] | None = None
    preferred_node_affinity: tuple[PreferredSchedulingTerm, ...] = ()
    required_affinity: tuple[PodAffinityTerm, ...] = ()
    preferred_affinity: tuple[WeightedPodAffinityTerm, ...] = ()
    required_anti_affinity: tuple[PodAffinityTerm, ...] = ()
    preferred_anti_affinity: tuple[WeightedPodAffinityTerm, ...] = ()
    topology_spread: tuple[TopologySpreadConstraint, ...] = ()
    #: The selector of the controller owning the pod (a ReplicaSet's); default spreading uses it.
    owner_selector: LabelSelector | None = None
    owner: str = ""
    scheduler_name: str = "default-scheduler"

    def __post_init__(self) -> None:
        if min(self.cpu, self.memory, self.gpu, self.gpu_milli) < 0:
            raise ValueError("requests must not be negative")
        if self.gpu and self.gpu_milli:
            raise ValueError("a pod takes whole GPUs or a share of one GPU, not both")
        if self.gpu_milli >= MILLI_PER_GPU:
            raise ValueError(f"gpu_milli is a share of one GPU: 1..999, got {self.gpu_milli}")

    @classmethod
    def make(
        cls,
        *,
        labels: Mapping[str, str] | None = None,
        node_selector: Mapping[str, str] | None = None,
        **fields: object,
    ) -> PodTemplate:
        """Convenience constructor taking mappings for ``labels`` and ``node_selector``."""
        return cls(labels=_pairs(labels), node_selector=_pairs(node_selector), **fields)  # type: ignore[arg-type]

    @cached_property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def has_pod_affinity(self) -> bool:
        return bool(
            self.required_affinity
            or self.preferred_affinity
            or self.required_anti_affinity
            or self.preferred_anti_affinity
        )

    def usage(self) -> IntArray:
        """(R,) what the pod holds on its node: CPU, memory, one pod slot, GPUs, milli-GPU."""
        vector = np.zeros(len(RESOURCES), dtype=np.int64)
        vector[CPU] = self.cpu
        vector[MEMORY] = self.memory
        vector[PODS] = 1
        vector[GPU] = self.gpu
        vector[GPU_MILLI] = self.gpu * MILLI_PER_GPU + self.gpu_milli
        return vector

    def need(self) -> IntArray:
        """(R,) what the fit filter compares with a node's headroom (GPU share: one device)."""
        vector = self.usage()
        vector[GPU_MILLI] = self.gpu_milli
        return vector

    def nonzero(self) -> IntArray:
        """(2,) CPU and memory with kube-scheduler's defaults for zero requests (scoring)."""
        return np.array(
            [self.cpu or DEFAULT_CPU_REQUEST, self.memory or DEFAULT_MEMORY_REQUEST],
            dtype=np.int64,
        )


class PodPhase(IntEnum):
    PENDING = 0
    BOUND = 1
    DELETED = 2
    PREEMPTED = 3
    #: Taken off a NotReady node after its NoExecute toleration, or drained by the autoscaler.
    EVICTED = 4


#: Plain-int phases for hot paths (an IntEnum member lookup costs a function call).
PENDING, BOUND = int(PodPhase.PENDING), int(PodPhase.BOUND)


class PodTable:
    """One row per pod; ``usage`` is resource-major ``(R, P)``.

    Rows are never reused unless their owner calls :meth:`release` (after recording what it
    needs of the finished pod), so a long replay keeps the table as large as the pods alive.
    ``serial`` tells a reused row's pods apart (queues remember it with the row).
    """

    def __init__(self, capacity: int = 1024) -> None:
        n = max(1, capacity)
        self.size = 0
        self.names: list[str] = []
        self.template = np.zeros(n, dtype=np.int64)
        self.node = np.full(n, -1, dtype=np.int64)
        self.phase = np.full(n, int(PodPhase.DELETED), dtype=np.int8)
        self.priority = np.zeros(n, dtype=np.int64)
        self.devices = np.zeros(n, dtype=np.int64)  # bitmask of GPU devices held
        self.created = np.zeros(n, dtype=np.float64)
        self.started = np.full(n, np.nan, dtype=np.float64)
        #: When a NoExecute taint of the pod's node evicts it (NaN: not due).
        self.evict_at = np.full(n, np.nan, dtype=np.float64)
        #: When its containers last (re)started: the bind, or its node coming back.
        self.running_since = np.full(n, np.nan, dtype=np.float64)
        self.serial = np.full(n, -1, dtype=np.int64)
        self.next_serial = 0
        self._free: list[int] = []

    def _grow(self) -> None:
        old = len(self.node)
        self.template = np.concatenate([self.template, np.zeros(old, dtype=np.int64)])
        self.node = np.concatenate([self.node, np.full(old, -1, dtype=np.int64)])
        self.phase = np.concatenate(
            [self.phase, np.full(old, int(PodPhase.DELETED), dtype=np.int8)]
        )
        self.priority = np.concatenate([self.priority, np.zeros(old, dtype=np.int64)])
        self.devices = np.concatenate([self.devices, np.zeros(old, dtype=np.int64)])
        self.created = np.concatenate([self.created, np.zeros(old)])
        self.started = np.concatenate([self.started, np.full(old, np.nan)])
        self.evict_at = np.concatenate([self.evict_at, np.full(old, np.nan)])
        self.running_since = np.concatenate([self.running_since, np.full(old, np.nan)])
        self.serial = np.concatenate([self.serial, np.full(old, -1, dtype=np.int64)])

    def add(self, name: str, template: int, priority: int, time: float) -> int:
        """A new pending pod; returns its row (a released row if there is one)."""
        if self._free:
            row = self._free.pop()
            self.names[row] = name
        else:
            if self.size == len(self.node):
                self._grow()
            row = self.size
            self.size += 1
            self.names.append(name)
        self.template[row] = template
        self.priority[row] = priority
        self.created[row] = time
        self.phase[row] = PENDING
        self.node[row] = -1
        self.devices[row] = 0
        self.started[row] = np.nan
        self.evict_at[row] = np.nan
        self.running_since[row] = np.nan
        self.serial[row] = self.next_serial
        self.next_serial += 1
        return row

    def release(self, row: int) -> None:
        """Let a finished (not pending, not bound) pod's row be reused."""
        if self.phase[row] in (PENDING, BOUND):
            raise ValueError(f"pod row {row} is still pending or bound")
        self.serial[row] = -1
        self._free.append(row)

    @property
    def count(self) -> int:
        """Rows holding a pod (live, or finished and not released yet)."""
        return self.size - len(self._free)

    def live(self) -> npt.NDArray[np.bool_]:
        """Pods bound to a node now."""
        bound: npt.NDArray[np.bool_] = self.phase[: self.size] == PodPhase.BOUND
        return bound

    def on_node(self, node: int) -> IntArray:
        return np.flatnonzero(
            (self.node[: self.size] == node) & (self.phase[: self.size] == PodPhase.BOUND)
        ).astype(np.int64)
