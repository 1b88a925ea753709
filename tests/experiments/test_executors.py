"""The same sweep gives the same tables with one worker, two local worker processes and a
two-worker Dask LocalCluster; Dask problems are clear errors, quickly."""

from __future__ import annotations

import importlib.util
import socket
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudsim.errors import ExperimentError
from cloudsim.experiments import sweep
from tests.experiments.builders import write

HAS_DASK = importlib.util.find_spec("distributed") is not None


def tables(out: Path) -> tuple[pa.Table, pa.Table]:
    """runs.parquet without the wall time, and cells.parquet."""
    return pq.read_table(out / "runs.parquet").drop(["wall_s"]), pq.read_table(
        out / "cells.parquet"
    )


@pytest.mark.slow
def test_results_are_identical_whatever_the_workers_or_the_executor(tmp_path: Path) -> None:
    path = write(tmp_path, seeds=4)
    one = sweep(path, tmp_path / "one", workers=1)
    two = sweep(path, tmp_path / "two", workers=2)
    assert (one.ran, two.ran) == (8, 8)
    assert tables(tmp_path / "one") == tables(tmp_path / "two")
    if not HAS_DASK:
        pytest.skip("dask's distributed is not installed (pip install 'cloudsim[dask]')")
    dask = sweep(path, tmp_path / "dask", workers=2, dask="local")
    assert dask.pool.startswith("Dask at tcp://127.0.0.1:")
    assert tables(tmp_path / "one") == tables(tmp_path / "dask")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_DASK, reason="dask's distributed is not installed")
def test_a_dask_address_that_does_not_answer_is_a_clear_error_within_seconds(
    tmp_path: Path,
) -> None:
    with socket.socket() as silent:  # accepts connections, never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ExperimentError) as info:
            sweep(write(tmp_path), tmp_path / "out", dask=address, dask_timeout=2)
    assert time.monotonic() - started < 10
    (problem,) = info.value.problems
    assert str(problem).startswith(f"--dask: no Dask scheduler answered at {address} within 2 s")
    assert not (tmp_path / "out").exists()


def test_without_dask_the_message_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(ExperimentError) as info:
        sweep(write(tmp_path), tmp_path / "out", dask="local")
    assert str(info.value) == (
        "--dask: Dask is an optional extra of cloudsim: pip install 'cloudsim[dask]'"
    )
    assert not (tmp_path / "out").exists()
