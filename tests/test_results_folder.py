"""A result folder always holds exactly one complete run: written as a whole (interrupted
writes leave the previous run), stale tables gone, one writer at a time, Ctrl-C, and the
metadata's paths resolved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudsim import RunResult, simulate
from cloudsim import results as results_module
from cloudsim.errors import ResultFolderError
from cloudsim.results import FolderLock, recover
from tests.conftest import REPO, build, invoke, tiny
from tests.containers.builders import deployment
from tests.containers.builders import scenario as container_scenario

DATA = Path(__file__).resolve().parent / "data"
BASE = DATA / "base.yaml"
SHORT = ["--set", "meta.horizon=7d", "--quiet"]


def fake(run: str, tables: tuple[str, ...] = ("events", "vms")) -> RunResult:
    """A small RunResult whose every file says which run wrote it."""
    return RunResult(
        summary={"run": run},
        metadata={"run": run, "tables": list(tables)},
        tables={name: pa.table({"run": [run], "table": [name]}) for name in tables},
    )


def runs_in(out: Path) -> set[str]:
    """Which runs the folder's files come from (one, for a folder written whole)."""
    found = {json.loads((out / n).read_text())["run"] for n in ("summary.json", "metadata.json")}
    for path in out.glob("*.parquet"):
        found |= set(pq.read_table(path).column("run").to_pylist())
    return found


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".cloudsim-"))


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


# ----------------------------------------------------------------------------- written whole


def test_a_run_replaces_the_folder_stale_tables_are_gone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with_containers = simulate(build(container_scenario(deployments=[deployment("web", 2)])))
    assert {"pods", "nodes", "services"} <= set(with_containers.tables)
    with_containers.write(out)
    without = simulate(build(tiny()))
    assert "pods" not in without.tables
    assert without.write(out) == out
    names = {p.stem for p in out.glob("*.parquet")}
    assert names == set(without.tables)
    assert json.loads((out / "metadata.json").read_text())["tables"] == list(without.tables)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_write_stopped_midway_leaves_the_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    out = tmp_path / "out"
    fake("first", ("events", "vms", "pods")).write(out)
    before = snapshot(out)
    written: list[str] = []

    def write_table(table: pa.Table, where: Any) -> None:
        if written:
            raise error
        written.append(str(where))
        pq.write_table(table, where)

    monkeypatch.setattr(results_module.pq, "write_table", write_table)
    with pytest.raises(type(error)):
        fake("second", ("events", "vms")).write(out)
    assert written  # it failed after writing a table
    assert snapshot(out) == before
    assert runs_in(out) == {"first"}
    assert leftovers(tmp_path) == []


def test_a_failed_swap_puts_the_previous_run_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the two folders cannot be exchanged in one step: old aside, new in; the second
    rename failing puts the old one back."""
    out = tmp_path / "out"
    fake("first").write(out)
    before = snapshot(out)
    monkeypatch.setattr(results_module, "_exchange", lambda a, b: False)
    real_rename = os.rename
    calls: list[str] = []

    def rename(src: Any, dst: Any) -> None:
        calls.append(Path(dst).name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(results_module.os, "rename", rename)
    with pytest.raises(OSError):
        fake("second").write(out)
    assert calls[0].startswith(".cloudsim-old-out-") and calls[1] == "out"
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []
    monkeypatch.setattr(results_module.os, "rename", real_rename)
    fake("third").write(out)  # and the two-rename swap works
    assert runs_in(out) == {"third"}
    assert leftovers(tmp_path) == []


def test_a_folder_with_other_files_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(ResultFolderError, match="not a run's results"):
        fake("x").write(out)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "precious"
    assert leftovers(tmp_path) == []
    code, stdout, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 2
    assert err.startswith(f"--out {out}: holds 1 entry that are not a run's results (notes.txt)")
    assert "results in" not in stdout
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_temporaries_of_older_versions_are_recognised(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    (out / ".events.parquet.k2j4l5").write_bytes(b"half a table")
    fake("second").write(out)
    assert sorted(p.name for p in out.iterdir()) == [
        "events.parquet",
        "metadata.json",
        "summary.json",
        "vms.parquet",
    ]


# ----------------------------------------------------------------------------- killed writers

_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    import pyarrow as pa
    import pyarrow.parquet as pq
    from cloudsim import RunResult
    from cloudsim import results

    out, where = sys.argv[1], sys.argv[2]
    r = RunResult({"run": "second"}, {"run": "second"},
                  {n: pa.table({"run": ["second"]}) for n in ("events", "vms")})

    def hang() -> None:
        print("ready", flush=True)
        time.sleep(600)

    if where == "tables":
        real = pq.write_table
        def write_table(table, path):
            real(table, path)
            hang()
        results.pq.write_table = write_table
    else:  # between the two renames of a swap
        results._exchange = lambda a, b: False
        real_rename = os.rename
        def rename(src, dst):
            real_rename(src, dst)
            if os.path.basename(str(dst)).startswith(".cloudsim-old-"):
                hang()
        results.os.rename = rename
    r.write(out)
    """
)


