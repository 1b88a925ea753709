"""Pod scheduling throughput at 5,000 nodes: the vectorised scheduler against a plain-Python
reference of the same plugins, on the workloads of Kubernetes' scheduler_perf suite.

Run from the repository root::

    python benchmarks/scheduler.py [--json PATH] [--nodes 5000] [--repeats 5] [--verify 200]

Workloads (test/integration/scheduler_perf/config/performance-config.yaml, 5000Nodes):

* ``basic`` (SchedulingBasic): 1,000 pods already placed, 1,000 measured; pods request
  100m CPU and 500Mi, nodes have 4 CPU, 32Gi and 110 pod slots (scheduler_perf's node).
* ``anti-affinity`` (SchedulingPodAntiAffinity): 1,000 placed, 1,000 measured, every pod
  labelled ``color: green`` with a required anti-affinity to ``color: green`` on
  ``kubernetes.io/hostname``. Here all pods share a namespace, so the term really bites
  (2,000 pods on 2,000 distinct nodes); scheduler_perf's own template names namespaces its
  pods are not in.
* ``spread`` (TopologySpreading): nodes labelled ``topology.kubernetes.io/zone`` with
  moon-1..3 (drawn at random, as scheduler_perf's label strategy does), 5,000 plain pods
  placed, 2,000 measured with ``maxSkew: 5``, DoNotSchedule, on zone.

Both schedulers run kube-scheduler's default profile (filters NodeUnschedulable,
TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread, InterPodAffinity;
scores with the default weights) and its adaptive percentageOfNodesToScore (10 % at 5,000
nodes) with the rotating start index. Before the figures are trusted, the first
``--verify`` measured pods are scheduled in lock step: for each pod the reference computes
its candidate nodes and their scores on the same state, the vectorised scheduler decides,
and the node it chose must be one the reference scores highest, with the same next start
index; the reference then binds the same node. The reference's rate is its time on those
pods. The vectorised rate is the best (and median) of ``--repeats`` fresh runs, timed from
submitting the measured pods to the last binding.

Targets: 100x scheduler_perf's CI floors (270, 60 and 85 pods/s) on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, write_json  # noqa: E402
from cloudsim.containers import (  # noqa: E402
    Cluster,
    LabelSelector,
    NodeGroup,
    NodeTable,
    PodAffinityTerm,
    PodTemplate,
    Profile,
    Scheduler,
    TopologySpreadConstraint,
)
from cloudsim.containers.nodes import HOSTNAME, ZONE, capacity_columns  # noqa: E402
from cloudsim.containers.scheduler import num_feasible_nodes_to_find  # noqa: E402

SEED = 20260101
TARGETS = {"basic": 27_000.0, "anti-affinity": 6_000.0, "spread": 8_500.0}
CI_FLOORS = {"basic": 270.0, "anti-affinity": 60.0, "spread": 85.0}
NODE_CPU, NODE_MEMORY, NODE_PODS = 4000, 32 * 1024, 110
ZONES = ("moon-1", "moon-2", "moon-3")


# -- workloads -------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    name: str
    init: PodTemplate
    init_count: int
    measured: PodTemplate
    measured_count: int
    zones: bool


def workloads(nodes: int) -> list[Workload]:
    plain = PodTemplate(cpu=100, memory=500)
    green = PodTemplate.make(
        labels={"color": "green"},
        cpu=100,
        memory=500,
        required_anti_affinity=(PodAffinityTerm(LabelSelector.of({"color": "green"}), HOSTNAME),),
    )
    blue = PodTemplate.make(
        labels={"color": "blue"},
        cpu=100,
        memory=500,
        topology_spread=(
            TopologySpreadConstraint(5, ZONE, "DoNotSchedule", LabelSelector.of({"color": "blue"})),
        ),
    )
    scale = nodes / 5000
    return [
        Workload("basic", plain, round(1000 * scale), plain, round(1000 * scale), False),
        Workload("anti-affinity", green, round(1000 * scale), green, round(1000 * scale), False),
        Workload("spread", plain, round(5000 * scale), blue, round(2000 * scale), True),
    ]


def node_zones(nodes: int) -> list[str]:
    rng = np.random.default_rng(SEED)
    return [ZONES[i] for i in rng.integers(len(ZONES), size=nodes)]


def build_cluster(nodes: int, zones: bool) -> Cluster:
    group = NodeGroup(
        [f"node-{i:05d}" for i in range(nodes)],
        capacity_columns(nodes, NODE_CPU, NODE_MEMORY, pods=NODE_PODS),
    )
    if zones:
        group.labels[ZONE] = list(node_zones(nodes))
    return Cluster(NodeTable(group))


# -- the plain-Python reference --------------------------------------------------------
@dataclass
class RefPod:
    labels: dict[str, str]
    namespace: str
    cpu: int
    memory: int
    anti: list[tuple[dict[str, str], str]]  # required anti-affinity: (matchLabels, key)
    spread: list[tuple[int, str, dict[str, str]]]  # DoNotSchedule: (maxSkew, key, matchLabels)

    @classmethod
    def of(cls, t: PodTemplate) -> RefPod:
        return cls(
            dict(t.labels),
            t.namespace,
            t.cpu,
            t.memory,
            [
                (dict(a.label_selector.match_labels), a.topology_key)
                for a in t.required_anti_affinity
                if a.label_selector
            ],
            [
                (c.max_skew, c.topology_key, dict(c.label_selector.match_labels))
                for c in t.topology_spread
                if c.label_selector is not None
            ],
        )


@dataclass
class RefNode:
    name: str
    labels: dict[str, str]
    cpu: int
    memory: int
    max_pods: int
    requested_cpu: int = 0
    requested_memory: int = 0
    pods: list[RefPod] = field(default_factory=list)


def _selects(selector: dict[str, str], pod: RefPod) -> bool:
    return all(pod.labels.get(k) == v for k, v in selector.items())


class ReferenceScheduler:
    """kube-scheduler's cycle for these workloads with dicts and loops, as its Go code does:
    PreFilter counts over all nodes' pods, Filter per node, Score per candidate."""

    def __init__(self, nodes: list[RefNode]) -> None:
        self.nodes = nodes
        self.next_start = 0
        zones: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):  # the node tree: round-robin over zones
            zones.setdefault(node.labels.get(ZONE, ""), []).append(i)
        self.order: list[int] = []
        depth = 0
        while len(self.order) < len(nodes):
            for members in zones.values():
                if depth < len(members):
                    self.order.append(members[depth])
            depth += 1

    def prefilter(self, pod: RefPod) -> dict[str, Any]:
        anti: dict[tuple[str, str], int] = {}
        existing: dict[tuple[str, str], int] = {}
        for node in self.nodes:
            for other in node.pods:
                for selector, key in pod.anti:
                    if key in node.labels and _selects(selector, other):
                        pair = (key, node.labels[key])
                        anti[pair] = anti.get(pair, 0) + 1
                for selector, key in other.anti:
                    if key in node.labels and _selects(selector, pod):
                        pair = (key, node.labels[key])
                        existing[pair] = existing.get(pair, 0) + 1
        spread = []
        for max_skew, key, selector in pod.spread:
            counts: dict[str, int] = {}
            for node in self.nodes:
                if key in node.labels:
                    value = node.labels[key]
                    counts[value] = counts.get(value, 0) + sum(
                        1
                        for p in node.pods
                        if p.namespace == pod.namespace and _selects(selector, p)
                    )
            low = min(counts.values()) if counts else 2**31 - 1
            spread.append((max_skew, key, counts, low, int(_selects(selector, pod))))
        return {"anti": anti, "existing": existing, "spread": spread}

    def fits(self, pod: RefPod, state: dict[str, Any], node: RefNode) -> bool:
        if len(node.pods) + 1 > node.max_pods:
            return False
        if (
            pod.cpu > node.cpu - node.requested_cpu
            or pod.memory > node.memory - node.requested_memory
        ):
            return False
        for max_skew, key, counts, low, self_match in state["spread"]:
            if key not in node.labels:
                return False
            if counts.get(node.labels[key], 0) + self_match - low > max_skew:
                return False
        if state["anti"]:
            for _, key in pod.anti:
                if key in node.labels and state["anti"].get((key, node.labels[key]), 0) > 0:
                    return False
        if state["existing"]:
            for pair in node.labels.items():
                if state["existing"].get(pair, 0) > 0:
                    return False
        return True

    def score(self, pod: RefPod, node: RefNode) -> int:
        """LeastAllocated + BalancedAllocation (weights 1) + TaintToleration 100 (weight 3)."""
        cpu = node.requested_cpu + (pod.cpu or 100)
        memory = node.requested_memory + (pod.memory or 200)
        least_cpu = 0 if cpu > node.cpu else (node.cpu - cpu) * 100 // node.cpu
        least_memory = 0 if memory > node.memory else (node.memory - memory) * 100 // node.memory
        fit = (least_cpu + least_memory) // 2
        f_cpu = min((node.requested_cpu + pod.cpu) / node.cpu, 1.0)
        f_memory = min((node.requested_memory + pod.memory) / node.memory, 1.0)
        balanced = int((1 - abs((f_cpu - f_memory) / 2)) * 100)
        return fit + balanced + 3 * 100

    def cycle(self, pod: RefPod) -> tuple[list[int], dict[int, int], int]:
        """Candidate nodes, their scores and the next start index (state unchanged)."""
        state = self.prefilter(pod)
        n = len(self.nodes)
        want = num_feasible_nodes_to_find(n)
        feasible: list[int] = []
        processed = n
        for i in range(n):
            index = self.order[(self.next_start + i) % n]
            if self.fits(pod, state, self.nodes[index]):
                if len(feasible) == want:  # one more than needed: the search stops here
                    processed = i
                    break
                feasible.append(index)
        scores = {i: self.score(pod, self.nodes[i]) for i in feasible} if len(feasible) > 1 else {}
        return feasible, scores, (self.next_start + processed) % n

    def bind(self, pod: RefPod, index: int) -> None:
        node = self.nodes[index]
        node.pods.append(pod)
        node.requested_cpu += pod.cpu
        node.requested_memory += pod.memory


