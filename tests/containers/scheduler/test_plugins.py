"""Each scheduler plugin against the behaviour Kubernetes documents, on hand-built clusters.

Expected scores are worked out as kube-scheduler computes them (integer arithmetic), the
numbers taken from its own unit tests where those exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from cloudsim.containers import (
    PLUGINS,
    Cluster,
    FilterPlugin,
    NodeSelectorTerm,
    PodAffinityTerm,
    PodTemplate,
    PreferredSchedulingTerm,
    Profile,
    Requirement,
    Taint,
    Toleration,
    TopologySpreadConstraint,
    WeightedPodAffinityTerm,
    register_plugin,
)
from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.nodes import HOSTNAME, TAINT_UNSCHEDULABLE, ZONE, NodeTable
from cloudsim.containers.scheduler import (
    Diagnosis,
    Handle,
    Plugin,
    PostFilterPlugin,
    num_feasible_nodes_to_find,
)
from cloudsim.containers.scheduler.plugins import DefaultPreemption
from tests.containers.scheduler.fixtures import (
    bind_to,
    cluster,
    labelled,
    names,
    node,
    placed_on,
    scheduler,
    sel,
    zone_counts,
)

ONLY_FIT = {"NodeResourcesFit": 1}


# -- NodeResourcesFit ----------------------------------------------------------------------
def test_fit_filter_reports_every_insufficient_resource_like_kube_scheduler() -> None:
    c = cluster(
        node("a", cpu=1000, memory=1000),
        node("b", cpu=4000, memory=1000),
        node("c", cpu=4000, memory=8000, pods=1),
    )
    bind_to(c, PodTemplate(), "c")  # c's only pod slot is taken
    s = scheduler(c, preemption=False)
    row = s.submit(PodTemplate(cpu=2000, memory=2000))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == [None]
    assert s.unschedulable[row].message == (
        "0/3 nodes are available: 1 Insufficient cpu, 1 Too many pods, 2 Insufficient memory."
    )


def _two_nodes_scores(strategy: str) -> tuple[int, int]:
    # kube-scheduler's test "nothing scheduled, resources requested, differently sized nodes"
    c = cluster(node("n1", cpu=4000, memory=10000), node("n2", cpu=6000, memory=10000))
    s = scheduler(
        c, weights={"NodeResourcesFit": 1}, args={"NodeResourcesFit": {"strategy": strategy}}
    )
    fit = s.plugins["NodeResourcesFit"]
    pod = PodTemplate(cpu=3000, memory=5000)
    prep = fit.prescore(c.template_id(pod))  # type: ignore[attr-defined]
    scores = fit.score(prep, np.array([0, 1]))  # type: ignore[attr-defined]
    return int(scores[0]), int(scores[1])


def test_least_allocated_scores() -> None:
    # cpu (4000-3000)*100/4000 = 25, memory 50 -> 37; n2: 50, 50 -> 50
    assert _two_nodes_scores("LeastAllocated") == (37, 50)


def test_most_allocated_scores() -> None:
    # cpu 3000*100/4000 = 75, memory 50 -> 62; n2: 50, 50 -> 50
    assert _two_nodes_scores("MostAllocated") == (62, 50)


def test_balanced_allocation_scores() -> None:
    # n1: fractions 0.75 and 0.5, std 0.125 -> 87; n2: 0.5 and 0.5 -> 100
    c = cluster(node("n1", cpu=4000, memory=10000), node("n2", cpu=6000, memory=10000))
    s = scheduler(c, weights={"NodeResourcesBalancedAllocation": 1})
    explanation = s.explain(PodTemplate(cpu=3000, memory=5000))
    assert explanation.node == "n2"
    assert explanation.score_parts["NodeResourcesBalancedAllocation"]["raw"] == 100
    plugin = s.plugins["NodeResourcesBalancedAllocation"]
    prep = plugin.prescore(c.template_id(PodTemplate(cpu=3000, memory=5000)))  # type: ignore[attr-defined]
    assert plugin.score(prep, np.array([0, 1])).tolist() == [87, 100]  # type: ignore[attr-defined]


def test_scoring_counts_default_requests_for_pods_that_request_nothing() -> None:
    # NonZeroRequested: a pod without requests counts as 100m CPU and 200 MiB for scoring
    c = cluster(node("n1", cpu=1000, memory=1000), node("n2", cpu=1000, memory=1000))
    bind_to(c, PodTemplate(), "n1", count=3)  # 300m and 600 MiB by the defaults
    s = scheduler(c, weights=ONLY_FIT)
    explanation = s.explain(PodTemplate())
    assert explanation.node == "n2"
    # n2 with the pod: cpu (1000-100)*100/1000 = 90, memory (1000-200)*100/1000 = 80 -> 85
    assert explanation.score_parts["NodeResourcesFit"]["raw"] == 85


def test_requested_to_capacity_ratio_shape_scores_as_documented() -> None:
    # The worked example of the Kubernetes "Resource Bin Packing" page, on the 0..100 scale
    # of current kube-scheduler: shape {0: 0, 100: 10}, weights gpu 5, memory 1, cpu 3.
    c = cluster(
        node("node1", cpu=8000, memory=1024, gpus=4), node("node2", cpu=8000, memory=1024, gpus=8)
    )
    bind_to(c, PodTemplate(cpu=1000, memory=256, gpu=1), "node1")
    bind_to(c, PodTemplate(cpu=6000, memory=512, gpu=2), "node2")
    args = {
        "strategy": "RequestedToCapacityRatio",
        "resources": {"gpu": 5, "memory": 1, "cpu": 3},
        "shape": [(0, 0), (100, 10)],
    }
    s = scheduler(c, weights=ONLY_FIT, args={"NodeResourcesFit": args})
    fit = s.plugins["NodeResourcesFit"]
    pod = PodTemplate(cpu=2000, memory=256, gpu=2)
    prep = fit.prescore(c.template_id(pod))  # type: ignore[attr-defined]
    # node1: gpu 3/4 -> 75, memory 512/1024 -> 50, cpu 3000/8000 -> 37:
    #        round((75*5 + 50*1 + 37*3) / 9) = round(59.6) = 60
    # node2: gpu 4/8 -> 50, memory 768/1024 -> 75, cpu 8000/8000 -> 100:
    #        round((50*5 + 75*1 + 100*3) / 9) = round(69.4) = 69
    assert fit.score(prep, np.array([0, 1])).tolist() == [60, 69]  # type: ignore[attr-defined]
    assert s.explain(pod).node == "node2"


def test_requested_to_capacity_ratio_falling_shape_spreads() -> None:
    # shape {0: 10, 100: 0} is LeastAllocated-like: the emptier node wins
    c = cluster(node("busy"), node("idle"))
    bind_to(c, PodTemplate(cpu=2000, memory=2048), "busy")
    args = {"strategy": "RequestedToCapacityRatio", "shape": [(0, 10), (100, 0)]}
    s = scheduler(c, weights=ONLY_FIT, args={"NodeResourcesFit": args})
    assert s.explain(PodTemplate(cpu=500, memory=512)).node == "idle"


# -- GPUs: whole devices and milli-GPU shares ------------------------------------------
def test_gpu_shares_go_best_fit_and_whole_gpus_need_free_devices() -> None:
    c = cluster(
        node("g", cpu=64000, memory=65536, gpus=2), node("cpu-only", cpu=64000, memory=65536)
    )
    s = scheduler(c, preemption=False)
    a, b, d = (s.submit(PodTemplate(cpu=100, memory=100, gpu_milli=m))[0] for m in (600, 300, 500))
    whole = s.submit(PodTemplate(cpu=100, memory=100, gpu=1))[0]
    s.schedule_pending()
    assert placed_on(s, [a, b, d]) == ["g", "g", "g"]
    assert [int(c.pods.devices[r]) for r in (a, b, d)] == [0b01, 0b01, 0b10]  # 300 fits best on 0
    assert c.nodes.gpu_free[:, 0].tolist() == [100, 500]
    assert placed_on(s, [whole]) == [None]
    assert "Insufficient nvidia.com/gpu" in s.unschedulable[whole].message
    c.delete(b)
    c.delete(a)
    s.requeue_unschedulable()
    s.schedule_pending()
    assert placed_on(s, [whole]) == ["g"] and int(c.pods.devices[whole]) == 0b01
    c.check()


def test_gpu_share_needs_one_device_with_enough_free() -> None:
    c = cluster(node("g", gpus=2))
    s = scheduler(c, preemption=False)
    rows = s.submit(PodTemplate(gpu_milli=600), count=3)
    s.schedule_pending()
    assert placed_on(s, rows) == ["g", "g", None]  # 400 + 400 free, on two devices
    assert "Insufficient gpu share" in s.unschedulable[rows[2]].message


# -- TaintToleration and NodeUnschedulable ---------------------------------------------
GPU_TAINT = Taint("dedicated", "gpu", "NoSchedule")


@pytest.mark.parametrize(
    ("tolerations", "allowed"),
    [
        ((), False),
        ((Toleration("dedicated", "Equal", "gpu", "NoSchedule"),), True),
        ((Toleration("dedicated", "Equal", "cpu", "NoSchedule"),), False),
        ((Toleration("dedicated", "Exists"),), True),
        ((Toleration("dedicated", "Exists", effect="NoExecute"),), False),
        ((Toleration(operator="Exists"),), True),
    ],
)
def test_taints_need_a_matching_toleration(
    tolerations: tuple[Toleration, ...], allowed: bool
) -> None:
    c = cluster(node("tainted", taints=[GPU_TAINT]), node("plain"))
    s = scheduler(c)
    expected = {"tainted", "plain"} if allowed else {"plain"}
    assert names(s, PodTemplate(tolerations=tolerations)) == expected


def test_untolerated_taint_is_the_reason() -> None:
    c = cluster(node("a", taints=[GPU_TAINT]), node("b", taints=[Taint("x", "", "NoExecute")]))
    s = scheduler(c)
    row = s.submit(PodTemplate())[0]
    s.schedule_pending()
    assert s.unschedulable[row].message.startswith(
        "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "1 node(s) had untolerated taint {x: }."
    )
    assert "Preemption is not helpful" in s.unschedulable[row].message


def test_prefer_no_schedule_taints_are_scored_in_reverse() -> None:
    soft = [Taint("a", "", "PreferNoSchedule"), Taint("b", "", "PreferNoSchedule")]
    c = cluster(node("two", taints=soft), node("one", taints=soft[:1]), node("none"))
    s = scheduler(c, weights={"TaintToleration": 1})
    plugin = s.plugins["TaintToleration"]
    prep = plugin.prescore(c.template_id(PodTemplate()))  # type: ignore[attr-defined]
    raw = plugin.score(prep, np.array([0, 1, 2]))  # type: ignore[attr-defined]
    assert raw.tolist() == [2, 1, 0]
    assert plugin.normalize(prep, raw).tolist() == [0, 50, 100]  # type: ignore[attr-defined]
    assert s.explain(PodTemplate()).node == "none"
    tolerant = PodTemplate(tolerations=(Toleration("a", "Exists", effect="PreferNoSchedule"),))
    prep = plugin.prescore(c.template_id(tolerant))  # type: ignore[attr-defined]
    assert plugin.score(prep, np.array([0, 1, 2])).tolist() == [1, 0, 0]  # type: ignore[attr-defined]


def test_cordoned_and_not_ready_nodes_take_no_new_pods() -> None:
    c = cluster(node("cordoned", unschedulable=True), node("down"), node("up"))
    c.nodes.set_ready([1], False)
    s = scheduler(c)
    assert names(s, PodTemplate()) == {"up"}
    ignores = PodTemplate(tolerations=(Toleration(TAINT_UNSCHEDULABLE, "Exists"),))
    assert names(s, ignores) == {"cordoned", "up"}
    row = s.submit(PodTemplate(cpu=5000))[0]
    s.schedule_pending()
    assert s.unschedulable[row].reasons == {
        "node(s) were unschedulable": 1,
        "node(s) had untolerated taint {node.kubernetes.io/not-ready: }": 1,
        "Insufficient cpu": 1,
    }
    c.nodes.set_ready([1], True)
    assert names(s, PodTemplate()) == {"down", "up"}


# -- NodeAffinity --------------------------------------------------------------------------
AFFINITY_NODES = (
    node("n1", labels={"disk": "ssd", "gen": "3"}),
    node("n2", labels={"disk": "hdd", "gen": "5"}),
    node("n3", labels={"gen": "x"}),
    node("n4"),
)


def _required(*terms: tuple[Requirement, ...]) -> PodTemplate:
    return PodTemplate(required_node_affinity=tuple(NodeSelectorTerm(t) for t in terms))


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        (Requirement("disk", "In", ("ssd",)), {"n1"}),
        (Requirement("disk", "In", ("ssd", "hdd")), {"n1", "n2"}),
        (Requirement("disk", "NotIn", ("ssd",)), {"n2", "n3", "n4"}),  # absent label: NotIn
        (Requirement("disk", "Exists"), {"n1", "n2"}),
        (Requirement("disk", "DoesNotExist"), {"n3", "n4"}),
        (Requirement("gen", "Gt", ("4",)), {"n2"}),  # "x" is no integer: no match
        (Requirement("gen", "Lt", ("4",)), {"n1"}),
        (Requirement("disk", "In", ("nvme",)), set()),
    ],
)
def test_node_affinity_operators(requirement: Requirement, expected: set[str]) -> None:
    s = scheduler(cluster(*AFFINITY_NODES))
    assert names(s, _required((requirement,))) == expected


def test_node_selector_terms_are_ored_and_requirements_anded() -> None:
    s = scheduler(cluster(*AFFINITY_NODES))
    ssd, new = Requirement("disk", "In", ("ssd",)), Requirement("gen", "Gt", ("4",))
    assert names(s, _required((ssd,), (new,))) == {"n1", "n2"}
    assert names(s, _required((ssd, new))) == set()
    assert names(s, PodTemplate.make(node_selector={"disk": "hdd"})) == {"n2"}
    assert names(s, PodTemplate(required_node_affinity=(NodeSelectorTerm(),))) == set()


def test_node_affinity_failure_is_unresolvable() -> None:
    c = cluster(*AFFINITY_NODES)
    s = scheduler(c)
    row = s.submit(_required((Requirement("disk", "In", ("nvme",)),)))[0]
    s.schedule_pending()
    assert s.unschedulable[row].message == (
        "0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    )


def test_preferred_node_affinity_weights_are_normalised_by_the_maximum() -> None:
    c = cluster(*AFFINITY_NODES)
    s = scheduler(c, weights={"NodeAffinity": 1})
    pod = PodTemplate(
        preferred_node_affinity=(
            PreferredSchedulingTerm(80, NodeSelectorTerm((Requirement("disk", "In", ("ssd",)),))),
            PreferredSchedulingTerm(20, NodeSelectorTerm((Requirement("gen", "Gt", ("4",)),))),
        )
    )
    plugin = s.plugins["NodeAffinity"]
    prep = plugin.prescore(c.template_id(pod))  # type: ignore[attr-defined]
    raw = plugin.score(prep, np.arange(4))  # type: ignore[attr-defined]
    assert raw.tolist() == [80, 20, 0, 0]
    assert plugin.normalize(prep, raw).tolist() == [100, 25, 0, 0]  # type: ignore[attr-defined]
    assert s.explain(pod).node == "n1"


def test_node_affinity_accepts_short_label_names() -> None:
    c = cluster(node("a", zone="dc-a"), node("b", zone="dc-b"))
    s = scheduler(c)
    assert names(s, _required((Requirement("zone", "In", ("dc-b",)),))) == {"b"}
    assert names(s, PodTemplate.make(node_selector={"zone": "dc-a"})) == {"a"}


# -- InterPodAffinity ----------------------------------------------------------------------
WEB = {"app": "web"}
ANTI_WEB_HOST = PodAffinityTerm(sel(app="web"), HOSTNAME)


def test_required_anti_affinity_on_hostname_puts_one_pod_per_node() -> None:
    c = cluster(node("a"), node("b"), node("c"))
    s = scheduler(c)
    rows = s.submit(labelled(WEB, required_anti_affinity=(ANTI_WEB_HOST,)), count=4)
    s.schedule_pending()
    assert sorted(filter(None, placed_on(s, rows[:3]))) == ["a", "b", "c"]
    assert placed_on(s, rows[3:]) == [None]
    assert s.unschedulable[rows[3]].message == (
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
        "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    )


def test_existing_pods_anti_affinity_is_symmetric() -> None:
    # A pod's required anti-affinity also keeps matching newcomers away from it, even when
    # the newcomers have no affinity terms of their own.
    c = cluster(node("a"), node("b"))
    loner = labelled({"app": "db"}, required_anti_affinity=(ANTI_WEB_HOST,))
    bind_to(c, loner, "a")
    s = scheduler(c)
    assert names(s, labelled(WEB)) == {"b"}
    assert names(s, labelled({"app": "other"})) == {"a", "b"}
    explanation = s.explain(labelled(WEB))
    assert explanation.reasons == {"node(s) didn't satisfy existing pods anti-affinity rules": 1}


def test_anti_affinity_over_zones_and_namespaces() -> None:
    c = cluster(node("a1", zone="A"), node("a2", zone="A"), node("b1", zone="B"), node("nz"))
    s = scheduler(c)
    term = PodAffinityTerm(sel(app="web"), ZONE)
    pod = labelled(WEB, required_anti_affinity=(term,))
    rows = s.submit(pod, count=4)
    s.schedule_pending()
    assert None not in placed_on(s, rows)
    # one per zone; a node without the zone label is in no domain, so never blocked
    assert zone_counts(c, sel(app="web")) == {"A": 1, "B": 1, None: 2}
    other_ns = labelled(WEB, namespace="other", required_anti_affinity=(term,))
    assert names(s, other_ns) == {"a1", "a2", "b1", "nz"}  # terms look in the pod's namespace


def test_required_affinity_follows_matching_pods_and_lets_the_first_one_in() -> None:
    c = cluster(node("a1", zone="A"), node("a2", zone="A"), node("b1", zone="B"), node("nz"))
    s = scheduler(c)
    with_cache = labelled(
        {"app": "web"}, required_affinity=(PodAffinityTerm(sel(app="cache"), ZONE),)
    )
    row = s.submit(with_cache)[0]
    s.schedule_pending()  # no cache pod anywhere and the pod is not a cache: pending
    assert s.unschedulable[row].reasons == {"node(s) didn't match pod affinity rules": 4}
    bind_to(c, labelled({"app": "cache"}), "b1")
    assert names(s, with_cache) == {"b1"}
    # self-affinity: the first of a group goes anywhere with the key, the rest follow it
    group = labelled({"app": "grp"}, required_affinity=(PodAffinityTerm(sel(app="grp"), ZONE),))
    assert names(s, group) == {"a1", "a2", "b1"}
    rows = s.submit(group, count=3)
    s.schedule_pending()
    zones = {c.nodes.labels.get(ZONE, c.nodes.index[n]) for n in placed_on(s, rows) if n}
    assert len(zones) == 1 and len(rows) == 3 and None not in placed_on(s, rows)


def test_preferred_anti_affinity_spreads_and_existing_preferences_attract() -> None:
    c = cluster(node("a"), node("b"))
    s = scheduler(c, weights={"InterPodAffinity": 1})
    bind_to(c, labelled(WEB), "a")
    spread = labelled(WEB, preferred_anti_affinity=(WeightedPodAffinityTerm(100, ANTI_WEB_HOST),))
    explanation = s.explain(spread)
    assert explanation.node == "b"
    assert explanation.score_parts["InterPodAffinity"] == {"raw": 0, "normalised": 100, "weight": 1}
    # an existing pod's preferred affinity to app=client attracts client pods (symmetry)
    likes = labelled(
        {"app": "server"},
        preferred_affinity=(
            WeightedPodAffinityTerm(50, PodAffinityTerm(sel(app="client"), HOSTNAME)),
        ),
    )
    bind_to(c, likes, "b")
    assert s.explain(labelled({"app": "client"})).node == "b"
    # and an existing pod's required affinity attracts with hard_pod_affinity_weight
    c2 = cluster(node("a"), node("b"))
    s2 = scheduler(
        c2,
        weights={"InterPodAffinity": 1},
        args={"InterPodAffinity": {"hard_pod_affinity_weight": 0}},
    )
    needs = labelled(
        {"app": "x"}, required_affinity=(PodAffinityTerm(sel(app="client"), HOSTNAME),)
    )
    bind_to(c2, labelled({"app": "client"}), "a")
    bind_to(c2, needs, "a")
    assert "InterPodAffinity" not in s2.explain(labelled({"app": "client"})).score_parts
    s3 = scheduler(c2, weights={"InterPodAffinity": 1})
    assert s3.explain(labelled({"app": "client"})).score_parts["InterPodAffinity"]["raw"] == 1


# -- PodTopologySpread ---------------------------------------------------------------------
def spread_pod(skew: int = 1, key: str = ZONE, **fields: object) -> PodTemplate:
    constraint = TopologySpreadConstraint(skew, key, "DoNotSchedule", sel(app="web"), **fields)  # type: ignore[arg-type]
    return labelled(WEB, topology_spread=(constraint,))


def test_max_skew_one_over_three_zones() -> None:
    c = cluster(*(node(f"{z}{i}", zone=z) for z in "ABC" for i in range(2)))
    s = scheduler(c)
    for _ in range(9):
        s.submit(spread_pod())
        s.schedule_pending()
        counts = zone_counts(c, sel(app="web"))
        assert max(counts.values()) - min(counts.get(z, 0) for z in "ABC") <= 1
    assert zone_counts(c, sel(app="web")) == {"A": 3, "B": 3, "C": 3}


def test_documented_two_zone_example() -> None:
    # kubernetes.io "Pod Topology Spread Constraints": pods on node1, node2 (zoneA) and
    # node3 (zoneB); with maxSkew 1 the incoming pod can only go to zoneB.
    c = cluster(
        node("node1", zone="zoneA"),
        node("node2", zone="zoneA"),
        node("node3", zone="zoneB"),
        node("node4", zone="zoneB"),
    )
    for n in ("node1", "node2", "node3"):
        bind_to(c, labelled({"foo": "bar"}), n)
    s = scheduler(c)
    pod = labelled(
        {"foo": "bar"},
        topology_spread=(TopologySpreadConstraint(1, ZONE, "DoNotSchedule", sel(foo="bar")),),
    )
    assert names(s, pod) == {"node3", "node4"}
    explanation = s.explain(pod)
    assert explanation.removed_by["PodTopologySpread"] == 2
    assert explanation.reasons == {"node(s) didn't match pod topology spread constraints": 2}


def test_nodes_without_the_topology_key_are_excluded() -> None:
    c = cluster(node("a", zone="A"), node("bare"))
    s = scheduler(c)
    rows = s.submit(spread_pod(skew=5), count=3)
    s.schedule_pending()
    assert placed_on(s, rows) == ["a", "a", "a"]
    explanation = s.explain(spread_pod(skew=5))
    assert explanation.reasons == {
        "node(s) didn't match pod topology spread constraints (missing required label)": 1
    }


def test_min_domains_treats_the_global_minimum_as_zero() -> None:
    c = cluster(node("a", zone="A"), node("b", zone="B"))
    s = scheduler(c, preemption=False)
    rows = s.submit(spread_pod(min_domains=3), count=3)
    s.schedule_pending()
    # only 2 domains < minDomains 3: each domain may hold at most maxSkew = 1 pod
    assert sorted(filter(None, placed_on(s, rows))) == ["a", "b"]
    assert placed_on(s, rows).count(None) == 1


@pytest.mark.parametrize(("policy", "placed"), [("Honor", 4), ("Ignore", 2)])
def test_node_affinity_policy_decides_which_domains_count(policy: str, placed: int) -> None:
    # zone C has a node the pods may not use (node selector): counted only when Ignore
    c = cluster(
        node("a", zone="A", labels={"ok": "1"}),
        node("b", zone="B", labels={"ok": "1"}),
        node("c", zone="C"),
    )
    constraint = TopologySpreadConstraint(
        1, ZONE, "DoNotSchedule", sel(app="web"), node_affinity_policy=policy
    )  # type: ignore[arg-type]
    pod = PodTemplate.make(labels=WEB, node_selector={"ok": "1"}, topology_spread=(constraint,))
    s = scheduler(c, preemption=False)
    rows = s.submit(pod, count=4)
    s.schedule_pending()
    assert len([r for r in placed_on(s, rows) if r]) == placed


@pytest.mark.parametrize(("policy", "placed"), [("Honor", 4), ("Ignore", 2)])
def test_node_taints_policy_decides_whether_tainted_domains_count(policy: str, placed: int) -> None:
    # zone C's only node is cordoned (it carries the unschedulable NoSchedule taint)
    c = cluster(node("a", zone="A"), node("b", zone="B"), node("c", zone="C", unschedulable=True))
    constraint = TopologySpreadConstraint(
        1,
        ZONE,
        "DoNotSchedule",
        sel(app="web"),
        node_taints_policy=policy,  # type: ignore[arg-type]
    )
    s = scheduler(c, preemption=False)
    rows = s.submit(labelled(WEB, topology_spread=(constraint,)), count=4)
    s.schedule_pending()
    assert len([r for r in placed_on(s, rows) if r]) == placed


def test_schedule_anyway_prefers_the_emptiest_domain() -> None:
    c = cluster(node("a", zone="A", cpu=64000, memory=65536), node("b", zone="B"))
    bind_to(c, labelled(WEB), "a", count=3)
    s = scheduler(c)
    soft = TopologySpreadConstraint(1, ZONE, "ScheduleAnyway", sel(app="web"))
    explanation = s.explain(labelled(WEB, topology_spread=(soft,)))
    assert explanation.node == "b"
    # raw: a = 3*ln(4) + 0 = 4.16 -> 4, b = 0; normalised 100*(4+0-s)/4
    assert explanation.score_parts["PodTopologySpread"] == {
        "raw": 0,
        "normalised": 100,
        "weight": 2,
    }


@pytest.mark.parametrize(("default_spreading", "second"), [(True, "b"), (False, "a")])
def test_system_default_spreading_for_pods_of_a_deployment(
    default_spreading: bool, second: str
) -> None:
    c = cluster(node("a"), node("b"))
    s = scheduler(
        c,
        args={
            "NodeResourcesFit": {"strategy": "MostAllocated"},
            "PodTopologySpread": {"default_spreading": default_spreading},
        },
    )
    pod = labelled(WEB, cpu=100, memory=100, owner_selector=sel(app="web"), owner="web")
    first = s.submit(pod)[0]
    s.schedule_pending()
    bound = placed_on(s, [first])[0]
    row = s.submit(pod)[0]
    s.schedule_pending()
    other = {"a": "b", "b": "a"}[bound or "a"]
    assert placed_on(s, [row]) == [other if second == "b" else bound]


# -- the cycle: percentageOfNodesToScore, node order, queue, explain ---------------------
@pytest.mark.parametrize(
    ("nodes", "percentage", "expected"),
    [
        (50, 0, 50),
        (100, 0, 100),
        (1000, 0, 420),
        (5000, 0, 500),
        (6250, 0, 312),
        (10000, 0, 500),
        (1000, 10, 100),
        (1000, 100, 1000),
        (150, 10, 100),
    ],
)
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


def test_scoring_a_share_of_nodes_starts_where_the_last_cycle_stopped() -> None:
    c = cluster(*(node(f"n{i:03d}") for i in range(200)))
    s = scheduler(c, percentage_of_nodes_to_score=50)
    explanation = s.explain(PodTemplate())
    assert (explanation.feasible, explanation.to_find, explanation.scored) == (200, 100, 100)
    s.submit(PodTemplate())
    s.schedule_pending()
    assert s.next_start == 100
    c.nodes.set_unschedulable([150, 160, 2])
    s.submit(PodTemplate())
    s.schedule_pending()
    # from 100: 98 feasible up to 199, then 0 and 1 make 100; the search stops at the next
    # feasible node, 3, having checked 103 nodes (kube-scheduler's processedNodes)
    assert s.next_start == 3
    assert c.pods.node[1] in (*range(100, 200), 0, 1)


def test_nodes_are_visited_round_robin_over_zones() -> None:
    c = cluster(
        node("a1", zone="A"),
        node("a2", zone="A"),
        node("a3", zone="A"),
        node("b1", zone="B"),
        node("b2", zone="B"),
        node("c1", zone="C"),
    )
    order = c.nodes.scan_order()
    assert order is not None
    assert [c.nodes.names[i] for i in order] == ["a1", "b1", "c1", "a2", "b2", "a3"]


def test_queue_is_priority_first_then_fifo() -> None:
    c = cluster(node("only", cpu=2000))
    s = scheduler(c, preemption=False)
    low = [s.submit(PodTemplate(cpu=1000, priority=1))[0] for _ in range(2)]
    high = s.submit(PodTemplate(cpu=1000, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [high, low[0], low[1]]) == ["only", "only", None]


def test_explain_shows_removed_nodes_and_the_winners_score_parts() -> None:
    c = cluster(
        node("small", cpu=500),
        node("tainted", taints=[GPU_TAINT]),
        node("busy"),
        node("idle"),
    )
    bind_to(c, PodTemplate(cpu=2000, memory=4096), "busy")
    s = scheduler(c)
    explanation = s.explain(PodTemplate(cpu=1000, memory=1024))
    assert explanation.removed_by == {
        "NodeUnschedulable": 0,
        "TaintToleration": 1,
        "NodeAffinity": 0,
        "NodeResourcesFit": 1,
        "PodTopologySpread": 0,
        "InterPodAffinity": 0,
    }
    assert (explanation.feasible, explanation.scored, explanation.node) == (2, 2, "idle")
    parts = explanation.score_parts
    # idle with the pod: cpu 75, memory 87 -> 81; balanced |0.25-0.125|/2 -> 93
    assert parts["NodeResourcesFit"] == {"raw": 81, "normalised": 81, "weight": 1}
    assert parts["NodeResourcesBalancedAllocation"] == {"raw": 93, "normalised": 93, "weight": 1}
    assert parts["TaintToleration"] == {"raw": None, "normalised": 100, "weight": 3}
    assert explanation.score == 81 + 93 + 300
    assert explanation.to_dict()["node"] == "idle"


def test_same_seed_same_decisions() -> None:
    def run(seed: int) -> list[int]:
        c = cluster(*(node(f"n{i}") for i in range(20)))
        s = scheduler(c, seed=seed)
        rows = s.submit(PodTemplate(cpu=100, memory=100), count=30)
        s.schedule_pending()
        return [int(c.pods.node[r]) for r in rows]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_impossible_pods_stay_pending_with_a_reason() -> None:
    empty = scheduler(cluster())
    row = empty.submit(PodTemplate(cpu=1))[0]
    empty.schedule_pending()
    assert empty.unschedulable[row].message.startswith("0/0 nodes are available.")
    s = scheduler(cluster(node("a")))
    odd = PodTemplate(
        gpu=1,
        required_node_affinity=(NodeSelectorTerm((Requirement("unknown", "Gt", ("3",)),)),),
        topology_spread=(TopologySpreadConstraint(1, "no/such-key", "DoNotSchedule", sel()),),
    )
    rows = [s.submit(t)[0] for t in (odd, PodTemplate(gpu_milli=300))]
    s.schedule_pending()
    assert placed_on(s, rows) == [None, None]
    assert s.unschedulable[rows[0]].reasons == {
        "node(s) didn't match Pod's node affinity/selector": 1
    }
    assert s.unschedulable[rows[1]].reasons == {"Insufficient gpu share": 1}


# -- the plugin registry and the post-filter -----------------------------------------------
@pytest.fixture
def registry() -> Iterator[None]:
    """Plugins registered by a test are forgotten after it."""
    with PLUGINS.scoped():
        yield


class EvenNodes(FilterPlugin):
    """A researcher's filter: only nodes at even positions."""

    name = "EvenNodes"
    static = True
    reason = "node(s) at an odd position"

    def prefilter(self, tid: int) -> Any:
        return True

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        even: BoolArray = np.arange(self.cluster.nodes.size) % 2 == 0
        return even if cols is None else even[cols]


