"""The Alibaba openb format: readers for any file of it, and a slice of the real trace
scheduled with GPU sharing, allocations checked device by device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cloudsim.containers import (
    Cluster,
    NodeTable,
    Scheduler,
    read_openb_nodes,
    read_openb_pods,
)
from cloudsim.containers.nodes import GPU_MODEL, MILLI_PER_GPU

OPENB = "alibaba-openb-2023"
NODE_HEADER = "sn,cpu_milli,memory_mib,gpu,model\n"
POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)


def check_devices(cluster: Cluster) -> None:
    """Every GPU device's used milli equals what the pods bound to it hold."""
    nodes, pods = cluster.nodes, cluster.pods
    used = np.zeros_like(nodes.gpu_free)
    for row in np.flatnonzero(pods.live()):
        template = cluster.templates[int(pods.template[row])]
        devices = [d for d in range(used.shape[0]) if int(pods.devices[row]) >> d & 1]
        node = int(pods.node[row])
        if template.gpu:
            assert len(devices) == template.gpu
            used[devices, node] += MILLI_PER_GPU
        elif template.gpu_milli:
            assert len(devices) == 1
            used[devices, node] += template.gpu_milli
        else:
            assert devices == []
    exists = nodes.gpu_free >= 0
    assert np.array_equal(np.where(exists, MILLI_PER_GPU - nodes.gpu_free, 0), used)
    assert (nodes.gpu_free[exists] >= 0).all()


def test_reads_any_file_of_the_format(tmp_path: Path) -> None:
    nodes_csv = tmp_path / "nodes.csv"
    nodes_csv.write_text(
        NODE_HEADER
        + "cpu-1,32000,131072,0,\ngpu-1,96000,393216,8,V100M32\ngpu-2,64000,262144,2,T4\n"
    )
    pods_csv = tmp_path / "pods.csv"
    pods_csv.write_text(
        POD_HEADER
        + "p0,4000,8192,1,500,T4,LS,Running,0,100,0\n"
        + "p1,4000,8192,2,1000,V100M32|V100M16,BE,Running,5,,5\n"
        + "p2,1000,1024,0,0,,BE,Pending,7,,\n"
    )
    table = NodeTable(read_openb_nodes(nodes_csv))
    assert table.names == ["cpu-1", "gpu-1", "gpu-2"]
    assert table.allocatable[:, 1].tolist() == [96000, 393216, 110, 8, 8000]
    assert [table.labels.get(GPU_MODEL, i) for i in range(3)] == [None, "V100M32", "T4"]
    pods = read_openb_pods(pods_csv)
    assert len(pods) == 3 and np.isnan(pods.deletion[1]) and np.isnan(pods.scheduled[2])
    share, whole, cpu_only = (pods.template(i) for i in range(3))
    assert (share.gpu, share.gpu_milli, whole.gpu, cpu_only.gpu) == (0, 500, 2, 0)
    cluster = Cluster(table)
    scheduler = Scheduler(cluster)
    rows = [scheduler.submit(t)[0] for t in (share, whole, cpu_only)]
    scheduler.schedule_pending()
    # gpu_spec lists acceptable models: a required node affinity on the model label
    assert [table.names[int(cluster.pods.node[r])] for r in rows[:2]] == ["gpu-2", "gpu-1"]
    cluster.check()
    check_devices(cluster)


def test_malformed_files_are_refused_with_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sn,cpu_milli,memory_mib\nx,1,1\n")
    with pytest.raises(ValueError, match="missing columns"):
        read_openb_nodes(bad)
    bad.write_text(NODE_HEADER + "a,1000,1024,0,\nb,lots,1024,0,\n")
    with pytest.raises(ValueError, match=r"bad\.csv:3: column 'cpu_milli' must be an integer"):
        read_openb_nodes(bad)
    bad.write_text(POD_HEADER + "p,1,1,0,0,,LS,Running,soon,,\n")
    with pytest.raises(ValueError, match="creation_time"):
        read_openb_pods(bad)


def test_openb_node_list_matches_the_published_totals(shared_data: Path) -> None:
    group = read_openb_nodes(shared_data / OPENB / "openb_node_list_all_node.csv")
    assert group.size == 1523
    assert int(group.capacity[0].sum()) // 1000 == 125_514  # cores
    assert 580 <= group.capacity[1].sum() / 2**20 <= 590  # ~584 TiB


def test_a_slice_of_the_trace_with_gpu_sharing(shared_data: Path) -> None:
    """As the openb paper's simulator does: pods in creation order, kept (the trace's own
    pods live minutes, so replaying deletions leaves ~40 pods up); then half of them end
    and the next ones come in, to exercise releases of whole GPUs and shares."""
    folder = shared_data / OPENB
    cluster = Cluster(NodeTable(read_openb_nodes(folder / "openb_node_list_all_node.csv")))
    scheduler = Scheduler(cluster, rng=np.random.default_rng(7))
    pods = read_openb_pods(folder / "openb_pod_list_default.csv")
    order = np.argsort(pods.creation, kind="stable")
    first, then = order[:3000], order[3000:4500]
    templates = [pods.template(int(i)) for i in first]
    assert sum(t.gpu_milli > 0 for t in templates) > 500  # GPU sharing really exercised
    assert sum(t.gpu > 0 for t in templates) > 500
    rows = [
        scheduler.submit(t, name=pods.names[int(i)])[0]
        for t, i in zip(templates, first, strict=True)
    ]
    scheduler.schedule_pending()
    cluster.check()
    check_devices(cluster)
    assert int(cluster.pods.live().sum()) > 2900
    for row in rows[::2]:
        cluster.delete(row)
    cluster.check()
    check_devices(cluster)
    for i in then:
        scheduler.submit(pods.template(int(i)), name=pods.names[int(i)])
    scheduler.schedule_pending()
    cluster.check()
    check_devices(cluster)
    gpu_nodes = cluster.nodes.allocatable[3] > 0
    for row in np.flatnonzero(cluster.pods.live()):
        template = cluster.templates[int(cluster.pods.template[row])]
        if template.gpu or template.gpu_milli:
            assert gpu_nodes[int(cluster.pods.node[row])]
    for pending in scheduler.unschedulable.values():
        assert pending.message.startswith("0/1523 nodes are available:")
    used = cluster.nodes.requested / np.maximum(cluster.nodes.allocatable, 1)
    assert used.max() <= 1.0
