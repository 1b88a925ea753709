"""A run's metrics: values of ``summary.json`` by dotted path, and aggregations of a result
table's column over the rows a filter keeps.

Each evaluation gives a value (``None`` when the run has nothing to aggregate and no
default), or says why the run does not produce the metric at all (an unknown key, table or
column): the sweep reports that as a problem of the experiment file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cloudsim.experiments.spec import Condition, Metric
from cloudsim.registry import did_you_mean
from cloudsim.scenario.loader import parse_path
from cloudsim.scenario.paths import format_path

_COMPARE = {
    "eq": pc.equal,
    "ne": pc.not_equal,
    "gt": pc.greater,
    "ge": pc.greater_equal,
    "lt": pc.less,
    "le": pc.less_equal,
}


@dataclass(frozen=True)
class Value:
    """A metric of one run: its value, or why the run does not produce it."""

    value: float | None
    missing: str | None = None


def table_metric_id(metric: Metric) -> str:
    """Identity of a table metric's definition (name aside): a stored run's value is reused
    only for the same definition."""
    spec = metric.model_dump(mode="json", exclude={"name"}, exclude_unset=True)
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def summary_value(summary: Mapping[str, Any], metric: Metric) -> Value:
    """The number at ``metric.path`` in a run's summary."""
    assert metric.path is not None
    loc = parse_path(metric.path)
    node: Any = summary
    for depth, key in enumerate(loc):
        if not isinstance(node, Mapping):
            return Value(
                None, f"summary.json: {format_path(loc[:depth])} is a value, not a section"
            )
        if key not in node:
            last = depth == len(loc) - 1
            if last and metric.default is not None:
                return Value(metric.default)
            where = f" in {format_path(loc[:depth])}" if depth else ""
            return Value(None, f"summary.json: {did_you_mean(str(key), list(node), 'key')}{where}")
        node = node[key]
    if isinstance(node, Mapping):
        keys = ", ".join(list(node)[:8])
        return Value(None, f"summary.json: {metric.path} is a section ({keys}), not a number")
    if node is None:
        return Value(metric.default)
    if isinstance(node, bool | int | float):
        return Value(float(node))
    return Value(None, f"summary.json: {metric.path} is {node!r}, not a number")


def table_value(tables: Mapping[str, pa.Table], metric: Metric) -> Value:
    """``metric.agg`` of ``metric.column`` over the rows of ``metric.table`` that pass
    ``metric.where`` (nulls left out)."""
    assert metric.table is not None and metric.agg is not None
    table = tables.get(metric.table)
    if table is None:
        return Value(None, did_you_mean(metric.table, list(tables), "table"))
    for name in [*metric.where, *([metric.column] if metric.column else [])]:
        if name not in table.column_names:
            known = did_you_mean(name, table.column_names, "column")
            return Value(None, f"table {metric.table}: {known}")
    try:
        keep = _rows(table, metric.where)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        return Value(None, f"table {metric.table}: where cannot be applied: {exc}")
    rows = table.filter(keep) if keep is not None else table
    if metric.column is None:
        return Value(float(rows.num_rows))
    column = _plain(rows.column(metric.column))
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        return Value(None, f"table {metric.table}: column {metric.column} is {kind}, not numbers")
    values = column.drop_null().to_numpy(zero_copy_only=False).astype(np.float64)
    return Value(_aggregate(values, metric))


def _aggregate(values: np.ndarray, metric: Metric) -> float | None:
    if metric.agg == "count":
        return float(values.size)
    if metric.agg == "sum":
        return float(values.sum())
    if values.size == 0:
        return metric.default
    if metric.agg == "mean":
        return float(values.mean())
    if metric.agg == "max":
        return float(values.max())
    if metric.agg == "min":
        return float(values.min())
    assert metric.q is not None
    return float(np.quantile(values, metric.q))


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary-encoded columns (names, kinds) as their values."""
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def _rows(table: pa.Table, where: Mapping[str, Condition]) -> pa.ChunkedArray | None:
    """The mask of rows every condition keeps (a null compares as not kept)."""
    mask: Any = None
    for name, condition in where.items():
        column = _plain(table.column(name))
        for op, value in condition.comparisons().items():
            if op == "one_of":
                test = pc.is_in(column, value_set=pa.array(value))
            elif value is None and op in ("eq", "ne"):
                test = pc.is_null(column) if op == "eq" else pc.is_valid(column)
            else:
                test = _COMPARE[op](column, pa.scalar(value))
            test = pc.fill_null(test, False)
            mask = test if mask is None else pc.and_(mask, test)
    return mask
