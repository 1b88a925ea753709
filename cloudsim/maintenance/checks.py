"""Checks of the ``maintenance`` section: targets, centres and times it names."""

from __future__ import annotations

from fnmatch import fnmatchcase

from cloudsim.maintenance.schema import Maintenance
from cloudsim.scenario.checks import Finding
from cloudsim.scenario.faults import seconds_after
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World

#: Component kinds a drain may target.
TARGET_KINDS: tuple[str, ...] = ("host", "rack", "power_domain", "datacenter", "site")


def check_references(scenario: Scenario, section: Maintenance) -> list[Finding]:
    """Unknown centres; system rules matching no system; drain names given twice; starts
    outside the run."""
    found: list[Finding] = []
    centres = {dc.name for dc in scenario.datacenters}
    for name in section.migration.lan_bandwidth_by_centre:
        if name not in centres:
            loc: tuple[str | int, ...] = (
                "maintenance",
                "migration",
                "lan_bandwidth_by_centre",
                name,
            )
            found.append(Finding(loc, f"unknown data centre {name!r}"))
    names = [system.name for system in scenario.systems]
    for i, rule in enumerate(section.systems):
        if not any(fnmatchcase(name, rule.match) for name in names):
            found.append(
                Finding(
                    ("maintenance", "systems", i, "match"),
                    f"{rule.match!r} matches no system: expected a system name or a pattern "
                    "(fnmatch) matching at least one",
                )
            )
        for k, name in enumerate(rule.move_to):
            if name not in centres:
                loc = ("maintenance", "systems", i, "move_to", k)
                found.append(Finding(loc, f"unknown data centre {name!r}"))
    seen: set[str] = set()
    horizon = scenario.meta.horizon
    for i, drain in enumerate(section.drains):
        if drain.name in seen:
            found.append(
                Finding(("maintenance", "drains", i, "name"), f"drain {drain.name!r} given twice")
            )
        seen.add(drain.name)
        try:
            start = seconds_after(drain.start, scenario.meta.start)
        except ValueError as exc:
            found.append(Finding(("maintenance", "drains", i, "start"), str(exc)))
            continue
        if not 0 <= start < horizon:
            found.append(
                Finding(
                    ("maintenance", "drains", i, "start"),
                    f"must fall within the run (0 to meta.horizon, {horizon:,.0f} s after "
                    f"meta.start), got {start:,.0f} s",
                )
            )
    return found


def check_world(world: World, section: Maintenance) -> list[Finding]:
    """Every target is a host, rack, power domain, centre or site with hosts."""
    found: list[Finding] = []
    for i, drain in enumerate(section.drains):
        loc = ("maintenance", "drains", i, "target")
        try:
            component = world.catalog.resolve(drain.target)
        except KeyError as exc:
            found.append(Finding(loc, str(exc.args[0])))
            continue
        if component.kind not in TARGET_KINDS:
            found.append(
                Finding(
                    loc,
                    f"{drain.target!r} is a {component.kind}: a drain targets a host, a rack, "
                    "a power domain, a data centre or a site",
                )
            )
        elif not len(world.catalog.hosts_of(component.kind, component.index)):
            found.append(Finding(loc, f"{drain.target!r} has no host to drain"))
    return found
