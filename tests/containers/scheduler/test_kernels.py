"""The compiled node-column kernels of NodeResourcesFit (filter, LeastAllocated and
MostAllocated scores) and NodeResourcesBalancedAllocation against their numpy/Python
reference: every cached column equals the plugin's own computation over all nodes after any
binding or deletion, and a scheduler with the kernels binds every pod where one without
them does (hypothesis, random clusters and pods)."""

from __future__ import annotations

import copy
from contextlib import ExitStack
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim import compiled as compilation
from cloudsim.containers import Cluster, PodTemplate, Scheduler, TopologySpreadConstraint
from cloudsim.containers.nodes import HOSTNAME, ZONE
from cloudsim.containers.scheduler.plugins import balanced_allocation, node_resources_fit
from cloudsim.containers.scheduler.plugins.helper import ColumnCache
from tests.containers.scheduler.fixtures import cluster as fixture_cluster
from tests.containers.scheduler.fixtures import labelled, node, scheduler, sel
from tests.containers.scheduler.test_properties import clusters, pod_templates

pytestmark = pytest.mark.skipif(not compilation.available(), reason="numba is not installed")

PROFILES: list[dict[str, Any]] = [
    {},
    {"args": {"NodeResourcesFit": {"strategy": "MostAllocated"}}},
    {
        "args": {
            "NodeResourcesFit": {"resources": {"cpu": 2, "memory": 1, "gpu": 3}},
            "NodeResourcesBalancedAllocation": {"resources": {"cpu": 1, "memory": 1, "gpu": 1}},
        }
    },
    {"args": {"NodeResourcesFit": {"strategy": "MostAllocated", "resources": {"gpu": 1}}}},
]


def caches(s: Scheduler) -> list[ColumnCache]:
    fit = s.plugins["NodeResourcesFit"]
    found = [prep.cache for prep in fit._fit.values()] + list(fit._scores.values())
    balanced = s.plugins.get("NodeResourcesBalancedAllocation")
    if balanced is not None:
        found += list(balanced._scores.values())
    return found


def play(
    cluster: Cluster,
    pods: list[tuple[PodTemplate, bool]],
    seed: int,
    profile: dict[str, Any],
    compiled: bool,
) -> list[int]:
    """Submit, schedule and delete as ``pods`` says; the node of every pod as it ends up.
    With ``compiled``, checks every cached column against the reference on all nodes."""
    with ExitStack() as stack:
        if not compiled:
            for module in (node_resources_fit, balanced_allocation):
                stack.enter_context(patch.object(module, "compiled", lambda: None))
        s = scheduler(cluster, seed=seed, **profile)
        rows: list[int] = []
        for template, delete_one in pods:
            rows.extend(s.submit(template))
            s.schedule_pending()
            for cache in caches(s):
                assert compiled or cache.update is None
                values = cache.get()
                expected = np.asarray(cache.compute(None)).astype(cache.dtype)
                assert np.array_equal(values, np.broadcast_to(expected, values.shape))
            if delete_one and rows:
                cluster.delete(rows.pop(0))
                s.requeue_unschedulable()
    return cluster.pods.node[: cluster.pods.size].tolist()


@settings(max_examples=80, deadline=None)
@given(
    clusters(max_nodes=12),
    st.lists(st.tuples(pod_templates, st.booleans()), max_size=40),
    st.integers(0, 9),
    st.sampled_from(PROFILES),
)
def test_kernels_are_the_reference_and_bind_the_same_nodes(
    cluster: Cluster, pods: list[tuple[PodTemplate, bool]], seed: int, profile: dict[str, Any]
) -> None:
    twin = copy.deepcopy(cluster)
    assert play(cluster, pods, seed, profile, True) == play(twin, pods, seed, profile, False)


