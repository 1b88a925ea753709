"""NodeAffinity: a pod's nodeSelector and required node affinity filter, its preferred
node affinity scores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.labels import BoolArray, IntArray, LabelColumns, Requirement
from cloudsim.containers.nodes import label_key
from cloudsim.containers.pods import NodeSelectorTerm, PodTemplate
from cloudsim.containers.scheduler.framework import FilterPlugin, ScorePlugin, register_plugin
from cloudsim.containers.scheduler.plugins.helper import default_normalize, take


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


@register_plugin
class NodeAffinity(FilterPlugin, ScorePlugin):
    """Filter: nodeSelector and requiredDuringScheduling node affinity. Score: sum of the
    weights of the preferred terms a node matches (normalised by the maximum)."""

    name = "NodeAffinity"
    static = True
    reason = "node(s) didn't match Pod's node affinity/selector"

    def prefilter(self, tid: int) -> Any:
        return required_node_affinity(self.cluster, self.cluster.templates[tid])

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        result: BoolArray = take(prep, cols)
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
