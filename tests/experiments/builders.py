"""Experiment files around tiny scenarios, written to a test's folder."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import tiny
from tests.faults.builders import IN_PLACE, exponential

#: One host, one VM that runs exactly while the host is up: MTTF 4 d, MTTR 1 d.
MTTF_D, MTTR_D = 4.0, 1.0


def unit(horizon_days: int = 60) -> dict[str, Any]:
    """A single repairable unit (exponential failures and repairs, local HA off)."""
    horizon = f"{horizon_days}d"
    return tiny(
        meta={"name": "unit", "horizon": horizon, "sample_interval": horizon, "seed": 1},
        datacenters=[{"name": "dc1", "site": "city", "racks": 1, "power_domains": 1}],
        pools=[
            {
                "name": "p",
                "datacenter": "dc1",
                "zone": "extranet",
                "hosts": [{"host_class": "std", "count": 1}],
            }
        ],
        systems=[
            {
                "name": "svc",
                "department": "health",
                "zone": "extranet",
                "datacenters": ["dc1"],
                "vms": [{"flavor": "c4m8", "count": 1}],
            }
        ],
        faults={
            "host": {
                "time_to_failure": exponential(f"{MTTF_D:g}d"),
                "repair": exponential(f"{MTTR_D:g}d"),
            },
            "local_ha": IN_PLACE,
        },
    )


def expected_availability(horizon_days: float) -> float:
    """E[fraction of [0, T] up] of the unit starting up: A + (1-A)(1-e^{-sT})/(sT),
    A = mu/(lambda+mu), s = lambda + mu (the two-state Markov chain's transient)."""
    lam, mu = 1 / MTTF_D, 1 / MTTR_D
    a, s = mu / (lam + mu), (lam + mu) * horizon_days
    return a + (1 - a) * (1 - math.exp(-s)) / s


#: Two repair times, three seeds, a summary metric, a table metric, a quantile, a count.
EXPERIMENT: dict[str, Any] = {
    "name": "unit-repairs",
    "scenario": "unit.yaml",
    "grid": {"faults.host.repair.mean": ["1d", "2d"]},
    "seeds": 3,
    "metrics": [
        "availability.mean",
        {"name": "avail", "table": "availability", "column": "availability", "agg": "mean"},
        {
            "name": "down_p90",
            "table": "incidents",
            "column": "duration_s",
            "agg": "quantile",
            "q": 0.9,
        },
        {"name": "incidents", "table": "incidents", "agg": "count"},
    ],
    "baseline": {"faults.host.repair.mean": "1d"},
}


def write(
    folder: Path,
    experiment: dict[str, Any] | None = None,
    scenario_data: dict[str, Any] | None = None,
    **fields: Any,
) -> Path:
    """``folder/unit.yaml`` (the scenario) and ``folder/exp.yaml`` (the experiment, with
    ``fields`` replacing its keys; a value None removes the key)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "unit.yaml").write_text(yaml.safe_dump(scenario_data or unit(), sort_keys=False))
    data = copy.deepcopy(experiment or EXPERIMENT)
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
