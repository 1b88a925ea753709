"""Experiment files: the grid's cells, zip groups, seeds and baseline; every bad file is
refused with problems naming the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudsim.errors import ExperimentError
from cloudsim.experiments import load_experiment
from tests.experiments.builders import EXPERIMENT, write


def problems(path: Path) -> list[str]:
    with pytest.raises(ExperimentError) as info:
        load_experiment(path)
    return [str(p) for p in info.value.problems]


def test_the_grid_is_the_product_of_its_axes_and_a_zip_varies_paths_together(
    tmp_path: Path,
) -> None:
    grid = {
        "faults.host.repair.mean": ["1d", "2d"],
        "sizes": {
            "labels": ["small", "large"],
            "zip": {"pools[p].hosts[0].count": [1, 2], "meta.horizon": ["60d", "90d"]},
        },
    }
    exp = load_experiment(write(tmp_path, grid=grid, baseline={"sizes": "small"}, seeds=[5, 9]))
    assert [c.label for c in exp.cells] == [
        "faults.host.repair.mean=1d, sizes=small",
        "faults.host.repair.mean=1d, sizes=large",
        "faults.host.repair.mean=2d, sizes=small",
        "faults.host.repair.mean=2d, sizes=large",
    ]
    assert exp.cells[3].params == {
        "faults.host.repair.mean": "2d",
        "pools[p].hosts[0].count": 2,
        "meta.horizon": "90d",
    }
    assert exp.scenarios[3].meta.horizon == 90 * 86400
    assert exp.scenarios[3].pools[0].hosts[0].count == 2
    assert exp.design.baseline_of == {0: 0, 1: 0, 2: 2, 3: 2}
    assert exp.seeds == (5, 9)
    assert exp.with_seeds(4).seeds == (5, 9, 10, 11)
    assert len({c.scenario_digest for c in exp.cells}) == 4


def test_several_base_scenarios_make_the_first_axis(tmp_path: Path) -> None:
    path = write(tmp_path, grid={}, baseline={"scenario": "a"})
    (tmp_path / "b.yaml").write_text((tmp_path / "unit.yaml").read_text())
    text = path.read_text().replace("scenario: unit.yaml", "scenario: {a: unit.yaml, b: b.yaml}")
    path.write_text(text)
    exp = load_experiment(path)
    assert [c.label for c in exp.cells] == ["scenario=a", "scenario=b"]
    assert exp.cells[0].scenario_digest == exp.cells[1].scenario_digest  # same content
    assert exp.design.baseline_of == {0: 0, 1: 0}


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("zero seeds", {"seeds": 0}, "seeds", "at least one seed is needed, got 0"),
    ("no seed", {"seeds": []}, "seeds", "at least one seed is needed, got an empty list"),
    ("seed twice", {"seeds": [1, 2, 1]}, "seeds", "seed [1] given twice"),
    ("seeds as text", {"seeds": "many"}, "seeds", "expected a count of seeds or a list"),
    ("no metric", {"metrics": []}, "metrics", "at least 1 item"),
    (
        "unknown path",
        {"grid": {"faults.host.repair.meen": ["1d"]}},
        "grid.faults.host.repair.meen",
        "in every cell: faults.host.repair.meen: unknown key 'meen'; did you mean 'mean'?",
    ),
    (
        "a value the schema rejects",
        {"grid": {"faults.host.repair.mean": ["1d", "soon"]}},
        "grid.faults.host.repair.mean",
        "in cell 'faults.host.repair.mean=soon': faults.host.repair.mean: ",
    ),
    (
        "a value the module checks reject",
        {"grid": {"systems[svc].datacenters": [["dc1"], ["dc9"]]}},
        "grid.systems[svc].datacenters",
        "in cell 'systems[svc].datacenters=[dc9]': systems[svc].datacenters[0]: unknown data "
        "centre 'dc9'",
    ),
    (
        "an override the schema rejects",
        {"overrides": {"meta.horizon": "-3d"}},
        "overrides.meta.horizon",
        "in every cell: meta.horizon: ",
    ),
    (
        "not a path",
        {"grid": {"faults..host": [1]}},
        "grid.faults..host",
        "cannot read the path 'faults..host'",
    ),
    (
        "an axis that is no list",
        {"grid": {"faults.host.repair.mean": "1d"}},
        "grid.faults.host.repair.mean",
        "expected a list of values, or a zip group",
    ),
    ("an empty axis", {"grid": {"meta.horizon": []}}, "grid.meta.horizon", "at least one value"),
    (
        "zip lengths",
        {"grid": {"both": {"zip": {"meta.horizon": ["1d", "2d"], "meta.seed": [1]}}}},
        "grid.both",
        "every path of a zip needs as many values (meta.horizon: 2, meta.seed: 1)",
    ),
    (
        "zip typo",
        {"grid": {"both": {"zipp": {"meta.horizon": ["1d"]}}}},
        "grid.both.zipp",
        "unknown key 'zipp'; did you mean 'zip'?",
    ),
    (
        "a path on two axes",
        {"grid": {"meta.horizon": ["1d"], "b": {"zip": {"meta.horizon": ["2d"]}}}},
        "grid.b.zip.meta.horizon",
        "meta.horizon is already varied by grid.meta.horizon",
    ),
    (
        "metric with path and table",
        {"metrics": [{"name": "x", "path": "a", "table": "incidents", "agg": "count"}]},
        "metrics[x]",
        "give either path (a value of summary.json) or table",
    ),
    (
        "table metric without agg",
        {"metrics": [{"name": "x", "table": "incidents", "column": "rto_s"}]},
        "metrics[x]",
        "agg is required with table: one of mean, sum, max, min, count, quantile",
    ),
    (
        "unknown aggregation",
        {"metrics": [{"name": "x", "table": "incidents", "column": "rto_s", "agg": "p95"}]},
        "metrics[x].agg",
        "Input should be 'mean', 'sum', 'max', 'min', 'count' or 'quantile'",
    ),
    (
        "quantile without q",
        {"metrics": [{"name": "x", "table": "incidents", "column": "rto_s", "agg": "quantile"}]},
        "metrics[x]",
        "q (0 to 1) goes with agg: quantile, and only with it",
    ),
    (
        "filter typo",
        {
            "metrics": [
                {
                    "name": "x",
                    "table": "incidents",
                    "column": "rto_s",
                    "agg": "max",
                    "where": {"rto_s": {"gtt": 0}},
                }
            ]
        },
        "metrics[x].where.rto_s.gtt",
        "unknown key 'gtt'; did you mean 'gt'?",
    ),
    ("metric key typo", {"metrics": [{"nam": "x"}]}, "metrics[0].nam", "did you mean 'name'?"),
    (
        "metric named like a column",
        {"metrics": [{"name": "seed", "path": "seed"}]},
        "metrics[seed]",
        "'seed' is a reserved column name",
    ),
    (
        "baseline axis",
        {"baseline": {"faults.host.repair.meen": "1d"}},
        "baseline.faults.host.repair.meen",
        "unknown axis 'faults.host.repair.meen'; did you mean 'faults.host.repair.mean'?",
    ),
    (
        "baseline value",
        {"baseline": {"faults.host.repair.mean": "3d"}},
        "baseline.faults.host.repair.mean",
        "unknown value '3d'",
    ),
    ("missing scenario", {"scenario": "nowhere.yaml"}, "scenario", "no such scenario file"),
    ("confidence", {"confidence": 95}, "confidence", "Input should be less than 1"),
    ("top-level typo", {"seed": 3}, "seed", "unknown key 'seed'; did you mean 'seeds'?"),
]


@pytest.mark.parametrize(
    ("change", "where", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_experiment_files_are_clear_problems(
    tmp_path: Path, change: dict[str, Any], where: str, expected: str
) -> None:
    path = write(tmp_path, **({"baseline": None} if "grid" in change else {}), **change)
    found = problems(path)
    prefix = f"{path}: {where}: "
    assert any(p.startswith(prefix) and expected in p for p in found), found


def test_yaml_with_a_key_twice_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path)
    path.write_text(path.read_text() + "seeds: 4\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}: not valid YAML at line")
    assert "duplicate key 'seeds'" in line


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        seeds=0,
        confidence=2,
        metrics=[{"name": "x", "table": "incidents"}],
    )
    assert {p.split(": ")[1] for p in problems(path)} == {"seeds", "confidence", "metrics[x]"}


def test_the_experiment_file_must_exist(tmp_path: Path) -> None:
    assert problems(tmp_path / "none.yaml") == [
        f"{tmp_path / 'none.yaml'}: no such experiment file"
    ]


def test_the_example_experiment_is_valid() -> None:
    assert EXPERIMENT["seeds"] == 3
