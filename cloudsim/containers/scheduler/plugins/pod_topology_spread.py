"""PodTopologySpread: maxSkew over the domains of a topology key (DoNotSchedule filters,
ScheduleAnyway scores), with the system default constraints for owned pods."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.domains import DomainView, PodCounter
from cloudsim.containers.kernels import compiled
from cloudsim.containers.labels import BoolArray, FloatArray, IntArray, selector_matches
from cloudsim.containers.nodes import HOSTNAME, label_key
from cloudsim.containers.pods import (
    SYSTEM_DEFAULT_SPREAD,
    PodTemplate,
    TopologySpreadConstraint,
    tolerates,
)
from cloudsim.containers.scheduler.framework import (
    Failure,
    FilterPlugin,
    ScorePlugin,
    register_plugin,
)
from cloudsim.containers.scheduler.plugins.helper import MAX_NODE_SCORE, take
from cloudsim.containers.scheduler.plugins.node_affinity import required_node_affinity

MAX_INT32 = 2**31 - 1


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


@register_plugin
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
        #: The compiled score (:mod:`cloudsim.containers.kernels`), None without numba.
        self._kernels = compiled()
        self._logs = np.zeros(0)  # log(k) for k < len

    def _log_table(self, k: int) -> FloatArray:
        """``log(i)`` for ``i`` up to at least ``k`` (the weights of the compiled score)."""
        if len(self._logs) <= k:
            size = max(2 * k, 64)
            self._logs = np.array([math.log(i) if i else -math.inf for i in range(size)])
        return self._logs

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
        ok: BoolArray = take(prep.has_keys, cols).copy()
        for i, c in enumerate(prep.constraints):
            ok &= take(self._allowed(prep, i, c), cols)
        return ok

    def failures(self, prep: Any) -> list[Failure]:
        missing = ~prep.has_keys
        skew = ~self.filter(prep, None) & ~missing
        return [Failure(self.MISSING, missing, False), Failure(self.SKEW, skew, True)]

    # score
    def prescore(self, tid: int) -> Any:
        return self._prepare(tid, hard=False)

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        """Raw scores; -1 marks nodes the plugin ignores (missing a key: score 0). Compiled
        when numba is installed (:meth:`score_numpy` is the reference)."""
        found = self._kernels
        if found is None:
            return self.score_numpy(prep, cands)
        labels = self.cluster.nodes.labels
        valid = prep.has_keys[cands] if prep.require_all else np.ones(len(cands), dtype=np.bool_)
        total = np.zeros(len(cands))
        logs = self._log_table(len(cands) + 2)
        term = found["spread_term"]
        for c in prep.constraints:
            per_node = c.view is None
            counts = c.counter.node_counts if per_node else c.view.counts
            term(labels.column(c.key), cands, valid, counts, per_node, c.max_skew, logs, total)
        raw: IntArray = found["spread_raw"](total, valid)
        return raw

    def score_numpy(self, prep: Any, cands: IntArray) -> IntArray:
        """The reference of :meth:`score`."""
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
        if self._kernels is not None:
            result: IntArray = self._kernels["spread_normalize"](scores)
            return result
        return self.normalize_numpy(prep, scores)

    def normalize_numpy(self, prep: Any, scores: IntArray) -> IntArray:
        """The reference of :meth:`normalize`."""
        valid = scores >= 0
        if not valid.any():
            return np.zeros_like(scores)
        lo = int(scores[valid].min())
        hi = max(int(scores[valid].max()), 0)
        if hi == 0:
            return np.where(valid, MAX_NODE_SCORE, 0).astype(np.int64)
        result: IntArray = np.where(valid, MAX_NODE_SCORE * (hi + lo - scores) // hi, 0)
        return result
