"""Labels as integer-coded columns, and the selectors of Kubernetes that match them.

A node label is stored per key as an ``int32`` code per node (``-1``: the node has no such
label), so "nodes in the same topology domain" is an integer comparison and per-domain
counts are one ``np.bincount``. Pod labels are few distinct sets (one per pod template) and
are matched in Python, once per template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
#: Columns of a vectorised evaluation: every node (``None``) or some node indices.
Cols = IntArray | None

SELECTOR_OPERATORS: tuple[str, ...] = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_OPERATORS: tuple[str, ...] = (*SELECTOR_OPERATORS, "Gt", "Lt")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


def parse_label_int(value: str) -> int | None:
    """A label value as Kubernetes reads it for ``Gt``/``Lt`` (base-10 int64), else None."""
    if not _INTEGER.match(value):
        return None
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None


@dataclass(frozen=True)
class Requirement:
    """``key operator values``: a label-selector or node-selector requirement."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.operator not in NODE_OPERATORS:
            raise ValueError(f"unknown operator {self.operator!r}; use one of {NODE_OPERATORS}")
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        if self.operator in ("Gt", "Lt") and (
            len(self.values) != 1 or parse_label_int(self.values[0]) is None
        ):
            raise ValueError(f"operator {self.operator} takes exactly one integer value")

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether one label set satisfies the requirement (absent key: NotIn, DoesNotExist)."""
        value = labels.get(self.key)
        op = self.operator
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        if op == "In":
            return value is not None and value in self.values
        if op == "NotIn":
            return value is None or value not in self.values
        if value is None:
            return False
        number = parse_label_int(value)
        bound = int(self.values[0])
        return number is not None and (number > bound if op == "Gt" else number < bound)


@dataclass(frozen=True)
class LabelSelector:
    """``matchLabels`` and ``matchExpressions``, ANDed. An empty selector matches every pod.

    Where Kubernetes allows a selector to be absent (an affinity term, a spread
    constraint), absence is ``None`` and matches nothing, as in the API.
    """

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    @classmethod
    def of(
        cls, match_labels: Mapping[str, str] | None = None, *expressions: Requirement
    ) -> LabelSelector:
        return cls(tuple(sorted((match_labels or {}).items())), tuple(expressions))

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.match_expressions)


def selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """``None`` (no selector given) matches nothing, as ``LabelSelectorAsSelector(nil)``."""
    return selector is not None and selector.matches(labels)


class LabelColumns:
    """String labels of ``size`` rows, one ``int32`` code column per key (-1: absent)."""

    def __init__(self, size: int = 0) -> None:
        self.size = size
        self.keys: dict[str, int] = {}
        self._codes: list[CodeArray] = []
        self._values: list[list[str]] = []
        self._index: list[dict[str, int]] = []
        self._numeric: list[FloatArray | None] = []
        self._absent: CodeArray = np.full(size, -1, dtype=np.int32)

    # -- writing ---------------------------------------------------------------------
    def _key(self, key: str) -> int:
        k = self.keys.get(key)
        if k is None:
            k = len(self._codes)
            self.keys[key] = k
            self._codes.append(np.full(self.size, -1, dtype=np.int32))
            self._values.append([])
            self._index.append({})
            self._numeric.append(None)
        return k

    def _code(self, k: int, value: str) -> int:
        index = self._index[k]
        code = index.get(value)
        if code is None:
            code = len(self._values[k])
            index[value] = code
            self._values[k].append(value)
            self._numeric[k] = None
        return code

    def set(self, key: str, rows: IntArray | slice, values: str | Sequence[str | None]) -> None:
        """Give ``rows`` the label ``key``: one value for all, or one per row (None: absent)."""
        k = self._key(key)
        if isinstance(values, str):
            self._codes[k][rows] = self._code(k, values)
        else:
            self._codes[k][rows] = np.array(
                [-1 if v is None else self._code(k, v) for v in values], dtype=np.int32
            )

    def remove(self, key: str, rows: IntArray | slice) -> None:
        k = self.keys.get(key)
        if k is not None:
            self._codes[k][rows] = -1

    def extend(self, count: int) -> None:
        """Append ``count`` rows without labels."""
        self.size += count
        pad = np.full(count, -1, dtype=np.int32)
        self._codes = [np.concatenate([c, pad]) for c in self._codes]
        self._absent = np.full(self.size, -1, dtype=np.int32)

    # -- reading ---------------------------------------------------------------------
    def column(self, key: str) -> CodeArray:
        """Codes of ``key`` for every row (all -1 if no row has it). Do not write to it."""
        k = self.keys.get(key)
        return self._absent if k is None else self._codes[k]

    def values(self, key: str) -> list[str]:
        """Distinct values of ``key`` in code order."""
        k = self.keys.get(key)
        return [] if k is None else list(self._values[k])

    def domains(self, key: str) -> int:
        """Number of codes of ``key`` (values ever set)."""
        k = self.keys.get(key)
        return 0 if k is None else len(self._values[k])

    def code(self, key: str, value: str) -> int:
        """The code of ``value`` for ``key``; -2 if no row ever had it (matches no row)."""
        k = self.keys.get(key)
        if k is None:
            return -2
        return self._index[k].get(value, -2)

    def get(self, key: str, row: int) -> str | None:
        k = self.keys.get(key)
        if k is None:
            return None
        code = int(self._codes[k][row])
        return None if code < 0 else self._values[k][code]

    def of(self, row: int) -> dict[str, str]:
        """All labels of one row, as a mapping."""
        out = {}
        for key, k in self.keys.items():
            code = int(self._codes[k][row])
            if code >= 0:
                out[key] = self._values[k][code]
        return out

    def _numbers(self, key: str) -> FloatArray:
        """Integer value of each code (NaN if not an integer), plus NaN for "absent" (-1)."""
        k = self.keys.get(key)
        if k is None:
            return np.full(1, np.nan)
        numbers = self._numeric[k]
        if numbers is None:
            parsed = [parse_label_int(v) for v in self._values[k]]
            numbers = np.array(
                [np.nan if p is None else float(p) for p in parsed] + [np.nan], dtype=np.float64
            )
            self._numeric[k] = numbers
        return numbers

    def matches(self, req: Requirement, cols: Cols = None) -> BoolArray:
        """Rows (all, or ``cols``) whose labels satisfy ``req``: vectorised over codes."""
        codes = self.column(req.key)
        if cols is not None:
            codes = codes[cols]
        op = req.operator
        if op == "Exists":
            return codes >= 0
        if op == "DoesNotExist":
            return codes < 0
        if op in ("In", "NotIn"):
            wanted = [c for c in (self.code(req.key, v) for v in req.values) if c >= 0]
            if not wanted:
                hit = np.zeros(len(codes), dtype=np.bool_)
            elif len(wanted) == 1:
                hit = codes == wanted[0]
            else:
                hit = np.isin(codes, wanted)
            return hit if op == "In" else ~hit
        numbers = self._numbers(req.key)[codes]  # code -1 reads the trailing NaN
        bound = float(int(req.values[0]))
        with np.errstate(invalid="ignore"):
            result: BoolArray = numbers > bound if op == "Gt" else numbers < bound
        return result

    def all_match(self, requirements: Iterable[Requirement], cols: Cols = None) -> BoolArray:
        """Rows satisfying every requirement (an empty list matches every row)."""
        size = self.size if cols is None else len(cols)
        mask = np.ones(size, dtype=np.bool_)
        for req in requirements:
            mask &= self.matches(req, cols)
        return mask