def reference_nodes(cluster: Cluster) -> list[RefNode]:
    table = cluster.nodes
    return [
        RefNode(
            table.names[i],
            table.labels.of(i),
            int(table.allocatable[0, i]),
            int(table.allocatable[1, i]),
            int(table.allocatable[2, i]),
        )
        for i in range(table.size)
    ]


# -- runs --------------------------------------------------------------------------------
def prepared(workload: Workload, nodes: int, seed: int) -> Scheduler:
    cluster = build_cluster(nodes, workload.zones)
    scheduler = Scheduler(cluster, Profile(), rng=np.random.default_rng(seed))
    scheduler.submit(workload.init, workload.init_count)
    scheduler.schedule_pending()
    return scheduler


def time_vectorised(workload: Workload, nodes: int, seed: int) -> tuple[float, int]:
    scheduler = prepared(workload, nodes, seed)
    start = time.perf_counter()
    scheduler.submit(workload.measured, workload.measured_count)
    bound = scheduler.schedule_pending()
    elapsed = time.perf_counter() - start
    scheduler.cluster.check()
    return workload.measured_count / elapsed, bound


def verify(workload: Workload, nodes: int, pods: int) -> tuple[int, float]:
    """Lock step on the first ``pods`` measured pods; returns (pods verified, reference pods/s)."""
    scheduler = prepared(workload, nodes, SEED)
    cluster = scheduler.cluster
    reference = ReferenceScheduler(reference_nodes(cluster))
    init = RefPod.of(workload.init)
    for row in range(cluster.pods.size):
        reference.bind(init, int(cluster.pods.node[row]))
    reference.next_start = scheduler.next_start
    measured = RefPod.of(workload.measured)
    spent = 0.0
    for k in range(pods):
        start = time.perf_counter()
        feasible, scores, next_start = reference.cycle(measured)
        spent += time.perf_counter() - start
        row = scheduler.submit(workload.measured)[0]
        scheduler.schedule_pending()
        node = int(cluster.pods.node[row])
        if not feasible:
            assert node < 0, f"pod {k}: reference finds no node, the scheduler chose {node}"
            continue
        assert node in feasible, f"pod {k}: node {node} is not among the reference's candidates"
        if scores:
            best = max(scores.values())
            assert scores[node] == best, f"pod {k}: node {node} scores {scores[node]} < {best}"
        assert scheduler.next_start == next_start, f"pod {k}: next start index differs"
        start = time.perf_counter()
        reference.next_start = next_start
        reference.bind(measured, node)
        spent += time.perf_counter() - start
    return pods, pods / spent


