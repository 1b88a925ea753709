"""Faults: stochastic, scripted and trace-driven failures of hosts, failure domains, links,
the witness and systems' data, as a module of the kernel (:class:`FaultsModule`)."""

from cloudsim.faults.injector import FaultInjector
from cloudsim.faults.module import FaultsModule
from cloudsim.faults.trace import FailureTrace, read_failure_trace

__all__ = ["FailureTrace", "FaultInjector", "FaultsModule", "read_failure_trace"]
