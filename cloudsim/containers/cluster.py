"""One container cluster's state: nodes, pods, pod templates, counters and disruption budgets.

:class:`Cluster` is the only writer of bindings: :meth:`Cluster.bind` and
:meth:`Cluster.unbind` update the node table's allocations and every incremental counter
together, so whatever reads them (schedulers, controllers, results) sees one consistent
state. Several schedulers (profiles) may share one cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cloudsim.containers.domains import HELD_KINDS, Counters, held_terms
from cloudsim.containers.labels import IntArray, LabelSelector
from cloudsim.containers.nodes import GPU_MILLI, MILLI_PER_GPU, NodeTable
from cloudsim.containers.pods import BOUND, PodAffinityTerm, PodPhase, PodTable, PodTemplate


@dataclass(frozen=True)
class TemplateInfo:
    """What the cluster precomputes once per template."""

    template: PodTemplate
    usage: IntArray  # (R,) held on the node
    nonzero: IntArray  # (2,) CPU and memory for scoring
    need: IntArray  # (R,) compared with a node's headroom


@dataclass(frozen=True)
class PodDisruptionBudget:
    """At least ``min_available`` (or at most ``max_unavailable``) matching pods up.

    Either is an integer or a percentage string such as ``"50%"`` (rounded up, as Kubernetes
    does). An empty selector matches nothing where the scheduler reads budgets.
    """

    name: str
    selector: LabelSelector
    namespace: str = "default"
    min_available: int | str | None = None
    max_unavailable: int | str | None = None

    def __post_init__(self) -> None:
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError("give exactly one of min_available and max_unavailable")

    def selects(self, template: PodTemplate) -> bool:
        return (
            template.namespace == self.namespace
            and bool(template.labels)
            and not self.selector.empty
            and self.selector.matches(template.label_map)
        )


def scaled(value: int | str, total: int) -> int:
    """An integer, or a percentage of ``total`` rounded up (``GetScaledValueFromIntOrPercent``)."""
    if isinstance(value, int):
        return value
    percent = int(value.rstrip("%"))
    return math.ceil(percent * total / 100)


class Cluster:
    """The nodes and pods of one cluster, and the counters kept current on every binding."""

    def __init__(self, nodes: NodeTable, name: str = "cluster") -> None:
        self.name = name
        self.nodes = nodes
        self.pods = PodTable()
        self.templates: list[PodTemplate] = []
        self.info: list[TemplateInfo] = []
        self._template_ids: dict[PodTemplate, int] = {}
        #: The registered template objects by identity (they live in ``templates`` for
        #: good, so an id is never reused): a pod of a deployment finds its template
        #: without hashing it field by field.
        self._registered: dict[int, int] = {}
        self.counters = Counters(self)
        #: Affinity terms held by any registered template, by kind: (weight, resolved term).
        self.held: dict[str, set[tuple[int, PodAffinityTerm]]] = {k: set() for k in HELD_KINDS}
        #: Bumped when a template brings affinity terms of its own (schedulers re-prepare).
        self.terms_version = 0
        self.pdbs: list[PodDisruptionBudget] = []
        #: Bumped on every change of a pod's phase or node (what readers may cache on).
        self.changes = 0

    # -- templates and pods ----------------------------------------------------------
    def template_id(self, template: PodTemplate) -> int:
        """The index of ``template`` (registered on first use)."""
        tid = self._registered.get(id(template))
        if tid is not None:
            return tid
        tid = self._template_ids.get(template)
        if tid is None:
            tid = len(self.templates)
            self._template_ids[template] = tid
            self._registered[id(template)] = tid
            self.templates.append(template)
            self.info.append(
                TemplateInfo(template, template.usage(), template.nonzero(), template.need())
            )
            if template.has_pod_affinity:
                for kind in HELD_KINDS:
                    self.held[kind].update(held_terms(template, kind))
                self.terms_version += 1
        return tid

    def add_pod(self, template: PodTemplate, name: str | None = None, time: float = 0.0) -> int:
        """A new pending pod; returns its row."""
        tid = self.template_id(template)
        pods = self.pods
        label = name if name is not None else f"{template.owner or 'pod'}-{pods.next_serial}"
        self.changes += 1
        return pods.add(label, tid, template.priority, time)

    def bind(self, row: int, node: int, time: float = 0.0, devices: int | None = None) -> None:
        """Bind a pending pod to ``node`` (no checks: the scheduler decided)."""
        pods = self.pods
        tid = int(pods.template[row])
        info = self.info[tid]
        t = info.template
        pods.devices[row] = self.nodes.allocate(
            node, info.usage, info.nonzero, t.gpu, t.gpu_milli, devices
        )
        pods.node[row] = node
        pods.phase[row] = BOUND
        pods.started[row] = time
        pods.running_since[row] = time
        self.changes += 1
        self.counters.on_bind(tid, node, 1)

    def unbind(self, row: int, phase: PodPhase = PodPhase.PENDING) -> int:
        """Take a bound pod off its node (to ``phase``); returns the node it was on."""
        pods = self.pods
        node = int(pods.node[row])
        tid = int(pods.template[row])
        info = self.info[tid]
        self.nodes.release(
            node, info.usage, info.nonzero, int(pods.devices[row]), info.template.gpu_milli
        )
        pods.phase[row] = phase
        pods.node[row] = -1
        self.counters.on_bind(tid, node, -1)
        self.changes += 1
        return node

    def delete(self, row: int, phase: PodPhase = PodPhase.DELETED) -> None:
        """End a pod (bound or pending)."""
        if self.pods.phase[row] == PodPhase.BOUND:
            self.unbind(row, phase)
        else:
            self.pods.phase[row] = phase
            self.changes += 1

    def pods_on(self, node: int) -> IntArray:
        return self.pods.on_node(node)

    # -- disruption budgets ----------------------------------------------------------
    def disruptions_allowed(self, pdb: PodDisruptionBudget) -> int:
        """``status.disruptionsAllowed``: healthy matching pods above the desired number.

        Healthy: bound to a Ready node. Expected: every live (pending or bound) matching pod.
        """
        pods = self.pods
        n = pods.size
        selected = np.array([pdb.selects(t) for t in self.templates], dtype=np.bool_)
        if not selected.any():
            return 0
        mine = selected[pods.template[:n]]
        phase = pods.phase[:n]
        live = mine & ((phase == PodPhase.BOUND) | (phase == PodPhase.PENDING))
        bound = mine & (phase == PodPhase.BOUND)
        healthy = int(np.count_nonzero(self.nodes.ready[pods.node[:n][bound]]))
        expected = int(np.count_nonzero(live))
        if pdb.min_available is not None:
            desired = scaled(pdb.min_available, expected)
        else:
            assert pdb.max_unavailable is not None
            desired = max(expected - scaled(pdb.max_unavailable, expected), 0)
        return max(healthy - desired, 0)

    # -- invariants ------------------------------------------------------------------
    def check(self) -> None:
        """Raise AssertionError unless allocations equal the bound pods and fit every node."""
        nodes = self.nodes
        pods = self.pods
        bound = np.flatnonzero(pods.phase[: pods.size] == PodPhase.BOUND)
        expected = np.zeros_like(nodes.requested)
        if len(bound):
            per_template = np.stack([info.usage for info in self.info], axis=1)  # (R, T)
            usage = per_template[:, pods.template[bound]]
            for r in range(expected.shape[0]):
                expected[r] = np.bincount(pods.node[bound], weights=usage[r], minlength=nodes.size)
        assert np.array_equal(expected, nodes.requested), "requested differs from bound pods"
        over = (nodes.requested > nodes.allocatable).any(axis=0)
        assert not over.any(), f"nodes over allocatable: {np.flatnonzero(over).tolist()}"
        if nodes.gpu_free.shape[0]:
            exists = nodes.gpu_free >= 0
            used = np.where(exists, MILLI_PER_GPU - nodes.gpu_free, 0).sum(axis=0)
            assert np.array_equal(used, nodes.requested[GPU_MILLI]), "GPU devices disagree"
            assert not (nodes.gpu_free > MILLI_PER_GPU).any()
