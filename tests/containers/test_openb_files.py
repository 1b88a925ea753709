"""Malformed openb node and pod lists: a problem naming the scenario field, the data file,
its line and column, found by validation (which reads every data file the run will read)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cloudsim import load_scenario
from cloudsim.containers.replay import replay_scenario
from cloudsim.errors import Problem, ScenarioError

NODES = "sn,cpu_milli,memory_mib,gpu,model\n"
PODS = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)
GOOD_NODES = NODES + "n0,32000,262144,2,V100\nn1,32000,262144,0,\n"
GOOD_PODS = PODS + "p0,1000,2048,1,500,,LS,Running,0,3600,0\np1,2000,4096,0,0,,BE,Running,60,,60\n"


def scenario(tmp_path: Path, nodes: str, pods: str, **options: object) -> Path:
    (tmp_path / "nodes.csv").write_text(nodes, encoding="utf-8")
    (tmp_path / "pods.csv").write_text(pods, encoding="utf-8")
    data = replay_scenario("nodes.csv", "pods.csv", horizon="1d", **options)  # type: ignore[arg-type]
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def only(path: Path, *overrides: str) -> Problem:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, list(overrides))
    (problem,) = info.value.problems
    return problem


def test_well_formed_lists_validate(tmp_path: Path) -> None:
    load_scenario(scenario(tmp_path, GOOD_NODES, GOOD_PODS))


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        ("sn,cpu_milli,memory_mib\nn0,1,1\n", "not an openb node list, missing columns"),
        (NODES + "n0,lots,262144,0,\n", "nodes.csv:2: column 'cpu_milli' must be an integer"),
        (NODES + "n0,32000,262144,0,\nn1,-5,1,0,\n", "nodes.csv:3: column 'cpu_milli' must not"),
        (NODES + "n0,32000,1e5,0,\n", "nodes.csv:2: column 'memory_mib' must be an integer"),
        (NODES + f"n0,{10**23},262144,0,\n", "nodes.csv:2: column 'cpu_milli' must be at most"),
        (NODES + "n0,32000,262144,99999,\n", "nodes.csv:2: column 'gpu' must be at most 1024"),
        (NODES + "n0,32000\n", "nodes.csv:2: expected 5 fields"),
        (NODES + ",32000,262144,0,\n", "nodes.csv:2: empty node name"),
    ],
)
def test_malformed_node_list(tmp_path: Path, nodes: str, expected: str) -> None:
    path = scenario(tmp_path, nodes, GOOD_PODS)
    p = only(path)
    assert (p.file, p.path) == (str(path), "containers.clusters[openb].trace_nodes")
    assert expected in p.message, p.message


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("p9,abc,1,0,0,,LS,Running,0,,0", "pods.csv:4: column 'cpu_milli' must be an integer"),
        ("p9,1,-1,0,0,,LS,Running,0,,0", "pods.csv:4: column 'memory_mib' must not be negative"),
        (f"p9,1,{10**23},0,0,,LS,Running,0,,0", "pods.csv:4: column 'memory_mib' must be at most"),
        ("p9,1,1,0,0,,LS,Running,-5,,0", "pods.csv:4: column 'creation_time' must be a time"),
        ("p9,1,1,0,0,,LS,Running,inf,,0", "pods.csv:4: column 'creation_time' must be a time"),
        ("p9,1,1,0,0,,LS,Running,nan,,0", "pods.csv:4: column 'creation_time' must be a time"),
        ("p9,1,1,0,0,,LS,Running,1e400,,0", "pods.csv:4: column 'creation_time'"),
        ("p9,1,1,0,0,,LS,Running,soon,,0", "pods.csv:4: column 'creation_time' must be a number"),
        ("p9,1,1,0,0,,LS,Running,0,-inf,0", "pods.csv:4: column 'deletion_time' must be a time"),
        ("p9,1,1,0,0,,LS,Running,0,,x", "pods.csv:4: column 'scheduled_time' must be a number"),
        ("p9,1,1,0,0,,LS", "pods.csv:4: expected 11 fields"),
    ],
)
def test_malformed_pod_list_is_found_by_validation(tmp_path: Path, row: str, expected: str) -> None:
    path = scenario(tmp_path, GOOD_NODES, GOOD_PODS + row + "\n")
    p = only(path)
    assert (p.file, p.path) == (str(path), "containers.replay.pods")
    assert expected in p.message, p.message


def test_pod_list_missing_columns(tmp_path: Path) -> None:
    path = scenario(tmp_path, GOOD_NODES, "name,cpu_milli\np0,1\n")
    p = only(path)
    assert p.path == "containers.replay.pods"
    assert "not an openb pod list, missing columns" in p.message


def test_lists_that_are_folders_or_urls_are_refused(tmp_path: Path) -> None:
    path = scenario(tmp_path, GOOD_NODES, GOOD_PODS)
    (tmp_path / "folder").mkdir()
    p = only(path, f"containers.replay.pods={tmp_path / 'folder'}")
    assert p.path == "containers.replay.pods" and "is a folder" in p.message
    p = only(path, "containers.replay.pods=s3://bucket/pods.csv")
    assert p.path == "containers.replay.pods" and "not a URL" in p.message
    p = only(path, "containers.clusters[openb].trace_nodes=https://example.com/nodes.csv")
    assert p.path == "containers.clusters[openb].trace_nodes" and "not a URL" in p.message


def test_not_text_is_a_problem(tmp_path: Path) -> None:
    path = scenario(tmp_path, GOOD_NODES, GOOD_PODS)
    (tmp_path / "nodes.csv").write_bytes(b"sn,cpu_milli,memory_mib,gpu,model\n\xff\xfe,1,1,0,\n")
    p = only(path)
    assert p.path == "containers.clusters[openb].trace_nodes" and "not UTF-8" in p.message


def test_a_pod_list_too_long_for_the_event_limit_is_refused(tmp_path: Path) -> None:
    rows = "".join(f"p{i},1000,2048,0,0,,LS,Running,{i},,{i}\n" for i in range(600))
    path = scenario(tmp_path, GOOD_NODES, PODS + rows)
    load_scenario(path)
    p = only(path, "meta.max_events=1000")
    assert (p.file, p.path) == (str(path), "containers.replay.pods")
    assert "about 1.32e+03 events (1.2e+03 of them from this field)" in p.message
    assert "over the limit of 1,000 (meta.max_events)" in p.message
    # a slice of the trace (replay.limit) is counted as such
    load_scenario(path, ["meta.max_events=1000", "containers.replay.limit=100"])
