"""The availability ledger: per business system downtime and incidents, from ground truth.

Computed after the run from the event log (what really happened, not what a monitor saw):
every VM event changes its system's number of running VMs — ``initial``, ``create`` and
``restart`` add one, ``vm_down`` takes one away, ``delete`` takes one away if the VM was
running, ``lost`` only ends a VM that was already down.

**Up** — a system is up while at least ``ceil(required_fraction x declared VMs)`` of its VMs
run, in any centre (``faults.availability.required_fraction``, default 0.5). Declared VMs
are those of the scenario's ``systems`` section; VMs added by requests count as running VMs
but do not raise the bar. A system with no declared VMs needs none and is always up.

**Incident** — one per failure and system it stopped VMs of: when the component failed,
when its last stopped VM ran again (or was lost or deleted), how many VMs were stopped,
restarted, lost, and how long the system was down meanwhile.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cloudsim.scenario.faults import AvailabilityRule
from cloudsim.scenario.schema import Scenario

if TYPE_CHECKING:
    from cloudsim.engine import Simulation

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Event kinds that change a VM's state, and their codes.
_INITIAL, _CREATE, _RESTART, _DOWN, _DELETE, _LOST = range(6)
VM_EVENT_CODES: dict[str, int] = {
    "initial": _INITIAL,
    "create": _CREATE,
    "restart": _RESTART,
    "vm_down": _DOWN,
    "delete": _DELETE,
    "lost": _LOST,
}


@dataclass
class Ledger:
    """The ledger's two tables and its part of ``summary.json``."""

    incidents: pa.Table
    availability: pa.Table
    summary: dict[str, Any]


@dataclass
class Downtime:
    """Per system: total downtime and the down intervals ``[start, end)``, sorted."""

    seconds: FloatArray  # (S,)
    interval_system: IntArray
    interval_start: FloatArray
    interval_end: FloatArray

    def overlap(self, system: int, start: float, end: float) -> float:
        """Seconds system ``system`` was down within ``[start, end)``."""
        sel = self.interval_system == system
        lo = np.maximum(self.interval_start[sel], start)
        hi = np.minimum(self.interval_end[sel], end)
        return float(np.clip(hi - lo, 0.0, None).sum())


def required_vms(scenario: Scenario) -> IntArray:
    """VMs each system needs running to be up (see the module docstring)."""
    rule = scenario.faults.availability if scenario.faults is not None else AvailabilityRule()
    declared = np.array([s.vm_count for s in scenario.systems], dtype=np.float64)
    return np.ceil(declared * rule.required_fraction - 1e-9).astype(np.int64)


def _previous_in_group(group: IntArray, values: IntArray, missing: int) -> IntArray:
    """For each position (log order), ``values`` at the previous position of its group."""
    order = np.argsort(group, kind="stable")
    prev = np.full(len(group), missing, dtype=np.int64)
    same = group[order[1:]] == group[order[:-1]]
    prev[order[1:][same]] = values[order[:-1][same]]
    return prev


def _next_in_group(group: IntArray, missing: int) -> IntArray:
    """For each position, the index of the next position of its group (or ``missing``)."""
    order = np.argsort(group, kind="stable")
    nxt = np.full(len(group), missing, dtype=np.int64)
    same = group[order[1:]] == group[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same]
    return nxt


def running_deltas(code: IntArray, vm: IntArray) -> IntArray:
    """Change in the system's running VMs caused by each VM event (in log order)."""
    prev = _previous_in_group(vm, code, -1)
    delta = np.zeros(len(code), dtype=np.int64)
    delta[(code == _INITIAL) | (code == _CREATE) | (code == _RESTART)] = 1
    delta[code == _DOWN] = -1
    delta[(code == _DELETE) & (prev != _DOWN)] = -1
    return delta


