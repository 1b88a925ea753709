"""Reading untrusted scenario files: bounded in what they may cost before they are refused.

A scenario (or an ``extends:`` base) must be a regular file of at most
:data:`MAX_FILE_BYTES` (``CLOUDSIM_MAX_FILE_BYTES`` in the environment, or the
``max_file_bytes`` keyword of the loader, raises it), in UTF-8 (a byte-order mark is
accepted). Its YAML may nest at most :data:`MAX_DEPTH` levels and hold at most
:data:`MAX_NODES` values, each alias counted as the values it stands for (a "billion laughs"
file is refused while it is read, long before it is expanded). Every refusal is a
:class:`ReadError` or a :class:`YAMLLimitError` with a one-line message.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

#: Default largest scenario file, in bytes (a real scenario is a few tens of KiB).
MAX_FILE_BYTES = 16 * 2**20
#: Environment variable that overrides :data:`MAX_FILE_BYTES` (a number of bytes).
MAX_FILE_BYTES_ENV = "CLOUDSIM_MAX_FILE_BYTES"
#: Deepest nesting of YAML sequences and mappings (real scenarios nest under 10 levels).
MAX_DEPTH = 64
#: Most values (scalars, sequences, mappings) one YAML document may stand for, aliases expanded.
MAX_NODES = 1_000_000

_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_UTF8_BOM = b"\xef\xbb\xbf"


class ReadError(Exception):
    """A file refused before its YAML is read; ``message`` is one line."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class YAMLLimitError(yaml.MarkedYAMLError):
    """YAML refused for its shape (too deep, too many values), at ``problem_mark``."""


def file_size_limit(explicit: int | None = None) -> int:
    """The largest file read: ``explicit``, else ``$CLOUDSIM_MAX_FILE_BYTES``, else 16 MiB."""
    if explicit is not None:
        return explicit
    raw = os.environ.get(MAX_FILE_BYTES_ENV, "").strip()
    if not raw:
        return MAX_FILE_BYTES
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise ReadError(f"{MAX_FILE_BYTES_ENV}={raw!r} is not a number of bytes")
    return value


def _size(count: int) -> str:
    return f"{count:,} bytes ({count / 2**20:,.1f} MiB)"


def too_large(size: int, limit: int, what: str = "the file is") -> str:
    return (
        f"{what} {_size(size)}, over the limit of {_size(limit)}; "
        f"set {MAX_FILE_BYTES_ENV} to a larger number of bytes to read it"
    )


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    for test, name in kinds:
        if test(mode):
            return name
    return "not a regular file"


def read_text(path: Path, limit: int) -> str:
    """The text of a regular file of at most ``limit`` bytes, in UTF-8; :class:`ReadError`
    otherwise. Anything else (a directory, a device, a FIFO) is refused without reading it,
    and the file is opened non-blocking, so a FIFO swapped in after the check cannot hang."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ReadError(f"cannot read the file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ReadError(f"not a regular file: {_kind(info.st_mode)}; expected a YAML text file")
    if info.st_size > limit:
        raise ReadError(too_large(info.st_size, limit))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ReadError(f"cannot read the file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ReadError(f"not a regular file: {_kind(mode)}; expected a YAML text file")
        try:
            data = stream.read(limit + 1)
        except OSError as exc:
            raise ReadError(f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ReadError(too_large(len(data), limit, "the file is more than"))
    return decode(data)


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"byte offset {offset} (line {line}, byte {column} of the line)"


def decode(data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark dropped); :class:`ReadError` naming the first
    byte that is not, for UTF-16/32, Latin-1 or binary files."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise ReadError(
                f"not UTF-8: the file starts with a {name} byte-order mark "
                f"(byte offset 0); save it as UTF-8"
            )
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    nul = data.find(b"\x00", start)
    if nul >= 0:
        raise ReadError(
            f"not UTF-8 text: a NUL byte at {_where(data, nul)}; a binary file, or UTF-16/32 "
            "without a byte-order mark? save it as UTF-8"
        )
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        raise ReadError(
            f"not UTF-8: byte 0x{data[offset]:02x} at {_where(data, offset)} "
            f"({exc.reason}); save the file as UTF-8"
        ) from None


class _PythonEvents(Reader, Scanner, Parser):
    """YAML events, parsed in Python (where PyYAML was built without libyaml)."""

    def __init__(self, stream: Any) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser as _Events
else:  # pragma: no cover - PyYAML without libyaml
    _Events = _PythonEvents  # type: ignore[assignment,misc]


class BoundedLoader(Composer, _Events, SafeConstructor, Resolver):
    """The safe loader (events parsed by libyaml where PyYAML has it, nodes composed and
    constructed in Python as by ``yaml.SafeLoader``), refusing a document nested deeper than
    :attr:`max_depth` or standing for more than :attr:`max_nodes` values, counted as the
    nodes are composed: an alias counts the values (and the depth) of the node it repeats, so
    an alias bomb is refused after reading at most ``max_nodes`` worth of it, and an alias
    inside its own anchor (a cycle, which no scenario needs) is refused outright."""

    max_depth = MAX_DEPTH
    max_nodes = MAX_NODES

    def __init__(self, stream: Any) -> None:
        _Events.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._deepest = 0
        self._nodes = 0
        #: Anchored node id -> (values it stands for, its height).
        self._measured: dict[int, tuple[int, int]] = {}

    def compose_document(self) -> Any:
        self._depth = self._deepest = self._nodes = 0
        self._measured = {}
        return super().compose_document()

    def _refuse(self, mark: Any, problem: str) -> NoReturn:
        raise YAMLLimitError(None, None, problem, mark)

    def construct_yaml_timestamp(self, node: Any) -> Any:
        """A date or time; one that is no date (``2026-13-45``) is a YAML error at its
        mark, not a ValueError from :mod:`datetime`."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{node.value!r} looks like a date but is none ({exc})",
                node.start_mark,
            ) from None

    def load(self) -> Any:
        """The document's data (one document; None for an empty stream)."""
        try:
            return self.get_single_data()
        finally:
            self.dispose()

    def _count(self, nodes: int, mark: Any) -> None:
        self._nodes += nodes
        if self._nodes > self.max_nodes:
            self._refuse(
                mark,
                f"the document stands for more than {self.max_nodes:,} values (aliases "
                "counted as what they repeat); refused before building it",
            )

    def _reach(self, depth: int, mark: Any) -> None:
        self._deepest = max(self._deepest, depth)
        if depth > self.max_depth:
            self._refuse(mark, f"nested more than {self.max_depth} levels deep")

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        assert event is not None  # compose_node is only called where a node starts
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)  # refuses an undefined alias
            measured = self._measured.get(id(node))
            if measured is None:
                self._refuse(event.start_mark, f"alias *{event.anchor} is inside its own anchor")
            nodes, height = measured
            self._count(nodes, event.start_mark)
            self._reach(self._depth + height, event.start_mark)
            return node
        self._depth += 1
        outer_deepest, self._deepest = self._deepest, self._depth
        before = self._nodes
        self._reach(self._depth, event.start_mark)
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        if getattr(event, "anchor", None) is not None:
            self._measured[id(node)] = (self._nodes - before, self._deepest - self._depth + 1)
        self._deepest = max(outer_deepest, self._deepest)
        self._depth -= 1
        return node


BoundedLoader.add_constructor(  # type: ignore[type-var]  # (the stubs know only yaml's loaders)
    "tag:yaml.org,2002:timestamp", BoundedLoader.construct_yaml_timestamp
)
