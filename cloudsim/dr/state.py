"""What the DR controller keeps per business system."""

from __future__ import annotations

from dataclasses import dataclass, field

from cloudsim.dr.observation import Resources
from cloudsim.dr.plan import SystemPlan
from cloudsim.records import Decision, Outage


@dataclass
class SystemState:
    plan: SystemPlan
    primaries: set[int]
    fenced: set[int] = field(default_factory=set)
    alone: set[int] = field(default_factory=set)
    phase: str = "normal"
    corrupted: bool = False
    noticed: bool = False
    corrupt_outage: Outage | None = None
    serving: frozenset[int] = frozenset()
    split_since: float | None = None
    winner: int = -1  # the centre most recently made primary by a decision
    #: The witness lock (with a witness): the one centre allowed to write outside an in-sync
    #: active-active pair. A-S and backup-only primaries hold it from the start.
    holder: int | None = None
    #: Targets a failover to was refused since the last change (not recorded twice).
    refused: set[int] = field(default_factory=set)
    dr_vms: list[int] = field(default_factory=list)  # vm ids created by DR (not warm)
    warm_vms: list[int] = field(default_factory=list)
    promoted: bool = False
    shed: list[tuple[int, int]] = field(default_factory=list)  # (flavor, centre) to recreate
    open: list[Decision] = field(default_factory=list)  # records waiting for failback
    stopped_writing: float = 0.0
    generation: int = 0  # bumps on failback: stale completions are ignored
    #: (centre, demand) held back for VMs a failover will create there (capacity reports)
    reserved: tuple[int, Resources] | None = None
    #: A recovery completed without the VMs the system needs there (no room): it does not
    #: carry its load, takes no writes, and goes home as soon as its home is back.
    short: bool = False
    #: Sides of a pair going on alone whose traffic redirect (GSLB/DNS) is not done yet: no
    #: client reaches them; and sides still starting the VMs they lack there.
    redirecting: set[int] = field(default_factory=set)
    scaling: set[int] = field(default_factory=set)
    #: The restore copy in progress (its flow on the links), if any.
    restore_flow: int | None = None
    #: Without a witness: when the operator's reconciliation of a split-brain ends (NaN:
    #: none under way).
    reconcile_at: float = float("nan")
