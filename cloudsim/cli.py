"""The ``cloudsim`` command: validate, run and explain scenarios; sweep experiments and
compare what a sweep stored.

User errors (an invalid scenario, an unwritable output folder) exit with code 2 and one line
per problem; no traceback.
"""

from __future__ import annotations

import tempfile
import time
import typing
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from cloudsim import load_scenario, scenario_from_dict
from cloudsim.composition import all_modules
from cloudsim.engine import Simulation
from cloudsim.errors import ExperimentError, Problem, ResultFolderError, ScenarioError
from cloudsim.results import (
    FolderLock,
    ResultsWrittenInterrupt,
    RunResult,
    check_replaceable,
    recover,
    terminate_as_interrupt,
)
from cloudsim.scenario.paths import printable
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY, format_duration

if typing.TYPE_CHECKING:
    import pyarrow as pa

    from cloudsim.experiments import Design, StoreChanges, SweepProgress
    from cloudsim.experiments.spec import Metric

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="cloudsim: simulate a government cloud's pools, placement and data centres.",
)
out_console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a field: dotted.path=value (list items by name: pools[cs-idc-x86].count).",
    ),
]
ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.")]


def _invalid(label: object, exc: ScenarioError, what: str = "invalid scenario") -> typing.NoReturn:
    """Print every problem of an invalid scenario (or experiment) and exit with code 2."""
    count = len(exc.problems)
    err_console.print(
        f"{printable(str(label))}: {what} ({count} problem{'s' * (count != 1)})",
        style="bold red",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for problem in exc.problems:
        err_console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2) from None


def _load(path: Path, overrides: list[str] | None) -> Scenario:
    try:
        return load_scenario(path, overrides or [])
    except ScenarioError as exc:
        _invalid(path, exc)


def _simulate(
    s: Scenario, seed: int | None, out: Path, quiet: bool, report: bool = False
) -> tuple[RunResult, float]:
    """Run with a progress bar over simulated days, write the results (and with ``report``
    their ``report.html``, part of the same whole); (result, wall s).

    The folder is locked for the whole run (one run writes it at a time) and written as a
    whole at the end; Ctrl-C or a SIGTERM stops the run with code 130 and says what the
    folder holds."""
    with terminate_as_interrupt():
        return _simulate_into(s, seed, out, quiet, report)


def _simulate_into(
    s: Scenario, seed: int | None, out: Path, quiet: bool, report: bool
) -> tuple[RunResult, float]:
    existed = _check_out(out)
    lock = FolderLock(out)
    failed: list[str] = []  # why report.html could not be made
    try:
        notes = lock.acquire()
    except ResultFolderError as exc:
        _out_error(out, exc.message)
    except OSError as exc:
        _out_error(out, f"cannot lock the folder: {exc.strerror or exc}")
    try:
        try:
            notes += recover(out)
        except OSError as exc:
            _out_error(out, f"cannot clean up after a stopped run: {exc.strerror or exc}")
        for note in notes:
            err_console.print(f"--out {out}: {note}", markup=False, highlight=False)
        started = time.perf_counter()
        sim = Simulation(s, seed)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.1f}/{task.total:,.1f} simulated days"),
            TimeElapsedColumn(),
            console=err_console,
            disable=quiet,
        ) as progress:
            task = progress.add_task(s.meta.name, total=s.meta.horizon / DAY)
            result = sim.run(progress=lambda t: progress.update(task, completed=t / DAY))
        wall = time.perf_counter() - started
        try:
            result.write(out, _report_writer(result, failed) if report else None)
        except ResultFolderError as exc:
            _out_error(out, exc.message)
        except OSError as exc:
            _out_error(out, f"cannot write the results: {exc.strerror or exc}")
    except ResultsWrittenInterrupt:
        _stopped(out, "the run had finished: its results were written whole")
    except KeyboardInterrupt:
        if existed:
            kept = "nothing written; the folder still holds the previous results, untouched"
        else:
            kept = "nothing written; the folder was not created"
        _stopped(out, kept)
    finally:
        lock.release()
    if failed:
        err_console.print(
            f"--report: the results are in {out}/ but report.html could not be made: {failed[0]}",
            style="bold red",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=1)
    return result, wall


