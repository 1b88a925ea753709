"""Invariants of the energy accounting over random profiles and layouts (hypothesis)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import scenario_from_dict, simulate
from tests.energy.test_energy import two_hosts

factors = st.lists(st.floats(0.0, 3.0), min_size=24, max_size=24).filter(lambda f: sum(f) > 0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cpu_mean=st.floats(0.0, 1.0),
    noise=st.floats(0.0, 1.0),
    diurnal=factors,
    layout=st.lists(st.sampled_from(["ha", "hb"]), min_size=1, max_size=6),
    tick=st.sampled_from(["7m", "25m", "1h", "3h"]),
    seed=st.integers(0, 1000),
)
def test_energy_is_conserved_and_bounded(
    cpu_mean: float, noise: float, diurnal: list[float], layout: list[str], tick: str, seed: int
) -> None:
    data = two_hosts(
        tick=tick,
        profiles=[
            {
                "name": "p",
                "systems": ["s"],
                "cpu_mean": cpu_mean,
                "noise": noise,
                "diurnal": diurnal,
            }
        ],
    )
    data["pools"][0].update(cpu_overcommit=4.0, memory_overcommit=2.0)
    data["systems"][0]["vms"] = [{"flavor": "f", "count": len(layout), "hosts": layout}]
    result = simulate(scenario_from_dict(copy.deepcopy(data)), seed=seed)
    e = result.summary["energy"]
    table = result.tables["energy"].to_pylist()
    hours = 10.0
    assert sum(r["kwh"] for r in table) == pytest.approx(e["facility_kwh"], abs=1e-5)
    assert sum(r["it_kwh"] for r in table) == pytest.approx(e["it_kwh"], abs=1e-5)
    assert e["host_classes"]["h"]["it_kwh"] == pytest.approx(e["it_kwh"], abs=1e-5)
    # Between two idle hosts and two hosts at peak, for every interval.
    assert 0.2 * hours - 1e-6 <= e["it_kwh"] <= 0.6 * hours + 1e-6
    assert all(0.2 - 1e-9 <= r["it_kw"] <= 0.6 + 1e-9 for r in table)
    assert all(0.0 <= r["cpu_utilisation"] <= 1.0 for r in table)
    assert e["facility_kwh"] == pytest.approx(1.5 * e["it_kwh"], abs=1e-5)
    # Every facility kWh is a department's or nobody's (idle capacity nobody holds).
    attributed = sum(d["facility_kwh"] for d in e["departments"].values())
    assert attributed + e["facility_kwh_unattributed"] == pytest.approx(e["facility_kwh"], abs=1e-5)
    assert e["facility_kwh_unattributed"] >= -1e-5
    systems = result.tables["energy_systems"].to_pylist()
    assert sum(s["facility_kwh"] for s in systems) == pytest.approx(attributed, abs=1e-5)
    # Contention only where the VMs on a host want more than its 4 threads.
    for host in ("ha", "hb"):
        if 2 * layout.count(host) <= 4:
            continue
        break
    else:
        assert e["cpu_unserved_core_h"] == 0
    vms = result.tables["vm_utilisation"].to_pylist()
    assert len(vms) == len(layout)
    assert all(0 <= v["cpu_utilisation_mean"] <= 1 for v in vms)
