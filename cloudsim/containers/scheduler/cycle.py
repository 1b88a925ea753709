"""kube-scheduler over a :class:`~cloudsim.containers.cluster.Cluster`: the scheduling cycle.

One scheduling cycle, as in Kubernetes: run the filters over every node (numpy masks, each
template's static part prepared once), take the first ``numFeasibleNodesToFind`` feasible
nodes in the scheduler's node order starting where the previous cycle stopped
(percentageOfNodesToScore), score those with every score plugin, normalise, weight, sum,
and pick the best, breaking ties at random from the seeded stream. A pod that fits nowhere
goes to the profile's PostFilter plugin (DefaultPreemption); if that does not help it stays
pending with the scheduler's diagnosis ("0/N nodes are available: …") recorded, never an
error. Pods wait in the scheduler's :class:`~cloudsim.containers.scheduler.queue.SchedulingQueue`.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.kernels import compiled
from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.pods import PENDING, PodTemplate
from cloudsim.containers.scheduler.explain import Explanation, Scores, diagnose, explanation
from cloudsim.containers.scheduler.framework import (
    PLUGINS,
    FilterPlugin,
    Plan,
    Plugin,
    PostFilterPlugin,
    Record,
    ScorePlugin,
)
from cloudsim.containers.scheduler.profile import Profile
from cloudsim.containers.scheduler.queue import SchedulingQueue, Unschedulable

MIN_FEASIBLE_NODES_TO_FIND = 100
#: Templates whose preparation a scheduler keeps (least recently used ones are dropped).
MAX_PLANS = 256
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


def num_feasible_nodes_to_find(nodes: int, percentage: int = 0) -> int:
    """kube-scheduler's ``numFeasibleNodesToFind``: all nodes below 100; otherwise
    ``percentage`` of them (0: adaptive, 50% minus 1% per 125 nodes, at least 5%), at least 100."""
    if nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return nodes
    if percentage <= 0:
        percentage = max(50 - nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(nodes * min(percentage, 100) // 100, MIN_FEASIBLE_NODES_TO_FIND)


class Scheduler:
    """Schedules the pods of one cluster with one profile; the tie-breaking stream is seeded."""

    def __init__(
        self,
        cluster: Cluster,
        profile: Profile | None = None,
        rng: np.random.Generator | None = None,
        record: Record | None = None,
    ) -> None:
        self.cluster = cluster
        self.profile = profile or Profile()
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.record = record
        p = self.profile
        names = list(dict.fromkeys([*p.filters, *(n for n, w in p.weights.items() if w)]))
        self.plugins: dict[str, Plugin] = {
            name: PLUGINS.get(name)(cluster, **dict(p.args.get(name, {}))) for name in names
        }
        self.filters: list[FilterPlugin] = [
            plugin for name in p.filters if isinstance(plugin := self.plugins[name], FilterPlugin)
        ]
        self.scorers: list[tuple[ScorePlugin, int]] = [
            (plugin, w)
            for name, w in p.weights.items()
            if w and isinstance(plugin := self.plugins[name], ScorePlugin)
        ]
        self.post_filter: PostFilterPlugin | None = None
        if p.preemption:
            post = PLUGINS.get(p.post_filter)
            assert issubclass(post, PostFilterPlugin)  # as the profile checked
            self.post_filter = post(cluster, self, **dict(p.args.get(p.post_filter, {})))
            self.plugins[p.post_filter] = self.post_filter
        self.queue = SchedulingQueue(cluster)
        self.next_start = 0
        self._plans: OrderedDict[int, Plan] = OrderedDict()
        self._uniform = self.rng.random(1024)
        self._drawn = 0
        self.attempts = 0
        self.preemptions = 0
        #: The compiled kernels (:mod:`cloudsim.containers.kernels`), None without numba.
        self._compiled = compiled()
        self._identity = np.zeros(0, dtype=np.int64)

    # -- the queue ---------------------------------------------------------------------
    @property
    def unschedulable(self) -> dict[int, Unschedulable]:
        """Pods waiting for a cluster event, by row, with why they are pending."""
        return self.queue.unschedulable

    def submit(
        self, template: PodTemplate, count: int = 1, *, name: str | None = None, time: float = 0.0
    ) -> list[int]:
        """Create ``count`` pods of ``template`` and queue them; returns their rows."""
        rows = []
        for k in range(count):
            label = None if name is None else (name if count == 1 else f"{name}-{k}")
            row = self.cluster.add_pod(template, label, time)
            self.queue.add(row)
            rows.append(row)
        return rows

    def enqueue(self, row: int) -> None:
        """Queue a pending pod (:meth:`SchedulingQueue.add`)."""
        self.queue.add(row)

    def forget(self, row: int) -> None:
        """A pod ended (:meth:`SchedulingQueue.forget`)."""
        self.queue.forget(row)

    def flush_due(self, max_age: float) -> float:
        """When the periodic flush is next due (:meth:`SchedulingQueue.flush_due`)."""
        return self.queue.flush_due(max_age)

    def requeue_stale(self, now: float, max_age: float) -> int:
        """The periodic flush (:meth:`SchedulingQueue.requeue_stale`)."""
        return self.queue.requeue_stale(now, max_age)

    def requeue_fitting(self, node: int) -> int:
        """Resources were freed on ``node`` (:meth:`SchedulingQueue.requeue_fitting`)."""
        return self.queue.requeue_fitting(node)

    def requeue_unschedulable(self) -> int:
        """A cluster event (:meth:`SchedulingQueue.requeue_all`)."""
        return self.queue.requeue_all()

    def schedule_pending(self, time: float = 0.0) -> int:
        """Run cycles until the active queue is empty; returns the number of pods bound."""
        bound = 0
        active = self.queue.active
        pods = self.cluster.pods
        while active:
            _, _, row, serial = heapq.heappop(active)
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
        cands, self.next_start = self._candidates(self._feasible(plan), self.next_start)
        if not len(cands):
            return self._unschedulable(row, tid, plan, time)
        node = int(cands[0]) if len(cands) == 1 else self._select(plan, cands)
        cluster.bind(row, node, time)
        if self.record is not None:
            self.record(time, "bind", pod=row, node=node)
        return node

    def plan(self, tid: int) -> Plan:
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
        plan = Plan(key, preps, static, dynamic, scores, constants)
        self._plans[tid] = plan
        self._plans.move_to_end(tid)
        if len(self._plans) > MAX_PLANS:  # bounded for replays with many distinct pods
            self._plans.popitem(last=False)
        return plan

    def _feasible(self, plan: Plan) -> BoolArray:
        """Nodes that pass every filter of ``plan`` now (the static ones' mask, then the
        others')."""
        mask = plan.static
        for plugin, prep in plan.dynamic:
            mask = mask & plugin.filter(prep, None)
        return mask

    def _candidates(self, mask: BoolArray, start: int) -> tuple[IntArray, int]:
        """:meth:`candidates_numpy` in one compiled call when numba is installed."""
        if self._compiled is None:
            return self.candidates_numpy(mask, start)
        n = len(mask)
        order = self.cluster.nodes.scan_order()
        if order is None:
            if len(self._identity) != n:
                self._identity = np.arange(n, dtype=np.int64)
            order = self._identity
        to_find = num_feasible_nodes_to_find(n, self.profile.percentage_of_nodes_to_score)
        nodes, start = self._compiled["candidates"](mask, order, start, to_find)
        return nodes, int(start)

    def candidates_numpy(self, mask: BoolArray, start: int) -> tuple[IntArray, int]:
        """The first numFeasibleNodesToFind feasible nodes from ``start`` in node order, and
        where the next cycle starts (kube-scheduler's ``nextStartNodeIndex``).

        kube-scheduler stops searching when it meets one feasible node more than it needs,
        and advances the start by the nodes it checked before that one (all nodes when
        there are not that many feasible ones). The reference of the compiled pass
        :meth:`_candidates` takes when numba is installed."""
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

    def _scores(self, plan: Plan, cands: IntArray) -> Scores:
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

    def _select(self, plan: Plan, cands: IntArray) -> int:
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
    def _unschedulable(self, row: int, tid: int, plan: Plan, time: float) -> int:
        diagnosis = diagnose(self.filters, plan, self.cluster.nodes.size)
        message = diagnosis.message(self.cluster.nodes.size)
        if self.post_filter is not None:
            node, post = self.post_filter.post_filter(row, tid, diagnosis, time)
            if node >= 0:
                self.preemptions += 1
                self.cluster.bind(row, node, time)
                if self.record is not None:
                    self.record(time, "bind", pod=row, node=node)
                return node
            message = f"{message} {post}"
        self.queue.mark(row, Unschedulable(message, dict(diagnosis.reasons), time))
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
        return np.flatnonzero(self._feasible(plan)).astype(np.int64)

    def explain(self, pod: int | PodTemplate) -> Explanation:
        """Nodes removed by each filter and the score parts of the node that would win now.

        ``pod`` is a pod row or a template (registered if new). Binds nothing and draws no
        random numbers: among tied nodes the first in the scheduler's order is shown.
        """
        nodes = self.cluster.nodes
        tid, label = self._template_of(pod)
        plan = self.plan(tid)
        diagnosis = diagnose(self.filters, plan, nodes.size)
        cands, _ = self._candidates(diagnosis.feasible, self.next_start)
        to_find = num_feasible_nodes_to_find(nodes.size, self.profile.percentage_of_nodes_to_score)
        scores = self._scores(plan, cands) if len(cands) > 1 else None
        weights = dict(self.scorers_by_name())
        return explanation(
            label, nodes.names, diagnosis, to_find, cands, scores, plan.constants, weights
        )

    def scorers_by_name(self) -> list[tuple[str, int]]:
        return [(plugin.name, weight) for plugin, weight in self.scorers]