def _report_writer(result: RunResult, failed: list[str]) -> typing.Callable[[Path], None]:
    """Writes the run's report.html into its new folder; a failure is noted in ``failed``
    (the results are written all the same)."""

    def write(folder: Path) -> None:
        from cloudsim.report import render_run

        try:
            text = render_run(result)
        except Exception as exc:
            failed.append(f"{type(exc).__name__}: {exc}")
            return
        target = folder / "report.html"
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:  # a full disk costs the report, not the run's results
            failed.append(f"cannot write {target.name}: {exc.strerror or exc}")
            target.unlink(missing_ok=True)

    return write


def _stopped(out: Path, what: str) -> typing.NoReturn:
    err_console.print(
        f"interrupted: --out {out}: {what}",
        style="bold red",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(code=130)


@app.command()
def validate(
    scenario: ScenarioArg,
    set_: SetOption = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="MLPS level-3 gaps are errors (exit 2), as with meta.mlps_checks: strict.",
        ),
    ] = False,
) -> None:
    """Check a scenario and print what it describes (and its warnings)."""
    s = _load(scenario, [*(set_ or []), *(["meta.mlps_checks=strict"] if strict else [])])
    cores = sum(
        next(c for c in s.host_classes if c.name == g.host_class).cores * g.count
        for p in s.pools
        for g in p.hosts
    )
    out_console.print(
        f"[green]{escape(str(scenario))}: valid[/] — {escape(s.meta.name)}: "
        f"{len(s.datacenters)} data centres on "
        f"{len(s.sites)} sites, {s.host_count:,} hosts ({cores:,} physical cores), "
        f"{len(s.departments)} departments, {len(s.systems)} systems, "
        f"{sum(x.vm_count for x in s.systems):,} cloud hosts declared, "
        f"horizon {format_duration(s.meta.horizon)}",
        soft_wrap=True,
    )
    _mlps_warnings(scenario, s)


#: MLPS warnings ``validate`` prints one by one before summing up the rest.
MLPS_WARNINGS_SHOWN = 20


def _mlps_warnings(label: Path, s: Scenario) -> None:
    """MLPS level-3 gaps of a valid scenario, one warning each (errors under strict)."""
    if s.meta.mlps_checks == "ignore":
        return
    from cloudsim.composition import world_of
    from cloudsim.dr.mlps import mlps_findings
    from cloudsim.scenario.paths import format_path

    data = s.dump()
    findings = mlps_findings(world_of(s))
    lines = [
        f"{printable(str(label))}: warning: {format_path(f.loc, data)}: {f.message}"
        for f in findings[:MLPS_WARNINGS_SHOWN]
    ]
    if len(findings) > MLPS_WARNINGS_SHOWN:
        lines.append(
            f"{printable(str(label))}: warning: {len(findings) - MLPS_WARNINGS_SHOWN} more "
            f"systems of MLPS level 3 or above lack the same controls ({len(findings)} in all; "
            "--strict lists every one, and a run's summary.json under mlps)"
        )
    for line in lines:
        err_console.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    seed: Annotated[int | None, typer.Option(min=0, help="Run seed (default: meta.seed).")] = None,
    set_: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html (cloudsim report).")
    ] = False,
) -> None:
    """Run a scenario and write summary.json, metadata.json and Parquet tables to --out."""
    s = _load(scenario, set_)
    if report:
        _require_charts("--report")
    result, wall = _simulate(s, seed, out, quiet, report)
    _print_summary(result.summary, wall, out)


def _require_charts(what: str) -> None:
    from cloudsim.report import ChartsUnavailable, require_matplotlib

    try:
        require_matplotlib()
    except ChartsUnavailable as exc:
        _usage_error(f"{what}: {exc}")


