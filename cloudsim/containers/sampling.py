"""The clusters' time series: one row per cluster at each of the kernel's samples.

Allocation ratios, nodes, pods and the fragmentation of what is free
(:func:`~cloudsim.containers.fragmentation.measure`, against the cluster's workload),
measured again only when allocations, nodes or hosts changed since the last sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cloudsim.containers.fragmentation import Fragmentation, Workload, measure
from cloudsim.containers.labels import BoolArray
from cloudsim.containers.nodes import CPU, GPU_MILLI, MEMORY, NodeTable
from cloudsim.containers.pods import BOUND, PENDING
from cloudsim.containers.runtime import ClusterState

#: Fragmentation measurements remembered by node state (the oldest forgotten at once).
MEASURED_STATES = 1024


class ClusterSeries:
    """The clusters' sampled columns (``series``: column name to values, in sample order)."""

    def __init__(self, clusters: Sequence[ClusterState], workloads: Sequence[Workload]) -> None:
        self.clusters = clusters
        self.workloads = workloads
        self.series: dict[str, list[Any]] = {}
        #: Per cluster: what its last row was worked out from, and the row but its time.
        self._rows: dict[int, tuple[tuple[int, ...], list[tuple[str, Any]]]] = {}
        self._fragmentation: dict[int, tuple[tuple[int, int, int], Fragmentation]] = {}
        self._measured: dict[tuple[int, int, int, bytes, bytes, bytes], Fragmentation] = {}

    def sample(self, now: float) -> None:
        """One row per cluster (its values worked out again only when pods, nodes, hosts
        or the counters changed since the cluster's last sample)."""
        for cs, workload in zip(self.clusters, self.workloads, strict=True):
            nodes = cs.nodes
            key = (
                nodes.changes,
                nodes.version,
                cs.host_version(),
                cs.cluster.changes,
                cs.cluster.pods.size,
                cs.pods_created,
                cs.evictions,
                id(workload),
            )
            cached = self._rows.get(cs.index)
            if cached is None or cached[0] != key:
                cached = self._rows[cs.index] = (key, self._row(cs, workload))
            series = self.series
            series.setdefault("time", []).append(now)
            for column, value in cached[1]:
                series.setdefault(column, []).append(value)

    def _row(self, cs: ClusterState, workload: Workload) -> list[tuple[str, Any]]:
        """The columns of a cluster's row but the time, in the order of the table."""
        nodes = cs.nodes
        present = cs.info.present
        usable = cs.nodes_ok()  # present, Ready and up
        alloc = nodes.allocatable[:, present].sum(axis=1)
        used = nodes.requested[:, present].sum(axis=1)
        state = (nodes.changes, nodes.version, cs.host_version())
        cached = self._fragmentation.get(cs.index)
        if cached is not None and cached[0] == state:
            frag = cached[1]
        else:  # measured again only when allocations or nodes changed
            frag = self._measure(cs.index, nodes, usable, workload)
            self._fragmentation[cs.index] = (state, frag)
        pods = cs.cluster.pods
        phase = pods.phase[: pods.size]

        ratio = np.divide(used, alloc, out=np.zeros(len(alloc)), where=alloc > 0)

        return [
            ("cluster", cs.index),
            ("nodes", int(np.count_nonzero(present))),
            ("nodes_ready", int(np.count_nonzero(usable))),
            ("cpu_allocated_ratio", float(ratio[CPU])),
            ("memory_allocated_ratio", float(ratio[MEMORY])),
            ("gpu_allocated_ratio", float(ratio[GPU_MILLI])),
            ("pods_bound", int(np.count_nonzero(phase == BOUND))),
            ("pods_pending", int(np.count_nonzero(phase == PENDING))),
            ("pods_created", cs.pods_created),
            ("pods_evicted", cs.evictions),
            ("gpu_free_milli", frag.gpu_free),
            ("gpu_fragmented_milli", frag.gpu_fragmented),
            ("gpu_fragmentation_ratio", frag.gpu_ratio),
            ("cpu_free_milli", frag.cpu_free),
            ("cpu_stranded_milli", frag.cpu_stranded),
            ("cpu_stranded_ratio", frag.cpu_ratio),
        ]

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
