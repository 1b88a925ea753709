"""Properties of the scheduler on random clusters and random pods (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.containers import (
    Cluster,
    NodeGroup,
    NodeTable,
    PodAffinityTerm,
    PodPhase,
    PodTemplate,
    TopologySpreadConstraint,
)
from cloudsim.containers.nodes import HOSTNAME, ZONE, capacity_columns
from tests.containers.scheduler.fixtures import labelled, scheduler, sel, zone_counts

ZONES = ("A", "B", "C")


@st.composite
def clusters(draw: st.DrawFn, min_nodes: int = 1, max_nodes: int = 10) -> Cluster:
    n = draw(st.integers(min_nodes, max_nodes))
    cpu = draw(st.lists(st.sampled_from([1000, 2000, 4000, 8000]), min_size=n, max_size=n))
    memory = draw(st.lists(st.sampled_from([1024, 4096, 16384]), min_size=n, max_size=n))
    gpus = draw(st.lists(st.sampled_from([0, 0, 1, 2, 4]), min_size=n, max_size=n))
    pods = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    zones = draw(st.lists(st.sampled_from([*ZONES, None]), min_size=n, max_size=n))
    table = NodeTable()
    for i in range(n):
        labels: dict[str, str | list[str | None]] = {}
        if zones[i] is not None:
            labels[ZONE] = zones[i]  # type: ignore[assignment]
        cap = capacity_columns(1, cpu[i], memory[i], gpus[i], pods[i])
        table.add(NodeGroup([f"n{i}"], cap, labels=labels))
    return Cluster(table)


pod_templates = st.builds(
    lambda cpu, memory, gpu, share, priority: PodTemplate(
        cpu=cpu,
        memory=memory,
        gpu=gpu if not share else 0,
        gpu_milli=share,
        priority=priority,
    ),
    st.sampled_from([0, 100, 500, 1000, 3000]),
    st.sampled_from([0, 128, 1024, 4096]),
    st.sampled_from([0, 0, 1, 2]),
    st.sampled_from([0, 0, 0, 250, 500, 900]),
    st.integers(0, 3),
)


@settings(max_examples=60, deadline=None)
@given(
    clusters(), st.lists(st.tuples(pod_templates, st.booleans()), max_size=40), st.integers(0, 9)
)
def test_no_node_is_ever_over_allocatable(
    cluster: Cluster, pods: list[tuple[PodTemplate, bool]], seed: int
) -> None:
    s = scheduler(cluster, seed=seed)
    rows: list[int] = []
    for template, delete_one in pods:
        rows.extend(s.submit(template))
        s.schedule_pending()
        cluster.check()  # requested == bound pods, nothing over allocatable, devices agree
        if delete_one and rows:
            cluster.delete(rows.pop(0))
            s.requeue_unschedulable()
    live = cluster.pods.live()
    assert (cluster.pods.node[: cluster.pods.size][live] >= 0).all()
    for row in s.unschedulable:
        assert cluster.pods.phase[row] == PodPhase.PENDING
        assert s.unschedulable[row].message.startswith("0/")


@settings(max_examples=60, deadline=None)
@given(
    clusters(min_nodes=2),
    st.integers(1, 3),
    st.lists(st.booleans(), min_size=1, max_size=30),
    st.sampled_from([None, 2, 3]),
    st.integers(0, 9),
)
def test_do_not_schedule_never_exceeds_max_skew(
    cluster: Cluster, max_skew: int, order: list[bool], min_domains: int | None, seed: int
) -> None:
    constraint = TopologySpreadConstraint(
        max_skew, ZONE, "DoNotSchedule", sel(app="web"), min_domains=min_domains
    )
    web = labelled({"app": "web"}, cpu=500, memory=128, topology_spread=(constraint,))
    other = labelled({"app": "other"}, cpu=700, memory=256)
    s = scheduler(cluster, seed=seed)
    zoned = {cluster.nodes.labels.get(ZONE, i) for i in range(cluster.nodes.size)} - {None}
    for is_web in order:
        s.submit(web if is_web else other)
        s.schedule_pending()
        counts = zone_counts(cluster, sel(app="web"))
        assert None not in counts  # nodes without the key never take a constrained pod
        if counts:
            low = min(counts.get(z, 0) for z in zoned)
            if min_domains is not None and len(zoned) < min_domains:
                low = 0
            assert max(counts.values()) - low <= max_skew


@settings(max_examples=40, deadline=None)
@given(clusters(min_nodes=1), st.integers(1, 15), st.integers(0, 9))
def test_hostname_anti_affinity_never_doubles_up(cluster: Cluster, count: int, seed: int) -> None:
    pod = labelled(
        {"app": "web"},
        cpu=100,
        required_anti_affinity=(PodAffinityTerm(sel(app="web"), HOSTNAME),),
    )
    s = scheduler(cluster, seed=seed)
    s.submit(pod, count=count)
    s.schedule_pending()
    nodes = cluster.pods.node[: cluster.pods.size][cluster.pods.live()]
    assert len(nodes) == len(np.unique(nodes))
    assert len(nodes) == min(count, int((cluster.nodes.allocatable[0] >= 100).sum()))
