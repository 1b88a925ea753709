"""The IaaS module's check: every system's cloud hosts can fit an empty platform.

It uses the real placer's filters (the scenario's own ``placement.filters`` included), so
"cannot fit anywhere" at validation means exactly what a rejection would mean at run time.
"""

from __future__ import annotations

import numpy as np

from cloudsim.kernel import Finding
from cloudsim.placement.core import ANTI_AFFINITY_LEVELS, Placer, Request
from cloudsim.world import World
from cloudsim.world.inventory import deal_datacenters, make_request


def check_fit(world: World) -> list[Finding]:
    """Systems that cannot be placed even on an empty platform, with the reason why.

    Each flavor must fit in each centre the system may use, and hard anti-affinity needs as
    many distinct hosts (racks) able to take the system's flavors as VMs dealt to a centre.
    """
    scenario = world.scenario
    hosts = world.hosts
    placer = Placer(hosts, np.random.default_rng(0), filters=scenario.placement.filters)
    demand = world.flavor_demand
    prefix = "cannot fit anywhere even on an empty platform"
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
            takes_any = np.zeros(hosts.size, dtype=np.bool_)
            for group in system.vms:
                req = make_request(profile, demand[:, world.flavors.index_of(group.flavor)], dcs)
                explanation = placer.explain(
                    Request(**{**req.__dict__, "system": -1, "anti_affinity": 0})
                )
                if explanation.host < 0:
                    removed = {k: v for k, v in explanation.removed_by.items() if v}
                    problem = (
                        f"{prefix}: flavor {group.flavor!r} in {where}, zone {system.zone!r}, "
                        f"arch {system.arch!r}: {explanation.reason} "
                        f"(hosts removed by each filter: {removed})"
                    )
                    break
                takes_any |= placer.static_mask(req) & np.all(
                    hosts.limit >= req.demand[:, None], axis=0
                )
            if problem is None and profile.anti_affinity:
                level = ANTI_AFFINITY_LEVELS[profile.anti_affinity]
                domains = (
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
