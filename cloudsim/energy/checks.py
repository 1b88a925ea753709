"""Checks of the ``energy`` section: names it uses, each system covered once, traces readable."""

from __future__ import annotations

from collections.abc import Iterable

from cloudsim.energy.schema import Energy
from cloudsim.energy.trace import read_trace
from cloudsim.scenario.checks import Finding, events_problem
from cloudsim.scenario.schema import Scenario


def check_references(scenario: Scenario, section: Energy) -> list[Finding]:
    """Unknown systems, host classes and centres; a name given twice; a system with no
    profile or trace (unless a ``default_profile`` covers it)."""
    found: list[Finding] = []
    systems = {s.name for s in scenario.systems}
    classes = {hc.name for hc in scenario.host_classes}
    centres = {dc.name for dc in scenario.datacenters}
    profiles = {p.name for p in section.profiles}

    def known(loc: tuple[str | int, ...], name: str, names: set[str], what: str) -> None:
        if name not in names:
            found.append(Finding(("energy", *loc), f"unknown {what} {name!r}"))

    def once(key: str, names: Iterable[str], what: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                found.append(Finding(("energy", key, i), f"{what} {name!r} is given twice"))
            seen.add(name)

    once("profiles", (p.name for p in section.profiles), "profile")
    once("traces", (t.name for t in section.traces), "trace")
    once("power_curves", (c.host_class for c in section.power_curves), "host class")
    once("pue", (p.datacenter for p in section.pue), "data centre")
    once("capital", (c.host_class for c in section.capital), "host class")
    for i, c in enumerate(section.power_curves):
        known(("power_curves", i, "host_class"), c.host_class, classes, "host class")
    for i, cap in enumerate(section.capital):
        known(("capital", i, "host_class"), cap.host_class, classes, "host class")
    for i, p in enumerate(section.pue):
        known(("pue", i, "datacenter"), p.datacenter, centres, "data centre")
    if section.default_profile is not None:
        known(("default_profile",), section.default_profile, profiles, "profile")
    zoned = scenario.meta.start.tzinfo is not None
    for i, profile in enumerate(section.profiles):
        for j, campaign in enumerate(profile.campaigns):
            if (campaign.start.tzinfo is not None) != zoned:
                found.append(
                    Finding(
                        ("energy", "profiles", i, "campaigns", j, "start"),
                        "give a time zone both here and in meta.start, or in neither "
                        f"(meta.start is {scenario.meta.start.isoformat()})",
                    )
                )
    covered: dict[str, str] = {}
    listed = [("profiles", i, p.name, p.systems) for i, p in enumerate(section.profiles)]
    listed += [("traces", i, t.name, t.systems) for i, t in enumerate(section.traces)]
    for key, i, owner, names in listed:
        for k, name in enumerate(names):
            loc = (key, i, "systems", k)
            known(loc, name, systems, "system")
            if name in covered:
                found.append(
                    Finding(("energy", *loc), f"system {name!r} is already in {covered[name]}")
                )
            covered.setdefault(name, f"{key[:-1]} {owner!r}")
    if section.default_profile is None:
        missing = [s.name for s in scenario.systems if s.name not in covered]
        if missing:
            found.append(
                Finding(
                    ("energy", "default_profile"),
                    f"system {missing[0]!r} (and {len(missing) - 1} more) has no utilisation "
                    "profile or trace: list it in one, or set default_profile"
                    if len(missing) > 1
                    else f"system {missing[0]!r} has no utilisation profile or trace: list it "
                    "in one, or set default_profile",
                )
            )
    return found


def check_world(scenario: Scenario, section: Energy) -> list[Finding]:
    """Every trace folder readable, every value in range (file, row and column named); the
    controller's ticks within ``meta.max_events``."""
    found: list[Finding] = []
    for i, trace in enumerate(section.traces):
        try:
            read_trace(trace.path)
        except ValueError as exc:
            found.append(Finding(("energy", "traces", i, "path"), str(exc)))
    if not found:
        ticks = scenario.meta.horizon / section.tick
        too_many = events_problem(scenario, {("energy", "tick"): ticks})
        if too_many is not None:
            found.append(too_many)
    return found
