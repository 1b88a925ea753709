"""Sweep an experiment, and compare what a sweep stored.

A sweep plans every cell × seed, reuses the stored runs, and runs the others on the chosen
pool, seed-major (the first seed of every cell first) so that each cell's metrics are
checked on its first run before anything is written: a metric no run produces stops the
sweep with the experiment's problem and leaves the store as it was. Each finished run is
then recorded at once (a killed sweep loses nothing that finished). In sequential mode
(``until_ci``) cells whose interval of one metric is still too wide get more seeds, round
after round. The per-run and per-cell tables are rebuilt from the records at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import cloudsim
from cloudsim.errors import ExperimentError, Problem
from cloudsim.experiments.metrics import summary_value, table_metric_id
from cloudsim.experiments.plan import Cell, Design, Experiment, load_experiment, value_text
from cloudsim.experiments.runner import Pool, RunOutcome, RunTask, open_pool
from cloudsim.experiments.spec import Metric
from cloudsim.experiments.stats import Estimator, cell_statistics, values_by_cell
from cloudsim.experiments.store import SeedsByCell, Store, run_key, runs_table
from cloudsim.registry import did_you_mean
from cloudsim.scenario.loader import parse_path


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands: runs finished (failed among them) of those to run."""

    done: int
    total: int
    failed: int


@dataclass(frozen=True)
class StoreChanges:
    """How the experiment and its store differ: cells with no stored run yet (when the
    store had runs), stored cells the experiment no longer has (label -> runs), and stored
    runs of another cloudsim version (never reused)."""

    new_cells: tuple[str, ...] = ()
    stale_cells: dict[str, int] = field(default_factory=dict)
    other_versions: int = 0


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: ``runs`` one row per run, ``cells`` one row per cell and metric
    (pyarrow tables; ``.to_pandas()`` for pandas)."""

    store: Path
    runs: pa.Table
    cells: pa.Table
    design: Design
    ran: int
    reused: int
    failed: int
    changes: StoreChanges
    pool: str
    seeds: SeedsByCell


@dataclass(frozen=True)
class Comparison:
    """A store's runs and statistics, as ``cloudsim compare`` shows them."""

    runs: pa.Table
    cells: pa.Table
    design: Design
    metrics: tuple[Metric, ...]
    confidence: float


def sweep(
    experiment: Experiment | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    dask: str | None = None,
    seeds: int | None = None,
    keep_tables: bool = False,
    until_ci: float | None = None,
    metric: str | None = None,
    max_seeds: int = 100,
    retry_failed: bool = False,
    progress: Callable[[SweepProgress], None] | None = None,
    dask_timeout: float = 10.0,
) -> SweepResult:
    """Run an experiment (a file or a loaded one) into the store ``out``, resuming what is
    there. ``workers`` local processes (default one per core), or ``dask`` (a scheduler's
    address, or ``local``); ``seeds``: only the first N; ``until_ci``: add seeds until the
    relative half-width of ``metric`` is at most this in every cell (``max_seeds`` at most).
    Raises :class:`ExperimentError` for a bad experiment, option or store."""
    loaded = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    if seeds is not None:
        loaded = loaded.with_seeds(seeds)
    target = _target_metric(loaded, until_ci, metric, max_seeds)
    with closing(open_pool(workers, dask, dask_timeout)) as pool:
        store = Store(out)
        store.open()
        try:
            run = _Sweep(loaded, store, pool, keep_tables, retry_failed, progress)
            chosen = {cell.index: list(loaded.seeds) for cell in loaded.cells}
            run.round(chosen)
            while target is not None and until_ci is not None:
                more = _more_seeds(loaded, run.runs(chosen), target, until_ci, max_seeds, chosen)
                if not more:
                    break
                for index, extra in more.items():
                    chosen[index] += extra
                run.round(chosen)
            return run.finish(chosen)
        except ExperimentError:
            store.close(discard=True)
            raise
        finally:
            store.close()