def kill_while_writing(out: Path, where: str) -> int:
    """Start a writer of ``out``, SIGKILL it at ``where``; its pid."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(out), where],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    return proc.pid


def test_a_writer_killed_while_writing_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    before = snapshot(out)
    pid = kill_while_writing(out, "tables")
    assert snapshot(out) == before  # the previous run, whole
    (left,) = leftovers(tmp_path)
    assert left.startswith(f".cloudsim-tmp-out-{pid}-")
    # the next writer recognises it and removes it
    assert recover(out) == [f"removed {left}, left by a stopped run (pid {pid})"]
    assert leftovers(tmp_path) == []


def test_a_writer_killed_between_the_renames(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    before = snapshot(out)
    pid = kill_while_writing(out, "swap")
    assert not out.exists()  # the window the exchange (where available) closes
    assert len(leftovers(tmp_path)) == 2
    fake("third").write(out)  # puts "first" back, removes the new folder, then writes
    assert runs_in(out) == {"third"}
    assert leftovers(tmp_path) == []
    # and a folder left so is put back by `recover` (the CLI reports it before running)
    pid = kill_while_writing(out, "swap")
    notes = recover(out)
    assert snapshot(out) != before and runs_in(out) == {"third"}
    assert notes[0].startswith("put back the previous results from .cloudsim-old-out-")
    assert notes[1].startswith(f"removed .cloudsim-tmp-out-{pid}-")
    assert leftovers(tmp_path) == []


def test_the_cli_reports_what_a_killed_run_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    pid = kill_while_writing(out, "tables")
    code, _, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 0, err
    assert f"--out {out}: removed .cloudsim-tmp-out-{pid}-" in err
    assert leftovers(tmp_path) == []
    assert json.loads((out / "summary.json").read_text())["scenario"] == "tiny"


# ----------------------------------------------------------------------------- the lock

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from cloudsim.results import FolderLock
    FolderLock(sys.argv[1]).acquire()
    print("ready", flush=True)
    time.sleep(600)
    """
)


def test_a_second_run_into_a_busy_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        code, stdout, err = invoke("run", BASE, "--out", out, *SHORT)
        assert code == 2
        assert err.strip() == (
            f"--out {out}: another cloudsim run (pid {holder.pid}) is writing to this folder; "
            "wait for it to finish or choose another --out"
        )
        assert "Traceback" not in err and "results in" not in stdout
        assert not out.exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # the killed holder's lock file is stale: taken over, with a note
    code, _, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 0, err
    assert f"took over the lock left by pid {holder.pid} (no longer running)" in err
    assert (out / "summary.json").is_file()
    assert leftovers(tmp_path) == []  # the lock file goes with its holder


def test_the_lock_in_one_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FolderLock(out) as notes:
        assert notes == []
        with pytest.raises(ResultFolderError, match=f"pid {os.getpid()}"):
            FolderLock(out).acquire()
    with FolderLock(out):
        pass
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_the_run_keeps_the_previous_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    before = snapshot(out)

    def interrupted(*args: Any, **kwargs: Any) -> RunResult:
        raise KeyboardInterrupt

    monkeypatch.setattr("cloudsim.cli.Simulation.run", interrupted)
    code, stdout, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 130
    assert err.strip() == (
        f"interrupted: --out {out}: nothing written; the folder still holds the previous "
        "results, untouched"
    )
    assert "results in" not in stdout
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []
    fresh = tmp_path / "fresh"
    code, _, err = invoke("run", BASE, "--out", fresh, *SHORT)
    assert code == 130
    assert err.strip() == f"interrupted: --out {fresh}: nothing written; the folder was not created"
    assert not fresh.exists()


