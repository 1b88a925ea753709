"""Local high availability: VMs of failed hosts restart on other hosts of their centre.

A VM on a host that goes down stops running at once (event ``vm_down``) and keeps holding
its allocation on that host until it runs again: then the allocation is released and the
placer (same system constraints, same centre) picks a host, possibly the repaired one. What
cannot be placed is recorded (``restart_failed`` with the placer's reason) and retried when
a host of its centre comes back; after ``give_up_after`` it is recorded as ``lost``. So every
VM is always running, waiting to restart, or recorded as lost — never silently dropped.

Restarts are batched: one event restarts every VM a failure stopped, critical systems
first, identical VMs of a system placed with one :meth:`Placer.place_batch`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np

from cloudsim.placement.core import Placer, Request
from cloudsim.records.events import EventKind
from cloudsim.scenario.faults import LocalHA as LocalHASettings
from cloudsim.state.hosts import PURPOSES, HostTable, IntArray
from cloudsim.state.vms import VMStatus, VMTable
from cloudsim.world import World
from cloudsim.world.inventory import make_request

STANDBY = PURPOSES.index("standby")
#: Restart order: critical systems first (as HA restart priorities do).
PRIORITY_RANK = {"critical": 0, "important": 1, "normal": 2}
Schedule = Callable[[float, Callable[[float], None]], None]
Record = Callable[..., None]
#: Ends a cloud host: ``delete(row, time, status)`` (the platform's).
Delete = Callable[[int, float, VMStatus], None]


@dataclass
class Waiting:
    """A VM that is not running: stopped by ``label`` at ``since``, last on host ``host``."""

    row: int
    host: int
    since: float
    state: Literal["restarting", "pending"]
    reason: str = ""


class LocalHA:
    """Restarts, retries and gives up on the VMs stopped by host failures."""

    def __init__(
        self,
        world: World,
        hosts: HostTable,
        placer: Placer,
        vms: VMTable,
        delete: Delete,
        record: Record,
        schedule: Schedule,
    ) -> None:
        self.settings: LocalHASettings = world.local_ha
        self.profiles = world.profiles
        self.hosts = hosts
        self.placer = placer
        self.vms = vms
        self.delete = delete
        self.record = record
        self.schedule = schedule
        self.rank = np.array(
            [PRIORITY_RANK[s.priority] for s in world.scenario.systems], dtype=np.int64
        )
        #: VMs not running, by vm_id (a tenant may delete one meanwhile: pruned lazily).
        self.waiting: dict[int, Waiting] = {}

    # -- state ------------------------------------------------------------------------------
    def _alive(self, vm_id: int, w: Waiting) -> bool:
        vms = self.vms
        if vms.live[w.row] and int(vms.ints["vm_id"][w.row]) == vm_id:
            return True
        del self.waiting[vm_id]  # deleted by its tenant while waiting
        return False

    def counts(self) -> dict[str, int]:
        """VMs waiting for a scheduled restart and VMs waiting for room."""
        out = {"restarting": 0, "pending": 0}
        for vm_id, w in list(self.waiting.items()):
            if self._alive(vm_id, w):
                out[w.state] += 1
        return out

    # -- host changes (from the faults module) ----------------------------------------
    def hosts_down(self, hosts: IntArray, time: float, label: str) -> None:
        """Stop every running VM on ``hosts`` and schedule their restart."""
        vms = self.vms
        down = np.zeros(self.hosts.size, dtype=np.bool_)
        down[hosts] = True
        host_col = vms.ints["host"]
        rows = np.flatnonzero(vms.live & down[np.maximum(host_col, 0)])
        stopped: list[int] = []
        for row in rows.tolist():
            vm_id = int(vms.ints["vm_id"][row])
            if vm_id in self.waiting:
                continue
            host = int(host_col[row])
            state: Literal["restarting", "pending"] = (
                "restarting" if self.settings.enabled else "pending"
            )
            self.waiting[vm_id] = Waiting(row, host, time, state)
            stopped.append(vm_id)
            self.record(
                time,
                EventKind.VM_DOWN,
                system=int(vms.ints["system"][row]),
                vm=vm_id,
                host=host,
                flavor=int(vms.ints["flavor"][row]),
                reason=label,
            )
        if not stopped:
            return
        if self.settings.enabled:
            self.schedule(time + self.settings.restart_time, partial(self.attempt, stopped))
        if self.settings.give_up_after is not None:
            self.schedule(time + self.settings.give_up_after, partial(self.give_up, stopped))

    def hosts_up(self, hosts: IntArray, time: float) -> None:
        """Retry the VMs waiting for room in the repaired hosts' centres (or on them)."""
        if not self.waiting:
            return
        if self.settings.enabled:
            centres = set(self.hosts.datacenter[hosts].tolist())
            host_dc = self.hosts.datacenter
            retry = [
                vm_id
                for vm_id, w in self.waiting.items()
                if w.state == "pending" and int(host_dc[w.host]) in centres
            ]
        else:
            back = set(hosts.tolist())
            retry = [
                vm_id
                for vm_id, w in self.waiting.items()
                if w.state == "pending" and w.host in back
            ]
        for vm_id in retry:
            self.waiting[vm_id].state = "restarting"
        if retry:
            self.schedule(time + self.settings.restart_time, partial(self.attempt, retry))

    def give_up(self, vm_ids: list[int], time: float) -> None:
        """Last attempt for VMs stopped ``give_up_after`` ago; what fails is lost."""
        limit = self.settings.give_up_after
        assert limit is not None
        due = [
            vm_id
            for vm_id in vm_ids
            if (w := self.waiting.get(vm_id)) is not None and w.since + limit <= time + 1e-9
        ]
        self.attempt(due, time, final=True)

    # -- restarting -------------------------------------------------------------------------
    def attempt(self, vm_ids: Iterable[int], time: float, final: bool = False) -> None:
        """Run the given waiting VMs again if there is room; record what could not."""
        vms = self.vms
        ids = [v for v in vm_ids if (w := self.waiting.get(v)) is not None and self._alive(v, w)]
        if not ids:
            return
        rows = np.array([self.waiting[v].row for v in ids], dtype=np.int64)
        system = vms.ints["system"][rows]
        order = np.lexsort((np.array(ids, dtype=np.int64), self.rank[system]))
        groups: dict[tuple[int, int, int, tuple[int, ...]], list[int]] = {}
        for k in order.tolist():
            row = int(rows[k])
            key = (
                int(vms.ints["system"][row]),
                int(vms.ints["flavor"][row]),
                int(vms.ints["datacenter"][row]),
                tuple(vms.demand[:, row].tolist()),  # a warm standby holds less
            )
            groups.setdefault(key, []).append(ids[k])
        for key, members in groups.items():
            failed, reason = (
                self._restart_group(key, members, time)
                if self.settings.enabled
                else self._restart_in_place(members, time)
            )
            if not failed:
                continue
            system_i, flavor, _, _ = key
            self.record(
                time,
                EventKind.RESTART_FAILED,
                system=system_i,
                flavor=flavor,
                count=len(failed),
                reason=reason,
            )
            for vm_id in failed:
                w = self.waiting[vm_id]
                if final:
                    del self.waiting[vm_id]
                    self.delete(w.row, time, VMStatus.LOST)
                else:
                    w.state = "pending"
                    w.reason = reason

    def _restart_group(
        self, key: tuple[int, int, int, tuple[int, ...]], members: list[int], time: float
    ) -> tuple[list[int], str]:
        system, _, dc, demand = key
        profile = self.profiles[system]
        req = make_request(profile, np.array(demand, dtype=np.int64), (dc,))
        if dc not in profile.datacenters:  # a disaster-recovery copy: standby pools too
            req = dataclasses.replace(req, purposes=(*req.purposes, STANDBY))
        for vm_id in members:  # release first: a VM may come back to its own slot
            self.placer.release(self.waiting[vm_id].host, req.demand, system)
        placed = self.placer.place_batch(req, len(members))
        failed = [vm_id for vm_id, host in zip(members, placed, strict=True) if host < 0]
        reason = self._why_not(req, dc) if failed else ""
        for vm_id, host in zip(members, placed, strict=True):
            if host >= 0:
                self._running(vm_id, host, time)
            else:  # keep holding the old host's allocation until it runs again
                self.placer.commit(self.waiting[vm_id].host, req)
        return failed, reason

    def _why_not(self, req: Request, dc: int) -> str:
        """The placer's reason, except that a centre with no host up says so."""
        if not self.hosts.up[self.hosts.datacenter == dc].any():
            return "no_host_up"
        return self.placer.reject_reason(req)

    def _restart_in_place(self, members: list[int], time: float) -> tuple[list[int], str]:
        failed = []
        for vm_id in members:
            host = self.waiting[vm_id].host
            if self.hosts.up[host]:
                self._running(vm_id, host, time)
            else:
                failed.append(vm_id)
        return failed, "own_host_down" if failed else ""

    def _running(self, vm_id: int, host: int, time: float) -> None:
        w = self.waiting.pop(vm_id)
        vms = self.vms
        vms.ints["host"][w.row] = host
        self.record(
            time,
            EventKind.RESTART,
            system=int(vms.ints["system"][w.row]),
            vm=vm_id,
            host=host,
            flavor=int(vms.ints["flavor"][w.row]),
        )
