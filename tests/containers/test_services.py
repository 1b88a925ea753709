"""The services ledger's endpoint state and samples, against the straightforward
computations they replace: per service, sums over the templates its selector picks; per
sample, the state read at that instant."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.containers.labels import LabelSelector
from cloudsim.containers.services import ServiceLedger, ServiceSpec
from tests.conftest import containers_of
from tests.containers.builders import deployment, scenario, start

APPS = ("web", "api", "db")


@dataclass
class _Counts:
    ready: np.ndarray
    bound: np.ndarray


class _Cluster:
    """A cluster as the ledger reads it: templates and per-template pod counts."""

    def __init__(self, templates: list[Any], ready: list[int], bound: list[int]) -> None:
        self.cluster = SimpleNamespace(templates=templates)
        self.counts = _Counts(np.array(ready, dtype=np.int64), np.array(bound, dtype=np.int64))

    def pod_counts(self, now: float) -> _Counts:
        return self.counts


template = st.builds(
    lambda app, ns, cpu, limit: SimpleNamespace(
        namespace=ns, label_map={"app": app}, cpu=cpu, cpu_limit=limit
    ),
    st.sampled_from(APPS),
    st.sampled_from(("default", "gov")),
    st.integers(0, 4000),
    st.integers(0, 8000),
)
cluster = st.lists(st.tuples(template, st.integers(0, 9), st.integers(0, 9)), max_size=5)
service = st.tuples(st.integers(0, 2), st.sampled_from(APPS), st.sampled_from(("default", "gov")))


@settings(max_examples=80, deadline=None)
@given(clusters=st.lists(cluster, min_size=1, max_size=3), services=st.lists(service, max_size=6))
def test_the_endpoint_state_is_the_sum_over_the_templates_each_service_selects(
    clusters: list[list[tuple[Any, int, int]]], services: list[tuple[int, str, str]]
) -> None:
    states = [
        _Cluster([t for t, _, _ in c], [r for _, r, _ in c], [r + b for _, r, b in c])
        for c in clusters
    ]
    specs = [
        ServiceSpec(f"s{i}", c % len(states), ns, LabelSelector.of({"app": app}), -1, -1, 1)
        for i, (c, app, ns) in enumerate(services)
    ]
    ledger = ServiceLedger(specs, states, demand=None)  # type: ignore[arg-type]
    ready, bound, capacity = ledger.state(0.0)
    for s, spec in enumerate(specs):
        cs = states[spec.cluster]
        picked = [
            k
            for k, t in enumerate(cs.cluster.templates)
            if t.namespace == spec.namespace
            and t.label_map["app"] == spec.selector.match_labels[0][1]
        ]
        r, b = cs.counts.ready, cs.counts.bound
        per_pod = [cs.cluster.templates[k].cpu_limit or cs.cluster.templates[k].cpu for k in picked]
        assert ready[s] == sum(int(r[k]) for k in picked)
        assert bound[s] == sum(int(b[k]) for k in picked)
        assert capacity[s] == sum(int(r[k]) * p for k, p in zip(picked, per_pod, strict=True))
    # the state is read anew, not the scratch rows of the previous read
    again = ledger.state(0.0)
    assert all(np.array_equal(x, y) for x, y in zip(again, (ready, bound, capacity), strict=True))


def test_each_sample_row_is_the_state_read_at_that_sample() -> None:
    data = scenario(
        node_groups=[{"name": "metal", "pool": "k8s-a"}],  # the 3 hosts of k8s-a
        horizon="6h",
        faults={
            "scripted": [{"name": "f", "target": "k8s-a-0000", "at": "90m", "duration": "3h"}],
            "local_ha": {"enabled": False, "restart_time": 0},
        },
        deployments=[
            deployment("web", 4, startup="50m", labels={"app": "web", "tier": "x"}),
            deployment("api", 2, cpu="2", labels={"app": "api", "tier": "x"}),
        ],
        services=[
            {"name": "web", "cluster": "k8s", "deployment": "web"},
            {"name": "both", "cluster": "k8s", "selector": {"match_labels": {"tier": "x"}}},
            {"name": "api", "cluster": "k8s", "deployment": "api", "demand": {"peak": "3"}},
        ],
    )
    sim, _ = start(data)
    cloud = containers_of(sim)
    assert cloud is not None
    ledger = cloud.ledger
    seen: list[tuple[float, list[int], list[int], list[int], list[int]]] = []
    sample = ledger.sample

    def recording(now: float, replicas: np.ndarray) -> None:
        sample(now, replicas)
        seen.append(
            (
                now,
                ledger.ready.tolist(),
                ledger.endpoints.tolist(),
                ledger.capacity.tolist(),
                ledger.demand.at(now).tolist(),
            )
        )

    ledger.sample = recording  # type: ignore[method-assign]
    result = sim.run()
    table = result.tables["services"].to_pydict()
    n = len(ledger)
    assert len(seen) == 7 and len(table["time"]) == 7 * n
    assert len({tuple(row[1]) for row in seen}) > 1  # the host failure shows
    for k, (now, ready, endpoints, capacity, demand) in enumerate(seen):
        rows = slice(k * n, (k + 1) * n)
        assert table["time"][rows] == [now] * n
        assert table["service"][rows] == ["web", "both", "api"]
        assert table["ready"][rows] == ready
        assert table["endpoints"][rows] == endpoints
        assert table["capacity_cpu_milli"][rows] == capacity
        assert table["demand_cpu_milli"][rows] == demand
        assert table["required"][rows] == ledger.required.tolist()
        assert table["interval"][rows] == [now - (seen[k - 1][0] if k else 0.0)] * n
