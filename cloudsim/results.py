"""Run results: flat tables, a summary and metadata echoing the resolved scenario.

A result folder is written as a whole: the run's files are built in a hidden folder beside
it and swapped in at the end, so the folder always holds exactly one complete run (the
previous one until the swap, the new one after; never files of two runs). Writing is
deterministic: the same scenario and seed give byte-identical ``summary.json`` and identical
tables. Beside a result folder OUT, while a run writes it (all hidden by a leading dot)::

    .cloudsim-lock-OUT             the lock a writer holds (its pid inside; see FolderLock)
    .cloudsim-tmp-OUT-PID-XXXX     the new run's folder being built
    .cloudsim-old-OUT-PID-XXXX     the previous run's folder while the new one is swapped in

A writer killed half-way leaves some of these; the next writer of OUT removes them (and puts
the previous results back if it was killed between the two renames of a swap).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import platform
import re
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cloudsim.errors import ResultFolderError
from cloudsim.kernel import Kernel, Results
from cloudsim.records.columns import names_column
from cloudsim.records.log import EventLog
from cloudsim.scenario.schema import RESOURCE_UNITS, RESOURCES

#: The tables every run writes; modules a scenario enables write more (see metadata).
TABLES: tuple[str, ...] = ("events", "timeseries", "vms", "systems", "incidents", "availability")
_DEPENDENCIES = ("numpy", "simpy", "networkx", "pydantic", "PyYAML", "pyarrow")


@dataclass
class RunResult:
    """What one run produced; ``tables`` are pyarrow tables keyed by name."""

    summary: dict[str, Any]
    metadata: dict[str, Any]
    tables: dict[str, pa.Table]

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        """Read a result folder back (``summary.json``, ``metadata.json`` and every table
        it lists, or every ``*.parquet`` when it lists none). Raises
        :class:`ResultFolderError` naming the file when the folder is not a run's."""
        folder = Path(path)
        if not folder.is_dir():
            raise ResultFolderError(str(folder), "not a folder")
        documents = []
        for name in ("summary.json", "metadata.json"):
            file = folder / name
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise ResultFolderError(str(folder), f"not a run's results: no {name}") from None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ResultFolderError(str(file), f"unreadable: {exc}") from None
            if not isinstance(data, dict):
                raise ResultFolderError(str(file), "expected a JSON object")
            documents.append(data)
        summary, metadata = documents
        listed = metadata.get("tables")
        names = (
            [str(n) for n in listed]
            if isinstance(listed, list)
            else sorted(p.stem for p in folder.glob("[!.]*.parquet"))
        )
        tables = {}
        for name in names:
            file = folder / f"{name}.parquet"
            try:
                tables[name] = pq.read_table(file)
            except FileNotFoundError:
                raise ResultFolderError(
                    str(folder), f"metadata.json lists table {name!r} but {file.name} is missing"
                ) from None
            except (OSError, pa.ArrowException) as exc:
                raise ResultFolderError(str(file), f"not a readable Parquet file: {exc}") from None
        return cls(summary=summary, metadata=metadata, tables=tables)

    def to_pandas(self) -> dict[str, Any]:
        """Every table as a pandas DataFrame, by name (dictionary columns become
        categoricals)."""
        return {name: table.to_pandas() for name, table in self.tables.items()}

    def write(self, out: str | Path, extra: Callable[[Path], object] | None = None) -> Path:
        """Write ``summary.json``, ``metadata.json`` and one Parquet file per table as the
        whole content of the folder ``out`` (created with its parents; a previous run's
        folder is replaced, tables it had and this run has not included).

        The files are built in a hidden folder beside ``out`` and swapped in at the end: an
        exception, Ctrl-C or kill before the swap leaves ``out`` as it was (the temporary
        folder is removed, or by the next writer when the process was killed). Ctrl-C during
        the swap itself is held back until it is done, then raised as
        :class:`ResultsWrittenInterrupt`. Raises :class:`ResultFolderError` when ``out``
        holds files that are not a run's results (they would be lost). ``extra(folder)``,
        when given, adds files that belong to the run (its report) to the new folder before
        it is swapped in. Returns ``out``."""
        given = Path(out)
        out = _folder(given)
        out.parent.mkdir(parents=True, exist_ok=True)
        recover(out)
        check_replaceable(out)

        def fill(tmp: Path) -> None:
            for name, table in self.tables.items():
                pq.write_table(table, tmp / f"{name}.parquet")
            write_json(tmp / "metadata.json", self.metadata)
            write_json(tmp / "summary.json", self.summary)
            if extra is not None:
                extra(tmp)

        _build_and_swap(out, fill)
        return given


