"""The columnar VM table and event log against the list-based stores they replaced.

A columnar store is a representation change: the rows it hands out, the columns it returns
and the event table built from it must be those of the old Python-list versions, copied here
as the reference.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.records import EventKind
from cloudsim.records.events import EVENT_COLUMNS
from cloudsim.records.log import CHUNK, COLUMNS, EventLog
from cloudsim.results import coded_strings
from cloudsim.scenario.schema import RESOURCES
from cloudsim.state.vms import VMStatus, VMTable

_INT_COLUMNS = ("vm_id", "system", "department", "flavor", "host", "datacenter", "status")
_FLOAT_COLUMNS = ("created", "deleted")


class ListVMTable:
    """The VM table before it was columnar (archive: a Python list of records)."""

    def __init__(self, initial_rows: int) -> None:
        n = max(1, initial_rows)
        self.ints = {c: np.full(n, -1, dtype=np.int64) for c in _INT_COLUMNS}
        self.floats = {c: np.full(n, np.nan) for c in _FLOAT_COLUMNS}
        self.demand = np.zeros((len(RESOURCES), n), dtype=np.int64)
        self.live = np.zeros(n, dtype=np.bool_)
        self._free_rows: list[int] = list(range(n - 1, -1, -1))
        self._archive: list[tuple[list[int], list[float], list[int]]] = []
        self.next_id = 0

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
        demand: npt.NDArray[np.int64],
        time: float,
    ) -> int:
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

    def remove(self, row: int, time: float, status: VMStatus) -> None:
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

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        rows = np.flatnonzero(self.live)
        ints = {c: [rec[0][i] for rec in self._archive] for i, c in enumerate(_INT_COLUMNS)}
        floats = {c: [rec[1][i] for rec in self._archive] for i, c in enumerate(_FLOAT_COLUMNS)}
        demand = [[rec[2][r] for rec in self._archive] for r in range(len(RESOURCES))]
        out: dict[str, npt.NDArray[Any]] = {}
        for c in _INT_COLUMNS:
            out[c] = np.concatenate([np.array(ints[c], dtype=np.int64), self.ints[c][rows]])
        for c in _FLOAT_COLUMNS:
            out[c] = np.concatenate([np.array(floats[c], dtype=np.float64), self.floats[c][rows]])
        for r, name in enumerate(RESOURCES):
            out[name] = np.concatenate([np.array(demand[r], dtype=np.int64), self.demand[r, rows]])
        order = np.argsort(out["vm_id"], kind="stable")
        return {name: values[order] for name, values in out.items()}


# an operation: ("add", system, flavor, host, time step) or ("remove", which live VM, status,
# time step) or ("resize", which live VM, new cpu) — a resize writes the live columns in place
_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 5),
            st.integers(0, 3),
            st.integers(0, 50),
            st.floats(0, 100),
        ),
        st.tuples(
            st.just("remove"),
            st.integers(0, 10**6),
            st.sampled_from(list(VMStatus)[1:]),
            st.floats(0, 100),
        ),
        st.tuples(st.just("resize"), st.integers(0, 10**6), st.integers(1, 64_000)),
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(initial_rows=st.integers(1, 40), ops=_ops)
def test_the_columnar_vm_table_matches_the_list_based_one(
    initial_rows: int, ops: list[tuple[Any, ...]]
) -> None:
    new, old = VMTable(initial_rows), ListVMTable(initial_rows)
    now = 0.0
    for op in ops:
        if op[0] == "add":
            _, system, flavor, host, step = op
            now += step
            demand = np.array([1000 * (flavor + 1), 512 * (flavor + 1), 10, 0], dtype=np.int64)
            kwargs = dict(
                system=system,
                department=system % 2,
                flavor=flavor,
                host=host,
                datacenter=host % 3,
                demand=demand,
                time=now,
            )
            assert new.add(**kwargs) == old.add(**kwargs)  # the same row
            continue
        live = np.flatnonzero(old.live)
        if not live.size:
            continue
        row = int(live[op[1] % live.size])
        if op[0] == "remove":
            now += op[3]
            new.remove(row, now, op[2])
            old.remove(row, now, op[2])
        else:
            for table in (new, old):
                table.demand[0, row] = op[2]
                table.ints["flavor"][row] = 7
        assert np.array_equal(new.live, old.live)
    assert new.count == int(old.live.sum())
    assert new.next_id == old.next_id
    for c in _INT_COLUMNS:
        assert np.array_equal(new.ints[c], old.ints[c]), c
    got, want = new.columns(), old.columns()
    assert list(got) == list(want)
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        assert np.array_equal(got[name], want[name], equal_nan=True), name


def test_a_row_that_holds_no_live_vm_cannot_be_removed() -> None:
    table = VMTable(4)
    row = table.add(
        system=0,
        department=0,
        flavor=0,
        host=0,
        datacenter=0,
        demand=np.zeros(len(RESOURCES), dtype=np.int64),
        time=0.0,
    )
    table.remove(row, 1.0)
    with pytest.raises(ValueError, match="holds no live VM"):
        table.remove(row, 2.0)
    assert table.archived == 1


class OtherKind(StrEnum):
    NOTE = "note"


_kinds = st.sampled_from(
    [EventKind.CREATE, EventKind.DELETE, EventKind.FAULT, "create", OtherKind.NOTE, "plain"]
)
_events = st.lists(
    st.tuples(
        st.floats(0, 1e9, allow_nan=False),
        _kinds,
        st.integers(-1, 5),
        st.integers(-1, 10**12),
        st.integers(-1, 100),
        st.integers(-1, 4),
        st.integers(0, 1000),
        st.sampled_from(["", "no_host", "quota_vcpus", "host_full_cpu", "从 dc1"]),
    ),
    max_size=200,
)


@settings(max_examples=100, deadline=None)
@given(events=_events)
def test_the_columnar_event_log_reads_as_the_lists_did(events: list[tuple[Any, ...]]) -> None:
    log = EventLog()
    lists: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for event in events:
        log.add(*event)
        for column, value in zip(COLUMNS, event, strict=True):
            lists[column].append(value)
    assert log.rows == len(events)
    assert list(log) == list(COLUMNS) == list(EVENT_COLUMNS)
    for column in ("time", "system", "vm", "host", "flavor", "count"):
        assert log[column].tolist() == lists[column], column
    for column in ("kind", "reason"):
        assert log[column].tolist() == lists[column], column  # equal values (str or enum)
        # the results table's dictionary column is what encoding the strings gave before
        want = pa.array(lists[column], pa.string()).dictionary_encode()
        got = coded_strings(log, column)
        assert got.type == want.type
        assert got.dictionary.equals(want.dictionary) and got.indices.equals(want.indices)
    assert log.to_pydict() == lists  # the dict of lists ``recorder.events`` used to be
    for kind in {*lists["kind"], "never-recorded"}:  # the summaries' totals per kind
        want_total = sum(c for k, c in zip(lists["kind"], lists["count"], strict=True) if k == kind)
        assert log.total(kind) == want_total
        code = log.code("kind", kind)
        assert (code == -1) == (kind not in lists["kind"])
        assert int((log.codes("kind") == code).sum()) == lists["kind"].count(kind)


def test_the_event_log_keeps_order_over_chunks_and_reads_between_appends() -> None:
    log = EventLog()
    n = 2 * CHUNK + 17
    for i in range(n):
        log.add(
            float(i),
            EventKind.CREATE if i % 3 else EventKind.DELETE,
            i % 7,
            i,
            -1,
            0,
            1,
            "" if i % 5 else "why",
        )
        if i == CHUNK + 3:  # a read in the middle joins the chunks so far
            assert log["vm"].tolist() == list(range(CHUNK + 4))
    assert log.rows == n
    assert log["time"].tolist() == [float(i) for i in range(n)]
    assert log["system"].tolist() == [i % 7 for i in range(n)]
    assert np.array_equal(log.codes("kind"), [int(i % 3 != 0) for i in range(n)])
    assert log.dictionary("kind") == [EventKind.DELETE, EventKind.CREATE]
    with pytest.raises(ValueError):
        log["time"][0] = 1.0  # read-only: a reader cannot change the log


def test_an_unknown_column_is_named() -> None:
    log = EventLog()
    with pytest.raises(KeyError, match="no column 'colour'"):
        log["colour"]
    with pytest.raises(KeyError, match="not coded"):
        log.codes("time")
