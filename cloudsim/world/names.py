"""Interned names: one tuple of names per kind and the index of each, built once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from cloudsim.registry import did_you_mean


class Names(Sequence[str]):
    """The names of one kind of thing (systems, flavors, centres…) in scenario order.

    ``names[i]`` is a name, ``names.index_of(name)`` its index (KeyError with the closest
    known name otherwise); the first of two equal names wins (the scenario checks refuse
    duplicates before a world is compiled).
    """

    def __init__(self, what: str, names: Iterable[str]) -> None:
        self.what = what
        self.names: tuple[str, ...] = tuple(names)
        self._index: dict[str, int] = {}
        for i, name in enumerate(self.names):
            self._index.setdefault(name, i)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return self.names[i]

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def index_of(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(did_you_mean(name, self.names, self.what)) from None

    def get(self, name: str, default: int = -1) -> int:
        return self._index.get(name, default)

    def __repr__(self) -> str:
        return f"Names({self.what!r}, {len(self.names)})"
