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
from typing import TYPE_CHECKING

import numpy as np

from cloudsim.containers.controllers import Controller
from cloudsim.containers.fragmentation import Workload
from cloudsim.containers.pods import BOUND, PENDING, PodPhase, read_openb_pods
from cloudsim.containers.runtime import ClusterState

if TYPE_CHECKING:
    from cloudsim.containers.cloud import ContainerCloud
    from cloudsim.scenario.containers import Replay


class TraceReplay(Controller):
    """Replays one pod list on one cluster."""

    def __init__(self, cloud: ContainerCloud, state: ClusterState, spec: Replay) -> None:
        super().__init__(cloud)
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
        self.cloud.changed(now)

    def summary(self) -> dict[str, int | bool | str]:
        return {
            "pods": len(self),
            "submitted": self.next_create,
            "deleted": self.deleted,
            "keep_running": self.spec.keep_running,
            "profile": self.scheduler.profile.name,
        }


#: Scheduler profiles a replay can pick by name (the scenario may define more).
REPLAY_PROFILES: list[dict[str, object]] = [
    {  # kube-scheduler's default scoring, GPUs counted as a scored resource
        "name": "spread",
        "fit": {"strategy": "LeastAllocated", "resources": {"cpu": 1, "memory": 1, "gpu": 1}},
        "balanced_resources": {"cpu": 1, "memory": 1, "gpu": 1},
    },
    {  # bin packing: the fullest node that fits, on CPU, memory and GPU
        "name": "binpack",
        "plugins": {"NodeResourcesBalancedAllocation": 0},
        "fit": {"strategy": "MostAllocated", "resources": {"cpu": 1, "memory": 1, "gpu": 1}},
    },
    {  # pack GPUs first: GPU allocation weighs three times CPU and memory
        "name": "gpu-packing",
        "plugins": {"NodeResourcesBalancedAllocation": 0},
        "fit": {"strategy": "MostAllocated", "resources": {"cpu": 1, "memory": 1, "gpu": 3}},
    },
]


def replay_scenario(
    nodes: str | Path,
    pods: str | Path,
    *,
    profile: str = "default-scheduler",
    keep_running: bool = True,
    limit: int | None = None,
    horizon: str = "150d",
    sample_interval: str = "1h",
    seed: int = 0,
    name: str = "alibaba-openb-replay",
) -> dict[str, object]:
    """A scenario (as a dict, to validate) that replays an openb pod list on the nodes of
    an openb node list with the scheduler profile ``profile``: kube-scheduler's default, or
    one of :data:`REPLAY_PROFILES`. The IaaS part is a placeholder (one small host, one
    system without cloud hosts)."""
    replay: dict[str, object] = {
        "cluster": "openb",
        "pods": str(pods),
        "keep_running": keep_running,
    }
    if limit is not None:
        replay["limit"] = limit
    return {
        "meta": {
            "name": name,
            "horizon": horizon,
            "sample_interval": sample_interval,
            "seed": seed,
        },
        "sites": [{"name": "alibaba"}],
        "datacenters": [{"name": "openb", "site": "alibaba", "racks": 1, "power_domains": 1}],
        "zones": [{"name": "default"}],
        "host_classes": [{"name": "placeholder", "cores": 1, "memory": "1GiB"}],
        "pools": [
            {
                "name": "placeholder",
                "datacenter": "openb",
                "zone": "default",
                "hosts": [{"host_class": "placeholder", "count": 1}],
            }
        ],
        "flavors": [{"name": "placeholder", "vcpus": 1, "memory": "1GiB"}],
        "departments": [{"name": "alibaba"}],
        "systems": [
            {
                "name": "openb-trace",
                "department": "alibaba",
                "zone": "default",
                "datacenters": ["openb"],
                "vms": [{"flavor": "placeholder", "count": 0}],
            }
        ],
        "containers": {
            "profiles": REPLAY_PROFILES,
            "clusters": [{"name": "openb", "trace_nodes": str(nodes), "scheduler": profile}],
            "replay": replay,
        },
    }
