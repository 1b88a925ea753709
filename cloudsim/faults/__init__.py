"""Faults: stochastic, scripted and trace-driven failures of hosts and failure domains, and
the local high availability that restarts the VMs they stop."""

from cloudsim.faults.components import ComponentCatalog
from cloudsim.faults.ha import LocalHA
from cloudsim.faults.injector import FaultInjector, Outage
from cloudsim.faults.trace import FailureTrace, read_failure_trace

__all__ = [
    "ComponentCatalog",
    "FailureTrace",
    "FaultInjector",
    "LocalHA",
    "Outage",
    "read_failure_trace",
]