class GiveUp(PostFilterPlugin):
    """A researcher's post-filter: notes what it was given and places nothing."""

    name = "GiveUp"

    def __init__(self, cluster: Cluster, handle: Handle, note: str = "gave up") -> None:
        super().__init__(cluster, handle)
        self.note = note
        self.seen: list[tuple[int, dict[str, int]]] = []

    def post_filter(self, row: int, tid: int, diagnosis: Diagnosis, time: float) -> tuple[int, str]:
        self.seen.append((row, dict(diagnosis.reasons)))
        return -1, self.note


def test_a_registered_filter_is_used_by_name(registry: None) -> None:
    assert register_plugin(EvenNodes) is EvenNodes
    assert "EvenNodes" in PLUGINS
    s = scheduler(cluster(*(node(f"n{i}") for i in range(4))), filters=("EvenNodes",))
    rows = s.submit(PodTemplate(cpu=100, memory=100), count=8)
    s.schedule_pending()
    assert set(placed_on(s, rows)) == {"n0", "n2"}
    with pytest.raises(TypeError, match="neither a FilterPlugin"):
        register_plugin(Plugin)


def test_unknown_plugins_are_refused_with_the_closest_name() -> None:
    with pytest.raises(KeyError, match="unknown scheduler plugin 'NodeAffinty'; did you mean"):
        Profile(filters=("NodeAffinty",))
    with pytest.raises(ValueError, match="'NodeAffinity' is not a post-filter"):
        Profile(post_filter="NodeAffinity")


