"""Placement filters a researcher or planner adds to the built-in ones.

The built-in filters (host up, zone, architecture, data centre, pool, anti-affinity and one
per resource's capacity; :data:`~cloudsim.placement.core.FILTER_ORDER`) are the placer's
own. A scenario adds more by name (``placement.filters: [my-filter]``), applied after the
built-ins in the order given; each is a :class:`HostFilter` registered with
:func:`register_filter` or published in the ``cloudsim.filters`` entry-point group.

A filter answers, for some hosts (``cols``: host indices), which of them the request may
use: ``function(hosts, request, cols) -> bool[len(cols)]``, vectorised over the host table's
columns; it may read anything of the request (its demand too). A *static* filter reads
nothing of the hosts that allocations change (only their pool, centre, rack, architecture,
whether they are up…): within a batch of identical VMs it is checked once. A dynamic
filter (``static=False``, e.g. "keep 20 % of each host's memory free", "at most 8 GiB of
this system in a centre") is checked again over every remaining candidate after each VM of
a batch is placed, so a batch gives the hosts one-by-one placement would — provided a host
it refused does not become acceptable as the batch's own VMs are placed (allocations only
grow within a batch). Both kinds are evaluated at every decision, after the built-in
filters' cached masks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cloudsim.placement.request import Request
from cloudsim.registry import Registry
from cloudsim.scenario.schema import RESOURCES
from cloudsim.state.hosts import BoolArray, HostTable, IntArray

FilterFunction = Callable[[HostTable, Request, IntArray], BoolArray]


@dataclass(frozen=True)
class HostFilter:
    """A named filter; ``reason`` is the rejection reason when it leaves no host."""

    function: FilterFunction
    static: bool = True
    reason: str = ""


#: The placer's own filters in the order they are applied and explained; a rejection names
#: the first one that leaves no host. Capacity filters are named after their resource. No
#: registered filter may take one of these names.
BUILTIN_FILTERS: tuple[str, ...] = (
    "host_up",
    "cordoned",
    "zone",
    "architecture",
    "datacenter",
    "pool",
    "anti_affinity",
    *RESOURCES,
)


def _check_filter(name: str, host_filter: HostFilter) -> None:
    if not isinstance(host_filter, HostFilter):
        raise TypeError("a placement filter is a HostFilter (see register_filter)")
    if name in BUILTIN_FILTERS:
        raise ValueError("the name of a built-in filter")


#: Filters by name (``placement.filters``).
FILTERS: Registry[HostFilter] = Registry(
    "placement filter", group="cloudsim.filters", check=_check_filter
)


def register_filter(
    name: str, function: FilterFunction, *, static: bool = True, reason: str | None = None
) -> HostFilter:
    """Make ``function`` usable by name in a scenario's ``placement.filters``.

    ``reason`` defaults to ``filter_<name>`` (what a rejection it causes is recorded as).
    """
    found = HostFilter(function, static, reason or f"filter_{name}")
    FILTERS.register(name, found)
    return found
