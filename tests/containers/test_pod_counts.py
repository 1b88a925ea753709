"""Pod states counted per template, and the services' endpoints, as worked out once per
change (and reused until the next change or the next pod finishing its start), against a
pod-by-pod count written out from their definitions, at any instant of a run with host
failures and pods starting."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim.containers.pods import BOUND, PENDING
from cloudsim.containers.runtime import ClusterState
from tests.conftest import containers_of
from tests.containers.builders import deployment, scenario, start

HOSTS = ["k8s-a-0000", "k8s-a-0001", "k8s-a-0002", "k8s-b-0000", "k8s-b-0001", "k8s-b-0002"]


def by_pod(
    cs: ClusterState, now: float
) -> tuple[Counter[int], Counter[int], Counter[int], list[tuple[int, float]], float]:
    """Ready, unready and missing pods per template, (template, ready time) of the pods
    still starting on a node that answers, and when the next bound pod (answering or not)
    finishes its start; one pod at a time."""
    pods, nodes, info = cs.cluster.pods, cs.nodes, cs.info
    ready: Counter[int] = Counter()
    unready: Counter[int] = Counter()
    missing: Counter[int] = Counter()
    starting = []
    next_ready = float("inf")
    for row in range(pods.size):
        tid = int(pods.template[row])
        if pods.phase[row] == PENDING:
            unready[tid] += 1
            continue
        if pods.phase[row] != BOUND:
            continue
        node = int(pods.node[row])
        host = int(nodes.host[node])
        answers = bool(
            info.present[node]
            and nodes.ready[node]
            and (host < 0 or cs.host_up(np.array([host]))[0])
        )
        since = float(pods.running_since[row])
        at = since + float(cs.startup_of_tid[tid])
        initial = since <= 0.0 and float(pods.created[row]) <= 0.0
        started = at <= now or initial
        if not started:
            next_ready = min(next_ready, at)
        if not answers:
            missing[tid] += 1
        elif started:
            ready[tid] += 1
        else:
            unready[tid] += 1
            starting.append((tid, at))
    return ready, unready, missing, starting, next_ready


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    faults=st.lists(
        st.tuples(st.integers(0, 5), st.integers(60, 3000), st.integers(30, 1200)),
        min_size=1,
        max_size=4,
    ),
    offset=st.floats(0.0, 10.0),
)
def test_pod_counts_and_endpoints_are_the_pod_by_pod_counts(
    faults: list[tuple[int, int, int]], offset: float
) -> None:
    # every 10 s: pods start for 45 s or 2 min after each eviction and each host's return
    checks = [offset + 10.0 * k for k in range(480)]
    data = scenario(
        node_groups=[{"name": "a", "pool": "k8s-a"}, {"name": "b", "pool": "k8s-b"}],
        horizon="2h",
        deployments=[deployment("web", 6, startup="45s"), deployment("api", 3, startup="2m")],
        services=[
            {"name": "web", "cluster": "k8s", "deployment": "web"},
            {"name": "api", "cluster": "k8s", "deployment": "api"},
        ],
        faults={
            "scripted": [
                {"name": f"f{i}", "target": HOSTS[h], "at": f"{at}s", "duration": f"{d}s"}
                for i, (h, at, d) in enumerate(faults)
            ],
            "local_ha": {"enabled": False, "restart_time": 0},
        },
    )
    sim, cs = start(data)
    ledger = containers_of(sim).ledger
    for t in sorted(checks):
        sim.env.run(until=max(t, sim.env.now + 1e-6))
        now = sim.env.now
        counts = cs.pod_counts(now)
        ready, unready, missing, starting, next_ready = by_pod(cs, now)
        templates = len(cs.cluster.templates)
        assert counts.ready.tolist() == [ready[t] for t in range(templates)]
        assert counts.unready.tolist() == [unready[t] for t in range(templates)]
        assert counts.missing.tolist() == [missing[t] for t in range(templates)]
        found = sorted(zip(counts.starting.tolist(), counts.ready_at.tolist(), strict=True))
        assert found == sorted(starting)
        assert cs.next_ready(now) == next_ready
        # endpoints: each service's selected templates summed
        ends, bound, capacity = ledger.state(now)
        for s in range(len(ledger)):
            chosen = [t for t in range(templates) if ledger.selects(0)[s, t]]
            per_pod = [
                cs.cluster.templates[t].cpu_limit or cs.cluster.templates[t].cpu for t in chosen
            ]
            assert int(ends[s]) == sum(ready[t] for t in chosen)
            assert int(bound[s]) == sum(
                ready[t] + missing[t] + sum(1 for k, _ in starting if k == t) for t in chosen
            )
            assert int(capacity[s]) == sum(
                ready[t] * p for t, p in zip(chosen, per_pod, strict=True)
            )
