"""Small scenarios with faults, shared by the fault, ledger and drill tests."""

from __future__ import annotations

from typing import Any

from cloudsim import Scenario
from tests.conftest import build, tiny

#: Local HA off and instant restarts: a VM runs exactly while its own host is up.
IN_PLACE: dict[str, Any] = {"enabled": False, "restart_time": 0}


def exponential(mean: str) -> dict[str, str]:
    return {"distribution": "exponential", "mean": mean}


def hosts_with_one_system(
    hosts: int,
    vms: int,
    faults: dict[str, Any],
    *,
    horizon: str = "1500d",
    anti_affinity: str = "host",
) -> Scenario:
    """``hosts`` hosts (one per rack, one power domain) and one system of ``vms`` VMs."""
    return build(
        tiny(
            meta={"name": "unit", "horizon": horizon, "sample_interval": horizon, "seed": 1},
            datacenters=[{"name": "dc1", "site": "city", "racks": hosts, "power_domains": 1}],
            pools=[
                {
                    "name": "p",
                    "datacenter": "dc1",
                    "zone": "extranet",
                    "hosts": [{"host_class": "std", "count": hosts}],
                }
            ],
            systems=[
                {
                    "name": "svc",
                    "department": "health",
                    "zone": "extranet",
                    "datacenters": ["dc1"],
                    "anti_affinity": anti_affinity,
                    "vms": [{"flavor": "c4m8", "count": vms}],
                }
            ],
            faults=faults,
        )
    )


def two_centres(faults: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    """Two centres of one city (8 hosts, 4 racks, 2 power domains each) and a third site
    with a witness-capable site; three systems: active-active, dc1 only, dc2 only."""
    data = tiny(
        meta={"name": "two", "horizon": "30d", "seed": 1, "sample_interval": "1d"},
        sites=[{"name": "city"}, {"name": "far"}],
        datacenters=[
            {"name": "dc1", "site": "city", "racks": 4, "power_domains": 2},
            {"name": "dc2", "site": "city", "racks": 4, "power_domains": 2},
            {"name": "dr", "site": "far", "racks": 2, "power_domains": 1},
        ],
        links=[
            {"between": ["dc1", "dc2"], "distance_km": 30, "bandwidth_gbps": "100Gbps"},
            {"between": ["dc1", "dr"], "distance_km": 300, "bandwidth_gbps": "10Gbps"},
            {"between": ["dc2", "dr"], "distance_km": 300, "bandwidth_gbps": "10Gbps"},
        ],
        pools=[
            {
                "name": name,
                "datacenter": name,
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 8}],
                "cpu_overcommit": 2.0,
            }
            for name in ("dc1", "dc2")
        ]
        + [
            {
                "name": "dr",
                "datacenter": "dr",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 2}],
                "purpose": "standby",
            }
        ],
        systems=[
            {
                "name": "both",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1", "dc2"],
                "anti_affinity": "none",
                "vms": [{"flavor": "c4m8", "count": 8}],
            },
            {
                "name": "one",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1"],
                "anti_affinity": "none",
                "vms": [{"flavor": "c8m32", "count": 6}],
            },
            {
                "name": "two",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc2"],
                "anti_affinity": "none",
                "vms": [{"flavor": "c4m8", "count": 4}],
            },
        ],
    )
    if faults is not None:
        data["faults"] = faults
    data.update(sections)
    return data
