"""The host table: one row per physical host, resource-major ``(R, H)`` integer arrays.

Capacity is in integer units (milli-vCPU, MiB, GB, Mbit/s) so that allocation sums never
drift. ``free`` is the only mutable capacity state; ``allocated`` is derived from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.schema import RESOURCES, Scenario

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

PURPOSES: tuple[str, ...] = ("general", "dedicated", "container", "standby", "storage")
ARCHES: tuple[str, ...] = ("x86_64", "aarch64")
#: Columns a run changes: capacity taken, hosts up and down, hosts cordoned for maintenance,
#: hosts the container cloud takes.
MUTABLE_COLUMNS: tuple[str, ...] = ("free", "free_f", "up", "cordoned", "purpose")
#: Entries :attr:`HostTable.free_log` keeps before it is cut (a reader further behind
#: gathers its columns again).
FREE_LOG_LIMIT = 1 << 14


def rack_name(datacenter: str, index: int) -> str:
    """Name of rack ``index`` of a data centre."""
    return f"{datacenter}/rack{index:03d}"


def power_domain_name(datacenter: str, index: int) -> str:
    """Name of power domain ``index`` of a data centre."""
    return f"{datacenter}/pd{index}"


@dataclass
class HostTable:
    """Every host of the platform as integer-indexed columns."""

    names: list[str]
    capacity: IntArray  # (R, H) physical capacity
    limit: IntArray  # (R, H) capacity x overcommit: what may be allocated
    free: IntArray  # (R, H) limit - allocated
    #: float64 mirror of ``free`` (exact: integer values) so scorers avoid int->float casts.
    free_f: FloatArray
    up: BoolArray  # (H,)
    cordoned: BoolArray  # (H,) running, but taking no new placement (a maintenance drain)
    datacenter: npt.NDArray[np.int32]
    site: npt.NDArray[np.int32]
    rack: npt.NDArray[np.int32]  # global rack index
    power_domain: npt.NDArray[np.int32]  # global power-domain index
    zone: npt.NDArray[np.int32]
    arch: npt.NDArray[np.int32]
    pool: npt.NDArray[np.int32]
    purpose: npt.NDArray[np.int32]
    dedicated_to: npt.NDArray[np.int32]  # department index, -1 if shared
    physical_cores: npt.NDArray[np.int32]
    power_idle_w: FloatArray
    power_peak_w: FloatArray
    datacenter_names: tuple[str, ...]
    site_names: tuple[str, ...]
    rack_names: tuple[str, ...]
    power_domain_names: tuple[str, ...]
    zone_names: tuple[str, ...]
    pool_names: tuple[str, ...]
    #: Bumped whenever a host's static attributes or up/down status change (cache key).
    version: int = field(default=0)
    #: Hosts whose ``free`` changed, in order, so that a placer's copies of some columns
    #: catch up by replaying a few entries instead of gathering every column again. Entry
    #: ``i`` of the log is change number ``free_log_base + i``; the log is cut when long.
    free_log: list[int] = field(default_factory=list, repr=False)
    free_log_base: int = field(default=0, repr=False)

    @property
    def size(self) -> int:
        return len(self.names)

    @property
    def allocated(self) -> IntArray:
        return self.limit - self.free

    def freeze(self) -> HostTable:
        """Make every column read-only (a compiled world's table); returns ``self``."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return self

    def copy(self) -> HostTable:
        """A run's own table: the columns a run changes copied, the others shared."""
        fresh = {name: getattr(self, name).copy() for name in MUTABLE_COLUMNS}
        return dataclasses.replace(self, **fresh, version=0, free_log=[], free_log_base=0)

    def set_up(self, hosts: npt.ArrayLike, up: bool) -> None:
        """Mark hosts up or down (faults use this); invalidates cached masks."""
        self.up[np.asarray(hosts, dtype=np.int64)] = up
        self.version += 1

    def set_cordoned(self, hosts: npt.ArrayLike, cordoned: bool) -> None:
        """Cordon hosts (no new placement; what runs there stays) or lift it."""
        self.cordoned[np.asarray(hosts, dtype=np.int64)] = cordoned
        self.version += 1

    @property
    def free_changes(self) -> int:
        """How many changes of ``free`` there have been (the end of :attr:`free_log`)."""
        return self.free_log_base + len(self.free_log)

    def _changed(self, host: int) -> None:
        log = self.free_log
        if len(log) >= FREE_LOG_LIMIT:
            self.free_log_base += len(log)
            log.clear()
        log.append(host)

    def allocate(self, host: int, demand: IntArray) -> None:
        """Take ``demand`` from ``host``; the only writer of ``free`` with :meth:`release`."""
        free = self.free[:, host]
        free -= demand
        self.free_f[:, host] = free
        self._changed(host)

    def release(self, host: int, demand: IntArray) -> None:
        free = self.free[:, host]
        free += demand
        self.free_f[:, host] = free
        self._changed(host)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> HostTable:
        """Build the table; each centre's hosts are striped over its racks in pool order."""
        dc_index = {dc.name: i for i, dc in enumerate(scenario.datacenters)}
        site_index = {site.name: i for i, site in enumerate(scenario.sites)}
        zone_index = {zone.name: i for i, zone in enumerate(scenario.zones)}
        dept_index = {dept.name: i for i, dept in enumerate(scenario.departments)}
        classes = {hc.name: hc for hc in scenario.host_classes}

        rack_offset: dict[str, int] = {}
        pd_offset: dict[str, int] = {}
        rack_names: list[str] = []
        pd_names: list[str] = []
        for dc in scenario.datacenters:
            rack_offset[dc.name] = len(rack_names)
            pd_offset[dc.name] = len(pd_names)
            rack_names.extend(rack_name(dc.name, i) for i in range(dc.racks))
            pd_names.extend(power_domain_name(dc.name, j) for j in range(dc.power_domains))
        racks_of = {dc.name: dc.racks for dc in scenario.datacenters}
        pds_of = {dc.name: dc.power_domains for dc in scenario.datacenters}

        names: list[str] = []
        columns: dict[str, list[npt.NDArray[np.int64]]] = {}
        capacity_parts: list[IntArray] = []
        limit_parts: list[IntArray] = []
        idle_parts: list[FloatArray] = []
        peak_parts: list[FloatArray] = []
        placed_in_dc: dict[str, int] = dict.fromkeys(dc_index, 0)

        def add(column: str, values: npt.NDArray[np.int64]) -> None:
            columns.setdefault(column, []).append(values)

        for pool_i, pool in enumerate(scenario.pools):
            dc = next(d for d in scenario.datacenters if d.name == pool.datacenter)
            in_pool = 0
            for group in pool.hosts:
                n = group.count
                if n == 0:
                    continue
                hc = classes[group.host_class]
                names.extend(
                    group.names
                    if group.names is not None
                    else (f"{pool.name}-{in_pool + k:04d}" for k in range(n))
                )
                in_pool += n
                per_host = np.array(
                    [hc.vcpus * 1000, hc.memory, hc.disk, round(hc.network * 1000)],
                    dtype=np.int64,
                )
                ratios = np.array(
                    [pool.cpu_overcommit, pool.memory_overcommit, pool.disk_overcommit, 1.0]
                )
                capacity_parts.append(np.repeat(per_host[:, None], n, axis=1))
                limit = np.floor(per_host * ratios + 1e-9).astype(np.int64)
                limit_parts.append(np.repeat(limit[:, None], n, axis=1))
                k = placed_in_dc[dc.name] + np.arange(n, dtype=np.int64)
                placed_in_dc[dc.name] += n
                local_rack = k % racks_of[dc.name]
                add("rack", rack_offset[dc.name] + local_rack)
                add("power_domain", pd_offset[dc.name] + local_rack % pds_of[dc.name])
                add("datacenter", np.full(n, dc_index[dc.name], dtype=np.int64))
                add("site", np.full(n, site_index[dc.site], dtype=np.int64))
                add("zone", np.full(n, zone_index[pool.zone], dtype=np.int64))
                add("arch", np.full(n, ARCHES.index(hc.arch), dtype=np.int64))
                add("pool", np.full(n, pool_i, dtype=np.int64))
                add("purpose", np.full(n, PURPOSES.index(pool.purpose), dtype=np.int64))
                dedicated = dept_index[pool.dedicated_to] if pool.dedicated_to else -1
                add("dedicated_to", np.full(n, dedicated, dtype=np.int64))
                add("physical_cores", np.full(n, hc.cores, dtype=np.int64))
                idle_parts.append(np.full(n, hc.power_idle_w))
                peak_parts.append(np.full(n, hc.power_peak_w))

        def col(name: str) -> npt.NDArray[np.int32]:
            parts = columns.get(name)
            if not parts:
                return np.zeros(0, dtype=np.int32)
            return np.concatenate(parts).astype(np.int32)

        resources = len(RESOURCES)
        capacity = (
            np.concatenate(capacity_parts, axis=1)
            if capacity_parts
            else np.zeros((resources, 0), dtype=np.int64)
        )
        limit_all = (
            np.concatenate(limit_parts, axis=1)
            if limit_parts
            else np.zeros((resources, 0), dtype=np.int64)
        )
        return cls(
            names=names,
            capacity=np.ascontiguousarray(capacity),
            limit=np.ascontiguousarray(limit_all),
            free=np.ascontiguousarray(limit_all.copy()),
            free_f=np.ascontiguousarray(limit_all.astype(np.float64)),
            up=np.ones(len(names), dtype=np.bool_),
            cordoned=np.zeros(len(names), dtype=np.bool_),
            datacenter=col("datacenter"),
            site=col("site"),
            rack=col("rack"),
            power_domain=col("power_domain"),
            zone=col("zone"),
            arch=col("arch"),
            pool=col("pool"),
            purpose=col("purpose"),
            dedicated_to=col("dedicated_to"),
            physical_cores=col("physical_cores"),
            power_idle_w=np.concatenate(idle_parts) if idle_parts else np.zeros(0),
            power_peak_w=np.concatenate(peak_parts) if peak_parts else np.zeros(0),
            datacenter_names=tuple(dc_index),
            site_names=tuple(site_index),
            rack_names=tuple(rack_names),
            power_domain_names=tuple(pd_names),
            zone_names=tuple(zone_index),
            pool_names=tuple(pool.name for pool in scenario.pools),
        )
