"""Statistics over seeds.

Per cell and metric: the mean, the standard deviation and a Student-t confidence interval
of the mean (a seeded percentile bootstrap for quantile metrics, whose run values are
skewed). Against the cell's baseline: the **paired** difference over the seeds both have —
the named random streams give a policy and its baseline the same faults and requests
(common random numbers), so the per-seed differences vary far less than the runs — with
its interval, next to the unpaired (Welch) interval of the same difference, whose ratio
says how much pairing narrowed it.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy.special import stdtrit

from cloudsim.experiments.plan import Design, parameter_arrays
from cloudsim.experiments.spec import Bootstrap, Metric


@dataclass(frozen=True)
class Interval:
    """An estimate from ``n`` values and its confidence interval (none below 2 values)."""

    n: int
    mean: float | None
    sd: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def half_width(self) -> float | None:
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2

    @property
    def relative_half_width(self) -> float | None:
        """Half-width over |mean| (0 when both are 0; infinite when only the mean is)."""
        half = self.half_width
        if half is None or self.mean is None:
            return None
        if self.mean == 0:
            return 0.0 if half == 0 else math.inf
        return half / abs(self.mean)


def _variance(values: np.ndarray) -> float:
    """The sample variance, exactly 0 for equal values (not a rounding residue)."""
    return 0.0 if values.min() == values.max() else float(values.var(ddof=1))


def t_interval(values: np.ndarray, confidence: float) -> Interval:
    """Mean ± t(n-1) · sd / √n."""
    n = int(values.size)
    if n == 0:
        return Interval(0, None)
    mean = float(values.mean())
    if n == 1:
        return Interval(1, mean)
    sd = math.sqrt(_variance(values))
    half = float(stdtrit(n - 1, (1 + confidence) / 2)) * sd / math.sqrt(n)
    return Interval(n, mean, sd, mean - half, mean + half)


def welch_interval(x: np.ndarray, y: np.ndarray, confidence: float) -> Interval:
    """mean(x) - mean(y) with the unpaired Welch interval (Welch-Satterthwaite df)."""
    if x.size < 2 or y.size < 2:
        return Interval(min(x.size, y.size), None)
    vx, vy = _variance(x) / x.size, _variance(y) / y.size
    diff = float(x.mean() - y.mean())
    se = math.sqrt(vx + vy)
    if se == 0:
        return Interval(int(min(x.size, y.size)), diff, 0.0, diff, diff)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = float(stdtrit(df, (1 + confidence) / 2)) * se
    return Interval(int(min(x.size, y.size)), diff, None, diff - half, diff + half)


def bootstrap_interval(
    x: np.ndarray,
    confidence: float,
    rng: np.random.Generator,
    resamples: int,
    y: np.ndarray | None = None,
) -> Interval:
    """Percentile bootstrap of mean(x), or of mean(x) - mean(y) resampling both apart."""
    if x.size < 2 or (y is not None and y.size < 2):
        return Interval(int(x.size), float(x.mean()) if x.size and y is None else None)
    estimate = float(x.mean()) - (float(y.mean()) if y is not None else 0.0)
    sd = math.sqrt(_variance(x)) if y is None else None
    if _variance(x) == 0 and (y is None or _variance(y) == 0):
        return Interval(int(x.size), estimate, sd, estimate, estimate)
    means = x[rng.integers(0, x.size, (resamples, x.size))].mean(axis=1)
    if y is not None:
        means = means - y[rng.integers(0, y.size, (resamples, y.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(int(x.size), estimate, sd, float(low), float(high))


@dataclass(frozen=True)
class Estimator:
    """The interval of one metric: Student t, or the seeded bootstrap for quantiles."""

    confidence: float
    bootstrap: Bootstrap | None  # None: Student t

    @classmethod
    def of(cls, metric: Metric, confidence: float, bootstrap: Bootstrap) -> Estimator:
        return cls(confidence, bootstrap if metric.is_quantile else None)

    @property
    def method(self) -> str:
        return "t" if self.bootstrap is None else "bootstrap"

    def rng(self, *names: str) -> np.random.Generator:
        assert self.bootstrap is not None
        return np.random.default_rng(
            [self.bootstrap.seed, *(zlib.crc32(n.encode()) for n in names)]
        )

    def mean(self, values: np.ndarray, *names: str) -> Interval:
        """The interval of the mean (``names`` seed the bootstrap: cell, metric)."""
        if self.bootstrap is None:
            return t_interval(values, self.confidence)
        return bootstrap_interval(
            values, self.confidence, self.rng("mean", *names), self.bootstrap.resamples
        )

    def paired(self, x: np.ndarray, y: np.ndarray, *names: str) -> Interval:
        """The difference of seed-matched values ``x - y``."""
        return self.mean(x - y, "paired", *names)

    def unpaired(self, x: np.ndarray, y: np.ndarray, *names: str) -> Interval:
        """The difference ``mean(x) - mean(y)`` as if the runs were independent (Welch)."""
        if self.bootstrap is None:
            return welch_interval(x, y, self.confidence)
        return bootstrap_interval(
            x, self.confidence, self.rng("unpaired", *names), self.bootstrap.resamples, y
        )


def narrowing(paired: Interval, unpaired: Interval) -> float | None:
    """How many times narrower the paired interval is than the unpaired one."""
    p, u = paired.half_width, unpaired.half_width
    if p is None or u is None or (p == 0 and u == 0):
        return None
    return math.inf if p == 0 else u / p


def values_by_cell(runs: pa.Table, metric: str) -> dict[int, dict[int, float]]:
    """The metric's values of the finished runs: cell index -> seed -> value."""
    found: dict[int, dict[int, float]] = {}
    columns = zip(
        runs.column("cell_index").to_pylist(),
        runs.column("seed").to_pylist(),
        runs.column("status").to_pylist(),
        runs.column(metric).to_pylist(),
        strict=True,
    )
    for cell, seed, status, value in columns:
        if status == "ok" and value is not None and not math.isnan(value):
            found.setdefault(cell, {})[seed] = value
    return found