class _Sweep:
    """One sweep's state: what is stored, what ran, which cells' metrics are checked."""

    def __init__(
        self,
        experiment: Experiment,
        store: Store,
        pool: Pool,
        keep_tables: bool,
        retry_failed: bool,
        progress: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.experiment = experiment
        self.store = store
        self.pool = pool
        self.keep_tables = keep_tables
        self.retry_failed = retry_failed
        self.progress = progress
        self.version = cloudsim.__version__
        self.changes = _changes(experiment.cells, store, self.version)
        self.unchecked = {cell.index for cell in experiment.cells}
        self.table_metrics = tuple(m for m in experiment.metrics if m.table is not None)
        self.reused: set[str] = set()
        self.ran = self.failed = self.total = 0
        self.manifest_written = False
        self.dumps: dict[int, dict[str, Any]] = {}

    def round(self, chosen: SeedsByCell) -> None:
        """Run every chosen (cell, seed) the store does not hold yet."""
        tasks: list[RunTask] = []
        where: dict[str, tuple[Cell, int]] = {}
        left: dict[int, int] = {}
        depth = max(len(s) for s in chosen.values())
        for position in range(depth):  # seed-major: every cell's first seed first
            for cell in self.experiment.cells:
                if position >= len(chosen[cell.index]):
                    continue
                seed = chosen[cell.index][position]
                key = run_key(cell.scenario_digest, seed, self.version)
                if key in where:  # another cell resolves to the same scenario
                    continue
                if self._satisfied(key):
                    self.reused.add(key)
                    self._check_record(cell, self.store.records()[key])
                    continue
                where[key] = (cell, seed)
                left[cell.index] = left.get(cell.index, 0) + 1
                tasks.append(self._task(cell, seed, key))
        self.unchecked -= {c.index for c in self.experiment.cells if c.index not in left}
        self.total += len(tasks)
        self._report()
        held: list[tuple[RunOutcome, Cell, int]] = []
        with closing(self.pool.run(tasks)) as outcomes:
            for outcome in outcomes:
                cell, seed = where[outcome.key]
                left[cell.index] -= 1
                if cell.index in self.unchecked and (outcome.ok or not left[cell.index]):
                    if outcome.ok:
                        self._check(cell, outcome.summary or {}, outcome.missing)
                    self.unchecked.discard(cell.index)
                held.append((outcome, cell, seed))
                if not self.unchecked:
                    for done in held:
                        self._save(*done)
                    held.clear()
                self.ran += 1
                self.failed += not outcome.ok
                self._report()

    def finish(self, chosen: SeedsByCell) -> SweepResult:
        """Write the manifest, ``runs.parquet``, ``cells.parquet`` (and the combined tables)."""
        design = self.experiment.design
        self.store.write_manifest(design, chosen, self.version)
        runs = self.runs(chosen)
        cells = cell_statistics(design, runs)
        self.store.write_tables(runs, cells)
        if self.keep_tables:
            self.store.combine_tables(runs, design)
        return SweepResult(
            store=self.store.root,
            runs=runs,
            cells=cells,
            design=design,
            ran=self.ran,
            reused=len(self.reused),
            failed=self.failed,
            changes=self.changes,
            pool=self.pool.description,
            seeds={k: list(v) for k, v in chosen.items()},
        )

    def runs(self, chosen: SeedsByCell) -> pa.Table:
        return runs_table(self.experiment.design, chosen, self.store.records(), self.version)

    def _satisfied(self, key: str) -> bool:
        """A stored run stands for this one: finished (or failed, unless retrying), with
        every table metric measured, and its result folder when tables are kept."""
        record = self.store.records().get(key)
        if record is None:
            return False
        if record["status"] != "ok":
            return not self.retry_failed
        measured = {**record.get("table_metrics", {}), **record.get("table_metrics_missing", {})}
        if any(table_metric_id(m) not in measured for m in self.table_metrics):
            return False
        return not self.keep_tables or self.store.has_folder(key)

    def _task(self, cell: Cell, seed: int, key: str) -> RunTask:
        return RunTask(
            key=key,
            digest=cell.scenario_digest,
            scenario=self._dump(cell),
            label=f"{self.experiment.path} cell {cell.label!r}",
            seed=seed,
            table_metrics=self.table_metrics,
            keep_tables=self.keep_tables,
        )

    def _dump(self, cell: Cell) -> dict[str, Any]:
        """The cell's resolved scenario as data (dumped once, shared by its tasks)."""
        if cell.index not in self.dumps:
            self.dumps[cell.index] = self.experiment.scenarios[cell.index].dump()
        return self.dumps[cell.index]

    def _check_record(self, cell: Cell, record: dict[str, Any]) -> None:
        if cell.index in self.unchecked and record["status"] == "ok":
            self._check(cell, record["summary"], record.get("table_metrics_missing", {}))
            self.unchecked.discard(cell.index)

    def _check(self, cell: Cell, summary: dict[str, Any], missing: dict[str, str]) -> None:
        """Every metric is produced by the cell's first run, or the sweep stops here."""
        problems = []
        for metric in self.experiment.metrics:
            reason = (
                summary_value(summary, metric).missing
                if metric.path is not None
                else missing.get(table_metric_id(metric))
            )
            if reason is not None:
                problems.append(
                    Problem(
                        str(self.experiment.path),
                        f"metrics[{metric.name}]",
                        f"not produced by the first run of cell {cell.label!r}: {reason}",
                    )
                )
        if problems:
            raise ExperimentError(problems)

    def _save(self, outcome: RunOutcome, cell: Cell, seed: int) -> None:
        if not self.manifest_written:
            seeds = {c.index: list(self.experiment.seeds) for c in self.experiment.cells}
            self.store.write_manifest(self.experiment.design, seeds, self.version)
            self.manifest_written = True
        self.store.save(outcome, cell=cell, seed=seed, version=self.version)

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(SweepProgress(self.ran, self.total, self.failed))


def _changes(cells: Sequence[Cell], store: Store, version: str) -> StoreChanges:
    """How the experiment's cells differ from the runs the store holds (by scenario)."""
    records = store.records().values()
    if not records:
        return StoreChanges()
    current = [r for r in records if r.get("cloudsim") == version]
    stored = {r["scenario_digest"] for r in current}
    planned = {cell.scenario_digest for cell in cells}
    stale: dict[str, int] = {}
    for record in current:
        if record["scenario_digest"] not in planned:
            stale[record["cell"]] = stale.get(record["cell"], 0) + 1
    return StoreChanges(
        new_cells=tuple(c.label for c in cells if c.scenario_digest not in stored),
        stale_cells=stale,
        other_versions=len(records) - len(current),
    )


def _target_metric(
    experiment: Experiment, until_ci: float | None, metric: str | None, max_seeds: int
) -> Metric | None:
    """The metric of sequential mode, with its options checked."""
    if until_ci is None:
        if metric is not None:
            raise ExperimentError([Problem("--metric", "", "goes with --until-ci")])
        return None
    problems = []
    if not 0 < until_ci < 1:
        problems.append(
            Problem("--until-ci", "", f"expected a relative half-width in (0, 1), got {until_ci}")
        )
    if max_seeds < len(experiment.seeds):
        problems.append(
            Problem(
                "--max-seeds", "", f"at least the {len(experiment.seeds)} seeds of a first round"
            )
        )
    names = [m.name for m in experiment.metrics]
    if metric is None or metric not in names:
        message = (
            did_you_mean(metric, names, "metric") if metric else "--until-ci needs --metric NAME"
        )
        problems.append(Problem("--metric", "", message))
    if problems:
        raise ExperimentError(problems)
    return next(m for m in experiment.metrics if m.name == metric)


def _more_seeds(
    experiment: Experiment,
    runs: pa.Table,
    metric: Metric,
    target: float,
    cap: int,
    chosen: SeedsByCell,
) -> dict[int, list[int]]:
    """The seeds to add to each cell whose relative half-width is above ``target``: the
    count the current spread asks for (half-width ~ 1/√n), at most doubling, within ``cap``."""
    spec = experiment.design.spec
    estimator = Estimator.of(metric, spec.confidence, spec.bootstrap)
    values = values_by_cell(runs, metric.name)
    more: dict[int, list[int]] = {}
    for cell in experiment.cells:
        have = len(chosen[cell.index])
        if have >= cap:
            continue
        found = np.array(list(values.get(cell.index, {}).values()))
        estimate = estimator.mean(found, cell.label, metric.name)
        relative = estimate.relative_half_width
        if relative is not None and relative <= target:
            continue
        want = 2 * have
        if relative is not None and math.isfinite(relative):
            want = math.ceil(estimate.n * (relative / target) ** 2)
        want = min(cap, max(have + 1, min(want, 2 * have)))
        more[cell.index] = spec.seed_sequence(want)[have:]
    return more


def compare(
    store: str | Path,
    *,
    metrics: Iterable[str] = (),
    baseline: Iterable[str] = (),
    confidence: float | None = None,
) -> Comparison:
    """The statistics of a store's runs, from its records: ``metrics`` by name or as
    summary paths (default: the experiment's), ``baseline`` as ``value`` or
    ``axis=value`` (default: the experiment's)."""
    folder = Store(store)
    design, seeds, version = folder.read_manifest()
    chosen = _compare_metrics(design, list(metrics), folder)
    choice = baseline_choice(design, list(baseline))
    if choice:
        design = design.with_baseline(choice)
    if confidence is not None and not 0 < confidence < 1:
        raise ExperimentError(
            [Problem("--confidence", "", f"expected a level in (0, 1), got {confidence}")]
        )
    runs = runs_table(design, seeds, folder.records(), version, chosen)
    level = design.spec.confidence if confidence is None else confidence
    return Comparison(
        runs=runs,
        cells=cell_statistics(design, runs, chosen, level),
        design=design,
        metrics=tuple(chosen),
        confidence=level,
    )


def _compare_metrics(design: Design, names: list[str], store: Store) -> list[Metric]:
    """The experiment's metrics by name; another name is read as a summary path, which
    at least one stored run must have."""
    known = {m.name: m for m in design.metrics}
    if not names:
        return list(known.values())
    chosen = []
    for name in names:
        if name in known:
            chosen.append(known[name])
            continue
        try:
            parse_path(name)
        except ValueError as exc:
            raise ExperimentError([Problem("--metric", name, str(exc))]) from None
        metric = Metric(name=name, path=name)
        summaries = [r["summary"] for r in store.records().values() if r.get("summary")]
        if not any(summary_value(s, metric).missing is None for s in summaries):
            message = (
                f"neither a metric of the experiment ({', '.join(known)}) nor a value of "
                "any stored run's summary.json"
            )
            raise ExperimentError([Problem("--metric", name, message)])
        chosen.append(metric)
    return chosen


def baseline_choice(design: Design, texts: list[str]) -> dict[str, str]:
    """``manual`` (the axis that has that value) or ``dr.failover.name=manual`` -> {axis:
    label}."""
    choice: dict[str, str] = {}
    axes = {axis.name: axis for axis in design.axes}
    for text in texts:
        name, _, value = text.rpartition("=")
        if name:
            axis = axes.get(name)
            if axis is None:
                problem = did_you_mean(name, list(axes), "axis")
                raise ExperimentError([Problem("--baseline", text, problem)])
            label = value if value in axis.labels else value_text(value)
            if label not in axis.labels:
                problem = did_you_mean(value, list(axis.labels), f"value of {name}")
                raise ExperimentError([Problem("--baseline", text, problem)])
            choice[name] = label
            continue
        holders = [a for a in design.axes if value in a.labels]
        if len(holders) != 1:
            every = [label for a in design.axes for label in a.labels]
            problem = (
                did_you_mean(value, every, "value")
                if not holders
                else f"ambiguous: {' and '.join(a.name for a in holders)} both have it; "
                "write AXIS=VALUE"
            )
            raise ExperimentError([Problem("--baseline", text, problem)])
        choice[holders[0].name] = value
    return choice