@app.command()
def report(
    source: Annotated[
        Path, typer.Argument(help="A run's result folder, a sweep's store or a plan's folder.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The HTML file (default: SOURCE/report.html)."),
    ] = None,
) -> None:
    """Write one self-contained HTML page (opens with no network) of a run, a sweep or a
    plan."""
    from cloudsim.report import ReportError, kind_of, write_report

    _require_charts("cloudsim report")
    target = source / "report.html" if out is None else out
    home = target.resolve().parent
    if home != source.resolve() and (home / "summary.json").is_file():
        _usage_error(
            f"--out {target}: inside another run's folder, where it would pass for that "
            "run's report; write it elsewhere"
        )
    started = time.perf_counter()
    # the folder is locked while it is read and its page written: a run swapping a new
    # folder in meanwhile would get this run's page, or a page of two runs
    lock = FolderLock(source) if home == source.resolve() and source.is_dir() else None
    try:
        if lock is not None:
            lock.acquire()
        kind = kind_of(source)
        write_report(source, target)
    except ReportError as exc:
        _usage_error(str(exc))
    except ResultFolderError as exc:
        _usage_error(f"{source}: {exc.message}")
    except OSError as exc:
        _usage_error(f"--out {target}: cannot write the report: {exc.strerror or exc}")
    except Exception as exc:  # a defect, said in one line (the page is not written)
        err_console.print(
            f"{printable(str(source))}: the report could not be made: {type(exc).__name__}: {exc}",
            style="bold red",
            markup=False,
        )
        raise typer.Exit(code=1) from None
    finally:
        if lock is not None:
            lock.release()
    size = target.stat().st_size / 1e6
    out_console.print(
        f"report of the {kind} in {source} written to {target} ({size:.1f} MB, "
        f"{time.perf_counter() - started:.1f} s)",
        markup=False,
        highlight=False,
    )


def _usage_error(message: str) -> typing.NoReturn:
    err_console.print(f"[bold red]{escape(message)}[/]")
    raise typer.Exit(code=2)


def _pick_name(what: str, value: str, names: list[str]) -> int:
    if value in names:
        return names.index(value)
    import difflib

    close = difflib.get_close_matches(value, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    _usage_error(f"--{what}: unknown {what} {value!r}{hint}")


@app.command()
def explain(
    scenario: ScenarioArg,
    system: Annotated[str, typer.Option(help="Business system that asks for a cloud host.")],
    flavor: Annotated[
        str | None, typer.Option(help="Flavor (default: the system's first).")
    ] = None,
    datacenter: Annotated[
        str | None, typer.Option(help="Only this centre (default: any of the system's).")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Simulate up to this time first, e.g. 180d.")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Run seed (default: meta.seed).")] = None,
    set_: SetOption = None,
) -> None:
    """Explain where one more cloud host of SYSTEM would be placed, and why."""
    from cloudsim.units import parse_duration
    from cloudsim.world.inventory import make_request

    s = _load(scenario, set_)
    index = _pick_name("system", system, [x.name for x in s.systems])
    spec = s.systems[index]
    flavor_names = [f.name for f in s.flavors]
    flavor_index = _pick_name("flavor", flavor or spec.vms[0].flavor, flavor_names)
    sim = Simulation(s, seed)
    sim.start()
    if at is not None:
        try:
            until = parse_duration(at)
        except ValueError as exc:
            _usage_error(f"--at: {exc}")
        if until > 0:
            sim.env.run(until=min(until, s.meta.horizon))
    dcs = None
    if datacenter is not None:
        if datacenter not in spec.datacenters:
            _usage_error(f"--datacenter: system {system!r} runs only in {spec.datacenters}")
        dcs = (sim.hosts.datacenter_names.index(datacenter),)
    req = make_request(sim.platform.profiles[index], sim.platform.demand[:, flavor_index], dcs)
    e = sim.placer.explain(req)
    when = format_duration(sim.env.now)
    table = Table(title=f"{system}: one more {flavor_names[flavor_index]} at t={when}")
    table.add_column("filter")
    table.add_column("hosts removed", justify="right")
    for name, removed in e.removed_by.items():
        table.add_row(name, f"{removed:,}")
    out_console.print(table)
    out_console.print(f"{e.candidates:,} of {e.candidates_before:,} hosts pass every filter")
    if e.host < 0:
        out_console.print(f"[bold red]rejected[/]: {e.reason}")
        return
    parts = ", ".join(
        f"{k} {v['normalised']:.2f} x {v['weight']:g}" for k, v in e.score_parts.items()
    )
    ties = f" (tied with {e.tied_hosts - 1} others; the run draws one)" if e.tied_hosts > 1 else ""
    out_console.print(f"winner: {escape(e.host_name or '')} score {e.score:.3f} = {parts}{ties}")


