"""The ``dr`` section: how each business system survives the loss of a centre.

Per system (selected by name pattern, priority and centres; the first matching entry wins;
unmatched systems have mode ``none``): a deployment mode, a remote standby, replication
(synchronous between same-city centres, asynchronous to the full-backup centre, periodic
backups to the data-backup centre) and restore; for the platform: heartbeat monitors, the
quorum witness, and the failover and failback policies by name with their parameters.

Checks that need other sections (centre names, link RTT against the synchronous limit,
policy names) are in :mod:`cloudsim.dr.checks`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cloudsim.scenario.base import DiskGB, Duration, Gbps, Model, Name

Mode = Literal["active-active", "active-standby", "backup-only", "none"]
MODES: tuple[str, ...] = ("active-active", "active-standby", "backup-only", "none")
Priority = Literal["critical", "important", "normal"]

#: Hourly write-rate shape of a government office day (night lull, 9-11 and 14-17 peaks),
#: normalised to a mean of 1 where it is used.
OFFICE_DAY: tuple[float, ...] = (
    *(0.3,) * 7,
    0.6,
    1.2,
    *(1.8,) * 3,
    *(1.2,) * 2,
    *(1.8,) * 4,
    1.2,
    *(0.8,) * 3,
    *(0.5,) * 2,
)


class Heartbeat(Model):
    """Heartbeat monitors between the DR centres and to the witness, in both directions.

    A monitor reports its peer unreachable after ``misses`` consecutive missed heartbeats and
    reachable again at the first answered one. A heartbeat is missed when it or its answer is
    lost (link packet loss), when no route is left, or when the round trip exceeds
    ``timeout``. Heartbeats use the direct link between two centres when there is one (the
    dedicated interconnect), otherwise the lowest-latency route.
    """

    interval: Duration = Field(default=1.0, gt=0)
    misses: int = Field(default=3, ge=1, le=1000)
    timeout: Duration = Field(default=1.0, gt=0)


class Standby(Model):
    """A remote standby: warm (pre-created at ``size`` of each VM's resources, promoted by a
    resize) or cold (created through the placer at failover)."""

    datacenter: Name
    kind: Literal["warm", "cold"] = "cold"
    #: Warm: the standby VMs hold this fraction of the full VMs' resources until promoted.
    size: float = Field(default=0.25, gt=0, le=1)
    #: From the decision to the VMs running at the standby (absent: warm 5m, cold 20m).
    start_time: Duration | None = Field(default=None, ge=0)

    @property
    def start_s(self) -> float:
        if self.start_time is not None:
            return self.start_time
        return 300.0 if self.kind == "warm" else 1200.0


class Asynchronous(Model):
    """Asynchronous replication to a remote centre (normally the full-backup centre)."""

    to: Name
    #: Share of the route's bottleneck bandwidth (absent: in proportion to the system's
    #: mean write rate among the systems replicating to the same centre).
    share: float | None = Field(default=None, gt=0, le=1)
    #: Shipping interval: writes are shipped in batches (journal cycles) every ``interval``
    #: (0: streamed as they come). The copy lags by at least the batch being filled.
    interval: Duration = Field(default=30.0, ge=0, le=86400)
    #: Transfer and apply delay of a shipped batch, added to the route's one-way latency
    #: (the in-flight time).
    delay: Duration = Field(default=0.0, ge=0, le=86400)


class Backup(Model):
    """Periodic backups to a data-backup centre, every ``interval`` from ``offset``: copies
    over the links to it, sharing them with the other transfers (see
    :mod:`cloudsim.dr.backups`); a backup's recovery point is its start, once complete."""

    to: Name
    interval: Duration = Field(default=86400.0, gt=0)
    offset: Duration = Field(default=0.0, ge=0)
    #: Data a full backup copies and a restore brings back (absent: the disks of the
    #: system's declared VMs).
    size: DiskGB | None = Field(default=None, gt=0)
    #: The most one backup copy can use (it shares the links it crosses, max-min fair).
    bandwidth: Gbps = Field(default=1.0, gt=0)
    #: Copy only what was written since the last completed backup (else every backup is
    #: full), with a full copy every ``full_every`` backups (absent: incremental forever,
    #: fulls synthesised at the backup centre).
    incremental: bool = False
    full_every: int | None = Field(default=None, ge=1, le=100_000)
    #: A slot that comes while the previous backup still runs: skipped, or queued to start
    #: when it ends.
    overrun: Literal["skip", "queue"] = "skip"
    #: Bandwidth of a restore (absent: ``bandwidth``).
    restore_bandwidth: Gbps | None = Field(default=None, gt=0)
    #: Where a restore runs when the system's own centres are lost (absent: the standby's
    #: centre, else the asynchronous target, else the system's first centre).
    restore_to: Name | None = None

    @model_validator(mode="after")
    def _full_every_needs_incremental(self) -> Backup:
        if self.full_every is not None and not self.incremental:
            raise ValueError("full_every is for incremental backups (every backup is full)")
        return self


