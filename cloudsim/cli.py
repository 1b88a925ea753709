"""The ``cloudsim`` command: validate and run scenarios.

User errors (an invalid scenario, an unwritable output folder) exit with code 2 and one line
per problem; no traceback.
"""

from __future__ import annotations

import tempfile
import time
import typing
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cloudsim.errors import ScenarioError
from cloudsim.scenario.loader import load_scenario
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY, format_duration

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


def _load(path: Path, overrides: list[str] | None) -> Scenario:
    try:
        return load_scenario(path, overrides or [])
    except ScenarioError as exc:
        count = len(exc.problems)
        err_console.print(
            f"{path}: invalid scenario ({count} problem{'s' * (count != 1)})",
            style="bold red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for problem in exc.problems:
            err_console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


@app.command()
def validate(scenario: ScenarioArg, set_: SetOption = None) -> None:
    """Check a scenario and print what it describes."""
    s = _load(scenario, set_)
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


@app.command()
def run(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    seed: Annotated[int | None, typer.Option(min=0, help="Run seed (default: meta.seed).")] = None,
    set_: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run a scenario and write summary.json, metadata.json and Parquet tables to --out."""
    from cloudsim.engine import Simulation

    s = _load(scenario, set_)
    _check_out(out)
    started = time.perf_counter()
    sim = Simulation(s, seed)
    horizon_days = s.meta.horizon / DAY
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.1f}/{task.total:,.1f} simulated days"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    ) as progress:
        task = progress.add_task(s.meta.name, total=horizon_days)
        result = sim.run(progress=lambda t: progress.update(task, completed=t / DAY))
    wall = time.perf_counter() - started
    try:
        result.write(out)
    except OSError as exc:
        _out_error(out, f"cannot write the results: {exc.strerror or exc}")
    _print_summary(result.summary, wall, out)


def _out_error(out: Path, message: str) -> typing.NoReturn:
    err_console.print(
        f"--out {out}: {message}", style="bold red", markup=False, highlight=False, soft_wrap=True
    )
    raise typer.Exit(code=2)


def _check_out(out: Path) -> None:
    """Create ``out`` and prove it writable before spending time on the run."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _out_error(out, f"cannot create the folder: {exc.strerror or exc}")
    try:
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        _out_error(out, f"cannot write in the folder: {exc.strerror or exc}")


def _print_summary(summary: dict[str, object], wall: float, out: Path) -> None:
    table = Table(title=f"{summary['scenario']} (seed {summary['seed']})", show_lines=False)
    for column in (
        "data centre",
        "hosts",
        "cores",
        "VMs",
        "CPU alloc",
        "CPU peak",
        "mem alloc",
        "mem peak",
        "facility kW",
    ):
        table.add_column(column, justify="right" if column != "data centre" else "left")
    datacenters = summary["datacenters"]
    assert isinstance(datacenters, dict)
    for name, d in datacenters.items():
        table.add_row(
            name,
            f"{d['hosts']:,}",
            f"{d['physical_cores']:,}",
            f"{d['vms_end']:,}",
            f"{d['cpu_allocated_ratio']:.1%}",
            f"{d['cpu_allocated_ratio_peak']:.1%}",
            f"{d['memory_allocated_ratio']:.1%}",
            f"{d['memory_allocated_ratio_peak']:.1%}",
            f"{d['facility_power_kw_mean']:,.0f}",
        )
    out_console.print(table)
    reasons = summary["rejections_by_reason"]
    assert isinstance(reasons, dict)
    why = ", ".join(f"{k}: {v:,}" for k, v in reasons.items()) or "none"
    out_console.print(
        f"cloud hosts: {summary['vms_initial']:,} initial "
        f"({summary['vms_initial_unplaced']:,} unplaced), {summary['vms_requested']:,} "
        f"requested, {summary['vms_placed']:,} placed, {summary['vms_rejected']:,} rejected "
        f"({why}); {summary['vms_end']:,} at the end"
    )
    out_console.print(
        f"{summary['events_processed']:,} events in {wall:.2f} s wall; results in {out}/"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
