"""Validation of the ``dr`` section against the rest of the scenario.

Returns findings (location, message); the loader turns them into problems naming the file
that set the value. Runs on the compiled world, once names elsewhere are consistent.
"""

from __future__ import annotations

import numpy as np

from cloudsim.dr.plan import matching_entries
from cloudsim.dr.policies import POLICIES, make_policy
from cloudsim.kernel import Finding
from cloudsim.registry import did_you_mean
from cloudsim.scenario.checks import Loc
from cloudsim.world import World
from cloudsim.world.topology import Topology


def _sync_rtt(topology: Topology, a: str, b: str) -> float | None:
    """Round trip of the synchronous channel: the direct link if there is one, else the
    lowest-latency route (None: not connected)."""
    if topology.network.has_edge(a, b):
        return 2 * float(topology.network.edges[a, b]["latency_ms"])
    try:
        return topology.rtt_ms(a, b)
    except ValueError:
        return None


def dr_problems(world: World) -> list[Finding]:
    """Unknown names, impossible designs, synchronous pairs over the RTT limit, policies."""
    scenario = world.scenario
    dr = scenario.dr
    if dr is None:
        return []
    found: list[tuple[Loc, str]] = []
    topology = world.topology
    centres = set(topology.datacenters)
    sites = set(topology.sites)
    if dr.witness_site is not None:
        if dr.witness_site not in sites:
            found.append((("dr", "witness_site"), did_you_mean(dr.witness_site, sites, "site")))
        elif not topology.datacenters_of(dr.witness_site):
            found.append(
                (
                    ("dr", "witness_site"),
                    f"site {dr.witness_site!r} holds no data centre for the witness to run in "
                    "(heartbeats reach the witness through its site's centres)",
                )
            )

    rng = np.random.default_rng(0)
    for role in ("failover", "failback"):
        ref = getattr(dr, role)
        if ref.name not in POLICIES:
            found.append((("dr", role, "name"), POLICIES.unknown(ref.name)))
            continue
        try:
            make_policy(ref.name, ref.params, rng)
        except (ValueError, TypeError, KeyError) as exc:
            found.append((("dr", role, "params"), str(exc)))

    systems = scenario.systems
    if not systems:
        found.append(
            (
                ("dr",),
                "the scenario has no business systems for disaster recovery to protect "
                "(declare systems or a population, or remove the dr section)",
            )
        )
        return [Finding(loc, message) for loc, message in found]
    site_of = {dc.name: dc.site for dc in scenario.datacenters}
    witness = world.witness_site
    witness_loc: Loc = (
        ("dr", "witness_site") if dr.witness_site is not None else ("faults", "witness_site")
    )
    with_witness: list[str] = []
    chosen = matching_entries(dr, systems)
    limit = dr.sync_rtt_limit_ms
    for i, entry in enumerate(dr.systems):
        loc: Loc = ("dr", "systems", i)
        for j, name in enumerate(entry.datacenters or []):
            if name not in centres:
                found.append(((*loc, "datacenters", j), did_you_mean(name, centres, "data centre")))
        targets: list[tuple[Loc, str]] = []
        if entry.standby is not None:
            targets.append(((*loc, "standby", "datacenter"), entry.standby.datacenter))
        rep = entry.replication
        if rep.asynchronous is not None:
            targets.append(((*loc, "replication", "asynchronous", "to"), rep.asynchronous.to))
        if rep.backup is not None:
            targets.append(((*loc, "replication", "backup", "to"), rep.backup.to))
            if rep.backup.restore_to is not None:
                targets.append(
                    ((*loc, "replication", "backup", "restore_to"), rep.backup.restore_to)
                )
        bad_target = False
        for where, name in targets:
            if name not in centres:
                found.append((where, did_you_mean(name, centres, "data centre")))
                bad_target = True
        selected = [s for s, k in zip(systems, chosen, strict=True) if k == i]
        if not selected:
            names = [s.name for s in systems]
            if _glob(entry.match) or entry.match in names:
                message = (
                    f"selects no system: none matches {entry.match!r} with these selectors "
                    "that an earlier entry has not taken"
                )
            else:
                message = did_you_mean(entry.match, names, "system")
            found.append(((*loc, "match"), message))
            continue
        if bad_target:
            continue
        to_own: list[str] = []
        for system in selected:
            at = f"system {system.name!r} ({', '.join(system.datacenters)})"
            if entry.mode == "active-active" and len(system.datacenters) != 2:
                found.append(
                    (
                        (*loc, "mode"),
                        f"active-active needs exactly two centres; {at} has "
                        f"{len(system.datacenters)}",
                    )
                )
                continue
            if entry.standby is not None and entry.standby.datacenter in system.datacenters:
                found.append(
                    (
                        (*loc, "standby", "datacenter"),
                        f"the standby of {at} must be another centre than its own",
                    )
                )
                continue
            if rep.asynchronous is not None and rep.asynchronous.to in system.datacenters:
                to_own.append(at)
                continue
            if (
                entry.mode == "active-active"
                and witness is not None
                and site_of[system.datacenters[0]] == site_of[system.datacenters[1]] == witness
            ):
                with_witness.append(at)
            pair: tuple[str, str] | None = None
            if entry.sync:
                if entry.mode == "active-active":
                    pair = (system.datacenters[0], system.datacenters[1])
                elif entry.standby is not None:
                    pair = (system.datacenters[0], entry.standby.datacenter)
            if pair is not None:
                rtt = _sync_rtt(topology, *pair)
                if rtt is None:
                    found.append(
                        (
                            (*loc, "replication", "sync"),
                            f"synchronous replication of {at}: {pair[0]} and {pair[1]} "
                            "are not connected",
                        )
                    )
                elif rtt > limit:
                    found.append(
                        (
                            (*loc, "replication", "sync"),
                            f"synchronous replication of {at} between {pair[0]} and "
                            f"{pair[1]}: round trip {rtt:g} ms is over the limit of "
                            f"{limit:g} ms (dr.sync_rtt_limit_ms)",
                        )
                    )
            if rep.asynchronous is not None:
                try:
                    topology.path(system.datacenters[0], rep.asynchronous.to)
                except ValueError as exc:
                    found.append(((*loc, "replication", "asynchronous", "to"), str(exc)))
        if to_own:
            assert rep.asynchronous is not None
            found.append(
                (
                    (*loc, "replication", "asynchronous", "to"),
                    f"asynchronous replication must go to another centre than the system's "
                    f"own: {rep.asynchronous.to!r} is a centre of {_some(to_own)}",
                )
            )
    if with_witness:
        found.append(
            (
                witness_loc,
                f"the witness is on site {witness!r} with both centres of the active-active "
                f"{_some(with_witness)}: losing the site loses both centres and the quorum; "
                "put the witness on a third site",
            )
        )
    timeout_ms = dr.heartbeat.timeout * 1000
    for a, b in topology.network.edges:
        rtt = 2 * float(topology.network.edges[a, b]["latency_ms"])
        if rtt > timeout_ms:
            found.append(
                (
                    ("dr", "heartbeat", "timeout"),
                    f"{dr.heartbeat.timeout:g} s is shorter than the {rtt:g} ms round trip "
                    f"of {a}—{b}: every heartbeat over it would count as missed",
                )
            )
            break
    return [Finding(loc, message) for loc, message in found]


def _glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _some(items: list[str]) -> str:
    """The first of ``items``, and how many more."""
    more = len(items) - 1
    return items[0] + (f" (and {more} more)" if more else "")
