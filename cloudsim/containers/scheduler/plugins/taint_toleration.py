"""TaintToleration: NoSchedule and NoExecute taints must be tolerated; untolerated
PreferNoSchedule taints lower a node's score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.pods import tolerates
from cloudsim.containers.scheduler.framework import (
    Failure,
    FilterPlugin,
    ScorePlugin,
    register_plugin,
)
from cloudsim.containers.scheduler.plugins.helper import MAX_NODE_SCORE, default_normalize


@dataclass
class _TaintPrep:
    hard: list[int]  # untolerated NoSchedule/NoExecute taint ids
    prefer: IntArray | None  # (N,) untolerated PreferNoSchedule taints per node


@register_plugin
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
