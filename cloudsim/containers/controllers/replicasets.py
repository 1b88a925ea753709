"""ReplicaSets: pods to match each deployment's replicas, and the schedulers' retries.

Creations go through the scheduler; deletions take pending, then not-ready, then the
newest pods first. The scheduler's retries of unschedulable pods happen on the cluster
events that can help them (queueing hints: a pod deleted from a node it would fit, a node
added or Ready again), and after ``pod_max_unschedulable`` for those only another pod's
arrival can help.
"""

from __future__ import annotations

import math

from cloudsim.containers.controllers.base import Controller, ControlPlane
from cloudsim.containers.pods import PodPhase
from cloudsim.containers.runtime import ClusterState


class ReplicaSets(Controller):
    """Pods to match replicas; the schedulers' queues."""

    def __init__(self, plane: ControlPlane) -> None:
        super().__init__(plane)
        self.created = 0
        self.deleted = 0

    def due(self, now: float) -> float:
        if self.trigger.poked:
            return now
        flush = math.inf
        for cs in self.plane.clusters:
            age = cs.spec.pod_max_unschedulable
            for scheduler in cs.schedulers.values():
                flush = min(flush, scheduler.flush_due(age))
        return max(flush, now)

    def step(self, now: float) -> None:
        for cs in self.plane.clusters:
            for scheduler in cs.schedulers.values():
                scheduler.requeue_stale(now, cs.spec.pod_max_unschedulable)
            if cs.deployments:
                self.reconcile(cs, now)
            cs.schedule(now)
        self.plane.changed(now)

    def reconcile(self, cs: ClusterState, now: float) -> None:
        live = cs.live_per_deployment(now)
        shrink = []
        for d, (want, have) in enumerate(zip(cs.desired.tolist(), live, strict=True)):
            if want > have:
                dep = cs.deployments[d]
                for _ in range(want - have):
                    dep.scheduler.submit(dep.template, name=f"{dep.name}-{dep.created}", time=now)
                    dep.created += 1
                    cs.pods_created += 1
                    self.created += 1
            elif want < have:
                shrink.append((d, have - want))
        if not shrink:
            return
        # every victim is chosen before any is deleted (the states are those of now)
        chosen = [cs.victims(d, excess, now).tolist() for d, excess in shrink]
        freed: set[int] = set()
        for rows in chosen:
            for row in rows:
                node = cs.end_pod(row, now, PodPhase.DELETED)
                if node >= 0:
                    freed.add(node)
                self.deleted += 1
        for node in sorted(freed):
            for scheduler in cs.schedulers.values():
                scheduler.requeue_fitting(node)
