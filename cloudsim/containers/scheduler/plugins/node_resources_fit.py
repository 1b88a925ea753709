"""NodeResourcesFit: requests must fit a node's headroom; nodes are scored by the
profile's strategy (LeastAllocated, MostAllocated or RequestedToCapacityRatio)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.kernels import compiled
from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.nodes import CPU, GPU, GPU_MILLI, MEMORY, PODS
from cloudsim.containers.scheduler.framework import (
    Failure,
    FilterPlugin,
    ScorePlugin,
    register_plugin,
)
from cloudsim.containers.scheduler.plugins.helper import (
    MAX_CUSTOM_PRIORITY_SCORE,
    MAX_NODE_SCORE,
    Bounded,
    Cols,
    ColumnCache,
    nz,
    take,
)

#: Scoring resources: the row holding the node's allocatable and whether requests for it
#: use kube-scheduler's non-zero defaults (CPU and memory) when scoring Fit.
SCORING_RESOURCES: dict[str, int] = {"cpu": CPU, "memory": MEMORY, "gpu": GPU_MILLI}
FIT_REASONS = {
    CPU: "Insufficient cpu",
    MEMORY: "Insufficient memory",
    PODS: "Too many pods",
    GPU: "Insufficient nvidia.com/gpu",
    GPU_MILLI: "Insufficient gpu share",
}


def least_requested(requested: Any, allocatable: Any) -> Any:
    """``leastRequestedScore``: (allocatable - requested) * 100 / allocatable, 0 if over."""
    ok = (requested <= allocatable) * (allocatable > 0)
    return ok * ((allocatable - requested) * MAX_NODE_SCORE // nz(allocatable))


def most_requested(requested: Any, allocatable: Any) -> Any:
    """``mostRequestedScore``: requested (capped at allocatable) * 100 / allocatable."""
    capped = requested - (requested > allocatable) * (requested - allocatable)
    return (allocatable > 0) * (capped * MAX_NODE_SCORE // nz(allocatable))


def _div_trunc(a: Any, b: int) -> Any:
    """Integer division truncating toward zero, as Go's ``/`` (``b`` > 0)."""
    return (abs(a) // b) * ((a > 0) * 1 - (a < 0) * 1)


def broken_linear(p: Any, shape: Sequence[tuple[int, int]]) -> Any:
    """``helper.BuildBrokenLinearFunction``: piecewise-linear score of utilisation ``p``."""
    u0, s0 = shape[0]
    result = (p <= u0) * s0
    for (ua, sa), (ub, sb) in pairwise(shape):
        inside = (p > ua) * (p <= ub)
        result = result + inside * (sa + _div_trunc((sb - sa) * (p - ua), ub - ua))
    return result + (p > shape[-1][0]) * shape[-1][1]


@dataclass(frozen=True)
class FitArgs:
    """``NodeResourcesFitArgs.scoringStrategy``: type, resources with weights and, for
    RequestedToCapacityRatio, the shape as (utilisation 0..100, score 0..10) points."""

    strategy: str = "LeastAllocated"
    resources: tuple[tuple[str, int], ...] = (("cpu", 1), ("memory", 1))
    shape: tuple[tuple[int, int], ...] = ((0, 10), (100, 0))

    def __post_init__(self) -> None:
        if self.strategy not in ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"):
            raise ValueError(f"unknown scoring strategy {self.strategy!r}")
        unknown = [r for r, _ in self.resources if r not in SCORING_RESOURCES]
        if unknown:
            raise ValueError(
                f"unknown scoring resources {unknown}; use {sorted(SCORING_RESOURCES)}"
            )
        utilisations = [u for u, _ in self.shape]
        if utilisations != sorted(set(utilisations)) or not self.shape:
            raise ValueError("shape utilisations must be strictly increasing")


@dataclass
class _FitPrep:
    need: IntArray
    cache: ColumnCache


@register_plugin
class NodeResourcesFit(FilterPlugin, ScorePlugin):
    """Filter: requests fit each node's headroom (CPU, memory, pod slots, GPUs, a GPU share).
    Score: LeastAllocated, MostAllocated or RequestedToCapacityRatio over the weighted
    resources, with requests counted as kube-scheduler's NonZeroRequested."""

    name = "NodeResourcesFit"
    resolvable = True

    def __init__(
        self,
        cluster: Cluster,
        strategy: str = "LeastAllocated",
        resources: Mapping[str, int] | None = None,
        shape: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__(cluster)
        pairs = tuple((resources or {"cpu": 1, "memory": 1}).items())
        self.args = FitArgs(strategy, pairs, tuple(shape) if shape else FitArgs.shape)
        #: Shape scores are 0..10 in the configuration, 0..100 when scoring.
        self.shape = tuple(
            (u, s * (MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE)) for u, s in self.args.shape
        )
        self._fit = Bounded()
        self._scores = Bounded()

    # filter
    def prefilter(self, tid: int) -> Any:
        need = self.cluster.info[tid].need
        key = tuple(int(v) for v in need)
        prep = self._fit.find(key)
        if prep is None:
            rows = [r for r in range(len(need)) if need[r] > 0]

            def fits(cols: Cols) -> Any:
                head = self.cluster.nodes.headroom
                ok: Any = True
                for r in rows:
                    ok = ok & (take(head[r], cols) >= key[r])
                return ok

            prep = _FitPrep(need, ColumnCache(self.cluster, fits, np.bool_, self._fit_kernel(key)))
            self._fit.keep(key, prep)
        return prep

    def _fit_kernel(self, need: tuple[int, ...]) -> Callable[[IntArray, Any], None] | None:
        """The filter compiled (``fits`` is the reference), or None without numba."""
        found = compiled()
        if found is None:
            return None
        fit, nodes = found["fit_rows"], self.cluster.nodes
        rows = np.array([r for r in range(len(need)) if need[r] > 0], dtype=np.int64)
        values = np.array([need[r] for r in rows.tolist()], dtype=np.int64)
        return lambda cols, out: fit(nodes.headroom, rows, values, cols, out)

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        if cols is None:
            result: BoolArray = prep.cache.get()
            return result
        return np.asarray(prep.cache.compute(cols), dtype=np.bool_)

    def failures(self, prep: Any) -> list[Failure]:
        head = self.cluster.nodes.headroom
        return [
            Failure(FIT_REASONS[r], head[r] < prep.need[r], True)
            for r in (CPU, MEMORY, PODS, GPU, GPU_MILLI)
            if prep.need[r] > 0
        ]

    # score
    def _pod_requests(self, tid: int) -> tuple[int, ...]:
        """Per scoring resource: the pod's request (non-zero defaults), -1 to skip it."""
        info = self.cluster.info[tid]
        out = []
        for name, _ in self.args.resources:
            if name == "cpu":
                out.append(int(info.nonzero[0]))
            elif name == "memory":
                out.append(int(info.nonzero[1]))
            else:  # a scalar resource the pod does not request is not scored
                out.append(int(info.usage[GPU_MILLI]) or -1)
        return tuple(out)

    def prescore(self, tid: int) -> Any:
        key = self._pod_requests(tid)
        cache = self._scores.find(key)
        if cache is None:
            cache = ColumnCache(
                self.cluster,
                lambda cols: self.node_score(key, cols),
                np.int64,
                self._score_kernel(key),
            )
            self._scores.keep(key, cache)
        return cache

    def _score_kernel(self, pod: tuple[int, ...]) -> Callable[[IntArray, Any], None] | None:
        """LeastAllocated and MostAllocated compiled (:meth:`node_score` is the reference);
        None without numba or for RequestedToCapacityRatio."""
        found = compiled()
        if found is None or self.args.strategy == "RequestedToCapacityRatio":
            return None
        score, nodes = found["fit_score_rows"], self.cluster.nodes
        rows = np.array([SCORING_RESOURCES[name] for name, _ in self.args.resources], np.int64)
        weights = np.array([w for _, w in self.args.resources], dtype=np.int64)
        requests = np.array(pod, dtype=np.int64)
        most = self.args.strategy == "MostAllocated"
        return lambda cols, out: score(
            nodes.allocatable, nodes.nonzero, nodes.requested, rows, weights, requests, most,
            cols, out,
        )  # fmt: skip

    def node_score(self, pod: tuple[int, ...], cols: Cols) -> Any:
        """The strategy's score of nodes ``cols`` for a pod requesting ``pod``."""
        nodes = self.cluster.nodes
        least = self.args.strategy == "LeastAllocated"
        ratio = self.args.strategy == "RequestedToCapacityRatio"
        num: Any = 0
        den: Any = 0
        for (name, weight), request in zip(self.args.resources, pod, strict=True):
            if request < 0:
                continue
            row = SCORING_RESOURCES[name]
            alloc = take(nodes.allocatable[row], cols)
            used = nodes.nonzero[row] if row in (CPU, MEMORY) else nodes.requested[row]
            req = take(used, cols) + request
            present = alloc > 0
            if ratio:
                utilisation = MAX_NODE_SCORE * req // nz(alloc)
                utilisation = utilisation - (utilisation > 100) * (utilisation - 100)
                s = broken_linear(utilisation, self.shape)
                present = present * (s > 0)
            else:
                s = least_requested(req, alloc) if least else most_requested(req, alloc)
            num = num + present * s * weight
            den = den + present * weight
        if ratio:  # math.Round of a non-negative ratio
            return (den > 0) * ((2 * num + den) // (2 * nz(den)))
        return (den > 0) * (num // nz(den))

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        result: IntArray = prep.get()[cands]
        return result
