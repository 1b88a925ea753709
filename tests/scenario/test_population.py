"""Population expansion: deterministic, exact, statistically faithful and feasible."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudsim import load_scenario
from cloudsim.scenario.population import expand_population, quota_for_usage
from cloudsim.scenario.schema import (
    DataCenter,
    Department,
    Flavor,
    HostClass,
    HostGroup,
    Meta,
    Pool,
    Population,
    Scenario,
    Site,
    System,
    VMCountDistribution,
    VMGroup,
    WeightedCentres,
    Zone,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

FLAVORS = [
    Flavor(name="2c4g", vcpus=2, memory="4GiB", disk="100GB"),
    Flavor(name="4c8g", vcpus=4, memory="8GiB", disk="100GB"),
    Flavor(name="8c16g", vcpus=8, memory="16GiB", disk="200GB"),
    Flavor(name="16c64g", vcpus=16, memory="64GiB", disk="500GB"),
]


def make_population(**changes: Any) -> Population:
    fields: dict[str, Any] = {
        "seed": 11,
        "departments": 12,
        "systems": 40,
        "vms_per_system": VMCountDistribution(median=8, sigma=0.7, min=2, max=60),
        "flavors": {"2c4g": 1, "4c8g": 3, "8c16g": 2, "16c64g": 1},
        "flavors_per_system": 3,
        "zones": {"extranet": 4, "internet": 1},
        "arch": {"x86_64": 0.85, "aarch64": 0.15},
        "datacenters": [
            WeightedCentres(datacenters=["dc-a", "dc-b"], weight=8),
            WeightedCentres(datacenters=["dc-a"], weight=1),
            WeightedCentres(datacenters=["dc-b"], weight=1),
        ],
        "quota_headroom": 1.5,
    }
    fields.update(changes)
    return Population(**fields)


def make_scenario(
    population: Population | None = None,
    *,
    departments: list[Department] | None = None,
    systems: list[System] | None = None,
    internet_arm: bool = True,
) -> Scenario:
    """Two centres, two zones; x86 everywhere, aarch64 in the extranet (and internet if asked)."""
    pools = []
    for dc in ("dc-a", "dc-b"):
        pools.append(
            Pool(
                name=f"{dc}-ext-x86",
                datacenter=dc,
                zone="extranet",
                hosts=[HostGroup(host_class="x86", count=20)],
                cpu_overcommit=3,
            )
        )
        pools.append(
            Pool(
                name=f"{dc}-ext-arm",
                datacenter=dc,
                zone="extranet",
                hosts=[HostGroup(host_class="arm", count=6)],
                cpu_overcommit=2,
            )
        )
        pools.append(
            Pool(
                name=f"{dc}-int-x86",
                datacenter=dc,
                zone="internet",
                hosts=[HostGroup(host_class="x86", count=8)],
                cpu_overcommit=2,
            )
        )
        pools.append(
            Pool(
                name=f"{dc}-int-arm",
                datacenter=dc,
                zone="internet",
                hosts=[HostGroup(host_class="arm", count=4 if internet_arm else 0)],
            )
        )
        # Standby capacity never makes an architecture feasible for ordinary systems.
        pools.append(
            Pool(
                name=f"{dc}-int-arm-standby",
                datacenter=dc,
                zone="internet",
                hosts=[HostGroup(host_class="arm", count=4)],
                purpose="standby",
            )
        )
    return Scenario(
        meta=Meta(name="population-test"),
        sites=[Site(name="city")],
        datacenters=[DataCenter(name="dc-a", site="city"), DataCenter(name="dc-b", site="city")],
        zones=[Zone(name="extranet"), Zone(name="internet")],
        host_classes=[
            HostClass(name="x86", cores=64, memory="768GiB", disk="10TB"),
            HostClass(
                name="arm", cores=96, threads_per_core=1, memory="1TiB", disk="10TB", arch="aarch64"
            ),
        ],
        pools=pools,
        flavors=FLAVORS,
        departments=departments or [],
        systems=systems or [],
        population=population,
    )


def usage(scenario: Scenario, department: str) -> tuple[int, int, int, int]:
    flavors = {f.name: f for f in scenario.flavors}
    vcpus = memory = disk = vms = 0
    for system in scenario.systems:
        if system.department != department:
            continue
        for group in system.vms:
            f = flavors[group.flavor]
            vcpus += f.vcpus * group.count
            memory += f.memory * group.count
            disk += f.disk * group.count
            vms += group.count
    return vcpus, memory, disk, vms


def test_no_population_is_identity() -> None:
    scenario = make_scenario()
    assert expand_population(scenario) is scenario


def test_same_seed_same_inventory_different_seed_differs() -> None:
    a = expand_population(make_scenario(make_population(seed=3)))
    b = expand_population(make_scenario(make_population(seed=3)))
    c = expand_population(make_scenario(make_population(seed=4)))
    assert a == b
    assert a.model_dump() == b.model_dump()
    assert a.systems != c.systems


def test_exact_counts_names_and_population_cleared() -> None:
    expanded = expand_population(make_scenario(make_population(departments=12, systems=40)))
    assert expanded.population is None
    assert [d.name for d in expanded.departments] == [f"dept-{i:03d}" for i in range(1, 13)]
    assert [s.name for s in expanded.systems] == [f"sys-{i:04d}" for i in range(1, 41)]
    # Every department owns at least one system when there are enough systems.
    owners = Counter(s.department for s in expanded.systems)
    assert set(owners) == {d.name for d in expanded.departments}
    assert sum(owners.values()) == 40


def test_name_width_follows_large_counts() -> None:
    expanded = expand_population(make_scenario(make_population(departments=1000, systems=12000)))
    assert expanded.departments[0].name == "dept-0001"
    assert expanded.departments[-1].name == "dept-1000"
    assert expanded.systems[0].name == "sys-00001"
    assert expanded.systems[-1].name == "sys-12000"
    # A few departments own many systems; most own a handful.
    sizes = sorted(Counter(s.department for s in expanded.systems).values())
    assert sizes[0] >= 1
    assert sizes[-1] > 4 * sizes[len(sizes) // 2]


def test_fewer_systems_than_departments() -> None:
    expanded = expand_population(make_scenario(make_population(departments=30, systems=10)))
    assert len(expanded.departments) == 30
    owners = [s.department for s in expanded.systems]
    assert len(set(owners)) == 10  # each system in a different department
    idle = [d for d in expanded.departments if d.name not in owners]
    assert all(d.quota.vcpus == 0 and d.quota.vms == 0 for d in idle)


def test_per_system_rules() -> None:
    population = make_population(systems=300)
    expanded = expand_population(make_scenario(population))
    options = [list(o.datacenters) for o in population.datacenters]
    for system in expanded.systems:
        assert 2 <= system.vm_count <= 60
        flavors = [g.flavor for g in system.vms]
        assert 1 <= len(flavors) <= 3
        assert len(set(flavors)) == len(flavors)
        assert all(g.count >= 1 for g in system.vms)
        assert system.datacenters in options
        assert system.anti_affinity == "host"
        assert system.mlps_level in (2, 3)
        assert system.dc_placement == "split"


def test_quota_is_ceil_of_headroom_times_usage() -> None:
    for headroom in (1.5, 1.1, 1.37):
        expanded = expand_population(make_scenario(make_population(quota_headroom=headroom)))
        factor = Fraction(repr(headroom))
        for department in expanded.departments:
            vcpus, memory, disk, vms = usage(expanded, department.name)
            assert department.quota.vcpus == math.ceil(factor * vcpus)
            assert department.quota.memory == math.ceil(factor * memory)
            assert department.quota.disk == math.ceil(factor * disk)
            assert department.quota.vms == math.ceil(factor * vms)
            assert department.quota.vms >= vms


def test_quota_reads_headroom_as_written() -> None:
    assert quota_for_usage(1.1, 100, 100, 100, 100).vcpus == 110  # not 111
    assert quota_for_usage(1.5, 3, 1, 0, 7).model_dump() == {
        "vcpus": 5,
        "memory": 2,
        "disk": 0,
        "vms": 11,
    }


def test_no_headroom_means_no_quota() -> None:
    expanded = expand_population(make_scenario(make_population(quota_headroom=None)))
    for department in expanded.departments:
        assert department.quota.vcpus is None
        assert department.quota.memory is None
        assert department.quota.disk is None
        assert department.quota.vms is None


def test_weights_respected_on_a_large_draw() -> None:
    population = make_population(
        departments=500,
        systems=20_000,
        zones={"extranet": 8, "internet": 2},  # weights need not sum to 1
        mlps_levels={2: 0.3, 3: 0.7},
        priorities={"critical": 1, "important": 3, "normal": 6},
        vms_per_system=VMCountDistribution(median=10, sigma=0.8, min=1, max=200),
    )
    expanded = expand_population(make_scenario(population))
    systems = expanded.systems
    n = len(systems)
    assert n == 20_000

    def share(key: Any, value: Any) -> float:
        return sum(1 for s in systems if key(s) == value) / n

    assert share(lambda s: s.zone, "extranet") == pytest.approx(0.8, abs=0.02)
    assert share(lambda s: s.mlps_level, 3) == pytest.approx(0.7, abs=0.02)
    assert share(lambda s: s.priority, "critical") == pytest.approx(0.1, abs=0.02)
    assert share(lambda s: s.priority, "normal") == pytest.approx(0.6, abs=0.02)
    assert share(lambda s: tuple(s.datacenters), ("dc-a", "dc-b")) == pytest.approx(0.8, abs=0.02)
    assert share(lambda s: s.arch, "aarch64") == pytest.approx(0.15, abs=0.02)
    # The first-drawn flavour follows the weights 1:3:2:1 (later ones are drawn without
    # replacement, which flattens the mix); "4c8g" is the most common first choice.
    first = Counter(s.vms[0].flavor for s in systems)
    assert first["4c8g"] / n == pytest.approx(3 / 7, abs=0.02)
    # VM counts: the median of the lognormal survives rounding and clipping.
    counts = sorted(s.vm_count for s in systems)
    assert counts[n // 2] == pytest.approx(10, abs=1)


def test_arch_drawn_only_where_hosts_exist() -> None:
    # No aarch64 general hosts in the internet zone: internet systems are all x86_64, even
    # though an aarch64 standby pool exists there.
    population = make_population(systems=2_000, arch={"x86_64": 1, "aarch64": 1})
    expanded = expand_population(make_scenario(population, internet_arm=False))
    internet = [s for s in expanded.systems if s.zone == "internet"]
    extranet = [s for s in expanded.systems if s.zone == "extranet"]
    assert internet and all(s.arch == "x86_64" for s in internet)
    assert any(s.arch == "aarch64" for s in extranet)


def test_arch_infeasible_raises() -> None:
    population = make_population(arch={"aarch64": 1.0}, zones={"internet": 1.0})
    with pytest.raises(ValueError, match="zone 'internet'"):
        expand_population(make_scenario(population, internet_arm=False))


def test_unknown_references_raise() -> None:
    with pytest.raises(ValueError, match="unknown flavor 'huge'"):
        expand_population(make_scenario(make_population(flavors={"huge": 1.0})))
    with pytest.raises(ValueError, match="unknown zone"):
        expand_population(make_scenario(make_population(zones={"secret": 1.0})))
    with pytest.raises(ValueError, match="unknown data centre"):
        expand_population(
            make_scenario(make_population(datacenters=[WeightedCentres(datacenters=["dc-x"])]))
        )
    with pytest.raises(ValueError, match="at least one weight must be positive"):
        expand_population(make_scenario(make_population(zones={"extranet": 0.0})))
    with pytest.raises(ValueError, match="min"):
        expand_population(
            make_scenario(make_population(vms_per_system=VMCountDistribution(min=10, max=5)))
        )


def test_generated_names_skip_explicit_ones() -> None:
    departments = [Department(name="dept-002", full_name="explicit")]
    systems = [
        System(
            name="sys-0001",
            department="dept-002",
            zone="extranet",
            datacenters=["dc-a", "dc-b"],
            vms=[VMGroup(flavor="4c8g", count=4)],
        ),
        System(
            name="sys-0003",
            department="dept-002",
            zone="internet",
            datacenters=["dc-a"],
            vms=[VMGroup(flavor="2c4g", count=2)],
        ),
    ]
    population = make_population(departments=5, systems=10)
    expanded = expand_population(
        make_scenario(population, departments=departments, systems=systems)
    )
    names = [d.name for d in expanded.departments]
    assert names == ["dept-002", "dept-001", "dept-003", "dept-004", "dept-005", "dept-006"]
    assert expanded.departments[0].full_name == "explicit"
    assert expanded.departments[0].quota.vcpus is None  # explicit quota left alone
    sys_names = [s.name for s in expanded.systems]
    assert sys_names[:2] == ["sys-0001", "sys-0003"]
    assert sys_names[2:] == [
        "sys-0002",
        "sys-0004",
        "sys-0005",
        "sys-0006",
        "sys-0007",
        "sys-0008",
        "sys-0009",
        "sys-0010",
        "sys-0011",
        "sys-0012",
    ]
    assert len(set(sys_names)) == len(sys_names)
    # Explicit systems do not count towards generated departments' quotas.
    assert all(s.department != "dept-002" for s in expanded.systems[2:])


def test_expanded_scenario_reloads_to_itself() -> None:
    expanded = expand_population(make_scenario(make_population()))
    reloaded = Scenario.model_validate(expanded.model_dump(mode="json"))
    assert reloaded == expanded
    assert expand_population(reloaded) is reloaded


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "departments", "systems", "vms"),
    [("hunan-3s4c", 63, 186, 3056), ("guangdong-1nm", 154, 510, 6349)],
)
def test_reference_scenarios_resolve_and_reload(
    tmp_path: Path, name: str, departments: int, systems: int, vms: int
) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    assert scenario.population is None
    assert len(scenario.departments) == departments
    assert len(scenario.systems) == systems
    assert sum(s.vm_count for s in scenario.systems) == vms
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(
        yaml.safe_dump(scenario.model_dump(mode="json"), allow_unicode=True), encoding="utf-8"
    )
    assert load_scenario(resolved) == scenario
