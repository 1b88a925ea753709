"""The IaaS sample's live-VM hosts, gathered only when the host table's change counters
move, are the fresh gather at every sample: through live migrations, cold moves, drains
and resizes (the maintenance drill), and through failures, local HA restarts, DR
recoveries and failbacks (Hunan DR with failures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cloudsim import Simulation, load_scenario
from cloudsim.iaas.module import IaaSModule
from cloudsim.records.events import Recorder
from tests.test_event_economy import _hunan_with_failures

REPO = Path(__file__).resolve().parents[2]


def _checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Per sample: the live VMs, and whether the gather was remembered (not made anew)."""
    checked: list[tuple[int, bool]] = []
    module_sample = IaaSModule.sample
    passed: list[np.ndarray] = []
    recorder_sample = Recorder.sample

    def record(self: Recorder, time: float, hosts: Any, vm_hosts: np.ndarray) -> None:
        passed.append(vm_hosts)
        recorder_sample(self, time, hosts, vm_hosts)

    def sample(self: IaaSModule, now: float) -> None:
        vms = self.platform.vms
        fresh = vms.ints["host"][vms.live].copy()
        before = self._vm_hosts
        module_sample(self, now)
        np.testing.assert_array_equal(passed[-1], fresh, err_msg=f"at {now}")
        checked.append((len(fresh), before is not None and before[1] is passed[-1]))

    monkeypatch.setattr(Recorder, "sample", record)
    monkeypatch.setattr(IaaSModule, "sample", sample)
    return checked


def test_the_gather_is_remembered_only_while_the_tables_are_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = _checked(monkeypatch)
    drill = load_scenario(
        REPO / "scenarios" / "drills" / "maintenance-cs-idc.yaml",
        {"workload.resizes.share_per_day": 0.05, "meta.horizon": "3d"},
    )
    Simulation(drill).kernel.run()
    assert len(checked) > 24
    assert len({n for n, _ in checked}) > 1  # VMs came and went
    assert any(kept for _, kept in checked) and not all(kept for _, kept in checked)


@pytest.mark.slow
def test_the_gather_is_the_fresh_one_through_failures_and_dr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = _checked(monkeypatch)
    _hunan_with_failures(10)
    assert len(checked) > 24 * 9
    assert any(kept for _, kept in checked) and not all(kept for _, kept in checked)
