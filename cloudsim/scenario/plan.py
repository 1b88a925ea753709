"""The ``plan`` section: the capacity question ``cloudsim plan`` answers.

"How many hosts, of which class, does each pool need so that the growth over ``years`` is
carried with at most ``max_reject`` of the tenants' requests refused for capacity, and so
that losing any of the failure sets in ``survive`` loses no service?" The simulator ignores
this section; ``cloudsim plan`` reads it (its command-line options set the same fields).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from cloudsim.scenario.base import Duration, Model, Name
from cloudsim.units import DAY

#: Failure set names: they name the verification scenario files (``verify/<name>.yaml``).
FILE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class FailureSet(Model):
    """Centres lost together (a site is the centres it holds)."""

    name: str = Field(min_length=1, max_length=80, pattern=FILE_NAME)
    datacenters: list[Name] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _not_growth(cls, value: str) -> str:
        if value == "growth":
            raise ValueError("'growth' is the name of the check without failures; choose another")
        return value


class PoolRule(Model):
    """What the plan may do to the pools whose names match ``match`` (a glob). The first
    rule matching a pool applies; pools no rule matches keep their hosts."""

    match: str = Field(default="*", min_length=1)
    grow: bool = True
    shrink: bool = False
    #: The class hosts are added in or removed from (absent: the pool's last host group's).
    host_class: Name | None = None


class Costs(Model):
    """Unit costs: a host's capital cost amortised over ``amortise_years`` plus its power."""

    #: Capital cost per host, by host class (classes not listed cost 0).
    host_classes: dict[Name, float] = Field(default_factory=dict)
    amortise_years: float = Field(default=5.0, gt=0, le=50)
    #: Electricity price per kWh of facility power (IT power × the centre's PUE).
    power_price_kwh: float = Field(default=0.0, ge=0, le=1000)
    currency: str = Field(default="CNY", max_length=8)


#: Pool purposes a plan may change by default (container and storage pools are sized by
#: their own platforms).
PLANNABLE_PURPOSES: tuple[str, ...] = ("general", "dedicated", "standby")


class PlanQuestion(Model):
    """The capacity question (see the module docstring)."""

    #: ``none``; ``datacenter``: each centre lost alone; ``site``: each site's centres lost
    #: together; or named failure sets.
    survive: Literal["none", "datacenter", "site"] | list[FailureSet] = "datacenter"
    #: The growth horizon: the plan carries the demand up to this many years from the start.
    years: float = Field(default=1.0, gt=0, le=30)
    #: Largest acceptable share of the tenants' requested cloud hosts refused for capacity
    #: (quota refusals are the department's business, reported apart).
    max_reject: float = Field(default=0.0, ge=0, lt=1)
    pools: list[PoolRule] = Field(default_factory=lambda: [PoolRule()])
    costs: Costs = Costs()
    #: ``hosts``: fewest hosts; ``cost``: lowest yearly cost (capital amortised + power).
    objective: Literal["hosts", "cost"] = "hosts"
    #: How long each failure lasts in the verification runs.
    failure_duration: Duration = Field(default=DAY, gt=0, le=365 * DAY)
