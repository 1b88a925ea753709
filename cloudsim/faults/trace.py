"""Failure traces in the OpenDC / Cloud Uptime Archive format, read and checked once.

A trace is a Parquet table with one row per failure: ``failure_interval`` (ms since the
previous failure started), ``failure_duration`` (ms) and ``failure_intensity`` (fraction of
hosts affected, 0..1). Any file of that shape is accepted, not only the published ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from cloudsim.scenario.base import local_file

FloatArray = npt.NDArray[np.float64]
TRACE_COLUMNS: tuple[str, ...] = ("failure_interval", "failure_duration", "failure_intensity")


@dataclass(frozen=True)
class FailureTrace:
    """Times in seconds from the trace's start; intensity as a fraction of hosts."""

    start: FloatArray  # when each failure begins
    duration: FloatArray
    intensity: FloatArray

    @property
    def span(self) -> float:
        """Time from the trace's start to its last failure (the replay period)."""
        return float(self.start[-1]) if len(self.start) else 0.0

    def __len__(self) -> int:
        return len(self.start)


def read_failure_trace(path: str | Path) -> FailureTrace:
    """Read a failure trace; ValueError saying what is wrong with the file otherwise.

    Only a local regular file is read (not a folder, a device, a pipe or a URL)."""
    local = local_file(path, "failure trace")
    try:
        with local.open("rb") as fh:  # a file object: pyarrow never reads a URL or a folder
            table = pq.read_table(fh)
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"cannot read {str(path)!r} as Parquet: {exc}") from None
    missing = [c for c in TRACE_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(
            f"{str(path)!r} lacks the column(s) {', '.join(missing)}; a failure trace has "
            f"{', '.join(TRACE_COLUMNS)} (ms, ms, fraction of hosts)"
        )
    values: dict[str, FloatArray] = {}
    for name in TRACE_COLUMNS:
        column = table.column(name)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise ValueError(f"{str(path)!r}: column {name} must be numeric, not {column.type}")
        if column.null_count:
            raise ValueError(f"{str(path)!r}: column {name} has {column.null_count} empty values")
        array = np.asarray(column.to_numpy(), dtype=np.float64)
        if not np.all(np.isfinite(array)) or np.any(array < 0):
            raise ValueError(f"{str(path)!r}: column {name} must hold finite values >= 0")
        values[name] = array
    if np.any(values["failure_intensity"] > 1):
        raise ValueError(f"{str(path)!r}: failure_intensity is a fraction of hosts, 0..1")
    return FailureTrace(
        start=np.cumsum(values["failure_interval"]) / 1000.0,
        duration=values["failure_duration"] / 1000.0,
        intensity=values["failure_intensity"],
    )
