"""The ledger: per business system downtime, incidents, RTO, RPO and DR level, from ground
truth.

Computed after the run from the event log and the DR controller's records (what really
happened, not what a monitor saw): every VM event changes its system's number of running
VMs in a centre — ``initial``, ``create``, ``dr_create`` and ``restart`` add one,
``vm_down`` takes one away, ``delete`` and ``dr_delete`` take one away if the VM was
running, ``lost`` only ends a VM that was already down.

**Up** — a system is up while at least ``ceil(required_fraction x declared VMs)`` of its VMs
run *in centres where it is serving* (``faults.availability.required_fraction``, default
0.5, or the system's ``dr`` entry). Without a ``dr`` section, and for systems of mode
``none``, every centre serves (VMs count wherever they run). With one, a centre serves a
system while the DR controller's ground truth says it is writable there: a primary, alive,
not fenced, its data not corrupted, and in sync with its active-active peer or going on
alone — so VMs frozen by a broken synchronous pair, a fenced side or a standby not yet
promoted do not count. Declared VMs are those of the ``systems`` section; VMs added by
requests count but do not raise the bar.

**Incident** — one per failure and system it touched: VMs it stopped (when the component
failed, when the last stopped VM ran again, how many were stopped, restarted, lost) and the
DR decisions it caused (detection, decision, completion, data lost, split-brain time,
whether the failover was unnecessary, failback), with the service's RTO from the
ground-truth downtime: the end of the first down interval after the failure.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cloudsim.dr.levels import demonstrated_level, infrastructure_level
from cloudsim.dr.plan import build_plan, required_of
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
    "dr_create": _CREATE,
    "restart": _RESTART,
    "vm_down": _DOWN,
    "delete": _DELETE,
    "dr_delete": _DELETE,
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
    if scenario.dr is not None:
        return required_of(build_plan(scenario))
    rule = scenario.faults.availability if scenario.faults is not None else AvailabilityRule()
    declared = np.array([s.vm_count for s in scenario.systems], dtype=np.float64)
    return np.ceil(declared * rule.required_fraction - 1e-9).astype(np.int64)


def serving_deltas(
    time: FloatArray,
    system: IntArray,
    centre: IntArray,
    delta: IntArray,
    serving0: npt.NDArray[np.bool_],
    changes: list[tuple[float, int, int, bool]],
) -> tuple[FloatArray, IntArray, IntArray]:
    """Change in each system's running VMs *in serving centres*, in time order.

    Per (system, centre) the running count is the cumulative sum of the VM deltas and the
    serving flag the last value set (``serving0`` at the start, then ``changes``); each
    event changes the system's count by the change of ``running x serving``.
    """
    n_sys, n_c = serving0.shape
    groups = n_sys * n_c
    m = len(changes)
    ct = np.array([c[0] for c in changes], dtype=np.float64)
    cg = np.array([c[1] * n_c + c[2] for c in changes], dtype=np.int64)
    cv = np.array([int(c[3]) for c in changes], dtype=np.int64)
    n = len(time)
    t = np.concatenate([np.zeros(groups), time, ct])
    g = np.concatenate([np.arange(groups, dtype=np.int64), system * n_c + centre, cg])
    run = np.concatenate([np.zeros(groups, dtype=np.int64), delta, np.zeros(m, dtype=np.int64)])
    setv = np.concatenate([serving0.ravel().astype(np.int64), np.full(n, -1), cv])
    seq = np.concatenate([np.full(groups, -1), np.arange(n), np.arange(n, n + m)])
    order = np.lexsort((seq, t, g))
    g_s, run_s, set_s = g[order], run[order], setv[order]
    first = np.flatnonzero(np.r_[True, g_s[1:] != g_s[:-1]])
    sizes = np.diff(np.r_[first, len(g_s)])
    running = np.cumsum(run_s)
    running -= np.repeat(running[first] - run_s[first], sizes)
    pos = np.where(set_s >= 0, np.arange(len(set_s)), -1)
    last_set = np.maximum.accumulate(pos)  # every group starts with its initial value
    serving = set_s[last_set]
    contrib = running * serving
    prev = np.r_[0, contrib[:-1]]
    prev[first] = 0
    change = np.empty_like(contrib)
    change[order] = contrib - prev
    keep = np.arange(groups, groups + n + m)
    back = np.lexsort((seq[keep], t[keep]))
    idx = keep[back]
    return t[idx], g[idx] // n_c, change[idx]


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
    if n == 0:
        empty = np.zeros(0)
        return Downtime(empty, np.zeros(0, dtype=np.int64), empty, empty)
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
    deltas = running_deltas(code, vm)
    dr = sim.dr
    if dr is None:
        downtime = system_downtime(time, system, deltas, required, horizon)
    else:
        host = np.asarray(ev["host"], dtype=np.int64)[sel]
        centre = sim.hosts.datacenter[np.maximum(host, 0)].astype(np.int64)
        t2, s2, d2 = serving_deltas(time, system, centre, deltas, dr.serving0, dr.serving_changes)
        downtime = system_downtime(t2, s2, d2, required, horizon)

    # incidents: the VMs each failure stopped, grouped by (failure, system)
    injector = sim.faults
    outages = {(o.label, o.start): o for o in injector.outages} if injector is not None else {}
    nxt = _next_in_group(vm, -1)
    groups: dict[tuple[str, float, int], list[int]] = {}
    for k in np.flatnonzero(code == _DOWN).tolist():
        key = (str(reasons[int(sel[k])]), float(time[k]), int(system[k]))
        groups.setdefault(key, []).append(k)
    dr_groups = _dr_groups(sim)
    stalls = _unexplained_downtime(sim, downtime, groups, dr_groups, time, code, nxt, horizon)
    keys = sorted(set(groups) | set(dr_groups) | set(stalls), key=lambda g: (g[1], g[2], g[0]))
    rows: dict[str, list[Any]] = {c: [] for c in _INCIDENT_COLUMNS}
    for key in keys:
        label, failed_at, sys_i = key
        members = groups.get(key, [])
        outage = outages.get((label, failed_at))
        records = dr_groups.get(key, [])
        resolved, res_code, restored, end = _resolution(
            members, nxt, code, time, horizon, records, stalls.get(key, horizon)
        )
        rows["system"].append(systems[sys_i])
        rows["system_index"].append(sys_i)
        rows["component"].append(label)
        kind = outage.kind if outage else (records[0].cause_kind if records else "")
        rows["component_kind"].append(kind)
        rows["cause"].append(
            outage.cause if outage else ("false_alarm" if label == "false_alarm" else "")
        )
        rows["failed_at"].append(failed_at)
        rows["repaired_at"].append(outage.end if outage else math.nan)
        rows["restored_at"].append(restored)
        rows["duration_s"].append(end - failed_at)
        rows["vms_affected"].append(len(members))
        rows["vms_restarted"].append(int((res_code == _RESTART).sum()))
        rows["vms_lost"].append(int((res_code == _LOST).sum()))
        rows["vms_deleted"].append(int((res_code == _DELETE).sum()))
        rows["vms_waiting"].append(int((~resolved).sum()))
        window_end = max(end, *(r.decided_at for r in records)) if records else end
        rows["system_down_s"].append(downtime.overlap(sys_i, failed_at, window_end))
        _dr_columns(rows, records, downtime, sys_i, failed_at, window_end, horizon, sim)

    incidents = _incident_table(rows)
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
    columns: dict[str, pa.Array] = {
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
    dr_summary: dict[str, Any] = {}
    if dr is not None:
        per_system, dr_summary = _dr_availability(sim, rows, n_sys)
        columns |= per_system
    availability = pa.table(columns)
    summary = _summary(sim, avail, downtime, rows, systems)
    if dr is not None:
        summary["dr"] = dr_summary
    return Ledger(incidents, availability, summary)


def _resolution(
    members: list[int],
    nxt: IntArray,
    code: IntArray,
    time: FloatArray,
    horizon: float,
    records: list[Any],
    stall_end: float,
) -> tuple[npt.NDArray[np.bool_], IntArray, float, float]:
    """How an incident's stopped VMs ended, when the last ran again, and its end."""
    if members:
        after = nxt[members]
        resolved = after >= 0
        res_code = np.where(resolved, code[np.maximum(after, 0)], -1)
        res_time = np.where(resolved, time[np.maximum(after, 0)], np.nan)
        everything = bool(resolved.all())
        restored = float(res_time.max()) if everything else math.nan
        return resolved, res_code, restored, restored if everything else horizon
    empty = np.zeros(0, dtype=np.int64)
    if records:
        done = [r.completed_at for r in records if not math.isnan(r.completed_at)]
        end = max([*done, *(r.decided_at for r in records)])
    else:
        end = stall_end
    return empty.astype(np.bool_), empty, math.nan, end


