"""The report of a capacity plan folder (plan.json of `cloudsim plan`): rendered from the
shape issue 9 writes, and tolerantly from anything else."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cloudsim.report import ReportError, render
from tests.conftest import invoke
from tests.report.conftest import parse

PLAN: dict[str, Any] = {
    "scenario": "hunan-3s4c",
    "question": {"horizon": "3y", "growth_per_year": 0.3, "failures": ["cs-idc"]},
    "pools": [
        {
            "pool": "cs-idc-ext-x86",
            "datacenter": "cs-idc",
            "host_class": "x86-2x32c",
            "hosts_now": 42,
            "hosts_needed": 57,
            "change": 15,
            "binding": {
                "failure_set": "cs-dc2 down",
                "resource": "cpu",
                "month": 31,
                "detail": "absorbs cs-dc2's active-active half",
            },
            "runway": {"month": 19, "date": "2027-08"},
            "cost_delta_per_year": 412500.0,
        },
        {
            "pool": "yz-dr-ext-x86",
            "datacenter": "yz-dr",
            "host_class": "x86-2x32c",
            "hosts_now": 32,
            "hosts_needed": 30,
            "change": -2,
            "binding": None,
            "runway": {"month": None, "date": None},
            "cost_delta_per_year": -55000.0,
        },
    ],
    "datacenters": [
        {
            "datacenter": "cs-idc",
            "hosts_now": 78,
            "hosts_needed": 93,
            "cores_needed": 6400,
            "kw": 61.5,
            "cost_per_year": 2.1e6,
        },
    ],
    "platform": {
        "hosts_now": 216,
        "hosts_needed": 229,
        "cores_needed": 15800,
        "kw": 170.2,
        "cost_per_year": 5.9e6,
    },
    "verification": [
        {"run": "cs-idc down, month 36", "passed": True, "detail": "0 refused"},
        {"run": "cs-dc2 down, month 36", "passed": False, "detail": "3 refused: cpu"},
    ],
    "minimality": [{"pool": "cs-idc-ext-x86", "hosts": 56, "breaks": "cs-dc2 down, month 31"}],
    "unplaceable": [{"system": "hn-gpu-lab", "reason": "no aarch64 GPU hosts in its zone"}],
}


def _folder(tmp_path: Path, plan: Any) -> Path:
    folder = tmp_path / "plan"
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return folder


def test_a_plan_shows_pools_binding_runway_cost_and_checks(tmp_path: Path) -> None:
    text = render(_folder(tmp_path, PLAN))
    page = parse(text)
    assert page.sections == ["plan", "plan-checks"]
    assert page.charts == ["plan-hosts"]
    assert {
        "plan-pools",
        "plan-datacenters",
        "plan-platform",
        "plan-verification",
        "plan-minimality",
        "plan-unplaceable",
        "question",
    } <= set(page.tables)
    row = text[text.index("<td>cs-idc-ext-x86</td>") :].split("</tr>")[0]
    for cell in (
        "cs-idc",
        "x86-2x32c",
        ">42<",
        ">57<",
        ">15<",
        "cpu",
        "cs-dc2 down",
        ">31<",
        "absorbs cs-dc2",
        ">19<",
        "2027-08",
        "412,500",
    ):
        assert cell in row, cell
    other = text[text.index("<td>yz-dr-ext-x86</td>") :].split("</tr>")[0]
    assert other.count('class="blank"') == 6  # no binding (4 cells), no runway (2)
    assert "-55,000" in other
    assert '<span class="ok">passed</span>' in text and '<span class="fail">failed</span>' in text
    assert "no aarch64 GPU hosts in its zone" in text
    assert "http://" not in text and "https://" not in text


@pytest.mark.parametrize(
    "plan",
    [
        {},
        {"pools": "many"},
        {"pools": [{}], "datacenters": [None, 3], "platform": [], "verification": {}},
        {
            "pools": [
                {
                    "pool": "p",
                    "hosts_now": "lots",
                    "binding": "cpu",
                    "runway": 7,
                    "unknown": {"x": 1},
                }
            ],
            "extra": True,
        },
    ],
)
def test_a_plan_missing_or_odd_keys_still_renders(tmp_path: Path, plan: Any) -> None:
    page = parse(render(_folder(tmp_path, plan)))
    assert page.sections == ["plan", "plan-checks"]


def test_a_plan_that_is_not_an_object_is_a_clear_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, [1, 2])
    with pytest.raises(ReportError, match=re.escape("plan.json: expected a JSON object")):
        render(folder)
    (folder / "plan.json").write_text("{not json", encoding="utf-8")
    code, _, err = invoke("report", folder, "-o", tmp_path / "p.html")
    assert code == 2 and "plan.json: unreadable" in err and not (tmp_path / "p.html").exists()


def test_cli_report_of_a_plan_defaults_to_the_folder(tmp_path: Path) -> None:
    folder = _folder(tmp_path, PLAN)
    code, out, err = invoke("report", folder)
    assert code == 0, err
    assert (folder / "report.html").is_file() and "report of the plan" in out
