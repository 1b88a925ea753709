"""``cloudsim report``: one self-contained HTML page for a run's result folder, a sweep's
store or a capacity plan's folder.

The page opens from the file with no network: style inline, charts as static SVG drawn by
Matplotlib (the ``report`` extra), no script, no address a browser would fetch. Each
section appears exactly when its inputs exist. Library use::

    from cloudsim.report import render, write_report
    html = render("runs/hunan")                       # the page as a string
    write_report("runs/policies", "policies.html")    # a sweep's store, written atomically
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cloudsim.errors import ExperimentError, ResultFolderError
from cloudsim.report.charts import EXTRA_HINT, Charts, ChartsUnavailable, require_matplotlib
from cloudsim.report.page import page
from cloudsim.report.plan import plan_lead, plan_sections
from cloudsim.report.run import run_lead, run_sections, run_title
from cloudsim.results import RunResult, atomic_write

__all__ = [
    "EXTRA_HINT",
    "ChartsUnavailable",
    "ReportError",
    "kind_of",
    "render",
    "render_run",
    "require_matplotlib",
    "write_report",
]

GENERATOR = "cloudsim report"


class ReportError(Exception):
    """A source the report cannot read: ``path`` and what is wrong with it."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message


def kind_of(source: str | Path) -> str:
    """``plan``, ``sweep`` or ``run``: what the folder holds (in that order of precedence:
    a plan's or a sweep's folder may hold run folders of its own)."""
    folder = Path(source)
    if not folder.is_dir():
        raise ReportError(folder, "no such folder" if not folder.exists() else "not a folder")
    for name, kind in (
        ("plan.json", "plan"),
        ("experiment.json", "sweep"),
        ("summary.json", "run"),
    ):
        if (folder / name).is_file():
            return kind
    raise ReportError(
        folder,
        "not a run's results, a sweep's store or a plan: it has no summary.json, "
        "experiment.json or plan.json",
    )


def render_run(result: RunResult) -> str:
    """The page of a run held in memory (as ``run --report`` writes it); the same page as
    the run's folder gives, whose JSON files have their keys sorted."""
    result = RunResult(
        summary=json.loads(json.dumps(result.summary, sort_keys=True)),
        metadata=json.loads(json.dumps(result.metadata, sort_keys=True)),
        tables=result.tables,
    )
    charts = Charts()
    sections = run_sections(result, charts)
    return page(
        run_title(result.summary), run_lead(result.summary, result.metadata), sections, GENERATOR
    )


def render(source: str | Path) -> str:
    """The page of a result folder, a sweep's store or a plan's folder."""
    folder = Path(source)
    kind = kind_of(folder)
    require_matplotlib()
    if kind == "run":
        try:
            result = RunResult.load(folder)
        except ResultFolderError as exc:
            raise ReportError(exc.folder, exc.message) from None
        return render_run(result)
    charts = Charts()
    if kind == "sweep":
        from cloudsim.report.sweep import sweep_sections

        try:
            found, sections = sweep_sections(folder, charts)
        except ExperimentError as exc:
            raise ReportError(folder, "; ".join(str(p) for p in exc.problems)) from None
        lead = f"Sweep report: {found.runs.num_rows:,} runs in {folder}."
        return page(f"{found.design.name}", lead, sections, GENERATOR)
    plan = _read_plan(folder / "plan.json")
    title = f"plan: {plan.get('scenario', folder.name)}"
    return page(title, plan_lead(plan), plan_sections(plan, charts), GENERATOR)


def _read_plan(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(path, f"unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(path, "expected a JSON object")
    return data


def write_report(source: str | Path, out: str | Path) -> Path:
    """Render ``source`` and write the page to ``out`` atomically (a reader sees the old
    page or the new one, never a part). Returns ``out``."""
    text = render(source)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return target