def system_downtime(
    time: FloatArray,
    system: IntArray,
    delta: IntArray,
    required: IntArray,
    horizon: float,
) -> Downtime:
    """Downtime per system from its running-VM changes (events in log order)."""
    n = len(required)
    # every system starts at t=0 with nothing running
    time = np.concatenate([np.zeros(n), np.minimum(time, horizon)])
    system = np.concatenate([np.arange(n, dtype=np.int64), system])
    delta = np.concatenate([np.zeros(n, dtype=np.int64), delta])
    order = np.argsort(system, kind="stable")
    sys_s, t_s = system[order], time[order]
    running = np.cumsum(delta[order])
    first = np.flatnonzero(np.r_[True, sys_s[1:] != sys_s[:-1]])
    running -= np.repeat(running[first] - delta[order][first], np.diff(np.r_[first, len(sys_s)]))
    down = running < required[sys_s]
    last_of_system = np.r_[sys_s[1:] != sys_s[:-1], True]
    next_t = np.where(last_of_system, horizon, np.r_[t_s[1:], horizon])
    seconds = np.bincount(sys_s, weights=(next_t - t_s) * down, minlength=n).astype(np.float64)
    # the state at the end of each instant, then its transitions
    settled = last_of_system | (next_t > t_s)
    sys_p, t_p, down_p = sys_s[settled], t_s[settled], down[settled]
    start_of_system = np.r_[True, sys_p[1:] != sys_p[:-1]]
    prev_down = np.r_[False, down_p[:-1]] & ~start_of_system
    starts = down_p & ~prev_down
    ends = ~down_p & prev_down
    end_of_system = np.r_[sys_p[1:] != sys_p[:-1], True]
    open_at_end = down_p & end_of_system
    end_times = np.concatenate([t_p[ends], np.full(int(open_at_end.sum()), horizon)])
    end_systems = np.concatenate([sys_p[ends], sys_p[open_at_end]])
    end_order = np.lexsort((end_times, end_systems))
    interval_start = t_p[starts]
    interval_end = end_times[end_order]
    keep = interval_end > interval_start
    return Downtime(
        seconds=seconds,
        interval_system=sys_p[starts][keep],
        interval_start=interval_start[keep],
        interval_end=interval_end[keep],
    )


def _round(value: float) -> float:
    return round(float(value), 6)


def build_ledger(sim: Simulation) -> Ledger:
    """Incidents, per-system availability and their summary, for a finished run."""
    scenario = sim.scenario
    horizon = float(sim.horizon)
    systems = [s.name for s in scenario.systems]
    n_sys = len(systems)
    ev = sim.recorder.events
    kinds = ev["kind"]
    code_all = np.array([VM_EVENT_CODES.get(k, -1) for k in kinds], dtype=np.int64)
    sel = np.flatnonzero(code_all >= 0)
    code = code_all[sel]
    time = np.asarray(ev["time"], dtype=np.float64)[sel]
    system = np.asarray(ev["system"], dtype=np.int64)[sel]
    vm = np.asarray(ev["vm"], dtype=np.int64)[sel]
    reasons = ev["reason"]

    required = required_vms(scenario)
    downtime = system_downtime(time, system, running_deltas(code, vm), required, horizon)

    # incidents: the VMs each failure stopped, grouped by (failure, system)
    injector = sim.faults
    outages = {(o.label, o.start): o for o in injector.outages} if injector is not None else {}
    nxt = _next_in_group(vm, -1)
    groups: dict[tuple[str, float, int], list[int]] = {}
    for k in np.flatnonzero(code == _DOWN).tolist():
        key = (str(reasons[int(sel[k])]), float(time[k]), int(system[k]))
        groups.setdefault(key, []).append(k)
    rows: dict[str, list[Any]] = {
        c: []
        for c in (
            "system",
            "component",
            "component_kind",
            "cause",
            "failed_at",
            "repaired_at",
            "restored_at",
            "duration_s",
            "vms_affected",
            "vms_restarted",
            "vms_lost",
            "vms_deleted",
            "vms_waiting",
            "system_down_s",
            "system_index",
        )
    }
    for (label, failed_at, sys_i), members in sorted(groups.items(), key=lambda g: g[1][0]):
        after = nxt[members]
        resolved = after >= 0
        res_code = np.where(resolved, code[np.maximum(after, 0)], -1)
        res_time = np.where(resolved, time[np.maximum(after, 0)], np.nan)
        everything = bool(resolved.all())
        restored = float(res_time.max()) if everything else math.nan
        end = restored if everything else horizon
        outage = outages.get((label, failed_at))
        rows["system"].append(systems[sys_i])
        rows["system_index"].append(sys_i)
        rows["component"].append(label)
        rows["component_kind"].append(outage.kind if outage else "")
        rows["cause"].append(outage.cause if outage else "")
        rows["failed_at"].append(failed_at)
        rows["repaired_at"].append(outage.end if outage else math.nan)
        rows["restored_at"].append(restored)
        rows["duration_s"].append(end - failed_at)
        rows["vms_affected"].append(len(members))
        rows["vms_restarted"].append(int((res_code == _RESTART).sum()))
        rows["vms_lost"].append(int((res_code == _LOST).sum()))
        rows["vms_deleted"].append(int((res_code == _DELETE).sum()))
        rows["vms_waiting"].append(int((~resolved).sum()))
        rows["system_down_s"].append(downtime.overlap(sys_i, failed_at, end))

    def nullable(values: list[float]) -> pa.Array:
        array = np.asarray(values, dtype=np.float64)
        return pa.array(array, type=pa.float64(), mask=np.isnan(array))

    incidents = pa.table(
        {
            "system": pa.array(rows["system"], pa.string()).dictionary_encode(),
            "component": pa.array(rows["component"], pa.string()),
            "component_kind": pa.array(rows["component_kind"], pa.string()).dictionary_encode(),
            "cause": pa.array(rows["cause"], pa.string()).dictionary_encode(),
            "failed_at": pa.array(rows["failed_at"], pa.float64()),
            "repaired_at": nullable(rows["repaired_at"]),
            "restored_at": nullable(rows["restored_at"]),
            "duration_s": pa.array(rows["duration_s"], pa.float64()),
            **{
                c: pa.array(rows[c], pa.int64())
                for c in ("vms_affected", "vms_restarted", "vms_lost", "vms_deleted")
            },
            "vms_waiting": pa.array(rows["vms_waiting"], pa.int64()),
            "system_down_s": pa.array(rows["system_down_s"], pa.float64()),
        }
    )

    incident_sys = np.array(rows["system_index"], dtype=np.int64)
    per_incidents = np.bincount(incident_sys, minlength=n_sys)
    affected = np.bincount(
        incident_sys, weights=np.asarray(rows["vms_affected"], dtype=np.float64), minlength=n_sys
    ).astype(np.int64)
    lost = np.bincount(system[code == _LOST], minlength=n_sys)
    outages_n = np.bincount(downtime.interval_system, minlength=n_sys)
    lengths = downtime.interval_end - downtime.interval_start
    longest = np.zeros(n_sys)
    np.maximum.at(longest, downtime.interval_system, lengths)
    avail = 1.0 - downtime.seconds / horizon
    availability = pa.table(
        {
            "system": pa.array(systems, pa.string()),
            "priority": pa.array([s.priority for s in scenario.systems], pa.string()),
            "datacenters": pa.array([",".join(s.datacenters) for s in scenario.systems]),
            "vms_declared": pa.array([s.vm_count for s in scenario.systems], pa.int64()),
            "vms_required": pa.array(required),
            "downtime_s": pa.array(downtime.seconds, pa.float64()),
            "availability": pa.array(avail, pa.float64()),
            "outages": pa.array(outages_n.astype(np.int64)),
            "longest_outage_s": pa.array(longest, pa.float64()),
            "incidents": pa.array(per_incidents.astype(np.int64)),
            "vms_affected": pa.array(affected),
            "vms_lost": pa.array(lost.astype(np.int64)),
        }
    )
    return Ledger(incidents, availability, _summary(sim, avail, downtime, rows, systems))


