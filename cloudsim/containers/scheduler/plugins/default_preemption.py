"""DefaultPreemption: make room for a pod that fits nowhere by evicting lower-priority pods.

As kube-scheduler's PostFilter plugin: on each node where preemption might help (its first
failing filter is resolvable by removing pods), remove every lower-priority pod, check the
pod fits, then put back as many as possible, most important first and pods whose eviction
would violate a PodDisruptionBudget before the others. Among the nodes examined (from a
random offset, until enough candidates are found), pick the one with the fewest budget
violations, then the lowest highest victim priority, the smallest sum of priorities, the
fewest victims, the latest start of the most important victims, then the first found.
Budgets are respected when possible, not guaranteed, as Kubernetes documents.

The victims are evicted at once and the pod is bound to the chosen node (its nominated
node); a graceful-termination delay belongs to the controllers of a later stage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from cloudsim.containers.cluster import Cluster, PodDisruptionBudget
from cloudsim.containers.pods import PodPhase
from cloudsim.containers.scheduler.framework import (
    Diagnosis,
    Handle,
    PostFilterPlugin,
    fit_error,
    register_plugin,
)

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
#: Added to every priority when summing, so that negative priorities still add up (as k8s).
PRIORITY_OFFSET = 2**31


@dataclass
class Candidate:
    node: int
    victims: list[int]  # pod rows, most important first
    violations: int  # victims whose eviction violates a disruption budget


@register_plugin
class DefaultPreemption(PostFilterPlugin):
    """The PostFilter of kube-scheduler's default profile. Its arguments are
    DefaultPreemptionArgs: how many candidate nodes to find before choosing, as a share of
    the nodes where preemption might help and as a minimum number."""

    name = "DefaultPreemption"

    def __init__(
        self,
        cluster: Cluster,
        handle: Handle,
        min_candidate_nodes_percentage: int = 10,
        min_candidate_nodes_absolute: int = 100,
    ) -> None:
        super().__init__(cluster, handle)
        self.min_candidate_nodes_percentage = min_candidate_nodes_percentage
        self.min_candidate_nodes_absolute = min_candidate_nodes_absolute

    def _importance(self, row: int) -> tuple[int, float]:
        """Sort key: higher priority first, then the earlier started (MoreImportantPod)."""
        pods = self.cluster.pods
        return (-int(pods.priority[row]), float(pods.started[row]))

    def candidates_wanted(self, potential: int) -> int:
        wanted = potential * self.min_candidate_nodes_percentage // 100
        return min(max(wanted, self.min_candidate_nodes_absolute), potential)

    def post_filter(self, row: int, tid: int, diagnosis: Diagnosis, time: float) -> tuple[int, str]:
        """Evict victims and return the node the pod may now take, or -1 and why not."""
        handle = self.handle
        cluster = self.cluster
        template = cluster.templates[tid]
        if template.preemption_policy == "Never":
            return -1, "preemption: not eligible due to preemptionPolicy=Never."
        size = cluster.nodes.size
        order = cluster.nodes.scan_order()
        scan = np.arange(size, dtype=np.int64) if order is None else order
        potential = scan[diagnosis.resolvable[scan]]
        reasons: Counter[str] = Counter()
        reasons[NOT_HELPFUL] = size - len(potential)
        found: list[Candidate] = []
        if len(potential):
            offset = handle.draw(len(potential))
            wanted = self.candidates_wanted(len(potential))
            pods = cluster.pods
            bound = pods.phase[: pods.size] == PodPhase.BOUND
            lower = bound & (pods.priority[: pods.size] < template.priority)
            has_lower = np.zeros(size, dtype=np.bool_)
            has_lower[pods.node[: pods.size][lower]] = True
            budgets = (
                [(pdb, cluster.disruptions_allowed(pdb)) for pdb in cluster.pdbs]
                if has_lower.any()
                else []
            )
            clean = 0
            for i in range(len(potential)):
                node = int(potential[(offset + i) % len(potential)])
                if not has_lower[node]:  # what _select_victims would find, quickly
                    reasons[NO_VICTIMS] += 1
                    continue
                candidate = self._select_victims(tid, node, budgets, reasons)
                if candidate is None:
                    continue
                found.append(candidate)
                clean += candidate.violations == 0
                if clean and len(found) >= wanted:
                    break
        if not found:
            return -1, f"preemption: {fit_error(size, reasons)}"
        found.sort(key=lambda c: c.violations > 0)  # non-violating candidates first, stably
        best = self.pick_one(found)
        for victim in best.victims:
            cluster.delete(victim, PodPhase.PREEMPTED)
            if handle.record is not None:
                handle.record(time, "preempt", pod=victim, node=best.node, by=row)
        if handle.feasible_on(tid, best.node):
            return best.node, ""
        return -1, f"preemption: victims evicted from {cluster.nodes.names[best.node]}."

    def _select_victims(
        self,
        tid: int,
        node: int,
        budgets: list[tuple[PodDisruptionBudget, int]],
        reasons: Counter[str],
    ) -> Candidate | None:
        """``SelectVictimsOnNode``: the fewest, least important pods to remove from ``node``."""
        handle = self.handle
        cluster = self.cluster
        pods = cluster.pods
        priority = cluster.templates[tid].priority
        lower = [int(p) for p in cluster.pods_on(node) if pods.priority[p] < priority]
        if not lower:
            reasons[NO_VICTIMS] += 1
            return None
        held = {p: (int(pods.devices[p]), float(pods.started[p])) for p in lower}
        off: set[int] = set()

        def put_back(p: int) -> None:
            devices, started = held[p]
            cluster.bind(p, node, started, devices)
            off.discard(p)

        def take_off(p: int) -> None:
            cluster.unbind(p)
            off.add(p)

        try:
            for p in lower:
                take_off(p)
            if not handle.feasible_on(tid, node):
                reasons[self._first_failure(tid, node)] += 1
                return None
            lower.sort(key=self._importance)
            violating, non_violating = self._split_by_budget(lower, budgets)
            victims: list[int] = []
            violations = 0
            for group, violates in ((violating, True), (non_violating, False)):
                for p in group:
                    put_back(p)
                    if not handle.feasible_on(tid, node):
                        take_off(p)
                        victims.append(p)
                        violations += violates
            if not victims:  # fits with everything back: not a preemption candidate
                reasons[NO_VICTIMS] += 1
                return None
            if violating and non_violating:
                victims.sort(key=self._importance)
            return Candidate(node, victims, violations)
        finally:
            for p in sorted(off):
                put_back(p)

    def _first_failure(self, tid: int, node: int) -> str:
        handle = self.handle
        plan = handle.plan(tid)
        for plugin in handle.filters:
            prep = plan.preps[plugin.name]
            if prep is None:
                continue
            for failure in plugin.failures(prep):
                if failure.nodes[node]:
                    return failure.reason
        return NO_VICTIMS

    def _split_by_budget(
        self, rows: list[int], budgets: list[tuple[PodDisruptionBudget, int]]
    ) -> tuple[list[int], list[int]]:
        """``filterPodsWithPDBViolation``: pods whose eviction would take a budget below 0."""
        cluster = self.cluster
        allowed = [count for _, count in budgets]
        violating: list[int] = []
        fine: list[int] = []
        for row in rows:
            template = cluster.templates[int(cluster.pods.template[row])]
            violated = False
            for i, (pdb, _) in enumerate(budgets):
                if pdb.selects(template):
                    allowed[i] -= 1
                    violated |= allowed[i] < 0
            (violating if violated else fine).append(row)
        return violating, fine

    def pick_one(self, candidates: list[Candidate]) -> Candidate:
        """``pickOneNodeForPreemption``: each criterion keeps only the best; first wins ties."""
        pods = self.cluster.pods

        def top_priority(c: Candidate) -> int:
            return int(pods.priority[c.victims[0]])

        def latest_start(c: Candidate) -> float:
            top = top_priority(c)
            return min(float(pods.started[v]) for v in c.victims if pods.priority[v] == top)

        criteria = (
            lambda c: -c.violations,
            lambda c: -top_priority(c),
            lambda c: -sum(int(pods.priority[v]) + PRIORITY_OFFSET for v in c.victims),
            lambda c: -len(c.victims),
            latest_start,
        )
        remaining = candidates
        for criterion in criteria:
            scores = [criterion(c) for c in remaining]
            best = max(scores)
            remaining = [c for c, s in zip(remaining, scores, strict=True) if s == best]
            if len(remaining) == 1:
                break
        return remaining[0]
