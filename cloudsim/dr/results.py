"""DR's part of the results: its columns of the ``availability`` table and the ``dr`` block
of ``summary.json`` (GB/T 20988 levels, failovers, replication lag, policy failures)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cloudsim.dr.control import DRController
from cloudsim.dr.levels import demonstrated_level, infrastructure_level
from cloudsim.units import round6
from cloudsim.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _floats(table: pa.Table, column: str) -> FloatArray:
    """A float column with nulls as NaN."""
    values: FloatArray = np.asarray(
        table.column(column).to_numpy(zero_copy_only=False), dtype=np.float64
    )
    return values


def dr_results(
    dr: DRController, incidents: pa.Table, world: World
) -> tuple[dict[str, pa.Array], dict[str, Any]]:
    """Per-system DR columns of the availability table, and the ``dr`` summary, from the
    controller's records and the ledger's incidents."""
    n_sys = len(world.systems)
    records = dr.records
    sys_of = np.array([r.system for r in records], dtype=np.int64)

    def count(keep: Any) -> IntArray:
        chosen = [r.system for r in records if keep(r)]
        return np.bincount(np.array(chosen, dtype=np.int64), minlength=n_sys).astype(np.int64)

    acted = ("failover", "restore")
    failovers = count(lambda r: r.action in acted and not r.failure)
    unnecessary = count(lambda r: r.action in acted and not r.failure and r.unnecessary)
    # every action a fault did not require: failovers, restores and fences
    needless = count(
        lambda r: r.action in (*acted, "fence") and not r.failure and bool(r.unnecessary)
    )
    fences = count(lambda r: r.action == "fence" and not r.failure)
    sheds = count(lambda r: r.action == "shed")
    failed = count(lambda r: bool(r.failure))
    lost_gb = (
        np.bincount(sys_of, weights=[r.data_lost_bytes / 1e9 for r in records], minlength=n_sys)
        if records
        else np.zeros(n_sys)
    )
    incident_sys = np.array(
        [world.systems.index_of(name) for name in incidents.column("system").to_pylist()],
        dtype=np.int64,
    )
    rto = _floats(incidents, "rto_s")
    rpo = np.nan_to_num(_floats(incidents, "data_lost_s"))
    worst_rto = np.zeros(n_sys)
    worst_rpo = np.zeros(n_sys)
    if len(incident_sys):
        np.maximum.at(worst_rto, incident_sys, rto)
        np.maximum.at(worst_rpo, incident_sys, rpo)
    n_incidents = np.bincount(incident_sys, minlength=n_sys)
    mean_lag = np.divide(dr.lag_sum, dr.lag_samples, out=np.zeros(n_sys), where=dr.lag_samples > 0)
    site_of = [dc.site for dc in world.scenario.datacenters]
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
        "unnecessary_actions": pa.array(needless),
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
        **_backup_columns(dr),
    }
    by_dr = np.array(
        [b == "dr" for b in incidents.column("restored_by").to_pylist()], dtype=np.bool_
    )
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
        "unnecessary_actions": int(needless.sum()),
        "fences": int(fences.sum()),
        "sheds": int(sheds.sum()),
        "failed_actions": int(failed.sum()),
        "split_brain_s": round6(float(dr.split_brain_s.sum())),
        "systems_with_split_brain": int((dr.split_brain_s > 0).sum()),
        "data_lost_gb": round6(float(np.sum(lost_gb))),
        "worst_rpo_s": round6(float(worst_rpo.max())) if n_sys else 0.0,
        "worst_rto_s": round6(float(worst_rto.max())) if n_sys else 0.0,
        "mean_rto_s_by_dr": round6(float(dr_rto.mean())) if len(dr_rto) else 0.0,
        "replication": {
            **{k: round6(v) for k, v in dr.repl.totals().items()},
            "mean_lag_s": round6(float(mean_lag[has_async].mean())) if has_async.any() else 0.0,
            "max_lag_s": round6(float(dr.lag_max.max())) if n_sys else 0.0,
        },
        "backups": {
            k: round6(v) if isinstance(v, float) else v for k, v in dr.backup_summary.items()
        },
        "gbt20988_levels": {str(k): v for k, v in sorted(Counter(levels).items(), reverse=True)},
        "policy_failures": dr.policy_failure_count,
        "policy_failure_examples": [
            {"time": round6(f.time), "policy": f.policy, "error": f.error}
            for f in dr.policy_failures[:5]
        ],
    }
    return columns, summary


def _backup_columns(dr: DRController) -> dict[str, pa.Array]:
    """Per system: backups completed during the run, slots skipped (overrun) or not taken
    (source down), and the mean and longest duration of a completed one (0: none)."""
    logs = dr.backups.logs
    durations = [dr.backups.durations(s) for s in range(len(logs))]
    return {
        "backups_completed": pa.array([len(d) for d in durations], pa.int64()),
        "backups_skipped": pa.array([g.skipped for g in logs], pa.int64()),
        "backups_not_taken": pa.array([g.not_taken + g.abandoned for g in logs], pa.int64()),
        "backup_mean_s": pa.array([float(d.mean()) if d.size else 0.0 for d in durations]),
        "backup_max_s": pa.array([float(d.max()) if d.size else 0.0 for d in durations]),
    }