def _summary(
    sim: Simulation,
    avail: FloatArray,
    downtime: Downtime,
    rows: dict[str, list[Any]],
    systems: list[str],
) -> dict[str, Any]:
    ev = sim.recorder.events
    kinds = ev["kind"]
    counts = ev["count"]
    by_kind: Counter[str] = Counter()
    for kind, count in zip(kinds, counts, strict=True):
        if kind in ("vm_down", "restart", "lost", "restart_failed"):
            by_kind[kind] += count
    failures: Counter[str] = Counter()
    for kind, count, reason in zip(kinds, counts, ev["reason"], strict=True):
        if kind == "restart_failed":
            failures[reason] += count
    injector = sim.faults
    outages = injector.outages if injector is not None else []
    waiting = injector.ha.counts() if injector is not None else {"restarting": 0, "pending": 0}
    host_down_s = injector.host_down_seconds(sim.horizon) if injector is not None else 0.0
    worst = np.argsort(avail, kind="stable")[:5]
    rule = sim.scenario.faults.availability if sim.scenario.faults else AvailabilityRule()
    return {
        "faults": {
            "outages": len(outages),
            "by_kind": dict(sorted(Counter(o.kind for o in outages).items())),
            "by_cause": dict(sorted(Counter(o.cause for o in outages).items())),
            "host_down_hours": _round(host_down_s / 3600.0),
            "vms_stopped": by_kind["vm_down"],
            "vms_restarted": by_kind["restart"],
            "vms_lost": by_kind["lost"],
            "vms_restarting_end": waiting["restarting"],
            "vms_pending_end": waiting["pending"],
            "restart_failures_by_reason": dict(sorted(failures.items())),
        },
        "availability": {
            "required_fraction": rule.required_fraction,
            "incidents": len(rows["system"]),
            "systems_ever_down": int((downtime.seconds > 0).sum()),
            "downtime_hours": _round(float(downtime.seconds.sum()) / 3600.0),
            "mean": _round(float(avail.mean())) if len(avail) else 1.0,
            "min": _round(float(avail.min())) if len(avail) else 1.0,
            "worst": {systems[i]: _round(avail[i]) for i in worst.tolist() if avail[i] < 1.0},
        },
    }
