"""What a failover policy sees, and what it may ask for.

An :class:`Observation` is plain, frozen data: the heartbeat monitors' reports (which can
be wrong), the DR controller's own bookkeeping of each system (which centres it made
primary, fenced, failed over), corruption reports, the last reported replication lag, and
the capacity the cloud management platform reports. It holds no handle on the simulator,
so a policy cannot read the ground truth the ledger scores it against.

Actions are frozen dataclasses too; :func:`action_problem` says what is wrong with one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

PRIORITIES: tuple[str, ...] = ("critical", "important", "normal")


Resources = tuple[int, int, int]  # (milli-vCPU, MiB, GB of disk)


def frozen_map(data: Mapping[str, object] | None = None) -> Mapping[str, object]:
    """A read-only mapping (policies cannot change what they were shown)."""
    return MappingProxyType(dict(data or {}))


def _no_resources() -> Mapping[str, Resources]:
    return MappingProxyType({})


def _no_room() -> Mapping[str, bool]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HeartbeatView:
    """One monitor's report: ``source`` hears ``target`` or not, since ``since``."""

    source: str
    target: str
    reachable: bool
    since: float


@dataclass(frozen=True)
class SystemStatus:
    """One business system as the DR controller and its monitoring know it."""

    name: str
    priority: str
    mode: str
    zone: str
    home: tuple[str, ...]  # the centres it was designed to run in
    standby: str | None  # remote standby (active-standby; active-active's third leg)
    restore_to: str | None  # where a restore from backup runs
    primaries: tuple[str, ...]  # centres the controller made primary
    fenced: tuple[str, ...]  # centres the controller fenced for this system
    phase: str  # normal, failing_over, failed_over, failing_back, shed
    corrupted: bool  # a corruption of its data was reported
    lag_s: float  # async replication lag at the last controller tick
    need: int  # VMs it needs running to carry its load
    #: (milli-vCPU, MiB, GB) its VMs hold per centre, as the management platform reports.
    held: Mapping[str, Resources] = field(default_factory=_no_resources)
    #: Per centre it could be moved to: (milli-vCPU, MiB, GB) still to place there, and whether
    #: the placer's filters find room for it now (filled for systems with a problem only).
    demand_at: Mapping[str, Resources] = field(default_factory=_no_resources)
    room_at: Mapping[str, bool] = field(default_factory=_no_room)
    #: Whether the copy of its data in its own centres is intact (no corruption reported):
    #: a centre that lost power comes back with its data; waiting for it loses nothing.
    home_intact: bool = True
    #: When the operations team expects every lost home centre back (an announced estimate,
    #: which can be wrong; None: none is lost, or no estimate yet).
    home_back_at: float | None = None
    #: Seconds a recovery at its default target (``standby``, else ``restore_to``) takes from
    #: the decision to traffic arriving there, by design (a restore: size / restore
    #: bandwidth + VM starts + redirect).
    recovery_s: float = 0.0
    #: Whether the management platform reports it short of VMs where it serves (a recovery
    #: that found no room): it does not carry its load and takes no writes.
    short: bool = False


@dataclass(frozen=True)
class Observation:
    """Everything a policy is told at one decision point."""

    time: float
    #: What caused this decision point: "heartbeat", "corruption", "timer", "repair".
    reason: str
    centres: tuple[str, ...]  # monitored centres
    site_of: Mapping[str, str]
    witness: str | None  # the witness node ("witness@site") or None
    heartbeat_interval: float  # seconds between heartbeats (configuration)
    heartbeats: tuple[HeartbeatView, ...]
    systems: tuple[SystemStatus, ...]
    #: Free (milli-vCPU, MiB, GB) on up hosts usable by DR, per centre and zone.
    free: Mapping[str, Mapping[str, Resources]]
    #: Centres most of the monitors that watch them (witness included) report unreachable.
    suspected: tuple[str, ...] = ()

    @cached_property
    def _views(self) -> dict[tuple[str, str], HeartbeatView]:
        return {(view.source, view.target): view for view in self.heartbeats}

    @cached_property
    def _statuses(self) -> dict[str, SystemStatus]:
        return {status.name: status for status in self.systems}

    def hears(self, source: str, target: str) -> bool:
        """Whether ``source``'s monitor reports ``target`` reachable (False if unmonitored)."""
        view = self._views.get((source, target))
        return view is not None and view.reachable

    def unreachable_since(self, source: str, target: str) -> float | None:
        view = self._views.get((source, target))
        return view.since if view is not None and not view.reachable else None

    def system(self, name: str) -> SystemStatus:
        return self._statuses[name]

    def has_system(self, name: str) -> bool:
        return name in self._statuses


# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailOver:
    """Move ``system``'s service to ``to`` (default: its standby, or for an active-active
    system the side still heard). A corrupted system is restored from backup instead."""

    system: str
    to: str | None = None


@dataclass(frozen=True)
class FailOverCentre:
    """Fail over every system that has ``centre`` among its primaries."""

    centre: str


@dataclass(frozen=True)
class Fence:
    """Stop writes at ``centre`` (for ``system`` only, or every system there)."""

    centre: str
    system: str | None = None


@dataclass(frozen=True)
class Wait:
    """Nothing now; be asked again at ``until`` (absent: at the next observation)."""

    until: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class FailBack:
    """Return ``system`` to its own centres (resync first), ending fences and failovers."""

    system: str


@dataclass(frozen=True)
class Shed:
    """Stop a (low-priority) system at ``centre`` (absent: wherever it serves) to free room;
    it comes back at failback."""

    system: str
    centre: str | None = None


Action = FailOver | FailOverCentre | Fence | Wait | FailBack | Shed
ACTION_TYPES: tuple[type, ...] = (FailOver, FailOverCentre, Fence, Wait, FailBack, Shed)


def action_problem(action: object, observation: Observation) -> str | None:
    """What makes ``action`` invalid for ``observation`` (None: it is valid)."""
    if not isinstance(action, ACTION_TYPES):
        kinds = ", ".join(t.__name__ for t in ACTION_TYPES)
        return f"{action!r} is not an action ({kinds})"
    centres = observation.centres
    if isinstance(action, FailOver | FailBack | Shed) and not observation.has_system(action.system):
        return f"{action!r}: unknown system {action.system!r}"
    if isinstance(action, FailOver) and action.to is not None:
        status = observation.system(action.system)
        allowed = {*status.home, *(c for c in (status.standby, status.restore_to) if c)}
        if action.to not in allowed:
            return (
                f"{action!r}: {action.system!r} can fail over to {sorted(allowed)}, "
                f"not {action.to!r}"
            )
    if isinstance(action, FailOverCentre | Fence) and action.centre not in centres:
        return f"{action!r}: unknown or unmonitored centre {action.centre!r}"
    if (
        isinstance(action, Fence)
        and action.system is not None
        and not observation.has_system(action.system)
    ):
        return f"{action!r}: unknown system {action.system!r}"
    if isinstance(action, Shed) and action.centre is not None and action.centre not in centres:
        return f"{action!r}: unknown or unmonitored centre {action.centre!r}"
    if (
        isinstance(action, Wait)
        and action.until is not None
        and (not isinstance(action.until, int | float) or not action.until >= observation.time)
    ):
        return f"{action!r}: until must be a time >= now ({observation.time})"
    return None
