"""Small scenarios with a ``dr`` section, shared by the DR tests.

Built on :func:`tests.faults.builders.two_centres`: centres dc1 and dc2 in one city (30 km),
a remote centre ``dr`` at site ``far`` (300 km) with standby pools, the witness (when
asked for) at ``far``; systems ``both`` (active-active over dc1/dc2), ``one`` (dc1 only)
and ``two`` (dc2 only).
"""

from __future__ import annotations

import copy
from typing import Any

from cloudsim import Scenario, Simulation
from tests.conftest import build
from tests.faults.builders import two_centres

#: Replication of every DR-managed system: 20 Mbit/s of writes, async to dr, daily backups.
REPLICATION: dict[str, Any] = {
    "write_rate": "20Mbps",
    "asynchronous": {"to": "dr"},
    "backup": {"to": "dr", "interval": "1d", "size": "100GB", "bandwidth": "1Gbps"},
}


def dr_section(
    policy: str = "witness-quorum",
    *,
    witness: bool = True,
    failback: dict[str, Any] | None = None,
    one: str = "warm",
    **extra: Any,
) -> dict[str, Any]:
    """``both`` active-active (cold third leg at dr), ``one`` active-standby (``one`` is the
    standby kind, or "backup-only"), ``two`` mode none."""
    one_entry: dict[str, Any] = (
        {"match": "one", "mode": "backup-only", "replication": copy.deepcopy(REPLICATION)}
        if one == "backup-only"
        else {
            "match": "one",
            "mode": "active-standby",
            "standby": {"datacenter": "dr", "kind": one, "start_time": "2m"},
            "replication": copy.deepcopy(REPLICATION),
        }
    )
    section: dict[str, Any] = {
        "witness_site": "far" if witness else None,
        "failover": {"name": policy},
        "failback": failback or {"name": "automatic-failback", "params": {"stable_for": "10m"}},
        "start_time": "2m",
        "systems": [
            {
                "name": "pair",
                "match": "both",
                "mode": "active-active",
                "standby": {"datacenter": "dr", "kind": "cold", "start_time": "5m"},
                "replication": copy.deepcopy(REPLICATION),
            },
            one_entry,
        ],
    }
    section.update(extra)
    return section


def dr_scenario(
    scripted: list[dict[str, Any]] | None = None,
    *,
    horizon: str = "10d",
    faults: dict[str, Any] | None = None,
    **dr: Any,
) -> Scenario:
    section = {"scripted": scripted or [], **(faults or {})}
    data = two_centres(section, dr=dr_section(**dr))
    data["meta"]["horizon"] = horizon
    return build(data)


def run(scenario: Scenario, seed: int = 1) -> Simulation:
    sim = Simulation(scenario, seed)
    sim.run(steps=1)
    return sim


def cut(at: str = "1d", duration: str = "20m", name: str = "cut") -> dict[str, Any]:
    return {"name": name, "target": "dc1--dc2", "at": at, "duration": duration}


def centre_down(
    dc: str = "dc1", at: str = "1d", duration: str = "6h", name: str = "power"
) -> dict[str, Any]:
    return {"name": name, "target": dc, "at": at, "duration": duration}
