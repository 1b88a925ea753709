"""Sweep machinery cost and parallel efficiency, on the failover-policy study.

Run from the repository root::

    python benchmarks/sweep.py [--seeds 2] [--dask] [--json PATH]

Takes the first ``--seeds`` seeds of every cell of ``experiments/failover-policies.yaml``
(12 cells: four policies on three drills) and times, in this one process and order:

1. ``simulate`` called directly on each cell's validated scenario, one run after another
   (what a hand-written loop would do);
2. ``sweep`` with one worker (runs in this process) into a fresh store: each run built from
   the scenario as data, its metrics measured, a record written per run, the tables and
   statistics at the end;
3. ``sweep`` with two local worker processes into another fresh store (and, with
   ``--dask``, a two-worker Dask LocalCluster).

Prints runs per hour of each, the parallel efficiency (speed-up over one worker / workers)
and the machinery's overhead per run against the direct loop (target: under 5 %).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, write_json  # noqa: E402
from cloudsim import simulate  # noqa: E402
from cloudsim.experiments import Experiment, load_experiment, sweep  # noqa: E402

EXPERIMENT = ROOT / "experiments" / "failover-policies.yaml"
TARGET_OVERHEAD = 0.05


def direct(experiment: Experiment) -> float:
    """Wall seconds of ``simulate`` on every cell x seed, in the sweep's order."""
    started = time.perf_counter()
    for seed in experiment.seeds:
        for cell in experiment.cells:
            simulate(experiment.scenarios[cell.index], seed)
    return time.perf_counter() - started


def swept(experiment: Experiment, folder: Path, workers: int, dask: str | None = None) -> float:
    """Wall seconds of a whole sweep into a fresh store."""
    started = time.perf_counter()
    result = sweep(experiment, folder, workers=workers, dask=dask)
    elapsed = time.perf_counter() - started
    assert result.ran == len(experiment.cells) * len(experiment.seeds) and not result.failed
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=2, help="seeds per cell (default 2)")
    parser.add_argument("--dask", action="store_true", help="also a 2-worker LocalCluster")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    args = parser.parse_args(argv)

    experiment = load_experiment(EXPERIMENT).with_seeds(args.seeds)
    runs = len(experiment.cells) * len(experiment.seeds)
    with tempfile.TemporaryDirectory(prefix="cloudsim-bench-") as tmp:
        timings = {"direct": direct(experiment)}
        timings["sweep, 1 worker"] = swept(experiment, Path(tmp) / "one", workers=1)
        timings["sweep, 2 workers"] = swept(experiment, Path(tmp) / "two", workers=2)
        if args.dask:
            timings["sweep, Dask 2 workers"] = swept(
                experiment, Path(tmp) / "dask", workers=2, dask="local"
            )
    one, two = timings["sweep, 1 worker"], timings["sweep, 2 workers"]
    overhead = one / timings["direct"] - 1
    efficiency = one / two / 2

    print(f"{EXPERIMENT.name}: {len(experiment.cells)} cells x {args.seeds} seeds = {runs} runs")
    print(f"{'':>22} {'wall s':>8} {'runs/hour':>10} {'x direct':>9}")
    for label, wall in timings.items():
        ratio = wall / timings["direct"]
        print(f"{label:>22} {wall:>8.1f} {runs / wall * 3600:>10.0f} {ratio:>8.3f}x")
    print(f"parallel efficiency, 2 workers: {efficiency:.1%} (speed-up {one / two:.2f}x)")
    per_run = (one - timings["direct"]) / runs
    verdict = "PASS" if overhead < TARGET_OVERHEAD else "FAIL"
    print(
        f"  {verdict}  sweep machinery overhead {overhead:+.1%} ({per_run * 1000:+.0f} ms a run) "
        f"< {TARGET_OVERHEAD:.0%}"
    )

    if args.json is not None:
        write_json(
            args.json,
            {
                "experiment": str(EXPERIMENT.relative_to(ROOT)),
                "cells": len(experiment.cells),
                "seeds": args.seeds,
                "runs": runs,
                "wall_s": timings,
                "runs_per_hour": {k: runs / v * 3600 for k, v in timings.items()},
                "parallel_efficiency_2_workers": efficiency,
                "speedup_2_workers": one / two,
                "overhead_per_run_s": per_run,
                "checks": {
                    "overhead": {
                        "value": overhead,
                        "target": TARGET_OVERHEAD,
                        "pass": overhead < TARGET_OVERHEAD,
                    }
                },
                "machine": machine(),
            },
        )
    return 0 if overhead < TARGET_OVERHEAD else 1


if __name__ == "__main__":
    raise SystemExit(main())
