"""The ``energy`` section: utilisation profiles and traces, power curves, PUE, prices.

A module's own section (validated by the loader with this schema into
``scenario.extensions["energy"]``), so the scenario package knows nothing of it.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from cloudsim.scenario.base import Duration, LocalPath, Model, Name
from cloudsim.units import HOUR, MINUTE, YEAR

Fraction = Annotated[float, Field(ge=0, le=1)]
Money = Annotated[float, Field(ge=0, le=1e12)]
Watts = Annotated[float, Field(ge=0, le=1e6)]


def _increasing_from_0_to_1(points: list[tuple[float, float]], what: str) -> None:
    xs = [x for x, _ in points]
    if xs[0] != 0 or xs[-1] != 1:
        raise ValueError(
            f"the {what} points must run from utilisation 0 to 1, got {xs[0]}..{xs[-1]}"
        )
    if any(b <= a for a, b in itertools.pairwise(xs)):
        raise ValueError(f"the {what} points' utilisations must increase strictly")


class PowerCurve(Model):
    """Power of one host class as a function of its CPU utilisation (0..1): linear from
    ``idle_w`` to ``peak_w`` (default: the class's ``power_idle_w``/``power_peak_w``), or
    ``points`` (utilisation, watts) interpolated linearly, as SPECpower_ssj2008 results give
    them at 0 (active idle), 10 %, ..., 100 % load."""

    host_class: Name
    idle_w: Watts | None = None
    peak_w: Watts | None = None
    points: list[tuple[Fraction, Watts]] | None = Field(default=None, min_length=2, max_length=1001)

    @model_validator(mode="after")
    def _one_shape(self) -> PowerCurve:
        if self.points is not None:
            if self.idle_w is not None or self.peak_w is not None:
                raise ValueError("give points, or idle_w and peak_w, not both")
            _increasing_from_0_to_1(self.points, "power curve")
        elif self.idle_w is not None and self.peak_w is not None and self.peak_w < self.idle_w:
            raise ValueError("peak_w must be at least idle_w")
        return self


class PUECurve(Model):
    """A centre's PUE as a function of its IT load (the fraction of its hosts' summed peak
    power), interpolated linearly: cooling and power losses weigh more at low load."""

    datacenter: Name
    points: list[tuple[Fraction, Annotated[float, Field(ge=1, le=5)]]] = Field(
        min_length=2, max_length=1001
    )

    @model_validator(mode="after")
    def _shape(self) -> PUECurve:
        _increasing_from_0_to_1(self.points, "PUE")
        return self


class Campaign(Model):
    """A peak of demand (tax season, exam results, enrolment): CPU utilisation times
    ``factor`` from ``start`` for ``duration``, again ``every`` period if given."""

    name: str = Field(default="", max_length=200)
    start: datetime
    duration: Duration = Field(gt=0)
    factor: float = Field(gt=0, le=100)
    every: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _fits_period(self) -> Campaign:
        if self.every is not None and self.duration > self.every:
            raise ValueError("duration must not exceed every (campaigns would overlap)")
        return self


class Profile(Model):
    """Utilisation of a system's cloud hosts over time, as fractions of what each VM has.

    CPU: ``cpu_mean`` × the hour's ``diurnal`` factor × the day's ``weekly`` factor (each
    list normalised to mean 1, local time from ``meta.start``) × active campaigns × (1 +
    ``noise`` × z), z a standard normal AR(1) process per VM with correlation time
    ``noise_timescale``, clipped to [0, 1]. Memory: ``memory_mean`` (resident memory hardly
    moves with load)."""

    name: Name
    systems: list[Name] = []
    cpu_mean: Fraction
    memory_mean: Fraction = 0.5
    diurnal: list[Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=lambda: [1.0] * 24, min_length=24, max_length=24
    )
    weekly: list[Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=lambda: [1.0] * 7, min_length=7, max_length=7
    )
    noise: float = Field(default=0.1, ge=0, le=10)
    noise_timescale: Duration = Field(default=HOUR, gt=0)
    campaigns: list[Campaign] = []

    @model_validator(mode="after")
    def _shapes(self) -> Profile:
        for name in ("diurnal", "weekly"):
            if sum(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must have a positive factor")
        return self


class Trace(Model):
    """VM utilisation replayed from a trace in the OpenDC format (schema v4, as the
    Bitbrains traces are published): a folder with ``tasks.parquet`` (``id``,
    ``cpu_capacity`` MHz, …) and ``fragments.parquet`` (``id``, ``duration`` ms,
    ``cpu_usage`` MHz, consecutive per task). The cloud hosts of ``systems``, in order of
    creation, take the trace's tasks in order of id (round-robin); each replays its task from
    its own creation, looping. A relative ``path`` is relative to the scenario file."""

    name: Name
    path: LocalPath
    systems: list[Name] = Field(min_length=1)
    memory_mean: Fraction = 0.5


class TimeOfUse(Model):
    """A price for the hours [``start_hour``, ``end_hour``) of every day (local time)."""

    start_hour: float = Field(ge=0, le=24)
    end_hour: float = Field(ge=0, le=24)
    price: Money

    @model_validator(mode="after")
    def _order(self) -> TimeOfUse:
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour (split a period over midnight)")
        return self


class Price(Model):
    """Electricity per kWh: ``per_kwh`` at every hour no ``time_of_use`` period covers
    (a later period overrides an earlier one where they overlap)."""

    per_kwh: Money = 0.0
    time_of_use: list[TimeOfUse] = []


class Capital(Model):
    """A host class's purchase price, amortised linearly over ``life``."""

    host_class: Name
    price: Money
    life: Duration = Field(default=5 * YEAR, gt=0)


class Chargeback(Model):
    """What departments are billed for what their cloud hosts hold (per month of 365/12
    days): vCPUs, memory (GiB) and disk (TB)."""

    vcpu_month: Money = 0.0
    gib_month: Money = 0.0
    tb_month: Money = 0.0


class Energy(Model):
    """Utilisation, power, energy and cost (the ``energy`` module's section)."""

    #: Where data-file paths are in this section (anchored to the file that sets them).
    file_paths: ClassVar[tuple[tuple[str, ...], ...]] = (("traces", "*", "path"),)

    #: The controller's step: utilisation is taken each tick and held until the next.
    tick: Duration = Field(default=15 * MINUTE, ge=MINUTE)
    #: Record each cloud host's 95th-percentile CPU utilisation (``vm_utilisation`` table),
    #: from a histogram of its tick values 0.001 wide: 4 KB per VM-table row and one
    #: scattered memory write per VM and tick (a tick costs about twice as much).
    vm_percentiles: bool = False
    currency: str = Field(default="CNY", max_length=16)
    #: The profile of systems no profile or trace lists (none: every system must be listed).
    default_profile: Name | None = None
    profiles: list[Profile] = []
    traces: list[Trace] = []
    power_curves: list[PowerCurve] = []
    pue: list[PUECurve] = []
    price: Price = Price()
    capital: list[Capital] = []
    chargeback: Chargeback = Chargeback()
