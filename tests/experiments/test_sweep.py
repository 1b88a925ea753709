"""Sweeps and their store: the per-run and per-cell tables, reuse of stored runs, changed
experiments, kept tables, failed runs, metrics no run produces, sequential mode."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import cloudsim
from cloudsim.errors import ExperimentError
from cloudsim.experiments import compare, sweep
from cloudsim.experiments.store import run_key
from tests.experiments.builders import EXPERIMENT, write


def test_a_sweep_writes_one_record_per_run_and_the_tables(tmp_path: Path) -> None:
    result = sweep(write(tmp_path), tmp_path / "out", workers=1)
    out = tmp_path / "out"
    assert (result.ran, result.reused, result.failed) == (6, 0, 0)
    assert len(list((out / "records").glob("*.json"))) == 6
    runs = pq.read_table(out / "runs.parquet")
    assert runs.equals(result.runs)
    assert runs.column_names == [
        "run_id", "cell_index", "cell", "faults.host.repair.mean", "seed", "status",
        "error_type", "error", "wall_s", "availability.mean", "avail", "down_p90", "incidents",
    ]  # fmt: skip
    assert runs.column("seed").to_pylist() == [0, 1, 2, 0, 1, 2]
    assert set(runs.column("status").to_pylist()) == {"ok"}
    # the summary path and the table aggregation agree (summary rounds to 6 decimals)
    for a, b in zip(runs["availability.mean"].to_pylist(), runs["avail"].to_pylist(), strict=True):
        assert a == pytest.approx(b, abs=1e-6)
    cells = pq.read_table(out / "cells.parquet")
    assert cells.num_rows == 2 * 4
    manifest = json.loads((out / "experiment.json").read_text())
    assert manifest["seeds"] == {"0": [0, 1, 2], "1": [0, 1, 2]}
    record = json.loads((out / "records" / f"{runs['run_id'][0]}.json").read_text())
    assert record["status"] == "ok" and record["summary"]["seed"] == 0
    cell = result.design.cells[0]
    assert record["key"] == run_key(cell.scenario_digest, 0, cloudsim.__version__)
    assert not (out / ".lock").exists()


def test_a_second_sweep_reuses_every_stored_run(tmp_path: Path) -> None:
    path = write(tmp_path)
    first = sweep(path, tmp_path / "out", workers=1)
    again = sweep(path, tmp_path / "out", workers=1)
    assert (again.ran, again.reused) == (0, 6)
    assert again.runs.equals(first.runs) and again.cells.equals(first.cells)
    more = sweep(path, tmp_path / "out", workers=1, seeds=5)
    assert (more.ran, more.reused) == (4, 6)
    assert more.runs.column("seed").to_pylist() == [0, 1, 2, 3, 4] * 2


def test_a_changed_experiment_says_which_cells_are_new_and_which_left(tmp_path: Path) -> None:
    sweep(write(tmp_path), tmp_path / "out", workers=1)
    path = write(tmp_path, grid={"faults.host.repair.mean": ["1d", "3d"]})
    result = sweep(path, tmp_path / "out", workers=1)
    assert result.changes.new_cells == ("faults.host.repair.mean=3d",)
    assert result.changes.stale_cells == {"faults.host.repair.mean=2d": 3}
    assert (result.ran, result.reused) == (3, 3)
    assert set(result.runs.column("cell").to_pylist()) == {
        "faults.host.repair.mean=1d",
        "faults.host.repair.mean=3d",
    }
    assert len(list((tmp_path / "out" / "records").glob("*.json"))) == 9  # nothing dropped


def test_a_new_table_metric_reruns_the_stored_runs_and_a_summary_one_does_not(
    tmp_path: Path,
) -> None:
    sweep(write(tmp_path), tmp_path / "out", workers=1)
    metrics = [*EXPERIMENT["metrics"], "faults.outages"]
    assert sweep(write(tmp_path, metrics=metrics), tmp_path / "out", workers=1).ran == 0
    longest = {"name": "longest", "table": "incidents", "column": "duration_s", "agg": "max"}
    result = sweep(write(tmp_path, metrics=[*metrics, longest]), tmp_path / "out", workers=1)
    assert result.ran == 6
    assert None not in result.runs.column("longest").to_pylist()


def test_keep_tables_keeps_each_run_and_combines_its_tables(tmp_path: Path) -> None:
    path = write(tmp_path, seeds=2)
    sweep(path, tmp_path / "out", workers=1)
    result = sweep(path, tmp_path / "out", workers=1, keep_tables=True)
    assert result.ran == 4  # the stored runs had no result folder
    out = tmp_path / "out"
    for run_id in result.runs.column("run_id").to_pylist():
        assert (out / "runs" / run_id / "incidents.parquet").is_file()
    incidents = pq.read_table(out / "tables" / "incidents.parquet")
    assert incidents.column_names[:4] == ["run_id", "cell", "seed", "faults.host.repair.mean"]
    assert incidents.num_rows == sum(result.runs.column("incidents").to_pylist())
    per_run = pq.read_table(out / "runs" / result.runs["run_id"][1].as_py() / "incidents.parquet")
    mine = incidents.filter(pc.equal(incidents["run_id"], result.runs["run_id"][1]))
    assert mine.drop(["run_id", "cell", "seed", "faults.host.repair.mean"]).equals(per_run)


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cloudsim.simulate

    def flaky(scenario: cloudsim.Scenario, seed: int | None = None) -> cloudsim.RunResult:
        if seed == 1:
            raise RuntimeError("the run broke")
        return real(scenario, seed)

    monkeypatch.setattr(cloudsim, "simulate", flaky)
    path = write(tmp_path)
    result = sweep(path, tmp_path / "out", workers=1)
    assert (result.ran, result.failed) == (6, 2)
    failed = result.runs.filter(pc.equal(result.runs["status"], "failed")).to_pylist()
    assert [(r["seed"], r["error_type"], r["error"]) for r in failed] == [
        (1, "RuntimeError", "the run broke")
    ] * 2
    assert failed[0]["avail"] is None
    assert {r["n"] for r in result.cells.to_pylist()} == {2}
    assert {r["failed"] for r in result.cells.to_pylist()} == {1}
    record = json.loads((tmp_path / "out" / "records" / f"{failed[0]['run_id']}.json").read_text())
    assert "the run broke" in record["traceback"]
    monkeypatch.setattr(cloudsim, "simulate", real)
    assert sweep(path, tmp_path / "out", workers=1).ran == 0  # failures are results too
    retried = sweep(path, tmp_path / "out", workers=1, retry_failed=True)
    assert (retried.ran, retried.failed) == (2, 0)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (
            {"name": "pooled", "path": "availabilty.mean"},
            "summary.json: unknown key 'availabilty'; did you mean 'availability'?",
        ),
        ({"name": "x", "path": "availability"}, "summary.json: availability is a section"),
        (
            {"name": "x", "table": "incidnets", "agg": "count"},
            "unknown table 'incidnets'; did you mean 'incidents'?",
        ),
        (
            {"name": "x", "table": "incidents", "column": "rto", "agg": "max"},
            "table incidents: unknown column 'rto'; did you mean 'rto_s'?",
        ),
        (
            {"name": "x", "table": "incidents", "column": "system", "agg": "max"},
            "table incidents: column system is string, not numbers",
        ),
    ],
)
def test_a_metric_no_run_produces_stops_the_sweep_and_writes_nothing(
    tmp_path: Path, metric: dict[str, object], expected: str
) -> None:
    path = write(tmp_path, metrics=["availability.mean", metric])
    with pytest.raises(ExperimentError) as info:  # a pool's pending runs are cancelled
        sweep(path, tmp_path / "out", workers=2 if metric["name"] == "pooled" else 1)
    (problem,) = info.value.problems
    text = str(problem)
    assert text.startswith(f"{path}: metrics[{metric['name']}]: not produced by the first run of")
    assert expected in text
    assert not (tmp_path / "out").exists()


def test_a_default_stands_in_for_an_absent_count_and_a_filter_picks_rows(tmp_path: Path) -> None:
    metrics = [
        {"name": "cpu_rejections", "path": "rejections_by_reason.no_capacity_cpu", "default": 0},
        {"name": "long", "table": "incidents", "agg": "count",
         "where": {"duration_s": {"gt": 86400}}},
        {"name": "host_incidents", "table": "incidents", "agg": "count",
         "where": {"component_kind": ["host", "rack"], "cause": "stochastic"}},
        {"name": "all", "table": "incidents", "agg": "count"},
    ]  # fmt: skip
    runs = sweep(write(tmp_path, metrics=metrics, seeds=2), tmp_path / "out", workers=1).runs
    assert set(runs.column("cpu_rejections").to_pylist()) == {0.0}
    assert runs["host_incidents"].equals(runs["all"])
    assert all(
        a < b for a, b in zip(runs["long"].to_pylist(), runs["all"].to_pylist(), strict=True)
    )


def test_sequential_mode_adds_seeds_until_the_interval_is_narrow(tmp_path: Path) -> None:
    path = write(tmp_path, metrics=["availability.mean"])
    result = sweep(
        path, tmp_path / "out", workers=1, until_ci=0.03, metric="availability.mean", max_seeds=40
    )
    rows = result.cells.to_pylist()
    assert all(r["rel_half_width"] <= 0.03 or r["n"] == 40 for r in rows), rows
    assert all(len(s) > 3 for s in result.seeds.values())
    assert all(s == list(range(len(s))) for s in result.seeds.values())
    again = sweep(
        path, tmp_path / "out", workers=1, until_ci=0.03, metric="availability.mean", max_seeds=40
    )
    assert again.ran == 0 and again.seeds == result.seeds  # the same decisions from the store


def test_sequential_mode_options_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path)
    with pytest.raises(ExperimentError) as info:
        sweep(path, tmp_path / "out", until_ci=1.5, metric="avial", max_seeds=2)
    assert [str(p) for p in info.value.problems] == [
        "--until-ci: expected a relative half-width in (0, 1), got 1.5",
        "--max-seeds: at least the 3 seeds of a first round",
        "--metric: unknown metric 'avial'; did you mean 'avail'? (known: avail, "
        "availability.mean, down_p90, incidents)",
    ]
    assert not (tmp_path / "out").exists()


def test_compare_reads_the_store_with_other_metrics_and_baselines(tmp_path: Path) -> None:
    sweep(write(tmp_path), tmp_path / "out", workers=1)
    found = compare(tmp_path / "out", metrics=["faults.outages", "avail"], baseline=["2d"])
    assert [m.name for m in found.metrics] == ["faults.outages", "avail"]
    rows = found.cells.to_pylist()
    assert {r["baseline"] for r in rows} == {"faults.host.repair.mean=2d"}
    same = compare(tmp_path / "out", baseline=["faults.host.repair.mean=2d"]).cells
    assert same.filter(pc.equal(same["metric"], "avail")).equals(
        found.cells.filter(pc.equal(found.cells["metric"], "avail"))
    )
    for kwargs, message in [
        ({"metrics": ["faults.outagez"]}, "--metric: faults.outagez: neither a metric"),
        ({"baseline": ["5d"]}, "--baseline: 5d: unknown value '5d'"),
        ({"baseline": ["x=1d"]}, "--baseline: x=1d: unknown axis 'x'"),
        ({"confidence": 1.2}, "--confidence: expected a level in (0, 1), got 1.2"),
    ]:
        with pytest.raises(ExperimentError) as info:
            compare(tmp_path / "out", **kwargs)  # type: ignore[arg-type]
        assert str(info.value).startswith(message), str(info.value)
    with pytest.raises(ExperimentError, match="not a sweep's folder"):
        compare(tmp_path)


def test_cells_that_resolve_to_the_same_scenario_share_their_runs(tmp_path: Path) -> None:
    path = write(tmp_path, grid={"meta.description": ["a"]}, baseline=None)
    (tmp_path / "copy.yaml").write_text((tmp_path / "unit.yaml").read_text())
    path.write_text(
        path.read_text().replace("scenario: unit.yaml", "scenario: {a: unit.yaml, b: copy.yaml}")
    )
    result = sweep(path, tmp_path / "out", workers=1)
    assert result.ran == 3  # one run per seed, shown in both cells
    assert (
        result.runs.column("cell").to_pylist()
        == ["scenario=a, meta.description=a"] * 3 + ["scenario=b, meta.description=a"] * 3
    )
    assert result.runs["avail"].to_pylist()[:3] == result.runs["avail"].to_pylist()[3:]