def test_the_post_filter_is_the_one_the_profile_names(registry: None) -> None:
    register_plugin(GiveUp)
    c = cluster(node("a", cpu=1000))
    bind_to(c, PodTemplate(cpu=1000, priority=0), "a")
    s = scheduler(c, post_filter="GiveUp", args={"GiveUp": {"note": "no luck"}})
    assert isinstance(s.post_filter, GiveUp)
    row = s.submit(PodTemplate(cpu=1000, priority=10))[0]
    s.schedule_pending()
    assert s.post_filter.seen == [(row, {"Insufficient cpu": 1})]
    assert s.unschedulable[row].message.endswith("no luck")
    assert scheduler(c, preemption=False).post_filter is None


def test_default_preemption_takes_its_arguments_from_the_profile() -> None:
    s = scheduler(
        cluster(node("a")),
        args={"DefaultPreemption": {"min_candidate_nodes_absolute": 3}},
    )
    assert isinstance(s.post_filter, DefaultPreemption)
    assert s.post_filter.candidates_wanted(50) == 5
    assert s.post_filter.candidates_wanted(2000) == 200
    default = scheduler(cluster(node("a"))).post_filter
    assert isinstance(default, DefaultPreemption)
    assert default.candidates_wanted(50) == 50


def test_template_ids_by_value_and_by_identity() -> None:
    """A registered template is found by identity, an equal one by value: one id either way."""
    cluster = Cluster(NodeTable())
    web = PodTemplate.make(labels={"app": "web"}, cpu=500, owner="web")
    tid = cluster.template_id(web)
    assert cluster.template_id(web) == tid
    twin = PodTemplate.make(labels={"app": "web"}, cpu=500, owner="web")
    assert twin is not web and cluster.template_id(twin) == tid
    other = cluster.template_id(PodTemplate.make(labels={"app": "api"}, cpu=500))
    assert other == tid + 1 and len(cluster.templates) == 2
    assert cluster.templates[tid] is web
