"""The scenario schema: frozen pydantic models, unknown keys refused.

Quantities are parsed here once (durations to seconds, memory to MiB, disk to GB,
bandwidth to Gbit/s); everything downstream trusts these objects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from cloudsim.scenario.base import (
    RESOURCE_UNITS,
    RESOURCES,
    Arch,
    DiskGB,
    Duration,
    Gbps,
    MemoryMiB,
    Model,
    Name,
)
from cloudsim.scenario.containers import Containers
from cloudsim.scenario.dr import DR
from cloudsim.scenario.faults import Faults
from cloudsim.scenario.plan import PlanQuestion
from cloudsim.units import DAY, HOUR, YEAR

__all__ = [
    "RESOURCES",
    "RESOURCE_UNITS",
    "Arch",
    "DiskGB",
    "Duration",
    "Gbps",
    "MemoryMiB",
    "Model",
    "Name",
]


#: The default of ``meta.max_events``: ten times the largest estimate of a shipped scenario.
DEFAULT_MAX_EVENTS = 100_000_000


class Meta(Model):
    """Run-level settings."""

    name: Name
    description: str = ""
    horizon: Duration = Field(default=YEAR, gt=0)
    #: A whole number (strict: ``true`` is not 1).
    seed: int = Field(default=0, ge=0, le=2**64 - 1, strict=True)
    sample_interval: Duration = Field(default=HOUR, gt=0)
    start: datetime = datetime(2026, 1, 1)
    #: Refuse to build a world whose tables would need more than this (default: 3/4 of RAM).
    memory_limit: MemoryMiB | None = Field(default=None, gt=0)
    #: Refuse a run expected to take more events than this (failures, repairs, requests,
    #: placements, periodic loops, trace rows): an estimate, made before anything runs.
    max_events: int = Field(default=DEFAULT_MAX_EVENTS, ge=1, le=10**15)
    #: MLPS level-3 controls (real-time off-site backup, hot redundancy) of systems of level
    #: 3 or above: warn (validate warns, runs list them), strict (an error), ignore.
    mlps_checks: Literal["warn", "strict", "ignore"] = "warn"


class Site(Model):
    """A city holding one or more data centres."""

    name: Name
    city: str = ""
    description: str = ""


class DataCenter(Model):
    """A data centre; racks are grouped into power domains round-robin."""

    name: Name
    site: Name
    role: Literal["production", "full-backup", "data-backup"] = "production"
    description: str = ""
    tier: Literal["I", "II", "III", "IV"] | None = None
    pue: float = Field(default=1.5, ge=1.0, le=5.0)
    racks: int = Field(default=20, ge=1, le=1_000_000)
    power_domains: int = Field(default=2, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _domains_fit(self) -> DataCenter:
        if self.power_domains > self.racks:
            raise ValueError(
                f"power_domains ({self.power_domains}) cannot exceed racks ({self.racks})"
            )
        return self


#: One-way fibre latency per km: light in glass covers ~200 km per ms (1 ms RTT per 100 km).
FIBRE_MS_PER_KM = 0.005


class Link(Model):
    """A network link between two data centres (one-way latency, bandwidth)."""

    between: tuple[Name, Name]
    latency_ms: float | None = Field(default=None, gt=0, le=1_000_000)
    distance_km: float | None = Field(default=None, gt=0, le=1_000_000)
    bandwidth_gbps: Gbps = Field(gt=0)

    @model_validator(mode="after")
    def _latency_known(self) -> Link:
        if self.between[0] == self.between[1]:
            raise ValueError(
                f"a link must join two different data centres, got {self.between[0]!r} twice"
            )
        if self.latency_ms is None and self.distance_km is None:
            raise ValueError("give latency_ms (one-way) or distance_km")
        return self

    @property
    def one_way_ms(self) -> float:
        if self.latency_ms is not None:
            return self.latency_ms
        assert self.distance_km is not None
        return self.distance_km * FIBRE_MS_PER_KM


class Zone(Model):
    """A network security zone; a workload runs only on hosts of its own zone."""

    name: Name
    description: str = ""
    isolated: bool = False


class HostClass(Model):
    """A server model."""

    name: Name
    cores: int = Field(ge=1, le=4096, description="physical cores")
    threads_per_core: int = Field(default=2, ge=1, le=8)
    memory: MemoryMiB = Field(gt=0)
    disk: DiskGB = Field(default=0, ge=0)
    network: Gbps = Field(default=25.0, ge=0)
    arch: Arch = "x86_64"
    cpu_model: str = ""
    power_idle_w: float = Field(default=150.0, ge=0, le=1_000_000)
    power_peak_w: float = Field(default=450.0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _power_order(self) -> HostClass:
        if self.power_peak_w < self.power_idle_w:
            raise ValueError("power_peak_w must be at least power_idle_w")
        return self

    @property
    def vcpus(self) -> int:
        return self.cores * self.threads_per_core


def _without_none(data: dict[str, object], keys: tuple[str, ...]) -> dict[str, object]:
    """A dump without the optional ``keys`` left unset (so scenarios that do not use them
    dump as they did before those fields existed)."""
    return {k: v for k, v in data.items() if not (k in keys and v is None)}


class HostGroup(Model):
    """``count`` hosts of one class; ``names`` (one per host, unique over the platform)
    replaces the generated ``<pool>-NNNN`` names, as an imported estate keeps its own."""

    host_class: Name
    count: int = Field(ge=0)
    names: list[Name] | None = None

    @model_validator(mode="after")
    def _one_name_each(self) -> HostGroup:
        if self.names is not None and len(self.names) != self.count:
            raise ValueError(
                f"names lists {len(self.names)} hosts but count is {self.count} (one name each)"
            )
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        return _without_none(handler(self), ("names",))


class Pool(Model):
    """A resource pool: hosts of one zone in one data centre with overcommit ratios."""

    name: Name
    datacenter: Name
    zone: Name
    hosts: list[HostGroup] = Field(min_length=1)
    #: general: any department's cloud hosts; dedicated: one department's; container: nodes
    #: of the container cloud; standby: DR capacity used only at failover; storage: backup
    #: storage that never hosts cloud hosts.
    purpose: Literal["general", "dedicated", "container", "standby", "storage"] = "general"
    dedicated_to: Name | None = None
    cpu_overcommit: float = Field(default=1.0, gt=0, le=64)
    memory_overcommit: float = Field(default=1.0, gt=0, le=8)
    disk_overcommit: float = Field(default=1.0, gt=0, le=16)

    @model_validator(mode="after")
    def _dedication(self) -> Pool:
        if (self.purpose == "dedicated") != (self.dedicated_to is not None):
            raise ValueError("a pool has dedicated_to exactly when its purpose is 'dedicated'")
        return self

    @property
    def host_count(self) -> int:
        return sum(group.count for group in self.hosts)


class Quota(Model):
    """A department's quota; absent fields are unlimited."""

    vcpus: int | None = Field(default=None, ge=0, le=10**12)
    memory: MemoryMiB | None = Field(default=None, ge=0)
    disk: DiskGB | None = Field(default=None, ge=0)
    vms: int | None = Field(default=None, ge=0, le=10**12)


