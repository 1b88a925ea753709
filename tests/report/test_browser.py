"""The drill's report in a real browser (headless Chromium): no console error, every chart
drawn, no request beyond the file itself; a screenshot is kept in the test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.browser import Browser, find_chromium
from tests.report.conftest import parse

#: Per chart (figure.chart): its name, the drawn size of its SVG and how many shapes it has.
CHARTS = """
Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const svg = f.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const drawn = svg ? svg.querySelectorAll('path, line, rect, use, text').length : 0;
  const bbox = svg ? svg.getBBox() : {width: 0, height: 0};
  return {name: f.dataset.chart, width: box.width, height: box.height, shapes: drawn,
          bboxWidth: bbox.width, bboxHeight: bbox.height};
})
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "no Chromium on this machine (apt-get install chromium; .ci/run installs it): "
            "the browser test cannot run"
        )
    return path


def test_the_drill_report_renders_in_chromium(
    chromium: str, drill_run: Path, tmp_path: Path
) -> None:
    page = drill_run / "report.html"
    expected = parse(page.read_text(encoding="utf-8")).charts
    screenshot = tmp_path / "report.png"
    with Browser(chromium, tmp_path / "profile") as browser:
        found = browser.open(page, CHARTS, screenshot)
    assert found.errors == []
    assert found.requests == [page.resolve().as_uri()]  # the page itself, nothing else
    charts = found.value
    assert [c["name"] for c in charts] == expected and len(expected) >= 10
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 100, chart
        assert chart["bboxWidth"] > 0 and chart["bboxHeight"] > 0, chart
        assert chart["shapes"] > 10, chart
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