@dataclass
class Result:
    name: str
    nodes: int
    measured: int
    bound: int
    rates: list[float]
    verified: int
    reference_rate: float

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def to_dict(self) -> dict[str, Any]:
        target = TARGETS[self.name]
        return {
            "nodes": self.nodes,
            "measured_pods": self.measured,
            "bound": self.bound,
            "pods_per_s_best": round(self.best, 1),
            "pods_per_s_median": round(self.median, 1),
            "pods_per_s_runs": [round(r, 1) for r in self.rates],
            "reference_pods_per_s": round(self.reference_rate, 2),
            "speedup_vs_reference": round(self.best / self.reference_rate, 1),
            "target_pods_per_s": target,
            "ratio_to_target": round(self.best / target, 3),
            "scheduler_perf_ci_floor": CI_FLOORS[self.name],
            "times_ci_floor": round(self.best / CI_FLOORS[self.name], 1),
            "met": self.best >= target,
            "verified_pods": self.verified,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5, help="vectorised runs per workload")
    parser.add_argument("--verify", type=int, default=200, help="pods run in lock step")
    parser.add_argument("--only", default="", help="comma-separated workload names")
    args = parser.parse_args(argv)
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    results = []
    for workload in workloads(args.nodes):
        if wanted and workload.name not in wanted:
            continue
        verified, reference_rate = verify(
            workload, args.nodes, min(args.verify, workload.measured_count)
        )
        rates = []
        bound = 0
        for k in range(args.repeats):
            rate, bound = time_vectorised(workload, args.nodes, SEED + k)
            rates.append(rate)
        results.append(
            Result(
                workload.name,
                args.nodes,
                workload.measured_count,
                bound,
                rates,
                verified,
                reference_rate,
            )
        )
        print(f"  done {workload.name}", file=sys.stderr, flush=True)

    print(
        f"scheduler: {args.nodes} nodes, kube-scheduler default profile, best of {args.repeats} "
        f"runs; reference = plain Python, same plugins, in lock step on {args.verify} pods"
    )
    print(
        f"{'workload':<14} {'pods':>5} {'pods/s':>9} {'median':>9} {'reference':>10} "
        f"{'speedup':>8} {'target':>8} {'ratio':>6} {'met':>4}"
    )
    for r in results:
        d = r.to_dict()
        print(
            f"{r.name:<14} {r.measured:>5} {r.best:>9,.0f} {r.median:>9,.0f} "
            f"{r.reference_rate:>10,.1f} {d['speedup_vs_reference']:>7,.0f}x "
            f"{d['target_pods_per_s']:>8,.0f} {d['ratio_to_target']:>6.2f} "
            f"{'yes' if d['met'] else 'NO':>4}"
        )
    print(
        "  verified: on the first measured pods the vectorised scheduler chose a node the "
        "reference scores highest, with the same next start index"
    )
    if args.json is not None:
        payload = {
            "benchmark": "scheduler",
            "seed": SEED,
            "machine": machine(),
            "workloads": {r.name: r.to_dict() for r in results},
        }
        write_json(args.json, payload)
    return 0 if all(r.best >= TARGETS[r.name] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
