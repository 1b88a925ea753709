"""One registry shape for every plug-in point: modules, failover policies, placement filters
and scorers, scheduler plugins.

A :class:`Registry` maps names to objects (classes, factories, functions). Built-ins are
registered once, in code; a researcher's package adds its own either by calling
:meth:`Registry.register` or through the registry's entry-point group (for example
``cloudsim.policies``), read on the first lookup. An entry point never replaces a name
registered in code. Every item, from code or an entry point, passes the registry's
``check`` (a plug-in of the wrong kind is refused where it is registered, naming it); an
entry point that fails to load raises :class:`PluginError` naming the group, the entry and
the cause. Unknown names fail with the closest known one, the message every user-facing
check reuses.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Generic, TypeVar, overload

T = TypeVar("T")


def did_you_mean(name: str, known: Iterable[str], what: str) -> str:
    """``unknown <what> 'x'; did you mean 'y'? (known: a, b, …)``."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
    return f"unknown {what} {name!r}{hint} (known: {shown or 'none'})"


class PluginError(TypeError):
    """A plug-in that cannot be used: an entry point that fails to load, or an object of the
    wrong kind registered under a name."""


class Registry(Generic[T]):
    """Named plug-ins of one kind (``what`` names the kind in error messages).

    ``check(name, item)`` raises :class:`PluginError` (or TypeError/ValueError, wrapped) for
    an item of the wrong kind; ``accepts(obj)`` picks this registry's entries out of an
    entry-point group that several registries share.
    """

    def __init__(
        self,
        what: str,
        group: str | None = None,
        *,
        check: Callable[[str, T], None] | None = None,
        accepts: Callable[[object], bool] | None = None,
    ) -> None:
        self.what = what
        self.group = group
        self._check = check
        self._accepts = accepts
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
                return self._add(name, obj)

            return decorate
        return self._add(name, item)

    def _add(self, name: str, item: T) -> T:
        if self._check is not None:
            try:
                self._check(name, item)
            except (TypeError, ValueError) as exc:
                raise PluginError(f"{self.what} {name!r}: {exc}") from None
        self._items[name] = item
        return item

    def load_entry_points(self) -> None:
        """Read the entry-point group (until it has loaded without error); a name registered
        in code is never replaced by an entry point."""
        if self._loaded:
            return
        assert self.group is not None
        for entry in entry_points(group=self.group):
            if entry.name in self._items:
                continue
            try:
                obj = entry.load()
            except Exception as exc:  # a third party's import error, named for its user
                raise PluginError(
                    f"entry point {entry.name!r} of group {self.group!r} ({entry.value}) "
                    f"cannot be loaded: {type(exc).__name__}: {exc}"
                ) from exc
            if self._accepts is None or self._accepts(obj):
                self._add(entry.name, obj)
        self._loaded = True

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
