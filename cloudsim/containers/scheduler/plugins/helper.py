"""What the built-in plugins share: scores' range, node-column helpers and caches.

Scores and fit masks that depend on allocations are cached per request as full node arrays
and kept current by recomputing only the nodes whose allocations changed
(:class:`ColumnCache`): the plugins' formulas are written branch-free so that the same code
evaluates every node at once (numpy arrays) or one node (numpy scalars).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.labels import IntArray

MAX_NODE_SCORE = 100
MAX_CUSTOM_PRIORITY_SCORE = 10
#: One node (an int), some nodes (an index array) or every node (None).
Cols = int | IntArray | None


def take(row: Any, cols: Cols) -> Any:
    """``row`` at ``cols``: the whole row (None), an array (indices) or a Python scalar (int:
    Python arithmetic is several times faster than numpy's on scalars, with equal results)."""
    if cols is None:
        return row
    if isinstance(cols, int):
        return row.item(cols)
    return row[cols]


def nz(x: Any) -> Any:
    """``x`` with zeros replaced by one (a safe divisor; the result is masked anyway)."""
    return x + (x == 0)


class ColumnCache:
    """A per-node array derived from allocations, current as of the last read.

    On each read only the nodes whose allocations changed since the previous read are
    recomputed (one-row rescoring); a change of the node table's static attributes or too
    many changes recompute everything. ``update(cols, values)``, when given, writes
    ``compute(cols)`` into ``values`` at the nodes ``cols`` in one call (a compiled kernel
    of :mod:`cloudsim.containers.kernels`, identical to ``compute``, which stays the
    reference).
    """

    def __init__(
        self,
        cluster: Cluster,
        compute: Callable[[Cols], Any],
        dtype: type,
        update: Callable[[IntArray, Any], None] | None = None,
    ) -> None:
        self.nodes = cluster.nodes
        self.compute = compute
        self.dtype = dtype
        self.update = update
        self.values: Any = None
        self._version = -1
        self._position = -1

    def get(self) -> Any:
        nodes = self.nodes
        position = nodes.changes
        rows = None
        if self._version == nodes.version and self.values is not None:
            if position == self._position:
                return self.values
            rows = nodes.changed_since(self._position)
        update = self.update
        if rows is None or len(rows) > max(8, nodes.size // 8):
            if update is not None:
                self.values = np.empty(nodes.size, dtype=self.dtype)
                update(np.arange(nodes.size, dtype=np.int64), self.values)
            else:
                # a formula with no term left (no scored resource) is a scalar: every node
                full = np.broadcast_to(np.asarray(self.compute(None)), (nodes.size,))
                self.values = full.astype(self.dtype)
        elif update is not None:
            update(np.array(rows, dtype=np.int64), self.values)
        elif len(rows) <= 4:
            values = self.values
            compute = self.compute
            for node in dict.fromkeys(rows):  # a node changed twice is recomputed once
                values[node] = compute(node)
        else:
            cols = np.unique(np.array(rows, dtype=np.int64))
            self.values[cols] = self.compute(cols)
        self._version = nodes.version
        self._position = position
        return self.values


class Bounded(OrderedDict[Hashable, Any]):
    """A dict of per-request caches that keeps the ``limit`` most recently used entries
    (a replay may bring thousands of distinct requests; each entry holds node arrays)."""

    def __init__(self, limit: int = 512) -> None:
        super().__init__()
        self.limit = limit

    def find(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: Hashable, value: Any) -> None:
        self[key] = value
        if len(self) > self.limit:
            self.popitem(last=False)


def default_normalize(scores: IntArray, reverse: bool) -> IntArray:
    """``helper.DefaultNormalizeScore``: scale by the maximum to 0..100, reversed or not."""
    top = int(scores.max()) if len(scores) else 0
    if top == 0:
        return np.full_like(scores, MAX_NODE_SCORE) if reverse else scores
    scaled: IntArray = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - scaled if reverse else scaled