def test_ctrl_c_while_writing_keeps_the_previous_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    before = snapshot(out)
    real = pq.write_table
    calls: list[int] = []

    def write_table(table: pa.Table, where: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real(table, where)

    monkeypatch.setattr(results_module.pq, "write_table", write_table)
    code, _, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 130
    assert "nothing written; the folder still holds the previous results" in err
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_the_swap_is_held_until_it_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    real = results_module._exchange

    def exchange(a: Path, b: Path) -> bool:
        os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the swap
        return real(a, b)

    monkeypatch.setattr(results_module, "_exchange", exchange)
    with pytest.raises(results_module.ResultsWrittenInterrupt):
        fake("second").write(out)
    assert runs_in(out) == {"second"}
    assert leftovers(tmp_path) == []
    code, _, err = invoke("run", BASE, "--out", out, *SHORT)
    assert code == 130
    assert "the run had finished: its results were written whole" in err
    assert json.loads((out / "summary.json").read_text())["scenario"] == "tiny"


# ----------------------------------------------------------------------------- metadata paths


def test_metadata_paths_do_not_depend_on_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    trace = pa.table(
        {
            "failure_interval": pa.array([86_400_000], pa.int64()),
            "failure_duration": pa.array([3_600_000], pa.int64()),
            "failure_intensity": pa.array([0.25], pa.float64()),
        }
    )
    pq.write_table(trace, folder / "t.parquet")
    text = (
        BASE.read_text(encoding="utf-8")
        + "\nfaults:\n  traces:\n    - {name: t, path: t.parquet}\n"
    )
    (folder / "s.yaml").write_text(text, encoding="utf-8")
    outs = []
    for cwd, scenario in ((tmp_path, "scenarios/s.yaml"), (folder, "s.yaml")):
        monkeypatch.chdir(cwd)
        outs.append(tmp_path / f"from-{cwd.name}")
        code, _, err = invoke("run", scenario, "--out", outs[-1], *SHORT)
        assert code == 0, err
    first, second = ((o / "metadata.json").read_bytes() for o in outs)
    assert first == second
    (echoed,) = json.loads(first)["scenario"]["faults"]["traces"]
    assert echoed["path"] == str((folder / "t.parquet").resolve())
    assert (outs[0] / "summary.json").read_bytes() == (outs[1] / "summary.json").read_bytes()


def test_container_trace_paths_are_resolved_in_the_echo_only() -> None:
    echo = results_module._absolute_paths(
        {
            "containers": {
                "clusters": [{"name": "a", "trace_nodes": "data/nodes.csv"}, {"name": "b"}],
                "replay": {"cluster": "a", "pods": "../pods.csv"},
            },
            "faults": {"traces": [{"name": "t", "path": "/abs/t.parquet"}]},
        }
    )
    cwd = Path.cwd().resolve()
    assert echo["containers"]["clusters"][0]["trace_nodes"] == str(cwd / "data/nodes.csv")
    assert "trace_nodes" not in echo["containers"]["clusters"][1]
    assert echo["containers"]["replay"]["pods"] == str(cwd.parent / "pods.csv")
    assert echo["faults"]["traces"][0]["path"] == "/abs/t.parquet"


# ----------------------------------------------------------------------------- SIGTERM

_TERMINATED = textwrap.dedent(
    """
    import sys, time
    import cloudsim.cli as cli

    def run(*args, **kwargs):
        print("ready", flush=True)
        time.sleep(600)

    cli.Simulation.run = run
    cli.app(sys.argv[1:])
    """
)


def test_sigterm_during_the_run_is_a_clean_stop(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake("first").write(out)
    before = snapshot(out)
    args = ["run", str(BASE), "--out", str(out), *SHORT]
    proc = subprocess.Popen(
        [sys.executable, "-c", _TERMINATED, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: --out" in err and "previous results, untouched" in err
    assert "Traceback" not in err
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []
    with FolderLock(out):  # released
        pass
