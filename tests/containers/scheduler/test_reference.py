"""The vectorised scheduler against the benchmark's plain-Python reference, in lock step.

The reference (``benchmarks/scheduler.py``) follows kube-scheduler's Go code with dicts and
loops; on each of the scheduler_perf workloads, every decision of the vectorised scheduler
must be a node the reference scores highest, with the same next start index.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import numpy as np
import pytest

from cloudsim.containers import PodTemplate
from tests.conftest import REPO
from tests.containers.scheduler.fixtures import cluster, node, scheduler


def _benchmark() -> ModuleType:
    path = REPO / "benchmarks" / "scheduler.py"
    spec = importlib.util.spec_from_file_location("scheduler_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCHMARK = _benchmark()


@pytest.mark.parametrize("workload", ["basic", "anti-affinity", "spread"])
def test_decisions_match_the_plain_python_reference(workload: str) -> None:
    nodes = 400  # above 100 nodes, so only a share of the feasible nodes is scored
    chosen = next(w for w in BENCHMARK.workloads(nodes) if w.name == workload)
    verified, rate = BENCHMARK.verify(chosen, nodes, chosen.measured_count)
    assert verified == chosen.measured_count and rate > 0


def test_balanced_allocation_over_three_resources() -> None:
    # cpu, memory and gpu: the population standard deviation of the three fractions
    c = cluster(node("g", cpu=4000, memory=4000, gpus=4), node("c", cpu=4000, memory=4000))
    s = scheduler(
        c,
        weights={"NodeResourcesBalancedAllocation": 1},
        args={"NodeResourcesBalancedAllocation": {"resources": {"cpu": 1, "memory": 1, "gpu": 1}}},
    )
    plugin = s.plugins["NodeResourcesBalancedAllocation"]
    pod = PodTemplate(cpu=2000, memory=1000, gpu=1)
    prep = plugin.prescore(c.template_id(pod))  # type: ignore[attr-defined]
    fractions = np.array([0.5, 0.25, 0.25])
    expected = int((1 - np.sqrt(((fractions - fractions.mean()) ** 2).mean())) * 100)
    # the CPU-only node has no GPU: two fractions, |0.5 - 0.25| / 2
    assert plugin.score(prep, np.array([0, 1])).tolist() == [expected, 87]  # type: ignore[attr-defined]
    cpu_only_pod = PodTemplate(cpu=2000, memory=1000)  # gpu not requested: not counted
    prep = plugin.prescore(c.template_id(cpu_only_pod))  # type: ignore[attr-defined]
    assert plugin.score(prep, np.array([0, 1])).tolist() == [87, 87]  # type: ignore[attr-defined]
