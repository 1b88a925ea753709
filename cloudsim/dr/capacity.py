"""The cloud hosts side of DR: what systems hold and lack per centre, whether the placer
finds room, and creating, resizing and shrinking recovery VMs through the placer.

Away from a system's own centres, requests may also use standby pools and hard
anti-affinity is best effort (a standby centre runs compressed).
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.dr.observation import Resources
from cloudsim.dr.plan import SystemPlan
from cloudsim.placement.core import VM_PURPOSES, Request
from cloudsim.platform.platform import Platform
from cloudsim.records import EventKind
from cloudsim.state.hosts import PURPOSES
from cloudsim.world import World
from cloudsim.world.inventory import make_request

IntArray = npt.NDArray[np.int64]
DR_PURPOSES: tuple[int, ...] = (*VM_PURPOSES, PURPOSES.index("standby"))
USABLE = np.array([p in DR_PURPOSES for p in range(len(PURPOSES))])


def triple(values: npt.NDArray[Any]) -> Resources:
    return (int(values[0]), int(values[1]), int(values[2]))


class RecoveryCapacity:
    """Queries and changes of the VMs DR creates, on the platform's tables."""

    def __init__(self, world: World, platform: Platform, plans: list[SystemPlan]) -> None:
        self.platform = platform
        self.placer = platform.placer
        self.hosts = platform.hosts
        self.ha = platform.ha
        self.plans = plans
        self.record = platform.record
        self.n_centres = len(self.hosts.datacenter_names)
        flavors = world.flavors
        self.declared = [
            [flavors.index_of(g.flavor) for g in system.vms for _ in range(g.count)]
            for system in world.scenario.systems
        ]

    # -- what is where ---------------------------------------------------------------------
    def held(self) -> IntArray:
        """(3, S, C) milli-vCPU, MiB and GB held by each system's live VMs per centre."""
        vms = self.platform.vms
        live = np.flatnonzero(vms.live)
        key = vms.ints["system"][live] * self.n_centres + vms.ints["datacenter"][live]
        size = len(self.plans) * self.n_centres
        out = np.zeros((3, size), dtype=np.int64)
        for r in range(3):
            out[r] = np.bincount(key, weights=vms.demand[r, live], minlength=size)
        return out.reshape(3, len(self.plans), self.n_centres)

    def running(self) -> IntArray:
        """(S, C) VMs of each system running (live, not waiting to restart) per centre."""
        vms = self.platform.vms
        running = vms.live.copy()
        waiting = [w.row for w in self.ha.waiting.values()]
        if waiting:
            running[np.array(waiting, dtype=np.int64)] = False
        rows = np.flatnonzero(running)
        key = vms.ints["system"][rows] * self.n_centres + vms.ints["datacenter"][rows]
        counts = np.bincount(key, minlength=len(self.plans) * self.n_centres)
        return counts.reshape(len(self.plans), self.n_centres)

    def free(
        self, centres: tuple[int, ...], reserved: list[tuple[int, int, Resources]]
    ) -> MappingProxyType[str, MappingProxyType[str, Resources]]:
        """Free resources on up hosts DR may use, per centre and zone, less what pending
        failovers (system, centre, demand) will take."""
        h = self.hosts
        usable = h.up & USABLE[h.purpose]
        zones = len(h.zone_names)
        key = (h.datacenter.astype(np.int64) * zones + h.zone)[usable]
        size = self.n_centres * zones
        free = np.array(
            [np.bincount(key, weights=h.free[r][usable], minlength=size) for r in range(3)]
        )
        for system, centre, need in reserved:
            zone = int(self.platform.profiles[system].zone)
            free[:, centre * zones + zone] -= np.array(need)
        np.maximum(free, 0, out=free)
        names = h.datacenter_names
        return MappingProxyType(
            {
                names[c]: MappingProxyType(
                    {h.zone_names[z]: triple(free[:, c * zones + z]) for z in range(zones)}
                )
                for c in centres
            }
        )

    def missing(
        self, plan: SystemPlan, centre: int, promoted: bool, running: IntArray | None = None
    ) -> list[int]:
        """Flavors of the VMs to start at ``centre`` to reach the system's need there
        (an unpromoted warm standby counts for nothing: it is resized, not added to)."""
        counts = running if running is not None else self.running()
        have = int(counts[plan.index, centre])
        if plan.standby is not None and centre == plan.standby_dc and not promoted:
            have = 0
        declared = self.declared[plan.index]
        lacking = max(0, plan.need - have)
        return declared[have : have + lacking] if have < len(declared) else declared[:lacking]

    def demand_at(
        self, plan: SystemPlan, centre: int, promoted: bool, running: IntArray | None = None
    ) -> tuple[Resources, bool]:
        """What starting the missing VMs at ``centre`` needs, and whether it fits now."""
        flavors = self.missing(plan, centre, promoted, running)
        demand = self.platform.demand
        cpu, mem, disk = (sum(int(demand[r, f]) for f in flavors) for r in range(3))
        return (cpu, mem, disk), self.fits(plan.index, flavors, centre)

    def fits(self, s: int, flavors: list[int], centre: int) -> bool:
        """Whether the placer's filters and free capacity take these VMs at ``centre``
        (greedy over the hosts that pass the filters; host anti-affinity counted as one VM
        per host at home; nothing is committed and no random number drawn)."""
        if not flavors:
            return True
        profile = self.platform.profiles[s]
        free = self.hosts.free.copy()
        big = np.iinfo(np.int64).max
        for f in sorted(set(flavors)):
            count = flavors.count(f)
            demand = self.platform.demand[:, f]
            cand = np.flatnonzero(self.placer.static_mask(self.request(s, demand, centre)))
            if not cand.size:
                return False
            need = demand[:, None]
            per = np.where(need > 0, free[:, cand] // np.maximum(need, 1), big)
            slots = np.maximum(per.min(axis=0), 0)
            if profile.anti_affinity == 1 and centre in profile.datacenters:
                slots = np.minimum(slots, 1)
            if slots.sum() < count:
                return False
            take = np.minimum(slots, np.maximum(0, count - (np.cumsum(slots) - slots)))
            free[:, cand] -= need * take[None, :]
        return True

    def request(self, s: int, demand: IntArray, centre: int) -> Request:
        """A placement request for system ``s`` in one centre."""
        profile = self.platform.profiles[s]
        req = make_request(profile, demand, (centre,))
        if centre not in profile.datacenters:
            req = replace(req, purposes=DR_PURPOSES)
        return req

    def vm_id(self, row: int) -> int:
        return int(self.platform.vms.ints["vm_id"][row])

    def row_of(self, vm_id: int) -> int | None:
        vms = self.platform.vms
        rows = np.flatnonzero(vms.live & (vms.ints["vm_id"] == vm_id))
        return int(rows[0]) if rows.size else None

    def live_rows(self, s: int, centre: int) -> list[int]:
        vms = self.platform.vms
        rows: list[int] = np.flatnonzero(
            vms.live & (vms.ints["system"] == s) & (vms.ints["datacenter"] == centre)
        ).tolist()
        return rows

    # -- changes -----------------------------------------------------------------------------
    def create(
        self, s: int, flavors: list[int], centre: int, time: float, reason: str, scale: float = 1.0
    ) -> tuple[list[int], int]:
        """Start VMs of system ``s`` at ``centre``; returns the rows and how many are missing
        (each shortfall recorded as ``dr_create_failed`` with the placer's reason)."""
        rows: list[int] = []
        missing = 0
        home = centre in self.plans[s].home
        for f in sorted(set(flavors)):
            count = flavors.count(f)
            got, why = self.platform.place_recovery(
                s,
                f,
                count,
                centre,
                time,
                reason=reason,
                purposes=None if home else DR_PURPOSES,
                scale=scale,
            )
            rows.extend(got)
            if len(got) < count:
                missing += count - len(got)
                self.record(
                    time,
                    EventKind.DR_CREATE_FAILED,
                    system=s,
                    flavor=f,
                    count=count - len(got),
                    reason=why,
                )
        return rows, missing

    def grow(self, vm_ids: list[int], s: int) -> tuple[int, list[int]]:
        """Resize a warm standby's running VMs to full size (same host, else another host of
        the centre). Returns how many grew and the rows of those that could not (left as
        they were)."""
        vms = self.platform.vms
        grown = 0
        stuck: list[int] = []
        for vm_id in vm_ids:
            row = self.row_of(vm_id)
            if row is None or vm_id in self.ha.waiting:
                continue
            flavor = int(vms.ints["flavor"][row])
            host = int(vms.ints["host"][row])
            small = vms.demand[:, row].copy()
            full = self.platform.demand[:, flavor]
            centre = int(self.hosts.datacenter[host])
            self.placer.release(host, small, s)
            if self.hosts.up[host] and np.all(self.hosts.free[:, host] >= full):
                self.placer.commit(host, self.request(s, full, centre))
                new_host = host
            else:
                new_host = self.placer.place(self.request(s, full, centre))
            if new_host < 0:
                self.placer.commit(host, self.request(s, small, centre))
                stuck.append(row)
                continue
            vms.demand[:, row] = full
            vms.ints["host"][row] = new_host
            grown += 1
        return grown, stuck

    def shrink(self, vm_ids: list[int], s: int, size: float) -> None:
        """Give a promoted warm standby's VMs back their standby size (in place)."""
        vms = self.platform.vms
        for vm_id in vm_ids:
            row = self.row_of(vm_id)
            if row is None:
                continue
            flavor = int(vms.ints["flavor"][row])
            host = int(vms.ints["host"][row])
            full = vms.demand[:, row].copy()
            small = np.maximum(np.ceil(self.platform.demand[:, flavor] * size), 0).astype(np.int64)
            self.placer.release(host, full, s)
            self.placer.commit(host, self.request(s, small, int(self.hosts.datacenter[host])))
            vms.demand[:, row] = small
