"""Small planning scenarios whose answers are known in closed form."""

from __future__ import annotations

from typing import Any

from cloudsim import scenario_from_dict
from cloudsim.scenario.schema import Scenario

#: A host: 16 cores × 2 threads = 32 vCPUs (memory and disk never bind here).
HOST_VCPUS = 32
FLAVOR_VCPUS = 8


def pair_data(
    systems: int,
    vms: int,
    *,
    hosts: int = 2,
    fraction: float = 1.0,
    anti_affinity: str = "host",
    shrink: bool = True,
    survive: Any = "datacenter",
) -> dict[str, Any]:
    """Two active-active centres of one city, ``systems`` systems of ``vms`` identical
    8-vCPU cloud hosts split over both, no tenants' requests."""
    return {
        "meta": {"name": "pair", "horizon": "30d", "seed": 1},
        "sites": [{"name": "city"}, {"name": "far"}],
        "datacenters": [
            {"name": "dc-a", "site": "city"},
            {"name": "dc-b", "site": "city"},
            {"name": "dc-r", "site": "far", "role": "full-backup"},
        ],
        "links": [
            {"between": ["dc-a", "dc-b"], "latency_ms": 0.5, "bandwidth_gbps": "100Gbps"},
            {"between": ["dc-a", "dc-r"], "distance_km": 400, "bandwidth_gbps": "10Gbps"},
            {"between": ["dc-b", "dc-r"], "distance_km": 400, "bandwidth_gbps": "10Gbps"},
        ],
        "zones": [{"name": "z"}],
        "host_classes": [
            {"name": "h", "cores": 16, "threads_per_core": 2, "memory": "1024GiB", "disk": "100TB"}
        ],
        "pools": [
            {
                "name": "a",
                "datacenter": "dc-a",
                "zone": "z",
                "hosts": [{"host_class": "h", "count": hosts}],
            },
            {
                "name": "b",
                "datacenter": "dc-b",
                "zone": "z",
                "hosts": [{"host_class": "h", "count": hosts}],
            },
        ],
        "flavors": [{"name": "f8", "vcpus": FLAVOR_VCPUS, "memory": "16GiB", "disk": "100GB"}],
        "departments": [{"name": "d"}],
        "systems": [
            {
                "name": f"s{i}",
                "department": "d",
                "zone": "z",
                "datacenters": ["dc-a", "dc-b"],
                "anti_affinity": anti_affinity,
                "vms": [{"flavor": "f8", "count": vms}],
            }
            for i in range(systems)
        ],
        "workload": {"arrivals_per_day": 0},
        "dr": {
            "witness_site": "far",
            "systems": [{"match": "*", "mode": "active-active", "required_fraction": fraction}],
        },
        "plan": {"survive": survive, "pools": [{"match": "*", "shrink": shrink}]},
    }


def pair(systems: int, vms: int, **kwargs: Any) -> Scenario:
    return scenario_from_dict(
        pair_data(systems, vms, **kwargs), label="pair", check_feasibility=False
    )


def closed_form(systems: int, vms: int, anti_affinity: str = "host") -> int:
    """Hosts each centre needs to carry every system whole after the other centre is lost."""
    per_host = HOST_VCPUS // FLAVOR_VCPUS
    capacity = -(-systems * vms // per_host)
    return max(capacity, vms) if anti_affinity == "host" else capacity


def growing_data(
    hosts: int, per_day: float, growth: float, lifetime_days: float, years: float
) -> dict[str, Any]:
    """One pool of ``hosts`` hosts (4 cloud hosts each) taking a stream of single cloud
    hosts with fixed lifetimes: its runway has a closed form (see ``runway_month``)."""
    data = pair_data(1, 0, hosts=hosts, anti_affinity="none", survive="none")
    data["pools"] = data["pools"][:1]
    data["systems"][0]["datacenters"] = ["dc-a"]
    data["systems"][0]["vms"] = [{"flavor": "f8", "count": 0}]
    data["dr"] = None
    data["workload"] = {
        "arrivals_per_day": per_day,
        "growth_per_year": growth,
        "lifetime": {"distribution": "fixed", "value": f"{lifetime_days}d"},
        "batch": {"min": 1, "max": 1},
    }
    data["plan"] = {"survive": "none", "years": years}
    return data


def runway_month(hosts: int, per_day: float, growth: float, lifetime_days: float) -> float:
    """The month (fractional) when the expected cloud hosts alive, ``λ0 (e^{kt} -
    e^{k(t-L)}) / k`` with ``k = ln(1+g)/Y``, pass the pool's ``4 × hosts`` slots."""
    import math

    year = 365 * 86400.0
    k = math.log1p(growth) / year
    rate = per_day / 86400.0
    life = lifetime_days * 86400.0
    slots = hosts * HOST_VCPUS // FLAVOR_VCPUS
    t = math.log(slots * k / (rate * (1 - math.exp(-k * life)))) / k
    return t / (year / 12)
