"""Feasibility of one candidate plan, by packing with the run's own placer.

A candidate gives each plannable pool a number of hosts in its growth group. The packer
holds one host table with every growth group at a ceiling (the compiled world of a scenario
with those counts) and marks the hosts beyond the candidate's counts down, so a candidate
costs no compilation: the placer's filters (zone, architecture, centre, pool purpose,
dedicated pools, anti-affinity, overcommit, the scenario's own filters) see exactly the
hosts the candidate has.

:meth:`Packer.normal` packs the state before any failure at one month's peak, in the order
of a run: the declared cloud hosts dealt over their centres, the container platform's node
VMs, the tenants' cloud hosts alive at the peak, then the warm standbys at their reduced
size. :meth:`Packer.failure` then takes a failure set down and recovers each system as its
DR design says (see :func:`recover`), on a copy of that state.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cloudsim.dr.capacity import DR_PURPOSES
from cloudsim.dr.plan import SystemPlan
from cloudsim.kernel.streams import random_stream
from cloudsim.placement.core import Placer, Request
from cloudsim.planning.demand import MonthDemand
from cloudsim.state.hosts import HostTable
from cloudsim.world import World
from cloudsim.world.inventory import deal_datacenters, make_request

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
PlacerFactory = Callable[[HostTable, np.random.Generator], Placer]

#: Kinds of shortfall that make a candidate infeasible outright (``tenant``: only past the
#: plan's ``max_reject``).
HARD = ("declared", "node", "warm standby", "scale-out", "promote", "cold standby", "restore")


@dataclass(frozen=True)
class Shortfall:
    """Cloud hosts of one kind that found no room."""

    kind: str
    system: int
    demand: tuple[int, ...]
    centres: tuple[int, ...]
    count: int
    reason: str
    purposes: tuple[int, ...] | None = None
    anti_affinity: bool = True


@dataclass(frozen=True)
class ByDesign:
    """A system the failure takes down whatever the capacity (its design has nowhere to go)."""

    system: int
    why: str


@dataclass
class PackState:
    """A packed platform: the host table, its placer and where every system runs."""

    hosts: HostTable
    placer: Placer
    running: IntArray  # (S, C) VMs running per system and centre
    #: Warm standby VMs: system -> [(host, flavor)] at their reduced size.
    warm: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    shortfalls: list[Shortfall] = field(default_factory=list)
    by_design: list[ByDesign] = field(default_factory=list)
    tenant_vms: int = 0
    tenant_unplaced: int = 0

    def clone(self) -> PackState:
        hosts, placer = copy.deepcopy((self.hosts, self.placer))
        return dataclasses.replace(
            self,
            hosts=hosts,
            placer=placer,
            running=self.running.copy(),
            warm={s: list(v) for s, v in self.warm.items()},
            shortfalls=list(self.shortfalls),
            by_design=list(self.by_design),
        )

    def hard(self) -> list[Shortfall]:
        return [s for s in self.shortfalls if s.kind in HARD]


@dataclass(frozen=True)
class GrowthGroup:
    """Where a plannable pool's growth group sits in the ceiling host table."""

    pool: int
    host_class: str
    start: int  # first host of the group
    ceiling: int  # hosts in the ceiling table
    now: int  # hosts the input scenario has


