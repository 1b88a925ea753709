"""cloudsim: a discrete-event simulator of a government cloud (政务云).

Library use::

    from cloudsim import load_scenario, simulate
    scenario = load_scenario("scenarios/hunan-3s4c.yaml", overrides={"meta.horizon": "30d"})
    result = simulate(scenario, seed=7)
    result.summary["vms_rejected"], result.tables["timeseries"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cloudsim.composition import CHECKS, world_of
from cloudsim.engine import Simulation, simulate
from cloudsim.errors import Problem, ScenarioError
from cloudsim.results import RunResult
from cloudsim.scenario import loader as _loader
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World

__version__ = "0.1.0"


def load_scenario(
    path: str | Path,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    *,
    check_feasibility: bool = True,
    max_file_bytes: int | None = None,
) -> Scenario:
    """Load, merge, override and validate a scenario file with every module's checks.

    ``overrides`` are ``dotted.path=value`` strings (as on the command line) or a mapping of
    dotted paths to values. ``max_file_bytes`` bounds each file read (default: the
    ``CLOUDSIM_MAX_FILE_BYTES`` environment variable, else 16 MiB). Raises
    :class:`ScenarioError` listing every problem found.
    """
    return _loader.load_scenario(
        path,
        overrides,
        check_feasibility=check_feasibility,
        checks=CHECKS,
        max_file_bytes=max_file_bytes,
    )


def scenario_from_dict(
    data: Mapping[str, Any], *, label: str = "<scenario>", check_feasibility: bool = True
) -> Scenario:
    """Validate an in-memory scenario (tests, notebooks) with the same checks as files."""
    return _loader.scenario_from_dict(
        data, label=label, checks=CHECKS, check_feasibility=check_feasibility
    )


__all__ = [
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "World",
    "__version__",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "world_of",
]
