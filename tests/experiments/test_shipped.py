"""The experiments in experiments/: valid, and every metric they ask for is produced by a
run of their scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudsim import load_scenario, simulate
from cloudsim.experiments import Experiment, load_experiment, sweep
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
def test_failover_policies_four_policies_on_four_drills() -> None:
    experiment = load_experiment(POLICIES)
    assert [c.label for c in experiment.cells[:4]] == [
        f"scenario=link-cut, dr.failover.name={p}"
        for p in ("manual", "timeout", "witness-quorum", "capacity-aware")
    ]
    assert len(experiment.cells) == 16 and len(experiment.seeds) == 30
    assert experiment.design.baseline_of == {i: i - i % 4 for i in range(16)}
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


@pytest.mark.slow
def test_pairing_narrows_the_policy_comparison_on_random_failures(tmp_path: Path) -> None:
    """The study's random-failures drill, two policies, four seeds: every policy meets the
    same failures for a seed, so the paired interval is narrower than the unpaired one."""
    study = tmp_path / "pairs.yaml"
    drill = REPO / "scenarios" / "drills" / "random-centre-and-link-failures.yaml"
    study.write_text(
        f"name: pairs\nscenario: {drill}\n"
        "grid: {dr.failover.name: [manual, witness-quorum]}\nseeds: 4\n"
        "metrics: [{name: availability, path: availability.mean}]\n"
        "baseline: {dr.failover.name: manual}\n",
        encoding="utf-8",
    )
    result = sweep(study, tmp_path / "store", workers=2)
    (row,) = [r for r in result.cells.to_pylist() if r["cell"].endswith("witness-quorum")]
    assert row["n_paired"] == 4 and row["diff_low"] > 0  # quorum is better, for sure
    assert row["narrowing"] > 1.0
    assert row["diff_half_width"] < row["unpaired_half_width"]