def _out_error(out: Path, message: str) -> typing.NoReturn:
    err_console.print(
        f"--out {out}: {message}", style="bold red", markup=False, highlight=False, soft_wrap=True
    )
    raise typer.Exit(code=2)


def _check_out(out: Path) -> bool:
    """Prove ``out`` can take a run's results before spending time on the run: its parents
    are created, it is absent, empty or a previous run's folder, and its parent (where the
    new folder is built) is writable. Returns whether ``out`` existed."""
    existed = out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _out_error(out, f"cannot create the folder: {exc.strerror or exc}")
    if not existed:
        out.rmdir()  # the run creates it whole at the end
    try:
        check_replaceable(out)
    except ResultFolderError as exc:
        _out_error(out, exc.message)
    parent = out.resolve().parent
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        _out_error(out, f"cannot write beside the folder, in {parent}: {exc.strerror or exc}")
    return existed


def _print_summary(
    summary: dict[str, object], wall: float, out: Path, only: tuple[str, ...] | None = None
) -> None:
    """Every module's lines (in composition order; ``only`` these), then the run's cost."""
    for module in all_modules():
        if only is not None and module.name not in only:
            continue
        for line in module.terminal_lines(summary):
            if isinstance(line, str):
                out_console.print(line, markup=False, highlight=False)
            else:
                out_console.print(line)
    out_console.print(
        f"{summary['events_processed']:,} events in {wall:.2f} s wall; results in {out}/"
    )


