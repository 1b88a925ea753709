"""Typed records: failures, disaster-recovery decisions, serving centres, availability rules."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

#: A component as (class, index in its class).
ComponentRef = tuple[str, int]


@dataclass
class Outage:
    """One failure: components that went down together, and when they came back."""

    id: int
    label: str
    kind: str  # class of the failed component(s)
    cause: str  # stochastic, scripted or trace
    start: float
    components: tuple[ComponentRef, ...]
    hosts_down: int = 0  # hosts this failure took down (not already down)
    end: float = math.nan
    repair_started: float = math.nan  # stochastic: when a crew took it
    effect: str = "fail"  # fail, degrade (a link) or corrupt (a system's data)
    noticed: float = math.nan  # corrupt: when the damage is noticed
    #: When the operations team expects it repaired (an estimate, which can be wrong: a
    #: scripted fault's ``expected_repair``, or the repair distribution's typical value from
    #: when a crew takes it; NaN: not known yet). Failover policies are told it.
    expected_end: float = math.nan


@dataclass
class Decision:
    """One DR decision about one system (a failover, restore, fence or shed) and its
    outcome; the ledger turns these into incident rows."""

    system: int
    action: str  # failover, restore, fence, shed, split_brain
    policy: str
    source: tuple[int, ...]  # centres the system was taken from
    target: int  # centre it went to (-1: none)
    cause: str  # ground-truth outage label, or "false_alarm"
    cause_kind: str
    failed_at: float
    detected_at: float
    decided_at: float
    completed_at: float = math.nan
    data_lost_bytes: float = 0.0
    data_lost_s: float = 0.0
    vms_created: int = 0
    vms_missing: int = 0
    unnecessary: str = ""  # "", "false_alarm" or "healed_first"
    split_brain_s: float = 0.0
    failback_decided_at: float = math.nan
    failback_done_at: float = math.nan
    failure: str = ""  # why the action could not be carried out
    cause_end: float = math.nan


@dataclass
class PolicyFailure:
    """A failover or failback policy that raised or returned an invalid action."""

    time: float
    policy: str
    error: str


@dataclass
class ServingLog:
    """Where each system is served from: the ``(S, C)`` state at the start, then changes
    ``(time, system, centre, serving)`` in time order. Without one, every centre serves."""

    initial: npt.NDArray[np.bool_]
    changes: list[tuple[float, int, int, bool]] = field(default_factory=list)


@dataclass
class AvailabilityRules:
    """Per system: running VMs it needs to be up, and whether DR manages it (a DR-managed
    system's down time that no failure explains is still charged to the failure in
    progress)."""

    required: npt.NDArray[np.int64]
    managed: npt.NDArray[np.bool_]
    required_fraction: float  # the platform-wide default, reported in the summary
