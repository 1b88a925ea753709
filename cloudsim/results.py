"""Run results: flat tables, a summary and metadata echoing the resolved scenario.

Writing is atomic per file (temporary name, then rename) and deterministic: the same
scenario and seed give byte-identical ``summary.json`` and identical tables.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cloudsim.kernel import Kernel, Results
from cloudsim.records.columns import names_column
from cloudsim.scenario.schema import RESOURCE_UNITS, RESOURCES

#: The tables every run writes; modules a scenario enables write more (see metadata).
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
            write_parquet(out / f"{name}.parquet", table)
        atomic_write(out / "metadata.json", lambda p: write_json(p, self.metadata))
        atomic_write(out / "summary.json", lambda p: write_json(p, self.summary))
        return out


def write_parquet(path: Path, table: pa.Table) -> None:
    """Write one table atomically."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_json(path: str | Path, data: Any) -> None:
    """Deterministic JSON: sorted keys, two-space indent, UTF-8, a final newline."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


def atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Write ``path`` through ``write(temporary_path)`` in the same folder, then rename: a
    reader (or a process killed mid-way) sees the old file or the whole new one, never a part.
    The temporary name starts with a dot."""
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


def _events_table(kernel: Kernel) -> pa.Table:
    """The event log every module wrote."""
    world = kernel.world
    hosts = kernel.ctx.hosts
    ev = kernel.ctx.recorder.events
    host_idx = np.asarray(ev["host"], dtype=np.int64)
    dc_of_event = np.where(host_idx >= 0, hosts.datacenter[np.maximum(host_idx, 0)], -1)
    return pa.table(
        {
            "time": pa.array(ev["time"], pa.float64()),
            "kind": pa.array(ev["kind"], pa.string()).dictionary_encode(),
            "system": names_column(ev["system"], world.systems),
            "vm": pa.array(ev["vm"], pa.int64()),
            "host": names_column(host_idx, hosts.names),
            "datacenter": names_column(dc_of_event, hosts.datacenter_names),
            "flavor": names_column(ev["flavor"], world.flavors),
            "count": pa.array(ev["count"], pa.int64()),
            "reason": pa.array(ev["reason"], pa.string()).dictionary_encode(),
        }
    )


def assemble(kernel: Kernel) -> RunResult:
    """The results of a finished run: the event log, then each module's tables and summary
    (in composition order; a module may extend a table of one before it)."""
    world = kernel.world
    results = Results(
        tables={"events": _events_table(kernel)},
        summary={
            "scenario": world.scenario.meta.name,
            "seed": kernel.seed,
            "horizon_s": kernel.horizon,
            "events_processed": kernel.events_processed,
        },
    )
    for module in kernel.modules:
        for name, table in module.tables(results).items():
            if name in results.tables and name not in module.replaces:
                raise RuntimeError(f"module {module.name!r} writes table {name!r} again")
            results.tables[name] = table
    for module in kernel.modules:
        for key, value in module.summary(results).items():
            if key in results.summary:
                raise RuntimeError(f"module {module.name!r} writes summary key {key!r} again")
            results.summary[key] = value
    return RunResult(
        summary=results.summary,
        metadata=_metadata(kernel, list(results.tables)),
        tables=results.tables,
    )


def _metadata(kernel: Kernel, tables: list[str]) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for dist in ("cloudsim", *_DEPENDENCIES):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "seed": kernel.seed,
        "modules": [module.name for module in kernel.modules],
        "random_streams": list(kernel.streams.names),
        "python": platform.python_version(),
        "versions": versions,
        "units": dict(zip(RESOURCES, RESOURCE_UNITS, strict=True)),
        "tables": tables,
        "scenario": kernel.world.scenario.dump(),
    }
