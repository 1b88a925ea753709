"""Cloud hosts on the resource pools: creation under quotas, deletion, rejections with reasons.

A request for N identical cloud hosts is all-or-nothing (as a tenant's order is): quota is
checked first, then the N are placed as one batch and rolled back if any cannot be placed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cloudsim.placement.core import ANTI_AFFINITY_LEVELS, Placer, Request
from cloudsim.scenario.schema import RESOURCES, Scenario, System
from cloudsim.state.hosts import ARCHES, HostTable, IntArray
from cloudsim.state.vms import VMStatus, VMTable

#: Quota kinds in the order of the department quota table's rows.
QUOTA_KINDS: tuple[str, ...] = ("vcpus", "memory", "disk", "vms")


def flavor_demand(scenario: Scenario) -> IntArray:
    """``(R, F)`` integer demand of each flavor: milli-vCPU, MiB, GB, Mbit/s."""
    return np.array(
        [[f.vcpus * 1000, f.memory, f.disk, f.network_mbps] for f in scenario.flavors],
        dtype=np.int64,
    ).T.reshape(len(RESOURCES), len(scenario.flavors))


def deal_datacenters(system: System) -> list[tuple[str, str | None, int]]:
    """(flavor, data centre or None for 'any', count): 'split' deals VMs round-robin."""
    if system.dc_placement == "any":
        return [(g.flavor, None, g.count) for g in system.vms]
    centres = system.datacenters
    k = len(centres)
    dealt: Counter[tuple[str, str]] = Counter()
    offset = 0  # VM j of the system (counting across groups) goes to centre j mod k
    for group in system.vms:
        end = offset + group.count
        for d, dc in enumerate(centres):
            first = offset + (d - offset) % k
            if first < end:
                dealt[(group.flavor, dc)] += (end - 1 - first) // k + 1
        offset = end
    return [(flavor, dc, n) for (flavor, dc), n in dealt.items()]


@dataclass(frozen=True)
class SystemProfile:
    """A system's placement constraints as indices into the host table."""

    index: int
    department: int
    zone: int
    arch: int
    datacenters: tuple[int, ...]
    anti_affinity: int


def system_profiles(scenario: Scenario, hosts: HostTable) -> list[SystemProfile]:
    dc = {name: i for i, name in enumerate(hosts.datacenter_names)}
    zone = {name: i for i, name in enumerate(hosts.zone_names)}
    dept = {d.name: i for i, d in enumerate(scenario.departments)}
    return [
        SystemProfile(
            index=i,
            department=dept[s.department],
            zone=zone[s.zone],
            arch=-1 if s.arch == "any" else ARCHES.index(s.arch),
            datacenters=tuple(dc[name] for name in s.datacenters),
            anti_affinity=ANTI_AFFINITY_LEVELS.index(s.anti_affinity),
        )
        for i, s in enumerate(scenario.systems)
    ]


def make_request(
    profile: SystemProfile, demand: IntArray, datacenters: tuple[int, ...] | None = None
) -> Request:
    return Request(
        demand=demand,
        zone=profile.zone,
        datacenters=datacenters if datacenters is not None else profile.datacenters,
        arch=profile.arch,
        department=profile.department,
        system=profile.index,
        anti_affinity=profile.anti_affinity,
    )


def check_fit(scenario: Scenario) -> list[tuple[int, str]]:
    """Systems that cannot be placed even on an empty platform, with the reason why.

    Each flavor must fit in each centre the system may use, and hard anti-affinity needs as
    many distinct hosts (racks) able to take the system's flavors as VMs dealt to a centre.
    """
    hosts = HostTable.from_scenario(scenario)
    placer = Placer(hosts, np.random.default_rng(0))
    demand = flavor_demand(scenario)
    flavor_index = {f.name: i for i, f in enumerate(scenario.flavors)}
    dc_index = {name: i for i, name in enumerate(hosts.datacenter_names)}
    prefix = "cannot fit anywhere even on an empty platform"
    found: list[tuple[int, str]] = []
    for profile, system in zip(system_profiles(scenario, hosts), scenario.systems, strict=True):
        places: list[tuple[str | None, tuple[int, ...]]] = (
            [(None, profile.datacenters)]
            if system.dc_placement == "any"
            else [(dc, (dc_index[dc],)) for dc in system.datacenters]
        )
        problem = None
        for dc, dcs in places:
            where = f"data centre {dc!r}" if dc else f"data centres {system.datacenters}"
            takes_any = np.zeros(hosts.size, dtype=np.bool_)
            for group in system.vms:
                req = make_request(profile, demand[:, flavor_index[group.flavor]], dcs)
                explanation = placer.explain(
                    Request(**{**req.__dict__, "system": -1, "anti_affinity": 0})
                )
                if explanation.host < 0:
                    removed = {k: v for k, v in explanation.removed_by.items() if v}
                    problem = (
                        f"{prefix}: flavor {group.flavor!r} in {where}, zone {system.zone!r}, "
                        f"arch {system.arch!r}: {explanation.reason} "
                        f"(hosts removed by each filter: {removed})"
                    )
                    break
                takes_any |= placer.static_mask(req) & np.all(
                    hosts.limit >= req.demand[:, None], axis=0
                )
            if problem is None and profile.anti_affinity:
                level = ANTI_AFFINITY_LEVELS[profile.anti_affinity]
                domains = (
                    int(takes_any.sum())
                    if level == "host"
                    else len(np.unique(hosts.rack[takes_any]))
                )
                dealt = sum(n for _, d, n in deal_datacenters(system) if d == dc)
                if dealt > domains:
                    problem = (
                        f"{prefix}: anti_affinity {level!r} needs {dealt} distinct {level}s in "
                        f"{where} but only {domains} can take the system's flavors"
                    )
            if problem is not None:
                found.append((profile.index, problem))
                break
    return found


