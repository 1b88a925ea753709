"""MLPS level-3 checks: real-time off-site backup and hot redundancy (GB/T 22239-2019)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import Simulation, load_scenario
from cloudsim.composition import world_of
from cloudsim.dr.mlps import HOT, REAL_TIME, mlps_gaps
from cloudsim.errors import ScenarioError
from tests.conftest import build, invoke
from tests.dr.builders import REPLICATION, dr_section
from tests.faults.builders import two_centres

ASYNC_ONLY = {"write_rate": "20Mbps", "asynchronous": {"to": "dr"}}
BACKUP_ONLY = {"backup": {"to": "dr", "interval": "1d", "size": "100GB"}}


def scenario_data(entry: dict[str, Any], *, level: int = 3, **meta: Any) -> dict[str, Any]:
    """The two-centre scenario with ``one`` (at dc1, city) designed by ``entry`` and of
    MLPS ``level``; ``both`` and ``two`` are level 2 (never checked)."""
    section = dr_section()
    section["systems"] = [{"match": "one", **entry}]
    data = two_centres({}, dr=section)
    data["meta"].update(meta)
    for system in data["systems"]:
        system["mlps_level"] = level if system["name"] == "one" else 2
    return data


def missing(entry: dict[str, Any], level: int = 3) -> set[str]:
    gaps = mlps_gaps(world_of(build(scenario_data(entry, level=level))))
    assert all(g.name == "one" for g in gaps)
    return set(gaps[0].missing) if gaps else set()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # a warm standby at the far site fed by asynchronous replication: both controls
        (
            {
                "mode": "active-standby",
                "standby": {"datacenter": "dr", "kind": "warm"},
                "replication": ASYNC_ONLY,
            },
            set(),
        ),
        # cold standby: created only at failover, so not hot
        (
            {
                "mode": "active-standby",
                "standby": {"datacenter": "dr", "kind": "cold"},
                "replication": ASYNC_ONLY,
            },
            {HOT},
        ),
        # a warm standby fed by daily backups only: periodic, not real time
        (
            {
                "mode": "active-standby",
                "standby": {"datacenter": "dr", "kind": "warm"},
                "replication": BACKUP_ONLY,
            },
            {REAL_TIME},
        ),
        # synchronous replication to a warm standby at another site is real time too
        (
            {
                "mode": "active-standby",
                "standby": {"datacenter": "dr", "kind": "warm"},
                "replication": {"sync": True},
            },
            set(),
        ),
        ({"mode": "backup-only", "replication": copy.deepcopy(REPLICATION)}, {HOT}),
        ({"mode": "backup-only", "replication": BACKUP_ONLY}, {HOT, REAL_TIME}),
        ({"mode": "none"}, {HOT, REAL_TIME}),
    ],
)
def test_each_design_lacks_exactly_what_level_3_asks_and_it_has_not(
    entry: dict[str, Any], expected: set[str]
) -> None:
    assert missing(entry) == expected
    assert missing(entry, level=4) == expected  # level 4 includes level 3's controls
    assert missing(entry, level=2) == set()  # level 2 is not checked


def test_a_same_city_pair_is_not_off_site_and_a_far_async_copy_is() -> None:
    data = scenario_data({"mode": "none"})
    data["systems"][0]["mlps_level"] = 3  # "both": dc1 + dc2, one site
    section = data["dr"]
    section["systems"] = [{"match": "both", "mode": "active-active"}]
    gaps = mlps_gaps(world_of(build(data)))
    pair = next(g for g in gaps if g.name == "both")
    assert pair.missing == (REAL_TIME,)
    section["systems"] = [
        {"match": "both", "mode": "active-active", "replication": ASYNC_ONLY},
        {
            "match": "one",
            "mode": "active-standby",
            "standby": {"datacenter": "dr", "kind": "warm"},
            "replication": ASYNC_ONLY,
        },
    ]
    assert mlps_gaps(world_of(build(data))) == []


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "mlps.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_strict_refuses_the_scenario_naming_the_file_and_the_system_field(tmp_path: Path) -> None:
    path = write(tmp_path, scenario_data({"mode": "none"}, mlps_checks="strict"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    text = str(problem)
    assert str(path) in text
    assert "systems[one].mlps_level" in text
    assert "GB/T 22239-2019" in text and "real-time off-site backup and hot redundancy" in text


def test_validate_warns_by_default_and_fails_with_strict(tmp_path: Path) -> None:
    path = write(tmp_path, scenario_data({"mode": "backup-only", "replication": BACKUP_ONLY}))
    code, out, err = invoke("validate", path)
    assert code == 0, err
    assert "valid" in out
    (warning,) = [line for line in err.splitlines() if "warning" in line]
    assert f"{path}: warning: systems[one].mlps_level: system 'one' is MLPS level 3" in warning
    assert "backup-only (dr.systems[0]), periodic backups only" in warning
    code, out, err = invoke("validate", path, "--strict")
    assert code == 2
    assert "systems[one].mlps_level" in err and str(path) in err
    code, out, err = invoke("validate", path, "--set", "meta.mlps_checks=ignore")
    assert code == 0 and "warning" not in err


def test_a_run_lists_the_flagged_systems_in_its_summary() -> None:
    data = scenario_data({"mode": "backup-only", "replication": BACKUP_ONLY}, horizon="2d")
    summary = Simulation(build(data), 1).run().summary
    assert summary["mlps"] == {
        "checks": "warn",
        "level3_systems": 1,
        "flagged": 1,
        "systems": [
            {
                "name": "one",
                "level": 3,
                "missing": [REAL_TIME, HOT],
                "design": "backup-only (dr.systems[0]), periodic backups only",
            }
        ],
    }
    data["meta"]["mlps_checks"] = "ignore"
    assert "mlps" not in Simulation(build(data), 1).run().summary


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(["active-standby", "backup-only", "none"]),
    kind=st.sampled_from(["warm", "cold"]),
    to=st.sampled_from([None, "dc2", "dr"]),
    backup=st.booleans(),
    level=st.integers(1, 5),
)
def test_adding_a_control_only_ever_removes_its_own_gap(
    mode: str, kind: str, to: str | None, backup: bool, level: int
) -> None:
    """Whatever the design: a system below level 3 is never flagged; giving it asynchronous
    replication to the far site removes 'real-time off-site backup' and nothing else
    changes; making it active-active with such replication removes every gap."""
    replication: dict[str, Any] = {}
    if to is not None:
        replication.update(write_rate="10Mbps", asynchronous={"to": to})
    if backup or mode == "backup-only":
        replication["backup"] = {"to": "dr", "interval": "1d", "size": "10GB"}
    entry: dict[str, Any] = {"mode": mode, "replication": replication}
    if mode == "active-standby":
        entry["standby"] = {"datacenter": "dr", "kind": kind}
    if mode == "none":
        entry.pop("replication")
    before = missing(entry, level)
    if level < 3:
        assert before == set()
        return
    far = copy.deepcopy(entry)
    far["replication"] = {**replication, "write_rate": "10Mbps", "asynchronous": {"to": "dr"}}
    if mode == "none":
        far["mode"] = "backup-only"  # a design with replication
        far["replication"]["backup"] = {"to": "dr", "interval": "1d", "size": "10GB"}
    after = missing(far, level)
    assert REAL_TIME not in after and after == before - {REAL_TIME}
    both = scenario_data({"mode": "none"}, level=level)
    assert both["systems"][0]["name"] == "both"
    both["systems"][0]["mlps_level"] = level
    both["dr"]["systems"] = [{"match": "both", "mode": "active-active", "replication": ASYNC_ONLY}]
    assert not [g for g in mlps_gaps(world_of(build(both))) if g.name == "both"]


def test_strict_names_generated_systems_by_name_not_by_index() -> None:
    """The Hunan DR scenario extends a file whose systems are a generated population: no
    item of the file is the system, so the finding is shown by the system's name."""
    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    code, _, err = invoke("validate", scenarios / "hunan-3s4c-dr.yaml", "--strict")
    assert code == 2
    lines = [line for line in err.splitlines() if "mlps_level" in line]
    assert len(lines) == 20
    assert all("systems[sys-" in line for line in lines), lines[0]
