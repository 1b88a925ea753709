"""RunResult.load reads a result folder back as the run produced it; to_pandas; clear
errors naming the file for folders that are not a run's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from cloudsim import simulate
from cloudsim.errors import ResultFolderError
from cloudsim.results import RunResult
from tests.conftest import build, tiny


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    result = simulate(build(tiny()), seed=2)
    out = tmp_path_factory.mktemp("load") / "run"
    result.write(out)
    return result, out


def test_load_gives_back_the_run(written: tuple[RunResult, Path]) -> None:
    result, out = written
    loaded = RunResult.load(out)
    assert loaded.summary == json.loads(json.dumps(result.summary))
    assert loaded.metadata == json.loads(json.dumps(result.metadata))
    assert list(loaded.tables) == list(result.tables) == result.metadata["tables"]
    for name, table in result.tables.items():
        assert loaded.tables[name].equals(table), name


def test_to_pandas_gives_a_frame_per_table(written: tuple[RunResult, Path]) -> None:
    result, out = written
    frames = RunResult.load(out).to_pandas()
    assert set(frames) == set(result.tables)
    assert all(isinstance(f, pd.DataFrame) for f in frames.values())
    assert len(frames["timeseries"]) == result.tables["timeseries"].num_rows
    assert frames["systems"]["name"].tolist() == ["portal"]


def test_a_folder_that_is_not_a_run_is_a_clear_error(
    written: tuple[RunResult, Path], tmp_path: Path
) -> None:
    _, out = written
    with pytest.raises(ResultFolderError, match="not a folder"):
        RunResult.load(tmp_path / "absent")
    with pytest.raises(ResultFolderError, match=re.escape("no summary.json")):
        RunResult.load(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("summary.json", "metadata.json"):
        (broken / name).write_bytes((out / name).read_bytes())
    with pytest.raises(
        ResultFolderError, match=re.escape("lists table 'events' but events.parquet")
    ):
        RunResult.load(broken)
    (broken / "events.parquet").write_text("not parquet")
    with pytest.raises(
        ResultFolderError, match=re.escape("events.parquet: not a readable Parquet")
    ):
        RunResult.load(broken)
    (broken / "summary.json").write_text("[1]")
    with pytest.raises(ResultFolderError, match=re.escape("summary.json: expected a JSON object")):
        RunResult.load(broken)
    (broken / "summary.json").write_text("{")
    with pytest.raises(ResultFolderError, match=re.escape("summary.json: unreadable")):
        RunResult.load(broken)
