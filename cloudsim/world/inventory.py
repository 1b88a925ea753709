"""The inventory compiled once: each flavor's demand and each system's placement profile.

Indices refer to the host table's names (centres, zones) and the scenario's lists (systems,
departments, flavors); nothing downstream looks a name up again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from cloudsim.placement.core import ANTI_AFFINITY_LEVELS, Request
from cloudsim.scenario.schema import RESOURCES, Scenario, System
from cloudsim.state.hosts import ARCHES, HostTable, IntArray


def flavor_demand(scenario: Scenario) -> IntArray:
    """``(R, F)`` integer demand of each flavor: milli-vCPU, MiB, GB, Mbit/s."""
    return np.array(
        [[f.vcpus * 1000, f.memory, f.disk, f.network_mbps] for f in scenario.flavors],
        dtype=np.int64,
    ).T.reshape(len(RESOURCES), len(scenario.flavors))


def deal_datacenters(system: System) -> list[tuple[str, str | None, int]]:
    """(flavor, data centre or None for 'any', count) of the VMs the placer places (groups
    pinned to hosts are not dealt): 'split' deals VMs round-robin."""
    groups = [g for g in system.vms if g.hosts is None]
    if system.dc_placement == "any":
        return [(g.flavor, None, g.count) for g in groups]
    centres = system.datacenters
    k = len(centres)
    dealt: Counter[tuple[str, str]] = Counter()
    offset = 0  # VM j of the system (counting across groups) goes to centre j mod k
    for group in groups:
        end = offset + group.count
        for d, dc in enumerate(centres):
            first = offset + (d - offset) % k
            if first < end:
                dealt[(group.flavor, dc)] += (end - 1 - first) // k + 1
        offset = end
    return [(flavor, dc, n) for (flavor, dc), n in dealt.items()]


@dataclass(frozen=True)
class SystemProfile:
    """A system's placement constraints as indices into the host table."""

    index: int
    department: int
    zone: int
    arch: int
    datacenters: tuple[int, ...]
    anti_affinity: int


def system_profiles(scenario: Scenario, hosts: HostTable) -> list[SystemProfile]:
    dc = {name: i for i, name in enumerate(hosts.datacenter_names)}
    zone = {name: i for i, name in enumerate(hosts.zone_names)}
    dept = {d.name: i for i, d in enumerate(scenario.departments)}
    return [
        SystemProfile(
            index=i,
            department=dept[s.department],
            zone=zone[s.zone],
            arch=-1 if s.arch == "any" else ARCHES.index(s.arch),
            datacenters=tuple(dc[name] for name in s.datacenters),
            anti_affinity=ANTI_AFFINITY_LEVELS.index(s.anti_affinity),
        )
        for i, s in enumerate(scenario.systems)
    ]


def make_request(
    profile: SystemProfile, demand: IntArray, datacenters: tuple[int, ...] | None = None
) -> Request:
    """A placement request for one VM of ``profile``'s system (in ``datacenters`` if given)."""
    return Request(
        demand=demand,
        zone=profile.zone,
        datacenters=datacenters if datacenters is not None else profile.datacenters,
        arch=profile.arch,
        department=profile.department,
        system=profile.index,
        anti_affinity=profile.anti_affinity,
    )
