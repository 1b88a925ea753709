"""A sweep's folder: one record per finished run, the experiment's design, and the tables
rebuilt from them.

```
OUT/experiment.json      the design (cells, axes, metrics, baseline) and each cell's seeds
OUT/records/KEY.json     one finished run: summary, table metrics, status, error, wall time
OUT/runs.parquet         one row per run: parameters, metrics, status, wall time
OUT/cells.parquet        per cell and metric: mean, interval, paired difference to baseline
OUT/runs/KEY/            with --keep tables: the run's own result folder (as `cloudsim run`)
OUT/tables/NAME.parquet  with --keep tables: every run's table NAME, with run and parameters
```
A run's KEY is a digest of its resolved scenario, its seed and the cloudsim version, so a
record is reused by any experiment that asks for the same run, and never across versions.
Every file is written atomically (temporary name, then rename): a sweep killed at any
moment leaves whole records, and starting it again re-runs only what has none.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cloudsim.errors import ExperimentError, Problem
from cloudsim.experiments.metrics import summary_value, table_metric_id
from cloudsim.experiments.plan import Cell, Design, parameter_arrays, parameter_names
from cloudsim.experiments.runner import RunOutcome
from cloudsim.experiments.spec import Metric
from cloudsim.results import atomic_write, write_json, write_parquet

MANIFEST = "experiment.json"
RUNS = "runs.parquet"
CELLS = "cells.parquet"

SeedsByCell = dict[int, list[int]]


def run_key(digest: str, seed: int, version: str) -> str:
    """The identity of one run: resolved scenario, seed, cloudsim version."""
    return hashlib.sha256(f"{digest}\n{seed}\n{version}".encode()).hexdigest()[:32]


class Store:
    """The folder of one sweep (see the module's docstring for its layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.records_dir = self.root / "records"
        self._lock: int | None = None
        self._created = False
        self._records: dict[str, dict[str, Any]] | None = None

    # -- writing -------------------------------------------------------------------------------
    def open(self) -> None:
        """Create the folder, take its lock (one sweep writes a store at a time) and drop
        the temporary files of a sweep that was killed."""
        self._created = not self.root.exists()
        try:
            self.records_dir.mkdir(parents=True, exist_ok=True)
            self._lock = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ExperimentError(
                [Problem("--out", str(self.root), f"cannot write here: {exc.strerror or exc}")]
            ) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            self._lock = None
            raise ExperimentError(
                [Problem("--out", str(self.root), "another sweep is writing to this folder")]
            ) from None
        for leftover in self.root.rglob(".*"):
            if leftover.is_file() and leftover.name != ".lock":
                leftover.unlink()

    def close(self, *, discard: bool = False) -> None:
        """Release the lock; ``discard`` removes a folder this sweep created and wrote no
        record to (a sweep stopped by a problem leaves nothing behind)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
            (self.root / ".lock").unlink(missing_ok=True)
        if discard and self._created and not any(self.records_dir.iterdir()):
            shutil.rmtree(self.root, ignore_errors=True)

    def save(self, outcome: RunOutcome, *, cell: Cell, seed: int, version: str) -> None:
        """Record a finished run (its result folder first, when it has one: a record is
        written only once everything it stands for is on disk)."""
        if outcome.result is not None:
            outcome.result.write(self.root / "runs" / outcome.key)
        before = self.records().get(outcome.key, {})
        record = {
            "key": outcome.key,
            "scenario_digest": cell.scenario_digest,
            "seed": seed,
            "cloudsim": version,
            "cell": cell.label,
            "params": cell.params,
            "status": "ok" if outcome.ok else "failed",
            "error_type": outcome.error_type,
            "error": outcome.error,
            "traceback": outcome.traceback,
            "wall_s": outcome.wall_s,
            "worker": outcome.worker,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": outcome.summary,
            "table_metrics": {**before.get("table_metrics", {}), **outcome.table_values},
            "table_metrics_missing": outcome.missing,
        }
        atomic_write(self.records_dir / f"{outcome.key}.json", lambda p: write_json(p, record))
        self.records()[outcome.key] = record

    def write_manifest(self, design: Design, seeds: SeedsByCell, version: str) -> None:
        """``experiment.json``: what ``compare`` needs to rebuild the tables from records."""
        data = {
            "design": design.to_json(),
            "seeds": {str(k): v for k, v in seeds.items()},
            "cloudsim": version,
        }
        atomic_write(self.root / MANIFEST, lambda p: write_json(p, data))

    def write_tables(self, runs: pa.Table, cells: pa.Table) -> None:
        """``runs.parquet`` and ``cells.parquet``."""
        write_parquet(self.root / RUNS, runs)
        write_parquet(self.root / CELLS, cells)

    def combine_tables(self, runs: pa.Table, design: Design) -> list[str]:
        """``tables/NAME.parquet``: table NAME of every kept run, with the run's id, cell,
        seed and parameters in front. Returns the names written."""
        keys = ["run_id", "cell", "seed", *parameter_names(design.axes)]
        prefix = runs.filter(pc.equal(runs.column("status"), "ok")).select(keys)
        parts: dict[str, list[pa.Table]] = {}
        for i in range(prefix.num_rows):
            folder = self.root / "runs" / str(prefix.column("run_id")[i].as_py())
            for path in sorted(folder.glob("*.parquet")):
                table = pq.read_table(path)
                front = prefix.slice(i, 1).take(pa.array(np.zeros(table.num_rows, np.int64)))
                columns = {
                    **{n: front.column(n) for n in keys},
                    **dict(zip(table.column_names, table.columns, strict=True)),
                }
                parts.setdefault(path.stem, []).append(pa.table(columns))
        (self.root / "tables").mkdir(exist_ok=True)
        for name, tables in parts.items():
            combined = pa.concat_tables(tables, promote_options="permissive")
            write_parquet(self.root / "tables" / f"{name}.parquet", combined)
        return sorted(parts)

    # -- reading -------------------------------------------------------------------------------
    def records(self) -> dict[str, dict[str, Any]]:
        """Every record in the folder, by key (read once)."""
        if self._records is None:
            self._records = {}
            if self.records_dir.is_dir():
                for path in sorted(self.records_dir.glob("[!.]*.json")):
                    self._records[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        return self._records

    def has_folder(self, key: str) -> bool:
        """Whether the run's result folder was written whole (its summary comes last)."""
        return (self.root / "runs" / key / "summary.json").is_file()

    def read_manifest(self) -> tuple[Design, SeedsByCell, str]:
        """The design, each cell's seeds and the cloudsim version of the last sweep here."""
        path = self.root / MANIFEST
        if not path.is_file():
            raise ExperimentError(
                [Problem(str(self.root), "", f"not a sweep's folder: no {MANIFEST}")]
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        seeds = {int(k): v for k, v in data["seeds"].items()}
        return Design.from_json(data["design"]), seeds, data["cloudsim"]


def runs_table(
    design: Design,
    seeds: SeedsByCell,
    records: Mapping[str, Mapping[str, Any]],
    version: str,
    metrics: Iterable[Metric] | None = None,
) -> pa.Table:
    """One row per stored run of the design's cells and seeds (cell, then seed order):
    run id, cell, parameters, seed, status, error, wall time and every metric."""
    metrics = list(design.metrics if metrics is None else metrics)
    rows: list[tuple[Cell, int, Mapping[str, Any]]] = []
    for cell in design.cells:
        for seed in sorted(seeds.get(cell.index, [])):
            record = records.get(run_key(cell.scenario_digest, seed, version))
            if record is not None:
                rows.append((cell, seed, record))
    columns: dict[str, pa.Array] = {
        "run_id": pa.array([r["key"] for _, _, r in rows], pa.string()),
        "cell_index": pa.array([c.index for c, _, _ in rows], pa.int64()),
        "cell": pa.array([c.label for c, _, _ in rows], pa.string()),
    }
    columns.update(parameter_arrays(design.axes, [c for c, _, _ in rows]))
    columns["seed"] = pa.array([s for _, s, _ in rows], pa.int64())
    for name in ("status", "error_type", "error"):
        columns[name] = pa.array([r.get(name) for _, _, r in rows], pa.string())
    columns["wall_s"] = pa.array([r["wall_s"] for _, _, r in rows], pa.float64())
    for metric in metrics:
        columns[metric.name] = pa.array([metric_of(r, metric) for _, _, r in rows], pa.float64())
    return pa.table(columns)


def metric_of(record: Mapping[str, Any], metric: Metric) -> float | None:
    """A metric of a stored run (None for a failed run or one that lacks it)."""
    if record.get("status") != "ok":
        return None
    if metric.path is not None:
        return summary_value(record["summary"], metric).value
    value = record.get("table_metrics", {}).get(table_metric_id(metric))
    return None if value is None else float(value)
