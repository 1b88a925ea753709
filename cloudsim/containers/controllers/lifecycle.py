"""NodeLifecycle: a node whose host stops is NotReady after the grace period (40 s); its
pods are evicted when their NoExecute toleration runs out (300 s by default) and the replica
sets recreate them elsewhere; a node whose host comes back is Ready again and its pods
restart. Node VMs that local HA restarted on another host are followed, and nodes whose VM
is lost leave the cluster.
"""

from __future__ import annotations

import math

import numpy as np

from cloudsim.containers.controllers.base import Controller, ControlPlane
from cloudsim.containers.labels import IntArray
from cloudsim.containers.nodepool import NodePool
from cloudsim.containers.pods import BOUND
from cloudsim.containers.runtime import ClusterState
from cloudsim.records import EventKind, Recorder

#: kube-controller-manager's node-monitor-period: how often NotReady nodes are looked at.
NODE_MONITOR_PERIOD = 5.0


class NodeLifecycle(Controller):
    """NotReady after the grace period, NoExecute evictions, Ready again on recovery."""

    def __init__(
        self, plane: ControlPlane, pool: NodePool, recorder: Recorder, replicasets: Controller
    ) -> None:
        super().__init__(plane)
        self.pool = pool
        self.recorder = recorder
        self.replicasets = replicasets
        self.last = -math.inf
        self.not_ready_events = 0

    def due(self, now: float) -> float:
        if self.trigger.poked:
            return now
        due = math.inf
        for cs in self.plane.clusters:
            info = cs.info
            up = cs.node_up()
            down = info.present & ~up
            known = ~np.isnan(info.down_since)
            if (down & ~known).any() or (info.present & up & known).any():
                return now  # a change not handled yet
            waiting = down & cs.nodes.ready
            if waiting.any():
                due = min(due, float((info.down_since[waiting] + cs.grace).min()))
            if (down & (info.vm_row >= 0)).any():  # a node VM may be restarted elsewhere
                due = min(due, self.last + NODE_MONITOR_PERIOD)
            pods = cs.cluster.pods
            evict = pods.evict_at[: pods.size][cs.bound_mask()]
            if len(evict) and np.isfinite(evict).any():
                due = min(due, float(np.nanmin(evict)))
        return max(due, now)

    def step(self, now: float) -> None:
        self.last = now
        changed = False
        for cs in self.plane.clusters:
            self.pool.refresh_hosts(cs, now)
            info = cs.info
            nodes = cs.nodes
            up = cs.node_up()
            present = info.present
            newly = present & ~up & np.isnan(info.down_since)
            info.down_since[newly] = now
            back = np.flatnonzero(present & up & ~np.isnan(info.down_since))
            if len(back):
                info.down_since[back] = np.nan
                cs.restart_pods(back, now)
                again = back[~nodes.ready[back]]
                cs.set_ready(again)
                self._record(cs, EventKind.NODE_READY, again, now)
                changed = True
            late = present & ~up & nodes.ready & (info.down_since + cs.grace <= now)
            if late.any():
                rows = np.flatnonzero(late)
                cs.set_not_ready(rows, now)
                self._record(cs, EventKind.NODE_NOT_READY, rows, now)
                self.not_ready_events += len(rows)
                changed = True
            pods = cs.cluster.pods
            n = pods.size
            due = np.flatnonzero((pods.phase[:n] == BOUND) & (pods.evict_at[:n] <= now))
            if len(due):
                cs.evict(due.astype(np.int64), now)
                self.recorder.event(now, EventKind.PODS_EVICTED, count=len(due), reason=cs.name)
                changed = True
            changed |= bool(newly.any())
        if changed:
            self.replicasets.poke()
        self.plane.changed(now)

    def _record(self, cs: ClusterState, kind: EventKind, rows: IntArray, now: float) -> None:
        """One event per node (``host``: its host; ``reason``: cluster/node)."""
        record = self.recorder.event
        for node in rows.tolist():
            host = int(cs.nodes.host[node])
            record(now, kind, host=host, reason=f"{cs.name}/{cs.nodes.names[node]}")
