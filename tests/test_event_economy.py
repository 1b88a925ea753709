"""Work done per change, not per tick: the caches and shortcuts that keep samples and
controller steps cheap give exactly what working everything out again gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim import Simulation, compiled, load_scenario
from cloudsim.containers import services
from cloudsim.containers.replay import replay_scenario
from cloudsim.containers.sampling import ClusterSeries
from cloudsim.containers.services import ServiceLedger
from cloudsim.records import Recorder, kernels
from cloudsim.records.events import SERIES_COLUMNS
from cloudsim.scenario.schema import RESOURCES
from tests.conftest import REPO, build, containers_of, tiny

HUNAN_DR = REPO / "scenarios" / "hunan-3s4c-dr.yaml"
ROLLING = REPO / "scenarios" / "drills" / "rolling-host-failures.yaml"


def _fresh_recorder_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every sample of the recorder work everything out again."""
    cached = Recorder.sample

    def sample(self: Recorder, *args: Any) -> None:
        self._sampled = None
        cached(self, *args)

    monkeypatch.setattr(Recorder, "sample", sample)


def _fresh_cluster_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every sample of the clusters' series work its rows out again."""
    cached = ClusterSeries.sample

    def sample(self: ClusterSeries, now: float) -> None:
        self._rows.clear()
        cached(self, now)

    monkeypatch.setattr(ClusterSeries, "sample", sample)


def _series(sim: Simulation) -> tuple[dict[str, np.ndarray], dict[str, list[Any]]]:
    cloud = containers_of(sim)
    assert cloud is not None
    return sim.recorder.series(), dict(cloud.series.series)


def _hunan_with_failures(days: int) -> Simulation:
    """The Hunan DR design with the rolling failures ten times as often: hosts go down and
    up, nodes go NotReady, pods are evicted and rescheduled, node VMs come and go."""
    over = {"meta.horizon": f"{days}d"}
    faulty = load_scenario(ROLLING, overrides=over)
    assert faulty.faults is not None
    faster = {}
    for kind in ("host", "rack", "power_domain"):
        spec = getattr(faulty.faults, kind)
        ttf = spec.time_to_failure.model_copy(update={"mean": spec.time_to_failure.mean / 10})
        faster[kind] = spec.model_copy(update={"time_to_failure": ttf})
    scenario = faulty.model_copy(
        update={
            "dr": load_scenario(HUNAN_DR, overrides=over).dr,
            "faults": faulty.faults.model_copy(update=faster),
        }
    )
    sim = Simulation(scenario)
    sim.kernel.run()
    return sim


@pytest.mark.slow
def test_cached_samples_are_what_fresh_ones_give_through_failures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cached = _hunan_with_failures(20)
    with monkeypatch.context() as m:
        _fresh_recorder_sample(m)
        _fresh_cluster_rows(m)
        fresh = _hunan_with_failures(20)
    assert cached.events_processed == fresh.events_processed
    (c_hosts, c_clusters), (f_hosts, f_clusters) = _series(cached), _series(fresh)
    assert set(c_hosts) == set(SERIES_COLUMNS)
    for column in SERIES_COLUMNS:
        np.testing.assert_array_equal(c_hosts[column], f_hosts[column], err_msg=column)
    assert list(c_clusters) == list(f_clusters)  # same columns, in the same order
    assert c_clusters == f_clusters
    # the run did change what is sampled: hosts failed and the cluster's state moved
    assert len(set(c_hosts["hosts_up"].tolist())) > 1
    assert len(set(c_clusters["pods_bound"])) > 1


