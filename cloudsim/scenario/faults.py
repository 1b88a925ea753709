"""The ``faults`` section: stochastic failures per component class, scripted and trace faults,
local high availability, and the rule that says when a business system counts as up.

Component names follow the topology: sites (``changsha``), data centres (``cs-idc``), power
domains (``cs-idc/pd1``), racks (``cs-idc/rack003``), hosts (``cs-idc-ext-x86-0007``), links
(``cs-idc—cs-dc2`` or ``cs-idc--cs-dc2``, either order) and the witness (``witness@<site>``).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from cloudsim.scenario.base import Duration, LocalPath, Model, Name
from cloudsim.units import parse_duration

#: Component classes that fail, in the order their random streams are spawned.
COMPONENT_CLASSES: tuple[str, ...] = (
    "host",
    "rack",
    "power_domain",
    "datacenter",
    "site",
    "link",
    "witness",
)

_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def parse_fault_time(value: object) -> datetime | float:
    """A datetime (same clock as ``meta.start``) or an offset from it (``'36h'``, ``'90d'``)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"expected a date and time such as '2026-03-01T02:00', got {value!r}"
            ) from None
    return parse_duration(value)


#: When a fault happens: a datetime, or a duration offset from ``meta.start``.
FaultTime = Annotated[datetime | float, BeforeValidator(parse_fault_time)]


class ExponentialTTF(Model):
    """Memoryless time to failure; ``mean`` is the MTTF."""

    distribution: Literal["exponential"]
    mean: Duration = Field(gt=0)

    @property
    def mean_s(self) -> float:
        return self.mean


class WeibullTTF(Model):
    """Weibull time to failure: shape < 1 infant mortality, > 1 wear-out; scale in time."""

    distribution: Literal["weibull"]
    shape: float = Field(ge=0.01, le=100)
    scale: Duration = Field(gt=0)

    @property
    def mean_s(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)


TimeToFailure = Annotated[ExponentialTTF | WeibullTTF, Field(discriminator="distribution")]