@app.command()
def replay(
    nodes: Annotated[Path, typer.Option(help="openb node list (sn, cpu_milli, memory_mib, ...)")],
    pods: Annotated[Path, typer.Option(help="openb pod list (name, cpu_milli, ...)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    profile: Annotated[
        str,
        typer.Option(help="default-scheduler, spread, binpack or gpu-packing."),
    ] = "default-scheduler",
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running/--delete",
            help="Keep pods once scheduled (as the fragmentation paper) or delete them at "
            "their deletion_time.",
        ),
    ] = True,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N pods by creation time.")
    ] = None,
    horizon: Annotated[str, typer.Option(help="How long to replay, e.g. 150d.")] = "150d",
    sample: Annotated[str, typer.Option(help="Sampling interval of the time series.")] = "1h",
    seed: Annotated[int, typer.Option(min=0, help="Seed of the scheduler's tie-breaks.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Replay an Alibaba openb trace (node and pod lists) through the scheduler."""
    from cloudsim.containers.replay import replay_scenario

    for what, path in (("--nodes", nodes), ("--pods", pods)):
        if not path.is_file():
            _usage_error(f"{what}: no such file {path}")
    data = replay_scenario(
        nodes.resolve(),
        pods.resolve(),
        profile=profile,
        keep_running=keep_running,
        limit=limit,
        horizon=horizon,
        sample_interval=sample,
        seed=seed,
    )
    try:
        s = scenario_from_dict(data, label="cloudsim replay")
    except ScenarioError as exc:
        _invalid("cloudsim replay", exc)
    result, wall = _simulate(s, None, out, quiet)
    _print_summary(result.summary, wall, out, only=("containers",))


@app.command("import")
def import_estate(
    hosts: Annotated[
        Path, typer.Argument(help="hosts.csv: name, datacenter, pool, class or cores/memory/arch.")
    ],
    vms: Annotated[
        Path,
        typer.Argument(help="vms.csv: name, system, department, flavor or cores/memory, host."),
    ],
    systems: Annotated[
        Path | None, typer.Argument(help="systems.csv (optional): name, department, zone, ...")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The scenario YAML to write.")] = Path(
        "estate.yaml"
    ),
) -> None:
    """Turn a planner's inventory into a scenario that keeps its placement."""
    from cloudsim.scenario.estate import EstateError, estate_yaml
    from cloudsim.scenario.estate import import_estate as read_estate

    try:
        estate = read_estate(hosts, vms, systems, name=out.stem)
    except EstateError as exc:
        _usage_error(str(exc))
    try:
        s = scenario_from_dict(estate.data, label=str(out))
    except ScenarioError as exc:
        problems = []
        for problem in exc.problems:  # each named by the row it came from, where known
            found = estate.where(problem.path)
            problems.append(
                problem
                if found is None
                else Problem(
                    f"{found[0]}, row {found[1]}",
                    "",
                    f"{problem.message} (field {problem.path} of the imported scenario)",
                )
            )
        _invalid(out, ScenarioError(problems), "the imported estate is not a valid scenario")
    text = estate_yaml(estate.data, [p for p in (hosts, vms, systems) if p is not None])
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_text(text, "utf-8")
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        _usage_error(f"--out {out}: cannot write it ({exc.strerror or exc})")
    out_console.print(
        f"{escape(str(out))}: {len(s.datacenters)} data centres, {s.host_count:,} hosts, "
        f"{len(s.systems)} systems, {sum(x.vm_count for x in s.systems):,} cloud hosts",
        soft_wrap=True,
    )


class Keep(StrEnum):
    """What a sweep keeps beyond its records."""

    tables = "tables"


@app.command()
def sweep(
    experiment: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The sweep's folder (resumed if it exists).")
    ],
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default: one per core).")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(help="Run on Dask: a scheduler's address (tcp://host:8786) or 'local'."),
    ] = None,
    dask_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for the Dask scheduler.")
    ] = 10.0,
    seeds: Annotated[
        int | None, typer.Option(min=1, help="Only the first N seeds (a first look).")
    ] = None,
    keep: Annotated[
        Keep | None,
        typer.Option(help="'tables': keep each run's result folder; combine its tables."),
    ] = None,
    until_ci: Annotated[
        float | None,
        typer.Option(
            "--until-ci",
            help="Add seeds until the relative half-width of --metric is at most this "
            "in every cell.",
        ),
    ] = None,
    metric: Annotated[str | None, typer.Option(help="The metric of --until-ci.")] = None,
    max_seeds: Annotated[
        int, typer.Option(min=1, help="At most this many seeds per cell with --until-ci.")
    ] = 100,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run again the runs stored as failed.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run an experiment's grid × seeds into --out and print each cell's intervals and its
    paired difference to the baseline."""
    from cloudsim import experiments
    from cloudsim.experiments.runner import WorkerLost

    try:
        loaded = experiments.load_experiment(experiment)
    except ExperimentError as exc:
        _invalid(experiment, exc, "invalid experiment")
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs{task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
    ) as progress:
        task = progress.add_task(loaded.design.name, total=None, failed="")

        def show(state: SweepProgress) -> None:
            failed = f" ({state.failed} failed)" if state.failed else ""
            progress.update(task, completed=state.done, total=state.total, failed=failed)

        try:
            result = experiments.sweep(
                loaded,
                out,
                workers=workers,
                dask=dask,
                seeds=seeds,
                keep_tables=keep is Keep.tables,
                until_ci=until_ci,
                metric=metric,
                max_seeds=max_seeds,
                retry_failed=retry_failed,
                progress=show,
                dask_timeout=dask_timeout,
            )
        except ExperimentError as exc:
            progress.stop()
            _invalid(experiment, exc, "cannot sweep")
        except WorkerLost as exc:
            progress.stop()
            err_console.print(f"{experiment}: {exc}", style="bold red", markup=False)
            raise typer.Exit(code=1) from None
    _print_changes(result.changes)
    _print_cells(result.cells, result.design, result.design.metrics, result.design.spec.confidence)
    _print_failures(result.runs)
    out_console.print(
        f"{result.ran:,} runs ({result.failed:,} failed) on {result.pool}, {result.reused:,} "
        f"reused from the store, in {time.perf_counter() - started:.1f} s; results in {out}/",
        markup=False,
        highlight=False,
    )


@app.command()
def compare(
    store: Annotated[Path, typer.Argument(help="A sweep's folder (its --out).")],
    metric: Annotated[
        list[str] | None,
        typer.Option(help="A metric of the experiment, or a summary.json path (repeatable)."),
    ] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(help="Compare against this value (or AXIS=VALUE; repeatable)."),
    ] = None,
    confidence: Annotated[
        float | None, typer.Option(help="Confidence level (default: the experiment's).")
    ] = None,
) -> None:
    """Print a sweep's table again from its store, for other metrics or another baseline."""
    from cloudsim import experiments

    try:
        found = experiments.compare(
            store, metrics=metric or [], baseline=baseline or [], confidence=confidence
        )
    except ExperimentError as exc:
        _invalid(store, exc, "cannot compare")
    _print_cells(found.cells, found.design, found.metrics, found.confidence)
    _print_failures(found.runs)