def _reference_sample(hosts: Any, vm_hosts: np.ndarray) -> dict[str, np.ndarray]:
    """One sample worked out the straightforward way: a ``bincount`` per scope and column."""
    allocated = hosts.limit - hosts.free
    vms_per_host = np.bincount(vm_hosts, minlength=hosts.size)
    busy = np.minimum(allocated[0] / np.maximum(hosts.capacity[0], 1), 1.0)
    power_w = np.where(
        hosts.up, hosts.power_idle_w + (hosts.power_peak_w - hosts.power_idle_w) * busy, 0.0
    )
    parts: dict[str, list[np.ndarray]] = {c: [] for c in SERIES_COLUMNS if c != "time"}
    for scope, index, n in (
        ("datacenter", hosts.datacenter, len(hosts.datacenter_names)),
        ("pool", hosts.pool, len(hosts.pool_names)),
    ):
        parts["scope"].append(np.full(n, scope, dtype=object))
        parts["index"].append(np.arange(n, dtype=np.int64))
        for r, name in enumerate(RESOURCES):
            limit = np.bincount(index, weights=hosts.limit[r], minlength=n)
            used = np.bincount(index, weights=allocated[r], minlength=n)
            ratio = np.divide(used, limit, out=np.zeros(n), where=limit > 0)
            parts[f"{name}_allocated_ratio"].append(ratio)
        parts["vms"].append(np.bincount(index, weights=vms_per_host, minlength=n).astype(np.int64))
        parts["hosts_up"].append(np.bincount(index, weights=hosts.up, minlength=n).astype(np.int64))
        parts["it_power_kw"].append(np.bincount(index, weights=power_w, minlength=n) / 1000.0)
    return {c: np.concatenate(p) for c, p in parts.items()}


KERNELS = ["numpy", "python"] + (["numba"] if compiled.available() else [])


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["allocate", "release", "down", "up", "move", "add", "nothing"]),
            st.integers(min_value=0, max_value=7),
            st.integers(min_value=1, max_value=4000),
        ),
        max_size=12,
    )
)
def test_a_recorder_sample_is_a_fresh_one_whatever_changed(
    kernel: str, steps: list[tuple[str, int, int]]
) -> None:
    """Hand-driven changes of the host table between samples (a VM added or moved takes
    its allocation with it, as the platform does): every sample of a recorder (remembered
    between changes; summed by ``bincount``, by the compiled pass or by the same pass as
    plain Python) is, to the last bit, the straightforward sum of that moment's tables."""
    sim = Simulation(build(tiny()))
    sim.kernel.start()
    hosts = sim.hosts
    recorder = Recorder(sim.recorder.rules, kernel="numpy" if kernel == "python" else kernel)
    if kernel == "python":
        recorder._host_sums = kernels.python_kernels()["host_sums"]
    assert recorder.kernel == ("numba" if kernel != "numpy" else "numpy")
    hosts.set_up([1], False)  # a host down from the start: no power, not counted up
    vm_hosts = np.array([0, 0, 1], dtype=np.int64)
    expected: list[dict[str, np.ndarray]] = []
    for time, (what, host, milli) in enumerate(steps):
        demand = np.zeros(hosts.free.shape[0], dtype=np.int64)
        demand[0] = milli
        host %= hosts.size
        if what == "allocate" and hosts.free[0, host] >= milli:
            hosts.allocate(host, demand)
        elif what == "release" and hosts.limit[0, host] - hosts.free[0, host] >= milli:
            hosts.release(host, demand)
        elif what in ("down", "up"):
            hosts.set_up([host], what == "up")
        elif what == "move" and len(vm_hosts):  # the first VM moves, its demand with it
            hosts.release(int(vm_hosts[0]), demand * 0)
            hosts.allocate(host, demand * 0)
            vm_hosts = np.append(vm_hosts[1:], host)
        elif what == "add":
            vm_hosts = np.append(vm_hosts, host)
        recorder.sample(float(time), hosts, vm_hosts)
        expected.append(_reference_sample(hosts, vm_hosts))
    got = recorder.series()
    if not steps:
        assert all(len(v) == 0 for v in got.values())
        return
    rows = len(hosts.datacenter_names) + len(hosts.pool_names)
    np.testing.assert_array_equal(got["time"], np.repeat(np.arange(len(steps)), rows))
    for column in SERIES_COLUMNS[1:]:
        want = np.concatenate([e[column] for e in expected])
        np.testing.assert_array_equal(got[column], want, err_msg=column)
        assert got[column].dtype == want.dtype, column


def _checked_recorder(monkeypatch: pytest.MonkeyPatch, checked: list[int]) -> None:
    """Compare every sample the recorder remembers with the straightforward sum."""
    cached = Recorder.sample

    def sample(self: Recorder, time: float, hosts: Any, vm_hosts: np.ndarray) -> None:
        cached(self, time, hosts, vm_hosts)
        block = self._runs[-1][0]
        for column, values in _reference_sample(hosts, vm_hosts).items():
            np.testing.assert_array_equal(block[column], values, err_msg=f"{column} at {time}")
        checked.append(len(self._runs[-1][1]))

    monkeypatch.setattr(Recorder, "sample", sample)


