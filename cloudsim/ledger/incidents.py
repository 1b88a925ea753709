"""The availability ledger: per business system downtime, incidents, RTO, RPO, from the
run's records alone (ground truth, not what a monitor saw).

**Up** — a system is up while at least its required VMs (``ceil(required_fraction x
declared VMs)``; ``faults.availability.required_fraction``, default 0.5, or the system's
``dr`` entry) run *in centres where it is serving*. Without a serving log (no DR), every
centre serves (VMs count wherever they run). With one, a centre serves a system while the
DR controller's ground truth says it is writable there: a primary, alive, not fenced, its
data not corrupted, and in sync with its active-active peer or going on alone — so VMs
frozen by a broken synchronous pair, a fenced side or a standby not yet promoted do not
count. Declared VMs are those of the ``systems`` section; VMs added by requests count but
do not raise the bar.

**Incident** — one per failure and system it touched: VMs it stopped (when the component
failed, when the last stopped VM ran again, how many were stopped, restarted, lost) and the
DR decisions it caused (detection, decision, completion, data lost, split-brain time,
whether the failover was unnecessary, failback), with the service's RTO from the
ground-truth downtime: the end of the first down interval after the failure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cloudsim.ledger.downtime import (
    DELETE,
    DOWN,
    LOST,
    RESTART,
    VM_EVENT_CODES,
    Downtime,
    FloatArray,
    IntArray,
    next_in_group,
    running_deltas,
    serving_deltas,
    system_downtime,
)
from cloudsim.records import AvailabilityRules, Decision, Recorder
from cloudsim.records.columns import nullable_floats
from cloudsim.units import round6
from cloudsim.world import World


@dataclass
class Ledger:
    """The ledger's two tables and its part of ``summary.json``."""

    incidents: pa.Table
    availability: pa.Table
    summary: dict[str, Any]


def build_ledger(
    recorder: Recorder, world: World, centre_of_host: npt.NDArray[np.integer[Any]]
) -> Ledger:
    """Incidents, per-system availability and their summary, for a finished run's records
    (``centre_of_host``: each host's data centre)."""
    scenario = world.scenario
    horizon = float(world.horizon)
    systems = list(world.systems)
    n_sys = len(systems)
    ev = recorder.events
    lookup = np.array([VM_EVENT_CODES.get(k, -1) for k in ev.dictionary("kind")], dtype=np.int64)
    code_all = lookup[ev.codes("kind")] if lookup.size else np.zeros(0, dtype=np.int64)
    sel = np.flatnonzero(code_all >= 0)
    code = code_all[sel]
    time = np.asarray(ev["time"], dtype=np.float64)[sel]
    system = np.asarray(ev["system"], dtype=np.int64)[sel]
    vm = np.asarray(ev["vm"], dtype=np.int64)[sel]
    reason_code, reasons = ev.codes("reason"), ev.dictionary("reason")

    required = recorder.rules.required
    deltas = running_deltas(code, vm)
    serving = recorder.serving
    if serving is None:
        downtime = system_downtime(time, system, deltas, required, horizon)
    else:
        host = np.asarray(ev["host"], dtype=np.int64)[sel]
        centre = centre_of_host[np.maximum(host, 0)].astype(np.int64)
        t2, s2, d2 = serving_deltas(time, system, centre, deltas, serving.initial, serving.changes)
        downtime = system_downtime(t2, s2, d2, required, horizon)

    # incidents: the VMs each failure stopped, grouped by (failure, system)
    outages = {(o.label, o.start): o for o in recorder.outages}
    nxt = next_in_group(vm, -1)
    groups: dict[tuple[str, float, int], list[int]] = {}
    for k in np.flatnonzero(code == DOWN).tolist():
        key = (str(reasons[reason_code[int(sel[k])]]), float(time[k]), int(system[k]))
        groups.setdefault(key, []).append(k)
    dr_groups = _decision_groups(recorder)
    stalls = _unexplained_downtime(recorder, downtime, groups, dr_groups, time, code, nxt, horizon)
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
        rows["vms_restarted"].append(int((res_code == RESTART).sum()))
        rows["vms_lost"].append(int((res_code == LOST).sum()))
        rows["vms_deleted"].append(int((res_code == DELETE).sum()))
        rows["vms_waiting"].append(int((~resolved).sum()))
        window_end = max(end, *(r.decided_at for r in records)) if records else end
        service = _service_restored(downtime, sys_i, failed_at, window_end)
        if service is not None:  # the row covers the service's outage to its end
            window_end = max(window_end, service)
        rows["system_down_s"].append(downtime.overlap(sys_i, failed_at, window_end))
        _dr_columns(rows, records, service, failed_at, world.datacenters)

    incidents = _incident_table(rows)
    incident_sys = np.array(rows["system_index"], dtype=np.int64)
    per_incidents = np.bincount(incident_sys, minlength=n_sys)
    affected = np.bincount(
        incident_sys, weights=np.asarray(rows["vms_affected"], dtype=np.float64), minlength=n_sys
    ).astype(np.int64)
    lost = np.bincount(system[code == LOST], minlength=n_sys)
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
    availability = pa.table(columns)
    summary = _summary(recorder.rules, avail, downtime, len(rows["system"]), systems)
    return Ledger(incidents, availability, summary)


