"""NodeResourcesBalancedAllocation: nodes whose requested fractions of CPU, memory (and
GPU) stay close together score higher."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.kernels import compiled
from cloudsim.containers.labels import IntArray
from cloudsim.containers.nodes import GPU_MILLI
from cloudsim.containers.scheduler.framework import ScorePlugin, register_plugin
from cloudsim.containers.scheduler.plugins.helper import (
    MAX_NODE_SCORE,
    Bounded,
    Cols,
    ColumnCache,
    nz,
    take,
)
from cloudsim.containers.scheduler.plugins.node_resources_fit import SCORING_RESOURCES


@register_plugin
class NodeResourcesBalancedAllocation(ScorePlugin):
    """(1 - standard deviation of the requested fractions) * 100, with the pod's requests
    added (Requested, not the non-zero defaults); skipped for pods requesting nothing."""

    name = "NodeResourcesBalancedAllocation"

    def __init__(self, cluster: Cluster, resources: Mapping[str, int] | None = None) -> None:
        super().__init__(cluster)
        names = list(resources or {"cpu": 1, "memory": 1})
        unknown = [r for r in names if r not in SCORING_RESOURCES]
        if unknown:
            raise ValueError(f"unknown resources {unknown}; use {sorted(SCORING_RESOURCES)}")
        self.rows = tuple(SCORING_RESOURCES[r] for r in names)
        self._scores = Bounded()

    def prescore(self, tid: int) -> Any:
        usage = self.cluster.info[tid].usage
        key = tuple(int(usage[row]) for row in self.rows)
        if not any(key):
            return None  # best-effort pods are skipped (kubernetes/kubernetes#129138)
        cache = self._scores.find(key)
        if cache is None:
            cache = ColumnCache(
                self.cluster,
                lambda cols: self.node_score(key, cols),
                np.int64,
                self._kernel(key),
            )
            self._scores.keep(key, cache)
        return cache

    def _kernel(self, pod: tuple[int, ...]) -> Callable[[IntArray, Any], None] | None:
        """The score compiled when two resources count (:meth:`node_score` is the
        reference); None without numba or for three."""
        found = compiled()
        counted = [
            (row, request)
            for row, request in zip(self.rows, pod, strict=True)
            if not (row == GPU_MILLI and request == 0)
        ]
        if found is None or len(counted) != 2:
            return None
        balanced, nodes = found["balanced_rows"], self.cluster.nodes
        rows = np.array([row for row, _ in counted], dtype=np.int64)
        requests = np.array([request for _, request in counted], dtype=np.int64)
        return lambda cols, out: balanced(
            nodes.allocatable, nodes.requested, rows, requests, cols, out
        )

    def node_score(self, pod: tuple[int, ...], cols: Cols) -> Any:
        nodes = self.cluster.nodes
        fractions: list[Any] = []
        present: list[Any] = []
        for row, request in zip(self.rows, pod, strict=True):
            if row == GPU_MILLI and request == 0:
                continue  # a scalar resource the pod does not request is not counted
            alloc = take(nodes.allocatable[row], cols)
            f = (take(nodes.requested[row], cols) + request) / nz(alloc)
            fractions.append(f - (f > 1) * (f - 1))
            present.append(alloc > 0)
        if len(fractions) == 2:  # CPU and memory, the usual case: |f1 - f2| / 2
            std = (present[0] * present[1]) * abs(fractions[0] - fractions[1]) / 2
        else:  # over the resources a node has: two as above, more: population std
            pairs = list(zip(present, fractions, strict=True))
            n = sum(present, 0)
            mean = sum((p * f for p, f in pairs), 0.0) / nz(n)
            var = sum((p * (f - mean) ** 2 for p, f in pairs), 0.0) / nz(n)
            hi = np.max([np.where(p, f, -1.0) for p, f in pairs], axis=0)
            lo = np.min([np.where(p, f, 2.0) for p, f in pairs], axis=0)
            std = (n == 2) * (hi - lo) / 2 + (n > 2) * np.sqrt(var)
        return (1 - std) * MAX_NODE_SCORE

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        result: IntArray = prep.get()[cands]
        return result