class Department(Model):
    """A tenant (委办局)."""

    name: Name
    full_name: str = ""
    quota: Quota = Quota()


class Flavor(Model):
    """A cloud-host size."""

    name: Name
    vcpus: int = Field(ge=1, le=1024)
    memory: MemoryMiB = Field(gt=0)
    disk: DiskGB = Field(default=0, ge=0)
    network_mbps: int = Field(default=0, ge=0, le=10**9)


class VMGroup(Model):
    """``count`` cloud hosts of one flavor (0: the system only grows through requests);
    ``hosts`` pins each to a host by name (an imported estate's placement), placed before
    any cloud host the placer chooses."""

    flavor: Name
    count: int = Field(ge=0)
    hosts: list[Name] | None = None

    @model_validator(mode="after")
    def _one_host_each(self) -> VMGroup:
        if self.hosts is not None and len(self.hosts) != self.count:
            raise ValueError(
                f"hosts lists {len(self.hosts)} hosts but count is {self.count} (one per VM)"
            )
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        return _without_none(handler(self), ("hosts",))


class System(Model):
    """A business system (业务系统) of a department: a set of cloud hosts."""

    name: Name
    department: Name
    description: str = ""
    mlps_level: int = Field(default=2, ge=1, le=5)
    priority: Literal["critical", "important", "normal"] = "normal"
    zone: Name
    arch: Arch | Literal["any"] = "x86_64"
    datacenters: list[Name] = Field(min_length=1)
    #: split: VMs are dealt evenly over the listed centres; any: the placer picks among them.
    dc_placement: Literal["split", "any"] = "split"
    #: Hard anti-affinity of the system's VMs: at most one per host, or per rack.
    anti_affinity: Literal["none", "host", "rack"] = "host"
    vms: list[VMGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_centres(self) -> System:
        if len(set(self.datacenters)) != len(self.datacenters):
            raise ValueError("datacenters lists a data centre twice")
        return self

    @property
    def vm_count(self) -> int:
        return sum(group.count for group in self.vms)


class ExponentialLifetime(Model):
    distribution: Literal["exponential"]
    mean: Duration = Field(gt=0)


class LognormalLifetime(Model):
    distribution: Literal["lognormal"]
    median: Duration = Field(gt=0)
    sigma: float = Field(gt=0, le=10)


class FixedLifetime(Model):
    distribution: Literal["fixed"]
    value: Duration = Field(gt=0)


Lifetime = Annotated[
    ExponentialLifetime | LognormalLifetime | FixedLifetime,
    Field(discriminator="distribution"),
]


class IntRange(Model):
    """A whole-number range [min, max]."""

    min: int = Field(default=1, ge=1, le=10**9)
    max: int = Field(default=1, ge=1, le=10**9)

    @model_validator(mode="after")
    def _order(self) -> IntRange:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be at least min ({self.min})")
        return self


class BatchSize(IntRange):
    """Number of identical VMs in one request, uniform on [min, max]."""


class Resizes(Model):
    """Requests to resize running cloud hosts in place (Poisson), each for a cloud host
    chosen uniformly among the live ones of the selected systems: ``per_day`` requests a
    day in all, ``per_system_per_day`` a day for each system (one of its own cloud hosts),
    or ``share_per_day`` of the live cloud hosts a day. The target flavor is
    ``steps`` places up (with probability ``up``) or down the flavors ordered by vCPUs,
    memory, disk; refused ``no_flavor`` past either end, ``quota_*`` over the department's
    quota, ``host_full_*`` when the cloud host's own host lacks room (overcommit as
    placement counts it)."""

    per_day: float | None = Field(default=None, gt=0, le=1_000_000)
    per_system_per_day: float | None = Field(default=None, gt=0, le=1_000_000)
    share_per_day: float | None = Field(default=None, gt=0, le=100)
    up: float = Field(default=0.7, ge=0, le=1)
    steps: int = Field(default=1, ge=1, le=100)
    #: Whose cloud hosts are resized (default: every system's).
    systems: list[Name] | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> Resizes:
        rates = (self.per_day, self.per_system_per_day, self.share_per_day)
        if sum(rate is not None for rate in rates) != 1:
            raise ValueError("give per_day, per_system_per_day or share_per_day (exactly one)")
        return self


class Workload(Model):
    """Requests for new cloud hosts over the horizon (non-homogeneous Poisson)."""

    arrivals_per_day: float = Field(default=0.0, ge=0, le=1_000_000)
    growth_per_year: float = Field(default=0.0, gt=-1.0, le=100.0)
    lifetime: Lifetime = ExponentialLifetime(distribution="exponential", mean=180 * DAY)
    batch: BatchSize = BatchSize()
    #: Which systems ask for more hosts (default: all); chosen in proportion to weight_by.
    systems: list[Name] | None = None
    weight_by: Literal["size", "uniform"] = "size"
    #: Resizes of running cloud hosts (none without).
    resizes: Resizes | None = None


class Placement(Model):
    """The VM placement policy: a preset by name, optionally with scorer weights overridden,
    and registered filters applied after the built-in ones."""

    preset: Name = "spread"
    weights: dict[str, Annotated[float, Field(ge=-1e6, le=1e6)]] | None = None
    filters: list[Name] = []
    resource_weights: dict[
        Literal["cpu", "memory", "disk", "network"], Annotated[float, Field(ge=0, le=1e6)]
    ] = {
        "cpu": 1.0,
        "memory": 1.0,
    }


class WeightedCentres(Model):
    datacenters: list[Name] = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0, le=1e6)


