"""The cluster autoscaler: node groups grown from the IaaS pool within quota, and shrunk.

As kubernetes/autoscaler's cluster-autoscaler, one loop every ``scan_interval`` (10 s) over
every cluster that has one — but only when there is something to look at: pods the
scheduler could not place, nodes being provisioned, nodes on their way to being unneeded.

**Scale-up.** Pods marked unschedulable are checked against an empty node of each
autoscaled group (the static filters and resource fit of the scheduler, on a template node
with the group's flavor, reserve, labels and taints). For each group, first-fit decreasing
estimates how many new nodes the pods need after the nodes already being provisioned are
filled; the group's ``max_count`` and the department's quota cap it. The expander picks
one option: ``least-waste`` (the smallest unused share of the new nodes' CPU plus memory,
ties at random) or ``random``. The node VMs are ordered from the IaaS pool at once (they
take quota and host capacity) and join Ready after ``node_provision_time``; a group whose
order fails (quota, no host: the IaaS refusal is recorded) is left alone for ``backoff``,
doubled after each consecutive failure up to 30 min.

**Scale-down.** A node whose pods request less than ``scale_down_utilization_threshold`` of
its CPU and of its memory is unneeded; after ``scale_down_unneeded_time`` (10 min) it is
removed if its group stays at or above ``min_count``, if no scale-up happened in the last
``scale_down_delay_after_add``, and — for a node with pods — if every pod fits on another
node now (checked with the scheduler's filters, disruption budgets respected). Empty
nodes go in bulk, a node with pods one at a time; its pods are evicted (the replica sets
recreate them) and its VM is deleted, giving back quota and host capacity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cloudsim.compiled import check, chosen
from cloudsim.containers import sample_kernels
from cloudsim.containers.cluster import Cluster
from cloudsim.containers.controllers.base import Controller, ControlPlane, grid_after
from cloudsim.containers.labels import BoolArray, FloatArray, IntArray
from cloudsim.containers.nodepool import NodePool, NodeVM
from cloudsim.containers.nodes import CPU, MEMORY, NodeTable
from cloudsim.containers.pods import PENDING
from cloudsim.containers.runtime import ClusterState
from cloudsim.containers.scheduler import Profile, Scheduler
from cloudsim.scenario.containers import Autoscaler

#: The CPU and memory rows of the node table.
_CPU_MEMORY = slice(CPU, MEMORY + 1) if MEMORY == CPU + 1 else [CPU, MEMORY]
#: The scheduler filters an empty template node is checked with.
ESTIMATOR_FILTERS = ("NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodeResourcesFit")
#: The longest a node group is left alone after failed orders (the backoff doubles up to it).
MAX_BACKOFF = 1800.0
#: How long a node whose pods could not move is not looked at again (unremovable recheck).
UNREMOVABLE_RECHECK = 300.0


@dataclass
class Provisioning:
    ready_at: float
    group: int
    vms: list[NodeVM]


@dataclass
class Option:
    """A scale-up the expander may choose: ``nodes`` new nodes of ``group``."""

    group: int
    nodes: int
    waste: float


@dataclass
class _Scaler:
    """One cluster's autoscaler state."""

    state: ClusterState
    spec: Autoscaler
    groups: list[int]
    estimator: Scheduler
    capacity: IntArray  # (R, G) allocatable of a node of each autoscaled group
    provisioning: list[Provisioning] = field(default_factory=list)
    backoff_until: dict[int, float] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)  # consecutive failed orders
    last_scale_up: float = -math.inf
    fits: dict[int, IntArray] = field(default_factory=dict)  # tid -> groups it fits
    #: When to look at pending pods again without a poke: when a group's backoff ends
    #: (inf: no group can help them until something changes).
    retry_at: float = math.inf
    seen: tuple[int, int, int] = (-1, -1, -1)  # node table state the utilisation is of
    util: FloatArray = field(default_factory=lambda: np.zeros(0))
    #: Bumped whenever the scale-down marks nodes (unneeded, unremovable until).
    marks: int = 0
    #: ``_next_removal`` as of (marks, node table version, last scale-up).
    removal: tuple[tuple[int, int, float], float] | None = None
    #: Per node group (and a last False for the nodes of no group, -1): autoscaled.
    autoscaled: BoolArray = field(default_factory=lambda: np.zeros(1, dtype=np.bool_))
    #: ``_above`` as of (node table version, nodes).
    above: tuple[tuple[int, int], BoolArray] | None = None


