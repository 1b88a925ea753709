"""The reference scenarios load, match their stated facts, and run end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudsim import load_scenario, simulate
from tests.conftest import REPO, SHARED_DATA

SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))


def skip_without_shared_data(path: Path) -> None:
    """Scenarios that replay a public trace need ../shared/data (absent in a fresh clone)."""
    if "shared/data/" in path.read_text(encoding="utf-8") and not SHARED_DATA.is_dir():
        pytest.skip(f"{path.name} replays a trace from {SHARED_DATA}, which is absent")


def test_there_are_reference_scenarios() -> None:
    names = {p.name for p in SCENARIOS}
    assert {"hunan-3s4c.yaml", "guangdong-1nm.yaml"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs_end_to_end(path: Path) -> None:
    skip_without_shared_data(path)
    scenario = load_scenario(path, {"meta.horizon": "60d"})
    summary = simulate(scenario).summary
    assert summary["vms_initial_unplaced"] == 0
    assert summary["vms_initial"] == sum(s.vm_count for s in scenario.systems)
    assert summary["vms_placed"] + summary["vms_rejected"] == summary["vms_requested"]
    for dc in summary["datacenters"].values():
        assert 0.0 <= dc["cpu_allocated_ratio"] <= dc["cpu_allocated_ratio_peak"] <= 1.0
        assert 0.0 <= dc["memory_allocated_ratio"] <= dc["memory_allocated_ratio_peak"] <= 1.0


def test_hunan_matches_the_published_shape() -> None:
    s = load_scenario(REPO / "scenarios" / "hunan-3s4c.yaml")
    roles = {dc.name: (dc.site, dc.role) for dc in s.datacenters}
    production = [name for name, (_, role) in roles.items() if role == "production"]
    assert len(production) == 2
    assert len({roles[name][0] for name in production}) == 1  # same city: active-active
    assert sorted(role for _, role in roles.values()) == [
        "data-backup", "full-backup", "production", "production"
    ]
    assert len({dc.site for dc in s.datacenters}) == 3
    cores = sum(
        next(c for c in s.host_classes if c.name == g.host_class).cores * g.count
        for p in s.pools
        for g in p.hosts
    )
    assert 13_000 <= cores <= 16_000  # "about 14,000 physical cores"
    assert len(s.systems) >= 180 and len(s.departments) >= 60
    assert sum(x.vm_count for x in s.systems) >= 3_000
    assert {z.name for z in s.zones} >= {"extranet", "internet"}
    assert {c.arch for c in s.host_classes} == {"x86_64", "aarch64"}
