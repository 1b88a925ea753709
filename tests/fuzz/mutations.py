"""Mutations of the reference scenarios' loaded YAML data, for fuzzing validation.

A mutation is plain data (kind, path, new value), so a failing example reads as a
reproducer: load the scenario named, apply the mutations printed, validate.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from cloudsim.scenario.loader import _Document, _load_chain

REPO = Path(__file__).resolve().parents[2]
SCENARIOS: tuple[str, ...] = (
    "scenarios/hunan-3s4c.yaml",
    "scenarios/hunan-3s4c-dr.yaml",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "scenarios" / "drills").glob("*.yaml")),
)

Path_ = tuple[str | int, ...]

#: Every kind of mutation; see :func:`mutation`.
KINDS: tuple[str, ...] = (
    "wrong_type",
    "out_of_range",
    "huge_value",
    "unknown_key",
    "odd_key",
    "empty_key",
    "broken_reference",
    "renamed_item",
    "duplicate_name",
    "deleted_key",
    "odd_encoding",
    "list_shape",
)

_DELETE = "<delete>"


@dataclass(frozen=True)
class Mutation:
    """Set ``path`` to ``value`` (``<delete>``: remove it)."""

    kind: str
    path: Path_
    value: Any

    def __repr__(self) -> str:
        return f"Mutation({self.kind!r}, {list(self.path)!r}, {self.value!r})"


@cache
def loaded(name: str) -> dict[str, Any]:
    """A reference scenario's merged YAML data (``extends`` applied), as the loader has it
    before validation."""
    doc = _Document()
    problems: list[Any] = []
    if not _load_chain(REPO / name, doc, problems, ()):
        raise AssertionError(problems)
    return doc.data


def base(name: str) -> dict[str, Any]:
    return copy.deepcopy(loaded(name))


def apply(data: dict[str, Any], mutations: list[Mutation]) -> dict[str, Any]:
    """``data`` with the mutations applied in order (one whose path is gone is skipped)."""
    for m in mutations:
        *parents, last = m.path
        node: Any = data
        try:
            for key in parents:
                node = node[key]
            if isinstance(m.value, str) and m.value == _DELETE:
                del node[last]
            else:
                node[last] = copy.deepcopy(m.value)
        except (KeyError, IndexError, TypeError):
            continue
    return data


def paths(node: Any, at: Path_ = ()) -> list[Path_]:
    """Every path into ``node`` (dict keys and list indexes), depth first."""
    found: list[Path_] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*at, key))
            found += paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.append((*at, i))
            found += paths(value, (*at, i))
    return found


def get(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


def names(data: Any) -> set[str]:
    """The ``name`` of every item of every list."""
    out: set[str] = set()
    for p in paths(data):
        if p[-1] == "name" and len(p) >= 2 and isinstance(p[-2], int):
            value = get(data, p)
            if isinstance(value, str):
                out.add(value)
    return out


_WRONG_TYPES = st.sampled_from([None, True, False, 0, -1, 1.5, "text", [], {}, [1, 2], {"a": 1}])
_NUMBERS = st.sampled_from([-1, 0, -0.0, 0.5, 10**12, -1e308, math.inf, -math.inf, math.nan])
_HUGE_NUMBERS = st.sampled_from([10**20, 10**30, 2**63, 2**64 + 1, 1e308])
_QUANTITY_TAILS = st.sampled_from(["", "d", "h", "s", "GiB", "TiB", "Gbps", "%", "x"])
_ODD_KEYS = st.sampled_from([1, None, True, 1.5, " name", "名字", "name ", "NAME"])


def _fullwidth(text: str) -> str:
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


@st.composite
def _out_of_range(draw: st.DrawFn, current: Any) -> Any:
    if isinstance(current, str):
        tail = draw(_QUANTITY_TAILS)
        return draw(st.sampled_from([f"-{current}", f"0{tail}", f"-1{tail}", f"1e400{tail}", ""]))
    return draw(_NUMBERS)


@st.composite
def _huge(draw: st.DrawFn, current: Any) -> Any:
    if isinstance(current, str):
        return f"{draw(_HUGE_NUMBERS)}{draw(_QUANTITY_TAILS)}"
    return draw(_HUGE_NUMBERS)


@st.composite
def _odd_encoding(draw: st.DrawFn, current: Any) -> Any:
    if isinstance(current, str):
        return draw(
            st.sampled_from(
                [
                    f" {current} ",
                    current.upper(),
                    _fullwidth(current),
                    current + "\u200b",
                    "\ufeff" + current,
                    current + "\x00",
                    current.encode(),
                    current * 500,
                    current.replace("-", "\u2010"),
                ]
            )
        )
    if isinstance(current, bool):
        return draw(st.sampled_from(["yes", "true", 1, "on"]))
    if isinstance(current, int | float):
        return draw(
            st.sampled_from(
                [str(current), f"{current} ", float(current), hex(int(current)), f"{current}_0"]
            )
        )
    return draw(st.sampled_from([str(current), repr(current)]))


@st.composite
def mutation(draw: st.DrawFn, data: dict[str, Any], kind: str) -> Mutation | None:
    """One mutation of ``kind`` at a path of ``data`` (None: no place for it in ``data``)."""
    every = paths(data)
    if kind in ("unknown_key", "odd_key", "empty_key"):
        dicts = [p for p in [(), *every] if isinstance(get(data, p), dict)]
        where = draw(st.sampled_from(dicts))
        if kind == "odd_key":
            return Mutation(kind, (*where, draw(_ODD_KEYS)), draw(_WRONG_TYPES))
        if kind == "empty_key":
            return Mutation(kind, (*where, ""), draw(_WRONG_TYPES))
        keys = [k for k in get(data, where) if isinstance(k, str)]
        typo = (
            st.sampled_from(keys).map(lambda k: k[:-1] if len(k) > 1 else k + "s")
            if keys
            else st.nothing()
        )
        key = draw(st.sampled_from(["colour", "extra", "x-note"]) | typo)
        return Mutation(kind, (*where, key), draw(_WRONG_TYPES | st.just("value")))
    if kind in ("broken_reference", "renamed_item", "duplicate_name"):
        known = names(data)
        item_names = [
            p for p in every if p[-1] == "name" and len(p) >= 2 and isinstance(p[-2], int)
        ]
        if kind == "broken_reference":
            refs = [
                p
                for p in every
                if p[-1] != "name" and isinstance(get(data, p), str) and get(data, p) in known
            ]
            if not refs:
                return None
            where = draw(st.sampled_from(refs))
            return Mutation(kind, where, draw(st.sampled_from(["nowhere", get(data, where) + "x"])))
        if not item_names:
            return None
        where = draw(st.sampled_from(item_names))
        if kind == "renamed_item":
            return Mutation(kind, where, get(data, where) + "-renamed")
        siblings = [
            get(data, (*where[:-2], i, "name"))
            for i, item in enumerate(get(data, where[:-2]))
            if isinstance(item, dict) and isinstance(item.get("name"), str)
        ]
        return Mutation(kind, where, draw(st.sampled_from(siblings)))
    if not every:
        return None
    where = draw(st.sampled_from(every))
    current = get(data, where)
    if kind == "deleted_key":
        return Mutation(kind, where, _DELETE)
    if kind == "wrong_type":
        return Mutation(kind, where, draw(_WRONG_TYPES))
    if kind == "out_of_range":
        return Mutation(kind, where, draw(_out_of_range(current)))
    if kind == "huge_value":
        return Mutation(kind, where, draw(_huge(current)))
    if kind == "odd_encoding":
        return Mutation(kind, where, draw(_odd_encoding(current)))
    if kind == "list_shape":
        lists = [p for p in every if isinstance(get(data, p), list)]
        if not lists:
            return None
        where = draw(st.sampled_from(lists))
        items = get(data, where)
        shapes: list[Any] = [[], [None], items[:1] * 2 + items[1:], {"items": items}]
        if items:
            shapes.append(items[0])
        return Mutation(kind, where, draw(st.sampled_from(shapes)))
    raise ValueError(f"unknown mutation kind {kind!r}")


@st.composite
def mutated(
    draw: st.DrawFn, kinds: tuple[str, ...] = KINDS, most: int = 3
) -> tuple[str, list[Mutation], dict[str, Any]]:
    """A reference scenario, 1 to ``most`` mutations of the given kinds, and its data."""
    name = draw(st.sampled_from(SCENARIOS))
    data = base(name)
    done: list[Mutation] = []
    for _ in range(draw(st.integers(1, most))):
        m = draw(mutation(data, draw(st.sampled_from(kinds))))
        if m is not None:
            apply(data, [m])
            done.append(m)
    return name, done, data
