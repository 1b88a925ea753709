"""Incremental per-node and per-domain pod counts: what affinity and spreading read.

A :class:`PodCounter` counts, for every node, the bound pods whose template satisfies a
predicate: "matches this label selector in these namespaces" (the pods an affinity term or
a spread constraint looks for) or "holds this affinity term" (existing pods whose own terms
constrain newcomers). It is built once with one ``np.bincount`` and then kept current on
every bind and unbind, so a scheduling decision reads counts instead of recounting pods.

A :class:`DomainView` sums one counter over the values of one topology key, restricted to
the nodes a constraint considers (eligible nodes); kube-scheduler's ``TpPairToMatchNum``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Protocol

import numpy as np

from cloudsim.containers.labels import BoolArray, CodeArray, IntArray, LabelSelector
from cloudsim.containers.labels import selector_matches as _selector_matches
from cloudsim.containers.nodes import NodeTable
from cloudsim.containers.pods import PodAffinityTerm, PodPhase, PodTable, PodTemplate

#: One condition of a "matches" counter: pods of these namespaces matching the selector.
Match = tuple[tuple[str, ...], LabelSelector | None]
#: Kinds of affinity terms a pod can hold, as kept in the counters.
HELD_KINDS: tuple[str, ...] = (
    "required_affinity",
    "required_anti_affinity",
    "preferred_affinity",
    "preferred_anti_affinity",
)


class Tables(Protocol):
    """What the counters read of their cluster (a
    :class:`~cloudsim.containers.cluster.Cluster`, which owns them): its node table, its pod
    table and its pod templates by id."""

    @property
    def nodes(self) -> NodeTable: ...

    @property
    def pods(self) -> PodTable: ...

    @property
    def templates(self) -> Sequence[PodTemplate]: ...


def matches(conditions: Iterable[Match], template: PodTemplate) -> bool:
    """Whether pods of ``template`` satisfy every (namespaces, selector) condition."""
    labels = template.label_map
    return all(
        template.namespace in namespaces and _selector_matches(selector, labels)
        for namespaces, selector in conditions
    )


def term_matches(term: PodAffinityTerm, template: PodTemplate) -> bool:
    """Whether a (namespace-resolved) affinity term selects pods of ``template``."""
    return matches(((term.namespaces, term.label_selector),), template)


def held_terms(template: PodTemplate, kind: str) -> list[tuple[int, PodAffinityTerm]]:
    """(weight, namespace-resolved term) of ``kind`` held by pods of ``template``."""
    ns = template.namespace
    if kind == "required_affinity":
        return [(0, t.resolved(ns)) for t in template.required_affinity]
    if kind == "required_anti_affinity":
        return [(0, t.resolved(ns)) for t in template.required_anti_affinity]
    if kind == "preferred_affinity":
        return [(w.weight, w.term.resolved(ns)) for w in template.preferred_affinity]
    return [(w.weight, w.term.resolved(ns)) for w in template.preferred_anti_affinity]


class DomainView:
    """A counter summed per value (domain) of one label, over eligible nodes.

    ``counts[d]``: matching pods on eligible nodes of domain ``d``; ``present[d]``: some
    eligible node is in ``d``. :meth:`at_nodes` gives each node the count of its domain.
    """

    def __init__(self, codes: CodeArray, domains: int, node_counts: IntArray) -> None:
        self.codes = codes  # (N,) domain of each eligible node, -1 elsewhere
        valid = codes >= 0
        self.counts: IntArray = np.bincount(
            codes[valid], weights=node_counts[valid], minlength=domains
        ).astype(np.int64)
        self.present: BoolArray = np.bincount(codes[valid], minlength=domains) > 0
        self.n_domains = int(self.present.sum())
        self.total = int(self.counts.sum())
        self._at: IntArray | None = None
        self._order: IntArray | None = None
        self._starts: IntArray | None = None

    def add(self, node: int, delta: int) -> None:
        c = int(self.codes[node])
        if c < 0:
            return
        self.counts[c] += delta
        self.total += delta
        at = self._at
        if at is not None:
            if self._order is None:  # one eligible node per domain (hostname-like)
                at[node] += delta
            else:
                assert self._starts is not None
                at[self._order[self._starts[c] : self._starts[c + 1]]] += delta

    def at_nodes(self) -> IntArray:
        """(N,) count of each node's domain (0 for nodes outside the view). Read only."""
        if self._at is None:
            codes = self.codes
            self._at = np.append(self.counts, 0)[codes]  # code -1 reads the trailing 0
            valid = codes >= 0
            members = np.bincount(codes[valid], minlength=len(self.counts))
            if members.max(initial=0) > 1:
                outside = len(self.counts)  # sorts nodes outside the view last
                self._order = np.argsort(np.where(valid, codes, outside), kind="stable")
                self._starts = np.concatenate([[0], np.cumsum(members)]).astype(np.int64)
        return self._at

    def min_count(self) -> int | None:
        """The smallest count over present domains (None if no domain is present)."""
        if not self.n_domains:
            return None
        return int(self.counts[self.present].min())


