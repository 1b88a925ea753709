"""Why a scheduling cycle comes out as it does: the filters' diagnosis and explanations.

:func:`diagnose` runs every filter's failures over all nodes, as kube-scheduler collects a
failed cycle's diagnosis (each node counted for the first filter it fails, its reasons
counted for the FitError message). :func:`explanation` puts a cycle's diagnosis,
candidates and scores together for a reader (``cloudsim explain``, the tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cloudsim.containers.labels import IntArray
from cloudsim.containers.scheduler.framework import Diagnosis, FilterPlugin, Plan

#: A weighted total over the candidates and, per score plugin, (raw, normalised) scores.
Scores = tuple[IntArray, dict[str, tuple[IntArray, IntArray]]]


def diagnose(filters: Sequence[FilterPlugin], plan: Plan, size: int) -> Diagnosis:
    """The diagnosis of ``filters`` over ``size`` nodes for the template of ``plan``."""
    remaining = np.ones(size, dtype=np.bool_)
    resolvable = np.zeros(size, dtype=np.bool_)
    unresolvable = np.zeros(size, dtype=np.bool_)
    removed: dict[str, int] = {}
    reasons: Counter[str] = Counter()
    for plugin in filters:
        prep = plan.preps[plugin.name]
        if prep is None:
            removed[plugin.name] = 0
            continue
        failing = np.zeros(size, dtype=np.bool_)
        for failure in plugin.failures(prep):
            hit = remaining & failure.nodes
            count = int(np.count_nonzero(hit))
            if count:
                reasons[failure.reason] += count
            (resolvable if failure.resolvable else unresolvable)[hit] = True
            failing |= failure.nodes
        removed[plugin.name] = int(np.count_nonzero(remaining & failing))
        remaining &= ~failing
    return Diagnosis(removed, reasons, remaining, resolvable & ~unresolvable)


@dataclass
class Explanation:
    """Why a scheduling cycle for a pod comes out as it does (computed without side effects).

    ``removed_by``: nodes each filter removed, in filter order (a node counts for the first
    filter it fails); ``reasons``: the diagnosis counts; ``to_find``: numFeasibleNodesToFind;
    ``scored``: nodes scored (0 when one feasible node needs no scoring); ``score_parts``:
    the winner's raw and normalised score and weight per score plugin.
    """

    pod: str
    nodes: int
    removed_by: dict[str, int]
    reasons: dict[str, int]
    feasible: int
    to_find: int
    scored: int
    node: str | None
    score: int | None
    score_parts: dict[str, dict[str, int | None]] = field(default_factory=dict)
    tied_nodes: int = 0
    message: str | None = None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def explanation(
    pod: str,
    names: Sequence[str],
    diagnosis: Diagnosis,
    to_find: int,
    cands: IntArray,
    scores: Scores | None,
    constants: Mapping[str, int],
    weights: Mapping[str, int],
) -> Explanation:
    """The explanation of a cycle for ``pod`` over nodes ``names``: its diagnosis, the
    candidates found and, when there are several, their ``scores`` (then the first of the
    tied best is shown), with the plan's ``constants`` and the profile's ``weights``."""
    size = len(names)
    explained = Explanation(
        pod=pod,
        nodes=size,
        removed_by=diagnosis.removed_by,
        reasons=dict(diagnosis.reasons),
        feasible=int(np.count_nonzero(diagnosis.feasible)),
        to_find=to_find,
        scored=0,
        node=None,
        score=None,
    )
    if not len(cands):
        explained.message = diagnosis.message(size)
        return explained
    if scores is None:  # kube-scheduler binds a lone feasible node without scoring
        explained.node = names[int(cands[0])]
        explained.tied_nodes = 1
        return explained
    total, parts = scores
    best = int(total.max())
    ties = np.flatnonzero(total == best)
    winner = int(ties[0])
    for name, (raw, norm) in parts.items():
        explained.score_parts[name] = {
            "raw": int(raw[winner]),
            "normalised": int(norm[winner]),
            "weight": weights[name],
        }
    for name, value in constants.items():
        explained.score_parts[name] = {"raw": None, "normalised": value, "weight": weights[name]}
    constant = sum(value * weights[name] for name, value in constants.items())
    explained.scored = len(cands)
    explained.node = names[int(cands[winner])]
    explained.score = best + constant
    explained.tied_nodes = len(ties)
    return explained
