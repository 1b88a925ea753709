"""Validation of the ``faults`` section against the rest of the scenario.

Returns findings (location, message); the loader turns them into problems naming the file
that set the value. Runs on the compiled world, once names elsewhere are consistent.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from datetime import datetime
from fnmatch import fnmatchcase

import numpy as np

from cloudsim.faults.trace import FailureTrace, read_failure_trace
from cloudsim.kernel import Finding
from cloudsim.scenario.checks import Loc, events_problem
from cloudsim.scenario.faults import (
    COMPONENT_CLASSES,
    ComponentSelection,
    FaultTime,
    seconds_after,
)
from cloudsim.units import format_duration
from cloudsim.world import World
from cloudsim.world.catalog import HOST_DOMAINS


def fault_problems(world: World) -> list[Finding]:
    """Unknown targets and scopes, times outside the horizon, unreadable traces."""
    scenario = world.scenario
    faults = scenario.faults
    if faults is None:
        return []
    found: list[tuple[Loc, str]] = []
    meta = scenario.meta
    catalog = world.catalog

    def check_time(loc: Loc, at: FaultTime) -> None:
        try:
            offset = seconds_after(at, meta.start)
        except ValueError as exc:
            found.append((loc, str(exc)))
            return
        shown = at.isoformat() if isinstance(at, datetime) else format_duration(float(at))
        if offset < 0:
            found.append((loc, f"{shown} is before meta.start ({meta.start.isoformat()})"))
        elif offset >= meta.horizon:
            found.append(
                (loc, f"{shown} is at or after the horizon ({format_duration(meta.horizon)})")
            )

    if faults.corruption is not None:
        names = [system.name for system in scenario.systems]
        for k, glob in enumerate(faults.corruption.systems):
            if not any(fnmatchcase(name, glob) for name in names):
                found.append(
                    (("faults", "corruption", "systems", k), f"{glob!r} matches no system")
                )
    centres = set(catalog.names["datacenter"])
    pools = {p.name for p in scenario.pools}

    def unknown_names(where: Loc, only: ComponentSelection) -> bool:
        bad = False
        for field, given, known in (
            ("datacenters", only.datacenters, centres),
            ("pools", only.pools, pools),
        ):
            for k, name in enumerate(given or []):
                if name not in known:
                    close = difflib.get_close_matches(name, sorted(known), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    found.append(((*where, field, k), f"unknown {field[:-1]} {name!r}{hint}"))
                    bad = True
        return bad

    for kind, spec in faults.rates().items():
        only = spec.only
        if only is None:
            continue
        where: Loc = ("faults", kind, "only")
        unknown_names(where, only)
        if only.pools is not None and kind != "host":
            found.append(((*where, "pools"), f"pools select hosts, not {kind} components"))
        elif catalog.select(kind, only).size == 0:
            found.append((where, f"selects no {kind} component (nothing would fail)"))
    chosen: list[tuple[Loc, Sequence[str] | None, ComponentSelection | None]] = []
    for i, group in enumerate(faults.repair_groups):
        chosen.append((("faults", "repair_groups", i), group.classes, group.members))
    for i, rule in enumerate(faults.repair_priority):
        chosen.append((("faults", "repair_priority", i), rule.classes, rule.members))
    for where, classes, members in chosen:
        if members is not None and unknown_names((*where, "members"), members):
            continue
        kinds = list(classes or COMPONENT_CLASSES)
        if members is not None and members.pools is not None and kinds != ["host"]:
            found.append(((*where, "members", "pools"), "pools select hosts: give classes: [host]"))
        elif not any(catalog.select(kind, members).size for kind in kinds):
            found.append((where, "selects no component"))
    sites = set(catalog.names["site"])
    if faults.witness is not None and world.witness_site is None:
        found.append((("faults",), "failure rates for 'witness' need witness_site (where it runs)"))
    dr_site = scenario.dr.witness_site if scenario.dr is not None else None
    if None not in (dr_site, faults.witness_site) and dr_site != faults.witness_site:
        found.append(
            (
                ("faults", "witness_site"),
                f"{faults.witness_site!r} differs from dr.witness_site {dr_site!r} "
                "(there is one witness; give its site once)",
            )
        )
    if faults.witness_site is not None and faults.witness_site not in sites:
        close = difflib.get_close_matches(faults.witness_site, sorted(sites), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        found.append(
            (
                ("faults", "witness_site"),
                f"unknown site {faults.witness_site!r}{hint} (known: {', '.join(sorted(sites))})",
            )
        )
    if faults.link is not None and not scenario.links:
        found.append((("faults", "link"), "failure rates for links, but the scenario has none"))

    systems = [system.name for system in scenario.systems]
    for i, fault in enumerate(faults.scripted):
        loc: Loc = ("faults", "scripted", i, "target")
        if fault.effect == "corrupt":
            if fault.target not in systems:
                close = difflib.get_close_matches(fault.target, systems, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                found.append(
                    (
                        loc,
                        f"effect corrupt targets a business system; no system {fault.target!r}"
                        f"{hint}",
                    )
                )
        else:
            try:
                kind = catalog.resolve(fault.target).kind
            except KeyError as exc:
                found.append((loc, str(exc.args[0])))
            else:
                if fault.effect == "degrade" and kind != "link":
                    found.append(
                        (loc, f"{fault.target!r} is a {kind}; effect degrade applies to links")
                    )
        check_time(("faults", "scripted", i, "at"), fault.at)

    events: dict[Loc, float] = {}
    for i, trace in enumerate(faults.traces):
        if trace.scope is not None:
            try:
                kind = catalog.resolve(trace.scope).kind
            except KeyError as exc:
                found.append((("faults", "traces", i, "scope"), str(exc.args[0])))
            else:
                if kind not in HOST_DOMAINS or kind == "host":
                    found.append(
                        (
                            ("faults", "traces", i, "scope"),
                            f"{trace.scope!r} is a {kind}; a trace scope is a site, data "
                            "centre, power domain or rack (or absent: every host)",
                        )
                    )
        check_time(("faults", "traces", i, "start"), trace.start)
        try:
            data = read_failure_trace(trace.path)
        except ValueError as exc:
            found.append((("faults", "traces", i, "path"), str(exc)))
            continue
        events[("faults", "traces", i, "repeat" if trace.repeat else "path")] = trace_events(
            data, trace.repeat, meta.horizon, world.hosts.size
        )
    if not found:
        too_many = events_problem(scenario, events)
        if too_many is not None:
            return [too_many]
    return [Finding(loc, message) for loc, message in found]


def trace_events(trace: FailureTrace, repeat: bool, horizon: float, hosts: int) -> float:
    """Events a trace's rows make over the horizon (at most): a failure and a repair of each
    host a row takes (its intensity of ``hosts``, at least one); repeated as often as its
    span fits (a span of 0 repeated: infinitely many)."""
    rows = float(np.count_nonzero(trace.start < horizon))
    if not rows:
        return 0.0
    per_row = 2 * max(1.0, float(np.mean(trace.intensity)) * hosts)
    if not repeat:
        return rows * per_row
    if trace.span <= 0:
        return math.inf
    return len(trace) * (horizon / trace.span + 1) * per_row
