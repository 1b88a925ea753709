"""InterPodAffinity: required and preferred pod affinity and anti-affinity, over any
topology key, counted incrementally (:mod:`cloudsim.containers.domains`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.domains import DomainView, PodCounter, term_matches
from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.nodes import label_key
from cloudsim.containers.scheduler.framework import (
    Failure,
    FilterPlugin,
    ScorePlugin,
    register_plugin,
)
from cloudsim.containers.scheduler.plugins.helper import MAX_NODE_SCORE, take


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


@register_plugin
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
            ok &= take(labels.column(key), cols) >= 0
        if all(view.total == 0 for view in prep.affinity) and prep.self_match:
            return ok  # the first pod of a group with affinity to itself
        for view in prep.affinity:
            ok &= take(view.at_nodes(), cols) > 0
        return ok

    @staticmethod
    def _free_of(views: list[DomainView], cols: IntArray | None) -> BoolArray | None:
        ok: BoolArray | None = None
        for view in views:
            m = take(view.at_nodes(), cols) == 0
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