class ResultsWrittenInterrupt(KeyboardInterrupt):
    """Ctrl-C arrived while a finished run's folder was being swapped in: the swap was
    completed first, so the folder holds the new run whole."""


_TMP = ".cloudsim-tmp-"
_OLD = ".cloudsim-old-"
_LOCK = ".cloudsim-lock-"
#: What follows ``.cloudsim-tmp-OUT-`` in a writer's temporary name: its pid, a random part.
_OWNER = re.compile(r"(\d+)-([A-Za-z0-9_]+)")
#: Files a result folder may hold (its report from `run --report` or `cloudsim report`
#: included), and the per-file temporaries of older cloudsim versions or of a report.
_RESULT_FILE = re.compile(r"(summary\.json|metadata\.json|report\.html|[^/]+\.parquet)")
_OLD_TEMPORARY = re.compile(
    r"\.(summary\.json|metadata\.json|report\.html|[^/]+\.parquet)\.[A-Za-z0-9_]+"
)


def _folder(out: str | Path) -> Path:
    """``out`` absolute, with symbolic links resolved (the rename happens where it is)."""
    return Path(out).resolve()


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (a zombie counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_replaceable(out: str | Path) -> None:
    """Raise :class:`ResultFolderError` unless ``out`` is absent, empty or holds only a run's
    results: writing a run replaces the whole folder, and nothing else may be lost so."""
    out = _folder(out)
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        cwd = None
    if cwd is not None and (cwd == out or out in cwd.parents):
        raise ResultFolderError(
            str(out), "is the working folder (or holds it); a run replaces the whole folder"
        )
    if not out.exists():
        return
    if not out.is_dir():
        raise ResultFolderError(str(out), "not a folder")
    foreign = sorted(
        p.name
        for p in out.iterdir()
        if not (
            p.is_file()
            and not p.is_symlink()
            and (_RESULT_FILE.fullmatch(p.name) or _OLD_TEMPORARY.fullmatch(p.name))
        )
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ResultFolderError(
            str(out),
            f"holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} that are not a "
            f"run's results ({shown}); a run replaces the whole folder, so give a new or "
            "empty one",
        )


def recover(out: str | Path) -> list[str]:
    """Clean up after a writer of ``out`` that was killed: remove its temporary folders and,
    when it was stopped between the two renames of a swap (``out`` is missing), put the
    previous results back. Leftovers of a live process are left alone. Returns what was
    done, one note each."""
    out = _folder(out)
    notes: list[str] = []
    if not out.parent.is_dir():
        return notes
    stale: dict[str, list[tuple[Path, int]]] = {_TMP: [], _OLD: []}
    for entry in sorted(out.parent.iterdir()):
        for kind, found in stale.items():
            prefix = f"{kind}{out.name}-"
            if not entry.name.startswith(prefix):
                continue
            owner = _OWNER.fullmatch(entry.name[len(prefix) :])
            if owner is not None and not _alive(int(owner.group(1))):
                found.append((entry, int(owner.group(1))))
    if stale[_OLD] and not os.path.lexists(out):
        (previous, pid), *others = sorted(stale[_OLD], key=lambda e: e[0].stat().st_mtime)[::-1]
        os.rename(previous, out)
        notes.append(
            f"put back the previous results from {previous.name} (pid {pid} was stopped while "
            "replacing them)"
        )
        stale[_OLD] = others
    for path, pid in stale[_TMP] + stale[_OLD]:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        notes.append(f"removed {path.name}, left by a stopped run (pid {pid})")
    return notes


def _sync(folder: Path) -> None:
    """Flush the folder's files and the folder itself to disk (a full disk shows here, before
    anything is replaced)."""
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_STOPPING = (signal.SIGINT, signal.SIGTERM)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM (``kill``) stops the process as Ctrl-C does (a
    KeyboardInterrupt, so the result folder is left whole); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _interrupts_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back inside the block (main thread only); yields the
    signals held, and delivers the first afterwards to the handler that was in place."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {signum: signal.getsignal(signum) for signum in _STOPPING}
    for signum in _STOPPING:
        signal.signal(signum, lambda signum, frame: held.append(signum))
    try:
        yield held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if held:
        first = signal.Signals(held[0])
        handler = previous[first]
        if handler is signal.default_int_handler or handler is _raise_interrupt:
            return  # the caller raises ResultsWrittenInterrupt
        held.clear()
        if callable(handler):
            handler(first, None)
        elif handler == signal.SIG_DFL:
            os.kill(os.getpid(), first)  # the default action (SIGTERM: end), now the swap is done


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(tmp: Path, out: Path) -> None:
    """Make the complete folder ``tmp`` be ``out``; the previous ``out`` (if any) is removed
    once the new one is in place, and put back if that fails."""
    if not os.path.lexists(out):
        os.rename(tmp, out)
    elif _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # now the previous run's
    else:
        old = out.parent / f"{_OLD}{out.name}-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderLock:
    """One writer per result folder: ``.cloudsim-lock-OUT`` beside OUT, locked (``flock``)
    while a run writes OUT and holding the writer's pid. The system releases the lock of a
    killed process; the file it leaves is taken over by the next writer, with a note."""

    def __init__(self, out: str | Path) -> None:
        self.out = _folder(out)
        self.path = self.out.parent / f"{_LOCK}{self.out.name}"
        self._fd: int | None = None

    def acquire(self) -> list[str]:
        """Take the lock or raise :class:`ResultFolderError` naming the holder's pid.
        Returns notes (a stale lock taken over)."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ResultFolderError(
                    str(self.out), f"cannot lock the folder: {exc.strerror or exc}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _pid_in(fd)
                os.close(fd)
                who = f"pid {holder}" if holder is not None else "a process just starting"
                raise ResultFolderError(
                    str(self.out),
                    f"another cloudsim run ({who}) is writing to this folder; wait for it to "
                    "finish or choose another --out",
                ) from None
            # The previous holder removes the file when done: lock the file at the path.
            try:
                here = os.stat(self.path)
                mine = os.fstat(fd)
                same = (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        notes = []
        before = _pid_in(fd)
        if before is not None and before != os.getpid():
            state = "no longer running" if not _alive(before) else "not holding it"
            notes.append(f"took over the lock left by pid {before} ({state})")
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            self.release()
            raise ResultFolderError(
                str(self.out), f"cannot lock the folder: {exc.strerror or exc}"
            ) from None
        return notes

    def release(self) -> None:
        """Remove the lock file and unlock (in that order: see :meth:`acquire`)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> list[str]:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _pid_in(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def write_parquet(path: Path, table: pa.Table) -> None:
    """Write one table atomically."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_json(path: str | Path, data: Any) -> None:
    """Deterministic JSON: sorted keys, two-space indent, UTF-8, a final newline."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


def atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Write ``path`` through ``write(temporary_path)`` in the same folder, then rename: a
    reader (or a process killed mid-way) sees the old file or the whole new one, never a part.
    The temporary name starts with a dot."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _events_table(kernel: Kernel) -> pa.Table:
    """The event log every module wrote (kinds and reasons straight from the log's codes)."""
    world = kernel.world
    hosts = kernel.ctx.hosts
    ev = kernel.ctx.recorder.events
    host_idx = ev["host"]
    dc_of_event = np.where(host_idx >= 0, hosts.datacenter[np.maximum(host_idx, 0)], -1)
    return pa.table(
        {
            "time": pa.array(ev["time"], pa.float64()),
            "kind": coded_strings(ev, "kind"),
            "system": names_column(ev["system"], world.systems),
            "vm": pa.array(ev["vm"], pa.int64()),
            "host": names_column(host_idx, hosts.names),
            "datacenter": names_column(dc_of_event, hosts.datacenter_names),
            "flavor": names_column(ev["flavor"], world.flavors),
            "count": pa.array(ev["count"], pa.int64()),
            "reason": coded_strings(ev, "reason"),
        }
    )


def coded_strings(log: EventLog, column: str) -> pa.Array:
    """A coded column of the event log as dictionary-encoded strings: the log's codes are in
    order of first appearance, as ``pa.array(values).dictionary_encode()`` numbers them."""
    values = log.dictionary(column)
    if any(v is None for v in values):  # nulls stay out of the dictionary
        return pa.array(log[column], pa.string()).dictionary_encode()
    return pa.DictionaryArray.from_arrays(
        pa.array(log.codes(column), pa.int32()), pa.array([str(v) for v in values], pa.string())
    )


def assemble(kernel: Kernel) -> RunResult:
    """The results of a finished run: the event log, then each module's tables and summary
    (in composition order; a module may extend a table of one before it)."""
    world = kernel.world
    results = Results(
        tables={"events": _events_table(kernel)},
        summary={
            "scenario": world.scenario.meta.name,
            "seed": kernel.seed,
            "horizon_s": kernel.horizon,
            "events_processed": kernel.events_processed,
        },
    )
    for module in kernel.modules:
        for name, table in module.tables(results).items():
            if name in results.tables and name not in module.replaces:
                raise RuntimeError(f"module {module.name!r} writes table {name!r} again")
            results.tables[name] = table
    for module in kernel.modules:
        for key, value in module.summary(results).items():
            if key in results.summary:
                raise RuntimeError(f"module {module.name!r} writes summary key {key!r} again")
            results.summary[key] = value
    return RunResult(
        summary=results.summary,
        metadata=_metadata(kernel, list(results.tables)),
        tables=results.tables,
    )


def _metadata(kernel: Kernel, tables: list[str]) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for dist in ("cloudsim", *_DEPENDENCIES):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "seed": kernel.seed,
        "modules": [module.name for module in kernel.modules],
        "random_streams": list(kernel.streams.names),
        "python": platform.python_version(),
        "versions": versions,
        "units": dict(zip(RESOURCES, RESOURCE_UNITS, strict=True)),
        "tables": tables,
        "scenario": _absolute_paths(kernel.world.scenario.dump()),
    }


def _absolute_paths(scenario: dict[str, Any]) -> dict[str, Any]:
    """The scenario's file paths (failure traces, openb node and pod lists) made absolute in
    the echo, so the same run started from another working folder writes the same
    metadata. The run itself reads them as loaded."""
    places: list[tuple[Any, str]] = []
    faults = scenario.get("faults")
    if isinstance(faults, dict):
        places += [(trace, "path") for trace in faults.get("traces") or []]
    containers = scenario.get("containers")
    if isinstance(containers, dict):
        places += [(cluster, "trace_nodes") for cluster in containers.get("clusters") or []]
        places.append((containers.get("replay"), "pods"))
    for holder, key in places:
        if isinstance(holder, dict) and isinstance(holder.get(key), str):
            holder[key] = str(Path(holder[key]).resolve())
    return scenario


def check_owned(out: str | Path, owned: Iterable[str]) -> None:
    """Raise :class:`ResultFolderError` unless ``out`` is absent or holds only entries named
    in ``owned`` (what :func:`replace_folder` may replace)."""
    out = _folder(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise ResultFolderError(str(out), "not a folder")
    known = set(owned)
    foreign = sorted(p.name for p in out.iterdir() if p.name not in known)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ResultFolderError(
            str(out),
            f"holds entries this command did not write ({shown}); give a new or empty "
            "folder, or remove them",
        )


def replace_folder(out: str | Path, fill: Callable[[Path], None], owned: Iterable[str]) -> Path:
    """Build a folder with ``fill`` (called with the new, empty folder) beside ``out`` and
    swap it in whole, as :meth:`RunResult.write` does for a run: the previous folder stays
    untouched until then, an exception or Ctrl-C before the swap leaves it as it was.
    Raises :class:`ResultFolderError` when ``out`` holds an entry whose name is not in
    ``owned`` (it would be lost). Returns ``out``."""
    given = Path(out)
    out = _folder(given)
    check_owned(out, owned)
    out.parent.mkdir(parents=True, exist_ok=True)
    recover(out)
    _build_and_swap(out, fill)
    return given


def _build_and_swap(out: Path, fill: Callable[[Path], None]) -> None:
    """Fill a new hidden folder beside ``out``, flush it, and swap it in as ``out``
    (Ctrl-C held during the swap, then raised as :class:`ResultsWrittenInterrupt`); on any
    exception before, the new folder is removed and ``out`` is as it was."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP}{out.name}-{os.getpid()}-", dir=out.parent))
    try:
        fill(tmp)
        _sync(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # as mkdir would (mkdtemp makes it private)
        with _interrupts_held() as held:
            _swap_in(tmp, out)
        if held:
            raise ResultsWrittenInterrupt
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