class VMCountDistribution(IntRange):
    """Lognormal number of VMs per generated system, clipped to [min, max]."""

    median: float = Field(default=10.0, gt=0, le=1e9)
    sigma: float = Field(default=0.8, ge=0, le=5)
    max: int = Field(default=200, ge=1, le=10**9)


class Population(Model):
    """Generate departments and systems from distributions (seeded, independent of the run seed)."""

    seed: int = Field(default=0, ge=0, le=2**64 - 1, strict=True)
    departments: int = Field(ge=1, le=100_000)
    systems: int = Field(ge=1, le=1_000_000)
    vms_per_system: VMCountDistribution = VMCountDistribution()
    flavors: dict[Name, float] = Field(min_length=1)
    flavors_per_system: int = Field(default=2, ge=1, le=10)
    zones: dict[Name, float] = Field(min_length=1)
    arch: dict[Arch, float] = {"x86_64": 1.0}
    mlps_levels: dict[int, float] = Field(default_factory=lambda: {2: 0.4, 3: 0.6})
    priorities: dict[Literal["critical", "important", "normal"], float] = {
        "critical": 0.1,
        "important": 0.3,
        "normal": 0.6,
    }
    datacenters: list[WeightedCentres] = Field(min_length=1)
    anti_affinity: Literal["none", "host", "rack"] = "host"
    #: Department quotas are this multiple of the department's initial usage (None: no quota).
    quota_headroom: float | None = Field(default=1.5, ge=1.0, le=1000)


