"""kube-scheduler over a :class:`~cloudsim.containers.cluster.Cluster`: queue, cycle, explain.

One scheduling cycle, as in Kubernetes: run the filters over every node (numpy masks, each
template's static part prepared once), take the first ``numFeasibleNodesToFind`` feasible
nodes in the scheduler's node order starting where the previous cycle stopped
(percentageOfNodesToScore), score those with every score plugin, normalise, weight, sum,
and pick the best, breaking ties at random from the seeded stream. A pod that fits nowhere
goes to PostFilter (DefaultPreemption); if that does not help it stays pending with the
scheduler's diagnosis ("0/N nodes are available: …") recorded, never an error.

The active queue is kube-scheduler's PrioritySort: higher priority first, FIFO within a
priority. Unschedulable pods wait in :attr:`Scheduler.unschedulable` until a cluster event
moves them back (:meth:`Scheduler.requeue_unschedulable`).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.plugins import (
    DEFAULT_FILTERS,
    DEFAULT_WEIGHTS,
    PLUGINS,
    FilterPlugin,
    Plugin,
    ScorePlugin,
)
from cloudsim.containers.pods import PENDING, PodTemplate

MIN_FEASIBLE_NODES_TO_FIND = 100
#: Templates whose preparation a scheduler keeps (least recently used ones are dropped).
MAX_PLANS = 256
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
Record = Callable[..., None]


def num_feasible_nodes_to_find(nodes: int, percentage: int = 0) -> int:
    """kube-scheduler's ``numFeasibleNodesToFind``: all nodes below 100; otherwise
    ``percentage`` of them (0: adaptive, 50% minus 1% per 125 nodes, at least 5%), at least 100."""
    if nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return nodes
    if percentage <= 0:
        percentage = max(50 - nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(nodes * min(percentage, 100) // 100, MIN_FEASIBLE_NODES_TO_FIND)


def fit_error(nodes: int, reasons: Mapping[str, int]) -> str:
    """kube-scheduler's FitError text: reason counts, sorted as strings."""
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items() if count)
    if not parts:
        return f"0/{nodes} nodes are available."
    return f"0/{nodes} nodes are available: {', '.join(parts)}."


