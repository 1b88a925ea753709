"""The IaaS module's checks: cloud hosts pinned to hosts (an imported estate) are where
they may be, and every system's cloud hosts can fit an empty platform.

It uses the real placer's filters (the scenario's own ``placement.filters`` included), so
"cannot fit anywhere" at validation means exactly what a rejection would mean at run time.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import numpy.typing as npt

from cloudsim.kernel import Finding
from cloudsim.placement.core import ANTI_AFFINITY_LEVELS, VM_PURPOSES, Explanation, Placer, Request
from cloudsim.scenario.schema import RESOURCE_UNITS, RESOURCES
from cloudsim.world import World
from cloudsim.world.inventory import deal_datacenters, make_request


def check_pins(world: World) -> list[Finding]:
    """Host names unique; each pinned cloud host on a known host of a pool it may use (zone,
    architecture, centre, purpose, dedication), hard anti-affinity kept, and no host given
    more than its pool's overcommitted capacity."""
    scenario = world.scenario
    hosts = world.hosts
    found: list[Finding] = []
    index: dict[str, int] = {}
    for h, name in enumerate(hosts.names):
        if name in index:
            pool = scenario.pools[int(hosts.pool[h])]
            found.append(
                Finding(
                    ("pools", int(hosts.pool[h]), "hosts"),
                    f"host name {name!r} is used twice (host names are unique)",
                    path=f"pools[{pool.name}].hosts",
                )
            )
        index.setdefault(name, h)
    if found:
        return found
    used = np.zeros_like(hosts.limit)
    for profile, system in zip(world.profiles, scenario.systems, strict=True):
        taken: dict[int, str] = {}
        for g, group in enumerate(system.vms):
            if group.hosts is None:
                continue
            demand = world.flavor_demand[:, world.flavors.index_of(group.flavor)]
            for k, name in enumerate(group.hosts):
                loc = ("systems", profile.index, "vms", g, "hosts", k)
                path = f"systems[{system.name}].vms.{g}.hosts.{k}"
                found_h = index.get(name)
                why = None
                h = -1 if found_h is None else found_h
                if found_h is None:
                    why = "is no host of any pool"
                elif int(hosts.zone[h]) != profile.zone:
                    why = (
                        f"is in zone {hosts.zone_names[int(hosts.zone[h])]!r}, not {system.zone!r}"
                    )
                elif profile.arch >= 0 and int(hosts.arch[h]) != profile.arch:
                    why = f"is not {system.arch}"
                elif int(hosts.datacenter[h]) not in profile.datacenters:
                    dc = hosts.datacenter_names[int(hosts.datacenter[h])]
                    why = f"is in data centre {dc!r}, not one of {system.datacenters}"
                elif int(hosts.purpose[h]) not in VM_PURPOSES:
                    why = "is in a pool whose purpose takes no tenant's cloud hosts"
                elif int(hosts.dedicated_to[h]) not in (-1, profile.department):
                    why = "is in a pool dedicated to another department"
                else:
                    level = ANTI_AFFINITY_LEVELS[profile.anti_affinity]
                    domain = int(hosts.rack[h]) if level == "rack" else h
                    if level != "none" and domain in taken:
                        why = (
                            f"breaks the system's anti_affinity {level!r}: "
                            f"{taken[domain]!r} shares its {level}"
                        )
                    taken.setdefault(domain, name)
                if why is not None:
                    found.append(Finding(loc, f"host {name!r} {why}", path=path))
                    continue
                used[:, h] += demand
                over = np.flatnonzero(used[:, h] > hosts.limit[:, h])
                if over.size:
                    r = int(over[0])
                    found.append(
                        Finding(
                            loc,
                            f"host {name!r} is full: the cloud hosts pinned to it need "
                            f"{int(used[r, h])} {RESOURCE_UNITS[r]} of {RESOURCES[r]}, its "
                            f"pool allows {int(hosts.limit[r, h])}",
                            path=path,
                        )
                    )
                    used[:, h] -= demand
    return found