Recorder = Callable[..., None]


class Platform:
    """The virtualisation cloud: every cloud host's creation, placement and end."""

    def __init__(
        self, scenario: Scenario, hosts: HostTable, placer: Placer, record: Recorder
    ) -> None:
        self.scenario = scenario
        self.hosts = hosts
        self.placer = placer
        self.record = record
        self.vms = VMTable(initial_rows=max(1024, sum(s.vm_count for s in scenario.systems) * 2))
        self.demand = flavor_demand(scenario)
        self.flavor_index = {f.name: i for i, f in enumerate(scenario.flavors)}
        self.dc_index = {name: i for i, name in enumerate(hosts.datacenter_names)}
        self.profiles = system_profiles(scenario, hosts)
        departments = scenario.departments
        self.quota = np.full((len(QUOTA_KINDS), len(departments)), -1, dtype=np.int64)
        for d, dept in enumerate(departments):
            for k, kind in enumerate(QUOTA_KINDS):
                value = getattr(dept.quota, kind)
                if value is not None:
                    self.quota[k, d] = value
        self.usage = np.zeros_like(self.quota)
        self.rejected: Counter[str] = Counter()
        self.initial_unplaced: Counter[str] = Counter()

    def _quota_need(self, flavor: int, count: int) -> IntArray:
        d = self.demand[:, flavor]
        return np.array([d[0] // 1000 * count, d[1] * count, d[2] * count, count], dtype=np.int64)

    def _quota_blocker(self, department: int, need: IntArray) -> str | None:
        limits = self.quota[:, department]
        over = (limits >= 0) & (self.usage[:, department] + need > limits)
        if over.any():
            return f"quota_{QUOTA_KINDS[int(np.flatnonzero(over)[0])]}"
        return None

    def place_initial(self) -> None:
        """Place every system's declared cloud hosts at time 0; record what does not fit."""
        for profile, system in zip(self.profiles, self.scenario.systems, strict=True):
            for flavor_name, dc, count in deal_datacenters(system):
                flavor = self.flavor_index[flavor_name]
                dcs = None if dc is None else (self.dc_index[dc],)
                req = make_request(profile, self.demand[:, flavor], dcs)
                placed = self.placer.place_batch(req, count)
                ok = [h for h in placed if h >= 0]
                self._admit(profile, flavor, ok, 0.0, kind="initial")
                missing = count - len(ok)
                if missing:
                    reason = self.placer.reject_reason(req)
                    self.initial_unplaced[reason] += missing
                    self.record(0.0, "unplaced", system=profile.index, count=missing, reason=reason)

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
                return self._admit(profile, flavor, placed, time, kind="create")
        self.rejected[blocker] += count
        self.record(time, "reject", system=system, count=count, reason=blocker, flavor=flavor)
        return []

    def _admit(
        self,
        profile: SystemProfile,
        flavor: int,
        hosts: list[int],
        time: float,
        kind: str,
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
        rows = self._admit(profile, flavor, hosts, time, "dr_create", demand, reason)
        return rows, why

    def delete(
        self,
        row: int,
        time: float,
        status: VMStatus = VMStatus.DELETED,
        *,
        kind: str | None = None,
        reason: str = "",
    ) -> None:
        """End a cloud host: free its host's resources and the department's quota
        (event ``delete``, ``lost``, or ``kind`` — ``dr_delete`` for disaster recovery)."""
        ints = self.vms.ints
        host = int(ints["host"][row])
        system = int(ints["system"][row])
        flavor = int(ints["flavor"][row])
        self.placer.release(host, self.vms.demand[:, row].copy(), system)
        self.usage[:, int(ints["department"][row])] -= self._quota_need(flavor, 1)
        self.record(
            time,
            kind or ("delete" if status == VMStatus.DELETED else "lost"),
            system=system,
            count=1,
            host=host,
            vm=int(ints["vm_id"][row]),
            flavor=flavor,
            reason=reason,
        )
        self.vms.remove(row, time, status)

    def vms_per_host(self) -> npt.NDArray[np.int64]:
        live = self.vms.live
        return np.bincount(self.vms.ints["host"][live], minlength=self.hosts.size)
