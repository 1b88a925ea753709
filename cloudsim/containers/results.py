"""The container cloud's result tables (pods, clusters over time, nodes) and the clusters'
part of ``summary.json``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from cloudsim.containers.labels import BoolArray, FloatArray
from cloudsim.containers.nodes import DATACENTER
from cloudsim.containers.pods import BOUND, PENDING
from cloudsim.containers.runtime import ClusterState
from cloudsim.records.columns import names_column, nullable_floats
from cloudsim.scenario.schema import Scenario


def pod_table(clusters: Sequence[ClusterState], systems: Sequence[str], horizon: float) -> pa.Table:
    """Every pod of the run: requests, owner, when it was created, bound and ended, where."""
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "cluster",
            "name",
            "deployment",
            "system",
            "namespace",
            "cpu_milli",
            "memory_mib",
            "gpu",
            "gpu_milli",
            "priority",
            "created",
            "started",
            "ended",
            "node",
            "status",
        )
    }
    for cs in clusters:
        cs.sync_templates()
        a = cs.archive
        pods = cs.cluster.pods
        n = pods.size
        live = np.flatnonzero((pods.phase[:n] == PENDING) | (pods.phase[:n] == BOUND))
        names = a.name + [pods.names[r] for r in live.tolist()]
        tids = np.array(a.tid + pods.template[live].tolist(), dtype=np.int64)
        node = np.array(a.node + pods.node[live].tolist(), dtype=np.int64)
        status = a.status + [
            "running" if pods.phase[r] == BOUND else "pending" for r in live.tolist()
        ]
        templates = cs.cluster.templates
        dep = cs.dep_of_tid[tids] if len(tids) else np.zeros(0, dtype=np.int64)
        cols["cluster"] += [cs.name] * len(names)
        cols["name"] += names
        cols["deployment"] += [cs.deployments[d].name if d >= 0 else None for d in dep.tolist()]
        cols["system"] += [
            systems[cs.deployments[d].system] if d >= 0 and cs.deployments[d].system >= 0 else None
            for d in dep.tolist()
        ]
        for t in tids.tolist():
            tpl = templates[t]
            cols["namespace"].append(tpl.namespace)
            cols["cpu_milli"].append(tpl.cpu)
            cols["memory_mib"].append(tpl.memory)
            cols["gpu"].append(tpl.gpu)
            cols["gpu_milli"].append(tpl.gpu_milli)
            cols["priority"].append(tpl.priority)
        cols["created"] += a.created + pods.created[live].tolist()
        cols["started"] += a.started + pods.started[live].tolist()
        cols["ended"] += a.ended + [np.nan] * len(live)
        cols["node"] += [cs.nodes.names[i] if i >= 0 else None for i in node.tolist()]
        cols["status"] += status
    created = np.asarray(cols["created"], dtype=np.float64)
    started = np.asarray(cols["started"], dtype=np.float64)
    return pa.table(
        {
            "cluster": pa.array(cols["cluster"], pa.string()).dictionary_encode(),
            "name": pa.array(cols["name"], pa.string()),
            "deployment": pa.array(cols["deployment"], pa.string()).dictionary_encode(),
            "system": pa.array(cols["system"], pa.string()).dictionary_encode(),
            "namespace": pa.array(cols["namespace"], pa.string()).dictionary_encode(),
            **{
                k: pa.array(cols[k], pa.int64())
                for k in ("cpu_milli", "memory_mib", "gpu", "gpu_milli", "priority")
            },
            "created": pa.array(created, pa.float64()),
            "started": nullable_floats(started),
            "ended": nullable_floats(cols["ended"]),
            "wait_s": nullable_floats(started - created),
            "node": pa.array(cols["node"], pa.string()).dictionary_encode(),
            "status": pa.array(cols["status"], pa.string()).dictionary_encode(),
        }
    )


def cluster_table(series: dict[str, list[Any]], clusters: Sequence[str]) -> pa.Table:
    """Per cluster and sample: nodes, allocation ratios, pods, fragmentation."""
    columns: dict[str, pa.Array] = {
        "time": pa.array(series.get("time", []), pa.float64()),
        "cluster": names_column(np.asarray(series.get("cluster", []), dtype=np.int64), clusters),
    }
    for key, values in series.items():
        if key in columns:
            continue
        kind = pa.float64() if values and isinstance(values[0], float) else pa.int64()
        columns[key] = pa.array(values, kind)
    return pa.table(columns)


def node_table(
    clusters: Sequence[ClusterState], host_names: Sequence[str], scenario: Scenario
) -> pa.Table:
    """Every node a cluster had: group, the host (under its VM) at the end, when it joined
    and left, and the node VM's cloud-host id."""
    cols: dict[str, list[Any]] = {
        k: [] for k in ("cluster", "name", "group", "host", "datacenter", "joined", "left", "vm")
    }
    containers = scenario.containers
    for cs in clusters:
        info = cs.info
        groups = [g.name for g in cs.spec.node_groups] if containers else []
        n = cs.nodes.size
        cols["cluster"] += [cs.name] * n
        cols["name"] += cs.nodes.names
        cols["group"] += [groups[g] if g >= 0 else None for g in info.group.tolist()]
        cols["host"] += [host_names[h] if h >= 0 else None for h in cs.nodes.host.tolist()]
        cols["datacenter"] += [
            cs.nodes.labels.get(DATACENTER, i) if info.present[i] else None for i in range(n)
        ]
        cols["joined"] += info.joined.tolist()
        cols["left"] += info.left.tolist()
        cols["vm"] += [int(v) if v >= 0 else None for v in info.vm_id.tolist()]
    return pa.table(
        {
            "cluster": pa.array(cols["cluster"], pa.string()).dictionary_encode(),
            "name": pa.array(cols["name"], pa.string()),
            "group": pa.array(cols["group"], pa.string()).dictionary_encode(),
            "host": pa.array(cols["host"], pa.string()),
            "datacenter": pa.array(cols["datacenter"], pa.string()).dictionary_encode(),
            "joined": pa.array(cols["joined"], pa.float64()),
            "left": nullable_floats(cols["left"]),
            "vm": pa.array(cols["vm"], pa.int64()),
        }
    )


