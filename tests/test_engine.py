"""The engine end to end: theory (Erlang B), determinism, named streams, sampling."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from cloudsim import Scenario, Simulation, simulate
from cloudsim.iaas.requests import request_stream
from cloudsim.kernel import random_stream
from cloudsim.results import TABLES
from tests.conftest import build, tiny


def erlang_b(load: float, servers: int) -> float:
    """Blocking probability by the recursion B(a,0)=1, B(a,m)=aB/(m+aB)."""
    b = 1.0
    for m in range(1, servers + 1):
        b = load * b / (m + load * b)
    return b


def slot_pool(slots: int, per_day: float, mean_life_days: float, days: int) -> Scenario:
    """``slots`` hosts that each hold exactly one VM; requests only, no initial VMs."""
    return build(
        tiny(
            meta={"name": "erlang", "horizon": f"{days}d", "sample_interval": "30d"},
            host_classes=[{"name": "slot", "cores": 4, "memory": "16GiB", "disk": "100GB"}],
            pools=[
                {
                    "name": "slots",
                    "datacenter": "dc1",
                    "zone": "extranet",
                    "hosts": [{"host_class": "slot", "count": slots}],
                }
            ],
            flavors=[{"name": "whole", "vcpus": 8, "memory": "16GiB", "disk": "100GB"}],
            systems=[
                {
                    "name": "svc",
                    "department": "health",
                    "zone": "extranet",
                    "datacenters": ["dc1"],
                    "anti_affinity": "none",
                    "vms": [{"flavor": "whole", "count": 0}],
                }
            ],
            workload={
                "arrivals_per_day": per_day,
                "lifetime": {"distribution": "exponential", "mean": f"{mean_life_days}d"},
                "weight_by": "uniform",
            },
        )
    )


@pytest.mark.slow
def test_blocking_matches_erlang_b() -> None:
    slots, per_day, life = 10, 70.0, 0.1  # offered load a = 7 Erlang
    expected = erlang_b(per_day * life, slots)
    scenario = slot_pool(slots, per_day, life, days=200)
    ratios = []
    for seed in range(8):
        s = simulate(scenario, seed=seed).summary
        assert s["vms_requested"] > 12_000
        assert set(s["rejections_by_reason"]) <= {"no_capacity_cpu"}
        ratios.append(s["vms_rejected"] / s["vms_requested"])
    mean = float(np.mean(ratios))
    half_width = 3.0 * float(np.std(ratios, ddof=1)) / math.sqrt(len(ratios))
    assert abs(mean - expected) < half_width + 0.002, (mean, expected, half_width)
    # and the test can tell a wrong model: a=7 on 9 or 11 slots is far outside the band
    assert abs(mean - erlang_b(7.0, 9)) > half_width + 0.002
    assert abs(mean - erlang_b(7.0, 11)) > half_width + 0.002


def with_workload() -> Scenario:
    return build(
        tiny(
            workload={
                "arrivals_per_day": 20,
                "growth_per_year": 0.3,
                "lifetime": {"distribution": "lognormal", "median": "5d", "sigma": 1.0},
                "batch": {"min": 1, "max": 3},
            }
        )
    )


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    scenario = with_workload()
    a = simulate(scenario, seed=3).write(tmp_path / "a")
    b = simulate(scenario, seed=3).write(tmp_path / "b")
    c = simulate(scenario, seed=4).write(tmp_path / "c")
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    assert (a / "metadata.json").read_bytes() == (b / "metadata.json").read_bytes()
    for name in TABLES:
        assert pq.read_table(a / f"{name}.parquet").equals(pq.read_table(b / f"{name}.parquet"))
    assert (a / "summary.json").read_bytes() != (c / "summary.json").read_bytes()
    assert not pq.read_table(a / "events.parquet").equals(pq.read_table(c / "events.parquet"))


def test_metadata_echo_reproduces_the_run(tmp_path: Path) -> None:
    scenario = with_workload()
    out = simulate(scenario, seed=5).write(tmp_path / "run")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 5
    assert set(meta["versions"]) >= {"cloudsim", "numpy", "simpy", "pydantic"}
    echoed = Scenario.model_validate(meta["scenario"])
    assert echoed == scenario
    again = simulate(echoed, seed=5)
    assert again.summary == json.loads((out / "summary.json").read_text())


def test_placement_policy_does_not_change_the_requests() -> None:
    spread = with_workload()
    binpack = spread.model_copy(
        update={"placement": spread.placement.model_copy(update={"preset": "binpack"})}
    )
    a = Simulation(spread, seed=9).modules["iaas"].requests
    b = Simulation(binpack, seed=9).modules["iaas"].requests
    assert np.array_equal(a.time, b.time)
    assert np.array_equal(a.system, b.system)
    assert np.array_equal(a.lifetime, b.lifetime)
    # the streams are keyed by name, not by the order they are created in
    x = random_stream(9, "workload").random(4)
    y = random_stream(9, "placement").random(4)
    assert not np.array_equal(x, y)
    keyed = np.random.SeedSequence(9, spawn_key=(zlib.crc32(b"workload"),))
    assert np.array_equal(x, np.random.default_rng(keyed).random(4))


def test_samples_at_every_interval_and_at_the_horizon() -> None:
    scenario = build(tiny(meta={"name": "s", "horizon": "10d", "sample_interval": "1d"}))
    result = simulate(scenario, seed=1)
    ts = result.tables["timeseries"].to_pydict()
    scopes = zip(ts["time"], ts["scope"], strict=True)
    dc_times = [t for t, scope in scopes if scope == "datacenter"]
    assert dc_times == [d * 86400.0 for d in range(11)]
    # 4 VMs of 4 vCPU on 8 hosts of 16 cores x 2 threads x 2 overcommit = 512 vCPU
    assert ts["cpu_allocated_ratio"][0] == pytest.approx(16 / 512)
    assert result.summary["datacenters"]["dc1"]["cpu_allocated_ratio"] == pytest.approx(16 / 512)


def test_arrivals_follow_the_growing_rate() -> None:
    scenario = build(
        tiny(
            meta={"name": "g", "horizon": "2y"},
            workload={"arrivals_per_day": 50, "growth_per_year": 1.0},
        )
    )
    times = request_stream(scenario, random_stream(0, "workload")).time
    year = 365 * 86400.0
    first, second = (times < year).sum(), ((times >= year) & (times < 2 * year)).sum()
    # Λ(year 1) = 50·365/ln 2, Λ(year 2) = twice that
    expected = 50 * 365 / math.log(2)
    assert abs(first - expected) < 4 * math.sqrt(expected)
    assert abs(second - 2 * expected) < 4 * math.sqrt(2 * expected)
    assert np.all(np.diff(times) >= 0)


def test_a_platform_without_business_systems_runs(tmp_path: Path) -> None:
    result = simulate(build(tiny(systems=[])), seed=1)
    assert result.summary["vms_initial"] == 0
    assert result.tables["availability"].num_rows == 0
    out = result.write(tmp_path / "empty")
    meta = json.loads((out / "metadata.json").read_text())
    assert sorted(meta["tables"]) == sorted(result.tables)
    assert all((out / f"{name}.parquet").exists() for name in meta["tables"])
