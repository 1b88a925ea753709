"""VM utilisation traces in the OpenDC format (schema v4: ``tasks.parquet`` +
``fragments.parquet``, as the Bitbrains and other traces are published).

A task's fragments are consecutive utilisation samples (``duration`` ms, ``cpu_usage``
MHz); divided by the task's ``cpu_capacity`` (MHz) they are the fraction of the VM's
vCPUs in use (above 1 counts as 1). A replay needs the integral of that step function, so
the trace is kept as one cumulative table over every task: task ``j``'s points sit at
``j * span + local time`` so one ``np.interp`` serves every VM at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

FloatArray = npt.NDArray[np.float64]

TASK_COLUMNS = {"id": "an integer task id", "cpu_capacity": "MHz, a positive number"}
FRAGMENT_COLUMNS = {
    "id": "an integer task id",
    "duration": "milliseconds, a positive integer",
    "cpu_usage": "MHz, a number at least 0",
}


@dataclass(frozen=True)
class UtilisationTrace:
    """Every task's CPU utilisation as a cumulative integral (see the module docstring)."""

    task_ids: npt.NDArray[np.int64]  # (J,) in order of id
    length_s: FloatArray  # (J,) each task's span
    total: FloatArray  # (J,) each task's integral of utilisation over its span (s)
    span: float  # the offset between two tasks' points (more than any length)
    keys: FloatArray  # task j's points at j * span + local time
    cumulative: FloatArray  # the integral at each key

    @property
    def tasks(self) -> int:
        return len(self.task_ids)

    def integral(self, task: npt.NDArray[np.int64], t: FloatArray) -> FloatArray:
        """∫ utilisation from 0 to ``t`` (≥ 0, looping) of each ``task``."""
        length = self.length_s[task]
        loops = np.floor(t / length)
        local = t - loops * length
        return loops * self.total[task] + np.interp(
            task * self.span + local, self.keys, self.cumulative
        )

    def mean(self, task: npt.NDArray[np.int64], t0: FloatArray, dt: float) -> FloatArray:
        """Mean utilisation of each ``task`` over [t0, t0 + dt) of its replay."""
        return (self.integral(task, t0 + dt) - self.integral(task, t0)) / dt


def _problem(file: Path, row: int | None, column: str, expected: str, got: object) -> ValueError:
    where = f"{file}" + (f", row {row + 1}" if row is not None else "")
    if isinstance(got, np.generic):
        got = got.item()
    return ValueError(f"{where}, column {column!r}: expected {expected}, got {got!r}")


def _read(file: Path, columns: dict[str, str]) -> pa.Table:
    if not file.is_file():
        raise ValueError(f"no trace file at {str(file)!r}")
    try:
        table = pq.read_table(file)
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"{file}: not a Parquet file ({exc})") from None
    for name, expected in columns.items():
        if name not in table.column_names:
            raise ValueError(f"{file}: no column {name!r} ({expected})")
        column = table[name]
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise _problem(file, None, name, expected, str(column.type))
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise _problem(file, row, name, expected, None)
    return table.select(list(columns))


def _first(bad: npt.NDArray[np.bool_]) -> int | None:
    found = np.flatnonzero(bad)
    return int(found[0]) if found.size else None


def read_trace(folder: str | Path) -> UtilisationTrace:
    """Read and check a trace folder; ValueError naming the file, row and column of a bad
    value."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"no trace folder at {str(folder)!r} (tasks.parquet, fragments.parquet)")
    tasks_file, fragments_file = folder / "tasks.parquet", folder / "fragments.parquet"
    tasks = _read(tasks_file, TASK_COLUMNS)
    fragments = _read(fragments_file, FRAGMENT_COLUMNS)
    ids = tasks["id"].to_numpy().astype(np.int64)
    capacity = tasks["cpu_capacity"].to_numpy().astype(np.float64)
    if (row := _first(~np.isfinite(capacity) | (capacity <= 0))) is not None:
        raise _problem(tasks_file, row, "cpu_capacity", TASK_COLUMNS["cpu_capacity"], capacity[row])
    if tasks.num_rows == 0:
        raise ValueError(f"{tasks_file}: no tasks")
    order = np.argsort(ids, kind="stable")
    ids, capacity = ids[order], capacity[order]
    if (row := _first(ids[1:] == ids[:-1])) is not None:
        raise _problem(tasks_file, int(order[row + 1]), "id", "each task once", int(ids[row]))
    f_id = fragments["id"].to_numpy().astype(np.int64)
    duration = fragments["duration"].to_numpy().astype(np.float64) / 1000.0
    usage = fragments["cpu_usage"].to_numpy().astype(np.float64)
    if (row := _first(~np.isfinite(duration) | (duration <= 0))) is not None:
        raise _problem(
            fragments_file, row, "duration", FRAGMENT_COLUMNS["duration"], duration[row] * 1000
        )
    if (row := _first(~np.isfinite(usage) | (usage < 0))) is not None:
        raise _problem(fragments_file, row, "cpu_usage", FRAGMENT_COLUMNS["cpu_usage"], usage[row])
    task = np.searchsorted(ids, f_id)
    known = (task < len(ids)) & (ids[np.minimum(task, len(ids) - 1)] == f_id)
    if (row := _first(~known)) is not None:
        raise _problem(fragments_file, row, "id", f"a task of {tasks_file.name}", int(f_id[row]))
    starts = np.flatnonzero(np.r_[True, task[1:] != task[:-1]])
    run_task = task[starts]
    seen, counts = np.unique(run_task, return_counts=True)
    if (counts > 1).any():
        again = int(seen[np.flatnonzero(counts > 1)[0]])
        row = int(starts[np.flatnonzero(run_task == again)[1]])
        raise _problem(
            fragments_file,
            row,
            "id",
            "each task's fragments in one consecutive run",
            int(ids[again]),
        )
    missing = np.setdiff1d(np.arange(len(ids)), task)
    if missing.size:
        raise ValueError(f"{tasks_file}: task {int(ids[missing[0]])} has no fragments")
    # Per fragment: end time within its task and the integral of utilisation up to there.
    util = np.minimum(usage / capacity[task], 1.0)
    grouped = np.argsort(task, kind="stable")
    task, duration, util = task[grouped], duration[grouped], util[grouped]
    first = np.r_[True, task[1:] != task[:-1]]
    end = _restarting_cumsum(duration, first)
    area = _restarting_cumsum(duration * util, first)
    length = np.bincount(task, weights=duration, minlength=len(ids)).astype(np.float64)
    total = np.bincount(task, weights=duration * util, minlength=len(ids)).astype(np.float64)
    span = float(length.max()) * 2.0 + 1.0
    keys = np.concatenate([task * span + end, np.arange(len(ids)) * span])
    cumulative = np.concatenate([area, np.zeros(len(ids))])
    order = np.argsort(keys, kind="stable")
    return UtilisationTrace(
        task_ids=ids,
        length_s=length,
        total=total,
        span=span,
        keys=keys[order],
        cumulative=cumulative[order],
    )


def _restarting_cumsum(values: FloatArray, first: npt.NDArray[np.bool_]) -> FloatArray:
    """Cumulative sums that restart where ``first`` is set."""
    total = np.cumsum(values)
    base = np.maximum.accumulate(np.where(first, total - values, 0.0))
    return total - base
