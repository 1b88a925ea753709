"""Cloud hosts on the resource pools: creation under quotas, deletion, rejections with reasons.

The platform is the state every module acts on: the run's host table (through its placer),
the VM table, departments' quota usage and local HA. A request for N identical cloud hosts
is all-or-nothing (as a tenant's order is): quota is checked first, then the N are placed as
one batch and rolled back if any cannot be placed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

import numpy as np

from cloudsim.placement.core import Placer
from cloudsim.platform.ha import LocalHA, Schedule
from cloudsim.records.events import EventKind
from cloudsim.scenario.base import RESOURCES
from cloudsim.state.hosts import HostTable, IntArray
from cloudsim.state.vms import VMStatus, VMTable
from cloudsim.world import World
from cloudsim.world.inventory import SystemProfile, deal_datacenters, make_request

#: Quota kinds in the order of the department quota table's rows.
QUOTA_KINDS: tuple[str, ...] = ("vcpus", "memory", "disk", "vms")


Recorder = Callable[..., None]


def quota_limits(world: World) -> IntArray:
    """``(4, D)`` each department's quota per kind of :data:`QUOTA_KINDS` (-1: none)."""
    departments = world.scenario.departments
    quota = np.full((len(QUOTA_KINDS), len(departments)), -1, dtype=np.int64)
    for d, dept in enumerate(departments):
        for k, kind in enumerate(QUOTA_KINDS):
            value = getattr(dept.quota, kind)
            if value is not None:
                quota[k, d] = value
    return quota


