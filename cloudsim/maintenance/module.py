"""The maintenance module: drains on a schedule, VMs moved by live migration (a
``maintenance`` section, a module's own schema); its tables and summary.

Tables: ``maintenance`` (one row per drain: duration, hosts, VMs moved live or cold or not
at all, bytes, pauses, the service downtime the drain caused), ``maintenance_systems`` (per
drain and system) and ``maintenance_vms`` (every VM a drain found on a target host, how
it moved or why it did not).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from rich.text import Text

from cloudsim.kernel import Context, Finding, Module, Results
from cloudsim.maintenance.checks import check_references, check_world
from cloudsim.maintenance.drain import Drains, DrainState, VMMove
from cloudsim.maintenance.schema import Maintenance
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World

LIVE = ("live", "forced")
COLD = ("cold", "cold-fallback")


def _section(scenario: Scenario) -> Maintenance:
    section = scenario.section("maintenance")
    assert isinstance(section, Maintenance)
    return section


def service_down_s(
    stops: list[tuple[float, float]],
    headroom: int,
    horizon: float,
    others: Sequence[tuple[float, float]] = (),
) -> float:
    """Seconds during which more of a system's VMs were stopped by maintenance at once (its
    ``stops`` plus the ``others`` of overlapping drains) than its ``headroom`` (VMs running in
    serving centres minus those required, at the drain's start) allows, while at least one
    of its own ``stops`` was open."""
    if not stops:
        return 0.0
    every = [*stops, *others]
    times = np.array([t for s, e in every for t in (s, min(e, horizon))])
    delta = np.array([d for _ in every for d in (1, -1)])
    mine = np.array([d if i < len(stops) else 0 for i in range(len(every)) for d in (1, -1)])
    order = np.lexsort((delta, times))  # an end before a start at the same instant
    times, delta, mine = times[order], delta[order], mine[order]
    stopped, own = np.cumsum(delta), np.cumsum(mine)
    spans = np.diff(times, append=times[-1])
    return float(spans[(stopped > max(headroom, 0)) & (own > 0)].sum())


def _system_rows(
    drain: DrainState, horizon: float, drains: Sequence[DrainState] = ()
) -> list[dict[str, Any]]:
    by_system: dict[int, list[VMMove]] = {}
    for vm in drain.vms:
        by_system.setdefault(vm.system, []).append(vm)
    stops: dict[int, list[tuple[float, float]]] = {}  # every stop (VM downtime)
    served: dict[int, list[tuple[float, float]]] = {}  # those that may cost service
    for system, start, end, in_service in drain.stops:
        stops.setdefault(system, []).append((start, end))
        if in_service:
            served.setdefault(system, []).append((start, end))
    others: dict[int, list[tuple[float, float]]] = {}
    for other in drains:
        if other is not drain:
            for system, start, end, in_service in other.stops:
                if in_service:
                    others.setdefault(system, []).append((start, end))
    rows = []
    for system in sorted(set(by_system) | set(stops)):
        vms = by_system.get(system, [])
        intervals = stops.get(system, [])
        reasons = Counter(vm.reason for vm in vms if vm.reason)
        rows.append(
            {
                "system": system,
                "vms": len(vms),
                "moved_live": sum(vm.method in LIVE for vm in vms),
                "moved_cold": sum(vm.method in COLD for vm in vms),
                "not_moved": sum(vm.method == "none" for vm in vms),
                "vm_downtime_s": float(sum(min(e, horizon) - s for s, e in intervals)),
                "max_pause_s": max((min(e, horizon) - s for s, e in intervals), default=0.0),
                "service_down_s": service_down_s(
                    served.get(system, []),
                    drain.headroom.get(system, 0),
                    horizon,
                    others.get(system, []),
                ),
                "not_moved_reasons": json.dumps(dict(sorted(reasons.items()))),
            }
        )
    return rows


class MaintenanceModule(Module):
    """Maintenance drains and live migration (see the module docstring)."""

    name = "maintenance"
    section = "maintenance"
    schema = Maintenance
    requires = ("iaas", "ledger")

    @classmethod
    def check_references(cls, scenario: Scenario) -> list[Finding]:
        return check_references(scenario, _section(scenario))

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        return check_world(world, _section(world.scenario))

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.drains = Drains(ctx, _section(ctx.world.scenario))
        self._summary: dict[str, Any] = {}

    def start(self) -> None:
        self.drains.start()

    def finish(self, now: float) -> None:
        self.drains.finish(now)

    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        world = self.ctx.world
        horizon = world.horizon
        systems = [s.name for s in world.scenario.systems]
        hosts = self.ctx.hosts
        drain_rows: dict[str, list[Any]] = {c: [] for c in _DRAIN_COLUMNS}
        sys_rows: dict[str, list[Any]] = {c: [] for c in _SYSTEM_COLUMNS}
        vm_rows: dict[str, list[Any]] = {c: [] for c in _VM_COLUMNS}
        summary: dict[str, Any] = {}
        for drain in self.drains.drains:
            per_system = _system_rows(drain, horizon, self.drains.drains)
            pauses = [vm.resumed - vm.stopped for vm in drain.vms if vm.method in LIVE]
            reasons = Counter(vm.reason for vm in drain.vms if vm.reason)
            end = drain.end
            row = {
                "drain": drain.spec.name,
                "target": drain.spec.target,
                "start": drain.start,
                "hosts": len(drain.hosts),
                "hosts_done": drain.hosts_done,
                "hosts_not_emptied": drain.hosts_not_emptied,
                "complete": not math.isnan(end),
                "evacuated_s": drain.evacuated - drain.start,
                "duration_s": end - drain.start,
                "vms": len(drain.vms),
                "moved_live": sum(vm.method in LIVE for vm in drain.vms),
                "moved_forced": sum(vm.method == "forced" for vm in drain.vms),
                "moved_cold": sum(vm.method in COLD for vm in drain.vms),
                "moved_across_centres": sum(
                    vm.method != "none"
                    and int(hosts.datacenter[vm.to_host]) != int(hosts.datacenter[vm.from_host])
                    for vm in drain.vms
                ),
                "not_moved": sum(vm.method == "none" for vm in drain.vms),
                "bytes_moved_gb": sum(vm.bytes for vm in drain.vms) / 1e9,
                "max_pause_s": max(pauses, default=0.0),
                "mean_pause_s": float(np.mean(pauses)) if pauses else 0.0,
                "vm_downtime_s": sum(r["vm_downtime_s"] for r in per_system),
                "systems_down": sum(r["service_down_s"] > 0 for r in per_system),
                "service_down_s": sum(r["service_down_s"] for r in per_system),
                "not_moved_reasons": json.dumps(dict(sorted(reasons.items()))),
            }
            for c in _DRAIN_COLUMNS:
                drain_rows[c].append(row[c])
            summary[drain.spec.name] = {
                k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in row.items()
                if k not in ("drain", "not_moved_reasons")
            } | {
                "not_moved_reasons": dict(sorted(reasons.items())),
                "systems_down_names": [
                    systems[r["system"]] for r in per_system if r["service_down_s"] > 0
                ],
            }
            for r in per_system:
                sys_rows["drain"].append(drain.spec.name)
                sys_rows["system"].append(systems[r["system"]])
                for c in _SYSTEM_COLUMNS[2:]:
                    sys_rows[c].append(r[c])
            for vm in drain.vms:
                moved = vm.method != "none"
                vm_rows["drain"].append(drain.spec.name)
                vm_rows["vm"].append(vm.vm)
                vm_rows["system"].append(systems[vm.system])
                vm_rows["from_host"].append(hosts.names[vm.from_host])
                vm_rows["to_host"].append(hosts.names[vm.to_host] if moved else "")
                vm_rows["from_datacenter"].append(
                    hosts.datacenter_names[hosts.datacenter[vm.from_host]]
                )
                vm_rows["to_datacenter"].append(
                    hosts.datacenter_names[hosts.datacenter[vm.to_host]] if moved else ""
                )
                vm_rows["method"].append(vm.method)
                vm_rows["started"].append(vm.started)
                vm_rows["stopped"].append(vm.stopped)
                vm_rows["resumed"].append(vm.resumed)
                vm_rows["pause_s"].append(vm.resumed - vm.stopped)
                vm_rows["rounds"].append(vm.rounds)
                vm_rows["bytes_gb"].append(vm.bytes / 1e9)
                vm_rows["reason"].append(vm.reason)
        self._summary = summary
        return {
            "maintenance": pa.table(drain_rows, schema=_DRAIN_SCHEMA),
            "maintenance_systems": pa.table(sys_rows, schema=_SYSTEM_SCHEMA),
            "maintenance_vms": pa.table(vm_rows, schema=_VM_SCHEMA),
        }

    def summary(self, results: Results) -> Mapping[str, Any]:
        return {"maintenance": self._summary}

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        drains = summary.get("maintenance")
        if not isinstance(drains, dict) or not drains:
            return []
        lines: list[Any] = []
        for name, d in drains.items():
            duration = d["duration_s"]
            took = (
                "unfinished at the horizon"
                if duration is None
                else f"in {duration / 3600:,.2f} h (emptied after {d['evacuated_s'] / 3600:,.2f} h)"
            )
            why = ", ".join(f"{k} {v:,}" for k, v in d["not_moved_reasons"].items())
            down = d["systems_down_names"]
            skipped = d.get("hosts_not_emptied", 0)
            lines.append(
                f"maintenance {name} ({d['target']}): {d['hosts_done']:,}/{d['hosts']:,} hosts "
                f"maintained"
                + (f", {skipped:,} not emptied" if skipped else "")
                + f" {took}; {d['vms']:,} VMs: {d['moved_live']:,} live ({d['moved_forced']:,} "
                f"forced), {d['moved_cold']:,} cold, {d['moved_across_centres']:,} to another "
                f"centre, {d['not_moved']:,} not moved{f' ({why})' if why else ''}; "
                f"{d['bytes_moved_gb']:,.0f} GB moved; pause max {d['max_pause_s']:,.2f} s, mean "
                f"{d['mean_pause_s']:,.2f} s; VM downtime {d['vm_downtime_s'] / 3600:,.1f} h"
            )
            lines.append(
                Text(
                    f"  {len(down):,} systems down because of it "
                    f"({d['service_down_s']:,.0f} s in all): {', '.join(down[:10])}"
                    + (" …" if len(down) > 10 else ""),
                    style="bold red",
                )
                if down
                else "  no system down because of it"
            )
        return lines


_DRAIN_SCHEMA = pa.schema(
    [
        ("drain", pa.string()),
        ("target", pa.string()),
        ("start", pa.float64()),
        ("hosts", pa.int64()),
        ("hosts_done", pa.int64()),
        ("hosts_not_emptied", pa.int64()),
        ("complete", pa.bool_()),
        ("evacuated_s", pa.float64()),
        ("duration_s", pa.float64()),
        ("vms", pa.int64()),
        ("moved_live", pa.int64()),
        ("moved_forced", pa.int64()),
        ("moved_cold", pa.int64()),
        ("moved_across_centres", pa.int64()),
        ("not_moved", pa.int64()),
        ("bytes_moved_gb", pa.float64()),
        ("max_pause_s", pa.float64()),
        ("mean_pause_s", pa.float64()),
        ("vm_downtime_s", pa.float64()),
        ("systems_down", pa.int64()),
        ("service_down_s", pa.float64()),
        ("not_moved_reasons", pa.string()),
    ]
)
_DRAIN_COLUMNS = tuple(_DRAIN_SCHEMA.names)
_SYSTEM_SCHEMA = pa.schema(
    [
        ("drain", pa.string()),
        ("system", pa.string()),
        ("vms", pa.int64()),
        ("moved_live", pa.int64()),
        ("moved_cold", pa.int64()),
        ("not_moved", pa.int64()),
        ("vm_downtime_s", pa.float64()),
        ("max_pause_s", pa.float64()),
        ("service_down_s", pa.float64()),
        ("not_moved_reasons", pa.string()),
    ]
)
_SYSTEM_COLUMNS = tuple(_SYSTEM_SCHEMA.names)
_VM_SCHEMA = pa.schema(
    [
        ("drain", pa.string()),
        ("vm", pa.int64()),
        ("system", pa.string()),
        ("from_host", pa.string()),
        ("to_host", pa.string()),
        ("from_datacenter", pa.string()),
        ("to_datacenter", pa.string()),
        ("method", pa.string()),
        ("started", pa.float64()),
        ("stopped", pa.float64()),
        ("resumed", pa.float64()),
        ("pause_s", pa.float64()),
        ("rounds", pa.int64()),
        ("bytes_gb", pa.float64()),
        ("reason", pa.string()),
    ]
)
_VM_COLUMNS = tuple(_VM_SCHEMA.names)
