"""Trace replay of the Alibaba openb format: any file of the format, a slice of the real
trace, and the fragmentation measure of "Beware of Fragmentation" on hand-built nodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cloudsim import Simulation
from cloudsim.containers.fragmentation import Workload, measure
from cloudsim.containers.nodes import NodeGroup, NodeTable, capacity_columns
from cloudsim.containers.pods import PodTemplate
from cloudsim.containers.replay import replay_scenario
from tests.conftest import build, containers_of

OPENB = "alibaba-openb-2023"
NODES = "sn,cpu_milli,memory_mib,gpu,model\n"
PODS = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)


def run(nodes: Path, pods: Path, **options: object) -> Simulation:
    sim = Simulation(build(replay_scenario(nodes, pods, **options)))  # type: ignore[arg-type]
    sim.run()
    return sim


def test_any_file_of_the_format_replays_with_waits_and_deletions(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(NODES + "n1,8000,16384,1,T4\nn2,8000,16384,0,\n")
    pods = tmp_path / "pods.csv"
    pods.write_text(
        PODS
        + "a,6000,1024,1,600,T4,LS,Running,0,100,0\n"  # on n1, GPU share
        + "b,6000,1024,0,0,,BE,Running,10,200,10\n"  # on n2
        + "c,6000,1024,1,500,T4,LS,Running,20,300,\n"  # waits for a's GPU and CPU: t=100
        + "d,1000,1024,0,0,,BE,Running,30,,\n"  # never deleted
        + "e,1000,1024,1,1000,V100,LS,Pending,40,,\n"  # no V100 node: pending forever
    )
    sim = run(nodes, pods, keep_running=False, horizon="1h", sample_interval="1m")
    table = containers_of(sim).tables()["pods"] if containers_of(sim) else None
    assert table is not None
    rows = {r["name"]: r for r in table.to_pylist()}
    assert rows["a"]["node"] == "n1" and rows["b"]["node"] == "n2"
    assert rows["c"]["started"] == 100.0 and rows["c"]["wait_s"] == 80.0
    assert rows["c"]["status"] == "deleted" and rows["c"]["ended"] == 300.0
    assert rows["d"]["status"] == "running"
    assert rows["e"]["status"] == "pending" and rows["e"]["started"] is None
    kept = run(nodes, pods, keep_running=True, horizon="1h", sample_interval="1m")
    assert containers_of(kept) is not None
    statuses = containers_of(kept).tables()["pods"].column("status").to_pylist()
    assert statuses.count("running") == 3 and statuses.count("pending") == 2


def test_fragmentation_as_the_paper_defines_it() -> None:
    """One node, 2 GPUs: one with 500 milli free, one entirely free; 16 CPUs free."""
    nodes = NodeTable(NodeGroup(["n"], capacity_columns(1, 16_000, 65_536, gpus=2)))
    half = PodTemplate(gpu_milli=500)
    nodes.allocate(0, half.usage(), half.nonzero(), 0, 500)  # best fit: GPU 0
    half_cpu = int(half.usage()[0])
    assert nodes.gpu_free[:, 0].tolist() == [500, 1000] and half_cpu == 0
    usable = np.ones(1, dtype=np.bool_)
    share = PodTemplate(cpu=1000, memory=1024, gpu_milli=600)
    cpu_only = PodTemplate(cpu=1000, memory=1024)
    whole = PodTemplate(cpu=32_000, memory=1024, gpu=1)  # too much CPU: cannot run here
    f = measure(nodes, usable, Workload.of([share], [1.0]))
    assert f.gpu_free == 1500 and f.gpu_fragmented == 500  # only the 500 left on GPU 0
    f = measure(nodes, usable, Workload.of([cpu_only], [1.0]))
    assert f.gpu_fragmented == 1500  # a pod that asks no GPU can use none of it
    f = measure(nodes, usable, Workload.of([share, cpu_only, whole], [2.0, 1.0, 1.0]))
    assert f.gpu_fragmented == pytest.approx(0.5 * 500 + 0.25 * 1500 + 0.25 * 1500)
    assert f.gpu_ratio == pytest.approx(1000 / 1500)
    assert f.cpu_free == 16_000 and f.cpu_stranded == pytest.approx(0.25 * 16_000)
    assert nodes.headroom[0, 0] == 16_000


@pytest.mark.slow
def test_a_slice_of_the_alibaba_trace_as_the_fragmentation_paper_replays_it(
    shared_data: Path,
) -> None:
    folder = shared_data / OPENB
    sim = run(
        folder / "openb_node_list_all_node.csv",
        folder / "openb_pod_list_default.csv",
        limit=3000,
        keep_running=True,
        sample_interval="6h",
    )
    assert containers_of(sim) is not None
    cs = containers_of(sim).clusters[0]
    cs.cluster.check()
    result = containers_of(sim)
    tables = result.tables()
    pods = tables["pods"]
    assert pods.num_rows == 3000
    statuses = pods.column("status").to_pylist()
    assert statuses.count("running") + statuses.count("pending") == 3000
    assert statuses.count("running") > 2900
    series = tables["cluster_timeseries"].to_pydict()
    gpu = np.array(series["gpu_allocated_ratio"])
    assert (np.diff(gpu) >= -1e-12).all() and 0.2 < gpu[-1] <= 1.0  # pods are kept
    frag = np.array(series["gpu_fragmentation_ratio"])
    assert ((frag >= 0) & (frag <= 1)).all() and frag[-1] > 0
    assert (np.array(series["pods_created"]) <= 3000).all()
    summary = result.summary(tables)["clusters"]["openb"]
    assert summary["pods_created"] == 3000
    # the same slice with deletions keeps only a few pods running at the end
    deleting = run(
        folder / "openb_node_list_all_node.csv",
        folder / "openb_pod_list_default.csv",
        limit=3000,
        keep_running=False,
        sample_interval="6h",
    )
    assert containers_of(deleting) is not None
    running = containers_of(deleting).tables()["pods"].column("status").to_pylist().count("running")
    assert running < 300
    table = containers_of(deleting).clusters[0].cluster.pods
    assert table.size < 1000  # rows of ended pods are reused: the table follows the live pods


def test_per_request_caches_stay_bounded() -> None:
    from cloudsim.containers import Cluster, Scheduler
    from cloudsim.containers.scheduler import MAX_PLANS

    nodes = NodeTable(NodeGroup(["n"], capacity_columns(1, 10**9, 10**9, pods=10**6)))
    scheduler = Scheduler(Cluster(nodes))
    for cpu in range(1, 2 * MAX_PLANS + 50):
        scheduler.submit(PodTemplate(cpu=cpu, memory=cpu))
        scheduler.schedule_pending()
    assert len(scheduler._plans) <= MAX_PLANS
    fit = scheduler.plugins["NodeResourcesFit"]
    assert len(fit._fit) <= fit._fit.limit  # type: ignore[attr-defined]


def test_the_replay_command_writes_the_tables_and_says_what_happened(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cloudsim.cli import app

    nodes = tmp_path / "nodes.csv"
    nodes.write_text(NODES + "n1,8000,16384,2,T4\n")
    pods = tmp_path / "pods.csv"
    pods.write_text(
        PODS + "a,2000,1024,1,500,T4,LS,Running,0,,0\nb,9000,1024,0,0,,BE,Running,5,,\n"
    )
    out = tmp_path / "out"
    args = ["replay", "--nodes", nodes, "--pods", pods, "--profile", "binpack", "--out", out]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--horizon", "1h", "-q"]])
    assert result.exit_code == 0, result.output
    assert "cluster openb: 1 nodes" in result.stdout and "1 pending at the end" in result.stdout
    for name in ("pods", "cluster_timeseries", "services", "nodes"):
        assert (out / f"{name}.parquet").is_file()
    bad = CliRunner().invoke(
        app, ["replay", "--nodes", str(tmp_path / "x.csv"), "--pods", str(pods), "--out", str(out)]
    )
    assert bad.exit_code == 2 and "--nodes: no such file" in bad.stderr


@pytest.mark.slow
def test_the_replay_scenario_points_at_the_shared_trace(shared_data: Path) -> None:
    from cloudsim import load_scenario
    from tests.conftest import REPO

    scenario = load_scenario(
        REPO / "scenarios" / "alibaba-openb-replay.yaml",
        {"containers.clusters[openb].scheduler": "gpu-packing", "containers.replay.limit": 500},
    )
    containers = scenario.containers
    assert containers is not None and containers.replay is not None
    assert (
        Path(containers.replay.pods).resolve()
        == (shared_data / OPENB / "openb_pod_list_default.csv").resolve()
    )
    sim = Simulation(scenario)
    summary = sim.run().summary["containers"]
    assert summary["replay"]["profile"] == "gpu-packing" and summary["replay"]["pods"] == 500
