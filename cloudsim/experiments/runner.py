"""Where a sweep's runs happen: in this process, in a local process pool, or on a Dask
cluster; the same task gives the same outcome on any of them.

A task carries the resolved scenario as plain data (``Scenario.dump()``) and a seed; the
worker validates it once per scenario (kept in a small cache, so the next seeds of a cell
start at once), runs it, and sends back the summary and the table metrics' values (and the
whole result when the sweep keeps tables). An exception in a run is caught and sent back
as a failed outcome: the sweep goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import importlib
import multiprocessing
import os
import socket
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Generator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

import cloudsim
from cloudsim.errors import ExperimentError, Problem
from cloudsim.experiments.metrics import table_metric_id, table_value
from cloudsim.experiments.spec import Metric
from cloudsim.results import RunResult
from cloudsim.scenario.schema import Scenario

#: Resolved scenarios a worker keeps validated (by digest): one per cell it is working on.
_CACHE_SIZE = 8
_SCENARIOS: OrderedDict[str, Scenario] = OrderedDict()


class WorkerLost(RuntimeError):
    """A worker process died without an answer (the sweep stops; what finished is stored)."""


@dataclass(frozen=True)
class RunTask:
    """One run: a cell's resolved scenario (as data) and a seed."""

    key: str
    digest: str
    scenario: dict[str, Any]
    label: str
    seed: int
    table_metrics: tuple[Metric, ...] = ()
    keep_tables: bool = False


@dataclass
class RunOutcome:
    """What a worker sends back: a finished run, or the error that stopped it."""

    key: str
    ok: bool
    wall_s: float
    worker: str
    summary: dict[str, Any] | None = None
    table_values: dict[str, float | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    error_type: str | None = None
    error: str | None = None
    traceback: str | None = None
    result: RunResult | None = None


def _scenario(task: RunTask) -> Scenario:
    found = _SCENARIOS.get(task.digest)
    if found is None:
        found = cloudsim.scenario_from_dict(task.scenario, label=task.label)
        _SCENARIOS[task.digest] = found
        while len(_SCENARIOS) > _CACHE_SIZE:
            _SCENARIOS.popitem(last=False)
    else:
        _SCENARIOS.move_to_end(task.digest)
    return found


def run_task(task: RunTask) -> RunOutcome:
    """Build the run from the task's scenario and seed, run it, measure its metrics."""
    started = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        result = cloudsim.simulate(_scenario(task), task.seed)
        values = {table_metric_id(m): table_value(result.tables, m) for m in task.table_metrics}
    except Exception as exc:
        return RunOutcome(
            key=task.key,
            ok=False,
            wall_s=time.perf_counter() - started,
            worker=worker,
            error_type=type(exc).__name__,
            error=str(exc),
            traceback=traceback.format_exc(),
        )
    return RunOutcome(
        key=task.key,
        ok=True,
        wall_s=time.perf_counter() - started,
        worker=worker,
        summary=result.summary,
        table_values={k: v.value for k, v in values.items() if v.missing is None},
        missing={k: v.missing for k, v in values.items() if v.missing is not None},
        result=result if task.keep_tables else None,
    )


class Pool(Protocol):
    """Runs tasks and yields their outcomes as they finish; closing the iterator early
    cancels what has not started."""

    workers: int
    description: str

    def run(self, tasks: Sequence[RunTask]) -> Generator[RunOutcome, None, None]: ...

    def close(self) -> None: ...


class InlinePool:
    """One worker: the runs one after the other in this process."""

    workers = 1
    description = "1 worker (this process)"

    def run(self, tasks: Sequence[RunTask]) -> Generator[RunOutcome, None, None]:
        for task in tasks:
            yield run_task(task)

    def close(self) -> None:
        pass


class ProcessPool:
    """Local worker processes (started fresh, not forked, so no lock or thread of the
    parent is inherited)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.description = f"{workers} local worker processes"
        self._executor = cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )

    def run(self, tasks: Sequence[RunTask]) -> Generator[RunOutcome, None, None]:
        futures = [self._executor.submit(run_task, task) for task in tasks]
        try:
            for future in cf.as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool:
                    raise WorkerLost(
                        "a worker process died (killed, or out of memory); the finished runs "
                        "are stored: run the sweep again to go on"
                    ) from None
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """The workers of a Dask cluster (``distributed``): a scheduler's address, or
    ``local`` for a LocalCluster of ``workers`` processes on this machine."""

    def __init__(self, address: str, workers: int, timeout: float) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise ExperimentError(
                [
                    Problem(
                        "--dask",
                        "",
                        "Dask is an optional extra of cloudsim: pip install 'cloudsim[dask]'",
                    )
                ]
            ) from None
        self._distributed = distributed
        self._cluster: Any = None
        if address == "local":
            self._cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            address = self._cluster.scheduler_address
        try:
            if self._cluster is None:
                _handshake(address, timeout)
            self._client: Any = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            self._close_cluster()
            reason = f" ({exc})" if str(exc) else ""
            raise ExperimentError(
                [
                    Problem(
                        "--dask",
                        "",
                        f"no Dask scheduler answered at {address} within {timeout:g} s{reason}",
                    )
                ]
            ) from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        self.description = f"Dask at {address} ({self.workers} workers)"

    def run(self, tasks: Sequence[RunTask]) -> Generator[RunOutcome, None, None]:
        futures = [self._client.submit(run_task, task, pure=False) for task in tasks]
        try:
            with self._client.as_current():
                finished = self._distributed.as_completed(futures)
            for future in finished:
                yield future.result()
        finally:
            self._client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        self._client.close()
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()


def _handshake(address: str, timeout: float) -> None:
    """Connect to a Dask scheduler and exchange its handshake within ``timeout`` seconds.

    ``Client`` bounds the connection by its timeout but not the handshake after it, so an
    address that accepts connections and never speaks would hang it. The probe runs its own
    event loop in a thread of its own (the caller may be inside a running loop)."""
    comm_connect: Any = importlib.import_module("distributed.comm").connect
    failure: list[BaseException] = []

    async def probe() -> None:
        comm = await asyncio.wait_for(comm_connect(address, timeout=timeout), timeout)
        await comm.close()

    def run() -> None:
        try:
            asyncio.run(probe())
        except (OSError, TimeoutError) as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="cloudsim-dask-probe")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def open_pool(workers: int | None = None, dask: str | None = None, timeout: float = 10.0) -> Pool:
    """Dask when ``dask`` is given, else ``workers`` local processes (default: one per
    core; one runs in this process)."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise ExperimentError([Problem("--workers", "", f"at least 1 worker, got {count}")])
    if dask is not None:
        return DaskPool(dask, count, timeout)
    return InlinePool() if count == 1 else ProcessPool(count)
