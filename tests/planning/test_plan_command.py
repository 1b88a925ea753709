"""``cloudsim plan`` end to end: the folder, the planned scenarios, verification, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import load_scenario
from cloudsim.planning.command import make_plan
from tests.conftest import REPO, invoke
from tests.planning.builders import closed_form, pair_data

SHORT = ["--years", "0.1", "--quiet"]


def write(tmp: Path, data: dict[str, Any], name: str = "pair.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_plan_writes_a_verified_plan_and_runnable_scenarios(tmp_path: Path) -> None:
    source = write(tmp_path, pair_data(3, 4))
    out = tmp_path / "runs" / "plan"
    code, stdout, err = invoke("plan", source, "--out", out, *SHORT)
    assert code == 0, err
    assert "verification dc-a: passed" in stdout
    doc = json.loads((out / "plan.json").read_text())
    pools = {p["pool"]: p for p in doc["pools"]}
    assert pools["a"]["hosts_now"] == 2 and pools["a"]["hosts_needed"] == closed_form(3, 4)
    assert pools["a"]["change"] == closed_form(3, 4) - 2
    assert pools["a"]["binding"]["failure_set"] == "dc-b"
    assert pools["a"]["binding"]["resource"] == "anti_affinity"
    assert {m["pool"] for m in doc["minimality"]} == {"a", "b"}
    assert all("dc-" in m["breaks"] for m in doc["minimality"])
    assert [v["run"] for v in doc["verification"]] == ["growth", "dc-a", "dc-b", "dc-r"]
    assert all(v["passed"] for v in doc["verification"])
    assert doc["platform"]["hosts_needed"] == 2 * closed_form(3, 4)
    assert doc["datacenters"][0]["datacenter"] == "dc-a"
    # the planned scenario is the input with the planned counts; cloudsim run takes it
    planned = load_scenario(out / "planned.yaml")
    assert [p.hosts[0].count for p in planned.pools] == [closed_form(3, 4)] * 2
    assert yaml.safe_load((out / "planned.yaml").read_text())["extends"] == "../../pair.yaml"
    failure = load_scenario(out / "verify" / "dc-a.yaml")
    assert [f.target for f in failure.faults.scripted] == ["dc-a"]  # type: ignore[union-attr]
    code, _, err = invoke("run", out / "planned.yaml", "--out", tmp_path / "check", "--quiet")
    assert code == 0, err
    # the report of the plan's folder (it may live in the folder: a plan owns report.html)
    code, _, err = invoke("report", out)
    assert code == 0, err
    page = (out / "report.html").read_text()
    assert "dc-b" in page and "anti_affinity" in page


def test_runway_only_changes_nothing(tmp_path: Path) -> None:
    source = write(tmp_path, pair_data(3, 4, hosts=1))
    out = tmp_path / "runway"
    code, stdout, err = invoke("plan", source, "--out", out, "--runway", *SHORT)
    assert code == 0, err
    doc = json.loads((out / "plan.json").read_text())
    assert doc["mode"] == "runway" and doc["verification"] == []
    assert all(p["change"] == 0 for p in doc["pools"])
    assert doc["runway_platform"]["month"] == 0  # two hosts cannot take the inventory
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"]
    assert "Runway: pair" in stdout
    code, _, err = invoke("report", out)
    assert code == 0, err
    page = (out / "report.html").read_text()
    assert "Runway at today&#x27;s size" in page or "Runway at today's size" in page
    assert "no search was made" in page


def test_a_second_plan_replaces_the_first_whole(tmp_path: Path) -> None:
    source = write(tmp_path, pair_data(1, 2))
    out = tmp_path / "plan"
    assert invoke("plan", source, "--out", out, *SHORT, "--no-verify")[0] == 0
    assert (out / "planned.yaml").exists()
    assert invoke("plan", source, "--out", out, *SHORT, "--runway")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"]  # no stale planned files


def test_a_folder_holding_other_files_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path, pair_data(1, 2))
    out = tmp_path / "plan"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = invoke("plan", source, "--out", out, *SHORT)
    assert code == 2
    assert "notes.txt" in err
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"survive": [{"name": "both", "datacenters": ["dc-a", "dc-x"]}]},
            "plan.survive[both].datacenters[1]: unknown data centre 'dc-x'",
        ),
        ({"pools": [{"match": "nothing-*"}]}, "plan.pools[0].match: 'nothing-*' matches no pool"),
        (
            {"pools": [{"match": "*", "host_class": "hh"}]},
            "plan.pools[0].host_class: unknown host class 'hh'",
        ),
        ({"years": 0}, "plan.years: Input should be greater than 0"),
        ({"max_reject": 1.5}, "plan.max_reject: Input should be less than 1"),
        ({"objective": "speed"}, "plan.objective: Input should be 'hosts' or 'cost'"),
        (
            {"costs": {"host_classes": {"zz": 1000}}},
            "plan.costs.host_classes.zz: unknown host class 'zz'",
        ),
        (
            {"survive": [{"name": "growth", "datacenters": ["dc-a"]}]},
            "'growth' is the name of the check without failures",
        ),
        (
            {"survive": [{"name": "../escaped", "datacenters": ["dc-a"]}]},
            "plan.survive",
        ),
    ],
)
def test_a_bad_plan_section_names_the_field(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    data = pair_data(1, 2)
    data["plan"].update(change)
    source = write(tmp_path, data)
    code, _, err = invoke("plan", source, "--out", tmp_path / "out", "--quiet", "--no-verify")
    assert code == 2
    assert expected in " ".join(err.split()), err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_options_set_the_plan_section(tmp_path: Path) -> None:
    data = pair_data(1, 2)
    del data["plan"]
    source = write(tmp_path, data)
    out = tmp_path / "plan"
    code, _, err = invoke(
        "plan", source, "--out", out, "--survive", "site", "--max-reject", "0.05",
        "--objective", "cost", "--no-verify", *SHORT,
    )  # fmt: skip
    assert code == 0, err
    question = json.loads((out / "plan.json").read_text())["question"]
    assert question["survive"] == "site" and question["max_reject"] == 0.05
    assert question["objective"] == "cost" and question["years"] == 0.1
    assert question["failure_sets"]["city"] == ["dc-a", "dc-b"]
    code, _, err = invoke("plan", source, "--out", out, "--survive", "rack", *SHORT)
    assert code == 2


def test_a_plan_that_fails_its_verification_says_so(tmp_path: Path) -> None:
    """Without a witness the quorum policy never fails the pair over: the packing says the
    capacity is there, the runs show the systems waiting for the repair; exit 1."""
    data = pair_data(2, 4)
    data["dr"].pop("witness_site")
    source = write(tmp_path, data)
    out = tmp_path / "plan"
    code, _, err = invoke("plan", source, "--out", out, *SHORT)
    assert code == 1
    assert "failed its verification" in err
    doc = json.loads((out / "plan.json").read_text())
    failed = {v["run"]: v for v in doc["verification"] if not v["passed"]}
    assert set(failed) == {"dc-a", "dc-b"}
    assert "no recovery started before the repair: s0, s1" in failed["dc-a"]["detail"]


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    systems=st.integers(1, 4),
    vms=st.integers(1, 6),
    fraction=st.sampled_from([0.5, 1.0]),
    anti=st.sampled_from(["host", "none"]),
)
def test_every_returned_plan_passes_its_verification(
    tmp_path_factory: pytest.TempPathFactory, systems: int, vms: int, fraction: float, anti: str
) -> None:
    tmp = tmp_path_factory.mktemp("plan")
    source = write(tmp, pair_data(systems, vms, fraction=fraction, anti_affinity=anti))
    done = make_plan(source, ["plan.years=0.1"], tmp / "out")
    assert done.verified, done.document["verification"]


@pytest.mark.slow
def test_the_hunan_plan_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    code, stdout, err = invoke(
        "plan", REPO / "scenarios" / "hunan-3s4c-dr.yaml", "--survive", "datacenter",
        "--years", "0.25", "--out", out, "--quiet",
        "--set", "plan.pools=[{match: '*', shrink: true}]",
    )  # fmt: skip
    assert code == 0, err + stdout
    doc = json.loads((out / "plan.json").read_text())
    assert [v["run"] for v in doc["verification"]] == [
        "growth", "cs-idc", "cs-dc2", "yz-dr", "cz-bak"
    ]  # fmt: skip
    assert all(v["passed"] for v in doc["verification"])
    assert doc["platform"]["hosts_now"] == 216
    changed = [p for p in doc["pools"] if p["change"]]
    assert changed and doc["platform"]["hosts_needed"] < 216  # shrinking allowed: fewer hosts
    proved = {m["pool"]: m["breaks"] for m in doc["minimality"]}
    assert {p["pool"] for p in changed if p["hosts_needed"] > 0} == set(proved)
    assert all(": " in breaks and "not minimal" not in breaks for breaks in proved.values())
    assert {p["pool"] for p in doc["pools"] if not p["plannable"]} == {
        "cz-bak-storage", "cs-idc-int-k8s", "cs-dc2-int-k8s"
    }  # fmt: skip


def test_a_host_class_of_another_architecture_is_refused(tmp_path: Path) -> None:
    data = pair_data(1, 2)
    data["host_classes"].append(
        {"name": "arm", "cores": 48, "memory": "512GiB", "disk": "10TB", "arch": "aarch64"}
    )
    data["plan"]["pools"] = [{"match": "*", "host_class": "arm"}]
    code, _, err = invoke("plan", write(tmp_path, data), "--out", tmp_path / "out", *SHORT)
    assert code == 2
    assert "plan.pools[0].host_class: host class 'arm' is aarch64; pool 'a' holds x86_64" in (
        " ".join(err.split())
    )


def test_overrides_and_seed_reach_the_planned_scenario(tmp_path: Path) -> None:
    """What the plan was made for is what planned.yaml runs: --set overrides (list items by
    name) and the seed are written into it."""
    source = write(tmp_path, pair_data(2, 4))
    out = tmp_path / "plan"
    code, _, err = invoke(
        "plan", source, "--out", out, "--seed", "11", "--no-verify", *SHORT,
        "--set", "pools[a].cpu_overcommit=2", "--set", "workload.arrivals_per_day=0.5",
    )  # fmt: skip
    assert code == 0, err
    planned = load_scenario(out / "planned.yaml")
    assert planned.meta.seed == 11
    assert planned.pools[0].cpu_overcommit == 2 and planned.pools[1].cpu_overcommit == 1
    assert planned.workload.arrivals_per_day == 0.5
    code, _, err = invoke(
        "plan", source, "--out", out, "--no-verify", *SHORT, "--set", "systems.0.vms.0.count=3"
    )
    assert code == 2
    assert "cannot be carried into planned.yaml" in err


def test_a_site_loss_is_verified_as_one_loss(tmp_path: Path) -> None:
    """A set of two centres fails as two faults; a system restored by DR in one incident is
    not failed by the other saying "repair"."""
    data = pair_data(2, 4, survive="site")
    data["pools"].append(
        {"name": "r", "datacenter": "dc-r", "zone": "z", "hosts": [{"host_class": "h", "count": 1}]}
    )
    data["dr"]["systems"][0]["standby"] = {"datacenter": "dc-r", "kind": "cold"}
    source = write(tmp_path, data)
    out = tmp_path / "plan"
    code, stdout, err = invoke("plan", source, "--out", out, *SHORT)
    assert code == 0, err + stdout
    doc = json.loads((out / "plan.json").read_text())
    assert [v["run"] for v in doc["verification"]] == ["growth", "dc-a", "dc-b", "dc-r", "city"]
    assert all(v["passed"] for v in doc["verification"]), doc["verification"]
    assert {p["pool"]: p["hosts_needed"] for p in doc["pools"]}["r"] == closed_form(2, 4, "none")
