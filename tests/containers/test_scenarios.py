"""The containerised part of the Hunan reference scenario, end to end; the IaaS part it
leaves intact; validation of the new sections with field paths."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from cloudsim import ScenarioError, Simulation, load_scenario
from tests.conftest import REPO, build
from tests.containers.builders import deployment, scenario, vm_group

HUNAN = REPO / "scenarios" / "hunan-3s4c.yaml"


@pytest.fixture(scope="module")
def hunan_runs() -> tuple[Any, Any, Simulation]:
    scenario_ = load_scenario(HUNAN, {"meta.horizon": "3d"})
    sim = Simulation(scenario_)
    with_containers = sim.run()
    without = Simulation(scenario_.model_copy(update={"containers": None})).run()
    return with_containers, without, sim


def test_the_hunan_container_cluster_runs_end_to_end(hunan_runs: tuple[Any, Any, Any]) -> None:
    result, _, sim = hunan_runs
    summary = result.summary["containers"]
    cluster = summary["clusters"]["cs-k8s"]
    assert cluster["nodes_start"] == 6 and cluster["pods_pending_end"] == 0
    for name in ("zwfw-api", "xyb-api"):
        service = summary["services"][name]
        assert service["availability"] == 1.0 and service["demand_served"] > 0.999
    assert summary["hpa"]["rescales"] > 20
    services = result.tables["services"].to_pydict()
    assert set(services["system"]) == {"hn-zwfw-portal", "hn-xiangyiban"}
    replicas = np.array(services["replicas"])
    assert replicas.min() == 4 and replicas.max() > 8  # the HPAs follow the office day
    # the API pods are spread evenly over the two Changsha centres (max_skew 1)
    pods = [p for p in result.tables["pods"].to_pylist() if p["status"] == "running"]
    nodes = {n["name"]: n["datacenter"] for n in result.tables["nodes"].to_pylist()}
    for name in ("zwfw-api", "xyb-api"):
        centres = Counter(nodes[p["node"]] for p in pods if p["deployment"] == name)
        assert set(centres) == {"cs-idc", "cs-dc2"}
        assert abs(centres["cs-idc"] - centres["cs-dc2"]) <= 1
    # node VMs are cloud hosts of the platform system, within its department's quota
    vms = result.tables["vms"].to_pylist()
    platform = [v for v in vms if v["system"] == "hn-container-platform"]
    assert platform and {v["department"] for v in platform} == {"hn-cloud-ops"}
    assert {v["flavor"] for v in platform} == {"16c64g"}
    hosts = sim.hosts
    pools = {hosts.pool_names[hosts.pool[hosts.names.index(v["host"])]] for v in platform}
    assert pools == {"cs-idc-int-k8s", "cs-dc2-int-k8s"}
    department = [d.name for d in sim.scenario.departments].index("hn-cloud-ops")
    assert 0 < sim.platform.usage[0, department] <= 384


def test_the_iaas_figures_are_the_same_with_and_without_the_container_part(
    hunan_runs: tuple[Any, Any, Any],
) -> None:
    with_containers, without, _ = hunan_runs

    def iaas(result: Any) -> list[tuple[Any, ...]]:
        rows = result.tables["vms"].to_pylist()
        return sorted(
            (v["system"], v["flavor"], v["host"], v["created"], v["status"])
            for v in rows
            if v["system"] != "hn-container-platform"
        )

    assert iaas(with_containers) == iaas(without)
    for key in ("vms_initial", "vms_initial_unplaced", "rejections_by_reason"):
        assert with_containers.summary[key] == without.summary[key], key
    for pool, figures in without.summary["pools"].items():
        if not pool.endswith("-k8s"):  # the container pools hold the node VMs
            assert with_containers.summary["pools"][pool] == figures, pool


def test_containerised_systems_are_declared_by_their_deployments() -> None:
    s = load_scenario(HUNAN)
    containers = s.containers
    assert containers is not None
    systems = {d.system for d in containers.deployments}
    assert {"hn-zwfw-portal", "hn-xiangyiban"} <= systems
    (cluster,) = containers.clusters
    pools = {p.name: p for p in s.pools}
    assert {pools[g.pool].datacenter for g in cluster.node_groups} == {"cs-idc", "cs-dc2"}
    assert {pools[g.pool].purpose for g in cluster.node_groups} == {"container"}
    for d in containers.deployments[:2]:
        assert d.topology_spread[0].topology_key == "datacenter"
    assert {h.deployment for h in containers.hpas} == {"zwfw-api", "xyb-api"}


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        build(data)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"cluster": {"system": "portl"}},
            "containers.clusters[k8s].system: unknown system 'portl'; did you mean 'portal'?",
        ),
        (
            {
                "hpas": [
                    {"name": "h", "deployment": "wbe", "max_replicas": 3, "target_utilization": 50}
                ]
            },
            "containers.hpas[h].deployment: unknown deployment 'wbe'",
        ),
        (
            {"services": [{"name": "s", "cluster": "k8s", "deployment": "nope"}]},
            "containers.services[s].deployment: unknown deployment 'nope'",
        ),
        (
            {"replay": {"cluster": "k8s", "pods": "/no/such/pods.csv"}},
            "containers.replay.pods: no such openb pod list file: /no/such/pods.csv",
        ),
        (
            {"node_groups": [vm_group("a", "k8s-a", 1, max_count=0)]},
            "containers.clusters[k8s].node_groups[a]: autoscaled groups need min_count <= "
            "count <= max_count",
        ),
        (
            {"node_groups": [{"name": "m", "pool": "k8s-a", "max_count": 2}]},
            "only node groups of VMs (with a flavor) can be autoscaled",
        ),
    ],
)
def test_bad_container_sections_are_refused_with_the_field_path(
    changes: dict[str, Any], expected: str
) -> None:
    cluster = changes.pop("cluster", None)
    node_groups = changes.pop("node_groups", None)
    data = scenario(
        node_groups=node_groups,
        deployments=[deployment("web", 1)],
        **changes,
    )
    if cluster is not None:
        data["containers"]["clusters"][0].update(cluster)
    found = problems(data)
    assert any(expected in p for p in found), found


def test_vm_node_groups_need_a_system() -> None:
    data = scenario(deployments=[deployment("web", 1)])
    del data["containers"]["clusters"][0]["system"]
    (found,) = problems(data)
    assert found.startswith("containers.clusters[k8s].system: node groups ['a'] are VMs")
