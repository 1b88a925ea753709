"""`cloudsim explain`: where one more cloud host of a system would go, and why."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from cloudsim.cli import app
from tests.conftest import tiny

runner = CliRunner()


def write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_explain_names_the_filters_and_the_winner(tmp_path: Path) -> None:
    path = write(tmp_path, tiny())
    result = runner.invoke(app, ["explain", str(path), "--system", "portal"])
    assert result.exit_code == 0, result.output
    # 4 VMs of portal already sit on 4 of the 8 hosts (host anti-affinity)
    assert "anti_affinity" in result.output
    assert "4 of 8 hosts pass every filter" in result.output
    assert "winner: general-" in result.output
    assert "least_allocated" in result.output


def test_explain_reports_a_rejection_with_its_reason(tmp_path: Path) -> None:
    data = tiny(
        systems=[
            {
                "name": "portal",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1"],
                "vms": [{"flavor": "c4m8", "count": 8}],
            }
        ]
    )
    result = runner.invoke(app, ["explain", str(write(tmp_path, data)), "--system", "portal"])
    assert result.exit_code == 0, result.output
    assert "0 of 8 hosts pass every filter" in result.output
    assert "rejected: anti_affinity" in result.output


def test_explain_refuses_unknown_names_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, tiny())
    result = runner.invoke(app, ["explain", str(path), "--system", "portl"])
    assert result.exit_code == 2
    assert "did you mean 'portal'" in result.output
    result = runner.invoke(app, ["explain", str(path), "--system", "portal", "--flavor", "x"])
    assert result.exit_code == 2
    result = runner.invoke(
        app, ["explain", str(path), "--system", "portal", "--datacenter", "elsewhere"]
    )
    assert result.exit_code == 2
    assert "runs only in" in result.output
