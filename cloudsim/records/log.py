"""The event log as columns: numpy chunks, with kinds and reasons stored as codes.

A run of ten million cloud hosts writes tens of millions of events; kept as Python lists
they cost some 180 bytes each (an object per number), as columns 56. An appended event waits
in a short list of tuples (the cheapest append Python has) until a chunk of them is turned
into one array per column. Kinds and reasons are interned: each distinct value gets a code in
order of first appearance, the order ``pyarrow``'s dictionary encoding gives, so the results
table is built from the codes without a string per row.

Reading a column (``log["time"]``) returns a read-only array of every event so far; ``kind``
and ``reason`` read as object arrays of the values recorded, and as codes through
:meth:`EventLog.codes` with :meth:`EventLog.dictionary`. The log is a read-only mapping of
arrays, not the dict of lists it once was: :meth:`EventLog.to_pydict` gives that back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

#: Events gathered as tuples before they become arrays.
CHUNK = 1 << 16

_FLOAT_COLUMNS = ("time",)
_INT_COLUMNS = ("system", "vm", "host", "flavor", "count")
_CODED_COLUMNS = ("kind", "reason")
#: The log's columns, in the order :meth:`EventLog.add` takes them.
COLUMNS: tuple[str, ...] = ("time", "kind", "system", "vm", "host", "flavor", "count", "reason")
_DTYPE = np.dtype(
    [
        ("time", np.float64),
        ("kind", np.int32),
        ("system", np.int64),
        ("vm", np.int64),
        ("host", np.int64),
        ("flavor", np.int64),
        ("count", np.int64),
        ("reason", np.int32),
    ]
)


class EventLog(Mapping[str, npt.NDArray[Any]]):
    """Append-only columns ``time, kind, system, vm, host, flavor, count, reason``."""

    def __init__(self) -> None:
        self._pending: list[tuple[Any, ...]] = []
        self._chunks: dict[str, list[npt.NDArray[Any]]] = {c: [] for c in COLUMNS}
        self._codes: dict[str, dict[Any, int]] = {c: {} for c in _CODED_COLUMNS}
        self._values: dict[str, list[Any]] = {c: [] for c in _CODED_COLUMNS}
        self._rows = 0

    def add(
        self,
        time: float,
        kind: Any,
        system: int,
        vm: int,
        host: int,
        flavor: int,
        count: int,
        reason: Any,
    ) -> None:
        """Append one event."""
        kinds = self._codes["kind"]
        k = kinds.get(kind)
        if k is None:
            k = kinds[kind] = len(kinds)
            self._values["kind"].append(kind)
        reasons = self._codes["reason"]
        r = reasons.get(reason)
        if r is None:
            r = reasons[reason] = len(reasons)
            self._values["reason"].append(reason)
        pending = self._pending
        pending.append((time, k, system, vm, host, flavor, count, r))
        if len(pending) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        block = np.array(self._pending, dtype=_DTYPE)
        self._rows += len(self._pending)
        self._pending = []
        for column in COLUMNS:
            self._chunks[column].append(np.ascontiguousarray(block[column]))

    def _column(self, column: str) -> npt.NDArray[Any]:
        """Every event's ``column`` as one array (chunks joined once, then kept joined)."""
        self._flush()
        chunks = self._chunks[column]
        if not chunks:
            return np.zeros(0, dtype=_DTYPE[column])
        if len(chunks) > 1:
            chunks[:] = [np.concatenate(chunks)]
        view = chunks[0].view()
        view.flags.writeable = False
        return view

    @property
    def rows(self) -> int:
        """How many events were recorded."""
        return self._rows + len(self._pending)

    def codes(self, column: str) -> npt.NDArray[np.int32]:
        """``kind`` or ``reason`` of every event as a code into :meth:`dictionary`."""
        if column not in _CODED_COLUMNS:
            raise KeyError(f"{column!r} is not coded (coded: {', '.join(_CODED_COLUMNS)})")
        return self._column(column)

    def code(self, column: str, value: Any) -> int:
        """The code of ``value`` in the coded ``column`` (-1: never recorded), to compare
        with :meth:`codes`."""
        if column not in _CODED_COLUMNS:
            raise KeyError(f"{column!r} is not coded (coded: {', '.join(_CODED_COLUMNS)})")
        return self._codes[column].get(value, -1)

    def total(self, kind: Any) -> int:
        """The ``count`` summed over the events of ``kind`` (0 when none)."""
        code = self.code("kind", kind)
        if code < 0:
            return 0
        return int(self["count"][self.codes("kind") == code].sum())

    def dictionary(self, column: str) -> list[Any]:
        """The distinct ``kind`` or ``reason`` values, in order of first appearance."""
        if column not in _CODED_COLUMNS:
            raise KeyError(f"{column!r} is not coded (coded: {', '.join(_CODED_COLUMNS)})")
        return list(self._values[column])

    def __getitem__(self, column: str) -> npt.NDArray[Any]:
        if column in _CODED_COLUMNS:
            values = np.empty(len(self._values[column]), dtype=object)
            values[:] = self._values[column]
            coded: npt.NDArray[Any] = values[self._column(column)]
            return coded
        if column in _FLOAT_COLUMNS or column in _INT_COLUMNS:
            return self._column(column)
        raise KeyError(f"the event log has no column {column!r} (columns: {', '.join(COLUMNS)})")

    def to_pydict(self) -> dict[str, list[Any]]:
        """Every column as a list of Python values: what ``recorder.events`` was before
        the log became columns (a dict of lists), for ``pandas.DataFrame(...)`` or
        ``pyarrow.table(...)``; the run's ``events`` table is the same rows, typed."""
        return {column: self[column].tolist() for column in COLUMNS}

    def __iter__(self) -> Iterator[str]:
        return iter(COLUMNS)

    def __len__(self) -> int:
        return len(COLUMNS)