def test_kernels_are_used_where_they_apply() -> None:
    """Fit's filter and Least/MostAllocated, Balanced over two counted resources: compiled;
    RequestedToCapacityRatio and Balanced over three: the reference."""
    cluster = fixture_cluster(node("a"), node("b", cpu=2000, gpus=1))
    plain = scheduler(cluster)
    plain.submit(PodTemplate(cpu=100, memory=64))
    plain.schedule_pending()
    assert all(cache.update is not None for cache in caches(plain))
    ratio = scheduler(
        cluster,
        args={
            "NodeResourcesFit": {"strategy": "RequestedToCapacityRatio"},
            "NodeResourcesBalancedAllocation": {"resources": {"cpu": 1, "memory": 1, "gpu": 1}},
        },
    )
    ratio.submit(PodTemplate(cpu=100, memory=64, gpu_milli=300))
    ratio.schedule_pending()
    fit = ratio.plugins["NodeResourcesFit"]
    assert all(prep.cache.update is not None for prep in fit._fit.values())
    assert all(cache.update is None for cache in fit._scores.values())
    balanced = ratio.plugins["NodeResourcesBalancedAllocation"]
    assert all(cache.update is None for cache in balanced._scores.values())


def test_a_score_with_no_resource_to_score_is_zero_on_every_node() -> None:
    """Scoring only GPUs, a pod asking for none: every node scores 0 (the reference path
    used to keep a 0-d array and fail when indexing it)."""
    profile = {"args": {"NodeResourcesFit": {"strategy": "MostAllocated", "resources": {"gpu": 1}}}}
    for compiled in (True, False):
        c = fixture_cluster(node("a"), node("b"), node("c"))
        nodes = play(c, [(PodTemplate(cpu=100), False)] * 3, 0, profile, compiled)
        assert len(nodes) == 3 and min(nodes) >= 0


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 320),
    st.sampled_from([None, ("A",), ("A", "B"), ("A", "B", "C")]),
    st.integers(0, 100),
    st.integers(0, 1000),
    st.data(),
)
def test_compiled_candidates_are_the_numpy_candidates(
    n: int, zones: tuple[str, ...] | None, percentage: int, start: int, data: st.DataObject
) -> None:
    """Same nodes in the same order and the same next start, with or without a zone
    round-robin, with fewer or more feasible nodes than numFeasibleNodesToFind."""
    groups = [
        node(f"n{i}", zone=None if zones is None else zones[(i * 7 + i // 3) % len(zones)])
        for i in range(n)
    ]
    s = scheduler(fixture_cluster(*groups), percentage_of_nodes_to_score=percentage)
    density = data.draw(st.sampled_from([0.0, 0.05, 0.5, 1.0]))
    mask = np.random.default_rng(data.draw(st.integers(0, 99))).random(n) < density
    nodes, after = s._candidates(mask, start)
    expected, expected_after = s.candidates_numpy(mask, start)
    assert nodes.tolist() == expected.tolist() and after == expected_after


SPREAD = st.builds(
    lambda app, own, key, skew: labelled(
        {"app": app},
        cpu=100,
        memory=64,
        owner=app if own else "",
        owner_selector=sel(app=app) if own else None,
        topology_spread=(
            ()
            if key is None
            else (TopologySpreadConstraint(skew, key, "ScheduleAnyway", sel(app=app)),)
        ),
    ),
    st.sampled_from(["web", "api"]),
    st.booleans(),
    st.sampled_from([None, ZONE, HOSTNAME, "rack"]),
    st.integers(1, 4),
)


@settings(max_examples=80, deadline=None)
@given(
    clusters(max_nodes=12),
    st.lists(st.tuples(SPREAD, st.booleans()), min_size=1, max_size=30),
    st.integers(0, 9),
    st.data(),
)
def test_compiled_spread_score_is_the_numpy_score(
    cluster: Cluster, pods: list[tuple[PodTemplate, bool]], seed: int, data: st.DataObject
) -> None:
    """PodTopologySpread's raw and normalised scores, compiled and numpy, on any candidate
    subset after any sequence of bindings and deletions (default spreading on hostname
    and zone, or the pod's own ScheduleAnyway constraint, nodes with or without the key)."""
    s = scheduler(cluster, seed=seed)
    spread = s.plugins["PodTopologySpread"]
    rows: list[int] = []
    for template, delete_one in pods:
        rows.extend(s.submit(template))
        s.schedule_pending()
        if delete_one and rows:
            cluster.delete(rows.pop(0))
        prep = spread.prescore(cluster.template_id(template))
        if prep is None:
            continue
        n = cluster.nodes.size
        cands = np.array(
            data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)),
            dtype=np.int64,
        )
        raw = spread.score(prep, cands)
        expected = spread.score_numpy(prep, cands)
        assert raw.dtype == np.int64 and np.array_equal(raw, expected)
        assert np.array_equal(spread.normalize(prep, raw), spread.normalize_numpy(prep, raw))
