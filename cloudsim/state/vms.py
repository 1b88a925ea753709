"""The VM table: live cloud hosts as rows with a free list; finished ones are archived.

A row is reused once its VM is gone, so memory follows the live population; every VM ever
created keeps a stable ``vm_id`` and appears in :meth:`VMTable.columns` for the results.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.schema import RESOURCES

IntArray = npt.NDArray[np.int64]


class VMStatus(IntEnum):
    RUNNING = 1
    DELETED = 2
    LOST = 3


_INT_COLUMNS = ("vm_id", "system", "department", "flavor", "host", "datacenter", "status")
_FLOAT_COLUMNS = ("created", "deleted")


class VMTable:
    """Columns indexed by row; ``demand`` is resource-major ``(R, N)``."""

    def __init__(self, initial_rows: int = 1024) -> None:
        n = max(1, initial_rows)
        self.ints: dict[str, IntArray] = {c: np.full(n, -1, dtype=np.int64) for c in _INT_COLUMNS}
        self.floats = {c: np.full(n, np.nan) for c in _FLOAT_COLUMNS}
        self.demand: IntArray = np.zeros((len(RESOURCES), n), dtype=np.int64)
        self.live: npt.NDArray[np.bool_] = np.zeros(n, dtype=np.bool_)
        self._free_rows: list[int] = list(range(n - 1, -1, -1))
        self._archive: list[tuple[list[int], list[float], list[int]]] = []
        self.next_id = 0

    @property
    def count(self) -> int:
        return int(self.live.sum())

    def _grow(self) -> None:
        old = len(self.live)
        new = old * 2
        for name, arr in self.ints.items():
            self.ints[name] = np.concatenate([arr, np.full(old, -1, dtype=np.int64)])
        for name, farr in self.floats.items():
            self.floats[name] = np.concatenate([farr, np.full(old, np.nan)])
        self.demand = np.concatenate([self.demand, np.zeros_like(self.demand)], axis=1)
        self.live = np.concatenate([self.live, np.zeros(old, dtype=np.bool_)])
        self._free_rows.extend(range(new - 1, old - 1, -1))

    def add(
        self,
        *,
        system: int,
        department: int,
        flavor: int,
        host: int,
        datacenter: int,
        demand: IntArray,
        time: float,
    ) -> int:
        """Record a running VM; returns its row."""
        if not self._free_rows:
            self._grow()
        row = self._free_rows.pop()
        values = {
            "vm_id": self.next_id,
            "system": system,
            "department": department,
            "flavor": flavor,
            "host": host,
            "datacenter": datacenter,
            "status": int(VMStatus.RUNNING),
        }
        for name, value in values.items():
            self.ints[name][row] = value
        self.floats["created"][row] = time
        self.floats["deleted"][row] = np.nan
        self.demand[:, row] = demand
        self.live[row] = True
        self.next_id += 1
        return row

    def remove(self, row: int, time: float, status: VMStatus = VMStatus.DELETED) -> None:
        """End a VM's life: archive its record and free the row."""
        if not self.live[row]:
            raise ValueError(f"row {row} holds no live VM")
        self.ints["status"][row] = int(status)
        self.floats["deleted"][row] = time
        self._archive.append(
            (
                [int(self.ints[c][row]) for c in _INT_COLUMNS],
                [float(self.floats[c][row]) for c in _FLOAT_COLUMNS],
                [int(v) for v in self.demand[:, row]],
            )
        )
        self.live[row] = False
        self._free_rows.append(row)

    def rows_of(self, column: str, value: int) -> IntArray:
        """Live rows whose integer ``column`` equals ``value``."""
        return np.flatnonzero(self.live & (self.ints[column] == value)).astype(np.int64)

    def columns(self) -> dict[str, npt.NDArray[np.generic]]:
        """Every VM ever created (archived then live), ordered by ``vm_id``."""
        rows = np.flatnonzero(self.live)
        ints = {c: [rec[0][i] for rec in self._archive] for i, c in enumerate(_INT_COLUMNS)}
        floats = {c: [rec[1][i] for rec in self._archive] for i, c in enumerate(_FLOAT_COLUMNS)}
        demand = [[rec[2][r] for rec in self._archive] for r in range(len(RESOURCES))]
        out: dict[str, npt.NDArray[np.generic]] = {}
        for c in _INT_COLUMNS:
            out[c] = np.concatenate([np.array(ints[c], dtype=np.int64), self.ints[c][rows]])
        for c in _FLOAT_COLUMNS:
            out[c] = np.concatenate([np.array(floats[c], dtype=np.float64), self.floats[c][rows]])
        for r, name in enumerate(RESOURCES):
            out[name] = np.concatenate([np.array(demand[r], dtype=np.int64), self.demand[r, rows]])
        order = np.argsort(out["vm_id"], kind="stable")
        return {name: values[order] for name, values in out.items()}