def _print_changes(changes: StoreChanges) -> None:
    """What differs between the experiment and what its store held."""
    if changes.new_cells:
        out_console.print(
            f"new cells since the store's last sweep: {'; '.join(changes.new_cells)}",
            markup=False,
            highlight=False,
        )
    if changes.stale_cells:
        stale = "; ".join(f"{label} ({n} runs)" for label, n in changes.stale_cells.items())
        out_console.print(
            f"stored cells no longer in the experiment (kept in records/, not in the "
            f"tables): {stale}",
            markup=False,
            highlight=False,
        )
    if changes.other_versions:
        out_console.print(
            f"{changes.other_versions:,} stored runs of another cloudsim version, not reused",
            markup=False,
            highlight=False,
        )


def _number(value: float | None, signed: bool = False) -> str:
    """Four significant digits; large values whole with thousands separators."""
    if value is None:
        return "—"
    if abs(value) == float("inf"):
        return "∞"
    sign = "+" if signed else ""
    return f"{value:{sign},.0f}" if abs(value) >= 1e4 else f"{value:{sign}.4g}"


def _print_cells(
    cells: pa.Table, design: Design, metrics: typing.Sequence[Metric], confidence: float
) -> None:
    """One table per metric: the cell (its axes' values), n, mean ± half-width, the paired
    difference to the baseline with its interval, and how much narrower pairing made it."""
    rows = cells.to_pylist()
    points = {
        c.index: " · ".join(c.values[a.name] for a in design.axes) or c.label for c in design.cells
    }
    # piped or captured output is not cut to 80 columns
    console = out_console if out_console.is_terminal else Console(width=160, soft_wrap=True)
    for metric in metrics:
        mine = [r for r in rows if r["metric"] == metric.name]
        if not mine:
            continue
        table = Table(
            title=metric.name,
            caption=f"mean ± half-width of the {confidence:.0%} {mine[0]['method']} interval; "
            "Δ: paired difference to the baseline over common seeds; ×: how many times "
            "narrower than the unpaired interval",
            title_justify="left",
        )
        table.add_column(" · ".join(a.name for a in design.axes) or "cell")
        for name in ("n", "mean ± half-width", r"Δ vs baseline \[interval]", "×"):
            table.add_column(name, justify="right", no_wrap=True)
        for r in mine:
            n = f"{r['n']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
            spread = f" ± {_number(r['half_width'])}" if r["half_width"] is not None else ""
            if r["baseline"] is None:
                delta = ""
            elif r["baseline"] == r["cell"]:
                delta = "baseline"
            else:
                delta = (
                    f"{_number(r['diff'], True)} "
                    f"[{_number(r['diff_low'], True)}, {_number(r['diff_high'], True)}]"
                )
                if r["n_paired"] != r["n"]:
                    delta += f" (n={r['n_paired']})"
            times = "" if r["narrowing"] is None else f"×{r['narrowing']:.1f}"
            table.add_row(
                escape(points[r["cell_index"]]), n, f"{_number(r['mean'])}{spread}", delta, times
            )
        console.print(table)


def _print_failures(runs: pa.Table) -> None:
    """The errors of failed runs, grouped, most frequent first."""
    errors: dict[str, int] = {}
    for status, kind, message in zip(
        runs.column("status").to_pylist(),
        runs.column("error_type").to_pylist(),
        runs.column("error").to_pylist(),
        strict=True,
    ):
        if status != "ok":
            text = f"{kind}: {message}"
            errors[text] = errors.get(text, 0) + 1
    for text, count in sorted(errors.items(), key=lambda item: -item[1])[:5]:
        err_console.print(f"failed runs: {count} × {text}", style="red", markup=False)