class Replication(Model):
    """How a system's data is copied."""

    #: Mean write rate (a bandwidth: '40Mbps'); ``write_rate_per_vm`` scales with its VMs.
    write_rate: Gbps | None = Field(default=None, ge=0)
    write_rate_per_vm: Gbps | None = Field(default=None, ge=0)
    #: 24 hourly multipliers of the write rate (normalised to mean 1; absent: an office day).
    diurnal: tuple[float, ...] | None = None
    #: Synchronous between the two centres of an active-active system, or to a same-city
    #: standby (absent: true for active-active, false otherwise).
    sync: bool | None = None
    asynchronous: Asynchronous | None = None
    backup: Backup | None = None

    @field_validator("diurnal")
    @classmethod
    def _day(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and (len(value) != 24 or min(value) < 0.01 or max(value) > 1e6):
            raise ValueError(
                "diurnal needs 24 hourly multipliers, each at least 0.01 and at most 1000000"
            )
        return value

    @model_validator(mode="after")
    def _one_rate(self) -> Replication:
        if self.write_rate is not None and self.write_rate_per_vm is not None:
            raise ValueError("give write_rate or write_rate_per_vm, not both")
        return self

    @property
    def shape(self) -> tuple[float, ...]:
        return self.diurnal if self.diurnal is not None else OFFICE_DAY


class SystemDR(Model):
    """The DR design of the systems this entry selects (all its selectors must match)."""

    #: Optional label; a file that ``extends`` this one can then change the entry by name.
    name: Name | None = None
    #: Glob on system names (``hn-*``); a name without wildcards selects that system.
    match: str = Field(default="*", min_length=1)
    priority: list[Priority] | None = None
    #: Selects systems deployed over exactly these centres (in any order).
    datacenters: list[Name] | None = None
    mode: Mode
    #: The remote standby: required for active-standby; for active-active, where the
    #: system goes when both of its centres are lost.
    standby: Standby | None = None
    replication: Replication = Replication()
    #: Fraction of the declared VMs that must run in serving centres to carry the load
    #: (absent: ``faults.availability.required_fraction``, default 0.5).
    required_fraction: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _mode_needs(self) -> SystemDR:
        if self.mode == "active-standby" and self.standby is None:
            raise ValueError("mode active-standby needs a standby (datacenter, kind)")
        if self.mode in ("backup-only", "none") and self.standby is not None:
            raise ValueError(f"mode {self.mode} has no standby; use active-standby")
        if self.mode == "backup-only" and self.replication.backup is None:
            raise ValueError("mode backup-only needs replication.backup")
        if self.mode == "active-active" and self.replication.sync is False:
            raise ValueError(
                "active-active needs synchronous replication between its two centres "
                "(leave replication.sync unset or true)"
            )
        return self

    @property
    def sync(self) -> bool:
        if self.replication.sync is None:
            return self.mode == "active-active"
        return self.replication.sync


class PolicyRef(Model):
    """A registered policy by name, with its parameters (checked when the policy is built)."""

    name: Name
    params: dict[str, Any] = {}


class DR(Model):
    """Disaster recovery of the platform: per-system designs, monitors, witness, policies."""

    #: Site of the quorum witness (``witness@<site>``); may also be set in ``faults``.
    witness_site: Name | None = None
    #: Synchronous replication is refused over a route with a longer round trip.
    sync_rtt_limit_ms: float = Field(default=5.0, gt=0, le=1_000_000)
    heartbeat: Heartbeat = Heartbeat()
    #: Replication controller tick: lag samples and the fluid queues (must divide 1h).
    tick: Duration = Field(default=300.0, gt=0)
    #: Traffic reaches a newly promoted centre this long after promotion (DNS/GSLB TTL).
    redirect_time: Duration = Field(default=60.0, ge=0)
    #: Restores from backup running at once (the others wait in order); absent: all run
    #: and share the links they cross (max-min fair) within each one's restore bandwidth.
    concurrent_restores: int | None = Field(default=None, ge=1, le=100_000)
    #: Without a witness, a split brain lasts until the operator reconciles the pair: this
    #: long after its two sides can talk again (the losing side's writes are discarded).
    reconcile_time: Duration = Field(default=1800.0, ge=0)
    #: Creating missing VMs at a surviving centre (active-active scale-out, restores).
    start_time: Duration = Field(default=300.0, ge=0)
    failover: PolicyRef = PolicyRef(name="witness-quorum")
    failback: PolicyRef = PolicyRef(name="operator-failback")
    systems: list[SystemDR] = []

    @field_validator("tick")
    @classmethod
    def _divides_an_hour(cls, value: float) -> float:
        if value > 3600 or abs(3600 / value - round(3600 / value)) > 1e-9:
            raise ValueError("tick must divide one hour (e.g. 1m, 5m, 15m, 1h)")
        return value