def quota_need(demand: IntArray, flavor: int, count: int) -> IntArray:
    """What ``count`` cloud hosts of ``flavor`` take of a quota, per kind (whole vCPUs)."""
    d = demand[:, flavor]
    return np.array([d[0] // 1000 * count, d[1] * count, d[2] * count, count], dtype=np.int64)


class Platform:
    """The virtualisation cloud: every cloud host's creation, placement and end."""

    def __init__(
        self, world: World, hosts: HostTable, placer: Placer, record: Recorder, schedule: Schedule
    ) -> None:
        scenario = world.scenario
        self.world = world
        self.hosts = hosts
        self.placer = placer
        self.record = record
        self.vms = VMTable(initial_rows=max(1024, sum(s.vm_count for s in scenario.systems) * 2))
        self.demand = world.flavor_demand
        self.profiles = world.profiles
        self.quota = quota_limits(world)
        self.usage = np.zeros_like(self.quota)
        self.rejected: Counter[str] = Counter()
        self.initial_unplaced: Counter[str] = Counter()
        #: Local HA: restarts the cloud hosts of failed hosts (the faults module tells it).
        #: VM rows in the middle of a move (a maintenance drain's): they hold a place on two
        #: hosts, so they may not be resized until they run on one.
        self.moving: set[int] = set()
        self.ha = LocalHA(world, hosts, placer, self.vms, self.delete, record, schedule)

    def _quota_need(self, flavor: int, count: int) -> IntArray:
        return quota_need(self.demand, flavor, count)

    def _quota_blocker(self, department: int, need: IntArray) -> str | None:
        limits = self.quota[:, department]
        over = (limits >= 0) & (self.usage[:, department] + need > limits)
        if over.any():
            return f"quota_{QUOTA_KINDS[int(np.flatnonzero(over)[0])]}"
        return None

    def quota_room(self, department: int, flavor: int) -> int:
        """How many more cloud hosts of ``flavor`` the department's quota allows."""
        need = self._quota_need(flavor, 1)
        limits = self.quota[:, department]
        left = limits - self.usage[:, department]
        room = [int(left[k] // need[k]) for k in range(len(need)) if limits[k] >= 0 and need[k]]
        return max(min(room, default=2**31), 0)

    def quota_blocker(self, department: int, flavor: int, count: int) -> str | None:
        """The quota (``quota_vcpus``…) ``count`` more cloud hosts of ``flavor`` exceed."""
        return self._quota_blocker(department, self._quota_need(flavor, count))

    def reject(self, system: int, flavor: int, count: int, reason: str, time: float) -> None:
        """Record an order of ``count`` cloud hosts refused for ``reason``."""
        self.rejected[reason] += count
        self.record(
            time, EventKind.REJECT, system=system, count=count, reason=reason, flavor=flavor
        )

    def admit(
        self,
        system: int,
        flavor: int,
        hosts: list[int],
        time: float,
        *,
        kind: EventKind = EventKind.CREATE,
        reason: str = "",
    ) -> list[int]:
        """Cloud hosts already placed on ``hosts`` by another placer (the container cloud's
        node VMs): into the VM table, the quota's usage and the event log; their rows."""
        return self._admit(self.profiles[system], flavor, hosts, time, kind, reason=reason)

    def place_initial(self) -> None:
        """Place every system's declared cloud hosts at time 0, those pinned to hosts first
        (an imported estate's placement, checked at validation); record what does not fit."""
        world = self.world
        host_index = {name: i for i, name in enumerate(self.hosts.names)}
        for profile, system in zip(self.profiles, world.scenario.systems, strict=True):
            for group in system.vms:
                if group.hosts is None:
                    continue
                flavor = world.flavors.index_of(group.flavor)
                req = make_request(profile, self.demand[:, flavor])
                pinned = []
                for name in group.hosts:
                    host = host_index[name]
                    # validation compares pins with an empty platform; what the container
                    # cloud's node VMs took since is seen here: a full host leaves it out
                    if not (self.hosts.free[:, host] >= req.demand).all():
                        self.initial_unplaced["pinned_host_full"] += 1
                        self.record(
                            0.0, EventKind.UNPLACED, system=profile.index, count=1,
                            host=host, reason="pinned_host_full",
                        )  # fmt: skip
                        continue
                    self.placer.commit(host, req)
                    pinned.append(host)
                self._admit(profile, flavor, pinned, 0.0, kind=EventKind.INITIAL)
        for profile, system in zip(self.profiles, world.scenario.systems, strict=True):
            for flavor_name, dc, count in deal_datacenters(system):
                flavor = world.flavors.index_of(flavor_name)
                dcs = None if dc is None else (world.datacenters.index_of(dc),)
                req = make_request(profile, self.demand[:, flavor], dcs)
                placed = self.placer.place_batch(req, count)
                ok = [h for h in placed if h >= 0]
                self._admit(profile, flavor, ok, 0.0, kind=EventKind.INITIAL)
                missing = count - len(ok)
                if missing:
                    reason = self.placer.reject_reason(req)
                    self.initial_unplaced[reason] += missing
                    self.record(
                        0.0, EventKind.UNPLACED, system=profile.index, count=missing, reason=reason
                    )

    def request(self, system: int, flavor: int, count: int, time: float) -> list[int]:
        """A tenant's order for ``count`` cloud hosts; returns the VM rows or [] if rejected."""
        profile = self.profiles[system]
        need = self._quota_need(flavor, count)
        blocker = self._quota_blocker(profile.department, need)
        if blocker is None:
            req = make_request(profile, self.demand[:, flavor])
            placed = self.placer.place_batch(req, count)
            if placed and placed[-1] < 0:
                blocker = self.placer.reject_reason(req)
                for host in placed:
                    if host >= 0:
                        self.placer.release(host, req.demand, req.system)
            else:
                return self._admit(profile, flavor, placed, time, kind=EventKind.CREATE)
        self.reject(system, flavor, count, blocker, time)
        return []

    def _admit(
        self,
        profile: SystemProfile,
        flavor: int,
        hosts: list[int],
        time: float,
        kind: EventKind,
        demand: IntArray | None = None,
        reason: str = "",
    ) -> list[int]:
        rows = []
        for host in hosts:
            row = self.vms.add(
                system=profile.index,
                department=profile.department,
                flavor=flavor,
                host=host,
                datacenter=int(self.hosts.datacenter[host]),
                demand=self.demand[:, flavor] if demand is None else demand,
                time=time,
            )
            rows.append(row)
            self.record(
                time,
                kind,
                system=profile.index,
                count=1,
                host=host,
                vm=int(self.vms.ints["vm_id"][row]),
                flavor=flavor,
                reason=reason,
            )
        self.usage[:, profile.department] += self._quota_need(flavor, len(hosts))
        return rows

    def resize(self, row: int, flavor: int, time: float) -> str:
        """Resize the running cloud host ``row`` to ``flavor`` in place: the department's
        quota first (``quota_*``), then its own host's room under the pool's overcommit
        (``host_full_<resource>``, or ``host_down``), never a VM in the middle of a move
        (``moving``); "" when done (event ``resize``) — a
        refusal is event ``resize_refused`` with its reason."""
        ints = self.vms.ints
        old = int(ints["flavor"][row])
        host = int(ints["host"][row])
        system = int(ints["system"][row])
        department = int(ints["department"][row])
        delta = self.demand[:, flavor] - self.vms.demand[:, row]
        quota_delta = self._quota_need(flavor, 1) - self._quota_need(old, 1)
        reason = "moving" if row in self.moving else ""
        reason = reason or self._quota_blocker(department, np.maximum(quota_delta, 0)) or ""
        if not reason and not self.hosts.up[host]:
            reason = "host_down"
        if not reason:
            short = delta > self.hosts.free[:, host]
            if short.any():
                reason = f"host_full_{RESOURCES[int(np.flatnonzero(short)[0])]}"
        if not reason:
            self.hosts.allocate(host, delta)
            self.vms.demand[:, row] = self.demand[:, flavor]
            ints["flavor"][row] = flavor
            self.usage[:, department] += quota_delta
        self.record(
            time,
            EventKind.RESIZE_REFUSED if reason else EventKind.RESIZE,
            system=system,
            count=1,
            host=host,
            vm=int(ints["vm_id"][row]),
            flavor=flavor,
            reason=reason or f"from {self.world.flavors.names[old]}",
        )
        return reason

    def place_recovery(
        self,
        system: int,
        flavor: int,
        count: int,
        datacenter: int,
        time: float,
        *,
        reason: str,
        purposes: tuple[int, ...] | None = None,
        scale: float = 1.0,
    ) -> tuple[list[int], str]:
        """Start ``count`` VMs of a system in one centre for disaster recovery: no quota
        check (recovery is not a tenant's order) but usage is counted; each VM that cannot
        be placed is left out. Away from the system's own centres hard anti-affinity is best
        effort (a standby centre runs compressed). Returns the new rows and the placer's
        reason for any missing (event ``dr_create``; ``scale`` < 1: a warm standby's reduced
        resources)."""
        profile = self.profiles[system]
        demand = self.demand[:, flavor]
        if scale != 1.0:
            demand = np.maximum(np.ceil(demand * scale).astype(np.int64), 0)
        req = make_request(profile, demand, (datacenter,))
        if purposes is not None:
            req = dataclasses.replace(req, purposes=purposes)
        placed = [h for h in self.placer.place_batch(req, count) if h >= 0]
        if len(placed) < count and req.anti_affinity and datacenter not in profile.datacenters:
            req = dataclasses.replace(req, anti_affinity=0)
            placed += [h for h in self.placer.place_batch(req, count - len(placed)) if h >= 0]
        hosts = placed
        why = self.placer.reject_reason(req) if len(hosts) < count else ""
        rows = self._admit(profile, flavor, hosts, time, EventKind.DR_CREATE, demand, reason)
        return rows, why

    def delete(
        self,
        row: int,
        time: float,
        status: VMStatus = VMStatus.DELETED,
        *,
        kind: EventKind | None = None,
        reason: str = "",
        placer: Placer | None = None,
    ) -> None:
        """End a cloud host: free its host's resources and the department's quota
        (event ``delete``, ``lost``, or ``kind`` — ``dr_delete`` for disaster recovery).
        ``placer``: the one that placed it, when not the platform's (it keeps its own
        anti-affinity counts)."""
        ints = self.vms.ints
        host = int(ints["host"][row])
        system = int(ints["system"][row])
        flavor = int(ints["flavor"][row])
        if placer is None:
            self.placer.release(host, self.vms.demand[:, row].copy(), system)
        else:
            placer.release(host, self.vms.demand[:, row].copy())
        self.usage[:, int(ints["department"][row])] -= self._quota_need(flavor, 1)
        self.record(
            time,
            kind or (EventKind.DELETE if status == VMStatus.DELETED else EventKind.LOST),
            system=system,
            count=1,
            host=host,
            vm=int(ints["vm_id"][row]),
            flavor=flavor,
            reason=reason,
        )
        self.vms.remove(row, time, status)