class Packer:
    """Packs candidates on the ceiling world (see the module docstring)."""

    def __init__(
        self,
        world: World,
        groups: list[GrowthGroup],
        plans: list[SystemPlan],
        placer_factory: PlacerFactory,
        nodes: list[tuple[int, tuple[int, ...], int, int]],
        purposes: Mapping[int, int] | None = None,
        seed: int = 0,
    ) -> None:
        """``world``: the ceiling world; ``nodes``: the container platform's node VMs as
        (system, demand, centre, count); ``purposes``: hosts whose purpose the container
        platform changed when it took them whole (bare-metal nodes)."""
        self.world = world
        self.seed = seed  # ties are drawn from the run's placement stream, as in the run
        self.groups = groups
        self.plans = plans
        self.placer_factory = placer_factory
        self.nodes = nodes
        self.hosts = world.hosts.copy()
        for h, purpose in (purposes or {}).items():
            self.hosts.purpose[h] = purpose
        self.n_centres = len(self.hosts.datacenter_names)
        self.demand = world.flavor_demand
        flavors = world.flavors
        self.declared = [
            [flavors.index_of(g.flavor) for g in system.vms for _ in range(g.count)]
            for system in world.scenario.systems
        ]
        dealt: list[tuple[int, int, tuple[int, ...], int]] = []
        for profile, system in zip(world.profiles, world.scenario.systems, strict=True):
            for flavor_name, dc, count in deal_datacenters(system):
                centres = profile.datacenters if dc is None else (world.datacenters.index_of(dc),)
                dealt.append((profile.index, flavors.index_of(flavor_name), centres, count))
        self.dealt = dealt

    # -- the candidate's hosts -------------------------------------------------------------
    def down_mask(self, counts: tuple[int, ...], failed: frozenset[int] = frozenset()) -> BoolArray:
        down = np.zeros(self.hosts.size, dtype=np.bool_)
        for group, k in zip(self.groups, counts, strict=True):
            down[group.start + k : group.start + group.ceiling] = True
        if failed:
            down |= np.isin(self.hosts.datacenter, np.array(sorted(failed)))
        return down

    def _place(
        self,
        state: PackState,
        kind: str,
        system: int,
        demand: IntArray,
        centres: tuple[int, ...],
        count: int,
        purposes: tuple[int, ...] | None = None,
        relax: bool = False,
    ) -> list[int]:
        """Place ``count`` VMs; records a shortfall for those that find no room."""
        if count <= 0:
            return []
        profile = self.world.profiles[system]
        req: Request = make_request(profile, demand, centres)
        if purposes is not None:
            req = dataclasses.replace(req, purposes=purposes)
        got = [h for h in state.placer.place_batch(req, count) if h >= 0]
        if len(got) < count and relax and req.anti_affinity:
            req = dataclasses.replace(req, anti_affinity=0)
            got += [h for h in state.placer.place_batch(req, count - len(got)) if h >= 0]
        if got:
            np.add.at(state.running[system], state.hosts.datacenter[np.array(got)], 1)
        if len(got) < count:
            state.shortfalls.append(
                Shortfall(
                    kind,
                    system,
                    tuple(int(x) for x in demand),
                    centres,
                    count - len(got),
                    state.placer.reject_reason(req),
                    purposes,
                    not relax,
                )
            )
        return got

    # -- the state before a failure ----------------------------------------------------------
    def normal(self, counts: tuple[int, ...], month: MonthDemand) -> PackState:
        hosts = self.hosts.copy()
        hosts.set_up(np.flatnonzero(self.down_mask(counts)), False)
        placer = self.placer_factory(hosts, random_stream(self.seed, "placement"))
        state = PackState(
            hosts, placer, np.zeros((len(self.plans), self.n_centres), dtype=np.int64)
        )
        for system, flavor, centres, count in self.dealt:
            self._place(state, "declared", system, self.demand[:, flavor], centres, count)
        for system, demand, centre, count in self.nodes:
            self._place(state, "node", system, np.array(demand, dtype=np.int64), (centre,), count)
        for system, flavor, count in zip(month.system, month.flavor, month.count, strict=True):
            s, f, n = int(system), int(flavor), int(count)
            profile = self.world.profiles[s]
            before = len(state.shortfalls)
            self._place(state, "tenant", s, self.demand[:, f], profile.datacenters, n)
            state.tenant_vms += n
            if len(state.shortfalls) > before:
                state.tenant_unplaced += state.shortfalls[-1].count
        for plan in self.plans:
            if plan.standby is None or plan.standby.kind != "warm":
                continue
            hosts_of: list[tuple[int, int]] = []
            for f in self.declared[plan.index][: plan.need]:
                small = np.maximum(np.ceil(self.demand[:, f] * plan.standby.size), 0)
                got = self._place(
                    state,
                    "warm standby",
                    plan.index,
                    small.astype(np.int64),
                    (plan.standby_dc,),
                    1,
                    DR_PURPOSES,
                    relax=True,
                )
                hosts_of.extend((h, f) for h in got)
            state.warm[plan.index] = hosts_of
            state.running[plan.index, plan.standby_dc] -= len(hosts_of)  # not serving yet
        return state

    # -- a failure ---------------------------------------------------------------------------
    def failure(self, normal: PackState, failed: frozenset[int]) -> PackState:
        """The state after ``failed`` centres are lost and every system recovered."""
        state = normal.clone()
        state.shortfalls = []
        state.by_design = []
        lost = np.isin(state.hosts.datacenter, np.array(sorted(failed))) & state.hosts.up
        state.hosts.set_up(np.flatnonzero(lost), False)
        for c in failed:
            state.running[:, c] = 0
        for plan in self.plans:
            recover(self, state, plan, failed)
        return state


