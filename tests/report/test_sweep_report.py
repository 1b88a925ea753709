"""The report of a sweep's store: a section per metric with every cell's interval, the
paired difference to the baseline and the seeds' spread, as `compare` computes them."""

from __future__ import annotations

from pathlib import Path

import pytest

import cloudsim
from cloudsim.experiments import compare, sweep
from cloudsim.report import render
from cloudsim.report.page import fmt
from cloudsim.report.sweep import interval, signed
from tests.conftest import invoke
from tests.experiments.builders import write
from tests.report.conftest import parse


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    sweep(write(folder), folder / "out", workers=1)
    return folder / "out"


def test_a_sweep_has_one_section_and_chart_per_metric(store: Path) -> None:
    text = render(store)
    page = parse(text)
    found = compare(store)
    metrics = [m.name for m in found.metrics]
    assert page.sections == ["sweep", *(f"metric-{i + 1}" for i in range(len(metrics)))]
    assert page.charts == [f"sweep-{m}" for m in metrics]
    assert page.tables == [f"cells-{m}" for m in metrics]
    for row in found.cells.to_pylist():
        section = text[text.index(f'data-table="cells-{row["metric"]}"') :]
        cells = section[: section.index("</table>")]
        line = cells[cells.index(f"<td>{row['cell']}</td>") :].split("</tr>")[0]
        assert f">{fmt(row['mean'])}<" in line
        assert f"[{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]" in line
        if row["baseline"] == row["cell"]:
            assert "baseline" in line
        elif row["diff"] is not None:
            diff = f"{signed(row['diff'])} [{fmt(row['diff_low'])}, {fmt(row['diff_high'])}]"
            assert diff in line
    assert "6 stored runs (6 finished, 0 failed)" in text
    assert "failed-runs" not in text


def test_differences_carry_their_sign_and_unknown_intervals_are_blank() -> None:
    assert (signed(1.5), signed(-1.5), signed(0.0), signed(None)) == ("+1.5", "-1.5", "0", "")
    assert signed(12345.0) == "+12,345"
    assert interval(0.1234567, 2.0) == "[0.1235, 2]"
    assert interval(None, 2.0) == interval(1.0, float("nan")) == ""


def test_failed_runs_are_listed_with_their_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cloudsim.simulate

    def flaky(scenario: cloudsim.Scenario, seed: int | None = None) -> cloudsim.RunResult:
        if seed == 1:
            raise RuntimeError("the run broke <badly>")
        return real(scenario, seed)

    monkeypatch.setattr(cloudsim, "simulate", flaky)
    sweep(write(tmp_path), tmp_path / "out", workers=1)
    text = render(tmp_path / "out")
    assert "6 stored runs (4 finished, 2 failed)" in text
    listing = text[text.index('data-table="failed-runs"') :].split("</table>")[0]
    assert listing.count("<tr>") == 3  # the header and the two failed runs
    assert "RuntimeError: the run broke &lt;badly&gt;" in listing
    assert "[, ]" not in text


def test_cli_report_of_a_sweep(store: Path, tmp_path: Path) -> None:
    code, out, err = invoke("report", store, "-o", tmp_path / "sweep.html")
    assert code == 0, err
    assert "report of the sweep" in out and (tmp_path / "sweep.html").stat().st_size > 10_000


def test_a_folder_that_is_nothing_known_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = invoke("report", tmp_path)
    assert code == 2 and "no summary.json, experiment.json or plan.json" in err
    code, _, err = invoke("report", tmp_path / "absent")
    assert code == 2 and "no such folder" in err
    assert not (tmp_path / "report.html").exists()
