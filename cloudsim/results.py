"""Run results: flat tables, a summary and metadata echoing the resolved scenario.

Writing is atomic per file (temporary name, then rename) and deterministic: the same
scenario and seed give byte-identical ``summary.json`` and identical tables.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from cloudsim.dr.ledger import build_ledger
from cloudsim.scenario.schema import RESOURCE_UNITS, RESOURCES
from cloudsim.state.vms import VMStatus

if TYPE_CHECKING:
    from cloudsim.engine import Simulation

#: The tables every run writes; a run with a container platform writes more (see metadata).
TABLES: tuple[str, ...] = ("events", "timeseries", "vms", "systems", "incidents", "availability")
_DEPENDENCIES = ("numpy", "simpy", "networkx", "pydantic", "PyYAML", "pyarrow")


@dataclass
class RunResult:
    """What one run produced; ``tables`` are pyarrow tables keyed by name."""

    summary: dict[str, Any]
    metadata: dict[str, Any]
    tables: dict[str, pa.Table]

    def write(self, out: str | Path) -> Path:
        """Write ``summary.json``, ``metadata.json`` and one Parquet file per table."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables.items():
            _atomic(out / f"{name}.parquet", lambda p, t=table: pq.write_table(t, p))
        _atomic(out / "metadata.json", lambda p: _write_json(p, self.metadata))
        _atomic(out / "summary.json", lambda p: _write_json(p, self.summary))
        return out


def _write_json(path: str, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


def _atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _names(index: npt.ArrayLike, names: list[str] | tuple[str, ...]) -> pa.Array:
    """Dictionary-encoded names; -1 becomes null."""
    idx = np.asarray(index, dtype=np.int64)
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names) or [""], pa.string()))


def _round(value: float) -> float:
    return round(float(value), 6)


def build_result(sim: Simulation) -> RunResult:
    scenario = sim.scenario
    hosts = sim.hosts
    platform_ = sim.platform
    systems = [s.name for s in scenario.systems]
    flavors = [f.name for f in scenario.flavors]
    departments = [d.name for d in scenario.departments]

    ev = sim.recorder.events
    host_idx = np.asarray(ev["host"], dtype=np.int64)
    dc_of_event = np.where(host_idx >= 0, hosts.datacenter[np.maximum(host_idx, 0)], -1)
    events = pa.table(
        {
            "time": pa.array(ev["time"], pa.float64()),
            "kind": pa.array(ev["kind"], pa.string()).dictionary_encode(),
            "system": _names(ev["system"], systems),
            "vm": pa.array(ev["vm"], pa.int64()),
            "host": _names(host_idx, hosts.names),
            "datacenter": _names(dc_of_event, hosts.datacenter_names),
            "flavor": _names(ev["flavor"], flavors),
            "count": pa.array(ev["count"], pa.int64()),
            "reason": pa.array(ev["reason"], pa.string()).dictionary_encode(),
        }
    )

    series = sim.recorder.series()
    scope = series["scope"]
    names = np.array(
        [
            (hosts.datacenter_names if sc == "datacenter" else hosts.pool_names)[int(i)]
            for sc, i in zip(scope, series["index"], strict=True)
        ],
        dtype=object,
    )
    timeseries = pa.table(
        {
            "time": pa.array(series["time"], pa.float64()),
            "scope": pa.array(list(scope), pa.string()).dictionary_encode(),
            "name": pa.array(list(names), pa.string()).dictionary_encode(),
            **{c: pa.array(series[c]) for c in series if c not in ("time", "scope", "index")},
        }
    )

    cols = platform_.vms.columns()
    vms = pa.table(
        {
            "vm_id": pa.array(cols["vm_id"]),
            "system": _names(cols["system"], systems),
            "department": _names(cols["department"], departments),
            "flavor": _names(cols["flavor"], flavors),
            "host": _names(cols["host"], hosts.names),
            "datacenter": _names(cols["datacenter"], hosts.datacenter_names),
            "status": pa.array(
                [VMStatus(int(s)).name.lower() for s in cols["status"]], pa.string()
            ).dictionary_encode(),
            "created": pa.array(cols["created"]),
            "deleted": pa.array(cols["deleted"], mask=np.isnan(cols["deleted"])),
            **{
                f"{r}_{u.lower()}": pa.array(cols[r])
                for r, u in zip(RESOURCES, RESOURCE_UNITS, strict=True)
            },
        }
    )

    kinds = np.asarray(ev["kind"], dtype=object)
    ev_system = np.asarray(ev["system"], dtype=np.int64)
    ev_count = np.asarray(ev["count"], dtype=np.int64)
    n_sys = len(systems)

    def per_system(kind: str) -> npt.NDArray[np.int64]:
        sel = kinds == kind
        return np.bincount(ev_system[sel], weights=ev_count[sel], minlength=n_sys).astype(np.int64)

    live_per_system = np.bincount(platform_.vms.ints["system"][platform_.vms.live], minlength=n_sys)
    requested = per_system("create") + per_system("reject")
    systems_table = pa.table(
        {
            "name": pa.array(systems, pa.string()),
            "department": pa.array([s.department for s in scenario.systems], pa.string()),
            "zone": pa.array([s.zone for s in scenario.systems], pa.string()),
            "arch": pa.array([s.arch for s in scenario.systems], pa.string()),
            "mlps_level": pa.array([s.mlps_level for s in scenario.systems], pa.int8()),
            "priority": pa.array([s.priority for s in scenario.systems], pa.string()),
            "datacenters": pa.array([",".join(s.datacenters) for s in scenario.systems]),
            "anti_affinity": pa.array([s.anti_affinity for s in scenario.systems]),
            "vms_declared": pa.array([s.vm_count for s in scenario.systems], pa.int64()),
            "vms_initial": pa.array(per_system("initial")),
            "vms_unplaced": pa.array(per_system("unplaced")),
            "vms_requested": pa.array(requested),
            "vms_rejected": pa.array(per_system("reject")),
            "vms_end": pa.array(live_per_system.astype(np.int64)),
        }
    )

    tables = {"events": events, "timeseries": timeseries, "vms": vms, "systems": systems_table}
    summary = _summary(sim, series, kinds, ev_count)
    ledger = build_ledger(sim)
    tables |= {"incidents": ledger.incidents, "availability": ledger.availability}
    summary |= ledger.summary
    if sim.containers is not None:  # pods, services, service_outages, cluster_timeseries, nodes
        container_tables = sim.containers.tables()
        tables |= container_tables
        summary["containers"] = sim.containers.summary(container_tables)
    return RunResult(summary=summary, metadata=_metadata(sim, list(tables)), tables=tables)