def recover(packer: Packer, state: PackState, plan: SystemPlan, failed: frozenset[int]) -> None:
    """What the system's design does when ``failed`` centres are lost (as the DR controller
    and local HA of a run do):

    - a surviving home centre starts what the system lacks there to reach its required VMs
      (active-active scale-out); local HA alone (mode ``none``) restarts VMs only in their
      own centre, so a system without enough VMs left in its other centres is down until
      the repair, whatever the capacity;
    - with every home centre lost: a warm standby is promoted (resized to full), a cold one
      created, a backup restored where the design sends it; a design whose target is lost
      too, or that has none, is down by design.
    """
    s = plan.index
    home = plan.home
    if not failed.intersection(home):
        return
    survivors = tuple(c for c in home if c not in failed)
    have = int(state.running[s, list(survivors)].sum()) if survivors else 0
    declared = packer.declared[s]
    if survivors:
        if have >= plan.need:
            return
        if not plan.managed:
            state.by_design.append(
                ByDesign(
                    s,
                    f"local HA restarts VMs only in their own centre: {have} of the "
                    f"{plan.need} required VMs are left in its surviving centres",
                )
            )
            return
        missing = (
            declared[have : plan.need] if have < len(declared) else declared[: plan.need - have]
        )
        _place_flavors(packer, state, "scale-out", s, missing, survivors[0], None, relax=False)
        return
    if not plan.managed:
        state.by_design.append(ByDesign(s, "local HA only, and every centre of it is lost"))
        return
    if plan.standby is not None and plan.standby_dc not in failed:
        if plan.standby.kind == "warm":
            _promote(packer, state, plan)
        else:
            wanted = declared[: plan.need]
            _place_flavors(packer, state, "cold standby", s, wanted, plan.standby_dc, DR_PURPOSES)
        return
    if plan.backup is not None and plan.restore_to >= 0 and plan.restore_to not in failed:
        wanted = declared[: plan.need]
        _place_flavors(packer, state, "restore", s, wanted, plan.restore_to, DR_PURPOSES)
        return
    where = "its standby centre is lost too" if plan.standby is not None else "no remote copy"
    if plan.backup is not None:
        where = "the centre its backups are restored to is lost too"
    state.by_design.append(ByDesign(s, f"every centre of it is lost and {where}"))


def _place_flavors(
    packer: Packer,
    state: PackState,
    kind: str,
    system: int,
    flavors: list[int],
    centre: int,
    purposes: tuple[int, ...] | None,
    relax: bool = True,
) -> None:
    home = centre in packer.plans[system].home
    for f in sorted(set(flavors)):
        packer._place(
            state,
            kind,
            system,
            packer.demand[:, f],
            (centre,),
            flavors.count(f),
            None if home else purposes,
            relax=relax and not home,
        )


def _promote(packer: Packer, state: PackState, plan: SystemPlan) -> None:
    """Resize the warm standby's VMs to full (on their host when it has room, else on
    another host of the standby centre), as the DR controller does."""
    s = plan.index
    assert plan.standby is not None
    hosts = state.hosts
    promoted = 0
    for host, f in state.warm.get(s, []):
        full = packer.demand[:, f]
        small = np.maximum(np.ceil(full * plan.standby.size), 0).astype(np.int64)
        req = dataclasses.replace(
            make_request(packer.world.profiles[s], full, (plan.standby_dc,)),
            purposes=DR_PURPOSES,
            anti_affinity=0,
        )
        state.placer.release(host, small, s)
        if hosts.up[host] and np.all(hosts.free[:, host] >= full):
            state.placer.commit(host, req)
            promoted += 1
        elif state.placer.place(req) >= 0:
            promoted += 1
        else:
            state.placer.commit(host, dataclasses.replace(req, demand=small))
            state.shortfalls.append(
                Shortfall(
                    "promote",
                    s,
                    tuple(int(x) for x in full),
                    (plan.standby_dc,),
                    1,
                    state.placer.reject_reason(req),
                    DR_PURPOSES,
                    False,
                )
            )
    state.running[s, plan.standby_dc] += promoted
    missing = plan.need - promoted - sum(x.count for x in state.shortfalls if x.system == s)
    if missing > 0:  # standby VMs that were never created (no room at time 0)
        flavors = packer.declared[s][promoted : promoted + missing]
        _place_flavors(packer, state, "promote", s, flavors, plan.standby_dc, DR_PURPOSES)
