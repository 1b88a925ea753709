"""Experiments: a grid of scenario overrides × seeds, run in parallel (local processes or
a Dask cluster) into a resumable store, compared with confidence intervals and paired
differences against a baseline (common random numbers).

Library use::

    from cloudsim.experiments import load_experiment, sweep, compare
    result = sweep("experiments/failover-policies.yaml", "runs/policies", workers=2)
    result.runs      # pyarrow: one row per run (parameters, metrics, status, wall time)
    result.cells     # pyarrow: per cell and metric: mean, interval, paired difference
    compare("runs/policies", metrics=["dr.worst_rto_s"], baseline=["manual"]).cells
"""

from __future__ import annotations

from cloudsim.experiments.plan import Cell, Design, Experiment, load_experiment
from cloudsim.experiments.spec import ExperimentSpec, Metric
from cloudsim.experiments.sweep import (
    Comparison,
    StoreChanges,
    SweepProgress,
    SweepResult,
    compare,
    sweep,
)

__all__ = [
    "Cell",
    "Comparison",
    "Design",
    "Experiment",
    "ExperimentSpec",
    "Metric",
    "StoreChanges",
    "SweepProgress",
    "SweepResult",
    "compare",
    "load_experiment",
    "sweep",
]
