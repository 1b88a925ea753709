"""The report of a sweep's store: per metric, each cell's mean with its interval and the
spread of its seeds, and the paired difference to the baseline with its interval (the
statistics of :func:`cloudsim.experiments.compare`, not recomputed here)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cloudsim.experiments import Comparison, compare
from cloudsim.experiments.stats import values_by_cell
from cloudsim.report.charts import Charts
from cloudsim.report.page import Section, esc, fmt, table


def sweep_sections(store: Path, charts: Charts) -> tuple[Comparison, list[Section]]:
    """The store's comparison and one section per metric (raises ExperimentError for a
    folder that is not a sweep's)."""
    found = compare(store)
    design = found.design
    cells = found.cells.to_pylist()
    runs = found.runs
    ok = sum(1 for s in runs.column("status").to_pylist() if s == "ok")
    axes = ", ".join(f"{a.name} ({', '.join(a.labels)})" for a in design.axes) or "none"
    baseline = {c["cell"]: c["baseline"] for c in cells if c["baseline"]}
    overview = Section("sweep", "Sweep")
    overview.add(
        f"<p>Experiment {esc(design.name)}: {len(design.cells)} cells over the axes {esc(axes)}; "
        f"{runs.num_rows:,} stored runs ({ok:,} finished, {runs.num_rows - ok:,} failed); "
        f"{found.confidence:.0%} intervals; baseline "
        f"{esc(', '.join(sorted(set(baseline.values()))) or 'none')}.</p>"
    )
    overview.note(
        "Intervals: Student t over the seeds (a seeded bootstrap for quantile metrics). "
        "Δ: the paired difference to the baseline cell over the seeds both have (common "
        "random numbers: the same faults and requests per seed); ×: how many times narrower "
        "than the unpaired (Welch) interval of the same difference."
    )
    failed = [r for r in runs.to_pylist() if r["status"] != "ok"]
    if failed:
        overview.h3(f"Failed runs ({len(failed):,})")
        overview.add(
            table(
                ["run", "cell", "seed", "error"],
                [
                    [r["run_id"], r["cell"], r["seed"], _error(r["error_type"], r["error"])]
                    for r in failed
                ],
                name="failed-runs",
            )
        )
        overview.note(
            "A failed run has no metrics; its cell's statistics are over the runs that "
            "finished (column n). The full traceback is in the store's records/RUN.json."
        )
    sections = [overview]
    labels = [c.label for c in design.cells]
    for index, metric in enumerate(found.metrics):
        mine = [c for c in cells if c["metric"] == metric.name]
        sec = Section(f"metric-{index + 1}", f"Metric {metric.name}")
        rows = []
        for c in mine:
            if c["baseline"] is None:
                delta = ""
            elif c["baseline"] == c["cell"]:
                delta = "baseline"
            else:
                delta = f"{signed(c['diff'])} {interval(c['diff_low'], c['diff_high'])}".strip()
            rows.append(
                [
                    c["cell"],
                    c["n"],
                    c["failed"],
                    c["mean"],
                    c["sd"],
                    interval(c["ci_low"], c["ci_high"]),
                    delta,
                    c["n_paired"],
                    c["unpaired_half_width"],
                    "" if c["narrowing"] is None else f"×{c['narrowing']:.1f}",
                ]
            )
        sec.add(
            table(
                ["cell", "n", "failed", "mean", "sd", "interval", "Δ vs baseline [interval]",
                 "paired n", "unpaired half-width", "×"],
                rows,
                name=f"cells-{metric.name}",
            )
        )  # fmt: skip
        values = values_by_cell(runs, metric.name)
        with charts.figure(
            f"sweep-{metric.name}",
            f"{metric.name}: left, each cell's mean with its {found.confidence:.0%} interval "
            "(bars) and every seed's value (dots); right, the paired difference to the "
            "baseline with its interval.",
            height=0.35 * len(labels) + 1.4,
        ) as chart:
            left, right = chart.fig.subplots(1, 2, sharey=True)
            y = np.arange(len(mine))
            for i, c in enumerate(mine):
                seeds = list(values.get(c["cell_index"], {}).values())
                if seeds:
                    jitter = (np.arange(len(seeds)) % 5 - 2) * 0.06
                    left.scatter(seeds, i + jitter, s=8, color="#8c959f", zorder=1)
                if c["mean"] is not None:
                    err = _err(c["mean"], c["ci_low"], c["ci_high"])
                    left.errorbar([c["mean"]], [i], xerr=err, fmt="o", color="#0969da", capsize=3)
                if c["diff"] is not None and c["baseline"] != c["cell"]:
                    err = _err(c["diff"], c["diff_low"], c["diff_high"])
                    right.errorbar([c["diff"]], [i], xerr=err, fmt="o", color="#bf8700", capsize=3)
            right.axvline(0, color="#57606a", linewidth=0.8)
            left.set_yticks(y, [c["cell"] for c in mine])
            left.set_ylim(len(mine) - 0.5, -0.5)
            left.set_title("per cell")
            right.set_title("paired Δ vs baseline")
        sec.add(chart.html)
        sections.append(sec)
    return found, sections


def signed(value: float | None) -> str:
    """A difference with its sign (+ for an increase; blank for None or NaN)."""
    text = fmt(value)
    return f"+{text}" if text and value is not None and value > 0 else text


def interval(low: float | None, high: float | None) -> str:
    """``[low, high]``, or blank when either end is unknown (fewer than two seeds)."""
    lo, hi = fmt(low), fmt(high)
    return f"[{lo}, {hi}]" if lo and hi else ""


def _error(kind: str | None, message: str | None, limit: int = 300) -> str:
    text = ": ".join(part for part in (kind, message) if part) or "no error recorded"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _err(centre: float, low: float | None, high: float | None) -> list[list[float]] | None:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return None
    return [[max(centre - low, 0.0)], [max(high - centre, 0.0)]]
