"""Untrusted values: every number has a finite range, every wrong value is a problem naming
the file, the field and what is expected (never a traceback, never silently accepted)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudsim import load_scenario
from cloudsim.faults.trace import read_failure_trace
from cloudsim.scenario.checks import estimate_events
from cloudsim.scenario.loader import OVERRIDE_SOURCE
from cloudsim.scenario.schema import DEFAULT_MAX_EVENTS
from tests.conftest import SHARED_DATA
from tests.scenario.test_loader import BASE, only

REPO = Path(__file__).resolve().parents[2]
HUNAN = REPO / "scenarios" / "hunan-3s4c.yaml"
HUNAN_DR = REPO / "scenarios" / "hunan-3s4c-dr.yaml"


# ----------------------------------------------------------------------------- huge numbers


@pytest.mark.parametrize(
    ("override", "path", "pieces"),
    [
        ("meta.horizon=1e308", "meta.horizon", ["at most 100000y"]),
        ("meta.sample_interval=1e20y", "meta.sample_interval", ["at most 100000y"]),
        (f"flavors[2c4g].memory={10**30}", "flavors[2c4g].memory", ["at most 1PiB"]),
        ("host_classes[x86-small].memory=2PiB", "host_classes[x86-small].memory", ["1PiB"]),
        ("host_classes[x86-small].disk=1e25TB", "host_classes[x86-small].disk", ["at most 1EB"]),
        ("links[0].bandwidth_gbps=1e300Gbps", "links[0].bandwidth_gbps", ["at most"]),
        (f"flavors[2c4g].network_mbps={10**23}", "flavors[2c4g].network_mbps", ["less than"]),
        (f"departments[dept-1].quota.vcpus={10**30}", "departments[dept-1].quota.vcpus", ["less"]),
        ("workload.arrivals_per_day=1e300", "workload.arrivals_per_day", ["less than"]),
        (f"workload.batch.max={10**30}", "workload.batch.max", ["less than"]),
        ("links[0].latency_ms=1e300", "links[0].latency_ms", ["less than"]),
        (f"meta.seed={2**70}", "meta.seed", ["less than"]),
    ],
)
def test_huge_numbers_are_refused_with_the_range(
    override: str, path: str, pieces: list[str]
) -> None:
    p = only(BASE, override)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, path)
    for piece in pieces:
        assert piece in p.message, p.message


@pytest.mark.parametrize(
    ("override", "path", "piece"),
    [
        (
            "containers.pdbs[zwfw-api].min_available=100000000000",
            "containers.pdbs[zwfw-api]",
            "at most 10000000 pods",
        ),
        (
            "containers.profiles=[{name: x, plugins: {NodeResourcesFit: 10000000}}]",
            "containers.profiles[x].plugins.NodeResourcesFit",
            "less than or equal to 1000000",
        ),
        (
            "containers.deployments[zwfw-api].requests.cpu=1.0e+300",
            "containers.deployments[zwfw-api].requests.cpu",
            "at most 1000000 cores",
        ),
        (
            "containers.deployments[zwfw-api].requests.memory=1e200Pi",
            "containers.deployments[zwfw-api].requests.memory",
            "at most 1Pi",
        ),
    ],
)
def test_huge_container_numbers_are_refused(override: str, path: str, piece: str) -> None:
    p = only(HUNAN, override)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, path)
    assert piece in p.message, p.message


def test_largest_values_in_range_are_refused_by_the_estimates_not_crashed() -> None:
    # In range, but a run of 100,000 years: refused with an estimate, not an OverflowError.
    p = only(BASE, "meta.horizon=100000y", "workload.growth_per_year=100")
    assert "of memory" in p.message
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "workload.growth_per_year")


# ----------------------------------------------------------------------------- wrong values


@pytest.mark.parametrize(
    ("override", "path", "piece"),
    [
        ("meta.seed=true", "meta.seed", "valid integer"),
        ("meta.seed=1.0", "meta.seed", "valid integer"),
        ("population={seed: true}", "population.seed", "valid integer"),
        ("links[0].latency_ms=.inf", "links[0].latency_ms", "finite number"),
        ("links[0].distance_km=.nan", "links[0].distance_km", "finite number"),
        ('meta.name="a\\0b"', "meta.name", "control characters"),
        ('zones[0].name="ext\\x07"', "zones[ext\\x07].name", "control characters"),
        ("placement.resource_weights.cpu=-1", "placement.resource_weights.cpu", ">= 0"),
        ("placement.weights={spread: .nan}", "placement.weights.spread", "finite number"),
        ("placement.weights={spread: .inf}", "placement.weights.spread", "finite number"),
    ],
)
def test_wrong_values_are_problems(override: str, path: str, piece: str) -> None:
    found = [p for p in _problems(override) if p.path == path]
    assert found, _problems(override)
    assert piece in found[0].message.replace("greater than or equal to", ">="), found[0]


def _problems(override: str) -> list[object]:
    from cloudsim.errors import ScenarioError

    with pytest.raises(ScenarioError) as info:
        load_scenario(BASE, [override])
    return list(info.value.problems)


def test_dr_without_systems_is_an_error_not_a_crash() -> None:
    p = only(BASE, "dr={systems: []}", "systems=[]", "workload.arrivals_per_day=0")
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "dr")
    assert "no business systems" in p.message


def test_dr_with_an_empty_systems_list_is_valid() -> None:
    load_scenario(BASE, ["dr={systems: []}"])


def test_witness_beside_both_active_active_centres_is_refused() -> None:
    p = only(HUNAN_DR, "dr.witness_site=changsha")
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "dr.witness_site")
    assert "on site 'changsha' with both centres" in p.message
    assert "third site" in p.message


def test_asynchronous_replication_to_its_own_centre_is_refused() -> None:
    p = only(HUNAN_DR, "dr.systems[changsha-pair].replication.asynchronous.to=cs-idc")
    assert (p.file, p.path) == (
        OVERRIDE_SOURCE,
        "dr.systems[changsha-pair].replication.asynchronous.to",
    )
    assert "another centre than the system's own" in p.message
    assert "'cs-idc' is a centre of system" in p.message


# ----------------------------------------------------------------------------- data file paths


def _trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace.parquet"
    table = pa.table(
        {
            "failure_interval": pa.array([3_600_000], pa.int64()),
            "failure_duration": pa.array([60_000], pa.int64()),
            "failure_intensity": pa.array([0.5], pa.float64()),
        }
    )
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    ("value", "piece"),
    [
        ("s3://bucket/trace.parquet", "not a URL"),
        ("https://example.com/t.parquet", "not a URL"),
        ("file:///etc/passwd", "not a URL"),
        ('"t\\0.parquet"', "control characters"),
    ],
)
def test_trace_path_must_be_a_local_file(value: str, piece: str) -> None:
    p = only(BASE, f"faults={{traces: [{{name: t, path: {value}}}]}}")
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "faults.traces[t].path")
    assert piece in p.message


def test_url_in_a_scenario_file_is_refused_after_anchoring(tmp_path: Path) -> None:
    text = BASE.read_text(encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(
        text + "\nfaults: {traces: [{name: t, path: 's3://bucket/t.parquet'}]}\n", "utf-8"
    )
    p = only(path)
    assert (p.file, p.path) == (str(path), "faults.traces[t].path")
    assert "not a URL" in p.message


def test_trace_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    _trace(tmp_path)  # a folder of Parquet files: pyarrow would read it as a dataset
    p = only(BASE, f"faults={{traces: [{{name: t, path: '{tmp_path}'}}]}}")
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "faults.traces[t].path")
    assert "is a folder, not a failure trace file" in p.message


def test_trace_path_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_failure_trace(fifo)  # would block for ever if it were opened
    p = only(BASE, f"faults={{traces: [{{name: t, path: '{fifo}'}}]}}")
    assert p.path == "faults.traces[t].path" and "not a regular file" in p.message


def test_a_local_trace_still_loads(tmp_path: Path) -> None:
    path = _trace(tmp_path)
    s = load_scenario(BASE, [f"faults={{traces: [{{name: t, path: '{path}'}}]}}"])
    assert s.faults is not None and s.faults.traces[0].path == str(path)


# ----------------------------------------------------------------------------- blame


def test_a_small_memory_limit_is_shown_in_mib_and_blamed() -> None:
    p = only(BASE, "meta.memory_limit=1MiB", "meta.horizon=1y")
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "meta.memory_limit")
    assert "would need about 4.3 MiB of memory" in p.message
    assert "timeseries alone 4.0 MiB), over the limit of 1.0 MiB" in p.message


@pytest.mark.parametrize(
    ("overrides", "path", "part"),
    [
        (["meta.horizon=10000y"], "meta.horizon", "timeseries"),
        (
            ["workload.batch.min=10000000", "workload.batch.max=10000000"],
            "workload.batch.max",
            "vms",
        ),
        (["workload.arrivals_per_day=100000"], "workload.arrivals_per_day", "vms"),
        (["meta.horizon=5000y", "meta.sample_interval=1000y"], "meta.horizon", "vms"),
        (["meta.horizon=10000y", "meta.sample_interval=1s"], "meta.sample_interval", "timeseries"),
    ],
)
def test_memory_is_blamed_on_the_field_that_drives_it(
    overrides: list[str], path: str, part: str
) -> None:
    p = only(BASE, "meta.memory_limit=1GiB", *overrides)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, path)
    assert f"{part} alone" in p.message


# ----------------------------------------------------------------------------- events


def test_a_one_second_host_mttf_over_a_year_is_refused_at_once() -> None:
    faults = (
        "faults={host: {time_to_failure: {distribution: exponential, mean: 1s}, "
        "repair: {distribution: fixed, value: 1s}}}"
    )
    started = time.perf_counter()
    p = only(BASE, faults, "meta.horizon=1y")
    assert time.perf_counter() - started < 2.0
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "faults.host.time_to_failure")
    assert "about 2.21e+08 events" in p.message
    assert "over the limit of 100,000,000 (meta.max_events)" in p.message
    assert "set meta.max_events higher" in p.message
    load_scenario(BASE, [faults, "meta.horizon=1y", "meta.max_events=1000000000"])


def test_a_trace_of_one_millisecond_repeated_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.parquet"
    table = pa.table(
        {
            "failure_interval": pa.array([0, 1], pa.int64()),
            "failure_duration": pa.array([1, 1], pa.int64()),
            "failure_intensity": pa.array([0.5, 0.5], pa.float64()),
        }
    )
    pq.write_table(table, path)
    trace = f"faults={{traces: [{{name: t, path: '{path}', repeat: true}}]}}"
    started = time.perf_counter()
    p = only(BASE, trace)
    assert time.perf_counter() - started < 2.0
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "faults.traces[t].repeat")
    assert "meta.max_events" in p.message
    load_scenario(BASE, [trace.replace("repeat: true", "repeat: false")])


def test_a_million_systems_are_refused_before_they_are_drawn() -> None:
    population = (
        "population={departments: 10, systems: 1000000, flavors: {2c4g: 1}, "
        "zones: {extranet: 1}, datacenters: [{datacenters: [dc-a]}]}"
    )
    started = time.perf_counter()
    p = only(BASE, population, "meta.memory_limit=1TiB")  # whatever the machine's RAM
    assert time.perf_counter() - started < 2.0
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "population.systems")
    assert "meta.max_events" in p.message


SHIPPED = sorted(
    [*(REPO / "scenarios").glob("*.yaml"), *(REPO / "scenarios" / "drills").glob("*.yaml")]
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_are_ten_times_under_the_event_limit(path: Path) -> None:
    if "shared/data" in path.read_text(encoding="utf-8") and not SHARED_DATA.is_dir():
        pytest.skip(f"{path.name} reads the shared traces; {SHARED_DATA} is absent here")
    s = load_scenario(path, check_feasibility=False)
    assert sum(estimate_events(s).values()) * 10 <= DEFAULT_MAX_EVENTS