def _resolution(
    members: list[int],
    nxt: IntArray,
    code: IntArray,
    time: FloatArray,
    horizon: float,
    records: list[Decision],
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
    recorder: Recorder,
    downtime: Downtime,
    groups: dict[tuple[str, float, int], list[int]],
    dr_groups: dict[tuple[str, float, int], list[Decision]],
    time: FloatArray,
    code: IntArray,
    nxt: IntArray,
    horizon: float,
) -> dict[tuple[str, float, int], float]:
    """Down intervals of DR-managed systems that no incident covers (a synchronous pair
    frozen while no policy acts, a corruption nobody restores), as incidents of the fault
    in progress when they began: key -> end of the interval."""
    if recorder.serving is None:
        return {}
    windows: dict[int, list[tuple[float, float]]] = {}
    for key, members in groups.items():
        _, _, _, end = _resolution(members, nxt, code, time, horizon, [], horizon)
        windows.setdefault(key[2], []).append((key[1], end))
    for key, records in dr_groups.items():
        _, _, _, end = _resolution([], nxt, code, time, horizon, records, horizon)
        windows.setdefault(key[2], []).append((key[1], end))
    out: dict[tuple[str, float, int], float] = {}
    managed = recorder.rules.managed
    for s, start, end in zip(
        downtime.interval_system.tolist(),
        downtime.interval_start.tolist(),
        downtime.interval_end.tolist(),
        strict=True,
    ):
        if not managed[s] or any(a <= start <= b for a, b in windows.get(s, [])):
            continue
        active = [
            o
            for o in recorder.outages
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


def _decision_groups(recorder: Recorder) -> dict[tuple[str, float, int], list[Decision]]:
    """DR decisions keyed like VM incidents: (cause label, failure time, system)."""
    out: dict[tuple[str, float, int], list[Decision]] = {}
    starts = {o.label: o.start for o in recorder.outages}
    for record in recorder.decisions:
        failed_at = starts.get(record.cause, record.failed_at)
        if record.cause != "false_alarm" and failed_at > record.decided_at:
            failed_at = record.failed_at
        out.setdefault((record.cause, float(failed_at), record.system), []).append(record)
    return out


def _service_restored(
    downtime: Downtime, sys_i: int, failed_at: float, window_end: float
) -> float | None:
    """When the service came back (ground truth): the end of the system's first down
    interval within the incident (None: it was never down)."""
    sel = (
        (downtime.interval_system == sys_i)
        & (downtime.interval_end > failed_at)
        & (downtime.interval_start <= window_end)
    )
    starts = downtime.interval_start[sel]
    if not len(starts):
        return None
    return float(downtime.interval_end[sel][int(np.argmin(starts))])


def _dr_columns(
    rows: dict[str, list[Any]],
    records: list[Decision],
    service: float | None,
    failed_at: float,
    names: Sequence[str],
) -> None:
    """The DR and RTO columns of one incident row: the RTO is the time to the service's
    return, by whichever came first — a DR action that had completed by then (``dr``), or
    the repair (``repair``: the VMs restarted in centres already serving it)."""
    nan = math.nan
    restored_at = service if service is not None else failed_at
    rto = restored_at - failed_at
    acted = [r for r in records if r.action in ("failover", "restore", "fence") and not r.failure]
    if service is None:
        by = ""
    elif any(r.completed_at <= restored_at + 1e-9 and not r.vms_missing for r in acted):
        by = "dr"
    else:
        by = "repair"
    rows["service_restored_at"].append(restored_at if service is not None else nan)
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
            "repaired_at": nullable_floats(rows["repaired_at"]),
            "restored_at": nullable_floats(rows["restored_at"]),
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
                c: nullable_floats(rows[c])
                for c in ("detected_at", "decided_at", "completed_at", "service_restored_at")
            },
            "rto_s": pa.array(rows["rto_s"], pa.float64()),
            "restored_by": text("restored_by"),
            **{
                c: nullable_floats(rows[c])
                for c in ("data_lost_s", "data_lost_gb", "split_brain_s")
            },
            "unnecessary": text("unnecessary"),
            "failback_s": nullable_floats(rows["failback_s"]),
            "dr_failure": pa.array(rows["dr_failure"], pa.string()),
        }
    )


def _summary(
    rules: AvailabilityRules,
    avail: FloatArray,
    downtime: Downtime,
    incidents: int,
    systems: list[str],
) -> dict[str, Any]:
    worst = np.argsort(avail, kind="stable")[:5]
    return {
        "availability": {
            "required_fraction": rules.required_fraction,
            "incidents": incidents,
            "systems_ever_down": int((downtime.seconds > 0).sum()),
            "downtime_hours": round6(float(downtime.seconds.sum()) / 3600.0),
            "mean": round6(float(avail.mean())) if len(avail) else 1.0,
            "min": round6(float(avail.min())) if len(avail) else 1.0,
            "worst": {systems[i]: round6(avail[i]) for i in worst.tolist() if avail[i] < 1.0},
        },
    }
