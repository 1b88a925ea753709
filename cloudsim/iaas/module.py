"""The IaaS module: the tenants' cloud hosts over the horizon.

At time 0 every system's declared cloud hosts are placed; one process replays the request
stream (drawn at once from the ``workload`` stream) and a heap of departures; each sample
aggregates the host table per centre and pool. Its results: ``timeseries``, ``vms`` and
``systems`` tables and the platform part of ``summary.json``.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Generator, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import simpy
from rich.table import Table

from cloudsim.iaas.checks import check_fit, check_pins
from cloudsim.iaas.requests import RequestStream, request_stream
from cloudsim.iaas.resizes import Resizer
from cloudsim.kernel import Context, Finding, Module, Results, Stage
from cloudsim.records import EventKind
from cloudsim.records.columns import names_column
from cloudsim.scenario.schema import RESOURCE_UNITS, RESOURCES
from cloudsim.state.vms import VMStatus
from cloudsim.units import round6
from cloudsim.world import World

#: The event log as the IaaS summary reads it: every event's kind code, system and count.
_Log = tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]]


def _status_column(status: npt.NDArray[np.int64]) -> pa.Array:
    """VM statuses as dictionary-encoded lower-case names, the dictionary in order of first
    appearance (as ``dictionary_encode`` of the names would number them)."""
    present, first = np.unique(status, return_index=True)
    order = present[np.argsort(first, kind="stable")]
    code = np.zeros(int(present.max()) + 1 if present.size else 1, dtype=np.int32)
    code[order] = np.arange(order.size, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(
        pa.array(code[status], pa.int32()),
        pa.array([VMStatus(int(s)).name.lower() for s in order], pa.string()),
    )


class IaaSModule(Module):
    """Initial placement, the tenants' requests and departures, utilisation samples."""

    name = "iaas"
    streams = ("workload", "resizes")
    stage = Stage.PLATFORM

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        return check_pins(world)

    @classmethod
    def check_feasibility(cls, world: World) -> list[Finding]:
        return check_fit(world)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.platform = ctx.platform
        scenario = ctx.world.scenario
        self.requests: RequestStream = request_stream(scenario, ctx.stream("workload"))
        self.resizes = Resizer(ctx, self.requests)
        self._departures: list[tuple[float, int, int]] = []  # (time, vm_id, row)
        self._series: dict[str, npt.NDArray[Any]] | None = None
        self._log: _Log | None = None
        #: The live VMs' hosts as of the host table's change counters (see :meth:`sample`).
        self._vm_hosts: tuple[tuple[int, int, int], npt.NDArray[np.int64]] | None = None

    def start(self) -> None:
        before = np.flatnonzero(self.platform.vms.live)
        self.platform.place_initial()
        initial = np.flatnonzero(self.platform.vms.live)
        self.resizes.adopt(np.setdiff1d(initial, before).astype(np.int64))

    def processes(self) -> Iterable[Generator[simpy.Event, Any, None]]:
        return (self._lifecycle(),)

    def _lifecycle(self) -> Generator[simpy.Event, Any, None]:
        """Replays request arrivals and departures in time order (departures first on ties)."""
        env = self.ctx.env
        horizon = self.ctx.horizon
        req = self.requests
        platform = self.platform
        vms = platform.vms
        heap = self._departures
        resizes = self.resizes
        i = 0
        n = len(req)
        while True:
            next_arrival = float(req.time[i]) if i < n else np.inf
            next_departure = heap[0][0] if heap else np.inf
            next_resize = resizes.next_time
            t = min(next_arrival, next_departure, next_resize)
            if t >= horizon:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            self.ctx.count()
            if next_departure <= min(next_arrival, next_resize):
                _, vm_id, row = heapq.heappop(heap)
                if vms.live[row] and vms.ints["vm_id"][row] == vm_id:
                    platform.delete(row, t)
                continue
            if next_resize < next_arrival:
                resizes.due(t)
                continue
            rows = platform.request(int(req.system[i]), int(req.flavor[i]), int(req.count[i]), t)
            resizes.adopt(np.array(rows, dtype=np.int64))
            end = t + float(req.lifetime[i])
            for row in rows:
                heapq.heappush(heap, (end, int(vms.ints["vm_id"][row]), row))
            i += 1

    def sample(self, now: float) -> None:
        self.ctx.recorder.sample(now, self.ctx.hosts, self.vm_hosts())

    def vm_hosts(self) -> npt.NDArray[np.int64]:
        """The host of each live VM, gathered again only when the host table's change
        counters moved: a VM never starts, ends or moves without an allocation or release
        on the table (the recorder keys its samples on the same counters), so between two
        changes the gather is the same (O(VMs) a sample otherwise)."""
        hosts = self.ctx.hosts
        key = (id(hosts), hosts.version, hosts.free_changes)
        found = self._vm_hosts
        if found is None or found[0] != key:
            vms = self.platform.vms
            found = self._vm_hosts = (key, vms.ints["host"][vms.live])
        return found[1]

    # -- results ----------------------------------------------------------------------------
    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        world = self.ctx.world
        hosts = self.ctx.hosts
        scenario = world.scenario
        series = self._samples()
        scope = series["scope"]
        # each row's data centre or pool name: the two name lists end to end
        all_names = np.array([*hosts.datacenter_names, *hosts.pool_names], dtype=object)
        at = np.asarray(series["index"], dtype=np.int64)
        names = all_names[np.where(scope == "datacenter", at, len(hosts.datacenter_names) + at)]
        timeseries = pa.table(
            {
                "time": pa.array(series["time"], pa.float64()),
                "scope": pa.array(list(scope), pa.string()).dictionary_encode(),
                "name": pa.array(list(names), pa.string()).dictionary_encode(),
                **{c: pa.array(series[c]) for c in series if c not in ("time", "scope", "index")},
            }
        )
        cols = self.platform.vms.columns()
        vms = pa.table(
            {
                "vm_id": pa.array(cols["vm_id"]),
                "system": names_column(cols["system"], world.systems),
                "department": names_column(cols["department"], world.departments),
                "flavor": names_column(cols["flavor"], world.flavors),
                "host": names_column(cols["host"], hosts.names),
                "datacenter": names_column(cols["datacenter"], hosts.datacenter_names),
                "status": _status_column(np.asarray(cols["status"], dtype=np.int64)),
                "created": pa.array(cols["created"]),
                "deleted": pa.array(cols["deleted"], mask=np.isnan(cols["deleted"])),
                **{
                    f"{r}_{u.lower()}": pa.array(cols[r])
                    for r, u in zip(RESOURCES, RESOURCE_UNITS, strict=True)
                },
            }
        )
        per_system = self._per_system
        live = self.platform.vms
        live_per_system = np.bincount(live.ints["system"][live.live], minlength=len(world.systems))
        requested = per_system(EventKind.CREATE) + per_system(EventKind.REJECT)
        systems = pa.table(
            {
                "name": pa.array(list(world.systems), pa.string()),
                "department": pa.array([s.department for s in scenario.systems], pa.string()),
                "zone": pa.array([s.zone for s in scenario.systems], pa.string()),
                "arch": pa.array([s.arch for s in scenario.systems], pa.string()),
                "mlps_level": pa.array([s.mlps_level for s in scenario.systems], pa.int8()),
                "priority": pa.array([s.priority for s in scenario.systems], pa.string()),
                "datacenters": pa.array([",".join(s.datacenters) for s in scenario.systems]),
                "anti_affinity": pa.array([s.anti_affinity for s in scenario.systems]),
                "vms_declared": pa.array([s.vm_count for s in scenario.systems], pa.int64()),
                "vms_initial": pa.array(per_system(EventKind.INITIAL)),
                "vms_unplaced": pa.array(per_system(EventKind.UNPLACED)),
                "vms_requested": pa.array(requested),
                "vms_rejected": pa.array(per_system(EventKind.REJECT)),
                "vms_end": pa.array(live_per_system.astype(np.int64)),
            }
        )
        return {"timeseries": timeseries, "vms": vms, "systems": systems}

    def _samples(self) -> dict[str, npt.NDArray[Any]]:
        """The finished run's samples as columns (read once)."""
        if self._series is None:
            self._series = self.ctx.recorder.series()
        return self._series

    def _events(self) -> _Log:
        """The finished run's event log as (kind codes, system, count) (read once)."""
        if self._log is None:
            ev = self.ctx.recorder.events
            self._log = (ev.codes("kind"), ev["system"], ev["count"])
        return self._log

    def _per_system(self, kind: EventKind) -> npt.NDArray[np.int64]:
        """VMs per system in events of ``kind``."""
        kinds, system, count = self._events()
        sel = kinds == self.ctx.recorder.events.code("kind", kind)
        return np.bincount(
            system[sel], weights=count[sel], minlength=len(self.ctx.world.systems)
        ).astype(np.int64)

    def summary(self, results: Results) -> Mapping[str, Any]:
        hosts = self.ctx.hosts
        platform = self.platform
        horizon = self.ctx.horizon
        series = self._samples()
        total = self.ctx.recorder.events.total

        def scoped(
            scope: str, names: tuple[str, ...], index: npt.NDArray[np.int32]
        ) -> dict[str, Any]:
            sel = series["scope"] == scope
            out: dict[str, Any] = {}
            for i, name in enumerate(names):
                rows = sel & (series["index"] == i)
                entry: dict[str, Any] = {
                    "hosts": int((index == i).sum()),
                    "physical_cores": int(hosts.physical_cores[index == i].sum()),
                }
                for r in ("cpu", "memory"):
                    values = series[f"{r}_allocated_ratio"][rows]
                    entry[f"{r}_allocated_ratio"] = round6(values[-1]) if len(values) else 0.0
                    entry[f"{r}_allocated_ratio_peak"] = (
                        round6(values.max()) if len(values) else 0.0
                    )
                vms = series["vms"][rows]
                entry["vms_end"] = int(vms[-1]) if len(vms) else 0
                entry["vms_peak"] = int(vms.max()) if len(vms) else 0
                power = series["it_power_kw"][rows]
                entry["it_power_kw_mean"] = round6(power.mean()) if len(power) else 0.0
                out[name] = entry
            return out

        requested = total(EventKind.CREATE) + total(EventKind.REJECT)
        rejected = total(EventKind.REJECT)
        datacenters = scoped("datacenter", hosts.datacenter_names, hosts.datacenter)
        for dc in self.ctx.world.scenario.datacenters:
            datacenters[dc.name]["facility_power_kw_mean"] = round6(
                datacenters[dc.name]["it_power_kw_mean"] * dc.pue
            )
        return {
            "hosts": hosts.size,
            "physical_cores": int(hosts.physical_cores.sum()),
            "vms_initial": total(EventKind.INITIAL),
            "vms_initial_unplaced": total(EventKind.UNPLACED),
            "initial_unplaced_by_reason": dict(sorted(platform.initial_unplaced.items())),
            "requests": len(self.requests.time[self.requests.time < horizon]),
            "vms_requested": requested,
            "vms_placed": total(EventKind.CREATE),
            "vms_rejected": rejected,
            "rejection_ratio": round6(rejected / requested) if requested else 0.0,
            "rejections_by_reason": dict(sorted(Counter(platform.rejected).items())),
            "vms_deleted": total(EventKind.DELETE),
            "vms_end": platform.vms.count,
            "datacenters": datacenters,
            "pools": scoped("pool", hosts.pool_names, hosts.pool),
            **({"resizes": self.resizes.summary()} if self.resizes.enabled else {}),
        }

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        table = Table(title=f"{summary['scenario']} (seed {summary['seed']})", show_lines=False)
        for column in (
            "data centre",
            "hosts",
            "cores",
            "VMs",
            "CPU alloc",
            "CPU peak",
            "mem alloc",
            "mem peak",
            "kW (alloc.)",
        ):
            table.add_column(column, justify="right" if column != "data centre" else "left")
        for name, d in summary["datacenters"].items():
            table.add_row(
                name,
                f"{d['hosts']:,}",
                f"{d['physical_cores']:,}",
                f"{d['vms_end']:,}",
                f"{d['cpu_allocated_ratio']:.1%}",
                f"{d['cpu_allocated_ratio_peak']:.1%}",
                f"{d['memory_allocated_ratio']:.1%}",
                f"{d['memory_allocated_ratio_peak']:.1%}",
                f"{d['facility_power_kw_mean']:,.0f}",
            )
        why = ", ".join(f"{k}: {v:,}" for k, v in summary["rejections_by_reason"].items())
        lines: list[Any] = [
            table,
            f"cloud hosts: {summary['vms_initial']:,} initial "
            f"({summary['vms_initial_unplaced']:,} unplaced), {summary['vms_requested']:,} "
            f"requested, {summary['vms_placed']:,} placed, {summary['vms_rejected']:,} rejected "
            f"({why or 'none'}); {summary['vms_end']:,} at the end",
        ]
        resizes = summary.get("resizes")
        if isinstance(resizes, dict):
            refused = ", ".join(f"{k}: {v:,}" for k, v in resizes["refused_by_reason"].items())
            lines.append(
                f"resizes: {resizes['requests']:,} asked, {resizes['accepted']:,} done "
                f"({resizes['accepted_up']:,} up, {resizes['accepted_down']:,} down), "
                f"{resizes['refused']:,} refused ({refused or 'none'})"
            )
        return lines
