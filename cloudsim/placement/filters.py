"""Placement filters a researcher or planner adds to the built-in ones.

The built-in filters (host up, zone, architecture, data centre, pool, anti-affinity and one
per resource's capacity; :data:`~cloudsim.placement.core.FILTER_ORDER`) are the placer's
own. A scenario adds more by name (``placement.filters: [my-filter]``), applied after the
built-ins in the order given; each is a :class:`HostFilter` registered with
:func:`register_filter` or published in the ``cloudsim.filters`` entry-point group.

A filter answers, for some hosts (``cols``: host indices), which of them the request may
use: ``function(hosts, request, cols) -> bool[len(cols)]``, vectorised over the host table's
columns. A *static* filter reads only what does not change with allocations (the host's
pool, centre, rack, architecture, whether it is up, the request's constraints): the placer
evaluates it once per distinct request and caches it with the other static filters until a
host goes up or down. A dynamic filter (``static=False``, e.g. "keep 20 % of each host's
memory free") is evaluated at every decision on the remaining candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cloudsim.placement.request import Request
from cloudsim.registry import Registry
from cloudsim.state.hosts import BoolArray, HostTable, IntArray

FilterFunction = Callable[[HostTable, Request, IntArray], BoolArray]


@dataclass(frozen=True)
class HostFilter:
    """A named filter; ``reason`` is the rejection reason when it leaves no host."""

    function: FilterFunction
    static: bool = True
    reason: str = ""


#: Filters by name (``placement.filters``).
FILTERS: Registry[HostFilter] = Registry("placement filter", group="cloudsim.filters")


def register_filter(
    name: str, function: FilterFunction, *, static: bool = True, reason: str | None = None
) -> HostFilter:
    """Make ``function`` usable by name in a scenario's ``placement.filters``.

    ``reason`` defaults to ``filter_<name>`` (what a rejection it causes is recorded as).
    """
    found = HostFilter(function, static, reason or f"filter_{name}")
    FILTERS.register(name, found)
    return found