def _unexplained_downtime(
    sim: Simulation,
    downtime: Downtime,
    groups: dict[tuple[str, float, int], list[int]],
    dr_groups: dict[tuple[str, float, int], list[Any]],
    time: FloatArray,
    code: IntArray,
    nxt: IntArray,
    horizon: float,
) -> dict[tuple[str, float, int], float]:
    """Down intervals of DR-managed systems that no incident covers (a synchronous pair
    frozen while no policy acts, a corruption nobody restores), as incidents of the fault
    in progress when they began: key -> end of the interval."""
    if sim.dr is None or sim.faults is None:
        return {}
    windows: dict[int, list[tuple[float, float]]] = {}
    for key, members in groups.items():
        _, _, _, end = _resolution(members, nxt, code, time, horizon, [], horizon)
        windows.setdefault(key[2], []).append((key[1], end))
    for key, records in dr_groups.items():
        _, _, _, end = _resolution([], nxt, code, time, horizon, records, horizon)
        windows.setdefault(key[2], []).append((key[1], end))
    out: dict[tuple[str, float, int], float] = {}
    modes = [p.mode for p in sim.dr.plans]
    for s, start, end in zip(
        downtime.interval_system.tolist(),
        downtime.interval_start.tolist(),
        downtime.interval_end.tolist(),
        strict=True,
    ):
        if modes[s] == "none" or any(a <= start <= b for a, b in windows.get(s, [])):
            continue
        active = [
            o
            for o in sim.faults.outages
            if o.start <= start
            and (math.isnan(o.end) or o.end >= start)
            and (o.effect != "corrupt" or o.components[0][1] == s)
        ]
        if active:
            cause = max(active, key=lambda o: o.start)
            key = (cause.label, cause.start, s)
            out[key] = max(out.get(key, end), end)
    return out


