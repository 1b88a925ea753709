"""Statistics over seeds: the intervals against scipy's, and against theory — the 95 %
interval of a metric with a known mean covers it in about 95 % of repeated small sweeps,
and pairing by seed narrows a policy comparison (common random numbers)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
import yaml
from scipy import stats

from cloudsim.experiments import sweep
from cloudsim.experiments.spec import Bootstrap
from cloudsim.experiments.stats import (
    Interval,
    bootstrap_interval,
    narrowing,
    t_interval,
    welch_interval,
)
from tests.dr.builders import dr_scenario
from tests.experiments.builders import expected_availability, unit, write
from tests.faults.builders import exponential

VALUES = np.array([0.91, 0.87, 0.95, 0.89, 0.93, 0.9])
SPREAD = np.random.default_rng(1).normal(10.0, 2.0, 15)


def test_t_interval_is_students() -> None:
    got = t_interval(VALUES, 0.9)
    low, high = stats.t.interval(0.9, len(VALUES) - 1, VALUES.mean(), stats.sem(VALUES))
    assert got.n == 6 and got.sd == pytest.approx(VALUES.std(ddof=1))
    assert (got.low, got.high) == (pytest.approx(low), pytest.approx(high))
    assert got.relative_half_width == pytest.approx((high - low) / 2 / VALUES.mean())
    assert t_interval(VALUES[:1], 0.9) == Interval(1, 0.91)  # no interval from one value
    assert t_interval(np.full(4, 2.5), 0.95) == Interval(4, 2.5, 0.0, 2.5, 2.5)


def test_welch_interval_uses_the_satterthwaite_degrees_of_freedom() -> None:
    x, y = VALUES, np.array([0.5, 0.9, 0.7, 0.6])
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(vx + vy)
    got = welch_interval(x, y, 0.95)
    assert got.mean == pytest.approx(x.mean() - y.mean())
    assert got.half_width == pytest.approx(half)


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    def draw(seed: int) -> Interval:
        return bootstrap_interval(SPREAD, 0.95, np.random.default_rng(seed), 2000)

    assert draw(3) == draw(3) != draw(4)
    got = draw(3)
    assert got.low is not None and got.high is not None
    assert got.low < SPREAD.mean() < got.high
    # about as wide as the t interval for normal data
    assert got.half_width == pytest.approx(t_interval(SPREAD, 0.95).half_width, rel=0.2)


def test_narrowing_factor() -> None:
    wide, tight = Interval(5, 0.0, None, -2.0, 2.0), Interval(5, 0.0, None, -0.5, 0.5)
    assert narrowing(tight, wide) == 4.0
    assert narrowing(Interval(5, 1.0, 0.0, 1.0, 1.0), wide) == math.inf
    assert narrowing(Interval(5, 1.0, 0.0, 1.0, 1.0), Interval(5, 1.0, 0.0, 1.0, 1.0)) is None


@pytest.mark.slow
def test_the_95_percent_interval_covers_the_known_availability_95_percent_of_the_time(
    tmp_path: Path,
) -> None:
    """One repairable unit (MTTF 4 d, MTTR 1 d, 60 days from up: E[A] = 0.8027); 100
    sweeps of 5 seeds each. Coverage is Binomial(100, 0.95) for an honest interval: 88 to
    99 covers pass it with probability 0.99, an 80 % interval with 0.02, an interval twice
    too wide (99.9 %) with 0.1 — the test can tell."""
    truth = expected_availability(60)
    metric = {"name": "avail", "table": "availability", "column": "availability", "agg": "mean"}
    sweeps, n = 100, 5
    covered = 0
    for i in range(sweeps):
        seeds = list(range(i * n, (i + 1) * n))
        folder = tmp_path / f"s{i}"
        path = write(
            folder, scenario_data=unit(60), grid={}, baseline={}, seeds=seeds, metrics=[metric]
        )
        (row,) = sweep(path, folder / "out", workers=1).cells.to_pylist()
        assert row["n"] == n
        covered += row["ci_low"] <= truth <= row["ci_high"]
    assert 88 <= covered <= 99, covered


@pytest.mark.slow
def test_pairing_narrows_a_policy_comparison(tmp_path: Path) -> None:
    """Two failover policies on the same centre failures (seed by seed): the paired
    interval of the availability difference is many times narrower than the unpaired one,
    and only it tells the policies apart."""
    faults = {"datacenter": {"time_to_failure": exponential("5d"), "repair": exponential("6h")}}
    scenario = dr_scenario(horizon="20d", faults=faults, policy="witness-quorum")
    (tmp_path / "dr.yaml").write_text(yaml.safe_dump(scenario.dump()))
    path = write(
        tmp_path,
        scenario="dr.yaml",
        grid={"dr.failover.name": ["witness-quorum", "timeout"]},
        baseline={"dr.failover.name": "witness-quorum"},
        seeds=6,
        metrics=["availability.mean"],
    )
    cells = sweep(path, tmp_path / "out", workers=1).cells
    (row,) = cells.filter(pc.equal(cells["dr.failover.name"], "timeout")).to_pylist()
    assert row["n_paired"] == 6
    assert row["narrowing"] > 100, row
    assert row["diff_low"] > 0  # paired: timeout is a little more available...
    assert row["diff"] - row["unpaired_half_width"] < 0  # ...which unpaired cannot tell


def test_quantile_metrics_get_bootstrap_intervals(tmp_path: Path) -> None:
    cells = sweep(write(tmp_path), tmp_path / "out", workers=1).cells.to_pylist()
    methods = {r["metric"]: r["method"] for r in cells}
    assert methods == {
        "availability.mean": "t",
        "avail": "t",
        "down_p90": "bootstrap",
        "incidents": "t",
    }
    assert Bootstrap().resamples == 2000
