"""A year of the Hunan reference scenario with its container cloud: the report renders in
under 10 s and weighs under 10 MB (hourly samples binned for the charts)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cloudsim import load_scenario, simulate
from cloudsim.report import write_report
from tests.conftest import REPO
from tests.report.conftest import parse


@pytest.mark.slow
def test_a_year_of_hunan_with_containers_renders_fast_and_small(tmp_path: Path) -> None:
    scenario = load_scenario(REPO / "scenarios" / "hunan-3s4c.yaml", {"meta.horizon": "365d"})
    out = tmp_path / "hunan"
    simulate(scenario).write(out)
    started = time.perf_counter()
    page = write_report(out, out / "report.html")
    seconds = time.perf_counter() - started
    size = page.stat().st_size
    assert seconds < 10, f"{seconds:.1f} s"
    assert size < 10e6, f"{size / 1e6:.1f} MB"
    parsed = parse(page.read_text(encoding="utf-8"))
    assert parsed.sections == ["platform", "containers", "evaluation"]
    assert "Aggregated for display: each point is the mean of 18 samples" in page.read_text()
