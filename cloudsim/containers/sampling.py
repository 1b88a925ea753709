"""The clusters' time series: one row per cluster at each of the kernel's samples.

Allocation ratios, nodes, pods and the fragmentation of what is free
(:func:`~cloudsim.containers.fragmentation.measure`, against the cluster's workload),
worked out again only when what a row is computed from changed since the last sample
(pods, nodes, hosts, the counters), the fragmentation only when the nodes' allocations,
the nodes or the hosts did. With numba (``cloudsim[fast]``) a row and a fragmentation are
one compiled pass each (:mod:`~cloudsim.containers.sample_kernels`); the numpy path is the
reference and gives the same rows.

Samples whose rows did not change are kept as one run (the rows and the times they hold
for): the columns are laid out once, when the table is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cloudsim.compiled import check, chosen
from cloudsim.containers import sample_kernels
from cloudsim.containers.fragmentation import Fragmentation, Workload, measure, measure_compiled
from cloudsim.containers.labels import BoolArray
from cloudsim.containers.nodes import CPU, GPU_MILLI, MEMORY, RESOURCES, NodeTable
from cloudsim.containers.pods import BOUND, PENDING
from cloudsim.containers.runtime import ClusterState

#: Fragmentation measurements remembered by node state (the oldest forgotten at once).
MEASURED_STATES = 1024
#: Nodes (all clusters) from which "auto" compiles even where no compiled kernel ran yet.
LARGE_NODES = 1000
#: The columns of ``cluster_timeseries`` in order (``time`` first).
COLUMNS: tuple[str, ...] = (
    "time",
    "cluster",
    "nodes",
    "nodes_ready",
    "cpu_allocated_ratio",
    "memory_allocated_ratio",
    "gpu_allocated_ratio",
    "pods_bound",
    "pods_pending",
    "pods_created",
    "pods_evicted",
    "gpu_free_milli",
    "gpu_fragmented_milli",
    "gpu_fragmentation_ratio",
    "cpu_free_milli",
    "cpu_stranded_milli",
    "cpu_stranded_ratio",
)
#: A row but its time, in the order of :data:`COLUMNS`.
Row = tuple[Any, ...]


class ClusterSeries:
    """The clusters' sampled columns (:attr:`series`: column name to values, in sample
    order, cluster by cluster within a sample)."""

    def __init__(
        self,
        clusters: Sequence[ClusterState],
        workloads: Sequence[Workload],
        kernel: str = "auto",
    ) -> None:
        check(kernel, "sample kernel")
        self.clusters = clusters
        self.workloads = workloads
        #: Runs of samples: each cluster's row (the same objects) and the sample times.
        self._runs: list[tuple[tuple[Row, ...], list[float]]] = []
        #: Per cluster: what its last row was worked out from, and the row.
        self._rows: dict[int, tuple[tuple[int, ...], Row]] = {}
        self._fragmentation: dict[int, tuple[tuple[int, int, int], Fragmentation]] = {}
        self._measured: dict[tuple[int, int, int, bytes, bytes, bytes], Fragmentation] = {}
        self._built: tuple[int, dict[str, list[Any]]] | None = None
        self._kernels: dict[str, Callable[..., Any]] | None = None
        #: "auto" is settled at the first row (numba may be warm by then).
        self._kernel: str | None = kernel
        if kernel != "auto":
            self._settle()
        self._sums = np.zeros((2, len(RESOURCES)), dtype=np.int64)  # the kernel's outs

    @property
    def kernel(self) -> str:
        """Which path works the rows out: "numba" or "numpy" ("auto" until the first)."""
        if self._kernel is not None:
            return self._kernel
        return "numpy" if self._kernels is None else "numba"

    def _settle(self) -> None:
        """Choose the path once (:func:`cloudsim.compiled.chosen`, waiting for warm; clusters
        of :data:`LARGE_NODES` nodes in all repay numba's start-up within weeks of
        samples)."""
        assert self._kernel is not None
        nodes = sum(cs.nodes.size for cs in self.clusters)
        if chosen(self._kernel, wait_for_warm=True, large=nodes >= LARGE_NODES):
            self._kernels = sample_kernels.kernels()
        self._kernel = None

    def sample(self, now: float) -> None:
        """One row per cluster (its values worked out again only when pods, nodes, hosts
        or the counters changed since the cluster's last sample)."""
        rows = []
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
            rows.append(cached[1])
        now_rows = tuple(rows)
        last = self._runs[-1] if self._runs else None
        if last is not None and all(a is b for a, b in zip(last[0], now_rows, strict=True)):
            last[1].append(now)
        else:
            self._runs.append((now_rows, [now]))

    @property
    def series(self) -> dict[str, list[Any]]:
        """Every sample's rows as columns (laid out once per number of samples taken)."""
        taken = sum(len(times) for _, times in self._runs)
        if self._built is not None and self._built[0] == taken:
            return self._built[1]
        out: dict[str, list[Any]] = {}
        if self._runs:
            out = {c: [] for c in COLUMNS}
            columns = [out[c] for c in COLUMNS[1:]]
            for rows, times in self._runs:
                out["time"].extend([t for t in times for _ in rows])
                for column, values in zip(columns, zip(*rows, strict=True), strict=True):
                    column.extend(list(values) * len(times))
        self._built = (taken, out)
        return out

    def _row(self, cs: ClusterState, workload: Workload) -> Row:
        """A cluster's row but its time, in the order of :data:`COLUMNS`."""
        if self._kernel is not None:
            self._settle()
        nodes = cs.nodes
        present = cs.info.present
        usable = cs.nodes_ok()  # present, Ready and up
        state = (nodes.changes, nodes.version, cs.host_version())
        cached = self._fragmentation.get(cs.index)
        if cached is not None and cached[0] == state:
            frag = cached[1]
        else:  # measured again only when allocations or nodes changed
            frag = self._measure(cs.index, nodes, usable, workload)
            self._fragmentation[cs.index] = (state, frag)
        pods = cs.cluster.pods
        phase = pods.phase[: pods.size]
        if self._kernels is not None:
            alloc, used = self._sums
            n_present, n_usable, bound, pending = self._kernels["row_sums"](
                nodes.allocatable, nodes.requested, present, usable, phase, BOUND, PENDING,
                alloc, used,
            )  # fmt: skip
            a, u = alloc.tolist(), used.tolist()
            cpu, memory, gpu = (u[r] / a[r] if a[r] > 0 else 0.0 for r in (CPU, MEMORY, GPU_MILLI))
        else:
            alloc = nodes.allocatable[:, present].sum(axis=1)
            used = nodes.requested[:, present].sum(axis=1)
            ratio = np.divide(used, alloc, out=np.zeros(len(alloc)), where=alloc > 0)
            cpu, memory, gpu = (float(ratio[r]) for r in (CPU, MEMORY, GPU_MILLI))
            n_present = int(np.count_nonzero(present))
            n_usable = int(np.count_nonzero(usable))
            bound = int(np.count_nonzero(phase == BOUND))
            pending = int(np.count_nonzero(phase == PENDING))
        return (
            cs.index,
            n_present,
            n_usable,
            cpu,
            memory,
            gpu,
            bound,
            pending,
            cs.pods_created,
            cs.evictions,
            frag.gpu_free,
            frag.gpu_fragmented,
            frag.gpu_ratio,
            frag.cpu_free,
            frag.cpu_stranded,
            frag.cpu_ratio,
        )

    def _measure(
        self, c: int, nodes: NodeTable, usable: BoolArray, workload: Workload
    ) -> Fragmentation:
        """:func:`measure` (one compiled pass with numba), or on the numpy path remembered
        for nodes in the same state as before (what it reads: the usable nodes' headroom,
        GPUs and labels)."""
        if self._kernels is not None:
            return measure_compiled(self._kernels["fragments"], nodes, usable, workload)
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