class LognormalRepair(Model):
    distribution: Literal["lognormal"]
    median: Duration = Field(gt=0)
    sigma: float = Field(gt=0, le=10)

    @property
    def mean_s(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


class ExponentialRepair(Model):
    distribution: Literal["exponential"]
    mean: Duration = Field(gt=0)

    @property
    def mean_s(self) -> float:
        return self.mean


class FixedRepair(Model):
    distribution: Literal["fixed"]
    value: Duration = Field(gt=0)

    @property
    def mean_s(self) -> float:
        return self.value


RepairTime = Annotated[
    LognormalRepair | ExponentialRepair | FixedRepair, Field(discriminator="distribution")
]


class ComponentSelection(Model):
    """The members of a class that fail (every selector given must match)."""

    #: Globs on the components' names (``cs-*``, ``cs-idc/rack00*``).
    names: list[str] | None = Field(default=None, min_length=1)
    #: Members in these data centres (a link: with an end there; a site: holding one).
    datacenters: list[Name] | None = Field(default=None, min_length=1)
    #: Members in data centres of these roles.
    roles: list[Literal["production", "full-backup", "data-backup"]] | None = Field(
        default=None, min_length=1
    )
    #: Hosts of these pools (the ``host`` class only).
    pools: list[Name] | None = Field(default=None, min_length=1)


class ComponentFaults(Model):
    """Every component of one class (or those ``only`` selects) fails and is repaired
    independently (as good as new).

    Repairs wait for a free crew of the class (first come, first served, unless
    ``faults.repair_priority`` orders them; a member of a ``faults.repair_groups`` group
    waits for its group's crews instead); ``crews`` absent means one crew per failed
    component (no queue).
    """

    time_to_failure: TimeToFailure
    repair: RepairTime
    crews: int | None = Field(default=None, ge=1, le=1_000_000)
    #: Only these members fail (absent: every member of the class).
    only: ComponentSelection | None = None


ComponentClass = Literal["host", "rack", "power_domain", "datacenter", "site", "link", "witness"]


class RepairGroup(Model):
    """Components repaired by crews of their own (a centre's on-site team, a vendor's
    contract): the members of ``classes`` (absent: every class) that ``members`` selects
    (absent: all of them). A component belongs to the first group selecting it; the others
    use their class's ``crews``."""

    name: Name
    crews: int = Field(ge=1, le=1_000_000)
    classes: list[ComponentClass] | None = Field(default=None, min_length=1)
    members: ComponentSelection | None = None


class RepairRule(Model):
    """Failed components this rule selects (``classes`` and ``members`` as in a repair
    group) are repaired in the order of ``priority``: a free crew takes the lowest number
    first; components no rule selects come after every numbered one."""

    classes: list[ComponentClass] | None = Field(default=None, min_length=1)
    members: ComponentSelection | None = None
    priority: int = Field(ge=0, le=1_000_000)


class ScriptedFault(Model):
    """``target`` fails at ``at`` for ``duration`` (no repair crew involved, unless
    ``crew``).

    ``effect``: ``fail`` takes the target down; ``degrade`` keeps a link up but loses
    ``loss`` of its packets and adds ``extra_latency_ms`` one way (a gray failure that
    makes heartbeats unreliable and slows replication); ``corrupt`` targets a business
    system whose data is corrupted (ransomware-style: replicas copy the damage, only a
    backup taken before ``at`` is clean) and ``duration`` is how long until it is noticed.
    With ``every``, the fault happens ``times`` times, ``every`` apart (a flapping link).
    """

    name: Name | None = None
    target: Name
    at: FaultTime
    duration: Duration = Field(gt=0)
    effect: Literal["fail", "degrade", "corrupt"] = "fail"
    loss: float = Field(default=0.0, ge=0, lt=1)
    extra_latency_ms: float = Field(default=0.0, ge=0, le=1_000_000)
    every: Duration | None = Field(default=None, gt=0)
    times: int = Field(default=1, ge=1, le=100_000)
    #: The repair time the operations team announces (what failover policies are told;
    #: absent: ``duration``, a correct estimate). A wrong estimate tests a policy that waits.
    expected_repair: Duration | None = Field(default=None, gt=0)
    #: The repair (``duration``) waits for a free crew of the target's repair group (else
    #: its class's crews) and takes one while it runs (effect ``fail`` only).
    crew: bool = False

    @model_validator(mode="after")
    def _effect_fields(self) -> ScriptedFault:
        if self.crew and self.effect != "fail":
            raise ValueError("crew: true is for effect fail (a repair a crew carries out)")
        if self.effect == "degrade" and self.loss == 0 and self.extra_latency_ms == 0:
            raise ValueError("a degrade fault needs loss > 0 or extra_latency_ms > 0")
        if self.effect != "degrade" and (self.loss or self.extra_latency_ms):
            raise ValueError("loss and extra_latency_ms belong to effect: degrade")
        if self.times > 1 and self.every is None:
            raise ValueError("times > 1 needs every (the period between repetitions)")
        if self.every is not None and self.every <= self.duration:
            raise ValueError("every must be longer than duration (repetitions must not overlap)")
        return self

    @property
    def label(self) -> str:
        return self.name or self.target

    def starts(self, first: float) -> list[float]:
        """Offsets of every repetition, the first at ``first``."""
        step = self.every or 0.0
        return [first + k * step for k in range(self.times)]


class TraceFaults(Model):
    """Faults replayed from a failure trace (Parquet: ``failure_interval`` ms since the
    previous failure, ``failure_duration`` ms, ``failure_intensity`` fraction of hosts).

    Each row takes that fraction of the hosts in ``scope`` (a site, data centre, power domain
    or rack; absent: every host), drawn at random, down for its duration. A relative
    ``path`` is read relative to the scenario file that sets it.
    """

    name: Name
    path: LocalPath
    scope: Name | None = None
    start: FaultTime = 0.0
    #: Replay the trace again from its start until the horizon.
    repeat: bool = False


class LocalHA(Model):
    """Local high availability: a failed host's VMs restart on other hosts of its centre.

    ``restart_time`` is from the failure (or from the repair that makes room) to the VM
    running again. Without ``enabled`` a VM waits for its own host. A VM that could not run
    again within ``give_up_after`` is recorded as lost (absent: it waits forever).
    """

    enabled: bool = True
    restart_time: Duration = Field(default=180.0, ge=0)
    give_up_after: Duration | None = Field(default=None, gt=0)


class AvailabilityRule(Model):
    """A system is up while at least ceil(required_fraction x its declared VMs) run."""

    required_fraction: float = Field(default=0.5, gt=0, le=1)


class RandomCorruption(Model):
    """Random data corruptions of business systems (ransomware, a bad batch job): for each
    system ``systems`` selects, a Poisson process with ``mean_interval`` between
    corruptions; each is noticed after a ``noticed_after`` delay (a repair-time
    distribution), then DR restores it from a backup taken before it (as a scripted
    ``corrupt`` fault). A system already corrupted is not corrupted again until restored."""

    name: Name = "corruption"
    #: Globs on system names.
    systems: list[str] = Field(default=["*"], min_length=1)
    mean_interval: Duration = Field(gt=0)
    noticed_after: RepairTime


class Faults(Model):
    """Failures injected into a run, local HA, and the availability rule of the ledger."""

    host: ComponentFaults | None = None
    rack: ComponentFaults | None = None
    power_domain: ComponentFaults | None = None
    datacenter: ComponentFaults | None = None
    site: ComponentFaults | None = None
    link: ComponentFaults | None = None
    witness: ComponentFaults | None = None
    #: Site of the quorum witness (a component named ``witness@<site>``; a site loss takes
    #: it); ``dr.witness_site`` says the same (give either, or both alike).
    witness_site: Name | None = None
    scripted: list[ScriptedFault] = []
    traces: list[TraceFaults] = []
    corruption: RandomCorruption | None = None
    #: Crews of their own for groups of components (first group selecting one wins).
    repair_groups: list[RepairGroup] = []
    #: Which failed component a free crew takes next (first rule selecting one wins).
    repair_priority: list[RepairRule] = []
    #: Among equal priorities: the component that failed first, or the one that failed
    #: last (it holds the newest data when a pair failed one after the other).
    repair_order: Literal["first-failed", "last-failed"] = "first-failed"
    local_ha: LocalHA = LocalHA()
    availability: AvailabilityRule = AvailabilityRule()

    @model_validator(mode="after")
    def _distinct_groups(self) -> Faults:
        names = [group.name for group in self.repair_groups]
        if len(set(names)) != len(names):
            raise ValueError("repair_groups: two groups have the same name")
        return self

    def rates(self) -> dict[str, ComponentFaults]:
        """The classes given stochastic failures, in :data:`COMPONENT_CLASSES` order."""
        found = {kind: getattr(self, kind) for kind in COMPONENT_CLASSES}
        return {kind: spec for kind, spec in found.items() if spec is not None}


def witness_name(site: str) -> str:
    return f"witness@{site}"


def seconds_after(at: datetime | float, start: datetime) -> float:
    """Offset of a fault time from ``meta.start`` in seconds (ValueError on mixed zones)."""
    if not isinstance(at, datetime):
        return float(at)
    try:
        return (at - start).total_seconds()
    except TypeError:
        raise ValueError(
            f"{at.isoformat()} and meta.start {start.isoformat()} must both have a time zone "
            "or both have none"
        ) from None
