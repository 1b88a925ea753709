"""Each section appears exactly when its inputs exist: a run without faults, with faults
but no DR, with an energy block and/or an energy table (the energy module's outputs, made
here as fixtures)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from cloudsim import simulate
from cloudsim.report import render_run
from cloudsim.report.page import summary_value
from cloudsim.results import RunResult
from tests.conftest import build, tiny
from tests.faults.builders import IN_PLACE, exponential
from tests.report.conftest import last_digit, parse, shown_number


@pytest.fixture(scope="module")
def quiet_run() -> RunResult:
    """Thirty days of one centre, no faults, no DR, no containers."""
    return simulate(build(tiny()), seed=1)


def _check_numbers(result: RunResult, text: str) -> int:
    summary = json.loads(json.dumps(result.summary))
    count = 0
    for n in parse(text).numbers:
        if "data-summary" not in n:
            continue
        value = summary_value(summary, n["data-summary"])
        assert value is not None and float(n["data-value"]) == value
        shown = shown_number(n["text"])
        assert shown is not None and abs(shown - value) <= last_digit(n["text"]) / 2 + 1e-12
        count += 1
    return count


def test_a_run_without_faults_has_platform_and_evaluation_only(quiet_run: RunResult) -> None:
    text = render_run(quiet_run)
    page = parse(text)
    assert page.sections == ["platform", "evaluation"]
    assert "allocation-pools-dc1" in page.charts
    assert "No request for a cloud host arrived during the run." in text
    assert _check_numbers(quiet_run, text) > 10
    unmeasured = text[text.index("Not measurable by this run") :]
    assert "DR capability level per system" in unmeasured  # no dr section: not invented


def test_faults_without_dr_add_the_faults_section_but_no_dr_parts() -> None:
    data = tiny(
        faults={
            "host": {"time_to_failure": exponential("5d"), "repair": exponential("1d")},
            "local_ha": IN_PLACE,
        }
    )
    result = simulate(build(data), seed=3)
    assert result.tables["incidents"].num_rows > 0
    text = render_run(result)
    page = parse(text)
    assert page.sections == ["platform", "faults", "evaluation"]
    assert "incident-timeline" in page.charts and "availability" in page.charts
    assert "dr-levels" not in page.tables and "rto-rpo" not in page.charts
    assert not any(n.get("data-summary", "").startswith("dr.") for n in page.numbers)
    _check_numbers(result, text)


def _energy_table(result: RunResult) -> pa.Table:
    times = np.arange(0, 30 * 86400, 3600, dtype=np.float64)
    rows = len(times)
    return pa.table(
        {
            "time": np.concatenate([times, times]),
            "datacenter": ["dc1"] * (2 * rows),
            "pool": ["general"] * rows + ["other"] * rows,
            "it_kw": np.full(2 * rows, 2.0),
            "facility_kw": np.concatenate([np.full(rows, 3.0), np.full(rows, 1.5)]),
            "energy_kwh": np.full(2 * rows, 3.0),
        }
    )


ENERGY_BLOCK: dict[str, Any] = {
    "it_kwh": 1440.0,
    "facility_kwh": 2160.0,
    "average_kw": 3.0,
    "peak_kw": 4.25,
    "datacenters": {"dc1": {"facility_kwh": 2160.0, "cost": 1728.0, "cost_per_year": 21024.0}},
}


@pytest.mark.parametrize("block, table", [(True, True), (True, False), (False, True)])
def test_energy_and_cost_appear_with_either_input(
    quiet_run: RunResult, block: bool, table: bool
) -> None:
    summary = dict(quiet_run.summary)
    tables = dict(quiet_run.tables)
    if block:
        summary["energy"] = ENERGY_BLOCK
    if table:
        tables["energy"] = _energy_table(quiet_run)
    result = RunResult(summary=summary, metadata=quiet_run.metadata, tables=tables)
    text = render_run(result)
    page = parse(text)
    assert page.sections == ["platform", "energy", "evaluation"]
    assert ("energy-power" in page.charts) is table
    energy = {n["data-summary"]: n for n in page.numbers if "energy." in n.get("data-summary", "")}
    if block:
        assert set(energy) >= {
            "energy.it_kwh", "energy.peak_kw", "energy.datacenters.dc1.cost_per_year"
        }  # fmt: skip
        assert "energy cost" in text  # an indicator of the outcomes dimension
    else:
        assert not energy
    _check_numbers(result, text)
    if table:
        # the chart's caption names the column it drew: facility power summed per centre
        assert "facility_kw of energy.parquet summed over the centre" in text


def test_an_energy_table_without_a_power_column_is_described_not_drawn(
    quiet_run: RunResult,
) -> None:
    tables = dict(quiet_run.tables)
    tables["energy"] = pa.table({"time": [0.0], "datacenter": ["dc1"], "kwh": [1.0]})
    text = render_run(RunResult(quiet_run.summary, quiet_run.metadata, tables))
    page = parse(text)
    assert "energy" in page.sections and "energy-power" not in page.charts
    assert "has no time, datacenter and power (kW) columns" in text


def test_power_per_centre_sums_the_pools_of_each_centre(quiet_run: RunResult) -> None:
    from cloudsim.report.run import power_column, power_per_centre

    energy = _energy_table(quiet_run).to_pandas()
    assert power_column(energy) == "facility_kw"
    assert power_column(energy.drop(columns=["facility_kw"])) == "it_kw"
    per_dc = power_per_centre(energy, "facility_kw")
    assert len(per_dc) == 30 * 24 and set(per_dc["facility_kw"]) == {4.5}  # 3.0 + 1.5


def test_the_timeline_zooms_only_onto_incidents_within_a_fifth_of_the_horizon() -> None:
    from cloudsim.report.run import timeline_window

    day = 86400.0
    assert timeline_window([], 10 * day) == (0.0, 10 * day)
    assert timeline_window([(1 * day, 5 * day)], 10 * day) == (0.0, 10 * day)
    # one hour of incidents at 10:00 of a 3-day drill: 6 min margins
    assert timeline_window([(36000.0, 39600.0)], 3 * day) == (35640.0, 39960.0)
    assert timeline_window([(10.0, 20.0)], 3 * day) == (0.0, 80.0)  # at least a minute
    assert timeline_window([(1.0, 2.0)], None) is None


def test_incident_states_follow_the_incident_columns() -> None:
    from cloudsim.report.run import incident_states

    nan = float("nan")
    base = {"failed_at": 100.0, "repaired_at": 5000.0, "split_brain_s": 0.0}
    # restore from backup: down 100-4000, restoring 500-3900 inside it, then failed over
    restore = {
        **base, "restored_at": 6000.0, "service_restored_at": 4000.0, "system_down_s": 3900.0,
        "dr_action": "restore", "decided_at": 500.0, "completed_at": 3900.0, "restored_by": "dr",
    }  # fmt: skip
    assert incident_states(restore) == [
        ("down", 100.0, 4000.0), ("restoring", 500.0, 3900.0), ("failed over", 4000.0, 6000.0)
    ]  # fmt: skip
    # local restart without DR: down until service back, then degraded until all VMs run
    repair = {
        **base, "restored_at": 900.0, "service_restored_at": 300.0, "system_down_s": 200.0,
        "dr_action": "", "decided_at": nan, "completed_at": nan, "restored_by": "repair",
    }  # fmt: skip
    assert incident_states(repair) == [("down", 100.0, 300.0), ("degraded", 300.0, 900.0)]
    # a link cut: no VM stopped, failover in 3 s, split-brain 1000 s, over at the repair
    cut = {
        **base, "restored_at": nan, "service_restored_at": 103.0, "system_down_s": 3.0,
        "dr_action": "failover", "decided_at": 103.0, "completed_at": 104.0, "restored_by": "dr",
        "split_brain_s": 1000.0,
    }  # fmt: skip
    assert incident_states(cut) == [
        ("down", 100.0, 103.0), ("failed over", 103.0, 5000.0), ("split-brain", 104.0, 1104.0)
    ]  # fmt: skip
    # a system that stayed up: degraded only
    up = {**base, "restored_at": 700.0, "service_restored_at": nan, "system_down_s": 0.0}
    assert incident_states(up) == [("degraded", 100.0, 700.0)]


def test_the_energy_cost_indicator_gives_the_total_then_one_line_per_centre() -> None:
    from cloudsim.report.evaluation import indicators

    block = {
        "currency": "CNY",
        "cost": 12345.5,
        "electricity_cost": 2345.5,
        "capital_cost": 10000.0,
        "datacenters": {
            "cs.idc": {"cost": 8000.25, "electricity_cost": 1000.25, "capital_cost": 7000.0},
            "yz-dr": {"cost": 4345.25, "it_kwh": 10.0},
        },
    }
    found, missing = indicators({"energy": block}, lambda name: None)
    (cost,) = [i for i in found if i.name == "energy cost"]
    lines = cost.value.split("<br>")
    assert len(lines) == 3
    assert lines[0].startswith(
        '<span data-summary="energy.cost" data-value="12345.5">12,346</span>'
    )
    assert "CNY over the run" in lines[0] and ">2,346<" in lines[0] and ">10,000<" in lines[0]
    assert (
        lines[1].startswith("cs.idc: cost ")
        and "energy.datacenters.cs.idc.capital_cost" in lines[1]
    )
    assert lines[2].startswith("yz-dr: cost ") and "it_kwh" not in lines[2]
    assert [u.name for u in missing if u.dimension == "outcomes"] == ["cost saving"]