_COLUMNS = (
    ("metric", pa.string()),
    ("method", pa.string()),
    ("n", pa.int64()),
    ("failed", pa.int64()),
    ("mean", pa.float64()),
    ("sd", pa.float64()),
    ("ci_low", pa.float64()),
    ("ci_high", pa.float64()),
    ("half_width", pa.float64()),
    ("rel_half_width", pa.float64()),
    ("baseline", pa.string()),
    ("n_paired", pa.int64()),
    ("diff", pa.float64()),
    ("diff_low", pa.float64()),
    ("diff_high", pa.float64()),
    ("diff_half_width", pa.float64()),
    ("unpaired_half_width", pa.float64()),
    ("narrowing", pa.float64()),
)


def cell_statistics(
    design: Design,
    runs: pa.Table,
    metrics: Sequence[Metric] | None = None,
    confidence: float | None = None,
) -> pa.Table:
    """One row per cell and metric (cell order, then metric order): the interval of the
    mean, and against the cell's baseline the paired difference, the unpaired interval of
    the same difference, and the narrowing factor."""
    metrics = list(design.metrics if metrics is None else metrics)
    level = design.spec.confidence if confidence is None else confidence
    labels = {cell.index: cell.label for cell in design.cells}
    statuses = runs.column("status").to_pylist()
    failed: dict[int, int] = {}
    for cell, status in zip(runs.column("cell_index").to_pylist(), statuses, strict=True):
        failed[cell] = failed.get(cell, 0) + (status != "ok")
    rows: list[tuple[object, ...]] = []
    cells = []
    for metric in metrics:
        estimator = Estimator.of(metric, level, design.spec.bootstrap)
        values = values_by_cell(runs, metric.name)
        for cell in design.cells:
            cells.append(cell)
            mine = values.get(cell.index, {})
            own = estimator.mean(np.array(list(mine.values())), cell.label, metric.name)
            base = design.baseline_of.get(cell.index)
            compared: tuple[object, ...] = (None,) * 7
            if base is not None and base != cell.index:
                compared = _against(estimator, mine, values.get(base, {}), cell.label, metric.name)
            rows.append(
                (
                    metric.name,
                    estimator.method,
                    own.n,
                    failed.get(cell.index, 0),
                    own.mean,
                    own.sd,
                    own.low,
                    own.high,
                    own.half_width,
                    own.relative_half_width,
                    labels[base] if base is not None else None,
                    *compared,
                )
            )
    columns: dict[str, pa.Array] = {
        "cell_index": pa.array([c.index for c in cells], pa.int64()),
        "cell": pa.array([c.label for c in cells], pa.string()),
        **parameter_arrays(design.axes, cells),
    }
    for i, (name, kind) in enumerate(_COLUMNS):
        columns[name] = pa.array([row[i] for row in rows], kind)
    return pa.table(columns)


def _against(
    estimator: Estimator,
    mine: Mapping[int, float],
    base: Mapping[int, float],
    label: str,
    metric: str,
) -> tuple[object, ...]:
    """n, difference, its paired interval, the unpaired half-width and the narrowing."""
    common = sorted(set(mine) & set(base))
    x = np.array([mine[s] for s in common])
    y = np.array([base[s] for s in common])
    paired = estimator.paired(x, y, label, metric)
    unpaired = estimator.unpaired(x, y, label, metric)
    return (
        len(common),
        paired.mean,
        paired.low,
        paired.high,
        paired.half_width,
        unpaired.half_width,
        narrowing(paired, unpaired),
    )
