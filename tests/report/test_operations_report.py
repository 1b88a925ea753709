"""The report's parts for maintenance drains, resizes, backups over the links and the MLPS
level-3 checks: drawn from what the run wrote, every figure traceable to summary.json."""

from __future__ import annotations

import json
from typing import Any

from cloudsim import Simulation
from cloudsim.report import render_run
from cloudsim.report.operations import _reasons
from tests.conftest import build
from tests.maintenance.test_drain import _one_system_data, spare
from tests.report.conftest import parse
from tests.report.test_sections import _check_numbers


def test_a_drain_has_its_own_section_with_the_systems_it_cost() -> None:
    data = _one_system_data()
    host = Simulation(build(data), seed=1).hosts.names[0]
    data["maintenance"] = {
        "drains": [{"name": "h0", "target": host, "start": "1d", "duration": "2h"}]
    }
    result = Simulation(build(data), seed=1).run()
    text = render_run(result)
    page = parse(text)
    assert "maintenance" in page.sections
    section = text[text.index('data-section="maintenance"') :]
    assert 'data-summary="maintenance.h0.hosts_done" data-value="1"' in section
    assert "hosts maintained (complete)" in section
    assert "not moved (anti_affinity 1)" in section
    assert "7,200 s</span> (2.00 h)" in section  # the drain's duration, seconds and hours
    listing = section[section.index('data-table="drain-systems-h0"') :].split("</table>")[0]
    assert listing.count("<tr>") == 2 and "anti_affinity 1" in listing
    assert _check_numbers(result, text) > 20


def test_a_run_without_drains_or_resizes_draws_none_of_them() -> None:
    result = Simulation(build(spare()), seed=3).run()
    assert "maintenance" in parse(render_run(result)).sections
    data = spare()
    del data["maintenance"]
    text = render_run(Simulation(build(data), seed=3).run())
    assert "maintenance" not in parse(text).sections
    assert "Resizes of running cloud hosts" not in text and "Backups over the links" not in text


def test_resizes_backups_and_mlps_are_reported_from_their_summary_blocks() -> None:
    result = Simulation(build(spare()), seed=3).run()
    summary: dict[str, Any] = json.loads(json.dumps(result.summary))
    summary["resizes"] = {
        "requests": 12, "accepted": 9, "accepted_up": 7, "accepted_down": 2, "refused": 3,
        "refused_by_reason": {"no_flavor": 2, "host_full_memory": 1},
    }  # fmt: skip
    summary.setdefault("dr", {})["backups"] = {
        "completed": 40, "full": 4, "skipped": 1, "queued": 0, "abandoned": 0,
        "mean_duration_s": 3600.0, "max_duration_s": 7200.0, "worst_age_end_s": 86400.0,
        "backlog_gb_end": 0.0,
    }  # fmt: skip
    summary["mlps"] = {
        "checks": "warn", "level3_systems": 2, "flagged": 1,
        "systems": [{"name": "one", "level": 3, "missing": ["hot redundancy"],
                     "design": "cold standby"}],
    }  # fmt: skip
    from cloudsim.results import RunResult

    edited = RunResult(summary=summary, metadata=result.metadata, tables=result.tables)
    text = render_run(edited)
    flat = " ".join(text.split())
    assert "</span> refused (host_full_memory 1, no_flavor 2)" in flat
    assert "Backups over the links:" in flat and "(1.00 h)" in flat and "(2.00 h)" in flat
    mlps = text[text.index('data-table="mlps"') :].split("</table>")[0]
    assert "one" in mlps and "hot redundancy" in mlps and "cold standby" in mlps
    assert _check_numbers(edited, text) > 20


def test_reasons_read_json_columns_and_mappings() -> None:
    assert _reasons('{"no_room": 1200, "policy": 2}') == "no_room 1,200, policy 2"
    assert _reasons({"anti_affinity": 1}) == "anti_affinity 1"
    assert _reasons("{}") == _reasons("") == _reasons(None) == ""
    assert _reasons("not json") == "not json"
