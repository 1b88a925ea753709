"""Small scenarios with a container cloud, for the controller, service and replay tests."""

from __future__ import annotations

import copy
from typing import Any

from cloudsim import Simulation
from cloudsim.containers.runtime import ClusterState
from tests.conftest import build, containers_of, tiny

#: A container pool of 3 hosts in each of two centres (32 vCPU, 128 GiB each, no
#: overcommit): 4 node VMs of c8m32 per host.
POOLS: list[dict[str, Any]] = [
    {
        "name": "general",
        "datacenter": "dc1",
        "zone": "extranet",
        "hosts": [{"host_class": "std", "count": 4}],
        "cpu_overcommit": 2.0,
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
]


def deployment(name: str, replicas: int, cpu: str = "1", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "cluster": "k8s",
        "replicas": replicas,
        "requests": {"cpu": cpu, "memory": "1Gi"},
        **fields,
    }


def vm_group(name: str, pool: str, count: int, **fields: Any) -> dict[str, Any]:
    return {"name": name, "pool": pool, "flavor": "c8m32", "count": count, **fields}


def scenario(
    *,
    node_groups: list[dict[str, Any]] | None = None,
    horizon: str = "1d",
    faults: dict[str, Any] | None = None,
    quota: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
    **containers: Any,
) -> dict[str, Any]:
    """Two centres, a cluster ``k8s`` whose node VMs are cloud hosts of system ``platform``
    (department ``health``, which also owns ``portal``: 4 VMs of 4 vCPU)."""
    section: dict[str, Any] = {
        "clusters": [
            {
                "name": "k8s",
                "system": "platform",
                "node_groups": node_groups or [vm_group("a", "k8s-a", 2)],
                **(cluster or {}),
            }
        ],
    }
    section.update(copy.deepcopy(containers))
    data = tiny(
        meta={"name": "k8s", "horizon": horizon, "seed": 3, "sample_interval": "1h"},
        datacenters=[
            {"name": "dc1", "site": "city", "racks": 4, "power_domains": 2},
            {"name": "dc2", "site": "city", "racks": 4, "power_domains": 2},
        ],
        pools=POOLS,
        containers=section,
    )
    data["systems"].append(
        {
            "name": "platform",
            "department": "health",
            "zone": "extranet",
            "datacenters": ["dc1"],
            "anti_affinity": "none",
            "vms": [{"flavor": "c8m32", "count": 0}],
        }
    )
    if quota is not None:
        data["departments"] = [{"name": "health", "quota": quota}]
    if faults is not None:
        data["faults"] = faults
    return data


def start(data: dict[str, Any]) -> tuple[Simulation, ClusterState]:
    sim = Simulation(build(data))
    sim.start()
    assert containers_of(sim) is not None
    return sim, containers_of(sim).clusters[0]


def bound_per_deployment(cs: ClusterState) -> dict[str, int]:
    counts = cs.per_deployment(cs.bound_mask())
    return {d.name: int(counts[d.index]) for d in cs.deployments}
