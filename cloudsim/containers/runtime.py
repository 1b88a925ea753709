"""A running cluster: its nodes' place in the IaaS world, its deployments and its pods' fate.

:class:`ClusterState` wraps a :class:`~cloudsim.containers.cluster.Cluster` with what the
controllers need and the scheduler does not: which node VM (cloud host) or bare-metal host
is under each node and whether it is up (ground truth from the host table), which
deployment owns each pod template, the replicas each deployment should have, and the record
of every pod that ended (rows are then released for reuse, so a long run keeps the pod
table as large as the pods alive).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.kernels import PodStatePass, pod_states_pass, victims_pass
from cloudsim.containers.labels import BoolArray, FloatArray, IntArray
from cloudsim.containers.nodes import NOT_READY_TAINTS, NodeTable
from cloudsim.containers.pods import BOUND, PENDING, PodPhase, PodTemplate
from cloudsim.containers.scheduler import Scheduler

if TYPE_CHECKING:
    from cloudsim.scenario import containers as spec

#: Why a pod ended, as written in the results.
END_STATUS: dict[int, str] = {
    int(PodPhase.DELETED): "deleted",
    int(PodPhase.PREEMPTED): "preempted",
    int(PodPhase.EVICTED): "evicted",
}


@dataclass
class Deployment:
    """A deployment at run time: its pod template, scheduler, system and replica target."""

    index: int
    name: str
    template: PodTemplate
    tid: int
    scheduler: Scheduler
    system: int  # index into scenario.systems, -1: none
    startup: float
    declared: int  # replicas in the scenario (the HPA minimum when autoscaled)
    created: int = 0  # pods created so far (names)


class NodeInfo:
    """Per node: node group, the node VM under it, presence and lifecycle times."""

    def __init__(self) -> None:
        self.size = 0
        self.group = np.zeros(0, dtype=np.int64)
        self.vm_row = np.zeros(0, dtype=np.int64)
        self.vm_id = np.zeros(0, dtype=np.int64)
        self.present = np.zeros(0, dtype=np.bool_)
        self.joined = np.zeros(0)
        self.left = np.zeros(0)
        self.down_since = np.zeros(0)
        self.unneeded_since = np.zeros(0)
        self.unremovable_until = np.zeros(0)

    def extend(self, group: int, vm_rows: IntArray, vm_ids: IntArray, time: float) -> None:
        n = len(vm_rows)
        self.size += n
        self.group = np.concatenate([self.group, np.full(n, group, dtype=np.int64)])
        self.vm_row = np.concatenate([self.vm_row, vm_rows])
        self.vm_id = np.concatenate([self.vm_id, vm_ids])
        self.present = np.concatenate([self.present, np.ones(n, dtype=np.bool_)])
        self.joined = np.concatenate([self.joined, np.full(n, time)])
        self.left = np.concatenate([self.left, np.full(n, np.nan)])
        self.down_since = np.concatenate([self.down_since, np.full(n, np.nan)])
        self.unneeded_since = np.concatenate([self.unneeded_since, np.full(n, np.nan)])
        self.unremovable_until = np.concatenate([self.unremovable_until, np.full(n, -np.inf)])


@dataclass
class PodArchive:
    """Pods that ended, as columns (live pods are added when the results are built)."""

    name: list[str] = field(default_factory=list)
    tid: list[int] = field(default_factory=list)
    created: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)

    def add(
        self,
        name: str,
        tid: int,
        created: float,
        started: float,
        ended: float,
        node: int,
        status: str,
    ) -> None:
        self.name.append(name)
        self.tid.append(tid)
        self.created.append(created)
        self.started.append(started)
        self.ended.append(ended)
        self.node.append(node)
        self.status.append(status)


#: Ready, unready and missing pods (see :meth:`ClusterState.pod_states`).
PodStates = tuple[BoolArray, BoolArray, BoolArray]
#: ``host_up(nodes_host) -> bool[N]``: ground truth of the hosts under the nodes.
HostUp = Callable[[IntArray], BoolArray]


@dataclass(frozen=True)
class PodCounts:
    """Per template (T,), the pods in each state of :meth:`ClusterState.pod_states` at one
    instant, and the bound pods still starting: their templates and when they are ready."""

    ready: IntArray
    unready: IntArray
    missing: IntArray
    starting: IntArray  # (K,) templates
    ready_at: FloatArray  # (K,)
    #: Per template, the pods bound to a node (ready, starting or missing).
    bound: IntArray


@dataclass
class _States:
    """Pod states worked out at ``since`` for pods, nodes and hosts as of ``key``; they
    hold until ``until``, when the next starting pod becomes ready (only ``counts`` is
    filled in later)."""

    key: tuple[int, int, int]
    since: float
    until: float
    #: The pass that found them: each pod's state, when each pod is past its startup
    #: (``running_since`` plus its template's startup), the counts per template.
    found: PodStatePass
    #: :meth:`ClusterState.pod_counts` of them, once asked for.
    counts: PodCounts | None = None


class ClusterState:
    """One cluster at run time (see the module docstring)."""

    def __init__(
        self,
        index: int,
        spec_: spec.Cluster,
        cluster: Cluster,
        schedulers: dict[str, Scheduler],
        host_up: HostUp,
        host_version: Callable[[], int] = lambda: 0,
        kernel: str = "auto",
    ) -> None:
        self.index = index
        #: The pass over the pods behind :meth:`pod_states` and :meth:`pod_counts`
        #: (:mod:`cloudsim.containers.kernels`: compiled, or the numpy reference).
        self._pass = pod_states_pass(kernel)
        self._victims = victims_pass(kernel)
        self.spec = spec_
        self.name = spec_.name
        self.cluster = cluster
        self.nodes: NodeTable = cluster.nodes
        self.schedulers = schedulers
        self.host_up = host_up
        self.host_version = host_version
        self._states: _States | None = None
        self._nodes_ok: tuple[tuple[int, int], BoolArray] | None = None
        self.info = NodeInfo()
        self.deployments: list[Deployment] = []
        self.desired = np.zeros(0, dtype=np.int64)
        self.archive = PodArchive()
        #: Per template: owning deployment (-1: none), startup, NotReady eviction delay.
        self.dep_of_tid = np.zeros(0, dtype=np.int64)
        self.startup_of_tid = np.zeros(0)
        self.evict_delay_of_tid = np.zeros(0)
        #: (template, deployment) for the templates a deployment owns (``dep_of_tid``).
        self._owned: list[tuple[int, int]] = []
        self.grace = spec_.node_monitor_grace_period
        self.default_toleration = spec_.default_toleration_seconds
        self.requeue_all = False
        self.evictions = 0
        self.preemptions = 0
        self.pods_created = 0

    # -- templates ----------------------------------------------------------------------
    def sync_templates(self) -> None:
        """Extend the per-template columns to every template the cluster registered."""
        templates = self.cluster.templates
        t = len(templates)
        old = len(self.dep_of_tid)
        if t == old:
            return
        self.dep_of_tid = np.concatenate([self.dep_of_tid, np.full(t - old, -1, dtype=np.int64)])
        self.startup_of_tid = np.concatenate([self.startup_of_tid, np.zeros(t - old)])
        delays = [self.eviction_delay(templates[i]) for i in range(old, t)]
        self.evict_delay_of_tid = np.concatenate([self.evict_delay_of_tid, np.array(delays)])
        for d in self.deployments:
            if d.tid >= old:
                self.dep_of_tid[d.tid] = d.index
                self.startup_of_tid[d.tid] = d.startup
        self._sync_owned()

    def _sync_owned(self) -> None:
        self._owned = [(t, d) for t, d in enumerate(self.dep_of_tid.tolist()) if d >= 0]

    def eviction_delay(self, template: PodTemplate) -> float:
        """How long a pod stays on a NotReady node (the taint manager's minimum toleration
        time over the not-ready NoExecute taint; DefaultTolerationSeconds when the pod has
        no toleration of its own for it)."""
        taint = NOT_READY_TAINTS[1]
        matching = [t for t in template.tolerations if t.tolerates(taint)]
        if not matching:
            return self.default_toleration
        seconds = [t.toleration_seconds for t in matching]
        if any(s is None for s in seconds):
            return math.inf
        return max(0.0, min(float(s) for s in seconds if s is not None))

    def add_deployment(self, d: Deployment) -> None:
        self.deployments.append(d)
        self.desired = np.append(self.desired, d.declared).astype(np.int64)
        self.sync_templates()
        self.dep_of_tid[d.tid] = d.index
        self.startup_of_tid[d.tid] = d.startup
        self._sync_owned()

    # -- ground truth ---------------------------------------------------------------------
    def node_up(self) -> BoolArray:
        """Nodes present whose host (or node VM's host) is up right now."""
        nodes = self.nodes
        up = self.info.present.copy()
        has = nodes.host >= 0
        if has.any():
            up[has] &= self.host_up(nodes.host[has])
        return up

    def state_key(self, now: float) -> tuple[int, int, int, float]:
        """What pod states depend on, as a cache key: pods, nodes, hosts, and the time since
        which they are what they are (no pod has finished its start since then)."""
        cached = self._valid_states(now)
        if cached is not None:
            return (*cached.key, cached.since)
        return (self.cluster.changes, self.nodes.version, self.host_version(), now)

    def pod_states(self, now: float) -> tuple[BoolArray, BoolArray, BoolArray]:
        """Over pod rows ``[0, size)``: ready (bound to a Ready node that is up, started),
        unready (pending, or still starting) and missing (bound where nothing answers)."""
        found = self._current_states(now).found
        return found.ready, found.unready, found.missing

    def _valid_states(self, now: float) -> _States | None:
        """The pod states worked out last, if they are still those at ``now``."""
        cached = self._states
        if (
            cached is not None
            and cached.since <= now < cached.until
            and cached.key == (self.cluster.changes, self.nodes.version, self.host_version())
        ):
            return cached
        return None

    def _current_states(self, now: float) -> _States:
        """The pod states at ``now``: worked out again when pods, nodes or hosts changed or
        a starting pod has become ready since they were."""
        cached = self._valid_states(now)
        if cached is not None:
            return cached
        key = (self.cluster.changes, self.nodes.version, self.host_version())
        found = self._pass(
            *self._columns(),
            self.startup_of_tid,
            self.nodes_ok(),
            float(now),
            len(self.cluster.templates),
        )
        self._states = cached = _States(key, now, found.until, found)
        return cached

    def _columns(self) -> tuple[npt.NDArray[np.int8], IntArray, FloatArray, FloatArray, IntArray]:
        """The pod columns a pod-state pass reads, over rows ``[0, size)``."""
        pods = self.cluster.pods
        n = pods.size
        return (
            pods.phase[:n],
            pods.node[:n],
            pods.running_since[:n],
            pods.created[:n],
            pods.template[:n],
        )

    def nodes_ok(self) -> BoolArray:
        """Nodes present and Ready whose host is up (cached as the node table and hosts are;
        the caller does not change it)."""
        key = (self.nodes.version, self.host_version())
        cached = self._nodes_ok
        if cached is not None and cached[0] == key:
            return cached[1]
        node_ok: BoolArray = self.nodes.ready & self.node_up()
        self._nodes_ok = (key, node_ok)
        return node_ok

    def pod_counts(self, now: float) -> PodCounts:
        """:meth:`pod_states` counted per template (made once per pass over the pods)."""
        states = self._current_states(now)
        counts = states.counts
        t = len(self.cluster.templates)
        if counts is None or len(counts.ready) != t:
            found = states.found
            if found.counts.shape[1] != t:  # templates registered since: count again
                found = self._pass(
                    *self._columns(), self.startup_of_tid, self.nodes_ok(), float(now), t
                )
            ready, unready, missing, bound = found.counts
            counts = PodCounts(
                ready, unready, missing, found.starting_template, found.starting_at, bound
            )
            states.counts = counts
        return counts

    def next_ready(self, now: float) -> float:
        """When the next starting pod becomes ready (inf: none is starting)."""
        return self._current_states(now).until

    def per_deployment(self, mask: BoolArray) -> IntArray:
        """(D,) pods in ``mask`` (over rows ``[0, size)``) per owning deployment."""
        pods = self.cluster.pods
        dep = self.dep_of_tid[pods.template[: pods.size][mask]]
        return np.bincount(dep[dep >= 0], minlength=len(self.deployments)).astype(np.int64)

    def live_per_deployment(self, now: float) -> list[int]:
        """(D,) pods pending or bound per owning deployment: :meth:`per_deployment` of the
        live pods, from the counts of :meth:`pod_counts` (every live pod is in one of its
        states) instead of a pass over the pods."""
        counts = self.pod_counts(now)
        ready, unready, missing = counts.ready, counts.unready, counts.missing
        live = [0] * len(self.deployments)
        for t, d in self._owned:
            live[d] += int(ready[t]) + int(unready[t]) + int(missing[t])
        return live

    def victims(self, deployment: int, excess: int, now: float) -> IntArray:
        """The ``excess`` live pods of ``deployment`` a scale-down deletes, in the
        ReplicaSet controller's order: pending first, then not ready, then the most
        recently started, the newest (:func:`~cloudsim.containers.kernels.victims_numpy`)."""
        found = self._current_states(now).found
        pods = self.cluster.pods
        n = pods.size
        return self._victims(
            found.code,
            pods.template[:n],
            self.dep_of_tid,
            pods.phase[:n],
            pods.started[:n],
            pods.created[:n],
            deployment,
            excess,
        )

    def per_template(self, mask: BoolArray) -> IntArray:
        pods = self.cluster.pods
        return np.bincount(
            pods.template[: pods.size][mask], minlength=len(self.cluster.templates)
        ).astype(np.int64)

    # -- pods ending ----------------------------------------------------------------------
    def end_pod(self, row: int, now: float, phase: PodPhase) -> int:
        """End a pending or bound pod (record it, free its row); returns the node it was on."""
        cluster = self.cluster
        pods = cluster.pods
        node = int(pods.node[row])
        if pods.phase[row] in (PENDING, BOUND):
            cluster.delete(row, phase)
        self.archive_row(row, now, node)
        return node

    def archive_row(self, row: int, now: float, node: int) -> None:
        """Record a pod that has ended (its phase says how) and release its row."""
        pods = self.cluster.pods
        for scheduler in self.schedulers.values():
            scheduler.forget(row)
        self.archive.add(
            pods.names[row],
            int(pods.template[row]),
            float(pods.created[row]),
            float(pods.started[row]),
            now,
            node,
            END_STATUS.get(int(pods.phase[row]), "deleted"),
        )
        pods.evict_at[row] = np.nan
        pods.release(row)

    def evict(self, rows: IntArray, now: float) -> None:
        """Evict bound pods (NoExecute, drain); schedulers get a hint for each freed node."""
        freed: set[int] = set()
        for row in rows.tolist():
            freed.add(self.end_pod(row, now, PodPhase.EVICTED))
            self.evictions += 1
        for node in sorted(freed):
            for scheduler in self.schedulers.values():
                scheduler.requeue_fitting(node)

    # -- nodes ----------------------------------------------------------------------------
    def bound_on(self, rows: IntArray) -> BoolArray:
        """Over pod rows ``[0, size)``: pods bound to one of the nodes ``rows``."""
        pods = self.cluster.pods
        n = pods.size
        on = np.zeros(self.nodes.size, dtype=np.bool_)
        on[rows] = True
        result: BoolArray = (pods.phase[:n] == BOUND) & on[np.maximum(pods.node[:n], 0)]
        return result

    def bound_mask(self) -> BoolArray:
        pods = self.cluster.pods
        result: BoolArray = pods.phase[: pods.size] == BOUND
        return result

    def set_not_ready(self, rows: IntArray, now: float) -> None:
        """Mark nodes NotReady (NoExecute taint) and schedule their pods' eviction."""
        if not len(rows):
            return
        self.nodes.set_ready(rows, False)
        pods = self.cluster.pods
        bound = np.flatnonzero(self.bound_on(rows))
        pods.evict_at[bound] = now + self.evict_delay_of_tid[pods.template[bound]]

    def set_ready(self, rows: IntArray) -> None:
        """Nodes Ready again: the taint goes and pending evictions are cancelled."""
        if not len(rows):
            return
        self.nodes.set_ready(rows, True)
        pods = self.cluster.pods
        pods.evict_at[np.flatnonzero(self.bound_on(rows))] = np.nan
        self.requeue_all = True

    def restart_pods(self, rows: IntArray, now: float) -> None:
        """The hosts of nodes ``rows`` came back: the pods still bound there start again."""
        pods = self.cluster.pods
        pods.running_since[np.flatnonzero(self.bound_on(rows))] = now
        self.cluster.changes += 1

    def remove_node(self, node: int, now: float) -> None:
        """Take a node out of the cluster for good: its pods are evicted, it is cordoned,
        NotReady and loses its labels (so it is in no topology domain any more)."""
        pods = self.cluster.pods
        self.evict(pods.on_node(node), now)
        pending = pods.evict_at[: pods.size]
        pending[pods.node[: pods.size] == node] = np.nan
        nodes = self.nodes
        nodes.set_unschedulable([node], True)
        if nodes.ready[node]:
            nodes.set_ready([node], False)
        for key in list(nodes.labels.keys):
            nodes.labels.remove(key, np.array([node], dtype=np.int64))
        nodes.version += 1
        self.info.present[node] = False
        self.info.left[node] = now

    def schedule(self, now: float) -> int:
        """Run every scheduler of the cluster over its queue; returns pods bound."""
        bound = 0
        if self.requeue_all:
            for scheduler in self.schedulers.values():
                scheduler.requeue_unschedulable()
            self.requeue_all = False
        for scheduler in self.schedulers.values():
            bound += scheduler.schedule_pending(now)
        return bound

    def unschedulable_count(self) -> int:
        return sum(len(s.unschedulable) for s in self.schedulers.values())
