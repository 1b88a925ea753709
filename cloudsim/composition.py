"""The composition root: which modules a run has, in which order, and the checks and world
they share.

Built-in modules, in the order they are built, start and contribute results:

1. ``iaas`` — the tenants' cloud hosts: initial placement, requests, departures;
2. ``faults`` — failures on the calendar (always on; nothing without a ``faults`` section);
3. ``ledger`` — the availability ledger (reads the records every module left);
4. ``dr`` — disaster recovery (with a ``dr`` section; extends the ledger's table);
   ``mlps`` — MLPS level-3 checks of the systems' DR designs (unless ``meta.mlps_checks``
   is ``ignore``; a summary key, nothing to run);
5. ``containers`` — clusters on the pools (with a ``containers`` section; its nodes are
   provisioned when it is built, before any module starts, so before the tenants' initial
   placement);
6. ``maintenance`` — drains of hosts, racks, power domains or centres, VMs moved by live
   migration over the run's shared links (with a ``maintenance`` section);
7. ``energy`` — utilisation, power, energy and cost (with an ``energy`` section; reads the
   VM table the modules before it left, one controller tick at a time).

A researcher's package adds a module through the ``cloudsim.modules`` entry-point group
(``name = "package.module:ModuleClass"``); those come after the built-ins, by name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

from cloudsim.containers.module import ContainersModule
from cloudsim.dr.mlps import MLPSModule
from cloudsim.dr.module import DRModule
from cloudsim.energy import EnergyModule
from cloudsim.faults.module import FaultsModule
from cloudsim.iaas.module import IaaSModule
from cloudsim.kernel import Module
from cloudsim.ledger import LedgerModule
from cloudsim.maintenance import MaintenanceModule
from cloudsim.placement.checks import placement_problems
from cloudsim.registry import Registry
from cloudsim.scenario.base import Model
from cloudsim.scenario.checks import Finding
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World, compile_world, with_designs

BUILTIN_MODULES: tuple[type[Module], ...] = (
    IaaSModule,
    FaultsModule,
    LedgerModule,
    DRModule,
    MLPSModule,
    ContainersModule,
    MaintenanceModule,
    EnergyModule,
)


def _check_module(name: str, module: type[Module]) -> None:
    if not (isinstance(module, type) and issubclass(module, Module)):
        raise TypeError("a module is a subclass of cloudsim.kernel.Module")
    if module.name != name:
        raise ValueError(f"the class {module.__name__} is named {module.name!r}")
    own = set(Scenario.model_fields) - {"extensions"}
    if module.schema is not None and (module.section is None or module.section in own):
        raise ValueError(
            f"its section {module.section!r} must be a new top-level key, not one of the "
            "scenario's own sections"
        )


#: Every module by name: the built-ins, then the ``cloudsim.modules`` entry-point group. A
#: module registered under a built-in's name replaces it (in the built-in's place).
MODULES: Registry[type[Module]] = Registry("module", group="cloudsim.modules", check=_check_module)
for _module in BUILTIN_MODULES:
    MODULES.register(_module.name, _module)


def all_modules() -> list[type[Module]]:
    """The built-in modules' places in order (each as registered now), then the others by
    name."""
    builtin = [m.name for m in BUILTIN_MODULES]
    extra = sorted(name for name in MODULES.names() if name not in builtin)
    return [MODULES.get(name) for name in (*builtin, *extra)]


def modules_for(scenario: Scenario) -> list[type[Module]]:
    """The modules a run of ``scenario`` has, in order."""
    return [m for m in all_modules() if m.enabled(scenario)]


# -- one world per scenario ------------------------------------------------------------------
class DesignError(ValueError):
    """A module could not compile its section (what its checks did not catch)."""

    def __init__(self, module: type[Module], cause: Exception) -> None:
        self.module = module
        super().__init__(f"module {module.name!r} cannot use its section: {cause}")


#: Worlds compiled lately, by (scenario identity, the modules whose designs it holds); a
#: world holds its scenario, so an identity is never reused while its entry is kept.
_WORLDS: OrderedDict[tuple[int, tuple[type[Module], ...]], World] = OrderedDict()
_KEPT = 16


def _world(scenario: Scenario, modules: tuple[type[Module], ...]) -> World:
    key = (id(scenario), modules)
    found = _WORLDS.get(key)
    if found is not None and found.scenario is scenario:
        _WORLDS.move_to_end(key)
        return found
    if modules:
        core = _world(scenario, ())
        designs = {}
        for module in modules:
            try:
                designs[module.name] = module.compile(core)
            except (ValueError, KeyError, TypeError) as exc:
                raise DesignError(module, exc) from exc
        world = with_designs(core, designs)
    else:
        world = compile_world(scenario)
    _WORLDS[key] = world
    while len(_WORLDS) > _KEPT:
        _WORLDS.popitem(last=False)
    return world


def core_world(scenario: Scenario) -> World:
    """The world without the modules' designs (what the modules' checks read)."""
    return _world(scenario, ())


def world_of(scenario: Scenario, modules: Sequence[type[Module]] | None = None) -> World:
    """The compiled world of ``scenario`` with the designs of ``modules`` (default: the
    modules it enables), compiled once: validation and the runs of one scenario object
    share it."""
    chosen = modules_for(scenario) if modules is None else modules
    return _world(scenario, tuple(chosen))


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
        modules = modules_for(scenario)
        found = [f for m in modules for f in m.check_world(world)]
        if found:
            return found
        try:  # what the checks passed must also compile (and the run reuses it)
            world_of(scenario)
        except DesignError as exc:
            section = exc.module.section
            found.append(Finding((section,) if section else (), str(exc)))
        return found

    def feasibility(self, scenario: Scenario) -> list[Finding]:
        world = core_world(scenario)
        return [f for m in modules_for(scenario) for f in m.check_feasibility(world)]


CHECKS = ModuleChecks()
