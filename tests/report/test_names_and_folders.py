"""Names the scenario allows (dots, dollars, a leading underscore) and the folders a report
is written into."""

from __future__ import annotations

import json
from pathlib import Path

from cloudsim.report.page import summary_value
from tests.conftest import invoke
from tests.report.conftest import parse

BASE = Path(__file__).resolve().parents[1] / "data" / "base.yaml"


def test_summary_paths_reach_names_with_dots() -> None:
    summary = {"datacenters": {"cs.idc": {"hosts": 78}, "cs": {"idc": 1}}}
    assert summary_value(summary, "datacenters.cs.idc.hosts") == 78
    assert summary_value(summary, "datacenters.cs.idc") == {"hosts": 78}
    assert summary_value(summary, "datacenters.nope.hosts") is None


def test_names_with_dots_and_dollars_are_reported_whole(tmp_path: Path) -> None:
    text = BASE.read_text(encoding="utf-8").replace("dc-a", "dc.a$x$").replace("b-ext", "_b")
    source = tmp_path / "odd.yaml"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    code, _, err = invoke("run", source, "--out", out, "--set", "meta.horizon=3d", "-q", "--report")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    page_text = (out / "report.html").read_text(encoding="utf-8")
    page = parse(page_text)
    hosts = [n for n in page.numbers if n.get("data-summary") == "datacenters.dc.a$x$.hosts"]
    assert hosts and float(hosts[0]["data-value"]) == summary["datacenters"]["dc.a$x$"]["hosts"]
    assert "dc.a$x$" in page_text  # shown as written, not as TeX
    assert "\u200b_b" in page_text  # a name starting with '_' keeps its legend entry


def test_a_page_is_not_written_into_another_run_s_folder(tmp_path: Path) -> None:
    for name in ("a", "b"):
        code, _, err = invoke(
            "run", BASE, "--out", tmp_path / name, "--set", "meta.horizon=1d", "-q"
        )
        assert code == 0, err
    code, _, err = invoke("report", tmp_path / "a", "-o", tmp_path / "b" / "report.html")
    assert code == 2
    assert "inside another run's folder" in err
    assert not (tmp_path / "b" / "report.html").exists()
    code, _, err = invoke("report", tmp_path / "a")
    assert code == 0, err
    assert not list(tmp_path.glob(".cloudsim-lock-*a"))  # the lock is released
