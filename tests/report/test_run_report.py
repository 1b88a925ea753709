"""The report of a run: written with the run as part of its folder, sections of what the
run has, every number equal to summary.json, nothing fetched from the network."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from cloudsim.report import render
from cloudsim.report.page import summary_value
from cloudsim.results import check_replaceable
from tests.conftest import invoke, tiny
from tests.report.conftest import last_digit, parse, shown_number


def test_run_report_writes_the_page_inside_the_run_folder(drill_run: Path) -> None:
    names = sorted(p.name for p in drill_run.iterdir())
    assert "report.html" in names and "summary.json" in names
    assert not [n for n in names if n.startswith(".")]  # no temporary left
    check_replaceable(drill_run)  # a report is a run's file: the folder stays replaceable
    # nothing beside the folder either (built in the temporary folder, swapped in whole)
    assert [p.name for p in drill_run.parent.iterdir()] == [drill_run.name]


def test_a_later_run_without_report_replaces_the_folder_whole(tmp_path: Path) -> None:
    import yaml

    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny()))
    out = tmp_path / "run"
    code, _, err = invoke("run", scenario, "--out", out, "--report", "-q")
    assert code == 0, err
    assert (out / "report.html").is_file()
    assert render(out) == (out / "report.html").read_text(encoding="utf-8")
    code, _, err = invoke("run", scenario, "--out", out, "-q", "--seed", "2")
    assert code == 0, err
    assert not (out / "report.html").exists()  # one complete run per folder: no stale page
    code, _, err = invoke("report", out)
    assert code == 0, err
    check_replaceable(out)  # a report written afterwards keeps the folder a run's
    code, _, err = invoke("run", scenario, "--out", out, "-q")
    assert code == 0, err
    assert not (out / "report.html").exists()


def test_sections_of_a_drill_with_dr_and_containers(drill_run: Path) -> None:
    page = parse((drill_run / "report.html").read_text(encoding="utf-8"))
    assert page.sections == ["platform", "faults", "containers", "evaluation"]
    assert {
        "allocation-datacenters",
        "requests-by-month",
        "incident-timeline",
        "rto-rpo",
        "availability",
        "cluster-nodes-pods",
        "cluster-fragmentation",
        "pod-waits",
        "hpa-zwfw-api",
        "hpa-xyb-api",
    } <= set(page.charts)
    assert {"datacenters", "dr-levels", "clusters", "services", "indicators"} <= set(page.tables)
    pools = [c for c in page.charts if c.startswith("allocation-pools-")]
    assert sorted(pools) == [
        f"allocation-pools-{dc}" for dc in ("cs-dc2", "cs-idc", "cz-bak", "yz-dr")
    ]


def test_every_number_equals_summary_json(drill_run: Path) -> None:
    summary = json.loads((drill_run / "summary.json").read_text(encoding="utf-8"))
    page = parse((drill_run / "report.html").read_text(encoding="utf-8"))
    sourced = [n for n in page.numbers if "data-summary" in n]
    assert len(sourced) > 120
    paths = {n["data-summary"] for n in sourced}
    for required in (
        "hosts", "physical_cores", "vms_rejected", "rejection_ratio", "availability.mean",
        "dr.worst_rto_s", "dr.worst_rpo_s", "dr.data_lost_gb", "dr.failovers",
        "datacenters.cs-idc.cpu_allocated_ratio",
        "containers.clusters.cs-k8s.wait_s_p95", "containers.services.zwfw-api.availability",
        "faults.vms_stopped",
    ):  # fmt: skip
        assert required in paths, required
    levels = summary["dr"]["gbt20988_levels"]  # whichever levels the drill's systems meet
    assert levels and all(f"dr.gbt20988_levels.{k}" in paths for k in levels)
    for n in sourced:
        value = summary_value(summary, n["data-summary"])
        assert value is not None, n["data-summary"]
        if isinstance(value, str):
            assert n["data-value"] == value and n["text"] == value
            continue
        assert float(n["data-value"]) == value, n["data-summary"]
        shown = shown_number(n["text"])
        assert shown is not None, (n["data-summary"], n["text"])
        # equal to the value rounded to the digits shown (half a unit of the last one)
        assert abs(shown - value) <= last_digit(n["text"]) / 2 + 1e-12, (n, value)


def test_derived_indicators_are_computed_from_the_tables(drill_run: Path) -> None:
    import pyarrow.parquet as pq

    page = parse((drill_run / "report.html").read_text(encoding="utf-8"))
    derived = {
        n["data-derived"]: float(n["data-value"]) for n in page.numbers if "data-derived" in n
    }
    incidents = pq.read_table(drill_run / "incidents.parquet").to_pandas()
    down = incidents[incidents["system_down_s"] > 0]
    assert derived["incidents.parquet rto_s where system_down_s > 0"] == pytest.approx(
        down["rto_s"].mean()
    )
    systems = pq.read_table(drill_run / "systems.parquet").to_pandas()
    levels = pq.read_table(drill_run / "availability.parquet").to_pandas()
    merged = systems.merge(levels, left_on="name", right_on="system")
    level3 = merged[merged["mlps_level"] >= 3]
    share = (level3["gbt20988_level"] >= 5).sum() / len(level3)
    key = "systems.parquet mlps_level; availability.parquet gbt20988_level"
    assert derived[key] == pytest.approx(share)


def test_the_evaluation_covers_four_dimensions_and_lists_what_it_cannot_measure(
    drill_run: Path,
) -> None:
    text = (drill_run / "report.html").read_text(encoding="utf-8")
    section = text[text.index('data-section="evaluation"') :]
    measured, unmeasured = section.split("Not measurable by this run")
    for dimension in ("platform capability", "security", "operations", "outcomes"):
        assert f"<td>{dimension}</td>" in measured
    for indicator in ("resource allocation rate (CPU)", "mean time to recover",
                      "DR capability level per system (GB/T 20988)",
                      "share of MLPS level-3 systems with level-3 redundancy"):  # fmt: skip
        assert indicator in measured
    for indicator in ("network service quality", "data sharing", "user and permission management",
                      "cost saving"):  # fmt: skip
        assert indicator in unmeasured


_URL = re.compile(r"(?i)\b(https?:)?//[a-z0-9.-]+\.[a-z]{2,}")


def test_the_page_references_nothing_on_the_network(drill_run: Path) -> None:
    text = (drill_run / "report.html").read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert not _URL.search(text)
    page = parse(text)
    for tag, attribute, value in page.references:
        assert value.startswith("#"), (tag, attribute, value)  # anchors and SVG ids only
    assert "<script" not in text and "@import" not in page.style and "url(" not in page.style
    # chart ids are unique on the page (each SVG's ids are prefixed)
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))


def test_render_is_deterministic(drill_run: Path) -> None:
    assert render(drill_run) == (drill_run / "report.html").read_text(encoding="utf-8")


def test_chart_series_are_binned_beyond_the_point_budget() -> None:
    from cloudsim.report.charts import MAX_POINTS, binned

    t = list(range(8760))
    y = [math.sin(x / 100) for x in t]
    b = binned(t, y)
    assert b.t.size <= MAX_POINTS and b.per_bin == math.ceil(8760 / MAX_POINTS)
    assert b.mean[0] == pytest.approx(sum(y[: b.per_bin]) / b.per_bin)
    assert b.low[0] == min(y[: b.per_bin]) and b.high[0] == max(y[: b.per_bin])
    assert b.low.min() == min(y) and b.high.max() == max(y)  # the band keeps every extreme
    short = binned([0, 1, 2], [3, 4, 5])
    assert short.per_bin == 1 and short.mean.tolist() == [3, 4, 5]


def test_a_report_and_its_temporary_are_a_run_s_files_other_pages_are_not(
    tmp_path: Path,
) -> None:
    from cloudsim.errors import ResultFolderError

    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("summary.json", "metadata.json", "events.parquet", "report.html",
                 ".report.html.k2_x9Q"):  # fmt: skip
        (folder / name).write_text("x")
    check_replaceable(folder)
    (folder / "notes.html").write_text("mine")
    with pytest.raises(ResultFolderError, match=r"notes\.html"):
        check_replaceable(folder)