_INCIDENT_COLUMNS: tuple[str, ...] = (
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
    # DR (null where no DR decision was taken)
    "dr_action",
    "policy",
    "to_datacenter",
    "detected_at",
    "decided_at",
    "completed_at",
    "service_restored_at",
    "rto_s",
    "restored_by",
    "data_lost_s",
    "data_lost_gb",
    "split_brain_s",
    "unnecessary",
    "failback_s",
    "dr_failure",
)


def _dr_groups(sim: Simulation) -> dict[tuple[str, float, int], list[Any]]:
    """DR records keyed like VM incidents: (cause label, failure time, system)."""
    out: dict[tuple[str, float, int], list[Any]] = {}
    if sim.dr is None:
        return out
    starts = {o.label: o.start for o in sim.faults.outages} if sim.faults is not None else {}
    for record in sim.dr.records:
        failed_at = starts.get(record.cause, record.failed_at)
        if record.cause != "false_alarm" and failed_at > record.decided_at:
            failed_at = record.failed_at
        out.setdefault((record.cause, float(failed_at), record.system), []).append(record)
    return out


def _dr_columns(
    rows: dict[str, list[Any]],
    records: list[Any],
    downtime: Downtime,
    sys_i: int,
    failed_at: float,
    window_end: float,
    horizon: float,
    sim: Simulation,
) -> None:
    """The DR and RTO columns of one incident row."""
    nan = math.nan
    # RTO from ground truth: the first down interval of the system within the incident
    sel = (
        (downtime.interval_system == sys_i)
        & (downtime.interval_end > failed_at)
        & (downtime.interval_start <= window_end)
    )
    starts = downtime.interval_start[sel]
    ends = downtime.interval_end[sel]
    if len(starts):
        first = int(np.argmin(starts))
        restored_at = float(ends[first])
        rto = restored_at - failed_at
    else:
        restored_at, rto = failed_at, 0.0
    acted = [r for r in records if r.action in ("failover", "restore", "fence") and not r.failure]
    if not len(starts):
        by = ""
    elif any(r.decided_at <= restored_at + 1e-9 for r in acted):
        by = "dr"
    else:
        by = "repair"
    rows["service_restored_at"].append(restored_at if len(starts) else nan)
    rows["rto_s"].append(rto)
    rows["restored_by"].append(by)
    if not records:
        for column in (
            "detected_at", "decided_at", "completed_at", "data_lost_s", "data_lost_gb",
            "split_brain_s", "failback_s",
        ):  # fmt: skip
            rows[column].append(nan)
        for column in ("dr_action", "policy", "to_datacenter", "unnecessary", "dr_failure"):
            rows[column].append("")
        return
    names = sim.hosts.datacenter_names
    rows["dr_action"].append("+".join(dict.fromkeys(r.action for r in records)))
    rows["policy"].append("+".join(dict.fromkeys(r.policy for r in records if r.policy)))
    targets = [names[r.target] for r in records if r.target >= 0]
    rows["to_datacenter"].append(targets[-1] if targets else "")
    rows["detected_at"].append(min(r.detected_at for r in records))
    rows["decided_at"].append(min(r.decided_at for r in records))
    done = [r.completed_at for r in records if not math.isnan(r.completed_at)]
    rows["completed_at"].append(max(done) if done else nan)
    rows["data_lost_s"].append(max(r.data_lost_s for r in records))
    rows["data_lost_gb"].append(sum(r.data_lost_bytes for r in records) / 1e9)
    rows["split_brain_s"].append(sum(r.split_brain_s for r in records))
    rows["unnecessary"].append(
        "+".join(dict.fromkeys(r.unnecessary for r in records if r.unnecessary))
    )
    back = [
        r.failback_done_at - r.failback_decided_at
        for r in records
        if not math.isnan(r.failback_done_at) and not math.isnan(r.failback_decided_at)
    ]
    rows["failback_s"].append(max(back) if back else nan)
    rows["dr_failure"].append("; ".join(dict.fromkeys(r.failure for r in records if r.failure)))


