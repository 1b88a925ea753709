"""The compiled passes of a cluster's sample give, bit for bit, what the numpy reference
gives: the fragmentation on random node tables and workloads, and whole runs' cluster
time series (a Hunan cluster with its HPAs and autoscaler, and an openb GPU replay)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim import Simulation, compiled, load_scenario
from cloudsim.containers import sample_kernels, sampling
from cloudsim.containers.controllers.autoscaler import ClusterAutoscaler
from cloudsim.containers.fragmentation import Workload, measure, measure_compiled
from cloudsim.containers.labels import Requirement
from cloudsim.containers.nodes import (
    GPU_MODEL,
    NodeGroup,
    NodeTable,
    capacity_columns,
)
from cloudsim.containers.pods import NodeSelectorTerm, PodTemplate
from cloudsim.containers.replay import replay_scenario
from cloudsim.containers.sampling import ClusterSeries
from tests.conftest import REPO, build, containers_of

needs_numba = pytest.mark.skipif(not compiled.available(), reason="numba not installed")
MODELS = ("T4", "V100", "A10")


def _nodes(draw: st.DrawFn) -> NodeTable:
    n = draw(st.integers(min_value=1, max_value=7))
    gpus = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    models = [draw(st.sampled_from(MODELS)) if g else None for g in gpus]
    cap = capacity_columns(n, 8000, 32_768, np.array(gpus, dtype=np.int64), pods=4)
    nodes = NodeTable(NodeGroup([f"n{i}" for i in range(n)], cap, labels={GPU_MODEL: list(models)}))
    for _ in range(draw(st.integers(0, 12))):  # pods bound where they fit
        node = draw(st.integers(0, n - 1))
        pod = _template(draw)
        usage = pod.usage()
        head = nodes.headroom[:, node]
        if (head >= usage).all() and head[2] >= 1:
            try:
                nodes.allocate(node, usage, pod.nonzero(), pod.gpu, pod.gpu_milli)
            except (ValueError, AssertionError):
                continue
    return nodes


def _template(draw: st.DrawFn) -> PodTemplate:
    cpu = draw(st.sampled_from([0, 500, 1000, 4000, 9000]))
    memory = draw(st.sampled_from([0, 1024, 16_384, 40_000]))
    kind = draw(st.sampled_from(["none", "whole", "share"]))
    gpu = draw(st.integers(1, 3)) if kind == "whole" else 0
    milli = draw(st.sampled_from([100, 250, 500, 700, 999])) if kind == "share" else 0
    affinity = None
    if kind != "none" and draw(st.booleans()):
        wanted = draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=2, unique=True))
        term = NodeSelectorTerm(match_expressions=(Requirement(GPU_MODEL, "In", tuple(wanted)),))
        affinity = (term,)
    return PodTemplate(
        cpu=cpu, memory=memory, gpu=gpu, gpu_milli=milli, required_node_affinity=affinity
    )


@st.composite
def _cases(draw: st.DrawFn) -> tuple[NodeTable, Any, Workload]:
    nodes = _nodes(draw)
    usable = np.array(draw(st.lists(st.booleans(), min_size=nodes.size, max_size=nodes.size)))
    count = draw(st.integers(0, 5))
    pods = [_template(draw) for _ in range(count)]
    weights = draw(st.lists(st.integers(0, 9), min_size=count, max_size=count))
    return nodes, usable, Workload.of(pods, [float(w) for w in weights])


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_the_fragments_pass_is_the_numpy_measure_bit_for_bit(case: Any) -> None:
    nodes, usable, workload = case
    reference = measure(nodes, usable, workload)
    plain = measure_compiled(sample_kernels.python_kernels()["fragments"], nodes, usable, workload)
    assert plain == reference
    if compiled.available():
        fast = measure_compiled(sample_kernels.kernels()["fragments"], nodes, usable, workload)
        assert fast == reference


def test_the_fragments_pass_on_the_papers_hand_worked_node() -> None:
    """One node, 2 GPUs (500 and 1000 milli free), 16 CPUs free (as in test_replay)."""
    nodes = NodeTable(NodeGroup(["n"], capacity_columns(1, 16_000, 65_536, gpus=2)))
    half = PodTemplate(gpu_milli=500)
    nodes.allocate(0, half.usage(), half.nonzero(), 0, 500)
    share = PodTemplate(cpu=1000, memory=1024, gpu_milli=600)
    cpu_only = PodTemplate(cpu=1000, memory=1024)
    whole = PodTemplate(cpu=32_000, memory=1024, gpu=1)
    workload = Workload.of([share, cpu_only, whole], [2.0, 1.0, 1.0])
    fragments = sample_kernels.python_kernels()["fragments"]
    f = measure_compiled(fragments, nodes, np.ones(1, dtype=np.bool_), workload)
    assert f.gpu_free == 1500 and f.gpu_fragmented == 0.5 * 500 + 0.25 * 1500 + 0.25 * 1500
    assert f.cpu_free == 16_000 and f.cpu_stranded == 0.25 * 16_000


def test_a_small_replay_where_nothing_compiled_ran_stays_on_numpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compiled, "warm", lambda: False)
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,1,T4\n")
    pods = tmp_path / "pods.csv"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
        "creation_time,deletion_time,scheduled_time\na,6000,1024,1,600,T4,LS,Running,0,100,0\n"
    )
    sim = Simulation(build(replay_scenario(nodes, pods, horizon="1h", sample_interval="1m")))
    assert containers_of(sim).series.kernel == "auto" and sim.recorder.kernel == "auto"
    sim.kernel.run()
    assert containers_of(sim).series.kernel == "numpy" and sim.recorder.kernel == "numpy"
    monkeypatch.setattr(sampling, "LARGE_NODES", 1)
    if compiled.available():
        big = Simulation(build(replay_scenario(nodes, pods, horizon="1h", sample_interval="1m")))
        big.kernel.run()
        assert containers_of(big).series.kernel == "numba"


def test_an_unknown_sample_kernel_is_refused() -> None:
    with pytest.raises(
        ValueError, match="sample kernel must be 'auto', 'numpy' or 'numba', not 'fast'"
    ):
        ClusterSeries([], [], kernel="fast")


def _cluster_series(scenario: Any, kernel: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The run's cluster time series and its events with the sample path ``kernel``."""
    real = ClusterSeries.__init__

    def init(self: ClusterSeries, clusters: Any, workloads: Any, kernel_: str = "auto") -> None:
        real(self, clusters, workloads, kernel)

    with monkeypatch.context() as m:
        m.setattr(ClusterSeries, "__init__", init)
        sim = Simulation(scenario)
        sim.kernel.run()
    cloud = containers_of(sim)
    assert cloud is not None and cloud.series.kernel == kernel
    return dict(cloud.series.series), sim.events_processed


