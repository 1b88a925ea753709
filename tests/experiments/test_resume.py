"""A sweep killed with SIGKILL and started again re-runs nothing that finished, loses
nothing, and ends with every cell holding exactly its seeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.experiments.builders import unit, write

CELLS, SEEDS = 2, 16


@pytest.mark.slow
def test_a_killed_sweep_resumes_without_rerunning_or_losing_runs(tmp_path: Path) -> None:
    path = write(tmp_path, scenario_data=unit(1500), seeds=SEEDS)  # ~0.1 s a run
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cloudsim.cli", "sweep", str(path), "--out", str(out)]
    command += ["--workers", "2", "--quiet"]
    first = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    records = out / "records"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        if records.is_dir() and len(list(records.glob("[!.]*.json"))) >= 8:
            break
        time.sleep(0.02)
    assert first.poll() is None, first.stderr.read() if first.stderr else ""
    os.killpg(first.pid, signal.SIGKILL)  # the sweep and its worker processes
    first.wait()
    before = {p.name: p.read_bytes() for p in records.glob("[!.]*.json")}
    assert 8 <= len(before) < CELLS * SEEDS

    second = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    ran = CELLS * SEEDS - len(before)
    assert f"{ran} runs (0 failed)" in second.stdout
    assert f"{len(before)} reused from the store" in second.stdout
    runs = pq.read_table(out / "runs.parquet")
    pairs = list(zip(runs["cell"].to_pylist(), runs["seed"].to_pylist(), strict=True))
    assert len(pairs) == len(set(pairs)) == CELLS * SEEDS
    for cell in set(runs["cell"].to_pylist()):
        assert sorted(s for c, s in pairs if c == cell) == list(range(SEEDS))
    after = {p.name: p.read_bytes() for p in records.glob("[!.]*.json")}
    assert len(after) == CELLS * SEEDS
    assert all(after[name] == content for name, content in before.items())  # not re-run
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporary file left