def _summary(
    sim: Simulation,
    series: dict[str, npt.NDArray[Any]],
    kinds: npt.NDArray[Any],
    counts: npt.NDArray[np.int64],
) -> dict[str, Any]:
    hosts = sim.hosts
    platform_ = sim.platform

    def total(kind: str) -> int:
        return int(counts[kinds == kind].sum())

    def scoped(scope: str, names: tuple[str, ...], index: npt.NDArray[np.int32]) -> dict[str, Any]:
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
                entry[f"{r}_allocated_ratio"] = _round(values[-1]) if len(values) else 0.0
                entry[f"{r}_allocated_ratio_peak"] = _round(values.max()) if len(values) else 0.0
            vms = series["vms"][rows]
            entry["vms_end"] = int(vms[-1]) if len(vms) else 0
            entry["vms_peak"] = int(vms.max()) if len(vms) else 0
            power = series["it_power_kw"][rows]
            entry["it_power_kw_mean"] = _round(power.mean()) if len(power) else 0.0
            out[name] = entry
        return out

    requested = total("create") + total("reject")
    rejected = total("reject")
    datacenters = scoped("datacenter", hosts.datacenter_names, hosts.datacenter)
    for dc in sim.scenario.datacenters:
        datacenters[dc.name]["facility_power_kw_mean"] = _round(
            datacenters[dc.name]["it_power_kw_mean"] * dc.pue
        )
    return {
        "scenario": sim.scenario.meta.name,
        "seed": sim.seed,
        "horizon_s": sim.horizon,
        "hosts": hosts.size,
        "physical_cores": int(hosts.physical_cores.sum()),
        "vms_initial": total("initial"),
        "vms_initial_unplaced": total("unplaced"),
        "initial_unplaced_by_reason": dict(sorted(platform_.initial_unplaced.items())),
        "requests": len(sim.requests.time[sim.requests.time < sim.horizon]),
        "vms_requested": requested,
        "vms_placed": total("create"),
        "vms_rejected": rejected,
        "rejection_ratio": _round(rejected / requested) if requested else 0.0,
        "rejections_by_reason": dict(sorted(Counter(platform_.rejected).items())),
        "vms_deleted": total("delete"),
        "vms_end": platform_.vms.count,
        "events_processed": sim.events_processed,
        "datacenters": datacenters,
        "pools": scoped("pool", hosts.pool_names, hosts.pool),
    }


def _metadata(sim: Simulation, tables: list[str]) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for dist in ("cloudsim", *_DEPENDENCIES):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    from cloudsim.engine import STREAMS

    return {
        "seed": sim.seed,
        "random_streams": list(STREAMS),
        "python": platform.python_version(),
        "versions": versions,
        "units": dict(zip(RESOURCES, RESOURCE_UNITS, strict=True)),
        "tables": tables,
        "scenario": sim.scenario.model_dump(mode="json"),
    }
