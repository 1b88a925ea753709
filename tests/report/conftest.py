"""Fixtures of the report tests: a short Hunan DR drill run (with its report), parsers
for the numbers a page shows."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, invoke

DRILL = REPO / "scenarios" / "drills" / "centre-loss-cs-idc.yaml"


@pytest.fixture(scope="session")
def drill_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The centre-loss drill (3 days of the Hunan DR reference scenario with containers),
    run with ``--report``: the folder holds report.html beside the tables."""
    out = tmp_path_factory.mktemp("report") / "drill"
    code, _, err = invoke("run", DRILL, "--out", out, "--report", "-q")
    assert code == 0, err
    return out


class PageParser(HTMLParser):
    """Sections, charts, tables and the numbers with their source."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.charts: list[str] = []
        self.tables: list[str] = []
        self.numbers: list[dict[str, Any]] = []  # attributes + shown text
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self._open: dict[str, Any] | None = None
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-section" in a:
            self.sections.append(a["data-section"])
        if "data-chart" in a:
            self.charts.append(a["data-chart"])
        if tag == "table" and "data-table" in a:
            self.tables.append(a["data-table"])
        if "data-summary" in a or "data-derived" in a:
            self._open = {**a, "text": ""}
        for key in ("href", "src", "xlink:href", "action", "poster", "data", "srcset"):
            if key in a:
                self.references.append((tag, key, a[key]))
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self.numbers.append(self._open)
            self._open = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data
        if self._in_style:
            self.style += data


def parse(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    return parser


_NUMBER = re.compile(r"^-?[\d,]*\.?\d+(e[+-]?\d+)?")


def shown_number(text: str) -> float | None:
    """The number a person reads in a cell: '1,922 GB' -> 1922, '51.8 %' -> 0.518."""
    match = _NUMBER.match(text.strip())
    if match is None:
        return None
    value = float(match.group(0).replace(",", ""))
    return value / 100 if text.strip().endswith("%") else value


def last_digit(text: str) -> float:
    """The value of one unit of the last digit shown ('51.7 %' -> 0.001, '1,922 GB' -> 1)."""
    match = _NUMBER.match(text.strip())
    assert match is not None, text
    digits, _, exponent = match.group(0).lower().partition("e")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    unit = 10.0 ** (int(exponent or 0) - decimals)
    return unit / 100 if text.strip().endswith("%") else unit
