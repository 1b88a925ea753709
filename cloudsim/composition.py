"""The composition root: which modules a run has, in which order, and the checks and world
they share.

Built-in modules, in the order they are built, start and contribute results:

1. ``iaas`` — the tenants' cloud hosts: initial placement, requests, departures;
2. ``faults`` — failures on the calendar (always on; nothing without a ``faults`` section);
3. ``ledger`` — the availability ledger (reads the records every module left);
4. ``dr`` — disaster recovery (with a ``dr`` section; extends the ledger's table);
5. ``containers`` — clusters on the pools (with a ``containers`` section; its nodes are
   provisioned when it is built, before any module starts, so before the tenants' initial
   placement).

A researcher's package adds a module through the ``cloudsim.modules`` entry-point group
(``name = "package.module:ModuleClass"``); those come after the built-ins, by name.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence

from cloudsim.containers.module import ContainersModule
from cloudsim.dr.module import DRModule
from cloudsim.faults.module import FaultsModule
from cloudsim.iaas.module import IaaSModule
from cloudsim.kernel import Module
from cloudsim.ledger import LedgerModule
from cloudsim.placement.checks import placement_problems
from cloudsim.registry import Registry
from cloudsim.scenario.base import Model
from cloudsim.scenario.checks import Finding
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World, compile_world

BUILTIN_MODULES: tuple[type[Module], ...] = (
    IaaSModule,
    FaultsModule,
    LedgerModule,
    DRModule,
    ContainersModule,
)

#: Every module by name: the built-ins, then the ``cloudsim.modules`` entry-point group.
MODULES: Registry[type[Module]] = Registry("module", group="cloudsim.modules")
for _module in BUILTIN_MODULES:
    MODULES.register(_module.name, _module)


def all_modules() -> list[type[Module]]:
    """Built-in modules in their order, then the others by name."""
    builtin = set(BUILTIN_MODULES)
    extra = sorted((m for _, m in MODULES.items() if m not in builtin), key=lambda m: m.name)
    return [*BUILTIN_MODULES, *extra]


def modules_for(scenario: Scenario) -> list[type[Module]]:
    """The modules a run of ``scenario`` has, in order."""
    return [m for m in all_modules() if m.enabled(scenario)]


# -- one world per scenario ------------------------------------------------------------------
_CORE: dict[int, tuple[weakref.ref[Scenario], World]] = {}
_FULL: dict[int, tuple[weakref.ref[Scenario], World]] = {}


def _cached(
    cache: dict[int, tuple[weakref.ref[Scenario], World]], scenario: Scenario
) -> World | None:
    found = cache.get(id(scenario))
    if found is not None and found[0]() is scenario:
        return found[1]
    return None


def _remember(
    cache: dict[int, tuple[weakref.ref[Scenario], World]], scenario: Scenario, world: World
) -> World:
    key = id(scenario)
    cache[key] = (weakref.ref(scenario, lambda _: cache.pop(key, None)), world)
    return world


def core_world(scenario: Scenario) -> World:
    """The world without the modules' designs (what the modules' checks read)."""
    return _cached(_CORE, scenario) or _remember(_CORE, scenario, compile_world(scenario))


def world_of(scenario: Scenario, modules: Sequence[type[Module]] | None = None) -> World:
    """The compiled world of ``scenario`` with its modules' designs, compiled once (validation
    and every run of the same scenario object share it)."""
    if modules is not None:
        return _with_designs(core_world(scenario), modules)
    return _cached(_FULL, scenario) or _remember(
        _FULL, scenario, _with_designs(core_world(scenario), modules_for(scenario))
    )


def _with_designs(core: World, modules: Sequence[type[Module]]) -> World:
    designers = {m.name: m.compile for m in modules}
    return compile_world(core.scenario, designers, core=core)


# -- the checks the loader runs ------------------------------------------------------------------
class ModuleChecks:
    """The scenario checks of the placement section and every enabled module."""

    def sections(self) -> Mapping[str, type[Model]]:
        return {m.section: m.schema for m in all_modules() if m.section and m.schema}

    def references(self, scenario: Scenario) -> list[Finding]:
        found = placement_problems(scenario)
        for module in modules_for(scenario):
            found += module.check_references(scenario)
        return found

    def world(self, scenario: Scenario) -> list[Finding]:
        world = core_world(scenario)
        return [f for m in modules_for(scenario) for f in m.check_world(world)]

    def feasibility(self, scenario: Scenario) -> list[Finding]:
        world = core_world(scenario)
        return [f for m in modules_for(scenario) for f in m.check_feasibility(world)]


CHECKS = ModuleChecks()
