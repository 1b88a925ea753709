"""The VM table: live cloud hosts as rows with a free list; finished ones are archived.

A row is reused once its VM is gone, so memory follows the live population; every VM ever
created keeps a stable ``vm_id`` and appears in :meth:`VMTable.columns` for the results.

Everything is columnar: the live rows are two blocks (integers and times) whose rows the
named columns view, the free list is an array used as a stack, and a finished VM's record
is copied into archive blocks that grow by doubling — nothing per VM is a Python object, so
ten million cloud hosts cost their columns' bytes and no more.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from cloudsim.scenario.schema import RESOURCES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class VMStatus(IntEnum):
    RUNNING = 1
    DELETED = 2
    LOST = 3


_INT_COLUMNS = ("vm_id", "system", "department", "flavor", "host", "datacenter", "status")
_FLOAT_COLUMNS = ("created", "deleted")
_STATUS = _INT_COLUMNS.index("status")
_DELETED = _FLOAT_COLUMNS.index("deleted")


_Scalar = TypeVar("_Scalar", bound=np.generic)


def _wider(block: npt.NDArray[_Scalar], columns: int, fill: float) -> npt.NDArray[_Scalar]:
    """``block`` with ``columns`` columns, the new ones ``fill``."""
    out = np.full((block.shape[0], columns), fill, dtype=block.dtype)
    out[:, : block.shape[1]] = block
    return out


class VMTable:
    """Columns indexed by row; ``demand`` is resource-major ``(R, N)``.

    ``ints[name]`` and ``floats[name]`` are views of one row of the integer and time blocks
    (replaced when the table grows: look them up, do not keep them across an ``add``).
    """

    def __init__(self, initial_rows: int = 1024) -> None:
        n = max(1, initial_rows)
        self._int_block: IntArray = np.full((len(_INT_COLUMNS), n), -1, dtype=np.int64)
        self._float_block: FloatArray = np.full((len(_FLOAT_COLUMNS), n), np.nan)
        self.demand: IntArray = np.zeros((len(RESOURCES), n), dtype=np.int64)
        self.live: npt.NDArray[np.bool_] = np.zeros(n, dtype=np.bool_)
        self.ints: dict[str, IntArray] = {}
        self.floats: dict[str, FloatArray] = {}
        self._name_views()
        # free rows as a stack (the top is the last element): rows 0, 1, 2… come out first,
        # and a freed row is the next one reused
        self._free: IntArray = np.arange(n - 1, -1, -1, dtype=np.int64)
        self._n_free = n
        # finished VMs: integer columns then the demand (rows of one block), and the times
        self._archived = 0
        self._archive_ints: IntArray = np.zeros((len(_INT_COLUMNS) + len(RESOURCES), 0), np.int64)
        self._archive_floats: FloatArray = np.zeros((len(_FLOAT_COLUMNS), 0))
        self.next_id = 0

    def _name_views(self) -> None:
        self.ints = {c: self._int_block[i] for i, c in enumerate(_INT_COLUMNS)}
        self.floats = {c: self._float_block[i] for i, c in enumerate(_FLOAT_COLUMNS)}

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.live))

    @property
    def archived(self) -> int:
        """How many finished VMs the archive holds."""
        return self._archived

    def _grow(self) -> None:
        old = len(self.live)
        new = old * 2
        self._int_block = _wider(self._int_block, new, -1)
        self._float_block = _wider(self._float_block, new, np.nan)
        self.demand = _wider(self.demand, new, 0)
        self.live = _wider(self.live[None, :], new, False)[0]
        self._name_views()
        free = np.empty(new, dtype=np.int64)
        free[: self._n_free] = self._free[: self._n_free]
        free[self._n_free : self._n_free + new - old] = np.arange(new - 1, old - 1, -1)
        self._free = free
        self._n_free += new - old

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
        if not self._n_free:
            self._grow()
        self._n_free -= 1
        row = int(self._free[self._n_free])
        self._int_block[:, row] = (
            self.next_id, system, department, flavor, host, datacenter, VMStatus.RUNNING,
        )  # fmt: skip
        self._float_block[:, row] = (time, np.nan)
        self.demand[:, row] = demand
        self.live[row] = True
        self.next_id += 1
        return row

    def remove(self, row: int, time: float, status: VMStatus = VMStatus.DELETED) -> None:
        """End a VM's life: archive its record and free the row."""
        if not self.live[row]:
            raise ValueError(f"row {row} holds no live VM")
        self._int_block[_STATUS, row] = status
        self._float_block[_DELETED, row] = time
        k = self._archived
        if k == self._archive_floats.shape[1]:
            self._widen_archive(max(1024, 2 * k))
        n_int = len(_INT_COLUMNS)
        self._archive_ints[:n_int, k] = self._int_block[:, row]
        self._archive_ints[n_int:, k] = self.demand[:, row]
        self._archive_floats[:, k] = self._float_block[:, row]
        self._archived = k + 1
        self.live[row] = False
        self._free[self._n_free] = row
        self._n_free += 1

    def _widen_archive(self, size: int) -> None:
        self._archive_ints = _wider(self._archive_ints, size, 0)
        self._archive_floats = _wider(self._archive_floats, size, 0.0)

    def rows_of(self, column: str, value: int) -> IntArray:
        """Live rows whose integer ``column`` equals ``value``."""
        return np.flatnonzero(self.live & (self.ints[column] == value)).astype(np.int64)

    def columns(self) -> dict[str, npt.NDArray[np.generic]]:
        """Every VM ever created (archived then live), ordered by ``vm_id``."""
        rows = np.flatnonzero(self.live)
        k = self._archived
        n_int = len(_INT_COLUMNS)
        live = np.concatenate([self._int_block[:, rows], self.demand[:, rows]], axis=0)
        ints = np.concatenate([self._archive_ints[:, :k], live], axis=1)
        del live
        floats = np.concatenate([self._archive_floats[:, :k], self._float_block[:, rows]], axis=1)
        order = np.argsort(ints[0], kind="stable")
        out: dict[str, npt.NDArray[np.generic]] = {}
        for i, c in enumerate(_INT_COLUMNS):
            out[c] = ints[i, order]
        for i, c in enumerate(_FLOAT_COLUMNS):
            out[c] = floats[i, order]
        for r, name in enumerate(RESOURCES):
            out[name] = ints[n_int + r, order]
        return out
