"""One registry shape for every plug-in point: modules, failover policies, placement filters
and scorers, scheduler plugins.

A :class:`Registry` maps names to objects (classes, factories, functions). Built-ins are
registered once, where they are defined; a researcher's package adds its own either by
calling :meth:`Registry.register` or through the registry's entry-point group (for example
``cloudsim.policies``), read once on the first lookup. Unknown names fail with the closest
known one, the message every user-facing check reuses.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Generic, TypeVar, overload

T = TypeVar("T")


def did_you_mean(name: str, known: list[str] | tuple[str, ...], what: str) -> str:
    """``unknown <what> 'x'; did you mean 'y'? (known: a, b, …)``."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
    return f"unknown {what} {name!r}{hint} (known: {shown or 'none'})"


class Registry(Generic[T]):
    """Named plug-ins of one kind (``what`` names the kind in error messages)."""

    def __init__(self, what: str, group: str | None = None) -> None:
        self.what = what
        self.group = group
        self._items: dict[str, T] = {}
        self._loaded = group is None

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, item: T) -> T: ...

    def register(self, name: str, item: T | None = None) -> T | Callable[[T], T]:
        """Register ``item`` as ``name`` (replacing an earlier one); usable as a decorator."""
        if item is None:

            def decorate(obj: T) -> T:
                self._items[name] = obj
                return obj

            return decorate
        self._items[name] = item
        return item

    def load_entry_points(self) -> None:
        """Read the entry-point group once; a registered name is never replaced by it."""
        if self._loaded:
            return
        self._loaded = True
        assert self.group is not None
        for entry in entry_points(group=self.group):
            if entry.name not in self._items:
                self._items[entry.name] = entry.load()

    def get(self, name: str) -> T:
        """The item called ``name``; KeyError with the closest known name otherwise."""
        self.load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(self.unknown(name)) from None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests that register a plug-in for a while)."""
        self._items.pop(name, None)

    @contextmanager
    def scoped(self) -> Iterator[Registry[T]]:
        """Registrations made inside the block are forgotten after it."""
        self.load_entry_points()
        saved = dict(self._items)
        try:
            yield self
        finally:
            self._items = saved

    def unknown(self, name: str) -> str:
        return did_you_mean(name, self.names(), self.what)

    def names(self) -> list[str]:
        self.load_entry_points()
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        self.load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def items(self) -> list[tuple[str, T]]:
        self.load_entry_points()
        return list(self._items.items())
