"""cloudsim: a discrete-event simulator of a government cloud (政务云).

Library use::

    from cloudsim import load_scenario, simulate
    scenario = load_scenario("scenarios/hunan-3s4c.yaml", overrides={"meta.horizon": "30d"})
    result = simulate(scenario, seed=7)
    result.summary["vms_rejected"], result.tables["timeseries"]
"""

from cloudsim.engine import Simulation, simulate
from cloudsim.errors import Problem, ScenarioError
from cloudsim.results import RunResult
from cloudsim.scenario.loader import load_scenario, scenario_from_dict
from cloudsim.scenario.schema import Scenario

__version__ = "0.1.0"

__all__ = [
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "__version__",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
]
