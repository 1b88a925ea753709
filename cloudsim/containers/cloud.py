"""The container cloud in a simulation: clusters on the IaaS pools, their controllers, results.

:class:`ContainerCloud` is built by the containers module
(:class:`~cloudsim.containers.module.ContainersModule`) when the scenario has a ``containers``
section, and assembles the parts:

- :class:`~cloudsim.containers.nodepool.NodePool`: the nodes on the IaaS platform (node VMs
  as cloud hosts, bare-metal hosts), provisioned when the cloud is built;
- the clusters (:class:`~cloudsim.containers.runtime.ClusterState`) with their schedulers,
  and at the start their deployments, services
  (:class:`~cloudsim.containers.services.ServiceLedger`) and HPAs;
- the controllers (:mod:`cloudsim.containers.controllers`), processes the kernel starts,
  which see the cloud as their :class:`~cloudsim.containers.controllers.ControlPlane`;
- the clusters' time series (:mod:`cloudsim.containers.sampling`) and the results
  (:mod:`cloudsim.containers.results`).

The cloud fans changes out: when pods or nodes change, the services are accounted up to
that instant and the controllers that depend on it look again. Host failures reach it as
ground truth (the host table) and on the bus (topic ``"outage"``), so service accounting
sees a failed host at its instant.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import simpy

from cloudsim.containers.build import budget_of, template_of
from cloudsim.containers.cluster import Cluster
from cloudsim.containers.controllers import (
    ClusterAutoscaler,
    Controller,
    Endpoints,
    HorizontalPodAutoscaling,
    NodeLifecycle,
    ReplicaSets,
    TraceReplay,
)
from cloudsim.containers.fragmentation import Workload
from cloudsim.containers.hpa import Autoscalers
from cloudsim.containers.nodepool import NodePool
from cloudsim.containers.nodes import NodeTable
from cloudsim.containers.results import cluster_summary, cluster_table, node_table, pod_table
from cloudsim.containers.runtime import ClusterState, Deployment
from cloudsim.containers.sampling import ClusterSeries
from cloudsim.containers.scheduler import Profile, Scheduler
from cloudsim.containers.services import ledger_of
from cloudsim.kernel import Context, default_placer
from cloudsim.records import Outage


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
        (
            rng_nodes,
            self.rng_scheduler,
            self.rng_demand,
            self.rng_autoscaler,
        ) = ctx.stream("containers").spawn(4)
        placer = default_placer(ctx.world)(ctx.hosts, rng_nodes)
        self.pool = NodePool(ctx.world, ctx.hosts, ctx.platform, ctx.recorder, placer)
        self.clusters: list[ClusterState] = []
        self.workloads: list[Workload] = []
        self.replicasets = ReplicaSets(self)
        self.lifecycle = NodeLifecycle(self, self.pool, ctx.recorder, self.replicasets)
        self.endpoints = Endpoints(self)
        self.series = ClusterSeries(self.clusters, self.workloads)
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
                i, cspec, cluster, schedulers, self.pool.host_up, self.pool.host_version
            )
            self.clusters.append(cs)
            self.pool.provision(cs)

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
        self.ledger = ledger_of(spec, self.world, self.clusters, self.horizon, self.rng_demand)
        hpas = Autoscalers(spec.hpas, spec.hpa_sync_period)
        targets = np.array(
            [self._deployment_of(h.deployment) for h in spec.hpas], dtype=np.int64
        ).reshape(len(spec.hpas), 2)
        self.hpa = HorizontalPodAutoscaling(self, self.ledger, hpas, targets, self.replicasets)
        self.autoscaler = ClusterAutoscaler(self, self.pool, self.rng_autoscaler, self.replicasets)
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
        """The controller processes, for the kernel to start (after :meth:`start`)."""
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

    def _deployment_of(self, name: str) -> tuple[int, int]:
        for cs in self.clusters:
            for d in cs.deployments:
                if d.name == name:
                    return cs.index, d.index
        raise KeyError(name)

    # -- events (the controllers' control plane) ----------------------------------------------
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
        self.endpoints.recheck()  # new starting pods: when the next one becomes ready
        self.replicasets.recheck()  # pods may have become unschedulable: when to retry

    def count(self) -> None:
        """A controller stepped: one processed event of the run."""
        self.ctx.count()

    # -- results ----------------------------------------------------------------------------
    def sample(self, now: float) -> None:
        """One row per service and per cluster (at each of the kernel's samples)."""
        if not self._started:
            return
        self.ledger.sample(now, self.ledger.replicas())
        self.series.sample(now)

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
            "cluster_timeseries": cluster_table(self.series.series, clusters),
            "nodes": node_table(self.clusters, self.hosts.names, self.scenario),
        }

    def summary(self, tables: dict[str, pa.Table]) -> dict[str, Any]:
        """The ``containers`` block of ``summary.json``."""
        out: dict[str, Any] = {
            "clusters": cluster_summary(self.clusters, self.series.series, tables["pods"])
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
