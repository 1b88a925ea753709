"""The energy module against hand calculations, and the saturation defect kept out."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from cloudsim import ScenarioError, scenario_from_dict, simulate
from cloudsim.units import HOUR, YEAR

MONTH_H = YEAR / 12 / HOUR  # 730 hours


def two_hosts(**energy: Any) -> dict[str, Any]:
    """Two 4-thread hosts (100 W idle, 300 W peak), three 2-vCPU cloud hosts: two on the
    first host, one on the second; PUE 1.5; 10 hours."""
    section: dict[str, Any] = {
        "tick": "25m",
        "vm_percentiles": True,
        "profiles": [
            {"name": "flat", "systems": ["s"], "cpu_mean": 0.5, "memory_mean": 0.5, "noise": 0}
        ],
        "price": {"per_kwh": 1.0, "time_of_use": [{"start_hour": 0, "end_hour": 5, "price": 2.0}]},
        "capital": [{"host_class": "h", "price": 87600, "life": "365d"}],
        "chargeback": {"vcpu_month": 730, "gib_month": 73, "tb_month": 1000},
    }
    section.update(energy)
    return {
        "meta": {"name": "two-hosts", "horizon": "10h", "start": "2026-01-01T00:00:00"},
        "sites": [{"name": "a"}],
        "datacenters": [{"name": "dc", "site": "a", "pue": 1.5}],
        "zones": [{"name": "z"}],
        "host_classes": [
            {
                "name": "h",
                "cores": 4,
                "threads_per_core": 1,
                "memory": "16GiB",
                "power_idle_w": 100,
                "power_peak_w": 300,
            }
        ],
        "pools": [
            {
                "name": "p",
                "datacenter": "dc",
                "zone": "z",
                "hosts": [{"host_class": "h", "count": 2, "names": ["ha", "hb"]}],
            }
        ],
        "flavors": [{"name": "f", "vcpus": 2, "memory": "4GiB"}],
        "departments": [{"name": "d"}],
        "systems": [
            {
                "name": "s",
                "department": "d",
                "zone": "z",
                "datacenters": ["dc"],
                "anti_affinity": "none",
                "vms": [{"flavor": "f", "count": 3, "hosts": ["ha", "ha", "hb"]}],
            }
        ],
        "energy": section,
    }


def test_hand_calculation() -> None:
    result = simulate(scenario_from_dict(two_hosts()), seed=1)
    e = result.summary["energy"]
    # ha: 2 VMs x 2 vCPUs x 0.5 = 2 of 4 threads -> 200 W; hb: 1 of 4 -> 150 W.
    assert e["it_kwh"] == pytest.approx(0.350 * 10, abs=1e-6)
    assert e["facility_kwh"] == pytest.approx(0.525 * 10, abs=1e-6)
    dc = e["datacenters"]["dc"]
    assert dc["it_kw_peak"] == pytest.approx(0.35, abs=1e-6)
    assert dc["facility_kw_mean"] == pytest.approx(0.525, abs=1e-6)
    assert dc["cpu_utilisation_mean"] == pytest.approx(3 / 8, abs=1e-6)
    # 5 h at 2.0, 5 h at 1.0 (ticks of 25 min do not meet the hour: integrated exactly).
    assert e["electricity_cost"] == pytest.approx(0.525 * (5 * 2 + 5 * 1), abs=1e-6)
    assert e["capital_cost"] == pytest.approx(2 * 87600 * 10 / (365 * 24), abs=1e-6)
    assert dc["cost"] == pytest.approx(e["electricity_cost"] + e["capital_cost"], abs=1e-6)
    # Chargeback: 6 vCPUs and 12 GiB for 10 of 730 hours.
    dept = e["departments"]["d"]
    assert dept["vcpu_months"] == pytest.approx(6 * 10 / MONTH_H, abs=1e-6)
    assert dept["chargeback"] == pytest.approx(
        6 * 10 / MONTH_H * 730 + 12 * 10 / MONTH_H * 73, abs=1e-6
    )
    # Attribution: ha's 200 W to its VMs; hb's idle half (50 W) is nobody's.
    assert dept["it_kwh"] == pytest.approx(0.300 * 10, abs=1e-6)
    assert e["facility_kwh_unattributed"] == pytest.approx(0.075 * 10, abs=1e-6)
    assert e["host_classes"]["h"]["it_kwh"] == pytest.approx(3.5, abs=1e-6)
    table = result.tables["energy"].to_pylist()
    assert len(table) == 10  # one row per pool and hourly sample interval
    assert sum(r["kwh"] for r in table) == pytest.approx(5.25, abs=1e-6)
    assert all(r["it_kw"] == pytest.approx(0.35) for r in table)
    assert table[0]["cost"] == pytest.approx(0.525 * 2 + 2 * 10, abs=1e-6)
    vms = result.tables["vm_utilisation"].to_pylist()
    assert [v["cpu_utilisation_mean"] for v in vms] == pytest.approx([0.5] * 3)
    assert [v["cpu_utilisation_p95"] for v in vms] == pytest.approx([0.5] * 3, abs=1e-3)
    systems = result.tables["energy_systems"].to_pylist()
    assert systems[0]["facility_kwh"] == pytest.approx(4.5, abs=1e-6)


def test_pue_as_a_function_of_load() -> None:
    data = two_hosts(pue=[{"datacenter": "dc", "points": [[0, 2.0], [1, 1.0]]}])
    e = simulate(scenario_from_dict(data), seed=1).summary["energy"]
    load = 350 / 600
    assert e["facility_kwh"] == pytest.approx(0.35 * (2 - load) * 10, abs=1e-6)


def test_specpower_table_and_contention() -> None:
    data = two_hosts(
        profiles=[{"name": "busy", "systems": ["s"], "cpu_mean": 1.0, "noise": 0}],
        power_curves=[{"host_class": "h", "points": [[0, 100], [0.5, 250], [1, 300]]}],
    )
    data["pools"][0]["cpu_overcommit"] = 2.0
    data["systems"][0]["vms"] = [{"flavor": "f", "count": 3, "hosts": ["ha", "ha", "ha"]}]
    e = simulate(scenario_from_dict(data), seed=1).summary["energy"]
    # ha wants 6 cores of 4: served 4 (300 W), 2 wanted and not served; hb idle (100 W).
    assert e["it_kwh"] == pytest.approx(0.4 * 10, abs=1e-6)
    assert e["cpu_unserved_core_h"] == pytest.approx(2 * 10, abs=1e-6)
    assert e["pools"]["p"]["cpu_unserved_core_h"] == pytest.approx(20, abs=1e-6)


@pytest.mark.parametrize("overcommit", [1.0, 4.0])
def test_energy_grows_with_utilisation_at_fixed_allocation(overcommit: float) -> None:
    """The saturation defect: power from allocation drew peak on every overcommitted host
    whatever the load; from utilisation it grows with the load."""
    kwh = []
    for mean in (0.02, 0.06, 0.12, 0.2):  # below saturation even at 4x overcommit
        data = two_hosts(profiles=[{"name": "p", "systems": ["s"], "cpu_mean": mean, "noise": 0.2}])
        data["pools"][0].update(cpu_overcommit=overcommit, memory_overcommit=2.0)
        data["systems"][0]["vms"] = [
            {
                "flavor": "f",
                "count": 3 if overcommit == 1 else 8,
                "hosts": ["ha", "ha", "hb"] if overcommit == 1 else ["ha"] * 8,
            }
        ]
        result = simulate(scenario_from_dict(data), seed=3)
        kwh.append(result.summary["energy"]["it_kwh"])
    assert all(a < b for a, b in itertools.pairwise(kwh)), kwh


def test_profile_shapes_and_campaigns_are_deterministic() -> None:
    profile = {
        "name": "p",
        "systems": ["s"],
        "cpu_mean": 0.3,
        "noise": 0.3,
        "diurnal": [0.5] * 12 + [1.5] * 12,
        "campaigns": [{"start": "2026-01-01T05:00:00", "duration": "2h", "factor": 2.0}],
    }
    data = two_hosts(profiles=[profile], tick="15m")
    a = simulate(scenario_from_dict(data), seed=5)
    b = simulate(scenario_from_dict(data), seed=5)
    assert a.tables["energy"].equals(b.tables["energy"])
    flat = copy.deepcopy(data)
    flat["energy"]["profiles"][0].update(noise=0, campaigns=[])
    rows = simulate(scenario_from_dict(flat), seed=5).tables["energy"].to_pylist()
    # Night hours at 0.15, afternoon at 0.45 of each VM.
    assert rows[0]["cpu_utilisation"] == pytest.approx(6 * 0.15 / 8)
    with_campaign = (
        simulate(
            scenario_from_dict(
                {
                    **flat,
                    "energy": {
                        **flat["energy"],
                        "profiles": [
                            {**flat["energy"]["profiles"][0], "campaigns": profile["campaigns"]}
                        ],
                    },
                }
            ),
            seed=5,
        )
        .tables["energy"]
        .to_pylist()
    )
    assert with_campaign[5]["cpu_utilisation"] == pytest.approx(2 * rows[5]["cpu_utilisation"])
    assert with_campaign[7]["cpu_utilisation"] == pytest.approx(rows[7]["cpu_utilisation"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"default_profile": "nope", "profiles": []}, "unknown profile 'nope'"),
        ({"profiles": []}, "system 's' has no utilisation profile or trace"),
        (
            {"power_curves": [{"host_class": "x", "idle_w": 1, "peak_w": 2}]},
            "unknown host class 'x'",
        ),
        (
            {"pue": [{"datacenter": "dc", "points": [[0.2, 1.5], [1, 1.2]]}]},
            "from utilisation 0 to 1",
        ),
        (
            {
                "traces": [{"name": "t", "path": "/nonexistent/trace", "systems": ["s"]}],
                "profiles": [],
            },
            "no trace folder",
        ),
    ],
)
def test_bad_sections_are_refused(change: dict[str, Any], message: str) -> None:
    data = two_hosts(**change)
    if data["energy"].pop("max_events", None) is not None:
        data["meta"]["max_events"] = 500  # 10 hours of 1-minute ticks are 600 events
    with pytest.raises(ScenarioError, match="energy") as info:
        scenario_from_dict(data)
    assert message in str(info.value)


def test_percentiles_only_when_asked() -> None:
    result = simulate(scenario_from_dict(two_hosts(vm_percentiles=False)), seed=1)
    vms = result.tables["vm_utilisation"].to_pylist()
    assert [v["cpu_utilisation_p95"] for v in vms] == [None] * 3
    assert [v["cpu_utilisation_mean"] for v in vms] == pytest.approx([0.5] * 3)


def test_noise_per_profile_timescale() -> None:
    """Rows follow their own profile's timescale: an unused profile with another one
    changes nothing (one timescale takes a faster path than several)."""
    p = {"name": "p", "systems": ["s"], "cpu_mean": 0.3, "noise": 0.5, "noise_timescale": "1h"}
    q = {"name": "q", "cpu_mean": 0.3, "noise": 0.5, "noise_timescale": "5m"}
    one = simulate(scenario_from_dict(two_hosts(profiles=[p])), seed=2)
    two = simulate(scenario_from_dict(two_hosts(profiles=[p, q])), seed=2)
    assert one.tables["energy"].equals(two.tables["energy"])
    fast = simulate(
        scenario_from_dict(two_hosts(profiles=[{**p, "noise_timescale": "5m"}])), seed=2
    )
    assert not fast.tables["energy"].equals(one.tables["energy"])


def test_platform_peak_is_the_peak_of_the_total_and_empty_pools_keep_their_centre() -> None:
    """Two centres whose loads peak at opposite hours: the platform's peak is below the
    sum of the centres' peaks; a pool without hosts is reported in its own centre."""
    data = two_hosts(
        profiles=[
            {"name": "day", "systems": ["s"], "cpu_mean": 0.5, "noise": 0,
             "diurnal": [0.1] * 12 + [1.9] * 12},
            {"name": "night", "systems": ["t"], "cpu_mean": 0.5, "noise": 0,
             "diurnal": [1.9] * 12 + [0.1] * 12},
        ]
    )  # fmt: skip
    data["meta"]["horizon"] = "2d"
    data["datacenters"].append({"name": "dc2", "site": "a2", "pue": 1.5})
    data["sites"].append({"name": "a2"})
    data["pools"].append(
        {"name": "q", "datacenter": "dc2", "zone": "z", "hosts": [{"host_class": "h", "count": 1}]}
    )
    data["pools"].append(
        {
            "name": "empty",
            "datacenter": "dc2",
            "zone": "z",
            "hosts": [{"host_class": "h", "count": 0}],
        }
    )
    t = copy.deepcopy(data["systems"][0])
    t.update(name="t", datacenters=["dc2"])
    t["vms"] = [{"flavor": "f", "count": 1}]
    data["systems"].append(t)
    result = simulate(scenario_from_dict(data), seed=1)
    energy = result.summary["energy"]
    per_centre = sum(c["facility_kw_peak"] for c in energy["datacenters"].values())
    assert energy["facility_kw_peak"] < per_centre - 1e-6
    assert energy["pools"]["empty"]["datacenter"] == "dc2"


def test_a_time_zone_on_one_side_only_is_refused_with_its_path() -> None:
    data = two_hosts()
    data["energy"]["profiles"][0]["campaigns"] = [
        {"start": "2026-01-01T05:00:00+08:00", "duration": "1h", "factor": 2.0}
    ]
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert "energy.profiles[flat].campaigns[0].start: give a time zone both here" in str(err.value)
