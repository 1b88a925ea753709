"""kube-scheduler's plugins, each a vectorised filter and/or scorer over the node table.

Semantics follow kube-scheduler (pkg/scheduler/framework/plugins) exactly, integer
arithmetic included: a score plugin returns int64 scores, normalised to 0..100 by its own
NormalizeScore, then weighted and summed by the scheduler.

A plugin is prepared once per pod template (:meth:`FilterPlugin.prefilter`,
:meth:`ScorePlugin.prescore`) and the preparation is reused for every pod of the template.
Scores and fit masks that depend on allocations are cached per request as full node arrays
and kept current by recomputing only the nodes whose allocations changed
(:class:`ColumnCache`): the formulas below are written branch-free so that the same code
evaluates every node at once (numpy arrays) or one node (numpy scalars).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from cloudsim.containers.domains import DomainView, PodCounter, term_matches
from cloudsim.containers.labels import (
    BoolArray,
    IntArray,
    LabelColumns,
    Requirement,
    selector_matches,
)
from cloudsim.containers.nodes import (
    CPU,
    GPU,
    GPU_MILLI,
    HOSTNAME,
    MEMORY,
    PODS,
    TAINT_UNSCHEDULABLE,
    Taint,
    label_key,
)
from cloudsim.containers.pods import (
    SYSTEM_DEFAULT_SPREAD,
    NodeSelectorTerm,
    PodTemplate,
    TopologySpreadConstraint,
    tolerates,
)

if TYPE_CHECKING:
    from cloudsim.containers.cluster import Cluster

MAX_NODE_SCORE = 100
MAX_CUSTOM_PRIORITY_SCORE = 10
MAX_INT32 = 2**31 - 1
#: One node (an int), some nodes (an index array) or every node (None).
Cols = int | IntArray | None


class Failure(NamedTuple):
    """Nodes a filter rejects for one reason; ``resolvable``: preemption might help
    (Kubernetes' Unschedulable, as opposed to UnschedulableAndUnresolvable)."""

    reason: str
    nodes: BoolArray
    resolvable: bool


def _take(row: Any, cols: Cols) -> Any:
    """``row`` at ``cols``: the whole row (None), an array (indices) or a Python scalar (int:
    Python arithmetic is several times faster than numpy's on scalars, with equal results)."""
    if cols is None:
        return row
    if isinstance(cols, int):
        return row.item(cols)
    return row[cols]


def _nz(x: Any) -> Any:
    """``x`` with zeros replaced by one (a safe divisor; the result is masked anyway)."""
    return x + (x == 0)


class ColumnCache:
    """A per-node array derived from allocations, current as of the last read.

    On each read only the nodes whose allocations changed since the previous read are
    recomputed (one-row rescoring); a change of the node table's static attributes or too
    many changes recompute everything.
    """

    def __init__(self, cluster: Cluster, compute: Callable[[Cols], Any], dtype: type) -> None:
        self.nodes = cluster.nodes
        self.compute = compute
        self.dtype = dtype
        self.values: Any = None
        self._version = -1
        self._position = -1

    def get(self) -> Any:
        nodes = self.nodes
        position = nodes.changes
        rows = None
        if self._version == nodes.version and self.values is not None:
            if position == self._position:
                return self.values
            rows = nodes.changed_since(self._position)
        if rows is None or len(rows) > max(8, nodes.size // 8):
            self.values = np.asarray(self.compute(None)).astype(self.dtype)
        elif len(rows) <= 4:
            values = self.values
            compute = self.compute
            for node in rows:
                values[node] = compute(node)
        else:
            cols = np.unique(np.array(rows, dtype=np.int64))
            self.values[cols] = self.compute(cols)
        self._version = nodes.version
        self._position = position
        return self.values


class Bounded(OrderedDict[Hashable, Any]):
    """A dict of per-request caches that keeps the ``limit`` most recently used entries
    (a replay may bring thousands of distinct requests; each entry holds node arrays)."""

    def __init__(self, limit: int = 512) -> None:
        super().__init__()
        self.limit = limit

    def find(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: Hashable, value: Any) -> None:
        self[key] = value
        if len(self) > self.limit:
            self.popitem(last=False)


# -- plugin interfaces ---------------------------------------------------------------------
class Plugin:
    """A scheduling plugin bound to one cluster; ``args`` as in KubeSchedulerConfiguration."""

    name: ClassVar[str]

    def __init__(self, cluster: Cluster, **args: Any) -> None:
        if args:
            raise TypeError(f"plugin {self.name} takes no arguments, got {sorted(args)}")
        self.cluster = cluster


class FilterPlugin(Plugin):
    """Removes nodes. ``static`` plugins depend only on nodes' static attributes (labels,
    taints, flags): their mask is computed once per template until the node table changes."""

    static: ClassVar[bool] = False
    reason: ClassVar[str] = ""
    resolvable: ClassVar[bool] = False

    def prefilter(self, tid: int) -> Any:
        """Per-template preparation; None when the plugin lets every node through."""
        raise NotImplementedError

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        """Nodes (all, or ``cols``) that pass, given a non-None ``prep``."""
        raise NotImplementedError

    def failures(self, prep: Any) -> list[Failure]:
        """Failing nodes per reason, over all nodes (for diagnoses and preemption)."""
        return [Failure(self.reason, ~self.filter(prep, None), self.resolvable)]


class ScorePlugin(Plugin):
    """Scores candidate nodes; ``prescore`` returns None to skip (Kubernetes' Skip status)."""

    def prescore(self, tid: int) -> Any:
        raise NotImplementedError

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        raise NotImplementedError

    def normalize(self, prep: Any, scores: IntArray) -> IntArray:
        return scores

    def constant(self, prep: Any) -> int | None:
        """The normalised score if it is the same on every node (then never computed)."""
        return None


def default_normalize(scores: IntArray, reverse: bool) -> IntArray:
    """``helper.DefaultNormalizeScore``: scale by the maximum to 0..100, reversed or not."""
    top = int(scores.max()) if len(scores) else 0
    if top == 0:
        return np.full_like(scores, MAX_NODE_SCORE) if reverse else scores
    scaled: IntArray = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - scaled if reverse else scaled


# -- NodeUnschedulable -------------------------------------------------------------------
class NodeUnschedulable(FilterPlugin):
    """Cordoned nodes, unless the pod tolerates ``node.kubernetes.io/unschedulable``."""

    name = "NodeUnschedulable"
    static = True
    reason = "node(s) were unschedulable"

    def prefilter(self, tid: int) -> Any:
        template = self.cluster.templates[tid]
        if tolerates(template.tolerations, Taint(TAINT_UNSCHEDULABLE, "", "NoSchedule")):
            return None
        return True

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        result: BoolArray = ~_take(self.cluster.nodes.unschedulable, cols)
        return result


# -- TaintToleration ---------------------------------------------------------------------
@dataclass
class _TaintPrep:
    hard: list[int]  # untolerated NoSchedule/NoExecute taint ids
    prefer: IntArray | None  # (N,) untolerated PreferNoSchedule taints per node


class TaintToleration(FilterPlugin, ScorePlugin):
    """Filter: every NoSchedule and NoExecute taint tolerated. Score: fewer untolerated
    PreferNoSchedule taints is better (normalised in reverse)."""

    name = "TaintToleration"
    static = True

    def prefilter(self, tid: int) -> Any:
        nodes = self.cluster.nodes
        tolerations = self.cluster.templates[tid].tolerations
        hard = [
            t
            for t, taint in enumerate(nodes.taint_list)
            if taint.effect != "PreferNoSchedule" and not tolerates(tolerations, taint)
        ]
        return _TaintPrep(hard, None) if hard else None

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        tainted = self.cluster.nodes.tainted[prep.hard]
        result: BoolArray = ~(tainted if cols is None else tainted[:, cols]).any(axis=0)
        return result

    def failures(self, prep: Any) -> list[Failure]:
        nodes = self.cluster.nodes
        seen = np.zeros(nodes.size, dtype=np.bool_)
        out = []
        for t in prep.hard:
            hit = nodes.tainted[t] & ~seen
            seen |= hit
            out.append(Failure(f"node(s) had untolerated taint {nodes.taint_list[t]}", hit, False))
        return out

    def prescore(self, tid: int) -> Any:
        nodes = self.cluster.nodes
        soft = [
            t
            for t in self.cluster.templates[tid].tolerations
            if t.effect in ("", "PreferNoSchedule")
        ]
        prefer = [
            t
            for t, taint in enumerate(nodes.taint_list)
            if taint.effect == "PreferNoSchedule" and not tolerates(soft, taint)
        ]
        counts = nodes.tainted[prefer].sum(axis=0).astype(np.int64) if prefer else None
        if counts is not None and not counts.any():
            counts = None
        return _TaintPrep([], counts)

    def constant(self, prep: Any) -> int | None:
        return MAX_NODE_SCORE if prep.prefer is None else None

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        if prep.prefer is None:
            return np.zeros(len(cands), dtype=np.int64)
        result: IntArray = prep.prefer[cands]
        return result

    def normalize(self, prep: Any, scores: IntArray) -> IntArray:
        return default_normalize(scores, reverse=True)


# -- NodeAffinity --------------------------------------------------------------------------
def term_mask(
    nodes_labels: LabelColumns, names: Mapping[str, int], term: NodeSelectorTerm
) -> BoolArray:
    """Nodes matching one node selector term (an empty term matches none)."""
    size = nodes_labels.size
    if not term.match_expressions and not term.match_fields:
        return np.zeros(size, dtype=np.bool_)
    mask = nodes_labels.all_match(term.match_expressions)
    for req in term.match_fields:  # metadata.name In / NotIn
        named = np.zeros(size, dtype=np.bool_)
        named[[names[v] for v in req.values if v in names]] = True
        mask &= named if req.operator == "In" else ~named
    return mask


def required_node_affinity(cluster: Cluster, template: PodTemplate) -> BoolArray | None:
    """Nodes matching the pod's nodeSelector and required node affinity; None: all."""
    if not template.node_selector and template.required_node_affinity is None:
        return None
    nodes = cluster.nodes
    labels = nodes.labels
    mask = np.ones(nodes.size, dtype=np.bool_)
    for key, value in template.node_selector:
        mask &= labels.column(label_key(key)) == labels.code(label_key(key), value)
    if template.required_node_affinity is not None:
        any_term = np.zeros(nodes.size, dtype=np.bool_)
        for term in template.required_node_affinity:
            any_term |= term_mask(labels, nodes.index, _resolve_term(term))
        mask &= any_term
    return mask


def _resolve_term(term: NodeSelectorTerm) -> NodeSelectorTerm:
    """The term with short label aliases (``zone``, ``rack``…) expanded to full keys."""
    return NodeSelectorTerm(
        tuple(Requirement(label_key(r.key), r.operator, r.values) for r in term.match_expressions),
        term.match_fields,
    )


class NodeAffinity(FilterPlugin, ScorePlugin):
    """Filter: nodeSelector and requiredDuringScheduling node affinity. Score: sum of the
    weights of the preferred terms a node matches (normalised by the maximum)."""

    name = "NodeAffinity"
    static = True
    reason = "node(s) didn't match Pod's node affinity/selector"

    def prefilter(self, tid: int) -> Any:
        return required_node_affinity(self.cluster, self.cluster.templates[tid])

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        result: BoolArray = _take(prep, cols)
        return result

    def prescore(self, tid: int) -> Any:
        preferred = self.cluster.templates[tid].preferred_node_affinity
        if not preferred:
            return None
        nodes = self.cluster.nodes
        raw = np.zeros(nodes.size, dtype=np.int64)
        for term in preferred:
            raw += term.weight * term_mask(
                nodes.labels, nodes.index, _resolve_term(term.preference)
            )
        return raw

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        result: IntArray = prep[cands]
        return result

    def normalize(self, prep: Any, scores: IntArray) -> IntArray:
        return default_normalize(scores, reverse=False)


# -- NodeResourcesFit and NodeResourcesBalancedAllocation ---------------------------------
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
    return ok * ((allocatable - requested) * MAX_NODE_SCORE // _nz(allocatable))


def most_requested(requested: Any, allocatable: Any) -> Any:
    """``mostRequestedScore``: requested (capped at allocatable) * 100 / allocatable."""
    capped = requested - (requested > allocatable) * (requested - allocatable)
    return (allocatable > 0) * (capped * MAX_NODE_SCORE // _nz(allocatable))


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
                    ok = ok & (_take(head[r], cols) >= key[r])
                return ok

            prep = _FitPrep(need, ColumnCache(self.cluster, fits, np.bool_))
            self._fit.keep(key, prep)
        return prep

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
            cache = ColumnCache(self.cluster, lambda cols: self.node_score(key, cols), np.int64)
            self._scores.keep(key, cache)
        return cache

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
            alloc = _take(nodes.allocatable[row], cols)
            used = nodes.nonzero[row] if row in (CPU, MEMORY) else nodes.requested[row]
            req = _take(used, cols) + request
            present = alloc > 0
            if ratio:
                utilisation = MAX_NODE_SCORE * req // _nz(alloc)
                utilisation = utilisation - (utilisation > 100) * (utilisation - 100)
                s = broken_linear(utilisation, self.shape)
                present = present * (s > 0)
            else:
                s = least_requested(req, alloc) if least else most_requested(req, alloc)
            num = num + present * s * weight
            den = den + present * weight
        if ratio:  # math.Round of a non-negative ratio
            return (den > 0) * ((2 * num + den) // (2 * _nz(den)))
        return (den > 0) * (num // _nz(den))

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        result: IntArray = prep.get()[cands]
        return result


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
            cache = ColumnCache(self.cluster, lambda cols: self.node_score(key, cols), np.int64)
            self._scores.keep(key, cache)
        return cache

    def node_score(self, pod: tuple[int, ...], cols: Cols) -> Any:
        nodes = self.cluster.nodes
        fractions: list[Any] = []
        present: list[Any] = []
        for row, request in zip(self.rows, pod, strict=True):
            if row == GPU_MILLI and request == 0:
                continue  # a scalar resource the pod does not request is not counted
            alloc = _take(nodes.allocatable[row], cols)
            f = (_take(nodes.requested[row], cols) + request) / _nz(alloc)
            fractions.append(f - (f > 1) * (f - 1))
            present.append(alloc > 0)
        if len(fractions) == 2:  # CPU and memory, the usual case: |f1 - f2| / 2
            std = (present[0] * present[1]) * abs(fractions[0] - fractions[1]) / 2
        else:  # over the resources a node has: two as above, more: population std
            pairs = list(zip(present, fractions, strict=True))
            n = sum(present, 0)
            mean = sum((p * f for p, f in pairs), 0.0) / _nz(n)
            var = sum((p * (f - mean) ** 2 for p, f in pairs), 0.0) / _nz(n)
            hi = np.max([np.where(p, f, -1.0) for p, f in pairs], axis=0)
            lo = np.min([np.where(p, f, 2.0) for p, f in pairs], axis=0)
            std = (n == 2) * (hi - lo) / 2 + (n > 2) * np.sqrt(var)
        return (1 - std) * MAX_NODE_SCORE

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        result: IntArray = prep.get()[cands]
        return result


# -- InterPodAffinity --------------------------------------------------------------------
@dataclass
class _AffinityPrep:
    affinity: list[DomainView] = field(default_factory=list)
    affinity_keys: list[str] = field(default_factory=list)
    self_match: bool = False
    anti: list[DomainView] = field(default_factory=list)
    existing: list[DomainView] = field(default_factory=list)


@dataclass
class _AffinityScorePrep:
    terms: list[tuple[DomainView, int]]


class InterPodAffinity(FilterPlugin, ScorePlugin):
    """Required and preferred pod affinity and anti-affinity over any topology key, with
    the symmetry for existing pods (their required anti-affinity keeps matching newcomers
    out; their required affinity attracts with ``hard_pod_affinity_weight``)."""

    name = "InterPodAffinity"
    AFFINITY = "node(s) didn't match pod affinity rules"
    ANTI = "node(s) didn't match pod anti-affinity rules"
    EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"

    def __init__(self, cluster: Cluster, hard_pod_affinity_weight: int = 1) -> None:
        super().__init__(cluster)
        if not 0 <= hard_pod_affinity_weight <= 100:
            raise ValueError("hard_pod_affinity_weight must be 0..100")
        self.hard_weight = hard_pod_affinity_weight

    def _view(self, counter: PodCounter, key: str) -> DomainView:
        return counter.view(label_key(key))

    def prefilter(self, tid: int) -> Any:
        cluster = self.cluster
        template = cluster.templates[tid]
        ns = template.namespace
        prep = _AffinityPrep()
        required = [t.resolved(ns) for t in template.required_affinity]
        if required:
            both = cluster.counters.matching((t.namespaces, t.label_selector) for t in required)
            prep.affinity = [self._view(both, t.topology_key) for t in required]
            prep.affinity_keys = [label_key(t.topology_key) for t in required]
            prep.self_match = all(term_matches(t, template) for t in required)
        for term in (t.resolved(ns) for t in template.required_anti_affinity):
            counter = cluster.counters.matching([(term.namespaces, term.label_selector)])
            prep.anti.append(self._view(counter, term.topology_key))
        for weight, term in sorted(cluster.held["required_anti_affinity"], key=repr):
            if term_matches(term, template):
                counter = cluster.counters.holding("required_anti_affinity", weight, term)
                prep.existing.append(self._view(counter, term.topology_key))
        if not (prep.affinity or prep.anti or prep.existing):
            return None
        return prep

    def _affinity_ok(self, prep: _AffinityPrep, cols: IntArray | None) -> BoolArray | None:
        if not prep.affinity:
            return None
        labels = self.cluster.nodes.labels
        ok: BoolArray = np.ones(labels.size if cols is None else len(cols), dtype=np.bool_)
        for key in prep.affinity_keys:
            ok &= _take(labels.column(key), cols) >= 0
        if all(view.total == 0 for view in prep.affinity) and prep.self_match:
            return ok  # the first pod of a group with affinity to itself
        for view in prep.affinity:
            ok &= _take(view.at_nodes(), cols) > 0
        return ok

    @staticmethod
    def _free_of(views: list[DomainView], cols: IntArray | None) -> BoolArray | None:
        ok: BoolArray | None = None
        for view in views:
            m = _take(view.at_nodes(), cols) == 0
            ok = m if ok is None else ok & m
        return ok

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        size = self.cluster.nodes.size if cols is None else len(cols)
        ok = np.ones(size, dtype=np.bool_)
        for part in (
            self._affinity_ok(prep, cols),
            self._free_of(prep.anti, cols),
            self._free_of(prep.existing, cols),
        ):
            if part is not None:
                ok &= part
        return ok

    def failures(self, prep: Any) -> list[Failure]:
        size = self.cluster.nodes.size
        seen = np.zeros(size, dtype=np.bool_)
        out = []
        for reason, part, resolvable in (
            (self.AFFINITY, self._affinity_ok(prep, None), False),
            (self.ANTI, self._free_of(prep.anti, None), True),
            (self.EXISTING, self._free_of(prep.existing, None), True),
        ):
            if part is not None:
                hit = ~part & ~seen
                seen |= hit
                out.append(Failure(reason, hit, resolvable))
        return out

    def prescore(self, tid: int) -> Any:
        cluster = self.cluster
        template = cluster.templates[tid]
        ns = template.namespace
        terms: list[tuple[DomainView, int]] = []
        for sign, weighted in (
            (1, template.preferred_affinity),
            (-1, template.preferred_anti_affinity),
        ):
            for wanted in weighted:
                term = wanted.term.resolved(ns)
                counter = cluster.counters.matching([(term.namespaces, term.label_selector)])
                terms.append((self._view(counter, term.topology_key), sign * wanted.weight))
        held: list[tuple[str, int]] = [("preferred_affinity", 1), ("preferred_anti_affinity", -1)]
        if self.hard_weight > 0:
            held.insert(0, ("required_affinity", 1))
        for kind, sign in held:
            for weight, term in sorted(cluster.held[kind], key=repr):
                if term_matches(term, template):
                    counter = cluster.counters.holding(kind, weight, term)
                    w = self.hard_weight if kind == "required_affinity" else weight
                    terms.append((self._view(counter, term.topology_key), sign * w))
        return _AffinityScorePrep(terms) if terms else None

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        total = np.zeros(len(cands), dtype=np.int64)
        for view, weight in prep.terms:
            total += weight * view.at_nodes()[cands]
        return total

    def normalize(self, prep: Any, scores: IntArray) -> IntArray:
        if not len(scores):
            return scores
        lo, hi = int(scores.min()), int(scores.max())
        if hi == lo:
            return np.zeros_like(scores)
        result: IntArray = (MAX_NODE_SCORE * ((scores - lo) / (hi - lo))).astype(np.int64)
        return result


# -- PodTopologySpread ---------------------------------------------------------------------
@dataclass
class _SpreadConstraint:
    key: str
    max_skew: int
    min_domains: int | None
    self_match: int
    view: DomainView | None  # None: per-node counts (hostname, scoring)
    counter: PodCounter


@dataclass
class _SpreadPrep:
    has_keys: BoolArray  # nodes with every topology key of the constraints
    constraints: list[_SpreadConstraint]
    require_all: bool = True
    patterns: dict[tuple[int, bytes], BoolArray] = field(default_factory=dict)


class PodTopologySpread(FilterPlugin, ScorePlugin):
    """maxSkew over the domains of a topology key; DoNotSchedule filters, ScheduleAnyway
    scores. Domains and counts come from eligible nodes (node inclusion policies: node
    affinity honoured, taints ignored by default); nodes without the key are excluded.
    Pods without constraints of their own but with an owner get the system defaults."""

    name = "PodTopologySpread"
    MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"
    SKEW = "node(s) didn't match pod topology spread constraints"

    def __init__(self, cluster: Cluster, default_spreading: bool = True) -> None:
        super().__init__(cluster)
        self.default_spreading = default_spreading

    def _constraints(
        self, template: PodTemplate, hard: bool
    ) -> tuple[list[TopologySpreadConstraint], bool]:
        wanted = "DoNotSchedule" if hard else "ScheduleAnyway"
        own = [c for c in template.topology_spread if c.when_unsatisfiable == wanted]
        if template.topology_spread or hard:
            return own, True
        if not self.default_spreading or template.owner_selector is None:
            return [], True
        defaults = [
            TopologySpreadConstraint(skew, key, "ScheduleAnyway", template.owner_selector)
            for key, skew in SYSTEM_DEFAULT_SPREAD
        ]
        return defaults, False

    def _prepare(self, tid: int, hard: bool) -> _SpreadPrep | None:
        cluster = self.cluster
        nodes = cluster.nodes
        template = cluster.templates[tid]
        constraints, require_all = self._constraints(template, hard)
        if not constraints:
            return None
        has_keys = np.ones(nodes.size, dtype=np.bool_)
        for c in constraints:
            has_keys &= nodes.labels.column(label_key(c.topology_key)) >= 0
        affinity = required_node_affinity(cluster, template)
        taint_ok: BoolArray | None = None
        prepared = []
        for c in constraints:
            key = label_key(c.topology_key)
            eligible = has_keys.copy() if require_all else np.ones(nodes.size, dtype=np.bool_)
            token: tuple[Hashable, ...] = (
                require_all,
                tuple(label_key(x.topology_key) for x in constraints),
            )
            if c.node_affinity_policy == "Honor" and affinity is not None:
                eligible &= affinity
                token += (template.node_selector, template.required_node_affinity)
            if c.node_taints_policy == "Honor":
                if taint_ok is None:
                    taint_ok = np.ones(nodes.size, dtype=np.bool_)
                    for t, taint in enumerate(nodes.taint_list):
                        if taint.effect != "PreferNoSchedule" and not tolerates(
                            template.tolerations, taint
                        ):
                            taint_ok &= ~nodes.tainted[t]
                eligible &= taint_ok
                token += (template.tolerations,)
            counter = cluster.counters.matching([((template.namespace,), c.label_selector)])
            view = None if (key == HOSTNAME and not hard) else counter.view(key, eligible, token)
            self_match = int(selector_matches(c.label_selector, template.label_map))
            prepared.append(
                _SpreadConstraint(key, c.max_skew, c.min_domains, self_match, view, counter)
            )
        return _SpreadPrep(has_keys, prepared, require_all)

    # filter
    def prefilter(self, tid: int) -> Any:
        return self._prepare(tid, hard=True)

    def _allowed(self, prep: _SpreadPrep, i: int, c: _SpreadConstraint) -> BoolArray:
        """Nodes whose domain may take one more pod without exceeding maxSkew."""
        view = c.view
        assert view is not None
        low = view.min_count()
        minimum = MAX_INT32 if low is None else low
        if c.min_domains is not None and view.n_domains < c.min_domains:
            minimum = 0
        allowed = view.counts + c.self_match - minimum <= c.max_skew
        key = (i, allowed.tobytes())
        mask = prep.patterns.get(key)
        if mask is None:
            codes = self.cluster.nodes.labels.column(c.key)
            mask = np.append(allowed, False)[codes]
            if len(allowed) <= 64:
                if len(prep.patterns) > 256:
                    prep.patterns.clear()
                prep.patterns[key] = mask
        return mask

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        ok: BoolArray = _take(prep.has_keys, cols).copy()
        for i, c in enumerate(prep.constraints):
            ok &= _take(self._allowed(prep, i, c), cols)
        return ok

    def failures(self, prep: Any) -> list[Failure]:
        missing = ~prep.has_keys
        skew = ~self.filter(prep, None) & ~missing
        return [Failure(self.MISSING, missing, False), Failure(self.SKEW, skew, True)]

    # score
    def prescore(self, tid: int) -> Any:
        return self._prepare(tid, hard=False)

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        """Raw scores; -1 marks nodes the plugin ignores (missing a key: score 0)."""
        labels = self.cluster.nodes.labels
        valid = prep.has_keys[cands] if prep.require_all else np.ones(len(cands), dtype=np.bool_)
        total = np.zeros(len(cands))
        for c in prep.constraints:
            codes = labels.column(c.key)[cands]
            if c.view is None:  # hostname: the pods on the node itself
                size = int(np.count_nonzero(valid))
                count = c.counter.node_counts[cands]
            else:
                in_play = codes[valid]
                size = int(np.count_nonzero(np.bincount(in_play + 1)))  # -1 ("") counts too
                count = np.append(c.view.counts, 0)[codes]
            weight = math.log(size + 2)
            total += (codes >= 0) * (count * weight + (c.max_skew - 1))
        raw = np.floor(total + 0.5).astype(np.int64)
        return np.where(valid, raw, -1)

    def normalize(self, prep: Any, scores: IntArray) -> IntArray:
        valid = scores >= 0
        if not valid.any():
            return np.zeros_like(scores)
        lo = int(scores[valid].min())
        hi = max(int(scores[valid].max()), 0)
        if hi == 0:
            return np.where(valid, MAX_NODE_SCORE, 0).astype(np.int64)
        result: IntArray = np.where(valid, MAX_NODE_SCORE * (hi + lo - scores) // hi, 0)
        return result


# -- registry ------------------------------------------------------------------------------
PLUGINS: dict[str, type[Plugin]] = {
    cls.name: cls
    for cls in (
        NodeUnschedulable,
        TaintToleration,
        NodeAffinity,
        NodeResourcesFit,
        NodeResourcesBalancedAllocation,
        PodTopologySpread,
        InterPodAffinity,
    )
}
#: kube-scheduler's default filters, in the order it runs them.
DEFAULT_FILTERS: tuple[str, ...] = (
    "NodeUnschedulable",
    "TaintToleration",
    "NodeAffinity",
    "NodeResourcesFit",
    "PodTopologySpread",
    "InterPodAffinity",
)
#: kube-scheduler's default score plugins and weights.
DEFAULT_WEIGHTS: dict[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
}


def register_plugin(cls: type[Plugin]) -> None:
    """Make a plugin class usable by name in profiles (filters and/or score weights)."""
    if not (issubclass(cls, FilterPlugin) or issubclass(cls, ScorePlugin)):
        raise TypeError(f"{cls!r} is neither a FilterPlugin nor a ScorePlugin")
    PLUGINS[cls.name] = cls