def _sampled(
    series: dict[str, list[Any]], key: str, mine: BoolArray, reduce: Callable[[FloatArray], Any]
) -> float:
    """``reduce`` of one cluster's samples of column ``key``, rounded (0 without samples)."""
    values = np.asarray(series.get(key, []), dtype=np.float64)[mine]
    return round(float(reduce(values)), 6) if len(values) else 0.0


def cluster_summary(
    clusters: Sequence[ClusterState], series: dict[str, list[Any]], pods: pa.Table
) -> dict[str, dict[str, Any]]:
    """Per cluster: nodes, allocation and fragmentation over the samples, what became of
    its pods (from the ``pods`` table) and how long they waited."""
    out: dict[str, dict[str, Any]] = {}
    for cs in clusters:
        mine = np.asarray(series.get("cluster", []), dtype=np.int64) == cs.index

        def peak(key: str, mine: BoolArray = mine) -> float:
            return _sampled(series, key, mine, np.max)

        def last(key: str, mine: BoolArray = mine) -> float:
            return _sampled(series, key, mine, lambda values: values[-1])

        def mean(key: str, mine: BoolArray = mine) -> float:
            return _sampled(series, key, mine, np.mean)

        in_cluster = np.asarray(pods.column("cluster").to_pylist()) == cs.name
        wait = np.asarray(pods.column("wait_s").to_numpy(zero_copy_only=False), dtype=float)
        wait = wait[in_cluster]
        status = np.asarray(pods.column("status").to_pylist(), dtype=object)[in_cluster]
        waited = wait[~np.isnan(wait)]
        out[cs.name] = {
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
    return out
