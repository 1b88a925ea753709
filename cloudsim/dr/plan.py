"""Each business system's DR design, resolved once from the ``dr`` section.

Entries of ``dr.systems`` select systems by name glob, priority and centres; the first entry
that matches a system gives its design, and systems no entry matches have mode ``none``
(local HA only: their VMs count wherever they run, as without a ``dr`` section).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.dr import DR, Backup, Standby, SystemDR
from cloudsim.scenario.faults import AvailabilityRule
from cloudsim.scenario.schema import System
from cloudsim.world import World

IntArray = npt.NDArray[np.int64]
#: Bytes per second in one Gbit/s.
GBPS = 1e9 / 8


def selects(entry: SystemDR, system: System) -> bool:
    """Whether ``entry``'s selectors all match ``system``."""
    if not fnmatchcase(system.name, entry.match):
        return False
    if entry.priority is not None and system.priority not in entry.priority:
        return False
    return entry.datacenters is None or sorted(entry.datacenters) == sorted(system.datacenters)


def matching_entries(dr: DR, systems: list[System]) -> list[int]:
    """Per system the index of the first entry of ``dr.systems`` selecting it, or -1."""
    return [
        next((i for i, entry in enumerate(dr.systems) if selects(entry, system)), -1)
        for system in systems
    ]


@dataclass(frozen=True)
class SystemPlan:
    """One system's resolved DR design; centres are indices into the host table's names."""

    index: int
    name: str
    priority: str
    mode: str
    entry: int  # index in dr.systems, -1 when none matched
    home: tuple[int, ...]  # the system's centres (its primaries)
    standby: Standby | None
    standby_dc: int  # -1: none
    sync: bool
    async_to: int  # -1: none
    async_share: float | None
    async_interval: float  # seconds between shipped batches (0: streamed)
    async_delay: float  # seconds of transfer and apply on top of the route's latency
    backup: Backup | None
    backup_to: int  # -1: none
    restore_to: int  # where a restore runs when the home centres are lost
    write_rate: float  # bytes/s, mean over a day
    shape: tuple[float, ...]
    need: int  # VMs that must run in serving centres for the system to be up
    data_gb: float  # what a backup copies and a restore brings back

    @property
    def managed(self) -> bool:
        """Whether DR manages the system (its serving centres are tracked)."""
        return self.mode != "none"

    @property
    def restore_gb(self) -> float:
        return float(self.backup.size) if self.backup and self.backup.size else self.data_gb

    def backup_delay(self) -> float:
        """Seconds a full backup copy takes alone on its links (size / bandwidth); shared
        links make it longer (:mod:`cloudsim.dr.backups`)."""
        assert self.backup is not None
        return self.restore_gb * 1e9 / (self.backup.bandwidth * GBPS)

    def restore_seconds(self) -> float:
        assert self.backup is not None
        bandwidth = self.backup.restore_bandwidth or self.backup.bandwidth
        return self.restore_gb * 1e9 / (bandwidth * GBPS)


def _required(rule: AvailabilityRule, entry: SystemDR | None, system: System) -> int:
    fraction = rule.required_fraction
    if entry is not None and entry.required_fraction is not None:
        fraction = entry.required_fraction
    return math.ceil(system.vm_count * fraction - 1e-9)


def build_plan(world: World) -> list[SystemPlan]:
    """Every system's design (mode ``none`` for all of them without a ``dr`` section)."""
    scenario = world.scenario
    rule = world.availability
    dr = scenario.dr
    centres = {dc.name: i for i, dc in enumerate(scenario.datacenters)}
    disk = {f.name: f.disk for f in scenario.flavors}
    entries = matching_entries(dr, scenario.systems) if dr is not None else []
    plans: list[SystemPlan] = []
    for i, system in enumerate(scenario.systems):
        k = entries[i] if entries else -1
        entry = dr.systems[k] if dr is not None and k >= 0 else None
        home = tuple(centres[name] for name in system.datacenters)
        data_gb = float(sum(disk[g.flavor] * g.count for g in system.vms))
        if entry is None:
            plans.append(
                SystemPlan(
                    index=i,
                    name=system.name,
                    priority=system.priority,
                    mode="none",
                    entry=-1,
                    home=home,
                    standby=None,
                    standby_dc=-1,
                    sync=False,
                    async_to=-1,
                    async_share=None,
                    async_interval=0.0,
                    async_delay=0.0,
                    backup=None,
                    backup_to=-1,
                    restore_to=home[0],
                    write_rate=0.0,
                    shape=(1.0,) * 24,
                    need=_required(rule, None, system),
                    data_gb=data_gb,
                )
            )
            continue
        rep = entry.replication
        rate_gbps = rep.write_rate or 0.0
        if rep.write_rate_per_vm is not None:
            rate_gbps = rep.write_rate_per_vm * system.vm_count
        standby_dc = centres[entry.standby.datacenter] if entry.standby else -1
        async_to = centres[rep.asynchronous.to] if rep.asynchronous else -1
        backup_to = centres[rep.backup.to] if rep.backup else -1
        if rep.backup is not None and rep.backup.restore_to is not None:
            restore_to = centres[rep.backup.restore_to]
        elif standby_dc >= 0:
            restore_to = standby_dc
        elif async_to >= 0:
            restore_to = async_to
        else:
            restore_to = home[0]
        plans.append(
            SystemPlan(
                index=i,
                name=system.name,
                priority=system.priority,
                mode=entry.mode,
                entry=k,
                home=home,
                standby=entry.standby,
                standby_dc=standby_dc,
                sync=entry.sync,
                async_to=async_to,
                async_share=rep.asynchronous.share if rep.asynchronous else None,
                async_interval=rep.asynchronous.interval if rep.asynchronous else 0.0,
                async_delay=rep.asynchronous.delay if rep.asynchronous else 0.0,
                backup=rep.backup,
                backup_to=backup_to,
                restore_to=restore_to,
                write_rate=rate_gbps * GBPS,
                shape=rep.shape,
                need=_required(rule, entry, system),
                data_gb=data_gb,
            )
        )
    return plans


def required_of(plans: list[SystemPlan]) -> IntArray:
    return np.array([p.need for p in plans], dtype=np.int64)
