"""The ``maintenance`` section: drains of hosts, racks, power domains or centres, and the
live-migration model they move VMs with.

A module's own section (validated by the loader with this schema into
``scenario.extensions["maintenance"]``), so the scenario package knows nothing of it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from cloudsim.scenario.base import Duration, Gbps, Model, Name
from cloudsim.scenario.faults import FaultTime

Method = Literal["live", "cold", "refuse"]


class Migration(Model):
    """How VMs move: the pre-copy model's settings and the networks they cross.

    ``lan_bandwidth`` is each centre's migration network (the spine a move between two of
    its hosts crosses, shared by every move in the centre; ``lan_bandwidth_by_centre``
    overrides it per centre) and ``lan_rtt`` its round trip; between centres the moves
    share the scenario's links with DR's restores and streams. ``max_bandwidth`` caps one
    migration (QEMU's ``max-bandwidth``, a host NIC). A VM dirties ``dirty_rate`` of its
    memory per second (a system rule may say otherwise); pre-copy stops when what is left
    can be sent within ``downtime_target`` or after ``max_rounds`` iterations, then
    ``on_non_convergence``: ``force`` the stop-and-copy (a long pause) or fall back to a
    ``cold`` move. ``switchover`` is added to every pause (device state, network announce).
    Storage is shared within a centre; across centres ``storage_between_centres: copy``
    copies the VM's disk first (``shared``: a stretched storage cluster). A cold move (or
    fallback) boots the VM at the destination ``restart_time`` after it stops.
    ``per_host`` moves leave one host at a time (Nova's ``max_concurrent_live_migrations``).
    """

    lan_bandwidth: Gbps = Field(default=40.0, gt=0)
    lan_bandwidth_by_centre: dict[Name, Annotated[Gbps, Field(gt=0)]] = Field(
        default_factory=dict, max_length=10_000
    )
    lan_rtt: Duration = Field(default=0.0002, ge=0)
    max_bandwidth: Gbps = Field(default=10.0, gt=0)
    dirty_rate: Gbps = Field(default=0.4, ge=0)
    downtime_target: Duration = Field(default=0.3, gt=0)
    max_rounds: int = Field(default=30, ge=1, le=10_000)
    switchover: Duration = Field(default=0.05, ge=0)
    on_non_convergence: Literal["force", "cold"] = "force"
    storage_between_centres: Literal["copy", "shared"] = "copy"
    restart_time: Duration = Field(default=180.0, ge=0)
    per_host: int = Field(default=1, ge=1, le=1000)


class SystemRule(Model):
    """How the systems ``match`` (a glob; first matching rule wins) are moved: ``live``,
    ``cold`` (stopped, booted elsewhere: downtime counted) or ``refuse`` (never moved by
    a drain); their VMs' ``dirty_rate`` and the centres beyond their own they may be moved
    to (``move_to``)."""

    match: str = Field(min_length=1, max_length=200)
    method: Method = "live"
    dirty_rate: Gbps | None = Field(default=None, ge=0)
    move_to: list[Name] = Field(default_factory=list, max_length=1000)


class Drain(Model):
    """Drain ``target`` (a host, a rack ``dc/rackNNN``, a power domain ``dc/pdN`` or a data
    centre) from ``start``, ``parallel`` hosts at a time: every target host is cordoned at
    ``start``; a host's VMs move where the run's placer finds room (their own centre first,
    then their system's other centres); the emptied host is maintained for ``duration`` and
    returns to service (no ``duration``: it stays cordoned, an evacuation). VMs that cannot
    move are, with ``unmovable: stop``, stopped for the host's maintenance (their downtime
    counted) or, with ``skip``, left running on a host that is then not maintained."""

    name: Name
    target: Name
    start: FaultTime
    parallel: int = Field(default=1, ge=1, le=100_000)
    duration: Duration | None = Field(default=None, ge=0)
    unmovable: Literal["stop", "skip"] = "stop"


class Maintenance(Model):
    """Maintenance drains and how they move VMs (see :class:`Drain`, :class:`Migration`)."""

    migration: Migration = Field(default_factory=Migration)
    systems: list[SystemRule] = Field(default_factory=list, max_length=10_000)
    drains: list[Drain] = Field(min_length=1, max_length=10_000)