@pytest.mark.slow
def test_vm_counts_change_only_with_the_host_tables_counters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recorder keys its samples on the host table's change counters and the VM count,
    trusting that a VM never starts, ends or moves without an allocation or release on the
    table. A week of the maintenance drill (live migrations, cold moves, drains) with
    resizes, and the Hunan DR design with failures (local HA restarts, DR recoveries,
    failbacks, node VMs): every remembered sample is what the tables give at that time."""
    checked: list[int] = []
    _checked_recorder(monkeypatch, checked)
    drill = load_scenario(
        REPO / "scenarios" / "drills" / "maintenance-cs-idc.yaml",
        {"workload.resizes.share_per_day": 0.05},
    )
    Simulation(drill).kernel.run()
    _hunan_with_failures(10)
    assert len(checked) > 24 * 17
    assert max(checked) > 1  # samples were remembered, not all measured again


def test_an_unknown_recorder_kernel_is_refused() -> None:
    with pytest.raises(ValueError, match=r"sample kernel must be .*, not 'fast'"):
        Recorder(Simulation(build(tiny())).recorder.rules, kernel="fast")


def test_a_replay_without_services_samples_no_service_rows(tmp_path: Path) -> None:
    """A cluster without services (a trace replay): no service rows and no work for them,
    the services table still has its columns."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,1,T4\n")
    pods = tmp_path / "pods.csv"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
        "creation_time,deletion_time,scheduled_time\n"
        "a,6000,1024,1,600,T4,LS,Running,0,100,0\n"
    )
    sim = Simulation(build(replay_scenario(nodes, pods, horizon="1h", sample_interval="1m")))
    result = sim.run()
    cloud = containers_of(sim)
    assert cloud is not None
    assert len(cloud.ledger.series) == 0
    services = result.tables["services"]
    assert services.num_rows == 0
    assert "demand_cpu_milli" in services.column_names
    assert len(cloud.series.series["time"]) == 61  # the clusters are still sampled


def test_integrals_settled_in_batches_are_those_settled_at_every_sample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Samples only mark where they fall and the integrals settle at the end; settling at
    every sample (as before) gives the same services table to the last bit."""

    def run() -> Any:
        scenario = load_scenario(REPO / "scenarios" / "hunan-3s4c.yaml", {"meta.horizon": "5d"})
        sim = Simulation(scenario)
        result = sim.run()
        return result.tables["services"], result.summary["containers"]["services"]

    lazy_table, lazy_summary = run()
    lazy = ServiceLedger.sample

    def eager(self: ServiceLedger, now: float, replicas: Any) -> None:
        lazy(self, now, replicas)
        self._settle()

    monkeypatch.setattr(ServiceLedger, "sample", eager)
    eager_table, eager_summary = run()
    assert lazy_table.num_rows > 0
    assert lazy_table.equals(eager_table)
    assert lazy_summary == eager_summary
    demanded = np.asarray(lazy_table.column("demand_core_s"))
    assert demanded.sum() > 0  # the services had demand to integrate


def test_the_batch_size_of_settling_does_not_change_the_integrals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held intervals settle when a batch is full (memory stays bounded); a batch of 3
    gives the same table as the default one."""

    def table() -> Any:
        scenario = load_scenario(REPO / "scenarios" / "hunan-3s4c.yaml", {"meta.horizon": "3d"})
        return Simulation(scenario).run().tables["services"]

    default = table()
    monkeypatch.setattr(services, "SETTLE_BATCH", 3)
    assert table().equals(default)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["site", "datacenter", "link"]),
            st.integers(min_value=0, max_value=5),
            st.sampled_from([1, -1]),
        ),
        max_size=15,
    )
)
def test_removed_components_follow_in_place_changes(
    changes: list[tuple[str, int, int]],
) -> None:
    """The failed sites, centres and links are remembered between calls; changed in place
    (as the faults module does), they are what a fresh look at the counts gives."""
    sim = Simulation(load_scenario(REPO / "scenarios" / "hunan-3s4c.yaml", {"meta.horizon": "1d"}))
    components = sim.kernel.ctx.components
    names = components.catalog.names
    for kind, index, step in changes:
        counts = components.down[kind]
        i = index % len(counts)
        counts[i] = max(0, counts[i] + step)
        fresh = tuple(
            names[k][j]
            for k in ("site", "datacenter", "link")
            for j in np.flatnonzero(components.down[k]).tolist()
        )
        assert components.removed() == fresh
