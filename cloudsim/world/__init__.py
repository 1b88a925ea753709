"""The world: everything about a scenario that does not change during a run, compiled once.

:func:`compile_world` turns a validated :class:`~cloudsim.scenario.schema.Scenario` into a
:class:`World`: the topology graph, the host table (read-only: each run works on its own
:meth:`~cloudsim.state.hosts.HostTable.copy`), the failure-domain catalog, interned
name-to-index maps, each flavor's demand and each system's placement profile, the defaults
of optional sections resolved, and one *design* per module (a module compiles its own
section, e.g. the DR plans or the container scheduler profiles). Validation and the run
share one world; nothing downstream of it reads the raw scenario's defaults again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cloudsim.scenario.faults import AvailabilityRule, LocalHA
from cloudsim.scenario.schema import Scenario
from cloudsim.state.hosts import HostTable, IntArray
from cloudsim.world.catalog import ComponentCatalog, scenario_witness_site
from cloudsim.world.inventory import SystemProfile, flavor_demand, system_profiles
from cloudsim.world.names import Names
from cloudsim.world.topology import Topology

__all__ = ["Names", "World", "compile_world", "with_designs"]


@dataclass(frozen=True)
class World:
    """A compiled scenario (see the module docstring); build it with :func:`compile_world`."""

    scenario: Scenario
    topology: Topology
    hosts: HostTable
    catalog: ComponentCatalog
    sites: Names
    datacenters: Names
    zones: Names
    pools: Names
    flavors: Names
    departments: Names
    systems: Names
    #: ``(R, F)`` integer demand of each flavor (milli-vCPU, MiB, GB, Mbit/s).
    flavor_demand: IntArray
    profiles: tuple[SystemProfile, ...]
    #: ``faults.availability``, or its defaults.
    availability: AvailabilityRule
    #: ``faults.local_ha``, or its defaults.
    local_ha: LocalHA
    #: The quorum witness's site (``dr.witness_site``, else ``faults.witness_site``).
    witness_site: str | None
    #: Each module's compiled section, by module name.
    designs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def horizon(self) -> float:
        return self.scenario.meta.horizon

    def design(self, module: str) -> Any:
        """What module ``module`` compiled from its section (KeyError if it compiled none)."""
        return self.designs[module]


def with_designs(core: World, designs: Mapping[str, Any]) -> World:
    """``core`` with the modules' designs (each compiled by its module from ``core``)."""
    return dataclasses.replace(core, designs=MappingProxyType(dict(designs)))


def compile_world(scenario: Scenario) -> World:
    """Compile ``scenario`` (already validated: names resolve) into a :class:`World` without
    designs; :func:`with_designs` adds the modules' own."""
    hosts = HostTable.from_scenario(scenario).freeze()
    demand = flavor_demand(scenario)
    demand.flags.writeable = False
    faults = scenario.faults
    return World(
        scenario=scenario,
        topology=Topology.from_scenario(scenario),
        hosts=hosts,
        catalog=ComponentCatalog(scenario, hosts),
        sites=Names("site", (s.name for s in scenario.sites)),
        datacenters=Names("data centre", hosts.datacenter_names),
        zones=Names("zone", hosts.zone_names),
        pools=Names("pool", hosts.pool_names),
        flavors=Names("flavor", (f.name for f in scenario.flavors)),
        departments=Names("department", (d.name for d in scenario.departments)),
        systems=Names("system", (s.name for s in scenario.systems)),
        flavor_demand=demand,
        profiles=tuple(system_profiles(scenario, hosts)),
        availability=faults.availability if faults is not None else AvailabilityRule(),
        local_ha=faults.local_ha if faults is not None else LocalHA(),
        witness_site=scenario_witness_site(scenario),
    )
