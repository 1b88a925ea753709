"""Trace replay: an Alibaba openb pod list through the scheduler, at the trace's own times.

Each pod is submitted at its ``creation_time`` and, unless ``keep_running`` (as the
simulator of "Beware of Fragmentation" does, filling the cluster), deleted at its
``deletion_time``; events at one instant are handled together, deletions first. A pod that
finds no node waits; it is tried again when a deletion frees a node it could now fit
(kube-scheduler's queueing hint) and every ``pod_max_unschedulable``. The reader accepts
any file of the openb format; ``limit`` replays a slice (the first pods by creation time).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cloudsim.containers.controllers.base import Controller, ControlPlane
from cloudsim.containers.fragmentation import Workload
from cloudsim.containers.openb import read_openb_pods
from cloudsim.containers.pods import BOUND, PENDING, PodPhase
from cloudsim.containers.runtime import ClusterState
from cloudsim.scenario.containers import Replay


class TraceReplay(Controller):
    """Replays one pod list on one cluster."""

    def __init__(self, plane: ControlPlane, state: ClusterState, spec: Replay) -> None:
        super().__init__(plane)
        self.state = state
        self.spec = spec
        data = read_openb_pods(Path(spec.pods))
        known = ~np.isnan(data.creation)
        order = np.argsort(data.creation, kind="stable")
        order = order[known[order]]
        if spec.limit is not None:
            order = order[: spec.limit]
        self.names = [data.names[int(i)] for i in order]
        self.creation = data.creation[order]
        deletion = data.deletion[order]
        valid = ~np.isnan(deletion) & (deletion >= self.creation)
        self.deletion = np.where(valid & (not spec.keep_running), deletion, np.inf)
        self.templates = [data.template(int(i), spec.namespace) for i in order]
        self.by_deletion = np.argsort(self.deletion, kind="stable")
        self.row = np.full(len(order), -1, dtype=np.int64)
        self.serial = np.full(len(order), -1, dtype=np.int64)
        self.next_create = 0
        self.next_delete = 0
        self.scheduler = state.schedulers[state.spec.scheduler]
        counts: dict[int, int] = {}
        unique: dict[int, object] = {}
        for t in self.templates:
            counts[id(t)] = counts.get(id(t), 0) + 1
            unique[id(t)] = t
        self.workload = Workload.of(
            [unique[k] for k in counts],  # type: ignore[misc]
            [float(c) for c in counts.values()],
        )
        self.deleted = 0

    def __len__(self) -> int:
        return len(self.creation)

    def due(self, now: float) -> float:
        create = (
            float(self.creation[self.next_create])
            if self.next_create < len(self.creation)
            else math.inf
        )
        delete = (
            float(self.deletion[self.by_deletion[self.next_delete]])
            if self.next_delete < len(self.by_deletion)
            else math.inf
        )
        return max(min(create, delete), now)

    def step(self, now: float) -> None:
        cs = self.state
        pods = cs.cluster.pods
        freed: set[int] = set()
        while self.next_delete < len(self.by_deletion):
            i = int(self.by_deletion[self.next_delete])
            if self.deletion[i] > now:
                break
            self.next_delete += 1
            row = int(self.row[i])
            if row < 0 or pods.serial[row] != self.serial[i]:
                continue
            if pods.phase[row] in (PENDING, BOUND):
                node = cs.end_pod(row, now, PodPhase.DELETED)
                self.deleted += 1
                if node >= 0:
                    freed.add(node)
        for node in sorted(freed):
            self.scheduler.requeue_fitting(node)
        while self.next_create < len(self.creation) and self.creation[self.next_create] <= now:
            i = self.next_create
            self.next_create += 1
            row = cs.cluster.add_pod(self.templates[i], self.names[i], float(self.creation[i]))
            self.row[i] = row
            self.serial[i] = pods.serial[row]
            self.scheduler.enqueue(row)
            cs.pods_created += 1
        cs.sync_templates()
        cs.schedule(now)
        self.plane.changed(now)

    def summary(self) -> dict[str, int | bool | str]:
        return {
            "pods": len(self),
            "submitted": self.next_create,
            "deleted": self.deleted,
            "keep_running": self.spec.keep_running,
            "profile": self.scheduler.profile.name,
        }
