"""Small hand-built container clusters for the scheduler tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cloudsim.containers import (
    Cluster,
    LabelSelector,
    NodeGroup,
    NodeTable,
    PodTemplate,
    Profile,
    Scheduler,
    Taint,
)
from cloudsim.containers.nodes import ZONE, capacity_columns


def node(
    name: str,
    cpu: int = 4000,
    memory: int = 8192,
    *,
    pods: int = 110,
    gpus: int = 0,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Taint] = (),
    zone: str | None = None,
    unschedulable: bool = False,
) -> NodeGroup:
    """One node; ``zone`` sets ``topology.kubernetes.io/zone``."""
    all_labels: dict[str, str | list[str | None]] = dict(labels or {})
    if zone is not None:
        all_labels[ZONE] = zone
    return NodeGroup(
        [name],
        capacity_columns(1, cpu, memory, gpus, pods),
        labels=all_labels,
        taints=tuple(taints),
        unschedulable=unschedulable,
    )


def cluster(*nodes: NodeGroup) -> Cluster:
    return Cluster(NodeTable(*nodes))


def scheduler(c: Cluster, seed: int = 0, **profile: Any) -> Scheduler:
    return Scheduler(c, Profile(**profile), rng=np.random.default_rng(seed))


def labelled(labels: Mapping[str, str], **fields: Any) -> PodTemplate:
    return PodTemplate.make(labels=labels, **fields)


def sel(**labels: str) -> LabelSelector:
    return LabelSelector.of(labels)


def placed_on(s: Scheduler, rows: Sequence[int]) -> list[str | None]:
    """The node name of each pod row (None: pending)."""
    pods = s.cluster.pods
    return [None if pods.node[r] < 0 else s.cluster.nodes.names[int(pods.node[r])] for r in rows]


def bind_to(c: Cluster, template: PodTemplate, node_name: str, count: int = 1) -> list[int]:
    """Pods already running on a node (bound without a scheduling cycle)."""
    rows = []
    for _ in range(count):
        row = c.add_pod(template)
        c.bind(row, c.nodes.index[node_name])
        rows.append(row)
    return rows


def names(s: Scheduler, pod: int | PodTemplate) -> set[str]:
    """Names of the nodes that pass every filter for ``pod`` now."""
    return {s.cluster.nodes.names[int(i)] for i in s.feasible_nodes(pod)}


def zone_counts(c: Cluster, selector: LabelSelector, key: str = ZONE) -> dict[str | None, int]:
    """Bound pods matching ``selector`` per value of ``key``."""
    pods = c.pods
    out: dict[str | None, int] = {}
    for row in np.flatnonzero(pods.live()):
        template = c.templates[int(pods.template[row])]
        if selector.matches(template.label_map):
            value = c.nodes.labels.get(key, int(pods.node[row]))
            out[value] = out.get(value, 0) + 1
    return out
