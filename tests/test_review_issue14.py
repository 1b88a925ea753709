"""Reproducers from the cold review of issue 14's compiled kernels (9f7ec8b..07de44d).

Each test states what the change claims; the ones marked ``xfail(strict=True)`` show where
the claim does not hold today (they start passing, and so fail as XPASS, once fixed: then
drop the mark). The others pin claims that hold, where no test pinned them before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cloudsim import Simulation
from cloudsim import compiled as compilation
from cloudsim.platform import kernels as flow_kernels
from tests.containers.test_sample_kernels import build, containers_of, replay_scenario

needs_numba = pytest.mark.skipif(not compilation.available(), reason="numba is not installed")
REPO = Path(__file__).resolve().parent.parent


def _tiny_replay(tmp_path: Path) -> Simulation:
    """One node, one pod, one hour: a replay that places no VM."""
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,1,T4\n")
    pods = tmp_path / "pods.csv"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
        "creation_time,deletion_time,scheduled_time\na,6000,1024,1,600,T4,LS,Running,0,100,0\n"
    )
    return Simulation(build(replay_scenario(nodes, pods, horizon="1h", sample_interval="1m")))


def _replay_in_a_fresh_process(env: dict[str, str]) -> list[str]:
    """Whether numba was imported, the sample paths taken and the results' digest of the
    tiny replay, run in a fresh process (this one may already have run compiled code)."""
    script = (
        "import sys, tempfile; from pathlib import Path\n"
        "from tests.test_review_issue14 import _tiny_replay\n"
        "from tests.containers.test_sample_kernels import containers_of\n"
        "from cloudsim.results import assemble\n"
        "from tests.golden.cases import digest\n"
        "sim = _tiny_replay(Path(tempfile.mkdtemp()))\n"
        "sim.kernel.run()\n"
        "import hashlib, json\n"
        "d = json.dumps(digest(assemble(sim.kernel)), sort_keys=True, default=str)\n"
        "print('numba' in sys.modules, containers_of(sim).series.kernel, sim.recorder.kernel,"
        " hashlib.sha256(d.encode()).hexdigest())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout.split()


@needs_numba
def test_a_container_run_compiles_and_cloudsim_kernels_numpy_keeps_every_part_on_numpy() -> None:
    """A container run takes the compiled pod states and scheduler plugins ("auto": numba is
    installed), so the samples, which wait for compiled code to have run, compile too;
    ``CLOUDSIM_KERNELS=numpy`` keeps every part of the run on its reference path, numba
    never imported, with the same results."""
    compiled = _replay_in_a_fresh_process({"CLOUDSIM_KERNELS": "auto"})
    reference = _replay_in_a_fresh_process({"CLOUDSIM_KERNELS": "numpy"})
    assert compiled[:3] == ["True", "numba", "numba"]
    assert reference[:3] == ["False", "numpy", "numpy"]
    assert len(compiled) == len(reference) == 4 and compiled[3] == reference[3]


def test_an_unknown_cloudsim_kernels_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSIM_KERNELS", "fortran")
    with pytest.raises(ValueError, match=r"CLOUDSIM_KERNELS must be 'auto', 'numpy' or 'numba'"):
        compilation.chosen("auto")
    assert not compilation.chosen("numpy")  # an explicit setting does not read it


@needs_numba
@pytest.mark.parametrize(
    "module", ["cloudsim.placement.kernels", "cloudsim.containers.hpa.kernels"]
)
def test_kernelset_python_stays_plain_after_compiling(module: str) -> None:
    import importlib

    kernels = importlib.import_module(module)
    kernels.KERNELS.compiled()
    plain = kernels.KERNELS.python()
    assert all(type(fn).__name__ == "function" for fn in plain.values()), {
        name: type(fn).__name__ for name, fn in plain.items()
    }


@needs_numba
@pytest.mark.xfail(
    strict=True,
    reason="numpy's sum starts from +0.0, the compiled pairwise sum from -0.0: transfers "
    "left at -0.0 move -0.0 bytes compiled, 0.0 by numpy (harmless: equal as numbers)",
)
def test_flow_advance_of_negative_zeros_is_bit_identical() -> None:
    compiled = flow_kernels.kernels()["advance"]
    for m in (1, 9):
        a = np.full(m, -0.0)
        b = a.copy()
        ref = flow_kernels.advance_numpy(a, m, 5.0)
        got = compiled(b, m, 5.0)
        assert np.signbit(ref) == np.signbit(got)


@pytest.mark.parametrize("kernel", ["python", "numba"])
def test_flow_advance_sums_as_numpy_over_many_sizes(kernel: str) -> None:
    """The pairwise order is numpy's for every length around the block edges (128, 256,
    ...), with magnitudes that make the order show (the kernel tests draw up to ~300)."""
    if kernel == "numba" and not compilation.available():
        pytest.skip("numba is not installed")
    fns = flow_kernels.KERNELS.compiled() if kernel == "numba" else flow_kernels.KERNELS.python()
    advance = fns["advance"]
    rng = np.random.default_rng(14)
    sizes = [*range(1, 20), *range(120, 140), *range(250, 270), 511, 512, 513, 1000, 1029, 4099]
    for m in sizes:
        left = rng.random(m + 3) * 10.0 ** rng.integers(-3, 13, m + 3)
        step = float(rng.random() * 1e9)
        a, b = left.copy(), left.copy()
        assert flow_kernels.advance_numpy(a, m, step) == advance(b, m, step), m
        assert np.array_equal(a, b), m


def test_tiny_replay_runs_on_numpy_when_numba_is_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With numba reported absent, every part of a container replay takes numpy."""
    monkeypatch.setattr(compilation, "available", lambda: False)
    sim = _tiny_replay(tmp_path)
    sim.kernel.run()
    assert containers_of(sim).series.kernel == "numpy" and sim.recorder.kernel == "numpy"
