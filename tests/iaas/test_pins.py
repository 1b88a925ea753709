"""Cloud hosts pinned to named hosts (an imported estate): placed there, checked at validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cloudsim import ScenarioError, scenario_from_dict, simulate

BASE: dict[str, Any] = {
    "meta": {"name": "pins", "horizon": "1d"},
    "sites": [{"name": "a"}],
    "datacenters": [{"name": "dc1", "site": "a", "racks": 2}, {"name": "dc2", "site": "a"}],
    "zones": [{"name": "z"}, {"name": "y"}],
    "host_classes": [
        {"name": "h", "cores": 4, "memory": "16GiB"},
        {"name": "arm", "cores": 4, "memory": "16GiB", "arch": "aarch64"},
    ],
    "pools": [
        {
            "name": "p1",
            "datacenter": "dc1",
            "zone": "z",
            "hosts": [
                {"host_class": "h", "count": 3, "names": ["a1", "a2", "a3"]},
                {"host_class": "arm", "count": 1, "names": ["r1"]},
            ],
        },
        {
            "name": "p2",
            "datacenter": "dc2",
            "zone": "z",
            "hosts": [{"host_class": "h", "count": 2}],
        },
        {
            "name": "py",
            "datacenter": "dc1",
            "zone": "y",
            "hosts": [{"host_class": "h", "count": 1, "names": ["y1"]}],
        },
    ],
    "flavors": [{"name": "f", "vcpus": 2, "memory": "4GiB"}],
    "departments": [{"name": "d"}],
    "systems": [
        {
            "name": "s",
            "department": "d",
            "zone": "z",
            "datacenters": ["dc1", "dc2"],
            "anti_affinity": "none",
            "vms": [
                {"flavor": "f", "count": 3, "hosts": ["a2", "a2", "a3"]},
                {"flavor": "f", "count": 2},
            ],
        },
    ],
}


def with_pins(hosts: list[str], anti_affinity: str = "none") -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["systems"][0]["anti_affinity"] = anti_affinity
    data["systems"][0]["vms"][0].update(count=len(hosts), hosts=hosts)
    return data


def test_pinned_cloud_hosts_run_on_their_hosts_first() -> None:
    result = simulate(scenario_from_dict(BASE), seed=1)
    vms = result.tables["vms"].to_pylist()
    assert [v["host"] for v in vms[:3]] == ["a2", "a2", "a3"]
    assert len(vms) == 5 and result.summary["vms_initial_unplaced"] == 0
    assert {v["host"] for v in vms[3:]} <= {"a1", "a2", "a3", "p2-0000", "p2-0001"}


@pytest.mark.parametrize(
    ("hosts", "anti_affinity", "message"),
    [
        (["nowhere"], "none", "hosts.0: host 'nowhere' is no host of any pool"),
        (["y1"], "none", "host 'y1' is in zone 'y', not 'z'"),
        (["r1"], "none", "host 'r1' is not x86_64"),
        (["a1", "a1"], "host", "hosts.1: host 'a1' breaks the system's anti_affinity 'host'"),
        (["a1", "a3"], "rack", "host 'a3' breaks the system's anti_affinity 'rack'"),
        (
            ["a1"] * 5,
            "none",
            "hosts.4: host 'a1' is full: the cloud hosts pinned to it need "
            "10000 millicores of cpu, its pool allows 8000",
        ),
    ],
)
def test_bad_pins_are_refused(hosts: list[str], anti_affinity: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(with_pins(hosts, anti_affinity))
    assert message in str(info.value)
    assert "systems[s].vms.0.hosts" in str(info.value)


def test_host_names_are_unique_and_one_per_host() -> None:
    data = copy.deepcopy(BASE)
    data["pools"][2]["hosts"][0]["names"] = ["a1"]
    with pytest.raises(ScenarioError, match="host name 'a1' is used twice"):
        scenario_from_dict(data)
    data = copy.deepcopy(BASE)
    data["pools"][0]["hosts"][0]["names"] = ["a1", "a2"]
    with pytest.raises(ScenarioError, match="names lists 2 hosts but count is 3"):
        scenario_from_dict(data)
    data = with_pins(["a1"])
    data["systems"][0]["vms"][0]["count"] = 2
    with pytest.raises(ScenarioError, match="hosts lists 1 hosts but count is 2"):
        scenario_from_dict(data)


def test_a_scenario_without_pins_dumps_as_before() -> None:
    data = copy.deepcopy(BASE)
    data["systems"][0]["vms"] = [{"flavor": "f", "count": 2}]
    for pool in data["pools"]:
        for group in pool["hosts"]:
            group.pop("names", None)
    dumped = scenario_from_dict(data).dump()
    assert "hosts" not in dumped["systems"][0]["vms"][0]  # type: ignore[index]
    assert "names" not in dumped["pools"][0]["hosts"][0]  # type: ignore[index]


def test_a_pinned_host_filled_by_node_vms_first_leaves_the_vm_out() -> None:
    """Validation compares pins with an empty platform; the container cloud's node VMs are
    placed before them, so a host they filled takes no pinned VM (recorded as unplaced),
    and no host is ever allocated past its limit."""
    from cloudsim import scenario_from_dict, simulate
    from tests.energy.test_energy import two_hosts

    data = two_hosts()
    data["systems"].append(
        {"name": "k8s", "department": "d", "zone": "z", "datacenters": ["dc"],
         "anti_affinity": "none", "vms": [{"flavor": "f", "count": 0}]}
    )  # fmt: skip
    data["energy"]["profiles"][0]["systems"].append("k8s")
    data["containers"] = {
        "clusters": [
            {"name": "c", "system": "k8s",
             "node_groups": [{"name": "g", "pool": "p", "flavor": "f", "count": 2}]}
        ]
    }  # fmt: skip
    result = simulate(scenario_from_dict(data), seed=1)
    assert result.summary["initial_unplaced_by_reason"].get("pinned_host_full", 0) >= 1
    for centre in result.summary["datacenters"].values():
        assert centre["cpu_allocated_ratio"] <= 1.0 + 1e-9