def _assert_same_series(scenario: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    reference, ref_events = _cluster_series(scenario, "numpy", monkeypatch)
    compiled, events = _cluster_series(scenario, "numba", monkeypatch)
    assert events == ref_events
    assert list(compiled) == list(reference) == list(sampling.COLUMNS)
    for column in reference:
        assert compiled[column] == reference[column], column
        kinds = {type(v) for v in compiled[column]}
        assert kinds == {type(v) for v in reference[column]}, column
    return reference


@needs_numba
def test_a_hunan_run_is_the_same_on_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six days of the Hunan cluster (HPAs move the pods, the autoscaler adds and removes
    nodes): every table and the summary are the same with the compiled passes as with the
    numpy reference (numba hidden), events included."""
    scenario = load_scenario(REPO / "scenarios" / "hunan-3s4c.yaml", {"meta.horizon": "6d"})

    def run() -> tuple[Any, Any]:
        sim = Simulation(scenario)
        result = sim.run()
        cloud = containers_of(sim)
        assert cloud is not None
        return result, cloud

    fast, cloud = run()
    assert cloud.series.kernel == "numba" and cloud.autoscaler.kernels is not None
    with monkeypatch.context() as m:
        m.setattr(compiled, "available", lambda: False)
        reference, ref_cloud = run()
    assert ref_cloud.series.kernel == "numpy" and ref_cloud.autoscaler.kernels is None
    assert cloud.autoscaler.scale_downs > 0 and cloud.autoscaler.scale_ups > 0
    assert fast.summary == reference.summary
    assert set(fast.tables) == set(reference.tables)
    for name, table in reference.tables.items():
        assert fast.tables[name].equals(table), name
    series = fast.tables["cluster_timeseries"].to_pydict()
    assert len(set(series["pods_bound"])) > 1 and len(set(series["cpu_stranded_milli"])) > 1


@st.composite
def _scale_down_state(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 8))
    groups = draw(st.integers(1, 3))
    ints = st.integers(0, 9000)
    allocatable = np.array(draw(st.lists(ints, min_size=2 * n, max_size=2 * n))).reshape(2, n)
    requested = np.array(draw(st.lists(ints, min_size=2 * n, max_size=2 * n))).reshape(2, n)
    pad = np.zeros((3, n), dtype=np.int64)  # pods, GPUs, GPU milli: not read
    times = st.sampled_from([np.nan, 0.0, 100.0, 599.9999999995, 600.0, 1200.0])
    return {
        "allocatable": np.vstack([allocatable, pad]).astype(np.int64),
        "requested": np.vstack([requested, pad]).astype(np.int64),
        "autoscaled": np.array(
            draw(st.lists(st.booleans(), min_size=groups + 1, max_size=groups + 1))
        ),
        "group": np.array(draw(st.lists(st.integers(-1, groups - 1), min_size=n, max_size=n))),
        "ok": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        "threshold": draw(st.sampled_from([0.0, 0.3, 0.5, 1.0])),
        "now": draw(st.sampled_from([600.0, 1200.0, 1800.0])),
        "since": np.array(draw(st.lists(times, min_size=n, max_size=n)), dtype=np.float64),
        "unremovable": np.array(
            draw(st.lists(st.sampled_from([-np.inf, 600.0, 1500.0]), min_size=n, max_size=n))
        ),
        "above": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        "unneeded_time": draw(st.sampled_from([0.0, 600.0, 1200.0])),
    }


@settings(max_examples=200, deadline=None)
@given(_scale_down_state())
def test_the_scale_down_passes_are_the_autoscalers_numpy_masks(state: dict[str, Any]) -> None:
    """The marks and the ripeness check, compiled and as plain Python, against the
    autoscaler's numpy expressions (NaN marks, nodes of no group, the 1e-9 tolerance)."""
    alloc = np.maximum(state["allocatable"][:2], 1)
    util = (state["requested"][:2] / alloc).max(axis=0)
    eligible = state["autoscaled"][state["group"]] & state["ok"]
    under = eligible & (util < state["threshold"])
    since = state["since"].copy()
    since[~under] = np.nan
    since[under & np.isnan(since)] = state["now"]
    changed = int(
        np.count_nonzero(
            ~((since == state["since"]) | (np.isnan(since) & np.isnan(state["since"])))
        )
    )
    ripe = ~np.isnan(since) & (state["now"] - since >= state["unneeded_time"] - 1e-9)
    ripe &= state["unremovable"] <= state["now"]
    ripe &= state["above"]
    paths = [sample_kernels.python_kernels()]
    if compiled.available():
        paths.append(sample_kernels.kernels())
    for k in paths:
        marks, util_out = state["since"].copy(), np.empty(len(util))
        got = k["mark_unneeded"](
            state["allocatable"], state["requested"], state["autoscaled"], state["group"],
            state["ok"], state["threshold"], state["now"], marks, util_out,
        )  # fmt: skip
        np.testing.assert_array_equal(util_out, util)
        np.testing.assert_array_equal(marks, since)
        assert got == changed
        args = (marks, state["unremovable"], state["above"], state["now"], state["unneeded_time"])
        assert bool(k["any_ripe"](*args)) == bool(ripe.any())


def test_an_unknown_autoscaler_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match=r"autoscaler kernel must be .*, not 'fast'"):
        ClusterAutoscaler(None, None, None, None, kernel="fast")  # type: ignore[arg-type]