class ClusterAutoscaler(Controller):
    """Every cluster autoscaler of the run, as one process."""

    def __init__(
        self,
        plane: ControlPlane,
        pool: NodePool,
        rng: np.random.Generator,
        replicasets: Controller,
        kernel: str = "auto",
    ) -> None:
        check(kernel, "autoscaler kernel")
        super().__init__(plane)
        #: The compiled scale-down passes (numba), or None: the numpy path (the reference).
        self.kernels: dict[str, Callable[..., Any]] | None = None
        #: "auto" is settled at the first scale-down check (numba may be warm by then).
        self.kernel: str | None = kernel
        if kernel != "auto":
            self._settle()
        self.pool = pool
        self.rng = rng
        self.replicasets = replicasets
        self.scalers: list[_Scaler] = []
        self.last = -math.inf
        self.scale_ups = 0
        self.nodes_added = 0
        self.scale_downs = 0
        self.nodes_removed = 0
        self.failed_orders = 0
        for cs in plane.clusters:
            spec = cs.spec.autoscaler
            groups = [i for i, g in enumerate(cs.spec.node_groups) if g.max_count is not None]
            if spec is None or not groups:
                continue
            templates = NodeTable(*(pool.template_node(cs, g) for g in groups))
            estimator = Scheduler(
                Cluster(templates, f"{cs.name}-estimator"),
                Profile(name="estimator", filters=ESTIMATOR_FILTERS, weights={}, preemption=False),
            )
            autoscaled = np.zeros(len(cs.spec.node_groups) + 1, dtype=np.bool_)
            autoscaled[groups] = True
            self.scalers.append(
                _Scaler(
                    cs,
                    spec,
                    groups,
                    estimator,
                    templates.allocatable.copy(),
                    autoscaled=autoscaled,
                )
            )
        #: The loop's period: the shortest scan interval of the clusters.
        self.scan = min((s.spec.scan_interval for s in self.scalers), default=math.inf)

    def _settle(self) -> None:
        """Choose the scale-down path once (:func:`~cloudsim.compiled.chosen`:
        compiled where a compiled kernel already ran; the check is too small to repay
        numba's start-up on its own)."""
        assert self.kernel is not None
        if chosen(self.kernel, wait_for_warm=True):
            self.kernels = sample_kernels.kernels()
        self.kernel = None

    # -- scheduling of the loop -----------------------------------------------------------
    def due(self, now: float) -> float:
        if not self.scalers:
            return math.inf
        scan = self.scan
        if self.trigger.poked:
            return grid_after(now, scan, strictly=self.last >= now)
        due = math.inf
        for s in self.scalers:
            if s.provisioning:
                due = min(due, min(p.ready_at for p in s.provisioning))
            due = min(due, self._next_removal(s))
            if s.state.unschedulable_count():
                due = min(due, max(now, s.retry_at))
        if math.isinf(due):
            return due
        return grid_after(max(due, now), scan, strictly=self.last >= max(due, now))

    def _next_removal(self, s: _Scaler) -> float:
        """When an unneeded node of a group above its minimum may next be removed
        (remembered until the nodes or what the scale-down marked on them change)."""
        key = (s.marks, s.state.nodes.version, s.last_scale_up)
        if s.removal is not None and s.removal[0] == key:
            return s.removal[1]
        at = self._removal_at(s)
        s.removal = (key, at)
        return at

    def _removal_at(self, s: _Scaler) -> float:
        info = s.state.info
        waiting = ~np.isnan(info.unneeded_since)
        if not waiting.any():
            return math.inf
        waiting &= self._above(s)
        if not waiting.any():
            return math.inf
        at = np.maximum(
            info.unneeded_since[waiting] + s.spec.scale_down_unneeded_time,
            info.unremovable_until[waiting],
        )
        return max(float(at.min()), s.last_scale_up + s.spec.scale_down_delay_after_add)

    @staticmethod
    def _above(s: _Scaler) -> BoolArray:
        """Nodes present in an autoscaled group that has more than its minimum (remembered
        while the node table stays as it is: nodes join and leave with a new version)."""
        info = s.state.info
        key = (s.state.nodes.version, info.size)
        if s.above is not None and s.above[0] == key:
            return s.above[1]
        above = np.zeros(len(info.group), dtype=np.bool_)
        for g in s.groups:
            members = info.present & (info.group == g)
            if int(members.sum()) > (s.state.spec.node_groups[g].min_count or 0):
                above |= members
        s.above = (key, above)
        return above

    def step(self, now: float) -> None:
        self.last = now
        acted = False
        for s in self.scalers:
            if self._join(s, now):  # let the scheduler place pods on them first
                acted = True
                continue
            grew = self._scale_up(s, now)
            acted |= grew
            if not grew and not s.provisioning:
                acted |= self._scale_down(s, now)
        if acted:
            self.replicasets.poke()
            self.plane.changed(now)

    # -- scale-up ---------------------------------------------------------------------------
    def _join(self, s: _Scaler, now: float) -> bool:
        due = [p for p in s.provisioning if p.ready_at <= now]
        if not due:
            return False
        s.provisioning = [p for p in s.provisioning if p.ready_at > now]
        for p in due:
            self.pool.join(s.state, p.group, p.vms, now)
        s.state.requeue_all = True
        return True

    def _fits(self, s: _Scaler, tid: int) -> IntArray:
        """Positions (in ``s.groups``) of the groups whose empty node takes template ``tid``."""
        found = s.fits.get(tid)
        if found is None:
            template = s.state.cluster.templates[tid]
            found = s.estimator.feasible_nodes(template)
            s.fits[tid] = found
        return found

    def _scale_up(self, s: _Scaler, now: float) -> bool:
        cs = s.state
        s.retry_at = math.inf
        if not cs.unschedulable_count():
            return False
        pods = cs.cluster.pods
        rows = sorted({r for sch in cs.schedulers.values() for r in sch.unschedulable})
        rows = [r for r in rows if pods.phase[r] == PENDING]
        if not rows:
            return False
        info = cs.info
        options: list[Option] = []
        for k, g in enumerate(s.groups):
            backoff = s.backoff_until.get(g, -math.inf)
            if backoff > now:
                s.retry_at = min(s.retry_at, backoff)
                continue
            group = cs.spec.node_groups[g]
            assert group.max_count is not None
            upcoming = sum(len(p.vms) for p in s.provisioning if p.group == g)
            size = int(np.count_nonzero(info.present & (info.group == g)))
            room = group.max_count - size - upcoming  # the IaaS quota is the cloud's to enforce
            if room <= 0:
                continue
            fitting = [r for r in rows if k in self._fits(s, int(pods.template[r])).tolist()]
            if not fitting:
                continue
            nodes, helped, used = self._estimate(s, k, fitting, upcoming)
            nodes = min(nodes, room)
            if nodes <= 0 or helped <= 0:
                continue
            cap = s.capacity[:, k]
            waste = sum(
                (nodes * int(cap[r]) - int(used[r])) / (nodes * int(cap[r]))
                for r in (CPU, MEMORY)
                if cap[r] > 0
            )
            options.append(Option(g, nodes, max(waste, 0.0)))
        if not options:
            return False
        choice = self._expand(s, options)
        placed = self.pool.order(cs, choice.group, choice.nodes, now)
        if len(placed) < choice.nodes:  # quota or no host: back off, longer each time
            failures = s.failures.get(choice.group, 0)
            s.failures[choice.group] = failures + 1
            wait = min(s.spec.backoff * 2**failures, MAX_BACKOFF)
            s.backoff_until[choice.group] = now + wait
            s.retry_at = min(s.retry_at, now + wait)
            self.failed_orders += 1
        else:
            s.failures.pop(choice.group, None)
        if not placed:
            return False
        s.provisioning.append(Provisioning(now + s.spec.node_provision_time, choice.group, placed))
        s.last_scale_up = now
        self.scale_ups += 1
        self.nodes_added += len(placed)
        if s.spec.node_provision_time <= 0:
            self._join(s, now)
        return True

    def _estimate(
        self, s: _Scaler, k: int, rows: list[int], upcoming: int
    ) -> tuple[int, int, IntArray]:
        """First-fit decreasing of pods ``rows`` into ``upcoming`` empty nodes of group
        ``s.groups[k]`` and then new ones: new nodes needed, pods they take, and what those
        pods request (R,)."""
        cluster = s.state.cluster
        pods = cluster.pods
        need = np.stack([cluster.info[int(pods.template[r])].need for r in rows], axis=1)
        usage = np.stack([cluster.info[int(pods.template[r])].usage for r in rows], axis=1)
        order = np.lexsort((np.arange(len(rows)), -need[MEMORY], -need[CPU]))
        cap = s.capacity[:, k]
        bins: list[IntArray] = [cap.copy() for _ in range(upcoming)]
        new_from = upcoming
        helped = 0
        used = np.zeros(len(cap), dtype=np.int64)
        for i in order.tolist():
            n = need[:, i]
            for b, free in enumerate(bins):
                if (free >= n).all():
                    free -= usage[:, i]
                    if b >= new_from:
                        helped += 1
                        used += usage[:, i]
                    break
            else:
                if (cap >= n).all():
                    bins.append(cap - usage[:, i])
                    helped += 1
                    used += usage[:, i]
        return len(bins) - new_from, helped, used

    def _expand(self, s: _Scaler, options: list[Option]) -> Option:
        rng = self.rng
        if s.spec.expander == "random":
            return options[int(rng.integers(len(options)))]
        best = min(o.waste for o in options)
        ties = [o for o in options if o.waste <= best + 1e-12]
        return ties[0] if len(ties) == 1 else ties[int(rng.integers(len(ties)))]

    # -- scale-down -------------------------------------------------------------------------
    def _scale_down(self, s: _Scaler, now: float) -> bool:
        cs = s.state
        spec = s.spec
        info = cs.info
        nodes = cs.nodes
        seen = (nodes.changes, nodes.version, cs.host_version())
        if self.kernel is not None:
            self._settle()
        kernels = self.kernels
        if seen != s.seen:  # allocations or nodes changed: who is unneeded now?
            if kernels is not None:  # one pass; the marks move only if one changed
                if len(s.util) != nodes.size:
                    s.util = np.empty(nodes.size)
                changed = kernels["mark_unneeded"](
                    nodes.allocatable, nodes.requested, s.autoscaled, info.group,
                    cs.nodes_ok(), spec.scale_down_utilization_threshold, now,
                    info.unneeded_since, s.util,
                )  # fmt: skip
                if changed:
                    s.marks += 1
            else:
                alloc = np.maximum(nodes.allocatable[_CPU_MEMORY], 1)
                s.util = (nodes.requested[_CPU_MEMORY] / alloc).max(axis=0)
                eligible = s.autoscaled[info.group] & cs.nodes_ok()  # present, Ready and up
                under = eligible & (s.util < spec.scale_down_utilization_threshold)
                info.unneeded_since[~under] = np.nan
                info.unneeded_since[under & np.isnan(info.unneeded_since)] = now
                s.marks += 1
            s.seen = seen
        util = s.util
        if now < s.last_scale_up + spec.scale_down_delay_after_add:
            return False
        above = self._above(s)  # a node of a group at its minimum stays (skipped below)
        unneeded_time = spec.scale_down_unneeded_time
        if kernels is not None and not kernels["any_ripe"](
            info.unneeded_since, info.unremovable_until, above, now, unneeded_time
        ):
            return False
        under = ~np.isnan(info.unneeded_since)
        ripe = under & (now - info.unneeded_since >= unneeded_time - 1e-9)
        ripe &= info.unremovable_until <= now
        ripe &= above
        if not ripe.any():
            return False
        sizes = {g: int(np.count_nonzero(info.present & (info.group == g))) for g in s.groups}
        floor = {g: cs.spec.node_groups[g].min_count or 0 for g in s.groups}
        pods_on = np.bincount(
            cs.cluster.pods.node[: cs.cluster.pods.size][cs.bound_mask()],
            minlength=nodes.size,
        )
        removed = 0
        for node in np.flatnonzero(ripe & (pods_on == 0)).tolist():
            g = int(info.group[node])
            if removed >= spec.max_empty_bulk_delete or sizes[g] <= floor[g]:
                continue
            self._remove(cs, node, now)
            sizes[g] -= 1
            removed += 1
        if removed:
            return True
        candidates = np.flatnonzero(ripe & (pods_on > 0))
        for node in candidates[np.argsort(util[candidates], kind="stable")].tolist():
            g = int(info.group[node])
            if sizes[g] <= floor[g]:
                continue
            if self._can_drain(cs, node):
                self._remove(cs, node, now)
                return True
            info.unremovable_until[node] = now + UNREMOVABLE_RECHECK
            s.marks += 1
        return False

    def _remove(self, cs: ClusterState, node: int, now: float) -> None:
        cs.remove_node(node, now)
        self.pool.release(cs, node, now)
        cs.info.unneeded_since[node] = np.nan
        for s in self.scalers:
            if s.state is cs:
                s.marks += 1
        self.scale_downs += 1
        self.nodes_removed += 1

    def _can_drain(self, cs: ClusterState, node: int) -> bool:
        """Whether every pod on ``node`` fits on another node now (tried, then undone)."""
        cluster = cs.cluster
        pods = cluster.pods
        rows = pods.on_node(node).tolist()
        for pdb in cluster.pdbs:
            hit = sum(1 for r in rows if pdb.selects(cluster.templates[int(pods.template[r])]))
            if hit and cluster.disruptions_allowed(pdb) < hit:
                return False
        usable = cs.info.present & cs.nodes.ready & cs.node_up()
        usable[node] = False
        held = [(r, int(pods.devices[r]), float(pods.started[r])) for r in rows]
        since = pods.running_since[rows].copy()
        off: set[int] = set()
        moved: list[int] = []
        ok = True
        try:
            for r, _, started in sorted(held, key=lambda h: -int(pods.priority[h[0]])):
                cluster.unbind(r)
                off.add(r)
                template = cluster.templates[int(pods.template[r])]
                feasible = cs.schedulers[template.scheduler_name].feasible_nodes(r)
                feasible = feasible[usable[feasible]]
                if not len(feasible):
                    ok = False
                    break
                cluster.bind(r, int(feasible[0]), started)
                moved.append(r)
        finally:
            for r in moved:
                cluster.unbind(r)
            for r, devices, started in held:
                if r in off:
                    cluster.bind(r, node, started, devices)
            pods.running_since[rows] = since
        return ok