class Scenario(Model):
    """A whole scenario, as loaded and validated."""

    meta: Meta
    sites: list[Site] = Field(min_length=1)
    datacenters: list[DataCenter] = Field(min_length=1)
    links: list[Link] = []
    zones: list[Zone] = Field(min_length=1)
    host_classes: list[HostClass] = Field(min_length=1)
    pools: list[Pool] = Field(min_length=1)
    flavors: list[Flavor] = []
    departments: list[Department] = []
    systems: list[System] = []
    workload: Workload = Workload()
    placement: Placement = Placement()
    population: Population | None = None
    faults: Faults | None = None
    containers: Containers | None = None
    dr: DR | None = None
    #: The capacity question of ``cloudsim plan`` (the simulator ignores it).
    plan: PlanQuestion | None = None
    #: Sections of modules outside the scenario package (a researcher's module), by name,
    #: validated with the module's own schema; written at the top level of the YAML.
    extensions: dict[str, Model] = Field(default_factory=dict, exclude=True)

    @field_validator("extensions", mode="before")
    @classmethod
    def _no_extensions_key(cls, value: object) -> object:
        if value:
            raise ValueError(
                "not a section: a module's section goes at the top level under its own name"
            )
        return value

    def section(self, name: str) -> Model | None:
        """The section called ``name``: one of the scenario's own or a module's."""
        if name in type(self).model_fields and name != "extensions":
            found = getattr(self, name)
            return found if isinstance(found, Model) else None
        return self.extensions.get(name)

    def dump(self) -> dict[str, object]:
        """The whole scenario as plain data, modules' sections included (loadable again)."""
        data = self.model_dump(mode="json")
        if data.get("plan") is None:
            data.pop("plan", None)  # only ``cloudsim plan`` reads it
        data.update({k: v.model_dump(mode="json") for k, v in self.extensions.items()})
        return data

    @property
    def host_count(self) -> int:
        return sum(pool.host_count for pool in self.pools)
