"""The ``dr`` section: clear problems for bad input, and the extended fault schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from cloudsim import ScenarioError, load_scenario, world_of
from cloudsim.cli import app
from cloudsim.dr.plan import build_plan
from cloudsim.scenario.faults import ScriptedFault
from tests.conftest import REPO, build
from tests.dr.builders import centre_down, dr_section
from tests.faults.builders import two_centres


def problems(dr: dict[str, Any], faults: dict[str, Any] | None = None) -> list[Any]:
    with pytest.raises(ScenarioError) as info:
        build(two_centres(faults, dr=dr))
    return info.value.problems


def only(dr: dict[str, Any], path: str, faults: dict[str, Any] | None = None) -> str:
    found = [p for p in problems(dr, faults) if p.path == path]
    assert len(found) == 1, problems(dr, faults)
    assert found[0].file == "<scenario>"
    return str(found[0].message)


def test_the_builders_and_the_reference_dr_scenario_are_valid() -> None:
    scenario = build(two_centres(dr=dr_section()))
    plans = {p.name: p for p in build_plan(world_of(scenario))}
    assert plans["both"].mode == "active-active" and plans["both"].sync
    assert plans["one"].mode == "active-standby" and not plans["one"].sync
    assert plans["two"].mode == "none"
    assert plans["one"].need == 3 and plans["both"].need == 4
    hunan = load_scenario(REPO / "scenarios" / "hunan-3s4c-dr.yaml")
    modes = {p.mode for p in build_plan(world_of(hunan))}
    assert modes == {"active-active", "active-standby", "backup-only"}


def test_unknown_policy_names_are_problems_with_a_hint() -> None:
    message = only(dr_section("witness-quorom"), "dr.failover.name")
    assert "unknown failover policy 'witness-quorom'; did you mean 'witness-quorum'?" in message
    dr = dr_section(failback={"name": "never-back"})
    assert "unknown failover policy 'never-back'" in only(dr, "dr.failback.name")


def test_bad_policy_parameters_are_problems() -> None:
    dr = dr_section()
    dr["failover"] = {"name": "manual", "params": {"respons": "10m"}}
    assert "unknown parameter 'respons'" in only(dr, "dr.failover.params")
    dr["failover"] = {"name": "manual", "params": {"response": {"distribution": "gamma"}}}
    assert "lognormal, exponential or fixed" in only(dr, "dr.failover.params")


def test_a_synchronous_pair_over_the_rtt_limit_is_refused() -> None:
    dr = dr_section(sync_rtt_limit_ms=0.2)  # dc1—dc2 is 30 km: 0.3 ms round trip
    message = only(dr, "dr.systems[pair].replication.sync")
    assert "round trip 0.3 ms is over the limit of 0.2 ms (dr.sync_rtt_limit_ms)" in message
    dr = dr_section(sync_rtt_limit_ms=2)
    dr["systems"][1]["replication"]["sync"] = True  # to the standby 300 km away: 3 ms
    message = only(dr, "dr.systems[1].replication.sync")
    assert "system 'one' (dc1) between dc1 and dr: round trip 3 ms is over the limit" in message


def test_an_active_active_system_needs_exactly_two_centres() -> None:
    dr = dr_section()
    dr["systems"][0]["match"] = "one"  # a system of one centre
    message = only(dr, "dr.systems[pair].mode")
    assert "active-active needs exactly two centres; system 'one' (dc1) has 1" in message


def test_unknown_centres_and_systems_in_the_dr_section() -> None:
    dr = dr_section()
    dr["systems"][1]["standby"]["datacenter"] = "dr2"
    assert "unknown data centre 'dr2'; did you mean 'dr'?" in only(
        dr, "dr.systems[1].standby.datacenter"
    )
    dr = dr_section()
    dr["systems"][0]["datacenters"] = ["dc1", "dc3"]
    assert "unknown data centre 'dc3'" in only(dr, "dr.systems[pair].datacenters[1]")
    dr = dr_section()
    dr["systems"][1]["match"] = "onee"
    assert "unknown system 'onee'; did you mean 'one'?" in only(dr, "dr.systems[1].match")
    dr = dr_section()
    dr["systems"].append({"match": "b*", "mode": "none"})  # 'both' was taken by 'pair'
    assert "selects no system" in only(dr, "dr.systems[2].match")
    dr = dr_section(witness_site="farr")
    assert "unknown site 'farr'; did you mean 'far'?" in only(dr, "dr.witness_site")


def test_a_standby_in_the_systems_own_centre_is_refused() -> None:
    dr = dr_section()
    dr["systems"][1]["standby"]["datacenter"] = "dc1"
    assert "must be another centre than its own" in only(dr, "dr.systems[1].standby.datacenter")


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        ({"mode": "active-standby", "standby": None}, "dr.systems[1]", "needs a standby"),
        (
            {"mode": "backup-only", "standby": None, "replication": {"write_rate": "1Mbps"}},
            "dr.systems[1]",
            "needs replication.backup",
        ),
        (
            {"replication": {"write_rate": "1Mbps", "write_rate_per_vm": "1Mbps"}},
            "dr.systems[1].replication",
            "not both",
        ),
        (
            {"replication": {"diurnal": [1.0] * 23}},
            "dr.systems[1].replication.diurnal",
            "24 hourly multipliers",
        ),
    ],
)
def test_schema_problems_of_system_entries(
    change: dict[str, Any], path: str, expected: str
) -> None:
    dr = dr_section()
    dr["systems"][1] = {**dr["systems"][1], **change}
    assert expected in only(dr, path)


def test_the_tick_must_divide_an_hour_and_witness_sites_must_agree() -> None:
    assert "tick must divide one hour" in only(dr_section(tick="7m"), "dr.tick")
    message = only(dr_section(), "faults.witness_site", {"witness_site": "city"})
    assert "differs from dr.witness_site 'far'" in message


def test_fault_effects_are_checked() -> None:
    corrupt = {"target": "portal", "effect": "corrupt", "at": "1d", "duration": "1h"}
    message = only(dr_section(), "faults.scripted[0].target", {"scripted": [corrupt]})
    assert "effect corrupt targets a business system; no system 'portal'" in message
    degrade = {"target": "dc1", "effect": "degrade", "loss": 0.1, "at": "1d", "duration": "1h"}
    message = only(dr_section(), "faults.scripted[0].target", {"scripted": [degrade]})
    assert "'dc1' is a datacenter; effect degrade applies to links" in message
    flap = {"target": "dc1--dc2", "at": "1d", "duration": "1h", "times": 3}
    assert "needs every" in only(dr_section(), "faults.scripted[0]", {"scripted": [flap]})


def test_scripted_repetitions_and_degradations_parse() -> None:
    fault = ScriptedFault.model_validate(
        {
            "target": "a--b",
            "effect": "degrade",
            "loss": 0.3,
            "extra_latency_ms": 2,
            "at": "1h",
            "duration": "3m",
            "every": "15m",
            "times": 3,
        }
    )
    assert fault.starts(3600.0) == [3600.0, 4500.0, 5400.0]
    with pytest.raises(ValueError, match="loss > 0 or extra_latency_ms > 0"):
        ScriptedFault.model_validate({"target": "x", "effect": "degrade", "at": 0, "duration": 1})
    with pytest.raises(ValueError, match="must be longer than duration"):
        ScriptedFault.model_validate(
            {"target": "x", "at": 0, "duration": "10m", "every": "5m", "times": 2}
        )


def test_trace_paths_are_relative_to_the_scenario_file(tmp_path: Path) -> None:
    folder = tmp_path / "drills"
    folder.mkdir()
    pq.write_table(
        pa.table(
            {
                "failure_interval": pa.array([3_600_000], pa.int64()),
                "failure_duration": pa.array([60_000], pa.int64()),
                "failure_intensity": pa.array([0.5]),
            }
        ),
        folder / "trace.parquet",
    )
    data = two_centres({"traces": [{"name": "t", "path": "trace.parquet"}]})
    (folder / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    scenario = load_scenario(folder / "s.yaml")  # read from any working directory
    assert scenario.faults is not None
    assert Path(scenario.faults.traces[0].path) == folder / "trace.parquet"


def test_the_terminal_summary_has_a_dr_block(tmp_path: Path) -> None:
    data = two_centres({"scripted": [centre_down()]}, dr=dr_section())
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o"), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "availability: mean" in result.output
    assert "DR (witness-quorum, witness witness@far): 2 failovers (0 unnecessary)" in result.output
    # the dc1-dc2 pair is in one city (not a remote cluster): level 5 at most, as for the
    # standby replicating asynchronously
    assert "GB/T 20988 L5: 2, L0: 1" in result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["dr"]["failovers"] == 2 and summary["dr"]["gbt20988_levels"] == {
        "5": 2,
        "0": 1,
    }