def _nullable(values: list[float]) -> pa.Array:
    array = np.asarray(values, dtype=np.float64)
    return pa.array(array, type=pa.float64(), mask=np.isnan(array))


def _incident_table(rows: dict[str, list[Any]]) -> pa.Table:
    def text(column: str) -> pa.Array:
        return pa.array(rows[column], pa.string()).dictionary_encode()

    return pa.table(
        {
            "system": text("system"),
            "component": pa.array(rows["component"], pa.string()),
            "component_kind": text("component_kind"),
            "cause": text("cause"),
            "failed_at": pa.array(rows["failed_at"], pa.float64()),
            "repaired_at": _nullable(rows["repaired_at"]),
            "restored_at": _nullable(rows["restored_at"]),
            "duration_s": pa.array(rows["duration_s"], pa.float64()),
            **{
                c: pa.array(rows[c], pa.int64())
                for c in ("vms_affected", "vms_restarted", "vms_lost", "vms_deleted")
            },
            "vms_waiting": pa.array(rows["vms_waiting"], pa.int64()),
            "system_down_s": pa.array(rows["system_down_s"], pa.float64()),
            "dr_action": text("dr_action"),
            "policy": text("policy"),
            "to_datacenter": text("to_datacenter"),
            **{
                c: _nullable(rows[c])
                for c in ("detected_at", "decided_at", "completed_at", "service_restored_at")
            },
            "rto_s": pa.array(rows["rto_s"], pa.float64()),
            "restored_by": text("restored_by"),
            **{c: _nullable(rows[c]) for c in ("data_lost_s", "data_lost_gb", "split_brain_s")},
            "unnecessary": text("unnecessary"),
            "failback_s": _nullable(rows["failback_s"]),
            "dr_failure": pa.array(rows["dr_failure"], pa.string()),
        }
    )


