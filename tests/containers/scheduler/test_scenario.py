"""The ``containers`` section: parsing, validation with field paths, and building clusters."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from cloudsim import ScenarioError
from cloudsim.containers import DEFAULT_FILTERS, PLUGINS, register_plugin
from cloudsim.containers.build import profile_of, setup_clusters, template_of
from cloudsim.containers.nodes import DATACENTER, HOST, RACK, SITE, ZONE
from cloudsim.placement.core import Placer
from cloudsim.scenario.containers import SchedulerProfile
from cloudsim.scenario.kubernetes import parse_cpu_milli, parse_pod_memory_mib
from cloudsim.state.hosts import HostTable
from tests.conftest import build, tiny

CONTAINERS: dict[str, Any] = {
    "priority_classes": [
        {"name": "high", "value": 1000},
        {"name": "batch", "value": -10, "preemption_policy": "Never", "global_default": True},
    ],
    "profiles": [
        {
            "name": "binpack",
            "plugins": {"NodeResourcesBalancedAllocation": 0},
            "fit": {"strategy": "MostAllocated", "resources": {"cpu": 2, "memory": 1}},
            "percentage_of_nodes_to_score": 50,
        }
    ],
    "clusters": [
        {
            "name": "stretched",
            "system": "portal",
            "node_groups": [
                {
                    "name": "a",
                    "pool": "k8s-a",
                    "flavor": "c8m32",
                    "count": 3,
                    "system_reserved": {"cpu": "500m", "memory": "1Gi"},
                },
                {
                    "name": "b",
                    "pool": "k8s-b",
                    "flavor": "c8m32",
                    "count": 3,
                    "system_reserved": {"cpu": "500m", "memory": "1Gi"},
                    "labels": {"tier": "b"},
                },
                {
                    "name": "metal",
                    "pool": "metal",
                    "count": 1,
                    "taints": [{"key": "dedicated", "value": "metal", "effect": "NoSchedule"}],
                },
            ],
        }
    ],
    "deployments": [
        {
            "name": "web",
            "cluster": "stretched",
            "replicas": 6,
            "priority_class": "high",
            "requests": {"cpu": "1", "memory": "2Gi"},
            "limits": {"cpu": "2", "memory": "4Gi"},
            "topology_spread": [{"max_skew": 1, "topology_key": "datacenter"}],
            "pod_anti_affinity": {
                "preferred": [
                    {
                        "weight": 100,
                        "pod_affinity_term": {
                            "label_selector": {"match_labels": {"app": "web"}},
                            "topology_key": "hostname",
                        },
                    }
                ]
            },
        },
        {
            "name": "jobs",
            "cluster": "stretched",
            "replicas": 2,
            "limits": {"cpu": "500m", "memory": "512Mi"},
            "scheduler_name": "binpack",
            "tolerations": [
                {
                    "key": "dedicated",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "toleration_seconds": "5m",
                }
            ],
            "node_affinity": {
                "required": [
                    {"match_expressions": [{"key": "zone", "operator": "In", "values": ["dc2"]}]}
                ]
            },
        },
    ],
    "pdbs": [
        {
            "name": "web",
            "cluster": "stretched",
            "selector": {"match_labels": {"app": "web"}},
            "min_available": "50%",
        }
    ],
}


def scenario_dict(**containers: Any) -> dict[str, Any]:
    section = copy.deepcopy(CONTAINERS)
    section.update(containers)
    return tiny(
        datacenters=[
            {"name": "dc1", "site": "city", "racks": 4, "power_domains": 2},
            {"name": "dc2", "site": "city", "racks": 4, "power_domains": 2},
        ],
        pools=[
            {
                "name": "general",
                "datacenter": "dc1",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 8}],
            },
            {
                "name": "k8s-a",
                "datacenter": "dc1",
                "zone": "extranet",
                "purpose": "container",
                "hosts": [{"host_class": "std", "count": 3}],
            },
            {
                "name": "k8s-b",
                "datacenter": "dc2",
                "zone": "extranet",
                "purpose": "container",
                "hosts": [{"host_class": "std", "count": 3}],
            },
            {
                "name": "metal",
                "datacenter": "dc2",
                "zone": "extranet",
                "purpose": "container",
                "hosts": [{"host_class": "std", "count": 2}],
            },
        ],
        containers=section,
    )


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        build(data)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def test_quantities_as_kubernetes_writes_them() -> None:
    assert [parse_cpu_milli(v) for v in ("500m", "0.5", 2, "2", 0.25)] == [
        500,
        500,
        2000,
        2000,
        250,
    ]
    assert [parse_pod_memory_mib(v) for v in ("512Mi", "4Gi", "4GiB", 64, "1Ti")] == [
        512,
        4096,
        4096,
        64,
        1048576,
    ]
    with pytest.raises(ValueError, match="whole millicores"):
        parse_cpu_milli("0.0001")
    with pytest.raises(ValueError, match="CPU quantity"):
        parse_cpu_milli("two")


def test_a_stretched_cluster_is_built_and_scheduled() -> None:
    scenario = build(scenario_dict())
    hosts = HostTable.from_scenario(scenario)
    placer = Placer(hosts, np.random.default_rng(0))
    setup = setup_clusters(scenario, hosts, placer, np.random.default_rng(1))["stretched"]
    nodes = setup.cluster.nodes
    assert nodes.size == 7 and setup.unplaced_nodes == {"a": 0, "b": 0}
    # a node VM inherits its host's labels; allocatable is the flavor minus the reserve
    first = nodes.labels.of(0)
    host = hosts.names.index(first[HOST])
    assert first[DATACENTER] == first[ZONE] == "dc1" and first[SITE] == "city"
    assert first[RACK] == hosts.rack_names[hosts.rack[host]]
    assert nodes.allocatable[:2, 0].tolist() == [7500, 32768 - 1024]
    assert nodes.labels.get("tier", 3) == "b"
    # the node VMs take their resources on the IaaS hosts
    assert hosts.free[0, host] == hosts.limit[0, host] - 8000
    setup.submit_all()
    for scheduler in setup.schedulers.values():
        scheduler.schedule_pending()
    cluster = setup.cluster
    cluster.check()
    pods = cluster.pods
    web = [r for r in range(pods.size) if pods.names[r].startswith("web")]
    centres = [nodes.labels.get(DATACENTER, int(pods.node[r])) for r in web]
    assert sorted(centres) == ["dc1"] * 3 + ["dc2"] * 3  # max_skew 1 over the two centres
    assert len({int(pods.node[r]) for r in web}) == 6  # preferred anti-affinity on hostname
    jobs = [r for r in range(pods.size) if pods.names[r].startswith("jobs")]
    assert {nodes.labels.get(DATACENTER, int(pods.node[r])) for r in jobs} == {"dc2"}
    assert cluster.disruptions_allowed(cluster.pdbs[0]) == 3


def test_templates_and_profiles_from_the_scenario() -> None:
    scenario = build(scenario_dict())
    containers = scenario.containers
    assert containers is not None
    web, jobs = containers.deployments
    t = template_of(web, containers)
    assert (t.cpu, t.memory, t.cpu_limit, t.memory_limit, t.priority) == (
        1000,
        2048,
        2000,
        4096,
        1000,
    )
    assert t.label_map == {"app": "web"} and t.owner == "web"
    assert t.topology_spread[0].topology_key == DATACENTER  # alias resolved
    assert t.topology_spread[0].label_selector == t.owner_selector  # defaults to own labels
    j = template_of(jobs, containers)
    assert (j.cpu, j.memory) == (500, 512)  # requests default to the limits
    assert (j.priority, j.preemption_policy) == (-10, "Never")  # the global default class
    assert j.tolerations[0].toleration_seconds == 300.0
    assert j.scheduler_name == "binpack"
    profile = profile_of(containers.profiles[0])
    assert profile.weights["NodeResourcesBalancedAllocation"] == 0
    assert profile.args["NodeResourcesFit"]["strategy"] == "MostAllocated"
    assert profile.percentage_of_nodes_to_score == 50
    assert profile.preemption


def test_a_profile_adds_a_registered_filter_plugin_after_the_defaults() -> None:
    from tests.containers.scheduler.test_plugins import EvenNodes

    with PLUGINS.scoped():
        register_plugin(EvenNodes)
        profile = profile_of(
            SchedulerProfile.model_validate({"name": "p", "filters": ["EvenNodes"]})
        )
    assert profile.filters[-1] == "EvenNodes" and len(profile.filters) == len(DEFAULT_FILTERS) + 1


def test_disabling_default_preemption_turns_preemption_off() -> None:
    profile = SchedulerProfile.model_validate({"name": "p", "disabled": ["DefaultPreemption"]})
    assert not profile_of(profile).preemption
    assert profile_of(SchedulerProfile.model_validate({"name": "q"})).preemption


def deployment(**fields: Any) -> dict[str, Any]:
    base = {"name": "web", "cluster": "stretched", "replicas": 1, "requests": {"cpu": "1"}}
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"profiles": [{"name": "p", "plugins": {"NodeResourceFit": 2}}]},
            "containers.profiles[p].plugins.NodeResourceFit: unknown scheduler plugin "
            "'NodeResourceFit'; did you mean 'NodeResourcesFit'?",
        ),
        (
            {"profiles": [{"name": "p", "disabled": ["TaintTolerations"]}]},
            "containers.profiles[p].disabled[0]: unknown scheduler plugin 'TaintTolerations'",
        ),
        (
            {"profiles": [{"name": "p", "plugins": {"NodeUnschedulable": 1}}]},
            "containers.profiles[p].plugins.NodeUnschedulable: plugin 'NodeUnschedulable' "
            "does not score",
        ),
        (
            {"profiles": [{"name": "p", "filters": ["NodeResourcesBalancedAllocation"]}]},
            "containers.profiles[p].filters[0]: plugin 'NodeResourcesBalancedAllocation' is "
            "not a filter",
        ),
        (
            {"profiles": [{"name": "p", "filters": ["EvenNode"]}]},
            "containers.profiles[p].filters[0]: unknown scheduler plugin 'EvenNode'",
        ),
        (
            {
                "deployments": [
                    deployment(topology_spread=[{"max_skew": 0, "topology_key": "zone"}])
                ]
            },
            "containers.deployments[web].topology_spread[0].max_skew: Input should be greater "
            "than or equal to 1",
        ),
        (
            {"deployments": [deployment(requests={"cpu": "64", "memory": "1Gi"})]},
            "containers.deployments[web].requests: requests (cpu 64000m, memory 1024 MiB) exceed "
            "the allocatable of every node of cluster 'stretched'",
        ),
        (
            {"deployments": [deployment(requests={"gpu_milli": 500})]},
            "containers.deployments[web].requests: requests (cpu 0m, memory 0 MiB, 500 "
            "milli-GPU of one GPU) exceed",
        ),
        (
            {
                "deployments": [
                    deployment(
                        node_affinity={
                            "required": [
                                {
                                    "match_expressions": [
                                        {"key": "datacenter", "operator": "In", "values": ["dc9"]}
                                    ]
                                }
                            ]
                        }
                    )
                ]
            },
            "containers.deployments[web].node_affinity.required: no node of cluster "
            "'stretched' can match it",
        ),
        (
            {"deployments": [deployment(node_selector={"tier": "gold"})]},
            "containers.deployments[web].node_selector: no node of cluster 'stretched' can match",
        ),
        (
            {
                "deployments": [
                    deployment(
                        topology_spread=[{"max_skew": 1, "topology_key": "example.com/room"}]
                    )
                ]
            },
            "containers.deployments[web].topology_spread[0].topology_key: no node of cluster "
            "'stretched' has the label 'example.com/room'",
        ),
        (
            {"deployments": [deployment(cluster="elsewhere")]},
            "containers.deployments[web].cluster: unknown cluster 'elsewhere'",
        ),
        (
            {"deployments": [deployment(priority_class="urgent")]},
            "containers.deployments[web].priority_class: unknown priority class 'urgent'",
        ),
        (
            {
                "deployments": [
                    deployment(tolerations=[{"key": "a", "operator": "Exists", "value": "b"}])
                ]
            },
            "containers.deployments[web].tolerations[0]: a toleration with operator "
            "Exists takes no value",
        ),
        (
            {"deployments": [deployment(tolerations=[{"key": "a", "toleration_seconds": "5m"}])]},
            "toleration_seconds is only valid with effect NoExecute",
        ),
        (
            {"deployments": [deployment(requests={"cpu": "1"}, limits={"cpu": "500m"})]},
            "requests.cpu must not exceed limits.cpu",
        ),
        (
            {
                "pdbs": [
                    {
                        "name": "x",
                        "cluster": "stretched",
                        "selector": {},
                        "min_available": 1,
                        "max_unavailable": 1,
                    }
                ]
            },
            "containers.pdbs[x]: give exactly one of min_available and max_unavailable",
        ),
    ],
)
def test_bad_input_is_refused_with_the_field_path(section: dict[str, Any], expected: str) -> None:
    found = problems(scenario_dict(**section))
    assert any(p.startswith(expected) or expected in p for p in found), found


def test_node_group_problems() -> None:
    clusters = copy.deepcopy(CONTAINERS["clusters"])
    groups = clusters[0]["node_groups"]
    groups[0]["pool"] = "k8s-x"
    groups[1]["flavor"] = "c64"
    groups[2]["count"] = 5
    groups[2]["labels"] = {"zone": "x"}
    found = problems(scenario_dict(clusters=clusters))
    assert any(
        p.startswith("containers.clusters[stretched].node_groups[a].pool: unknown pool 'k8s-x'")
        for p in found
    )
    assert any(
        p.startswith("containers.clusters[stretched].node_groups[b].flavor: unknown flavor 'c64'")
        for p in found
    )
    assert any("node_groups[metal].count: pool 'metal' has 2 hosts" in p for p in found)
    assert any(
        p.startswith(
            "containers.clusters[stretched].node_groups[metal].labels.zone: 'zone' is reserved"
        )
        for p in found
    )


def test_a_flavor_that_fits_no_host_of_its_pool() -> None:
    data = scenario_dict()
    data["flavors"].append({"name": "huge", "vcpus": 512, "memory": "4TiB"})
    data["containers"]["clusters"][0]["node_groups"][0]["flavor"] = "huge"
    found = problems(data)
    assert any(
        p.startswith(
            "containers.clusters[stretched].node_groups[a].flavor: flavor 'huge' fits on no host"
        )
        for p in found
    ), found