class PodCounter:
    """Bound pods per node, weighted by ``weight(template_id)``; views per topology key."""

    def __init__(self, cluster: Tables, weight: Callable[[int], int]) -> None:
        self.cluster = cluster
        self.weight = weight
        self.views: dict[Hashable, DomainView] = {}
        self.node_counts: IntArray = np.zeros(0, dtype=np.int64)
        self._version = -1
        self.rebuild()

    def rebuild(self) -> None:
        """Recount from the pod table (on creation, and when the node table changes)."""
        cluster = self.cluster
        pods = cluster.pods
        size = cluster.nodes.size
        rows = np.flatnonzero(pods.phase[: pods.size] == PodPhase.BOUND)
        if len(rows):
            weights = np.array([self.weight(t) for t in range(len(cluster.templates))])
            per_pod = weights[pods.template[rows]]
            self.node_counts = np.bincount(pods.node[rows], weights=per_pod, minlength=size).astype(
                np.int64
            )
        else:
            self.node_counts = np.zeros(size, dtype=np.int64)
        self.views.clear()
        self._version = cluster.nodes.version

    def view(
        self, key: str, eligible: BoolArray | None = None, token: Hashable = None
    ) -> DomainView:
        """Counts per value of label ``key`` over ``eligible`` nodes (None: all with the key).

        ``token`` names the eligibility set: views are shared by equal tokens.
        """
        nodes = self.cluster.nodes
        if self._version != nodes.version:
            self.rebuild()
        found = self.views.get((key, token))
        if found is None:
            codes = nodes.labels.column(key)
            if eligible is not None:
                codes = np.where(eligible, codes, -1).astype(np.int32)
            found = DomainView(codes, nodes.labels.domains(key), self.node_counts)
            self.views[(key, token)] = found
        return found

    def add(self, node: int, delta: int) -> None:
        self.node_counts[node] += delta
        for view in self.views.values():
            view.add(node, delta)


class Counters:
    """Every counter of one cluster, by what it counts; bind and unbind keep them current."""

    def __init__(self, cluster: Tables) -> None:
        self.cluster = cluster
        self._counters: dict[Hashable, PodCounter] = {}
        self._by_template: dict[int, list[tuple[PodCounter, int]]] = {}

    def _get(self, key: Hashable, weight: Callable[[int], int]) -> PodCounter:
        counter = self._counters.get(key)
        if counter is None:
            counter = PodCounter(self.cluster, weight)
            self._counters[key] = counter
            self._by_template.clear()
        elif counter._version != self.cluster.nodes.version:
            counter.rebuild()  # the node table changed: counts (and views) from scratch
        return counter

    def matching(self, conditions: Iterable[Match]) -> PodCounter:
        """Pods satisfying every (namespaces, selector) condition (conditions are ANDed)."""
        conds = tuple(sorted(set(conditions), key=repr))
        templates = self.cluster.templates

        def weight(t: int) -> int:
            return int(matches(conds, templates[t]))

        return self._get(("match", conds), weight)

    def holding(self, kind: str, weight: int, term: PodAffinityTerm) -> PodCounter:
        """Pods whose template holds ``term`` (namespace-resolved) of ``kind`` with ``weight``."""
        templates = self.cluster.templates
        wanted = (weight, term)

        def count(t: int) -> int:
            return sum(1 for held in held_terms(templates[t], kind) if held == wanted)

        return self._get(("hold", kind, weight, term), count)

    def on_bind(self, template: int, node: int, delta: int) -> None:
        """A pod of ``template`` was bound to (+1) or unbound from (-1) ``node``."""
        affected = self._by_template.get(template)
        if affected is None:
            affected = []
            for counter in self._counters.values():
                w = counter.weight(template)
                if w:
                    affected.append((counter, w))
            self._by_template[template] = affected
        version = self.cluster.nodes.version
        for counter, w in affected:
            if counter._version != version:
                # counted for another node table: recount (the pod is in the table already)
                counter.rebuild()
            else:
                counter.add(node, w * delta)