def check_fit(world: World) -> list[Finding]:
    """Systems that cannot be placed even on an empty platform, with the reason why.

    Each flavor must fit in each centre the system may use, and hard anti-affinity needs as
    many distinct hosts (racks) able to take the system's flavors as VMs dealt to a centre.
    Systems asking for the same thing (zone, centres, architecture, pools, flavor) share one
    look at the hosts: a platform of a million hosts and ten thousand systems is checked in
    the time of its distinct requests, not of systems times hosts.
    """
    scenario = world.scenario
    hosts = world.hosts
    placer = Placer(hosts, np.random.default_rng(0), filters=scenario.placement.filters)
    demand = world.flavor_demand
    prefix = "cannot fit anywhere even on an empty platform"
    # the department matters only to pools dedicated to it (and to a scenario's own filters,
    # which may read anything: then nothing is shared)
    owners = {int(d) for d in hosts.dedicated_to[hosts.dedicated_to >= 0]}
    shared = not scenario.placement.filters
    explained: dict[Hashable, Explanation] = {}
    takers: dict[Hashable, npt.NDArray[np.bool_]] = {}
    domains_of: dict[tuple[frozenset[Hashable], str], int] = {}
    found: list[Finding] = []
    for profile, system in zip(world.profiles, scenario.systems, strict=True):
        places: list[tuple[str | None, tuple[int, ...]]] = (
            [(None, profile.datacenters)]
            if system.dc_placement == "any"
            else [(dc, (world.datacenters.index_of(dc),)) for dc in system.datacenters]
        )
        problem = None
        for dc, dcs in places:
            where = f"data centre {dc!r}" if dc else f"data centres {system.datacenters}"
            keys: list[Hashable] = []
            for group in system.vms:
                req = make_request(profile, demand[:, world.flavors.index_of(group.flavor)], dcs)
                bare = Request(**{**req.__dict__, "system": -1, "anti_affinity": 0})
                owner = bare.department if bare.department in owners else None
                key: Hashable = (
                    (bare.zone, bare.datacenters, bare.arch, bare.purposes, owner,
                     tuple(bare.demand.tolist()))
                    if shared
                    else (profile.index, dcs, group.flavor)
                )  # fmt: skip
                explanation = explained.get(key)
                if explanation is None:
                    explanation = explained[key] = placer.explain(bare)
                if explanation.host < 0:
                    removed = {k: v for k, v in explanation.removed_by.items() if v}
                    problem = (
                        f"{prefix}: flavor {group.flavor!r} in {where}, zone {system.zone!r}, "
                        f"arch {system.arch!r}: {explanation.reason} "
                        f"(hosts removed by each filter: {removed})"
                    )
                    break
                if profile.anti_affinity and key not in takers:
                    takers[key] = placer.static_mask(req) & np.all(
                        hosts.limit >= req.demand[:, None], axis=0
                    )
                keys.append(key)
            if problem is None and profile.anti_affinity:
                level = ANTI_AFFINITY_LEVELS[profile.anti_affinity]
                which = (frozenset(keys), level)
                domains = domains_of.get(which, -1)
                if domains < 0:
                    takes_any = np.zeros(hosts.size, dtype=np.bool_)
                    for key in keys:
                        takes_any |= takers[key]
                    domains = domains_of[which] = (
                        int(takes_any.sum())
                        if level == "host"
                        else len(np.unique(hosts.rack[takes_any]))
                    )
                dealt = sum(n for _, d, n in deal_datacenters(system) if d == dc)
                if dealt > domains:
                    problem = (
                        f"{prefix}: anti_affinity {level!r} needs {dealt} distinct {level}s in "
                        f"{where} but only {domains} can take the system's flavors"
                    )
            if problem is not None:
                loc = ("systems", profile.index)
                found.append(Finding(loc, problem, path=f"systems[{system.name}]"))
                break
    return found
