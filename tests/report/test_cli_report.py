"""`run --report` without the report extra, and a report that fails during a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudsim.report import ChartsUnavailable
from tests.conftest import build, invoke, tiny

SCENARIO = tiny()


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    build(SCENARIO)
    return path


def test_without_matplotlib_report_says_how_to_get_it_before_running(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise ChartsUnavailable

    monkeypatch.setattr("cloudsim.report.require_matplotlib", missing)
    code, _, err = invoke("run", scenario, "--out", tmp_path / "out", "--report", "-q")
    assert code == 2
    assert "pip install 'cloudsim[report]'" in err and "--report" in err
    assert not (tmp_path / "out").exists()  # refused before the run
    code, _, err = invoke("report", tmp_path)
    assert code == 2 and "cloudsim report: charts need Matplotlib: pip install" in err


def test_a_report_that_fails_keeps_the_results_and_exits_1(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(result: object) -> str:
        raise ValueError("chart exploded")

    monkeypatch.setattr("cloudsim.report.render_run", broken)
    out = tmp_path / "out"
    code, _, err = invoke("run", scenario, "--out", out, "--report", "-q")
    assert code == 1
    assert "report.html could not be made: ValueError: chart exploded" in err
    assert (out / "summary.json").is_file() and not (out / "report.html").exists()


def test_a_report_that_cannot_be_written_keeps_the_results_and_exits_1(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.write_text

    def full_disk(self: Path, *args: object, **kwargs: object) -> int:
        if self.name == "report.html":
            real(self, "<html>half")
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full_disk)
    out = tmp_path / "out"
    code, _, err = invoke("run", scenario, "--out", out, "--report", "-q")
    assert code == 1
    assert "report.html could not be made: cannot write report.html: No space left" in err
    assert (out / "summary.json").is_file() and not (out / "report.html").exists()
