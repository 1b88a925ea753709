"""The container cloud's controllers in a running simulation: node lifecycle (NotReady after
the grace period, eviction after the NoExecute toleration), replica sets, services, HPA and
the cluster autoscaler, on small two-centre scenarios."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim.containers.pods import BOUND, PENDING, PodPhase
from cloudsim.containers.runtime import ClusterState
from tests.conftest import containers_of
from tests.containers.builders import (
    bound_per_deployment,
    deployment,
    scenario,
    start,
    vm_group,
)

METAL = [{"name": "metal", "pool": "k8s-a"}]  # the 3 hosts of k8s-a as bare-metal nodes
NOT_READY = "node.kubernetes.io/not-ready"


def anti_affinity(app: str) -> dict[str, Any]:
    return {
        "required": [{"label_selector": {"match_labels": {"app": app}}, "topology_key": "hostname"}]
    }


def pods_of(cs: ClusterState, name: str, phase: int = BOUND) -> list[int]:
    pods = cs.cluster.pods
    dep = next(d for d in cs.deployments if d.name == name)
    return [
        r
        for r in range(pods.size)
        if pods.phase[r] == phase and cs.dep_of_tid[pods.template[r]] == dep.index
    ]


def nodes_of(cs: ClusterState, name: str) -> list[str]:
    pods = cs.cluster.pods
    return sorted(cs.nodes.names[int(pods.node[r])] for r in pods_of(cs, name))


def test_a_failed_host_is_not_ready_after_40_s_and_its_pods_go_after_their_toleration() -> None:
    data = scenario(
        node_groups=METAL,
        deployments=[
            deployment("web", 3, pod_anti_affinity=anti_affinity("web")),
            deployment(
                "quick",
                1,
                node_affinity={
                    "preferred": [
                        {
                            "weight": 100,
                            "preference": {
                                "match_expressions": [
                                    {"key": "hostname", "operator": "In", "values": ["k8s-a-0000"]}
                                ]
                            },
                        }
                    ]
                },
                tolerations=[
                    {
                        "key": NOT_READY,
                        "operator": "Exists",
                        "effect": "NoExecute",
                        "toleration_seconds": "60s",
                    }
                ],
            ),
        ],
        services=[{"name": "web", "cluster": "k8s", "deployment": "web"}],
        faults={
            "scripted": [{"target": "k8s-a-0000", "at": "1000s", "duration": "2h"}],
            "local_ha": {"enabled": False, "restart_time": 0},
        },
    )
    sim, cs = start(data)
    assert containers_of(sim) is not None
    ledger = containers_of(sim).ledger
    env = sim.env
    assert nodes_of(cs, "web") == ["k8s-a-0000", "k8s-a-0001", "k8s-a-0002"]
    assert nodes_of(cs, "quick") == ["k8s-a-0000"]
    env.run(until=1000.5)
    # the host is down: Kubernetes does not know yet, but its pod is no ready endpoint
    assert cs.nodes.ready[0] and int(ledger.state(env.now)[0][0]) == 2
    env.run(until=1039.9)
    assert cs.nodes.ready[0]
    env.run(until=1040.1)  # node-monitor-grace-period: 40 s
    assert not cs.nodes.ready[0]
    assert any(t.key == NOT_READY and t.effect == "NoExecute" for t in cs.nodes.taints_of(0))
    env.run(until=1099.9)
    assert nodes_of(cs, "quick") == ["k8s-a-0000"]
    env.run(until=1100.1)  # its own toleration: 60 s after the taint, then rescheduled
    assert len(nodes_of(cs, "quick")) == 1 and nodes_of(cs, "quick") != ["k8s-a-0000"]
    env.run(until=1339.9)
    assert "k8s-a-0000" in nodes_of(cs, "web")
    env.run(until=1340.1)  # DefaultTolerationSeconds: 300 s
    assert nodes_of(cs, "web") == ["k8s-a-0001", "k8s-a-0002"]
    assert len(pods_of(cs, "web", PENDING)) == 1  # anti-affinity: nowhere else to go
    assert cs.archive.status.count("evicted") == 2
    env.run(until=1000 + 7200 + 0.1)  # the host is back: Ready, the pod comes home
    assert cs.nodes.ready[0]
    assert nodes_of(cs, "web") == ["k8s-a-0000", "k8s-a-0001", "k8s-a-0002"]
    result = sim.run()
    kinds = result.tables["events"].column("kind").to_pylist()
    times = result.tables["events"].column("time").to_pylist()
    assert [t for k, t in zip(kinds, times, strict=True) if k == "node_not_ready"] == [1040.0]
    assert [t for k, t in zip(kinds, times, strict=True) if k == "node_ready"] == [8200.0]
    web = result.summary["containers"]["services"]["web"]
    assert web["required_endpoints"] == 2 and web["min_ready"] == 2 and web["short_s"] == 0


def test_a_node_vm_restarted_by_local_ha_comes_back_before_its_pods_are_evicted() -> None:
    data = scenario(
        node_groups=[vm_group("a", "k8s-a", 2)],
        deployments=[deployment("web", 2, pod_anti_affinity=anti_affinity("web"))],
        faults={"scripted": [{"target": "k8s-a-0000", "at": "600s", "duration": "6h"}]},
    )
    sim, cs = start(data)
    down = int(np.flatnonzero(cs.nodes.host == sim.hosts.names.index("k8s-a-0000"))[0])
    sim.env.run(until=641)
    assert not cs.nodes.ready[down]
    sim.env.run(until=600 + 180 + 6)  # local HA restarts the VM after 3 min (polled: 5 s)
    assert cs.nodes.ready[down]
    assert cs.nodes.host[down] != sim.hosts.names.index("k8s-a-0000")
    assert cs.nodes.labels.get("cloudsim.io/host", down) == sim.hosts.names[cs.nodes.host[down]]
    assert cs.evictions == 0 and len(pods_of(cs, "web")) == 2


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(targets=st.lists(st.integers(1, 10), min_size=1, max_size=6))
def test_replica_sets_converge_to_any_sequence_of_targets(targets: list[int]) -> None:
    sim, cs = start(scenario(deployments=[deployment("web", 3)]))
    assert containers_of(sim) is not None
    t = 0.0
    for target in targets:
        t += 60.0
        cs.desired[0] = target
        containers_of(sim).replicasets.poke()
        sim.env.run(until=t)
        assert bound_per_deployment(cs) == {"web": target}
        assert len(pods_of(cs, "web", PENDING)) == 0
        cs.cluster.check()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    faults=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 3000), st.integers(1, 1200)),
        min_size=1,
        max_size=5,
    ),
    checks=st.lists(st.floats(0.0, 4800.0), min_size=3, max_size=8),
)
def test_a_service_never_counts_a_pod_on_a_failed_node_as_ready(
    faults: list[tuple[int, int, int]], checks: list[float]
) -> None:
    hosts = ["k8s-a-0000", "k8s-a-0001", "k8s-a-0002", "k8s-b-0000", "k8s-b-0001", "k8s-b-0002"]
    data = scenario(
        node_groups=[
            {"name": "a", "pool": "k8s-a"},
            {"name": "b", "pool": "k8s-b"},
        ],
        horizon="2h",
        deployments=[deployment("web", 8, startup="20s")],
        services=[{"name": "web", "cluster": "k8s", "deployment": "web"}],
        faults={
            "scripted": [
                {"name": f"f{i}", "target": hosts[h], "at": f"{at}s", "duration": f"{d}s"}
                for i, (h, at, d) in enumerate(faults)
            ],
            "local_ha": {"enabled": False, "restart_time": 0},
        },
    )
    sim, cs = start(data)
    assert containers_of(sim) is not None
    ledger = containers_of(sim).ledger
    for t in sorted(checks):
        sim.env.run(until=max(t, sim.env.now + 1e-6))
        ready = cs.pod_states(sim.env.now)[0]
        pods = cs.cluster.pods
        on = pods.node[: pods.size][ready]
        assert sim.hosts.up[cs.nodes.host[on]].all()  # ground truth: their hosts are up
        assert cs.nodes.ready[on].all()
        ledger.advance(sim.env.now)
        assert int(ledger.ready[0]) == int(ready.sum())


def test_the_cluster_autoscaler_adds_nodes_for_pending_pods() -> None:
    data = scenario(
        node_groups=[vm_group("a", "k8s-a", 1, min_count=1, max_count=4)],
        cluster={"autoscaler": {}},
        deployments=[deployment("web", 10, cpu="2")],
    )
    sim, cs = start(data)
    assert len(pods_of(cs, "web", PENDING)) == 6  # one node of 8 cores holds 4
    sim.env.run(until=1)  # first scan: two more node VMs ordered (least waste: 2 x 4 pods)
    vms = sim.platform.vms
    assert int(vms.live.sum()) == 4 + 3  # the system's own 4 VMs and 3 node VMs
    sim.env.run(until=179.9)
    assert cs.info.present.sum() == 1 and len(pods_of(cs, "web", PENDING)) == 6
    sim.env.run(until=180.1)  # the nodes join after node_provision_time (3 min)
    assert cs.info.present.sum() == 3 and len(pods_of(cs, "web")) == 10
    result = sim.run()
    events = result.tables["events"].to_pylist()
    nodes = [e for e in events if e["kind"] == "create" and e["reason"] == "node:k8s"]
    assert len(nodes) == 3 and {e["system"] for e in nodes} == {"platform"}
    assert result.summary["containers"]["autoscaler"]["nodes_added"] == 2


def test_the_department_quota_caps_the_autoscaler_and_the_refusal_is_recorded() -> None:
    data = scenario(
        node_groups=[vm_group("a", "k8s-a", 1, min_count=1, max_count=4)],
        cluster={"autoscaler": {}},
        deployments=[deployment("web", 10, cpu="2")],
        quota={"vcpus": 32},  # the system's 4 x 4 vCPU VMs, 1 node, room for one more
    )
    sim, cs = start(data)
    result = sim.run()
    assert cs.info.present.sum() == 2
    assert len(pods_of(cs, "web", PENDING)) == 2
    assert int(sim.platform.usage[0, 0]) == 32
    # the IaaS refuses the second node; the autoscaler backs off 5, 10, 20, then 30 min
    refused = [
        (e["time"], e["count"], e["reason"])
        for e in result.tables["events"].to_pylist()
        if e["kind"] == "reject"
    ]
    assert refused[:5] == [
        (0.0, 1, "quota_vcpus"),
        (300.0, 1, "quota_vcpus"),
        (900.0, 1, "quota_vcpus"),
        (2100.0, 1, "quota_vcpus"),
        (3900.0, 1, "quota_vcpus"),
    ]
    assert refused[5][0] == 5700.0


def test_least_waste_picks_the_node_group_that_leaves_least_unused() -> None:
    small = vm_group("small", "k8s-b", 0, flavor="c4m8", min_count=0, max_count=6)
    data = scenario(
        node_groups=[vm_group("big", "k8s-a", 0, min_count=0, max_count=6), small],
        cluster={"autoscaler": {"node_provision_time": "0s"}},
        deployments=[deployment("web", 6, cpu="2")],
    )
    sim, cs = start(data)
    sim.env.run(until=1)
    groups = [cs.spec.node_groups[g].name for g in cs.info.group[cs.info.present]]
    # 6 pods of 2 cores: 3 small nodes (4 vCPU, 8 GiB) waste 75 % of their memory and no
    # CPU; 2 big ones (8 vCPU, 32 GiB) waste 25 % CPU and 91 % memory
    assert groups == ["small"] * 3
    assert len(pods_of(cs, "web")) == 6


def test_nodes_under_half_used_for_10_minutes_are_removed_down_to_the_minimum() -> None:
    data = scenario(
        node_groups=[vm_group("a", "k8s-a", 3, min_count=1, max_count=4)],
        cluster={"autoscaler": {}},
        deployments=[deployment("web", 2)],
    )
    sim, cs = start(data)
    assert containers_of(sim) is not None
    usage = int(sim.platform.usage[0, 0])
    assert len(set(nodes_of(cs, "web"))) == 2  # spread: one node is empty
    sim.env.run(until=599.9)
    assert cs.info.present.sum() == 3
    sim.env.run(until=600.1)  # 10 min under 50 %: the empty node goes first
    assert cs.info.present.sum() == 2
    sim.env.run(until=700)  # then a drained one whose pod fits elsewhere; the minimum stays
    assert cs.info.present.sum() == 1
    assert len(pods_of(cs, "web")) == 2 and len(set(nodes_of(cs, "web"))) == 1
    assert int(sim.platform.usage[0, 0]) == usage - 2 * 8
    result = sim.run()
    deleted = [
        e for e in result.tables["events"].to_pylist() if e["kind"] == "delete" and e["reason"]
    ]
    assert len(deleted) == 2 and all(e["reason"] == "node:k8s" for e in deleted)
    statuses = result.tables["pods"].column("status").to_pylist()
    assert statuses.count("evicted") == 1 and statuses.count("running") == 2


def test_the_hpa_follows_the_services_demand() -> None:
    data = scenario(
        node_groups=[vm_group("a", "k8s-a", 4)],
        deployments=[deployment("web", 2, cpu="1", startup="30s")],
        services=[{"name": "web", "cluster": "k8s", "deployment": "web", "demand": {"peak": "12"}}],
        hpas=[
            {
                "name": "web",
                "deployment": "web",
                "min_replicas": 2,
                "max_replicas": 30,
                "target_utilization": 60,
            }
        ],
        horizon="2d",
    )
    result = start(data)[0].run()
    services = result.tables["services"].to_pydict()
    replicas = np.array(services["replicas"])
    hour = (np.array(services["time"]) // 3600) % 24
    # peak 12 cores at 60 % of 1 core per pod: ~20 pods at office hours, the minimum at night
    assert 17 <= replicas[(hour >= 9) & (hour <= 11)].max() <= 22
    assert replicas[(hour >= 2) & (hour <= 4)].max() <= 4
    summary = result.summary["containers"]
    assert summary["hpa"]["rescales"] > 10
    assert summary["services"]["web"]["demand_served"] > 0.99
    # every sync the HPA made is consistent with its bounds and the pods that ran
    assert (replicas >= 2).all() and (replicas <= 30).all()
    assert (np.array(services["ready"]) <= replicas + 1).all()


def test_the_container_cloud_is_deterministic() -> None:
    data = scenario(
        node_groups=[vm_group("a", "k8s-a", 1, min_count=1, max_count=6)],
        cluster={"autoscaler": {}},
        deployments=[deployment("web", 2, startup="10s")],
        services=[{"name": "web", "cluster": "k8s", "deployment": "web", "demand": {"peak": "8"}}],
        hpas=[{"name": "web", "deployment": "web", "max_replicas": 20, "target_utilization": 50}],
        horizon="1d",
    )
    first = start(data)[0].run()
    second = start(data)[0].run()
    for name in ("pods", "services", "cluster_timeseries", "nodes"):
        assert first.tables[name].equals(second.tables[name]), name
    assert first.summary["containers"] == second.summary["containers"]
    assert PodPhase.EVICTED == 4


def test_bare_metal_node_hosts_leave_iaas_placement() -> None:
    # two of the four general hosts become bare-metal nodes: the portal's 4 VMs (one per
    # host, hard anti-affinity) find only the other two
    data = scenario(node_groups=[{"name": "metal", "pool": "general", "count": 2}])
    sim, cs = start(data)
    result = sim.run()
    taken = cs.nodes.host[cs.info.present].tolist()
    assert sorted(sim.hosts.names[h] for h in taken) == ["general-0000", "general-0001"]
    assert (sim.hosts.free[:, taken] == 0).all()  # the whole host is the node's
    used = {v["host"] for v in result.tables["vms"].to_pylist()}
    assert used.isdisjoint({"general-0000", "general-0001"})
    assert result.summary["vms_initial"] == 2 and result.summary["vms_initial_unplaced"] == 2


def test_a_pod_waiting_for_another_pod_is_retried_after_pod_max_unschedulable() -> None:
    affinity = {
        "required": [{"label_selector": {"match_labels": {"app": "db"}}, "topology_key": "zone"}]
    }
    data = scenario(deployments=[deployment("web", 1, pod_affinity=affinity), deployment("db", 0)])
    sim, cs = start(data)
    assert containers_of(sim) is not None
    assert len(pods_of(cs, "web", PENDING)) == 1  # no db pod anywhere yet
    sim.env.run(until=100)
    cs.desired[1] = 1  # the database comes up
    containers_of(sim).replicasets.poke()
    sim.env.run(until=299.9)
    assert len(pods_of(cs, "db")) == 1 and len(pods_of(cs, "web", PENDING)) == 1
    sim.env.run(until=300.1)  # kube-scheduler's 5-minute flush of unschedulable pods
    assert len(pods_of(cs, "web")) == 1
