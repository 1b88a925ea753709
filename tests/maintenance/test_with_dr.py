"""Migrations on the same links as DR's streams; the shipped drill's headline."""

from __future__ import annotations

from typing import Any

import pytest

from cloudsim import Simulation, load_scenario
from tests.conftest import REPO, build, module_of
from tests.dr.builders import dr_section
from tests.faults.builders import two_centres

GB = 1e9


def test_a_move_across_sites_crosses_the_wan_link_with_the_async_streams() -> None:
    """dc1 evacuated with DR on: 'one' (dc1 only) may go to the remote centre's standby
    pool, over the 10 Gbit/s dc1—dr link its asynchronous stream also uses. Every byte of
    the moves is carried by that link, never above its bandwidth, and each move takes at
    least its bytes over the link's bandwidth plus the 6 ms round trip."""
    data: dict[str, Any] = two_centres(
        {"scripted": []},
        dr=dr_section(),
        maintenance={
            "migration": {"max_bandwidth": "10Gbps"},
            "systems": [{"match": "one", "move_to": ["dr"]}, {"match": "*", "method": "refuse"}],
            "drains": [{"name": "d", "target": "dc1", "start": "1d", "parallel": 8}],
        },
    )
    data["meta"]["horizon"] = "3d"
    sim = Simulation(build(data), seed=1)
    links = sim.kernel.ctx.links
    network = links.network
    peak = [0.0]
    original = network._solve

    def solve() -> None:
        original()
        load = network.load()
        over = load - network.capacity
        peak[0] = max(peak[0], float(over.max()))

    network._solve = solve  # type: ignore[method-assign]
    result = sim.run()
    vms = [v for v in result.tables["maintenance_vms"].to_pylist() if v["system"] == "one"]
    assert len(vms) == 6 and all(v["to_datacenter"] == "dr" for v in vms)
    moved = sum(v["bytes_gb"] for v in vms) * GB
    wan = links._by_ends[frozenset((0, 2))]
    assert network.carried[wan] >= moved * (1 - 1e-9)
    assert peak[0] <= 1e-6 * 10 * GB / 8
    for v in vms:
        assert v["resumed"] - v["started"] >= v["bytes_gb"] * GB / (10 * GB / 8) + 0.006
    dr = module_of(sim, "dr", "controller")
    assert dr is not None and dr.flows is network  # one network for both modules


@pytest.mark.slow
def test_the_cs_idc_maintenance_drill() -> None:
    """Headline of scenarios/drills/maintenance-cs-idc.yaml: 76 of the 78 cs-idc hosts
    patched four at a time in about a day (the 2 holding container node VMs are skipped,
    not maintained); every movable VM moves live with sub-second pauses;
    what could not move is the single-centre systems' VMs (nowhere to go while their only
    centre's hosts are cordoned), one VM held by host anti-affinity and the container
    cloud's node VMs; no system goes down because of it; DR takes no action."""
    scenario = load_scenario(REPO / "scenarios" / "drills" / "maintenance-cs-idc.yaml")
    sim = Simulation(scenario, seed=scenario.meta.seed)
    result = sim.run()
    d = result.summary["maintenance"]["patch-cs-idc"]
    assert (d["hosts"], d["hosts_done"], d["complete"]) == (78, 76, True)
    assert d["hosts_not_emptied"] == d["not_moved_reasons"]["container_node"] == 2
    assert 20 * 3600 < d["duration_s"] < 30 * 3600
    assert d["moved_live"] + d["moved_cold"] + d["not_moved"] == d["vms"]
    assert d["moved_forced"] == 0 and d["moved_cold"] == 0
    assert d["max_pause_s"] < 0.3 + 0.05 + 0.001  # target + switchover + a round trip
    assert set(d["not_moved_reasons"]) <= {"no_other_centre", "anti_affinity", "container_node"}
    assert d["systems_down"] == 0 and d["service_down_s"] == 0
    assert result.summary["dr"]["failovers"] == 0
    availability = result.tables["availability"].to_pylist()
    assert min(a["availability"] for a in availability) == 1.0
    assert not sim.hosts.cordoned.any() or d["hosts_not_emptied"] > 0