@dataclass(frozen=True)
class Profile:
    """A scheduling profile (KubeSchedulerConfiguration ``profiles[]``).

    ``filters``: filter plugins in the order they run; ``weights``: score plugins and their
    weights (0 disables); ``args``: plugin arguments by plugin name, e.g.
    ``{"NodeResourcesFit": {"strategy": "MostAllocated"}}``.
    """

    name: str = "default-scheduler"
    filters: tuple[str, ...] = DEFAULT_FILTERS
    weights: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    percentage_of_nodes_to_score: int = 0
    preemption: bool = True
    min_candidate_nodes_percentage: int = 10
    min_candidate_nodes_absolute: int = 100

    def __post_init__(self) -> None:
        import difflib

        for name in (*self.filters, *self.weights, *self.args):
            if name not in PLUGINS:
                close = difflib.get_close_matches(name, list(PLUGINS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise KeyError(f"unknown scheduler plugin {name!r}{hint}")
        for name in self.filters:
            if not issubclass(PLUGINS[name], FilterPlugin):
                raise ValueError(f"plugin {name!r} is not a filter")
        for name, weight in self.weights.items():
            if weight and not issubclass(PLUGINS[name], ScorePlugin):
                raise ValueError(f"plugin {name!r} does not score")
            if weight < 0:
                raise ValueError(f"weight of {name!r} must not be negative")
        if not 0 <= self.percentage_of_nodes_to_score <= 100:
            raise ValueError("percentage_of_nodes_to_score must be 0..100 (0: adaptive)")


#: Failure reasons another pod's arrival can resolve (pod affinity, topology spread).
POD_DEPENDENT_REASONS: tuple[str, ...] = (
    "node(s) didn't match pod affinity rules",
    "node(s) didn't match pod topology spread constraints",
)


def _waits_for_pods(u: Unschedulable) -> bool:
    return any(r in u.reasons for r in POD_DEPENDENT_REASONS)


@dataclass
class Unschedulable:
    """Why a pod is pending: kube-scheduler's FitError message and its reason counts."""

    message: str
    reasons: dict[str, int]
    time: float


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


@dataclass
class _Plan:
    """A template's preparation for one profile, valid for one state of the node table."""

    key: tuple[int, int]
    preps: dict[str, Any]
    static: BoolArray
    dynamic: list[tuple[FilterPlugin, Any]]
    scores: list[tuple[ScorePlugin, int, Any]]
    constants: dict[str, int]


@dataclass
class _Diagnosis:
    removed_by: dict[str, int]
    reasons: Counter[str]
    feasible: BoolArray
    resolvable: BoolArray  # failing nodes whose first failing filter preemption might fix

    def message(self, nodes: int) -> str:
        return fit_error(nodes, self.reasons)


class Scheduler:
    """Schedules the pods of one cluster with one profile; the tie-breaking stream is seeded."""

    def __init__(
        self,
        cluster: Cluster,
        profile: Profile | None = None,
        rng: np.random.Generator | None = None,
        record: Record | None = None,
    ) -> None:
        from cloudsim.containers.preemption import DefaultPreemption

        self.cluster = cluster
        self.profile = profile or Profile()
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.record = record
        p = self.profile
        names = list(dict.fromkeys([*p.filters, *(n for n, w in p.weights.items() if w)]))
        self.plugins: dict[str, Plugin] = {
            name: PLUGINS[name](cluster, **dict(p.args.get(name, {}))) for name in names
        }
        self.filters: list[FilterPlugin] = [
            plugin for name in p.filters if isinstance(plugin := self.plugins[name], FilterPlugin)
        ]
        self.scorers: list[tuple[ScorePlugin, int]] = [
            (plugin, w)
            for name, w in p.weights.items()
            if w and isinstance(plugin := self.plugins[name], ScorePlugin)
        ]
        self.preemption = DefaultPreemption(self) if p.preemption else None
        self.queue: list[tuple[int, int, int, int]] = []  # (-priority, sequence, row, serial)
        self._sequence = 0
        self.unschedulable: dict[int, Unschedulable] = {}
        self.next_start = 0
        self._plans: OrderedDict[int, _Plan] = OrderedDict()
        self._uniform = self.rng.random(1024)
        self._drawn = 0
        self.attempts = 0
        self.preemptions = 0

    # -- queue -------------------------------------------------------------------------
    def submit(
        self, template: PodTemplate, count: int = 1, *, name: str | None = None, time: float = 0.0
    ) -> list[int]:
        """Create ``count`` pods of ``template`` and queue them; returns their rows."""
        rows = []
        for k in range(count):
            label = None if name is None else (name if count == 1 else f"{name}-{k}")
            row = self.cluster.add_pod(template, label, time)
            self.enqueue(row)
            rows.append(row)
        return rows

    def enqueue(self, row: int) -> None:
        """Put a pending pod in the active queue (behind pods of its priority already there)."""
        self.unschedulable.pop(row, None)
        pods = self.cluster.pods
        heapq.heappush(
            self.queue, (-int(pods.priority[row]), self._sequence, row, int(pods.serial[row]))
        )
        self._sequence += 1

    def forget(self, row: int) -> None:
        """A pod ended: drop it from the unschedulable pods (its queue entry goes stale)."""
        self.unschedulable.pop(row, None)

    def flush_due(self, max_age: float) -> float:
        """When the next unschedulable pod that only another pod's arrival could help
        (pod affinity, topology spread) has waited ``max_age``: kube-scheduler's periodic
        flush, for the failures no other queueing hint covers (inf: none)."""
        times = [u.time for u in self.unschedulable.values() if _waits_for_pods(u)]
        return min(times) + max_age if times else math.inf

    def requeue_stale(self, now: float, max_age: float) -> int:
        """Move back the pods :meth:`flush_due` is about that have waited ``max_age``."""
        rows = [
            row
            for row, u in sorted(self.unschedulable.items())
            if _waits_for_pods(u) and u.time + max_age <= now
        ]
        for row in rows:
            self.enqueue(row)
        return len(rows)

    def requeue_fitting(self, node: int) -> int:
        """Queueing hint after resources were freed on ``node``: move back the unschedulable
        pods whose requests now fit its headroom (the others cannot have become schedulable
        by it). Returns how many."""
        if not self.unschedulable:
            return 0
        cluster = self.cluster
        head = cluster.nodes.headroom[:, node]
        template = cluster.pods.template
        rows = [
            row
            for row in sorted(self.unschedulable)
            if (cluster.info[int(template[row])].need <= head).all()
        ]
        for row in rows:
            self.enqueue(row)
        return len(rows)

    def requeue_unschedulable(self) -> int:
        """Move every unschedulable pod back to the active queue (after a cluster event)."""
        rows = sorted(self.unschedulable)
        for row in rows:
            self.enqueue(row)
        return len(rows)

    def schedule_pending(self, time: float = 0.0) -> int:
        """Run cycles until the active queue is empty; returns the number of pods bound."""
        bound = 0
        queue = self.queue
        pods = self.cluster.pods
        while queue:
            _, _, row, serial = heapq.heappop(queue)
            if (
                pods.phase[row] == PENDING
                and pods.serial[row] == serial
                and self.schedule_one(row, time) >= 0
            ):
                bound += 1
        return bound

    # -- one cycle ---------------------------------------------------------------------
    def schedule_one(self, row: int, time: float = 0.0) -> int:
        """One scheduling cycle for a pending pod; returns its node, or -1 if it stays pending."""
        self.attempts += 1
        cluster = self.cluster
        tid = int(cluster.pods.template[row])
        plan = self.plan(tid)
        mask = plan.static
        for plugin, prep in plan.dynamic:
            mask = mask & plugin.filter(prep, None)
        cands, self.next_start = self._candidates(mask, self.next_start)
        if not len(cands):
            return self._unschedulable(row, tid, plan, time)
        node = int(cands[0]) if len(cands) == 1 else self._select(plan, cands)
        cluster.bind(row, node, time)
        if self.record is not None:
            self.record(time, "bind", pod=row, node=node)
        return node

    def plan(self, tid: int) -> _Plan:
        """The profile's preparation of template ``tid`` (cached until the nodes change)."""
        cluster = self.cluster
        key = (cluster.nodes.version, cluster.terms_version)
        plan = self._plans.get(tid)
        if plan is not None and plan.key == key:
            self._plans.move_to_end(tid)
            return plan
        preps: dict[str, Any] = {}
        static = np.ones(cluster.nodes.size, dtype=np.bool_)
        dynamic: list[tuple[FilterPlugin, Any]] = []
        for plugin in self.filters:
            prep = plugin.prefilter(tid)
            preps[plugin.name] = prep
            if prep is None:
                continue
            if plugin.static:
                static &= plugin.filter(prep, None)
            else:
                dynamic.append((plugin, prep))
        scores: list[tuple[ScorePlugin, int, Any]] = []
        constants: dict[str, int] = {}
        for scorer, weight in self.scorers:
            prep = scorer.prescore(tid)
            if prep is None:
                continue
            value = scorer.constant(prep)
            if value is not None:
                constants[scorer.name] = value
            else:
                scores.append((scorer, weight, prep))
        plan = _Plan(key, preps, static, dynamic, scores, constants)
        self._plans[tid] = plan
        self._plans.move_to_end(tid)
        if len(self._plans) > MAX_PLANS:  # bounded for replays with many distinct pods
            self._plans.popitem(last=False)
        return plan

    def _candidates(self, mask: BoolArray, start: int) -> tuple[IntArray, int]:
        """The first numFeasibleNodesToFind feasible nodes from ``start`` in node order, and
        where the next cycle starts (kube-scheduler's ``nextStartNodeIndex``).

        kube-scheduler stops searching when it meets one feasible node more than it needs,
        and advances the start by the nodes it checked before that one (all nodes when
        there are not that many feasible ones)."""
        n = len(mask)
        order = self.cluster.nodes.scan_order()
        found = np.flatnonzero(mask if order is None else mask[order])
        feasible = len(found)
        if not feasible:
            return found, start
        start = start % n
        to_find = num_feasible_nodes_to_find(n, self.profile.percentage_of_nodes_to_score)
        i = int(np.searchsorted(found, start))
        if feasible <= to_find:
            chosen = found if i == 0 else np.concatenate((found[i:], found[:i]))
            processed = n
        else:
            end = i + to_find
            if end <= feasible:
                chosen = found[i:end]
            else:
                chosen = np.concatenate((found[i:], found[: end - feasible]))
            processed = (int(found[end % feasible]) - start) % n
        nodes = chosen if order is None else order[chosen]
        return nodes, (start + processed) % n

    def _scores(
        self, plan: _Plan, cands: IntArray
    ) -> tuple[IntArray, dict[str, tuple[IntArray, IntArray]]]:
        """Weighted total over ``cands`` and, per plugin, (raw, normalised) scores."""
        total: IntArray | None = None
        parts = {}
        for scorer, weight, prep in plan.scores:
            raw = scorer.score(prep, cands)
            normalised = scorer.normalize(prep, raw)
            term = normalised * weight if weight != 1 else normalised
            total = term if total is None else total + term
            parts[scorer.name] = (raw, normalised)
        if total is None:
            total = np.zeros(len(cands), dtype=np.int64)
        return total, parts

    def _select(self, plan: _Plan, cands: IntArray) -> int:
        if not plan.scores:
            ties = cands
        else:
            total = self._scores(plan, cands)[0]
            ties = cands[total == total.max()]
        if len(ties) == 1:
            return int(ties[0])
        return int(ties[self.draw(len(ties))])

    def draw(self, n: int) -> int:
        """A uniform integer in [0, n) from the scheduler's seeded stream."""
        if self._drawn == len(self._uniform):
            self._uniform = self.rng.random(1024)
            self._drawn = 0
        u = float(self._uniform[self._drawn])
        self._drawn += 1
        return min(int(u * n), n - 1)

    def feasible_on(self, tid: int, node: int) -> bool:
        """Whether every filter passes ``node`` for a pod of template ``tid`` right now."""
        plan = self.plan(tid)
        if not plan.static[node]:
            return False
        cols = np.array([node], dtype=np.int64)
        return all(bool(plugin.filter(prep, cols)[0]) for plugin, prep in plan.dynamic)

    # -- failures ----------------------------------------------------------------------
    def _diagnose(self, plan: _Plan) -> _Diagnosis:
        size = self.cluster.nodes.size
        remaining = np.ones(size, dtype=np.bool_)
        resolvable = np.zeros(size, dtype=np.bool_)
        unresolvable = np.zeros(size, dtype=np.bool_)
        removed: dict[str, int] = {}
        reasons: Counter[str] = Counter()
        for plugin in self.filters:
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
        return _Diagnosis(removed, reasons, remaining, resolvable & ~unresolvable)

    def _unschedulable(self, row: int, tid: int, plan: _Plan, time: float) -> int:
        diagnosis = self._diagnose(plan)
        message = diagnosis.message(self.cluster.nodes.size)
        if self.preemption is not None:
            node, post = self.preemption.preempt(row, tid, diagnosis, time)
            if node >= 0:
                self.preemptions += 1
                self.cluster.bind(row, node, time)
                if self.record is not None:
                    self.record(time, "bind", pod=row, node=node)
                return node
            message = f"{message} {post}"
        self.unschedulable[row] = Unschedulable(message, dict(diagnosis.reasons), time)
        if self.record is not None:
            self.record(time, "unschedulable", pod=row, reason=message)
        return -1

    # -- explanations ------------------------------------------------------------------
    def _template_of(self, pod: int | PodTemplate) -> tuple[int, str]:
        cluster = self.cluster
        if isinstance(pod, PodTemplate):
            return cluster.template_id(pod), "<template>"
        return int(cluster.pods.template[pod]), cluster.pods.names[pod]

    def feasible_nodes(self, pod: int | PodTemplate) -> IntArray:
        """Nodes that pass every filter for ``pod`` (a row or a template) right now."""
        plan = self.plan(self._template_of(pod)[0])
        mask = plan.static
        for plugin, prep in plan.dynamic:
            mask = mask & plugin.filter(prep, None)
        return np.flatnonzero(mask).astype(np.int64)

    def explain(self, pod: int | PodTemplate) -> Explanation:
        """Nodes removed by each filter and the score parts of the node that would win now.

        ``pod`` is a pod row or a template (registered if new). Binds nothing and draws no
        random numbers: among tied nodes the first in the scheduler's order is shown.
        """
        cluster = self.cluster
        tid, label = self._template_of(pod)
        plan = self.plan(tid)
        diagnosis = self._diagnose(plan)
        size = cluster.nodes.size
        feasible = int(np.count_nonzero(diagnosis.feasible))
        cands, _ = self._candidates(diagnosis.feasible, self.next_start)
        to_find = num_feasible_nodes_to_find(size, self.profile.percentage_of_nodes_to_score)
        explanation = Explanation(
            pod=label,
            nodes=size,
            removed_by=diagnosis.removed_by,
            reasons=dict(diagnosis.reasons),
            feasible=feasible,
            to_find=to_find,
            scored=0,
            node=None,
            score=None,
        )
        if not len(cands):
            explanation.message = diagnosis.message(size)
            return explanation
        if len(cands) == 1:  # kube-scheduler binds a lone feasible node without scoring
            explanation.node = cluster.nodes.names[int(cands[0])]
            explanation.tied_nodes = 1
            return explanation
        total, parts = self._scores(plan, cands)
        best = int(total.max())
        ties = np.flatnonzero(total == best)
        winner = int(ties[0])
        weights = dict(self.scorers_by_name())
        for name, (raw, norm) in parts.items():
            explanation.score_parts[name] = {
                "raw": int(raw[winner]),
                "normalised": int(norm[winner]),
                "weight": weights[name],
            }
        for name, value in plan.constants.items():
            explanation.score_parts[name] = {
                "raw": None,
                "normalised": value,
                "weight": weights[name],
            }
        constant = sum(value * weights[name] for name, value in plan.constants.items())
        explanation.scored = len(cands)
        explanation.node = cluster.nodes.names[int(cands[winner])]
        explanation.score = best + constant
        explanation.tied_nodes = len(ties)
        return explanation

    def scorers_by_name(self) -> list[tuple[str, int]]:
        return [(plugin.name, weight) for plugin, weight in self.scorers]
