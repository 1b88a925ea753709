"""The experiments in experiments/: valid, and every metric they ask for is produced by a
run of their scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudsim import load_scenario, simulate
from cloudsim.experiments import Experiment, load_experiment
from cloudsim.experiments.metrics import summary_value, table_value
from tests.conftest import REPO

POLICIES = REPO / "experiments" / "failover-policies.yaml"
GROWTH = REPO / "experiments" / "growth-overcommit.yaml"


def missing(experiment: Experiment, index: int, **overrides: Any) -> dict[str, str | None]:
    """Run one cell once (with ``overrides`` on top) and say why each metric is missing."""
    cell = experiment.cells[index]
    scenario = load_scenario(
        cell.scenario_file, {**experiment.design.spec.overrides, **cell.params, **overrides}
    )
    result = simulate(scenario, experiment.seeds[0])
    return {
        m.name: (
            summary_value(result.summary, m) if m.path else table_value(result.tables, m)
        ).missing
        for m in experiment.metrics
    }


@pytest.mark.slow
def test_failover_policies_four_policies_on_three_drills() -> None:
    experiment = load_experiment(POLICIES)
    assert [c.label for c in experiment.cells[:4]] == [
        f"scenario=link-cut, dr.failover.name={p}"
        for p in ("manual", "timeout", "witness-quorum", "capacity-aware")
    ]
    assert len(experiment.cells) == 12 and len(experiment.seeds) == 30
    assert experiment.design.baseline_of == {i: i - i % 4 for i in range(12)}
    assert set(missing(experiment, 1).values()) == {None}  # the cut with `timeout`


@pytest.mark.slow
def test_growth_overcommit_grid() -> None:
    experiment = load_experiment(GROWTH)
    assert len(experiment.cells) == 12
    overcommit = [p.cpu_overcommit for p in experiment.scenarios[0].pools[:8]]
    assert sorted(set(overcommit)) == [2.0]
    assert experiment.scenarios[0].extensions == {}  # no container cloud
    assert set(missing(experiment, 0, **{"meta.horizon": "30d"}).values()) == {None}


@pytest.mark.slow
def test_the_readme_example_is_a_valid_experiment(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Experiments") :]
    example = section[section.index("```yaml\n") + 8 :]
    example = example[: example.index("```")]
    text = example.replace("../scenarios/", f"{REPO / 'scenarios'}/")
    (tmp_path / "example.yaml").write_text(text, encoding="utf-8")
    experiment = load_experiment(tmp_path / "example.yaml")
    assert len(experiment.cells) == 2 * 4 * 2
    assert [m.name for m in experiment.metrics] == [
        "dr.split_brain_s",
        "cpu_refused",
        "rto_p95",
        "failovers_of_critical",
    ]