@needs_numba
def test_a_gpu_replay_has_the_reference_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GPU shares, whole GPUs, model affinity, waits and deletions on three nodes."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(
        "sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,2,T4\nn2,16000,32768,4,V100\n"
        "n3,8000,16384,0,\n"
    )
    pods = tmp_path / "pods.csv"
    rows = []
    for i in range(40):
        gpu, milli, spec = [(1, 600, "T4"), (2, 1000, "V100"), (0, 0, ""), (1, 300, "")][i % 4]
        rows.append(f"p{i},{1000 + 250 * (i % 5)},2048,{gpu},{milli},{spec},LS,Running,")
        rows[-1] += f"{30 * i},{30 * i + 400 + 97 * (i % 7)},\n"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
        "creation_time,deletion_time,scheduled_time\n" + "".join(rows)
    )
    scenario = build(replay_scenario(nodes, pods, horizon="1h", sample_interval="1m"))
    series = _assert_same_series(scenario, monkeypatch)
    assert len(set(series["gpu_fragmented_milli"])) > 2
    assert max(series["pods_pending"]) > 0


def test_samples_that_did_not_change_are_one_run() -> None:
    """A run of unchanged samples lays out as the same row repeated, times in order."""
    series = ClusterSeries([], [], kernel="numpy")
    a, b = (0, 1, *range(14)), (0, 5, *range(14))
    series._runs = [((a, b), [0.0, 10.0]), ((b, a), [20.0])]
    out = series.series
    assert out["time"] == [0.0, 0.0, 10.0, 10.0, 20.0, 20.0]
    assert out["cluster"] == [0, 0, 0, 0, 0, 0]
    assert out["nodes"] == [1, 5, 1, 5, 5, 1]
    assert series.series is out  # laid out once
