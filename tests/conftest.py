"""Shared fixtures: small scenarios built as dictionaries, and the shared data folder."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cloudsim import Scenario, Simulation, scenario_from_dict

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def tiny(**sections: Any) -> dict[str, Any]:
    """A valid one-centre scenario as a dict; keyword sections replace the defaults."""
    base: dict[str, Any] = {
        "meta": {"name": "tiny", "horizon": "30d", "seed": 1, "sample_interval": "1d"},
        "sites": [{"name": "city"}],
        "datacenters": [{"name": "dc1", "site": "city", "racks": 4, "power_domains": 2}],
        "zones": [{"name": "extranet"}],
        "host_classes": [{"name": "std", "cores": 16, "memory": "128GiB", "disk": "2TB"}],
        "pools": [
            {
                "name": "general",
                "datacenter": "dc1",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 8}],
                "cpu_overcommit": 2.0,
            }
        ],
        "flavors": [
            {"name": "c4m8", "vcpus": 4, "memory": "8GiB", "disk": "100GB"},
            {"name": "c8m32", "vcpus": 8, "memory": "32GiB", "disk": "200GB"},
        ],
        "departments": [{"name": "health"}],
        "systems": [
            {
                "name": "portal",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1"],
                "vms": [{"flavor": "c4m8", "count": 4}],
            }
        ],
    }
    base.update(copy.deepcopy(sections))
    return base


def build(data: dict[str, Any]) -> Scenario:
    return scenario_from_dict(data)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared trace folder {SHARED_DATA} is absent (only in the team's workspace)")
    return SHARED_DATA


def module_of(sim: Simulation, name: str, attribute: str) -> Any:
    """A run's module's main object (``None`` when the run has no such module)."""
    module = sim.modules.get(name)
    return getattr(module, attribute) if module is not None else None


def dr_of(sim: Simulation) -> Any:
    """The run's DR controller, or None."""
    return module_of(sim, "dr", "controller")


def faults_of(sim: Simulation) -> Any:
    """The run's fault injector (always present)."""
    return module_of(sim, "faults", "injector")


def containers_of(sim: Simulation) -> Any:
    """The run's container cloud, or None."""
    return module_of(sim, "containers", "cloud")


def invoke(*args: str | Path) -> tuple[int, str, str]:
    """Run the ``cloudsim`` command in-process: (exit code, stdout, stderr); a crash (not a
    user error's exit) is raised, so it shows."""
    from typer.testing import CliRunner

    from cloudsim.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
