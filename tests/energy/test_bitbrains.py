"""A Bitbrains replay: what cloudsim records per VM equals the trace's own utilisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from cloudsim import scenario_from_dict, simulate

BITBRAINS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bitbrains-small"
HORIZON = 6 * 86400.0  # shorter than every task of the trace: no VM loops

pytestmark = pytest.mark.skipif(
    not (BITBRAINS / "tasks.parquet").is_file(),
    reason=f"the Bitbrains trace is not at {BITBRAINS} (../shared/data is absent)",
)


def trace_stats(task_id: int) -> tuple[float, float]:
    """Time-weighted mean and 95th percentile of a task's CPU utilisation over the first
    HORIZON seconds, from the files themselves."""
    tasks = pq.read_table(BITBRAINS / "tasks.parquet")
    capacity = tasks.filter(pc.equal(tasks["id"], task_id))["cpu_capacity"][0].as_py()
    frags = pq.read_table(BITBRAINS / "fragments.parquet")
    mine = frags.filter(pc.equal(frags["id"], task_id))
    duration = mine["duration"].to_numpy() / 1000.0
    util = np.minimum(mine["cpu_usage"].to_numpy() / capacity, 1.0)
    end = np.cumsum(duration)
    start = end - duration
    weight = np.clip(np.minimum(end, HORIZON) - start, 0, None)
    mean = float((util * weight).sum() / weight.sum())
    order = np.argsort(util, kind="stable")
    cum = np.cumsum(weight[order]) / weight.sum()
    p95 = float(util[order][np.searchsorted(cum, 0.95 - 1e-12)])
    return mean, p95


def test_replay_matches_the_trace() -> None:
    data = {
        "meta": {"name": "bitbrains", "horizon": HORIZON, "sample_interval": "1d"},
        "sites": [{"name": "a"}],
        "datacenters": [{"name": "dc", "site": "a"}],
        "zones": [{"name": "z"}],
        "host_classes": [{"name": "h", "cores": 32, "memory": "512GiB"}],
        "pools": [
            {
                "name": "p",
                "datacenter": "dc",
                "zone": "z",
                "hosts": [{"host_class": "h", "count": 7}],
            }
        ],
        "flavors": [{"name": "f", "vcpus": 8, "memory": "16GiB"}],
        "departments": [{"name": "d"}],
        "systems": [
            {
                "name": "bb",
                "department": "d",
                "zone": "z",
                "datacenters": ["dc"],
                "anti_affinity": "none",
                "vms": [{"flavor": "f", "count": 50}],
            }
        ],
        "energy": {
            "tick": "5m",
            "vm_percentiles": True,
            "traces": [{"name": "bitbrains", "path": str(BITBRAINS), "systems": ["bb"]}],
        },
    }
    result = simulate(scenario_from_dict(data), seed=0)
    rows = result.tables["vm_utilisation"].to_pylist()
    assert len(rows) == 50
    tasks = sorted(pq.read_table(BITBRAINS / "tasks.parquet")["id"].to_pylist())
    assert [r["trace_task"] for r in rows] == tasks  # in order of creation and of id
    worst_p95 = 0.0
    for row in rows:
        mean, p95 = trace_stats(row["trace_task"])
        assert row["running_s"] == HORIZON
        assert row["cpu_utilisation_mean"] == pytest.approx(mean, rel=1e-9, abs=1e-12)
        worst_p95 = max(worst_p95, abs(row["cpu_utilisation_p95"] - p95))
    # The percentile from 5-minute ticks and 1/1000 bins: a few fragments last 599 or
    # 899 s, so a tick may mix two samples for one second.
    assert worst_p95 <= 2e-3, worst_p95