def _dr_availability(
    sim: Simulation, rows: dict[str, list[Any]], n_sys: int
) -> tuple[dict[str, pa.Array], dict[str, Any]]:
    """Per-system DR columns of the availability table, and the ``dr`` summary."""
    dr = sim.dr
    assert dr is not None
    records = dr.records
    sys_of = np.array([r.system for r in records], dtype=np.int64)

    def count(keep: Any) -> IntArray:
        chosen = [r.system for r in records if keep(r)]
        return np.bincount(np.array(chosen, dtype=np.int64), minlength=n_sys).astype(np.int64)

    acted = ("failover", "restore")
    failovers = count(lambda r: r.action in acted and not r.failure)
    unnecessary = count(lambda r: r.action in acted and not r.failure and r.unnecessary)
    fences = count(lambda r: r.action == "fence" and not r.failure)
    sheds = count(lambda r: r.action == "shed")
    failed = count(lambda r: bool(r.failure))
    lost_gb = (
        np.bincount(sys_of, weights=[r.data_lost_bytes / 1e9 for r in records], minlength=n_sys)
        if records
        else np.zeros(n_sys)
    )
    incident_sys = np.array(rows["system_index"], dtype=np.int64)
    rto = np.asarray(rows["rto_s"], dtype=np.float64)
    rpo = np.nan_to_num(np.asarray(rows["data_lost_s"], dtype=np.float64))
    worst_rto = np.zeros(n_sys)
    worst_rpo = np.zeros(n_sys)
    if len(incident_sys):
        np.maximum.at(worst_rto, incident_sys, rto)
        np.maximum.at(worst_rpo, incident_sys, rpo)
    n_incidents = np.bincount(incident_sys, minlength=n_sys)
    mean_lag = np.divide(dr.lag_sum, dr.lag_samples, out=np.zeros(n_sys), where=dr.lag_samples > 0)
    site_of = [sim.scenario.datacenters[i].site for i in range(len(sim.scenario.datacenters))]
    levels: list[int] = []
    basis: list[str] = []
    for plan in dr.plans:
        ceiling, why = infrastructure_level(plan, site_of, dr.failover_name)
        level, observed = demonstrated_level(
            ceiling,
            float(worst_rto[plan.index]),
            float(worst_rpo[plan.index]),
            int(n_incidents[plan.index]),
        )
        levels.append(level)
        basis.append(f"{why}; {observed}" if ceiling else why)
    columns: dict[str, pa.Array] = {
        "mode": pa.array([p.mode for p in dr.plans], pa.string()),
        "failovers": pa.array(failovers),
        "unnecessary_failovers": pa.array(unnecessary),
        "fences": pa.array(fences),
        "sheds": pa.array(sheds),
        "failed_actions": pa.array(failed),
        "split_brain_s": pa.array(dr.split_brain_s, pa.float64()),
        "data_lost_gb": pa.array(np.asarray(lost_gb, dtype=np.float64), pa.float64()),
        "worst_rpo_s": pa.array(worst_rpo, pa.float64()),
        "worst_rto_s": pa.array(worst_rto, pa.float64()),
        "mean_lag_s": pa.array(mean_lag, pa.float64()),
        "max_lag_s": pa.array(dr.lag_max, pa.float64()),
        "gbt20988_level": pa.array(levels, pa.int8()),
        "level_basis": pa.array(basis, pa.string()),
    }
    by_dr = np.array([b == "dr" for b in rows["restored_by"]], dtype=np.bool_)
    dr_rto = rto[by_dr] if len(rto) else np.zeros(0)
    has_async = dr.lag_samples > 0
    summary: dict[str, Any] = {
        "failover_policy": dr.failover_name,
        "failback_policy": dr.failback_name,
        "witness": dr.witness,
        "decisions": dr.decisions,
        "heartbeat_transitions": sum(m.transitions for m in dr.monitors.monitors.values()),
        "failovers": int(failovers.sum()),
        "unnecessary_failovers": int(unnecessary.sum()),
        "fences": int(fences.sum()),
        "sheds": int(sheds.sum()),
        "failed_actions": int(failed.sum()),
        "split_brain_s": _round(float(dr.split_brain_s.sum())),
        "systems_with_split_brain": int((dr.split_brain_s > 0).sum()),
        "data_lost_gb": _round(float(np.sum(lost_gb))),
        "worst_rpo_s": _round(float(worst_rpo.max())) if n_sys else 0.0,
        "worst_rto_s": _round(float(worst_rto.max())) if n_sys else 0.0,
        "mean_rto_s_by_dr": _round(float(dr_rto.mean())) if len(dr_rto) else 0.0,
        "replication": {
            **{k: _round(v) for k, v in dr.repl.totals().items()},
            "mean_lag_s": _round(float(mean_lag[has_async].mean())) if has_async.any() else 0.0,
            "max_lag_s": _round(float(dr.lag_max.max())) if n_sys else 0.0,
        },
        "gbt20988_levels": {str(k): v for k, v in sorted(Counter(levels).items(), reverse=True)},
        "policy_failures": dr.policy_failure_count,
        "policy_failure_examples": [
            {"time": _round(f.time), "policy": f.policy, "error": f.error}
            for f in dr.policy_failures[:5]
        ],
    }
    return columns, summary


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
