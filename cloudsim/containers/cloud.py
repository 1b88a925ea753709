"""The container cloud in a simulation: clusters on the IaaS pools, their controllers, results.

:class:`ContainerCloud` is built by the containers module
(:class:`~cloudsim.containers.module.ContainersModule`) when the scenario has a ``containers``
section. At the start it places every node VM through a placer of its
own (seeded from the ``containers`` stream, so the IaaS decisions of a run do not depend on
whether it has a container part) on the hosts of the node group's pool centre, zone and
purpose, and registers each one in the platform's VM table as a cloud host of the cluster's
``system`` (event ``create``, its department's quota counted and enforced); bare-metal node
hosts are taken out of IaaS placement whole. Deployments' pods are then created and
scheduled, and the controllers (:mod:`cloudsim.containers.controllers`, the cluster
autoscaler, a trace replay) run as processes the kernel starts.

Host failures reach the container cloud as ground truth (the host table) and on the bus
(topic ``"outage"``), so service accounting sees a failed host at its instant.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import simpy

from cloudsim.containers.autoscaler import ClusterAutoscaler
from cloudsim.containers.build import (
    budget_of,
    node_request,
    selector_of,
    template_of,
    vm_group,
)
from cloudsim.containers.cluster import Cluster
from cloudsim.containers.controllers import (
    Controller,
    Endpoints,
    HorizontalPodAutoscaling,
    NodeLifecycle,
    ReplicaSets,
)
from cloudsim.containers.demand import DemandCurves
from cloudsim.containers.fragmentation import Fragmentation, Workload, measure
from cloudsim.containers.hpa import Autoscalers
from cloudsim.containers.labels import BoolArray, IntArray, LabelSelector
from cloudsim.containers.nodes import (
    CPU,
    GPU_MILLI,
    MEMORY,
    NodeGroup,
    NodeTable,
    bare_metal_nodes,
    host_labels,
    read_openb_nodes,
    reserve_vector,
)
from cloudsim.containers.nodes import Taint as NodeTaint
from cloudsim.containers.pods import BOUND, PENDING
from cloudsim.containers.replay import TraceReplay
from cloudsim.containers.results import cluster_table, node_table, pod_table
from cloudsim.containers.runtime import ClusterState, Deployment
from cloudsim.containers.scheduler import Profile, Scheduler
from cloudsim.containers.services import ServiceLedger, ServiceSpec, required_default
from cloudsim.kernel import Context, default_placer
from cloudsim.platform.platform import QUOTA_KINDS
from cloudsim.records import EventKind, Outage
from cloudsim.state.hosts import PURPOSES

CONTAINER_PURPOSE = PURPOSES.index("container")
#: Fragmentation measurements remembered by node state (the oldest forgotten at once).
MEASURED_STATES = 1024
#: A service, its cluster and the deployments it selects.
_Selected = tuple[int, ClusterState, list[int]]


class ContainerCloud:
    """Every container cluster of a run, with its controllers (see the module docstring)."""

    def __init__(self, ctx: Context, profiles: Mapping[str, Profile]) -> None:
        spec = ctx.world.scenario.containers
        assert spec is not None
        self.ctx = ctx
        self.world = ctx.world
        self.env: simpy.Environment = ctx.env
        self.scenario = ctx.world.scenario
        self.spec = spec
        self.profiles = profiles
        self.horizon = float(ctx.horizon)
        self.hosts = ctx.hosts
        self.platform = ctx.platform
        self.record = ctx.recorder.event
        (
            self.rng_nodes,
            self.rng_scheduler,
            self.rng_demand,
            self.rng_autoscaler,
        ) = ctx.stream("containers").spawn(4)
        self.node_placer = default_placer(ctx.world)(ctx.hosts, self.rng_nodes)
        self.clusters: list[ClusterState] = []
        self.workloads: list[Workload] = []
        self.replicasets = ReplicaSets(self)
        self.lifecycle = NodeLifecycle(self)
        self.endpoints = Endpoints(self)
        self.series: dict[str, list[Any]] = {}
        self._node_serial: dict[tuple[int, int], int] = {}
        self._fragmentation: dict[int, tuple[tuple[int, int, int], Fragmentation]] = {}
        self._measured: dict[tuple[int, int, int, bytes, bytes, bytes], Fragmentation] = {}
        self._selected: tuple[tuple[int, ...], list[_Selected]] | None = None
        self._started = False

    # -- building ---------------------------------------------------------------------------
    def provision(self) -> None:
        """Build the clusters and their nodes: node VMs are ordered and bare-metal hosts
        taken now (before the tenants' initial placement)."""
        spec = self.spec
        for i, cspec in enumerate(spec.clusters):
            cluster = Cluster(NodeTable(), cspec.name)
            wanted = {cspec.scheduler} | {
                d.scheduler_name or cspec.scheduler
                for d in spec.deployments
                if d.cluster == cspec.name
            }
            schedulers = {
                name: Scheduler(
                    cluster,
                    self.profiles[name],
                    rng=self.rng_scheduler,
                    record=partial(self._scheduler_event, i),
                )
                for name in sorted(wanted)
            }
            cs = ClusterState(
                i, cspec, cluster, schedulers, self._host_up, lambda: self.hosts.version
            )
            self.clusters.append(cs)
            self._build_nodes(cs)

    def start(self) -> None:
        """Create the deployments' pods and schedule them; services, HPAs, autoscaler."""
        if self._started:
            return
        self._started = True
        self.ctx.bus.subscribe("outage", self._on_fault)
        spec = self.spec
        for cs in self.clusters:
            cluster, cspec = cs.cluster, cs.spec
            cluster.pdbs = [budget_of(p) for p in spec.pdbs if p.cluster == cspec.name]
            for d in (d for d in spec.deployments if d.cluster == cspec.name):
                template = template_of(d, spec, cspec.scheduler)
                cs.add_deployment(
                    Deployment(
                        index=len(cs.deployments),
                        name=d.name,
                        template=template,
                        tid=cluster.template_id(template),
                        scheduler=cs.schedulers[template.scheduler_name],
                        system=self.world.systems.get(d.system) if d.system else -1,
                        startup=d.startup,
                        declared=d.replicas,
                    )
                )
        self._build_services()
        hpas = Autoscalers(spec.hpas, spec.hpa_sync_period)
        targets = np.array(
            [self._deployment_of(h.deployment) for h in spec.hpas], dtype=np.int64
        ).reshape(len(spec.hpas), 2)
        self.hpa = HorizontalPodAutoscaling(self, hpas, targets)
        self.autoscaler = ClusterAutoscaler(self)
        self.replay: TraceReplay | None = None
        if spec.replay is not None:
            c = next(i for i, x in enumerate(spec.clusters) if x.name == spec.replay.cluster)
            self.replay = TraceReplay(self, self.clusters[c], spec.replay)
        for cs in self.clusters:
            if self.replay is not None and self.replay.state is cs:
                self.workloads.append(self.replay.workload)
            else:
                self.workloads.append(
                    Workload.of(
                        [d.template for d in cs.deployments],
                        [float(max(d.declared, 1)) for d in cs.deployments],
                    )
                )
        self.replicasets.step(0.0)

    def processes(self) -> list[Generator[simpy.Event, Any, None]]:
        """The controller processes, for the engine to start (after :meth:`start`)."""
        controllers: list[Controller] = [
            self.replicasets,
            self.lifecycle,
            self.endpoints,
            self.hpa,
            self.autoscaler,
        ]
        if self.replay is not None:
            controllers.append(self.replay)
        return [c.run() for c in controllers]

    def _build_nodes(self, cs: ClusterState) -> None:
        cspec = cs.spec
        hosts = self.hosts
        if cspec.trace_nodes is not None:
            group = read_openb_nodes(Path(cspec.trace_nodes))
            self._add(cs, group, -1, np.full(group.size, -1, dtype=np.int64), 0.0)
        taken: dict[int, int] = {}
        for g, group_spec in enumerate(cspec.node_groups):
            if group_spec.flavor is not None:
                placed = self.order_node_vms(cs, g, group_spec.count or 0, 0.0)
                self.join_nodes(cs, g, placed, 0.0)
                continue
            pool = self.world.pools.index_of(group_spec.pool or "")
            rows = np.flatnonzero(hosts.pool == pool).astype(np.int64)
            start = taken.get(pool, 0)
            count = len(rows) - start if group_spec.count is None else group_spec.count
            chosen = rows[start : start + count]
            taken[pool] = start + len(chosen)
            for h in chosen.tolist():  # the whole host goes to the container cloud
                hosts.allocate(h, hosts.free[:, h].copy())
            hosts.purpose[chosen] = CONTAINER_PURPOSE
            hosts.version += 1
            group = bare_metal_nodes(hosts, chosen, **self._group_options(cs, g))
            self._add(cs, group, g, np.full(len(chosen), -1, dtype=np.int64), 0.0)

    def _group_options(self, cs: ClusterState, g: int) -> dict[str, Any]:
        group = cs.spec.node_groups[g]
        return {
            "reserve": reserve_vector(group.system_reserved.cpu, group.system_reserved.memory),
            "max_pods": group.max_pods,
            "labels": dict(group.labels),
            "taints": [NodeTaint(t.key, t.value, t.effect) for t in group.taints],
        }

    def _add(
        self, cs: ClusterState, group: NodeGroup, g: int, vm_rows: IntArray, now: float
    ) -> None:
        cs.nodes.add(group)
        ids = np.full(len(vm_rows), -1, dtype=np.int64)
        vms = self.platform.vms
        has = vm_rows >= 0
        ids[has] = vms.ints["vm_id"][vm_rows[has]]
        cs.info.extend(g, vm_rows, ids, now)
        if g >= 0 and cs.spec.node_groups[g].unschedulable:
            cs.nodes.set_unschedulable(np.arange(cs.nodes.size - group.size, cs.nodes.size))

    def _deployment_of(self, name: str) -> tuple[int, int]:
        for cs in self.clusters:
            for d in cs.deployments:
                if d.name == name:
                    return cs.index, d.index
        raise KeyError(name)

    def _build_services(self) -> None:
        rule = self.world.availability
        hpa_min = {h.deployment: h.min_replicas for h in self.spec.hpas}
        clusters = {cs.name: cs for cs in self.clusters}
        specs: list[ServiceSpec] = []
        for svc in self.spec.services:
            cs = clusters[svc.cluster]
            dep = next((d for d in cs.deployments if d.name == svc.deployment), None)
            selector: LabelSelector = (
                selector_of(svc.selector)
                if svc.selector is not None
                else LabelSelector.of(dict(dep.template.labels) if dep else {})
            )
            namespace = (
                svc.namespace
                if svc.selector is not None or dep is None
                else (dep.template.namespace)
            )
            selected = [
                d
                for d in cs.deployments
                if d.template.namespace == namespace and selector.matches(d.template.label_map)
            ]
            declared = sum(hpa_min.get(d.name, d.declared) for d in selected)
            system = self.world.systems.get(svc.system) if svc.system else -1
            if system < 0 and dep is not None:
                system = dep.system
            required = (
                svc.required_endpoints
                if svc.required_endpoints is not None
                else required_default(declared, rule.required_fraction)
            )
            specs.append(
                ServiceSpec(
                    svc.name,
                    cs.index,
                    namespace,
                    selector,
                    dep.index if dep is not None else -1,
                    system,
                    required,
                )
            )
        demand = DemandCurves(
            [s.demand for s in self.spec.services],
            self.horizon,
            self.scenario.meta.start,
            self.rng_demand,
        )
        self.ledger = ServiceLedger(specs, self.clusters, demand)

    # -- node VMs (cloud hosts of the cluster's system) -----------------------------------
    def _vm_need(self, flavor: int) -> IntArray:
        d = self.platform.demand[:, flavor]
        return np.array([d[0] // 1000, d[1], d[2], 1], dtype=np.int64)

    def _owner(self, cs: ClusterState) -> tuple[int, int]:
        assert cs.spec.system is not None
        system = self.world.systems.index_of(cs.spec.system)
        return system, self.platform.profiles[system].department

    def node_quota_room(self, cs: ClusterState, g: int) -> int:
        """How many more node VMs of group ``g`` the department's quota allows."""
        platform = self.platform
        flavor = self.world.flavors.index_of(cs.spec.node_groups[g].flavor or "")
        department = self._owner(cs)[1]
        need = self._vm_need(flavor)
        limits = platform.quota[:, department]
        left = limits - platform.usage[:, department]
        room = [int(left[k] // need[k]) for k in range(len(need)) if limits[k] >= 0 and need[k]]
        return max(min(room, default=2**31), 0)

    def order_node_vms(
        self, cs: ClusterState, g: int, count: int, now: float
    ) -> list[tuple[int, int, int]]:
        """Create up to ``count`` node VMs of group ``g`` (quota first, then placement);
        what cannot be created is recorded as rejected. Returns (host, vm row, vm id)."""
        if count <= 0:
            return []
        platform = self.platform
        record = self.record
        group = cs.spec.node_groups[g]
        flavor = self.world.flavors.index_of(group.flavor or "")
        system, department = self._owner(cs)
        need = self._vm_need(flavor)
        allowed = min(count, self.node_quota_room(cs, g))
        if allowed < count:
            limits = platform.quota[:, department]
            over = (limits >= 0) & (platform.usage[:, department] + need * count > limits)
            reason = f"quota_{QUOTA_KINDS[int(np.flatnonzero(over)[0])]}"
            self._reject(system, flavor, count - allowed, reason, now)
        req = node_request(self.scenario, group, self.hosts)
        placed = self.node_placer.place_batch(req, allowed) if allowed else []
        ok = [h for h in placed if h >= 0]
        if len(ok) < allowed:
            self._reject(
                system, flavor, allowed - len(ok), self.node_placer.reject_reason(req), now
            )
        out = []
        for host in ok:
            row = platform.vms.add(
                system=system,
                department=department,
                flavor=flavor,
                host=host,
                datacenter=int(self.hosts.datacenter[host]),
                demand=platform.demand[:, flavor],
                time=now,
            )
            vm_id = int(platform.vms.ints["vm_id"][row])
            platform.usage[:, department] += need
            record(
                now,
                EventKind.CREATE,
                system=system,
                vm=vm_id,
                host=host,
                flavor=flavor,
                reason=f"node:{cs.name}",
            )
            out.append((host, row, vm_id))
        return out

    def _reject(self, system: int, flavor: int, count: int, reason: str, now: float) -> None:
        self.platform.rejected[reason] += count
        self.record(now, EventKind.REJECT, system=system, count=count, reason=reason, flavor=flavor)

    def join_nodes(
        self, cs: ClusterState, g: int, placed: list[tuple[int, int, int]], now: float
    ) -> None:
        """The node VMs ``placed`` join the cluster as Ready nodes of group ``g``."""
        if not placed:
            return
        group = cs.spec.node_groups[g]
        first = self._node_serial.get((cs.index, g), 0)
        self._node_serial[(cs.index, g)] = first + len(placed)
        names = [f"{cs.name}-{group.name}-{first + k:03d}" for k in range(len(placed))]
        hosts = np.array([h for h, _, _ in placed], dtype=np.int64)
        nodes = vm_group(self.scenario, cs.spec, group, self.hosts, hosts, names)
        self._add(cs, nodes, g, np.array([r for _, r, _ in placed], dtype=np.int64), now)

    def release_node_vm(self, cs: ClusterState, node: int, now: float) -> None:
        """Delete the VM under a removed node: host capacity and quota come back."""
        info = cs.info
        row = int(info.vm_row[node])
        if row < 0:
            return
        info.vm_row[node] = -1
        platform = self.platform
        vms = platform.vms
        if not vms.live[row] or int(vms.ints["vm_id"][row]) != int(info.vm_id[node]):
            return
        host = int(vms.ints["host"][row])
        flavor = int(vms.ints["flavor"][row])
        system = int(vms.ints["system"][row])
        self.node_placer.release(host, vms.demand[:, row].copy())
        platform.usage[:, int(vms.ints["department"][row])] -= self._vm_need(flavor)
        self.record(
            now,
            EventKind.DELETE,
            system=system,
            vm=int(info.vm_id[node]),
            host=host,
            flavor=flavor,
            reason=f"node:{cs.name}",
        )
        vms.remove(row, now)

    def template_node(self, cs: ClusterState, g: int) -> NodeGroup:
        """An empty node of group ``g`` on the first host of its pool (autoscaler estimates)."""
        group = cs.spec.node_groups[g]
        pool = self.world.pools.index_of(group.pool or "")
        host = np.flatnonzero(self.hosts.pool == pool)[:1].astype(np.int64)
        return vm_group(self.scenario, cs.spec, group, self.hosts, host, [f"template-{group.name}"])

    def refresh_node_hosts(self, cs: ClusterState, now: float) -> None:
        """Follow node VMs that local HA restarted on another host; drop nodes whose VM is
        gone (lost)."""
        info = cs.info
        vms = self.platform.vms
        nodes = np.flatnonzero(info.present & (info.vm_row >= 0))
        if not len(nodes):
            return
        rows = info.vm_row[nodes]
        alive = vms.live[rows] & (vms.ints["vm_id"][rows] == info.vm_id[nodes])
        for node in nodes[~alive].tolist():
            info.vm_row[node] = -1
            cs.remove_node(node, now)
        nodes, rows = nodes[alive], rows[alive]
        host = vms.ints["host"][rows]
        moved = host != cs.nodes.host[nodes]
        if moved.any():
            nodes, host = nodes[moved], host[moved]
            cs.nodes.host[nodes] = host
            for key, values in host_labels(self.hosts, host).items():
                cs.nodes.labels.set(key, nodes, values)
            cs.nodes.version += 1

    # -- events -----------------------------------------------------------------------------
    def _host_up(self, rows: IntArray) -> BoolArray:
        result: BoolArray = self.hosts.up[rows]
        return result

    def _on_fault(self, change: str, outage: Outage, time: float) -> None:
        self.changed(time)
        self.lifecycle.poke()

    def _scheduler_event(self, c: int, time: float, kind: str, **fields: Any) -> None:
        if kind == "preempt":
            cs = self.clusters[c]
            cs.preemptions += 1
            cs.archive_row(int(fields["pod"]), time, int(fields["node"]))
            self.replicasets.poke()

    def changed(self, now: float, *, readiness_only: bool = False) -> None:
        """Something happened to pods or nodes at ``now``: account for it and let the
        controllers that depend on it look. Pods finishing their start (``readiness_only``)
        change no allocation, and the HPAs' forecasts already expect them."""
        if not self._started:
            return
        self.ledger.advance(now)
        if readiness_only:
            return
        self.hpa.poke()
        self.autoscaler.poke()
        self.endpoints.poke()
        self.replicasets.recheck()  # pods may have become unschedulable: when to retry

    # -- results ----------------------------------------------------------------------------
    def service_replicas(self) -> IntArray:
        """(S,) replicas asked for of the deployments each service selects."""
        out = np.zeros(len(self.ledger), dtype=np.int64)
        for i, cs, deps in self._service_deployments():
            out[i] = sum(int(cs.desired[d]) for d in deps)
        return out

    def _service_deployments(self) -> list[_Selected]:
        """Per service: its cluster and the deployments it selects (while the clusters have
        the templates they have)."""
        key = tuple(len(cs.cluster.templates) for cs in self.clusters)
        if self._selected is not None and self._selected[0] == key:
            return self._selected[1]
        found = []
        for i, s in enumerate(self.ledger.specs):
            cs = self.clusters[s.cluster]
            sel = self.ledger.selects(s.cluster)[
                int(np.flatnonzero(self.ledger.cluster_services(s.cluster) == i)[0])
            ]
            found.append((i, cs, [d.index for d in cs.deployments if sel[d.tid]]))
        self._selected = (key, found)
        return found

    def sample(self, now: float) -> None:
        """One row per service and per cluster (at each of the kernel's samples)."""
        if not self._started:
            return
        self.ledger.sample(now, self.service_replicas())
        for cs, workload in zip(self.clusters, self.workloads, strict=True):
            nodes = cs.nodes
            present = cs.info.present
            usable = cs.nodes_ok()  # present, Ready and up
            alloc = nodes.allocatable[:, present].sum(axis=1)
            used = nodes.requested[:, present].sum(axis=1)
            state = (nodes.changes, nodes.version, self.hosts.version)
            cached = self._fragmentation.get(cs.index)
            if cached is not None and cached[0] == state:
                frag = cached[1]
            else:  # measured again only when allocations or nodes changed
                frag = self._measure(cs.index, nodes, usable, workload)
                self._fragmentation[cs.index] = (state, frag)
            pods = cs.cluster.pods
            phase = pods.phase[: pods.size]

            ratio = np.divide(used, alloc, out=np.zeros(len(alloc)), where=alloc > 0)

            row = {
                "time": now,
                "cluster": cs.index,
                "nodes": int(np.count_nonzero(present)),
                "nodes_ready": int(np.count_nonzero(usable)),
                "cpu_allocated_ratio": float(ratio[CPU]),
                "memory_allocated_ratio": float(ratio[MEMORY]),
                "gpu_allocated_ratio": float(ratio[GPU_MILLI]),
                "pods_bound": int(np.count_nonzero(phase == BOUND)),
                "pods_pending": int(np.count_nonzero(phase == PENDING)),
                "pods_created": cs.pods_created,
                "pods_evicted": cs.evictions,
                "gpu_free_milli": frag.gpu_free,
                "gpu_fragmented_milli": frag.gpu_fragmented,
                "gpu_fragmentation_ratio": frag.gpu_ratio,
                "cpu_free_milli": frag.cpu_free,
                "cpu_stranded_milli": frag.cpu_stranded,
                "cpu_stranded_ratio": frag.cpu_ratio,
            }
            for column, value in row.items():
                self.series.setdefault(column, []).append(value)

    def _measure(
        self, c: int, nodes: NodeTable, usable: BoolArray, workload: Workload
    ) -> Fragmentation:
        """:func:`measure`, remembered for nodes in the same state as before (what it reads:
        the usable nodes' headroom, GPUs and labels)."""
        cols = np.flatnonzero(usable)
        key = (
            c,
            id(workload),
            nodes.version,
            cols.tobytes(),
            nodes.headroom[:, cols].tobytes(),
            nodes.gpu_free[:, cols].tobytes(),
        )
        found = self._measured.get(key)
        if found is None:
            if len(self._measured) >= MEASURED_STATES:
                self._measured.clear()
            found = self._measured[key] = measure(nodes, usable, workload)
        return found

    def tables(self) -> dict[str, pa.Table]:
        """``pods``, ``services``, ``service_outages``, ``cluster_timeseries``, ``nodes``."""
        self.ledger.close(self.horizon)
        systems = [s.name for s in self.scenario.systems]
        services = [s.name for s in self.ledger.specs]
        clusters = [cs.name for cs in self.clusters]
        return {
            "pods": pod_table(self.clusters, systems, self.horizon),
            "services": self.ledger.table(services, systems),
            "service_outages": self.ledger.outage_table(services, systems),
            "cluster_timeseries": cluster_table(self.series, clusters),
            "nodes": node_table(self.clusters, self.hosts.names, self.scenario),
        }

    def summary(self, tables: dict[str, pa.Table]) -> dict[str, Any]:
        """The ``containers`` block of ``summary.json``."""
        out: dict[str, Any] = {"clusters": {}}
        pods = tables["pods"]
        series = self.series
        for cs in self.clusters:
            mine = np.asarray(series.get("cluster", []), dtype=np.int64) == cs.index

            def peak(key: str, mine: BoolArray = mine) -> float:
                values = np.asarray(series.get(key, []), dtype=np.float64)[mine]
                return round(float(values.max()), 6) if len(values) else 0.0

            def last(key: str, mine: BoolArray = mine) -> float:
                values = np.asarray(series.get(key, []), dtype=np.float64)[mine]
                return round(float(values[-1]), 6) if len(values) else 0.0

            def mean(key: str, mine: BoolArray = mine) -> float:
                values = np.asarray(series.get(key, []), dtype=np.float64)[mine]
                return round(float(values.mean()), 6) if len(values) else 0.0

            in_cluster = np.asarray(pods.column("cluster").to_pylist()) == cs.name
            wait = np.asarray(pods.column("wait_s").to_numpy(zero_copy_only=False), dtype=float)
            wait = wait[in_cluster]
            status = np.asarray(pods.column("status").to_pylist(), dtype=object)[in_cluster]
            waited = wait[~np.isnan(wait)]
            out["clusters"][cs.name] = {
                "nodes_start": int((cs.info.joined == 0).sum()),
                "nodes_end": int(cs.info.present.sum()),
                "nodes_peak": int(peak("nodes")),
                "cpu_allocated_ratio_end": last("cpu_allocated_ratio"),
                "cpu_allocated_ratio_peak": peak("cpu_allocated_ratio"),
                "memory_allocated_ratio_peak": peak("memory_allocated_ratio"),
                "gpu_allocated_ratio_end": last("gpu_allocated_ratio"),
                "gpu_allocated_ratio_peak": peak("gpu_allocated_ratio"),
                "gpu_fragmentation_ratio_mean": mean("gpu_fragmentation_ratio"),
                "cpu_stranded_ratio_mean": mean("cpu_stranded_ratio"),
                "pods_created": cs.pods_created,
                "pods_running_end": int((status == "running").sum()),
                "pods_pending_end": int((status == "pending").sum()),
                "pods_never_scheduled": int(np.isnan(wait).sum()),
                "pods_evicted": int((status == "evicted").sum()),
                "pods_preempted": int((status == "preempted").sum()),
                "wait_s_mean": round(float(waited.mean()), 3) if len(waited) else 0.0,
                "wait_s_p95": round(float(np.percentile(waited, 95)), 3) if len(waited) else 0.0,
                "wait_s_max": round(float(waited.max()), 3) if len(waited) else 0.0,
            }
        out["services"] = self.ledger.summary(self.horizon)
        out["hpa"] = {"hpas": len(self.hpa.hpas), "rescales": self.hpa.rescales}
        a = self.autoscaler
        out["autoscaler"] = {
            "scale_ups": a.scale_ups,
            "nodes_added": a.nodes_added,
            "scale_downs": a.scale_downs,
            "nodes_removed": a.nodes_removed,
            "failed_orders": a.failed_orders,
        }
        out["node_not_ready_events"] = self.lifecycle.not_ready_events
        if self.replay is not None:
            out["replay"] = self.replay.summary()
        return out