class Survive(StrEnum):
    none = "none"
    datacenter = "datacenter"
    site = "site"


class Objective(StrEnum):
    hosts = "hosts"
    cost = "cost"


@app.command()
def plan(
    scenario: ScenarioArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for plan.json and the planned scenarios.")
    ],
    survive: Annotated[
        Survive | None,
        typer.Option(help="Failures to survive: none, each datacenter, each site (plan.survive)."),
    ] = None,
    years: Annotated[
        float | None, typer.Option(min=0.01, help="Growth horizon (plan.years).")
    ] = None,
    max_reject: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=0.999, help="Largest share refused for capacity (plan.max_reject)."
        ),
    ] = None,
    objective: Annotated[
        Objective | None, typer.Option(help="Fewest hosts or lowest cost (plan.objective).")
    ] = None,
    runway: Annotated[
        bool, typer.Option("--runway", help="Only: when each pool runs out at today's size.")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Verify the plan by full simulations.")
    ] = True,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes for the verification runs.")
    ] = 2,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: meta.seed).")] = None,
    set_: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """The fewest hosts per pool that carry the growth and survive the failures asked, verified
    by simulation; writes plan.json, planned.yaml and verify/*.yaml to --out."""
    from cloudsim.errors import PlanError
    from cloudsim.planning.command import PLAN_FILES, make_plan
    from cloudsim.planning.view import show_plan
    from cloudsim.results import check_owned

    overrides = list(set_ or [])
    for field, value in (
        ("survive", survive), ("years", years), ("max_reject", max_reject), ("objective", objective)
    ):  # fmt: skip
        if value is not None:
            overrides.append(f"plan.{field}={value}")
    try:  # the scenario's own problems first, before any work (not its capacity: the plan's)
        load_scenario(scenario, overrides, check_feasibility=False)
    except ScenarioError as exc:
        _invalid(scenario, exc)
    try:
        check_owned(out, PLAN_FILES)
        out.resolve().parent.mkdir(parents=True, exist_ok=True)
    except ResultFolderError as exc:
        _out_error(out, exc.message)
    except OSError as exc:
        _out_error(out, f"cannot create its parent folder: {exc.strerror or exc}")
    lock = FolderLock(out)
    try:
        lock.acquire()
    except ResultFolderError as exc:
        _out_error(out, exc.message)
    except OSError as exc:
        _out_error(out, f"cannot lock the folder: {exc.strerror or exc}")
    say = (
        None if quiet else (lambda text: err_console.print(f"  {text}", style="dim", markup=False))
    )

    def verdict_done(verdict: typing.Any) -> None:
        if not quiet:
            state = "passed" if verdict.passed else "FAILED"
            err_console.print(f"  verification {verdict.name}: {state}", markup=False)

    try:
        with terminate_as_interrupt():
            done = make_plan(
                scenario,
                overrides,
                out,
                runway_only=runway,
                run_verification=verify,
                workers=workers,
                seed=seed,
                say=say,
                verdict_done=verdict_done,
            )
    except ScenarioError as exc:
        _invalid(scenario, exc)
    except PlanError as exc:
        err_console.print(
            f"{printable(str(scenario))}: no plan: {exc}", style="bold red", markup=False
        )
        raise typer.Exit(code=2) from None
    except ResultFolderError as exc:
        _out_error(out, exc.message)
    except ResultsWrittenInterrupt:
        _stopped(out, "the plan had finished: its folder was written whole")
    except KeyboardInterrupt:
        _stopped(out, "nothing written; the folder holds what it held before")
    finally:
        lock.release()
    console = out_console if out_console.is_terminal else Console(width=160, soft_wrap=True)
    show_plan(done.document, console)
    console.print(f"plan in {out}/", markup=False, highlight=False)
    if done.verified is False:
        err_console.print("the plan failed its verification (see plan.json)", style="bold red")
        raise typer.Exit(code=1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
