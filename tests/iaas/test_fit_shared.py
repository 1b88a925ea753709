"""The feasibility check shares one look at the hosts between systems asking the same thing:
its findings are those of the check that looked once per system (copied here)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim.composition import world_of
from cloudsim.iaas.checks import check_fit
from cloudsim.kernel import Finding
from cloudsim.placement.core import ANTI_AFFINITY_LEVELS, Placer, Request
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World
from cloudsim.world.inventory import deal_datacenters, make_request

PLATFORM: dict[str, Any] = {
    "meta": {"name": "fit", "horizon": "1d"},
    "sites": [{"name": "a"}],
    "datacenters": [{"name": "dc1", "site": "a", "racks": 3}, {"name": "dc2", "site": "a"}],
    "zones": [{"name": "z"}, {"name": "y"}],
    "host_classes": [
        {"name": "h", "cores": 8, "memory": "32GiB"},
        {"name": "arm", "cores": 8, "memory": "64GiB", "arch": "aarch64"},
    ],
    "pools": [
        {"name": "p1", "datacenter": "dc1", "zone": "z",
         "hosts": [{"host_class": "h", "count": 5}, {"host_class": "arm", "count": 2}]},
        {"name": "p2", "datacenter": "dc2", "zone": "z",
         "hosts": [{"host_class": "h", "count": 3}]},
        {"name": "py", "datacenter": "dc1", "zone": "y",
         "hosts": [{"host_class": "h", "count": 2}]},
        {"name": "own", "datacenter": "dc2", "zone": "y", "purpose": "dedicated",
         "dedicated_to": "owner", "hosts": [{"host_class": "arm", "count": 4}]},
    ],
    "flavors": [
        {"name": "small", "vcpus": 2, "memory": "4GiB"},
        {"name": "fat", "vcpus": 4, "memory": "48GiB"},  # arm hosts only
        {"name": "huge", "vcpus": 64, "memory": "8GiB"},  # nowhere
    ],
    "departments": [{"name": "owner"}, {"name": "other"}],
}  # fmt: skip

_systems = st.lists(
    st.fixed_dictionaries(
        {
            "department": st.sampled_from(["owner", "other"]),
            "zone": st.sampled_from(["z", "y"]),
            "arch": st.sampled_from(["x86_64", "aarch64", "any"]),
            "datacenters": st.sampled_from([["dc1"], ["dc2"], ["dc1", "dc2"]]),
            "dc_placement": st.sampled_from(["split", "any"]),
            "anti_affinity": st.sampled_from(["none", "host", "rack"]),
            "vms": st.lists(
                st.fixed_dictionaries(
                    {"flavor": st.sampled_from(["small", "fat", "huge"]),
                     "count": st.integers(0, 9)}
                ),
                min_size=1,
                max_size=3,
            ),
        }
    ),
    min_size=1,
    max_size=12,
)  # fmt: skip


# the check as it was before it shared its looks (the reference)
def check_fit_once_per_system(world: World) -> list[Finding]:
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems=_systems)
def test_shared_looks_find_what_one_look_per_system_found(systems: list[dict[str, Any]]) -> None:
    named = [{"name": f"s{i}", **s} for i, s in enumerate(systems)]
    world = world_of(Scenario.model_validate({**PLATFORM, "systems": named}))
    got = check_fit(world)
    want = check_fit_once_per_system(world)
    assert [(f.loc, f.message, f.path) for f in got] == [(f.loc, f.message, f.path) for f in want]


def test_systems_alike_but_for_their_centre_or_department_are_told_apart() -> None:
    # "fat" fits the arm hosts: in dc1 for anyone, in dc2 only in owner's dedicated pool
    def system(name: str, department: str, dc: str) -> dict[str, Any]:
        return {"name": name, "department": department, "zone": "y" if dc == "dc2" else "z",
                "arch": "aarch64", "datacenters": [dc], "anti_affinity": "host",
                "vms": [{"flavor": "fat", "count": 2}]}  # fmt: skip

    systems = [
        system("a", "owner", "dc2"),
        system("b", "other", "dc2"),
        system("c", "other", "dc1"),
    ]
    # three "fat" VMs need three hosts apart: dc1 has two arm hosts that take them, but with
    # a "small" group beside, the five x86 hosts count too (the same first group, not the
    # same set of groups)
    alone = {"name": "d", "department": "other", "zone": "z", "arch": "any",
             "datacenters": ["dc1"], "anti_affinity": "host",
             "vms": [{"flavor": "fat", "count": 3}]}  # fmt: skip
    beside = {**alone, "name": "e", "vms": [*alone["vms"], {"flavor": "small", "count": 0}]}
    world = world_of(Scenario.model_validate({**PLATFORM, "systems": [*systems, alone, beside]}))
    b, d = check_fit(world)
    assert b.path == "systems[b]" and "pool" in b.message
    assert d.path == "systems[d]"
    assert "needs 3 distinct hosts in data centre 'dc1' but only 2" in d.message
